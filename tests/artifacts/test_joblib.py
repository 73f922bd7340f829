"""joblib files: NumpyPickler writes array bytes inside the pickle stream; the analyzer must skip exactly them and
keep analysing what follows, also through the compressed variants (decompressed by the archives scanner)."""

from __future__ import annotations

import io
import os
import pickle

import numpy as np
import pytest

from mlwarden.artifacts.pickle import analyze_pickle
from mlwarden.artifacts.pickle import scanner as scanner_module
from mlwarden.core.findings import Severity
from mlwarden.scanning.context import ScanContext
from mlwarden.scanning.dispatch import scan_stream
from tests.samples import pickles as samples

joblib = pytest.importorskip("joblib")

COMPRESSORS = ["zlib", "gzip", "bz2", "xz", "lzma"]


def scan(data: bytes, name: str = "model.joblib") -> ScanContext:
    ctx = ScanContext(path="x", size=len(data), name=name)
    scan_stream(io.BytesIO(data), ctx)
    return ctx


def serious(ctx: ScanContext) -> list[tuple[str, str | None, str]]:
    return [(f.rule_id, f.evidence, f.message) for f in ctx.findings if f.severity.rank >= Severity.MEDIUM.rank]


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_arrays_of_every_layout_are_skipped_exactly(protocol):
    data = samples.joblib_dump(samples.joblib_arrays(), protocol=protocol)
    assert len(data) > 1_600_000  # the large array is inline
    ctx = scan(data)
    assert serious(ctx) == []
    summary = analyze_pickle(data, ScanContext(path="x", size=len(data)))
    assert summary.complete and summary.end_offset == len(data)
    assert summary.joblib_arrays == len(samples.joblib_arrays())


def test_payload_after_the_arrays_is_found():
    data = samples.joblib_dump(samples.ModelWithPayload())
    ctx = scan(data)
    (payload,) = [f for f in ctx.findings if f.rule_id == "MW-PKL-001"]
    assert payload.evidence in ("posix.system", "nt.system", "os.system")
    # The payload comes after both arrays' bytes in the stream.
    array_bytes = np.arange(64, dtype=np.float64).tobytes()
    assert payload.location.offset is not None and payload.location.offset > data.index(array_bytes) + 512


def test_payload_between_arrays_in_a_list():
    data = samples.joblib_dump([np.arange(1000.0), samples.SystemCall(), np.ones((30, 30))])
    ctx = scan(data)
    assert "MW-PKL-001" in [f.rule_id for f in ctx.findings]
    assert [f.rule_id for f in ctx.findings if f.rule_id == "MW-PKL-006"] == []


def test_object_array_nested_pickle_is_analysed():
    hostile = np.empty(2, dtype=object)
    hostile[0] = samples.SystemCall()
    hostile[1] = "x"
    data = samples.joblib_dump({"before": np.arange(5), "objects": hostile, "after": np.arange(7)})
    ctx = scan(data)
    assert "MW-PKL-001" in [f.rule_id for f in ctx.findings]
    summary = analyze_pickle(data, ScanContext(path="x", size=len(data)))
    assert summary.complete and summary.joblib_arrays == 3


class _NoTell(io.RawIOBase):
    """A write-only stream without tell(): joblib then writes no alignment padding (its pre-1.2 layout)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[no-untyped-def, override]
        self.parts.append(bytes(data))
        return len(data)

    def tell(self) -> int:
        raise io.UnsupportedOperation("tell")


def test_unaligned_layout_without_padding_byte():
    from joblib.numpy_pickle import NumpyPickler

    sink = _NoTell()
    NumpyPickler(sink, protocol=4).dump({"a": np.arange(10), "b": np.ones(3)})
    data = b"".join(sink.parts)
    summary = analyze_pickle(data, ctx := ScanContext(path="x", size=len(data)))
    assert ctx.findings == [] and summary.complete and summary.joblib_arrays == 2
    # Unaligned array data read as opcodes by pickle.load is noise, not findings.
    values = {f"a{i}": np.frombuffer(bytes([code]) * 16, dtype=np.uint8) for i, code in
              enumerate(b"QR\x82\x93bo\x81c(")}
    sink = _NoTell()
    NumpyPickler(sink, protocol=4).dump(values)
    data = b"".join(sink.parts)
    summary = analyze_pickle(data, ctx := ScanContext(path="x", size=len(data)))
    assert ctx.findings == [] and summary.complete


def _wrapper_pickle(dtype_args: bytes, shape: bytes, tail: bytes) -> bytes:
    """A hand-written NumpyArrayWrapper with the given numpy.dtype(...) arguments and shape."""
    wrapper = samples.global0("joblib.numpy_pickle", "NumpyArrayWrapper")
    state = (b"}(" + samples.short_binunicode("shape") + shape + samples.short_binunicode("order")
             + samples.short_binunicode("C") + samples.short_binunicode("dtype")
             + samples.global0("numpy", "dtype") + dtype_args + b"R" + samples.short_binunicode("subclass")
             + samples.global0("numpy", "ndarray") + b"u")
    return b"\x80\x04" + wrapper + b")\x81" + state + b"b" + tail


def test_undeterminable_array_size_is_reported_not_guessed():
    data = _wrapper_pickle(b"(" + samples.short_binunicode("T16") + b"\x89\x88t", b"K\x03\x85", b"\x00" * 48 + b".")
    ctx = ScanContext(path="x", size=len(data))
    summary = analyze_pickle(data, ctx)
    assert [f.rule_id for f in ctx.findings] == ["MW-PKL-006"] and not summary.complete
    assert "cannot be determined" in ctx.findings[0].message


def test_array_claiming_more_bytes_than_the_stream_has():
    data = _wrapper_pickle(b"(" + samples.short_binunicode("f8") + b"\x89\x88t", b"J\x00\x00\x00\x10\x85",
                           b"\x00" * 64 + b".")
    ctx = ScanContext(path="x", size=len(data))
    analyze_pickle(data, ctx)
    assert [f.rule_id for f in ctx.findings] == ["MW-PKL-006"]
    assert "truncated" in ctx.findings[0].message


def test_payload_hidden_in_array_bytes_is_found_for_pickle_load():
    # joblib.load reads these bytes as array data, but pickle.load on the same file executes them as opcodes.
    raw = b"cos\nsystem\n(S'true'\ntR." + b" " * 9
    data = _wrapper_pickle(b"(" + samples.short_binunicode("u1") + b"\x89\x88t", b"K" + bytes([len(raw)]) + b"\x85",
                           raw + b".")
    ctx = ScanContext(path="x", size=len(data))
    summary = analyze_pickle(data, ctx)
    assert summary.complete and summary.joblib_arrays == 1
    (hidden,) = [f for f in ctx.findings if f.rule_id == "MW-PKL-001"]
    assert hidden.evidence == "os.system" and "pickle.load" in hidden.message


def test_payload_hidden_behind_a_crafted_padding_byte():
    # The padding-length byte is 'c' (99): joblib skips 99 bytes, pickle.load reads a GLOBAL there.
    hidden = b"os\nsystem\n(S'true'\ntR."
    body = hidden + b"\xff" * (99 - len(hidden))
    dtype_args = b"(" + samples.short_binunicode("u1") + b"\x89\x88t"
    wrapper = _wrapper_pickle(dtype_args, b"K\x02\x85", b"")
    state_end = wrapper.rindex(b"u")
    data = wrapper[:state_end] + samples.short_binunicode("numpy_array_alignment_bytes") + b"K\x10" \
        + wrapper[state_end:] + b"c" + body + b"\x00\x00."
    for scanned in (scan(data), ScanContext(path="x", size=len(data))):
        if not scanned.findings:
            analyze_pickle(data, scanned)
        assert ("MW-PKL-001", "os.system") in [(f.rule_id, f.evidence) for f in scanned.findings]


@pytest.mark.parametrize("compressor", COMPRESSORS)
def test_compressed_joblib_files(compressor):
    benign = samples.joblib_dump(samples.joblib_arrays(), compress=(compressor, 3))
    assert serious(scan(benign)) == []
    hostile = samples.joblib_dump(samples.ModelWithPayload(), compress=(compressor, 3))
    assert "MW-PKL-001" in [f.rule_id for f in scan(hostile).findings]


def test_large_arrays_are_seeked_over_not_read(monkeypatch):
    monkeypatch.setattr(scanner_module, "CHUNK_BYTES", 64 * 1024)
    data = samples.joblib_dump({"big": np.zeros(1_000_000), "hook": samples.SystemCall(), "tail": np.ones(4)})

    class CountingStream(io.BytesIO):
        read_bytes = 0

        def read(self, size: int | None = -1) -> bytes:
            chunk = super().read(size)
            CountingStream.read_bytes += len(chunk)
            return chunk

    stream = CountingStream(data)
    ctx = ScanContext(path="x", size=len(data))
    summary = scanner_module.scan_pickle_stream(stream, ctx)
    assert "MW-PKL-001" in [f.rule_id for f in ctx.findings]
    assert summary.complete
    assert CountingStream.read_bytes < len(data) // 10


def test_plain_pickle_of_numpy_is_not_joblib():
    data = pickle.dumps({"a": np.arange(5)}, protocol=4)
    summary = analyze_pickle(data, ScanContext(path="x", size=len(data)))
    assert summary.joblib_arrays == 0 and summary.complete


def test_system_call_sample_is_never_loaded():
    # Guard: the payload helper pickles os.system, never calls it.
    assert samples.SystemCall().__reduce__()[0] is os.system
