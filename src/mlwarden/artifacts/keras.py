"""Keras scanners: the JSON model config (``config.json`` of ``.keras`` archives, ``model.to_json()`` files),
legacy Keras HDF5 files (``.h5``: the ``model_config``/``training_config`` root attributes) and
``keras_metadata.pb`` of TensorFlow-format Keras SavedModels.

All three feed the same analysis, :class:`KerasConfigAnalyzer`, which walks every serialized object in a
config and reports Lambda layers (marshalled bytecode or function references, MW-KERAS-001), objects imported
from modules outside Keras (MW-KERAS-002) and references to dangerous modules or functions, marshalled code
outside Lambda layers and pickled torch modules (MW-KERAS-003).

What this module must never do: import Keras, TensorFlow or h5py, unmarshal the bytecode it finds, or follow
an HDF5 length or address it has not checked against the file size. The HDF5 reader here understands only
what is needed to find attribute values: superblock, object headers, attribute messages, global heap
collections and the blocks of a dense-attribute fractal heap. Tensor data is never read.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from mlwarden.artifacts.protobuf_wire import LEN, ParseError, ProtoLimitError, ProtoReader
from mlwarden.core.findings import Severity
from mlwarden.core.limits import MiB
from mlwarden.scanning.context import ScanContext, UnscannableError

# --- what counts as Keras ---------------------------------------------------------------------------------
# Top-level packages whose objects Keras itself deserializes by importing them (keras' serialization_lib
# imports only from "keras", "keras_hub", "keras_cv" and "keras_nlp"; "tf_keras" is Keras 2 as a package).
_KERAS_PACKAGES = frozenset({"keras", "tf_keras", "keras_hub", "keras_nlp", "keras_cv"})
# Keras as shipped inside TensorFlow (tf.keras before Keras 3), and TensorFlow itself: type specs of inputs
# are serialized with their TensorFlow module ("tensorflow.python.framework.tensor"), so importing from
# TensorFlow is ordinary. Dangerous TensorFlow functions are caught by name below.
_TRUSTED_MODULE_PREFIXES = ("tensorflow.keras", "tensorflow.python.keras", "tensorflow")

# Modules whose import or use in a model config means code execution or system access. None = every name in
# the module is dangerous; a set = only those names (the rest of the module is reported as non-Keras).
# Sources: Python's os/subprocess/builtins documentation and the Keras advisories (CVE-2024-3660,
# CVE-2025-1550, CVE-2025-8747: function references resolved by module and name).
_DANGEROUS_MODULES: dict[str, frozenset[str] | None] = {
    "os": None, "posix": None, "nt": None, "subprocess": None, "sys": None, "shutil": None, "socket": None,
    "importlib": None, "runpy": None, "pty": None, "code": None, "codeop": None, "pickle": None, "_pickle": None,
    "marshal": None, "ctypes": None, "multiprocessing": None, "asyncio": None, "webbrowser": None,
    "urllib": None, "http": None, "ftplib": None, "telnetlib": None, "smtplib": None, "requests": None,
    "platform": None, "tempfile": None, "pathlib": None, "io": None, "commands": None, "popen2": None,
    "builtins": frozenset({"eval", "exec", "compile", "open", "__import__", "getattr", "setattr", "delattr",
                           "globals", "locals", "vars", "input", "breakpoint", "help", "exit", "quit",
                           "execfile", "memoryview"}),
    "__builtin__": None,
}
# builtins that Keras configs may name harmlessly (Python types used as dtypes or argument types).
_HARMLESS_BUILTINS = frozenset({"int", "float", "str", "bool", "tuple", "list", "dict", "set", "frozenset",
                                "bytes", "complex", "slice", "range", "type", "object", "NoneType"})
# Function names that are dangerous whatever module they come from: code execution, process and file access,
# native library loading, and the Keras gadgets abused to bypass safe_mode (keras.utils.get_file downloads,
# python_utils.func_load unmarshals bytecode).
_DANGEROUS_FUNCTION_NAMES = frozenset({
    "eval", "exec", "execfile", "compile", "__import__", "system", "popen", "spawn", "spawnv", "execv",
    "execve", "getattr", "setattr", "open", "get_file", "func_load", "py_func", "py_function",
    "numpy_function", "load_op_library", "load_library", "write_file", "read_file", "load_model",
})
# Names looked for inside marshalled Lambda bytecode (it is never unmarshalled): modules and functions that
# run commands, execute code, touch files or the network.
_BYTECODE_NAMES = (
    "os", "posix", "nt", "subprocess", "system", "popen", "Popen", "spawn", "exec", "eval", "compile",
    "__import__", "importlib", "builtins", "__builtins__", "open", "socket", "shutil", "rmtree", "remove",
    "unlink", "sys", "getattr", "check_output", "check_call", "run", "call", "pty", "urllib", "requests",
    "pickle", "marshal", "ctypes", "execve", "execv", "fork", "base64", "b64decode", "__reduce__",
)
# Largest base64 bytecode blob decoded to enrich the evidence (real lambdas are a few hundred bytes).
_MAX_BYTECODE_B64 = 16 * MiB
# Findings of one rule listed per file; a config with a million custom objects must not flood the report.
_MAX_FINDINGS_PER_RULE = 50
_IDENTIFIER_BYTE = re.compile(rb"[A-Za-z0-9_]")


def _module_root(module: str) -> str:
    return module.split(".", 1)[0]


def is_keras_module(module: str) -> bool:
    """True for modules Keras' own deserializer imports from (keras, keras.*, tf_keras, tensorflow.keras...)."""
    if _module_root(module) in _KERAS_PACKAGES:
        return True
    return any(module == prefix or module.startswith(prefix + ".") for prefix in _TRUSTED_MODULE_PREFIXES)


def dangerous_reference(module: str | None, name: str | None) -> str | None:
    """Why ``module.name`` is dangerous, or None. Works on names only; nothing is imported."""
    if name and name in _DANGEROUS_FUNCTION_NAMES:
        return f"'{name}' runs code, touches files or loads native code"
    if not module:
        return None
    deny = _DANGEROUS_MODULES.get(_module_root(module), frozenset())
    if deny is None:
        return f"module '{module}' gives access to the system, processes or code execution"
    if name and name in deny:
        return f"'{module}.{name}' executes code or touches files"
    return None


def _names_in_bytecode(raw: bytes) -> list[str]:
    """Dangerous names that appear in marshalled code as whole strings. Marshal stores names length-prefixed
    (one length byte for short strings), so a hit must be preceded by its length or stand between
    non-identifier bytes; "os" inside "pos" does not count."""
    found: list[str] = []
    for name in _BYTECODE_NAMES:
        needle = name.encode()
        start = raw.find(needle)
        hits = 0
        while start >= 0 and hits < 1000:
            hits += 1
            before = raw[start - 1:start]
            after = raw[start + len(needle):start + len(needle) + 1]
            length_prefixed = before == bytes([len(needle)])
            delimited = (not before or not _IDENTIFIER_BYTE.match(before)) and (
                not after or not _IDENTIFIER_BYTE.match(after))
            if length_prefixed or delimited:
                found.append(name)
                break
            start = raw.find(needle, start + 1)
    return found


def describe_bytecode(code: str) -> str:
    """Describe base64 marshalled bytecode without unmarshalling it: size and dangerous names it mentions."""
    if len(code) > _MAX_BYTECODE_B64:
        return f"marshalled bytecode ({len(code)} base64 characters, too large to inspect)"
    try:
        raw = base64.b64decode(code.encode("ascii", "ignore"), validate=False)
    except (binascii.Error, ValueError):
        return f"marshalled bytecode ({len(code)} characters, not valid base64)"
    names = _names_in_bytecode(raw)
    refs = f"; mentions {', '.join(names)}" if names else ""
    return f"marshalled bytecode ({len(raw)} bytes{refs})"


class KerasConfigAnalyzer:
    """Walks a parsed Keras config and reports through ``ctx``. One analyzer per scanned file: it remembers
    what it reported so that a Lambda seen in several places (model and layer metadata) is reported once."""

    def __init__(self, ctx: ScanContext) -> None:
        self.ctx = ctx
        self._reported: set[tuple[str, str]] = set()
        self._per_rule: dict[str, int] = {}
        self._lambda_functions: set[int] = set()

    # -- entry points --
    def analyze_text(self, text: bytes | str, *, where: str, offset: int | None = None) -> None:
        """Parse JSON (bounded in size and nesting) and analyze it; report what cannot be parsed."""
        limit = self.ctx.limits.max_json_bytes
        if len(text) > limit:
            self.ctx.report("MW-FMT-003", f"Keras config in {where} is {len(text)} bytes, over the "
                            f"{limit}-byte limit; it was not analysed", evidence=where, offset=offset)
            return
        try:
            parsed = json.loads(text)
        except RecursionError:
            self.ctx.report("MW-FMT-001", f"Keras config in {where} is nested too deeply to parse",
                            evidence=where, offset=offset)
            return
        except (ValueError, UnicodeDecodeError) as exc:
            self.ctx.report("MW-FMT-001", f"Keras config in {where} is not valid JSON: {exc}",
                            evidence=where, offset=offset)
            return
        self.analyze(parsed, where=where, offset=offset)

    def analyze(self, config: Any, *, where: str, offset: int | None = None) -> None:
        """Walk every dict and list in ``config`` (iteratively, so deep configs cannot exhaust the stack)."""
        stack: list[Any] = [config]
        while stack:
            value = stack.pop()
            if isinstance(value, dict):
                if isinstance(value.get("class_name"), str):
                    self._check_object(value, where, offset)
                stack.extend(value.values())
            elif isinstance(value, list):
                stack.extend(value)

    # -- checks --
    def _report(self, rule_id: str, message: str, evidence: str, offset: int | None,
                severity: Severity | None = None) -> None:
        evidence = evidence[:300]  # names come from the file: keep hostile megabyte strings out of reports
        key = (rule_id, evidence)
        if key in self._reported:
            return
        count = self._per_rule.get(rule_id, 0) + 1
        self._per_rule[rule_id] = count
        if count > _MAX_FINDINGS_PER_RULE:
            return
        self._reported.add(key)
        if count == _MAX_FINDINGS_PER_RULE:
            message += f" (further {rule_id} findings in this file are not listed)"
        self.ctx.report(rule_id, message[:2000], evidence=evidence, offset=offset, severity=severity)

    def _check_object(self, obj: dict[str, Any], where: str, offset: int | None) -> None:
        class_name: str = obj["class_name"]
        module = obj.get("module") if isinstance(obj.get("module"), str) else None
        config = obj.get("config")
        short_name = class_name.rsplit(">", 1)[-1]
        if class_name in ("function", "__function__"):
            name = config if isinstance(config, str) else obj.get("registered_name")
            self._check_reference(module, name if isinstance(name, str) else None, "function", where, offset)
        else:
            if short_name == "Lambda":
                self._check_lambda(obj, where, offset)
            elif class_name == "__lambda__":
                if id(obj) not in self._lambda_functions:
                    code = _lambda_code(obj)
                    storage = describe_bytecode(code) if code is not None else "marshalled code"
                    self._report("MW-KERAS-003", f"{where} holds a serialized Python lambda ({storage}); Keras "
                                 "unmarshals and runs it on load when safe_mode is off",
                                 f"__lambda__: {storage}", offset, Severity.CRITICAL)
            elif short_name == "TorchModuleWrapper":
                name = str(config.get("name", "?"))[:200] if isinstance(config, dict) else "?"
                self._report("MW-KERAS-003", f"{where} holds a TorchModuleWrapper layer '{name}': its module is "
                             "a pickled torch object that Keras unpickles with torch.load on load",
                             f"TorchModuleWrapper '{name}'", offset, Severity.CRITICAL)
                self._scan_torch_payload(config, name)
            self._check_reference(module, class_name, "class", where, offset)
        registered = obj.get("registered_name")
        for label in (registered, class_name):
            if isinstance(label, str) and ">" in label:
                package = label.split(">", 1)[0]
                if package not in _KERAS_PACKAGES and not (module and not is_keras_module(module)):
                    self._report("MW-KERAS-002", f"{where} uses the custom registered object '{label}'; it "
                                 "loads only with its package's code, which must be trusted",
                                 label, offset, Severity.LOW)
                break

    def _check_reference(self, module: str | None, name: str | None, kind: str, where: str,
                         offset: int | None) -> None:
        if module is None and kind == "class":
            return
        label = f"{module}.{name}" if module else str(name)
        why = dangerous_reference(module, name)
        if why is not None:
            self._report("MW-KERAS-003", f"{where} references the {kind} {label}: {why}", label, offset,
                         Severity.CRITICAL)
            return
        if module is None or is_keras_module(module):
            return
        if _module_root(module) == "builtins" and name in _HARMLESS_BUILTINS:
            return
        self._report("MW-KERAS-002", f"{where} references the {kind} {label}, which Keras imports from a "
                     "module outside Keras when the model is loaded", label, offset)

    def _check_lambda(self, layer: dict[str, Any], where: str, offset: int | None) -> None:
        config: dict[str, Any] = layer["config"] if isinstance(layer.get("config"), dict) else {}
        name = str(config.get("name", "?"))[:200]
        parts: list[str] = []
        severity = Severity.HIGH
        for key in ("function", "output_shape"):
            described, dangerous_code = self._describe_lambda_value(config, key)
            if described is not None:
                parts.append(f"{key}: {described}" if key != "function" else described)
                if dangerous_code:
                    severity = Severity.CRITICAL
        storage = "; ".join(parts) if parts else "no function stored"
        self._report("MW-KERAS-001", f"{where} contains the Lambda layer '{name}' ({storage})",
                     f"Lambda '{name}': {storage}", offset, severity)

    def _describe_lambda_value(self, config: dict[str, Any], key: str) -> tuple[str | None, bool]:
        """Describe how ``config[key]`` stores a function; the flag says it is code or a dangerous name."""
        value = _tuple_items(config.get(key))
        kind = config.get(f"{key}_type") if key != "function" else config.get("function_type")
        if isinstance(value, dict) and value.get("class_name") == "__lambda__":
            self._lambda_functions.add(id(value))
            code = _lambda_code(value)
            return (describe_bytecode(code) if code is not None else "marshalled code"), True
        if isinstance(value, list) and value and isinstance(value[0], str) and kind in ("lambda", None):
            if kind == "lambda" or _looks_like_base64(value[0]):
                return describe_bytecode(value[0]), True
        if isinstance(value, dict) and value.get("class_name") in ("function", "__function__"):
            module = value.get("module") if isinstance(value.get("module"), str) else None
            fn = value.get("config") if isinstance(value.get("config"), str) else None
            return _function_ref(module, fn), dangerous_reference(module, fn) is not None
        if isinstance(value, str) and kind == "lambda":  # Keras 1 kept the base64 code as a plain string
            return describe_bytecode(value), True
        if isinstance(value, str) and (kind == "function" or key == "function"):
            module_key = "module" if key == "function" else f"{key}_module"
            module = config.get(module_key) if isinstance(config.get(module_key), str) else None
            return _function_ref(module, value), dangerous_reference(module, value) is not None
        return None, False

    def _scan_torch_payload(self, config: Any, name: str) -> None:
        """Hand the pickled torch module of a TorchModuleWrapper to the pickle/zip scanners."""
        if not isinstance(config, dict):
            return
        payload = config.get("module")
        if isinstance(payload, dict) and isinstance(payload.get("config"), dict):
            payload = payload["config"].get("value")
        if not isinstance(payload, str) or not payload:
            return
        # Keras writes the torch.save() output base64-encoded; early Keras 3 releases kept it as latin-1 text.
        try:
            data = base64.b64decode(payload.encode("ascii"), validate=True)
        except (binascii.Error, ValueError, UnicodeEncodeError):
            try:
                data = payload.encode("latin-1")
            except UnicodeEncodeError:
                return
        if len(data) <= self.ctx.limits.max_member_bytes:
            self.ctx.scan_member_bytes(f"TorchModuleWrapper '{name}'.module", data)


def _function_ref(module: str | None, name: str | None) -> str:
    return f"function '{name}' from module '{module}'" if module else f"function '{name}'"


def _lambda_code(obj: dict[str, Any]) -> str | None:
    """The base64 code of a serialized lambda: ``config.code`` (Lambda layers) or ``config.value[0]``
    (serialization_lib's ``__lambda__`` objects)."""
    inner = obj.get("config")
    if not isinstance(inner, dict):
        return None
    code = inner.get("code")
    if isinstance(code, str):
        return code
    value = _tuple_items(inner.get("value"))
    if isinstance(value, list) and value and isinstance(value[0], str):
        return value[0]
    return None


def _tuple_items(value: Any) -> Any:
    """The items of a JSON-encoded tuple, else ``value`` unchanged. tf.keras 2.x stores a Lambda's function as
    the tuple ``func_dump`` returns, (base64 marshalled code, defaults, closure); its JSON encoder (keras/saving/
    legacy/saved_model/json_utils.py, used for keras_metadata.pb) writes tuples as {"class_name": "__tuple__",
    "items": [...]}, while model.to_json() and .h5 configs write the same tuple as a plain list."""
    if isinstance(value, dict) and value.get("class_name") == "__tuple__" and isinstance(value.get("items"), list):
        return value["items"]
    return value


_BASE64_TEXT = re.compile(r"^[A-Za-z0-9+/=\s]{16,}$")


def _looks_like_base64(text: str) -> bool:
    return bool(_BASE64_TEXT.match(text[:4096]))


class KerasConfigScanner:
    """A JSON Keras model config: ``config.json`` inside ``.keras`` archives or a ``model.to_json()`` file."""

    name = "keras"

    def scan(self, stream: BinaryIO, ctx: ScanContext) -> None:
        limit = ctx.limits.max_json_bytes
        if ctx.size > limit:
            ctx.report("MW-FMT-003", f"Keras config is {ctx.size} bytes, over the {limit}-byte limit; it was not "
                       "analysed", evidence=ctx.name)
            return
        data = stream.read(limit + 1)
        KerasConfigAnalyzer(ctx).analyze_text(data, where=ctx.name or "the Keras config")


class KerasMetadataScanner:
    """``keras_metadata.pb``: SavedMetadata { repeated SavedObject nodes = 1 }, SavedObject { string
    node_path = 3; string identifier = 4; string metadata = 5 (JSON) } (keras/protobuf/saved_metadata.proto)."""

    name = "keras-metadata"

    def scan(self, stream: BinaryIO, ctx: ScanContext) -> None:
        analyzer = KerasConfigAnalyzer(ctx)
        reader = ProtoReader(stream, ctx.size, max_depth=ctx.limits.max_proto_depth)
        try:
            top = reader.message()
            for node in top.fields():
                if node.number != 1 or node.wire_type != LEN:
                    continue
                saved_object = top.submessage(node)
                path = "?"
                for field in saved_object.fields():
                    if field.wire_type != LEN:
                        continue
                    if field.number == 3:
                        path = saved_object.read_text(field, 512)
                    elif field.number == 5:
                        text = saved_object.read_bytes(field, ctx.limits.max_json_bytes + 1)
                        analyzer.analyze_text(text, where=f"keras_metadata.pb node '{path}'", offset=field.offset)
        except ProtoLimitError as exc:
            ctx.report("MW-FMT-003", f"keras_metadata.pb: {exc}", offset=exc.offset)
        except ParseError as exc:
            raise UnscannableError(f"invalid protobuf: {exc}", offset=exc.offset) from None


# --- HDF5 -----------------------------------------------------------------------------------------------
# HDF5 file format specification 3.0 (The HDF Group): superblock versions 0-3, object header versions 1-2,
# message types 0x000C (attribute), 0x0010 (continuation), 0x0015 (attribute info); datatype classes 3 (string)
# and 9 (variable-length); global heap collections ("GCOL"); fractal heaps ("FRHP", "FHDB", "FHIB") and
# version 2 B-trees ("BTHD", "BTLF") for dense attribute storage.
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
# Root attributes that Keras 2 (and Keras 3's legacy .h5 writer) stores its configs in, as JSON strings.
_CONFIG_ATTRIBUTES = (b"model_config", b"training_config")
_ATTRIBUTE_NEEDLES = tuple(name + b"\x00" for name in _CONFIG_ATTRIBUTES)
# Files up to this size are searched completely for config attributes, wherever HDF5 placed them; bigger files
# are read only where the structure points (root object header, its heaps) plus this much of their head.
FULL_SCAN_BYTES = 64 * MiB
_SCAN_CHUNK = 4 * MiB
_MAX_NEEDLE_HITS = 10_000
_MAX_HEADER_MESSAGES = 65_536
_MAX_HEADER_BLOCKS = 1024
_MAX_ATTRIBUTE_VALUES = 16
_MAX_HEAP_OBJECTS = 65_536
_MAX_HEAP_BLOCKS = 4096
_MAX_HEAP_DEPTH = 8
# Object header blocks and heap index tables are kilobytes in real files; bigger ones are not read.
_MAX_STRUCTURE_BYTES = 16 * MiB
# Bytes of heap blocks and huge objects searched for attribute messages, all regions of a file together.
_MAX_REGION_BYTES = 256 * MiB
_MSG_NIL, _MSG_ATTRIBUTE, _MSG_CONTINUATION, _MSG_ATTRIBUTE_INFO = 0x0000, 0x000C, 0x0010, 0x0015


class _Hdf5Error(Exception):
    def __init__(self, message: str, offset: int | None = None) -> None:
        super().__init__(message)
        self.offset = offset


class _Hdf5Limit(_Hdf5Error):
    """A structure this reader does not decode (filters, deep B-trees) or a bound was reached."""


@dataclass(frozen=True, slots=True)
class _ConfigValue:
    name: str
    text: bytes
    offset: int  # of the attribute message


class _Hdf5File:
    """Random access to an HDF5 file by absolute offsets, every read checked against the file size."""

    def __init__(self, stream: BinaryIO, size: int, ctx: ScanContext) -> None:
        self.stream = stream
        self.size = size
        self.ctx = ctx
        self.offset_size = 8
        self.length_size = 8
        self.base = 0

    def read_at(self, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0 or offset + length > self.size:
            raise _Hdf5Error(f"structure at {offset} ({length} bytes) lies outside the file", offset)
        self.stream.seek(offset)
        data = self.stream.read(length)
        if len(data) != length:
            raise _Hdf5Error("file is shorter than its size", offset)
        return data

    @staticmethod
    def uint(data: bytes, pos: int, width: int) -> int:
        if pos < 0 or pos + width > len(data):
            raise _Hdf5Error("field runs past the end of its structure")
        return int.from_bytes(data[pos:pos + width], "little")

    def undefined(self, address: int) -> bool:
        return address == (1 << (8 * self.offset_size)) - 1

    def address(self, relative: int) -> int:
        return self.base + relative

    # -- superblock --
    def superblock_offset(self) -> int:
        """Where the superblock is: 0, or after a user block of 512, 1024, 2048... bytes (HDF5 looks there)."""
        offset = 0
        while offset + len(_HDF5_SIGNATURE) <= self.size:
            if self.read_at(offset, len(_HDF5_SIGNATURE)) == _HDF5_SIGNATURE:
                return offset
            offset = 512 if offset == 0 else offset * 2
        raise _Hdf5Error("missing HDF5 signature", 0)

    def root_object_header(self) -> int:
        start = self.superblock_offset()
        head = self.read_at(start, min(self.size - start, 128))
        if len(head) < 16:
            raise _Hdf5Error("truncated superblock", start)
        version = head[8]
        if version in (0, 1):
            self.offset_size, self.length_size = head[13], head[14]
            pos = 24 if version == 0 else 28
        elif version in (2, 3):
            self.offset_size, self.length_size = head[9], head[10]
            pos = 12
        else:
            raise _Hdf5Error(f"unknown superblock version {version}", start + 8)
        if self.offset_size not in (2, 4, 8) or self.length_size not in (2, 4, 8):
            raise _Hdf5Error(f"invalid address sizes {self.offset_size}/{self.length_size}", start + 13)
        o = self.offset_size
        # Addresses are relative to the base address: the superblock's own offset when there is a user block.
        self.base = self.uint(head, pos, o)
        if self.base > self.size:
            raise _Hdf5Error("superblock base address lies outside the file", start + pos)
        if version in (0, 1):
            # base, free-space info, end-of-file, driver info; then the root symbol table entry
            # (link name offset, object header address, ...).
            root = self.uint(head, pos + 5 * o, o)
        else:
            # base, superblock extension, end-of-file, root object header.
            root = self.uint(head, pos + 3 * o, o)
        if self.undefined(root):
            raise _Hdf5Error("superblock has no root group", start + pos)
        return self.address(root)

    # -- object headers --
    def header_messages(self, address: int) -> Iterator[tuple[int, int, int, int]]:
        """(type, flags, data offset, data size) of every message of the object header at ``address``,
        following continuation blocks."""
        prefix = self.read_at(address, 16)
        blocks: list[tuple[int, int]] = []
        if prefix[:4] == b"OHDR":
            if prefix[4] != 2:
                raise _Hdf5Error(f"unknown object header version {prefix[4]}", address)
            v2, flags = True, prefix[5]
            pos = address + 6 + (16 if flags & 0x20 else 0) + (4 if flags & 0x10 else 0)
            width = 1 << (flags & 0x03)
            chunk = self.uint(self.read_at(pos, width), 0, width)
            blocks.append((pos + width, pos + width + chunk))
            creation_order = bool(flags & 0x04)
        elif prefix[0] == 1:
            v2, creation_order = False, False
            size = self.uint(prefix, 8, 4)
            blocks.append((address + 16, address + 16 + size))
        else:
            raise _Hdf5Error(f"unknown object header at {address}", address)
        visited: set[int] = set()
        messages = 0
        while blocks:
            start, end = blocks.pop(0)
            if start in visited:
                continue
            visited.add(start)
            if len(visited) > _MAX_HEADER_BLOCKS:
                raise _Hdf5Limit("object header has too many continuation blocks", start)
            if end > self.size or end < start:
                raise _Hdf5Error("object header block lies outside the file", start)
            if end - start > _MAX_STRUCTURE_BYTES:
                raise _Hdf5Limit("object header block is too large", start)
            data = self.read_at(start, end - start)
            pos = 0
            header_size = (4 + (2 if creation_order else 0)) if v2 else 8
            while pos + header_size <= len(data):
                messages += 1
                if messages > _MAX_HEADER_MESSAGES:
                    raise _Hdf5Limit("object header has too many messages", start + pos)
                if v2:
                    mtype, msize, mflags = data[pos], self.uint(data, pos + 1, 2), data[pos + 3]
                else:
                    mtype, msize, mflags = self.uint(data, pos, 2), self.uint(data, pos + 2, 2), data[pos + 4]
                data_at = pos + header_size
                if data_at + msize > len(data):
                    raise _Hdf5Error("object header message runs past its block", start + pos)
                if mtype == _MSG_CONTINUATION:
                    o, ln = self.offset_size, self.length_size
                    target = self.address(self.uint(data, data_at, o))
                    length = self.uint(data, data_at + o, ln)
                    if v2:
                        if self.read_at(target, 4) != b"OCHK":
                            raise _Hdf5Error("continuation block lacks its OCHK signature", target)
                        blocks.append((target + 4, target + length - 4))
                    else:
                        blocks.append((target, target + length))
                elif mtype != _MSG_NIL:
                    yield mtype, mflags, start + data_at, msize
                pos = data_at + msize

    # -- attribute messages --
    def config_attribute(self, at: int, end: int | None = None) -> _ConfigValue | None:
        """Decode the attribute message at ``at`` if it is a config attribute (model_config,
        training_config) stored as a string; None when it is another attribute or not an attribute."""
        head = self.read_at(at, min(9, self.size - at)) if at < self.size else b""
        if len(head) < 8:
            return None
        version, flags = head[0], head[1]
        name_size, dt_size, ds_size = self.uint(head, 2, 2), self.uint(head, 4, 2), self.uint(head, 6, 2)
        if version == 1:
            name_at = at + 8
            dt_at = name_at + _pad8(name_size)
            ds_at = dt_at + _pad8(dt_size)
            data_at = ds_at + _pad8(ds_size)
        elif version in (2, 3):
            name_at = at + (9 if version == 3 else 8)
            dt_at = name_at + name_size
            ds_at = dt_at + dt_size
            data_at = ds_at + ds_size
        else:
            return None
        if not 1 < name_size <= 64:
            return None
        name = self.read_at(name_at, name_size).rstrip(b"\x00")
        if name not in _CONFIG_ATTRIBUTES:
            return None
        if end is not None and data_at > end:
            raise _Hdf5Error("attribute message is shorter than its fields", at)
        if version > 1 and flags & 0x03:
            raise _Hdf5Limit(f"attribute '{name.decode()}' uses a shared datatype or dataspace", at)
        kind, element_size = self._string_type(self.read_at(dt_at, dt_size), at)
        count = self._element_count(self.read_at(ds_at, ds_size), at)
        if kind is None or count == 0:
            return None
        if end is not None and data_at + min(count, _MAX_ATTRIBUTE_VALUES) * element_size > end:
            raise _Hdf5Error("attribute data runs past its message", at)
        values = [self._string_value(kind, element_size, data_at + i * element_size, at)
                  for i in range(min(count, _MAX_ATTRIBUTE_VALUES))]
        text = b"".join(values) if count == 1 else b"[" + b",".join(values) + b"]"
        return _ConfigValue(name.decode(), text, at)

    def _string_type(self, dt: bytes, at: int) -> tuple[str | None, int]:
        if len(dt) < 8:
            raise _Hdf5Error("attribute datatype is truncated", at)
        type_class, size = dt[0] & 0x0F, self.uint(dt, 4, 4)
        if type_class == 3:
            return "fixed", size
        if type_class == 9 and dt[1] & 0x0F == 1:
            return "vlen", 4 + self.offset_size + 4
        return None, 0

    def _element_count(self, ds: bytes, at: int) -> int:
        if len(ds) < 4:
            raise _Hdf5Error("attribute dataspace is truncated", at)
        version, rank = ds[0], ds[1]
        if version == 1:
            dims_at = 8
        elif version == 2:
            dims_at = 4
            if ds[3] == 2:  # null dataspace
                return 0
        else:
            raise _Hdf5Error(f"unknown dataspace version {version}", at)
        count = 1
        for i in range(rank):
            count *= self.uint(ds, dims_at + i * self.length_size, self.length_size)
            count = min(count, 1 << 32)
        return count

    def _string_value(self, kind: str, element_size: int, data_at: int, at: int) -> bytes:
        limit = self.ctx.limits.max_json_bytes
        if kind == "fixed":
            if element_size > limit:
                raise _Hdf5Limit(f"config attribute is {element_size} bytes, over the {limit}-byte limit", at)
            return self.read_at(data_at, element_size).rstrip(b"\x00 ")
        ref = self.read_at(data_at, element_size)
        length = self.uint(ref, 0, 4)
        collection = self.address(self.uint(ref, 4, self.offset_size))
        index = self.uint(ref, 4 + self.offset_size, 4)
        if length > limit:
            raise _Hdf5Limit(f"config attribute is {length} bytes, over the {limit}-byte limit", at)
        return self.global_heap_object(collection, index, length).rstrip(b"\x00")

    def global_heap_object(self, collection: int, index: int, length: int) -> bytes:
        """Object ``index`` of the global heap collection at ``collection`` (its first ``length`` bytes)."""
        ln = self.length_size
        head = self.read_at(collection, 8 + ln)
        if head[:4] != b"GCOL":
            raise _Hdf5Error("variable-length string points to no global heap collection", collection)
        end = collection + self.uint(head, 8, ln)
        if end > self.size:
            raise _Hdf5Error("global heap collection runs past the end of the file", collection)
        pos = collection + 8 + ln
        for _ in range(_MAX_HEAP_OBJECTS):
            if pos + 8 + ln > end:
                break
            obj = self.read_at(pos, 8 + ln)
            obj_index, obj_size = self.uint(obj, 0, 2), self.uint(obj, 8, ln)
            if obj_index == 0:
                break
            if obj_index == index:
                if pos + 8 + ln + obj_size > end:
                    raise _Hdf5Error("global heap object runs past its collection", pos)
                return self.read_at(pos + 8 + ln, min(obj_size, length))
            pos += 8 + ln + _pad8(obj_size)
        raise _Hdf5Error(f"global heap object {index} not found", collection)

    # -- dense attribute storage --
    def dense_attribute_regions(self, info_at: int, info_size: int) -> Iterator[tuple[int, int]]:
        """(offset, length) of every block that can hold the attribute messages of an object whose
        attribute info message is at ``info_at``: the fractal heap's direct blocks and its huge objects."""
        o, ln = self.offset_size, self.length_size
        info = self.read_at(info_at, info_size)
        heap_at = 2 + (2 if info[1] & 0x01 else 0)
        heap = self.uint(info, heap_at, o)
        if self.undefined(heap):
            return
        heap = self.address(heap)
        fixed = 4 + 1 + 2 + 2 + 1 + 4 + ln + o + ln + o + 8 * ln + 2 + ln + ln + 2 + 2 + o + 2
        hdr = self.read_at(heap, fixed)
        if hdr[:4] != b"FRHP":
            raise _Hdf5Error("dense attribute storage points to no fractal heap", heap)
        filters_len = self.uint(hdr, 7, 2)
        if filters_len:
            raise _Hdf5Limit("dense attribute storage is compressed (fractal heap I/O filters)", heap)
        pos = 14
        huge_btree = self.uint(hdr, pos + ln, o)
        pos += ln + o + ln + o + 4 * ln
        huge_count = self.uint(hdr, pos + ln, ln)
        pos += 4 * ln
        width = self.uint(hdr, pos, 2)
        start_size = self.uint(hdr, pos + 2, ln)
        max_direct = self.uint(hdr, pos + 2 + ln, ln)
        max_heap_bits = self.uint(hdr, pos + 2 + 2 * ln, 2)
        root = self.uint(hdr, pos + 2 + 2 * ln + 4, o)
        rows = self.uint(hdr, pos + 2 + 2 * ln + 4 + o, 2)
        if not _power_of_two(start_size) or not _power_of_two(max_direct) or width == 0 or width > 65536:
            raise _Hdf5Error("fractal heap has an invalid doubling table", heap)
        geometry = _HeapGeometry(width, start_size, max_direct, (max_heap_bits + 7) // 8)
        blocks = [0]
        if not self.undefined(root):
            if rows == 0:
                yield self.address(root), start_size
            else:
                yield from self._indirect_blocks(self.address(root), rows, geometry, 0, blocks)
        if huge_count and not self.undefined(huge_btree):
            yield from self._huge_objects(self.address(huge_btree))

    def _indirect_blocks(self, at: int, rows: int, geo: _HeapGeometry, depth: int,
                         blocks: list[int]) -> Iterator[tuple[int, int]]:
        if depth > _MAX_HEAP_DEPTH:
            raise _Hdf5Limit("fractal heap is nested too deeply", at)
        o = self.offset_size
        if self.read_at(at, 4) != b"FHIB":
            raise _Hdf5Error("fractal heap indirect block lacks its signature", at)
        pos = at + 5 + o + geo.offset_bytes
        direct_rows = geo.max_direct.bit_length() - geo.start_size.bit_length() + 2
        entries = min(rows, 64) * geo.width
        if entries * o > _MAX_STRUCTURE_BYTES:
            raise _Hdf5Limit("fractal heap indirect block is too large", at)
        table = self.read_at(pos, entries * o)
        for entry in range(entries):
            row = entry // geo.width
            child = self.uint(table, entry * o, o)
            if self.undefined(child) or child == 0:
                continue
            blocks[0] += 1
            if blocks[0] > _MAX_HEAP_BLOCKS:
                raise _Hdf5Limit("fractal heap has too many blocks", at)
            size = geo.start_size << max(0, row - 1)
            if row < direct_rows:
                yield self.address(child), size
            else:
                child_rows = size.bit_length() - (geo.start_size * geo.width).bit_length() + 1
                yield from self._indirect_blocks(self.address(child), max(child_rows, 1), geo, depth + 1, blocks)

    def _huge_objects(self, at: int) -> Iterator[tuple[int, int]]:
        o, ln = self.offset_size, self.length_size
        hdr = self.read_at(at, 4 + 1 + 1 + 4 + 2 + 2 + 1 + 1 + o + 2)
        if hdr[:4] != b"BTHD":
            raise _Hdf5Error("huge-object index is no version 2 B-tree", at)
        record_type, record_size, depth = hdr[5], self.uint(hdr, 10, 2), self.uint(hdr, 12, 2)
        root, count = self.uint(hdr, 16, o), self.uint(hdr, 16 + o, 2)
        if record_type not in (1, 3):
            raise _Hdf5Limit("huge attribute objects are compressed", at)
        if depth != 0:
            raise _Hdf5Limit("huge-object index is deeper than one node", at)
        if record_size < o + ln or self.undefined(root):
            return
        leaf_at = self.address(root)
        if count * record_size > _MAX_STRUCTURE_BYTES:
            raise _Hdf5Limit("huge-object index node is too large", leaf_at)
        leaf = self.read_at(leaf_at, 6 + count * record_size)
        if leaf[:4] != b"BTLF":
            raise _Hdf5Error("huge-object index leaf lacks its signature", leaf_at)
        for i in range(count):
            rec = 6 + i * record_size
            yield self.address(self.uint(leaf, rec, o)), self.uint(leaf, rec + o, ln)

    # -- searching --
    def config_attributes_in(self, start: int, length: int) -> Iterator[int]:
        """Offsets of candidate attribute messages named like a config attribute inside a region."""
        end = min(self.size, start + length)
        overlap = max(len(n) for n in _ATTRIBUTE_NEEDLES) + 9
        pos, hits = start, 0
        while pos < end:
            chunk = self.read_at(pos, min(_SCAN_CHUNK + overlap, end - pos))
            for needle in _ATTRIBUTE_NEEDLES:
                found = chunk.find(needle)
                while found >= 0:
                    hits += 1
                    if hits > _MAX_NEEDLE_HITS:
                        raise _Hdf5Limit("too many config attribute names in the file", pos + found)
                    name_at = pos + found
                    if found < _SCAN_CHUNK:  # hits in the overlap are handled with the next chunk
                        # v1/v2 messages put the name 8 bytes after their start, v3 messages 9 bytes.
                        yield name_at - 8
                        yield name_at - 9
                    found = chunk.find(needle, found + 1)
            pos += _SCAN_CHUNK


@dataclass(frozen=True, slots=True)
class _HeapGeometry:
    width: int
    start_size: int
    max_direct: int
    offset_bytes: int


def _pad8(value: int) -> int:
    return (value + 7) & ~7


def _power_of_two(value: int) -> bool:
    return value > 0 and value & (value - 1) == 0


class Hdf5Scanner:
    """Legacy Keras ``.h5`` files: find the ``model_config``/``training_config`` root attributes (JSON) and
    analyze them. HDF5 files without them (plain weights, ``model.weights.h5``) give no finding."""

    name = "hdf5"

    def scan(self, stream: BinaryIO, ctx: ScanContext) -> None:
        h5 = _Hdf5File(stream, ctx.size, ctx)
        try:
            root = h5.root_object_header()
        except _Hdf5Error as exc:
            raise UnscannableError(f"invalid HDF5 superblock: {exc}", offset=exc.offset) from None
        analyzer = KerasConfigAnalyzer(ctx)
        seen: set[int] = set()
        failure: _Hdf5Error | None = None
        try:
            self._scan_root(h5, root, analyzer, seen)
        except _Hdf5Limit as exc:
            ctx.report("MW-FMT-003", f"HDF5 attributes not fully analysed: {exc}", offset=exc.offset)
        except _Hdf5Error as exc:
            failure = exc
        # Whatever the structure says, search the head of the file (all of a normal-sized file) for config
        # attributes: HDF5 can keep attribute messages in heaps this reader does not walk.
        try:
            for at in h5.config_attributes_in(0, min(ctx.size, FULL_SCAN_BYTES)):
                self._analyze_attribute(h5, at, None, analyzer, seen, lenient=True)
        except _Hdf5Limit as exc:
            ctx.report("MW-FMT-003", f"HDF5 attributes not fully analysed: {exc}", offset=exc.offset)
        except _Hdf5Error as exc:  # e.g. a stream shorter than its declared size (a lying archive member)
            failure = failure or exc
        if failure is not None:
            raise UnscannableError(f"invalid HDF5 structure: {failure}", offset=failure.offset)

    def _scan_root(self, h5: _Hdf5File, root: int, analyzer: KerasConfigAnalyzer, seen: set[int]) -> None:
        shared = False
        for mtype, mflags, at, size in list(h5.header_messages(root)):
            if mtype == _MSG_ATTRIBUTE:
                if mflags & 0x02:
                    shared = True  # kept in the file's shared-message table, which this reader does not walk
                    continue
                self._analyze_attribute(h5, at, at + size, analyzer, seen, lenient=False)
            elif mtype == _MSG_ATTRIBUTE_INFO:
                budget = _MAX_REGION_BYTES
                for start, length in h5.dense_attribute_regions(at, size):
                    budget -= length
                    if budget < 0:
                        raise _Hdf5Limit("dense attribute storage is larger than the search budget", start)
                    for candidate in h5.config_attributes_in(start, length):
                        self._analyze_attribute(h5, candidate, None, analyzer, seen, lenient=True)
        if shared:
            raise _Hdf5Limit("root attributes are kept in the shared-message table; only the head of the file "
                             "was searched for them", root)

    @staticmethod
    def _analyze_attribute(h5: _Hdf5File, at: int, end: int | None, analyzer: KerasConfigAnalyzer,
                           seen: set[int], *, lenient: bool) -> None:
        if at in seen or at < 0:
            return
        try:
            value = h5.config_attribute(at, end)
        except _Hdf5Limit:
            raise
        except _Hdf5Error:
            if lenient:  # a name found by searching need not be an attribute message at all
                return
            raise
        if value is None:
            return
        seen.add(at)
        analyzer.analyze_text(value.text, where=f"the {value.name} attribute", offset=value.offset)
