"""Integration tests of the risk command (registered like main.py will: ``pii risk``)."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

import mlwarden.privacy.risk as risk_module
from mlwarden.cli import risk as risk_cmd
from mlwarden.core.errors import UsageError
from tests.privacy.fake_analyzer import fake_analyze
from tests.privacy.test_risk import TABLE  # also registers the risk rules in the catalogue

app = typer.Typer()
pii = typer.Typer()
pii.command("risk", help=risk_cmd.HELP)(risk_cmd.risk)
pii.command("noop")(lambda: None)  # two commands keep "risk" a sub-command
app.add_typer(pii, name="pii")
runner = CliRunner()


@pytest.fixture(autouse=True)
def _fake_analyzer(monkeypatch):
    original = risk_module.assess_risk
    monkeypatch.setattr(risk_module, "assess_risk", lambda table, **kw: original(table, analyze=fake_analyze, **kw))


@pytest.fixture()
def table_path(tmp_path):
    path = tmp_path / "people.csv"
    lines = [",".join(TABLE)] + [",".join(TABLE[c][i] for c in TABLE) for i in range(8)]
    path.write_text("\n".join(lines) + "\n")
    return path


def run(*args):
    return runner.invoke(app, ["pii", "risk", *args], standalone_mode=False)


def test_json_report(table_path):
    result = run(str(table_path), "--sensitive", "dx", "--k", "2", "--format", "json")
    assert result.exception is None, result.output
    assert result.return_value == 1  # k = 1 and an e-mail column: high
    doc = json.loads(result.output)
    assert doc["report"]["k"] == 1 and doc["report"]["unique_records"] == 6
    assert [q["column"] for q in doc["report"]["quasi_identifiers"]] == ["age", "zip", "sex"]
    assert sorted(f["rule_id"] for f in doc["findings"]) == ["MW-RISK-001", "MW-RISK-002", "MW-RISK-003"]
    assert "person0@example.org" not in result.output and "12345" not in result.output


def test_terminal_report_with_given_quasi_identifiers(table_path):
    result = run(str(table_path), "--quasi-identifiers", "sex", "--k", "2", "--fail-on", "critical")
    assert result.return_value == 0, result.output
    assert "k-anonymity: k = 3" in result.output
    assert "MW-RISK-002" in result.output and "person0" not in result.output


def test_unknown_column_is_a_usage_error(table_path):
    result = run(str(table_path), "--quasi-identifiers", "nope")
    assert isinstance(result.exception, UsageError)
