"""``write_sbom`` over small projects on disk: dependency files (with includes kept inside the project), model
artifacts, the audit with and without an advisory database, and what it refuses."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from mlwarden.core.errors import InputError
from mlwarden.supply.sbom import ProjectFile
from mlwarden.supply.sbom_project import _include_reader, write_sbom
from tests.samples.gguf_samples import benign_gguf
from tests.samples.safetensors_samples import real_safetensors
from tests.supply.test_sbom import SERIAL, STAMP, assert_valid, bom_validator  # noqa: F401 - fixture

# One OSV record (shape of the PyPA advisory database) affecting torch before 1.13.1.
TORCH_ADVISORY = {
    "schema_version": "1.6.0",
    "id": "PYSEC-2022-43015",
    "modified": "2024-11-21T07:29:00Z",
    "published": "2022-11-26T02:15:00Z",
    "aliases": ["CVE-2022-45907", "GHSA-47fc-vmwq-366v"],
    "summary": "torch.jit.annotations.parse_type_line evaluates its input",
    "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
    "affected": [{
        "package": {"ecosystem": "PyPI", "name": "torch", "purl": "pkg:pypi/torch"},
        "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.13.1"}]}],
    }],
}


@pytest.fixture(autouse=True)
def private_home(tmp_path, monkeypatch):
    """Never read or write the user's real advisory database."""
    monkeypatch.setenv("MLWARDEN_HOME", str(tmp_path / "home"))


@pytest.fixture()
def project(tmp_path):
    root = tmp_path / "shop-ml"
    (root / "models").mkdir(parents=True)
    (root / "requirements.txt").write_text("numpy==1.26.4\nrequests>=2.31\n-r requirements/base.txt\n")
    (root / "requirements").mkdir()
    (root / "requirements" / "base.txt").write_text("torch==1.12.0\n")
    (root / "models" / "model.safetensors").write_bytes(real_safetensors())
    (root / "models" / "tiny.gguf").write_bytes(benign_gguf())
    (root / "train.csv").write_text("text,label\nhi,1\n")
    return root


@pytest.fixture()
def advisory_db(tmp_path):
    from mlwarden.supply.advisories.store import build_database

    path = tmp_path / "advisories.sqlite3"
    build_database([TORCH_ADVISORY], path, source="test")
    return path


def libraries(bom):
    return {c["bom-ref"]: c for c in bom["components"] if c["type"] == "library"}


def test_without_database_the_bom_is_written_without_vulnerabilities(project, tmp_path):
    output = tmp_path / "bom.json"
    summary = write_sbom([project], output, db_path=tmp_path / "missing.sqlite3", serial=SERIAL, timestamp=STAMP)
    bom = json.loads(output.read_text(encoding="utf-8"))
    assert {"pkg:pypi/numpy@1.26.4", "pkg:pypi/requests", "pkg:pypi/torch@1.12.0"} <= set(libraries(bom))
    assert "vulnerabilities" not in bom
    assert not summary.audited and "mlwarden db update" in (summary.not_audited or "")
    assert "not audited" in summary.line()
    assert (summary.subject, summary.models, summary.datasets) == ("shop-ml", 2, 1)
    assert summary.libraries == 3 and summary.dependency_files >= 1 and summary.vulnerabilities == 0
    assert bom["metadata"]["component"]["name"] == "shop-ml"
    model = next(c for c in bom["components"] if c["name"] == "models/model.safetensors")
    assert model["hashes"][0]["content"] == hashlib.sha256(
        (project / "models" / "model.safetensors").read_bytes()).hexdigest()


def test_with_database_vulnerabilities_affect_the_library(project, tmp_path, advisory_db, bom_validator):  # noqa: F811
    output = tmp_path / "bom.json"
    summary = write_sbom([project], output, db_path=advisory_db, serial=SERIAL, timestamp=STAMP)
    bom = json.loads(output.read_text(encoding="utf-8"))
    assert_valid(bom_validator, bom)
    assert summary.audited and summary.vulnerabilities == 1
    (entry,) = bom["vulnerabilities"]
    assert entry["id"] == "PYSEC-2022-43015"
    assert {r["id"] for r in entry["references"]} == {"CVE-2022-45907", "GHSA-47fc-vmwq-366v"}
    assert entry["affects"] == [{"ref": "pkg:pypi/torch@1.12.0",
                                 "versions": [{"version": "1.12.0", "status": "affected"}]}]
    assert entry["ratings"][0]["score"] == pytest.approx(9.8)
    assert "1.13.1" in entry["recommendation"]


def test_output_is_deterministic_with_serial_and_timestamp(project, tmp_path):
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    write_sbom([project], first, db_path=tmp_path / "none", serial=SERIAL, timestamp=STAMP)
    write_sbom([project], second, db_path=tmp_path / "none", serial=SERIAL, timestamp=STAMP)
    assert first.read_bytes() == second.read_bytes()


def test_include_outside_the_project_is_refused(project, tmp_path):
    (tmp_path / "outside.txt").write_text("evil-package==1.0\n")
    (project / "requirements.txt").write_text("numpy==1.26.4\n-r ../outside.txt\n")
    output = tmp_path / "bom.json"
    summary = write_sbom([project], output, db_path=tmp_path / "none")
    bom = json.loads(output.read_text(encoding="utf-8"))
    assert not any("evil" in ref for ref in libraries(bom))
    assert summary.problems  # the include that was not followed is reported


def test_include_reader_stays_inside_the_root(tmp_path):
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "base.txt").write_text("torch==2.0\n")
    (tmp_path / "secret.txt").write_text("outside\n")
    (root / "sub" / "escape.txt").symlink_to(tmp_path / "secret.txt")
    read = _include_reader(ProjectFile(str(root / "sub" / "requirements.txt"), "sub/requirements.txt", str(root)))
    assert read("../base.txt") == "torch==2.0\n"
    assert read("../../secret.txt") is None
    assert read(str(tmp_path / "secret.txt")) is None
    assert read("escape.txt") is None  # a link that leads out
    assert read("missing.txt") is None
    assert read("bad\x00name.txt") is None
    assert read("..") is None  # a folder


def test_broken_dependency_files_do_not_stop_the_bom(project, tmp_path):
    (project / "pyproject.toml").write_bytes(b"[project\x00\xff\xfe dependencies = [")
    (project / "requirements.txt").write_bytes(os.urandom(2048))
    output = tmp_path / "bom.json"
    summary = write_sbom([project], output, db_path=tmp_path / "none")
    assert output.is_file() and summary.models == 2
    assert summary.problems


def test_several_paths_and_a_single_file(project, tmp_path):
    other = tmp_path / "extra"
    other.mkdir()
    (other / "requirements.txt").write_text("pandas==2.2.2\n")
    output = tmp_path / "bom.json"
    write_sbom([project, other / "requirements.txt"], output, db_path=tmp_path / "none")
    bom = json.loads(output.read_text(encoding="utf-8"))
    assert "pkg:pypi/pandas@2.2.2" in libraries(bom) and "pkg:pypi/torch@1.12.0" in libraries(bom)
    assert {c["name"] for c in bom["components"] if c["type"] != "library"} >= {"shop-ml/models/tiny.gguf"}


def test_installed_environment_on_request(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    output = tmp_path / "bom.json"
    write_sbom([empty], output, db_path=tmp_path / "none", environment=True)
    names = {c["name"] for c in json.loads(output.read_text(encoding="utf-8"))["components"]}
    assert "packaging" in names  # the test environment has it


def test_user_errors(project, tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        write_sbom([tmp_path / "nope"], tmp_path / "bom.json")
    with pytest.raises(InputError, match="folder"):
        write_sbom([project], tmp_path / "no" / "such" / "bom.json", db_path=tmp_path / "none")
    with pytest.raises(InputError):
        write_sbom([], tmp_path / "bom.json")
    assert not list(Path(tmp_path).glob("**/*.tmp"))
