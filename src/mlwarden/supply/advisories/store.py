"""The local advisory database: OSV records, cut to what matching and reporting need, in one SQLite file.

``build_database`` turns OSV records (dicts, from any loader) into a fresh database file and swaps it in with
``os.replace``, so readers see either the old database or the new one, never half of one. ``AdvisoryStore``
reads it through a read-only connection, indexed by normalised package name and by id / alias.

Only PyPI ``affected`` entries are kept (mlwarden audits Python dependencies); GIT ranges are dropped (PyPI
versions are not commits). This module never downloads anything and never writes outside the database's
folder; records are data, never executed.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, cast

from mlwarden.core.errors import InputError
from mlwarden.supply.advisories.home import default_db_path
from mlwarden.supply.deps.model import normalize_name

# Bump when the tables or the stored record shape change: an older file is then refused with a rebuild hint.
SCHEMA_VERSION = 1
ECOSYSTEM = "PyPI"

EventKind = Literal["introduced", "fixed", "last_affected", "limit"]
_EVENT_KINDS: tuple[EventKind, ...] = ("introduced", "fixed", "last_affected", "limit")
# Range types whose events are package versions. GIT ranges name commits and cannot be matched to versions.
_VERSION_RANGE_TYPES = ("ECOSYSTEM", "SEMVER")
# Which references to keep first (a finding links one or two; the rest of the record is on osv.dev).
_REFERENCE_PREFERENCE = ("ADVISORY", "FIX", "WEB", "REPORT", "ARTICLE", "PACKAGE")


@dataclass(frozen=True, slots=True)
class RecordLimits:
    """Bounds on one stored record: the full PyPI export fits with room to spare, hostile records do not.

    A record beyond a count limit is skipped (its matching data would be incomplete); long texts are cut.
    """

    max_id_chars: int = 200
    max_aliases: int = 200
    max_affected: int = 2_000
    max_ranges: int = 200
    max_events: int = 2_000
    max_versions: int = 100_000
    # Affected entries + ranges + events + versions of one record. YAML aliases let a small file repeat one big
    # list many times; this keeps the work per record proportional to a sane record.
    max_record_items: int = 500_000
    max_version_chars: int = 200
    max_summary_chars: int = 300
    max_details_chars: int = 500
    max_severity_entries: int = 16
    max_references: int = 5
    max_reference_chars: int = 500


RECORD_LIMITS = RecordLimits()


@dataclass(frozen=True, slots=True)
class Range:
    """One OSV range: ``events`` in record order as (kind, version text) pairs."""

    type: str
    events: tuple[tuple[EventKind, str], ...]


@dataclass(frozen=True, slots=True)
class AffectedPackage:
    """One PyPI package an advisory affects: version ranges and/or an explicit list of versions."""

    name: str
    ranges: tuple[Range, ...] = ()
    versions: tuple[str, ...] = ()

    @property
    def normalized(self) -> str:
        return normalize_name(self.name)


@dataclass(frozen=True, slots=True)
class Advisory:
    id: str
    modified: str = ""
    aliases: tuple[str, ...] = ()
    summary: str = ""
    details: str = ""
    published: str | None = None
    withdrawn: str | None = None
    # (type, score) as in the record: ("CVSS_V3", "CVSS:3.1/AV:N/..."), ("CVSS_V4", ...).
    severity: tuple[tuple[str, str], ...] = ()
    # database_specific.severity as written (GitHub advisories: CRITICAL, HIGH, MODERATE, LOW).
    database_severity: str | None = None
    references: tuple[str, ...] = ()
    affected: tuple[AffectedPackage, ...] = ()

    @property
    def ids(self) -> tuple[str, ...]:
        """The record's own id first, then its aliases."""
        return (self.id, *self.aliases)

    def affected_for(self, package: str) -> tuple[AffectedPackage, ...]:
        """The affected entries of one package (any spelling; compared after PEP 503 normalisation)."""
        wanted = normalize_name(package)
        return tuple(entry for entry in self.affected if entry.normalized == wanted)


@dataclass(frozen=True, slots=True)
class DbMetadata:
    """What a database holds and where it came from. Times are ISO 8601 UTC strings."""

    path: str
    source: str
    snapshot_date: str | None  # newest ``modified`` among the records: how current the data is
    imported_at: str
    record_count: int
    withdrawn_count: int
    package_count: int
    schema_version: int = SCHEMA_VERSION
    skipped_count: int = 0  # malformed or oversized records left out on import

    def age_days(self, now: datetime | None = None) -> float | None:
        """Days since the snapshot date (the data's age), else since the import; None when neither parses."""
        reference = parse_timestamp(self.snapshot_date) or parse_timestamp(self.imported_at)
        if reference is None:
            return None
        current = now or datetime.now(UTC)
        if current.tzinfo is None:
            current = current.replace(tzinfo=UTC)
        return max(0.0, (current - reference).total_seconds() / 86400.0)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class ImportStats:
    """Counters a loader and ``build_database`` share while records stream through (mutable on purpose)."""

    files: int = 0
    records: int = 0
    skipped_records: int = 0
    skipped_files: int = 0
    problems: list[str] = field(default_factory=list)
    max_problems: int = 20

    def skip(self, what: str, *, file: bool = False) -> None:
        if file:
            self.skipped_files += 1
        else:
            self.skipped_records += 1
        if len(self.problems) < self.max_problems:
            self.problems.append(what)


class MissingDatabaseError(InputError):
    """There is no advisory database where one was expected."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"no advisory database at {path}: run 'mlwarden db update' (online) or "
                         f"'mlwarden db import PATH' with an OSV export")
        self.path = path


# --------------------------------------------------------------------------------------------------------------
# OSV record -> Advisory


class _Malformed(Exception):
    """A record that cannot be stored as it is; it is counted and skipped."""


def parse_timestamp(text: str | None) -> datetime | None:
    """An RFC 3339 / ISO 8601 time as an aware UTC datetime, or None."""
    if not text or not isinstance(text, str):
        return None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _format_timestamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(value: Any, *, required: bool = False, limit: int | None = None) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise _Malformed(f"expected a string, got {type(value).__name__}")
    if limit is not None and len(value) > limit:
        return value[: limit - 1].rstrip() + "\u2026"
    return value


def _version_text(value: Any, limits: RecordLimits) -> str:
    # YAML or JSON numbers (1.1) are accepted and turned back into text; booleans and containers are not.
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _Malformed("a version is not a string")
    text = str(value).strip()
    if not text or len(text) > limits.max_version_chars:
        raise _Malformed("a version is empty or too long")
    return text


def _list(value: Any, limit: int, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Malformed(f"{what} is not a list")
    if len(value) > limit:
        raise _Malformed(f"too many {what} ({len(value)} > {limit})")
    return value


def _range_from_osv(raw: Any, limits: RecordLimits) -> Range | None:
    if not isinstance(raw, dict):
        raise _Malformed("a range is not an object")
    kind = raw.get("type")
    if not isinstance(kind, str):
        raise _Malformed("a range has no type")
    if kind.upper() not in _VERSION_RANGE_TYPES:
        return None
    events: list[tuple[EventKind, str]] = []
    for event in _list(raw.get("events"), limits.max_events, "events"):
        if not isinstance(event, dict) or len(event) != 1:
            raise _Malformed("an event must be an object with one key")
        ((name, value),) = event.items()
        if name not in _EVENT_KINDS:
            raise _Malformed(f"unknown event '{str(name)[:40]}'")
        events.append((cast(EventKind, name), _version_text(value, limits)))
    return Range(kind.upper(), tuple(events))


def _affected_from_osv(raw: Any, limits: RecordLimits) -> AffectedPackage | None:
    if not isinstance(raw, dict):
        raise _Malformed("an affected entry is not an object")
    package = raw.get("package")
    if not isinstance(package, dict):
        return None  # OSV allows affected entries without a package (e.g. GIT-only); nothing to match by name
    ecosystem = package.get("ecosystem")
    # "PyPI" possibly with a ":suffix" (the schema allows ecosystem variants); other ecosystems are ignored.
    if not isinstance(ecosystem, str) or ecosystem.split(":", 1)[0] != ECOSYSTEM:
        return None
    name = package.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > limits.max_id_chars:
        raise _Malformed("a PyPI package has no usable name")
    ranges = tuple(r for r in (_range_from_osv(item, limits)
                               for item in _list(raw.get("ranges"), limits.max_ranges, "ranges")) if r)
    versions = tuple(_version_text(v, limits) for v in _list(raw.get("versions"), limits.max_versions, "versions"))
    return AffectedPackage(name.strip(), ranges, versions)


def _severity_from_osv(raw: Any, limits: RecordLimits) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for entry in _list(raw, limits.max_severity_entries, "severity entries"):
        if isinstance(entry, dict) and isinstance(entry.get("type"), str) and isinstance(entry.get("score"), str):
            out.append((entry["type"][:40], entry["score"][:400]))
    return tuple(out)


def _references_from_osv(raw: Any, limits: RecordLimits) -> tuple[str, ...]:
    if not isinstance(raw, list):
        return ()
    usable = [(item.get("type"), item["url"]) for item in raw[:1000]
              if isinstance(item, dict) and isinstance(item.get("url"), str)
              and len(item["url"]) <= limits.max_reference_chars]

    def rank(pair: tuple[Any, str]) -> int:
        kind = pair[0]
        return _REFERENCE_PREFERENCE.index(kind) if kind in _REFERENCE_PREFERENCE else len(_REFERENCE_PREFERENCE)

    ranked = sorted(usable, key=rank)  # stable: record order within one type
    return tuple(dict.fromkeys(url for _, url in ranked))[: limits.max_references]


def _item_count(affected: list[Any], cap: int) -> int:
    """Entries, ranges, events and versions in ``affected``; stops counting once past ``cap``."""
    total = len(affected)
    for item in affected:
        if total > cap:
            break
        if not isinstance(item, dict):
            continue
        versions, ranges = item.get("versions"), item.get("ranges")
        total += len(versions) if isinstance(versions, list) else 0
        if isinstance(ranges, list):
            total += len(ranges)
            total += sum(len(r["events"]) for r in ranges[:cap]
                         if isinstance(r, dict) and isinstance(r.get("events"), list))
    return total


def _withdrawn_mark(value: Any) -> str | None:
    """The ``withdrawn`` time as text, or None for a live record.

    The schema wants a timestamp; any other non-empty text (or ``true``) still reads as withdrawn, while an
    explicit false or an empty value reads as live: a record is only dropped when it says it was withdrawn.
    """
    if value is True:
        return "true"
    if isinstance(value, str) and value.strip() and value.strip().lower() not in ("false", "null", "no"):
        return value.strip()[:64]
    return None


def advisory_from_osv(record: Any, *, limits: RecordLimits = RECORD_LIMITS) -> Advisory | None:
    """The stored form of one OSV record, or None when it is malformed (callers count and skip those).

    Required: a string ``id`` and ``modified`` (the OSV schema's required fields). Malformed parts that matching
    depends on (PyPI affected entries, ranges, events, versions) reject the whole record rather than storing a
    record that would silently match less than it says.
    """
    try:
        return _advisory_from_osv(record, limits)
    except (_Malformed, RecursionError):
        return None


def _advisory_from_osv(record: Any, limits: RecordLimits) -> Advisory:
    if not isinstance(record, dict):
        raise _Malformed("not an object")
    advisory_id = _text(record.get("id"), required=True)
    modified = _text(record.get("modified"), required=True)
    assert advisory_id is not None and modified is not None
    advisory_id = advisory_id.strip()
    if not advisory_id or len(advisory_id) > limits.max_id_chars:
        raise _Malformed("the id is empty or too long")
    aliases = tuple(dict.fromkeys(a.strip() for a in _list(record.get("aliases"), limits.max_aliases, "aliases")
                                  if isinstance(a, str) and a.strip() and len(a) <= limits.max_id_chars
                                  and a.strip() != advisory_id))
    raw_affected = _list(record.get("affected"), limits.max_affected, "affected")
    if _item_count(raw_affected, limits.max_record_items) > limits.max_record_items:
        raise _Malformed("too many affected items")
    affected = tuple(a for a in (_affected_from_osv(item, limits) for item in raw_affected) if a)
    database_specific = record.get("database_specific")
    database_severity = None
    if isinstance(database_specific, dict) and isinstance(database_specific.get("severity"), str):
        database_severity = database_specific["severity"].strip()[:40] or None
    withdrawn = record.get("withdrawn")
    return Advisory(
        id=advisory_id,
        modified=modified.strip(),
        aliases=aliases,
        summary=_text(record.get("summary"), limit=limits.max_summary_chars) or "",
        details=_text(record.get("details"), limit=limits.max_details_chars) or "",
        published=_text(record.get("published"), limit=64),
        withdrawn=_withdrawn_mark(withdrawn),
        severity=_severity_from_osv(record.get("severity"), limits),
        database_severity=database_severity,
        references=_references_from_osv(record.get("references"), limits),
        affected=affected,
    )


# --------------------------------------------------------------------------------------------------------------
# Encoding of one advisory in the database: compact JSON, zlib-compressed (explicit version lists make up most
# of a record and compress about tenfold); the id and the withdrawn flag have their own columns.

_MAX_BODY_BYTES = 64 * 1024 * 1024  # a stored record never decompresses beyond this (a corrupt file cannot bomb)


def _encode(advisory: Advisory) -> bytes:
    body: dict[str, Any] = {"m": advisory.modified}
    if advisory.aliases:
        body["a"] = list(advisory.aliases)
    if advisory.summary:
        body["s"] = advisory.summary
    if advisory.details:
        body["d"] = advisory.details
    if advisory.published:
        body["p"] = advisory.published
    if advisory.severity:
        body["v"] = [list(pair) for pair in advisory.severity]
    if advisory.database_severity:
        body["ds"] = advisory.database_severity
    if advisory.references:
        body["r"] = list(advisory.references)
    body["af"] = [{"n": entry.name, "r": [[rng.type, [list(e) for e in rng.events]] for rng in entry.ranges],
                   "v": list(entry.versions)} for entry in advisory.affected]
    return zlib.compress(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8"), 6)


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected text")
    return value


def _optional_str(value: Any) -> str | None:
    return None if value is None else _str(value)


def _strs(values: Any) -> tuple[str, ...]:
    if not isinstance(values, list):
        raise ValueError("expected a list")
    return tuple(_str(value) for value in values)


def _pair(value: Any) -> tuple[str, str]:
    first, second = _strs(value)  # exactly two, or ValueError
    return first, second


def _decode(advisory_id: str, withdrawn: str | None, blob: bytes) -> Advisory:
    """The stored form back; types are checked so a damaged file fails here (ValueError), not in matching."""
    inflater = zlib.decompressobj()
    text = inflater.decompress(blob, _MAX_BODY_BYTES)
    if inflater.unconsumed_tail:
        raise ValueError("record too large")
    body = json.loads(text)
    affected = []
    for entry in body["af"]:
        ranges = []
        for kind, events in entry["r"]:
            pairs = tuple(_pair(event) for event in events)
            if any(k not in _EVENT_KINDS for k, _ in pairs):
                raise ValueError("unknown event kind")
            ranges.append(Range(_str(kind), tuple((cast(EventKind, k), v) for k, v in pairs)))
        affected.append(AffectedPackage(_str(entry["n"]), tuple(ranges), _strs(entry["v"])))
    return Advisory(
        id=_str(advisory_id),
        modified=_str(body["m"]),
        aliases=_strs(body.get("a", [])),
        summary=_str(body.get("s", "")),
        details=_str(body.get("d", "")),
        published=_optional_str(body.get("p")),
        withdrawn=_optional_str(withdrawn),
        severity=tuple(_pair(item) for item in body.get("v", [])),
        database_severity=_optional_str(body.get("ds")),
        references=_strs(body.get("r", [])),
        affected=tuple(affected),
    )


# --------------------------------------------------------------------------------------------------------------
# Writing

_SCHEMA_SQL = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    "CREATE TABLE advisory (pk INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, withdrawn TEXT, body BLOB NOT NULL)",
    # Every id and alias, upper-cased, pointing at the records that carry it (a CVE is often in two records).
    "CREATE TABLE advisory_key (key TEXT NOT NULL, pk INTEGER NOT NULL, PRIMARY KEY (key, pk)) WITHOUT ROWID",
    # Normalised PyPI package names (PEP 503) -> records.
    "CREATE TABLE advisory_package (name TEXT NOT NULL, pk INTEGER NOT NULL, PRIMARY KEY (name, pk)) "
    "WITHOUT ROWID",
)


def _newer(candidate: Advisory, current: Advisory) -> bool:
    new, old = parse_timestamp(candidate.modified), parse_timestamp(current.modified)
    if new is not None and old is not None:
        return new > old
    return new is not None


def _collect(records: Iterable[Any], stats: ImportStats, limits: RecordLimits) -> dict[str, Advisory]:
    """Convert records, keeping the newest ``modified`` when one id appears twice (a folder plus a zip...)."""
    by_id: dict[str, Advisory] = {}
    for record in records:
        advisory = advisory_from_osv(record, limits=limits)
        if advisory is None:
            raw_id = record.get("id") if isinstance(record, dict) else None
            stats.skip(f"malformed record {str(raw_id)[:80]!r}" if raw_id else "malformed record")
            continue
        stats.records += 1
        current = by_id.get(advisory.id)
        if current is None or _newer(advisory, current):
            by_id[advisory.id] = advisory
    return by_id


def build_database(records: Iterable[Any], dest: Path, *, source: str, stats: ImportStats | None = None,
                   limits: RecordLimits = RECORD_LIMITS, now: datetime | None = None) -> DbMetadata:
    """Write ``records`` (OSV dicts) into a new database and atomically replace ``dest`` with it.

    The new file is written next to ``dest`` and renamed over it only when complete, so a failure (no valid
    record, a full disk, an interrupted loader) leaves any existing database untouched. Records that are
    malformed are skipped and counted (``stats``, and ``skipped_count`` in the metadata); non-PyPI affected
    entries are dropped. Raises ``InputError`` when no valid record remains or the file cannot be written.
    """
    counters = stats if stats is not None else ImportStats()
    by_id = _collect(records, counters, limits)
    if not by_id:
        raise InputError(f"no valid OSV records in {source}: expected OSV JSON/YAML advisories "
                         f"(https://ossf.github.io/osv-schema/)")
    dest = Path(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the folder for {dest}: {exc.strerror or exc}") from None
    imported_at = _format_timestamp(now or datetime.now(UTC))
    newest = max((t for t in (parse_timestamp(a.modified) for a in by_id.values()) if t is not None), default=None)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    except OSError as exc:
        raise InputError(f"cannot write {dest}: {exc.strerror or exc}") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        metadata = _write(tmp, by_id, source=source, imported_at=imported_at,
                          snapshot=_format_timestamp(newest) if newest else None,
                          skipped=counters.skipped_records + counters.skipped_files, dest=dest)
        _fsync(tmp)
        os.replace(tmp, dest)
    except sqlite3.Error as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write advisory database {dest}: {exc}") from None
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write advisory database {dest}: {exc.strerror or exc}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return metadata


def _fsync(path: Path) -> None:
    # The rename must not become durable before the data it points at (a crash would leave a broken file).
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _write(tmp: Path, by_id: dict[str, Advisory], *, source: str, imported_at: str, snapshot: str | None,
           skipped: int, dest: Path) -> DbMetadata:
    connection = sqlite3.connect(tmp)
    try:
        # A fresh private file that is renamed into place when complete: no journal needed while building it.
        connection.execute("PRAGMA journal_mode=OFF")
        connection.execute("PRAGMA synchronous=OFF")
        for statement in _SCHEMA_SQL:
            connection.execute(statement)
        withdrawn_count = 0
        packages: set[str] = set()
        key_rows: list[tuple[str, int]] = []
        package_rows: list[tuple[str, int]] = []
        advisory_rows: list[tuple[int, str, str | None, bytes]] = []
        for pk, advisory_id in enumerate(sorted(by_id), start=1):
            advisory = by_id[advisory_id]
            withdrawn_count += advisory.withdrawn is not None
            advisory_rows.append((pk, advisory.id, advisory.withdrawn, _encode(advisory)))
            key_rows.extend((key, pk) for key in {i.upper() for i in advisory.ids})
            names = {entry.normalized for entry in advisory.affected}
            packages |= names
            package_rows.extend((name, pk) for name in names)
        connection.executemany("INSERT INTO advisory VALUES (?, ?, ?, ?)", advisory_rows)
        connection.executemany("INSERT INTO advisory_key VALUES (?, ?)", key_rows)
        connection.executemany("INSERT INTO advisory_package VALUES (?, ?)", package_rows)
        metadata = DbMetadata(path=str(dest), source=source, snapshot_date=snapshot, imported_at=imported_at,
                              record_count=len(by_id), withdrawn_count=withdrawn_count,
                              package_count=len(packages), schema_version=SCHEMA_VERSION, skipped_count=skipped)
        connection.executemany("INSERT INTO meta VALUES (?, ?)", [
            ("schema_version", str(SCHEMA_VERSION)), ("source", source), ("snapshot_date", snapshot or ""),
            ("imported_at", imported_at), ("record_count", str(metadata.record_count)),
            ("withdrawn_count", str(withdrawn_count)), ("package_count", str(len(packages))),
            ("skipped_count", str(skipped)),
        ])
        connection.commit()
    finally:
        connection.close()
    return metadata


# --------------------------------------------------------------------------------------------------------------
# Reading

_CORRUPT_HINT = "rebuild it with 'mlwarden db update' or 'mlwarden db import PATH'"
_MAX_CACHED_PACKAGES = 4096


class AdvisoryStore:
    """Read access to one advisory database file (read-only connection; safe to share between threads)."""

    def __init__(self, connection: sqlite3.Connection, path: Path, metadata: DbMetadata) -> None:
        self._connection = connection
        self._path = path
        self._metadata = metadata
        self._by_package: dict[str, list[Advisory]] = {}

    @classmethod
    def open(cls, path: Path | None = None) -> AdvisoryStore:
        """Open the database at ``path`` (default: ``default_db_path()``).

        Raises ``MissingDatabaseError`` when there is none, ``InputError`` when the file is not a database of
        this mlwarden version.
        """
        target = Path(path) if path is not None else default_db_path()
        if not target.is_file():
            raise MissingDatabaseError(target)
        uri = target.resolve().as_uri() + "?mode=ro"
        try:
            # Python's sqlite3 is built serialized (threadsafety 3) where sharing across threads is safe.
            connection = sqlite3.connect(uri, uri=True, check_same_thread=sqlite3.threadsafety != 3)
        except sqlite3.Error as exc:
            raise InputError(f"cannot open advisory database {target}: {exc}") from None
        try:
            metadata = _read_metadata(connection, target)
        except BaseException:
            connection.close()
            raise
        return cls(connection, target, metadata)

    @property
    def path(self) -> Path:
        return self._path

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> AdvisoryStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def metadata(self) -> DbMetadata:
        return self._metadata

    def age_days(self, now: datetime | None = None) -> float | None:
        return self._metadata.age_days(now)

    def advisories_for(self, name: str, *, include_withdrawn: bool = False) -> list[Advisory]:
        """The advisories with a PyPI ``affected`` entry for ``name`` (normalised here too), sorted by id.

        Withdrawn records are left out unless asked for: they must never match.
        """
        normalized = normalize_name(name)
        cached = self._by_package.get(normalized)
        if cached is None:
            rows = self._query("SELECT a.id, a.withdrawn, a.body FROM advisory_package p JOIN advisory a "
                               "ON a.pk = p.pk WHERE p.name = ? ORDER BY a.id", (normalized,))
            cached = [self._decode_row(row) for row in rows]
            if len(self._by_package) >= _MAX_CACHED_PACKAGES:
                self._by_package.clear()
            self._by_package[normalized] = cached
        return [a for a in cached if include_withdrawn or a.withdrawn is None]

    def get(self, id_or_alias: str) -> Advisory | None:
        """The record with this id, else one that lists it as an alias (case-insensitive); withdrawn included."""
        return next(iter(self.lookup(id_or_alias)), None)

    def lookup(self, id_or_alias: str) -> list[Advisory]:
        """Every record that carries ``id_or_alias`` as its id or an alias; the record with that id first."""
        key = id_or_alias.strip().upper()
        rows = self._query("SELECT a.id, a.withdrawn, a.body FROM advisory_key k JOIN advisory a ON a.pk = k.pk "
                           "WHERE k.key = ? ORDER BY a.id", (key,))
        found = [self._decode_row(row) for row in rows]
        return sorted(found, key=lambda a: a.id.upper() != key)

    def __iter__(self) -> Iterator[Advisory]:
        """Every record, withdrawn included, in id order (for exports and tests)."""
        for row in self._query("SELECT id, withdrawn, body FROM advisory ORDER BY id", ()):
            yield self._decode_row(row)

    def _query(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        try:
            return self._connection.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise InputError(f"advisory database {self._path} cannot be read ({exc}): {_CORRUPT_HINT}") from None

    def _decode_row(self, row: Any) -> Advisory:
        try:
            return _decode(row[0], row[1], row[2])
        except (ValueError, KeyError, TypeError, RecursionError, zlib.error):
            raise InputError(f"advisory database {self._path} holds a corrupt record {str(row[0])[:80]!r}: "
                             f"{_CORRUPT_HINT}") from None


def _read_metadata(connection: sqlite3.Connection, path: Path) -> DbMetadata:
    try:
        values = dict(connection.execute("SELECT key, value FROM meta").fetchall())
    except sqlite3.Error:
        raise InputError(f"{path} is not an mlwarden advisory database: {_CORRUPT_HINT}") from None
    try:
        version = int(values.get("schema_version", "0"))
    except ValueError:
        version = 0
    if version != SCHEMA_VERSION:
        raise InputError(f"advisory database {path} has format {version}, this mlwarden reads format "
                         f"{SCHEMA_VERSION}: {_CORRUPT_HINT}")
    try:
        return DbMetadata(
            path=str(path), source=values.get("source", ""), snapshot_date=values.get("snapshot_date") or None,
            imported_at=values.get("imported_at", ""), record_count=int(values.get("record_count", "0")),
            withdrawn_count=int(values.get("withdrawn_count", "0")),
            package_count=int(values.get("package_count", "0")), schema_version=version,
            skipped_count=int(values.get("skipped_count", "0")))
    except ValueError:
        raise InputError(f"advisory database {path} has corrupt metadata: {_CORRUPT_HINT}") from None
