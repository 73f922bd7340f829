"""ONNX scanner through the real entry point, on models written with onnx.helper (and one written by hand)."""

from __future__ import annotations

import io
import time

import pytest

from mlwarden.artifacts.onnx import OnnxScanner, external_location_problem
from mlwarden.core.findings import Severity
from mlwarden.scanning.context import ScanContext
from mlwarden.scanning.dispatch import scan_stream
from tests.samples import onnx_samples as samples


def scan(data: bytes, name: str = "model.onnx") -> list:
    ctx = ScanContext(path="x", size=len(data), name=name)
    scan_stream(io.BytesIO(data), ctx)
    return ctx.findings


def only(findings: list, rule_id: str) -> list:
    return [f for f in findings if f.rule_id == rule_id]


@pytest.mark.parametrize("location", [None, "weights.bin", "data/weights.bin", "./weights..bin"])
def test_benign_models_are_clean(location):
    assert scan(samples.benign_model(location)) == []


@pytest.mark.parametrize("location", ["../../etc/passwd", "/etc/passwd", "..\\..\\Windows\\win.ini",
                                      "C:\\Windows\\System32\\config\\SAM", "\\\\server\\share\\w.bin",
                                      "data/../../secret"])
def test_external_data_escaping_the_folder_is_critical(location):
    [finding] = scan(samples.benign_model(location))
    assert (finding.rule_id, finding.severity, finding.evidence) == ("MW-ONNX-001", Severity.CRITICAL, location)


def test_external_data_of_a_constant_attribute():
    [finding] = scan(samples.constant_with_external_data("../../../etc/shadow"))
    assert finding.rule_id == "MW-ONNX-001"


def test_custom_domain_operator_is_medium():
    [finding] = scan(samples.custom_domain_model())
    assert (finding.rule_id, finding.severity, finding.evidence) == (
        "MW-ONNX-002", Severity.MEDIUM, "domain com.evil.ops")
    assert "EvilOp" in finding.message


def test_custom_operator_in_a_nested_subgraph():
    [finding] = scan(samples.nested_custom_op_model())
    assert finding.rule_id == "MW-ONNX-002"
    assert "node 'hidden'" in finding.message and "subgraph of node 'branch'" in finding.message


def test_model_local_function_is_not_a_custom_operator():
    assert scan(samples.local_function_model()) == []


def test_ml_domain_is_standard_and_runtime_contrib_is_low():
    findings = scan(samples.ml_and_contrib_model())
    assert [(f.rule_id, f.severity, f.evidence) for f in findings] == [
        ("MW-ONNX-002", Severity.LOW, "domain com.microsoft")]


class CountingFile:
    """Wraps a file and counts what is read, to prove tensor data is skipped."""

    def __init__(self, handle) -> None:
        self.handle = handle
        self.bytes_read = 0

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.bytes_read += len(data)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.handle.seek(offset, whence)

    def tell(self) -> int:
        return self.handle.tell()


def test_large_model_is_scanned_without_reading_tensor_data(tmp_path):
    path = tmp_path / "large.onnx"
    samples.write_large_model(path, data_bytes=100 * (1 << 20), location="../outside.bin")
    size = path.stat().st_size
    with path.open("rb") as handle:
        stream = CountingFile(handle)
        ctx = ScanContext(path="large.onnx", size=size, name="large.onnx")
        started = time.perf_counter()
        OnnxScanner().scan(stream, ctx)
        elapsed = time.perf_counter() - started
    assert sorted(f.rule_id for f in ctx.findings) == ["MW-ONNX-001", "MW-ONNX-002"]
    assert stream.bytes_read < 64 * 1024
    assert elapsed < 1.0


def test_large_model_through_dispatch(tmp_path):
    path = tmp_path / "large.onnx"
    samples.write_large_model(path, data_bytes=8 * (1 << 20))
    with path.open("rb") as handle:
        ctx = ScanContext(path="large.onnx", size=path.stat().st_size, name="large.onnx")
        scan_stream(handle, ctx)
    assert [f.rule_id for f in ctx.findings] == ["MW-ONNX-002"]


def test_truncated_model_is_unscannable_but_keeps_findings():
    data = samples.nested_custom_op_model()
    findings = scan(data[:-3])
    assert "MW-FMT-001" in {f.rule_id for f in findings}


@pytest.mark.parametrize("location, problem", [
    ("weights.bin", None), ("sub/dir/w.bin", None), ("..weights", None),
    ("../w", "climbs out with '..'"), ("a\\..\\..\\w", "climbs out with '..'"), ("/abs", "is an absolute path"),
    ("\\abs", "is an absolute path"), ("d:w.bin", "names a drive"), ("w\x00.bin", "contains a NUL byte"),
])
def test_external_location_problem(location, problem):
    assert external_location_problem(location) == problem
