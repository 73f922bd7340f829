"""Small helpers that tests use to look at findings (not samples themselves, but shared by every suite)."""

from __future__ import annotations

from mlwarden.core.findings import Finding, Severity


def serious(findings: list[Finding]) -> list[Finding]:
    """Findings at or above medium: what a benign sample must never produce."""
    return [f for f in findings if f.severity.rank >= Severity.MEDIUM.rank]


def rules(findings: list[Finding]) -> set[str]:
    return {f.rule_id for f in findings}


def system_calls(findings: list[Finding]) -> list[Finding]:
    """Dangerous-callable findings whose evidence is an os.system-like call."""
    return [f for f in findings if f.rule_id == "MW-PKL-001" and "system" in (f.evidence or "")]
