"""Every registered scanner, fed random and mutated bytes through the real dispatcher, must fail closed with
findings, never crash (MW-SCAN-002 means a scanner raised something unexpected) and never hang."""

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlwarden.artifacts.registry import SCANNERS
from mlwarden.demo import demo_files
from mlwarden.scanning.context import ScanContext
from mlwarden.scanning.dispatch import scan_stream
from mlwarden.scanning.engine import scan_paths

SEEDS = [data for data in demo_files().values() if len(data) > 16]


def _scan(data: bytes, name: str, fmt: str | None = None) -> list:
    ctx = ScanContext(path="fuzz", size=len(data), name=name)
    scan_stream(io.BytesIO(data), ctx, format_hint=fmt)
    return ctx.findings


@pytest.mark.parametrize("fmt", sorted(SCANNERS))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=2048))
def test_random_bytes_never_crash_a_scanner(fmt, data):
    findings = _scan(data, "model.bin", fmt)
    assert not [f for f in findings if f.rule_id == "MW-SCAN-002"], findings


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(SEEDS), cut=st.integers(min_value=0, max_value=4096),
       flips=st.lists(st.tuples(st.integers(min_value=0, max_value=1 << 16), st.integers(0, 255)), max_size=8))
def test_truncated_and_mutated_artifacts_never_crash(seed, cut, flips):
    data = bytearray(seed[: max(1, len(seed) - cut)])
    for pos, value in flips:
        data[pos % len(data)] = value
    findings = _scan(bytes(data), "model.bin")
    assert not [f for f in findings if f.rule_id == "MW-SCAN-002"], findings


def test_hostile_folder_scan_reports_per_file_and_keeps_going(tmp_path):
    (tmp_path / "empty.pt").write_bytes(b"")
    (tmp_path / "random.bin").write_bytes(bytes(range(256)) * 64)
    (tmp_path / "truncated.pkl").write_bytes(b"\x80\x04\x95\xff\xff\xff\xff\xff\xff\xff\x7f\x8c\x02os")
    (tmp_path / "evil.pkl").write_bytes(b"cos\nsystem\n(S'true'\ntR.")
    report = scan_paths([tmp_path], jobs=1)
    rules = {(f.location.path.rsplit("/", 1)[-1], f.rule_id) for f in report.findings}
    assert ("evil.pkl", "MW-PKL-001") in rules
    assert any(name == "truncated.pkl" for name, _ in rules)
    assert not any(rule == "MW-SCAN-002" for _, rule in rules)
