"""Loading OSV records: zip, folder of JSON and YAML, JSON lines (plain and gzip), single JSON; bounded and
tolerant of broken input; user errors are one-line InputErrors."""

import gzip
import json
import os
import zipfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlwarden.core.errors import InputError
from mlwarden.supply.advisories.importer import (
    ImportLimits,
    import_path,
    import_path_with_stats,
    iter_osv_records,
)
from mlwarden.supply.advisories.store import AdvisoryStore, ImportStats
from tests.samples.advisories import TINY_RECORD_COUNT, tiny_records, write_jsonl, write_zip

REPO_ROOT = Path(__file__).resolve().parents[3]
SNAPSHOT = REPO_ROOT.parent / "shared" / "advisories" / "pypi-osv.jsonl.gz"


@pytest.fixture()
def snapshot() -> Path:
    if not SNAPSHOT.is_file():
        pytest.skip("the shared PyPA OSV snapshot is not present")
    return SNAPSHOT


def ids(path: Path, **kwargs) -> list[str]:
    return sorted(r["id"] for r in iter_osv_records(path, **kwargs))


ALL_IDS = sorted(r["id"] for r in tiny_records())


def test_json_lines_plain_and_gzip(tmp_path):
    records = tiny_records()
    half = len(records) // 2
    plain = write_jsonl(records[:half], tmp_path / "a.jsonl")
    packed = write_jsonl(records[half:], tmp_path / "b.jsonl.gz", compress=True)
    assert ids(plain) + ids(packed) == sorted(r["id"] for r in records[:half]) + sorted(
        r["id"] for r in records[half:])
    meta = import_path(packed, tmp_path / "db.sqlite3")
    assert meta.record_count == len(records) - half


def test_zip_export(tmp_path):
    archive = write_zip(tiny_records(), tmp_path / "all.zip")
    with zipfile.ZipFile(archive, "a") as extra:
        extra.writestr("README.txt", "not a record")  # other members are ignored
        extra.writestr("nested/", "")
    assert ids(archive) == ALL_IDS
    meta = import_path(archive, tmp_path / "db.sqlite3")
    assert meta.record_count == TINY_RECORD_COUNT and meta.source == str(archive.resolve())


def test_folder_of_json_and_yaml(tmp_path):
    folder = tmp_path / "vulns"
    for index, record in enumerate(tiny_records()):
        sub = folder / record["affected"][0]["package"]["name"] if record.get("affected") else folder
        sub.mkdir(parents=True, exist_ok=True)
        if index % 2:
            (sub / f"{record['id']}.yaml").write_text(yaml.safe_dump(record))
        else:
            (sub / f"{record['id']}.json").write_text(json.dumps(record))
    (folder / "notes.md").write_text("# not a record")
    assert ids(folder) == ALL_IDS
    with AdvisoryStore.open(_import(folder, tmp_path)) as store:
        assert store.metadata().record_count == TINY_RECORD_COUNT


def _import(source: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "out" / "db.sqlite3"
    import_path(source, dest)
    return dest


def test_yaml_keeps_versions_and_times_as_written(tmp_path):
    # As in the PyPA advisory database: versions and times unquoted. A plain safe_load would make 1.10 the
    # float 1.1 and the times datetimes.
    (tmp_path / "PYSEC-2099-1.yaml").write_text(
        "id: PYSEC-2099-1\n"
        "modified: 2024-01-01T00:00:00Z\n"
        "affected:\n"
        "- package:\n    name: yaml-pkg\n    ecosystem: PyPI\n"
        "  ranges:\n  - type: ECOSYSTEM\n    events:\n    - introduced: 0\n    - fixed: 1.10\n"
        "  versions:\n  - 1.9\n  - 1.10.0\n  - 1.0\n")
    (record,) = iter_osv_records(tmp_path)
    assert record["modified"] == "2024-01-01T00:00:00Z"
    events = record["affected"][0]["ranges"][0]["events"]
    assert events == [{"introduced": "0"}, {"fixed": "1.10"}]
    assert record["affected"][0]["versions"] == ["1.9", "1.10.0", "1.0"]


def test_yaml_never_constructs_python_objects(tmp_path):
    (tmp_path / "evil.yaml").write_text("id: !!python/object/apply:os.system ['echo hacked']\nmodified: x\n")
    stats = ImportStats()
    assert list(iter_osv_records(tmp_path, stats=stats)) == []
    assert stats.skipped_records == 1


def test_single_json_document_with_one_record_or_a_list(tmp_path):
    records = tiny_records()
    one = tmp_path / "one.json"
    one.write_text(json.dumps(records[0]))
    many = tmp_path / "many.json"
    many.write_text(json.dumps(records))
    assert ids(one) == ["TEST-0001"]
    assert ids(many) == ALL_IDS


def test_content_is_sniffed_when_the_name_says_nothing(tmp_path):
    records = tiny_records()
    zipped = write_zip(records, tmp_path / "export.zip").rename(tmp_path / "export-download")
    lines = write_jsonl(records, tmp_path / "lines.jsonl").rename(tmp_path / "lines-data")
    packed = write_jsonl(records, tmp_path / "x.jsonl.gz", compress=True).rename(tmp_path / "packed")
    listed = tmp_path / "listed"
    listed.write_text(json.dumps(records))
    for path in (zipped, lines, packed, listed):
        assert ids(path) == ALL_IDS, path


def test_broken_entries_are_skipped_and_counted(tmp_path):
    good = tiny_records()
    lines = [json.dumps(good[0]), "{not json", "", json.dumps([1, 2]), json.dumps({"no": "id"}),
             "[" * 100_000, json.dumps(good[1]), "\xff\xfe garbage"]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogateescape")
    stats = ImportStats()
    assert [r["id"] for r in iter_osv_records(path, stats=stats)] == [good[0]["id"], good[1]["id"]]
    assert stats.skipped_records == 6  # the list [1, 2] counts as two non-records
    assert stats.problems and all(isinstance(p, str) for p in stats.problems)


def test_overlong_lines_and_files_are_skipped(tmp_path):
    limits = ImportLimits(max_record_bytes=2000)
    good = tiny_records()[0]
    path = tmp_path / "long.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "details": "x" * 10_000}) + "\n"
                    + json.dumps(good) + "\n")
    stats = ImportStats()
    assert len(list(iter_osv_records(path, stats=stats, limits=limits))) == 2
    assert stats.skipped_records == 1
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "big.json").write_text(json.dumps({**good, "details": "x" * 10_000}))
    (folder / "ok.json").write_text(json.dumps(good))
    stats = ImportStats()
    assert len(list(iter_osv_records(folder, stats=stats, limits=limits))) == 1
    assert stats.skipped_files == 1


def test_zip_bombs_and_broken_members_are_skipped(tmp_path):
    limits = ImportLimits(max_record_bytes=4 * 1024 * 1024, ratio_check_min_bytes=64 * 1024,
                          max_compression_ratio=50)
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as out:
        out.writestr("bomb.json", b" " * (3 * 1024 * 1024))  # compresses about a thousandfold
        out.writestr("huge.json", b" " * (5 * 1024 * 1024))  # over the per-record limit
        out.writestr("ok.json", json.dumps(tiny_records()[0]))
        out.writestr("junk.json", os.urandom(300))
    stats = ImportStats()
    assert ids(archive, stats=stats, limits=limits) == ["TEST-0001"]
    assert stats.skipped_files == 2 and stats.skipped_records == 1


def test_a_zip_with_a_bad_crc_skips_that_member(tmp_path):
    archive = write_zip(tiny_records()[:2], tmp_path / "crc.zip")
    data = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as zf:
        first = zf.infolist()[0]
    header = 30 + len(first.filename.encode()) + len(first.extra)
    data[first.header_offset + header + 2] ^= 0xFF  # corrupt compressed bytes of the first member
    archive.write_bytes(bytes(data))
    stats = ImportStats()
    records = list(iter_osv_records(archive, stats=stats))
    assert len(records) == 1 and stats.skipped_files + stats.skipped_records == 1


def test_too_many_zip_members_is_an_input_error(tmp_path):
    archive = write_zip(tiny_records(), tmp_path / "many.zip")
    with pytest.raises(InputError, match="members"):
        list(iter_osv_records(archive, limits=ImportLimits(max_files=3)))


def test_a_truncated_gzip_keeps_what_came_before(tmp_path):
    packed = gzip.compress("".join(json.dumps(r) + "\n" for r in tiny_records() * 50).encode())
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(packed[: len(packed) // 2])
    stats = ImportStats()
    records = list(iter_osv_records(path, stats=stats))
    assert 0 < len(records) < TINY_RECORD_COUNT * 50
    assert stats.skipped_files == 1


def test_links_in_a_folder_do_not_loop(tmp_path):
    folder = tmp_path / "vulns"
    folder.mkdir()
    (folder / "TEST-0001.json").write_text(json.dumps(tiny_records()[0]))
    try:
        (folder / "loop").symlink_to(folder, target_is_directory=True)
    except OSError:
        pytest.skip("symbolic links are not available here")
    assert ids(folder) == ["TEST-0001"]


@pytest.mark.parametrize("make, message", [
    (lambda p: p / "missing.zip", "does not exist"),
    (lambda p: _write(p / "picture.zip", b"\x89PNG\r\n\x1a\n" + b"\0" * 100), "not a readable zip"),
    (lambda p: _write(p / "notes", b"hello, these are notes"), "not OSV data"),
])
def test_user_errors_are_input_errors(tmp_path, make, message):
    with pytest.raises(InputError, match=message):
        list(iter_osv_records(make(tmp_path)))


@pytest.mark.parametrize("make", [
    lambda p: _mkdir(p / "empty"),
    lambda p: _write(p / "empty.jsonl", b""),
    lambda p: _write(p / "other.json", json.dumps({"name": "a package.json, not OSV"}).encode()),
])
def test_no_valid_record_is_an_input_error_and_writes_nothing(tmp_path, make):
    dest = tmp_path / "out" / "db.sqlite3"
    with pytest.raises(InputError, match="no valid OSV records"):
        import_path(make(tmp_path), dest)
    assert not dest.exists()


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


def test_import_path_reports_what_it_skipped(tmp_path):
    path = tmp_path / "some.jsonl"
    path.write_text(json.dumps(tiny_records()[0]) + "\nnot json\n")
    meta, stats = import_path_with_stats(path, tmp_path / "db.sqlite3")
    assert meta.record_count == 1 and meta.skipped_count == 1 and stats.skipped_records == 1


def test_import_of_the_real_snapshot(snapshot, tmp_path):
    meta = import_path(snapshot, tmp_path / "db.sqlite3")
    assert meta.record_count == 2661
    assert meta.withdrawn_count == 10
    assert meta.package_count == 664
    assert meta.skipped_count == 0
    assert meta.snapshot_date is not None and meta.snapshot_date.startswith("2024-10-10")
    with AdvisoryStore.open(tmp_path / "db.sqlite3") as store:
        assert any("CVE-2022-45907" in a.aliases for a in store.advisories_for("torch"))


_SUFFIXES = (".json", ".yaml", ".jsonl", ".jsonl.gz", ".zip", "")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=2000), suffix=st.sampled_from(_SUFFIXES))
def test_random_bytes_never_escape_as_anything_but_input_errors(tmp_path, data, suffix):
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    try:
        for record in iter_osv_records(path):
            assert isinstance(record, dict) and isinstance(record["id"], str)
    except InputError:
        pass


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(min_value=0, max_value=10_000), flip=st.integers(min_value=0, max_value=10_000),
       suffix=st.sampled_from((".zip", ".jsonl.gz", ".jsonl", ".json")))
def test_truncated_or_mutated_exports_never_crash(tmp_path, cut, flip, suffix):
    source = tmp_path / f"source{suffix}"
    records = tiny_records()
    if suffix == ".zip":
        write_zip(records, source)
    elif suffix == ".json":
        source.write_text(json.dumps(records))
    else:
        write_jsonl(records, source, compress=suffix.endswith(".gz"))
    data = bytearray(source.read_bytes())
    if data:
        data[flip % len(data)] ^= 0x5A
    target = tmp_path / f"mutated{suffix}"
    target.write_bytes(bytes(data[: len(data) - (cut % (len(data) + 1))]))
    try:
        list(iter_osv_records(target))
    except InputError:
        pass


def test_a_gzip_bomb_without_newlines_ends_within_the_budget(tmp_path):
    path = tmp_path / "zeros.jsonl.gz"
    path.write_bytes(gzip.compress(b"0" * (64 * 1024 * 1024), compresslevel=9))
    limits = ImportLimits(max_record_bytes=1024 * 1024, max_total_bytes=8 * 1024 * 1024)
    stats = ImportStats()
    assert list(iter_osv_records(path, stats=stats, limits=limits)) == []
    assert stats.skipped_records == 1 and stats.skipped_files == 1  # the overlong line, then the budget


def test_yaml_aliases_cannot_multiply_the_work(tmp_path):
    # 2,000 affected entries that all alias one 300-version list: 600,000 versions from a 200 KB file.
    versions = "[" + ", ".join(["1.0"] * 300) + "]"
    text = (f"v: &v {versions}\n"
            f"r: &r [{', '.join(['{type: ECOSYSTEM, events: [{introduced: 0}]}'] * 5)}]\n"
            "id: YAML-BOMB\nmodified: 2024-01-01T00:00:00Z\naffected:\n"
            + "".join(f"- {{package: {{name: p{i}, ecosystem: PyPI}}, ranges: *r, versions: *v}}\n"
                      for i in range(2000)))
    (tmp_path / "bomb.yaml").write_text(text)
    meta_dest = tmp_path / "db.sqlite3"
    with pytest.raises(InputError, match="no valid OSV records"):
        import_path(tmp_path / "bomb.yaml", meta_dest)
