"""Anonymize data files: replace the personal data the recognizers find (and whole table columns or JSON fields
the policy names) with what an operator makes of it, streaming, into a new file.

Operators (one registry table, ``OPERATORS``; each is a function of the value, its entity label, its settings
and the dataset keys):

============  ==============================================================================================
keep          leave the value as it is (useful as a per-column override)
redact        remove the value (empty string)
mask          replace every letter and digit with ``*`` except the last ``keep_last`` (never more than half)
tag           replace with the entity label: ``<EMAIL>``
hash          keyed hash: ``H_`` + the first 128 bits of HMAC-SHA256(dataset key, value) in hex; the same value
              always gives the same token under the same key (joins keep working), another key gives another
drop          a table column or JSON field is removed; inside text it behaves like ``redact``
surrogate     keyed, deterministic fake of the same length and shape: digits stay digits, letters stay letters
              of the same case, everything else is kept; a card number gets a valid Luhn check digit and an IBAN
              keeps its country and gets valid check digits. Not reversible; two values may collide.
generalize    ``year`` (a date to its year), ``prefix`` (a ZIP / postcode to its first ``prefix_chars``
              characters, the rest masked), ``age_band`` (an age to a ``band_width`` band; 90 and over is
              ``90+`` as HIPAA Safe Harbor asks)
encrypt       reversible pseudonym: ``MWP1_`` + base64url(AES-SIV(dataset key, value)); deterministic, so equal
              values give equal tokens; ``mlwarden reidentify`` (``mlwarden.privacy.reidentify``) reverses it
============  ==============================================================================================

The dataset key is a symmetric key file (``mlwarden enc-keygen --kind symmetric``, the format of
``mlwarden.crypto.recipients``); each operator uses its own subkey derived with HKDF-SHA256, so a hash token
reveals nothing about the AES-SIV key and the other way round.

Files are read and written in a stream (text line by line, long lines in overlapping windows; JSON Lines
record by record; CSV/TSV row by row after one sampling pass that classifies the columns), into a temporary
file in the destination folder that replaces the destination only when everything was written.

This module must never write in place, never leave a partial output behind, and never put a raw value
(found or not) into an exception, a summary or a log line. Records it cannot parse are dropped and counted,
never copied through.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import json
import os
import re
import tempfile
import tomllib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import IO, Any, Literal

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mlwarden.core.errors import ConfigError, InputError, UsageError
from mlwarden.crypto.recipients import SymmetricKey, load_key_file
from mlwarden.privacy.model import PiiHit
from mlwarden.privacy.validators import luhn_valid

__all__ = [
    "KEYED_OPERATORS", "OPERATORS", "PSEUDONYM_PREFIX", "AnonymizePolicy", "AnonymizeSummary", "DatasetKeys",
    "OperatorSpec", "anonymize_file", "anonymize_text", "apply_operator", "load_policy", "open_output",
]

Analyze = Callable[..., list[PiiHit]]
OperatorName = Literal["keep", "redact", "mask", "tag", "hash", "drop", "surrogate", "generalize", "encrypt"]
Scheme = Literal["year", "prefix", "age_band"]

# Operators that need the dataset key.
KEYED_OPERATORS = frozenset({"hash", "surrogate", "encrypt"})
# Reversible pseudonyms start with this; ``reidentify`` finds them by it (the rest is base64url).
PSEUDONYM_PREFIX = "MWP1_"
HASH_PREFIX = "H_"
HASH_HEX_CHARS = 32  # 128 bits of the HMAC: collisions are negligible for any data set
# A value longer than this is not encrypted (tokens must stay findable with a bounded pattern).
MAX_ENCRYPT_BYTES = 64 * 1024

# Streaming bounds (the same sizes the scanner uses in mlwarden.privacy.files.PiiLimits): text is analysed in
# windows of WINDOW_CHARS, the last WINDOW_OVERLAP characters of a window that does not end a line are analysed
# again with the next one, so that no entity is cut at a window edge.
WINDOW_CHARS = 65_536
WINDOW_OVERLAP = 256
MAX_RECORD_CHARS = 16 * 1024 * 1024
MAX_JSON_DEPTH = 64
MAX_JSON_BYTES = 64 * 1024 * 1024
SAMPLE_ROWS = 1000
_DELIMITER_DEFAULT = {"csv": ",", "tsv": "\t"}

# HKDF labels of the per-operator subkeys (info strings; changing one changes every token it makes).
_HKDF_INFO = {"hash": b"mlwarden-anonymize/v1 hmac-sha256", "surrogate": b"mlwarden-anonymize/v1 surrogate",
              "encrypt": b"mlwarden-anonymize/v1 aes-siv"}

_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)")
_NUMBER = re.compile(r"\s{0,8}(\d{1,3})(?:[.,]\d{1,6})?\s{0,8}")
_DIGITS = "0123456789"
_LOWER = "abcdefghijklmnopqrstuvwxyz"
_UPPER = _LOWER.upper()


# --- policy -------------------------------------------------------------------------------------------------

class OperatorSpec(BaseModel):
    """One operator and its settings. In a policy file a bare name (``"hash"``) stands for ``{operator = ...}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    operator: OperatorName
    keep_last: int = Field(default=4, ge=0, le=64, description="mask: letters and digits left visible at the end")
    mask_char: str = Field(default="*", min_length=1, max_length=1)
    scheme: Scheme = Field(default="year", description="generalize: year, prefix or age_band")
    prefix_chars: int = Field(default=3, ge=0, le=16, description="generalize prefix: characters kept")
    band_width: int = Field(default=10, ge=1, le=100, description="generalize age_band: years per band")

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, data: object) -> object:
        return {"operator": data} if isinstance(data, str) else data


_LABEL = re.compile(r"[A-Z][A-Z0-9_]{0,63}")


class AnonymizePolicy(BaseModel):
    """What to do with each entity, column and field.

    ``entities`` maps an entity label to its operator (``default`` for the others); ``columns`` maps a table
    column name, or a JSON field path (``user.email``; list indices may be left out), to an operator applied to
    the whole value, overriding detection. ``key_file`` names the dataset key (relative paths are relative to
    the policy file).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    default: OperatorSpec = OperatorSpec(operator="tag")
    entities: dict[str, OperatorSpec] = Field(default_factory=dict)
    columns: dict[str, OperatorSpec] = Field(default_factory=dict)
    key_file: Path | None = None
    min_confidence: float = Field(default=0.5, ge=0.0, le=1.0)

    @field_validator("entities")
    @classmethod
    def _labels(cls, value: dict[str, OperatorSpec]) -> dict[str, OperatorSpec]:
        for label in value:
            if not _LABEL.fullmatch(label):
                raise ValueError(f"entity label '{label[:40]}' must be upper case, such as EMAIL")
        return value

    def for_entity(self, entity: str) -> OperatorSpec:
        return self.entities.get(entity, self.default)

    def for_field(self, path: str) -> OperatorSpec | None:
        """The override for a column or JSON field path (exact, or with list indices left out)."""
        spec = self.columns.get(path)
        if spec is None and "." in path:
            spec = self.columns.get(".".join(part for part in path.split(".") if not part.isdigit()))
        return spec

    def needs_key(self) -> bool:
        specs = [self.default, *self.entities.values(), *self.columns.values()]
        return any(spec.operator in KEYED_OPERATORS for spec in specs)


def load_policy(path: Path) -> AnonymizePolicy:
    """Read a policy from a TOML or JSON file; ``key_file`` is resolved against the policy's folder."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise InputError(f"cannot read policy {path} ({error.strerror or type(error).__name__})") from None
    if len(raw) > 1024 * 1024:
        raise ConfigError(f"policy {path} is over 1 MiB; a policy is a short TOML or JSON file")
    try:
        text = raw.decode("utf-8")
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
        policy = AnonymizePolicy.model_validate(data)
    except (UnicodeDecodeError, ValueError, tomllib.TOMLDecodeError) as error:
        if isinstance(error, ValidationError):
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()[:5])
            raise ConfigError(f"policy {path} is invalid: {problems}") from None
        raise ConfigError(f"policy {path} is not valid {'JSON' if path.suffix == '.json' else 'TOML'}: "
                          f"{type(error).__name__}") from None
    if policy.key_file is not None and not policy.key_file.is_absolute():
        policy = policy.model_copy(update={"key_file": path.parent / policy.key_file})
    return policy


# --- keys ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DatasetKeys:
    """The per-operator subkeys of one dataset key. Never printed (``repr`` shows nothing)."""

    hmac_key: bytes = field(repr=False)
    surrogate_key: bytes = field(repr=False)
    siv: AESSIV = field(repr=False)

    @classmethod
    def from_key(cls, key: SymmetricKey) -> DatasetKeys:
        return _derive(key.key)


@lru_cache(maxsize=8)
def _derive(material: bytes) -> DatasetKeys:
    def sub(name: str, length: int) -> bytes:
        return HKDF(hashes.SHA256(), length, salt=None, info=_HKDF_INFO[name]).derive(material)

    return DatasetKeys(sub("hash", 32), sub("surrogate", 32), AESSIV(sub("encrypt", 64)))


def _raw(value: str) -> bytes:
    return value.encode("utf-8", "surrogateescape")  # bytes that were not UTF-8 survive the round trip


# --- operators ----------------------------------------------------------------------------------------------

Operator = Callable[[str, str, OperatorSpec, "DatasetKeys | None"], str]


def _need(keys: DatasetKeys | None, operator: str) -> DatasetKeys:
    if keys is None:
        raise UsageError(f"operator '{operator}' needs a dataset key: pass --key-file (create one with "
                         "'mlwarden enc-keygen --kind symmetric')")
    return keys


def _keep(value: str, entity: str, spec: OperatorSpec, keys: DatasetKeys | None) -> str:
    return value


def _redact(value: str, entity: str, spec: OperatorSpec, keys: DatasetKeys | None) -> str:
    return ""


def _tag(value: str, entity: str, spec: OperatorSpec, keys: DatasetKeys | None) -> str:
    return f"<{entity}>"


def _mask(value: str, entity: str, spec: OperatorSpec, keys: DatasetKeys | None) -> str:
    positions = [i for i, char in enumerate(value) if char.isalnum()]
    visible = min(spec.keep_last, len(positions) // 2)  # never show most of a short value
    shown = set(positions[len(positions) - visible:]) if visible else set()
    return "".join(char if (i in shown or not char.isalnum()) else spec.mask_char for i, char in enumerate(value))


def _hash(value: str, entity: str, spec: OperatorSpec, keys: DatasetKeys | None) -> str:
    digest = hmac.new(_need(keys, "hash").hmac_key, _raw(value), hashlib.sha256).hexdigest()
    return HASH_PREFIX + digest[:HASH_HEX_CHARS]


def _surrogate(value: str, entity: str, spec: OperatorSpec, keys: DatasetKeys | None) -> str:
    seed = hmac.new(_need(keys, "surrogate").surrogate_key, _raw(value), hashlib.sha256).digest()
    stream = hashlib.shake_256(seed).digest(len(value))
    chars = []
    for char, byte in zip(value, stream, strict=True):
        if char.isdigit():
            chars.append(_DIGITS[byte % 10])
        elif char.isalpha():
            chars.append((_UPPER if char.isupper() else _LOWER)[byte % 26])
        else:
            chars.append(char)
    fake = "".join(chars)
    digits = [i for i, char in enumerate(fake) if char.isdigit()]
    if entity == "CREDIT_CARD" or (13 <= len(digits) <= 19 and len(digits) == sum(c.isalnum() for c in value)
                                   and luhn_valid(value)):
        fake = _fix_luhn(fake, digits)
    elif entity == "IBAN":
        fake = _fix_iban(value, fake)
    return fake


def _fix_luhn(fake: str, digits: list[int]) -> str:
    if len(digits) < 2:
        return fake
    body = [int(fake[i]) for i in digits[:-1]]
    total = 0
    for n, digit in enumerate(reversed(body)):  # the check digit will be position 0 from the right
        doubled = digit * 2 if n % 2 == 0 else digit
        total += doubled - 9 if doubled > 9 else doubled
    check = (10 - total % 10) % 10
    last = digits[-1]
    return fake[:last] + str(check) + fake[last + 1:]


def _fix_iban(value: str, fake: str) -> str:
    """Keep the original country code, put valid ISO 13616 check digits in positions 3-4."""
    positions = [i for i, char in enumerate(fake) if char.isalnum()]
    if len(positions) < 5:
        return fake
    chars = list(fake)
    for i in positions[:2]:
        chars[i] = value[i].upper()
    compact = "".join(chars[i] for i in positions).upper()
    rearranged = compact[4:] + compact[:2] + "00"
    number = int("".join(str(int(c, 36)) for c in rearranged))
    check = f"{98 - number % 97:02d}"
    chars[positions[2]], chars[positions[3]] = check[0], check[1]
    return "".join(chars)


def _generalize(value: str, entity: str, spec: OperatorSpec, keys: DatasetKeys | None) -> str:
    if spec.scheme == "year":
        found = _YEAR.search(value[:200])
        return found.group(1) if found else f"<{entity}>"
    if spec.scheme == "prefix":
        seen = 0
        out = []
        for char in value:
            if char.isalnum():
                seen += 1
                out.append(char if seen <= spec.prefix_chars else spec.mask_char)
            else:
                out.append(char)
        return "".join(out)
    number = _NUMBER.fullmatch(value[:40])
    if number is None or int(number.group(1)) > 150:
        return f"<{entity}>"
    age = int(number.group(1))
    if age >= 90:
        return "90+"
    low = age // spec.band_width * spec.band_width
    return f"{low}-{low + spec.band_width - 1}"


def _encrypt(value: str, entity: str, spec: OperatorSpec, keys: DatasetKeys | None) -> str:
    data = _raw(value)
    if not data:
        return value
    if len(data) > MAX_ENCRYPT_BYTES:
        raise UsageError(f"a {entity} value of {len(data)} bytes is too long to encrypt (limit "
                         f"{MAX_ENCRYPT_BYTES}): use hash, tag or drop for that field")
    token = _need(keys, "encrypt").siv.encrypt(data, None)
    return PSEUDONYM_PREFIX + base64.urlsafe_b64encode(token).rstrip(b"=").decode("ascii")


# The registry: operator name -> function. ``drop`` removes columns and fields; inside text it redacts.
OPERATORS: Mapping[str, Operator] = {
    "keep": _keep,
    "redact": _redact,
    "mask": _mask,
    "tag": _tag,
    "hash": _hash,
    "drop": _redact,
    "surrogate": _surrogate,
    "generalize": _generalize,
    "encrypt": _encrypt,
}


def apply_operator(value: str, entity: str, spec: OperatorSpec, *, keys: DatasetKeys | None) -> str:
    """What ``spec`` makes of one value of ``entity``."""
    return OPERATORS[spec.operator](value, entity, spec, keys)


# --- text ---------------------------------------------------------------------------------------------------

@dataclass
class AnonymizeSummary:
    """What one run did: counts only, never a value."""

    kind: str = "text"
    records: int = 0  # lines, JSON records or table rows written
    replaced: Counter[str] = field(default_factory=Counter)  # entity -> values replaced in text
    columns: dict[str, str] = field(default_factory=dict)  # column / field -> operator applied to it whole
    fields_replaced: int = 0  # whole values replaced by a column / field rule
    dropped_columns: list[str] = field(default_factory=list)
    dropped_records: int = 0  # records that could not be parsed (never copied through)
    too_deep: int = 0  # JSON containers nested too deeply, replaced by null


@dataclass
class _Run:
    policy: AnonymizePolicy
    keys: DatasetKeys | None
    analyze: Analyze
    summary: AnonymizeSummary

    def hits(self, text: str) -> list[PiiHit]:
        found = self.analyze(text, min_confidence=self.policy.min_confidence)
        return [hit for hit in found if 0 <= hit.start < hit.end <= len(text)]

    def replace(self, text: str, hits: list[PiiHit]) -> str:
        parts: list[str] = []
        at = 0
        for hit in sorted(hits, key=lambda h: h.start):
            if hit.start < at:
                continue  # overlapping hits (only from a custom analyzer): the first one wins
            spec = self.policy.for_entity(hit.entity)
            parts.append(text[at:hit.start])
            parts.append(apply_operator(text[hit.start:hit.end], hit.entity, spec, keys=self.keys))
            if spec.operator != "keep":
                self.summary.replaced[hit.entity] += 1
            at = hit.end
        parts.append(text[at:])
        return "".join(parts)

    def text(self, text: str) -> str:
        if len(text) <= WINDOW_CHARS:
            return self.replace(text, self.hits(text))
        stream = _TextStream(self)
        out = [stream.feed(text[i:i + WINDOW_CHARS]) for i in range(0, len(text), WINDOW_CHARS)]
        out.append(stream.finish())
        return "".join(out)

    def whole(self, value: str, column: str, spec: OperatorSpec) -> str:
        self.summary.fields_replaced += 1
        self.summary.columns.setdefault(column, spec.operator)
        return apply_operator(value, _column_entity(column), spec, keys=self.keys)


def _column_entity(column: str) -> str:
    """The tag for a value replaced by a column rule: the column name as a label (``<EMAIL>`` for ``email``)."""
    label = re.sub(r"[^A-Za-z0-9]+", "_", column[:40]).strip("_").upper()
    return label or "VALUE"


class _TextStream:
    """Anonymizes a text that arrives in pieces: what may still be part of an entity is held back."""

    def __init__(self, run: _Run) -> None:
        self.run = run
        self.carry = ""

    def feed(self, chunk: str, *, boundary: bool = False) -> str:
        """Add ``chunk``; ``boundary`` says no entity continues past its end (a line ended)."""
        text = self.carry + chunk
        hits = self.run.hits(text)
        if boundary:
            self.carry = ""
            return self.run.replace(text, hits)
        emit = max(0, len(text) - WINDOW_OVERLAP)
        for hit in hits:
            if hit.start < emit < hit.end:
                emit = hit.end  # an entity across the cut goes out whole now
        self.carry = text[emit:]
        return self.run.replace(text[:emit], [hit for hit in hits if hit.end <= emit])

    def finish(self) -> str:
        return self.feed("", boundary=True) if self.carry else ""


def anonymize_text(text: str, policy: AnonymizePolicy, *, key: SymmetricKey | None,
                   analyze: Analyze | None = None) -> str:
    """``text`` with every personal-data hit replaced by its entity's operator (of any length: long texts are
    analysed in overlapping windows). ``analyze`` replaces ``mlwarden.privacy.text.analyze_text``."""
    run = _make_run(policy, key, analyze, AnonymizeSummary())
    return run.text(text)


def _make_run(policy: AnonymizePolicy, key: SymmetricKey | None, analyze: Analyze | None,
              summary: AnonymizeSummary) -> _Run:
    if policy.needs_key() and key is None:
        _need(None, next(s.operator for s in [policy.default, *policy.entities.values(), *policy.columns.values()]
                         if s.operator in KEYED_OPERATORS))
    if analyze is None:
        from mlwarden.privacy.text import analyze_text

        analyze = analyze_text
    return _Run(policy, DatasetKeys.from_key(key) if key is not None else None, analyze, summary)


# --- files --------------------------------------------------------------------------------------------------

def open_output(src: Path, dst: Path, *, force: bool) -> None:
    """Refuse what ``anonymize`` and ``reidentify`` never do: write in place, overwrite without ``force``,
    read a missing input or write into a missing folder."""
    if not src.is_file():
        raise InputError(f"{src} is not a file")
    if dst.exists() or dst.is_symlink():
        if dst.resolve() == src.resolve() or (dst.exists() and os.path.samefile(src, dst)):
            raise UsageError(f"--out {dst} is the input file: mlwarden never writes in place; choose another path")
        if dst.is_dir():
            raise UsageError(f"--out {dst} is a folder; give a file path")
        if not force:
            raise UsageError(f"{dst} already exists; pass --force to replace it")
    folder = dst.parent if str(dst.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"cannot write {dst}: folder {folder} does not exist; create it first")


def write_via_temp(dst: Path, write: Callable[[IO[str]], None]) -> None:
    """Run ``write`` on a temporary text file next to ``dst``, then move it over ``dst``; on any failure the
    temporary file is removed and ``dst`` is left as it was."""
    folder = dst.parent if str(dst.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape", newline="") as handle:
            write(handle)
        os.replace(tmp, dst)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def anonymize_file(src: Path, dst: Path, policy: AnonymizePolicy, *, key: SymmetricKey | None,
                   force: bool = False, analyze: Analyze | None = None) -> AnonymizeSummary:
    """Write an anonymized copy of ``src`` (text, JSON Lines, JSON, CSV or TSV) to ``dst``.

    Never writes in place (``dst`` must differ from ``src``) and never replaces an existing ``dst`` unless
    ``force``; the output appears only when complete. Raises ``UsageError`` / ``InputError`` for arguments
    that cannot be used (including a keyed operator without ``key``).
    """
    from mlwarden.privacy.files import detect_kind

    open_output(src, dst, force=force)
    kind = detect_kind(src)
    summary = AnonymizeSummary(kind=kind)
    run = _make_run(policy, key, analyze, summary)
    if kind == "parquet":
        raise UsageError(f"{src}: anonymizing Parquet is not supported yet; export it to CSV or JSON Lines")
    writers: dict[str, Callable[[IO[str]], None]] = {
        "text": lambda out: _write_text(src, out, run),
        "jsonl": lambda out: _write_json_lines(src, out, run),
        "json": lambda out: _write_json(src, out, run),
        "csv": lambda out: _write_table(src, out, run, _DELIMITER_DEFAULT["csv"]),
        "tsv": lambda out: _write_table(src, out, run, _DELIMITER_DEFAULT["tsv"]),
    }
    write_via_temp(dst, writers[kind])
    return summary


def _open_text(path: Path) -> IO[str]:
    return path.open(encoding="utf-8", errors="surrogateescape", newline="")


def _write_text(src: Path, out: IO[str], run: _Run) -> None:
    stream = _TextStream(run)
    with _open_text(src) as handle:
        while True:
            chunk = handle.readline(WINDOW_CHARS)
            if not chunk:
                break
            ends_line = chunk.endswith(("\n", "\r"))
            run.summary.records += ends_line
            out.write(stream.feed(chunk, boundary=ends_line))
        tail = stream.finish()
        if tail:
            run.summary.records += 1
        out.write(tail)


def _read_records(handle: IO[str], summary: AnonymizeSummary) -> Iterator[str]:
    """JSON Lines records of at most MAX_RECORD_CHARS; longer ones are skipped in bounded reads and counted."""
    while True:
        line = handle.readline(MAX_RECORD_CHARS + 1)
        if not line:
            return
        if len(line) > MAX_RECORD_CHARS and not line.endswith("\n"):
            summary.dropped_records += 1
            while line and not line.endswith("\n"):
                line = handle.readline(WINDOW_CHARS)
            continue
        yield line


def _write_json_lines(src: Path, out: IO[str], run: _Run) -> None:
    with _open_text(src) as handle:
        for line in _read_records(handle, run.summary):
            if not line.strip():
                out.write(line)
                continue
            try:
                document = json.loads(line)
            except (ValueError, RecursionError):
                run.summary.dropped_records += 1
                continue
            out.write(json.dumps(transform_document(document, run), ensure_ascii=False) + "\n")
            run.summary.records += 1


def _write_json(src: Path, out: IO[str], run: _Run) -> None:
    if src.stat().st_size > MAX_JSON_BYTES:
        raise UsageError(f"{src} is a JSON document over {MAX_JSON_BYTES} bytes; convert it to JSON Lines")
    try:
        document = json.loads(src.read_bytes().decode("utf-8-sig", "surrogateescape"))
    except (ValueError, RecursionError):
        raise InputError(f"{src} is not valid JSON (or nested too deeply); nothing was written") from None
    out.write(json.dumps(transform_document(document, run), ensure_ascii=False, indent=2) + "\n")
    run.summary.records = 1


def transform_document(document: object, run: _Run) -> object:
    """The document with field rules applied and every string (and integer) anonymized; walked iteratively,
    containers deeper than MAX_JSON_DEPTH become null."""
    root: list[Any] = [document]
    stack: list[tuple[Any, Any, str | None, int]] = [(root, 0, None, 0)]
    while stack:
        container, key, path, depth = stack.pop()
        value = container[key]
        spec = run.policy.for_field(path) if path is not None else None
        if spec is not None and path is not None:
            if spec.operator == "drop":
                if isinstance(container, dict):
                    del container[key]
                else:
                    container[key] = None
                named = ".".join(part for part in path.split(".") if not part.isdigit())
                if named not in run.summary.dropped_columns:  # one entry per field, not per list item
                    run.summary.dropped_columns.append(named)
                continue
            if value is not None and not isinstance(value, dict | list):
                container[key] = run.whole(value if isinstance(value, str) else json.dumps(value), path, spec)
                continue
            # a rule other than drop on an object or list: its values are still searched below
        if isinstance(value, str):
            container[key] = run.text(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            text = str(value)
            new = run.text(text)
            if new != text:
                container[key] = new
        elif isinstance(value, dict | list):
            if depth >= MAX_JSON_DEPTH:
                container[key] = None
                run.summary.too_deep += 1
                continue
            keys = list(value) if isinstance(value, dict) else range(len(value))
            for child in reversed(keys):
                stack.append((value, child, str(child) if path is None else f"{path}.{child}", depth + 1))
    return root[0]


def _write_table(src: Path, out: IO[str], run: _Run, default: str) -> None:
    from mlwarden.privacy.files import column_names, sniff_delimiter
    from mlwarden.privacy.tables import StridedSampler, classify_columns

    sampler = StridedSampler(SAMPLE_ROWS)
    with _open_text(src) as handle:
        delimiter = sniff_delimiter(handle.read(64 * 1024), default)
        handle.seek(0)
        reader = csv.reader(handle, delimiter=delimiter)
        header = next(reader, [])
        try:
            for row in reader:
                sampler.add(row)
        except csv.Error:
            raise InputError(f"{src} is not a readable table past line {reader.line_num}; nothing was written"
                             ) from None
    if not header:
        return
    names = column_names(header)
    rows = [row for row in sampler.items() if isinstance(row, list)]
    columns = {name: [row[i] if i < len(row) else None for row in rows] for i, name in enumerate(names)}
    unruled = {name: values for name, values in columns.items() if run.policy.for_field(name) is None}
    specs: list[tuple[str, OperatorSpec | None]] = []
    verdicts = {v.column: v for v in classify_columns(unruled, min_confidence=run.policy.min_confidence,
                                                      analyze=run.analyze, sample_size=SAMPLE_ROWS)
                if not v.free_text}
    for name in names:
        spec = run.policy.for_field(name)
        if spec is None and name in verdicts:
            spec = run.policy.for_entity(verdicts[name].entity)
            run.summary.columns[name] = f"{verdicts[name].entity}: {spec.operator}"
        specs.append((name, spec))
    kept = [i for i, (_, spec) in enumerate(specs) if spec is None or spec.operator != "drop"]
    run.summary.dropped_columns.extend(name for name, spec in specs if spec is not None and spec.operator == "drop")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    with _open_text(src) as handle:
        handle.seek(0)
        reader = csv.reader(handle, delimiter=delimiter)
        next(reader, None)
        writer.writerow([header[i] for i in kept])
        try:
            for row in reader:
                writer.writerow([_cell(row[i], specs[i], verdicts, run) for i in kept if i < len(row)])
                run.summary.records += 1
        except csv.Error:
            raise InputError(f"{src} is not a readable table past line {reader.line_num}; nothing was written"
                             ) from None


def _cell(value: str, rule: tuple[str, OperatorSpec | None], verdicts: Mapping[str, Any], run: _Run) -> str:
    name, spec = rule
    if spec is None:
        return run.text(value)
    if not value.strip():
        return value
    if name in verdicts:  # the column is one entity: the entity's operator on the whole value
        entity = verdicts[name].entity
        run.summary.replaced[entity] += spec.operator != "keep"
        return apply_operator(value, entity, spec, keys=run.keys)
    return run.whole(value, name, spec)


def load_dataset_key(path: Path) -> SymmetricKey:
    """The dataset key from a symmetric key file (``mlwarden enc-keygen --kind symmetric``)."""
    return load_key_file(path)
