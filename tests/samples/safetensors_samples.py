"""safetensors files: real ones written with the ``safetensors`` package (tests only) and hand-made headers that
break the format in one way each."""

from __future__ import annotations

import json
import pickle
import struct

import numpy as np
from safetensors.numpy import save


def real_safetensors() -> bytes:
    """Several dtypes, an empty tensor and metadata, as the reference writer lays them out."""
    tensors = {
        "embed.weight": np.arange(12, dtype=np.float32).reshape(3, 4),
        "ids": np.arange(5, dtype=np.int64),
        "mask": np.ones(3, dtype=bool),
        "half": np.zeros((2, 2), dtype=np.float16),
        "empty": np.zeros((0, 3), dtype=np.float32),
        "bytes": np.arange(7, dtype=np.uint8),
    }
    return save(tensors, metadata={"format": "np", "note": "benign"})


def real_safetensors_without_metadata() -> bytes:
    return save({"w": np.zeros((4, 4), dtype=np.float64)})


def raw_safetensors(header: dict[str, object] | bytes | str, data: bytes = b"", *, pad: bool = True,
                    header_length: int | None = None) -> bytes:
    """A file with the given header (a dict is JSON-encoded) and data section; the length may lie."""
    if isinstance(header, dict):
        raw = json.dumps(header).encode()
    elif isinstance(header, str):
        raw = header.encode()
    else:
        raw = header
    if pad:
        raw += b" " * (-len(raw) % 8)
    length = len(raw) if header_length is None else header_length
    return struct.pack("<Q", length) + raw + data


def tensor(dtype: str, shape: list[object], begin: int, end: int) -> dict[str, object]:
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


def sub_byte_safetensors() -> bytes:
    """F4 [2, 4] = 32 bits = 4 bytes and F6_E2M3 [4] = 24 bits = 3 bytes: valid sub-byte tensors."""
    return raw_safetensors({"q": tensor("F4", [2, 4], 0, 4), "r": tensor("F6_E2M3", [4], 4, 7)}, b"\x11" * 7)


# name -> (file bytes, whether identify() recognises it by content: False ones need format_hint="safetensors").
MALFORMED: dict[str, tuple[bytes, bool]] = {
    "length-beyond-file": (raw_safetensors({"a": tensor("F32", [1], 0, 4)}, b"\0" * 4, header_length=10_000),
                           False),
    "huge-header-length": (struct.pack("<Q", 2**63) + b"{}      ", False),
    "non-json": (raw_safetensors(b"{this is not json}"), True),
    "json-array": (raw_safetensors(b"[1, 2, 3]"), False),
    "json-with-nan": (raw_safetensors(b'{"a": {"dtype": "F32", "shape": [NaN], "data_offsets": [0, 4]}}',
                                      b"\0" * 4), True),
    "not-utf8": (raw_safetensors(b'{"\xff\xfe": 1}'), True),
    "offsets-out-of-bounds": (raw_safetensors({"a": tensor("F32", [4], 0, 16)}, b"\0" * 8), True),
    "overlapping-offsets": (raw_safetensors({"a": tensor("F32", [4], 0, 16), "b": tensor("F32", [4], 8, 24)},
                                            b"\0" * 24), True),
    "hole-between-tensors": (raw_safetensors({"a": tensor("F32", [2], 0, 8), "b": tensor("F32", [2], 16, 24)},
                                             b"\0" * 24), True),
    "trailing-bytes": (raw_safetensors({"a": tensor("F32", [2], 0, 8)}, b"\0" * 8 + b"hidden payload"), True),
    "shape-size-mismatch": (raw_safetensors({"a": tensor("F32", [3, 3], 0, 16)}, b"\0" * 16), True),
    "unknown-dtype": (raw_safetensors({"a": tensor("F128", [1], 0, 16)}, b"\0" * 16), True),
    "negative-dim": (raw_safetensors({"a": tensor("F32", [-1, 4], 0, 16)}, b"\0" * 16), True),
    "float-dim": (raw_safetensors({"a": tensor("F32", [4.0], 0, 16)}, b"\0" * 16), True),
    "bool-dim": (raw_safetensors({"a": tensor("U8", [True], 0, 1)}, b"\0"), True),
    "begin-after-end": (raw_safetensors({"a": tensor("U8", [0], 8, 0)}, b"\0" * 8), True),
    "three-offsets": (raw_safetensors({"a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1, 2]}}, b"\0"),
                      True),
    "missing-dtype": (raw_safetensors({"a": {"shape": [1], "data_offsets": [0, 1]}}, b"\0"), True),
    "entry-not-object": (raw_safetensors({"a": [1, 2]}), True),
    "metadata-not-strings": (raw_safetensors({"__metadata__": {"x": 1}, "a": tensor("U8", [1], 0, 1)}, b"\0"),
                             True),
    "duplicate-keys": (raw_safetensors(b'{"a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}, '
                                       b'"a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}', b"\0"), True),
    "sub-byte-misaligned": (raw_safetensors({"q": tensor("F4", [3], 0, 2)}, b"\0" * 2), True),
    "overflowing-shape": (raw_safetensors({"a": tensor("F32", [2**40, 2**40], 0, 4)}, b"\0" * 4), True),
    "offset-beyond-u64": (raw_safetensors({"a": tensor("U8", [1], 2**64, 2**64 + 1)}, b"\0"), True),
    "leading-space": (raw_safetensors(b' {"a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}', b"\0"),
                      False),
}


class _RunsCommand:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        import os

        return (os.system, ("true",))


def pickle_named_safetensors() -> bytes:
    """A pickle whose loading would call os.system("true"), to be saved as model.safetensors."""
    return pickle.dumps({"weights": _RunsCommand()}, protocol=4)
