"""NumPy ``.npy`` scanner (also used for the members of ``.npz`` archives).

Format (numpy/lib/format.py, NEP 1): the magic ``\\x93NUMPY``, a major and minor version, a 2-byte (1.0) or
4-byte (2.0, 3.0) header length, then a Python dict literal with ``descr``, ``fortran_order`` and ``shape``.
Numeric data follows the header; arrays whose dtype holds Python objects are stored as a pickle instead.

The header is read only after its length is checked, and parsed with ``ast.literal_eval``, which builds
literals and evaluates no code (numpy's own reader does the same). Numeric array data is never read; an object
array's pickle goes to the pickle analyzer. Never imports numpy, never unpickles.
"""

from __future__ import annotations

import ast
import re
import struct
from dataclasses import dataclass
from typing import Any, BinaryIO

from mlwarden.artifacts.zipreader import WindowReader, as_binary
from mlwarden.core.limits import MiB
from mlwarden.scanning.context import ScanContext, UnscannableError

MAGIC = b"\x93NUMPY"
# numpy refuses headers above 10000 bytes unless allow_pickle=True (numpy.lib.format._MAX_HEADER_SIZE); the
# literal parsed here is capped higher, for structured dtypes with many fields, and kept small enough that
# ast.literal_eval stays fast and shallow on hostile input.
HEADER_PARSE_MAX_BYTES = 1 * MiB
_MAX_DTYPE_NESTING = 32

# Element sizes of the type codes numpy writes in ``descr`` (dtype.str: byte order, kind, size), and of the
# names numpy also accepts there. Kind codes: numpy.dtype.kind documentation.
_SIZED_KINDS = frozenset("biufcSaVU")
_FIXED_SIZES = {"?": 1, "b": 1, "B": 1, "h": 2, "H": 2, "e": 2, "l": 8, "L": 8, "q": 8, "Q": 8, "g": 16}
_DATETIME = re.compile(r"^[mM]8(\[\d*[a-zA-Z]+\])?$")
_SIZED = re.compile(r"^([a-zA-Z])(\d+)$")
_NAMED_DTYPES = {
    "bool": 1, "int8": 1, "uint8": 1, "int16": 2, "uint16": 2, "int32": 4, "uint32": 4, "int64": 8, "uint64": 8,
    "float16": 2, "float32": 4, "float64": 8, "complex64": 8, "complex128": 16, "float": 8, "int": 8,
    "complex": 16, "bool_": 1,
}
_OBJECT_NAMES = frozenset({"O", "O4", "O8", "object", "object_"})


@dataclass(frozen=True, slots=True)
class DtypeInfo:
    itemsize: int
    has_object: bool


class DtypeError(ValueError):
    pass


def parse_descr(descr: Any, depth: int = 0) -> DtypeInfo:
    """Item size and object-ness of a ``descr`` value (a dtype string or a structured-dtype list)."""
    if depth > _MAX_DTYPE_NESTING:
        raise DtypeError("structured dtype nested too deeply")
    if isinstance(descr, str):
        return _parse_type_string(descr)
    if isinstance(descr, list):
        total, has_object = 0, False
        for field in descr:
            if not isinstance(field, tuple) or len(field) not in (2, 3):
                raise DtypeError(f"invalid structured dtype field {field!r:.80}")
            name, sub = field[0], field[1]
            if not isinstance(name, str | tuple):
                raise DtypeError("structured dtype field name is not a string")
            info = parse_descr(sub, depth + 1)
            count = 1
            if len(field) == 3:
                count = _shape_count(field[2] if isinstance(field[2], tuple) else (field[2],))
            total += info.itemsize * count
            has_object = has_object or info.has_object
        return DtypeInfo(total, has_object)
    if isinstance(descr, tuple) and len(descr) == 2:
        # (base dtype, shape) sub-array form
        info = parse_descr(descr[0], depth + 1)
        shape = descr[1] if isinstance(descr[1], tuple) else (descr[1],)
        return DtypeInfo(info.itemsize * _shape_count(shape), info.has_object)
    raise DtypeError(f"descr is neither a dtype string nor a field list: {descr!r:.80}")


def _parse_type_string(text: str) -> DtypeInfo:
    code = text[1:] if text[:1] in "<>|=" else text
    if code in _OBJECT_NAMES:
        return DtypeInfo(8, True)
    if code in _NAMED_DTYPES:
        return DtypeInfo(_NAMED_DTYPES[code], False)
    if code in _FIXED_SIZES:
        return DtypeInfo(_FIXED_SIZES[code], False)
    if _DATETIME.match(code):
        return DtypeInfo(8, False)
    sized = _SIZED.match(code)
    if sized and sized.group(1) in _SIZED_KINDS:
        size = int(sized.group(2))
        return DtypeInfo(size * 4 if sized.group(1) == "U" else size, False)
    if code.startswith("O"):
        return DtypeInfo(8, True)  # any other spelling of object: treat as object (pickle), never as numbers
    raise DtypeError(f"unrecognised dtype {text!r:.40}")


def _shape_count(shape: tuple[Any, ...]) -> int:
    count = 1
    for dim in shape:
        if not isinstance(dim, int) or isinstance(dim, bool) or dim < 0:
            raise DtypeError(f"invalid dimension {dim!r:.40} in shape")
        count *= dim
    return count


@dataclass(frozen=True, slots=True)
class NpyHeader:
    version: tuple[int, int]
    data_offset: int  # relative to the start of the array record
    header_length: int
    dtype: DtypeInfo
    shape: tuple[int, ...]
    fortran_order: bool

    @property
    def data_bytes(self) -> int:
        return _shape_count(self.shape) * self.dtype.itemsize


def read_header(stream: BinaryIO, start: int, available: int) -> NpyHeader:
    """Parse the array record header at ``start``; raises UnscannableError on anything numpy would reject."""
    stream.seek(start)
    preamble = stream.read(12)
    if not preamble.startswith(MAGIC) or len(preamble) < 10:
        raise UnscannableError("not a .npy header", offset=start)
    version = (preamble[6], preamble[7])
    if version == (1, 0):
        (length,) = struct.unpack_from("<H", preamble, 8)
        data_offset = 10 + length
    elif version in ((2, 0), (3, 0)):
        if len(preamble) < 12:
            raise UnscannableError("truncated .npy header", offset=start)
        (length,) = struct.unpack_from("<I", preamble, 8)
        data_offset = 12 + length
    else:
        raise UnscannableError(f"unknown .npy format version {version[0]}.{version[1]}", offset=start + 6)
    if data_offset > available:
        raise UnscannableError(f".npy header declares {length} bytes but the file holds {available}",
                               offset=start + 8)
    if length > HEADER_PARSE_MAX_BYTES:
        raise UnscannableError(f".npy header of {length} bytes is larger than the {HEADER_PARSE_MAX_BYTES}-byte "
                               "limit", offset=start + 8)
    stream.seek(start + data_offset - length)
    raw = stream.read(length)
    encoding = "utf-8" if version == (3, 0) else "latin-1"
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        raise UnscannableError(".npy header is not valid text", offset=start + data_offset - length) from None
    fields = _literal_header(text, version, start + data_offset - length)
    try:
        dtype = parse_descr(fields["descr"])
        shape = fields["shape"]
        if not isinstance(shape, tuple):
            raise DtypeError(f"shape is not a tuple: {shape!r:.40}")
        _shape_count(shape)
    except DtypeError as exc:
        raise UnscannableError(f".npy header: {exc}", offset=start + data_offset - length) from None
    if not isinstance(fields["fortran_order"], bool):
        raise UnscannableError(".npy header: fortran_order is not a boolean", offset=start)
    return NpyHeader(version, data_offset, length, dtype, shape, fields["fortran_order"])


def _literal_header(text: str, version: tuple[int, int], offset: int) -> dict[str, Any]:
    try:
        value = ast.literal_eval(text)
    except SyntaxError:
        # Python 2 wrote long integers as 3L; numpy's reader strips the suffix for 1.0/2.0 headers.
        try:
            value = ast.literal_eval(re.sub(r"(\d+)[lL]\b", r"\1", text)) if version < (3, 0) else None
        except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
            value = None
    except (ValueError, TypeError, MemoryError, RecursionError):
        value = None
    if not isinstance(value, dict) or set(value) != {"descr", "fortran_order", "shape"}:
        raise UnscannableError(".npy header is not a dict with exactly descr, fortran_order and shape",
                               offset=offset)
    return value


class NpyScanner:
    name = "npy"

    def scan(self, stream: BinaryIO, ctx: ScanContext) -> None:
        position = 0
        records = 0
        while True:
            header = read_header(stream, position, ctx.size - position)
            records += 1
            data_start = position + header.data_offset
            if header.dtype.has_object:
                self._scan_object_array(stream, data_start, ctx)
                return  # the pickle runs to its STOP; numpy reads nothing after it
            data_end = data_start + header.data_bytes
            if data_end > ctx.size:
                raise UnscannableError(f"array data needs {header.data_bytes} bytes but the file holds "
                                       f"{ctx.size - data_start}", offset=data_start)
            if data_end == ctx.size:
                return
            # Several arrays written one after another with np.save(f, ...) are read back the same way; anything
            # else after the data is unexplained.
            stream.seek(data_end)
            if stream.read(len(MAGIC)) != MAGIC or records >= ctx.limits.max_archive_members:
                raise UnscannableError(f"{ctx.size - data_end} unexplained bytes follow the array data",
                                       offset=data_end)
            position = data_end

    def _scan_object_array(self, stream: BinaryIO, data_start: int, ctx: ScanContext) -> None:
        ctx.report("MW-NPY-001", "array of Python objects: its data is a pickle that np.load(allow_pickle=True) "
                   "would unpickle", evidence="object dtype", offset=data_start)
        length = ctx.size - data_start
        ctx.scan_member("<object array>", as_binary(WindowReader(stream, data_start, length)), length,
                        format_hint="pickle")
