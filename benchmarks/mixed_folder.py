"""Write (once) a realistic mixed model folder of about 2.5 GiB for the folder-scan comparison.

The 1 MB detection corpus is 158 toy files: a folder scan of it measures process start-up, not scanning. This
folder looks like what a model registry or a shared drive holds: multi-hundred-megabyte PyTorch checkpoints,
scikit-learn-style pickles and joblib files whose NumPy arrays sit inside the pickle stream (the bytes a
pickle-only scanner has to walk opcode by opcode), NumPy files, safetensors, GGUF, ONNX, Keras H5, a Hugging
Face folder, plus a copy of the detection corpus so that malicious files are present as well.

Array data is drawn from ``np.random.default_rng(0)`` where content matters (pickled arrays, compressed
joblib); tensor bytes that are only skipped (safetensors, GGUF) are zeros. Everything is written with the
libraries' own writers (torch.save, pickle, joblib, numpy, safetensors, onnx.helper, h5py) except GGUF,
whose header is written by hand. The folder is cached in benchmarks/.work/mixed/ and rebuilt only when the
recipe version or a file size changes. Nothing here loads a file it wrote.

Run ``python benchmarks/mixed_folder.py`` to build it on its own.
"""

from __future__ import annotations

import json
import pickle
import shutil
import struct
import sys
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import corpus

BENCH_DIR = Path(__file__).resolve().parent
MIXED_DIR = BENCH_DIR / ".work" / "mixed"
MANIFEST = BENCH_DIR / ".work" / "mixed.json"  # outside the folder, so that no tool scans it
RECIPE_VERSION = 1  # bump when the recipe changes, so cached folders are rebuilt

MiB = 1024 ** 2
_F32 = 4  # bytes per float32


class _RandomPool:
    """One block of random float32 numbers, sliced for every array: drawing 2 GB of random numbers would cost
    most of the build time, and no scanner looks at whether two tensors share values."""

    def __init__(self, mib: int) -> None:
        import numpy as np

        self._block = np.random.default_rng(0).random(mib * MiB // _F32, dtype=np.float32)
        self._next = 0

    def array(self, shape: tuple[int, ...]) -> Any:
        count = 1
        for dim in shape:
            count *= dim
        if count > self._block.size:
            raise ValueError(f"array of {count} floats is larger than the pool")
        if self._next + count > self._block.size:
            self._next = 0
        # A copy, so that each array owns its bytes as a real model's would.
        out = self._block[self._next:self._next + count].reshape(shape).copy()
        self._next += count
        return out


# --- writers --------------------------------------------------------------------------------------------

def _torch_checkpoint(path: Path, pool: _RandomPool, layers: int, hidden: int, *, legacy: bool = False) -> None:
    """A transformer-like state dict: per layer a hidden x 4*hidden MLP pair plus norms and biases."""
    import torch

    state: OrderedDict[str, Any] = OrderedDict()
    state["embed_tokens.weight"] = torch.from_numpy(pool.array((8000, hidden)))
    for i in range(layers):
        state[f"layers.{i}.mlp.up_proj.weight"] = torch.from_numpy(pool.array((4 * hidden, hidden)))
        state[f"layers.{i}.mlp.down_proj.weight"] = torch.from_numpy(pool.array((hidden, 4 * hidden)))
        state[f"layers.{i}.mlp.up_proj.bias"] = torch.zeros(4 * hidden)
        state[f"layers.{i}.input_layernorm.weight"] = torch.ones(hidden)
    state["norm.weight"] = torch.ones(hidden)
    torch.save(state, path, _use_new_zipfile_serialization=not legacy)


def _sklearn_like_pickle(path: Path, pool: _RandomPool, protocol: int, rows: int, cols: int) -> None:
    """What a pickled scikit-learn estimator's state looks like: parameters, small fitted attributes and a few
    large arrays, all inline in one pickle stream."""
    import numpy as np

    state = {
        "params": {"n_estimators": 200, "max_depth": None, "criterion": "gini", "random_state": 0},
        "classes_": np.arange(10),
        "feature_names_in_": np.array([f"f{i}" for i in range(cols)], dtype=object),
        "n_features_in_": cols,
        "coef_": pool.array((rows, cols)),
        "components_": pool.array((rows // 2, cols)),
        "mean_": pool.array((cols,)),
        "support_vectors_": pool.array((rows // 2, cols)),
        "thresholds_": [pool.array((1000,)) for _ in range(20)],
        "_sklearn_version": "1.5.2",
    }
    path.write_bytes(pickle.dumps(state, protocol=protocol))


def _joblib(path: Path, pool: _RandomPool, arrays: int, shape: tuple[int, int], compress: Any = 0) -> None:
    import joblib

    model = {"estimator": "RandomForestRegressor", "n_outputs_": 1,
             **{f"tree_{i}_values": pool.array(shape) for i in range(arrays)}}
    joblib.dump(model, path, compress=compress)


def _gguf(path: Path, tensors: int, shape: tuple[int, int]) -> None:
    """GGUF v3 (ggml/docs/gguf.md): benign Llama 3 metadata and chat template, ``tensors`` F32 tensors of zeros
    at 32-byte aligned offsets. The header is built by hand because the gguf package is not a dependency."""
    meta = corpus._gguf_meta(corpus.LLAMA3_TEMPLATE)
    meta["general.name"] = "bench-mixed"
    kv = b""
    for key, value in meta.items():
        kv += corpus._gs(key)
        if isinstance(value, str):
            kv += struct.pack("<I", corpus._GGUF_STRING) + corpus._gs(value)
        elif isinstance(value, float):
            kv += struct.pack("<If", corpus._GGUF_FLOAT32, value)
        elif isinstance(value, int):
            kv += struct.pack("<II", corpus._GGUF_UINT32, value)
        else:
            kv += struct.pack("<IIQ", corpus._GGUF_ARRAY, corpus._GGUF_STRING, len(value)) + b"".join(
                corpus._gs(v) for v in value)
    tensor_bytes = shape[0] * shape[1] * _F32  # a multiple of 32, so every offset stays aligned
    infos = b""
    for i in range(tensors):
        # Dimensions are listed fastest-varying first; type 0 = F32.
        infos += corpus._gs(f"blk.{i}.ffn_up.weight") + struct.pack("<IQQIQ", 2, shape[1], shape[0], 0,
                                                                     i * tensor_bytes)
    header = b"GGUF" + struct.pack("<IQQ", 3, tensors, len(meta)) + kv + infos
    header += b"\x00" * (-len(header) % 32)
    zeros = bytes(tensor_bytes)
    with open(path, "wb") as out:
        out.write(header)
        for _ in range(tensors):
            out.write(zeros)


def _onnx(path: Path, pool: _RandomPool, n: int) -> None:
    """A one-MatMul graph whose weight is an n x n float32 initializer stored inline (raw_data)."""
    import onnx
    from onnx import TensorProto, helper

    weight = helper.make_tensor("W", TensorProto.FLOAT, (n, n), pool.array((n, n)).tobytes(), raw=True)
    graph = helper.make_graph([helper.make_node("MatMul", ["X", "W"], ["Y"]), helper.make_node("Relu", ["Y"], ["Z"])],
                              "bench_mixed", [helper.make_tensor_value_info("X", TensorProto.FLOAT, (1, n))],
                              [helper.make_tensor_value_info("Z", TensorProto.FLOAT, (1, n))], initializer=[weight])
    model = helper.make_model(graph, producer_name="mlwarden-benchmark",
                              opset_imports=[helper.make_opsetid("", 17)])
    onnx.save_model(model, str(path))


def _keras_h5(path: Path, pool: _RandomPool, layers: int, units: int) -> None:
    """A Keras 2 Sequential of Dense layers in the legacy H5 layout: model_config JSON attribute plus weights."""
    import h5py

    config = corpus._k2_model("Sequential", [corpus._k2_dense(f"dense_{i}", units) for i in range(layers)])
    with h5py.File(path, "w") as h5:
        h5.attrs["keras_version"] = "2.15.0"
        h5.attrs["backend"] = "tensorflow"
        h5.attrs["model_config"] = json.dumps(config)
        weights = h5.create_group("model_weights")
        for i in range(layers):
            group = weights.create_group(f"dense_{i}/dense_{i}")
            group.create_dataset("kernel:0", data=pool.array((units, units)))
            group.create_dataset("bias:0", data=pool.array((units,)))


def _hf_folder(folder: Path, pool: _RandomPool) -> None:
    """A Hugging Face model folder: configs, tokenizer files and a ~300 MiB safetensors file (zeros)."""
    import numpy as np
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_bytes(corpus._hf_config("gpt2"))
    (folder / "generation_config.json").write_text(json.dumps({"bos_token_id": 0, "eos_token_id": 1,
                                                               "max_new_tokens": 256}, indent=2))
    (folder / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "GPT2Tokenizer", "model_max_length": 4096, "bos_token": "<|begin_of_text|>",
        "eos_token": "<|eot_id|>", "chat_template": corpus.LLAMA3_TEMPLATE}, indent=2))
    (folder / "special_tokens_map.json").write_text(json.dumps({"bos_token": "<|begin_of_text|>",
                                                                "eos_token": "<|eot_id|>"}, indent=2))
    tensors = {f"h.{i}.mlp.c_fc.weight": np.zeros((4096, 4096), dtype=np.float32) for i in range(4)}
    tensors["h.0.ln_1.weight"] = np.ones(4096, dtype=np.float32)
    tensors["wte.weight"] = pool.array((4096, 1024))
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
    (folder / "README.md").write_text("---\nlicense: apache-2.0\n---\n# bench-mixed\n\nBenchmark model card.\n")


# --- the recipe -----------------------------------------------------------------------------------------

def _build(out: Path) -> None:
    import numpy as np

    pool = _RandomPool(256)  # 256 MiB of random float32, sliced for every random array
    (out / "checkpoints").mkdir(parents=True)
    # Three zip checkpoints of ~256, ~384 and ~448 MiB, and one legacy (non-zip) checkpoint of ~112 MiB.
    _torch_checkpoint(out / "checkpoints" / "model-step1000.pt", pool, layers=7, hidden=1024)
    _torch_checkpoint(out / "checkpoints" / "model-step2000.pt", pool, layers=11, hidden=1024)
    _torch_checkpoint(out / "checkpoints" / "pytorch_model.bin", pool, layers=13, hidden=1024)
    _torch_checkpoint(out / "checkpoints" / "legacy_model.pth", pool, layers=3, hidden=1024, legacy=True)

    sk = out / "sklearn"
    sk.mkdir()
    _sklearn_like_pickle(sk / "pca_svm_p4.pkl", pool, protocol=4, rows=8192, cols=2048)  # ~128 MiB
    _sklearn_like_pickle(sk / "pca_svm_p5.pkl", pool, protocol=5, rows=12288, cols=2048)  # ~192 MiB
    _joblib(sk / "forest.joblib", pool, arrays=8, shape=(3200, 2048))  # ~200 MiB
    _joblib(sk / "forest_small.joblib.z", pool, arrays=2, shape=(3200, 2048), compress=("zlib", 3))  # ~50 MiB raw

    arrays = out / "arrays"
    arrays.mkdir()
    np.save(arrays / "embeddings.npy", pool.array((51200, 1024)))  # 200 MiB
    np.savez(arrays / "activations.npz", **{f"layer_{i}": pool.array((4096, 1024)) for i in range(4)})  # 64 MiB
    np.savez_compressed(arrays / "labels.npz", labels=np.arange(1_000_000) % 10, ids=np.arange(1_000_000))

    _hf_folder(out / "hf-model", pool)
    gguf = out / "gguf"
    gguf.mkdir()
    _gguf(gguf / "bench-mixed-f32.gguf", tensors=6, shape=(4096, 2048))  # 192 MiB
    onnx_dir = out / "onnx"
    onnx_dir.mkdir()
    _onnx(onnx_dir / "matmul.onnx", pool, n=5120)  # 100 MiB initializer
    keras_dir = out / "keras"
    keras_dir.mkdir()
    _keras_h5(keras_dir / "dense_stack.h5", pool, layers=3, units=2048)  # 48 MiB

    # The detection corpus, so that the folder holds malicious files of every format too.
    corpus.build_corpus()
    shutil.copytree(corpus.DEFAULT_OUT, out / "corpus", ignore=shutil.ignore_patterns("manifest.json"))


def folder_stats(folder: Path) -> dict[str, int]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return {"files": len(files), "bytes": sum(p.stat().st_size for p in files)}


def ensure_mixed_folder(out: Path = MIXED_DIR) -> dict[str, Any]:
    """Return the manifest of the mixed folder (path, files, bytes, build seconds), building it if needed."""
    if out.is_dir() and MANIFEST.is_file():
        manifest = json.loads(MANIFEST.read_text())
        if manifest.get("version") == RECIPE_VERSION and manifest.get("path") == str(out) \
                and {k: manifest.get(k) for k in ("files", "bytes")} == folder_stats(out):
            return manifest
    if out.exists():
        shutil.rmtree(out)
    started = time.perf_counter()
    tmp = out.with_name(out.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    _build(tmp)
    tmp.replace(out)
    manifest = {"version": RECIPE_VERSION, "path": str(out), **folder_stats(out),
                "build_seconds": round(time.perf_counter() - started, 1)}
    MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main() -> int:
    manifest = ensure_mixed_folder()
    print(f"{manifest['path']}: {manifest['files']} files, {manifest['bytes'] / 1024 ** 3:.2f} GiB "
          f"(built in {manifest['build_seconds']} s)")
    for path in sorted(p for p in Path(manifest["path"]).rglob("*") if p.is_file() and p.stat().st_size > MiB):
        print(f"  {path.relative_to(manifest['path'])}: {path.stat().st_size / MiB:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
