"""Column-wise personal-data classification of tables (CSV, TSV, Parquet): which columns hold which entity.

A column is judged on a deterministic sample of its non-empty values (the first half of the budget plus an
evenly spaced stride over the rest), never on its name alone: each distinct sampled value is run through the
text analyzer, and the share of values that are wholly one validated entity decides. The header name is a weak
prior that only lowers the share needed (a column named ``ssn_check_status`` holding booleans is not flagged; a
column named ``col_17`` holding e-mail addresses is). Long, space-containing values are free text: the entities
found inside them are reported for the column.

Pure: columns of strings in, verdicts out; no I/O. A verdict never carries a raw value, only masked examples.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

from mlwarden.privacy.model import PiiHit

Analyze = Callable[..., list[PiiHit]]

# Values per column looked at (non-empty); with 1,000 a column share of 0.6 is estimated to within a few points.
DEFAULT_SAMPLE_SIZE = 1000
# Share of sampled values that must be one entity for the column to be that entity, without and with a header
# that names the entity. Chosen so that a column with a few stray values (notes, placeholders) still counts.
SHARE_THRESHOLD = 0.6
SHARE_THRESHOLD_WITH_PRIOR = 0.3
# A hit covers "the whole value" when it spans at least this share of the stripped value's characters.
WHOLE_VALUE_SHARE = 0.8
# Values longer than this are analysed in their first part only (cells can be huge in hostile files).
MAX_VALUE_CHARS = 4096
# Free text: a column whose values have a median length of at least this many characters and mostly contain
# spaces (comments, notes, chat turns); their entities are found inside the text rather than as the value.
FREE_TEXT_MEDIAN_CHARS = 30
FREE_TEXT_SPACE_SHARE = 0.5
# Per-value analysis uses this lower confidence floor: the column share, not one value, carries the decision.
VALUE_CONFIDENCE_FLOOR = 0.3
MAX_EXAMPLES = 3

# Cheap pre-check over the whole sample before any recognizer runs: values that can be no entity of the
# catalogue (small numbers, decimals, booleans, null markers; all shorter than the shortest validated entity,
# or plain measurements) are skipped. Bounded quantifiers only.
_NOT_PII = re.compile(
    r"[+-]?\d{1,3}|[+-]?\d{0,12}[.,]\d{1,20}(?:[eE][+-]?\d{1,4})?|[+-]?\d{1,12}[eE][+-]?\d{1,4}"
    r"|true|false|yes|no|y|n|t|f|null|none|nan|n/a|na|-|\?",
    re.IGNORECASE,
)

# Header words that hint at an entity (matched against the header's lower-case words, split at non-letters
# and camelCase). Written from the entity definitions in mlwarden.privacy.model and common column names in
# public data-set schemas (first_name, email_address, phone_number, dob, ssn, iban, ip_addr, mrn ...).
HEADER_PRIORS: Mapping[str, tuple[str, ...]] = {
    "PERSON": ("name", "firstname", "lastname", "surname", "fullname", "forename", "givenname", "patient",
               "customer", "employee", "author", "username"),
    "EMAIL": ("email", "mail", "emailaddress"),
    "PHONE": ("phone", "telephone", "tel", "mobile", "cell", "fax", "msisdn", "phonenumber"),
    "CREDIT_CARD": ("card", "cc", "pan", "creditcard", "cardnumber"),
    "IBAN": ("iban",),
    "US_SSN": ("ssn", "social", "socialsecurity"),
    "UK_NINO": ("nino", "nin", "insurance"),
    "DE_TAX_ID": ("steuerid", "taxid", "tin", "idnr"),
    "IN_AADHAAR": ("aadhaar", "aadhar", "uid"),
    "IP_ADDRESS": ("ip", "ipaddress", "ipaddr", "addr", "client", "remote"),
    "DATE_OF_BIRTH": ("dob", "birth", "birthday", "birthdate", "born"),
    "STREET_ADDRESS": ("address", "street", "addr", "addressline"),
    "MEDICAL_RECORD_NUMBER": ("mrn", "medical", "record", "chart"),
    "HEALTH_PLAN_NUMBER": ("health", "insurance", "member", "plan"),
    "ACCOUNT_NUMBER": ("account", "acct", "bank"),
    "LICENSE_NUMBER": ("license", "licence", "dl", "driver"),
    "SECRET": ("password", "passwd", "pwd", "secret", "token", "apikey", "key"),
}
_HEADER_WORD = re.compile(r"[A-Z]?[a-z]{1,40}|[A-Z]{1,40}(?![a-z])")


@dataclass(frozen=True, slots=True)
class ColumnVerdict:
    """One column that holds personal data. ``examples`` are masked; nothing here is a raw value."""

    column: str
    entity: str  # the canonical label that dominates the column
    share: float  # matching sampled values / sampled non-empty values
    confidence: float  # 0..1
    matches: int  # sampled values that matched ``entity``
    sampled: int  # non-empty values looked at
    examples: tuple[str, ...]  # masked
    reason: str
    free_text: bool = False
    # For free text: every entity found in the sample with the number of values it appeared in.
    entities: tuple[tuple[str, int], ...] = ()


def sample_indices(total: int, size: int) -> list[int]:
    """Deterministic sample of ``size`` indices out of ``range(total)``: the first half plus an even stride."""
    if total <= size:
        return list(range(total))
    head = size // 2
    rest = size - head
    span = total - head
    return list(range(head)) + [head + (i * span) // rest for i in range(rest)]


class StridedSampler:
    """Deterministic, bounded sample of a stream of unknown length: the first ``size // 2`` items, then an
    evenly spaced stride over the rest whose step doubles whenever the buffer fills. Memory stays ``O(size)``."""

    def __init__(self, size: int = DEFAULT_SAMPLE_SIZE) -> None:
        self._head_size = max(1, size // 2)
        self._tail_size = max(2, size - self._head_size)
        self.head: list[object] = []
        self._tail: list[object] = []
        self._step = 1
        self._seen_tail = 0
        self.seen = 0

    def add(self, item: object) -> None:
        self.seen += 1
        if len(self.head) < self._head_size:
            self.head.append(item)
            return
        if self._seen_tail % self._step == 0:
            self._tail.append(item)
            if len(self._tail) > self._tail_size:
                self._tail = self._tail[::2]
                self._step *= 2
        self._seen_tail += 1

    def items(self) -> list[object]:
        return self.head + self._tail


def header_prior(name: str) -> frozenset[str]:
    """Entities a column header hints at (a weak prior: it lowers the share needed, it never decides alone)."""
    words = [w.lower() for w in _HEADER_WORD.findall(name[:200])]
    joined = "".join(words)
    found: set[str] = set()
    for entity, hints in HEADER_PRIORS.items():
        if any(hint in words or hint == joined for hint in hints):
            found.add(entity)
    return frozenset(found)


def classify_columns(
    columns: Mapping[str, Sequence[str | None]],
    *,
    entities: Collection[str] | None = None,
    min_confidence: float = 0.5,
    analyze: Analyze | None = None,
    sample_size: int = DEFAULT_SAMPLE_SIZE,
) -> list[ColumnVerdict]:
    """Classify each column; return a verdict for every column judged to hold personal data, in column order."""
    run = analyze if analyze is not None else _default_analyze()
    verdicts: list[ColumnVerdict] = []
    for name, values in columns.items():
        verdict = classify_column(name, values, entities=entities, min_confidence=min_confidence,
                                  analyze=run, sample_size=sample_size)
        if verdict is not None:
            verdicts.append(verdict)
    return verdicts


def classify_column(
    name: str,
    values: Sequence[str | None],
    *,
    entities: Collection[str] | None = None,
    min_confidence: float = 0.5,
    analyze: Analyze,
    sample_size: int = DEFAULT_SAMPLE_SIZE,
) -> ColumnVerdict | None:
    """Classify one column from its values (sampled here when there are more than ``sample_size``)."""
    present = [v.strip() for v in values if v is not None and v.strip()]
    sample = [present[i][:MAX_VALUE_CHARS] for i in sample_indices(len(present), sample_size)]
    if not sample:
        return None
    if _is_free_text(sample):
        return _classify_free_text(name, sample, entities, min_confidence, analyze)
    return _classify_structured(name, sample, entities, min_confidence, analyze)


def _classify_structured(name: str, sample: list[str], entities: Collection[str] | None,
                         min_confidence: float, analyze: Analyze) -> ColumnVerdict | None:
    multiplicity = Counter(sample)
    candidates = [value for value in multiplicity if not _NOT_PII.fullmatch(value)]
    if not candidates:
        return None
    floor = min(min_confidence, VALUE_CONFIDENCE_FLOOR)
    matches: Counter[str] = Counter()
    confidence_sum: dict[str, float] = {}
    examples: dict[str, list[str]] = {}
    reasons: dict[str, str] = {}
    for value in candidates:
        hit = _whole_value_hit(value, analyze(value, entities=entities, min_confidence=floor))
        if hit is None:
            continue
        weight = multiplicity[value]
        matches[hit.entity] += weight
        confidence_sum[hit.entity] = confidence_sum.get(hit.entity, 0.0) + hit.confidence * weight
        shown = examples.setdefault(hit.entity, [])
        masked = safe_masked(hit.masked, value)
        if len(shown) < MAX_EXAMPLES and masked not in shown:
            shown.append(masked)
        reasons.setdefault(hit.entity, hit.reason)
    if not matches:
        return None
    priors = header_prior(name)
    total = len(sample)
    entity, count = max(matches.items(), key=lambda item: (item[1] + (0.5 if item[0] in priors else 0), item[0]))
    share = count / total
    has_prior = entity in priors
    if share < (SHARE_THRESHOLD_WITH_PRIOR if has_prior else SHARE_THRESHOLD):
        return None
    mean_confidence = confidence_sum[entity] / count
    confidence = min(0.99, 0.5 * mean_confidence + 0.5 * share + (0.1 if has_prior else 0.0))
    if confidence < min_confidence:
        return None
    prior_note = "; header names it" if has_prior else ""
    reason = f"{count} of {total} sampled values are {entity} ({share:.0%}){prior_note}; e.g. {reasons[entity]}"
    return ColumnVerdict(name, entity, round(share, 4), round(confidence, 2), count, total,
                         tuple(examples[entity]), reason)


def _classify_free_text(name: str, sample: list[str], entities: Collection[str] | None,
                        min_confidence: float, analyze: Analyze) -> ColumnVerdict | None:
    found: Counter[str] = Counter()
    best: dict[str, float] = {}
    examples: dict[str, list[str]] = {}
    reasons: dict[str, str] = {}
    cells_with_hits = 0
    for value in sample:
        hits = analyze(value, entities=entities, min_confidence=min_confidence)
        kinds = {hit.entity for hit in hits}
        if kinds:
            cells_with_hits += 1
        found.update(kinds)
        for hit in hits:
            best[hit.entity] = max(best.get(hit.entity, 0.0), hit.confidence)
            shown = examples.setdefault(hit.entity, [])
            masked = safe_masked(hit.masked, value[hit.start:hit.end])
            if len(shown) < MAX_EXAMPLES and masked not in shown:
                shown.append(masked)
            reasons.setdefault(hit.entity, hit.reason)
    if not found:
        return None
    entity, count = max(found.items(), key=lambda item: (item[1], item[0]))
    total = len(sample)
    listed = ", ".join(f"{label} in {n}" for label, n in sorted(found.items(), key=lambda i: (-i[1], i[0])))
    reason = f"free text; {cells_with_hits} of {total} sampled values mention personal data ({listed} values)"
    return ColumnVerdict(name, entity, round(count / total, 4), round(best[entity], 2), count, total,
                         tuple(examples[entity]), reason, free_text=True,
                         entities=tuple(sorted(found.items(), key=lambda i: (-i[1], i[0]))))


def _whole_value_hit(value: str, hits: Sequence[PiiHit]) -> PiiHit | None:
    """The most confident hit that covers (nearly) the whole value, or None."""
    need = WHOLE_VALUE_SHARE * len(value)
    covering = [hit for hit in hits if hit.end - hit.start >= need]
    if not covering:
        return None
    return max(covering, key=lambda hit: (hit.confidence, hit.end - hit.start, hit.entity))


def _is_free_text(sample: list[str]) -> bool:
    lengths = sorted(len(value) for value in sample)
    median = lengths[len(lengths) // 2]
    spaced = sum(1 for value in sample if " " in value)
    return median >= FREE_TEXT_MEDIAN_CHARS and spaced >= FREE_TEXT_SPACE_SHARE * len(sample)


def safe_masked(masked: str, raw: str) -> str:
    """The recognizer's mask, unless it would show the raw value (then a mask of the value's shape)."""
    if raw and len(raw) >= 2 and raw in masked:
        return "*" * min(len(raw), 32)
    return masked


def _default_analyze() -> Analyze:
    from mlwarden.privacy.text import analyze_text

    return analyze_text
