"""Static pickle analysis: walk the opcode stream with a symbolic stack and memo and report what loading it would
import and call.

Nothing is ever constructed, imported or unpickled. Values on the symbolic stack are plain Python scalars, str,
bytes, tuples and dicts built from the stream's own literals, or markers for everything a loader would compute
(``Global`` for an import, ``Call`` for the result of a call, ``Opaque`` for lists, sets, large blobs...). This is
enough to know the module and name behind every import, also when they come through the memo, any string opcode or
a dotted qualname, and what every REDUCE/BUILD/NEWOBJ/OBJ is applied to.

It follows concatenated pickles in one stream and joblib's NumpyPickler format, which writes raw array bytes (and
object arrays as nested pickles) right after each ``NumpyArrayWrapper``'s BUILD: the wrapper's state is evaluated
symbolically to skip exactly the bytes joblib.load would read.

Findings go through ``ScanContext.report``; nested pickles found in string values are handed to
``ScanContext.scan_member_bytes``. The analyzer never raises on hostile input; time is linear in the stream and
memory bounded by it and by ``ctx.limits``.

The walker is resumable (``PickleWalker.feed``) so that the scanner can stream large files in chunks and seek
past joblib array data instead of reading it.
"""

from __future__ import annotations

import dataclasses
import math
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from mlwarden.artifacts.pickle.callables import (
    ARRAY_WRAPPERS,
    CONDITIONAL_CALLABLES,
    TORCH_STORAGE_CLASSES,
    Classification,
    Verdict,
    callable_arguments,
    canonical_name,
    classify_callable,
)
from mlwarden.artifacts.pickle.opcodes import (
    BY_CODE,
    HIGHEST_PROTOCOL,
    PickleFormatError,
    opcode_extent,
    unquote_string_line,
)
from mlwarden.artifacts.pickle.probe import looks_like_nested_pickle, looks_like_pickle
from mlwarden.core.findings import Severity
from mlwarden.scanning.context import ScanContext

# --- tunables (not user limits: those live in core/limits.py) ---------------------------------------------------

# String/bytes values longer than this are kept as an Opaque marker (their head is still checked for pickles).
MAX_INLINE_VALUE: Final = 64 * 1024
# In streaming mode, a string longer than this is skipped instead of being read into memory.
MAX_MATERIALIZED_VALUE: Final = 64 * 1024 * 1024
# In streaming mode, a value longer than this that does not start like a pickle is skipped by seeking instead
# of being read: array payloads of scikit-learn/NumPy pickles are most of their bytes.
SKIP_VALUE_BYTES: Final = 256 * 1024
# Bytes of a long value looked at to decide whether it may be a nested pickle.
_VALUE_HEAD_BYTES: Final = 256
# Opcodes are walked in windows of this many bytes; limits are checked between windows.
WINDOW_BYTES: Final = 1 << 16
# Non-final buffers stop this many bytes before their end so that every fixed-size argument is complete.
SOFT_MARGIN: Final = 16
# Bytes needed to decide whether data after a STOP is another pickle.
PROBE_HEAD_BYTES: Final = 4096
# Nested pickles handed to the dispatcher per stream before the rest are only counted.
MAX_NESTED_PICKLES: Final = 256
# LONG1/LONG4 integers wider than this many bytes are kept as an Opaque marker.
MAX_LONG_BYTES: Final = 64

_unpack_int4 = struct.Struct("<i").unpack_from
_unpack_uint4 = struct.Struct("<I").unpack_from
_unpack_uint8 = struct.Struct("<Q").unpack_from


# --- results ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ImportedCallable:
    """A callable a pickle imports. ``module``/``name`` are canonical (Python 2 names mapped as find_class does);
    ``offset`` is the first import of it in its pickle; ``verdict`` is allowed/trusted/unknown/dangerous."""

    module: str
    name: str
    offset: int
    opcode: str
    verdict: str

    @property
    def qualified_name(self) -> str:
        return f"{self.module}.{self.name}"


@dataclass(frozen=True, slots=True)
class PickleSummary:
    """What the walk saw. ``end_offset`` is the offset in the analysed data (without ``base_offset``) where
    analysis ended: just past the last STOP for complete streams. ``complete`` is False when the stream was
    malformed, truncated, followed by unexpected data or cut by a limit."""

    globals: tuple[ImportedCallable, ...]
    pickles: int
    end_offset: int
    complete: bool
    persistent_ids: int = 0
    joblib_arrays: int = 0
    nested_pickles: int = 0


# --- symbolic values --------------------------------------------------------------------------------------------

class Global:
    """An imported callable (class, function or value)."""

    __slots__ = ("module", "name", "canonical", "evidence", "verdict", "reason", "arg_indices", "conditional",
                 "wrapper", "dtype", "reconstructor", "storage_class", "plain", "result")

    def __init__(self, module: str, name: str, info: Classification) -> None:
        self.module = module
        self.name = name
        self.canonical = canonical_name(module, name)
        self.evidence = info.name
        self.verdict = info.verdict
        self.reason = info.reason
        allowed = info.verdict <= Verdict.TRUSTED
        self.arg_indices = callable_arguments(info.name) if allowed else ()
        self.conditional = CONDITIONAL_CALLABLES.get(info.name) if allowed else None
        self.wrapper = info.name in ARRAY_WRAPPERS
        self.dtype = info.name == "numpy.dtype"
        self.reconstructor = info.name == "copyreg._reconstructor"
        self.storage_class = info.name in TORCH_STORAGE_CLASSES
        # Calling a plain import needs no look at its arguments and its result is never inspected beyond where
        # it came from: one shared result object stands for all of them (the hot loop's fast path).
        self.plain = not (self.arg_indices or self.conditional is not None or self.wrapper or self.dtype
                          or self.reconstructor)
        self.result = Call(self, (), info.verdict >= Verdict.UNKNOWN, True, False)

    @property
    def tainted(self) -> bool:
        return self.verdict >= Verdict.UNKNOWN


class Call:
    """The result of calling ``func`` with ``args`` (REDUCE/INST/OBJ: ``init``) or of ``cls.__new__`` (NEWOBJ).

    ``state`` is the last BUILD state applied. ``tainted``: the callable was already reported (or derives from
    one that was), so using the result again needs no further finding. ``wrapper``: a joblib array wrapper.
    """

    __slots__ = ("func", "args", "state", "tainted", "init", "wrapper")

    def __init__(self, func: Any, args: Any, tainted: bool, init: bool, wrapper: bool) -> None:
        self.func = func
        self.args = args
        self.state: Any = None
        self.tainted = tainted
        self.init = init
        self.wrapper = wrapper


class Opaque:
    """A value the walk does not model. ``silent``: it derives from something already reported."""

    __slots__ = ("kind", "silent")

    def __init__(self, kind: str, *, silent: bool = False) -> None:
        self.kind = kind
        self.silent = silent

    def __repr__(self) -> str:
        return f"<{self.kind}>"


LIST = Opaque("list")
DICT = Opaque("dict")
SET = Opaque("set")
FROZENSET = Opaque("frozenset")
BYTEARRAY = Opaque("bytearray")
BUFFER = Opaque("out-of-band buffer")
FLOAT = Opaque("float")
BIGINT = Opaque("large integer")
LARGE_TEXT = Opaque("large string")
LARGE_BYTES = Opaque("large bytes")
ARRAY = Opaque("joblib array")
STORAGE = Opaque("torch storage")
PERSISTENT = Opaque("persistent object")
DROPPED = Opaque("untracked memo entry", silent=True)
DYNAMIC = Opaque("statically unknown import", silent=True)
EXTENSION = Opaque("extension-registry import", silent=True)


class _BoundedMemo(dict[int, Any]):
    """The memo once ``max_pickle_memo`` is reached: it keeps only what can name or be an import (short strings,
    imports and call results) and answers DROPPED for the rest, so memory stays bounded while imports are still
    resolved. ``len`` is the loader's logical memo size (MEMOIZE's index)."""

    def __init__(self, entries: dict[int, Any]) -> None:
        super().__init__(entries)
        self.logical_size = len(entries)

    def __len__(self) -> int:
        return self.logical_size

    def __setitem__(self, key: int, value: Any) -> None:
        if key >= self.logical_size:
            self.logical_size = key + 1
        keep = value.__class__ in (Global, Call) or (value.__class__ is str and len(value) <= 256)
        if keep:
            super().__setitem__(key, value)
        else:
            super().pop(key, None)

    def __missing__(self, key: int) -> Any:
        return DROPPED


class _NeedMore(Exception):
    """The current opcode extends past the buffer (in final mode: past the end of the stream). ``need``: bytes
    from the opcode's start that the next buffer must hold; ``exact``: the opcode is exactly that long (a
    length field), not a guess (a text line whose newline is not found yet)."""

    def __init__(self, need: int, exact: bool = True) -> None:
        super().__init__(need)
        self.need = need
        self.exact = exact


class _Malformed(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _Jump(Exception):
    """Continue at an absolute offset (a skipped oversized string)."""

    def __init__(self, target: int) -> None:
        super().__init__(target)
        self.target = target


# Walk statuses.
_CONTINUE, _STOPPED, _NEED_MORE, _ARRAY, _FATAL, _JUMP = range(6)

_VERDICT_WORDS = {Verdict.ALLOWED: "allowed", Verdict.TRUSTED: "trusted", Verdict.UNKNOWN: "unknown",
                  Verdict.DANGEROUS: "dangerous"}

# NumpyArrayWrapper.__init__(subclass, shape, order, dtype, allow_mmap=False, numpy_array_alignment_bytes=16)
# (joblib/numpy_pickle.py).
_WRAPPER_INIT_NAMES = ("subclass", "shape", "order", "dtype", "allow_mmap", "numpy_array_alignment_bytes")
_WRAPPER_INIT_DEFAULTS = {"allow_mmap": False, "numpy_array_alignment_bytes": 16}


def _describe(value: Any) -> str:
    cls = value.__class__
    if cls is Global:
        return f"the import {value.evidence}"
    if cls is Call:
        root = value.func
        while root.__class__ is Call:
            root = root.func
        return f"the result of calling {_describe(root)}"
    if cls is Opaque:
        return f"a {value.kind}"
    return f"a {cls.__name__} value"


# --- the walker -------------------------------------------------------------------------------------------------

class PickleWalker:
    """Resumable symbolic walk over one stream of (possibly concatenated) pickles.

    Feed it buffers with ``feed``; it returns the absolute offset to continue from (which may lie beyond the
    buffer when joblib array data is skipped) or None when it is done. ``summary()`` gives the result.
    """

    def __init__(self, ctx: ScanContext, *, stream_size: int, base_offset: int = 0,
                 trailing_data_ok: bool = False, joblib: bool = True) -> None:
        self.ctx = ctx
        # joblib.load semantics (array bytes after each NumpyArrayWrapper BUILD); False: plain pickle.load.
        self.joblib = joblib
        self.limits = ctx.limits
        self.trusted = ctx.options.trusted_callables
        self.torch_profile = ctx.profile == "torch"
        self.stream_size = stream_size
        self.base_offset = base_offset
        self.trailing_data_ok = trailing_data_ok
        # Symbolic machine state of the current pickle.
        self.stack: list[Any] = []
        self.marks: list[int] = []
        self.memo: dict[int, Any] = {}
        self.proto = 0
        # joblib object arrays are nested pickles read by a fresh unpickler: saved outer states.
        self.frames: list[tuple[list[Any], list[int], dict[int, Any], int]] = []
        # Progress.
        self.in_pickle = False
        self.done = False
        self.complete = True
        self.pickles = 0
        self.end_offset = 0
        self.ops = 0
        self.need = 0
        self.jump_target = 0
        self.pending_array: tuple[int, bool] | None = None
        self.memo_bounded = False
        # Findings bookkeeping (per pickle: what was already reported).
        self.imports: dict[tuple[str, str], Global] = {}
        self.reported: set[str] = set()
        self.found: list[ImportedCallable] = []
        self.persistent_ids = 0
        self.joblib_arrays = 0
        self.nested = 0
        # A skipped joblib region starts with a byte that pickle.load would execute as an opcode.
        self.plain_divergence = False
        # Offsets of every import with a resolved name (compared between the joblib and plain passes).
        self.import_offsets: set[int] = set()
        # Dict contents are only read for joblib array wrappers' state: dicts are modelled as plain dicts once
        # a wrapper exists, as the DICT marker before (no item bookkeeping, nothing retained through the memo).
        self.track_dicts = False

    # -- public ------------------------------------------------------------------------------------------------

    def feed(self, data: bytes, base: int, start: int, final: bool) -> int | None:
        """Walk ``data`` (which starts at absolute stream offset ``base``) from absolute offset ``start``.

        ``final``: ``data`` reaches the end of the stream. Returns the absolute offset to feed next (``self.need``
        says how many bytes the next buffer must at least hold), or None when the walk is over.
        """
        end = len(data)
        pos = start - base
        soft_end = end if final else max(0, end - SOFT_MARGIN)
        self.need = 0
        while not self.done:
            if pos > end:
                if final:
                    self._truncated(base + end, "skipped data runs past the end of the stream")
                    return None
                return base + pos
            if self.pending_array is not None:
                moved = self._skip_array(data, pos, end, base, final)
                if moved is None:
                    return None if self.done else base + pos
                pos = moved
                continue
            if not self.in_pickle:
                status = self._begin(data, pos, end, base, final)
                if status == _NEED_MORE:
                    return base + pos
                if status == _FATAL or self.done:
                    return None
            window = min(soft_end, pos + WINDOW_BYTES)
            if pos >= window:
                if final:
                    self._truncated(base + pos, "pickle data ends before STOP")
                    return None
                self.need = max(self.need, end - pos + SOFT_MARGIN + 1)
                return base + pos
            status, pos = self._walk(data, pos, window, end, base, final)
            if status == _CONTINUE:
                self._check_limits(base + pos)
            elif status == _STOPPED:
                self._check_limits(base + pos)
                if not self.done:
                    self._stopped(base + pos)
            elif status == _NEED_MORE:
                if final:
                    self._truncated(base + pos, "pickle data ends inside an opcode")
                    return None
                return base + pos
            elif status == _ARRAY:
                self._array_build(base + pos)
            elif status == _JUMP:
                pos = self.jump_target - base
        return None

    def summary(self) -> PickleSummary:
        return PickleSummary(
            globals=tuple(self.found), pickles=self.pickles, end_offset=self.end_offset,
            complete=self.complete and self.done, persistent_ids=self.persistent_ids,
            joblib_arrays=self.joblib_arrays, nested_pickles=self.nested)

    def finish_early(self, offset: int, message: str) -> None:
        """The caller stops feeding (a size limit): record where and why."""
        if not self.done:
            self.ctx.report("MW-FMT-003", message, offset=self.base_offset + offset, evidence="max_pickle_bytes")
            self.complete = False
            self.done = True
            self.end_offset = offset

    # -- pickle boundaries -------------------------------------------------------------------------------------

    def _begin(self, data: bytes, pos: int, end: int, base: int, final: bool) -> int:
        abs_pos = base + pos
        if self.pickles == 0:
            if pos >= end:
                if final:
                    self._fatal("MW-PKL-006", "the pickle stream is empty", abs_pos)
                    return _FATAL
                return _NEED_MORE
        else:
            if pos >= end:
                if final:
                    self.done = True
                    return _FATAL
                return _NEED_MORE
            available = end - pos
            if not final and available < min(PROBE_HEAD_BYTES, self.stream_size - abs_pos):
                self.need = PROBE_HEAD_BYTES
                return _NEED_MORE
            head = data[pos:pos + PROBE_HEAD_BYTES]
            is_pickle = (len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= HIGHEST_PROTOCOL) \
                or looks_like_pickle(head)
            if not is_pickle:
                self.done = True
                if not self.trailing_data_ok:
                    self.complete = False
                    self.ctx.report(
                        "MW-PKL-006", f"{self.stream_size - abs_pos} bytes after the pickle's STOP are not a pickle "
                        "(trailing data can hide a payload from scanners that stop at the first STOP)",
                        offset=self.base_offset + abs_pos, evidence="trailing data")
                return _FATAL
            if self.pickles >= self.limits.max_pickles_per_stream:
                self._fatal("MW-FMT-003", f"more than {self.limits.max_pickles_per_stream} concatenated pickles; "
                            "the rest of the stream was not analysed", abs_pos, evidence="max_pickles_per_stream")
                return _FATAL
        self.in_pickle = True
        self.pickles += 1
        self.stack = []
        self.marks = []
        self.memo = {}
        self.memo_bounded = False
        self.proto = 0
        self.reported = set()
        return _CONTINUE

    def _stopped(self, abs_pos: int) -> None:
        if self.frames:
            # End of a joblib object array's nested pickle: back to the outer unpickler.
            self.stack, self.marks, self.memo, self.proto = self.frames.pop()
            return
        self.in_pickle = False
        self.end_offset = abs_pos

    # -- reporting helpers -------------------------------------------------------------------------------------

    def _report(self, rule_id: str, message: str, abs_pos: int, *, evidence: str | None = None,
                severity: Severity | None = None) -> None:
        self.ctx.report(rule_id, message, offset=self.base_offset + abs_pos, evidence=evidence, severity=severity)

    def _fatal(self, rule_id: str, message: str, abs_pos: int, *, evidence: str | None = None) -> None:
        self._report(rule_id, message, abs_pos, evidence=evidence)
        self.complete = False
        self.done = True
        self.end_offset = abs_pos

    def _truncated(self, abs_pos: int, message: str) -> None:
        self._fatal("MW-PKL-006", f"{message} at offset {self.base_offset + abs_pos} (truncated stream; findings "
                    "before this offset are reported)", abs_pos, evidence="truncated")

    def _once(self, key: str) -> bool:
        if key in self.reported:
            return False
        self.reported.add(key)
        return True

    def _unattributed(self, opname: str, value: Any, abs_pos: int, detail: str = "") -> None:
        description = _describe(value)
        if self._once(f"007:{opname}:{description}:{detail}"):
            what = detail or f"{opname} is applied to {description}, not to an imported callable"
            self._report("MW-PKL-007", f"{what}; what it calls is decided at load time", abs_pos,
                         evidence=f"{opname} on {description}")

    # -- imports and calls -------------------------------------------------------------------------------------

    def _import(self, module: str, name: str, abs_pos: int, opname: str) -> Global:
        self.import_offsets.add(abs_pos)
        key = (module, name)
        imported = self.imports.get(key)
        if imported is None:
            imported = Global(module, name, classify_callable(module, name, self.trusted))
            self.imports[key] = imported
        evidence = imported.evidence
        if evidence not in self.reported:
            self.reported.add(evidence)
            canon_module, canon_name = imported.canonical
            self.found.append(ImportedCallable(canon_module, canon_name, self.base_offset + abs_pos, opname,
                                               _VERDICT_WORDS[imported.verdict]))
            written = f"{module}.{name}"
            alias = f" (written as '{written}')" if written != evidence else ""
            if imported.verdict == Verdict.DANGEROUS:
                self._report("MW-PKL-001", f"{opname} imports {evidence}{alias}: {imported.reason}", abs_pos,
                             evidence=evidence)
            elif imported.verdict == Verdict.UNKNOWN:
                self._report("MW-PKL-002", f"{opname} imports {evidence}{alias}, which is {imported.reason}",
                             abs_pos, evidence=evidence)
        return imported

    def _dynamic_import(self, module: Any, name: Any, abs_pos: int) -> Opaque:
        left = module if module.__class__ is str else "<dynamic>"
        right = name if name.__class__ is str else "<dynamic>"
        evidence = f"{left}.{right}"
        if self._once(f"dyn:{evidence}"):
            self._report("MW-PKL-001", f"STACK_GLOBAL imports a callable whose name is computed at load time "
                         f"(module: {_describe(module)}, name: {_describe(name)}); it cannot be known statically",
                         abs_pos, evidence=evidence)
        return DYNAMIC

    def _stack_global(self, module: Any, name: Any, abs_pos: int) -> Any:
        # CPython requires str operands; bytes are accepted here too (other loaders, and it costs nothing).
        if module.__class__ is bytes:
            module = module.decode("latin-1")
        if name.__class__ is bytes:
            name = name.decode("latin-1")
        if module.__class__ is str and name.__class__ is str:
            return self._import(module, name, abs_pos, "STACK_GLOBAL")
        return self._dynamic_import(module, name, abs_pos)

    def _call(self, func: Any, args: Any, abs_pos: int, opname: str) -> Call:
        """REDUCE/INST/OBJ: ``func(*args)``."""
        cls = func.__class__
        if cls is Global:
            tainted = func.verdict >= Verdict.UNKNOWN
            if func.arg_indices and args.__class__ is tuple:
                self._check_callable_args(func, args, abs_pos, opname)
            if func.conditional is not None and args is not DROPPED \
                    and not (args.__class__ is tuple and len(args) == func.conditional):
                self._conditional_misuse(func, abs_pos, opname)
                tainted = True
            wrapper = func.wrapper or (func.reconstructor and args.__class__ is tuple and len(args) > 0
                                       and args[0].__class__ is Global and args[0].wrapper)
            if wrapper and self.joblib and not self.frames:
                self.track_dicts = True
                return Call(func, args, tainted, True, True)
            return Call(func, args, tainted, True, False)
        if cls is Call:
            if not func.tainted:
                self._unattributed(opname, func, abs_pos)
            return Call(func, args, True, True, False)
        if cls is Opaque and func.silent:
            return Call(func, args, True, True, False)
        self._unattributed(opname, func, abs_pos)
        return Call(func, args, True, True, False)

    def _new(self, cls_value: Any, args: Any, abs_pos: int, opname: str) -> Call:
        """NEWOBJ/NEWOBJ_EX: ``cls.__new__(cls, *args)``."""
        cls = cls_value.__class__
        if cls is Global:
            tainted = cls_value.verdict >= Verdict.UNKNOWN
            if cls_value.conditional is not None:
                # type.__new__(type, name, bases, namespace) creates a class.
                self._conditional_misuse(cls_value, abs_pos, opname)
                tainted = True
            if cls_value.wrapper and self.joblib and not self.frames:
                self.track_dicts = True
                return Call(cls_value, args, tainted, False, True)
            return Call(cls_value, args, tainted, False, False)
        if (cls is Call and cls_value.tainted) or (cls is Opaque and cls_value.silent):
            return Call(cls_value, args, True, False, False)
        self._unattributed(opname, cls_value, abs_pos)
        return Call(cls_value, args, True, False, False)

    def _conditional_misuse(self, func: Global, abs_pos: int, opname: str) -> None:
        if self._once(f"cond:{func.evidence}:{opname}"):
            self._report("MW-PKL-001", f"{opname} calls {func.evidence} in a form that creates new classes or "
                         "code (only its one-argument form is harmless)", abs_pos, evidence=func.evidence)

    def _check_callable_args(self, func: Global, args: tuple[Any, ...], abs_pos: int, opname: str) -> None:
        for index in func.arg_indices:
            if index >= len(args):
                continue
            value = args[index]
            cls = value.__class__
            if cls is Global or value is None or (cls is Call and value.tainted) or (cls is Opaque and value.silent):
                continue
            self._unattributed(opname, value, abs_pos, detail=f"{func.evidence} is given {_describe(value)} as "
                               f"argument {index}, which it calls or instantiates")

    def _build(self, obj: Any, abs_pos: int) -> None:
        """BUILD on something that is not a constructed instance."""
        cls = obj.__class__
        if cls is Global:
            self._unattributed("BUILD", obj, abs_pos, detail=f"BUILD sets attributes on the imported {obj.evidence} "
                               "itself (class/module attribute overwrite)")
        elif obj is PERSISTENT:
            self._unattributed("BUILD", obj, abs_pos)

    def _persistent(self, pid: Any, abs_pos: int, opname: str) -> Any:
        self.persistent_ids += 1
        if self.torch_profile and self._is_torch_pid(pid):
            # torch's persistent_load gives a storage, or for ('module', cls, ...) the class itself.
            return pid[1] if len(pid) == 4 else STORAGE
        if self._once("004"):
            if self.torch_profile:
                why = f"the id is {_describe(pid)}, not PyTorch's ('storage', <storage class>, key, location, numel)"
            else:
                why = "persistent ids are only expected inside PyTorch checkpoints"
            self._report("MW-PKL-004", f"{opname} hands an object id to the loader's persistent_load hook: {why}",
                         abs_pos, evidence=opname)
        return PERSISTENT

    @staticmethod
    def _is_torch_pid(pid: Any) -> bool:
        # torch/serialization.py: persistent_id() writes ('storage', storage_type, key, location, numel) in the zip
        # format and ('storage', storage_type, root_key, location, numel, view_metadata) in the legacy format;
        # legacy whole-module saves also write ('module', cls, source_file, source).
        if pid.__class__ is not tuple or not pid:
            return False
        kind = pid[0].decode("latin-1") if pid[0].__class__ is bytes else pid[0]
        if kind == "storage" and len(pid) in (5, 6):
            storage_type, key, location, numel = pid[1:5]
            if not (storage_type.__class__ is Global and storage_type.storage_class):
                return False
            if key.__class__ not in (str, bytes) or location.__class__ not in (str, bytes):
                return False
            if numel.__class__ is not int or numel < 0:
                return False
            if len(pid) == 6:
                view = pid[5]
                if view is not None and not (view.__class__ is tuple and len(view) == 3
                                             and view[0].__class__ in (str, bytes)
                                             and all(x.__class__ is int for x in view[1:])):
                    return False
            return True
        if kind == "module" and len(pid) == 4:
            return pid[1].__class__ is Global and all(x is None or x.__class__ in (str, bytes) for x in pid[2:])
        return False

    def _extension(self, code: int, width: int, abs_pos: int) -> Opaque:
        if self._once(f"ext:{code}"):
            self._report("MW-PKL-003", f"EXT{width} imports the callable registered under extension code {code}; "
                         "its name is not in the file", abs_pos, evidence=f"EXT{width} {code}")
        return EXTENSION

    def _nested_candidate(self, value: bytes, abs_pos: int) -> None:
        """A string/bytes value that may itself be a pickle: report and scan it."""
        if not looks_like_nested_pickle(value):
            return
        self.nested += 1
        name = f"<pickle@{self.base_offset + abs_pos}>"
        self._report("MW-PKL-005", f"a {len(value)}-byte string at offset {self.base_offset + abs_pos} is itself "
                     "a pickle; it is scanned as a member", abs_pos, evidence=name)
        if self.nested <= MAX_NESTED_PICKLES:
            self.ctx.scan_member_bytes(name, value, format_hint="pickle")
        elif self.nested == MAX_NESTED_PICKLES + 1:
            self._report("MW-FMT-003", f"more than {MAX_NESTED_PICKLES} nested pickles; the rest are reported but "
                         "not scanned", abs_pos, evidence="nested pickles")

    def _text_candidate(self, raw: bytes, text: str, abs_pos: int) -> None:
        # Protocol <= 2 stores bytes as _codecs.encode(<latin-1 text>, 'latin1'): a pickle inside bytes then
        # appears as text starting with U+0080.
        if text[:1] == "\x80":
            try:
                self._nested_candidate(text.encode("latin-1"), abs_pos)
            except UnicodeEncodeError:
                return
        else:
            self._nested_candidate(raw, abs_pos)

    # -- limits ------------------------------------------------------------------------------------------------

    def _check_limits(self, abs_pos: int) -> None:
        limits = self.limits
        if self.ops > limits.max_pickle_opcodes:
            self._fatal("MW-FMT-003", f"more than {limits.max_pickle_opcodes} opcodes; the rest of the stream was "
                        "not analysed", abs_pos, evidence="max_pickle_opcodes")
        elif len(self.stack) > limits.max_pickle_stack:
            self._fatal("MW-FMT-003", f"the pickle stack grew beyond {limits.max_pickle_stack} values; the rest of "
                        "the stream was not analysed", abs_pos, evidence="max_pickle_stack")
        elif not self.memo_bounded and len(self.memo) > limits.max_pickle_memo:
            self.memo_bounded = True
            self.memo = _BoundedMemo(self.memo)
            self._report("MW-FMT-003", f"the pickle memo grew beyond {limits.max_pickle_memo} entries; from here on "
                         "only strings and imports are tracked through the memo (imports are still all reported)",
                         abs_pos, evidence="max_pickle_memo")

    # -- joblib ------------------------------------------------------------------------------------------------

    def _array_build(self, abs_pos: int) -> None:
        """BUILD completed a joblib NumpyArrayWrapper: joblib.load now reads the array from the stream."""
        wrapper = self.stack[-1]
        layout = _array_layout(wrapper)
        self.joblib_arrays += 1
        if isinstance(layout, str):
            self._fatal("MW-PKL-006", f"joblib array data follows the NumpyArrayWrapper but its size cannot be "
                        f"determined ({layout}); the rest of the stream was not analysed", abs_pos,
                        evidence="joblib array")
            return
        nbytes, padded, has_objects = layout
        self.stack[-1] = ARRAY
        if has_objects:
            # Object arrays are written with pickle.dump(array, protocol=5) and read by a fresh Unpickler
            # (pickle.load would run the same opcodes and stop at their STOP: nothing it sees is not seen here).
            self.frames.append((self.stack, self.marks, self.memo, self.proto))
            self.stack, self.marks, self.memo, self.proto = [], [], {}, 0
            return
        self.pending_array = (nbytes, padded)

    def _skip_array(self, data: bytes, pos: int, end: int, base: int, final: bool) -> int | None:
        assert self.pending_array is not None
        nbytes, padded = self.pending_array
        if pos < end and BY_CODE[data[pos]] is not None:
            # joblib.load skips what follows, pickle.load would execute it (joblib >= 1.2's padding-length
            # byte, 1..16, is never an opcode).
            self.plain_divergence = True
        if padded:
            # joblib >= 1.2 writes one byte with the padding length, then that many padding bytes.
            if pos >= end:
                if final:
                    self._truncated(base + pos, "the stream ends before joblib array data")
                else:
                    self.need = 1
                return None
            nbytes += 1 + data[pos]
        self.pending_array = None
        target = base + pos + nbytes
        if target > self.stream_size:
            self._truncated(base + pos, f"joblib array data ({nbytes} bytes) runs past the end of the stream")
            return None
        return pos + nbytes

    # -- the hot loop ------------------------------------------------------------------------------------------

    def _walk(self, data: bytes, pos: int, limit: int, end: int, base: int, final: bool) -> tuple[int, int]:
        """Run opcodes while ``pos < limit``. Returns (status, position in ``data``).

        Every branch leaves ``pos`` at its opcode's start until the opcode's effects are done, so the exception
        handlers know which opcode failed. A MEMOIZE/BINPUT right after a value-producing opcode (nearly every
        such opcode in real pickles) is done in the same branch. Ordered by how often opcodes occur.
        """
        stack = self.stack
        append = stack.append
        pop = stack.pop
        marks = self.marks
        push_mark = marks.append
        pop_mark = marks.pop
        memo = self.memo
        unpack_int4 = _unpack_int4
        budget = max(1, self.limits.max_pickle_opcodes - self.ops + 1)
        # A MEMOIZE/BINPUT (2 bytes) after a one-byte opcode is only peeked at where it fits in the data.
        peek_end = end - 2
        track_dicts = self.track_dicts
        ops = 0
        value: Any
        try:
            for ops in range(budget):  # noqa: B007 - the loop counter is the opcode count
                if pos >= limit:
                    break
                op = data[pos]
                if op == 0x68:  # BINGET
                    append(memo[data[pos + 1]])
                    pos += 2
                elif op == 0x8C:  # SHORT_BINUNICODE
                    stop = pos + 2 + data[pos + 1]
                    if stop >= end:
                        raise _NeedMore(stop - pos + 1)
                    raw = data[pos + 2:stop]
                    value = raw.decode("utf-8", "surrogatepass")
                    append(value)
                    if stop - pos > 5 and (raw[0] == 0x80 or raw[0] == 0xC2 or raw[-1] == 0x2E):
                        self._text_candidate(raw, value, base + pos)
                    following = data[stop]
                    if following == 0x94:
                        memo[len(memo)] = value
                        stop += 1
                    elif following == 0x71 and stop + 1 < end:
                        memo[data[stop + 1]] = value
                        stop += 2
                    pos = stop
                elif op == 0x28:  # MARK
                    push_mark(len(stack))
                    pos += 1
                elif op == 0x4B:  # BININT1
                    append(data[pos + 1])
                    pos += 2
                elif op == 0x4D:  # BININT2
                    append(data[pos + 1] | (data[pos + 2] << 8))
                    pos += 3
                elif op == 0x4A:  # BININT
                    append(unpack_int4(data, pos + 1)[0])
                    pos += 5
                elif op == 0x47:  # BINFLOAT
                    append(FLOAT)
                    pos += 9
                elif op == 0x7D:  # EMPTY_DICT
                    value = {} if track_dicts else DICT
                    append(value)
                    following = data[pos + 1] if pos < peek_end else 0
                    if following == 0x94:
                        memo[len(memo)] = value
                        pos += 2
                    elif following == 0x71:
                        memo[data[pos + 2]] = value
                        pos += 3
                    else:
                        pos += 1
                elif op == 0x75:  # SETITEMS
                    mark = pop_mark()
                    if mark == 0:
                        raise IndexError
                    target = stack[mark - 1]
                    if target.__class__ is dict and len(stack) > mark:
                        items = stack[mark:]
                        try:
                            target.update(zip(items[::2], items[1::2]))
                        except TypeError:
                            _update_hashable(target, items)
                    del stack[mark:]
                    pos += 1
                elif op == 0x5D:  # EMPTY_LIST
                    append(LIST)
                    following = data[pos + 1] if pos < peek_end else 0
                    if following == 0x94:
                        memo[len(memo)] = LIST
                        pos += 2
                    elif following == 0x71:
                        memo[data[pos + 2]] = LIST
                        pos += 3
                    else:
                        pos += 1
                elif op == 0x65:  # APPENDS
                    mark = pop_mark()
                    if mark == 0:
                        raise IndexError
                    del stack[mark:]
                    pos += 1
                elif op == 0x86:  # TUPLE2
                    second = pop()
                    value = (stack[-1], second)
                    stack[-1] = value
                    following = data[pos + 1] if pos < peek_end else 0
                    if following == 0x94:
                        memo[len(memo)] = value
                        pos += 2
                    elif following == 0x71:
                        memo[data[pos + 2]] = value
                        pos += 3
                    else:
                        pos += 1
                elif op == 0x88:  # NEWTRUE
                    append(True)
                    pos += 1
                elif op == 0x89:  # NEWFALSE
                    append(False)
                    pos += 1
                elif op == 0x4E:  # NONE
                    append(None)
                    pos += 1
                elif op == 0x85:  # TUPLE1
                    value = (stack[-1],)
                    stack[-1] = value
                    following = data[pos + 1] if pos < peek_end else 0
                    if following == 0x94:
                        memo[len(memo)] = value
                        pos += 2
                    elif following == 0x71:
                        memo[data[pos + 2]] = value
                        pos += 3
                    else:
                        pos += 1
                elif op == 0x87:  # TUPLE3
                    third = pop()
                    second = pop()
                    value = (stack[-1], second, third)
                    stack[-1] = value
                    following = data[pos + 1] if pos < peek_end else 0
                    if following == 0x94:
                        memo[len(memo)] = value
                        pos += 2
                    elif following == 0x71:
                        memo[data[pos + 2]] = value
                        pos += 3
                    else:
                        pos += 1
                elif op == 0x29:  # EMPTY_TUPLE
                    append(())
                    pos += 1
                elif op == 0x81:  # NEWOBJ
                    args = pop()
                    value = stack[-1]
                    if value.__class__ is Global and value.plain:
                        value = value.result
                    else:
                        value = self._new(value, args, base + pos, "NEWOBJ")
                        track_dicts = self.track_dicts
                    stack[-1] = value
                    following = data[pos + 1] if pos < peek_end else 0
                    if following == 0x94:
                        memo[len(memo)] = value
                        pos += 2
                    elif following == 0x71:
                        memo[data[pos + 2]] = value
                        pos += 3
                    else:
                        pos += 1
                elif op == 0x62:  # BUILD
                    state = pop()
                    obj = stack[-1]
                    if obj.__class__ is Call:
                        obj.state = state
                        if obj.wrapper:
                            self.ops += ops + 1
                            return _ARRAY, pos + 1
                    else:
                        self._build(obj, base + pos)
                    pos += 1
                elif op == 0x52:  # REDUCE
                    args = pop()
                    value = stack[-1]
                    if value.__class__ is Global and value.plain:
                        value = value.result
                    else:
                        value = self._call(value, args, base + pos, "REDUCE")
                        track_dicts = self.track_dicts
                    stack[-1] = value
                    following = data[pos + 1] if pos < peek_end else 0
                    if following == 0x94:
                        memo[len(memo)] = value
                        pos += 2
                    elif following == 0x71:
                        memo[data[pos + 2]] = value
                        pos += 3
                    else:
                        pos += 1
                elif op == 0x74:  # TUPLE
                    mark = pop_mark()
                    value = tuple(stack[mark:])
                    del stack[mark:]
                    append(value)
                    following = data[pos + 1] if pos < peek_end else 0
                    if following == 0x94:
                        memo[len(memo)] = value
                        pos += 2
                    elif following == 0x71:
                        memo[data[pos + 2]] = value
                        pos += 3
                    else:
                        pos += 1
                elif op == 0x43:  # SHORT_BINBYTES
                    stop = pos + 2 + data[pos + 1]
                    if stop >= end:
                        raise _NeedMore(stop - pos + 1)
                    value = data[pos + 2:stop]
                    append(value)
                    if stop - pos > 5 and (value[0] == 0x80 or value[-1] == 0x2E):
                        self._nested_candidate(value, base + pos)
                    following = data[stop]
                    if following == 0x94:
                        memo[len(memo)] = value
                        stop += 1
                    elif following == 0x71 and stop + 1 < end:
                        memo[data[stop + 1]] = value
                        stop += 2
                    pos = stop
                elif op == 0x94:  # MEMOIZE
                    memo[len(memo)] = stack[-1]
                    pos += 1
                elif op == 0x71:  # BINPUT
                    memo[data[pos + 1]] = stack[-1]
                    pos += 2
                elif op == 0x58:  # BINUNICODE
                    pos = self._text(data, pos, 5, _unpack_uint4(data, pos + 1)[0], end, base, final)
                elif op == 0x72:  # LONG_BINPUT
                    memo[_unpack_uint4(data, pos + 1)[0]] = stack[-1]
                    pos += 5
                elif op == 0x6A:  # LONG_BINGET
                    append(memo[_unpack_uint4(data, pos + 1)[0]])
                    pos += 5
                elif op == 0x93:  # STACK_GLOBAL
                    name = pop()
                    stack[-1] = self._stack_global(stack[-1], name, base + pos)
                    pos += 1
                elif op == 0x2E:  # STOP
                    pop()
                    self.ops += ops + 1
                    return _STOPPED, pos + 1
                elif op == 0x95:  # FRAME
                    frame = _unpack_uint8(data, pos + 1)[0]
                    if base + pos + 9 + frame > self.stream_size:
                        self._report("MW-PKL-006", f"FRAME announces {frame} bytes but the stream ends before that",
                                     base + pos, evidence="FRAME")
                        self.complete = False
                    pos += 9
                else:
                    pos = self._rare(op, data, pos, end, base, final)
                    track_dicts = self.track_dicts
            else:
                ops = budget
        except _NeedMore as more:
            self.ops += ops
            self.need = more.need
            if more.exact and base + pos + more.need > self.stream_size:
                # A length field that points past the end of the stream: no more data will come.
                self.need = 0
                self._truncated(base + pos, f"{_opname(data[pos])} needs {more.need} bytes but the stream ends "
                                "first")
                return _FATAL, pos
            return _NEED_MORE, pos
        except _Jump as jump:
            self.ops += ops
            self.jump_target = jump.target
            return _JUMP, pos
        except _Malformed as bad:
            self.ops += ops
            self._fatal("MW-PKL-006", f"{bad.message} at offset {self.base_offset + base + pos}",
                        base + pos, evidence=_opname(data[pos]))
            return _FATAL, pos
        except KeyError as missing:
            self.ops += ops
            self._fatal("MW-PKL-006", f"memo entry {missing.args[0]!r} is read before it is written (offset "
                        f"{self.base_offset + base + pos})", base + pos, evidence=_opname(data[pos]))
            return _FATAL, pos
        except UnicodeDecodeError:
            self.ops += ops
            self._fatal("MW-PKL-006", f"invalid UTF-8 text at offset {self.base_offset + base + pos}",
                        base + pos, evidence=_opname(data[pos]))
            return _FATAL, pos
        except (IndexError, struct.error):
            self.ops += ops
            return self._index_error(data, pos, end, base, final)
        self.ops += ops
        if pos > end:
            # A fixed-size argument ran past the end of the data (only possible in final mode).
            return _NEED_MORE, pos
        return _CONTINUE, pos

    def _index_error(self, data: bytes, start: int, end: int, base: int, final: bool) -> tuple[int, int]:
        """An IndexError in the walk: the data ended inside the opcode's argument, or the opcode needed stack
        values or a MARK that are not there. Peeks at a following MEMOIZE/BINPUT never read past the data, and
        before a non-final buffer's soft end every fixed-size argument is complete."""
        try:
            if final:
                opcode_extent(data, start, end)
            truncated = False
        except PickleFormatError as exc:
            if not exc.truncated:
                self._fatal("MW-PKL-006", f"{exc} at offset {self.base_offset + base + start}", base + start,
                            evidence=_opname(data[start]))
                return _FATAL, start
            truncated = True
        if truncated:
            return _NEED_MORE, start
        self._fatal("MW-PKL-006", f"{_opname(data[start])} at offset {self.base_offset + base + start} needs stack "
                    "values or a MARK that are not there (stack underflow)", base + start,
                    evidence=_opname(data[start]))
        return _FATAL, start

    # -- less frequent opcodes ---------------------------------------------------------------------------------

    def _value(self, data: bytes, pos: int, header: int, length: int, end: int, base: int, final: bool) -> \
            tuple[int, int]:
        """Bounds of a length-prefixed value at ``pos``: (payload start, payload end). Raises to resume."""
        first = pos + header
        stop = first + length
        if stop <= end:
            return first, stop
        if base + stop > self.stream_size:
            raise _NeedMore(stop - pos)  # past the end of the stream: reported as truncation
        if length > SKIP_VALUE_BYTES and not final:
            head = data[first:min(end, first + _VALUE_HEAD_BYTES)]
            if len(head) < min(length, 8):
                raise _NeedMore(header + _VALUE_HEAD_BYTES, exact=False)  # not enough of the value to judge it
            pickle_like = len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= HIGHEST_PROTOCOL
            if not pickle_like and not looks_like_pickle(head):
                # Array payload or other opaque data: skip it without reading it.
                self.stack.append(LARGE_BYTES)
                raise _Jump(base + stop)
            if length > MAX_MATERIALIZED_VALUE:
                self._report("MW-PKL-005", f"a {length}-byte value starts like a pickle; it is too large to be "
                             "scanned as a member", base + pos, evidence=f"<pickle@{self.base_offset + base + pos}>")
                self.stack.append(LARGE_BYTES)
                raise _Jump(base + stop)
        raise _NeedMore(stop - pos)

    def _text(self, data: bytes, pos: int, header: int, length: int, end: int, base: int, final: bool) -> int:
        first, stop = self._value(data, pos, header, length, end, base, final)
        if length > MAX_INLINE_VALUE:
            raw = data[first:stop]
            if raw[:1] in (b"\x80", b"\xc2") or raw[-1:] == b".":
                self._text_candidate(raw, raw.decode("utf-8", "surrogatepass"), base + pos)
            self.stack.append(LARGE_TEXT)
            return stop
        raw = data[first:stop]
        text = raw.decode("utf-8", "surrogatepass")
        self.stack.append(text)
        if length > 3 and (raw[0] == 0x80 or raw[0] == 0xC2 or raw[-1] == 0x2E):
            self._text_candidate(raw, text, base + pos)
        return stop

    def _bytes(self, data: bytes, pos: int, header: int, length: int, end: int, base: int, final: bool,
               marker: Opaque | None = None) -> int:
        first, stop = self._value(data, pos, header, length, end, base, final)
        # Index, don't slice, before knowing the value is wanted: multi-MB array payloads pass through here.
        candidate = length > 3 and (data[first] == 0x80 or data[stop - 1] == 0x2E)
        if length > MAX_INLINE_VALUE and marker is None and not candidate:
            self.stack.append(LARGE_BYTES)
            return stop
        raw = data[first:stop]
        if candidate:
            self._nested_candidate(raw, base + pos)
        if marker is not None:
            self.stack.append(marker)
        elif length > MAX_INLINE_VALUE:
            self.stack.append(LARGE_BYTES)
        else:
            self.stack.append(raw)
        return stop

    def _legacy_string(self, data: bytes, pos: int, header: int, length: int, end: int, base: int,
                       final: bool) -> int:
        # Python 2 str (SHORT_BINSTRING/BINSTRING): bytes that Python 3 decodes as text; kept as text here.
        first, stop = self._value(data, pos, header, length, end, base, final)
        raw = data[first:stop]
        if length > 3 and (raw[0] == 0x80 or raw[-1] == 0x2E):
            self._nested_candidate(raw, base + pos)
        self.stack.append(LARGE_TEXT if length > MAX_INLINE_VALUE else raw.decode("latin-1"))
        return stop

    def _line(self, data: bytes, pos: int, end: int, final: bool) -> tuple[bytes, int]:
        """The newline-terminated argument starting at ``pos``: (line without newline, position after it)."""
        newline = data.find(b"\n", pos, end)
        if newline < 0:
            raise _NeedMore(max(2 * (end - pos), PROBE_HEAD_BYTES), exact=False)
        return data[pos:newline], newline + 1

    def _rare(self, op: int, data: bytes, pos: int, end: int, base: int, final: bool) -> int:
        stack = self.stack
        abs_pos = base + pos
        if op == 0x80:  # PROTO
            proto = data[pos + 1]
            if proto > HIGHEST_PROTOCOL:
                raise _Malformed(f"unsupported pickle protocol {proto}")
            self.proto = proto
            return pos + 2
        if op == 0x63 or op == 0x69:  # GLOBAL, INST
            module_line, after = self._line(data, pos + 1, end, final)
            name_line, after = self._line(data, after, end, final)
            imported = self._import(module_line.decode("utf-8"), name_line.decode("utf-8"), abs_pos,
                                    "GLOBAL" if op == 0x63 else "INST")
            if op == 0x63:
                stack.append(imported)
            else:
                mark = self.marks.pop()
                args = tuple(stack[mark:])
                del stack[mark:]
                stack.append(self._call(imported, args, abs_pos, "INST"))
            return after
        if op == 0x6F:  # OBJ
            mark = self.marks.pop()
            items = stack[mark:]
            del stack[mark:]
            cls_value = items[0]
            stack.append(self._call(cls_value, tuple(items[1:]), abs_pos, "OBJ"))
            return pos + 1
        if op == 0x92:  # NEWOBJ_EX
            kwargs = stack.pop()
            args = stack.pop()
            del kwargs  # keyword arguments of cls.__new__: nothing in them is called
            stack[-1] = self._new(stack[-1], args, abs_pos, "NEWOBJ_EX")
            return pos + 1
        if op == 0x51:  # BINPERSID
            stack[-1] = self._persistent(stack[-1], abs_pos, "BINPERSID")
            return pos + 1
        if op == 0x50:  # PERSID
            line, after = self._line(data, pos + 1, end, final)
            stack.append(self._persistent(line.decode("ascii"), abs_pos, "PERSID"))
            return after
        if op == 0x82:  # EXT1
            stack.append(self._extension(data[pos + 1], 1, abs_pos))
            return pos + 2
        if op == 0x83:  # EXT2
            stack.append(self._extension(data[pos + 1] | (data[pos + 2] << 8), 2, abs_pos))
            return pos + 3
        if op == 0x84:  # EXT4
            stack.append(self._extension(_unpack_int4(data, pos + 1)[0], 4, abs_pos))
            return pos + 5
        if op == 0x43:  # SHORT_BINBYTES
            return self._bytes(data, pos, 2, data[pos + 1], end, base, final)
        if op == 0x42:  # BINBYTES
            return self._bytes(data, pos, 5, _unpack_uint4(data, pos + 1)[0], end, base, final)
        if op == 0x8E:  # BINBYTES8
            return self._bytes(data, pos, 9, _unpack_uint8(data, pos + 1)[0], end, base, final)
        if op == 0x96:  # BYTEARRAY8
            return self._bytes(data, pos, 9, _unpack_uint8(data, pos + 1)[0], end, base, final, BYTEARRAY)
        if op == 0x8D:  # BINUNICODE8
            return self._text(data, pos, 9, _unpack_uint8(data, pos + 1)[0], end, base, final)
        if op == 0x55:  # SHORT_BINSTRING
            return self._legacy_string(data, pos, 2, data[pos + 1], end, base, final)
        if op == 0x54:  # BINSTRING
            length = _unpack_int4(data, pos + 1)[0]
            if length < 0:
                raise _Malformed("BINSTRING has a negative length")
            return self._legacy_string(data, pos, 5, length, end, base, final)
        if op == 0x53:  # STRING
            line, after = self._line(data, pos + 1, end, final)
            try:
                raw = unquote_string_line(line)
            except ValueError as exc:
                raise _Malformed(f"STRING argument is invalid: {exc}") from None
            if len(raw) > 3 and (raw[0] == 0x80 or raw[-1] == 0x2E):
                self._nested_candidate(raw, abs_pos)
            stack.append(raw.decode("latin-1") if len(raw) <= MAX_INLINE_VALUE else LARGE_TEXT)
            return after
        if op == 0x56:  # UNICODE
            line, after = self._line(data, pos + 1, end, final)
            text = line.decode("raw-unicode-escape")
            if len(line) > 3 and (line[0] == 0x80 or line[-1] == 0x2E):
                self._nested_candidate(line, abs_pos)
            stack.append(text if len(text) <= MAX_INLINE_VALUE else LARGE_TEXT)
            return after
        if op == 0x8A:  # LONG1
            width = data[pos + 1]
            if pos + 2 + width > end:
                raise _NeedMore(2 + width)
            stack.append(int.from_bytes(data[pos + 2:pos + 2 + width], "little", signed=True)
                         if width <= MAX_LONG_BYTES else BIGINT)
            return pos + 2 + width
        if op == 0x8B:  # LONG4
            width = _unpack_int4(data, pos + 1)[0]
            if width < 0:
                raise _Malformed("LONG4 has a negative length")
            first, stop = self._value(data, pos, 5, width, end, base, final)
            stack.append(int.from_bytes(data[first:stop], "little", signed=True) if width <= MAX_LONG_BYTES
                         else BIGINT)
            return stop
        if op == 0x49 or op == 0x4C:  # INT, LONG
            line, after = self._line(data, pos + 1, end, final)
            if op == 0x49 and line in (b"00", b"01"):
                stack.append(line == b"01")
            else:
                digits = line[:-1] if op == 0x4C and line.endswith(b"L") else line
                try:
                    stack.append(int(digits))
                except ValueError:
                    raise _Malformed(f"{_opname(op)} argument is not an integer") from None
            return after
        if op == 0x46:  # FLOAT
            line, after = self._line(data, pos + 1, end, final)
            try:
                float(line)
            except ValueError:
                raise _Malformed("FLOAT argument is not a number") from None
            stack.append(FLOAT)
            return after
        if op == 0x67 or op == 0x70:  # GET, PUT
            line, after = self._line(data, pos + 1, end, final)
            try:
                index = int(line)
            except ValueError:
                raise _Malformed(f"{_opname(op)} argument is not an integer") from None
            if op == 0x67:
                stack.append(self.memo[index])
            else:
                if index < 0:
                    raise _Malformed("negative PUT argument")
                self.memo[index] = stack[-1]
            return after
        if op == 0x73:  # SETITEM
            value = stack.pop()
            key = stack.pop()
            target = stack[-1]
            if target.__class__ is dict:
                _update_hashable(target, [key, value])
            return pos + 1
        if op == 0x61:  # APPEND
            stack.pop()
            if not stack:
                raise IndexError
            return pos + 1
        if op == 0x64:  # DICT
            mark = self.marks.pop()
            items = stack[mark:]
            del stack[mark:]
            if self.track_dicts:
                built: dict[Any, Any] = {}
                _update_hashable(built, items)
                stack.append(built)
            else:
                stack.append(DICT)
            return pos + 1
        if op == 0x6C:  # LIST
            mark = self.marks.pop()
            del stack[mark:]
            stack.append(LIST)
            return pos + 1
        if op == 0x8F:  # EMPTY_SET
            stack.append(SET)
            return pos + 1
        if op == 0x90:  # ADDITEMS
            mark = self.marks.pop()
            if mark == 0:
                raise IndexError
            del stack[mark:]
            return pos + 1
        if op == 0x91:  # FROZENSET
            mark = self.marks.pop()
            del stack[mark:]
            stack.append(FROZENSET)
            return pos + 1
        if op == 0x30:  # POP: pops the mark when nothing was pushed since it (as CPython's load_pop)
            if self.marks and self.marks[-1] == len(stack):
                self.marks.pop()
            else:
                stack.pop()
            return pos + 1
        if op == 0x31:  # POP_MARK
            mark = self.marks.pop()
            del stack[mark:]
            return pos + 1
        if op == 0x32:  # DUP
            stack.append(stack[-1])
            return pos + 1
        if op == 0x97:  # NEXT_BUFFER
            stack.append(BUFFER)
            return pos + 1
        if op == 0x98:  # READONLY_BUFFER
            stack[-1]  # noqa: B018 - needs a value, as CPython's loader does
            return pos + 1
        raise _Malformed(f"invalid opcode byte 0x{op:02x}")


def _update_hashable(target: dict[Any, Any], items: list[Any]) -> None:
    for index in range(0, len(items) - 1, 2):
        try:
            target[items[index]] = items[index + 1]
        except TypeError:
            continue  # an unhashable symbolic key (a tuple holding a dict): nothing we need to track


def _opname(code: int) -> str:
    op = BY_CODE[code]
    return op.name if op is not None else f"0x{code:02x}"


# --- joblib array layout ----------------------------------------------------------------------------------------

def _array_layout(wrapper: Call) -> tuple[int, bool, bool] | str:
    """(bytes of array data, padding byte present, object array) for a built NumpyArrayWrapper, or why not."""
    attributes: dict[str, Any] = {}
    if wrapper.init and wrapper.func.__class__ is Global and wrapper.func.wrapper \
            and wrapper.args.__class__ is tuple:
        attributes.update(_WRAPPER_INIT_DEFAULTS)
        attributes.update(zip(_WRAPPER_INIT_NAMES, wrapper.args))
    state = wrapper.state
    # BUILD without __setstate__: a dict updates __dict__; (dict, slots) sets both (Lib/pickle.py load_build).
    parts = state if state.__class__ is tuple and len(state) == 2 else (state,)
    for part in parts:
        if part.__class__ is dict:
            attributes.update((k, v) for k, v in part.items() if k.__class__ is str)
        elif part is not None:
            return "the wrapper's state is not a dict"
    if "shape" not in attributes or "dtype" not in attributes:
        return "the wrapper has no shape or dtype"
    dtype = _dtype_layout(attributes["dtype"])
    if isinstance(dtype, str):
        return dtype
    itemsize, has_objects = dtype
    padded = attributes.get("numpy_array_alignment_bytes") is not None
    if has_objects:
        return 0, False, True
    shape = attributes["shape"]
    if shape.__class__ is not tuple or not all(d.__class__ in (int, bool) and d >= 0 for d in shape):
        return f"the shape is {_describe(shape)}, not a tuple of sizes"
    count = math.prod(shape)
    return count * itemsize, padded, False


_SIZED_KINDS = frozenset("biufcmM")


def _dtype_layout(value: Any) -> tuple[int, bool] | str:
    """(itemsize, has Python objects) of a symbolic numpy.dtype(typestr, align, copy) with BUILD state
    (3|4, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata]) as numpy's dtype.__reduce__
    writes it (numpy/_core/src/multiarray/descriptor.c)."""
    if value.__class__ is not Call or value.func.__class__ is not Global or not value.func.dtype:
        return f"the dtype is {_describe(value)}, not numpy.dtype(...)"
    args = value.args
    if args.__class__ is not tuple or not args or args[0].__class__ is not str:
        return "the dtype's type string is missing"
    typestr: str = args[0]
    kind, digits = typestr[:1], typestr[1:]
    state = value.state
    elsize = flags = None
    if state.__class__ is tuple and len(state) >= 8:
        elsize, flags = state[5], state[7]
    if kind == "O" or (flags.__class__ is int and flags & 1):  # NPY_ITEM_HASOBJECT
        return 0, True
    if kind in _SIZED_KINDS and digits.isdigit():
        return int(digits), False
    if kind in ("S", "U", "V", "a"):
        if elsize.__class__ is int and elsize >= 0:
            return elsize, False
        if digits.isdigit():
            return int(digits) * (4 if kind == "U" else 1), False
    return f"the dtype '{typestr}' has no size known to mlwarden"


# --- entry point ------------------------------------------------------------------------------------------------

def analyze_pickle(data: bytes | bytearray | memoryview, ctx: ScanContext, *, base_offset: int = 0,
                   trailing_data_ok: bool = False) -> PickleSummary:
    """Analyse a complete in-memory pickle stream (one or more concatenated pickles) and report findings to ctx.

    ``base_offset`` is added to every reported offset (for pickles embedded in a larger file). With
    ``trailing_data_ok`` data after the last pickle is expected (PyTorch's legacy format) and not reported.
    """
    buffer = data if isinstance(data, bytes) else bytes(data)

    def walk(target: ScanContext, joblib: bool) -> PickleWalker:
        walker = PickleWalker(target, stream_size=len(buffer), base_offset=base_offset,
                              trailing_data_ok=trailing_data_ok, joblib=joblib)
        # With the whole stream in one final buffer the walker runs to its end in one call.
        walker.feed(buffer, 0, 0, True)
        walker.done = True
        return walker

    walker = walk(ctx, True)
    if walker.plain_divergence:
        merge_plain_pickle_findings(ctx, walker, lambda plain_ctx: walk(plain_ctx, False))
    return walker.summary()


# Findings of the plain-pickle pass that only restate what the joblib pass knows: a plain unpickler fails on
# joblib's array bytes, and whatever it imported or called before failing is what matters.
_PLAIN_PASS_IGNORED = frozenset({"MW-PKL-006", "MW-FMT-003", "MW-FMT-001"})


def merge_plain_pickle_findings(ctx: ScanContext, joblib_walker: PickleWalker,
                                run: Callable[[ScanContext], PickleWalker]) -> None:
    """Analyse a joblib stream again as pickle.load would read it (array bytes as opcodes) and add what that
    finds beyond the joblib pass: a crafted file can hide a payload where joblib.load skips array data.

    Only when the plain reading imports something (with a resolved name) where the joblib reading has no import:
    array bytes read as opcodes by chance break off within a few bytes, and the odd opcode they form (a
    BINPERSID, an EXT, a call on a dict key) is noise, while a hidden payload has to import its callable."""
    plain = ScanContext(path=ctx.path, size=ctx.size, options=ctx.options, member=ctx.member, name=ctx.name,
                        depth=ctx.depth, profile=ctx.profile, budget=ctx.budget, scanner=ctx.scanner)
    plain_walker = run(plain)
    if not plain_walker.import_offsets - joblib_walker.import_offsets:
        return
    known = {(f.rule_id, f.evidence, f.location.member) for f in ctx.findings}
    for finding in plain.findings:
        if finding.rule_id in _PLAIN_PASS_IGNORED or (finding.rule_id, finding.evidence,
                                                      finding.location.member) in known:
            continue
        ctx.findings.append(dataclasses.replace(
            finding, message=f"when loaded with pickle.load instead of joblib.load (joblib skips these bytes as "
                             f"array data): {finding.message}"))
