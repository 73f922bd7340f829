"""Integration tests of `mlwarden scan` through the real entry point (in-process) and one subprocess."""

import json
import os
import pickle
import subprocess
import sys

import pytest

from mlwarden.cli.main import run
from mlwarden.demo import protocol0_payload


def invoke(capsys, *argv):
    with pytest.raises(SystemExit) as info:
        run(list(argv))
    out, err = capsys.readouterr()
    return info.value.code, out, err


@pytest.fixture()
def models(tmp_path):
    (tmp_path / "evil.pkl").write_bytes(protocol0_payload())
    (tmp_path / "ok.pkl").write_bytes(pickle.dumps({"weights": [0.5, 1.5]}, protocol=4))
    return tmp_path


def test_version(capsys):
    code, out, _ = invoke(capsys, "--version")
    assert code == 0 and out.strip() == "mlwarden 0.1.0"


def test_gate_exit_codes(capsys, models):
    assert invoke(capsys, "scan", str(models))[0] == 1
    assert invoke(capsys, "scan", str(models / "ok.pkl"))[0] == 0
    # nothing is above "critical" except critical itself; the payload is critical
    assert invoke(capsys, "scan", str(models), "--fail-on", "critical")[0] == 1


def test_json_contract(capsys, models, tmp_path):
    target = tmp_path / "report.json"
    code, out, err = invoke(capsys, "scan", str(models), "--format", "json", "--output", str(target))
    assert code == 1 and out == ""
    assert "report written to" in err
    doc = json.loads(target.read_text())
    finding = next(f for f in doc["findings"] if f["rule_id"] == "MW-PKL-001")
    assert finding["severity"] == "critical"
    assert finding["location"]["path"] == f"{models}/evil.pkl".replace(os.sep, "/")
    assert finding["evidence"] == "os.system"


@pytest.mark.parametrize("argv, fragment", [
    (["scan", "/definitely/not/here"], "does not exist"),
    (["scan", "."], None),
    (["scan", ".", "--format", "xml"], "--format"),
    (["scan", ".", "--bogus"], "--bogus"),
    (["scan"], "paths"),
    (["scan", ".", "--fail-on", "severe"], "--fail-on"),
    (["scan", ".", "--config", "/nope/mlwarden.toml"], "--config"),
    (["scan", ".", "--baseline", "/nope/baseline.json"], "--write-baseline"),
    (["nosuchcommand"], "nosuchcommand"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, tmp_path, monkeypatch, argv, fragment):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    code, out, err = invoke(capsys, *argv)
    if fragment is None:  # a clean, empty folder passes
        assert code == 0
        return
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mlwarden: error:"), err
    assert fragment in lines[0]
    assert "Traceback" not in err


def test_broken_config_is_exit_2(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mlwarden.toml").write_text('fail_on = "sometimes"\n')
    code, _, err = invoke(capsys, "scan", ".")
    assert code == 2 and "mlwarden.toml" in err and "fail_on" in err


def test_baseline_adoption_flow(capsys, models, tmp_path):
    baseline = tmp_path / "baseline.json"
    code, _, err = invoke(capsys, "scan", str(models), "--write-baseline", str(baseline))
    assert code == 0 and baseline.exists()
    assert invoke(capsys, "scan", str(models), "--baseline", str(baseline))[0] == 0
    (models / "new.pkl").write_bytes(protocol0_payload("true"))
    assert invoke(capsys, "scan", str(models), "--baseline", str(baseline))[0] == 1


def test_output_write_failure_leaves_existing_file_untouched(capsys, models, tmp_path):
    target = tmp_path / "missing-dir" / "report.json"
    code, _, err = invoke(capsys, "scan", str(models), "-f", "json", "-o", str(target))
    assert code == 2 and "does not exist" in err


@pytest.mark.parametrize("fmt", ["terminal", "json", "sarif", "html"])
def test_every_format_renders(capsys, models, fmt):
    code, out, _ = invoke(capsys, "scan", str(models), "--format", fmt, "--no-progress")
    assert code == 1 and "MW-PKL-001" in out


def test_rules_command(capsys):
    code, out, _ = invoke(capsys, "rules", "--format", "json")
    assert code == 0
    ids = {r["rule_id"] for r in json.loads(out)}
    assert {"MW-PKL-001", "MW-PKL-002", "MW-FMT-001"} <= ids


def test_module_entry_point_runs_in_a_subprocess(models):
    proc = subprocess.run([sys.executable, "-m", "mlwarden", "scan", str(models), "--format", "json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["findings"]
    bad = subprocess.run([sys.executable, "-m", "mlwarden", "scan", "--nope"], capture_output=True, text=True,
                         timeout=60)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_forced_progress_bar_keeps_stdout_a_clean_report(capsys, models):
    code, out, _ = invoke(capsys, "scan", str(models), "--format", "json", "--progress", "-j", "1")
    assert code == 1
    assert json.loads(out)["summary"]["files_seen"] == 2
