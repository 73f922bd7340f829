from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

import mlwarden.privacy.files as files_module
from mlwarden.cli import pii as pii_cmd
from tests.privacy.fake_analyzer import fake_analyze

app = typer.Typer()
app.add_typer(pii_cmd.app, name="pii")  # main.py registers it the same way
runner = CliRunner()


@pytest.fixture(autouse=True)
def _fake_analyzer(monkeypatch):
    original = files_module.scan_pii_file
    monkeypatch.setattr(files_module, "scan_pii_file",
                        lambda path, **kw: original(path, **{**kw, "analyze": fake_analyze}))


def run(*args):
    return runner.invoke(app, ["pii", "scan", *args], standalone_mode=False)


def test_json_contract_for_text_jsonl_and_csv(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.txt").write_text("first\nmail me: ann@example.org\n")
    records = [{"meta": {"who": "ssn 123-45-6789"}}]
    (data / "b.jsonl").write_text(json.dumps(records[0]) + "\n")
    (data / "c.csv").write_text("id,mail\n" + "".join(f"{i},x{i}@example.org\n" for i in range(30)))
    (data / "model.bin").write_bytes(b"ann@example.org")  # not a data file: skipped in folders
    out = tmp_path / "r.json"
    result = run(str(data), "--format", "json", "--output", str(out))
    assert result.return_value == 1, result.output  # US_SSN is high
    doc = json.loads(out.read_text())
    findings = {f["location"]["path"].rsplit("/", 1)[-1]: f for f in doc["findings"]}
    assert set(findings) == {"a.txt", "b.jsonl", "c.csv"}
    text_hit = findings["a.txt"]
    assert text_hit["evidence"]["entity"] == "EMAIL" and text_hit["location"]["line"] == 2
    line = "mail me: ann@example.org"
    assert line[text_hit["location"]["start"]:text_hit["location"]["end"]] == "ann@example.org"
    jl = findings["b.jsonl"]
    assert jl["evidence"]["entity"] == "US_SSN" and jl["location"]["field"] == "meta.who"
    assert "ssn 123-45-6789"[jl["location"]["start"]:jl["location"]["end"]] == "123-45-6789"
    col = findings["c.csv"]
    assert col["rule_id"] == "MW-PII-002" and col["location"]["column"] == "mail"
    assert col["evidence"]["count"] == 30 and len(col["evidence"]["masked"]) <= 3
    for key in ("confidence", "reason", "masked"):
        assert key in text_hit["evidence"]
    raw = out.read_text()
    assert "ann@example.org" not in raw and "123-45-6789" not in raw and "x1@example.org" not in raw


def test_gate_and_entities_filter(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("ann@example.org\n")
    assert run(str(path), "--format", "json").return_value == 0  # EMAIL is medium; gate high
    assert run(str(path), "--fail-on", "medium", "--format", "json").return_value == 1
    assert run(str(path), "--entities", "us_ssn", "--fail-on", "low", "--format", "json").return_value == 0


def test_usage_errors_exit_2():
    from mlwarden.cli.main import app as main_app
    from mlwarden.cli.main import run as main_run

    if not any(group.name == "pii" for group in main_app.registered_groups):
        main_app.add_typer(pii_cmd.app, name="pii")
    for argv in (["pii", "scan", "no/such/file"], ["pii", "scan", ".", "--entities", "BOGUS"],
                 ["pii", "scan", ".", "--min-confidence", "2"]):
        with pytest.raises(SystemExit) as exit_info:
            main_run(argv)
        assert exit_info.value.code == 2
