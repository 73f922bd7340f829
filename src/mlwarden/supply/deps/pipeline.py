"""The dependency stage of a scan: gather what the sources declared (plus an installed environment when asked),
audit it against the local advisory database, and summarise (minimal upgrade set, ML packages).

Runs once per scan in the main process, after the per-file workers have parsed the dependency files. It reads
the advisory database and, only when asked, an installed environment's metadata; it never imports packages.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlwarden.core.findings import Finding, Location
from mlwarden.core.rules import make_finding
from mlwarden.supply.deps.model import Dependency


@dataclass(slots=True)
class DependencyAuditOutcome:
    findings: list[Finding] = field(default_factory=list)
    summary: dict[str, Any] | None = None  # the report's "dependency_audit" section; None when nothing declared


def collect_environment(*, environment: bool, python: Path | None) -> tuple[list[Dependency], list[Finding]]:
    """The installed distributions to audit: the current interpreter's, another interpreter's, or none."""
    if not environment and python is None:
        return [], []
    from mlwarden.supply.deps.sources.installed import installed_distributions
    from mlwarden.supply.filescan import problem_to_finding

    deps: list[Dependency] = []
    findings: list[Finding] = []
    for result in ([installed_distributions()] if environment else []) + (
            [installed_distributions(python=python)] if python is not None else []):
        deps.extend(result.dependencies)
        findings.extend(problem_to_finding(p) for p in result.problems)
    return deps, findings


def run_dependency_audit(declared: Iterable[Dependency], *, db_path: Path | None, max_age_days: int
                         ) -> DependencyAuditOutcome:
    """Audit ``declared`` (deduplicated: the same entry reached through two includes counts once)."""
    from mlwarden.supply.advisories.store import AdvisoryStore, MissingDatabaseError
    from mlwarden.supply.deps.audit import audit, check_database_age

    deps = list(dict.fromkeys(declared))
    outcome = DependencyAuditOutcome()
    if not deps:
        return outcome
    try:
        store = AdvisoryStore.open(db_path)
    except MissingDatabaseError as exc:
        first = deps[0]
        count = f"{len(deps)} dependenc{'y was' if len(deps) == 1 else 'ies were'}"
        outcome.findings.append(make_finding(
            "MW-DEP-005", Location(first.source, line=first.line, cell=first.cell),
            f"{count} found but not audited: {exc}", evidence="no advisory database", scanner="deps",
            data={"path": str(exc.path) if exc.path else None, "dependencies": len(deps)}))
        outcome.summary = {"database": None, "dependencies": len(deps), "audited": 0, "vulnerable": 0,
                           "upgrades": []}
        return outcome
    try:
        stale = check_database_age(store, max_age_days)
        if stale is not None:
            outcome.findings.append(stale)
        result = audit(deps, store)
        meta = store.metadata()
    finally:
        store.close()
    outcome.findings.extend(result.findings)
    outcome.summary = {
        "database": {"path": str(meta.path) if meta.path else None, "source": meta.source,
                     "snapshot_date": meta.snapshot_date, "records": meta.record_count},
        "dependencies": len(deps),
        "audited": result.audited,
        "vulnerable": result.vulnerable,
        "upgrades": [{"package": u.name, "current": u.current, "target": u.target, "fixes": list(u.fixes),
                      "unfixed": list(u.unfixed)} for u in result.upgrades],
        "ml_packages": ml_stack(deps, result.findings),
    }
    return outcome


def ml_stack(deps: Iterable[Dependency], findings: Iterable[Finding]) -> list[dict[str, Any]]:
    """The ML frameworks and tools among the dependencies, with their known vulnerabilities: the report shows
    them as a group, because they are where model-loading remote-code-execution advisories live."""
    from mlwarden.supply.deps.audit import is_ml_package

    vulnerable: dict[tuple[str, str], set[str]] = {}
    for finding in findings:
        data = finding.data or {}
        if finding.rule_id == "MW-DEP-001" and data.get("package"):
            vulnerable.setdefault((str(data["package"]), str(data.get("version"))), set()).add(str(data.get("id")))
    stack: dict[tuple[str, str], dict[str, Any]] = {}
    for dep in deps:
        if not is_ml_package(dep.normalized):
            continue
        version = dep.version or dep.specifier or "unpinned"
        entry = stack.setdefault((dep.normalized, version), {"package": dep.normalized, "version": version,
                                                             "vulnerabilities": 0})
        entry["vulnerabilities"] = max(entry["vulnerabilities"], len(
            vulnerable.get((dep.normalized, version), vulnerable.get((dep.name, version), set()))))
    return sorted(stack.values(), key=lambda e: (-e["vulnerabilities"], e["package"], e["version"]))
