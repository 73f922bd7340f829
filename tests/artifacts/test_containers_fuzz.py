"""Hypothesis: mutated and truncated real containers (zips, PyTorch files, tars, .npy headers, compressed
streams) never make a scanner raise or fail (MW-SCAN-002), and stay within the decompression budget."""

from __future__ import annotations

import io
import struct
from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlwarden.core.limits import Limits, MiB
from mlwarden.scanning.context import ScanContext, ScanOptions
from mlwarden.scanning.dispatch import scan_stream
from tests.samples import archives as arc
from tests.samples import numpy_samples as npys
from tests.samples import pytorch as pt

# Small limits so that a mutation that inflates a length or a ratio is cut off quickly.
FUZZ_LIMITS = Limits(max_decompressed_bytes=8 * MiB, bomb_check_min_bytes=256 * 1024, max_archive_members=200,
                     max_depth=4)
_SIGNATURES = (b"PK\x01\x02", b"PK\x03\x04", b"PK\x05\x06", b"PK\x06\x06", b"PK\x06\x07", b"\x93NUMPY",
               b"ustar", b"\x80\x02")


@cache
def seeds() -> tuple[tuple[str, bytes], ...]:
    text = b"hello model card\n" * 20
    payload = pt.malicious_pickle()
    return (
        ("a.zip", arc.zip_of({"a.txt": text, "d/b.npy": npys.numeric_npy()})),
        ("s.zip", arc.zip_of({"a.txt": text, "p.pkl": payload}, compression=0)),
        ("z64.zip", arc.zip64_of({"a.txt": text})),
        ("m.pt", pt.torch_zip_checkpoint()),
        ("l.pt", pt.torch_legacy_checkpoint()),
        ("ts.pt", pt.torchscript_archive()),
        ("lt.tar", pt.legacy_tar_checkpoint()),
        ("h.tar", arc.hostile_tar(payload)),
        ("a.npy", npys.numeric_npy()),
        ("o.npy", npys.object_npy()),
        ("s.npy", npys.numeric_variants()["structured"]),
        ("a.npz", npys.malicious_npz(compressed=True)),
        ("g.gz", arc.compressed(payload + text)["gzip"]),
        ("b.bz2", arc.compressed(payload + text)["bz2"]),
        ("x.xz", arc.compressed(payload + text)["xz"]),
        ("l.lzma", arc.compressed(payload + text)["lzma"]),
        ("z.joblib", arc.compressed(payload + text)["zlib"]),
    )


def scan_must_not_fail(data: bytes, name: str, format_hint: str | None = None) -> None:
    ctx = ScanContext(path="fuzz", size=len(data), name=name, options=ScanOptions(limits=FUZZ_LIMITS))
    scan_stream(io.BytesIO(data), ctx, format_hint=format_hint)
    failures = [f.message for f in ctx.findings if f.rule_id == "MW-SCAN-002"]
    assert not failures, failures
    assert ctx.budget.decompressed_bytes <= FUZZ_LIMITS.max_decompressed_bytes + 2 * MiB
    assert len(ctx.findings) < 1000


@st.composite
def mutated_container(draw: st.DrawFn) -> tuple[str, bytes]:
    name, original = draw(st.sampled_from(seeds()))
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["field", "flip", "truncate", "insert", "delete"]))
        if not data:
            break
        if action == "field":
            # Overwrite a length/offset/flag field near a record signature with a hostile value.
            anchors = [i for sig in _SIGNATURES for i in range(len(data)) if data.startswith(sig, i)]
            base = draw(st.sampled_from(anchors)) if anchors else 0
            at = min(len(data) - 1, base + draw(st.integers(0, 48)))
            value = draw(st.sampled_from([0, 1, 0xFF, 0xFFFF, 0xFFFFFFFF, 0x7FFFFFFF, len(data), 2**31]))
            width = draw(st.sampled_from([1, 2, 4]))
            packed = (value & ((1 << (8 * width)) - 1)).to_bytes(width, "little")
            data[at:at + width] = packed
        elif action == "flip":
            at = draw(st.integers(0, len(data) - 1))
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif action == "truncate":
            del data[draw(st.integers(0, len(data) - 1)):]
        elif action == "insert":
            at = draw(st.integers(0, len(data)))
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        else:
            at = draw(st.integers(0, len(data) - 1))
            del data[at:at + draw(st.integers(1, 32))]
    return name, bytes(data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_container())
def test_mutated_containers_never_fail(sample):
    name, data = sample
    scan_must_not_fail(data, name)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["zip", "tar", "compressed", "npy", "torch-legacy"]), st.binary(max_size=2048))
def test_random_bytes_given_to_each_container_scanner(format_hint, data):
    scan_must_not_fail(data, "x.bin", format_hint=format_hint)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(seeds()), st.integers(0, 4096))
def test_every_truncation_point(seed, cut):
    name, data = seed
    scan_must_not_fail(data[:cut % (len(data) + 1)], name)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.sampled_from([(1, 0), (2, 0), (3, 0)]), st.binary(max_size=64))
def test_random_npy_headers(header, version, body):
    scan_must_not_fail(npys.raw_npy(header, version=version, data=body), "a.npy")


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["descr", "fortran_order", "shape", "x"]),
                       st.recursive(st.none() | st.booleans() | st.integers(-5, 10**20) | st.text(max_size=8),
                                    lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner),
                                    max_leaves=8)),
       st.binary(max_size=64))
def test_structured_npy_headers(fields, body):
    scan_must_not_fail(npys.raw_npy(repr(fields).encode() + b"\n", data=body), "a.npy")


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1), st.integers(0, 2**32 - 1))
def test_hostile_zip64_end_record(count, cd_size, cd_offset):
    base = arc.zip64_of({"a.txt": b"x" * 50})
    record_at = base.rfind(b"PK\x06\x06")
    data = bytearray(base)
    struct.pack_into("<QQQ", data, record_at + 32, count, cd_size, cd_offset)
    scan_must_not_fail(bytes(data), "z.zip")
