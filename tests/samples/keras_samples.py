"""Keras samples built by hand (Keras is never imported): `.keras` v3 zip archives, legacy Keras 2 `.h5` files
written with h5py, and JSON configs. Lambda payloads are the marshalled bytecode of a lambda that would call
os.system("true"); the code object is only marshalled here, never loaded or run."""

from __future__ import annotations

import base64
import codecs
import copy
import io
import json
import marshal
import os
import zipfile
from collections.abc import Sequence
from typing import Any

import h5py
import numpy as np


def lambda_bytecode_b64(*, keras2_style: bool = False) -> str:
    raw = marshal.dumps((lambda x: os.system("true") or x).__code__)
    if keras2_style:  # Keras 2's func_dump uses codecs' base64, with a newline every 76 characters
        return codecs.encode(raw, "base64").decode("ascii")
    return base64.b64encode(raw).decode("ascii")


# --- Keras 3 (serialization_lib) configs --------------------------------------------------------------------
def _k3(class_name: str, config: dict[str, Any], module: str = "keras.layers",
        registered_name: str | None = None) -> dict[str, Any]:
    return {"module": module, "class_name": class_name, "config": config, "registered_name": registered_name}


def _dtype_policy() -> dict[str, Any]:
    return _k3("DTypePolicy", {"name": "float32"}, module="keras")


def dense(name: str, units: int = 4, activation: Any = "relu") -> dict[str, Any]:
    return _k3("Dense", {
        "name": name, "trainable": True, "dtype": _dtype_policy(), "units": units, "activation": activation,
        "use_bias": True,
        "kernel_initializer": _k3("GlorotUniform", {"seed": None}, module="keras.initializers"),
        "bias_initializer": _k3("Zeros", {}, module="keras.initializers"),
        "kernel_regularizer": _k3("L2", {"l2": 0.01}, module="keras.regularizers"),
        "bias_regularizer": None, "kernel_constraint": None, "bias_constraint": None,
    })


def keras3_lambda_layer(name: str = "preprocess") -> dict[str, Any]:
    return _k3("Lambda", {
        "name": name, "trainable": True, "dtype": _dtype_policy(),
        "function": {"class_name": "__lambda__",
                     "config": {"code": lambda_bytecode_b64(), "defaults": None, "closure": None}},
        "arguments": {}, "output_shape": None,
    })


def keras3_sequential(extra_layers: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    layers = [
        _k3("InputLayer", {"batch_shape": [None, 8], "dtype": "float32", "sparse": False, "name": "input"}),
        dense("dense"),
        _k3("Dropout", {"name": "dropout", "rate": 0.1, "seed": None}),
        _k3("TimeDistributed", {"name": "td", "layer": dense("inner")}),
        _k3("Bidirectional", {"name": "bi", "merge_mode": "concat",
                              "layer": _k3("LSTM", {"name": "lstm", "units": 4, "activation": "tanh",
                                                    "recurrent_activation": "sigmoid"})}),
        *extra_layers,
        dense("head", units=2, activation="softmax"),
    ]
    return {
        "module": "keras", "class_name": "Sequential", "registered_name": None,
        "config": {"name": "sequential", "trainable": True, "dtype": _dtype_policy(), "layers": layers},
        "build_config": {"input_shape": [None, 8]},
        "compile_config": {
            "optimizer": _k3("Adam", {"name": "adam", "learning_rate": 0.001}, module="keras.optimizers"),
            "loss": _k3("CategoricalCrossentropy", {"name": "cce", "from_logits": False}, module="keras.losses"),
            "metrics": ["accuracy"], "loss_weights": None, "jit_compile": False,
        },
    }


def keras3_functional_with_nested_lambda() -> dict[str, Any]:
    """A Functional model holding a nested model whose TimeDistributed wrapper wraps a Lambda layer."""
    inner = keras3_sequential([_k3("TimeDistributed", {"name": "wrap", "layer": keras3_lambda_layer("hidden")})])
    inner["config"]["name"] = "inner_model"
    return {"module": "keras", "class_name": "Functional", "registered_name": None,
            "config": {"name": "outer", "layers": [
                {**_k3("InputLayer", {"batch_shape": [None, 8], "name": "in"}), "name": "in", "inbound_nodes": []},
                {**inner, "name": "inner_model", "inbound_nodes": [[["in", 0, 0, {}]]]},
            ], "input_layers": [["in", 0, 0]], "output_layers": [["inner_model", 0, 0]]}}


def keras3_custom_object_config() -> dict[str, Any]:
    return keras3_sequential([_k3("EvilLayer", {"name": "evil"}, module="evil_pkg.layers",
                                  registered_name="evil_pkg>EvilLayer")])


def keras3_os_system_activation_config() -> dict[str, Any]:
    """CVE-2025-1550 style: a function resolved by module and name (os.system) used as an activation."""
    activation = {"module": "os", "class_name": "function", "config": "system", "registered_name": "system"}
    return keras3_sequential([dense("hijacked", activation=activation)])


def keras3_builtins_eval_loss_config() -> dict[str, Any]:
    config = keras3_sequential()
    config["compile_config"]["loss"] = {"module": "builtins", "class_name": "function", "config": "eval",
                                        "registered_name": None}
    return config


def keras3_registered_custom_layer_config() -> dict[str, Any]:
    return keras3_sequential([_k3("MyBlock", {"name": "block"}, module="keras.layers",
                                  registered_name="MyProject>MyBlock")])


def keras_v3_archive(config: dict[str, Any]) -> bytes:
    """A `.keras` file: zip of config.json, metadata.json and model.weights.h5 (h5py)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.6.0", "date_saved": "2026-11-01@12:00:00"}))
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.h5", keras_v3_weights_h5())
    return out.getvalue()


def keras_v3_weights_h5() -> bytes:
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        for layer in ("dense", "head"):
            group = f.create_group(f"layers/{layer}/vars")
            group.create_dataset("0", data=np.ones((8, 4), dtype="float32"))
            group.create_dataset("1", data=np.zeros((4,), dtype="float32"))
        f.create_group("optimizer/vars").create_dataset("0", data=np.array(3, dtype="int64"))
    return buffer.getvalue()


# --- Keras 2 (tf.keras) configs and .h5 files ---------------------------------------------------------------
def keras2_sequential(extra_layers: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    layers = [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 8], "dtype": "float32",
                                                 "name": "input_1"}},
        {"class_name": "Dense", "config": {"name": "dense", "units": 4, "activation": "relu",
                                           "kernel_initializer": {"class_name": "GlorotUniform",
                                                                  "config": {"seed": None}},
                                           "bias_initializer": {"class_name": "Zeros", "config": {}}}},
        *extra_layers,
        {"class_name": "Dense", "config": {"name": "head", "units": 2, "activation": "softmax"}},
    ]
    return {"class_name": "Sequential", "config": {"name": "sequential", "layers": layers}}


def keras2_lambda_layer(name: str = "lambda") -> dict[str, Any]:
    return {"class_name": "Lambda", "config": {
        "name": name, "trainable": True, "dtype": "float32",
        "function": [lambda_bytecode_b64(keras2_style=True), None, None], "function_type": "lambda",
        "module": "__main__", "output_shape": None, "output_shape_type": "raw", "output_shape_module": None,
        "arguments": {}}}


def keras2_tuple_lambda_layer(name: str = "lambda") -> dict[str, Any]:
    """A tf.keras 2.x Lambda as keras_metadata.pb stores it: func_dump's (code, defaults, closure) tuple written
    by the SavedModel JSON encoder as {"class_name": "__tuple__", "items": [...]} (output_shape too)."""
    layer = keras2_lambda_layer(name)
    layer["config"]["function"] = {"class_name": "__tuple__",
                                   "items": [lambda_bytecode_b64(keras2_style=True), None, None]}
    layer["config"]["output_shape"] = {"class_name": "__tuple__", "items": [None, 4]}
    return layer


def keras2_evil_pkg_config() -> dict[str, Any]:
    """tf.keras 2.13+ writes module-qualified objects into .h5 model configs too."""
    return keras2_sequential([{"module": "evil_pkg", "class_name": "Backdoor", "config": {"name": "backdoor"},
                               "registered_name": "Backdoor"}])


def keras2_training_config() -> dict[str, Any]:
    return {"loss": "categorical_crossentropy", "metrics": [["accuracy"]], "weighted_metrics": None,
            "loss_weights": None, "optimizer_config": {"class_name": "Adam", "config": {"learning_rate": 0.001}}}


def long_config(base: dict[str, Any], min_bytes: int = 70 * 1024) -> dict[str, Any]:
    """Pad a config with many ordinary layers until its JSON is bigger than ``min_bytes``."""
    config = copy.deepcopy(base)
    pad = [{"class_name": "Dense", "config": {"name": f"pad_{i:05d}", "units": 4, "activation": "relu"}}
           for i in range(min_bytes // 60 + 1)]
    config["config"]["layers"][1:1] = pad
    return config


def keras2_h5(config: dict[str, Any] | None, *, training_config: dict[str, Any] | None = None,
              libver: str | None = None, fixed_length: bool = False, many_attributes: int = 0) -> bytes:
    """A Keras 2 `.h5`: root attributes model_config (JSON), keras_version, backend, training_config, and a
    model_weights group with weight datasets. ``fixed_length`` stores the JSON as a fixed-length string (h5py
    otherwise writes variable-length strings into the global heap); ``many_attributes`` adds attributes so
    that libver="latest" moves them into dense storage (a fractal heap)."""
    buffer = io.BytesIO()
    kwargs = {"libver": libver} if libver else {}
    with h5py.File(buffer, "w", **kwargs) as f:
        for i in range(many_attributes):
            f.attrs[f"note_{i}"] = i
        if config is not None:
            text = json.dumps(config).encode("utf-8")
            f.attrs["model_config"] = np.bytes_(text) if fixed_length else text
        f.attrs["keras_version"] = "2.15.0"
        f.attrs["backend"] = "tensorflow"
        if training_config is not None:
            f.attrs["training_config"] = json.dumps(training_config).encode("utf-8")
        weights = f.create_group("model_weights")
        weights.attrs["layer_names"] = np.array([b"dense", b"head"])
        for layer in ("dense", "head"):
            group = weights.create_group(layer)
            group.attrs["weight_names"] = np.array([f"{layer}/kernel:0".encode(), f"{layer}/bias:0".encode()])
            group.create_dataset(f"{layer}/kernel:0", data=np.full((8, 4), 0.5, dtype="float32"))
            group.create_dataset(f"{layer}/bias:0", data=np.zeros((4,), dtype="float32"))
    return buffer.getvalue()
