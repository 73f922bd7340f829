"""Container scanners: zip (PyTorch checkpoints, TorchScript, .npz, .keras and plain zips), tar, and
single-stream compressed files (gzip, bz2, xz, lzma, zlib; lz4 and zstd when their library is installed).

Each member goes back through ``ctx.scan_member`` (identified by content, depth-limited), except what a loader
never deserializes: PyTorch storage members are skipped without being read. Structural problems that loaders
tolerate (bad CRCs, encryption flags, duplicates, overlaps) are reported and the members scanned anyway.

Never extracts anything to disk, never follows links, never decompresses beyond the shared budget of the
top-level file, and never unpickles, imports or runs content.
"""

from __future__ import annotations

import re
import stat
import tarfile
import tempfile
from collections import Counter
from typing import Any, BinaryIO

from mlwarden.artifacts.pytorch import (
    LEGACY_TAR_MEMBERS,
    ROLE_CODE,
    ROLE_CONTENT,
    ROLE_PICKLE,
    ROLE_STORAGE,
    TorchArchiveLayout,
    drop_storage_key_pid_findings,
    drop_torchscript_loader_globals,
    persistent_ids_are_storage_keys,
    scan_legacy_tar_member,
    scan_torchscript_code,
    torch_archive_layout,
)
from mlwarden.artifacts.zipreader import (
    CRC_CHECK_MAX_BYTES,
    FLAG_DATA_DESCRIPTOR,
    FLAG_ENCRYPTED,
    FLAG_PATCHED_DATA,
    FLAG_STRONG_ENCRYPTION,
    METHOD_STORED,
    SPOOL_MEMORY_BYTES,
    DecodeError,
    ExpansionGuard,
    InflatingReader,
    WindowReader,
    ZipMember,
    as_binary,
    decoder_for_kind,
    open_member,
    read_directory,
    stored_crc,
)
from mlwarden.core.limits import MiB
from mlwarden.scanning.context import ScanContext, UnscannableError
from mlwarden.scanning.identify import compression_of

# Per rule and archive, this many members are reported one by one; the rest are summed up in one finding.
_MAX_FINDINGS_PER_RULE = 20
_MAX_LINK_TARGET = 1024
# Members up to this size get their CRC checked even when the scan did not read them whole.
_CRC_CHEAP_BYTES = 1 * MiB
_DRIVE_PATH = re.compile(r"^[A-Za-z]:")
_READ_CHUNK = 1 * MiB

# Unix file types in archive metadata that extraction turns into something other than a regular file.
_SPECIAL_TYPES = {stat.S_IFLNK: "symbolic link", stat.S_IFCHR: "character device", stat.S_IFBLK: "block device",
                  stat.S_IFIFO: "FIFO", stat.S_IFSOCK: "socket"}


def path_escape(name: str) -> str | None:
    """Why extracting a member called ``name`` would write outside the target folder, or None.

    Backslashes are path separators for Windows extractors, so ``..\\evil`` is checked as ``../evil``; a
    backslash alone (``dir\\file``) does not escape and is not reported.
    """
    if "\x00" in name:
        return "contains a NUL byte (the name is cut there on extraction)"
    normalized = name.replace("\\", "/")
    if normalized.startswith("/"):
        return "is an absolute path"
    if _DRIVE_PATH.match(normalized):
        return "starts with a Windows drive letter"
    if ".." in normalized.split("/"):
        return "climbs out with '..'"
    return None


class _MemberReporter:
    """Reports findings located at one archive member, at most _MAX_FINDINGS_PER_RULE per rule, then a sum."""

    def __init__(self, ctx: ScanContext) -> None:
        self._ctx = ctx
        self._counts: Counter[str] = Counter()

    def report(self, member: str, rule_id: str, message: str, *, evidence: str | None = None,
               offset: int | None = None) -> None:
        self._counts[rule_id] += 1
        if self._counts[rule_id] <= _MAX_FINDINGS_PER_RULE:
            located = self._ctx.child(member, 0)
            located.scanner = self._ctx.scanner
            located.report(rule_id, message, evidence=evidence, offset=offset)

    def finish(self) -> None:
        for rule_id, count in sorted(self._counts.items()):
            if count > _MAX_FINDINGS_PER_RULE:
                self._ctx.report(rule_id, f"{count - _MAX_FINDINGS_PER_RULE} more members with the same problem "
                                 "were not listed one by one", evidence=f"{count} members")


class _ExpansionStop:
    """Tracks the member-count budget and reports the first reason expansion stops (once per archive)."""

    def __init__(self, ctx: ScanContext) -> None:
        self._ctx = ctx
        self.stopped = False

    def admit(self, member: str) -> bool:
        ctx = self._ctx
        if ctx.budget.exhausted:
            return self._stop(f"the decompression budget of {ctx.limits.max_decompressed_bytes} bytes is spent; "
                              f"'{member}' and later members were not scanned", member)
        ctx.budget.members += 1
        if ctx.budget.members > ctx.limits.max_archive_members:
            ctx.budget.exhausted = True
            return self._stop(f"more than {ctx.limits.max_archive_members} members in this file; '{member}' "
                              "and later members were not scanned", member)
        return True

    def _stop(self, message: str, member: str) -> bool:
        if not self.stopped:
            self._ctx.report("MW-ARC-004", message, evidence=member)
        self.stopped = True
        return False


# --- zip -------------------------------------------------------------------------------------------------------


class ZipScanner:
    name = "zip"

    def scan(self, stream: BinaryIO, ctx: ScanContext) -> None:
        directory = read_directory(stream, ctx.size, ctx.limits, budget=ctx.budget)
        for problem in directory.irregularities:
            ctx.report(problem.rule_id, problem.message, evidence=problem.evidence, offset=problem.offset)
        layout = torch_archive_layout(m.name for m in directory.members)
        guard = ExpansionGuard(ctx.budget, ctx.limits)
        reporter = _MemberReporter(ctx)
        expansion = _ExpansionStop(ctx)
        if layout.is_torchscript:
            code = [m.name for m in directory.members if layout.role(m.name) == ROLE_CODE]
            listed = ", ".join(code[:10]) + (f" and {len(code) - 10} more" if len(code) > 10 else "")
            ctx.report("MW-TORCH-002", f"TorchScript archive with {len(code)} code file(s): {listed or 'none'}",
                       evidence=listed or "no code files")
        scanned_data: set[tuple[int | None, int, int]] = set()
        for member in directory.members:
            if not self._check_entry(stream, member, ctx, guard, reporter):
                continue
            role = layout.role(member.name) if layout.is_torch else ROLE_CONTENT
            if member.is_dir or role == ROLE_STORAGE:
                continue  # storages: raw tensor bytes that torch never unpickles; skipped without reading
            # Several entries may point at the same data (overlap, reported above): scan it once.
            key = (member.data_offset, member.compressed_size, member.method)
            if key in scanned_data:
                continue
            scanned_data.add(key)
            if not expansion.admit(member.name):
                break
            self._scan_member(stream, member, role, layout, ctx, guard, reporter)
        reporter.finish()

    def _check_entry(self, stream: BinaryIO, member: ZipMember, ctx: ScanContext, guard: ExpansionGuard,
                     reporter: _MemberReporter) -> bool:
        """Report what the entry's metadata reveals; False when its content must not be scanned."""
        escape = path_escape(member.name)
        if escape:
            reporter.report(member.name, "MW-ARC-001", f"member name {escape}", evidence=member.name)
        special = _SPECIAL_TYPES.get(member.unix_type)
        if special:
            target = self._link_target(stream, member, ctx, guard) if member.unix_type == stat.S_IFLNK else ""
            shown = f" -> {target}" if target else ""
            target_escape = path_escape(target) if target else None
            extra = f" (the target {target_escape})" if target_escape else ""
            reporter.report(member.name, "MW-ARC-002", f"member is a {special}{shown}{extra}",
                            evidence=f"{member.name}{shown}")
            return False
        flags = member.flags | member.local_flags
        encrypted = FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION
        if member.flags & encrypted:
            reporter.report(member.name, "MW-ARC-003", "encryption flag is set in the central directory (torch.load "
                            "refuses the member, other readers may not); scanned as plain data",
                            evidence="encryption flag")
        elif member.local_flags & encrypted:
            reporter.report(member.name, "MW-ARC-003", "encryption flag is set in the local header only: PyTorch's "
                            "reader ignores it and loads the member, zipfile-based tools give up; scanned as plain "
                            "data", evidence="encryption flag")
        if flags & FLAG_PATCHED_DATA:
            reporter.report(member.name, "MW-ARC-003", "'compressed patched data' flag is set (unsupported by "
                            "most readers); scanned as plain data", evidence="patched-data flag")
        if member.method == METHOD_STORED and member.size != member.compressed_size and not member.is_dir:
            reporter.report(member.name, "MW-ARC-003", f"stored member declares {member.size} bytes but holds "
                            f"{member.compressed_size}", evidence="stored size mismatch")
        return True

    def _link_target(self, stream: BinaryIO, member: ZipMember, ctx: ScanContext, guard: ExpansionGuard) -> str:
        reader = open_member(stream, member, guard, ctx.size)
        if reader is None:
            return ""
        try:
            return reader.read(_MAX_LINK_TARGET).decode("utf-8", errors="replace")
        finally:
            reader.close()

    def _scan_member(self, stream: BinaryIO, member: ZipMember, role: str, layout: TorchArchiveLayout,
                     ctx: ScanContext, guard: ExpansionGuard, reporter: _MemberReporter) -> None:
        if member.data_offset is None:
            return  # no local header: reported with the directory problems; no reader can load it either
        limits = ctx.limits
        if member.method != METHOD_STORED and member.size > limits.bomb_check_min_bytes and \
                member.size > limits.max_compression_ratio * max(member.compressed_size, 1):
            reporter.report(member.name, "MW-ARC-004", f"member declares {member.size} bytes from "
                            f"{member.compressed_size} compressed (more than {limits.max_compression_ratio} "
                            "times); not expanded", evidence=f"{member.size}/{member.compressed_size}")
            return
        reader = open_member(stream, member, guard, ctx.size)
        if reader is None:
            reporter.report(member.name, "MW-FMT-001", f"compression {member.method_name} is not supported; "
                            "member not scanned", evidence=member.method_name)
            return
        try:
            size = member.size if isinstance(reader, InflatingReader) else reader.seek(0, 2)
            reader.seek(0)
            profile = "torch" if layout.is_torch else None
            before = len(ctx.findings)
            if role == ROLE_CODE:
                self._scan_code(as_binary(reader), size, member, ctx)
            else:
                ctx.scan_member(member.name, as_binary(reader), size, profile=profile,
                                format_hint="pickle" if role == ROLE_PICKLE else None)
                if layout.is_torchscript and role == ROLE_PICKLE:
                    drop_torchscript_loader_globals(ctx, before)
            self._verify(reader, member, role, reporter)
        finally:
            reader.close()

    def _scan_code(self, reader: BinaryIO, size: int, member: ZipMember, ctx: ScanContext) -> None:
        limit = ctx.limits.max_header_bytes
        text = reader.read(limit).decode("utf-8", errors="replace")
        child = ctx.child(member.name, size, profile="torch")
        child.scanner = self.name
        if size > limit:
            child.report("MW-FMT-003", f"TorchScript code file larger than {limit} bytes; only its start was "
                         "checked", evidence=f"{size} bytes")
        scan_torchscript_code(text, child)

    def _verify(self, reader: WindowReader | InflatingReader, member: ZipMember, role: str,
                reporter: _MemberReporter) -> None:
        """After the scan: report expansion stops, decode errors and CRC mismatches (never fatal: loaders such as
        torch.load skip the CRC, so the member was scanned regardless).

        The CRC is verified where it costs little or matters: pickles (the bypass used a bad CRC on data.pkl),
        small members, and data the scan already decompressed; large data members are not read just for it."""
        crc: int | None = None
        sizes_known = not (member.found_by != "central directory" and member.flags & FLAG_DATA_DESCRIPTOR)
        worth_reading = member.size <= (CRC_CHECK_MAX_BYTES if role == ROLE_PICKLE else _CRC_CHEAP_BYTES)
        check_crc = sizes_known and worth_reading
        if isinstance(reader, InflatingReader):
            if check_crc and reader.stopped is None:
                reader.finish()
            if reader.stopped:
                reporter.report(member.name, "MW-ARC-004", f"member {reader.stopped}; expansion stopped",
                                evidence=reader.stopped)
                return
            if reader.error:
                reporter.report(member.name, "MW-FMT-001", f"member could not be fully decompressed: {reader.error}; "
                                f"the first {reader.produced} bytes were scanned", evidence=reader.error)
                return
            if sizes_known and reader.produced == member.size:
                crc = reader.crc  # of what a loader reads: the declared size, even if the data goes on
        elif check_crc:
            crc = stored_crc(reader, CRC_CHECK_MAX_BYTES)
        if crc is not None and crc != member.crc:
            reporter.report(member.name, "MW-ARC-003", f"CRC-32 is {crc:08x} but the archive records "
                            f"{member.crc:08x}; torch.load ignores this, the member was scanned anyway",
                            evidence="bad CRC")


# --- tar -------------------------------------------------------------------------------------------------------


class _HeaderLimitReached(Exception):
    pass


class _TarHeaderReader:
    """What tarfile reads headers through: refuses single reads above the header limit (a hostile pax or GNU
    long-name header can declare gigabytes), so memory stays bounded. Member data is never read through it."""

    def __init__(self, stream: BinaryIO, size: int, limit: int) -> None:
        self._stream = stream
        self._size = size
        self._limit = limit

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = self._size - self._stream.tell()
        if n > self._limit:
            raise _HeaderLimitReached(f"a tar header declares {n} bytes (limit {self._limit})")
        return self._stream.read(n)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._stream.seek(offset, whence)

    def tell(self) -> int:
        return self._stream.tell()


_TAR_ERRORS = (tarfile.TarError, _HeaderLimitReached, EOFError, ValueError, OverflowError, UnicodeError)


class TarScanner:
    name = "tar"

    def scan(self, stream: BinaryIO, ctx: ScanContext) -> None:
        reader: Any = _TarHeaderReader(stream, ctx.size, ctx.limits.max_header_bytes)
        try:
            archive = tarfile.open(fileobj=reader, mode="r:")
        except _TAR_ERRORS as exc:
            raise UnscannableError(f"not a readable tar archive: {exc}", offset=0) from None
        members: list[tarfile.TarInfo] = []
        failure: str | None = None
        try:
            while True:
                if len(members) >= ctx.limits.max_archive_members:
                    ctx.report("MW-ARC-004", f"more than {ctx.limits.max_archive_members} members; the rest were "
                               "not scanned", evidence=f"> {ctx.limits.max_archive_members} members")
                    break
                info = archive.next()
                if info is None:
                    break
                members.append(info)
        except _TAR_ERRORS as exc:
            failure = f"tar header after member {len(members)} is invalid: {exc}"
        legacy_torch = LEGACY_TAR_MEMBERS <= {m.name for m in members}
        reporter = _MemberReporter(ctx)
        expansion = _ExpansionStop(ctx)
        for info in members:
            if not self._check_entry(info, reporter) or not info.isreg():
                continue
            if not expansion.admit(info.name):
                break
            self._scan_member(stream, info, legacy_torch, ctx, reporter)
        reporter.finish()
        if failure:
            raise UnscannableError(failure)

    def _check_entry(self, info: tarfile.TarInfo, reporter: _MemberReporter) -> bool:
        escape = path_escape(info.name)
        if escape:
            reporter.report(info.name, "MW-ARC-001", f"member name {escape}", evidence=info.name)
        if info.issym() or info.islnk():
            kind = "symbolic link" if info.issym() else "hard link"
            target_escape = path_escape(info.linkname)
            extra = f" (the target {target_escape})" if target_escape else ""
            reporter.report(info.name, "MW-ARC-002", f"member is a {kind} to '{info.linkname}'{extra}",
                            evidence=f"{info.name} -> {info.linkname}")
            return False
        if info.ischr() or info.isblk() or info.isfifo():
            reporter.report(info.name, "MW-ARC-002", "member is a device or FIFO", evidence=info.name)
            return False
        if info.issparse():
            reporter.report(info.name, "MW-ARC-003", "sparse member (GNU sparse format); its content was not "
                            "scanned", evidence="sparse member")
            return False
        return True

    def _scan_member(self, stream: BinaryIO, info: tarfile.TarInfo, legacy_torch: bool, ctx: ScanContext,
                     reporter: _MemberReporter) -> None:
        available = max(0, min(info.size, ctx.size - info.offset_data))
        if available < info.size:
            reporter.report(info.name, "MW-FMT-001", f"member declares {info.size} bytes but the file ends after "
                            f"{available}", evidence="truncated member")
        window = as_binary(WindowReader(stream, info.offset_data, available))
        if legacy_torch and info.name in ("storages", "tensors"):
            child = ctx.child(info.name, available, profile="torch")
            child.scanner = self.name
            scan_legacy_tar_member(info.name, window, available, child)
        elif legacy_torch and info.name == "pickle":
            before = len(ctx.findings)
            ctx.scan_member(info.name, window, available, profile="torch", format_hint="pickle")
            chain = ctx.child(info.name, available).member or info.name
            if any(f.rule_id == "MW-PKL-004" for f in ctx.findings[before:]) and \
                    persistent_ids_are_storage_keys(window, available, ctx):
                drop_storage_key_pid_findings(ctx, before, chain)
        else:
            ctx.scan_member(info.name, window, available, profile="torch" if legacy_torch else None)


# --- single-stream compressed files ----------------------------------------------------------------------------


class CompressedScanner:
    name = "compressed"

    def scan(self, stream: BinaryIO, ctx: ScanContext) -> None:
        stream.seek(0)
        kind = compression_of(stream.read(32))
        if kind is None:
            raise UnscannableError("no known compression header", offset=0)
        decoder = decoder_for_kind(kind)
        if decoder is None:
            raise UnscannableError(f"cannot decompress {kind}: unsupported (install the optional {kind} library "
                                   "to scan inside it)", offset=0)
        guard = ExpansionGuard(ctx.budget, ctx.limits)
        stream.seek(0)
        consumed = produced = 0
        problem: str | None = None
        stopped: str | None = None
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES) as spool:
            try:
                while stopped is None:
                    chunk = decoder.pull(_READ_CHUNK)
                    if not chunk:
                        if decoder.eof:
                            break
                        data = stream.read(_READ_CHUNK)
                        if not data:
                            problem = f"{kind} stream is truncated"
                            break
                        consumed += len(data)
                        decoder.push(data)
                        continue
                    spool.write(chunk)
                    produced += len(chunk)
                    stopped = guard.charge(len(chunk), produced, consumed - decoder.unused_length)
            except DecodeError as exc:
                problem = f"{kind} data is corrupt after {produced} decompressed bytes: {exc}"
            if stopped:
                ctx.report("MW-ARC-004", f"{kind} stream {stopped}; only the first {produced} bytes were scanned",
                           evidence=stopped)
            spool.seek(0)
            ctx.scan_member(f"<{kind}>", spool, produced)  # type: ignore[arg-type]
        if problem:
            raise UnscannableError(f"{problem}; the {produced} bytes decompressed before it were scanned",
                                   offset=consumed)
