"""The ML bill of materials: the pure builder (structure, determinism, CycloneDX 1.6 schema), artifact
classification and inventory (hashes match hashlib), licences, and ``write_sbom`` over a small project."""

from __future__ import annotations

import copy
import gzip
import hashlib
import io
import json
import os
import re
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlwarden.core.errors import InputError
from mlwarden.core.findings import Location, Severity
from mlwarden.core.rules import make_finding
from mlwarden.supply.deps.model import Dependency
from mlwarden.supply.sbom import (
    SPDX_EXCEPTIONS,
    SPDX_IDS,
    ArtifactRecord,
    build_bom,
    classify_artifact,
    inventory_artifacts,
    licence_choice,
    model_card_hints,
)
from tests.samples.gguf_samples import benign_gguf
from tests.samples.hf_samples import BERT_CONFIG, bert_folder
from tests.samples.keras_samples import keras3_sequential, keras_v3_archive
from tests.samples.numpy_samples import benign_npz, numeric_npy
from tests.samples.onnx_samples import benign_model
from tests.samples.safetensors_samples import real_safetensors

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = REPO_ROOT.parent / "shared" / "schemas" / "cyclonedx"
SERIAL = "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79"
STAMP = "2026-11-27T09:00:00Z"
SHA_A = hashlib.sha256(b"model a").hexdigest()
SHA_B = hashlib.sha256(b"dataset b").hexdigest()


# --- schema ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bom_validator():
    """A validator for bom-1.6.schema.json with its spdx and jsf $refs served from the same folder."""
    if not (SCHEMA_DIR / "bom-1.6.schema.json").is_file():
        pytest.skip("../shared/schemas/cyclonedx is not available")
    from jsonschema import Draft7Validator
    from referencing import Registry, Resource

    schemas = {name: json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
               for name in ("bom-1.6.schema.json", "spdx.schema.json", "jsf-0.82.schema.json")}
    registry = Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in schemas.values())
    bom_schema = schemas["bom-1.6.schema.json"]
    return Draft7Validator(bom_schema, registry=registry, format_checker=Draft7Validator.FORMAT_CHECKER)


def assert_valid(validator, bom):
    errors = sorted(validator.iter_errors(bom), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


# --- samples ---------------------------------------------------------------------------------------------

def dep(name, version=None, *, kind="pinned", specifier="", source="requirements.txt", line=1, direct=True,
        licence=None, url=None, groups=()):
    return Dependency(name=name, source=source, kind=kind, version=version, specifier=specifier, line=line,
                      direct=direct, licence=licence, url=url, groups=groups)


def vuln(package, version, vuln_id, *, aliases=(), cvss=None, fixed=None, severity=None, source="requirements.txt",
         summary="Arbitrary code execution when loading untrusted files", vector=None):
    data = {"package": package, "version": version, "ids": [vuln_id, *sorted(aliases)], "id": vuln_id,
            "aliases": sorted(aliases), "summary": summary, "cvss": cvss, "affected": "<1.13.0",
            "fixed": fixed, "source": source, "ml": True}
    if vector:
        data["cvss_vector"] = vector
    return make_finding("MW-DEP-001", Location(source, line=1), f"{package} {version} is vulnerable",
                        evidence=f"{package} {version}: {vuln_id}", severity=severity, scanner="deps", data=data)


DEPENDENCIES = [
    dep("torch", "1.12.0", licence="BSD-3-Clause"),
    dep("Torch", "1.12.0", source="poetry.lock", line=None, direct=False),
    dep("numpy", None, kind="range", specifier=">=1.20", source="pyproject.toml", line=8),
    dep("numpy", None, kind="range", specifier=">=1.24,<2", source="requirements.txt", line=2),
    dep("PyYAML", "6.0.1", licence="MIT License", source="uv.lock", line=40, direct=False),
    dep("transformers", "4.30.0", licence="Apache-2.0 OR MIT", groups=("ml",)),
    dep("mytool", None, kind="url", url="git+https://user:s3cret@example.com/org/mytool.git", line=5),
]
ARTIFACTS = [
    ArtifactRecord("models/bert/model.safetensors", SHA_A, 7, "safetensors", "model", model_type="bert",
                   architecture="BertForMaskedLM"),
    ArtifactRecord("models/legacy.pkl", SHA_A, 7, "pickle", "model"),
    ArtifactRecord("data/train.parquet", SHA_B, 9, "parquet", "data"),
]
FINDINGS = [
    vuln("torch", "1.12.0", "PYSEC-2022-43015", aliases=("CVE-2022-45907", "GHSA-47fc-vmwq-366v"), cvss=9.8,
         fixed="1.13.1", severity=Severity.CRITICAL, vector="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
    # the same vulnerability reached through the lock file: one entry, not two
    vuln("torch", "1.12.0", "PYSEC-2022-43015", aliases=("CVE-2022-45907",), cvss=9.8, fixed="1.13.1",
         severity=Severity.CRITICAL, source="poetry.lock"),
    vuln("transformers", "4.30.0", "GHSA-v68g-wm8c-6x7j", aliases=("CVE-2023-7018",), fixed="4.36.0"),
    # other dependency rules never become vulnerabilities
    make_finding("MW-DEP-002", Location("pyproject.toml", line=8), "numpy is not pinned", scanner="deps"),
]


def sample_bom(**overrides):
    arguments = {"subject": "demo-project", "dependencies": DEPENDENCIES, "artifacts": ARTIFACTS,
                 "vulnerabilities": FINDINGS, "tool_version": "0.1.0", "serial": SERIAL, "timestamp": STAMP}
    arguments.update(overrides)
    return build_bom(**arguments)


def components_by_ref(bom):
    return {c["bom-ref"]: c for c in bom["components"]}


def props(component, name):
    return [p["value"] for p in component.get("properties", []) if p["name"] == f"mlwarden:{name}"]


# --- builder: structure ----------------------------------------------------------------------------------

def test_bom_validates_against_cyclonedx_1_6(bom_validator):
    bom = sample_bom()
    assert_valid(bom_validator, bom)
    # and after a JSON round trip, as a file on disk would be read
    assert_valid(bom_validator, json.loads(json.dumps(bom)))


def test_minimal_bom_validates(bom_validator):
    bom = build_bom(subject="empty", dependencies=[], artifacts=[], vulnerabilities=[], tool_version="0.1.0")
    assert_valid(bom_validator, bom)
    assert bom["components"] == [] and "vulnerabilities" not in bom


def test_header_and_metadata():
    bom = sample_bom()
    assert bom["bomFormat"] == "CycloneDX" and bom["specVersion"] == "1.6" and bom["version"] == 1
    assert bom["serialNumber"] == SERIAL
    meta = bom["metadata"]
    assert meta["timestamp"] == STAMP
    assert meta["tools"] == {"components": [{"type": "application", "name": "mlwarden", "version": "0.1.0"}]}
    assert meta["component"]["type"] == "application" and meta["component"]["name"] == "demo-project"


def test_generated_serial_and_timestamp_have_the_required_shape():
    bom = build_bom(subject="x", dependencies=[], artifacts=[], vulnerabilities=[], tool_version="0.1.0")
    assert re.fullmatch(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
                        bom["serialNumber"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", bom["metadata"]["timestamp"])
    bare = build_bom(subject="x", dependencies=[], artifacts=[], vulnerabilities=[], tool_version="0.1.0",
                     serial="3E671687-395B-41F5-A30F-A58921A69B79")
    assert bare["serialNumber"] == SERIAL
    with pytest.raises(ValueError):
        build_bom(subject="x", dependencies=[], artifacts=[], vulnerabilities=[], tool_version="0.1.0",
                  serial="not-a-uuid")


def test_deterministic_for_fixed_serial_and_timestamp():
    first = json.dumps(sample_bom(), indent=2)
    assert json.dumps(sample_bom(), indent=2) == first
    # input order does not change the document
    shuffled = json.dumps(sample_bom(dependencies=list(reversed(DEPENDENCIES)), artifacts=list(reversed(ARTIFACTS)),
                                     vulnerabilities=list(reversed(FINDINGS))), indent=2)
    assert shuffled == first


def test_libraries_are_deduplicated_with_purls_and_licences():
    bom = sample_bom()
    libraries = [c for c in bom["components"] if c["type"] == "library"]
    refs = [c["bom-ref"] for c in libraries]
    assert len(refs) == len(set(refs))
    by_ref = components_by_ref(bom)
    torch = by_ref["pkg:pypi/torch@1.12.0"]
    assert torch["purl"] == "pkg:pypi/torch@1.12.0" and torch["version"] == "1.12.0"
    assert torch["licenses"] == [{"license": {"id": "BSD-3-Clause"}}]
    assert props(torch, "source") == ["poetry.lock", "requirements.txt:1"]
    assert props(torch, "direct") == ["true"]
    assert by_ref["pkg:pypi/pyyaml@6.0.1"]["licenses"] == [{"license": {"id": "MIT"}}]
    assert by_ref["pkg:pypi/transformers@4.30.0"]["licenses"] == [{"expression": "Apache-2.0 OR MIT"}]
    # versionless ranged declarations of one name: one component, each specifier kept
    numpy = by_ref["pkg:pypi/numpy"]
    assert "version" not in numpy and numpy["purl"] == "pkg:pypi/numpy"
    assert props(numpy, "specifier") == [">=1.20", ">=1.24,<2"]
    assert props(numpy, "kind") == ["range"]


def test_url_dependency_has_no_purl_and_no_credentials():
    bom = sample_bom()
    text = json.dumps(bom)
    assert "s3cret" not in text and "user:" not in text
    tool = components_by_ref(bom)["external:mytool"]
    assert "purl" not in tool and props(tool, "kind") == ["url"]
    assert tool["externalReferences"] == [{"type": "vcs", "url": "git+https://***@example.com/org/mytool.git"}]


def test_url_query_strings_are_masked():
    signed = dep("private-wheel", None, kind="url", url="https://files.example.com/p-1.0-py3-none-any.whl"
                 "?X-Amz-Signature=deadbeef&token=abc123#sha256=00ff")
    bom = sample_bom(dependencies=[signed], vulnerabilities=[])
    text = json.dumps(bom)
    assert "deadbeef" not in text and "abc123" not in text
    component = components_by_ref(bom)["external:private-wheel"]
    assert props(component, "url") == ["https://files.example.com/p-1.0-py3-none-any.whl?***#sha256=00ff"]


def test_subject_depends_on_direct_libraries_and_artifacts():
    bom = sample_bom()
    (entry,) = bom["dependencies"]
    assert entry["ref"] == bom["metadata"]["component"]["bom-ref"]
    assert "pkg:pypi/torch@1.12.0" in entry["dependsOn"]
    assert "pkg:pypi/pyyaml@6.0.1" not in entry["dependsOn"]  # only a transitive lock-file entry
    assert "model:models/legacy.pkl" in entry["dependsOn"] and "data:data/train.parquet" in entry["dependsOn"]
    refs = set(components_by_ref(bom))
    assert set(entry["dependsOn"]) <= refs


def test_models_and_datasets():
    by_ref = components_by_ref(sample_bom())
    bert = by_ref["model:models/bert/model.safetensors"]
    assert bert["type"] == "machine-learning-model"
    assert bert["hashes"] == [{"alg": "SHA-256", "content": SHA_A}]
    assert bert["modelCard"] == {"modelParameters": {"architectureFamily": "bert",
                                                     "modelArchitecture": "BertForMaskedLM"}}
    assert props(bert, "format") == ["safetensors"] and props(bert, "path") == ["models/bert/model.safetensors"]
    assert props(bert, "size") == ["7"]
    assert "modelCard" not in by_ref["model:models/legacy.pkl"]  # nothing known to put in one
    data = by_ref["data:data/train.parquet"]
    assert data["type"] == "data" and data["data"] == [{"type": "dataset", "name": "data/train.parquet"}]
    assert data["hashes"] == [{"alg": "SHA-256", "content": SHA_B}]
    assert "modelCard" not in data


def test_vulnerabilities_are_merged_and_point_at_components():
    bom = sample_bom()
    refs = set(components_by_ref(bom))
    vulns = {v["id"]: v for v in bom["vulnerabilities"]}
    assert sorted(vulns) == ["GHSA-v68g-wm8c-6x7j", "PYSEC-2022-43015"]
    for entry in vulns.values():
        assert entry["affects"] and all(a["ref"] in refs for a in entry["affects"])
    torch = vulns["PYSEC-2022-43015"]
    assert torch["source"] == {"name": "OSV", "url": "https://osv.dev/vulnerability/PYSEC-2022-43015"}
    assert torch["affects"] == [{"ref": "pkg:pypi/torch@1.12.0",
                                 "versions": [{"version": "1.12.0", "status": "affected"}]}]
    assert torch["references"] == [
        {"id": "CVE-2022-45907", "source": {"name": "NVD", "url": "https://nvd.nist.gov/vuln/detail/CVE-2022-45907"}},
        {"id": "GHSA-47fc-vmwq-366v",
         "source": {"name": "GitHub Advisories", "url": "https://github.com/advisories/GHSA-47fc-vmwq-366v"}},
    ]
    (rating,) = torch["ratings"]
    assert rating["score"] == 9.8 and rating["method"] == "CVSSv31" and rating["severity"] == "critical"
    assert rating["vector"].startswith("CVSS:3.1/")
    assert torch["description"].startswith("Arbitrary code execution")
    assert torch["recommendation"] == "Upgrade torch to 1.13.1"
    # no CVSS: severity only
    (plain,) = vulns["GHSA-v68g-wm8c-6x7j"]["ratings"]
    assert plain == {"source": plain["source"], "severity": "high"}


def test_vulnerability_of_an_unlisted_dependency_adds_the_library(bom_validator):
    bom = sample_bom(dependencies=[], vulnerabilities=[vuln("Pillow", "9.0.0", "PYSEC-2022-10", fixed="9.0.1")])
    assert_valid(bom_validator, bom)
    (entry,) = bom["vulnerabilities"]
    assert entry["affects"][0]["ref"] == "pkg:pypi/pillow@9.0.0"
    assert components_by_ref(bom)["pkg:pypi/pillow@9.0.0"]["type"] == "library"
    # reached from two files: both are named, whatever the order of the findings
    two = [vuln("Pillow", "9.0.0", "PYSEC-2022-10", source="a.txt"), vuln("pillow", "9.0.0", "PYSEC-2022-10",
                                                                          source="b.txt")]
    for findings in (two, two[::-1]):
        pillow = components_by_ref(sample_bom(dependencies=[], vulnerabilities=findings))["pkg:pypi/pillow@9.0.0"]
        assert props(pillow, "source") == ["a.txt", "b.txt"]


def test_cvss_method_follows_the_vector_version():
    v30 = vuln("torch", "1.12.0", "PYSEC-1", cvss=7.5, vector="CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N")
    bom = sample_bom(vulnerabilities=[v30])
    assert bom["vulnerabilities"][0]["ratings"][0]["method"] == "CVSSv3"


def test_local_versions_are_percent_encoded_in_purls(bom_validator):
    bom = sample_bom(dependencies=[dep("torch", "2.1.0+cpu")], vulnerabilities=[])
    assert "pkg:pypi/torch@2.1.0%2Bcpu" in components_by_ref(bom)
    assert_valid(bom_validator, bom)


def test_malformed_finding_data_is_skipped_not_fatal():
    weird = [
        make_finding("MW-DEP-001", Location("r.txt"), "no data", scanner="deps"),
        make_finding("MW-DEP-001", Location("r.txt"), "odd data", scanner="deps",
                     data={"package": 3, "version": None, "ids": "x", "cvss": "high"}),
        make_finding("MW-DEP-001", Location("r.txt"), "odd cvss", scanner="deps",
                     data={"package": "a", "version": "1", "id": "X-1", "cvss": "not a number", "aliases": [1, None]}),
    ]
    bom = sample_bom(dependencies=[], vulnerabilities=weird)
    (entry,) = bom["vulnerabilities"]
    assert entry["id"] == "X-1" and "references" not in entry
    assert entry["ratings"][0] == {"source": entry["ratings"][0]["source"], "severity": "high"}


# --- licences --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("MIT", [{"license": {"id": "MIT"}}]),
    ("apache-2.0", [{"license": {"id": "Apache-2.0"}}]),
    ("Apache License, Version 2.0", [{"license": {"id": "Apache-2.0"}}]),
    ("License :: OSI Approved :: BSD License", [{"license": {"name": "BSD License"}}]),
    ("License :: OSI Approved :: MIT License", [{"license": {"id": "MIT"}}]),
    ("mit or apache-2.0", [{"expression": "MIT OR Apache-2.0"}]),
    ("(MIT OR Apache-2.0) AND BSD-3-Clause", [{"expression": "(MIT OR Apache-2.0) AND BSD-3-Clause"}]),
    ("Apache-2.0 WITH LLVM-exception", [{"expression": "Apache-2.0 WITH LLVM-exception"}]),
    ("MIT OR", [{"license": {"name": "MIT OR"}}]),
    ("BSD", [{"license": {"name": "BSD"}}]),
    ("Proprietary", [{"license": {"name": "Proprietary"}}]),
    ("", None),
    (None, None),
])
def test_licence_choice(text, expected):
    assert licence_choice(text) == expected


def test_pasted_licence_text_becomes_a_short_name():
    text = "Copyright (c) 2024 Someone\n\n" + "Permission is hereby granted, free of charge, " * 40
    (choice,) = licence_choice(text)
    assert choice == {"license": {"name": "Copyright (c) 2024 Someone"}}
    (long_line,) = licence_choice("x" * 500)
    assert len(long_line["license"]["name"]) <= 120


def test_spdx_table_entries_are_real_spdx_ids():
    path = SCHEMA_DIR / "spdx.schema.json"
    if not path.is_file():
        pytest.skip("../shared/schemas/cyclonedx is not available")
    known = set(json.loads(path.read_text(encoding="utf-8"))["enum"])
    assert set(SPDX_IDS) <= known
    assert set(SPDX_EXCEPTIONS) <= known


# --- classification --------------------------------------------------------------------------------------

def torch_zip() -> bytes:
    torch = pytest.importorskip("torch")
    buffer = io.BytesIO()
    torch.save({"w": torch.ones(2)}, buffer)
    return buffer.getvalue()


def plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    return buffer.getvalue()


@pytest.mark.parametrize("name, make, expected", [
    ("model.safetensors", real_safetensors, ("model", "safetensors")),
    ("model.pkl", lambda: b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00}\x94.", ("model", "pickle")),
    ("model.gguf", benign_gguf, ("model", "gguf")),
    ("model.onnx", benign_model, ("model", "onnx")),
    ("weights.npy", numeric_npy, ("model", "npy")),
    ("arrays.npz", lambda: benign_npz(compressed=False), ("model", "npz")),
    ("model.keras", lambda: keras_v3_archive(keras3_sequential()), ("model", "keras")),
    ("train.parquet", lambda: b"PAR1\x15\x04\x15\x10" + b"\x00" * 40 + b"PAR1", ("data", "parquet")),
    ("renamed.bin", lambda: b"PAR1\x15\x04" + b"\x00" * 40 + b"PAR1", ("data", "parquet")),
    ("archive.bin", plain_zip, ("model", "zip")),
    ("table.arrow", lambda: b"ARROW1\x00\x00" + b"\x00" * 40, ("data", "arrow")),
    ("data-00000-of-00001.arrow", lambda: b"\xff\xff\xff\xff\x10\x00\x00\x00" + b"\x00" * 40, ("data", "arrow")),
    ("events.avro", lambda: b"Obj\x01\x04\x14avro.codec", ("data", "avro")),
    ("train.csv", lambda: b"text,label\nhello,1\n", ("data", "csv")),
    ("train.tsv", lambda: b"text\tlabel\nhello\t1\n", ("data", "tsv")),
    ("train.jsonl", lambda: b'{"text": "hi"}\n{"text": "yo"}\n', ("data", "jsonl")),
    ("mnist-train.tfrecord-00000-of-00001", lambda: b"\x10\x00\x00\x00\x00\x00\x00\x00junk", ("data", "tfrecord")),
    ("train.csv.gz", lambda: gzip.compress(b"a,b\n1,2\n"), ("data", "csv+gzip")),
    ("train.csv", lambda: gzip.compress(b"a,b\n1,2\n"), ("data", "csv+gzip")),
    ("PAR1-notes.txt", lambda: b"PAR1 is the parquet magic\n", None),
    ("model.joblib", lambda: gzip.compress(b"\x80\x04K\x01."), ("model", "compressed")),
    ("variables.data-00000-of-00001", lambda: b"\x00\x01\x02" * 10, ("model", "tf-checkpoint")),
    ("bundle.zip", plain_zip, None),
    ("notes.txt.gz", lambda: gzip.compress(b"hello"), None),
    ("README.md", lambda: b"# A model\n", None),
    ("train.py", lambda: b"import torch\n", None),
    ("config.json", lambda: json.dumps(BERT_CONFIG).encode(), None),
    ("empty.bin", lambda: b"", None),
])
def test_classify_artifact(name, make, expected):
    head = make()
    assert classify_artifact(head[:4096], name=name, size=len(head)) == expected


def test_classify_pytorch_zip_by_content():
    data = torch_zip()
    assert classify_artifact(data[:4096], name="pytorch_model.bin", size=len(data)) == ("model", "pytorch")
    assert classify_artifact(data[:4096], name="checkpoint", size=len(data)) == ("model", "pytorch")


def test_content_decides_before_the_name():
    pickle_named_csv = b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00}\x94."
    assert classify_artifact(pickle_named_csv, name="train.csv", size=len(pickle_named_csv)) == ("model", "pickle")


def test_hf_dataset_folder_files_are_data_but_not_metadata():
    assert classify_artifact(b"\x00\x01", name="cache-1234.bin", size=2, dataset_folder=True) == ("data", "bin")
    assert classify_artifact(b"{}", name="state.json", size=2, dataset_folder=True) is None
    assert classify_artifact(b"\x00\x01", name="cache-1234.bin", size=2) is None


def test_model_card_hints():
    assert model_card_hints(json.dumps(BERT_CONFIG)) == ("bert", "BertForMaskedLM")
    assert model_card_hints('{"architectures": []}') == (None, None)
    assert model_card_hints("[1, 2]") == (None, None)
    assert model_card_hints("[" * 100_000) == (None, None)
    assert model_card_hints("not json") == (None, None)


# --- inventory -------------------------------------------------------------------------------------------

def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture()
def project(tmp_path):
    root = tmp_path / "demo"
    bert = bert_folder(root / "models" / "bert")
    (bert / "model.safetensors").write_bytes(real_safetensors())
    (root / "models" / "tiny.gguf").write_bytes(benign_gguf())
    (root / "data").mkdir()
    (root / "data" / "train.csv").write_text("text,label\nhello,1\n")
    (root / "data" / "big.parquet").write_bytes(b"PAR1" + os.urandom(3 * 1024 * 1024 + 17) + b"PAR1")
    hf = root / "data" / "squad"
    hf.mkdir()
    (hf / "dataset_info.json").write_text('{"features": {}}')
    (hf / "state.json").write_text('{"_data_files": [{"filename": "data-00000-of-00001.arrow"}]}')
    (hf / "data-00000-of-00001.arrow").write_bytes(b"\xff\xff\xff\xff" + b"\x01" * 64)
    (root / "src").mkdir()
    (root / "src" / "train.py").write_text("import torch\n")
    (root / "README.md").write_text("# demo\n")
    return root


def test_inventory_classifies_and_hashes(project):
    records = {r.path: r for r in inventory_artifacts([project])}
    assert sorted(records) == ["data/big.parquet", "data/squad/data-00000-of-00001.arrow", "data/train.csv",
                               "models/bert/model.safetensors", "models/tiny.gguf"]
    for path, record in records.items():
        assert record.sha256 == sha256_file(project / path), path  # streamed in chunks, same digest
        assert record.size == (project / path).stat().st_size
    bert = records["models/bert/model.safetensors"]
    assert (bert.kind, bert.format, bert.model_type, bert.architecture) == (
        "model", "safetensors", "bert", "BertForMaskedLM")
    gguf = records["models/tiny.gguf"]
    assert (gguf.kind, gguf.model_type) == ("model", None)
    arrow = records["data/squad/data-00000-of-00001.arrow"]
    assert (arrow.kind, arrow.format, arrow.dataset) == ("data", "arrow", "squad")
    assert records["data/big.parquet"].kind == "data"


def test_inventory_of_several_paths_and_single_files(project, tmp_path):
    other = tmp_path / "weights"
    other.mkdir()
    (other / "w.npy").write_bytes(numeric_npy())
    paths = {r.path for r in inventory_artifacts([project, other])}
    assert "weights/w.npy" in paths and "demo/models/tiny.gguf" in paths
    (single,) = inventory_artifacts([other / "w.npy"])
    assert single.path == "w.npy" and single.format == "npy"


def test_inventory_honours_skip_and_does_not_follow_links(project, tmp_path):
    outside = tmp_path / "outside.gguf"
    outside.write_bytes(benign_gguf())
    (project / "link.gguf").symlink_to(outside)
    paths = {r.path for r in inventory_artifacts([project], skip=["data/**"])}
    assert paths == {"models/bert/model.safetensors", "models/tiny.gguf"}


def test_inventory_leaves_out_installed_environments(project):
    venv = project / ".venv"
    (venv / "lib" / "python3.11" / "site-packages" / "pkg").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (venv / "lib" / "python3.11" / "site-packages" / "pkg" / "weights.npy").write_bytes(numeric_npy())
    (venv / "share").mkdir()
    (venv / "share" / "table.csv").write_text("a,b\n")
    conda = project / "env"
    (conda / "conda-meta").mkdir(parents=True)
    (conda / "conda-meta" / "history").write_text("==> 2024-01-01 <==\n")
    (conda / "data.csv").write_text("a,b\n")
    paths = {r.path for r in inventory_artifacts([project])}
    assert not any(p.startswith((".venv/", "env/")) for p in paths)
    assert "models/tiny.gguf" in paths


def test_a_given_environment_folder_is_still_described(tmp_path):
    venv = tmp_path / "venv"
    venv.mkdir()
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (venv / "model.gguf").write_bytes(benign_gguf())
    assert [r.path for r in inventory_artifacts([venv])] == ["model.gguf"]


def test_inventory_missing_path_is_an_input_error(tmp_path):
    with pytest.raises(InputError):
        inventory_artifacts([tmp_path / "nope"])


def test_inventory_bom_validates(project, bom_validator):
    bom = build_bom(subject="demo", dependencies=[], artifacts=inventory_artifacts([project]),
                    vulnerabilities=[], tool_version="0.1.0", serial=SERIAL, timestamp=STAMP)
    assert_valid(bom_validator, bom)
    for component in bom["components"]:
        path = project / component["name"]
        assert component["hashes"][0]["content"] == sha256_file(path)


# --- fuzzing: the parsers never raise --------------------------------------------------------------------

NAMES = st.sampled_from(["model.pkl", "train.csv", "x.parquet", "model.pt", "w.npz", "data.jsonl.gz", "a.keras",
                         "config.json", "saved_model.pb", "m.onnx", "x.h5", "noext", "a.tfrecord-00001-of-00002"])
HEADS = st.one_of(
    st.binary(max_size=600),
    st.sampled_from([b"PK\x03\x04", b"\x80\x04", b"PAR1", b"GGUF", b"\x93NUMPY", b"\x1f\x8b", b"Obj\x01",
                     b"\x89HDF\r\n\x1a\n"]).flatmap(lambda magic: st.binary(max_size=300).map(lambda b: magic + b)),
)


@settings(max_examples=150, deadline=None)
@given(head=HEADS, name=NAMES, size=st.integers(min_value=0, max_value=2**40), folder=st.booleans())
def test_classify_never_raises(head, name, size, folder):
    verdict = classify_artifact(head, name=name, size=size, dataset_folder=folder)
    assert verdict is None or verdict[0] in ("model", "data")


@settings(max_examples=150, deadline=None)
@given(text=st.one_of(st.text(max_size=300), st.sampled_from(["MIT AND", "(MIT", "MIT)", "WITH MIT", "( )"])))
def test_licence_choice_never_raises(text):
    choice = licence_choice(text)
    assert choice is None or (isinstance(choice, list) and len(choice) == 1)


@settings(max_examples=150, deadline=None)
@given(text=st.one_of(st.text(max_size=300), st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(
        ["model_type", "architectures", "x"]), inner, max_size=3), max_leaves=20).map(json.dumps)))
def test_model_card_hints_never_raise(text):
    hints = model_card_hints(text)
    assert all(h is None or isinstance(h, str) for h in hints)


FINDING_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-5, 50), st.floats(allow_nan=True),
                           st.text(max_size=12), st.lists(st.one_of(st.none(), st.text(max_size=8)), max_size=3))


@settings(max_examples=150, deadline=None)
@given(data=st.lists(st.dictionaries(
    st.sampled_from(["package", "version", "id", "ids", "aliases", "summary", "cvss", "cvss_vector", "fixed",
                     "affected", "source"]), FINDING_VALUES, max_size=11), max_size=4))
def test_build_bom_survives_any_finding_data(data):
    findings = [make_finding("MW-DEP-001", Location("r.txt"), "x", scanner="deps", data=d) for d in data]
    bom = build_bom(subject="fuzz", dependencies=[dep("torch", "1.0")], artifacts=[], vulnerabilities=findings,
                    tool_version="0.1.0", serial=SERIAL, timestamp=STAMP)
    refs = {c["bom-ref"] for c in bom["components"]}
    for entry in bom.get("vulnerabilities", []):
        assert all(affect["ref"] in refs for affect in entry["affects"])
        for rating in entry.get("ratings", []):
            assert "score" not in rating or 0.0 <= rating["score"] <= 10.0
    json.dumps(bom, allow_nan=False)


@settings(max_examples=150, deadline=None)
@given(url=st.one_of(st.text(max_size=80), st.builds(
    lambda user, host, port, query: f"https://{user}@{host}:{port}/p.whl?{query}",
    st.text(max_size=10), st.text(max_size=10), st.text(max_size=6), st.text(max_size=10))))
def test_any_requirement_url_is_handled(url):
    bom = build_bom(subject="fuzz", dependencies=[dep("pkg", None, kind="url", url=url)], artifacts=[],
                    vulnerabilities=[], tool_version="0.1.0", serial=SERIAL, timestamp=STAMP)
    (component,) = bom["components"]
    for value in props(component, "url"):
        assert urlsplit(value).query in ("", "***")


def test_build_bom_does_not_mutate_its_input():
    dependencies, artifacts, findings = copy.deepcopy(DEPENDENCIES), list(ARTIFACTS), list(FINDINGS)
    sample_bom(dependencies=dependencies, artifacts=artifacts, vulnerabilities=findings)
    assert dependencies == DEPENDENCIES and artifacts == ARTIFACTS and findings == FINDINGS


def test_npz_compressed_is_a_model():
    data = benign_npz(compressed=True)
    assert classify_artifact(data[:4096], name="arrays.npz", size=len(data)) == ("model", "npz")


def test_float32_npy_roundtrip_hash(tmp_path):
    path = tmp_path / "w.npy"
    np.save(path, np.arange(10, dtype=np.float32))
    (record,) = inventory_artifacts([tmp_path])
    assert record.sha256 == sha256_file(path) and record.kind == "model"
