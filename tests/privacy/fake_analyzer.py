"""A stand-in for mlwarden.privacy.text.analyze_text in tests: e-mails, US SSNs and 'Name: X Y', by regex.

Tests of files, tables and the CLI use it so that they check plumbing (offsets, fields, columns, findings),
not the recognizers. Also registers the privacy rules in the catalogue until core/rules.py imports them.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from mlwarden.core.rules import CATALOGUE
from mlwarden.core.rules_privacy import PRIVACY_RULES
from mlwarden.privacy.model import PiiHit

for _rule in PRIVACY_RULES:  # test shim: a no-op once core/rules.py includes PRIVACY_RULES
    CATALOGUE.setdefault(_rule.rule_id, _rule)

_PATTERNS = (
    ("EMAIL", re.compile(r"\b[a-z0-9._]{1,64}@[a-z0-9-]{1,63}\.[a-z]{2,10}\b"), 0.9),
    ("US_SSN", re.compile(r"\b(?!000)\d{3}-\d{2}-\d{4}\b"), 0.8),
    ("PERSON", re.compile(r"(?<=Name: )[A-Z][a-z]{1,20} [A-Z][a-z]{1,20}"), 0.7),
)


def fake_analyze(text: str, *, entities: Collection[str] | None = None, min_confidence: float = 0.5,
                 recognizers: object = None) -> list[PiiHit]:
    hits = []
    for entity, pattern, confidence in _PATTERNS:
        if entities is not None and entity not in entities or confidence < min_confidence:
            continue
        for match in pattern.finditer(text):
            value = match.group()
            hits.append(PiiHit(entity, match.start(), match.end(), confidence, value[0] + "***" + value[-1],
                               f"fake {entity.lower()}", "fake"))
    return hits
