"""Dispatch one stream (a file or a nested member) to its scanner, failing closed.

Reads only the head needed to identify the format; the scanner decides what else to read.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

from mlwarden.artifacts.registry import scanner_for
from mlwarden.scanning.context import ScanContext, UnscannableError
from mlwarden.scanning.identify import EXPECTED_BY_EXTENSION, extension_of, identify

# Formats that are recognised but carry nothing we analyse (plain text, JSON that is no model config).
_PASSIVE = frozenset({"text", "json"})


def detect_format(stream: BinaryIO, ctx: ScanContext) -> str | None:
    stream.seek(0)
    head = stream.read(ctx.limits.sniff_bytes)
    stream.seek(0)
    return identify(head, name=ctx.name, size=ctx.size)


def scan_stream(stream: BinaryIO, ctx: ScanContext, *, format_hint: str | None = None) -> str | None:
    """Identify and scan ``stream``; return the format id (None if not a scanned format)."""
    fmt = format_hint or detect_format(stream, ctx)
    # Zips are read from their end, so loaders accept any bytes in front of them. Checked on top-level files
    # only: for a compressed archive member, reading its tail would mean inflating all of it.
    trailing_zip = ctx.depth == 0 and fmt != "zip" and _has_trailing_zip(stream, ctx.size)
    if fmt is None:
        if not trailing_zip:
            return None
        ctx.report("MW-FMT-002", f"'{ctx.name}' is a zip archive behind {_leading(stream, ctx.size)} of other "
                   "data", evidence="prefix+zip")
        fmt, trailing_zip = "zip", False
    expected = EXPECTED_BY_EXTENSION.get(extension_of(ctx.name))
    if expected is not None and fmt not in expected and not (fmt in _PASSIVE and "text" in expected):
        ctx.report("MW-FMT-002", f"'{ctx.name}' is named like {extension_of(ctx.name)} but its content is {fmt}",
                   evidence=f"{extension_of(ctx.name)} -> {fmt}")
    if trailing_zip:
        ctx.report("MW-FMT-002", f"'{ctx.name}' is {fmt} and also a zip archive (polyglot); the zip part is "
                   "scanned too", evidence=f"{fmt}+zip")
        ctx.scan_member("<appended zip>", stream, ctx.size, format_hint="zip")
    if fmt in _PASSIVE:
        return fmt
    try:
        scanner = scanner_for(fmt)
    except ImportError as exc:
        ctx.report("MW-SCAN-002", f"the {fmt} scanner could not be loaded: {exc}", evidence=type(exc).__name__)
        return fmt
    if scanner is None:
        return fmt
    ctx.scanner = scanner.name
    stream.seek(0)
    try:
        scanner.scan(stream, ctx)
    except UnscannableError as exc:
        ctx.report("MW-FMT-001", f"{fmt} could not be fully parsed: {exc}", offset=exc.offset)
    except RecursionError:
        ctx.report("MW-FMT-001", f"{fmt} is nested too deeply to parse")
    except MemoryError:
        ctx.report("MW-FMT-003", f"{fmt} needed more memory than available to parse")
    except Exception as exc:  # noqa: BLE001 - fail closed: a scanner bug must never pass a file silently
        ctx.report("MW-SCAN-002", f"{scanner.name} scanner failed: {type(exc).__name__}: {exc}",
                   evidence=type(exc).__name__)
    return fmt


_EOCD = b"PK\x05\x06"
_EOCD_SIZE = 22


def _has_trailing_zip(stream: BinaryIO, size: int) -> bool:
    """True when the stream ends with a consistent zip end-of-central-directory record (a zip appended to
    another format). The record's comment length must reach exactly to the end, so tensor bytes that happen to
    contain the signature do not count."""
    if size < _EOCD_SIZE:
        return False
    window = min(size, _EOCD_SIZE + 0xFFFF)
    stream.seek(size - window)
    tail = stream.read(window)
    stream.seek(0)
    pos = tail.rfind(_EOCD)
    while pos >= 0:
        if pos + _EOCD_SIZE <= len(tail):
            cd_size, cd_offset, comment_len = struct.unpack_from("<IIH", tail, pos + 12)
            eocd_at = size - window + pos
            if pos + _EOCD_SIZE + comment_len == len(tail) and cd_size + cd_offset <= eocd_at and cd_size > 0:
                return True
        pos = tail.rfind(_EOCD, 0, pos)
    return False


def _leading(stream: BinaryIO, size: int) -> str:
    """Describe how much data precedes the zip (best effort, for the message only)."""
    window = min(size, _EOCD_SIZE + 0xFFFF)
    stream.seek(size - window)
    tail = stream.read(window)
    stream.seek(0)
    pos = tail.rfind(_EOCD)
    if pos < 0:
        return "some bytes"
    cd_size, cd_offset = struct.unpack_from("<II", tail, pos + 12)
    eocd_at = size - window + pos
    return f"{max(0, eocd_at - cd_size - cd_offset)} bytes"
