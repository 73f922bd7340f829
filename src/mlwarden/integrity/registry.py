"""The signing registry: a local, append-only, hash-chained log of every signing and verification.

It answers "which versions of this model exist, who signed them, what data they came from" and shows any edit of
its own history. Each entry holds its sequence number, time, action (sign / verify), model name and path, the
signed root digest, the signer (key fingerprint, certificate subject and issuer), the verdict, a provenance
summary, the previous entry's hash and its own hash: ``entry_hash = sha256(canonical JSON of every other field,
prev_hash included)``. Canonical JSON: keys sorted, no whitespace, UTF-8, no floats from us (RFC 8785's output for
the strings, integers and nulls used here).

``verify_chain`` finds edited, deleted, reordered and inserted entries, a cut-off tail (against the head kept in
the ``meta`` table) and, given an anchor (``SEQ:HASH`` kept somewhere else), a history rewritten and re-hashed
from scratch, which a hash chain alone cannot show. Triggers refuse UPDATE and DELETE so that tools and mistakes
cannot change history; whoever can write the file can drop them, which is what ``verify_chain`` is for.

The file is ``registry.sqlite3`` in mlwarden's data home (``$MLWARDEN_HOME`` or the user cache folder). Appends
run in ``BEGIN IMMEDIATE`` transactions, so concurrent writers (processes or threads) serialise and the chain stays
linear. This module never stores secrets (keys, passphrases) and never trusts what it reads back: every row is
type- and size-checked before use, so a hostile file gives problems or a one-line InputError, not a traceback.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, get_args

from mlwarden.core.errors import InputError, UsageError
from mlwarden.integrity.model import Manifest, SignatureVerdict, SignerIdentity

__all__ = [
    "GENESIS_HASH",
    "REGISTRY_FILE_NAME",
    "ChainProblem",
    "ModelVersion",
    "RegistryAction",
    "RegistryEntry",
    "RegistryVerdict",
    "SigningRegistry",
    "default_registry_path",
    "entry_hash",
    "parse_anchor",
]

REGISTRY_FILE_NAME = "registry.sqlite3"
# Bump when the table or the hashed fields change; an older mlwarden then refuses the file instead of misreading it.
SCHEMA_VERSION = 1
HASH_DOMAIN = "mlwarden-registry/1"
# The prev_hash of the first entry.
GENESIS_HASH = "0" * 64
RegistryAction = Literal["sign", "verify"]
# sign: signed. verify without a trust policy: verified / failed; with one: allowed / denied.
RegistryVerdict = Literal["signed", "verified", "failed", "allowed", "denied"]
ChainProblemKind = Literal["edited", "deleted", "reordered", "inserted", "truncated", "malformed", "unreadable",
                           "anchor"]
_ACTIONS: tuple[str, ...] = get_args(RegistryAction)
_VERDICTS: tuple[str, ...] = get_args(RegistryVerdict)
# Field bounds, for what we write and for what we accept back from a file someone may have edited.
MAX_FIELD_CHARS = 4096  # PATH_MAX on Linux; names, digests and RFC 4514 subjects fit easily
MAX_PROVENANCE_CHARS = 64 * 1024
# How long a writer waits for another writer's transaction before giving up (seconds).
LOCK_TIMEOUT_S = 30.0
_HEX64 = re.compile(r"[0-9a-f]{64}")

# Column, and whether it may be NULL. The order is the table's and the hash's field list.
_COLUMNS: tuple[tuple[str, bool], ...] = (
    ("recorded_at", False), ("action", False), ("model_name", False), ("model_path", False),
    ("subject_digest", False), ("subject_algorithm", False), ("signature_path", True),
    ("signer_fingerprint", True), ("signer_subject", True), ("signer_issuer", True), ("verdict", False),
    ("provenance", True), ("prev_hash", False), ("entry_hash", False),
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY,
    recorded_at TEXT NOT NULL, action TEXT NOT NULL, model_name TEXT NOT NULL, model_path TEXT NOT NULL,
    subject_digest TEXT NOT NULL, subject_algorithm TEXT NOT NULL, signature_path TEXT,
    signer_fingerprint TEXT, signer_subject TEXT, signer_issuer TEXT, verdict TEXT NOT NULL, provenance TEXT,
    prev_hash TEXT NOT NULL, entry_hash TEXT NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS entries_by_model ON entries (model_name);
CREATE INDEX IF NOT EXISTS entries_by_path ON entries (model_path);
CREATE INDEX IF NOT EXISTS entries_by_digest ON entries (subject_digest);
CREATE TRIGGER IF NOT EXISTS entries_never_updated BEFORE UPDATE ON entries
    BEGIN SELECT RAISE(ABORT, 'the signing registry is append-only'); END;
CREATE TRIGGER IF NOT EXISTS entries_never_deleted BEFORE DELETE ON entries
    BEGIN SELECT RAISE(ABORT, 'the signing registry is append-only'); END;
"""


def default_registry_path() -> Path:
    """``registry.sqlite3`` in mlwarden's data home (``$MLWARDEN_HOME`` or the user cache folder)."""
    from mlwarden.supply.advisories.home import data_home

    return data_home() / REGISTRY_FILE_NAME


# --- values ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class RegistryEntry:
    """One line of the log. ``provenance`` is the stored canonical JSON text of the provenance summary (hashed
    as stored); ``provenance_summary`` parses it."""

    seq: int
    recorded_at: str
    action: RegistryAction
    model_name: str
    model_path: str
    subject_digest: str
    subject_algorithm: str
    signature_path: str | None
    signer_fingerprint: str | None
    signer_subject: str | None
    signer_issuer: str | None
    verdict: RegistryVerdict
    provenance: str | None
    prev_hash: str
    entry_hash: str

    @property
    def provenance_summary(self) -> dict[str, Any] | None:
        if self.provenance is None:
            return None
        try:
            value = json.loads(self.provenance)
        except (ValueError, RecursionError):
            return None
        return value if isinstance(value, dict) else None

    @property
    def hash_ok(self) -> bool:
        """Whether the stored hash matches the content (the link to the previous entry is ``verify_chain``'s)."""
        return entry_hash(self) == self.entry_hash

    def to_dict(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in ("seq", *(column for column, _ in _COLUMNS))}
        out["provenance"] = self.provenance_summary
        return out


@dataclass(frozen=True, slots=True)
class ChainProblem:
    """Something wrong with the log's history. ``seq`` is the entry where it shows (None: the whole file)."""

    kind: ChainProblemKind
    seq: int | None
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """One signed version of a model: everything the log knows about one root digest."""

    model_name: str
    subject_algorithm: str
    subject_digest: str
    first_signed_at: str
    last_signed_at: str
    signers: tuple[str, ...]  # key fingerprints, with "subject (issuer)" for certificate signers
    provenance: tuple[dict[str, Any], ...]
    sign_entries: tuple[int, ...]
    verifications: int
    last_verdict: str | None = None  # of the latest verification, if any
    paths: tuple[str, ...] = field(default=())


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, UTF-8 text, no NaN: the same value always gives the same text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def entry_hash(entry: RegistryEntry | Mapping[str, Any]) -> str:
    """SHA-256 over the canonical JSON of the entry's fields (seq and prev_hash included, entry_hash excluded)."""
    source: Mapping[str, Any] = entry if isinstance(entry, Mapping) else {
        name: getattr(entry, name) for name in ("seq", *(column for column, _ in _COLUMNS))}
    document = {"domain": HASH_DOMAIN, "seq": source["seq"]}
    for column, _ in _COLUMNS:
        if column != "entry_hash":
            document[column] = source[column]
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()


def parse_anchor(text: str) -> tuple[int, str]:
    """``SEQ:HASH`` (as ``registry verify`` prints the head) -> (seq, hash)."""
    seq_text, _, digest = text.strip().partition(":")
    if not seq_text.isdigit() or int(seq_text) < 1 or not _HEX64.fullmatch(digest.lower()):
        raise UsageError(f"anchor '{text[:100]}' is not SEQ:HASH (e.g. 12:3fa4...); copy it from 'registry verify'")
    return int(seq_text), digest.lower()


# --- the registry ----------------------------------------------------------------------------------------------

class SigningRegistry:
    """The log in one SQLite file. Connections are short-lived: one per call, closed before it returns."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else default_registry_path()

    # --- writing -----------------------------------------------------------------------------------------------

    def append(
        self,
        *,
        action: RegistryAction,
        model_name: str,
        model_path: str,
        subject_digest: str,
        verdict: RegistryVerdict,
        subject_algorithm: str = "sha256",
        signature_path: str | None = None,
        signer_fingerprint: str | None = None,
        signer_subject: str | None = None,
        signer_issuer: str | None = None,
        provenance: Mapping[str, Any] | None = None,
        recorded_at: datetime | None = None,
    ) -> RegistryEntry:
        """Add one entry at the end of the chain and return it (with its seq and hashes)."""
        if action not in _ACTIONS:
            raise UsageError(f"registry action '{action}' is not one of {', '.join(_ACTIONS)}")
        if verdict not in _VERDICTS:
            raise UsageError(f"registry verdict '{verdict}' is not one of {', '.join(_VERDICTS)}")
        moment = recorded_at or datetime.now(UTC)
        if moment.tzinfo is None:
            raise UsageError("recorded_at needs a timezone-aware datetime, e.g. datetime.now(UTC)")
        provenance_text = None
        if provenance is not None:
            try:
                provenance_text = canonical_json(dict(provenance))
            except (TypeError, ValueError) as exc:
                raise UsageError(f"provenance summary is not plain JSON data ({exc}); pass strings, "
                                 "integers, lists and tables") from None
            if len(provenance_text) > MAX_PROVENANCE_CHARS:
                raise UsageError(f"provenance summary is {len(provenance_text)} characters, more than the registry "
                                 f"keeps ({MAX_PROVENANCE_CHARS}); summarise it")
        values: dict[str, Any] = {
            "recorded_at": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "action": action,
            "model_name": _text(model_name, "model name"),
            "model_path": _text(model_path, "model path"),
            "subject_digest": _text(subject_digest, "subject digest").lower(),
            "subject_algorithm": _text(subject_algorithm, "subject algorithm"),
            "signature_path": _optional_text(signature_path, "signature path"),
            "signer_fingerprint": _optional_text(signer_fingerprint and signer_fingerprint.lower(),
                                                 "signer fingerprint"),
            "signer_subject": _optional_text(signer_subject, "signer subject"),
            "signer_issuer": _optional_text(signer_issuer, "signer issuer"),
            "verdict": verdict,
            "provenance": provenance_text,
        }
        with self._writer() as connection:
            last = connection.execute("SELECT seq, entry_hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
            seq, prev_hash = (1, GENESIS_HASH) if last is None else (int(last[0]) + 1, str(last[1]))
            values.update(seq=seq, prev_hash=prev_hash)
            values["entry_hash"] = entry_hash(values)
            names = ["seq", *(column for column, _ in _COLUMNS)]
            # Column names are this module's constants; every value is a bound parameter.
            statement = f"INSERT INTO entries ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"  # noqa: S608
            connection.execute(statement, [values[name] for name in names])
            connection.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                                   [("head_seq", str(seq)), ("head_hash", values["entry_hash"])])
        return RegistryEntry(**values)

    def record_signing(self, *, manifest: Manifest, model_path: Path, signer: SignerIdentity,
                       signature_path: Path, provenance: Mapping[str, Any] | None = None,
                       recorded_at: datetime | None = None) -> RegistryEntry:
        """Log that ``signer`` signed ``manifest`` (what ``mlwarden sign`` calls after writing the signature)."""
        return self.append(
            action="sign", verdict="signed", model_name=manifest.model_name, model_path=_path_text(model_path),
            subject_digest=manifest.subject_digest, subject_algorithm=manifest.subject_algorithm,
            signature_path=_path_text(signature_path), signer_fingerprint=signer.key_fingerprint,
            signer_subject=signer.subject, signer_issuer=signer.issuer, provenance=provenance,
            recorded_at=recorded_at)

    def record_verification(self, verdict: SignatureVerdict, *, allowed: bool | None = None,
                            model_name: str | None = None, recorded_at: datetime | None = None) -> RegistryEntry:
        """Log one verification (``allowed``: the trust policy's decision, when one was evaluated)."""
        manifest, signer = verdict.manifest, verdict.signer
        outcome: RegistryVerdict
        if allowed is None:
            outcome = "verified" if verdict.verified else "failed"
        else:
            outcome = "allowed" if allowed else "denied"
        return self.append(
            action="verify", verdict=outcome,
            model_name=model_name or (manifest.model_name if manifest else Path(verdict.model_path).name),
            model_path=_path_text(Path(verdict.model_path)),
            subject_digest=manifest.subject_digest if manifest else "",
            subject_algorithm=manifest.subject_algorithm if manifest else "",
            signature_path=_path_text(Path(verdict.signature_path)),
            signer_fingerprint=signer.key_fingerprint if signer else None,
            signer_subject=signer.subject if signer else None,
            signer_issuer=signer.issuer if signer else None, recorded_at=recorded_at)

    # --- reading -----------------------------------------------------------------------------------------------

    def exists(self) -> bool:
        return self.path.is_file()

    def entries(self, *, model: str | None = None, subject_digest: str | None = None,
                action: RegistryAction | None = None, limit: int | None = None) -> list[RegistryEntry]:
        """Entries in log order; ``model`` matches the model name or the recorded path. No registry: empty."""
        clauses: list[str] = []
        parameters: list[Any] = []
        if model is not None:
            clauses.append("(model_name = ? OR model_path = ?)")
            parameters += [model, model]
        if subject_digest is not None:
            clauses.append("subject_digest = ?")
            parameters.append(subject_digest.lower())
        if action is not None:
            clauses.append("action = ?")
            parameters.append(action)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        suffix = f" ORDER BY seq DESC LIMIT {int(limit)}" if limit is not None else " ORDER BY seq"
        found: list[RegistryEntry] = []
        with self._reader() as connection:
            if connection is None:
                return []
            for row in connection.execute(_select(where + suffix), parameters):
                found.append(self._entry_or_error(row))
        return sorted(found, key=lambda entry: entry.seq)

    def entry(self, seq: int) -> RegistryEntry:
        with self._reader() as connection:
            row = None if connection is None else connection.execute(_select(" WHERE seq = ?"), [seq]).fetchone()
        if row is None:
            raise InputError(f"the signing registry has no entry {seq}; list them with 'mlwarden registry log'")
        return self._entry_or_error(row)

    def head(self) -> tuple[int, str] | None:
        """(seq, entry_hash) of the last entry: keep it elsewhere and pass it to ``verify_chain(anchor=...)``."""
        with self._reader() as connection:
            if connection is None:
                return None
            row = connection.execute("SELECT seq, entry_hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
        if row is None:
            return None
        if not isinstance(row[0], int) or not isinstance(row[1], str):
            raise InputError(f"signing registry {self.path} has a malformed last entry; run 'mlwarden registry "
                             "verify'")
        return row[0], row[1]

    def versions(self, model: str) -> list[ModelVersion]:
        """Every signed version (root digest) of ``model``, oldest first: who signed it, from what data, and how
        its verifications went."""
        grouped: dict[tuple[str, str], list[RegistryEntry]] = {}
        for entry in self.entries(model=model):
            if entry.subject_digest:
                grouped.setdefault((entry.subject_algorithm, entry.subject_digest), []).append(entry)
        found: list[ModelVersion] = []
        for (algorithm, digest), group in grouped.items():
            signings = [e for e in group if e.action == "sign"]
            if not signings:
                continue
            checks = [e for e in group if e.action == "verify"]
            signers: list[str] = []
            for item in signings:
                who = item.signer_fingerprint or "unknown key"
                if item.signer_subject:
                    who += f" {item.signer_subject} ({item.signer_issuer})"
                if who not in signers:
                    signers.append(who)
            found.append(ModelVersion(
                model_name=signings[-1].model_name, subject_algorithm=algorithm, subject_digest=digest,
                first_signed_at=signings[0].recorded_at, last_signed_at=signings[-1].recorded_at,
                signers=tuple(signers),
                provenance=tuple(_unique_summaries(signings)),
                sign_entries=tuple(e.seq for e in signings), verifications=len(checks),
                last_verdict=checks[-1].verdict if checks else None,
                paths=tuple(dict.fromkeys(e.model_path for e in group))))
        return sorted(found, key=lambda version: (version.first_signed_at, version.sign_entries))

    def signed_at(self, *, subject_digest: str, key_fingerprint: str) -> str | None:
        """When this key last signed this root digest, per the log (the trust policy's SigningTimes). The log is
        believed only while its chain verifies: a broken chain raises InputError, which the policy treats as
        an unknown time (deny)."""
        if not self.exists():
            return None
        problems = self.verify_chain()
        if problems:
            raise InputError(f"signing registry {self.path} is damaged ({problems[0]}); run 'mlwarden registry "
                             "verify'")
        with self._reader() as connection:
            if connection is None:
                return None
            row = connection.execute(
                "SELECT recorded_at FROM entries WHERE action = 'sign' AND subject_digest = ? "
                "AND signer_fingerprint = ? ORDER BY seq DESC LIMIT 1",
                [subject_digest.lower(), key_fingerprint.lower()]).fetchone()
        return str(row[0]) if row is not None else None

    # --- checking ----------------------------------------------------------------------------------------------

    def verify_chain(self, *, anchor: tuple[int, str] | None = None) -> list[ChainProblem]:
        """Every way the stored history differs from an untouched append-only chain; empty when intact.

        ``anchor`` (seq, hash), kept outside this file, also catches a history rewritten and re-hashed from the
        start, or cut back to before the anchor. Time and memory are linear in the number of entries.
        """
        problems: list[ChainProblem] = []
        try:
            with self._reader() as connection:
                if connection is None:
                    if anchor is not None:
                        problems.append(ChainProblem("anchor", anchor[0], f"the registry {self.path} is gone, but "
                                                     f"the anchor names entry {anchor[0]}"))
                    return problems
                self._walk_chain(connection, problems, anchor)
        except InputError as exc:
            problems.append(ChainProblem("unreadable", None, str(exc)))
        except sqlite3.Error as exc:  # the file broke while we read it
            problems.append(ChainProblem("unreadable", None, f"the registry {self.path} cannot be read ({exc})"))
        return problems

    def _walk_chain(self, connection: sqlite3.Connection, problems: list[ChainProblem],
                    anchor: tuple[int, str] | None) -> None:
        expected_prev, prev_seq = GENESIS_HASH, 0
        seen: dict[str, int] = {}
        anchor_seen = False
        for row in connection.execute(_select(" ORDER BY seq")):
            decoded = _decode(row)
            if isinstance(decoded, str):
                seq = row[0] if isinstance(row[0], int) else None
                problems.append(ChainProblem("malformed", seq, f"entry {seq}: {decoded}"))
                stored_hash = row[-1] if isinstance(row[-1], str) else None
                expected_prev, prev_seq = stored_hash or "", seq if seq is not None else prev_seq + 1
                continue
            entry = decoded
            gap = entry.seq != prev_seq + 1
            if gap:
                if entry.seq > prev_seq + 1:
                    missing = (f"entry {prev_seq + 1}" if entry.seq == prev_seq + 2
                               else f"entries {prev_seq + 1} to {entry.seq - 1}")
                    problems.append(ChainProblem("deleted", entry.seq, f"{missing} deleted before entry {entry.seq}"))
                else:
                    problems.append(ChainProblem("inserted", entry.seq, f"entry {entry.seq} has an impossible "
                                                 "sequence number"))
            if not entry.hash_ok:
                problems.append(ChainProblem("edited", entry.seq, f"entry {entry.seq} was changed after it was "
                                             "written: its hash does not match its content"))
            if entry.prev_hash != expected_prev and not gap:
                if entry.prev_hash in seen:
                    problems.append(ChainProblem("reordered", entry.seq, f"entry {entry.seq} follows entry "
                                                 f"{seen[entry.prev_hash]}, not entry {prev_seq}: entries were "
                                                 "reordered"))
                else:
                    problems.append(ChainProblem("inserted", entry.seq, f"entry {entry.seq} does not follow entry "
                                                 f"{prev_seq}: an entry was inserted or replaced before it"))
            if entry.entry_hash in seen:
                problems.append(ChainProblem("inserted", entry.seq, f"entry {entry.seq} repeats entry "
                                             f"{seen[entry.entry_hash]}"))
            seen.setdefault(entry.entry_hash, entry.seq)
            if anchor is not None and entry.seq == anchor[0]:
                anchor_seen = True
                if entry.entry_hash != anchor[1]:
                    problems.append(ChainProblem("anchor", entry.seq, f"entry {entry.seq} is not the anchored "
                                                 "entry: the history up to it was rewritten"))
            expected_prev, prev_seq = entry.entry_hash, entry.seq
        if anchor is not None and not anchor_seen:
            problems.append(ChainProblem("anchor", anchor[0], f"the anchored entry {anchor[0]} is missing: the log "
                                         f"ends at entry {prev_seq}"))
        head = _meta_head(connection)
        if head is None:
            if prev_seq:
                problems.append(ChainProblem("truncated", None, "the registry's head record is missing"))
        elif head[0] > prev_seq:
            problems.append(ChainProblem("truncated", head[0], f"the log ends at entry {prev_seq} but its head is "
                                         f"entry {head[0]}: entries were cut off the end"))
        elif head != (prev_seq, expected_prev):
            problems.append(ChainProblem("edited", prev_seq or None, f"the registry's head record (entry {head[0]}) "
                                         f"does not match its last entry ({prev_seq})"))

    # --- connections -------------------------------------------------------------------------------------------

    @contextmanager
    def _writer(self) -> Iterator[sqlite3.Connection]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=LOCK_TIMEOUT_S, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise InputError(f"cannot open the signing registry {self.path} ({exc}); check the folder's "
                             "permissions or set MLWARDEN_HOME") from None
        with closing(connection):
            try:
                connection.execute("BEGIN IMMEDIATE")  # the write lock first: concurrent appends serialise
                _create_schema(connection, self.path)
                _check_schema(connection, self.path)
                yield connection
                connection.execute("COMMIT")
            except BaseException as exc:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise InputError(f"cannot write the signing registry {self.path} ({exc}); run 'mlwarden "
                                     "registry verify' and restore it from a backup if it is damaged") from None
                raise

    @contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection | None]:
        if not self.path.exists():
            yield None
            return
        try:
            connection = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True,
                                         timeout=LOCK_TIMEOUT_S)
        except sqlite3.Error as exc:
            raise InputError(f"cannot open the signing registry {self.path} ({exc}); check the path") from None
        with closing(connection):
            try:
                _check_schema(connection, self.path)
                yield connection
            except sqlite3.Error as exc:
                raise InputError(f"the signing registry {self.path} is unreadable ({exc}); restore it from a "
                                 "backup") from None

    def _entry_or_error(self, row: Sequence[Any]) -> RegistryEntry:
        decoded = _decode(row)
        if isinstance(decoded, str):
            raise InputError(f"signing registry {self.path}: entry {row[0]!r:.20}: {decoded}; run 'mlwarden "
                             "registry verify'")
        return decoded


def _unique_summaries(entries: Sequence[RegistryEntry]) -> list[dict[str, Any]]:
    unique: dict[str, dict[str, Any]] = {}
    for entry in entries:
        summary = entry.provenance_summary
        if summary is not None and entry.provenance is not None:
            unique.setdefault(entry.provenance, summary)
    return list(unique.values())


def _create_schema(connection: sqlite3.Connection, path: Path) -> None:
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if tables and not {"meta", "entries"} <= tables:  # someone else's database: never write into it
        raise InputError(f"{path} is an SQLite database but not an mlwarden signing registry; choose another path")
    # One statement at a time: executescript would COMMIT the IMMEDIATE transaction we are in.
    for statement in _split_statements(_SCHEMA):
        connection.execute(statement)
    connection.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])


def _split_statements(script: str) -> list[str]:
    statements: list[str] = []
    buffer = ""
    for line in script.strip().splitlines():
        buffer += line + "\n"
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    return statements


def _check_schema(connection: sqlite3.Connection, path: Path) -> None:
    try:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        version = None
        if "meta" in tables:
            row = connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            version = row[0] if row is not None else None
    except sqlite3.DatabaseError as exc:
        raise InputError(f"{path} is not a signing registry ({exc}); check the path or restore it from a backup"
                         ) from None
    if not {"meta", "entries"} <= tables or version is None:
        raise InputError(f"{path} is not an mlwarden signing registry; check the path or restore it from a backup")
    if str(version) != str(SCHEMA_VERSION):
        raise InputError(f"signing registry {path} has schema version {str(version)[:20]!r}, this mlwarden reads "
                         f"{SCHEMA_VERSION}; use a matching mlwarden version")


def _meta_head(connection: sqlite3.Connection) -> tuple[int, str] | None:
    rows = dict(connection.execute("SELECT key, substr(value, 1, 100) FROM meta WHERE key IN "
                                   "('head_seq', 'head_hash')").fetchall())
    seq, digest = rows.get("head_seq"), rows.get("head_hash")
    if not isinstance(seq, str) or not seq.isdigit() or not isinstance(digest, str):
        return None
    return int(seq), digest


def _select(suffix: str) -> str:
    """Every column, each as (type, at most its limit + 1 characters): an oversized or mistyped value someone
    wrote into the file is recognised without reading all of it into memory."""
    parts = ["seq", "typeof(seq)"]
    for column, _ in _COLUMNS:
        limit = MAX_PROVENANCE_CHARS if column == "provenance" else MAX_FIELD_CHARS
        parts += [f"typeof({column})", f"substr({column}, 1, {limit + 1})"]
    # Columns and limits are this module's constants, suffixes its own clauses; values are bound parameters.
    return f"SELECT {', '.join(parts)} FROM entries{suffix}"  # noqa: S608


def _decode(row: Sequence[Any]) -> RegistryEntry | str:
    """A row from ``_select`` as an entry, or why it is not one. The last element is the raw entry_hash."""
    seq, seq_type = row[0], row[1]
    if seq_type != "integer" or not isinstance(seq, int):
        return "sequence number is not an integer"
    values: dict[str, Any] = {"seq": seq}
    for index, (column, nullable) in enumerate(_COLUMNS):
        kind, value = row[2 + 2 * index], row[3 + 2 * index]
        limit = MAX_PROVENANCE_CHARS if column == "provenance" else MAX_FIELD_CHARS
        if kind == "null" and nullable:
            values[column] = None
            continue
        if kind != "text" or not isinstance(value, str):
            return f"field {column} is {kind}, not text"
        if len(value) > limit:
            return f"field {column} is longer than {limit} characters"
        values[column] = value
    if values["action"] not in _ACTIONS:
        return f"unknown action {values['action'][:20]!r}"
    if values["verdict"] not in _VERDICTS:
        return f"unknown verdict {values['verdict'][:20]!r}"
    for column in ("prev_hash", "entry_hash"):
        if not _HEX64.fullmatch(values[column]):
            return f"{column} is not a SHA-256 hex digest"
    return RegistryEntry(**values)


def _text(value: str, what: str) -> str:
    if not isinstance(value, str):
        raise UsageError(f"{what} must be text, not {type(value).__name__}")
    # Paths may hold undecodable bytes (surrogate escapes); SQLite stores UTF-8 only, so keep them visibly escaped.
    clean = value.encode("utf-8", "backslashreplace").decode("utf-8")
    if len(clean) > MAX_FIELD_CHARS:
        raise UsageError(f"{what} is {len(clean)} characters, more than the registry keeps ({MAX_FIELD_CHARS})")
    return clean


def _optional_text(value: str | None, what: str) -> str | None:
    return None if value is None else _text(value, what)


def _path_text(path: Path) -> str:
    try:
        return str(path.resolve())
    except (OSError, RuntimeError):  # a symlink loop: record the path as given
        return str(path.absolute())

