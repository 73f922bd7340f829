"""A tiny hand-written OSV database for tests: each record exercises one matching rule.

| id | package | what it tests |
|---|---|---|
| TEST-0001 | demo-pkg | plain upper bound: introduced 0, fixed 1.2.0; CVSS v3 9.8 (critical) |
| GHSA-demo-0001-aaaa | demo-pkg | shares CVE-2099-0001 with TEST-0001: one vulnerability, not two |
| TEST-0002 | demo-pkg | two windows: [2.0, 2.0.3) and [2.1, 2.1.4] (last_affected, inclusive) |
| GHSA-demo-0002-bbbb | demo-pkg | aliases TEST-0002 (and it aliases back): merged; database_specific HIGH |
| TEST-0003 | Demo_Pkg.Other | versions list only (1.0, 1.0.post1); name normalisation |
| TEST-0004 | demo-pkg | withdrawn: must never match |
| TEST-0005 | edge-pkg | pre-release fix (3.0.0rc2) and an epoch window [1!0.5, 1!0.7) |
| TEST-0006 | demo-pkg (npm) | another ecosystem: ignored |
| TEST-0007 | limit-pkg | introduced 0 with limit 2.0 and no fix |
| TEST-0008 | torch | an ML package; CVSS v4 only, database_specific CRITICAL |

Only harmless data; the records are built as dicts and written by the tests themselves.
"""

from __future__ import annotations

import contextlib
import copy
import gzip
import json
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from mlwarden.supply.advisories.store import DbMetadata, build_database

CVSS_CRITICAL = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"  # 9.8
CVSS_V4 = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"


def _pypi(name: str, *ranges: list[dict[str, str]], versions: list[str] | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"package": {"ecosystem": "PyPI", "name": name, "purl": f"pkg:pypi/{name.lower()}"}}
    if ranges:
        entry["ranges"] = [{"type": "ECOSYSTEM", "events": events} for events in ranges]
    if versions is not None:
        entry["versions"] = versions
    return entry


_RECORDS: list[dict[str, Any]] = [
    {"id": "TEST-0001", "modified": "2024-01-01T00:00:00Z", "published": "2023-12-01T00:00:00Z",
     "aliases": ["CVE-2099-0001"], "summary": "Remote code execution in the demo-pkg model loader",
     "details": "Loading a crafted model file runs code.",
     "severity": [{"type": "CVSS_V3", "score": CVSS_CRITICAL}],
     "affected": [_pypi("demo-pkg", [{"introduced": "0"}, {"fixed": "1.2.0"}])],
     "references": [{"type": "WEB", "url": "https://example.org/demo/1"},
                    {"type": "ADVISORY", "url": "https://example.org/advisory/TEST-0001"}]},
    {"id": "GHSA-demo-0001-aaaa", "modified": "2024-01-02T00:00:00Z", "aliases": ["CVE-2099-0001"],
     "summary": "demo-pkg model loader runs code", "database_specific": {"severity": "MODERATE"},
     "affected": [_pypi("demo-pkg", [{"introduced": "0"}, {"fixed": "1.2.0"}])]},
    {"id": "TEST-0002", "modified": "2024-02-01T00:00:00Z", "aliases": ["GHSA-demo-0002-bbbb"],
     "summary": "Path traversal in demo-pkg archive extraction",
     "affected": [_pypi("demo-pkg", [{"introduced": "2.0"}, {"fixed": "2.0.3"}],
                        [{"introduced": "2.1"}, {"last_affected": "2.1.4"}])]},
    {"id": "GHSA-demo-0002-bbbb", "modified": "2024-02-02T00:00:00Z", "aliases": ["TEST-0002", "CVE-2099-0002"],
     "summary": "demo-pkg archive extraction escapes its folder", "database_specific": {"severity": "HIGH"},
     "affected": [_pypi("demo-pkg", [{"introduced": "2.0"}, {"fixed": "2.0.3"}],
                        [{"introduced": "2.1"}, {"last_affected": "2.1.4"}])]},
    {"id": "TEST-0003", "modified": "2024-03-01T00:00:00Z", "summary": "Two bad releases of Demo_Pkg.Other",
     "affected": [_pypi("Demo_Pkg.Other", versions=["1.0", "1.0.post1"])]},
    {"id": "TEST-0004", "modified": "2024-04-01T00:00:00Z", "withdrawn": "2024-04-02T00:00:00Z",
     "summary": "Withdrawn: not a vulnerability",
     "affected": [_pypi("demo-pkg", [{"introduced": "0"}])]},
    {"id": "TEST-0005", "modified": "2024-05-01T00:00:00Z", "summary": "Pre-release and epoch boundaries",
     "affected": [_pypi("edge-pkg", [{"introduced": "3.0.0a1"}, {"fixed": "3.0.0rc2"}],
                        [{"introduced": "1!0.5"}, {"fixed": "1!0.7"}])]},
    {"id": "TEST-0006", "modified": "2024-06-01T00:00:00Z", "summary": "An npm package of the same name",
     "affected": [{"package": {"ecosystem": "npm", "name": "demo-pkg"},
                   "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}]}]},
    {"id": "TEST-0007", "modified": "2024-07-01T00:00:00Z", "summary": "Affected below the limit",
     "affected": [_pypi("limit-pkg", [{"introduced": "0"}, {"limit": "2.0"}])]},
    {"id": "TEST-0008", "modified": "2024-08-01T00:00:00Z", "aliases": ["CVE-2099-0008"],
     "summary": "torch.load runs code even with weights_only", "database_specific": {"severity": "CRITICAL"},
     "severity": [{"type": "CVSS_V4", "score": CVSS_V4}],
     "affected": [_pypi("torch", [{"introduced": "0"}, {"fixed": "2.6.0"}])]},
]

TINY_RECORD_COUNT = len(_RECORDS)
TINY_WITHDRAWN = 1
# Newest "modified" among the records: the database's snapshot date.
TINY_SNAPSHOT = "2024-08-01T00:00:00Z"


def tiny_records() -> list[dict[str, Any]]:
    """A fresh copy of the tiny records (tests may mutate what they get)."""
    return copy.deepcopy(_RECORDS)


def build_tiny_db(tmp_path: Path, *, name: str = "advisories.sqlite3") -> Path:
    """Build the tiny database in ``tmp_path`` and return its path."""
    path = tmp_path / name
    build_database(tiny_records(), path, source="tiny test records")
    return path


def build_db(records: list[dict[str, Any]], path: Path, *, source: str = "test records") -> DbMetadata:
    return build_database(records, path, source=source)


def write_jsonl(records: list[dict[str, Any]], path: Path, *, compress: bool = False) -> Path:
    text = "".join(json.dumps(r) + "\n" for r in records).encode()
    path.write_bytes(gzip.compress(text) if compress else text)
    return path


def write_zip(records: list[dict[str, Any]], path: Path) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for record in records:
            archive.writestr(f"{record['id']}.json", json.dumps(record))
    return path


def zip_bytes(records: list[dict[str, Any]], tmp_path: Path) -> bytes:
    return write_zip(records, tmp_path / "_served_export.zip").read_bytes()


# path -> (status, body, declared Content-Length or None for the real one)
Routes = dict[str, tuple[int, bytes, int | None]]


class _Handler(BaseHTTPRequestHandler):
    routes: Routes = {}

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        status, body, declared = self.routes.get(self.path, (404, b"not found", None))
        self.send_response(status)
        self.send_header("Content-Type", "application/zip")
        self.send_header("Content-Length", str(declared if declared is not None else len(body)))
        self.end_headers()
        self.wfile.write(body)  # fewer bytes than declared: a truncated download
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass


@contextlib.contextmanager
def serve(routes: Routes) -> Iterator[str]:
    """Serve ``routes`` over HTTP on 127.0.0.1 (a free port) while the block runs; yields the base URL.

    Callers should clear proxy variables (a proxy would otherwise receive the request).
    """
    handler = type("Handler", (_Handler,), {"routes": routes})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


PROXY_VARIABLES = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")
