"""safetensors scanner: validates the header of a safetensors file the way the reference implementation does.

Layout (huggingface/safetensors README and ``safetensors/src/tensor.rs``): an 8-byte little-endian header
length N, N bytes of UTF-8 JSON (an object, starting with '{', possibly padded with trailing spaces), then the
tensor data. Each header entry other than ``__metadata__`` (a str -> str map) is
``{"dtype": ..., "shape": [...], "data_offsets": [begin, end]}`` with offsets relative to the data section.

The reference reader (``Metadata::validate`` and ``SafeTensors::read_metadata``) sorts tensors by offset and
requires them to tile the data section exactly: the first begins at 0, each begins where the previous ended,
each is exactly prod(shape) * bits(dtype) / 8 bytes (whole bytes only), and the last ends at the end of the
file. Anything else (overlaps, holes, trailing bytes, size mismatches) is reported as MW-ST-001: such files are
either refused by the reference loader or read differently by more lenient ones.

Reads only the 8 + N header bytes; never reads tensor data, never deserialises anything but JSON.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, BinaryIO

from mlwarden.scanning.context import ScanContext

# dtype -> bits per element: safetensors/src/tensor.rs ``Dtype::bitsize`` (0.6+, which added the sub-byte
# F4/F6 types, F8_E8M0 and C64).
DTYPE_BITS: dict[str, int] = {
    "BOOL": 8, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8,
    "F8_E8M0": 8, "I16": 16, "U16": 16, "F16": 16, "BF16": 16, "I32": 32, "U32": 32, "F32": 32,
    "C64": 64, "F64": 64, "I64": 64, "U64": 64,
}
_METADATA_KEY = "__metadata__"
# Offsets and dimensions are Rust usize (u64): larger numbers are refused by the reference loader.
_USIZE_MAX = 2**64 - 1
_MAX_FINDINGS = 20
_EVIDENCE_CHARS = 200


def _clip(text: str) -> str:
    return text if len(text) <= _EVIDENCE_CHARS else text[: _EVIDENCE_CHARS - 1] + "\u2026"


class _HeaderError(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    # Python's json accepts NaN/Infinity; serde_json (the reference parser) does not.
    raise _HeaderError(f"non-standard JSON constant {name}")


@dataclass(frozen=True, slots=True)
class _Entry:
    name: str
    begin: int
    end: int


class _Problems:
    """Collects MW-ST-001 findings, capped per file."""

    def __init__(self, ctx: ScanContext) -> None:
        self.ctx = ctx
        self.count = 0

    def add(self, message: str, *, evidence: str | None, offset: int | None = None) -> None:
        self.count += 1
        if self.count <= _MAX_FINDINGS:
            self.ctx.report("MW-ST-001", message, evidence=_clip(evidence) if evidence is not None else None,
                            offset=offset)

    def summarise(self) -> None:
        if self.count > _MAX_FINDINGS:
            self.ctx.report("MW-ST-001", f"{self.count - _MAX_FINDINGS} more header problems not listed",
                            evidence=f"{self.count} problems")


def _element_count(shape: list[int]) -> int | None:
    """prod(shape), or None on u64 overflow (checked at each step like the reference's checked_mul)."""
    elements = 1
    for dim in shape:
        elements *= dim
        if elements > _USIZE_MAX:
            return None
    return elements


def _is_usize(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _USIZE_MAX


class SafetensorsScanner:
    """Scanner for safetensors files (format id "safetensors")."""

    name = "safetensors"

    def scan(self, stream: BinaryIO, ctx: ScanContext) -> None:
        problems = _Problems(ctx)
        try:
            self._scan(stream, ctx, problems)
        finally:
            problems.summarise()

    def _scan(self, stream: BinaryIO, ctx: ScanContext, problems: _Problems) -> None:
        stream.seek(0)
        prefix = stream.read(8)
        if len(prefix) < 8:
            problems.add(f"file has {len(prefix)} bytes, fewer than the 8-byte header length",
                         evidence=f"size={ctx.size}", offset=0)
            return
        (header_length,) = struct.unpack("<Q", prefix)
        limit = ctx.limits.max_header_bytes
        if header_length > limit:
            problems.add(f"header length {header_length} exceeds the limit of {limit} bytes (the reference loader "
                         "refuses headers over 100 MB)", evidence=f"header_length={header_length}", offset=0)
            return
        if header_length > ctx.size - 8:
            problems.add(f"header length {header_length} is larger than the {max(ctx.size - 8, 0)} bytes after "
                         "it (hostile length field or truncated file)", evidence=f"header_length={header_length}",
                         offset=0)
            return
        raw = stream.read(header_length)
        if len(raw) < header_length:
            problems.add("file ends inside the header", evidence=f"header_length={header_length}", offset=8)
            return
        header = self._parse_header(raw, problems)
        if header is None:
            return
        data_size = ctx.size - 8 - header_length
        entries = self._check_entries(header, problems)
        self._check_layout(entries, data_size, problems)

    def _parse_header(self, raw: bytes, problems: _Problems) -> dict[str, Any] | None:
        if raw[:1] != b"{":
            problems.add("header does not start with '{'", evidence=_clip(repr(raw[:40])), offset=8)
            return None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.add(f"header is not valid UTF-8 (byte {exc.start})", evidence=repr(raw[exc.start:exc.start + 8]),
                         offset=8 + exc.start)
            return None
        duplicates: list[str] = []

        def keep_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for key, value in pairs:
                if key in out:
                    duplicates.append(key)
                out[key] = value
            return out

        try:
            header = json.loads(text, object_pairs_hook=keep_pairs, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as exc:
            # ValueError covers JSONDecodeError, the constant hook and Python's int-digit limit.
            problems.add(f"header is not valid JSON: {exc}", evidence=_clip(text[:80]), offset=8)
            return None
        for key in duplicates[:_MAX_FINDINGS]:
            # serde_json and Python keep the last value; other parsers keep the first: two readers, two models.
            problems.add(f"header key '{_clip(key)}' appears more than once", evidence=key, offset=8)
        if not isinstance(header, dict):
            problems.add(f"header is a JSON {type(header).__name__}, not an object", evidence=_clip(text[:80]),
                         offset=8)
            return None
        return header

    def _check_entries(self, header: dict[str, Any], problems: _Problems) -> list[_Entry]:
        entries: list[_Entry] = []
        for name, info in header.items():
            if name == _METADATA_KEY:
                self._check_metadata(info, problems)
                continue
            entry = self._check_tensor(name, info, problems)
            if entry is not None:
                entries.append(entry)
        return entries

    def _check_metadata(self, metadata: object, problems: _Problems) -> None:
        if metadata is None:
            return
        if not isinstance(metadata, dict):
            problems.add(f"__metadata__ is a JSON {type(metadata).__name__}, not an object of strings",
                         evidence=_METADATA_KEY, offset=8)
            return
        for key, value in metadata.items():
            if not isinstance(value, str):
                problems.add(f"__metadata__ value '{_clip(key)}' is a {type(value).__name__}, not a string",
                             evidence=f"__metadata__.{key}", offset=8)

    def _check_tensor(self, name: str, info: object, problems: _Problems) -> _Entry | None:
        if not isinstance(info, dict):
            problems.add(f"tensor '{_clip(name)}' entry is a {type(info).__name__}, not an object", evidence=name,
                         offset=8)
            return None
        missing = [k for k in ("dtype", "shape", "data_offsets") if k not in info]
        if missing:
            problems.add(f"tensor '{_clip(name)}' lacks {', '.join(missing)}", evidence=name, offset=8)
            return None
        dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        bits = DTYPE_BITS.get(dtype) if isinstance(dtype, str) else None
        if bits is None:
            problems.add(f"tensor '{_clip(name)}' has unknown dtype {_clip(repr(dtype))}", evidence=name, offset=8)
        if not isinstance(shape, list) or not all(_is_usize(d) for d in shape):
            problems.add(f"tensor '{_clip(name)}' shape {_clip(repr(shape))} is not a list of non-negative integers",
                         evidence=name, offset=8)
            shape = None
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_usize(o) for o in offsets)):
            problems.add(f"tensor '{_clip(name)}' data_offsets {_clip(repr(offsets))} is not a pair of "
                         "non-negative integers", evidence=name, offset=8)
            return None
        begin, end = offsets
        if begin > end:
            problems.add(f"tensor '{_clip(name)}' data_offsets begin {begin} > end {end}", evidence=name, offset=8)
            return None
        if bits is not None and shape is not None:
            elements = _element_count(shape)
            total_bits = elements * bits if elements is not None else None
            if total_bits is None or total_bits > _USIZE_MAX:
                problems.add(f"tensor '{_clip(name)}' shape {_clip(repr(shape))} overflows the size arithmetic",
                             evidence=name, offset=8)
            elif total_bits % 8:
                problems.add(f"tensor '{_clip(name)}' holds {elements} {dtype} values = {total_bits} bits, not a "
                             "whole number of bytes", evidence=name, offset=8)
            elif total_bits // 8 != end - begin:
                problems.add(f"tensor '{_clip(name)}' shape {_clip(repr(shape))} of {dtype} needs "
                             f"{total_bits // 8} bytes but data_offsets span {end - begin}", evidence=name, offset=8)
        return _Entry(name, begin, end)

    def _check_layout(self, entries: Iterable[_Entry], data_size: int, problems: _Problems) -> None:
        ordered = sorted(entries, key=lambda e: (e.begin, e.end))
        covered = 0
        previous: _Entry | None = None
        for entry in ordered:
            if entry.end > data_size:
                problems.add(f"tensor '{_clip(entry.name)}' data [{entry.begin}, {entry.end}) lies outside the "
                             f"{data_size} bytes of tensor data", evidence=entry.name)
            if entry.begin < covered and previous is not None:
                problems.add(f"tensors '{_clip(previous.name)}' and '{_clip(entry.name)}' overlap: data at "
                             f"{entry.begin} starts before {covered}", evidence=f"{previous.name} <-> {entry.name}")
            elif entry.begin > covered:
                problems.add(f"{entry.begin - covered} bytes before tensor '{_clip(entry.name)}' belong to no tensor "
                             "(the reference loader requires contiguous data)", evidence=entry.name)
            if entry.end >= covered:
                covered, previous = entry.end, entry
        if covered < data_size:
            problems.add(f"{data_size - covered} bytes after the last tensor belong to no tensor (the reference "
                         "loader refuses such files; data can hide there)", evidence=f"{data_size - covered} "
                         "trailing bytes")
