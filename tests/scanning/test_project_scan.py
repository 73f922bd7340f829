"""``mlwarden scan`` on a whole ML project: models, dependencies, code, notebooks and secrets in one report,
scanner selection, inline suppression, a missing database, and hostile text files."""

from __future__ import annotations

import json
import random
import string
from pathlib import Path

import pytest

from mlwarden.cli.main import run
from mlwarden.demo import protocol0_payload
from mlwarden.scanning.engine import scan_paths
from tests.samples.advisories import build_tiny_db
from tests.samples.notebooks import make_notebook, stream


def fake_hf_token(seed: int = 7) -> str:
    """Format-valid but random: never a real token, and no token literal in the repository."""
    rng = random.Random(seed)
    return "hf" + "_" + "".join(rng.choice(string.ascii_letters) for _ in range(34))


TOKEN = fake_hf_token()


def write_project(root: Path) -> Path:
    (root / "models").mkdir(parents=True)
    (root / "models" / "model.pkl").write_bytes(protocol0_payload("true"))
    (root / "requirements.txt").write_text("demo-pkg==1.0\nedge-pkg>=3.0.0a1\n")
    (root / "train.py").write_text("import torch\nm = torch.load('m.pt')\n")
    (root / "notebooks").mkdir()
    (root / "notebooks" / "explore.ipynb").write_bytes(make_notebook([
        {"code": "import os\nprint(os.environ['HF_TOKEN'])", "outputs": [stream(f"{TOKEN}\n")]},
    ]))
    return root


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "proj")


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    return build_tiny_db(tmp_path)


def rules_by_file(report, root: Path) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    prefix = str(root).replace("\\", "/") + "/"
    for finding in report.findings:
        out.setdefault(finding.location.path.removeprefix(prefix), set()).add(finding.rule_id)
    return out


def test_one_scan_runs_every_scanner_into_one_report(project: Path, db: Path):
    report = scan_paths([project], db_path=db, jobs=1)
    found = rules_by_file(report, project)
    assert "MW-PKL-001" in found["models/model.pkl"]
    assert {"MW-DEP-001", "MW-DEP-002"} <= found["requirements.txt"]
    assert "MW-CODE-001" in found["train.py"]
    assert "MW-SECRET-002" in found["notebooks/explore.ipynb"]
    assert report.scanners == ["code", "deps", "models", "notebooks", "pii", "secrets"]
    assert report.dependency_audit is not None and report.dependency_audit["vulnerable"] == 1
    assert report.dependency_audit["upgrades"][0]["package"] == "demo-pkg"
    assert report.dependency_audit["upgrades"][0]["target"] == "1.2.0"


def test_vulnerability_evidence_in_json_names_package_version_and_every_id(project: Path, db: Path, capsys):
    with pytest.raises(SystemExit) as info:
        run(["scan", str(project), "--db", str(db), "--format", "json", "--no-progress"])
    assert info.value.code == 1
    document = json.loads(capsys.readouterr().out)
    vulns = [f for f in document["findings"] if f["rule_id"] == "MW-DEP-001"]
    assert len(vulns) == 1  # TEST-0001 and GHSA-demo-0001-aaaa share CVE-2099-0001: one vulnerability
    evidence = vulns[0]["evidence"]
    assert evidence["package"] == "demo-pkg" and evidence["version"] == "1.0"
    assert set(evidence["ids"]) == {"TEST-0001", "GHSA-demo-0001-aaaa", "CVE-2099-0001"}
    assert vulns[0]["location"] == {"path": f"{project.as_posix()}/requirements.txt", "line": 1}
    assert document["dependency_audit"]["upgrades"][0]["target"] == "1.2.0"


def test_notebook_finding_locates_cell_output_and_line(project: Path, db: Path):
    report = scan_paths([project], db_path=db, jobs=1, scanners=["notebooks", "secrets"])
    (secret,) = [f for f in report.findings if f.rule_id == "MW-SECRET-002"]
    assert (secret.location.cell, secret.location.output, secret.location.line) == (0, 0, 1)


@pytest.mark.parametrize("fmt", ["terminal", "json", "sarif", "html"])
def test_the_token_never_appears_in_any_report_format(project: Path, db: Path, tmp_path: Path, fmt: str):
    out = tmp_path / f"report.{fmt}"
    with pytest.raises(SystemExit):
        run(["scan", str(project), "--db", str(db), "--format", fmt, "--output", str(out), "--no-progress"])
    text = out.read_text(encoding="utf-8")
    assert "MW-SECRET-002" in text
    assert TOKEN not in text and TOKEN[3:] not in text


@pytest.mark.parametrize(("argv", "expected", "absent"), [
    (["--only", "deps"], {"MW-DEP-001"}, {"MW-PKL-001", "MW-CODE-001", "MW-SECRET-002"}),
    (["--only", "models", "--only", "code"], {"MW-PKL-001", "MW-CODE-001"}, {"MW-DEP-001", "MW-SECRET-002"}),
    (["--skip", "models"], {"MW-DEP-001", "MW-CODE-001", "MW-SECRET-002"}, {"MW-PKL-001"}),
    (["--skip", "secrets", "--skip", "notebooks"], {"MW-PKL-001", "MW-DEP-001"}, {"MW-SECRET-002"}),
])
def test_only_and_skip_select_scanners(project: Path, db: Path, capsys, argv, expected, absent):
    with pytest.raises(SystemExit):
        run(["scan", str(project), "--db", str(db), "--format", "json", "--no-progress", *argv])
    rules = {f["rule_id"] for f in json.loads(capsys.readouterr().out)["findings"]}
    assert expected <= rules
    assert not (absent & rules)


def test_only_and_skip_together_is_a_usage_error(project: Path, capsys):
    with pytest.raises(SystemExit) as info:
        run(["scan", str(project), "--only", "deps", "--skip", "code"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--only and --skip" in err


def test_unknown_scanner_is_a_usage_error(project: Path, capsys):
    with pytest.raises(SystemExit) as info:
        run(["scan", str(project), "--only", "everything"])
    assert info.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_config_scanners_key_selects_too(project: Path, db: Path):
    from mlwarden.core.policy import parse_config

    config = parse_config({"scanners": ["code"]}, None)
    report = scan_paths([project], config=config, db_path=db, jobs=1)
    assert {f.rule_id for f in report.findings} == {"MW-CODE-001"}
    assert report.dependency_audit is None


def test_missing_database_is_a_clear_finding_not_a_traceback(project: Path, tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv("MLWARDEN_HOME", str(tmp_path / "empty-home"))
    with pytest.raises(SystemExit):
        run(["scan", str(project), "--only", "deps", "--format", "json", "--no-progress"])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    document = json.loads(out)
    (missing,) = [f for f in document["findings"] if f["rule_id"] == "MW-DEP-005"]
    assert "mlwarden db update" in missing["message"] and "mlwarden db import" in missing["message"]
    assert document["dependency_audit"]["database"] is None


def test_stale_database_warns(project: Path, db: Path):
    from mlwarden.core.policy import parse_config

    report = scan_paths([project], config=parse_config({"advisory_max_age_days": 1}, None), db_path=db, jobs=1,
                        scanners=["deps"])
    assert "MW-DEP-006" in {f.rule_id for f in report.findings}
    fresh = scan_paths([project], config=parse_config({"advisory_max_age_days": 3650}, None), db_path=db, jobs=1,
                       scanners=["deps"])
    assert "MW-DEP-006" not in {f.rule_id for f in fresh.findings}


def test_inline_suppression_needs_the_rule_and_a_reason(tmp_path: Path, db: Path):
    (tmp_path / "a.py").write_text(
        "import torch\n"
        "a = torch.load('x')  # mlwarden: ignore[MW-CODE-001] our own checkpoints, signed\n"
        "b = torch.load('y')  # mlwarden: ignore[MW-CODE-001]\n"
        "c = torch.load('z')  # mlwarden: ignore[MW-CODE-002] wrong rule\n")
    report = scan_paths([tmp_path], db_path=db, jobs=1)
    assert sorted(f.location.line for f in report.findings if f.rule_id == "MW-CODE-001") == [3, 4]
    (waived,) = report.suppressed
    assert waived.location.line == 2 and waived.suppressed == "inline: our own checkpoints, signed"


def test_inline_suppression_in_a_notebook_cell(tmp_path: Path, db: Path):
    (tmp_path / "n.ipynb").write_bytes(make_notebook([
        {"code": "import torch\nm = torch.load('x')  # mlwarden: ignore[MW-CODE-001] vetted checkpoint"}]))
    report = scan_paths([tmp_path], db_path=db, jobs=1)
    assert not [f for f in report.findings if f.rule_id == "MW-CODE-001"]
    assert [f.location.cell for f in report.suppressed] == [0]


def test_requirements_folder_layout_and_includes_are_audited_once(tmp_path: Path, db: Path):
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "base.txt").write_text("demo-pkg==1.0\n")
    (tmp_path / "requirements" / "dev.txt").write_text("-r base.txt\npytest==8.0.0\n")
    report = scan_paths([tmp_path], db_path=db, jobs=1, scanners=["deps"])
    vulns = [f for f in report.findings if f.rule_id == "MW-DEP-001"]
    assert [f.location.path.rsplit("/", 2)[-2:] for f in vulns] == [["requirements", "base.txt"]]
    assert report.dependency_audit is not None and report.dependency_audit["dependencies"] == 2


@pytest.mark.parametrize(("name", "data", "rule"), [
    ("binary.py", b"\x00\x01\x02\xff" * 100, None),
    ("broken.ipynb", b"{not json", "MW-NB-003"),
    ("poetry.lock", b"[[package]\nname = ", "MW-DEP-004"),
    ("uv.lock", b"\xff\xfe\x00garbage", "MW-DEP-004"),
    ("Pipfile.lock", b'{"default": 5}', "MW-DEP-004"),
    ("environment.yml", b"dependencies: [: :", "MW-DEP-004"),
    ("minified.py", b"x=1;" * 300_000, None),
    ("deep.py", b"(" * 100_000, "MW-CODE-000"),
    ("deep.json", b"[" * 100_000, "MW-CFG-000"),
])
def test_hostile_text_files_give_a_finding_or_nothing_never_a_crash(tmp_path: Path, db: Path, name, data, rule):
    (tmp_path / name).write_bytes(data)
    report = scan_paths([tmp_path], db_path=db, jobs=1)
    rules = {f.rule_id for f in report.findings}
    assert "MW-SCAN-002" not in rules, [f.message for f in report.findings]
    if rule is not None:
        assert rule in rules


def test_huge_source_file_is_bounded_and_says_so(tmp_path: Path, db: Path):
    from mlwarden.core.limits import DEFAULT_LIMITS

    (tmp_path / "bundle.py").write_bytes(b"# x\n" * (DEFAULT_LIMITS.max_source_bytes // 4 + 10))
    report = scan_paths([tmp_path], db_path=db, jobs=1)
    assert "MW-FMT-003" in {f.rule_id for f in report.findings}


def test_installed_environment_is_audited_only_on_request(tmp_path: Path, db: Path, capsys):
    (tmp_path / "empty").mkdir()
    report = scan_paths([tmp_path / "empty"], db_path=db, jobs=1)
    assert report.dependency_audit is None
    with pytest.raises(SystemExit) as info:
        run(["scan", "--environment", "--only", "deps", "--db", str(db), "--format", "json", "--no-progress"])
    assert info.value.code in (0, 1)
    document = json.loads(capsys.readouterr().out)
    assert document["dependency_audit"]["dependencies"] > 5  # pytest, packaging, typer ... are installed here


def test_python_option_reads_another_virtual_environment(tmp_path: Path, db: Path, capsys):
    venv = tmp_path / "venv"
    site = venv / "lib" / "python3.11" / "site-packages"
    (site / "demo_pkg-1.0.dist-info").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\nversion = 3.11.7\n")
    (site / "demo_pkg-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: demo-pkg\nVersion: 1.0\n")
    with pytest.raises(SystemExit) as info:
        run(["scan", "--python", str(venv), "--db", str(db), "--format", "json", "--no-progress"])
    assert info.value.code == 1
    document = json.loads(capsys.readouterr().out)
    assert [f["evidence"]["package"] for f in document["findings"] if f["rule_id"] == "MW-DEP-001"] == ["demo-pkg"]


def test_no_paths_and_no_environment_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        run(["scan"])
    assert info.value.code == 2
    assert "missing paths" in capsys.readouterr().err


def test_project_report_validates_against_the_documented_schema(project: Path, db: Path, capsys):
    import jsonschema

    schema = json.loads((Path(__file__).resolve().parents[2] / "docs" / "report.schema.json").read_text())
    (project / "requirements.txt").write_text("demo-pkg==1.0\ntorch==2.0.0\ntransformers\n")
    with pytest.raises(SystemExit):
        run(["scan", str(project), "--db", str(db), "--format", "json", "--no-progress"])
    document = json.loads(capsys.readouterr().out)
    jsonschema.Draft202012Validator(schema).validate(document)
    stack = document["dependency_audit"]["ml_packages"]
    assert stack[0] == {"package": "torch", "version": "2.0.0", "vulnerabilities": 1}  # TEST-0008
    assert {"package": "transformers", "version": "unpinned", "vulnerabilities": 0} in stack
    assert all(entry["package"] != "demo-pkg" for entry in stack)


def test_terminal_report_shows_the_ml_stack_and_the_upgrade_set(project: Path, db: Path, capsys):
    (project / "requirements.txt").write_text("demo-pkg==1.0\ntorch==2.0.0\n")
    with pytest.raises(SystemExit):
        run(["scan", str(project), "--db", str(db), "--no-progress"])
    out = " ".join(capsys.readouterr().out.split())  # undo the terminal's line wrapping
    assert "Minimal upgrade set: demo-pkg 1.0 -> 1.2.0, torch 2.0.0 -> 2.6.0" in out
    assert "ML stack: torch 2.0.0 (1 known vulnerability)" in out


def test_problems_of_an_included_file_found_twice_are_reported_once(tmp_path: Path, db: Path):
    (tmp_path / "requirements.txt").write_text("-r requirements-base.txt\n")
    (tmp_path / "requirements-base.txt").write_text("demo-pkg @ https://example.org/demo-pkg-1.0.tar.gz\n")
    report = scan_paths([tmp_path], db_path=db, jobs=1, scanners=["deps"])
    assert [f.rule_id for f in report.findings].count("MW-DEP-007") == 1


def test_environment_without_the_deps_scanner_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        run(["scan", "--environment", "--only", "code"])
    assert info.value.code == 2
    assert "deps" in capsys.readouterr().err


def test_missing_database_fails_the_default_gate(project: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("MLWARDEN_HOME", str(tmp_path / "empty-home"))
    report = scan_paths([project], jobs=1, scanners=["deps"])
    assert not report.passed  # deny by default: an unaudited dependency set must not pass silently


def test_installed_environments_inside_the_project_are_not_its_code(tmp_path: Path, db: Path):
    venv = tmp_path / ".venv"
    site = venv / "lib" / "python3.11" / "site-packages" / "somelib"
    site.mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (site / "loader.py").write_text("import torch\nm = torch.load('x')\n")
    (site / "evil.pkl").write_bytes(protocol0_payload("true"))
    (tmp_path / "app.py").write_text("import torch\nm = torch.load('x')\n")
    report = scan_paths([tmp_path], db_path=db, jobs=1)
    where = {(f.rule_id, f.location.path.rsplit("/", 1)[-1]) for f in report.findings}
    assert ("MW-CODE-001", "app.py") in where
    assert ("MW-CODE-001", "loader.py") not in where
    assert ("MW-PKL-001", "evil.pkl") in where  # a model hidden in an environment is still caught


def test_datasets_in_a_project_are_scanned_for_personal_data(tmp_path: Path, db: Path):
    (tmp_path / "data").mkdir()
    rows = "\n".join(f"{i},user{i}@example.org,{100 + i}" for i in range(50))
    (tmp_path / "data" / "users.csv").write_text("id,contact,score\n" + rows + "\n")
    (tmp_path / "README.md").write_text("Write to maintainer@example.org\n")  # docs are not datasets
    report = scan_paths([tmp_path], db_path=db, jobs=1)
    pii = [f for f in report.findings if f.rule_id.startswith("MW-PII-")]
    assert [(f.rule_id, f.location.table_column, (f.data or {}).get("entity")) for f in pii] == [
        ("MW-PII-002", "contact", "EMAIL")]
    assert all("user1@example.org" not in (f.evidence or "") + f.message for f in pii)
    skipped = scan_paths([tmp_path], db_path=db, jobs=1, scanners=["models", "code"])
    assert not [f for f in skipped.findings if f.rule_id.startswith("MW-PII-")]
