"""Personal data in one text: run the recognizers, keep the confident hits, resolve overlaps.

``analyze_text`` is the entry point the file and table scanners call for every text value; ``CustomPattern``
lets users add their own labelled patterns. Recognizers are named in one registry table (``RECOGNIZERS``) and
imported lazily, so a recognizer module that is not installed is skipped rather than breaking the others.

Pure: text in, ``PiiHit``s out. This module must never return, log or raise with a found value (hits carry
offsets and masked text only), never raise on any text, and never read files or the network.
"""

from __future__ import annotations

import importlib
import re
from bisect import bisect_left
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import islice

from mlwarden.core.errors import UsageError
from mlwarden.privacy.model import PiiHit, Recognizer
from mlwarden.privacy.recognizers import MAX_HITS_PER_RECOGNIZER, context_window, mask
from mlwarden.privacy.validators import VALIDATORS

__all__ = ["RECOGNIZERS", "CustomPattern", "analyze_text", "default_recognizers", "resolve_overlaps"]

# The registry: "module:Class" of every built-in recognizer, in the order they run. Optional modules (names
# and addresses come from a separate module) are skipped when they are missing.
RECOGNIZERS: tuple[str, ...] = (
    "mlwarden.privacy.recognizers:EmailRecognizer",
    "mlwarden.privacy.recognizers:PhoneRecognizer",
    "mlwarden.privacy.recognizers:CreditCardRecognizer",
    "mlwarden.privacy.recognizers:IbanRecognizer",
    "mlwarden.privacy.recognizers:UsSsnRecognizer",
    "mlwarden.privacy.recognizers:UkNinoRecognizer",
    "mlwarden.privacy.recognizers:DeTaxIdRecognizer",
    "mlwarden.privacy.recognizers:AadhaarRecognizer",
    "mlwarden.privacy.recognizers:IpAddressRecognizer",
    "mlwarden.privacy.recognizers:DateOfBirthRecognizer",
    "mlwarden.privacy.recognizers:LabelledIdRecognizer",
    "mlwarden.privacy.recognizers:UrlCredentialsRecognizer",
    "mlwarden.privacy.recognizers:SecretRecognizer",
    "mlwarden.privacy.names:PersonRecognizer",
    "mlwarden.privacy.names:AddressRecognizer",
)
_OPTIONAL_MODULES = frozenset({"mlwarden.privacy.names"})


@lru_cache(maxsize=1)
def default_recognizers() -> tuple[Recognizer, ...]:
    """One instance of each recognizer in ``RECOGNIZERS`` whose module can be imported."""
    found: list[Recognizer] = []
    for entry in RECOGNIZERS:
        module_name, _, class_name = entry.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if module_name in _OPTIONAL_MODULES and error.name == module_name:
                continue  # not written or not installed: the other recognizers still run
            raise
        recognizer_class = getattr(module, class_name, None)
        if recognizer_class is None and module_name in _OPTIONAL_MODULES:
            continue
        if recognizer_class is None:
            raise UsageError(f"recognizer '{entry}' is not defined: fix the registry in mlwarden.privacy.text")
        found.append(recognizer_class())
    return tuple(found)


@dataclass(frozen=True)
class CustomPattern:
    """A user's own recognizer: an entity label, a regular expression, optionally a validator by name (see
    ``mlwarden.privacy.validators.VALIDATORS``) and context words that raise the confidence.

    ``confidence`` applies to a match (validated, when a validator is named); ``context_confidence`` to one with
    a context word among the ``context_chars`` characters before it. The regex is the user's: it should use
    bounded quantifiers, since Python's engine cannot bound a badly written pattern's backtracking.
    """

    entity: str
    regex: str
    validator: str | None = None
    context: tuple[str, ...] = ()
    confidence: float = 0.6
    context_confidence: float = 0.9
    context_chars: int = 40
    flags: int = 0
    name: str = ""
    _compiled: re.Pattern[str] = field(init=False, repr=False, compare=False)
    _context: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.entity or not self.entity.replace("_", "").isalnum():
            raise UsageError(f"custom pattern entity '{self.entity}' must be a label such as EMPLOYEE_ID")
        if self.validator is not None and self.validator not in VALIDATORS:
            known = ", ".join(sorted(VALIDATORS))
            raise UsageError(f"unknown validator '{self.validator}' for {self.entity}: use one of {known}")
        for value in (self.confidence, self.context_confidence):
            if not 0.0 <= value <= 1.0:
                raise UsageError(f"confidence {value} for {self.entity} must be between 0 and 1")
        try:
            compiled = re.compile(self.regex, self.flags)
        except re.error as error:
            raise UsageError(f"custom pattern for {self.entity} is not a valid regex: {error}") from None
        context = None
        if self.context:
            words = "|".join(re.escape(word.lower()) for word in sorted(self.context, key=len, reverse=True))
            context = re.compile(rf"(?<!\w)(?:{words})(?!\w)")
        object.__setattr__(self, "_compiled", compiled)
        object.__setattr__(self, "_context", context)
        if not self.name:
            object.__setattr__(self, "name", f"custom:{self.entity}")

    @property
    def entities(self) -> tuple[str, ...]:
        return (self.entity,)

    def find(self, text: str) -> Iterator[PiiHit]:
        check = VALIDATORS[self.validator] if self.validator is not None else None
        for found in self._compiled.finditer(text):
            if found.end() == found.start():
                continue
            value = found.group()
            if check is not None and not check(value):
                continue
            confidence = self.confidence
            reason = f"custom pattern{'; ' + self.validator + ' valid' if self.validator else ''}"
            if self._context is not None:
                word = self._context.search(context_window(text, found.start(), before=self.context_chars))
                if word is not None:
                    confidence = max(confidence, self.context_confidence)
                    reason += f"; context '{word.group()}'"
            yield PiiHit(entity=self.entity, start=found.start(), end=found.end(), confidence=confidence,
                         masked=mask(self.entity, value), reason=reason, recognizer=self.name)


def resolve_overlaps(hits: Sequence[PiiHit]) -> list[PiiHit]:
    """Hits that do not overlap, sorted by start: of overlapping hits the most confident wins, then the longest,
    then the earliest."""
    ranked = sorted(hits, key=lambda hit: (-hit.confidence, -(hit.end - hit.start), hit.start, hit.entity))
    starts: list[int] = []  # kept spans, sorted by start; they never overlap, so ends are sorted too
    ends: list[int] = []
    kept: list[PiiHit] = []
    for hit in ranked:
        if hit.end <= hit.start:
            continue
        index = bisect_left(starts, hit.start)
        if index > 0 and ends[index - 1] > hit.start:
            continue
        if index < len(starts) and starts[index] < hit.end:
            continue
        starts.insert(index, hit.start)
        ends.insert(index, hit.end)
        kept.insert(index, hit)
    return kept


def analyze_text(
    text: str,
    *,
    entities: Collection[str] | None = None,
    min_confidence: float = 0.5,
    recognizers: Sequence[Recognizer] | None = None,
) -> list[PiiHit]:
    """Personal data in ``text``: hits of at least ``min_confidence``, no two overlapping, sorted by start.

    ``entities`` limits the search to those labels (recognizers for none of them do not run);
    ``recognizers`` replaces the built-in registry (pass ``[*default_recognizers(), CustomPattern(...)]`` to
    add to it).
    """
    if not text:
        return []
    chosen = default_recognizers() if recognizers is None else tuple(recognizers)
    wanted = None if entities is None else frozenset(entities)
    candidates: list[PiiHit] = []
    for recognizer in chosen:
        if wanted is not None and wanted.isdisjoint(recognizer.entities):
            continue
        # One cap for every recognizer: find() is a generator, so islice also stops its work on hostile text.
        for hit in islice(recognizer.find(text), MAX_HITS_PER_RECOGNIZER):
            if hit.confidence >= min_confidence and (wanted is None or hit.entity in wanted):
                candidates.append(hit)
    return resolve_overlaps(candidates)
