"""`db update`: download from a local HTTP server on 127.0.0.1, verify, swap atomically; every failure leaves the
previous database exactly as it was."""

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlwarden.core.errors import InputError, UsageError
from mlwarden.supply.advisories.store import AdvisoryStore
from mlwarden.supply.advisories.update import display_url, update_database
from tests.samples.advisories import (
    PROXY_VARIABLES,
    TINY_RECORD_COUNT,
    Routes,
    build_tiny_db,
    serve,
    tiny_records,
    zip_bytes,
)


@pytest.fixture()
def server(monkeypatch) -> Iterator[tuple[str, Routes]]:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    routes: Routes = {}
    with serve(routes) as base:
        yield base, routes


@pytest.fixture()
def existing(tmp_path) -> tuple[Path, bytes]:
    """The tiny database, already in place (an update with three records shows it was replaced)."""
    folder = tmp_path / "home"
    folder.mkdir()
    path = build_tiny_db(folder)
    return path, path.read_bytes()


def _assert_untouched(existing: tuple[Path, bytes]) -> None:
    path, before = existing
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temporary files left behind


def test_update_downloads_verifies_and_swaps(server, tmp_path, existing):
    base, routes = server
    records = tiny_records()[:3]
    body = zip_bytes(records, tmp_path)
    routes["/all.zip"] = (200, body, None)
    path, _ = existing
    meta = update_database(f"{base}/all.zip", path, sha256=hashlib.sha256(body).hexdigest().upper())
    assert meta.record_count == 3 and meta.path == str(path) and meta.source == f"{base}/all.zip"
    with AdvisoryStore.open(path) as store:
        assert store.metadata().record_count == 3
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_update_creates_the_folder_of_a_new_database(server, tmp_path):
    base, routes = server
    routes["/all.zip"] = (200, zip_bytes(tiny_records(), tmp_path), None)
    dest = tmp_path / "fresh" / "cache" / "advisories.sqlite3"
    assert update_database(f"{base}/all.zip", dest).record_count == TINY_RECORD_COUNT


def test_http_error_leaves_the_database_intact(server, existing):
    base, _ = server
    with pytest.raises(InputError, match=r"cannot download .*HTTP 404.*mlwarden db import PATH"):
        update_database(f"{base}/missing.zip", existing[0])
    _assert_untouched(existing)


def test_a_broken_zip_leaves_the_database_intact(server, existing):
    base, routes = server
    routes["/broken.zip"] = (200, b"PK\x03\x04" + b"this is not really a zip" * 20, None)
    with pytest.raises(InputError, match="not a zip"):
        update_database(f"{base}/broken.zip", existing[0])
    _assert_untouched(existing)


def test_a_truncated_download_leaves_the_database_intact(server, tmp_path, existing):
    base, routes = server
    body = zip_bytes(tiny_records(), tmp_path)
    # The server promises the whole file and closes the connection halfway through.
    routes["/cut.zip"] = (200, body[: len(body) // 2], len(body))
    with pytest.raises(InputError, match="cannot download"):
        update_database(f"{base}/cut.zip", existing[0])
    _assert_untouched(existing)


def test_a_checksum_mismatch_leaves_the_database_intact(server, tmp_path, existing):
    base, routes = server
    routes["/all.zip"] = (200, zip_bytes(tiny_records(), tmp_path), None)
    with pytest.raises(InputError, match="SHA-256"):
        update_database(f"{base}/all.zip", existing[0], sha256="0" * 64)
    _assert_untouched(existing)


def test_a_zip_without_records_leaves_the_database_intact(server, tmp_path, existing):
    base, routes = server
    routes["/empty.zip"] = (200, zip_bytes([{"id": "X", "modified": "x", "affected": "nonsense"}], tmp_path),
                            None)
    with pytest.raises(InputError, match="no valid OSV records"):
        update_database(f"{base}/empty.zip", existing[0])
    _assert_untouched(existing)


def test_a_mostly_broken_zip_is_refused(server, tmp_path, existing):
    base, routes = server
    junk = [{"id": f"JUNK-{i}", "modified": "x", "affected": "nonsense"} for i in range(5)]
    routes["/mostly.zip"] = (200, zip_bytes([tiny_records()[0], *junk], tmp_path), None)
    with pytest.raises(InputError, match="more malformed entries"):
        update_database(f"{base}/mostly.zip", existing[0])
    _assert_untouched(existing)


def test_an_oversized_download_is_refused(server, tmp_path, existing):
    base, routes = server
    body = zip_bytes(tiny_records(), tmp_path)
    routes["/big.zip"] = (200, body, None)
    with pytest.raises(InputError, match="allowed"):
        update_database(f"{base}/big.zip", existing[0], max_bytes=len(body) - 1)
    _assert_untouched(existing)


def test_an_unreachable_server_is_a_network_error(existing):
    # Port 9 (discard) on the loopback interface: nothing listens there in a test environment.
    with pytest.raises(InputError, match="check the network"):
        update_database("http://127.0.0.1:9/all.zip", existing[0], timeout=5)
    _assert_untouched(existing)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/all.zip", "all.zip"])
def test_only_http_urls_are_accepted(url, existing):
    with pytest.raises(UsageError, match="only https"):
        update_database(url, existing[0])
    _assert_untouched(existing)


def test_a_malformed_checksum_is_a_usage_error(existing):
    with pytest.raises(UsageError, match="64 hexadecimal"):
        update_database("https://example.org/all.zip", existing[0], sha256="abc")


@pytest.mark.parametrize("url, shown", [
    ("https://user:s3cret@mirror.example/osv/all.zip", "https://***@mirror.example/osv/all.zip"),
    ("https://storage.example/all.zip?X-Signature=abc123", "https://storage.example/all.zip?***"),
    ("https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip",
     "https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip"),
])
def test_urls_are_shown_without_secrets(url, shown):
    assert display_url(url) == shown


def test_the_recorded_source_and_errors_carry_no_url_secrets(server, tmp_path, existing):
    base, routes = server
    routes["/all.zip?token=s3cret"] = (200, zip_bytes(tiny_records(), tmp_path), None)
    meta = update_database(f"{base}/all.zip?token=s3cret", existing[0])
    assert "s3cret" not in meta.source and meta.source.endswith("/all.zip?***")
    with pytest.raises(InputError) as info:
        update_database(f"{base}/missing.zip?token=s3cret", existing[0])
    assert "s3cret" not in str(info.value)
