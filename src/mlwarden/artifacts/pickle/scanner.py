"""The pickle scanner: streams a pickle file (or a decompressed joblib stream) through the symbolic walker.

Reads the stream forward in chunks, so a multi-gigabyte joblib file costs the time of its pickle opcodes, not of
its array data (which is skipped with forward seeks). At most ``ctx.limits.max_pickle_bytes`` of opcode data are
analysed; beyond that the prefix's findings stand and MW-FMT-003 says the rest was not analysed.

Never unpickles, imports or calls anything from the stream.
"""

from __future__ import annotations

import io
from typing import BinaryIO

from mlwarden.artifacts.pickle.analyzer import (
    PickleSummary,
    PickleWalker,
    analyze_pickle,
    merge_plain_pickle_findings,
)
from mlwarden.scanning.context import ScanContext

# Bytes read per chunk; a single opcode larger than this (a big string) is read in one larger chunk. Small
# chunks matter: a large value that does not start like a pickle (an array payload) is skipped by seeking once
# it crosses the chunk's end, so the chunk size bounds how much of each array is read (opcode-dense pickles
# walk as fast with 256 KiB chunks as with 16 MiB ones).
CHUNK_BYTES = 256 * 1024


class PickleScanner:
    """Scanner for pickle streams of any protocol, concatenated pickles and joblib's NumpyPickler format."""

    name = "pickle"

    def scan(self, stream: BinaryIO, ctx: ScanContext) -> None:
        scan_pickle_stream(stream, ctx)


def scan_pickle_stream(stream: BinaryIO, ctx: ScanContext, *, size: int | None = None,
                       trailing_data_ok: bool = False, base_offset: int = 0) -> PickleSummary:
    """Analyse the pickle stream ``stream`` (read from offset 0, forward only) of ``size`` bytes (default
    ``ctx.size``), reporting findings to ``ctx``. joblib array data is skipped with forward seeks; if a crafted
    array region would run as opcodes under plain pickle.load, the stream is read a second time to find out."""
    walker = _stream_walk(stream, ctx, size=size, trailing_data_ok=trailing_data_ok, base_offset=base_offset,
                          joblib=True)
    if walker.plain_divergence:
        merge_plain_pickle_findings(ctx, walker, lambda plain_ctx: _stream_walk(
            stream, plain_ctx, size=size, trailing_data_ok=trailing_data_ok, base_offset=base_offset,
            joblib=False))
    return walker.summary()


def _stream_walk(stream: BinaryIO, ctx: ScanContext, *, size: int | None, trailing_data_ok: bool,
                 base_offset: int, joblib: bool) -> PickleWalker:
    total = ctx.size if size is None else size
    walker = PickleWalker(ctx, stream_size=total, base_offset=base_offset, trailing_data_ok=trailing_data_ok,
                          joblib=joblib)
    budget = ctx.limits.max_pickle_bytes
    analysed = 0
    position = 0  # absolute offset of the first byte of `carry` / of the next read
    carry = b""  # bytes already read that the walker has not consumed yet
    stream.seek(0)
    stream_at = 0  # where the underlying stream is positioned
    while True:
        left = budget - analysed
        if left <= 0:
            walker.finish_early(position, f"the pickle stream is larger than max_pickle_bytes ({budget} bytes); "
                                "only its first part was analysed")
            break
        want = max(CHUNK_BYTES, walker.need)
        capped = want > left
        if capped:
            want = left
        if not carry and stream_at != position:
            # Forward seek past skipped data (joblib arrays, oversized strings).
            stream.seek(position)
            stream_at = position
        fresh = _read_up_to(stream, want - len(carry)) if want > len(carry) else b""
        stream_at += len(fresh)
        buffer = carry + fresh if carry else fresh
        final = position + len(buffer) >= total or len(fresh) < want - len(carry)
        following = walker.feed(buffer, position, position, final)
        if following is None:
            break
        consumed = min(following, position + len(buffer)) - position
        if consumed <= 0 and (capped or final):
            walker.finish_early(position, f"an opcode at offset {position} needs more than max_pickle_bytes "
                                f"({budget} bytes) of data; the rest was not analysed")
            break
        if consumed <= 0:
            # No progress: the walker needs a longer buffer than it asked for; grow the read so that every
            # round either progresses or reaches the end of the stream.
            walker.need = max(walker.need, 2 * len(buffer) + 1)
        analysed += consumed
        carry = buffer[consumed:] if following < position + len(buffer) else b""
        position = following
    return walker


def _read_up_to(stream: BinaryIO, count: int) -> bytes:
    """Read ``count`` bytes unless the stream ends first (raw and decompressing streams may return less)."""
    parts: list[bytes] = []
    remaining = count
    while remaining > 0:
        part = stream.read(remaining)
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def scan_pickle_bytes(data: bytes | bytearray | memoryview, ctx: ScanContext, *,
                      trailing_data_ok: bool = False, base_offset: int = 0) -> PickleSummary:
    """Analyse an in-memory pickle stream (used by other scanners, e.g. for PyTorch's data.pkl).

    Streams larger than ``ctx.limits.max_pickle_bytes`` are analysed up to that size (MW-FMT-003 for the rest).
    """
    if len(data) <= ctx.limits.max_pickle_bytes:
        return analyze_pickle(data, ctx, trailing_data_ok=trailing_data_ok, base_offset=base_offset)
    view = data if isinstance(data, bytes) else bytes(data)
    return scan_pickle_stream(io.BytesIO(view), ctx, size=len(view), trailing_data_ok=trailing_data_ok,
                              base_offset=base_offset)
