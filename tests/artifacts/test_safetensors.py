"""safetensors scanner: files written by the reference library are clean; every way of breaking the header is
MW-ST-001; tensor data is never read; a pickle named .safetensors is flagged by dispatch."""

from __future__ import annotations

import io
import time
import tracemalloc

import pytest

from mlwarden.core.findings import Finding, Severity
from mlwarden.scanning.context import ScanContext
from mlwarden.scanning.dispatch import scan_stream
from mlwarden.scanning.identify import identify
from tests.samples import safetensors_samples as s
from tests.samples.gguf_samples import VirtualFile


def scan(data: bytes, *, name: str = "model.safetensors", hint: str | None = None) -> list[Finding]:
    ctx = ScanContext(path="x", size=len(data), name=name)
    scan_stream(io.BytesIO(data), ctx, format_hint=hint)
    return ctx.findings


def test_reference_writer_output_is_clean():
    data = s.real_safetensors()
    assert identify(data[:4096], name="model.safetensors", size=len(data)) == "safetensors"
    assert scan(data) == []


def test_reference_writer_output_without_metadata_is_clean():
    assert scan(s.real_safetensors_without_metadata()) == []


def test_sub_byte_dtypes_that_fill_whole_bytes_are_clean():
    assert scan(s.sub_byte_safetensors()) == []


@pytest.mark.parametrize("name", sorted(s.MALFORMED))
def test_malformed_header_is_mw_st_001(name):
    data, identified = s.MALFORMED[name]
    if identified:
        assert identify(data[:4096], name="model.safetensors", size=len(data)) == "safetensors"
    findings = scan(data, hint=None if identified else "safetensors")
    st = [f for f in findings if f.rule_id == "MW-ST-001"]
    assert st, (name, [f.message for f in findings])
    assert all(f.severity is Severity.HIGH for f in st)
    assert "MW-SCAN-002" not in {f.rule_id for f in findings}


@pytest.mark.parametrize("name, evidence", [
    ("overlapping-offsets", "a <-> b"),
    ("shape-size-mismatch", "a"),
    ("unknown-dtype", "a"),
    ("negative-dim", "a"),
    ("offsets-out-of-bounds", "a"),
    ("hole-between-tensors", "b"),
    ("duplicate-keys", "a"),
])
def test_findings_name_the_tensor(name, evidence):
    data, _ = s.MALFORMED[name]
    assert evidence in [f.evidence for f in scan(data)]


def test_huge_header_length_does_not_allocate():
    data, _ = s.MALFORMED["huge-header-length"]
    tracemalloc.start()
    try:
        findings = scan(data, hint="safetensors")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024
    assert "exceeds the limit" in findings[0].message


def test_tensor_data_is_never_read():
    # A 20 GB file: 8-byte length, the header, then (virtual) tensor data.
    count, per = 4, 5 * 10**9
    header = ",".join(f'"t{i}": {{"dtype": "U8", "shape": [{per}], "data_offsets": [{i * per}, {(i + 1) * per}]}}'
                      for i in range(count))
    data = s.raw_safetensors("{" + header + "}")
    size = len(data) + count * per
    stream = VirtualFile(data, size)
    ctx = ScanContext(path="x", size=size, name="model.safetensors")
    started = time.perf_counter()
    scan_stream(stream, ctx)  # type: ignore[arg-type]
    assert ctx.findings == []
    assert stream.bytes_read < 256 * 1024
    assert time.perf_counter() - started < 1.0


def test_many_problems_are_summarised():
    header = {f"t{i}": s.tensor("F32", [1], 0, 4) for i in range(40)}
    findings = scan(s.raw_safetensors(header, b"\0" * 4))
    assert len(findings) == 21
    assert "more header problems" in findings[-1].message


def test_pickle_named_safetensors_is_flagged_by_dispatch(monkeypatch):
    data = s.pickle_named_safetensors()
    try:
        import mlwarden.artifacts.pickle.scanner  # noqa: F401
    except ImportError:
        # The pickle scanner is built separately; MW-FMT-002 is dispatch's job and comes before scanning.
        import mlwarden.scanning.dispatch as dispatch

        monkeypatch.setattr(dispatch, "scanner_for", lambda fmt: None)
    findings = scan(data)
    mismatch = [f for f in findings if f.rule_id == "MW-FMT-002"]
    assert mismatch and mismatch[0].evidence == ".safetensors -> pickle"
    assert "MW-ST-001" not in {f.rule_id for f in findings}
