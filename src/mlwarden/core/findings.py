"""The one findings model that every capability produces and every renderer consumes.

Values here are immutable; nothing in this module does I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is worse: critical=4 ... info=0."""
        return _RANK[self]

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls(text.strip().lower())
        except ValueError:
            from mlwarden.core.errors import UsageError

            levels = ", ".join(s.value for s in cls)
            raise UsageError(f"unknown severity '{text}': use one of {levels}") from None


_RANK = {Severity.CRITICAL: 4, Severity.HIGH: 3, Severity.MEDIUM: 2, Severity.LOW: 1, Severity.INFO: 0}


@dataclass(frozen=True, slots=True)
class Location:
    """Where a finding is. ``path`` is the path as found under the scanned path (POSIX separators).

    ``member`` names the archive member, nested members joined with ``!`` (``outer.zip!inner.pt!archive/data.pkl``).
    ``offset`` is a byte offset inside the innermost file; ``line``/``column`` point into text (1-based line).
    In notebooks ``cell`` is the 0-based index into ``cells`` and ``line`` the 1-based line of that cell's source,
    or, when ``output`` (0-based index into the cell's outputs) is set, of that output's text. ``field`` names a
    key (a JSON Lines field), ``column`` may also name a table column; ``start``/``end`` delimit a character span
    within the line or field value (end exclusive).
    """

    path: str
    member: str | None = None
    offset: int | None = None
    line: int | None = None
    column: int | None = None
    cell: int | None = None
    output: int | None = None
    start: int | None = None
    end: int | None = None
    field: str | None = None
    table_column: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path}
        for key in ("member", "offset", "cell", "output", "line", "column", "field", "start", "end"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.table_column is not None:  # a table column is named in "column" (a line's column is a number)
            out["column"] = self.table_column
        return out

    def display(self) -> str:
        text = self.path
        if self.member:
            text += f"!{self.member}"
        if self.cell is not None:
            text += f"#cell{self.cell}"
            if self.output is not None:
                text += f".out{self.output}"
        if self.field is not None:
            text += f"[{self.field}]"
        if self.table_column is not None:
            text += f"[column {self.table_column}]"
        if self.line is not None:
            text += f":{self.line}"
            if self.column is not None:
                text += f":{self.column}"
        elif self.offset is not None:
            text += f"@{self.offset}"
        return text


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a capability found. ``rule_id`` is stable and defined in the rule catalogue."""

    rule_id: str
    severity: Severity
    title: str
    message: str
    location: Location
    evidence: str | None = None
    remediation: str = ""
    references: tuple[str, ...] = ()
    scanner: str = ""
    suppressed: str | None = field(default=None, compare=False)
    # Structured evidence (package and ids of a vulnerability, entity of a personal-data hit). When set, the
    # JSON report shows it as ``evidence``; ``evidence`` stays the one-line text for people and fingerprints.
    data: Mapping[str, Any] | None = field(default=None, compare=False, hash=False)

    @property
    def fingerprint(self) -> str:
        """A stable identity for baselines: rule, path, member and evidence; not offsets, which shift on edits."""
        where = self.location
        parts = [self.rule_id, where.path, where.member or "", self.evidence or self.message]
        if where.cell is not None:  # a notebook cell is a part of the file, like an archive member
            parts.append(f"cell{where.cell}.{where.output}")
        if where.field is not None or where.table_column is not None:
            parts.append(f"{where.field}|{where.table_column}")
        text = "\x1f".join(parts)
        try:
            raw = text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # lone surrogates outside the escape range (pickle strings, Windows names)
            raw = text.encode("utf-8", "surrogatepass")
        return hashlib.sha256(raw).hexdigest()[:32]

    def with_severity(self, severity: Severity) -> Finding:
        return replace(self, severity=severity)

    def _evidence_document(self) -> str | dict[str, Any] | None:
        """Evidence for the JSON report: the text, or with structured data an object holding both."""
        if self.data is None:
            return self.evidence
        return {"text": self.evidence, **self.data}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rule_id": self.rule_id,
            "severity": self.severity.value,
            "title": self.title,
            "message": self.message,
            "location": self.location.to_dict(),
            "evidence": self._evidence_document(),
            "remediation": self.remediation,
            "references": list(self.references),
            "scanner": self.scanner,
            "fingerprint": self.fingerprint,
        }
        return out
