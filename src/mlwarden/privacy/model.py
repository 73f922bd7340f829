"""Values shared by the personal-data recognizers, the text and table scanners and the reports. Data only.

Canonical entity labels (the contract of ``evidence.entity`` in reports): PERSON, EMAIL, PHONE, CREDIT_CARD,
IBAN, US_SSN, UK_NINO, DE_TAX_ID, IN_AADHAAR, IP_ADDRESS, DATE_OF_BIRTH, STREET_ADDRESS, MEDICAL_RECORD_NUMBER,
HEALTH_PLAN_NUMBER, ACCOUNT_NUMBER, LICENSE_NUMBER, URL_WITH_CREDENTIALS, SECRET, and user-defined labels.
A hit never carries the raw value outside ``start``/``end`` offsets into the text it was found in; ``masked``
is what reports show.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

ENTITIES: tuple[str, ...] = (
    "PERSON", "EMAIL", "PHONE", "CREDIT_CARD", "IBAN", "US_SSN", "UK_NINO", "DE_TAX_ID", "IN_AADHAAR",
    "IP_ADDRESS", "DATE_OF_BIRTH", "STREET_ADDRESS", "MEDICAL_RECORD_NUMBER", "HEALTH_PLAN_NUMBER",
    "ACCOUNT_NUMBER", "LICENSE_NUMBER", "URL_WITH_CREDENTIALS", "SECRET",
)


@dataclass(frozen=True, slots=True)
class PiiHit:
    entity: str  # a canonical label
    start: int  # character offsets in the analysed text, end exclusive
    end: int
    confidence: float  # 0..1
    masked: str  # what reports show, never the value itself
    reason: str  # the evidence that produced the hit: "luhn valid; context 'card'"
    recognizer: str


class Recognizer(Protocol):
    """Finds one or more entity types in a text. Pure: text in, hits out; never raises on any text."""

    name: str
    entities: tuple[str, ...]

    def find(self, text: str) -> Iterable[PiiHit]: ...
