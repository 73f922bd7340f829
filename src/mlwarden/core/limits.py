"""Named resource limits. Every bound a scanner applies to hostile input lives here, in one place.

They keep time and memory bounded on truncated, huge, deeply nested or lying files. Values are chosen so
that real models from public hubs fit comfortably; a file that exceeds one gets an MW-FMT-003 finding.
"""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1024 * 1024
GiB = 1024 * MiB


@dataclass(frozen=True, slots=True)
class Limits:
    # Bytes read to identify a file by its content.
    sniff_bytes: int = 4096
    # Largest pickle stream analysed in one piece (PyTorch data.pkl is usually < 10 MiB; joblib with
    # inline arrays is read as a stream and skips array bytes).
    max_pickle_bytes: int = 512 * MiB
    # Opcodes walked per pickle before the analysis stops with a limit finding.
    max_pickle_opcodes: int = 50_000_000
    # Symbolic stack depth / memo size: bounded to keep memory flat on hostile streams.
    max_pickle_stack: int = 1_000_000
    # ~150 bytes per symbolic memo entry: 8M entries bound memory near 1.2 GB and fit legitimate ~150 MB
    # pickles of dense object graphs (about 5.6M entries per 100 MB).
    max_pickle_memo: int = 8_000_000
    # Concatenated pickles followed in one stream.
    max_pickles_per_stream: int = 64
    # Nesting: archive in archive in archive..., pickle in pickle...
    max_depth: int = 8
    # Archive members looked at per archive, and total bytes decompressed per top-level file.
    max_archive_members: int = 100_000
    max_decompressed_bytes: int = 4 * GiB
    # Compression ratio beyond which a member is treated as a bomb (only checked for large members). Deflate
    # cannot exceed about 1032:1, so zero-filled arrays in savez_compressed files stay legitimate; bzip2 and
    # xz can go far beyond, and nested archives are bounded by the shared decompression budget below.
    max_compression_ratio: int = 1100
    bomb_check_min_bytes: int = 16 * MiB
    # Largest member read into memory for a nested scan.
    max_member_bytes: int = 1 * GiB
    # Text-like headers: safetensors JSON header, GGUF metadata, Keras/HF JSON configs, TorchScript code.
    max_header_bytes: int = 100 * MiB
    max_json_bytes: int = 64 * MiB
    max_gguf_kv: int = 1_000_000
    max_gguf_tensors: int = 10_000_000
    max_gguf_string: int = 64 * MiB
    max_gguf_array: int = 100_000_000
    # Protobuf (ONNX, SavedModel) message nesting.
    max_proto_depth: int = 64
    # Source code, configuration and other text analysed for unsafe code and secrets (larger files get an
    # MW-FMT-003 finding and only their first part is searched for secrets: minified bundles, data dumps).
    max_source_bytes: int = 4 * MiB
    # Notebooks keep outputs (images as base64) and are routinely tens of MiB.
    max_notebook_bytes: int = 64 * MiB
    # Requirements and lock files (a large uv.lock is ~2 MiB); includes followed per file.
    max_dependency_file_bytes: int = 16 * MiB
    max_requirement_includes: int = 64


DEFAULT_LIMITS = Limits()
