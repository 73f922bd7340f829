"""The report: all findings of one run plus what was scanned. Renderers and the policy gate read only this."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from mlwarden.core.findings import Finding, Severity

# 1.1: notebook/field locations, structured evidence objects, scanners and dependency_audit sections.
JSON_SCHEMA_VERSION = "1.1"


@dataclass(slots=True)
class ScanStats:
    files_seen: int = 0
    files_scanned: int = 0
    bytes_seen: int = 0
    duration_s: float = 0.0
    formats: Counter[str] = field(default_factory=Counter)
    # Text files per analysis that ran on them: code, config, notebook, secrets, deps.
    text_files: Counter[str] = field(default_factory=Counter)


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
    scanners: list[str] = field(default_factory=list)
    # Database used, dependencies audited, minimal upgrade set; None when the dependency scanner found nothing.
    dependency_audit: dict[str, Any] | None = None

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
        return sorted(self.findings, key=finding_order)


def finding_order(finding: Finding) -> tuple[str, str, int, int, int, int, str]:
    """Report order: by file and part of it (member, notebook cell and output), worst first, then position."""
    where = finding.location
    return (where.path, where.member or "", -1 if where.cell is None else where.cell,
            -1 if where.output is None else where.output, -finding.severity.rank,
            (where.offset or 0) + (where.line or 0), finding.rule_id)
