"""Write (once) a benign PyTorch checkpoint of a little over 2 GiB for the scan-time comparison.

A torch.save of a state dict of eight 256 MiB float32 tensors plus a few small ones, as a real model
checkpoint looks: almost all bytes are tensor data, the pickle that describes them is a few kilobytes.
The file is cached in benchmarks/.work/ and rebuilt only when missing or of the wrong size. Tensors are
created one at a time and filled deterministically (no 2 GiB of random numbers to draw); peak memory is the
size of the file. Nothing here loads the checkpoint.

Run ``python benchmarks/large_checkpoint.py`` to build it on its own.
"""

from __future__ import annotations

import json
import sys
import time
from collections import OrderedDict
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
LARGE_PATH = BENCH_DIR / ".work" / "large" / "checkpoint-2gib.pt"

GiB = 1024 ** 3
_BIG_TENSORS = 8
_BIG_SHAPE = (8192, 8192)  # 64 Mi float32 = 256 MiB each; 8 of them = 2 GiB of tensor data
MIN_SIZE = 2 * GiB


def _meta_path() -> Path:
    return LARGE_PATH.with_suffix(".json")


def ensure_large_checkpoint(path: Path = LARGE_PATH) -> Path:
    """Return the path of the >= 2 GiB checkpoint, writing it first if needed."""
    meta = _meta_path()
    if path.is_file() and meta.is_file() and json.loads(meta.read_text()).get("size") == path.stat().st_size:
        return path
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    state: OrderedDict[str, torch.Tensor] = OrderedDict()
    for i in range(_BIG_TENSORS):
        # A cheap deterministic fill that is not all zeros (no filesystem or codec shortcut applies).
        state[f"layers.{i}.mlp.weight"] = torch.arange(_BIG_SHAPE[0] * _BIG_SHAPE[1], dtype=torch.float32
                                                       ).mul_(1e-7 * (i + 1)).reshape(_BIG_SHAPE)
        state[f"layers.{i}.mlp.bias"] = torch.zeros(_BIG_SHAPE[0])
        state[f"layers.{i}.norm.weight"] = torch.ones(_BIG_SHAPE[1])
    state["lm_head.bias"] = torch.zeros(32000)
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    del state
    tmp.replace(path)
    size = path.stat().st_size
    if size < MIN_SIZE:
        raise RuntimeError(f"{path} is only {size} bytes; expected at least {MIN_SIZE}")
    meta.write_text(json.dumps({"size": size, "tensors": 3 * _BIG_TENSORS + 1,
                                "build_seconds": round(time.perf_counter() - started, 1)}))
    return path


def main() -> int:
    path = ensure_large_checkpoint()
    print(f"{path}: {path.stat().st_size / GiB:.2f} GiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
