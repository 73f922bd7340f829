"""The dependency stage of a scan: deduplication, the missing database, the summary."""

from __future__ import annotations

from pathlib import Path

from mlwarden.supply.deps.model import Dependency
from mlwarden.supply.deps.pipeline import collect_environment, run_dependency_audit
from tests.samples.advisories import build_tiny_db


def test_the_same_declaration_reached_twice_is_audited_once(tmp_path: Path):
    db = build_tiny_db(tmp_path)
    dep = Dependency("demo-pkg", "requirements/base.txt", version="1.0", line=1)
    again = Dependency("demo-pkg", "requirements/base.txt", version="1.0", line=1, via=("requirements/dev.txt",))
    outcome = run_dependency_audit([dep, again], db_path=db, max_age_days=3650)
    assert [f.rule_id for f in outcome.findings] == ["MW-DEP-001"]
    assert outcome.summary is not None and outcome.summary["dependencies"] == 1


def test_no_dependencies_means_no_summary_and_no_database_needed(tmp_path: Path):
    outcome = run_dependency_audit([], db_path=tmp_path / "absent.sqlite3", max_age_days=30)
    assert outcome.findings == [] and outcome.summary is None


def test_missing_database_names_the_fix(tmp_path: Path):
    dep = Dependency("demo-pkg", "requirements.txt", version="1.0", line=3)
    outcome = run_dependency_audit([dep], db_path=tmp_path / "absent.sqlite3", max_age_days=30)
    (finding,) = outcome.findings
    assert finding.rule_id == "MW-DEP-005" and finding.location.line == 3
    assert "mlwarden db update" in finding.message
    assert outcome.summary is not None and outcome.summary["database"] is None


def test_environment_is_never_collected_unless_asked():
    assert collect_environment(environment=False, python=None) == ([], [])
    deps, problems = collect_environment(environment=True, python=None)
    assert any(d.normalized == "packaging" for d in deps)
    assert all(d.source == "<environment>" for d in deps)
