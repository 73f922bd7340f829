"""The advisory store: building (atomic, compact, PyPI only), reading (by package, by id or alias), metadata."""

import sqlite3
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlwarden.core.errors import InputError
from mlwarden.supply.advisories.home import data_home, default_db_path
from mlwarden.supply.advisories.store import (
    SCHEMA_VERSION,
    AdvisoryStore,
    DbMetadata,
    ImportStats,
    MissingDatabaseError,
    advisory_from_osv,
    build_database,
)
from tests.samples.advisories import TINY_RECORD_COUNT, TINY_SNAPSHOT, build_tiny_db, tiny_records


@pytest.fixture()
def store(tmp_path):
    with AdvisoryStore.open(build_tiny_db(tmp_path)) as opened:
        yield opened


def test_metadata_describes_the_build(tmp_path):
    path = tmp_path / "db" / "advisories.sqlite3"  # the folder is created
    now = datetime(2024, 9, 1, tzinfo=UTC)
    meta = build_database(tiny_records(), path, source="tiny", now=now)
    assert meta == DbMetadata(path=str(path), source="tiny", snapshot_date=TINY_SNAPSHOT,
                              imported_at="2024-09-01T00:00:00Z", record_count=TINY_RECORD_COUNT,
                              withdrawn_count=1, package_count=5, schema_version=SCHEMA_VERSION)
    with AdvisoryStore.open(path) as store:
        assert store.metadata() == meta
        assert store.path == path


def test_lookup_by_normalised_package_name(store):
    ids = [a.id for a in store.advisories_for("demo-pkg")]
    assert ids == ["GHSA-demo-0001-aaaa", "GHSA-demo-0002-bbbb", "TEST-0001", "TEST-0002"]
    for spelling in ("Demo_Pkg.Other", "demo-pkg-other", "DEMO.PKG_other"):
        assert [a.id for a in store.advisories_for(spelling)] == ["TEST-0003"]
    assert store.advisories_for("not-there") == []


def test_withdrawn_records_are_kept_but_never_listed_for_matching(store):
    assert "TEST-0004" not in [a.id for a in store.advisories_for("demo-pkg")]
    assert "TEST-0004" in [a.id for a in store.advisories_for("demo-pkg", include_withdrawn=True)]
    withdrawn = store.get("TEST-0004")
    assert withdrawn is not None and withdrawn.withdrawn == "2024-04-02T00:00:00Z"


def test_get_by_id_or_alias_case_insensitively(store):
    assert store.get("TEST-0001").id == "TEST-0001"
    assert store.get("test-0001").id == "TEST-0001"
    # A CVE carried by two records: both are found, get() returns one of them.
    assert {a.id for a in store.lookup("cve-2099-0001")} == {"TEST-0001", "GHSA-demo-0001-aaaa"}
    assert store.get("CVE-2099-0001") is not None
    # A record that is also another record's alias: the record with that id comes first.
    assert [a.id for a in store.lookup("TEST-0002")] == ["TEST-0002", "GHSA-demo-0002-bbbb"]
    assert store.get("CVE-1999-0000") is None


def test_only_pypi_affected_entries_are_stored(store):
    npm_only = store.get("TEST-0006")
    assert npm_only is not None and npm_only.affected == ()
    assert store.advisories_for("demo-pkg") and "TEST-0006" not in [a.id for a in store.advisories_for("demo-pkg")]


def test_stored_fields_are_compact(tmp_path):
    record = tiny_records()[0]
    record["details"] = "x" * 5000
    record["references"] = [{"type": "WEB", "url": f"https://example.org/{i}"} for i in range(50)] + [
        {"type": "ADVISORY", "url": "https://example.org/advisory"}]
    record["affected"][0]["ranges"].append({"type": "GIT", "repo": "https://example.org/r",
                                            "events": [{"introduced": "0"}, {"fixed": "a" * 40}]})
    record["credits"] = [{"name": "someone"}]
    advisory = advisory_from_osv(record)
    assert advisory is not None
    assert len(advisory.details) == 500 and advisory.details.endswith("\u2026")
    assert advisory.references[0] == "https://example.org/advisory" and len(advisory.references) == 5
    assert [r.type for r in advisory.affected[0].ranges] == ["ECOSYSTEM"]  # GIT ranges dropped
    assert advisory.severity == (("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),)


def test_numbers_from_yaml_or_json_become_version_text():
    record = {"id": "X-1", "modified": "2024-01-01T00:00:00Z",
              "affected": [{"package": {"ecosystem": "PyPI", "name": "p"},
                            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": 0}, {"fixed": 1.5}]}],
                            "versions": [1, 1.2]}]}
    advisory = advisory_from_osv(record)
    assert advisory is not None
    assert advisory.affected[0].ranges[0].events == (("introduced", "0"), ("fixed", "1.5"))
    assert advisory.affected[0].versions == ("1", "1.2")


@pytest.mark.parametrize("record", [
    None, [], "TEST", {"modified": "2024-01-01T00:00:00Z"}, {"id": "X-1"}, {"id": 5, "modified": "x"},
    {"id": "", "modified": "x"}, {"id": "X-1", "modified": "x", "aliases": "CVE-1"},
    {"id": "X-1", "modified": "x", "affected": [{"package": {"ecosystem": "PyPI", "name": "p"}, "ranges": "bad"}]},
    {"id": "X-1", "modified": "x", "affected": [{"package": {"ecosystem": "PyPI", "name": "p"},
                                                  "ranges": [{"type": "ECOSYSTEM", "events": [{"fixed": True}]}]}]},
    {"id": "X-1", "modified": "x", "affected": [{"package": {"ecosystem": "PyPI", "name": "p"},
                                                  "ranges": [{"type": "ECOSYSTEM", "events": [{"bogus": "1"}]}]}]},
    {"id": "X-1", "modified": "x", "affected": [{"package": {"ecosystem": "PyPI", "name": "p"},
                                                  "versions": ["1"] * 200_000}]},
])
def test_malformed_records_are_rejected(record):
    assert advisory_from_osv(record) is None


def test_build_skips_and_counts_malformed_records(tmp_path):
    stats = ImportStats()
    meta = build_database([*tiny_records(), {"id": "BAD-1"}, "junk", {"no": "id"}], tmp_path / "db.sqlite3",
                          source="mixed", stats=stats)
    assert meta.record_count == TINY_RECORD_COUNT
    assert stats.skipped_records == 3 and meta.skipped_count == 3
    assert any("BAD-1" in problem for problem in stats.problems)


def test_duplicate_ids_keep_the_newest_record(tmp_path):
    old, new = tiny_records()[0], tiny_records()[0]
    new["modified"] = "2025-01-01T00:00:00Z"
    new["summary"] = "the newer text"
    path = tmp_path / "db.sqlite3"
    for order in ([old, new], [new, old]):
        build_database(order, path, source="dup")
        with AdvisoryStore.open(path) as store:
            assert store.get("TEST-0001").summary == "the newer text"
            assert store.metadata().record_count == 1


def test_a_failed_build_leaves_the_existing_database_untouched(tmp_path):
    path = build_tiny_db(tmp_path)
    before = path.read_bytes()

    def records_then_crash():
        yield from tiny_records()
        raise KeyboardInterrupt  # an interrupted import

    with pytest.raises(InputError, match="no valid OSV records"):
        build_database([{"id": "only-junk"}], path, source="junk")
    with pytest.raises(KeyboardInterrupt):
        build_database(records_then_crash(), path, source="interrupted")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["advisories.sqlite3"]  # no temporary files left


def test_missing_database_names_both_ways_to_get_one(tmp_path):
    with pytest.raises(MissingDatabaseError) as info:
        AdvisoryStore.open(tmp_path / "none.sqlite3")
    assert isinstance(info.value, InputError)
    assert "mlwarden db update" in str(info.value) and "mlwarden db import PATH" in str(info.value)
    assert info.value.path == tmp_path / "none.sqlite3"


def test_default_path_comes_from_mlwarden_home(tmp_path, monkeypatch):
    monkeypatch.setenv("MLWARDEN_HOME", str(tmp_path))
    with pytest.raises(MissingDatabaseError, match=str(tmp_path)):
        AdvisoryStore.open()
    build_tiny_db(tmp_path)
    with AdvisoryStore.open() as store:
        assert store.metadata().record_count == TINY_RECORD_COUNT


def test_files_that_are_not_our_database_are_refused(tmp_path):
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(InputError, match="not an mlwarden advisory database"):
        AdvisoryStore.open(junk)
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE t (x)")
    with pytest.raises(InputError, match="not an mlwarden advisory database"):
        AdvisoryStore.open(other)


def test_a_database_of_another_format_version_is_refused(tmp_path):
    path = build_tiny_db(tmp_path)
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    with pytest.raises(InputError, match="format 999"):
        AdvisoryStore.open(path)


def test_a_corrupt_record_is_an_input_error_not_a_crash(tmp_path):
    path = build_tiny_db(tmp_path)
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE advisory SET body = x'00ff00' WHERE id = 'TEST-0003'")
    with AdvisoryStore.open(path) as store, pytest.raises(InputError, match="corrupt record"):
        store.advisories_for("demo-pkg-other")


def test_the_store_reads_through_a_read_only_connection(store):
    with pytest.raises(sqlite3.OperationalError):
        store._connection.execute("DELETE FROM advisory")


def test_the_store_can_be_shared_between_threads(store):
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda name: len(store.advisories_for(name)), ["demo-pkg", "torch"] * 20))
    assert set(results) == {4, 1}


def test_iterating_lists_every_record(store):
    assert [a.id for a in store][:3] == ["GHSA-demo-0001-aaaa", "GHSA-demo-0002-bbbb", "TEST-0001"]
    assert len(list(store)) == TINY_RECORD_COUNT


def test_age_is_the_data_age(tmp_path):
    path = build_tiny_db(tmp_path)
    with AdvisoryStore.open(path) as store:
        snapshot = datetime(2024, 8, 1, tzinfo=UTC)
        assert store.age_days(snapshot + timedelta(days=10)) == pytest.approx(10.0)
        assert store.age_days(snapshot - timedelta(days=1)) == 0.0  # a clock behind the data is not negative
        assert store.age_days(datetime(2024, 8, 11)) == pytest.approx(10.0)  # naive times are UTC
    no_snapshot = DbMetadata(path="p", source="s", snapshot_date=None, imported_at="2024-01-01T00:00:00Z",
                             record_count=1, withdrawn_count=0, package_count=1)
    assert no_snapshot.age_days(datetime(2024, 1, 3, tzinfo=UTC)) == pytest.approx(2.0)
    unknown = DbMetadata(path="p", source="s", snapshot_date=None, imported_at="", record_count=1,
                         withdrawn_count=0, package_count=1)
    assert unknown.age_days() is None


def test_data_home_per_platform(tmp_path):
    home = Path.home()
    assert data_home(environ={"MLWARDEN_HOME": str(tmp_path)}, platform="linux") == tmp_path
    assert data_home(environ={"MLWARDEN_HOME": "~/mw"}, platform="linux") == home / "mw"
    assert data_home(environ={}, platform="linux") == home / ".cache" / "mlwarden"
    assert data_home(environ={"XDG_CACHE_HOME": "/var/cache/me"}, platform="linux") == Path("/var/cache/me/mlwarden")
    assert data_home(environ={"XDG_CACHE_HOME": "relative"}, platform="linux") == home / ".cache" / "mlwarden"
    assert data_home(environ={}, platform="darwin") == home / "Library" / "Caches" / "mlwarden"
    assert data_home(environ={"LOCALAPPDATA": str(tmp_path)}, platform="win32") == tmp_path / "mlwarden" / "Cache"
    assert data_home(environ={"MLWARDEN_HOME": "  "}, platform="darwin") == home / "Library" / "Caches" / "mlwarden"
    assert default_db_path(environ={"MLWARDEN_HOME": str(tmp_path)}) == tmp_path / "advisories.sqlite3"


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["id", "modified", "aliases", "affected", "package", "ecosystem", "name", "ranges",
                         "type", "events", "introduced", "fixed", "last_affected", "limit", "versions",
                         "severity", "score", "withdrawn", "summary", "details", "references", "url",
                         "database_specific"]) | st.text(max_size=5), children, max_size=6),
    max_leaves=40)


@settings(max_examples=150, deadline=None)
@given(record=_json_values)
def test_any_json_shape_is_stored_or_rejected_never_raised(record):
    advisory = advisory_from_osv(record)
    assert advisory is None or isinstance(advisory.id, str)


@settings(max_examples=150, deadline=None)
@given(events=st.lists(st.dictionaries(st.sampled_from(["introduced", "fixed", "last_affected", "limit"]),
                                       st.text(max_size=12) | st.integers(), min_size=1, max_size=1),
                       max_size=8),
       versions=st.lists(st.text(max_size=12), max_size=5))
def test_random_ranges_survive_a_round_trip_through_the_database(tmp_path_factory, events, versions):
    record = {"id": "FUZZ-1", "modified": "2024-01-01T00:00:00Z",
              "affected": [{"package": {"ecosystem": "PyPI", "name": "fuzz"},
                            "ranges": [{"type": "ECOSYSTEM", "events": events}], "versions": versions}]}
    expected = advisory_from_osv(record)
    path = tmp_path_factory.mktemp("fuzz") / "db.sqlite3"
    if expected is None:
        with pytest.raises(InputError):
            build_database([record], path, source="fuzz")
        return
    build_database([record], path, source="fuzz")
    with AdvisoryStore.open(path) as store:
        assert store.get("FUZZ-1") == expected


@pytest.mark.parametrize("value, withdrawn", [
    ("2024-01-01T00:00:00Z", True), (True, True), ("some day", True),
    (False, False), ("", False), (None, False), ("false", False),
])
def test_only_records_that_say_so_are_withdrawn(value, withdrawn):
    advisory = advisory_from_osv({"id": "X-1", "modified": "2024-01-01T00:00:00Z", "withdrawn": value})
    assert (advisory.withdrawn is not None) is withdrawn


@pytest.mark.parametrize("body", [
    b'{"m": "x", "af": [{"n": "demo-pkg-other", "r": [], "v": [[1]]}]}',
    b'{"m": "x", "af": [{"n": "demo-pkg-other", "r": [["ECOSYSTEM", [["bogus", "1"]]]], "v": []}]}',
    b'{"m": "x", "af": [{"n": "demo-pkg-other", "r": [["ECOSYSTEM", [["introduced"]]]], "v": []}]}',
    b'{"m": 5, "af": []}', b'[]', b'{"m": "x"}',
])
def test_a_damaged_body_of_the_right_shape_is_caught_when_read(tmp_path, body):
    path = build_tiny_db(tmp_path)
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE advisory SET body = ? WHERE id = 'TEST-0003'", (zlib.compress(body),))
    with AdvisoryStore.open(path) as store, pytest.raises(InputError, match="corrupt record"):
        store.advisories_for("demo-pkg-other")


def test_paths_with_uri_characters_open(tmp_path):
    folder = tmp_path / "odd #name %20 here"
    folder.mkdir()
    with AdvisoryStore.open(build_tiny_db(folder)) as store:
        assert store.metadata().record_count == TINY_RECORD_COUNT
