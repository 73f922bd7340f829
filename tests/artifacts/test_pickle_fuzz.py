"""Hypothesis tests for the pickle analyzer: hostile bytes never make it raise or hang, truncation never hides
what came before the cut, and streaming in chunks gives the same answer as one pass."""

from __future__ import annotations

import io
import pickle
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlwarden.artifacts.pickle import analyze_pickle, looks_like_pickle
from mlwarden.artifacts.pickle import scanner as scanner_module
from mlwarden.core.rules import CATALOGUE
from mlwarden.scanning.context import ScanContext
from mlwarden.scanning.dispatch import scan_stream
from tests.samples import pickles as samples

SEEDS = [data for _label, data in samples.benign_pickles()[:6]] + [
    samples.global_os_system_p0(), samples.stack_global_from_memo(), samples.getattr_import_chain(),
    samples.nested_pickle_in_bytes(), samples.payload_in_second_pickle(), samples.torch_storage_pid(),
    samples.joblib_dump({"a": samples.np.arange(20), "b": samples.np.array(["x", None], dtype=object)}),
]

# Malicious pickles and the offset just past their first dangerous import: any cut after it keeps the finding.
TRUNCATABLE = [
    (samples.global_os_system_p0(), len(b"cos\nsystem\n")),
    (samples.getattr_import_chain(), len(b"cbuiltins\ngetattr\n")),
    (samples.stack_global_from_memo(), samples.stack_global_from_memo().index(b"\x93") + 1),
    (pickle.dumps(samples.SystemCall(), protocol=2), pickle.dumps(samples.SystemCall(), protocol=2).index(b"system\n") + 7),
]

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _run(data: bytes) -> ScanContext:
    ctx = ScanContext(path="x", size=len(data), name="fuzz.pkl")
    started = time.perf_counter()
    analyze_pickle(data, ctx)
    assert time.perf_counter() - started < 5.0
    for finding in ctx.findings:
        assert finding.rule_id in CATALOGUE
    return ctx


@FUZZ
@given(st.binary(max_size=2048))
def test_random_bytes_never_raise(data):
    _run(data)
    assert isinstance(looks_like_pickle(data), bool)


@FUZZ
@given(st.binary(max_size=512))
def test_random_bytes_after_a_protocol_header(data):
    _run(b"\x80\x04" + data)
    ctx = ScanContext(path="x", size=len(data) + 2, name="fuzz.pkl")
    scan_stream(io.BytesIO(b"\x80\x04" + data), ctx)
    assert "MW-SCAN-002" not in [f.rule_id for f in ctx.findings]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        if not data:
            break
        kind = draw(st.sampled_from(["flip", "insert", "delete", "set"]))
        at = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=9))
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 9))]
        else:
            data[at] = draw(st.integers(0, 255))
    return bytes(data)


@FUZZ
@given(mutated())
def test_mutated_pickles_never_raise(data):
    _run(data)
    ctx = ScanContext(path="x", size=len(data), name="fuzz.joblib")
    scan_stream(io.BytesIO(data), ctx)
    assert "MW-SCAN-002" not in [f.rule_id for f in ctx.findings]


@FUZZ
@given(st.sampled_from(TRUNCATABLE), st.data())
def test_truncation_keeps_the_import_before_the_cut(sample, draw):
    data, after_import = sample
    cut = draw.draw(st.integers(after_import, len(data) - 1))
    ctx = _run(data[:cut])
    assert "MW-PKL-001" in [f.rule_id for f in ctx.findings]
    assert "MW-PKL-006" in [f.rule_id for f in ctx.findings]


@FUZZ
@given(st.one_of(mutated(), st.sampled_from(SEEDS)), st.integers(min_value=9, max_value=300))
def test_streaming_matches_one_pass(data, chunk):
    whole = ScanContext(path="x", size=len(data))
    expected = analyze_pickle(data, whole)
    original = scanner_module.CHUNK_BYTES
    scanner_module.CHUNK_BYTES = chunk
    try:
        streamed = ScanContext(path="x", size=len(data))
        summary = scanner_module.scan_pickle_stream(io.BytesIO(data), streamed)
    finally:
        scanner_module.CHUNK_BYTES = original

    def keys(ctx: ScanContext) -> list[tuple[str, str | None, int | None]]:
        return sorted((f.rule_id, f.evidence, f.location.offset) for f in ctx.findings)

    assert keys(streamed) == keys(whole)
    assert (summary.pickles, summary.complete) == (expected.pickles, expected.complete)
