"""Integration tests of `mlwarden sbom` through the real entry point (in-process)."""

from __future__ import annotations

import json

import pytest

from mlwarden.cli.main import run
from tests.samples.safetensors_samples import real_safetensors


def invoke(capsys, *argv):
    with pytest.raises(SystemExit) as info:
        run(list(argv))
    out, err = capsys.readouterr()
    return info.value.code, out, err


@pytest.fixture(autouse=True)
def private_home(tmp_path, monkeypatch):
    """Never read the user's real advisory database or configuration."""
    monkeypatch.setenv("MLWARDEN_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture()
def project(tmp_path):
    root = tmp_path / "proj"
    root.mkdir()
    (root / "requirements.txt").write_text("numpy==1.26.4\n")
    (root / "model.safetensors").write_bytes(real_safetensors())
    return root


def test_writes_a_bom_and_a_summary_line(capsys, project, tmp_path):
    target = tmp_path / "bom.json"
    code, out, err = invoke(capsys, "sbom", str(project), "--output", str(target))
    assert code == 0 and out == ""
    assert "written to" in err and "not audited" in err and len(err.strip().splitlines()) == 1
    bom = json.loads(target.read_text(encoding="utf-8"))
    assert bom["bomFormat"] == "CycloneDX" and bom["specVersion"] == "1.6"
    types = {c["type"] for c in bom["components"]}
    assert types == {"library", "machine-learning-model"}


def test_short_output_option_and_db_option(capsys, project, tmp_path):
    target = tmp_path / "bom.json"
    code, _, err = invoke(capsys, "sbom", str(project), "-o", str(target), "--db", str(tmp_path / "none.sqlite3"))
    assert code == 0 and target.is_file() and "none.sqlite3" in err


@pytest.mark.parametrize("argv, fragment", [
    (["sbom", "/definitely/not/here", "-o", "bom.json"], "does not exist"),
    (["sbom", "."], "--output"),
    (["sbom", "-o", "bom.json"], "PATH"),
    (["sbom", ".", "-o", "missing-folder/bom.json"], "does not exist"),
    (["sbom", ".", "-o", "bom.json", "--python", "/definitely/not/python"], "python"),
])
def test_user_errors_exit_2_with_one_line(capsys, argv, fragment):
    code, _, err = invoke(capsys, *argv)
    assert code == 2
    assert err.startswith("mlwarden: error:") and len(err.strip().splitlines()) == 1
    assert fragment.lower() in err.lower()
