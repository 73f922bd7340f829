"""`mlwarden db import / update / status` through the real entry point (in-process) and one subprocess."""

import json
import os
import subprocess
import sys

import pytest

from mlwarden.cli.main import run
from tests.samples.advisories import (
    PROXY_VARIABLES,
    TINY_RECORD_COUNT,
    Routes,
    build_tiny_db,
    serve,
    tiny_records,
    write_jsonl,
    zip_bytes,
)


def invoke(capsys, *argv):
    with pytest.raises(SystemExit) as info:
        run(list(argv))
    out, err = capsys.readouterr()
    return info.value.code, out, err


@pytest.fixture()
def home(tmp_path, monkeypatch):
    folder = tmp_path / "home"
    monkeypatch.setenv("MLWARDEN_HOME", str(folder))
    return folder


def test_import_then_status(capsys, home, tmp_path):
    source = write_jsonl(tiny_records(), tmp_path / "tiny.jsonl.gz", compress=True)
    code, out, err = invoke(capsys, "db", "import", str(source))
    assert code == 0, err
    assert f"imported {TINY_RECORD_COUNT} advisories (1 withdrawn) for 5 packages" in out
    assert str(home / "advisories.sqlite3") in out
    code, out, _ = invoke(capsys, "db", "status")
    assert code == 0
    for label in ("database:", "records:", "packages:", "source:", "snapshot date:", "imported at:", "age:"):
        assert label in out
    assert f"{TINY_RECORD_COUNT} (1 withdrawn)" in out and "2024-08-01" in out and "days" in out


def test_status_as_json(capsys, home):
    home.mkdir()
    build_tiny_db(home)
    code, out, _ = invoke(capsys, "db", "status", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["record_count"] == TINY_RECORD_COUNT and doc["withdrawn_count"] == 1
    assert doc["package_count"] == 5 and doc["snapshot_date"] == "2024-08-01T00:00:00Z"
    assert doc["age_days"] > 0 and doc["schema_version"] == 1


def test_explicit_db_option(capsys, home, tmp_path):
    source = write_jsonl(tiny_records(), tmp_path / "tiny.jsonl")
    target = tmp_path / "elsewhere" / "db.sqlite3"
    assert invoke(capsys, "db", "import", str(source), "--db", str(target))[0] == 0
    assert target.is_file() and not (home / "advisories.sqlite3").exists()
    code, out, _ = invoke(capsys, "db", "status", "--db", str(target))
    assert code == 0 and str(target) in out


def test_status_without_a_database_says_so_in_one_line(capsys, home):
    code, out, err = invoke(capsys, "db", "status")
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert "no advisory database" in err and "mlwarden db update" in err and "mlwarden db import PATH" in err


def test_import_errors_are_one_line(capsys, home, tmp_path):
    code, _, err = invoke(capsys, "db", "import", str(tmp_path / "missing.zip"))
    assert code == 2 and err.startswith("mlwarden: error: ") and "does not exist" in err
    junk = tmp_path / "junk.json"
    junk.write_text('{"name": "not osv"}')
    code, _, err = invoke(capsys, "db", "import", str(junk))
    assert code == 2 and "no valid OSV records" in err
    assert not (home / "advisories.sqlite3").exists()


def test_import_reports_skipped_entries(capsys, home, tmp_path):
    source = tmp_path / "mixed.jsonl"
    source.write_text(json.dumps(tiny_records()[0]) + "\n{broken\n")
    code, out, err = invoke(capsys, "db", "import", str(source))
    assert code == 0 and "imported 1 advisories" in out and "skipped 1" in err


def test_update_from_a_local_server(capsys, home, tmp_path, monkeypatch):
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    routes: Routes = {"/all.zip": (200, zip_bytes(tiny_records(), tmp_path), None)}
    with serve(routes) as base:
        code, out, err = invoke(capsys, "db", "update", "--url", f"{base}/all.zip")
        assert code == 0, err
        assert f"{TINY_RECORD_COUNT} advisories" in out and "downloading" in err
        before = (home / "advisories.sqlite3").read_bytes()
        code, _, err = invoke(capsys, "db", "update", "--url", f"{base}/gone.zip")
        assert code == 2 and "cannot download" in err and "HTTP 404" in err
        code, _, err = invoke(capsys, "db", "update", "--url", f"{base}/all.zip", "--sha256", "f" * 64)
        assert code == 2 and "SHA-256" in err
    assert (home / "advisories.sqlite3").read_bytes() == before


def test_bad_options_exit_2(capsys, home):
    code, _, err = invoke(capsys, "db", "status", "--format", "xml")
    assert code == 2 and "--format" in err
    code, _, err = invoke(capsys, "db", "update", "--url", "file:///etc/passwd")
    assert code == 2 and "only https" in err


def test_db_without_a_command_shows_help(capsys):
    code, out, _ = invoke(capsys, "db")
    assert code == 0 and "import" in out and "update" in out and "status" in out


def test_status_in_a_subprocess(tmp_path):
    build_tiny_db(tmp_path)
    env = {**os.environ, "MLWARDEN_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "mlwarden", "db", "status", "-f", "json"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["record_count"] == TINY_RECORD_COUNT
