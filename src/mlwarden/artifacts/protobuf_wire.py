"""A small, bounded reader for the protobuf wire format, shared by the ONNX and TensorFlow scanners.

It walks the fields of a message without a schema: callers pick the field numbers they care about and skip
the rest. Messages are addressed by absolute byte ranges, so a scanner can descend into one field of a
multi-gigabyte model while every other length-delimited field (tensor data above all) is skipped by seeking
over it, never read.

What it must never do: allocate or read according to a length field it has not checked against the end of
the enclosing message; recurse deeper than ``max_depth``; walk more than ``max_fields`` fields in one file.
Deprecated groups (wire types 3 and 4) are rejected: neither ONNX nor TensorFlow writes them, and a parser
that skipped them would have to trust nested group markers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

VARINT = 0
I64 = 1
LEN = 2
I32 = 5

# Largest field number protobuf allows (2**29 - 1).
_MAX_FIELD_NUMBER = (1 << 29) - 1
_U64 = (1 << 64) - 1
# A tag and a length prefix take at most 10 bytes each.
_HEAD_BYTES = 20
# Sub-messages up to this size are read into memory in one piece; bigger ones are walked by seeking in the
# stream. Graph nodes and attributes are small; the threshold keeps tensors and whole graphs out of memory.
DEFAULT_INLINE_BYTES = 1 << 20
# Fields walked per file before the reader gives up with a limit error. Real graphs stay far below this; it
# bounds the time a file of millions of one-byte fields can take.
DEFAULT_MAX_FIELDS = 50_000_000


class ParseError(Exception):
    """The bytes are not valid protobuf wire data. ``offset`` is where the problem was found."""

    def __init__(self, message: str, *, offset: int | None = None) -> None:
        super().__init__(message)
        self.offset = offset


class ProtoLimitError(ParseError):
    """A nesting or field-count limit was reached; the message may be valid but was not fully read."""


@dataclass(frozen=True, slots=True)
class WireField:
    """One field. ``value`` is the integer for VARINT/I64/I32 fields and the payload length for LEN fields;
    ``offset`` is the absolute offset of the value (of the payload for LEN fields)."""

    number: int
    wire_type: int
    value: int
    offset: int

    @property
    def end(self) -> int:
        return self.offset + self.value if self.wire_type == LEN else self.offset


def _read_varint(buf: bytes | memoryview, pos: int, end: int, base: int) -> tuple[int, int]:
    """Decode a varint at ``buf[pos:]``; ``base`` turns buffer positions into file offsets for errors."""
    result = 0
    shift = 0
    while True:
        if pos >= end:
            raise ParseError("truncated varint", offset=base + pos)
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result & _U64, pos
        shift += 7
        if shift >= 70:
            raise ParseError("varint longer than 10 bytes", offset=base + pos)


class ProtoReader:
    """Holds the source (a seekable stream or a bytes object) and the budgets shared by all its messages."""

    def __init__(self, source: BinaryIO | bytes | memoryview, size: int, *, max_depth: int,
                 inline_bytes: int = DEFAULT_INLINE_BYTES, max_fields: int = DEFAULT_MAX_FIELDS) -> None:
        self._stream: BinaryIO | None = None
        self._data: memoryview | None = None
        if isinstance(source, (bytes, bytearray, memoryview)):
            self._data = memoryview(source)[:size]
            size = len(self._data)
        else:
            self._stream = source
        self.size = size
        self.max_depth = max_depth
        self.inline_bytes = inline_bytes
        self.fields_left = max_fields

    def message(self) -> ProtoMessage:
        """The top-level message: the whole source."""
        if self._data is not None:
            return ProtoMessage(self, 0, self.size, 0, self._data, 0)
        if self.size <= self.inline_bytes:
            return ProtoMessage(self, 0, self.size, 0, self.read_at(0, self.size), 0)
        return ProtoMessage(self, 0, self.size, 0, None, 0)

    def read_at(self, offset: int, length: int) -> memoryview:
        """Exactly ``length`` bytes at ``offset``; callers have checked the range against a message end."""
        if self._data is not None:
            return self._data[offset:offset + length]
        assert self._stream is not None
        self._stream.seek(offset)
        data = self._stream.read(length)
        if len(data) != length:
            raise ParseError("file is shorter than its length fields say", offset=offset + len(data))
        return memoryview(data)

    def _head_at(self, offset: int, end: int) -> memoryview:
        """Up to 20 bytes at ``offset`` (not past ``end``): enough for a tag and a length prefix."""
        return self.read_at(offset, min(_HEAD_BYTES, end - offset))


class ProtoMessage:
    """A byte range ``[start, end)`` holding one message. ``buf`` is set when the range is in memory."""

    __slots__ = ("reader", "start", "end", "depth", "_buf", "_base")

    def __init__(self, reader: ProtoReader, start: int, end: int, depth: int, buf: memoryview | None,
                 base: int) -> None:
        self.reader = reader
        self.start = start
        self.end = end
        self.depth = depth
        self._buf = buf  # holds the bytes at file offsets [base, base + len(buf))
        self._base = base

    def fields(self) -> Iterator[WireField]:
        if self._buf is not None:
            yield from self._fields_in_memory()
        else:
            yield from self._fields_by_seeking()

    def _next_field(self, buf: memoryview, pos: int, end: int, base: int) -> tuple[WireField, int]:
        """Decode the field at ``buf[pos]``; return it and the buffer position just past it."""
        reader = self.reader
        reader.fields_left -= 1
        if reader.fields_left < 0:
            raise ProtoLimitError("too many protobuf fields in one file", offset=base + pos)
        tag, pos = _read_varint(buf, pos, end, base)
        number, wire_type = tag >> 3, tag & 7
        if number == 0 or number > _MAX_FIELD_NUMBER:
            raise ParseError(f"invalid field number {number}", offset=base + pos)
        if wire_type == VARINT:
            value, pos = _read_varint(buf, pos, end, base)
            return WireField(number, VARINT, value, base + pos), pos
        if wire_type == LEN:
            length, pos = _read_varint(buf, pos, end, base)
            if length > self.end - (base + pos):
                raise ParseError(f"field {number} is {length} bytes long but its message ends sooner",
                                 offset=base + pos)
            return WireField(number, LEN, length, base + pos), pos + length
        if wire_type in (I64, I32):
            width = 8 if wire_type == I64 else 4
            if base + pos + width > self.end:
                raise ParseError(f"truncated fixed-width field {number}", offset=base + pos)
            # A tag takes at most 10 bytes, so the value always lies inside the 20-byte head read by seeking.
            value = int.from_bytes(buf[pos:pos + width], "little")
            return WireField(number, wire_type, value, base + pos), pos + width
        if wire_type in (3, 4):
            raise ParseError(f"field {number} uses the deprecated group encoding", offset=base + pos)
        raise ParseError(f"invalid wire type {wire_type} for field {number}", offset=base + pos)

    def _fields_in_memory(self) -> Iterator[WireField]:
        assert self._buf is not None
        buf, base = self._buf, self._base
        pos, end = self.start - base, self.end - base
        while pos < end:
            field, pos = self._next_field(buf, pos, end, base)
            yield field

    def _fields_by_seeking(self) -> Iterator[WireField]:
        offset = self.start
        while offset < self.end:
            head = self.reader._head_at(offset, self.end)
            field, used = self._next_field(head, 0, len(head), offset)
            offset = field.offset + field.value if field.wire_type == LEN else offset + used
            yield field

    def submessage(self, field: WireField, *, inline_bytes: int | None = None) -> ProtoMessage:
        """The message held by LEN field ``field``. Small ones are loaded; big ones stay on disk."""
        if field.wire_type != LEN:
            raise ParseError(f"field {field.number} is not length-delimited", offset=field.offset)
        depth = self.depth + 1
        if depth > self.reader.max_depth:
            raise ProtoLimitError(f"messages nested deeper than {self.reader.max_depth} levels",
                                  offset=field.offset)
        start, end = field.offset, field.offset + field.value
        if self._buf is not None:
            return ProtoMessage(self.reader, start, end, depth, self._buf, self._base)
        limit = self.reader.inline_bytes if inline_bytes is None else inline_bytes
        if field.value <= limit:
            return ProtoMessage(self.reader, start, end, depth, self.reader.read_at(start, field.value), start)
        return ProtoMessage(self.reader, start, end, depth, None, start)

    def read_bytes(self, field: WireField, limit: int) -> bytes:
        """The payload of LEN field ``field``, at most ``limit`` bytes of it (the rest is not read)."""
        if field.wire_type != LEN:
            return b""
        length = min(field.value, limit)
        if self._buf is not None:
            pos = field.offset - self._base
            return bytes(self._buf[pos:pos + length])
        return bytes(self.reader.read_at(field.offset, length))

    def read_text(self, field: WireField, limit: int = 4096) -> str:
        """A string field as text (invalid UTF-8 replaced), cut to ``limit`` bytes."""
        return self.read_bytes(field, limit).decode("utf-8", "replace")
