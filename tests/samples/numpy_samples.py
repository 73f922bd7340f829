"""Generate real .npy / .npz files with numpy (numeric, object arrays carrying a harmless payload, structured
dtypes, every header version) and malformed headers. Nothing here loads what it writes."""

from __future__ import annotations

import io
import struct

import numpy as np

from tests.samples.pytorch import SystemCall


def npy_bytes(array: np.ndarray, *, version: tuple[int, int] | None = None) -> bytes:
    buffer = io.BytesIO()
    if version is None:
        np.save(buffer, array, allow_pickle=True)
    else:
        np.lib.format.write_array(buffer, array, version=version, allow_pickle=True)
    return buffer.getvalue()


def numeric_npy() -> bytes:
    return npy_bytes(np.arange(24, dtype=np.float32).reshape(4, 6))


def numeric_variants() -> dict[str, bytes]:
    return {
        "float64-fortran": npy_bytes(np.asfortranarray(np.ones((3, 5)))),
        "int8-scalar": npy_bytes(np.array(5, dtype=np.int8)),
        "empty": npy_bytes(np.zeros((0, 4), dtype=np.int64)),
        "unicode": npy_bytes(np.array(["ab", "cde"])),
        "bytes": npy_bytes(np.array([b"ab", b"cde"])),
        "bool": npy_bytes(np.array([True, False])),
        "complex": npy_bytes(np.ones(3, dtype=np.complex64)),
        "datetime": npy_bytes(np.array(["2024-01-01"], dtype="datetime64[D]")),
        "structured": npy_bytes(np.zeros(3, dtype=[("x", "<f4"), ("y", "<i8", (2,)), ("z", "S3")])),
        "big-endian": npy_bytes(np.arange(4, dtype=">i4")),
        "version-2": npy_bytes(np.arange(4, dtype=np.int16), version=(2, 0)),
        "version-3": npy_bytes(np.zeros(2, dtype=[("\u00e9t\u00e9", "<f8")]), version=(3, 0)),
        "appended": npy_bytes(np.arange(3)) + npy_bytes(np.ones(2)),
    }


def object_npy() -> bytes:
    """An object array holding an object that pickles as os.system("true")."""
    return npy_bytes(np.array([1, SystemCall(), "x"], dtype=object))


def benign_object_npy() -> bytes:
    return npy_bytes(np.array([1, "two", 3.0], dtype=object))


def structured_object_npy() -> bytes:
    array = np.zeros(2, dtype=[("value", "<f4"), ("meta", "O")])
    array["meta"][0] = SystemCall()
    return npy_bytes(array)


def npz(arrays: dict[str, np.ndarray], *, compressed: bool) -> bytes:
    buffer = io.BytesIO()
    if compressed:
        np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
    else:
        np.savez(buffer, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue()


def benign_npz(*, compressed: bool) -> bytes:
    return npz({"weights": np.ones((8, 8), dtype=np.float32), "labels": np.arange(8)}, compressed=compressed)


def malicious_npz(*, compressed: bool) -> bytes:
    return npz({"weights": np.ones(4), "meta": np.array([SystemCall()], dtype=object)}, compressed=compressed)


def raw_npy(header: bytes, *, version: tuple[int, int] = (1, 0), data: bytes = b"") -> bytes:
    """A .npy record with a hand-written header text."""
    if version == (1, 0):
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + data
    return b"\x93NUMPY" + bytes(version) + struct.pack("<I", len(header)) + header + data


def malformed_npys() -> dict[str, bytes]:
    good = numeric_npy()
    return {
        "truncated-data": good[:-7],
        "trailing-junk": good + b"junk",
        "header-beyond-file": b"\x93NUMPY\x02\x00" + struct.pack("<I", 0xFFFFFFF0) + b"{",
        "not-a-dict": raw_npy(b"[1, 2, 3]\n"),
        "code-in-header": raw_npy(b"{'descr': __import__('os').system('true'), 'fortran_order': False, "
                                  b"'shape': (1,)}\n"),
        "extra-key": raw_npy(b"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}\n", data=b"\0" * 4),
        "bad-shape": raw_npy(b"{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}\n"),
        "unknown-dtype": raw_npy(b"{'descr': '<q7x', 'fortran_order': False, 'shape': (1,)}\n"),
        "unknown-version": b"\x93NUMPY\x09\x00" + good[8:],
        "deep-nesting": raw_npy(b"{'descr': " + b"[" * 200 + b"]" * 200 + b", 'fortran_order': False, "
                                b"'shape': (1,)}\n"),
    }


def py2_long_header_npy() -> bytes:
    """Python 2 numpy wrote shapes like (3L,): numpy's reader still accepts them."""
    return raw_npy(b"{'descr': '<i4', 'fortran_order': False, 'shape': (3L,), }\n", data=b"\0" * 12)
