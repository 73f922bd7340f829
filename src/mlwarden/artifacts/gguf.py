"""GGUF scanner: validates the header, metadata and tensor table of llama.cpp model files and analyses their
chat templates for Jinja sandbox escapes.

Layout (ggml's docs/gguf.md; ggml/src/gguf.cpp): magic "GGUF", version (1, 2 or 3), tensor_count,
metadata_kv_count, the metadata key/value pairs, the tensor infos (name, n_dims, dims, ggml type, offset),
padding to ``general.alignment`` (default 32), then the tensor data. Version 1 stored counts, lengths and
dimensions as u32, later versions as u64. Files written on big-endian machines keep the magic bytes and store
everything else big-endian; they are told apart by the version field (as gguf-py's reader does).

The scanner streams the metadata through small bounded reads: every count and length is checked against the
bytes left in the file and ``ctx.limits`` BEFORE anything is read or allocated, numeric arrays are skipped with
a seek, and string arrays (100k+ tokenizer tokens) are walked in buffered chunks. It never reads tensor data and
never loads, renders or executes anything from the file.
"""

from __future__ import annotations

import struct
from array import array
from dataclasses import dataclass, field
from typing import BinaryIO

from mlwarden.core.findings import Severity
from mlwarden.scanning.context import ScanContext, UnscannableError

_MAGIC = b"GGUF"
_SUPPORTED_VERSIONS = (1, 2, 3)

# Metadata value types (docs/gguf.md "gguf_metadata_value_type", ggml/include/gguf.h ``enum gguf_type``).
_STRING, _ARRAY, _BOOL = 8, 9, 7
# Fixed-size value types -> bytes per value.
_SCALAR_SIZES: dict[int, int] = {
    0: 1,  # UINT8
    1: 1,  # INT8
    2: 2,  # UINT16
    3: 2,  # INT16
    4: 4,  # UINT32
    5: 4,  # INT32
    6: 4,  # FLOAT32
    7: 1,  # BOOL
    10: 8,  # UINT64
    11: 8,  # INT64
    12: 8,  # FLOAT64
}
_UINT32 = 4
_TYPE_NAMES: dict[int, str] = {
    0: "UINT8", 1: "INT8", 2: "UINT16", 3: "INT16", 4: "UINT32", 5: "INT32", 6: "FLOAT32", 7: "BOOL",
    8: "STRING", 9: "ARRAY", 10: "UINT64", 11: "INT64", 12: "FLOAT64",
}

# ggml tensor types: id -> (name, elements per block, bytes per block). From ggml/src/ggml.c ``type_traits``
# (blck_size, type_size) and gguf-py/gguf/constants.py ``GGML_QUANT_SIZES``. Ids 4, 5, 31-33 and 36-38 were
# removed from GGUF (llama.cpp rejects them like any unknown id); 40 (NVFP4) and 41 (Q1_0) are the newest.
_GGML_TYPES: dict[int, tuple[str, int, int]] = {
    0: ("F32", 1, 4), 1: ("F16", 1, 2), 2: ("Q4_0", 32, 18), 3: ("Q4_1", 32, 20),
    6: ("Q5_0", 32, 22), 7: ("Q5_1", 32, 24), 8: ("Q8_0", 32, 34), 9: ("Q8_1", 32, 36),
    10: ("Q2_K", 256, 84), 11: ("Q3_K", 256, 110), 12: ("Q4_K", 256, 144), 13: ("Q5_K", 256, 176),
    14: ("Q6_K", 256, 210), 15: ("Q8_K", 256, 292), 16: ("IQ2_XXS", 256, 66), 17: ("IQ2_XS", 256, 74),
    18: ("IQ3_XXS", 256, 98), 19: ("IQ1_S", 256, 50), 20: ("IQ4_NL", 32, 18), 21: ("IQ3_S", 256, 110),
    22: ("IQ2_S", 256, 82), 23: ("IQ4_XS", 256, 136), 24: ("I8", 1, 1), 25: ("I16", 1, 2),
    26: ("I32", 1, 4), 27: ("I64", 1, 8), 28: ("F64", 1, 8), 29: ("IQ1_M", 256, 56), 30: ("BF16", 1, 2),
    34: ("TQ1_0", 256, 54), 35: ("TQ2_0", 256, 66), 39: ("MXFP4", 32, 17), 40: ("NVFP4", 64, 36),
    41: ("Q1_0", 128, 18),
}

_ALIGNMENT_KEY = "general.alignment"
_DEFAULT_ALIGNMENT = 32
_TEMPLATE_KEY = "tokenizer.chat_template"  # and named templates "tokenizer.chat_template.<name>"
# docs/gguf.md: keys are at most 2^16-1 bytes; ggml's GGML_MAX_DIMS is 4 today, the spec says it may grow,
# so up to 8 dimensions are parsed and more is treated as a hostile length field.
_MAX_KEY_BYTES = 65_535
_LLAMA_MAX_DIMS = 4
_MAX_DIMS = 8
_INT64_MAX = 2**63 - 1
# Arrays of arrays are legal but no real file nests deeply; deeper nesting is treated as hostile.
_MAX_ARRAY_NESTING = 4
# Smallest encodings, used to reject counts that cannot fit in the bytes left before allocating anything.
_MIN_KV_BYTES_V1, _MIN_KV_BYTES = 4 + 4 + 1, 8 + 4 + 1  # key length + value type + 1-byte value
_MIN_TENSOR_BYTES_V1, _MIN_TENSOR_BYTES = 4 + 4 + 4 + 8, 8 + 4 + 4 + 8  # name length, n_dims, type, offset
# Beyond this many tensors, the duplicate-name check (a set of names) is skipped to keep memory flat.
_MAX_NAMES_CHECKED = 1_000_000
# Findings of one kind per file before the rest are summarised in one finding.
_MAX_FINDINGS_PER_KIND = 10
_READ_CHUNK = 1 << 20
_EVIDENCE_CHARS = 200


class _Invalid(Exception):
    """A structural violation after which the rest of the file cannot be parsed (reported as MW-GGUF-002)."""

    def __init__(self, message: str, offset: int, evidence: str | None = None) -> None:
        super().__init__(message)
        self.offset = offset
        self.evidence = evidence


class _LimitReached(Exception):
    """A configured limit stops the parse (reported as MW-FMT-003)."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


class _Reader:
    """Reads a stream through a bounded buffer; every read is checked against the file size first."""

    def __init__(self, stream: BinaryIO, size: int, endian: str) -> None:
        self._stream = stream
        self.size = size
        self._buf = b""
        self._base = 0
        self._pos = 0
        self.u8 = struct.Struct(endian + "B")
        self.u32 = struct.Struct(endian + "I")
        self.u64 = struct.Struct(endian + "Q")

    def tell(self) -> int:
        return self._base + self._pos

    def remaining(self) -> int:
        return self.size - self.tell()

    def _truncated(self, need: int, what: str) -> _Invalid:
        start = self.tell()
        return _Invalid(f"file is truncated: {what} at offset {start} needs {need} bytes but only "
                        f"{max(0, self.size - start)} remain", start)

    def _fill(self, need: int, what: str) -> None:
        start = self.tell()
        if need > self.size - start:
            raise self._truncated(need, what)
        self._stream.seek(start)
        data = self._stream.read(max(need, _READ_CHUNK))
        if len(data) < need:
            raise self._truncated(need, what)
        self._buf, self._base, self._pos = data, start, 0

    def unpack(self, layout: struct.Struct, what: str) -> int:
        if len(self._buf) - self._pos < layout.size:
            self._fill(layout.size, what)
        (value,) = layout.unpack_from(self._buf, self._pos)
        self._pos += layout.size
        return int(value)

    def read(self, count: int, what: str) -> bytes:
        """``count`` must already be bounded by the caller (a limit), never taken raw from the file."""
        if len(self._buf) - self._pos >= count:
            data = self._buf[self._pos: self._pos + count]
            self._pos += count
            return data
        if count <= _READ_CHUNK:
            self._fill(count, what)
            return self.read(count, what)
        start = self.tell()
        if count > self.size - start:
            raise self._truncated(count, what)
        self._stream.seek(start)
        data = self._stream.read(count)
        if len(data) < count:
            raise self._truncated(count, what)
        self._buf, self._base, self._pos = b"", start + count, 0
        return data

    def skip(self, count: int, what: str) -> None:
        if count > self.remaining():
            raise self._truncated(count, what)
        if len(self._buf) - self._pos >= count:
            self._pos += count
        else:
            self._base, self._buf, self._pos = self.tell() + count, b"", 0

    def read_at(self, offset: int, count: int) -> bytes:
        """Random access for evidence after the parse (tensor names)."""
        self._stream.seek(offset)
        return self._stream.read(count)


@dataclass
class _Tensors:
    """The tensor table, kept compactly: a hostile file may declare millions of tensors."""

    offsets: array[int] = field(default_factory=lambda: array("q"))
    sizes: array[int] = field(default_factory=lambda: array("q"))  # -1: size unknown (type/dims invalid)
    name_positions: array[int] = field(default_factory=lambda: array("q"))


class _Findings:
    """Caps the findings of one kind per file and summarises the rest."""

    def __init__(self, ctx: ScanContext) -> None:
        self.ctx = ctx
        self.counts: dict[str, int] = {}
        self.severities: dict[str, Severity | None] = {}

    def invalid(self, kind: str, message: str, *, offset: int | None, evidence: str | None = None,
                severity: Severity | None = None) -> None:
        count = self.counts.get(kind, 0) + 1
        self.counts[kind] = count
        self.severities[kind] = severity
        if count <= _MAX_FINDINGS_PER_KIND:
            self.ctx.report("MW-GGUF-002", message, evidence=evidence, offset=offset, severity=severity)

    def capped(self, kind: str, severity: Severity | None = None) -> bool:
        """Count one more problem of ``kind`` and say whether it is past the cap (then the caller need not
        build its message, which may cost a read)."""
        if self.counts.get(kind, 0) < _MAX_FINDINGS_PER_KIND:
            return False
        self.counts[kind] += 1
        self.severities[kind] = severity
        return True

    def summarise(self) -> None:
        for kind, count in self.counts.items():
            if count > _MAX_FINDINGS_PER_KIND:
                self.ctx.report("MW-GGUF-002", f"{count - _MAX_FINDINGS_PER_KIND} more problems of this kind: "
                                f"{kind}", evidence=kind, severity=self.severities[kind])


def _clip(text: str) -> str:
    return text if len(text) <= _EVIDENCE_CHARS else text[: _EVIDENCE_CHARS - 1] + "\u2026"


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def _align(value: int, alignment: int) -> int:
    return (value + alignment - 1) // alignment * alignment


class _GgufParse:
    def __init__(self, stream: BinaryIO, ctx: ScanContext) -> None:
        self.stream = stream
        self.ctx = ctx
        self.limits = ctx.limits
        self.findings = _Findings(ctx)
        self.alignment = _DEFAULT_ALIGNMENT
        self.version = 0
        self.reader: _Reader | None = None
        self.elements_walked = 0

    # -- entry

    def run(self) -> None:
        try:
            self._parse()
        except _Invalid as exc:
            self.findings.invalid("structure", str(exc), offset=exc.offset, evidence=exc.evidence)
        except _LimitReached as exc:
            self.ctx.report("MW-FMT-003", str(exc), offset=exc.offset)
        self.findings.summarise()

    def _parse(self) -> None:
        self.stream.seek(0)
        head = self.stream.read(8)
        if head[:4] != _MAGIC:
            raise UnscannableError("not a GGUF file (magic is not 'GGUF')", offset=0)
        if len(head) < 8:
            raise _Invalid("file is truncated inside the GGUF header", 0)
        (little,) = struct.unpack("<I", head[4:8])
        # Big-endian files keep the magic bytes; their version reads as 0xVV000000 little-endian (gguf-py).
        endian = ">" if little & 0xFFFF == 0 and little != 0 else "<"
        (self.version,) = struct.unpack(endian + "I", head[4:8])
        if self.version not in _SUPPORTED_VERSIONS:
            raise _Invalid(f"unsupported GGUF version {self.version}: loaders refuse or misparse it", 4,
                           f"version={self.version}")
        reader = _Reader(self.stream, self.ctx.size, endian)
        self.reader = reader
        reader.skip(8, "header")
        count = reader.u32 if self.version == 1 else reader.u64
        tensor_count = reader.unpack(count, "tensor count")
        kv_count = reader.unpack(count, "metadata count")
        min_kv = _MIN_KV_BYTES_V1 if self.version == 1 else _MIN_KV_BYTES
        min_tensor = _MIN_TENSOR_BYTES_V1 if self.version == 1 else _MIN_TENSOR_BYTES
        needed = kv_count * min_kv + tensor_count * min_tensor
        if needed > reader.remaining():
            raise _Invalid(f"header declares {tensor_count} tensors and {kv_count} metadata entries, which need "
                           f"at least {needed} bytes, but only {reader.remaining()} remain (hostile counts or a "
                           "truncated file)", 8,
                           f"tensor_count={tensor_count} metadata_kv_count={kv_count}")
        if kv_count > self.limits.max_gguf_kv:
            self._read_metadata(self.limits.max_gguf_kv)
            raise _LimitReached(f"{kv_count} metadata entries exceed the limit of {self.limits.max_gguf_kv}; "
                                "the rest of the metadata and the tensor table were not analysed", reader.tell())
        self._read_metadata(kv_count)
        if tensor_count > self.limits.max_gguf_tensors:
            raise _LimitReached(f"{tensor_count} tensors exceed the limit of {self.limits.max_gguf_tensors}; the "
                                "tensor table was not analysed", reader.tell())
        tensors = self._read_tensor_infos(tensor_count)
        self._check_tensor_layout(tensors)

    # -- metadata

    def _length(self, what: str) -> int:
        assert self.reader is not None
        return self.reader.unpack(self.reader.u32 if self.version == 1 else self.reader.u64, what)

    def _read_metadata(self, kv_count: int) -> None:
        assert self.reader is not None
        reader = self.reader
        seen: set[str] = set()
        for _ in range(kv_count):
            key_offset = reader.tell()
            key_length = self._length("metadata key length")
            if key_length > reader.remaining():
                raise _Invalid(f"metadata key at offset {key_offset} claims {key_length} bytes but only "
                               f"{reader.remaining()} remain (hostile length field)", key_offset)
            if key_length > _MAX_KEY_BYTES:
                key = _decode(reader.read(256, "metadata key"))
                reader.skip(key_length - 256, "metadata key")
                self.findings.invalid("oversized key", f"metadata key of {key_length} bytes is longer than the "
                                      f"{_MAX_KEY_BYTES} bytes GGUF allows", offset=key_offset,
                                      evidence=_clip(key), severity=Severity.MEDIUM)
            else:
                key = _decode(reader.read(key_length, "metadata key"))
            value_type = reader.unpack(reader.u32, "metadata value type")
            if key in seen:
                # llama.cpp refuses duplicate keys; other readers keep the first or the last, so two readers can
                # see different metadata (e.g. different chat templates) in one file.
                self.findings.invalid("duplicate key", f"metadata key '{_clip(key)}' appears more than once",
                                      offset=key_offset, evidence=_clip(key), severity=Severity.MEDIUM)
            elif len(seen) < self.limits.max_gguf_kv:
                seen.add(key)
            if key == _ALIGNMENT_KEY:
                self._read_alignment(value_type, key_offset)
            elif (key == _TEMPLATE_KEY or key.startswith(_TEMPLATE_KEY + ".")) and value_type == _STRING:
                self._read_template(key)
            else:
                self._skip_value(value_type, key, 0)

    def _read_alignment(self, value_type: int, key_offset: int) -> None:
        assert self.reader is not None
        if value_type != _UINT32:
            # gguf.cpp reads it with gguf_get_val_u32, which aborts the process on any other type.
            self.findings.invalid("alignment", f"{_ALIGNMENT_KEY} has type {_TYPE_NAMES.get(value_type, value_type)}, "
                                  "not UINT32 (llama.cpp aborts on it)", offset=key_offset, evidence=_ALIGNMENT_KEY)
            self._skip_value(value_type, _ALIGNMENT_KEY, 0)
            return
        alignment = self.reader.unpack(self.reader.u32, _ALIGNMENT_KEY)
        if alignment == 0 or alignment & (alignment - 1):
            self.findings.invalid("alignment", f"{_ALIGNMENT_KEY} is {alignment}, not a power of two",
                                  offset=key_offset, evidence=f"{_ALIGNMENT_KEY}={alignment}")
            return
        self.alignment = alignment

    def _read_template(self, key: str) -> None:
        assert self.reader is not None
        reader = self.reader
        length_offset = reader.tell()
        length = self._length("chat template length")
        if length > reader.remaining():
            raise _Invalid(f"'{key}' claims {length} bytes but only {reader.remaining()} remain (hostile length "
                           "field)", length_offset, key)
        offset = reader.tell()
        if length > self.limits.max_gguf_string:
            reader.skip(length, key)
            self.ctx.report("MW-FMT-003", f"chat template '{key}' of {length} bytes exceeds the limit of "
                            f"{self.limits.max_gguf_string} bytes and was not analysed", offset=offset, evidence=key)
            return
        template = _decode(reader.read(length, key))
        # Jinja is imported only when a template is actually there (it costs ~60 ms of start-up).
        from mlwarden.artifacts.jinja_template import ESCAPE, TOO_LARGE, UNPARSEABLE, find_template_escapes

        for issue in find_template_escapes(template):
            where = f" (template line {issue.line})" if issue.line else ""
            if issue.kind == ESCAPE:
                self.ctx.report("MW-GGUF-001", f"chat template '{key}' {issue.message}{where}",
                                evidence=issue.evidence, offset=offset)
            elif issue.kind == UNPARSEABLE:
                # Jinja cannot render it either, so it is no escape through Jinja; other engines may accept it.
                self.ctx.report("MW-FMT-001", f"chat template '{key}' could not be parsed ({issue.message}); it "
                                "was only scanned for escape patterns", evidence=issue.evidence, offset=offset,
                                severity=Severity.MEDIUM)
            elif issue.kind == TOO_LARGE:
                self.ctx.report("MW-FMT-003", f"chat template '{key}': {issue.message}", evidence=key,
                                offset=offset)

    def _skip_value(self, value_type: int, key: str, depth: int) -> None:
        assert self.reader is not None
        reader = self.reader
        at = reader.tell()
        if value_type == _BOOL:
            value = reader.unpack(reader.u8, key)
            if value > 1:
                # docs/gguf.md: anything but 0/1 "should be treated as either the model being invalid or the
                # reader being buggy".
                self.findings.invalid("bool", f"boolean '{_clip(key)}' holds {value}, not 0 or 1", offset=at,
                                      evidence=_clip(key), severity=Severity.MEDIUM)
        elif value_type in _SCALAR_SIZES:
            reader.skip(_SCALAR_SIZES[value_type], key)
        elif value_type == _STRING:
            length = self._length("string length")
            if length > reader.remaining():
                raise _Invalid(f"string value of '{_clip(key)}' claims {length} bytes but only "
                               f"{reader.remaining()} remain (hostile length field)", at, _clip(key))
            if length > self.limits.max_gguf_string:
                self.ctx.report("MW-FMT-003", f"string value of '{_clip(key)}' has {length} bytes, more than the "
                                f"limit of {self.limits.max_gguf_string}; it was skipped", offset=at,
                                evidence=_clip(key))
            reader.skip(length, key)
        elif value_type == _ARRAY:
            self._skip_array(key, depth)
        else:
            raise _Invalid(f"metadata '{_clip(key)}' has unknown value type {value_type}; its size cannot be "
                           "known, so the rest of the file cannot be parsed", at, _clip(key))

    def _skip_array(self, key: str, depth: int) -> None:
        assert self.reader is not None
        reader = self.reader
        at = reader.tell()
        if depth >= _MAX_ARRAY_NESTING:
            raise _Invalid(f"array '{_clip(key)}' is nested more than {_MAX_ARRAY_NESTING} levels deep", at,
                           _clip(key))
        element_type = reader.unpack(reader.u32, "array element type")
        count = self._length("array length")
        if element_type in _SCALAR_SIZES:
            minimum = _SCALAR_SIZES[element_type]
        elif element_type == _STRING:
            minimum = 4 if self.version == 1 else 8
        elif element_type == _ARRAY:
            minimum = 4 + (4 if self.version == 1 else 8)
        else:
            raise _Invalid(f"array '{_clip(key)}' has unknown element type {element_type}", at, _clip(key))
        if count * minimum > reader.remaining():
            raise _Invalid(f"array '{_clip(key)}' claims {count} elements, which need at least {count * minimum} "
                           f"bytes, but only {reader.remaining()} remain (hostile length field)", at, _clip(key))
        self.elements_walked += count
        if count > self.limits.max_gguf_array or self.elements_walked > self.limits.max_gguf_array:
            raise _LimitReached(f"array '{_clip(key)}' has {count} elements, beyond the limit of "
                                f"{self.limits.max_gguf_array}; the rest of the file was not analysed", at)
        if element_type in _SCALAR_SIZES:
            # Numbers (tokenizer scores, token types) are never parsed: one seek past all of them.
            reader.skip(count * minimum, key)
        elif element_type == _STRING:
            self._skip_strings(count, key)
        else:
            for _ in range(count):
                self._skip_array(key, depth + 1)

    def _skip_strings(self, count: int, key: str) -> None:
        assert self.reader is not None
        reader = self.reader
        layout = reader.u32 if self.version == 1 else reader.u64
        for _ in range(count):
            at = reader.tell()
            length = reader.unpack(layout, "string length")
            if length > reader.size - at - layout.size:
                raise _Invalid(f"a string in array '{_clip(key)}' claims {length} bytes but only "
                               f"{reader.remaining()} remain (hostile length field)", at, _clip(key))
            reader.skip(length, key)

    # -- tensor table

    def _read_tensor_infos(self, tensor_count: int) -> _Tensors:
        assert self.reader is not None
        reader = self.reader
        tensors = _Tensors()
        dim_layout = reader.u32 if self.version == 1 else reader.u64
        names: set[bytes] | None = set() if tensor_count <= _MAX_NAMES_CHECKED else None
        for _ in range(tensor_count):
            name_position = reader.tell()
            name_length = self._length("tensor name length")
            if name_length > reader.remaining():
                raise _Invalid(f"tensor name at offset {name_position} claims {name_length} bytes but only "
                               f"{reader.remaining()} remain (hostile length field)", name_position)
            shown = reader.read(min(name_length, _EVIDENCE_CHARS), "tensor name")
            reader.skip(name_length - len(shown), "tensor name")
            name = _decode(shown)
            if names is not None:
                if shown in names and name_length <= _EVIDENCE_CHARS:
                    self.findings.invalid("duplicate tensor", f"tensor '{name}' is declared more than once "
                                          "(readers disagree on which one they load)", offset=name_position,
                                          evidence=name, severity=Severity.MEDIUM)
                names.add(shown)
            dims_at = reader.tell()
            n_dims = reader.unpack(reader.u32, "tensor dimension count")
            if n_dims > _MAX_DIMS:
                raise _Invalid(f"tensor '{name}' claims {n_dims} dimensions (at most {_MAX_DIMS} are plausible; "
                               "hostile length field)", dims_at, name)
            if n_dims > _LLAMA_MAX_DIMS:
                self.findings.invalid("dimensions", f"tensor '{name}' has {n_dims} dimensions; llama.cpp supports "
                                      f"at most {_LLAMA_MAX_DIMS}", offset=dims_at, evidence=name,
                                      severity=Severity.MEDIUM)
            dims = [reader.unpack(dim_layout, "tensor dimension") for _ in range(n_dims)]
            ggml_type = reader.unpack(reader.u32, "tensor type")
            offset = reader.unpack(reader.u64, "tensor offset")
            size = self._tensor_bytes(name, dims, ggml_type, dims_at)
            if size > _INT64_MAX:  # dimensions whose product no file can hold (hostile length fields)
                self.findings.invalid("dimensions", f"tensor '{name}' declares {size} bytes of data, beyond any "
                                      "file", offset=dims_at, evidence=name)
                size = -1
            if offset > _INT64_MAX:
                self.findings.invalid("offset", f"tensor '{name}' has data offset {offset}, beyond any file",
                                      offset=dims_at, evidence=name)
                size = -1
                offset = _INT64_MAX
            tensors.offsets.append(offset)
            tensors.sizes.append(size)
            tensors.name_positions.append(name_position)
        return tensors

    def _tensor_bytes(self, name: str, dims: list[int], ggml_type: int, at: int) -> int:
        """Bytes of tensor data as ggml_nbytes computes them; -1 when they cannot be known."""
        traits = _GGML_TYPES.get(ggml_type)
        if traits is None:
            self.findings.invalid("tensor type", f"tensor '{name}' has unknown ggml type {ggml_type}; its size "
                                  "cannot be checked (llama.cpp refuses it)", offset=at, evidence=name,
                                  severity=Severity.MEDIUM)
            return -1
        type_name, block, block_bytes = traits
        elements = 1
        for dim in dims:
            if dim > _INT64_MAX:
                self.findings.invalid("dimensions", f"tensor '{name}' has dimension {dim}, beyond int64",
                                      offset=at, evidence=name)
                return -1
            elements *= dim
        if elements > _INT64_MAX:
            self.findings.invalid("dimensions", f"tensor '{name}' has {elements} elements, beyond int64 "
                                  "(size arithmetic in loaders overflows)", offset=at, evidence=name)
            return -1
        if dims and dims[0] % block:
            self.findings.invalid("dimensions", f"tensor '{name}' has rows of {dims[0]} elements, not a multiple "
                                  f"of the {type_name} block size {block} (llama.cpp refuses it)", offset=at,
                                  evidence=name, severity=Severity.MEDIUM)
            return -(-elements // block) * block_bytes
        return elements // block * block_bytes

    def _tensor_name(self, tensors: _Tensors, index: int) -> str:
        assert self.reader is not None
        position = tensors.name_positions[index]
        width = 4 if self.version == 1 else 8
        raw = self.reader.read_at(position, width + _EVIDENCE_CHARS)
        if len(raw) < width:
            return f"#{index}"
        layout = self.reader.u32 if width == 4 else self.reader.u64
        (length,) = layout.unpack_from(raw, 0)
        return _decode(raw[width: width + min(length, _EVIDENCE_CHARS)])

    def _check_tensor_layout(self, tensors: _Tensors) -> None:
        assert self.reader is not None
        count = len(tensors.offsets)
        if count == 0:
            return
        alignment = self.alignment
        data_start = _align(self.reader.tell(), alignment)
        data_size = self.ctx.size - data_start
        if data_size < 0:
            self.findings.invalid("data section", f"tensor data would start at offset {data_start}, beyond the "
                                  f"end of the file ({self.ctx.size} bytes)", offset=self.reader.tell(),
                                  evidence=f"data_start={data_start}")
            return
        ordered = True
        previous = -1
        for index in range(count):
            offset, size = tensors.offsets[index], tensors.sizes[index]
            ordered = ordered and offset >= previous
            previous = offset
            if offset % alignment and not self.findings.capped("alignment", Severity.MEDIUM):
                self.findings.invalid("alignment", f"tensor '{self._tensor_name(tensors, index)}' data offset "
                                      f"{offset} is not a multiple of the alignment {alignment}",
                                      offset=data_start + offset, evidence=self._tensor_name(tensors, index),
                                      severity=Severity.MEDIUM)
            end = offset + max(size, 0)
            if end > data_size and not self.findings.capped("out of bounds"):
                name = self._tensor_name(tensors, index)
                self.findings.invalid("out of bounds", f"tensor '{name}' data [{offset}, {end}) lies outside the "
                                      f"data section of {data_size} bytes (offset beyond the end of the file)",
                                      offset=min(data_start + offset, self.ctx.size), evidence=name)
        if ordered:
            order: range | list[int] = range(count)
        elif count <= _MAX_NAMES_CHECKED:
            self.findings.invalid("order", "tensor data is not stored in the order of the tensor table (llama.cpp "
                                  "refuses such files)", offset=data_start, severity=Severity.LOW)
            order = sorted(range(count), key=tensors.offsets.__getitem__)
        else:
            self.ctx.report("MW-FMT-003", f"{count} tensors stored out of order: too many to check for "
                            "overlaps", offset=data_start)
            return
        self._check_overlaps(tensors, order, data_start, data_size)

    def _check_overlaps(self, tensors: _Tensors, order: range | list[int], data_start: int,
                        data_size: int) -> None:
        alignment = self.alignment
        covered_end = 0
        covering = -1
        for index in order:
            offset, size = tensors.offsets[index], tensors.sizes[index]
            if size < 0 or offset > data_size:
                continue
            if covering >= 0 and offset < covered_end and size > 0:
                if not self.findings.capped("overlap"):
                    first, second = self._tensor_name(tensors, covering), self._tensor_name(tensors, index)
                    self.findings.invalid("overlap", f"tensors '{first}' and '{second}' overlap: data at {offset} "
                                          f"starts before the previous tensor ends at {covered_end} (one file, "
                                          "two readings of the same bytes)", offset=data_start + offset,
                                          evidence=_clip(f"{first} <-> {second}"))
            elif offset > _align(covered_end, alignment) and not self.findings.capped("gap", Severity.MEDIUM):
                name = self._tensor_name(tensors, index)
                self.findings.invalid("gap", f"{offset - _align(covered_end, alignment)} bytes before tensor "
                                      f"'{name}' belong to no tensor (llama.cpp requires packed tensors; hidden "
                                      "data can sit there)", offset=data_start + covered_end, evidence=name,
                                      severity=Severity.MEDIUM)
            if offset + size > covered_end or covering < 0:
                covered_end, covering = max(covered_end, offset + size), index
        trailing = data_size - _align(covered_end, alignment)
        if trailing > 0:
            self.findings.invalid("trailing data", f"{trailing} bytes after the last tensor belong to no tensor",
                                  offset=data_start + _align(covered_end, alignment),
                                  evidence=f"{trailing} trailing bytes", severity=Severity.LOW)


class GgufScanner:
    """Scanner for GGUF files (format id "gguf")."""

    name = "gguf"

    def scan(self, stream: BinaryIO, ctx: ScanContext) -> None:
        _GgufParse(stream, ctx).run()
