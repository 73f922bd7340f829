"""Streaming pickle analysis skips large opaque values without reading them, but never skips a pickle."""

from __future__ import annotations

import os
import pickle

import numpy as np

from mlwarden.scanning.context import ScanContext
from mlwarden.scanning.dispatch import scan_stream
from tests.samples.archives import CountingReader


class Payload:
    def __reduce__(self):
        return (os.system, ("true",))


def _scan(data: bytes, name: str = "model.pkl") -> tuple[list, CountingReader]:
    stream = CountingReader(data)
    ctx = ScanContext(path=name, size=len(data), name=name)
    scan_stream(stream, ctx)
    return ctx.findings, stream


def test_array_payloads_are_skipped_and_a_payload_after_them_is_found():
    arrays = {f"w{i}": np.random.default_rng(i).random(1_000_000) for i in range(8)}  # 8 x 8 MB
    for protocol in (4, 5):
        data = pickle.dumps({"arrays": arrays, "tail": Payload()}, protocol=protocol)
        findings, stream = _scan(data)
        assert [f.evidence for f in findings if f.rule_id == "MW-PKL-001"] == ["posix.system"], findings
        assert stream.bytes_read < len(data) // 10, (stream.bytes_read, len(data))


def test_clean_array_pickle_has_no_findings():
    data = pickle.dumps({"w": np.zeros((512, 1024), dtype=np.float32)}, protocol=4)
    findings, _ = _scan(data)
    assert findings == []


def test_a_pickle_hidden_in_a_large_bytes_value_is_still_scanned():
    nested = pickle.dumps(Payload(), protocol=4) + b"\x00" * (2 * 1024 * 1024)  # large, starts like a pickle
    data = pickle.dumps({"blob": nested, "pad": b"\x01" * (3 * 1024 * 1024)}, protocol=4)
    findings, _ = _scan(data)
    rules = {f.rule_id for f in findings}
    assert "MW-PKL-005" in rules
    assert any(f.rule_id == "MW-PKL-001" and f.location.member for f in findings), findings


def test_a_protocol_0_pickle_hidden_in_a_large_bytes_value_is_not_skipped():
    nested = b"cos\nsystem\n(S'" + b"x" * (1024 * 1024) + b"'\ntR."  # ends with STOP, like a pickle
    data = pickle.dumps([b"\x02" * (2 * 1024 * 1024), nested], protocol=4)
    findings, _ = _scan(data)
    assert "MW-PKL-005" in {f.rule_id for f in findings}, findings
