"""Load OSV advisory records from files: a zip export, a folder of JSON/YAML files, JSON lines (optionally
gzip-compressed) or one JSON document, and build the advisory database from them.

Every reader is bounded: file sizes, decompressed sizes, line lengths, member counts and nesting are limited,
so a hostile or broken input gives skipped (and counted) records, never a hang or an exception escaping
``iter_osv_records``. YAML is read with a safe loader that constructs only plain strings, lists and maps; no
record is ever executed or deserialized into objects. User errors (a missing path, a file that is not OSV data
at all, no valid record) raise ``InputError``.
"""

from __future__ import annotations

import gzip
import json
import os
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

import yaml

from mlwarden.core.errors import InputError
from mlwarden.supply.advisories.home import default_db_path
from mlwarden.supply.advisories.store import DbMetadata, ImportStats, build_database

MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ImportLimits:
    """Bounds on what a loader reads. OSV records are small (the largest PyPI records are well under 1 MiB);
    the whole PyPI export (PYSEC and GHSA) is a few hundred MiB uncompressed at most.
    """

    max_record_bytes: int = 8 * MiB  # one .json/.yaml file, one zip member, one JSON line
    max_document_bytes: int = 256 * MiB  # one .json file holding a list of records (parsed in memory)
    max_total_bytes: int = 2048 * MiB  # everything decompressed from one zip or one .jsonl.gz
    max_files: int = 500_000  # files in a folder, members in a zip
    max_compression_ratio: int = 200  # a zip member beyond this ratio is treated as a bomb (JSON compresses ~10x)
    ratio_check_min_bytes: int = 1 * MiB


IMPORT_LIMITS = ImportLimits()

_ZIP_MAGIC = b"PK\x03\x04"
_EMPTY_ZIP_MAGIC = b"PK\x05\x06"
_GZIP_MAGIC = b"\x1f\x8b"
_RECORD_SUFFIXES = (".json", ".yaml", ".yml")


try:  # libyaml's parser when PyYAML was built with it (much faster); same safe constructor either way
    from yaml import CSafeLoader as _SafeLoaderBase
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _SafeLoaderBase  # type: ignore[assignment]


class _StringScalarLoader(_SafeLoaderBase):
    """The safe loader, with implicit typing limited to null: every other plain scalar stays a string.

    Advisory YAML writes versions unquoted (``- 1.10``) and times unquoted; the stock safe loader would turn them
    into the float 1.1 and a datetime, silently changing which versions match.
    """


_StringScalarLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers
            if tag in ("tag:yaml.org,2002:null", "tag:yaml.org,2002:merge")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _load_yaml(text: str) -> Any:
    loader = _StringScalarLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def _parse_document(data: bytes, name: str) -> Any:
    """JSON or YAML by file name; raises ValueError (or a subclass) on anything unusable."""
    text = data.decode("utf-8-sig")
    if name.lower().endswith((".yaml", ".yml")):
        try:
            return _load_yaml(text)
        except yaml.YAMLError as exc:
            raise ValueError(f"invalid YAML: {str(exc).splitlines()[0]}") from None
    return json.loads(text)


def _emit(document: Any, where: str, stats: ImportStats) -> Iterator[dict[str, Any]]:
    """Records in one parsed document: an object is one record, a list holds records."""
    items = document if isinstance(document, list) else [document]
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            yield item
        else:
            stats.skip(f"{where}: not an OSV record")


def _parse_and_emit(data: bytes, name: str, where: str, stats: ImportStats) -> Iterator[dict[str, Any]]:
    try:
        document = _parse_document(data, name)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        stats.skip(f"{where}: {type(exc).__name__}: {str(exc)[:120]}")
        return
    yield from _emit(document, where, stats)


# --------------------------------------------------------------------------------------------------------------
# One reader per input kind; ``_READERS`` below picks one by name, then by content.


def _read_zip(path: Path, stats: ImportStats, limits: ImportLimits) -> Iterator[dict[str, Any]]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise InputError(f"{path} is not a readable zip archive: {exc}") from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        if len(members) > limits.max_files:
            raise InputError(f"{path} has {len(members)} members, more than the {limits.max_files} allowed")
        budget = limits.max_total_bytes
        for member in members:
            where = f"{path.name}!{member.filename[:200]}"
            if not member.filename.lower().endswith(_RECORD_SUFFIXES):
                continue
            stats.files += 1
            declared = member.file_size
            ratio = declared / max(member.compress_size, 1)
            if declared > limits.max_record_bytes or declared > budget:
                stats.skip(f"{where}: {declared} bytes is over the limit", file=True)
                continue
            if declared >= limits.ratio_check_min_bytes and ratio > limits.max_compression_ratio:
                stats.skip(f"{where}: compression ratio {ratio:.0f} looks like a zip bomb", file=True)
                continue
            try:
                # zipfile never returns more than the declared size and checks the CRC at the end.
                with archive.open(member) as handle:
                    data = handle.read(limits.max_record_bytes + 1)
            except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError,
                    zlib.error) as exc:
                stats.skip(f"{where}: {type(exc).__name__}: {str(exc)[:120]}", file=True)
                continue
            budget -= len(data)
            yield from _parse_and_emit(data, member.filename, where, stats)


class _LineSource(Protocol):
    def readline(self, size: int = -1, /) -> bytes: ...


def _read_lines(handle: _LineSource, where: str, stats: ImportStats, limits: ImportLimits
                ) -> Iterator[dict[str, Any]]:
    """One record per line. Lines are read at most ``max_record_bytes`` at a time and everything read counts
    against ``max_total_bytes``, so a compressed stream of zeros without a newline ends quickly too."""
    limit, budget = limits.max_record_bytes, limits.max_total_bytes
    consumed = 0
    number = 0
    while consumed <= budget:
        line = handle.readline(limit + 1)
        if not line:
            return
        number += 1
        consumed += len(line)
        if len(line) > limit and not line.endswith(b"\n"):
            while consumed <= budget:  # skip the rest of the overlong line without holding it
                chunk = handle.readline(limit)
                consumed += len(chunk)
                if not chunk or chunk.endswith(b"\n"):
                    break
            stats.skip(f"{where}:{number}: line longer than {limit} bytes")
            continue
        if line.strip():
            yield from _parse_and_emit(line, "line.json", f"{where}:{number}", stats)
    stats.skip(f"{where}: stopped after {budget} bytes", file=True)


def _read_jsonl(path: Path, stats: ImportStats, limits: ImportLimits) -> Iterator[dict[str, Any]]:
    stats.files += 1
    with _open_input(path) as handle:
        yield from _read_lines(handle, path.name, stats, limits)


def _read_jsonl_gz(path: Path, stats: ImportStats, limits: ImportLimits) -> Iterator[dict[str, Any]]:
    stats.files += 1
    with _open_input(path) as raw, gzip.GzipFile(fileobj=raw, mode="rb") as handle:
        try:
            yield from _read_lines(handle, path.name, stats, limits)
        except (OSError, EOFError, zlib.error) as exc:  # a truncated or corrupt gzip stream
            stats.skip(f"{path.name}: compressed stream is broken ({type(exc).__name__}: {str(exc)[:120]})",
                       file=True)


def _read_document(path: Path, stats: ImportStats, limit: int) -> Iterator[dict[str, Any]]:
    stats.files += 1
    data = _read_bounded(path, limit)
    if data is None:
        raise InputError(f"{path} is larger than {limit // MiB} MiB; split it into JSON lines or a folder")
    yield from _parse_and_emit(data, path.name, path.name, stats)


def _read_json(path: Path, stats: ImportStats, limits: ImportLimits) -> Iterator[dict[str, Any]]:
    yield from _read_document(path, stats, limits.max_document_bytes)


def _read_yaml(path: Path, stats: ImportStats, limits: ImportLimits) -> Iterator[dict[str, Any]]:
    # YAML is slower and heavier to parse than JSON: one YAML file is bounded like one record.
    yield from _read_document(path, stats, limits.max_record_bytes)


def _read_folder(path: Path, stats: ImportStats, limits: ImportLimits) -> Iterator[dict[str, Any]]:
    seen = 0
    # os.walk does not follow symbolic links to folders, so a link cannot loop or leave the tree.
    for folder, subfolders, files in os.walk(path, onerror=lambda exc: stats.skip(f"{exc}", file=True)):
        subfolders.sort()
        for name in sorted(files):
            if not name.lower().endswith(_RECORD_SUFFIXES):
                continue
            seen += 1
            if seen > limits.max_files:
                stats.skip(f"{path}: stopped after {limits.max_files} files", file=True)
                return
            file_path = Path(folder) / name
            where = str(file_path.relative_to(path))
            stats.files += 1
            try:
                data = _read_bounded(file_path, limits.max_record_bytes)
            except InputError as exc:
                stats.skip(f"{where}: {exc}", file=True)
                continue
            if data is None:
                stats.skip(f"{where}: larger than {limits.max_record_bytes} bytes", file=True)
                continue
            yield from _parse_and_emit(data, name, where, stats)


def _open_input(path: Path) -> IO[bytes]:
    try:
        return open(path, "rb")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None


def _read_bounded(path: Path, limit: int) -> bytes | None:
    """The file's bytes, or None when it is larger than ``limit`` (read at most limit + 1 bytes)."""
    with _open_input(path) as handle:
        try:
            data = handle.read(limit + 1)
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    return None if len(data) > limit else data


Reader = Callable[[Path, ImportStats, ImportLimits], Iterator[dict[str, Any]]]

# Name endings first (longest first, so .jsonl.gz wins over .gz); content sniffing handles other names.
_READERS: tuple[tuple[str, Reader], ...] = (
    (".jsonl.gz", _read_jsonl_gz),
    (".json.gz", _read_jsonl_gz),  # read as JSON lines: a compressed single document must be one line
    (".ndjson.gz", _read_jsonl_gz),
    (".jsonl", _read_jsonl),
    (".ndjson", _read_jsonl),
    (".zip", _read_zip),
    (".json", _read_json),
    (".yaml", _read_yaml),
    (".yml", _read_yaml),
)


def _sniff(path: Path) -> Reader:
    with _open_input(path) as handle:
        head = handle.read(8)
    if head.startswith((_ZIP_MAGIC, _EMPTY_ZIP_MAGIC)):
        return _read_zip
    if head.startswith(_GZIP_MAGIC):
        return _read_jsonl_gz
    stripped = head.lstrip()
    if stripped.startswith((b"{", b"[")):
        return _read_jsonl if stripped.startswith(b"{") else _read_json
    raise InputError(f"{path} is not OSV data: expected a .zip export, a folder of .json/.yaml advisories, "
                     f".jsonl or .jsonl.gz")


def _reader_for(path: Path) -> Reader:
    if path.is_dir():
        return _read_folder
    if not path.is_file():
        raise InputError(f"{path} is not a file or folder")
    name = path.name.lower()
    for suffix, reader in _READERS:
        if name.endswith(suffix):
            return reader
    return _sniff(path)


def iter_osv_records(path: Path, *, stats: ImportStats | None = None,
                     limits: ImportLimits = IMPORT_LIMITS) -> Iterator[dict[str, Any]]:
    """Yield the OSV records (dicts with a string ``id``) found at ``path``.

    ``path`` is a zip export (such as OSV's ``PyPI/all.zip``), a folder searched recursively for ``*.json``,
    ``*.yaml`` and ``*.yml`` files, a ``.jsonl`` / ``.jsonl.gz`` file with one record per line, or a ``.json``
    file holding one record or a list. Unparseable, oversized or non-record entries are skipped and counted in
    ``stats``. A missing path or a file of another kind raises ``InputError`` (when iteration starts).
    """
    counters = stats if stats is not None else ImportStats()
    target = Path(path)
    if not target.exists():
        raise InputError(f"{target} does not exist")
    yield from _reader_for(target)(target, counters, limits)


def import_path(path: Path, dest: Path | None = None, *, limits: ImportLimits = IMPORT_LIMITS) -> DbMetadata:
    """Build the advisory database at ``dest`` (default: ``default_db_path()``) from the OSV data at ``path``.

    The database is replaced atomically, and only when at least one valid record was read.
    """
    return import_path_with_stats(path, dest, limits=limits)[0]


def import_path_with_stats(path: Path, dest: Path | None = None, *, limits: ImportLimits = IMPORT_LIMITS
                           ) -> tuple[DbMetadata, ImportStats]:
    """``import_path`` that also returns what was read and skipped (for the CLI's summary line)."""
    target = Path(path).expanduser()
    stats = ImportStats()
    records = iter_osv_records(target, stats=stats, limits=limits)
    metadata = build_database(records, dest or default_db_path(), source=str(target.resolve()), stats=stats)
    return metadata, stats


__all__ = ["IMPORT_LIMITS", "ImportLimits", "import_path", "import_path_with_stats", "iter_osv_records"]
