"""What a text analyzer reports: a ``Hit`` (rule, position, message, evidence), before it is placed in a file.

Analyzers of source code, configuration, notebooks and secrets are pure functions from text to hits; the code
that knows the file (path, notebook cell and output) turns hits into findings with ``hit_to_finding``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from mlwarden.core.findings import Finding, Location, Severity
from mlwarden.core.rules import make_finding


@dataclass(frozen=True, slots=True)
class Hit:
    rule_id: str
    line: int  # 1-based within the analysed text
    message: str
    evidence: str | None = None  # never an unmasked secret
    column: int | None = None  # 1-based
    start: int | None = None  # character span within the line, end exclusive
    end: int | None = None
    severity: Severity | None = None  # only to raise or lower the rule's default for this case
    data: Mapping[str, Any] | None = None


def hit_to_finding(hit: Hit, where: Location, *, scanner: str) -> Finding:
    """Place ``hit`` in a file: ``where`` gives path (and cell/output for notebooks); the hit gives the line."""
    location = replace(where, line=hit.line, column=hit.column, start=hit.start, end=hit.end)
    return make_finding(hit.rule_id, location, hit.message, evidence=hit.evidence, severity=hit.severity,
                        scanner=scanner, data=hit.data)
