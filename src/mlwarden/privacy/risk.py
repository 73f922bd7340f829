"""Re-identification risk of a table: direct identifiers, quasi-identifiers, k-anonymity, l-diversity, unique
records, and generalizations that would lower the risk.

What it computes, over the quasi-identifiers (given, or detected from a header prior plus the values' shape):
the equivalence classes (records sharing every quasi-identifier value), ``k`` (the smallest class), the classes
and rows below the k threshold, the share of records that are unique, ``l`` per sensitive column (the fewest
distinct sensitive values in a class), and for each quasi-identifier the standard generalizations (age bands,
birth year or decade, postcode prefix, suppression) with the ``k`` each would reach. Grouping is vectorized with
pyarrow's ``group_by``/``aggregate`` when pyarrow is installed; a ``Counter`` over row tuples is the fallback.

Must never: put a table value in a report, finding, message or exception (reports hold column names, counts
and shares only); run unbounded regular expressions over cell values (patterns are anchored or bounded and run
on clipped values); execute or import anything named by the data.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mlwarden.core.errors import InputError, MissingExtraError, UsageError
from mlwarden.core.findings import Finding, Location, Severity
from mlwarden.core.rules import make_finding
from mlwarden.privacy.tables import Analyze, classify_columns, sample_indices

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "DirectIdentifier", "LDiversity", "QuasiIdentifier", "RiskReport", "Suggestion", "assess_risk",
    "format_risk_report", "load_table", "risk_findings",
]

Engine = Literal["auto", "pyarrow", "python"]

# --- data: what counts as what -------------------------------------------------------------------------------

# Entities (mlwarden.privacy.model.ENTITIES) that identify a person on their own: HIPAA Safe Harbor's direct
# identifiers (45 CFR 164.514(b)(2)(i): names, addresses below state level, phone numbers, e-mail addresses,
# SSNs, medical record, health plan, account, licence numbers, IP addresses, URLs) plus the national ids and
# payment cards of the catalogue. DATE_OF_BIRTH is a quasi-identifier here, SECRET identifies no person.
DIRECT_IDENTIFIER_ENTITIES: frozenset[str] = frozenset({
    "PERSON", "EMAIL", "PHONE", "CREDIT_CARD", "IBAN", "US_SSN", "UK_NINO", "DE_TAX_ID", "IN_AADHAAR",
    "IP_ADDRESS", "STREET_ADDRESS", "MEDICAL_RECORD_NUMBER", "HEALTH_PLAN_NUMBER", "ACCOUNT_NUMBER",
    "LICENSE_NUMBER", "URL_WITH_CREDENTIALS",
})

# Header words that name a quasi-identifier, by kind. From Sweeney's ZIP/birth date/sex triple, the
# quasi-identifiers of the public census-style benchmark tables (age, sex, race, marital status, occupation,
# native country, education) and HIPAA Safe Harbor's geographic units. A header word alone never decides:
# the values must have the kind's shape too (QI_SHAPES).
QI_HEADER_WORDS: Mapping[str, tuple[str, ...]] = {
    "age": ("age", "ages", "agegroup", "ageyears"),
    "date": ("dob", "birth", "birthday", "birthdate", "born", "birthyear", "yob"),
    "postcode": ("zip", "zipcode", "postcode", "postal", "postalcode", "plz", "zip5"),
    "gender": ("gender", "sex"),
    "category": ("city", "town", "county", "state", "region", "province", "country", "municipality",
                 "district", "nationality", "citizenship", "ethnicity", "ethnic", "race", "marital",
                 "occupation", "profession", "job", "education", "religion", "language"),
}

# Value shapes, matched against stripped values clipped to _MAX_SHAPE_CHARS (anchored, bounded quantifiers).
_AGE = re.compile(r"\d{1,3}(?:\.\d{1,3})?")
_DATE = re.compile(r"(?:18|19|20)\d{2}(?:[-/.]\d{1,2}[-/.]\d{1,2}|\d{4})?(?:[T ][\d:.+Z-]{0,30})?"
                   r"|\d{1,2}[-/.]\d{1,2}[-/.](?:18|19|20)\d{2}(?:[T ][\d:.+Z-]{0,30})?")
_POSTCODE = re.compile(r"(?=[A-Za-z0-9 -]{0,9}\d)[A-Za-z0-9][A-Za-z0-9 -]{1,9}")
_YEAR = re.compile(r"(?:18|19|20)\d{2}")  # the first plausible year in a date, whatever its layout
_HEADER_WORD = re.compile(r"[A-Z]?[a-z]{1,40}|[A-Z]{1,40}(?![a-z])|\d{1,8}")
_MAX_SHAPE_CHARS = 64
MAX_AGE = 130
SHAPE_SHARE = 0.8  # share of sampled non-empty values that must have the kind's shape
MAX_GENDER_VALUES = 12  # distinct values a gender/sex column may show
MAX_CATEGORY_MEDIAN_CHARS = 40
DETECTION_SAMPLE = 1000  # rows looked at for detection (identifiers and quasi-identifiers)
MAX_FALLBACK_ROWS = 5_000_000  # rows the pure-Python CSV reader accepts before asking for pyarrow


@dataclass(frozen=True, slots=True)
class Generalization:
    """One standard coarsening of a quasi-identifier kind; ``width`` is a band width or a prefix length."""

    kind: Literal["age", "year", "postcode"]
    width: int
    label: str


# Ladders from mild to coarse, per quasi-identifier kind. Age and year bands follow common statistical
# disclosure-control practice; ZIP3 is HIPAA Safe Harbor's geographic rule. Every kind may also be suppressed.
GENERALIZATIONS: Mapping[str, tuple[Generalization, ...]] = {
    "age": (Generalization("age", 5, "5-year bands"), Generalization("age", 10, "10-year bands"),
            Generalization("age", 20, "20-year bands")),
    "date": (Generalization("year", 1, "year only"), Generalization("year", 5, "5-year bands of the year"),
             Generalization("year", 10, "decade")),
    "postcode": (Generalization("postcode", 4, "first 4 characters"),
                 Generalization("postcode", 3, "first 3 characters"),
                 Generalization("postcode", 2, "first 2 characters")),
}
SUPPRESS = "suppressed (column dropped)"
MAX_GREEDY_STEPS = 12

# --- report values ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DirectIdentifier:
    column: str
    entity: str
    confidence: float
    free_text: bool = False


@dataclass(frozen=True, slots=True)
class QuasiIdentifier:
    column: str
    kind: str  # age, date, postcode, gender, category
    source: Literal["given", "detected"]
    reason: str


@dataclass(frozen=True, slots=True)
class LDiversity:
    column: str
    l: int  # noqa: E741 - the letter of the literature's l-diversity
    classes_below_2: int  # classes whose records all share one sensitive value
    rows_below_2: int


@dataclass(frozen=True, slots=True)
class Suggestion:
    columns: tuple[str, ...]
    generalizations: tuple[str, ...]  # one label per column
    k_before: int
    k_after: int
    rows_below_before: int
    rows_below_after: int
    text: str


@dataclass(frozen=True, slots=True)
class RiskReport:
    """The re-identification risk of one table. Column names and counts only, never a value."""

    rows: int
    columns: tuple[str, ...]
    direct_identifiers: tuple[DirectIdentifier, ...]
    quasi_identifiers: tuple[QuasiIdentifier, ...]
    k: int  # size of the smallest equivalence class (0 for an empty table)
    k_threshold: int
    classes: int
    classes_below_k: int
    rows_below_k: int
    unique_records: int
    unique_share: float
    l_diversity: tuple[LDiversity, ...] = ()
    suggestions: tuple[Suggestion, ...] = ()
    engine: str = "pyarrow"
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "columns": list(self.columns),
            "direct_identifiers": [{"column": d.column, "entity": d.entity, "confidence": d.confidence,
                                    "free_text": d.free_text} for d in self.direct_identifiers],
            "quasi_identifiers": [{"column": q.column, "kind": q.kind, "source": q.source, "reason": q.reason}
                                  for q in self.quasi_identifiers],
            "k": self.k,
            "k_threshold": self.k_threshold,
            "classes": self.classes,
            "classes_below_k": self.classes_below_k,
            "rows_below_k": self.rows_below_k,
            "unique_records": self.unique_records,
            "unique_share": self.unique_share,
            "l_diversity": [{"column": x.column, "l": x.l, "classes_below_2": x.classes_below_2,
                             "rows_below_2": x.rows_below_2} for x in self.l_diversity],
            "suggestions": [{"columns": list(s.columns), "generalizations": list(s.generalizations),
                             "k_before": s.k_before, "k_after": s.k_after,
                             "rows_below_before": s.rows_below_before, "rows_below_after": s.rows_below_after,
                             "text": s.text} for s in self.suggestions],
            "engine": self.engine,
            "notes": list(self.notes),
        }


@dataclass(frozen=True, slots=True)
class _ClassStats:
    k: int
    classes: int
    classes_below: int
    rows_below: int
    unique: int


# A key is a column with an optional generalization applied to it.
_Key = tuple[str, Generalization | None]

# --- value generalizations (pure Python; the pyarrow versions below must agree) ------------------------------


def _generalize_value(value: object, gen: Generalization) -> str | None:
    if value is None:
        return None
    text = str(value).strip()[:_MAX_SHAPE_CHARS]
    if gen.kind == "age":
        if _AGE.fullmatch(text) and float(text) <= MAX_AGE:
            low = int(float(text) // gen.width) * gen.width
            return f"{low}-{low + gen.width - 1}"
        return str(value)
    if gen.kind == "year":
        match = _YEAR.search(text)
        if match is None:
            return str(value)
        year = int(match.group())
        if gen.width == 1:
            return str(year)
        low = year // gen.width * gen.width
        return f"{low}-{low + gen.width - 1}"
    return str(value).replace(" ", "").upper()[:gen.width]


# --- engines -------------------------------------------------------------------------------------------------


class _PythonFrame:
    """Columns of Python values; grouping with a Counter over row tuples."""

    engine = "python"

    def __init__(self, columns: Mapping[str, Sequence[object]]) -> None:
        self.columns = {name: list(values) for name, values in columns.items()}
        self.rows = len(next(iter(self.columns.values()))) if self.columns else 0
        self._cache: dict[_Key, list[object]] = {}

    def names(self) -> list[str]:
        return list(self.columns)

    def sample_strings(self, name: str, indices: Sequence[int]) -> list[str | None]:
        values = self.columns[name]
        return [None if values[i] is None else str(values[i]) for i in indices]

    def _values(self, key: _Key) -> list[object]:
        if key[1] is None:
            return self.columns[key[0]]
        if key not in self._cache:
            gen = key[1]
            self._cache[key] = [_generalize_value(v, gen) for v in self.columns[key[0]]]
        return self._cache[key]

    def _rows(self, keys: Sequence[_Key]) -> Iterable[tuple[object, ...]]:
        return zip(*(self._values(key) for key in keys), strict=True) if keys else iter([()] * self.rows)

    def class_stats(self, keys: Sequence[_Key], k_threshold: int) -> _ClassStats:
        sizes = list(Counter(self._rows(keys)).values())
        return _stats_from_sizes(sizes, k_threshold)

    def diversity(self, keys: Sequence[_Key], sensitive: str) -> LDiversity:
        values: dict[tuple[object, ...], set[object]] = {}
        counts: Counter[tuple[object, ...]] = Counter()
        for row, value in zip(self._rows(keys), self.columns[sensitive], strict=True):
            values.setdefault(row, set()).add(value)
            counts[row] += 1
        if not values:
            return LDiversity(sensitive, 0, 0, 0)
        single = [row for row, seen in values.items() if len(seen) < 2]
        return LDiversity(sensitive, min(len(seen) for seen in values.values()), len(single),
                          sum(counts[row] for row in single))


class _ArrowFrame:
    """A pyarrow table; grouping with ``Table.group_by(...).aggregate(...)``."""

    engine = "pyarrow"

    def __init__(self, table: pa.Table) -> None:
        import pyarrow as pa

        self._pa = pa
        columns = []
        for column in table.columns:
            if pa.types.is_dictionary(column.type):
                column = column.cast(column.type.value_type)
            columns.append(column.combine_chunks() if column.num_chunks != 1 else column.chunk(0))
        self.table = pa.table(columns, names=table.column_names)
        self.rows = table.num_rows
        self._cache: dict[_Key, pa.Array] = {}

    def names(self) -> list[str]:
        return list(self.table.column_names)

    def groupable(self, name: str) -> bool:
        kind = self.table.column(name).type
        return not self._pa.types.is_nested(kind)

    def sample_strings(self, name: str, indices: Sequence[int]) -> list[str | None]:
        import pyarrow.compute as pc

        pa = self._pa
        taken = self.table.column(name).take(pa.array(indices, type=pa.int64()))
        try:
            values: list[str | None] = pc.cast(taken, pa.string()).to_pylist()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return []
        return values

    def _array(self, key: _Key) -> pa.Array:
        name, gen = key
        if gen is None:
            return self.table.column(name)
        if key not in self._cache:
            self._cache[key] = self._generalize(self.table.column(name), gen)
        return self._cache[key]

    def _generalize(self, array: pa.Array, gen: Generalization) -> pa.Array:
        import pyarrow.compute as pc

        pa = self._pa
        kind = array.type
        if gen.kind == "year" and (pa.types.is_timestamp(kind) or pa.types.is_date(kind)):
            year = pc.cast(pc.year(array), pa.int64())
            original = pc.cast(array, pa.string())
        else:
            original = array if pa.types.is_string(kind) else pc.cast(array, pa.string())
            text = pc.utf8_slice_codeunits(pc.utf8_trim_whitespace(original), 0, _MAX_SHAPE_CHARS)
            if gen.kind == "postcode":
                return pc.utf8_slice_codeunits(pc.utf8_upper(pc.replace_substring(original, " ", "")), 0,
                                               gen.width)
            if gen.kind == "age":
                if pa.types.is_integer(kind) or pa.types.is_floating(kind):
                    number = pc.cast(array, pa.float64())
                    fine = pc.and_kleene(pc.invert(pc.is_nan(number)), pc.and_kleene(
                        pc.greater_equal(number, 0.0), pc.less_equal(number, float(MAX_AGE))))
                else:
                    shaped = pc.match_substring_regex(text, "^" + _AGE.pattern + "$")
                    number = pc.cast(pc.if_else(shaped, text, pa.scalar(None, pa.string())), pa.float64())
                    fine = pc.and_kleene(shaped, pc.less_equal(number, float(MAX_AGE)))
                number = pc.if_else(fine, number, pa.scalar(None, pa.float64()))
                low = pc.cast(pc.multiply(pc.floor(pc.divide(number, float(gen.width))), float(gen.width)),
                              pa.int64())
                label = pc.binary_join_element_wise(pc.cast(low, pa.string()),
                                                    pc.cast(pc.add(low, gen.width - 1), pa.string()), "-")
                return pc.if_else(pc.is_valid(label), label, original)
            found = pc.struct_field(pc.extract_regex(text, f"(?P<y>{_YEAR.pattern})"), "y")
            year = pc.cast(found, pa.int64())
        if gen.width == 1:
            label = pc.cast(year, pa.string())
        else:
            low = pc.multiply(pc.divide(year, gen.width), gen.width)  # integer division of int64
            label = pc.binary_join_element_wise(pc.cast(low, pa.string()),
                                                pc.cast(pc.add(low, gen.width - 1), pa.string()), "-")
        return pc.if_else(pc.is_valid(label), label, original)

    def _keyed(self, keys: Sequence[_Key], extra: dict[str, pa.Array] | None = None) -> tuple[pa.Table, list[str]]:
        names = [f"k{i}" for i in range(len(keys))]
        arrays = {name: self._array(key) for name, key in zip(names, keys, strict=True)}
        if not keys:  # one class holding every record
            arrays["k"] = self._pa.nulls(self.rows, self._pa.int8())
            names = ["k"]
        arrays.update(extra or {})
        return self._pa.table(arrays), names

    def class_stats(self, keys: Sequence[_Key], k_threshold: int) -> _ClassStats:
        import pyarrow.compute as pc

        if self.rows == 0:
            return _ClassStats(0, 0, 0, 0, 0)
        table, names = self._keyed(keys)
        sizes = table.group_by(names, use_threads=True).aggregate([([], "count_all")]).column("count_all")
        below = pc.less(sizes, k_threshold)
        return _ClassStats(
            k=int(pc.min(sizes).as_py()),
            classes=len(sizes),
            classes_below=int(pc.sum(below).as_py() or 0),
            rows_below=int(pc.sum(pc.if_else(below, sizes, 0)).as_py() or 0),
            unique=int(pc.sum(pc.equal(sizes, 1)).as_py() or 0),
        )

    def diversity(self, keys: Sequence[_Key], sensitive: str) -> LDiversity:
        import pyarrow.compute as pc

        if self.rows == 0:
            return LDiversity(sensitive, 0, 0, 0)
        table, names = self._keyed(keys, {"s": self.table.column(sensitive)})
        grouped = table.group_by(names).aggregate([("s", "count_distinct", pc.CountOptions(mode="all")),
                                                   ([], "count_all")])
        distinct = grouped.column("s_count_distinct")
        single = pc.less(distinct, 2)
        return LDiversity(sensitive, int(pc.min(distinct).as_py()), int(pc.sum(single).as_py() or 0),
                          int(pc.sum(pc.if_else(single, grouped.column("count_all"), 0)).as_py() or 0))


def _stats_from_sizes(sizes: Sequence[int], k_threshold: int) -> _ClassStats:
    if not sizes:
        return _ClassStats(0, 0, 0, 0, 0)
    below = [size for size in sizes if size < k_threshold]
    return _ClassStats(min(sizes), len(sizes), len(below), sum(below), sum(1 for size in sizes if size == 1))


_Frame = _PythonFrame | _ArrowFrame

# --- detection -----------------------------------------------------------------------------------------------


def header_kind(name: str) -> str | None:
    """The quasi-identifier kind a header names (``age``, ``date``, ``postcode``, ``gender``, ``category``)."""
    words = [w.lower() for w in _HEADER_WORD.findall(name[:200])]
    joined = "".join(words)
    for kind, hints in QI_HEADER_WORDS.items():
        if any(hint in words or hint == joined for hint in hints):
            return kind
    return None


def shape_kind(kind: str, values: Sequence[str | None]) -> tuple[bool, str]:
    """Whether sampled values have the shape of ``kind``; and the evidence, in counts only."""
    present = [v.strip()[:_MAX_SHAPE_CHARS] for v in values if v is not None and v.strip()]
    if not present:
        return False, "no values"
    total = len(present)
    if kind == "age":
        good = sum(1 for v in present if _AGE.fullmatch(v) and float(v) <= MAX_AGE)
    elif kind == "date":
        good = sum(1 for v in present if _DATE.fullmatch(v))
    elif kind == "postcode":
        good = sum(1 for v in present if _POSTCODE.fullmatch(v))
    elif kind == "gender":
        distinct = len(set(v.lower() for v in present))
        ok = distinct <= MAX_GENDER_VALUES and max(len(v) for v in present) <= 20
        return ok, f"{distinct} distinct values"
    else:
        lengths = sorted(len(v) for v in present)
        numeric = sum(1 for v in present if v.replace(".", "", 1).isdigit())
        ok = lengths[len(lengths) // 2] <= MAX_CATEGORY_MEDIAN_CHARS and numeric < 0.2 * total
        return ok, f"short categorical values (median {lengths[len(lengths) // 2]} characters)"
    share = good / total
    return share >= SHAPE_SHARE, f"{good} of {total} sampled values have the shape of {kind} ({share:.0%})"


def _detect_kind(name: str, values: Sequence[str | None]) -> tuple[str, str] | None:
    kind = header_kind(name)
    if kind is None:
        return None
    ok, evidence = shape_kind(kind, values)
    return (kind, f"header names {kind}; {evidence}") if ok else None


# --- the assessment ------------------------------------------------------------------------------------------


def assess_risk(
    table: pa.Table | Mapping[str, Sequence[Any]],
    *,
    quasi_identifiers: Sequence[str] | None = None,
    sensitive: Sequence[str] = (),
    k_threshold: int = 5,
    detect_direct: bool = True,
    analyze: Analyze | None = None,
    engine: Engine = "auto",
    suggest: bool = True,
) -> RiskReport:
    """Assess how easily the records of ``table`` can be re-identified.

    ``quasi_identifiers`` None detects them (header word plus value shape, and date-of-birth columns); an empty
    sequence means none. Raises ``UsageError`` for unknown columns or bad arguments; never shows a value.
    """
    if k_threshold < 1:
        raise UsageError(f"k threshold must be at least 1, not {k_threshold}")
    frame = _make_frame(table, engine)
    names = frame.names()
    known = set(names)
    for label, wanted in (("quasi-identifier", quasi_identifiers or ()), ("sensitive", sensitive)):
        missing = [name for name in wanted if name not in known]
        if missing:
            raise UsageError(f"unknown {label} column(s) {', '.join(missing)}: the table has "
                             f"{', '.join(names[:50]) or 'no columns'}")
    overlap = sorted(set(quasi_identifiers or ()) & set(sensitive))
    if overlap:
        raise UsageError(f"column(s) {', '.join(overlap)} cannot be both quasi-identifier and sensitive")

    indices = sample_indices(frame.rows, DETECTION_SAMPLE)
    samples = {name: frame.sample_strings(name, indices) for name in names}
    direct: list[DirectIdentifier] = []
    if detect_direct:
        verdicts = classify_columns({n: v for n, v in samples.items() if n not in set(sensitive)},
                                    analyze=analyze)
        direct = [DirectIdentifier(v.column, v.entity, v.confidence, v.free_text) for v in verdicts
                  if v.entity in DIRECT_IDENTIFIER_ENTITIES]
        dob = {v.column for v in verdicts if v.entity == "DATE_OF_BIRTH" and not v.free_text}
    else:
        dob = set()
    qis = _quasi_identifiers(names, samples, quasi_identifiers, sensitive, {d.column for d in direct}, dob)
    if isinstance(frame, _ArrowFrame):
        for qi in qis:
            if not frame.groupable(qi.column):
                raise UsageError(f"column {qi.column} holds nested values; it cannot be a quasi-identifier")

    keys: list[_Key] = [(qi.column, None) for qi in qis]
    base = frame.class_stats(keys, k_threshold)
    diversity = tuple(frame.diversity(keys, column) for column in sensitive)
    suggestions = tuple(_suggest(frame, qis, base, k_threshold)) if suggest and qis and frame.rows else ()
    notes = [] if qis else ["no quasi-identifiers: every record is in one class"]
    return RiskReport(
        rows=frame.rows, columns=tuple(names), direct_identifiers=tuple(direct), quasi_identifiers=tuple(qis),
        k=base.k, k_threshold=k_threshold, classes=base.classes, classes_below_k=base.classes_below,
        rows_below_k=base.rows_below, unique_records=base.unique,
        unique_share=round(base.unique / frame.rows, 6) if frame.rows else 0.0,
        l_diversity=diversity, suggestions=suggestions, engine=frame.engine, notes=tuple(notes),
    )


def _make_frame(table: object, engine: Engine) -> _Frame:
    try:
        import pyarrow as pa
    except ImportError:
        pa = None
    if engine == "pyarrow" and pa is None:
        raise MissingExtraError("Vectorized risk assessment", "parquet")
    if pa is not None and isinstance(table, pa.Table):
        if engine == "python":
            return _PythonFrame({name: table.column(name).to_pylist() for name in table.column_names})
        return _ArrowFrame(table)
    if not isinstance(table, Mapping):
        raise UsageError(f"a table must be a pyarrow.Table or a mapping of column name to values, "
                         f"not {type(table).__name__}")
    lengths = {len(values) for values in table.values()}
    if len(lengths) > 1:
        raise UsageError(f"all columns must have the same length (found {sorted(lengths)[:5]})")
    columns = {str(name): [None if v is None else str(v) for v in values] for name, values in table.items()}
    if pa is None or engine == "python":
        return _PythonFrame(columns)
    return _ArrowFrame(pa.table({name: pa.array(values, type=pa.string()) for name, values in columns.items()})
                       if columns else pa.table({}))


def _quasi_identifiers(names: Sequence[str], samples: Mapping[str, list[str | None]],
                       given: Sequence[str] | None, sensitive: Sequence[str], direct: set[str],
                       dob: set[str]) -> list[QuasiIdentifier]:
    if given is not None:
        out = []
        for name in dict.fromkeys(given):
            detected = _detect_kind(name, samples[name])
            kind = detected[0] if detected else ("date" if name in dob else "category")
            out.append(QuasiIdentifier(name, kind, "given", "named by the caller"))
        return out
    found = []
    for name in names:
        if name in direct or name in sensitive:
            continue
        detected = _detect_kind(name, samples[name])
        if detected is not None:
            found.append(QuasiIdentifier(name, detected[0], "detected", detected[1]))
        elif name in dob:
            found.append(QuasiIdentifier(name, "date", "detected", "values are dates of birth"))
    return found


def _suggest(frame: _Frame, qis: Sequence[QuasiIdentifier], base: _ClassStats,
             k_threshold: int) -> list[Suggestion]:
    """Try each standard generalization of each quasi-identifier alone, then a greedy combination."""
    keys: list[_Key] = [(qi.column, None) for qi in qis]
    out: list[Suggestion] = []
    for index, qi in enumerate(qis):
        for gen in (*GENERALIZATIONS.get(qi.kind, ()), None):
            trial = keys[:index] + ([(qi.column, gen)] if gen is not None else []) + keys[index + 1:]
            stats = frame.class_stats(trial, k_threshold)
            if stats.k > base.k or stats.rows_below < base.rows_below:
                label = gen.label if gen is not None else SUPPRESS
                out.append(_suggestion((qi.column,), (label,), base, stats, k_threshold))
    if base.k < k_threshold:
        combined = _greedy(frame, qis, base, k_threshold)
        if combined is not None and len(combined.columns) > 1:
            out.append(combined)
    return out


def _greedy(frame: _Frame, qis: Sequence[QuasiIdentifier], base: _ClassStats,
            k_threshold: int) -> Suggestion | None:
    """Coarsen one quasi-identifier a step at a time (the step that helps most) until k is reached."""
    ladders = {qi.column: GENERALIZATIONS.get(qi.kind, ()) for qi in qis}
    level = {qi.column: 0 for qi in qis}  # 0: as is; n: ladder[n - 1]
    current = base
    for _ in range(MAX_GREEDY_STEPS):
        if current.k >= k_threshold:
            break
        best: tuple[tuple[int, int], str, _ClassStats] | None = None
        for column, ladder in ladders.items():
            if level[column] >= len(ladder):
                continue
            trial_level = {**level, column: level[column] + 1}
            stats = frame.class_stats(_keys_at(qis, ladders, trial_level), k_threshold)
            score = (stats.k, -stats.rows_below)
            if best is None or score > best[0]:
                best = (score, column, stats)
        if best is None or (best[2].k, -best[2].rows_below) <= (current.k, -current.rows_below):
            break
        level[best[1]] += 1
        current = best[2]
    chosen = [(column, ladders[column][n - 1].label) for column, n in level.items() if n]
    if not chosen or current.k <= base.k and current.rows_below >= base.rows_below:
        return None
    return _suggestion(tuple(c for c, _ in chosen), tuple(g for _, g in chosen), base, current, k_threshold)


def _keys_at(qis: Sequence[QuasiIdentifier], ladders: Mapping[str, tuple[Generalization, ...]],
             level: Mapping[str, int]) -> list[_Key]:
    return [(qi.column, ladders[qi.column][level[qi.column] - 1] if level[qi.column] else None) for qi in qis]


def _suggestion(columns: tuple[str, ...], labels: tuple[str, ...], base: _ClassStats, after: _ClassStats,
                k_threshold: int) -> Suggestion:
    what = ", ".join(f"{c} -> {g}" for c, g in zip(columns, labels, strict=True))
    verb = "together raise" if len(columns) > 1 else "raises"
    if after.k > base.k:
        text = f"{what} {verb} k from {base.k} to {after.k}"
    else:
        text = f"{what} keeps k at {after.k}"
    text += f"; rows in classes below {k_threshold}: {base.rows_below} -> {after.rows_below}"
    return Suggestion(columns, labels, base.k, after.k, base.rows_below, after.rows_below, text)


# --- findings and text ---------------------------------------------------------------------------------------


def risk_findings(report: RiskReport, path: str) -> list[Finding]:
    """Findings MW-RISK-001/002/003 for a report about the table at ``path`` (as displayed)."""
    findings: list[Finding] = []
    qi_names = ", ".join(q.column for q in report.quasi_identifiers)
    if report.quasi_identifiers and report.rows and report.k < report.k_threshold:
        best = max(report.suggestions, key=lambda s: (s.k_after, -s.rows_below_after), default=None)
        hint = f"; {best.text}" if best is not None else ""
        message = (f"k-anonymity over {qi_names} is {report.k} (threshold {report.k_threshold}): "
                   f"{report.classes_below_k} classes holding {report.rows_below_k} of {report.rows} rows are "
                   f"below it and {report.unique_share:.1%} of records are unique{hint}")
        findings.append(make_finding(
            "MW-RISK-001", Location(path), message, evidence=f"k={report.k}; quasi-identifiers {qi_names}",
            severity=Severity.HIGH if report.k <= 1 else Severity.MEDIUM, scanner="risk",
            data={"k": report.k, "k_threshold": report.k_threshold, "rows_below_k": report.rows_below_k,
                  "classes_below_k": report.classes_below_k, "unique_share": report.unique_share,
                  "quasi_identifiers": [q.column for q in report.quasi_identifiers]}))
    for ident in report.direct_identifiers:
        kind = "mentions" if ident.free_text else "holds"
        findings.append(make_finding(
            "MW-RISK-002", Location(path, table_column=ident.column),
            f"column {ident.column} {kind} {ident.entity} values, which identify a person on their own",
            evidence=f"{ident.entity} in column {ident.column}", scanner="risk",
            data={"entity": ident.entity, "column": ident.column, "confidence": ident.confidence}))
    for diversity in report.l_diversity:
        if report.rows and diversity.l < 2:
            findings.append(make_finding(
                "MW-RISK-003", Location(path, table_column=diversity.column),
                f"l-diversity of {diversity.column} over {qi_names or 'the whole table'} is {diversity.l}: "
                f"{diversity.classes_below_2} classes holding {diversity.rows_below_2} rows share one value",
                evidence=f"l={diversity.l}; sensitive {diversity.column}", scanner="risk",
                data={"column": diversity.column, "l": diversity.l,
                      "classes_below_2": diversity.classes_below_2, "rows_below_2": diversity.rows_below_2}))
    return findings


def format_risk_report(report: RiskReport) -> str:
    """The report as plain text for a terminal (column names and counts only)."""
    lines = [f"rows: {report.rows}   columns: {len(report.columns)}   engine: {report.engine}"]
    if report.direct_identifiers:
        lines.append("direct identifiers: " + ", ".join(f"{d.column} ({d.entity})"
                                                        for d in report.direct_identifiers))
    else:
        lines.append("direct identifiers: none found")
    if report.quasi_identifiers:
        lines.append("quasi-identifiers:")
        lines.extend(f"  {q.column} [{q.kind}, {q.source}] {q.reason}" for q in report.quasi_identifiers)
    else:
        lines.append("quasi-identifiers: none")
    lines.append(f"k-anonymity: k = {report.k} (threshold {report.k_threshold}); {report.classes} classes, "
                 f"{report.classes_below_k} below k holding {report.rows_below_k} rows")
    lines.append(f"unique records: {report.unique_records} ({report.unique_share:.2%})")
    lines.extend(f"l-diversity of {x.column}: l = {x.l}; {x.classes_below_2} classes ({x.rows_below_2} rows) "
                 f"hold one value" for x in report.l_diversity)
    if report.suggestions:
        lines.append("suggested generalizations:")
        lines.extend(f"  {s.text}" for s in report.suggestions)
    lines.extend(f"note: {note}" for note in report.notes)
    return "\n".join(lines) + "\n"


# --- reading tables ------------------------------------------------------------------------------------------


def load_table(path: Path) -> pa.Table | dict[str, list[str | None]]:
    """Read a CSV/TSV (pyarrow.csv when installed) or Parquet file. Raises ``InputError`` on unreadable files."""
    from mlwarden.privacy.files import column_names, sniff_delimiter

    if not path.is_file():
        raise InputError(f"{path} is not a file: give a CSV, TSV or Parquet table")
    with path.open("rb") as handle:
        magic = handle.read(4)
    parquet = magic == b"PAR1" or path.suffix.lower() == ".parquet"
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq
    except ImportError:
        if parquet:
            raise MissingExtraError("Reading Parquet tables", "parquet") from None
        return _read_csv_python(path, column_names, sniff_delimiter)
    default = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    try:
        if parquet:
            table = pq.read_table(path)
        else:
            with path.open(encoding="utf-8-sig", errors="replace", newline="") as text:
                delimiter = sniff_delimiter(text.read(64 * 1024), default)
            table = pacsv.read_csv(path, parse_options=pacsv.ParseOptions(delimiter=delimiter,
                                                                          newlines_in_values=True),
                                   read_options=pacsv.ReadOptions(block_size=1 << 24))
    except (pa.ArrowException, OSError, ValueError) as error:
        raise InputError(f"{path} could not be read as a table ({type(error).__name__}); check that it is a "
                         "well-formed CSV, TSV or Parquet file") from None
    return table.rename_columns(column_names(table.column_names))


def _read_csv_python(path: Path, column_names: Callable[[Sequence[object]], list[str]],
                     sniff: Callable[[str, str], str]) -> dict[str, list[str | None]]:
    default = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        delimiter = sniff(handle.read(64 * 1024), default)
        handle.seek(0)
        reader = csv.reader(handle, delimiter=delimiter)
        try:
            names = column_names(next(reader, []))
            columns: dict[str, list[str | None]] = {name: [] for name in names}
            for count, row in enumerate(reader):
                if count >= MAX_FALLBACK_ROWS:
                    raise InputError(f"{path} has more than {MAX_FALLBACK_ROWS} rows: install pyarrow "
                                     "(pip install 'mlwarden[parquet]') to assess it")
                for index, name in enumerate(names):
                    columns[name].append(row[index] if index < len(row) else None)
        except csv.Error as error:
            raise InputError(f"{path} could not be read as CSV past line {reader.line_num} "
                             f"({type(error).__name__})") from None
    return columns
