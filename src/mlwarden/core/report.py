"""The report: all findings of one run plus what was scanned. Renderers and the policy gate read only this."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from mlwarden.core.findings import Finding, Severity

JSON_SCHEMA_VERSION = "1.0"


@dataclass(slots=True)
class ScanStats:
    files_seen: int = 0
    files_scanned: int = 0
    bytes_seen: int = 0
    duration_s: float = 0.0
    formats: Counter[str] = field(default_factory=Counter)


@dataclass(slots=True)
class Report:
    """``findings`` are the active ones (after ignores and baseline); ``suppressed`` keeps the rest, each with
    ``Finding.suppressed`` saying why, so reports can show what was waived."""

    findings: list[Finding]
    roots: list[str]
    tool_version: str
    fail_on: Severity = Severity.HIGH
    suppressed: list[Finding] = field(default_factory=list)
    stats: ScanStats = field(default_factory=ScanStats)
    started_at: str = ""

    def counts(self) -> dict[str, int]:
        counter = Counter(f.severity.value for f in self.findings)
        return {s.value: counter.get(s.value, 0) for s in Severity}

    def failing(self) -> list[Finding]:
        return [f for f in self.findings if f.severity.rank >= self.fail_on.rank]

    @property
    def passed(self) -> bool:
        return not self.failing()

    def by_path(self) -> dict[str, list[Finding]]:
        groups: dict[str, list[Finding]] = {}
        for finding in self.sorted_findings():
            groups.setdefault(finding.location.path, []).append(finding)
        return groups

    def sorted_findings(self) -> list[Finding]:
        return sorted(self.findings, key=lambda f: (f.location.path, f.location.member or "",
                                                     -f.severity.rank, f.location.offset or 0, f.rule_id))
