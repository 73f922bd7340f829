"""PyTorch checkpoint knowledge: which members of a torch.save / torch.jit.save zip are pickles, storages or
TorchScript code; rules for dangerous TorchScript code; and the scanner of the legacy (pre-1.6) formats.

Layouts follow torch/serialization.py (``_save``, ``_legacy_save``, ``_legacy_load``) and
caffe2/serialize/inline_container.cc. The legacy stream is five pickles followed by raw storage bytes; exactly
those five pickles are analysed and the storage bytes are never read.

Static analysis only: this module never unpickles, imports or runs anything from the file. Pickles are cut out
with ``pickletools.genops`` (a disassembler, which executes nothing) and handed to the pickle analyzer.
"""

from __future__ import annotations

import dataclasses
import pickletools
import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, BinaryIO, cast

from mlwarden.core.findings import Severity
from mlwarden.core.limits import MiB
from mlwarden.scanning.context import ScanContext, UnscannableError

# torch/serialization.py: MAGIC_NUMBER and PROTOCOL_VERSION written by _legacy_save.
LEGACY_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL_VERSION = 1001
_LEGACY_PICKLES = ("magic number", "protocol version", "system info", "main object", "storage keys")

# Bytes per element of the legacy storage classes named in the pickles (torch/storage.py: _LegacyStorage
# subclasses and their dtypes; torch._utils._element_size). Needed to step over raw storage bytes in the legacy
# tar format without reading them.
STORAGE_ELEMENT_SIZES: dict[str, int] = {
    "DoubleStorage": 8, "FloatStorage": 4, "HalfStorage": 2, "BFloat16Storage": 2,
    "LongStorage": 8, "IntStorage": 4, "ShortStorage": 2, "CharStorage": 1, "ByteStorage": 1, "BoolStorage": 1,
    "ComplexDoubleStorage": 16, "ComplexFloatStorage": 8,
    "QUInt8Storage": 1, "QInt8Storage": 1, "QInt32Storage": 4, "QUInt4x2Storage": 1, "QUInt2x4Storage": 1,
}

# Pickle opcodes that push one integer (pickletools names).
_INT_OPCODES = frozenset({"INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4"})
_STRING_OPCODES = frozenset({"STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "BINUNICODE",
                             "SHORT_BINUNICODE", "BINUNICODE8"})
_FRAMING_OPCODES = frozenset({"PROTO", "FRAME", "STOP", "MEMOIZE", "PUT", "BINPUT", "LONG_BINPUT"})
# Opcodes kept per pickle for the static reads above (counts, storage types); longer pickles are not needed.
_MAX_KEPT_OPCODES = 4096
_MAX_TENSOR_DIMS = 64


# --- which member is what in a torch.save / torch.jit.save zip ---------------------------------------------------


ROLE_STORAGE = "storage"  # raw tensor bytes: never read (torch never unpickles them)
ROLE_PICKLE = "pickle"  # unpickled by torch.load / torch.jit.load: always analysed as a pickle
ROLE_CODE = "code"  # TorchScript source: checked against TORCHSCRIPT_CODE_RULES
ROLE_CONTENT = "content"  # anything else: identified by content


@dataclass(frozen=True, slots=True)
class TorchArchiveLayout:
    """The PyTorch structure of a zip, from member names alone (lower-cased: miniz looks names up
    case-insensitively, so ``ARCHIVE/DATA.PKL`` is loaded as ``archive/data.pkl``)."""

    prefixes: frozenset[str]  # "<prefix>" of every "<prefix>/data.pkl" ("" for a top-level data.pkl)
    torchscript_prefixes: frozenset[str]  # prefixes that also hold constants.pkl or code/

    @property
    def is_torch(self) -> bool:
        return bool(self.prefixes)

    @property
    def is_torchscript(self) -> bool:
        return bool(self.torchscript_prefixes)

    def role(self, name: str) -> str:
        lower = name.lower()
        if lower.endswith((".pkl", ".debug_pkl")):
            return ROLE_PICKLE
        for prefix in self.prefixes:
            if lower.startswith(_join(prefix, "data/")):
                return ROLE_STORAGE
        for prefix in self.torchscript_prefixes:
            # torch.jit.save stores tensor constants beside constants.pkl, like data/ beside data.pkl.
            if lower.startswith(_join(prefix, "constants/")):
                return ROLE_STORAGE
            if lower.startswith(_join(prefix, "code/")) and lower.endswith(".py"):
                return ROLE_CODE
        return ROLE_CONTENT


def _join(prefix: str, rest: str) -> str:
    return f"{prefix}/{rest}" if prefix else rest


def torch_archive_layout(names: Iterable[str]) -> TorchArchiveLayout:
    lowered = [n.lower() for n in names]
    prefixes = {n[:-len("data.pkl")].rstrip("/") for n in lowered if n == "data.pkl" or n.endswith("/data.pkl")}
    scripted = {p for p in prefixes
                if _join(p, "constants.pkl") in lowered or any(n.startswith(_join(p, "code/")) for n in lowered)}
    return TorchArchiveLayout(frozenset(prefixes), frozenset(scripted))


# Globals that TorchScript's own unpickler (torch/csrc/jit/serialization/unpickler.cpp, readGlobal) resolves
# without importing anything: the list and tensor builders of torch/jit/_pickle.py, written by torch.jit.save
# into data.pkl, constants.pkl and the code/*.debug_pkl pickles.
TORCHSCRIPT_PICKLE_BUILTINS = frozenset({
    "torch.jit._pickle.build_intlist", "torch.jit._pickle.build_tensorlist", "torch.jit._pickle.build_doublelist",
    "torch.jit._pickle.build_boollist", "torch.jit._pickle.build_tensor_from_id",
    "torch.jit._pickle.restore_type_tag",
})


def drop_torchscript_loader_globals(ctx: ScanContext, since: int) -> None:
    """Among the findings reported since index ``since`` for a TorchScript archive's pickles, drop the import
    findings (MW-PKL-001/002) for names that torch.jit.load resolves itself: its own classes, imported as
    ``__torch__.<qualified name>`` and compiled from the archive's code/ (which is checked separately; Python's
    pickle cannot import a ``__torch__`` module at all), and TORCHSCRIPT_PICKLE_BUILTINS."""
    def resolved_by_torchscript(evidence: str) -> bool:
        return evidence.startswith("__torch__.") or evidence in TORCHSCRIPT_PICKLE_BUILTINS

    ctx.findings[since:] = [f for f in ctx.findings[since:]
                            if not (f.rule_id in ("MW-PKL-001", "MW-PKL-002")
                                    and resolved_by_torchscript(f.evidence or ""))]


# --- TorchScript code --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CodeRule:
    label: str
    pattern: re.Pattern[str]
    severity: Severity | None  # None: the catalogue default of MW-TORCH-001 (critical)
    why: str


_BARE = r"(?<![\w.])"  # a bare name, not an attribute (``self.open(`` and ``torch.compile`` do not match)

# What torch.jit.save code can do that a model should not. Entries come from the TorchScript operator registry
# (torch._C._jit_get_all_schemas(): every schema taking a file name, network peer or library) and from Python
# escape hatches that torch.jit.save never emits, so their presence means hand-edited code.
TORCHSCRIPT_CODE_RULES: tuple[CodeRule, ...] = (
    # aten::save(t item, str filename) is registered for TorchScript (register_prim_ops_fulljit.cpp) and writes
    # any path; torch.jit.save writes a call to it as ``torch.save(x, "path")``.
    CodeRule("writes files (aten::save)", re.compile(r"\btorch\.save\s*\(|\bops\.aten\.save\b"), None,
             "writes a file anywhere the process can write when the model runs"),
    # aten::from_file(str filename, bool? shared, int? size, ...) maps any file into a tensor (and with
    # shared=True writes tensor changes back to it).
    CodeRule("reads files (aten::from_file)", re.compile(r"\btorch\.from_file\s*\(|\bops\.aten\.from_file\b"),
             None, "reads (or with shared=True modifies) any file the process can open"),
    # debugprims::load_tensor(str name, ...) loads tensors from a content store by name.
    CodeRule("reads files (debugprims::load_tensor)", re.compile(r"\bops\.debugprims\.load_tensor\b"), None,
             "loads tensors from a file-backed content store"),
    # prim::rpc_sync / rpc_async / rpc_remote (torch.distributed.rpc) call functions in other processes.
    CodeRule("remote procedure calls (torch.distributed.rpc)",
             re.compile(r"\brpc_(?:sync|async|remote)\s*\(|\bdistributed\.rpc\b"), None,
             "calls functions on other machines over the network"),
    # c10d / _c10d_functional / symm_mem operators exchange tensors with other processes over the network.
    CodeRule("network collectives (c10d)",
             re.compile(r"\bops\.(?:c10d|_c10d_functional(?:_autograd)?|symm_mem)\.\w+"), Severity.HIGH,
             "sends and receives tensors over the network"),
    # Python escapes: TorchScript's compiler has no such builtins; an archive carrying them was hand-edited to
    # reach the interpreter (the intent is unambiguous even where torch.jit.load would refuse to compile it).
    CodeRule("Python code execution (eval/exec/__import__)",
             re.compile(_BARE + r"(?:__import__|eval|exec|execfile|compile|globals|locals|vars)\s*\("), None,
             "evaluates or imports arbitrary Python"),
    CodeRule("Python system modules (os/sys/subprocess/...)",
             re.compile(_BARE + r"(?:os|sys|subprocess|builtins|__builtins__|importlib|ctypes|socket|shutil|pty|"
                        r"posix|nt|pickle|marshal|runpy|urllib|requests|http)\s*\."), None,
             "reaches Python modules that run commands, touch files or the network"),
    CodeRule("Python open()", re.compile(_BARE + r"open\s*\("), None, "opens files"),
    CodeRule("Python introspection (__globals__/__subclasses__/...)",
             re.compile(r"__(?:globals|subclasses|builtins|code|mro|bases|getattribute|reduce|reduce_ex)__"), None,
             "walks Python internals to reach arbitrary callables (sandbox-escape pattern)"),
    # torch.ops.load_library / torch.classes.load_library dlopen a shared library; not scriptable, so present
    # only in hand-edited code.
    CodeRule("native library loading", re.compile(r"\bload_library\s*\(|\btorch\._C\b|\bctypes\b"), None,
             "loads native code"),
)

# torch.ops namespaces a model may call without loading anything native: the namespaces PyTorch registers itself
# (torch._C._jit_get_all_schemas()) minus those with a rule above, plus the torch domain libraries.
STANDARD_OP_NAMESPACES = frozenset({
    "aten", "prim", "prims", "quantized", "_quantized", "quantization", "quantized_decomposed", "mkldnn",
    "mkldnn_prepacked", "onednn", "mkl", "sparse", "prepacked", "xnnpack", "_caffe2", "rngprims", "profiler",
    "inductor", "inductor_prims", "_native", "_dtensor", "onnx", "export",
    "torchvision", "torchaudio", "torchtext",  # PyTorch domain libraries (nms, roi_align, ...)
})
# torch.classes namespaces of custom classes PyTorch itself registers (packed weights of quantized/mobile ops).
STANDARD_CLASS_NAMESPACES = frozenset({"quantized", "xnnpack", "mkldnn", "onednn", "prepacked"})
_OPS_NAMESPACE = re.compile(r"\bops\.(\w+)\.\w+")
_CLASS_NAMESPACE = re.compile(r"\btorch\.classes\.(\w+)\.\w+")
_MAX_CODE_FINDINGS_PER_FILE = 50


def scan_torchscript_code(text: str, ctx: ScanContext) -> int:
    """Report MW-TORCH-001 for each dangerous construct in one TorchScript code file; returns the count."""
    reported: set[tuple[str, str]] = set()

    def report(label: str, snippet: str, position: int, severity: Severity | None, why: str) -> None:
        if (label, snippet) in reported or len(reported) >= _MAX_CODE_FINDINGS_PER_FILE:
            return
        reported.add((label, snippet))
        line = text.count("\n", 0, position) + 1
        ctx.report("MW-TORCH-001", f"TorchScript code {label}: '{snippet}' {why}", evidence=snippet,
                   line=line, severity=severity)

    for rule in TORCHSCRIPT_CODE_RULES:
        for match in rule.pattern.finditer(text):
            report(rule.label, match.group(0).rstrip("( \t"), match.start(), rule.severity, rule.why)
    for match in _OPS_NAMESPACE.finditer(text):
        namespace = match.group(1)
        if namespace not in STANDARD_OP_NAMESPACES and not any(r.pattern.search(match.group(0))
                                                               for r in TORCHSCRIPT_CODE_RULES):
            report(f"calls custom operator namespace '{namespace}'", match.group(0), match.start(), Severity.LOW,
                   "which only runs with a native operator library loaded by the application")
    for match in _CLASS_NAMESPACE.finditer(text):
        if match.group(1) not in STANDARD_CLASS_NAMESPACES:
            report(f"uses custom class namespace '{match.group(1)}'", match.group(0), match.start(), Severity.LOW,
                   "which only runs with a native class library loaded by the application")
    return len(reported)


# --- cutting pickles out of a stream -----------------------------------------------------------------------------


class _SpanReader:
    """File-like view for pickletools.genops over stream[start:start+limit]: fetches in chunks that grow from
    512 bytes, so reading stops close to the pickle's STOP opcode, and keeps what it fetched (the pickle's
    bytes)."""

    def __init__(self, stream: BinaryIO, start: int, limit: int) -> None:
        self._stream = stream
        self._next = start
        self._end = start + max(0, limit)
        self._chunk = 512
        self.buffer = bytearray()
        self.pos = 0

    def _fill(self, need: int) -> None:
        while len(self.buffer) - self.pos < need and self._next < self._end:
            self._stream.seek(self._next)
            data = self._stream.read(min(self._chunk, self._end - self._next))
            if not data:
                self._end = self._next
                break
            self.buffer += data
            self._next += len(data)
            self._chunk = min(self._chunk * 2, 1 * MiB)

    def read(self, n: int = -1) -> bytes:
        if n < 0:
            n = self._end - self._next + len(self.buffer) - self.pos
        self._fill(n)
        data = bytes(self.buffer[self.pos:self.pos + n])
        self.pos += len(data)
        return data

    def readline(self) -> bytes:
        while True:
            newline = self.buffer.find(b"\n", self.pos)
            if newline >= 0:
                return self.read(newline + 1 - self.pos)
            before = len(self.buffer)
            self._fill(len(self.buffer) - self.pos + self._chunk)
            if len(self.buffer) == before:
                return self.read(len(self.buffer) - self.pos)

    def tell(self) -> int:
        return self.pos


@dataclass(slots=True)
class PickleSpan:
    start: int  # absolute offset of the first opcode
    data: bytes  # the pickle's bytes up to and including STOP, or up to where parsing failed
    complete: bool
    problem: str | None = None
    opcodes: list[tuple[str, Any]] | None = None  # (opcode name, argument), when kept and short enough

    @property
    def end(self) -> int:
        return self.start + len(self.data)


def cut_pickle(stream: BinaryIO, start: int, limit: int, *, keep_opcodes: bool = False) -> PickleSpan:
    """Find where the pickle starting at ``start`` ends (its STOP opcode), reading no further than needed and
    never more than ``limit`` bytes. Parses opcode lengths only; nothing is executed."""
    reader = _SpanReader(stream, start, limit)
    kept: list[tuple[str, Any]] | None = [] if keep_opcodes else None
    problem: str | None = None
    complete = False
    try:
        for opcode, arg, _pos in pickletools.genops(cast(Any, reader)):
            if kept is not None:
                if len(kept) < _MAX_KEPT_OPCODES:
                    kept.append((opcode.name, arg))
                else:
                    kept = None
            if opcode.name == "STOP":
                complete = True
                break
    except (ValueError, struct.error, OverflowError, EOFError, MemoryError, RecursionError) as exc:
        problem = str(exc) or type(exc).__name__
    if not complete and problem is None:
        problem = "pickle has no STOP opcode"
    if not complete and reader.pos >= limit:
        problem = f"pickle is larger than the {limit}-byte limit"
    return PickleSpan(start, bytes(reader.buffer[:reader.pos]), complete, problem, kept)


def analyze_pickle(data: bytes, ctx: ScanContext, *, base_offset: int, label: str) -> None:
    """Run the pickle analyzer on one pickle cut out of a larger stream (offsets reported from ``base_offset``)."""
    from mlwarden.artifacts.pickle.scanner import scan_pickle_bytes  # imported late: a sibling package

    try:
        scan_pickle_bytes(data, ctx, base_offset=base_offset)
    except UnscannableError as exc:
        ctx.report("MW-FMT-001", f"{label} pickle could not be fully parsed: {exc}",
                   offset=base_offset + (exc.offset or 0))


def _single_int(opcodes: list[tuple[str, Any]] | None) -> int | None:
    """The value of a pickle that holds one integer and nothing else, read from its opcodes."""
    if not opcodes:
        return None
    values = [arg for name, arg in opcodes if name in _INT_OPCODES]
    others = [name for name, _ in opcodes if name not in _INT_OPCODES and name not in _FRAMING_OPCODES]
    if len(values) != 1 or others or not isinstance(values[0], int):
        return None
    return int(values[0])


def _storage_type(opcodes: list[tuple[str, Any]] | None) -> str | None:
    """The legacy storage class a pickle refers to (``torch FloatStorage`` -> ``FloatStorage``)."""
    strings: list[str] = []
    for name, arg in opcodes or ():
        if name in _STRING_OPCODES and isinstance(arg, str | bytes):
            strings.append(arg if isinstance(arg, str) else arg.decode("latin-1"))
        qualified = None
        if name == "GLOBAL" and isinstance(arg, str):
            qualified = arg.split(" ", 1)[-1]
        elif name == "STACK_GLOBAL" and strings:
            qualified = strings[-1]
        if qualified and qualified in STORAGE_ELEMENT_SIZES:
            return qualified
    return None


# --- the legacy (pre-1.6) non-zip format -------------------------------------------------------------------------


class TorchLegacyScanner:
    """torch.save(..., _use_new_zipfile_serialization=False): five pickles, then raw storage bytes."""

    name = "pytorch-legacy"

    def scan(self, stream: BinaryIO, ctx: ScanContext) -> None:
        torch_ctx = dataclasses.replace(ctx, profile="torch")
        pos = 0
        for index, label in enumerate(_LEGACY_PICKLES):
            if pos >= ctx.size:
                raise UnscannableError(f"file ends before the {label} pickle", offset=pos)
            limit = min(ctx.limits.max_pickle_bytes, ctx.size - pos)
            span = cut_pickle(stream, pos, limit, keep_opcodes=index < 2)
            # Everything up to a break is analysed: the unpickler runs the opcodes before it.
            analyze_pickle(span.data, torch_ctx, base_offset=pos, label=label)
            if not span.complete:
                raise UnscannableError(f"{label} pickle is malformed: {span.problem}", offset=span.end)
            if index == 0 and _single_int(span.opcodes) != LEGACY_MAGIC_NUMBER:
                ctx.report("MW-FMT-001", "legacy PyTorch magic number is wrong; torch.load would stop here, "
                           "the remaining pickles were analysed anyway", offset=pos)
            if index == 1 and _single_int(span.opcodes) != LEGACY_PROTOCOL_VERSION:
                ctx.report("MW-FMT-001", "legacy PyTorch protocol version is not 1001; torch.load would stop "
                           "here, the remaining pickles were analysed anyway", offset=pos)
            pos = span.end
        # What follows is raw storage data, read by torch with plain reads: never parsed as pickle.


# --- the legacy tar format (torch < 0.4): members sys_info, pickle, storages, tensors ----------------------------

LEGACY_TAR_MEMBERS = frozenset({"pickle", "storages", "tensors"})


def _next_pickle(stream: BinaryIO, pos: int, size: int, ctx: ScanContext, label: str,
                 keep: bool = True) -> PickleSpan | None:
    if pos >= size:
        ctx.report("MW-FMT-001", f"legacy tar member ends before the {label} pickle", offset=pos)
        return None
    span = cut_pickle(stream, pos, min(ctx.limits.max_pickle_bytes, size - pos), keep_opcodes=keep)
    analyze_pickle(span.data, ctx, base_offset=pos, label=label)
    if not span.complete:
        ctx.report("MW-FMT-001", f"{label} pickle is malformed: {span.problem}", offset=span.end)
        return None
    return span


def _read_exact(stream: BinaryIO, pos: int, count: int) -> bytes:
    stream.seek(pos)
    return stream.read(count)


def scan_legacy_storages(stream: BinaryIO, size: int, ctx: ScanContext) -> None:
    """The ``storages`` member: pickle(count), then per storage pickle((key, location, storage type)), an 8-byte
    element count and the raw bytes (skipped, never read), then pickle(storage views) (torch/serialization.py
    ``legacy_load``). Every pickle torch unpickles is analysed; the walk stops where the layout is not understood."""
    span = _next_pickle(stream, 0, size, ctx, "storage count")
    if span is None:
        return
    count = _single_int(span.opcodes)
    if count is None or count < 0:
        ctx.report("MW-FMT-001", "legacy storages member does not start with a storage count; the rest was not "
                   "analysed", offset=0)
        return
    pos = span.end
    for index in range(count):
        span = _next_pickle(stream, pos, size, ctx, f"storage {index} header")
        if span is None:
            return
        storage_type = _storage_type(span.opcodes)
        raw = _read_exact(stream, span.end, 8)
        if storage_type is None or len(raw) < 8:
            ctx.report("MW-FMT-001", f"storage {index} header names no known storage type; the rest of the "
                       "member was not analysed", offset=span.start)
            return
        (numel,) = struct.unpack("<q", raw)
        data_end = span.end + 8 + numel * STORAGE_ELEMENT_SIZES[storage_type]
        if numel < 0 or data_end > size:
            ctx.report("MW-FMT-001", f"storage {index} claims {numel} elements, beyond the member's end",
                       offset=span.end)
            return
        pos = data_end
    _next_pickle(stream, pos, size, ctx, "storage views", keep=False)


def scan_legacy_tensors(stream: BinaryIO, size: int, ctx: ScanContext) -> None:
    """The ``tensors`` member: pickle(count), then per tensor pickle((key, storage id, type)) followed by int32
    ndim, 4 padding bytes, ndim int64 sizes, ndim int64 strides and an int64 storage offset."""
    span = _next_pickle(stream, 0, size, ctx, "tensor count")
    if span is None:
        return
    count = _single_int(span.opcodes)
    if count is None or count < 0:
        ctx.report("MW-FMT-001", "legacy tensors member does not start with a tensor count; the rest was not "
                   "analysed", offset=0)
        return
    pos = span.end
    for index in range(count):
        span = _next_pickle(stream, pos, size, ctx, f"tensor {index} header", keep=False)
        if span is None:
            return
        raw = _read_exact(stream, span.end, 4)
        ndim = struct.unpack("<i", raw)[0] if len(raw) == 4 else -1
        if not 0 <= ndim <= _MAX_TENSOR_DIMS or span.end + 8 + 16 * ndim + 8 > size:
            ctx.report("MW-FMT-001", f"tensor {index} has an invalid shape record", offset=span.end)
            return
        pos = span.end + 8 + 16 * ndim + 8


_MEMO_PUTS = frozenset({"PUT", "BINPUT", "LONG_BINPUT"})
_MEMO_GETS = frozenset({"GET", "BINGET", "LONG_BINGET"})


def persistent_ids_are_storage_keys(stream: BinaryIO, size: int, ctx: ScanContext) -> bool:
    """True when every persistent id in the legacy tar ``pickle`` member is a plain string: the tar format's
    persistent_load only looks such keys up (``deserialized_objects[int(saved_id)]``), so they hand nothing
    to the loader. Follows string values through the memo, as pickle protocol 2 memoizes repeated keys."""
    span = cut_pickle(stream, 0, min(size, ctx.limits.max_pickle_bytes))
    if not span.complete:
        return False
    memo: dict[int, object] = {}
    last: object = None
    try:
        for opcode, raw_arg, _pos in pickletools.genops(span.data):
            name, arg = opcode.name, cast(Any, raw_arg)
            if name == "PERSID":
                if not isinstance(arg, str):
                    return False
            elif name == "BINPERSID":
                if not isinstance(last, str | bytes):
                    return False
            elif name in _MEMO_PUTS or name == "MEMOIZE":
                memo[len(memo) if name == "MEMOIZE" else int(arg)] = last
                continue  # the value on the stack is unchanged
            elif name in _MEMO_GETS:
                last = memo.get(int(arg))
                continue
            last = arg if name in _STRING_OPCODES else None
    except (ValueError, struct.error, OverflowError, EOFError):
        return False
    return True


def drop_storage_key_pid_findings(ctx: ScanContext, since: int, member_chain: str) -> None:
    """Drop MW-PKL-004 reported since ``since`` for the legacy tar ``pickle`` member (see above)."""
    ctx.findings[since:] = [f for f in ctx.findings[since:]
                            if not (f.rule_id == "MW-PKL-004" and f.location.member == member_chain)]


def scan_legacy_tar_member(name: str, stream: BinaryIO, size: int, ctx: ScanContext) -> None:
    """Walk the ``storages`` or ``tensors`` member of a legacy tar checkpoint (``ctx`` is the member's own)."""
    if name == "storages":
        scan_legacy_storages(stream, size, ctx)
    else:
        scan_legacy_tensors(stream, size, ctx)

