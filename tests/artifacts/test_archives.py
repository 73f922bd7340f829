"""Zip, tar and compressed-stream scanning through the real entry point, including the structural tricks used
against scanners (bad CRCs, encryption flags, overlaps, hidden members, bombs, traversal, links)."""

from __future__ import annotations

import importlib.util
import io
import pickle
import random
import struct
import zipfile

import pytest

from mlwarden.artifacts.archives import path_escape
from mlwarden.artifacts.zipreader import read_directory
from mlwarden.core.findings import Finding
from mlwarden.core.limits import DEFAULT_LIMITS, Limits, MiB
from mlwarden.scanning.context import ScanContext, ScanOptions
from mlwarden.scanning.dispatch import scan_stream
from tests.samples import archives as arc
from tests.samples.findings import rules, serious, system_calls
from tests.samples.pytorch import malicious_pickle

PAYLOAD = malicious_pickle()
BENIGN_PICKLE = pickle.dumps({"lr": 0.1, "epochs": [1, 2, 3]}, protocol=4)


def scan(data: bytes, name: str = "archive.zip", *, limits: Limits | None = None,
         format_hint: str | None = None) -> tuple[str | None, list[Finding], ScanContext]:
    options = ScanOptions(limits=limits) if limits else ScanOptions()
    ctx = ScanContext(path="sample", size=len(data), name=name, options=options)
    fmt = scan_stream(io.BytesIO(data), ctx, format_hint=format_hint)
    return fmt, ctx.findings, ctx


def no_scanner_failure(findings: list[Finding]) -> None:
    assert "MW-SCAN-002" not in rules(findings), [f.message for f in findings]


# --- zip: benign ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2,
                                         zipfile.ZIP_LZMA])
def test_benign_zip(compression):
    data = arc.zip_of({"readme.txt": b"a model card\n", "dir/notes.md": b"# notes\n"}, compression=compression)
    fmt, findings, _ = scan(data)
    assert fmt == "zip"
    assert serious(findings) == []


def test_empty_zip():
    data = arc.zip_of({})
    fmt, findings, _ = scan(data)
    assert fmt == "zip" and findings == []


def test_zip64_records_are_read():
    _, findings, _ = scan(arc.zip64_of({"p.pkl": PAYLOAD, "t.txt": b"text"}))
    assert system_calls(findings)
    assert "MW-ARC-003" not in rules(findings)


def test_directory_parser_on_zip64_and_plain():
    for data in (arc.zip64_of({"a.txt": b"x", "b.txt": b"y"}), arc.zip_of({"a.txt": b"x", "b.txt": b"y"})):
        directory = read_directory(io.BytesIO(data), len(data), DEFAULT_LIMITS)
        assert [m.name for m in directory.members] == ["a.txt", "b.txt"]
        assert directory.irregularities == []
        assert all(m.data_offset is not None for m in directory.members)


# --- zip: payloads and tricks ----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["stored", "deflate", "bzip2", "lzma"])
def test_payload_found_with_every_method(method):
    _, findings, _ = scan(arc.zip_with_methods(PAYLOAD)[method])
    assert system_calls(findings)


def test_bad_crc_and_encryption_flag_are_reported_and_ignored():
    base = arc.zip_of({"p.pkl": PAYLOAD})
    for data, evidence in ((arc.with_bad_crc(base, "p.pkl"), "bad CRC"),
                           (arc.with_encryption_flag(base, "p.pkl"), "encryption flag")):
        _, findings, _ = scan(data)
        assert any(f.rule_id == "MW-ARC-003" and f.evidence == evidence and f.location.member == "p.pkl"
                   for f in findings)
        assert system_calls(findings)


def test_nested_zip():
    data = arc.nested_zip(arc.zip_of({"p.pkl": PAYLOAD}), levels=2)
    _, findings, _ = scan(data)
    hits = system_calls(findings)
    assert hits and hits[0].location.member == "inner.zip!inner.zip!p.pkl"


def test_nesting_beyond_the_depth_limit():
    data = arc.nested_zip(arc.zip_of({"t.txt": b"deep"}), levels=5)
    _, findings, _ = scan(data, limits=Limits(max_depth=3))
    assert "MW-ARC-004" in rules(findings)
    no_scanner_failure(findings)


def test_traversal_and_symlink_members():
    _, findings, _ = scan(arc.traversal_zip(PAYLOAD))
    assert any(f.rule_id == "MW-ARC-001" and f.evidence == "../evil.pkl" for f in findings)
    link = [f for f in findings if f.rule_id == "MW-ARC-002"]
    assert link and link[0].evidence == "ok/link -> /etc/passwd"
    assert system_calls(findings)  # the traversing member's content is scanned too


def test_backslash_and_drive_paths():
    _, findings, _ = scan(arc.backslash_traversal_zip())
    escaped = {f.evidence for f in findings if f.rule_id == "MW-ARC-001"}
    assert escaped == {"..\\..\\evil.txt", "C:/Windows/evil.txt", "/abs/evil.txt"}


@pytest.mark.parametrize("name, escapes", [
    ("a/b.txt", False), ("dir\\file.txt", False), ("..", True), ("a/../../b", True), ("/etc/x", True),
    ("\\\\server\\share", True), ("c:evil", True), ("a..b/c", False), ("ok\x00.txt", True),
])
def test_path_escape(name, escapes):
    assert (path_escape(name) is not None) is escapes


def test_overlapping_members_are_reported_and_scanned_once():
    _, findings, _ = scan(arc.overlapping_zip(PAYLOAD))
    assert any(f.rule_id == "MW-ARC-003" and f.evidence == "overlapping members" for f in findings)
    assert len(system_calls(findings)) == 1


def test_duplicate_names():
    _, findings, _ = scan(arc.duplicate_names_zip(BENIGN_PICKLE, PAYLOAD))
    assert any(f.rule_id == "MW-ARC-003" and (f.evidence or "").startswith("duplicate") for f in findings)
    assert system_calls(findings)


def test_member_hidden_from_the_central_directory():
    _, findings, _ = scan(arc.hidden_member_zip(PAYLOAD))
    assert any(f.rule_id == "MW-ARC-003" and f.evidence == "unlisted local headers" for f in findings)
    assert system_calls(findings)


def test_zip_without_central_directory():
    data = arc.without_central_directory(arc.zip_of({"a.txt": b"hello", "p.pkl": PAYLOAD}))
    fmt, findings, _ = scan(data)
    assert fmt == "zip"
    assert any(f.rule_id == "MW-ARC-003" and "walking local headers" in f.message for f in findings)
    assert system_calls(findings)


def test_unparseable_zip_is_unscannable():
    _, findings, _ = scan(b"PK\x03\x04" + b"\xff" * 10)
    assert rules(findings) == {"MW-FMT-001"}


def test_zip_with_prepended_data():
    data = arc.with_prepended_data(arc.zip_of({"p.pkl": PAYLOAD}))
    _, findings, _ = scan(data, format_hint="zip")
    assert system_calls(findings)
    no_scanner_failure(findings)


def test_pickle_zip_polyglot_reaches_the_zip_part():
    data = BENIGN_PICKLE + arc.zip_of({"p.pkl": PAYLOAD})
    _, findings, _ = scan(data, name="model.pkl")
    assert system_calls(findings)


def test_shifted_offsets_in_a_zip_are_irregular():
    inner = arc.zip_of({"a.txt": b"hello"})
    data = inner[:4] + inner  # starts with a local header, but every offset is off by four bytes
    _, findings, _ = scan(data)
    assert any(f.rule_id == "MW-ARC-003" and "shifted" in f.message for f in findings)


def test_unsupported_method_is_unscannable_for_that_member():
    data = bytearray(arc.zip_of({"p.pkl": PAYLOAD}, compression=zipfile.ZIP_STORED))
    for central, _, local in arc.central_entries(bytes(data)):
        struct.pack_into("<H", data, central + 10, 9)  # deflate64
        struct.pack_into("<H", data, local + 8, 9)
    _, findings, _ = scan(bytes(data))
    assert any(f.rule_id == "MW-FMT-001" and f.evidence == "deflate64" for f in findings)


# --- zip: bombs and limits -------------------------------------------------------------------------------------

LOW_LIMITS = Limits(bomb_check_min_bytes=1 * MiB, max_decompressed_bytes=64 * MiB, max_compression_ratio=200)


def test_zip_bomb_by_declared_ratio():
    _, findings, ctx = scan(arc.zip_bomb(32), limits=LOW_LIMITS)
    assert any(f.rule_id == "MW-ARC-004" and f.location.member == "zeros.bin" for f in findings)
    assert ctx.budget.decompressed_bytes == 0  # refused from the declared sizes, never expanded


def test_zip_bomb_with_a_lying_size_is_bounded_by_the_declared_size():
    _, findings, ctx = scan(arc.lying_size_bomb(8), limits=LOW_LIMITS)
    assert ctx.budget.decompressed_bytes <= 1000
    assert any(f.rule_id == "MW-ARC-003" and f.evidence == "bad CRC" for f in findings)


def test_zip_bomb_by_actual_ratio():
    data = bytearray(arc.zip_bomb(8))
    for central, _, _ in arc.central_entries(bytes(data)):
        struct.pack_into("<I", data, central + 20, 4 * MiB)  # compressed size claims a modest ratio
    _, findings, ctx = scan(bytes(data), limits=Limits(bomb_check_min_bytes=64 * 1024, max_compression_ratio=50))
    no_scanner_failure(findings)
    assert ctx.budget.decompressed_bytes <= 8 * MiB


def test_total_decompression_budget():
    # Pickles are read whole by their scanner, so every member really is inflated (random bytes: ratio ~1).
    blob = __import__("pickle").dumps(__import__("random").Random(0).randbytes(2 * MiB), protocol=4)
    members = {f"m{i}.pkl": blob for i in range(6)}
    data = arc.zip_of(members)
    _, findings, ctx = scan(data, limits=Limits(max_decompressed_bytes=5 * MiB))
    assert "MW-ARC-004" in rules(findings)
    assert ctx.budget.decompressed_bytes <= 5 * MiB + 1 * MiB
    no_scanner_failure(findings)


def test_member_count_limit():
    data = arc.zip_of({f"f{i}.txt": b"x" for i in range(30)})
    _, findings, _ = scan(data, limits=Limits(max_archive_members=10))
    assert "MW-ARC-004" in rules(findings)


def test_many_irregular_members_are_summed_up():
    data = arc.zip_of({f"../f{i}.txt": b"x" for i in range(40)})
    _, findings, _ = scan(data)
    escapes = [f for f in findings if f.rule_id == "MW-ARC-001"]
    assert len(escapes) == 21 and escapes[-1].evidence == "40 members"


# --- keras / npz layouts ------------------------------------------------------------------------------------


def test_keras_zip_members_are_scanned_by_content():
    if importlib.util.find_spec("mlwarden.artifacts.keras") is None:
        pytest.skip("keras scanners not present yet")
    import h5py

    weights = io.BytesIO()
    with h5py.File(weights, "w") as h5:
        h5.create_dataset("vars/0", data=[1.0, 2.0])
    data = arc.zip_of({"config.json": b'{"module": "keras", "class_name": "Sequential", "config": {}}',
                       "metadata.json": b'{"keras_version": "3.0.0"}', "model.weights.h5": weights.getvalue()})
    _, findings, _ = scan(data, name="model.keras")
    no_scanner_failure(findings)


# --- tar -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["PAX", "GNU", "USTAR"])
def test_benign_tar(fmt):
    import tarfile

    data = arc.tar_of({"model/readme.txt": b"hello\n", "model/config.yaml": b"a: 1\n"},
                      fmt=getattr(tarfile, f"{fmt}_FORMAT"))
    found, findings, _ = scan(data, name="model.tar")
    assert found == "tar"
    assert serious(findings) == []


def test_hostile_tar():
    _, findings, _ = scan(arc.hostile_tar(PAYLOAD), name="model.tar")
    assert {f.evidence for f in findings if f.rule_id == "MW-ARC-001"} == {"../../evil.pkl", "/etc/cron.d/evil"}
    links = {f.evidence for f in findings if f.rule_id == "MW-ARC-002"}
    assert links == {"model/link -> /etc/passwd", "model/hard -> ../outside", "model/dev"}
    assert system_calls(findings)


def test_truncated_tar():
    data = arc.tar_of({"a.txt": b"a" * 3000, "p.pkl": PAYLOAD})
    _, findings, _ = scan(data[:1500], name="m.tar")
    assert "MW-FMT-001" in rules(findings)
    no_scanner_failure(findings)


def test_tar_header_limit():
    import tarfile

    data = arc.tar_of({"x" * 300: b"long name"}, fmt=tarfile.GNU_FORMAT)
    _, findings, _ = scan(data, name="m.tar", limits=Limits(max_header_bytes=100))
    assert "MW-FMT-001" in rules(findings)
    no_scanner_failure(findings)


# --- compressed streams ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["gzip", "bz2", "xz", "lzma", "zlib"])
def test_compressed_payload(kind):
    fmt, findings, _ = scan(arc.compressed(PAYLOAD)[kind], name="model.bin")
    assert fmt == "compressed"
    hits = system_calls(findings)
    assert hits and hits[0].location.member == f"<{kind}>"


@pytest.mark.parametrize("kind", ["gzip", "bz2", "xz", "lzma", "zlib"])
def test_compressed_benign(kind):
    _, findings, _ = scan(arc.compressed(BENIGN_PICKLE)[kind], name="model.bin")
    assert serious(findings) == []


@pytest.mark.parametrize("kind", ["gzip", "bz2", "xz", "lzma", "zlib"])
def test_truncated_compressed_stream_scans_what_it_has(kind):
    # bz2 decodes whole 900 kB blocks: the payload must sit in a block that ends before the cut.
    filler = random.Random(0).randbytes(1_000_000) if kind == "bz2" else b"\x00" * 4000
    whole = arc.compressed(PAYLOAD + filler)[kind]
    _, findings, _ = scan(whole[:len(whole) - 12], name="model.bin")
    assert system_calls(findings)
    assert any(f.rule_id == "MW-FMT-001" and "truncated" in f.message for f in findings)


def test_multi_member_gzip_is_read_to_the_end():
    _, findings, _ = scan(arc.multi_member_gzip(PAYLOAD), name="model.gz")
    assert system_calls(findings)


def test_compression_bomb():
    _, findings, ctx = scan(arc.compression_bomb(32), name="model.gz", limits=LOW_LIMITS)
    assert any(f.rule_id == "MW-ARC-004" for f in findings)
    assert ctx.budget.decompressed_bytes < 4 * MiB


def test_corrupt_compressed_stream():
    data = bytearray(arc.compressed(PAYLOAD + bytes(range(256)) * 40)["bz2"])
    data[40:60] = b"\xff" * 20
    _, findings, _ = scan(bytes(data), name="model.bin")
    assert "MW-FMT-001" in rules(findings)
    no_scanner_failure(findings)


@pytest.mark.parametrize("kind, magic", [("lz4", b"\x04\x22\x4d\x18"), ("zstd", b"\x28\xb5\x2f\xfd")])
def test_unsupported_compression_is_reported(kind, magic):
    module = {"lz4": "lz4.frame", "zstd": "compression.zstd"}[kind]
    try:
        installed = importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        installed = False
    if installed:
        pytest.skip(f"{kind} library installed")
    _, findings, _ = scan(magic + b"\x00" * 20, name="model.bin")
    assert any(f.rule_id == "MW-FMT-001" and f"cannot decompress {kind}: unsupported" in f.message
               for f in findings)


def test_gzipped_tar():
    data = arc.compressed(arc.hostile_tar(PAYLOAD))["gzip"]
    _, findings, _ = scan(data, name="model.tar.gz")
    assert any(f.rule_id == "MW-ARC-001" and f.location.member == "<gzip>!../../evil.pkl" for f in findings)
    assert system_calls(findings)


def test_stored_nested_zip_is_not_an_ambiguous_end_record():
    inner = arc.zip_of({"weights.npy": b"\x93NUMPY\x01\x00v\x00" + b"{'descr': '<f4', 'fortran_order': False, "
                        b"'shape': (1,), }".ljust(117) + b"\n" + b"\x00" * 4})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as outer:
        outer.writestr("readme.txt", "nested archive")
        outer.writestr("inner.zip", inner)
    _, findings, _ = scan(buf.getvalue())
    assert "MW-ARC-003" not in rules(findings), findings
