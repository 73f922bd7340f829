"""`mlwarden demo`: poisoned models are found, clean ones are not, the HTML report lands beside the project."""

import json

import pytest

from mlwarden.cli.main import run
from mlwarden.demo import demo_files
from mlwarden.scanning.engine import scan_paths

# What each poisoned demo file must be caught for.
EXPECTED = {
    "models/poisoned/classifier.pkl": "MW-PKL-001",
    "models/poisoned/checkpoint.pt": "MW-PKL-001",
    "models/poisoned/weights.safetensors": "MW-FMT-002",
    "models/poisoned/vectors.npy": "MW-PKL-001",
    "models/poisoned/pipeline.joblib": "MW-PKL-001",
    "models/poisoned/sentiment.keras": "MW-KERAS-001",
    "models/poisoned/detector/model.onnx": "MW-ONNX-001",
    "models/poisoned/chat-model.gguf": "MW-GGUF-001",
    "models/poisoned/remote-code/config.json": "MW-HF-001",
    "models/poisoned/remote-code/modeling_demo.py": "MW-HF-002",
    # The supply-chain half: a vulnerable requirement, an unsafe torch.load, trust_remote_code=True, and a
    # (fake) token left in a notebook output.
    "requirements.txt": "MW-DEP-001",
    "train.py": "MW-CODE-001",
    "notebooks/explore.ipynb": "MW-SECRET-002",
    # The privacy half: a training table with names, e-mails, phones and card numbers.
    "data/customers.csv": "MW-PII-002",
}


def test_demo_writes_scans_and_reports(tmp_path, capsys):
    target = tmp_path / "demo"
    with pytest.raises(SystemExit) as info:
        run(["demo", str(target)])
    out, _ = capsys.readouterr()
    assert info.value.code == 0
    assert (target / "mlwarden-report.html").is_file()
    for rule in ("MW-PKL-001", "MW-DEP-001", "MW-CODE-001", "MW-CODE-007", "MW-SECRET-002"):
        assert rule in out
    assert "torch 1.12.0 -> 1.13.1" in out  # the minimal upgrade set
    assert "MW-DEP-006" not in out  # the demo's sample database is old on purpose
    assert "MW-SIG-001" in out and "models/tampered/resnet-tiny" in out


def test_demo_findings_are_exactly_the_poisoned_files(tmp_path):
    from mlwarden.demo import DEMO_ADVISORIES, write_demo_project
    from mlwarden.supply.advisories.store import build_database

    write_demo_project(tmp_path / "p")
    build_database(DEMO_ADVISORIES, tmp_path / "db.sqlite3", source="demo")
    tmp_path = tmp_path / "p"
    report = scan_paths([tmp_path], jobs=1, db_path=tmp_path.parent / "db.sqlite3")
    by_file: dict[str, set[str]] = {}
    for finding in report.findings:
        rel = finding.location.path.removeprefix(str(tmp_path).replace("\\", "/") + "/")
        by_file.setdefault(rel, set()).add(finding.rule_id)
    for rel, rule in EXPECTED.items():
        assert rule in by_file.get(rel, set()), (rel, by_file.get(rel))
    clean = {rel for rel in demo_files() if rel.startswith("models/clean/")}
    noisy = {rel: rules for rel, rules in by_file.items() if rel in clean}
    assert noisy == {}, json.dumps({k: sorted(v) for k, v in noisy.items()})


def test_demo_refuses_to_overwrite(tmp_path, capsys):
    from mlwarden.demo import write_demo_project

    write_demo_project(tmp_path)
    with pytest.raises(SystemExit) as info:
        run(["demo", str(tmp_path)])
    assert info.value.code == 2
    assert "already exists" in capsys.readouterr().err


def test_demo_signs_its_clean_model_and_catches_the_tampered_copy(tmp_path):
    from mlwarden.demo import (
        DEMO_PUBLIC_KEY,
        SIGNED_MODEL,
        sign_and_tamper,
        write_demo_project,
    )

    write_demo_project(tmp_path)
    findings = sign_and_tamper(tmp_path)
    assert (tmp_path / SIGNED_MODEL / "model.sig").is_file() and (tmp_path / DEMO_PUBLIC_KEY).is_file()
    assert not [f for f in findings if SIGNED_MODEL + "/" in f.location.path.replace("\\", "/")]
    tampered = {(f.rule_id, f.location.path.rsplit("/", 1)[-1]) for f in findings}
    assert ("MW-SIG-001", "pytorch_model.bin") in tampered
    assert not list(tmp_path.glob("**/*.pem"))  # the private key never touches the disk


def test_demo_writes_an_anonymized_copy_that_scans_clean(tmp_path):
    from mlwarden.demo import ANONYMIZED_DATASET, DEMO_DATASET, anonymize_demo_dataset, write_demo_project
    from mlwarden.privacy.files import scan_pii_file

    write_demo_project(tmp_path)
    assert scan_pii_file(tmp_path / DEMO_DATASET)  # the original holds personal data
    copy = anonymize_demo_dataset(tmp_path)
    assert copy == tmp_path / ANONYMIZED_DATASET
    assert scan_pii_file(copy) == []
    text = copy.read_text()
    assert "@example.org" not in text and "Schmidt" not in text and "**** **** **** 1111" in text
