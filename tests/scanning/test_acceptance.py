"""The issue's acceptance list, end to end: files on disk, scanned by the engine as `mlwarden scan` does.

Each case names the rule that must fire; the benign twin of every format must give nothing at or above
medium. The format-specific suites go deeper; this file keeps the promised list in one place.
"""

from __future__ import annotations

import os
import pickle

import pytest

from mlwarden.core.findings import Severity
from mlwarden.demo import demo_files, stack_global_payload, torch_zip
from mlwarden.scanning.engine import scan_paths


class Payload:
    """Harmless payload: unpickling it would run `true`. Never unpickled here."""

    def __reduce__(self):
        return (os.system, ("true",))


def _scan(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return scan_paths([path], jobs=1).findings


@pytest.mark.parametrize("protocol", range(0, 6))
def test_malicious_pickle_at_every_protocol(tmp_path, protocol):
    findings = _scan(tmp_path, "model.pkl", pickle.dumps({"w": [1.0], "p": Payload()}, protocol=protocol))
    assert any(f.rule_id == "MW-PKL-001" and f.evidence in ("posix.system", "os.system") for f in findings)


@pytest.mark.parametrize("protocol", range(0, 6))
def test_benign_pickle_at_every_protocol(tmp_path, protocol):
    from collections import OrderedDict

    findings = _scan(tmp_path, "model.pkl",
                     pickle.dumps(OrderedDict(w=[1.0, 2.0], name="m", shape=(2,)), protocol=protocol))
    assert [f for f in findings if f.severity.rank >= Severity.MEDIUM.rank] == []


def test_memo_resolved_stack_global(tmp_path):
    assert "MW-PKL-001" in {f.rule_id for f in _scan(tmp_path, "m.pkl", stack_global_payload())}


def test_concatenated_pickles_payload_in_the_second(tmp_path):
    data = pickle.dumps([1, 2, 3], protocol=2) + pickle.dumps(Payload(), protocol=2)
    findings = _scan(tmp_path, "m.pkl", data)
    hit = [f for f in findings if f.rule_id == "MW-PKL-001"]
    assert hit and hit[0].location.offset >= len(pickle.dumps([1, 2, 3], protocol=2))


def test_pytorch_zip_payload_in_a_member_other_than_data_pkl(tmp_path):
    data = torch_zip({"extra.pkl": pickle.dumps(Payload(), protocol=2)}, {"w": (2, 2)})
    findings = _scan(tmp_path, "checkpoint.pt", data)
    assert any(f.rule_id == "MW-PKL-001" and f.location.member == "archive/extra.pkl" for f in findings)
    clean = _scan(tmp_path / "clean", "checkpoint.pt", torch_zip({}, {"w": (2, 2)}))
    assert clean == []


@pytest.mark.parametrize("name", ["pytorch_model.bin", "model.safetensors", "config.json"])
def test_pickle_under_another_name(tmp_path, name):
    rules = {f.rule_id for f in _scan(tmp_path, name, pickle.dumps(Payload(), protocol=4))}
    assert "MW-PKL-001" in rules
    if name != "pytorch_model.bin":  # .bin promises no particular format
        assert "MW-FMT-002" in rules


def test_every_demo_format_poisoned_is_caught_and_clean_is_quiet(tmp_path):
    """The demo's files cover joblib (compressed), NumPy object arrays, Keras Lambda, ONNX traversal, GGUF
    templates, HF remote code; the per-file expectations live in tests/cli/test_demo_cli.py."""
    files = demo_files()
    for rel, data in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(data)
    report = scan_paths([tmp_path], jobs=2, scanners=["models"])
    flagged = {f.location.path.split("/models/", 1)[-1].split("/", 1)[0] for f in report.findings
               if f.severity.rank >= Severity.MEDIUM.rank}
    assert flagged == {"poisoned"}


def test_malformed_safetensors_header(tmp_path):
    import json
    import struct

    header = json.dumps({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 64]}}).encode()
    data = struct.pack("<Q", len(header)) + header + b"\x00" * 16  # offsets point past the end
    assert "MW-ST-001" in {f.rule_id for f in _scan(tmp_path, "w.safetensors", data)}
