"""Identify a file's format from its content (magic bytes and structure), never from its name alone.

Names are used only where a format has no magic (protobuf-based ONNX and SavedModel, Python sources) and to
notice misnamed files: a pickle called ``model.safetensors`` is identified as a pickle and flagged.
Never reads more than the head (and, for zip detection, the tail) it is handed.
"""

from __future__ import annotations

import struct

PICKLE = "pickle"
TORCH_LEGACY = "torch-legacy"
ZIP = "zip"
TAR = "tar"
COMPRESSED = "compressed"
NPY = "npy"
HDF5 = "hdf5"
GGUF = "gguf"
SAFETENSORS = "safetensors"
ONNX = "onnx"
TF_SAVEDMODEL = "tf-savedmodel"
KERAS_METADATA = "keras-metadata"
KERAS_CONFIG = "keras-config"
HF_CONFIG = "hf-config"
HF_CODE = "hf-code"
HF_CHAT_TEMPLATE = "hf-chat-template"
ENCRYPTED = "mlwarden-encrypted"
# mlwarden's encrypted-at-rest format (mlwarden.crypto.stream.MAGIC); duplicated here so that identification
# never imports the crypto package.
_ENCRYPTED_MAGIC = b"MLWENC"

# Hugging Face JSON files that can carry auto_map, custom pipelines or chat templates whatever their first keys.
_HF_JSON_NAMES = frozenset({"config.json", "tokenizer_config.json", "processor_config.json",
                            "preprocessor_config.json", "chat_template.json", "config_sentence_transformers.json",
                            "generation_config.json", "feature_extractor_config.json"})
_HF_JSON_MARKERS = (b'"auto_map"', b'"model_type"', b'"architectures"', b'"chat_template"', b'"custom_pipelines"',
                    b'"trust_remote_code"')

# A file named like a single-format model whose content matches nothing is handed to that format's scanner,
# which then fails closed (MW-FMT-001 / MW-ST-001 ...) instead of the file being silently skipped.
FORMAT_BY_EXTENSION: dict[str, str] = {
    ".safetensors": "safetensors",
    ".gguf": "gguf",
    ".npy": "npy",
    ".npz": "zip",
    ".keras": "zip",
    ".pkl": "pickle",
    ".pickle": "pickle",
    ".joblib": "pickle",
    ".pt": "pickle",
    ".pth": "pickle",
    ".ckpt": "pickle",
}

# PyTorch's legacy (pre-1.6) format starts with a protocol-2 pickle of this LONG1 magic number
# (torch/serialization.py: MAGIC_NUMBER = 0x1950a86a20f9469cfc6c).
# Any protocol from 2 (the default) to 5 (pickle_protocol=...), protocol 4+ with a FRAME opcode first.
_TORCH_LEGACY_MAGIC = b"\x8a\x0a" + (0x1950A86A20F9469CFC6C).to_bytes(10, "little")


def _is_torch_legacy(head: bytes) -> bool:
    if len(head) < 2 or head[0] != 0x80 or not 2 <= head[1] <= 5:
        return False
    at = 11 if head[2:3] == b"\x95" else 2
    return head[at:at + len(_TORCH_LEGACY_MAGIC)] == _TORCH_LEGACY_MAGIC

_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"

_COMPRESSION_MAGICS: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bz2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x04\x22\x4d\x18", "lz4"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)

# Which formats an extension may legitimately hold; anything else is reported as misnamed (MW-FMT-002).
# Extensions not listed carry no expectation (".bin" is used for everything from pickles to raw tensors).
EXPECTED_BY_EXTENSION: dict[str, frozenset[str]] = {
    ".safetensors": frozenset({SAFETENSORS}),
    ".gguf": frozenset({GGUF}),
    ".npy": frozenset({NPY}),
    ".npz": frozenset({ZIP}),
    ".onnx": frozenset({ONNX}),
    ".h5": frozenset({HDF5}),
    ".hdf5": frozenset({HDF5}),
    ".keras": frozenset({ZIP, HDF5}),
    ".json": frozenset({KERAS_CONFIG, HF_CONFIG, "json"}),
    ".txt": frozenset({"text"}),
    ".md": frozenset({"text"}),
    ".csv": frozenset({"text"}),
    ".yaml": frozenset({"text"}),
    ".yml": frozenset({"text"}),
    ".py": frozenset({HF_CODE, "text"}),
    ".jinja": frozenset({HF_CHAT_TEMPLATE, "text"}),
    ".zip": frozenset({ZIP}),
    ".tar": frozenset({TAR}),
    ".pb": frozenset({TF_SAVEDMODEL, KERAS_METADATA, ONNX}),
    ".pt": frozenset({ZIP, PICKLE, TORCH_LEGACY, TAR}),
    ".pth": frozenset({ZIP, PICKLE, TORCH_LEGACY, TAR}),
    ".ckpt": frozenset({ZIP, PICKLE, TORCH_LEGACY, TAR}),
    ".pkl": frozenset({PICKLE, TORCH_LEGACY, COMPRESSED}),
    ".pickle": frozenset({PICKLE, COMPRESSED}),
    ".joblib": frozenset({PICKLE, COMPRESSED}),
}


def extension_of(name: str) -> str:
    base = name.rsplit("/", 1)[-1]
    dot = base.rfind(".")
    return base[dot:].lower() if dot > 0 else ""


def compression_of(head: bytes) -> str | None:
    for magic, kind in _COMPRESSION_MAGICS:
        if head.startswith(magic):
            return kind
    # Raw zlib (joblib's "zlib" compressor): CMF=0x78 and the header checksum holds.
    # Only the four FLG bytes zlib itself writes, so that text starting with "x " is not taken for zlib.
    if len(head) >= 2 and head[0] == 0x78 and head[1] in (0x01, 0x5E, 0x9C, 0xDA):
        return "zlib"
    # Legacy .lzma ("alone") header: properties byte 0x5D, dictionary size, then the size or all-ones.
    if len(head) >= 13 and head[0] == 0x5D and head[1:3] == b"\x00\x00" and head[5:13] == b"\xff" * 8:
        return "lzma"
    return None


def _looks_like_safetensors(head: bytes, size: int) -> bool:
    if len(head) < 10:
        return False
    (header_len,) = struct.unpack("<Q", head[:8])
    return 2 <= header_len <= size - 8 and head[8:9] == b"{"


def _looks_like_json(head: bytes) -> bool:
    return head.lstrip(b" \t\r\n\xef\xbb\xbf")[:1] == b"{"


def _json_kind(head: bytes, name: str) -> str:
    if b'"class_name"' in head and (b'"config"' in head or b'"module"' in head):
        return KERAS_CONFIG
    if name in _HF_JSON_NAMES or any(marker in head for marker in _HF_JSON_MARKERS):
        return HF_CONFIG
    return "json"


def _looks_like_protobuf(head: bytes) -> bool:
    # ModelProto / SavedModel both start with a small varint field 1 followed by another field.
    return len(head) >= 3 and head[0] == 0x08 and head[1] < 0x80 and (head[2] & 0x07) in (0, 2)


def identify(head: bytes, *, name: str = "", size: int = 0) -> str | None:
    """Return the format id for a file whose first bytes are ``head``, or None if it is not one we scan.

    ``name`` is the file (or member) base name, used only for formats without magic bytes.
    """
    base = name.rsplit("/", 1)[-1]
    ext = extension_of(base)
    if head.startswith(_ENCRYPTED_MAGIC):
        return ENCRYPTED
    if _is_torch_legacy(head):
        return TORCH_LEGACY
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        return ZIP
    if head.startswith(b"\x93NUMPY"):
        return NPY
    if any(head[at:at + 8] == _HDF5_MAGIC for at in (0, 512, 1024, 2048)):
        return HDF5  # HDF5 allows a user block before the superblock, at 512 * 2**n
    if head.startswith(b"GGUF"):
        return GGUF
    if len(head) > 262 and head[257:262] == b"ustar":
        return TAR
    if compression_of(head) is not None:
        return COMPRESSED
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return PICKLE
    if _looks_like_safetensors(head, size):
        return SAFETENSORS
    # Protocol 0/1 pickles have no magic; probe them before the name-based protobuf branches, so that a
    # text pickle named model.onnx or saved_model.pb still reaches the pickle analyzer.
    if _probe_pickle(head):
        return PICKLE
    if base == "saved_model.pb" or (ext == ".pb" and base != "keras_metadata.pb" and _looks_like_protobuf(head)):
        return TF_SAVEDMODEL
    if base == "keras_metadata.pb":
        return KERAS_METADATA
    if ext == ".onnx" or (ext in ("", ".bin", ".model") and _looks_like_onnx(head)):
        return ONNX
    if base == "chat_template.jinja":
        return HF_CHAT_TEMPLATE
    if _looks_like_json(head):
        return _json_kind(head, base)
    if ext == ".py":
        return HF_CODE
    if ext in (".h5", ".hdf5", ".keras") and len(head) >= 4096:
        return HDF5  # superblock may sit further out (user block); the HDF5 scanner searches for it
    if ext in FORMAT_BY_EXTENSION:
        return FORMAT_BY_EXTENSION[ext]
    if len(head) > 1 and _is_text(head):
        return "text"
    return None


def _looks_like_onnx(head: bytes) -> bool:
    # ir_version (field 1, varint) then producer_name / graph / opset_import; cheap and conservative.
    return _looks_like_protobuf(head) and head[2] in (0x12, 0x1A, 0x22, 0x2A, 0x32, 0x3A, 0x42)


def _is_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the head is still text.
        if exc.start < len(head) - 4:
            return False
    return b"\x00" not in head


def _probe_pickle(head: bytes) -> bool:
    from mlwarden.artifacts.pickle.probe import looks_like_pickle

    return looks_like_pickle(head)
