"""``mlwarden db update``: download the OSV PyPI export, check it, and swap it in as the advisory database.

The download goes to a temporary file next to the database, is bounded in size, optionally checked against an
expected SHA-256, must be a zip of OSV records, and is built into a second temporary database that replaces the
current one with one ``os.replace`` only when everything succeeded. So a failed, truncated or hostile download
never leaves a broken database, and never touches the one already there. This module never executes or
deserializes what it downloads (records are parsed as JSON by the importer) and only fetches http(s) URLs.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import IO

from mlwarden import __version__
from mlwarden.core.errors import InputError, UsageError
from mlwarden.supply.advisories.home import default_db_path
from mlwarden.supply.advisories.importer import iter_osv_records
from mlwarden.supply.advisories.store import DbMetadata, ImportStats, build_database

# OSV's public export of every PyPI advisory (PYSEC and GHSA), one JSON file per record:
# https://google.github.io/osv.dev/data/#data-dumps
DEFAULT_URL = "https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip"
MiB = 1024 * 1024
# The PyPI export is tens of MiB compressed; anything far beyond is not what we asked for.
MAX_DOWNLOAD_BYTES = 1024 * MiB
_CHUNK_BYTES = 1 * MiB
# http is allowed for internal mirrors (and tests on 127.0.0.1); pass --sha256 to pin what a mirror serves.
_ALLOWED_SCHEMES = ("https", "http")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


def update_database(url: str = DEFAULT_URL, dest: Path | None = None, *, timeout: float = 60,
                    sha256: str | None = None, max_bytes: int = MAX_DOWNLOAD_BYTES) -> DbMetadata:
    """Download the OSV zip at ``url`` and make it the database at ``dest`` (default ``default_db_path()``).

    Raises ``InputError`` (the existing database untouched) when the download fails or is larger than
    ``max_bytes``, its SHA-256 differs from ``sha256``, it is not a zip, or it holds no valid OSV record (or
    more malformed records than valid ones, a sign of a damaged or wrong file); ``UsageError`` for a URL that
    is not http(s) or a malformed ``sha256``.
    """
    shown = display_url(url)
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme not in _ALLOWED_SCHEMES:
        raise UsageError(f"cannot download {shown}: only https:// (or http://) URLs are supported")
    expected = None
    if sha256 is not None:
        if not _SHA256.fullmatch(sha256.strip()):
            raise UsageError(f"--sha256 must be 64 hexadecimal digits, got {sha256[:80]!r}")
        expected = sha256.strip().lower()
    target = Path(dest) if dest is not None else default_db_path()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, download_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".download.zip", dir=target.parent)
    except OSError as exc:
        raise InputError(f"cannot write to {target.parent}: {exc.strerror or exc}") from None
    download = Path(download_name)
    # build_database writes here, next to the target so that the final rename is atomic; only a verified build
    # replaces the target.
    staging = download.with_name(download.name.removesuffix(".download.zip") + ".staging")
    try:
        with os.fdopen(fd, "wb") as handle:
            digest = _download(url, handle, timeout=timeout, max_bytes=max_bytes, shown=shown)
        if expected is not None and digest != expected:
            raise InputError(f"the download from {shown} has SHA-256 {digest}, expected {expected}: "
                             f"the database was not changed")
        if not zipfile.is_zipfile(download):
            raise InputError(f"the download from {shown} is not a zip archive: the database was not changed")
        stats = ImportStats()
        metadata = build_database(iter_osv_records(download, stats=stats), staging, source=shown, stats=stats)
        bad = stats.skipped_records + stats.skipped_files
        if bad > metadata.record_count:
            raise InputError(f"the download from {shown} holds more malformed entries ({bad}) than valid records "
                             f"({metadata.record_count}): the database was not changed")
        os.replace(staging, target)
    except OSError as exc:
        raise InputError(f"cannot update {target}: {exc.strerror or exc}") from None
    finally:
        download.unlink(missing_ok=True)
        staging.unlink(missing_ok=True)
    return replace(metadata, path=str(target))


def display_url(url: str) -> str:
    """``url`` without secrets, for messages and the database's ``source``: a mirror URL may carry a password
    (``https://user:token@host/...``) or a signed query string; both are replaced by ``***``."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "***" if parts.query else "", ""))


def _download(url: str, sink: IO[bytes], *, timeout: float, max_bytes: int, shown: str) -> str:
    """Stream ``url`` into ``sink``; the SHA-256 hex digest of what was written. Raises InputError."""
    request = urllib.request.Request(url, headers={"User-Agent": f"mlwarden/{__version__}"})  # noqa: S310
    digest = hashlib.sha256()
    received = 0
    try:
        # The caller checked the scheme; redirects stay within http(s) (urllib refuses to redirect to file://).
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            declared = response.headers.get("Content-Length")
            expected_length = int(declared) if declared and declared.isdigit() else None
            if expected_length is not None and expected_length > max_bytes:
                raise InputError(f"cannot download {shown}: {expected_length} bytes is more than the "
                                 f"{max_bytes} allowed")
            while chunk := response.read(_CHUNK_BYTES):
                received += len(chunk)
                if received > max_bytes:
                    raise InputError(f"cannot download {shown}: more than the {max_bytes} bytes allowed")
                digest.update(chunk)
                sink.write(chunk)
            if expected_length is not None and received != expected_length:
                raise _Failed(f"download truncated ({received} of {expected_length} bytes)")
    except urllib.error.HTTPError as exc:
        raise _failure(shown, f"HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise _failure(shown, str(exc.reason)) from None
    except _Failed as exc:
        raise _failure(shown, str(exc)) from None
    except (http.client.HTTPException, TimeoutError, OSError, ValueError) as exc:
        # IncompleteRead (a closed connection) is an HTTPException; a timeout, a reset or a full disk an OSError.
        raise _failure(shown, f"{type(exc).__name__}: {exc}") from None
    return digest.hexdigest()


class _Failed(Exception):
    """A download problem detected here (not raised by urllib)."""


def _failure(url: str, reason: str) -> InputError:
    return InputError(f"cannot download {url}: {reason}; check the network or use 'mlwarden db import PATH'")
