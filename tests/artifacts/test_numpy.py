""".npy and .npz through the real entry point: numeric arrays are clean and their data is never read; object
arrays are MW-NPY-001 and their pickle is analysed; malformed headers are MW-FMT-001, never a crash."""

from __future__ import annotations

import io

import pytest

from mlwarden.artifacts.numpy_format import DtypeError, parse_descr
from mlwarden.core.findings import Finding
from mlwarden.scanning.context import ScanContext
from mlwarden.scanning.dispatch import scan_stream
from tests.samples import numpy_samples as npys
from tests.samples.archives import CountingReader
from tests.samples.findings import serious, system_calls


def scan(data: bytes, name: str = "array.npy", stream: io.BytesIO | None = None) -> tuple[str | None, list[Finding]]:
    ctx = ScanContext(path="sample", size=len(data), name=name)
    fmt = scan_stream(stream if stream is not None else io.BytesIO(data), ctx)
    return fmt, ctx.findings


def test_numeric_npy_is_clean():
    fmt, findings = scan(npys.numeric_npy())
    assert fmt == "npy"
    assert findings == []


@pytest.mark.parametrize("label", sorted(npys.numeric_variants()))
def test_numeric_variants_are_clean(label):
    fmt, findings = scan(npys.numeric_variants()[label])
    assert fmt == "npy"
    assert findings == []


def test_numeric_data_is_never_read():
    import numpy as np

    data = npys.npy_bytes(np.zeros(5_000_000, dtype=np.float32))
    stream = CountingReader(data)
    _, findings = scan(data, stream=stream)
    assert findings == []
    # 4 KiB to identify, the dispatcher's 64 KiB polyglot check at the end, the header: not the 20 MB of data.
    assert stream.bytes_read < 80_000


def test_object_array_with_payload():
    _, findings = scan(npys.object_npy())
    assert any(f.rule_id == "MW-NPY-001" for f in findings)
    hits = system_calls(findings)
    assert hits and hits[0].location.member == "<object array>"


def test_benign_object_array_is_only_npy_001():
    _, findings = scan(npys.benign_object_npy())
    assert {f.rule_id for f in serious(findings)} == {"MW-NPY-001"}


def test_structured_dtype_with_object_field():
    _, findings = scan(npys.structured_object_npy())
    assert any(f.rule_id == "MW-NPY-001" for f in findings)
    assert system_calls(findings)


@pytest.mark.parametrize("compressed", [False, True])
def test_benign_npz(compressed):
    fmt, findings = scan(npys.benign_npz(compressed=compressed), name="arrays.npz")
    assert fmt == "zip"
    assert serious(findings) == []


@pytest.mark.parametrize("compressed", [False, True])
def test_malicious_npz(compressed):
    _, findings = scan(npys.malicious_npz(compressed=compressed), name="arrays.npz")
    assert any(f.rule_id == "MW-NPY-001" and f.location.member == "meta.npy" for f in findings)
    hits = system_calls(findings)
    assert hits and hits[0].location.member == "meta.npy!<object array>"


@pytest.mark.parametrize("label", sorted(npys.malformed_npys()))
def test_malformed_headers_are_unscannable_not_crashes(label):
    _, findings = scan(npys.malformed_npys()[label])
    rules = {f.rule_id for f in findings}
    assert "MW-FMT-001" in rules
    assert "MW-SCAN-002" not in rules


def test_python2_long_suffix_is_accepted():
    _, findings = scan(npys.py2_long_header_npy())
    assert findings == []


@pytest.mark.parametrize("descr, itemsize, has_object", [
    ("<f4", 4, False), ("|b1", 1, False), ("<U10", 40, False), ("|S5", 5, False), ("|O", 8, True),
    ("<M8[ns]", 8, False), ("|V16", 16, False), ("float64", 8, False), ("object", 8, True),
    ([("a", "<f8"), ("b", "<i4", (2, 3))], 32, False),
    ([("a", "<f8"), ("nested", [("x", "|O"), ("y", "<i2")])], 18, True),
    ([(("title", "a"), "<f4")], 4, False),
])
def test_parse_descr(descr, itemsize, has_object):
    info = parse_descr(descr)
    assert (info.itemsize, info.has_object) == (itemsize, has_object)


@pytest.mark.parametrize("descr", ["<q7x", 5, [("a",)], [("a", "<f4", (-1,))], {"a": 1}, "", "<"])
def test_parse_descr_rejects(descr):
    with pytest.raises(DtypeError):
        parse_descr(descr)


def test_npz_array_data_is_never_read():
    import numpy as np

    data = npys.npz({"big": np.zeros(5_000_000, dtype=np.float32), "small": np.ones(3)}, compressed=False)
    stream = CountingReader(data)
    _, findings = scan(data, name="arrays.npz", stream=stream)
    assert serious(findings) == []
    assert stream.bytes_read < 400_000 < len(data) // 40
