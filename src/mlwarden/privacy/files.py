"""Personal data in data files: dispatch a file by content and extension, and turn hits into findings.

Plain text is streamed line by line (very long lines in overlapping windows); JSON Lines and JSON are walked
value by value (``field`` is the dotted key path, list items by index); CSV/TSV and Parquet are judged column by
column on a deterministic sample (``mlwarden.privacy.tables``). Problems inside a file (invalid records, limits,
an undecodable table) become MW-PII-003 findings, never exceptions; only a missing optional extra for a file the
user named is raised (``MissingExtraError``).

Static only: never executes, imports or unpickles anything from the file. Findings never carry a raw value:
messages, evidence and data show the recognizer's mask; offsets point at the value in the file.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlwarden.core.errors import MissingExtraError
from mlwarden.core.findings import Finding, Location
from mlwarden.core.limits import MiB
from mlwarden.core.rules import make_finding
from mlwarden.core.rules_privacy import severity_for_entity
from mlwarden.privacy.model import PiiHit
from mlwarden.privacy.tables import (
    ColumnVerdict,
    StridedSampler,
    classify_columns,
    safe_masked,
    sample_indices,
)

Analyze = Callable[..., list[PiiHit]]

# File name endings scanned when walking folders; other files are skipped (models, code: ``mlwarden scan``).
DATA_SUFFIXES: tuple[str, ...] = (".txt", ".csv", ".tsv", ".json", ".jsonl", ".ndjson", ".parquet", ".md",
                                  ".log")
_KIND_BY_SUFFIX = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".json": "json", ".jsonl": "jsonl",
                   ".ndjson": "jsonl", ".parquet": "parquet", ".pq": "parquet"}
_PARQUET_MAGIC = b"PAR1"
# Delimiters tried when sniffing a CSV file (RFC 4180 comma, and the usual spreadsheet exports).
_DELIMITERS = (",", "\t", ";", "|")
_SCANNER = "pii"


@dataclass(frozen=True, slots=True)
class PiiLimits:
    """Bounds on hostile data files. (Scan-wide limits live in ``core/limits.py``; these are the privacy
    scanner's own, kept here until they move there.)"""

    # Characters analysed at once: longer lines and values go in windows that overlap by ``window_overlap``
    # (longer than any entity, so that no entity is cut at a window edge).
    window_chars: int = 65_536
    window_overlap: int = 256
    # Characters of a text or JSON Lines file read in all; the rest is reported unscanned.
    max_text_chars: int = 512 * MiB
    # A JSON document is parsed whole: larger ones are not parsed (scan them as JSON Lines or text).
    max_json_bytes: int = 64 * MiB
    # Characters of one JSON Lines record; longer records are skipped and counted.
    max_record_chars: int = 16 * MiB
    # JSON nesting walked; deeper values are skipped and counted.
    max_json_depth: int = 64
    # Findings per file for text hits; further hits are counted in one MW-PII-003 finding.
    max_findings: int = 10_000
    # Table rows sampled per file and columns judged.
    sample_rows: int = 1000
    max_columns: int = 4096


DEFAULT_PII_LIMITS = PiiLimits()


@dataclass(slots=True)
class _Options:
    display: str
    entities: Collection[str] | None
    min_confidence: float
    analyze: Analyze
    limits: PiiLimits


class _Collector:
    """Findings of one file: text hits up to the limit, then a count; problems as MW-PII-003."""

    def __init__(self, options: _Options) -> None:
        self.options = options
        self.findings: list[Finding] = []
        self.hits = 0
        self.dropped = 0

    def hit(self, hit: PiiHit, raw: str, *, line: int, start: int, end: int, field: str | None) -> None:
        if self.hits >= self.options.limits.max_findings:
            self.dropped += 1
            return
        self.hits += 1
        masked = safe_masked(hit.masked, raw)
        where = f"field '{field}'" if field is not None else f"line {line}"
        location = Location(self.options.display, line=line, field=field, start=start, end=end)
        data = {"entity": hit.entity, "count": 1, "confidence": round(hit.confidence, 2), "masked": [masked],
                "reason": hit.reason, "recognizer": hit.recognizer}
        self.findings.append(make_finding(
            "MW-PII-001", location, f"{hit.entity} in {where}: {masked} (confidence {hit.confidence:.2f})",
            evidence=f"{hit.entity} {masked}", severity=severity_for_entity(hit.entity), scanner=_SCANNER,
            data=data))

    def problem(self, kind: str, message: str, *, count: int = 1, line: int | None = None) -> None:
        location = Location(self.options.display, line=line)
        self.findings.append(make_finding(
            "MW-PII-003", location, message, evidence=kind, scanner=_SCANNER,
            data={"problem": kind, "count": count}))

    def column(self, verdict: ColumnVerdict, rows: int) -> None:
        location = Location(self.options.display, table_column=verdict.column)
        kind = "free-text column mentions" if verdict.free_text else "column holds"
        message = (f"{kind} {verdict.entity}: {verdict.matches} of {verdict.sampled} sampled values "
                   f"({verdict.share:.0%}), e.g. {', '.join(verdict.examples)}")
        data: dict[str, Any] = {"entity": verdict.entity, "count": verdict.matches,
                                "confidence": verdict.confidence, "masked": list(verdict.examples),
                                "reason": verdict.reason, "share": verdict.share, "sampled": verdict.sampled,
                                "rows": rows, "free_text": verdict.free_text}
        if verdict.entities:
            data["entities"] = {label: n for label, n in verdict.entities}
        self.findings.append(make_finding(
            "MW-PII-002", location, message, evidence=f"{verdict.entity} column",
            severity=severity_for_entity(verdict.entity), scanner=_SCANNER, data=data))

    def finish(self) -> list[Finding]:
        if self.dropped:
            self.problem("too_many_hits", f"{self.dropped} more personal-data hits not reported (limit "
                                          f"{self.options.limits.max_findings} per file)", count=self.dropped)
        return self.findings


def scan_pii_file(
    path: Path,
    *,
    display: str | None = None,
    entities: Collection[str] | None = None,
    min_confidence: float = 0.5,
    analyze: Analyze | None = None,
    limits: PiiLimits = DEFAULT_PII_LIMITS,
) -> list[Finding]:
    """Scan one file for personal data. ``display`` is the path shown in findings (default: ``path``).

    ``analyze`` replaces ``mlwarden.privacy.text.analyze_text`` (same keyword arguments). Raises
    ``MissingExtraError`` for a Parquet file when pyarrow is not installed; everything else wrong with the file
    becomes an MW-PII-003 finding.
    """
    if analyze is None:
        from mlwarden.privacy.text import analyze_text

        analyze = analyze_text
    options = _Options(display if display is not None else path.as_posix(), entities, min_confidence, analyze,
                       limits)
    out = _Collector(options)
    try:
        kind = detect_kind(path)
        if kind == "parquet":
            _scan_parquet(path, options, out)
        elif kind in ("csv", "tsv"):
            _scan_csv(path, options, out, "\t" if kind == "tsv" else ",")
        elif kind == "jsonl":
            _scan_json_lines(path, options, out)
        elif kind == "json":
            _scan_json(path, options, out)
        else:
            _scan_text(path, options, out)
    except OSError as error:
        out.problem("unreadable", f"the file could not be read ({type(error).__name__}: {error.strerror or ''})")
    return out.finish()


def detect_kind(path: Path) -> str:
    """``parquet``, ``csv``, ``tsv``, ``json``, ``jsonl`` or ``text``: by magic bytes, then by name."""
    with path.open("rb") as handle:
        head = handle.read(4)
        tail = b""
        if head == _PARQUET_MAGIC and handle.seek(0, 2) >= 12:
            handle.seek(-4, 2)
            tail = handle.read(4)
    if head == _PARQUET_MAGIC and (tail == _PARQUET_MAGIC or path.suffix.lower() in (".parquet", ".pq")):
        return "parquet"  # Parquet starts and ends with its magic
    return _KIND_BY_SUFFIX.get(path.suffix.lower(), "text")


# --- text ---------------------------------------------------------------------------------------------------

def _scan_text(path: Path, options: _Options, out: _Collector) -> None:
    limits = options.limits
    with path.open(encoding="utf-8", errors="replace", newline="\n") as handle:
        line_no, column, carry, read, reported_end = 1, 0, "", 0, 0
        while True:
            chunk = handle.readline(limits.window_chars)
            if not chunk:
                break
            read += len(chunk)
            ends_line = chunk.endswith("\n")
            body = chunk[:-1] if ends_line else chunk
            if ends_line and body.endswith("\r"):
                body = body[:-1]
            text = carry + body
            base = column - len(carry)
            next_carry = "" if ends_line else text[-limits.window_overlap:]
            owned_end = len(text) - len(next_carry)
            for hit in _analyze(text, options):
                # The carried tail was not owned by the previous window; a match there that overlaps one
                # already reported is the rest of an entity cut at the window's left edge.
                if hit.start < owned_end and not (hit.start < len(carry) and base + hit.start < reported_end):
                    out.hit(hit, text[hit.start:hit.end], line=line_no, start=base + hit.start,
                            end=base + hit.end, field=None)
                    reported_end = max(reported_end, base + hit.end)
            if ends_line:
                line_no, column, carry, reported_end = line_no + 1, 0, "", 0
            else:
                column += len(body)
                carry = next_carry
            if read >= limits.max_text_chars:
                if handle.read(1):
                    out.problem("limit", f"only the first {limits.max_text_chars} characters were scanned",
                                line=line_no)
                return
        if carry:  # the tail of a last line without newline was carried, not yet analysed
            for hit in _analyze(carry, options):
                if column - len(carry) + hit.start < reported_end:
                    continue
                out.hit(hit, carry[hit.start:hit.end], line=line_no, start=column - len(carry) + hit.start,
                        end=column - len(carry) + hit.end, field=None)


def _analyze(text: str, options: _Options) -> list[PiiHit]:
    hits = options.analyze(text, entities=options.entities, min_confidence=options.min_confidence)
    return [hit for hit in hits if 0 <= hit.start < hit.end <= len(text)]


def _windowed_hits(text: str, options: _Options) -> Iterator[PiiHit]:
    """Hits in a string of any length, analysed in overlapping windows; offsets are into ``text``."""
    size, overlap = options.limits.window_chars, options.limits.window_overlap
    if len(text) <= size:
        yield from _analyze(text, options)
        return
    start = reported_end = 0
    while start < len(text):
        window = text[start:start + size]
        last = start + size >= len(text)
        owned_end = len(window) if last else len(window) - overlap
        for hit in _analyze(window, options):
            # A hit in the overlap belongs to the next window; one at the left edge that overlaps a reported
            # hit is the rest of an entity the previous window saw whole.
            if hit.start < owned_end and not (start and hit.start < overlap and start + hit.start < reported_end):
                reported_end = max(reported_end, start + hit.end)
                yield PiiHit(hit.entity, start + hit.start, start + hit.end, hit.confidence, hit.masked,
                             hit.reason, hit.recognizer)
        if last:
            return
        start += size - overlap


# --- JSON and JSON Lines ------------------------------------------------------------------------------------

def _scan_json_lines(path: Path, options: _Options, out: _Collector) -> None:
    limits = options.limits
    invalid = oversized = deep = 0
    first_bad: int | None = None
    read = 0
    with path.open(encoding="utf-8", errors="replace", newline="\n") as handle:
        line_no = 0
        while True:
            line = handle.readline(limits.max_record_chars + 1)
            if not line:
                break
            line_no += 1
            read += len(line)
            if not line.endswith("\n") and len(line) > limits.max_record_chars:
                oversized += 1
                first_bad = first_bad or line_no
                while line and not line.endswith("\n"):  # skip the rest of the record in bounded reads
                    line = handle.readline(limits.window_chars)
                    read += len(line)
                continue
            if not line.strip():
                continue
            try:
                document = json.loads(line)
            except (ValueError, RecursionError):
                invalid += 1
                first_bad = first_bad or line_no
                continue
            deep += _scan_document(document, options, out, line_no)
            if read >= limits.max_text_chars:
                if handle.read(1):
                    out.problem("limit", f"only the first {limits.max_text_chars} characters were scanned",
                                line=line_no)
                break
    if invalid or oversized:
        out.problem("invalid_records", f"{invalid + oversized} JSON Lines records could not be parsed "
                                       f"({oversized} over {limits.max_record_chars} characters), first at "
                                       f"line {first_bad}", count=invalid + oversized, line=first_bad)
    if deep:
        out.problem("depth", f"{deep} values nested deeper than {limits.max_json_depth} levels were not scanned",
                    count=deep)


def _scan_json(path: Path, options: _Options, out: _Collector) -> None:
    limits = options.limits
    if path.stat().st_size > limits.max_json_bytes:
        out.problem("limit", f"JSON document over {limits.max_json_bytes} bytes was not parsed; scan it as "
                             "JSON Lines or text")
        return
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    try:
        document = json.loads(text)
    except RecursionError:
        out.problem("invalid_json", "the JSON document is nested too deeply to parse")
        return
    except ValueError as error:
        position = f" at line {error.lineno}" if isinstance(error, json.JSONDecodeError) else ""
        out.problem("invalid_json", f"the file is not valid JSON{position}; it was not scanned",
                    line=getattr(error, "lineno", None))
        return
    deep = _scan_document(document, options, out, 1)
    if deep:
        out.problem("depth", f"{deep} values nested deeper than {limits.max_json_depth} levels were not scanned",
                    count=deep)


def _scan_document(document: object, options: _Options, out: _Collector, line: int) -> int:
    """Analyse every string (and integer) value; return how many containers were too deep to walk."""
    deep = 0
    for field, value, too_deep in _walk(document, options.limits.max_json_depth):
        if too_deep:
            deep += 1
            continue
        for hit in _windowed_hits(value, options):
            out.hit(hit, value[hit.start:hit.end], line=line, start=hit.start, end=hit.end, field=field)
    return deep


def _walk(document: object, max_depth: int) -> Iterator[tuple[str | None, str, bool]]:
    """(dotted path, text value, too deep) in document order, iteratively (hostile nesting cannot recurse)."""
    stack: list[tuple[str | None, object, int]] = [(None, document, 0)]
    while stack:
        path, value, depth = stack.pop()
        if isinstance(value, str):
            yield path, value, False
        elif isinstance(value, int) and not isinstance(value, bool):
            yield path, str(value), False
        elif isinstance(value, dict | list):
            if depth >= max_depth:
                yield path, "", True
                continue
            items = value.items() if isinstance(value, dict) else enumerate(value)
            children = [(str(key) if path is None else f"{path}.{key}", child, depth + 1) for key, child in items]
            stack.extend(reversed(children))


# --- tables -------------------------------------------------------------------------------------------------

def sniff_delimiter(sample: str, default: str) -> str:
    """The delimiter that splits the first lines into the same number (> 1) of cells; else ``default``.

    Our own small check instead of ``csv.Sniffer``, whose regular expressions can take quadratic time on
    hostile input.
    """
    lines = [line for line in sample.splitlines()[:20] if line.strip()]
    if len(lines) > 1 and not sample.endswith(("\n", "\r")):
        lines = lines[:-1]  # the last line of the sample may be cut
    best, best_score = default, 0
    for delimiter in _DELIMITERS:
        try:
            widths = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        except csv.Error:
            continue
        if not widths or widths[0] < 2:
            continue
        score = sum(1 for width in widths if width == widths[0]) * widths[0]
        if score > best_score or (score == best_score and delimiter == default):
            best, best_score = delimiter, score
    return best


def _scan_csv(path: Path, options: _Options, out: _Collector, default: str) -> None:
    limits = options.limits
    sampler = StridedSampler(limits.sample_rows)
    header: list[str] = []
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        delimiter = sniff_delimiter(handle.read(64 * 1024), default)
        handle.seek(0)
        reader = csv.reader(handle, delimiter=delimiter)
        try:
            header = next(reader, [])
            for row in reader:
                sampler.add(row)
        except csv.Error as error:
            out.problem("invalid_table", f"the table could not be read past line {reader.line_num} ({error}); "
                                         "only the rows before it were sampled", line=reader.line_num)
    if not header:
        return
    names = column_names(header[:limits.max_columns])
    if len(header) > limits.max_columns:
        out.problem("limit", f"only the first {limits.max_columns} of {len(header)} columns were judged")
    rows: list[Sequence[str]] = [row for row in sampler.items() if isinstance(row, list)]
    columns = {name: [row[i] if i < len(row) else None for row in rows] for i, name in enumerate(names)}
    _report_columns(columns, options, out, sampler.seen)


def column_names(header: Sequence[object]) -> list[str]:
    """Header cells as unique column names: empty ones become ``column N``, repeats get `` (2)``, ``(3)``."""
    names: list[str] = []
    seen: set[str] = set()
    for index, cell in enumerate(header):
        base = str(cell).strip() if cell is not None and str(cell).strip() else f"column {index + 1}"
        name, n = base, 1
        while name in seen:
            n += 1
            name = f"{base} ({n})"
        seen.add(name)
        names.append(name)
    return names


def _report_columns(columns: dict[str, list[str | None]], options: _Options, out: _Collector, rows: int) -> None:
    verdicts = classify_columns(columns, entities=options.entities, min_confidence=options.min_confidence,
                                analyze=options.analyze, sample_size=options.limits.sample_rows)
    for verdict in verdicts:
        out.column(verdict, rows)


def _scan_parquet(path: Path, options: _Options, out: _Collector) -> None:
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq
    except ImportError:
        raise MissingExtraError("Scanning Parquet files for personal data", "parquet") from None
    limits = options.limits
    try:
        parquet = pq.ParquetFile(path)
        total = parquet.metadata.num_rows
        all_names = list(parquet.schema_arrow.names)
        names = column_names(all_names[:limits.max_columns])
        wanted = sample_indices(total, limits.sample_rows)
        columns: dict[str, list[str | None]] = {name: [] for name in names}
        offset = position = 0
        for batch in parquet.iter_batches(batch_size=65_536, columns=all_names[:limits.max_columns]):
            local: list[int] = []
            while position < len(wanted) and wanted[position] < offset + batch.num_rows:
                local.append(wanted[position] - offset)
                position += 1
            if local:
                taken = batch.take(pa.array(local, type=pa.int64()))
                for index, name in enumerate(names):
                    array = taken.column(index)
                    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)
                            or pa.types.is_integer(array.type)):
                        continue  # floats, booleans, binary and nested values hold no entity we recognise
                    columns[name].extend(pc.cast(array, pa.string()).to_pylist())
            offset += batch.num_rows
            if position >= len(wanted):
                break
    except (pa.ArrowException, OSError, ValueError) as error:
        out.problem("invalid_table", f"the Parquet file could not be read ({type(error).__name__})")
        return
    if len(all_names) > limits.max_columns:
        out.problem("limit", f"only the first {limits.max_columns} of {len(all_names)} columns were judged")
    _report_columns(columns, options, out, total)
