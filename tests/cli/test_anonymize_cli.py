from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

import mlwarden.privacy.anonymize as anonymize_module
from mlwarden.cli import anonymize as anonymize_cmd
from mlwarden.core.errors import UsageError
from mlwarden.crypto.recipients import SymmetricKey, write_key_file
from mlwarden.privacy.reidentify import ReidentifyError
from tests.privacy.fake_analyzer import fake_analyze

app = typer.Typer()
app.command("anonymize")(anonymize_cmd.anonymize)  # main.py registers them the same way
app.command("reidentify")(anonymize_cmd.reidentify)
runner = CliRunner()


@pytest.fixture(autouse=True)
def _fake_analyzer(monkeypatch):
    original = anonymize_module.anonymize_file
    monkeypatch.setattr(anonymize_module, "anonymize_file",
                        lambda *a, **kw: original(*a, **{**kw, "analyze": fake_analyze}))


def run(*args):
    return runner.invoke(app, list(args), standalone_mode=False)


def test_anonymize_then_reidentify_round_trip(tmp_path):
    key = tmp_path / "data.key"
    write_key_file(key, SymmetricKey.generate())
    policy = tmp_path / "policy.toml"
    policy.write_text('key_file = "data.key"\n[entities]\nEMAIL = "encrypt"\nUS_SSN = "hash"\n')
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"m": "ann@example.org", "s": "123-45-6789"}) + "\n")
    out = tmp_path / "out.jsonl"
    result = run("anonymize", str(src), "--out", str(out), "--policy", str(policy))
    assert result.exit_code == 0, result.output
    assert "EMAIL 1" in result.output and "ann" not in result.output
    record = json.loads(out.read_text())
    assert record["m"].startswith("MWP1_") and record["s"].startswith("H_")
    back = tmp_path / "back.jsonl"
    result = run("reidentify", str(out), "--out", str(back), "--key-file", str(key))
    assert result.exit_code == 0, result.output
    assert json.loads(back.read_text())["m"] == "ann@example.org"


def test_default_policy_tags_and_refuses_existing_output(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("mail ann@example.org\n")
    out = tmp_path / "out.txt"
    assert run("anonymize", str(src), "-o", str(out)).exit_code == 0
    assert out.read_text() == "mail <EMAIL>\n"
    result = run("anonymize", str(src), "-o", str(out))
    assert isinstance(result.exception, UsageError) and "--force" in str(result.exception)
    assert run("anonymize", str(src), "-o", str(out), "--force").exit_code == 0
    result = run("anonymize", str(src), "-o", str(src), "--force")
    assert isinstance(result.exception, UsageError)


def test_keyed_operator_without_key_and_wrong_key(tmp_path):
    policy = tmp_path / "p.toml"
    policy.write_text('[entities]\nEMAIL = "encrypt"\n')
    src = tmp_path / "in.txt"
    src.write_text("ann@example.org\n")
    result = run("anonymize", str(src), "-o", str(tmp_path / "o.txt"), "--policy", str(policy))
    assert isinstance(result.exception, UsageError) and "--key-file" in str(result.exception)
    good, bad = tmp_path / "good.key", tmp_path / "bad.key"
    write_key_file(good, SymmetricKey.generate())
    write_key_file(bad, SymmetricKey.generate())
    assert run("anonymize", str(src), "-o", str(tmp_path / "o.txt"), "--policy", str(policy),
               "--key-file", str(good)).exit_code == 0
    result = run("reidentify", str(tmp_path / "o.txt"), "-o", str(tmp_path / "r.txt"), "--key-file", str(bad))
    assert isinstance(result.exception, ReidentifyError)
    assert not (tmp_path / "r.txt").exists()


def test_main_error_boundary_prints_one_line(tmp_path, capsys):
    from mlwarden.cli import main as main_module

    if "anonymize" not in [c.name for c in main_module.app.registered_commands]:
        pytest.skip("not registered in cli/main.py yet")
    with pytest.raises(SystemExit) as raised:
        main_module.run(["anonymize", str(tmp_path / "missing.txt"), "-o", str(tmp_path / "o.txt")])
    assert raised.value.code == 2 and "is not a file" in capsys.readouterr().err
