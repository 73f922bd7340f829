"""A zip reader built for hostile archives, and the bounded stream decoders the archive scanners share.

Why not ``zipfile``: published scanner bypasses used archives that ``zipfile`` rejects while PyTorch's miniz-based
reader loads them (a bad CRC, a set encryption flag bit). So this reader parses the end record (ZIP64 too, with
prepended data and comments), the central directory and the local headers itself, reads member data the way miniz
does (sizes and method from the central directory, data offset from the local header), ignores CRCs and the
encryption bit while recording them as irregularities, and falls back to walking local headers when there is no
usable central directory.

Everything here is parsing: no findings are reported (irregularities are returned for the scanner to report),
nothing is extracted to disk, no length field is trusted before it is checked against the file size, and every
decompression is incremental with an output bound.
"""

from __future__ import annotations

import bz2
import importlib
import io
import lzma
import stat
import struct
import tempfile
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO, cast

from mlwarden.core.limits import Limits, MiB
from mlwarden.scanning.context import ScanBudget, UnscannableError

# --- record layouts (PKWARE APPNOTE.TXT, sections 4.3.7, 4.3.12, 4.3.14-16) ------------------------------------
_LOCAL_SIG = b"PK\x03\x04"
_CENTRAL_SIG = b"PK\x01\x02"
_END_SIG = b"PK\x05\x06"
_ZIP64_END_SIG = b"PK\x06\x06"
_ZIP64_LOCATOR_SIG = b"PK\x06\x07"
_DESCRIPTOR_SIG = b"PK\x07\x08"
_SPANNING_MARKER = b"PK\x07\x08"  # a lone marker at offset 0 of split archives (APPNOTE 8.5.3)

_LOCAL = struct.Struct("<4sHHHHHIIIHH")  # 30 bytes
_CENTRAL = struct.Struct("<4sHHHHHHIIIHHHHHII")  # 46 bytes
_END = struct.Struct("<4sHHHHIIH")  # 22 bytes
_ZIP64_LOCATOR = struct.Struct("<4sIQI")  # 20 bytes
_ZIP64_END = struct.Struct("<4sQHHIIQQQQ")  # 56 bytes
_END_SEARCH = _END.size + 0xFFFF  # the end record sits within the last 64 KiB + 22 bytes (comment <= 65535)

FLAG_ENCRYPTED = 0x0001
FLAG_DATA_DESCRIPTOR = 0x0008
FLAG_PATCHED_DATA = 0x0020
FLAG_STRONG_ENCRYPTION = 0x0040
FLAG_UTF8 = 0x0800

# Compression methods this reader can expand (APPNOTE 4.4.5). miniz, and so torch.load, only knows 0 and 8;
# zipfile adds 12 and 14. 93 (zstd) and 95 (xz) are written by some newer tools.
METHOD_STORED, METHOD_DEFLATE, METHOD_BZIP2, METHOD_LZMA, METHOD_ZSTD, METHOD_XZ = 0, 8, 12, 14, 93, 95
_METHOD_NAMES = {0: "stored", 8: "deflate", 9: "deflate64", 12: "bzip2", 14: "lzma", 93: "zstd", 95: "xz"}

# The upper 16 bits of the external attributes hold a Unix st_mode (APPNOTE 4.4.2, 4.4.15). They are read
# whatever host system the entry names, as zipfile does: an extractor that honours them is what matters.

# Data-descriptor search and CRC checks touch member bytes the loader reads anyway; these bounds keep that
# extra work small on huge members. Compressed input is read in chunks of this size.
_READ_CHUNK = 256 * 1024
# Members up to this size have their CRC verified (miniz as built for PyTorch never checks it; we only report).
CRC_CHECK_MAX_BYTES = 64 * MiB
# Decompressed member data is kept in memory up to this size, then spooled to a temporary file.
SPOOL_MEMORY_BYTES = 64 * MiB


@dataclass(frozen=True, slots=True)
class Irregularity:
    """Something odd about the archive structure, for the scanner to report under ``rule_id``."""

    rule_id: str
    message: str
    evidence: str | None = None
    offset: int | None = None


@dataclass(slots=True)
class ZipMember:
    name: str
    raw_name: bytes
    method: int
    flags: int
    crc: int
    compressed_size: int
    size: int
    header_offset: int  # absolute offset of the local header in the scanned stream
    external_attr: int = 0
    creator_system: int = 0  # high byte of 'version made by' (3: Unix)
    data_offset: int | None = None  # absolute offset of the member data, from the local header
    local_flags: int = 0
    found_by: str = "central directory"  # or "local header walk"

    @property
    def is_dir(self) -> bool:
        return self.name.endswith("/") or self.unix_type == stat.S_IFDIR

    @property
    def unix_type(self) -> int:
        """The S_IFMT bits of the Unix mode in the external attributes, 0 when none are recorded."""
        return stat.S_IFMT(self.external_attr >> 16)

    @property
    def method_name(self) -> str:
        return _METHOD_NAMES.get(self.method, f"method {self.method}")

    @property
    def data_end(self) -> int:
        return (self.data_offset or 0) + self.compressed_size


@dataclass(slots=True)
class ZipDirectory:
    members: list[ZipMember] = field(default_factory=list)
    irregularities: list[Irregularity] = field(default_factory=list)
    # Bytes before the archive start (negative when bytes are missing): central directory offsets are shifted
    # by this much.
    prepended: int = 0
    central_directory: tuple[int, int] | None = None  # [start, end) when one was found

    def note(self, rule_id: str, message: str, *, evidence: str | None = None, offset: int | None = None) -> None:
        self.irregularities.append(Irregularity(rule_id, message, evidence, offset))


# --- public entry point ------------------------------------------------------------------------------------------


def read_directory(stream: BinaryIO, size: int, limits: Limits, *, budget: ScanBudget | None = None) -> ZipDirectory:
    """Find every member of the zip in ``stream`` and check the structure. Never reads member data except to
    measure members whose size only a data descriptor records (local header walk). Raises UnscannableError when
    neither a central directory nor a local header can be found."""
    directory = ZipDirectory()
    located = _locate_central_directory(stream, size, limits, directory)
    if located is not None:
        _read_central_directory(stream, size, limits, directory, *located)
    if not directory.members:
        declared = located[2] if located is not None else 0
        if located is not None and declared == 0 and \
                not _starts_with_local_header(stream, max(0, directory.prepended)):
            return directory  # a genuinely empty archive
        walked = _walk_local_headers(stream, max(0, directory.prepended), size, limits, directory, budget)
        if not walked:
            if located is not None:
                return directory
            raise UnscannableError("no zip central directory and no local file header found", offset=0)
        reason = "there is no usable central directory" if located is None else \
            "the central directory lists no members"
        directory.note("MW-ARC-003", f"{reason}; {len(walked)} member(s) found by walking local headers "
                       "(streaming readers load them)", evidence=f"{len(walked)} local headers")
        directory.members = walked
        return directory
    _check_local_headers(stream, size, directory)
    _check_layout(stream, size, limits, directory, budget)
    return directory


# --- end record and central directory ----------------------------------------------------------------------------


def _locate_central_directory(stream: BinaryIO, size: int, limits: Limits,
                              directory: ZipDirectory) -> tuple[int, int, int] | None:
    """Return (start, size, declared entry count) of the central directory, or None when none is plausible."""
    if size < _END.size:
        return None
    window = min(size, _END_SEARCH + _ZIP64_LOCATOR.size + _ZIP64_END.size)
    stream.seek(size - window)
    tail = stream.read(window)
    base = size - len(tail)
    pos = tail.rfind(_END_SIG)
    plausible: list[tuple[int, int, int, int]] = []
    positions: list[int] = []
    while pos >= 0 and len(plausible) < 2:
        found = _parse_end_record(stream, size, tail, base, pos)
        if found is not None:
            plausible.append(found)
            positions.append(base + pos)
        pos = tail.rfind(_END_SIG, 0, pos)
    if not plausible:
        return None
    start, cd_size, count, prepended = plausible[0]  # the last end record wins, as in miniz and zipfile
    # An earlier record inside the member data is just a stored zip member (a nested archive), not ambiguity.
    if len(plausible) > 1 and plausible[1][:2] != (start, cd_size) and positions[1] >= start:
        directory.note("MW-ARC-003", "the archive has more than one end-of-central-directory record; readers "
                       "that pick a different one see different members", evidence="multiple end records")
    directory.prepended = prepended
    if prepended and _starts_with_local_header(stream, 0):
        directory.note("MW-ARC-003", f"central directory offsets are shifted by {prepended} bytes",
                       evidence=f"offset shift {prepended}")
    return start, cd_size, count


def _parse_end_record(stream: BinaryIO, size: int, tail: bytes, base: int,
                      pos: int) -> tuple[int, int, int, int] | None:
    if pos + _END.size > len(tail):
        return None
    _, _disk, _cd_disk, _n_disk, count, cd_size, cd_offset, _comment_len = _END.unpack_from(tail, pos)
    end_at = base + pos
    cd_end = end_at
    if pos >= _ZIP64_LOCATOR.size and tail[pos - _ZIP64_LOCATOR.size:pos].startswith(_ZIP64_LOCATOR_SIG):
        zip64 = _parse_zip64_end(stream, size, tail, base, pos - _ZIP64_LOCATOR.size)
        if zip64 is not None:
            count, cd_size, cd_offset, cd_end = zip64
    if cd_size > cd_end:
        return None
    # First trust the recorded offset; if it does not point at a central directory, assume data was prepended
    # and the directory ends where the end record begins (what zipfile and miniz do for self-extracting files).
    for start in dict.fromkeys((cd_offset, cd_end - cd_size)):
        if start < 0 or start + cd_size > cd_end:
            continue
        if cd_size == 0 and count == 0:
            return start, 0, 0, start - cd_offset
        if cd_size >= _CENTRAL.size and _read_at(stream, start, 4) == _CENTRAL_SIG:
            return start, cd_size, count, start - cd_offset
    return None


def _parse_zip64_end(stream: BinaryIO, size: int, tail: bytes, base: int,
                     locator_pos: int) -> tuple[int, int, int, int] | None:
    _, _disk, record_offset, _disks = _ZIP64_LOCATOR.unpack_from(tail, locator_pos)
    locator_at = base + locator_pos
    # The record normally sits right before the locator; the recorded offset is wrong when data was prepended.
    for at in dict.fromkeys((record_offset, locator_at - _ZIP64_END.size)):
        if at < 0 or at + _ZIP64_END.size > locator_at:
            continue
        raw = _read_at(stream, at, _ZIP64_END.size)
        if len(raw) == _ZIP64_END.size and raw.startswith(_ZIP64_END_SIG):
            fields = _ZIP64_END.unpack(raw)
            count, cd_size, cd_offset = fields[7], fields[8], fields[9]
            return count, cd_size, cd_offset, at
    return None


def _read_central_directory(stream: BinaryIO, size: int, limits: Limits, directory: ZipDirectory,
                            start: int, cd_size: int, declared: int) -> None:
    directory.central_directory = (start, start + cd_size)
    readable = min(cd_size, limits.max_header_bytes)
    if readable < cd_size:
        directory.note("MW-FMT-003", f"central directory of {cd_size} bytes exceeds the {readable}-byte limit; "
                       "only its first part was read", evidence=f"{cd_size} bytes")
    data = _read_at(stream, start, readable)
    pos = 0
    members = directory.members
    while pos < len(data):
        if len(members) >= limits.max_archive_members:
            directory.note("MW-ARC-004", f"more than {limits.max_archive_members} members; the rest were not "
                           "scanned", evidence=f"> {limits.max_archive_members} members")
            return
        if pos + _CENTRAL.size > len(data) or data[pos:pos + 4] != _CENTRAL_SIG:
            directory.note("MW-ARC-003", f"central directory is corrupt after {len(members)} entries",
                           offset=start + pos, evidence="corrupt central directory")
            break
        (_, made_by, _needed, flags, method, _time, _date, crc, csize, usize, name_len, extra_len, comment_len,
         disk, _internal, external, local_offset) = _CENTRAL.unpack_from(data, pos)
        name_end = pos + _CENTRAL.size + name_len
        extra_end = name_end + extra_len
        if extra_end + comment_len > len(data):
            directory.note("MW-ARC-003", "central directory entry runs past the directory", offset=start + pos,
                           evidence="truncated central directory entry")
            break
        raw_name = data[pos + _CENTRAL.size:name_end]
        usize, csize, local_offset = _apply_zip64_extra(data[name_end:extra_end], usize, csize, local_offset,
                                                         disk)
        members.append(ZipMember(
            name=decode_name(raw_name, flags), raw_name=raw_name, method=method, flags=flags, crc=crc,
            compressed_size=csize, size=usize, header_offset=local_offset + directory.prepended,
            external_attr=external, creator_system=made_by >> 8))
        pos = extra_end + comment_len
    if declared != len(members) and len(members) < limits.max_archive_members and readable == cd_size:
        directory.note("MW-ARC-003", f"end record declares {declared} members but the central directory holds "
                       f"{len(members)}", evidence=f"{declared} != {len(members)}")


def _apply_zip64_extra(extra: bytes, usize: int, csize: int, offset: int, disk: int) -> tuple[int, int, int]:
    """Replace saturated 32-bit fields with their ZIP64 extended-information values (APPNOTE 4.5.3)."""
    pos = 0
    while pos + 4 <= len(extra):
        header_id, length = struct.unpack_from("<HH", extra, pos)
        body = extra[pos + 4:pos + 4 + length]
        pos += 4 + length
        if header_id != 0x0001:
            continue
        values = [struct.unpack_from("<Q", body, i)[0] for i in range(0, len(body) - 7, 8)]
        if usize == 0xFFFFFFFF and values:
            usize = values.pop(0)
        if csize == 0xFFFFFFFF and values:
            csize = values.pop(0)
        if offset == 0xFFFFFFFF and values:
            offset = values.pop(0)
        del disk  # the disk number comes last and is irrelevant for single-file archives
        break
    return usize, csize, offset


def decode_name(raw: bytes, flags: int) -> str:
    """Member names are UTF-8 when flag bit 11 is set, else code page 437 (APPNOTE appendix D)."""
    if flags & FLAG_UTF8:
        return raw.decode("utf-8", errors="replace")
    return raw.decode("cp437")


# --- local headers -----------------------------------------------------------------------------------------------


def _check_local_headers(stream: BinaryIO, size: int, directory: ZipDirectory) -> None:
    """Fill in each member's data offset from its local header and note mismatches with the central directory."""
    missing: list[str] = []
    mismatched: list[str] = []
    for member in directory.members:
        raw = _read_at(stream, member.header_offset, _LOCAL.size)
        if member.header_offset < 0 or len(raw) < _LOCAL.size or not raw.startswith(_LOCAL_SIG):
            missing.append(member.name)
            continue
        fields = _LOCAL.unpack(raw)
        flags, name_len, extra_len = fields[2], fields[9], fields[10]
        member.local_flags = flags
        member.data_offset = member.header_offset + _LOCAL.size + name_len + extra_len
        local_name = _read_at(stream, member.header_offset + _LOCAL.size, name_len)
        if local_name != member.raw_name:
            mismatched.append(f"{member.name} != {decode_name(local_name, flags)}")
    if missing:
        directory.note("MW-ARC-003", f"{len(missing)} member(s) have no valid local header and cannot be read: "
                       f"{_sample(missing)}", evidence="missing local header")
    if mismatched:
        directory.note("MW-ARC-003", f"local header names differ from the central directory: {_sample(mismatched)}",
                       evidence="name mismatch")


def _starts_with_local_header(stream: BinaryIO, at: int) -> bool:
    return _read_at(stream, at, 4) == _LOCAL_SIG


def _walk_local_headers(stream: BinaryIO, start: int, stop: int, limits: Limits, directory: ZipDirectory,
                        budget: ScanBudget | None) -> list[ZipMember]:
    """Read consecutive local headers from ``start`` the way a streaming reader would."""
    pos = start
    if _read_at(stream, pos, 4) == _SPANNING_MARKER and _read_at(stream, pos + 4, 4) == _LOCAL_SIG:
        pos += 4
    members: list[ZipMember] = []
    while pos + _LOCAL.size <= stop and len(members) < limits.max_archive_members:
        raw = _read_at(stream, pos, _LOCAL.size)
        if len(raw) < _LOCAL.size or not raw.startswith(_LOCAL_SIG):
            break
        _, _needed, flags, method, _time, _date, crc, csize, usize, name_len, extra_len = _LOCAL.unpack(raw)
        raw_name = _read_at(stream, pos + _LOCAL.size, name_len)
        extra = _read_at(stream, pos + _LOCAL.size + name_len, extra_len)
        usize, csize, _ = _apply_zip64_extra(extra, usize, csize, 0, 0)
        data_offset = pos + _LOCAL.size + name_len + extra_len
        member = ZipMember(name=decode_name(raw_name, flags), raw_name=raw_name, method=method, flags=flags,
                           crc=crc, compressed_size=csize, size=usize, header_offset=pos,
                           data_offset=data_offset, local_flags=flags, found_by="local header walk")
        descriptor = flags & FLAG_DATA_DESCRIPTOR
        if descriptor and csize == 0:
            measured = _measure_member_without_size(stream, member, stop, limits, budget)
            if measured is None:
                directory.note("MW-ARC-003", f"cannot find the end of member '{member.name}' (sizes only in a "
                               "data descriptor)", evidence=member.name, offset=pos)
                break
            member.compressed_size, member.size = measured
        if member.data_end > stop:
            member.compressed_size = max(0, stop - data_offset)
        members.append(member)
        pos = member.data_end
        if descriptor:
            pos += _descriptor_length(stream, pos)
        if pos <= member.header_offset:
            break
    if len(members) >= limits.max_archive_members:
        directory.note("MW-ARC-004", f"more than {limits.max_archive_members} members; the rest were not scanned",
                       evidence=f"> {limits.max_archive_members} members")
    return members


def _measure_member_without_size(stream: BinaryIO, member: ZipMember, stop: int, limits: Limits,
                                 budget: ScanBudget | None) -> tuple[int, int] | None:
    """(compressed, uncompressed) size of a member whose local header defers its sizes to a data descriptor."""
    data_offset = member.header_offset if member.data_offset is None else member.data_offset
    if member.method in (METHOD_DEFLATE, METHOD_BZIP2, METHOD_XZ):
        # Self-terminating streams: decompress (counted against the budget) until the stream ends.
        decoder = decoder_for_zip_method(member.method)
        if decoder is None:
            return None
        source = WindowReader(stream, data_offset, stop - data_offset)
        guard = ExpansionGuard(budget or ScanBudget(), limits)
        produced = 0
        try:
            while not decoder.eof:
                chunk = decoder.pull(1 * MiB)
                if chunk:
                    produced += len(chunk)
                    if guard.charge(len(chunk), produced, source.tell()) is not None:
                        return None
                    continue
                data = source.read(_READ_CHUNK)
                if not data:
                    return None
                decoder.push(data)
        except DecodeError:
            return None
        return source.tell() - decoder.unused_length, produced
    # Stored data has no end marker: it ends at the next record signature (what streaming readers assume).
    pos = data_offset
    carry = b""
    while pos < stop:
        chunk = _read_at(stream, pos, min(_READ_CHUNK, stop - pos))
        if not chunk:
            break
        window = carry + chunk
        hits = [i for i in (window.find(sig) for sig in (_DESCRIPTOR_SIG, _LOCAL_SIG, _CENTRAL_SIG, _END_SIG))
                if i >= 0]
        if hits:
            length = pos - len(carry) + min(hits) - data_offset
            return length, length
        carry = window[-3:]
        pos += len(chunk)
    return None


def _descriptor_length(stream: BinaryIO, at: int) -> int:
    """Bytes taken by the data descriptor at ``at``: optional signature, CRC, then 32- or 64-bit sizes."""
    head = _read_at(stream, at, 4)
    signature = 4 if head == _DESCRIPTOR_SIG else 0
    # A ZIP64 descriptor has 8-byte sizes; tell by what follows a 32-bit one.
    if _read_at(stream, at + signature + 12, 4) in (_LOCAL_SIG, _CENTRAL_SIG, _END_SIG, b""):
        return signature + 12
    if _read_at(stream, at + signature + 20, 4) in (_LOCAL_SIG, _CENTRAL_SIG, _END_SIG):
        return signature + 20
    return signature + 12


# --- layout checks -----------------------------------------------------------------------------------------------


def _check_layout(stream: BinaryIO, size: int, limits: Limits, directory: ZipDirectory,
                  budget: ScanBudget | None) -> None:
    members = directory.members
    duplicates = [name for name, count in Counter(m.name for m in members).items() if count > 1]
    if duplicates:
        directory.note("MW-ARC-003", f"duplicate member names (readers disagree on which one is loaded): "
                       f"{_sample(duplicates)}", evidence=f"duplicate: {duplicates[0]}")
    placed = sorted((m for m in members if m.data_offset is not None), key=lambda m: m.header_offset)
    overlapping: list[str] = []
    reach = -1
    holder = ""
    for member in placed:
        if member.header_offset < reach:
            overlapping.append(f"{member.name} inside {holder}")
        if member.data_end > reach:
            reach, holder = member.data_end, member.name
    if overlapping:
        directory.note("MW-ARC-003", f"{len(overlapping)} member(s) overlap other members (a zip-bomb and "
                       f"parser-confusion technique): {_sample(overlapping)}", evidence="overlapping members")
    beyond = [m.name for m in placed if m.data_end > size]
    if beyond:
        directory.note("MW-ARC-003", f"member data runs past the end of the file: {_sample(beyond)}",
                       evidence="truncated member")
    if directory.central_directory is not None:
        cd_start, cd_end = directory.central_directory
        inside = [m.name for m in placed if m.header_offset < cd_end and m.data_end > cd_start]
        if inside:
            directory.note("MW-ARC-003", f"member data overlaps the central directory: {_sample(inside)}",
                           evidence="member overlaps central directory")
        _find_hidden_members(stream, size, limits, directory, placed, cd_start, budget)


def _find_hidden_members(stream: BinaryIO, size: int, limits: Limits, directory: ZipDirectory,
                         placed: list[ZipMember], cd_start: int, budget: ScanBudget | None) -> None:
    """Local headers that the central directory does not list are invisible to most readers but not to
    streaming ones; look where one would sit: right after a member (and its data descriptor)."""
    known = {m.header_offset for m in directory.members}
    hidden: list[ZipMember] = []
    for member in placed:
        end = member.data_end
        if member.flags & FLAG_DATA_DESCRIPTOR:
            end += _descriptor_length(stream, end)
        if end in known or end >= cd_start or not _starts_with_local_header(stream, end):
            continue
        room = limits.max_archive_members - len(directory.members) - len(hidden)
        if room <= 0:
            break
        walked = _walk_local_headers(stream, end, cd_start, limits, ZipDirectory(), budget)
        for found in walked[:room]:
            if found.header_offset in known:
                break
            known.add(found.header_offset)
            hidden.append(found)
    if hidden:
        directory.note("MW-ARC-003", f"{len(hidden)} member(s) have local headers but are missing from the "
                       f"central directory (streaming readers load them): {_sample([m.name for m in hidden])}",
                       evidence="unlisted local headers")
        directory.members.extend(hidden)


def _sample(items: list[str], limit: int = 5) -> str:
    shown = ", ".join(repr(i) for i in items[:limit])
    return shown if len(items) <= limit else f"{shown} and {len(items) - limit} more"


def _read_at(stream: BinaryIO, offset: int, length: int) -> bytes:
    if offset < 0 or length <= 0:
        return b""
    stream.seek(offset)
    return stream.read(length)


# --- streams -----------------------------------------------------------------------------------------------------


class _SeekableView(io.RawIOBase):
    """Position bookkeeping shared by the readers below: readable, seekable, with a logical ``_extent``
    (SEEK_END) that subclasses set; seeking never reads."""

    _pos = 0
    _extent = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        origin = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._extent}[whence]
        self._pos = max(0, origin + offset)
        return self._pos


class WindowReader(_SeekableView):
    """A read-only, seekable view of ``length`` bytes of ``base`` from ``start``. Seeks before every read, so
    several views can share one underlying stream. Reads are clamped to the window: a caller asking for a
    hostile length never makes it allocate more than the window holds."""

    def __init__(self, base: BinaryIO, start: int, length: int) -> None:
        super().__init__()
        self._base = base
        self._start = start
        self._length = self._extent = max(0, length)
        self._pos = 0

    def read(self, size: int | None = -1) -> bytes:
        remaining = self._length - self._pos
        if remaining <= 0:
            return b""
        count = remaining if size is None or size < 0 else min(size, remaining)
        self._base.seek(self._start + self._pos)
        data = self._base.read(count)
        self._pos += len(data)
        return data

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


class DecodeError(Exception):
    """Compressed data that the decoder rejects."""


class StreamDecoder:
    """One incremental decompressor behind a uniform interface: ``push`` compressed bytes, ``pull`` at most n
    decompressed bytes. ``max_length`` is always passed, so one call never expands more than asked for."""

    def __init__(self, factory: Callable[[], Any], *, restart_magic: bytes | None = None) -> None:
        self._factory = factory
        self._obj = factory()
        self._pending = b""  # input not yet handed to the decompressor (zlib keeps it in unconsumed_tail)
        self._zlib = not hasattr(self._obj, "needs_input")
        # Formats whose files may hold several concatenated streams (gzip members, bz2/xz streams): a new
        # decompressor is started when the data after one stream begins with this magic.
        self._restart_magic = restart_magic
        self._drained = False
        self.eof = False
        self.streams = 0

    @property
    def unused_length(self) -> int:
        """Input bytes pushed but not part of the (last) compressed stream."""
        return len(self._pending) + (len(self._obj.unused_data) if self.eof else 0)

    @property
    def unused_data(self) -> bytes:
        return self._pending + (self._obj.unused_data if self.eof else b"")

    def push(self, data: bytes) -> None:
        self._pending += data
        self._drained = False

    def pull(self, max_bytes: int) -> bytes:
        """Up to ``max_bytes`` of output from the input pushed so far; b"" when more input is needed."""
        idle = 0
        while not self.eof and idle < 3:  # a decoder that makes no progress three times in a row wants input
            if self._zlib:
                if self._drained:
                    return b""
                data, self._pending = self._pending, b""
                out = self._call(data, max_bytes)
                self._pending = self._obj.unconsumed_tail
                # zlib stops only when the output is full or the input is used up: no output means no input.
                self._drained = not out
            else:
                data = b""
                if self._obj.needs_input:
                    data, self._pending = self._pending, b""
                    if not data:
                        return b""
                out = self._call(data, max_bytes)
            if self._obj.eof:
                self.eof = True
                self.streams += 1
                self._maybe_restart()
            if out:
                return out
            idle += 1
        return b""

    def _call(self, data: bytes, max_bytes: int) -> bytes:
        try:
            out: bytes = self._obj.decompress(data, max_bytes)
        except (zlib.error, OSError, lzma.LZMAError, EOFError, ValueError) as exc:
            raise DecodeError(str(exc) or type(exc).__name__) from None
        return out

    def _maybe_restart(self) -> None:
        if self._restart_magic is None:
            return
        rest = self._obj.unused_data + self._pending
        if rest.startswith(self._restart_magic):
            self._obj = self._factory()
            self._pending = rest
            self.eof = False
            self._drained = False


def _zip_lzma_factory(header: bytes) -> Callable[[], Any] | None:
    """Zip's LZMA method: 2-byte version, 2-byte properties size, 5 properties bytes, then raw LZMA1 data
    (APPNOTE 5.8.8). Returns None when the header is malformed."""
    if len(header) < 9:
        return None
    props_size = struct.unpack_from("<H", header, 2)[0]
    if props_size != 5:
        return None
    props = header[4]
    if props >= 9 * 5 * 5:
        return None
    dict_size = struct.unpack_from("<I", header, 5)[0]
    lc, rest = props % 9, props // 9
    lp, pb = rest % 5, rest // 5
    filters = [{"id": lzma.FILTER_LZMA1, "dict_size": max(dict_size, 4096), "lc": lc, "lp": lp, "pb": pb}]
    return lambda: lzma.LZMADecompressor(format=lzma.FORMAT_RAW, filters=filters)


def _optional_module(*names: str) -> Any | None:
    """Import the first available optional decompression module (no hard dependency)."""
    for name in names:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


def _zstd_factory() -> Callable[[], Any] | None:
    # compression.zstd (Python 3.14) and its backport share bz2's incremental API with max_length.
    module = _optional_module("compression.zstd", "backports.zstd")
    return None if module is None else module.ZstdDecompressor


def _lz4_factory() -> Callable[[], Any] | None:
    module = _optional_module("lz4.frame")
    return None if module is None else module.LZ4FrameDecompressor


def decoder_for_zip_method(method: int, lzma_header: bytes = b"") -> StreamDecoder | None:
    """A decoder for a zip compression method; None for stored data or methods we cannot expand."""
    factory: Callable[[], Any] | None
    if method == METHOD_DEFLATE:
        factory = lambda: zlib.decompressobj(-15)  # noqa: E731 - raw deflate, no header
    elif method == METHOD_BZIP2:
        factory = bz2.BZ2Decompressor
    elif method == METHOD_XZ:
        factory = lambda: lzma.LZMADecompressor(format=lzma.FORMAT_XZ)  # noqa: E731
    elif method == METHOD_LZMA:
        factory = _zip_lzma_factory(lzma_header)
    elif method == METHOD_ZSTD:
        factory = _zstd_factory()
    else:
        factory = None
    return None if factory is None else StreamDecoder(factory)


# Stand-alone compressed files (CompressedScanner): kind as returned by scan.identify.compression_of.
_GZIP_MAGIC, _BZ2_MAGIC, _XZ_MAGIC, _ZSTD_MAGIC, _LZ4_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00",
                                                                b"\x28\xb5\x2f\xfd", b"\x04\x22\x4d\x18")


def decoder_for_kind(kind: str) -> StreamDecoder | None:
    """A decoder for a compressed file kind; None when the optional library it needs is not installed."""
    if kind == "gzip":
        return StreamDecoder(lambda: zlib.decompressobj(31), restart_magic=_GZIP_MAGIC)
    if kind == "zlib":
        return StreamDecoder(zlib.decompressobj)
    if kind == "bz2":
        return StreamDecoder(bz2.BZ2Decompressor, restart_magic=_BZ2_MAGIC)
    if kind == "xz":
        return StreamDecoder(lambda: lzma.LZMADecompressor(format=lzma.FORMAT_XZ), restart_magic=_XZ_MAGIC)
    if kind == "lzma":
        return StreamDecoder(lambda: lzma.LZMADecompressor(format=lzma.FORMAT_ALONE))
    if kind == "zstd":
        zstd = _zstd_factory()
        return None if zstd is None else StreamDecoder(zstd, restart_magic=_ZSTD_MAGIC)
    if kind == "lz4":
        lz4 = _lz4_factory()
        return None if lz4 is None else StreamDecoder(lz4, restart_magic=_LZ4_MAGIC)
    return None


@dataclass(slots=True)
class ExpansionGuard:
    """Charges decompressed bytes to the top-level file's shared budget and watches the compression ratio."""

    budget: ScanBudget
    limits: Limits

    def charge(self, new_bytes: int, produced: int, consumed: int) -> str | None:
        """Account ``new_bytes`` more output; return why expansion must stop, or None to go on."""
        self.budget.decompressed_bytes += new_bytes
        if self.budget.decompressed_bytes > self.limits.max_decompressed_bytes:
            self.budget.exhausted = True
            return (f"decompressed data exceeds {self.limits.max_decompressed_bytes} bytes in total "
                    "for this file")
        if produced > self.limits.bomb_check_min_bytes and produced > self.limits.max_compression_ratio * \
                max(consumed, 1):
            return (f"expands more than {self.limits.max_compression_ratio} times "
                    f"({produced} bytes from {consumed})")
        return None


class InflatingReader(_SeekableView):
    """A seekable stream of a compressed zip member that decompresses lazily, only as far as the reader reads,
    keeping what it produced in a spooled temporary file (memory up to SPOOL_MEMORY_BYTES, then disk).

    Its length is the member's declared size (that is what loaders allocate and read); reads stop early when
    the data ends sooner, fails to decode (``error``) or trips the expansion guard (``stopped``). A scanner
    that only needs a header therefore costs only that header's decompression."""

    def __init__(self, source: WindowReader, decoder: StreamDecoder, declared_size: int,
                 guard: ExpansionGuard) -> None:
        super().__init__()
        self._source = source
        self._decoder = decoder
        self._declared = self._extent = max(0, declared_size)
        self._guard = guard
        self._spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES)
        self._produced = 0
        self._pos = 0
        self.crc = 0
        self.done = False
        self.error: str | None = None
        self.stopped: str | None = None

    @property
    def produced(self) -> int:
        return self._produced

    def read(self, size: int | None = -1) -> bytes:
        end = self._declared if size is None or size < 0 else min(self._declared, self._pos + size)
        if end <= self._pos:
            return b""
        self._produce_until(end)
        available = min(end, self._produced) - self._pos
        if available <= 0:
            return b""
        self._spool.seek(self._pos)
        data = self._spool.read(available)
        self._pos += len(data)
        return data

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def finish(self) -> None:
        """Decompress to the end (bounded by the declared size and the guard), e.g. to verify the CRC."""
        self._produce_until(self._declared)

    def close(self) -> None:
        self._spool.close()
        super().close()

    def _produce_until(self, target: int) -> None:
        while self._produced < target and not self.done:
            chunk = self._next_chunk(min(target - self._produced, 1 * MiB))
            if not chunk:
                self.done = True
                return
            self._spool.seek(0, io.SEEK_END)
            self._spool.write(chunk)
            self._produced += len(chunk)
            self.crc = zlib.crc32(chunk, self.crc)
            reason = self._guard.charge(len(chunk), self._produced, self._source.tell())
            if reason is not None:
                self.stopped = reason
                self.done = True

    def _next_chunk(self, max_bytes: int) -> bytes:
        try:
            while True:
                out = self._decoder.pull(max_bytes)
                if out or self._decoder.eof:
                    return out
                data = self._source.read(_READ_CHUNK)
                if not data:
                    self.error = "compressed data ends before the member's declared size"
                    return b""
                self._decoder.push(data)
        except DecodeError as exc:
            self.error = f"corrupt compressed data: {exc}"
            return b""


def as_binary(stream: io.RawIOBase) -> BinaryIO:
    """The readers here implement the binary file interface scanners use (read, seek, tell)."""
    return cast(BinaryIO, stream)


def open_member(stream: BinaryIO, member: ZipMember, guard: ExpansionGuard,
                size: int) -> WindowReader | InflatingReader | None:
    """A stream of the member's data as a loader would read it (sizes from the central directory, data offset
    from the local header). None for members whose data cannot be located or whose method is unsupported."""
    if member.data_offset is None:
        return None
    available = max(0, min(member.compressed_size, size - member.data_offset))
    raw = WindowReader(stream, member.data_offset, available)
    if member.method == METHOD_STORED:
        return raw
    lzma_header = b""
    if member.method == METHOD_LZMA:
        lzma_header = raw.read(9)
    decoder = decoder_for_zip_method(member.method, lzma_header)
    if decoder is None:
        return None
    return InflatingReader(raw, decoder, member.size, guard)


def stored_crc(reader: WindowReader, limit: int) -> int | None:
    """CRC-32 of a stored member, when it is no larger than ``limit``."""
    reader.seek(0, io.SEEK_END)
    if reader.tell() > limit:
        return None
    reader.seek(0)
    crc = 0
    while chunk := reader.read(_READ_CHUNK):
        crc = zlib.crc32(chunk, crc)
    return crc
