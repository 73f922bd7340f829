"""`mlwarden registry log / show / verify` through the real entry point (in-process) and one subprocess."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mlwarden.cli import main as main_cli
from mlwarden.cli import registry as registry_cli
from mlwarden.cli.main import run
from mlwarden.integrity.registry import SigningRegistry

KEY_A = "a1" * 32
KEY_B = "b2" * 32
V1 = "11" * 32
V2 = "22" * 32
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[2]

# The main app registers the group with `app.add_typer(registry_cmd.app, name="registry")`; until that line is in
# cli/main.py, add it here so the tests still go through run() and its error boundary.
if not any(group.name == "registry" for group in main_cli.app.registered_groups):
    main_cli.app.add_typer(registry_cli.app, name="registry")
REGISTERED_IN_MAIN = "registry_cmd" in (REPO / "src" / "mlwarden" / "cli" / "main.py").read_text()


def invoke(capsys, *argv):
    with pytest.raises(SystemExit) as info:
        run(list(argv))
    out, err = capsys.readouterr()
    return info.value.code, out, err


@pytest.fixture()
def home(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "home"
    monkeypatch.setenv("MLWARDEN_HOME", str(folder))
    return folder


@pytest.fixture()
def filled(home) -> SigningRegistry:
    registry = SigningRegistry()
    registry.append(action="sign", model_name="bert", model_path="/models/bert", subject_digest=V1,
                    verdict="signed", signer_fingerprint=KEY_A, recorded_at=T0,
                    provenance={"datasets": [{"name": "wiki", "digest": {"sha256": V2}}]})
    registry.append(action="verify", model_name="bert", model_path="/models/bert", subject_digest=V1,
                    verdict="allowed", signer_fingerprint=KEY_A, recorded_at=T0 + timedelta(hours=1))
    registry.append(action="sign", model_name="gpt", model_path="/models/gpt", subject_digest=V2, verdict="signed",
                    signer_fingerprint=KEY_B, signer_subject="CN=release", signer_issuer="CN=CA",
                    recorded_at=T0 + timedelta(days=1))
    return registry


def test_log_lists_every_entry_in_order(capsys, filled):
    code, out, _ = invoke(capsys, "registry", "log")
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].split()[:5] == ["1", "2026-03-01T09:00:00Z", "sign", "signed", "bert"]
    assert "allowed" in lines[1] and "CN=release" in lines[2] and KEY_A[:16] in lines[0]


def test_log_filters_by_model_and_limits(capsys, filled):
    code, out, _ = invoke(capsys, "registry", "log", "--model", "gpt")
    assert code == 0 and len(out.strip().splitlines()) == 1 and "gpt" in out
    code, out, _ = invoke(capsys, "registry", "log", "--model", "/models/bert", "-n", "1", "--format", "json")
    entries = json.loads(out)
    assert code == 0 and [e["seq"] for e in entries] == [2]
    assert entries[0]["verdict"] == "allowed" and entries[0]["prev_hash"] and entries[0]["entry_hash"]


def test_log_finds_a_model_by_its_folder(capsys, home, tmp_path, monkeypatch):
    folder = tmp_path / "bert"
    folder.mkdir()
    SigningRegistry().append(action="sign", model_name="bert-base", model_path=str(folder.resolve()),
                             subject_digest=V1, verdict="signed")
    monkeypatch.chdir(tmp_path)
    code, out, _ = invoke(capsys, "registry", "log", "--model", "bert")
    assert code == 0 and "bert-base" in out


def test_versions_answer_who_signed_what_from_which_data(capsys, filled):
    code, out, _ = invoke(capsys, "registry", "log", "--model", "bert", "--versions")
    assert code == 0
    assert f"sha256:{V1}" in out and KEY_A in out and "1 verification, last allowed" in out
    assert '"wiki"' in out
    code, out, _ = invoke(capsys, "registry", "log", "--model", "bert", "--versions", "-f", "json")
    (version,) = json.loads(out)
    assert version["subject_digest"] == {"sha256": V1} and version["provenance"][0]["datasets"][0]["name"] == "wiki"


def test_versions_need_a_model(capsys, filled):
    code, _, err = invoke(capsys, "registry", "log", "--versions")
    assert code == 2 and "--versions needs --model" in err and err.count("\n") == 1


def test_an_empty_registry_says_so(capsys, home):
    code, out, _ = invoke(capsys, "registry", "log")
    assert code == 0 and "no entries" in out and "not created yet" in out
    code, out, _ = invoke(capsys, "registry", "verify")
    assert code == 0 and "nothing to verify" in out


def test_show_prints_every_field(capsys, filled):
    code, out, _ = invoke(capsys, "registry", "show", "1")
    assert code == 0
    for label in ("seq:", "recorded_at:", "action:", "subject_digest:", "signer_fingerprint:", "prev_hash:",
                  "entry_hash:", "provenance:", "hash_ok:"):
        assert label in out
    assert "True" in out and '"wiki"' in out
    code, out, _ = invoke(capsys, "registry", "show", "3", "--format", "json")
    assert json.loads(out)["signer_issuer"] == "CN=CA"


def test_show_of_a_missing_entry_is_a_one_line_error(capsys, filled):
    code, out, err = invoke(capsys, "registry", "show", "99")
    assert code == 2 and out == ""
    assert err == "mlwarden: error: the signing registry has no entry 99; list them with 'mlwarden registry log'\n"


def test_verify_prints_the_head_and_checks_an_anchor(capsys, filled):
    code, out, _ = invoke(capsys, "registry", "verify")
    assert code == 0 and "chain intact, 3 entries" in out
    anchor = out.split("head ", 1)[1].split()[0]
    code, _, _ = invoke(capsys, "registry", "verify", "--anchor", anchor)
    assert code == 0
    code, out, _ = invoke(capsys, "registry", "verify", "--anchor", "3:" + "00" * 32)
    assert code == 1 and "anchor" in out


def test_verify_exits_1_on_a_tampered_history(capsys, filled):
    connection = sqlite3.connect(filled.path)
    connection.execute("DROP TRIGGER entries_never_updated")
    connection.execute("UPDATE entries SET verdict = 'allowed' WHERE seq = 1")
    connection.commit()
    connection.close()
    code, out, _ = invoke(capsys, "registry", "verify")
    assert code == 1 and "tampered" in out and "edited: entry 1 was changed" in out
    code, out, _ = invoke(capsys, "registry", "verify", "--format", "json")
    report = json.loads(out)
    assert code == 1 and report["intact"] is False and report["problems"][0]["kind"] == "edited"
    code, out, _ = invoke(capsys, "registry", "show", "1")
    assert code == 0 and "hash_ok:" in out and "False" in out


def test_a_bad_anchor_and_a_broken_file_are_one_line_errors(capsys, home, tmp_path):
    code, _, err = invoke(capsys, "registry", "verify", "--anchor", "nonsense")
    assert code == 2 and "SEQ:HASH" in err and err.count("\n") == 1
    broken = tmp_path / "broken.sqlite3"
    broken.write_bytes(b"garbage" * 100)
    code, _, err = invoke(capsys, "registry", "log", "--registry", str(broken))
    assert code == 2 and "not a signing registry" in err and err.count("\n") == 1
    code, out, _ = invoke(capsys, "registry", "verify", "--registry", str(broken))
    assert code == 1 and "unreadable" in out


@pytest.mark.skipif(not REGISTERED_IN_MAIN, reason="cli/main.py does not register 'registry' yet")
def test_verify_in_a_subprocess(filled):
    env = {**os.environ, "MLWARDEN_HOME": os.environ["MLWARDEN_HOME"]}
    result = subprocess.run([sys.executable, "-m", "mlwarden", "registry", "verify"], capture_output=True,
                            text=True, env=env, timeout=60)
    assert result.returncode == 0 and "chain intact, 3 entries" in result.stdout
