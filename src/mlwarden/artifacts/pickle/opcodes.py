"""The pickle opcode table (protocols 0-5) and a bounds-checked opcode reader.

The table lists every opcode CPython's ``pickletools`` documents: its code byte, name, argument kind, the
protocol that introduced it and its stack effect (used by the content probe). The reader walks a bytes buffer and
yields ``(offset, opcode, argument)``; unlike ``pickletools.genops`` it is fast, reports the byte offset of every
problem, and never allocates from a length field beyond the bytes that are really there.

This module only decodes opcodes. It never imports, calls or unpickles anything.
"""

from __future__ import annotations

import codecs
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

ArgKind = Literal[
    "none", "uint1", "uint2", "int4", "uint4", "uint8", "long1", "long4", "decimalnl_short", "decimalnl_long",
    "floatnl", "float8", "stringnl", "stringnl_noescape", "stringnl_noescape_pair", "string1", "string4",
    "bytes1", "bytes4", "bytes8", "bytearray8", "unicodestringnl", "unicodestring1", "unicodestring4",
    "unicodestring8",
]
MarkEffect = Literal["", "push", "pop"]


@dataclass(frozen=True, slots=True)
class Opcode:
    """One pickle opcode. ``needs``/``pops``/``pushes`` are counted above the current mark (the fence).

    For opcodes that pop a mark (``mark == "pop"``), ``needs`` counts the items required *below* the mark (the
    list of APPENDS, the dict of SETITEMS) and ``min_slice`` the items required after it (OBJ needs its class).
    """

    code: int
    name: str
    arg: ArgKind
    proto: int
    needs: int
    pops: int
    pushes: int
    mark: MarkEffect = ""
    min_slice: int = 0


# Transcribed from the opcode documentation in CPython's Lib/pickletools.py (the `opcodes` list) and the
# loader in Lib/pickle.py (`_Unpickler.load_*`), which defines the stack effects.
OPCODES: tuple[Opcode, ...] = (
    # Integers
    Opcode(ord("I"), "INT", "decimalnl_short", 0, 0, 0, 1),
    Opcode(ord("J"), "BININT", "int4", 1, 0, 0, 1),
    Opcode(ord("K"), "BININT1", "uint1", 1, 0, 0, 1),
    Opcode(ord("M"), "BININT2", "uint2", 1, 0, 0, 1),
    Opcode(ord("L"), "LONG", "decimalnl_long", 0, 0, 0, 1),
    Opcode(0x8A, "LONG1", "long1", 2, 0, 0, 1),
    Opcode(0x8B, "LONG4", "long4", 2, 0, 0, 1),
    # Strings and bytes
    Opcode(ord("S"), "STRING", "stringnl", 0, 0, 0, 1),
    Opcode(ord("T"), "BINSTRING", "string4", 1, 0, 0, 1),
    Opcode(ord("U"), "SHORT_BINSTRING", "string1", 1, 0, 0, 1),
    Opcode(ord("B"), "BINBYTES", "bytes4", 3, 0, 0, 1),
    Opcode(ord("C"), "SHORT_BINBYTES", "bytes1", 3, 0, 0, 1),
    Opcode(0x8E, "BINBYTES8", "bytes8", 4, 0, 0, 1),
    Opcode(0x96, "BYTEARRAY8", "bytearray8", 5, 0, 0, 1),
    Opcode(0x97, "NEXT_BUFFER", "none", 5, 0, 0, 1),
    Opcode(0x98, "READONLY_BUFFER", "none", 5, 1, 0, 0),
    # Singletons
    Opcode(ord("N"), "NONE", "none", 0, 0, 0, 1),
    Opcode(0x88, "NEWTRUE", "none", 2, 0, 0, 1),
    Opcode(0x89, "NEWFALSE", "none", 2, 0, 0, 1),
    # Unicode text
    Opcode(ord("V"), "UNICODE", "unicodestringnl", 0, 0, 0, 1),
    Opcode(0x8C, "SHORT_BINUNICODE", "unicodestring1", 4, 0, 0, 1),
    Opcode(ord("X"), "BINUNICODE", "unicodestring4", 1, 0, 0, 1),
    Opcode(0x8D, "BINUNICODE8", "unicodestring8", 4, 0, 0, 1),
    # Floats
    Opcode(ord("F"), "FLOAT", "floatnl", 0, 0, 0, 1),
    Opcode(ord("G"), "BINFLOAT", "float8", 1, 0, 0, 1),
    # Containers
    Opcode(ord("]"), "EMPTY_LIST", "none", 1, 0, 0, 1),
    Opcode(ord("a"), "APPEND", "none", 0, 2, 1, 0),
    Opcode(ord("e"), "APPENDS", "none", 1, 1, 0, 0, "pop"),
    Opcode(ord("l"), "LIST", "none", 0, 0, 0, 1, "pop"),
    Opcode(ord(")"), "EMPTY_TUPLE", "none", 1, 0, 0, 1),
    Opcode(ord("t"), "TUPLE", "none", 0, 0, 0, 1, "pop"),
    Opcode(0x85, "TUPLE1", "none", 2, 1, 1, 1),
    Opcode(0x86, "TUPLE2", "none", 2, 2, 2, 1),
    Opcode(0x87, "TUPLE3", "none", 2, 3, 3, 1),
    Opcode(ord("}"), "EMPTY_DICT", "none", 1, 0, 0, 1),
    Opcode(ord("d"), "DICT", "none", 0, 0, 0, 1, "pop"),
    Opcode(ord("s"), "SETITEM", "none", 0, 3, 2, 0),
    Opcode(ord("u"), "SETITEMS", "none", 1, 1, 0, 0, "pop"),
    Opcode(0x8F, "EMPTY_SET", "none", 4, 0, 0, 1),
    Opcode(0x90, "ADDITEMS", "none", 4, 1, 0, 0, "pop"),
    Opcode(0x91, "FROZENSET", "none", 4, 0, 0, 1, "pop"),
    # Stack manipulation
    Opcode(ord("0"), "POP", "none", 0, 1, 1, 0),
    Opcode(ord("2"), "DUP", "none", 0, 1, 0, 1),
    Opcode(ord("("), "MARK", "none", 0, 0, 0, 0, "push"),
    Opcode(ord("1"), "POP_MARK", "none", 1, 0, 0, 0, "pop"),
    # Memo
    Opcode(ord("g"), "GET", "decimalnl_short", 0, 0, 0, 1),
    Opcode(ord("h"), "BINGET", "uint1", 1, 0, 0, 1),
    Opcode(ord("j"), "LONG_BINGET", "uint4", 1, 0, 0, 1),
    Opcode(ord("p"), "PUT", "decimalnl_short", 0, 1, 0, 0),
    Opcode(ord("q"), "BINPUT", "uint1", 1, 1, 0, 0),
    Opcode(ord("r"), "LONG_BINPUT", "uint4", 1, 1, 0, 0),
    Opcode(0x94, "MEMOIZE", "none", 4, 1, 0, 0),
    # Extension registry
    Opcode(0x82, "EXT1", "uint1", 2, 0, 0, 1),
    Opcode(0x83, "EXT2", "uint2", 2, 0, 0, 1),
    Opcode(0x84, "EXT4", "int4", 2, 0, 0, 1),
    # Imports and calls
    Opcode(ord("c"), "GLOBAL", "stringnl_noescape_pair", 0, 0, 0, 1),
    Opcode(0x93, "STACK_GLOBAL", "none", 4, 2, 2, 1),
    Opcode(ord("R"), "REDUCE", "none", 0, 2, 2, 1),
    Opcode(ord("b"), "BUILD", "none", 0, 2, 1, 0),
    Opcode(ord("i"), "INST", "stringnl_noescape_pair", 0, 0, 0, 1, "pop"),
    Opcode(ord("o"), "OBJ", "none", 1, 0, 0, 1, "pop", 1),
    Opcode(0x81, "NEWOBJ", "none", 2, 2, 2, 1),
    Opcode(0x92, "NEWOBJ_EX", "none", 4, 3, 3, 1),
    # Machine control
    Opcode(0x80, "PROTO", "uint1", 2, 0, 0, 0),
    Opcode(ord("."), "STOP", "none", 0, 1, 1, 0),
    Opcode(0x95, "FRAME", "uint8", 4, 0, 0, 0),
    # Persistent ids
    Opcode(ord("P"), "PERSID", "stringnl_noescape", 0, 0, 0, 1),
    Opcode(ord("Q"), "BINPERSID", "none", 1, 1, 1, 1),
)

# Indexed by code byte; None for bytes that are not opcodes.
BY_CODE: tuple[Opcode | None, ...] = tuple(
    next((op for op in OPCODES if op.code == code), None) for code in range(256)
)
BY_NAME: dict[str, Opcode] = {op.name: op for op in OPCODES}

# Highest protocol CPython writes or reads (pickle.HIGHEST_PROTOCOL in 3.8-3.14).
HIGHEST_PROTOCOL = 5

# Fixed argument sizes; variable-size kinds are absent.
FIXED_ARG_SIZE: dict[str, int] = {"none": 0, "uint1": 1, "uint2": 2, "int4": 4, "uint4": 4, "uint8": 8, "float8": 8}
# Kinds whose argument is a length prefix (of this many bytes) followed by that many bytes.
LENGTH_PREFIX_SIZE: dict[str, int] = {
    "long1": 1, "long4": 4, "string1": 1, "string4": 4, "bytes1": 1, "bytes4": 4, "bytes8": 8,
    "bytearray8": 8, "unicodestring1": 1, "unicodestring4": 4, "unicodestring8": 8,
}
# Kinds whose argument is one (or two) newline-terminated lines.
LINE_KINDS: dict[str, int] = {
    "decimalnl_short": 1, "decimalnl_long": 1, "floatnl": 1, "stringnl": 1, "stringnl_noescape": 1,
    "unicodestringnl": 1, "stringnl_noescape_pair": 2,
}
# Length fields that are signed in CPython's loader (a negative length is an error there).
SIGNED_LENGTH_KINDS = frozenset({"long4", "string4"})


class PickleFormatError(Exception):
    """An opcode that cannot be decoded: unknown, truncated or with an invalid argument."""

    def __init__(self, message: str, offset: int, *, truncated: bool = False) -> None:
        super().__init__(message)
        self.offset = offset
        self.truncated = truncated


def opcode_extent(data: bytes | memoryview, pos: int, end: int | None = None) -> int:
    """Return the offset just past the opcode at ``pos`` without decoding its argument.

    Raises ``PickleFormatError`` (``truncated=True`` when the opcode runs past ``end``).
    """
    if end is None:
        end = len(data)
    if pos >= end:
        raise PickleFormatError("pickle data ends before STOP", pos, truncated=True)
    op = BY_CODE[data[pos]]
    if op is None:
        raise PickleFormatError(f"invalid opcode byte 0x{data[pos]:02x}", pos)
    kind = op.arg
    fixed = FIXED_ARG_SIZE.get(kind)
    if fixed is not None:
        stop = pos + 1 + fixed
    elif kind in LENGTH_PREFIX_SIZE:
        width = LENGTH_PREFIX_SIZE[kind]
        if pos + 1 + width > end:
            raise PickleFormatError(f"{op.name} length field is truncated", pos, truncated=True)
        length = int.from_bytes(data[pos + 1:pos + 1 + width], "little", signed=kind in SIGNED_LENGTH_KINDS)
        if length < 0:
            raise PickleFormatError(f"{op.name} has a negative length ({length})", pos)
        stop = pos + 1 + width + length
    else:
        stop = pos + 1
        for _ in range(LINE_KINDS[kind]):
            newline = _find_newline(data, stop, end)
            if newline < 0:
                raise PickleFormatError(f"{op.name} argument has no terminating newline", pos, truncated=True)
            stop = newline + 1
    if stop > end:
        raise PickleFormatError(f"{op.name} argument runs past the end of the data", pos, truncated=True)
    return stop


def _find_newline(data: bytes | memoryview, start: int, end: int) -> int:
    if isinstance(data, memoryview):
        # memoryview has no find(); the slice is bounded by the data that is really there.
        found = bytes(data[start:end]).find(b"\n")
        return -1 if found < 0 else start + found
    return data.find(b"\n", start, end)


ArgValue = int | float | bool | str | bytes | tuple[str, str] | None


def decode_argument(data: bytes | memoryview, op: Opcode, pos: int, stop: int) -> ArgValue:
    """Decode the argument of ``op`` found at ``pos`` (the opcode byte) up to ``stop`` (from opcode_extent).

    Integer kinds give ints, float kinds floats, text kinds str, byte kinds bytes, GLOBAL/INST a (module, name)
    pair. Raises ``PickleFormatError`` for arguments CPython's loader would reject.
    """
    kind = op.arg
    body = bytes(data[pos + 1:stop])
    try:
        if kind == "none":
            return None
        if kind in ("uint1", "uint2", "uint4", "uint8"):
            return int.from_bytes(body, "little")
        if kind == "int4":
            return int.from_bytes(body, "little", signed=True)
        if kind == "float8":
            return float(struct.unpack(">d", body)[0])
        if kind in LENGTH_PREFIX_SIZE:
            payload = body[LENGTH_PREFIX_SIZE[kind]:]
            if kind in ("long1", "long4"):
                return int.from_bytes(payload, "little", signed=True)
            if kind.startswith("unicodestring"):
                return payload.decode("utf-8", "surrogatepass")
            return payload
        line = body[:-1]
        if kind == "decimalnl_short":
            if line == b"00":
                return False
            if line == b"01":
                return True
            return int(line)
        if kind == "decimalnl_long":
            return int(line[:-1] if line.endswith(b"L") else line)
        if kind == "floatnl":
            return float(line)
        if kind == "stringnl":
            return unquote_string_line(line)
        if kind == "stringnl_noescape":
            return line.decode("utf-8", "surrogateescape")
        if kind == "unicodestringnl":
            return line.decode("raw-unicode-escape")
        module, _, name = line.partition(b"\n")
        return (module.decode("utf-8"), name.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, struct.error, OverflowError) as exc:
        raise PickleFormatError(f"{op.name} has an invalid argument: {exc}", pos) from None


def unquote_string_line(line: bytes) -> bytes:
    """The value of a protocol-0 STRING line: quoted, with Python escapes (as pickle.py's load_string)."""
    if len(line) < 2 or line[0] != line[-1] or line[0] not in b"\"'":
        raise ValueError("the STRING opcode argument must be quoted")
    decoded: bytes = codecs.escape_decode(line[1:-1])[0]
    return decoded


def iter_opcodes(data: bytes | memoryview, start: int = 0, end: int | None = None, *,
                 stop_at_stop: bool = True) -> Iterator[tuple[int, Opcode, ArgValue]]:
    """Yield ``(offset, opcode, argument)`` from ``start``; stop after STOP unless ``stop_at_stop`` is False.

    Raises ``PickleFormatError`` with the offset of the first opcode that cannot be decoded.
    """
    if end is None:
        end = len(data)
    pos = start
    while pos < end:
        stop = opcode_extent(data, pos, end)
        op = BY_CODE[data[pos]]
        assert op is not None  # opcode_extent rejected unknown bytes
        yield pos, op, decode_argument(data, op, pos, stop)
        pos = stop
        if stop_at_stop and op.code == 0x2E:
            return
