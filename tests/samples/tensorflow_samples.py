"""Hand-built TensorFlow SavedModel protobufs (TensorFlow is never imported) and the tiny protobuf encoder the
ONNX and Keras samples share. Field numbers follow tensorflow/core/protobuf/saved_model.proto, meta_graph.proto,
saved_object_graph.proto and tensorflow/core/framework/graph.proto, function.proto, node_def.proto,
attr_value.proto, op_def.proto; keras/protobuf/saved_metadata.proto for keras_metadata.pb."""

from __future__ import annotations

import json
from collections.abc import Sequence

from mlwarden.demo import proto_field as field
from mlwarden.demo import proto_varint as varint


# --- protobuf wire encoding -------------------------------------------------------------------------------
def tag(number: int, wire_type: int) -> bytes:
    return varint(number << 3 | wire_type)


def fields(number: int, payloads: Sequence[bytes] | Sequence[str]) -> bytes:
    return b"".join(field(number, p) for p in payloads)


# --- TensorFlow messages ----------------------------------------------------------------------------------
def attr_entry(key: str, *, s: str | None = None, strings: list[str] | None = None, func: str | None = None,
               tensor_bytes: int = 0) -> bytes:
    """A NodeDef.attr map entry: key = 1, AttrValue value = 2 (list = 1, s = 2, tensor = 8, func = 10)."""
    if s is not None:
        value = field(2, s)
    elif strings is not None:
        value = field(1, fields(2, strings))
    elif func is not None:
        value = field(10, field(1, func))
    else:
        # TensorProto { dtype = 1; tensor_content = 4 }: a Const value the scanner must skip, not read.
        value = field(8, field(1, 1) + field(4, b"\x00" * tensor_bytes))
    return field(1, key) + field(2, value)


def node_def(name: str, op: str, *attrs: bytes, inputs: tuple[str, ...] = ()) -> bytes:
    return field(1, name) + field(2, op) + fields(3, list(inputs)) + b"".join(field(5, a) for a in attrs)


def function_def(name: str, nodes: Sequence[bytes]) -> bytes:
    signature = field(1, name)  # OpDef.name
    return field(1, signature) + b"".join(field(3, n) for n in nodes)


def graph_def(nodes: Sequence[bytes], functions: Sequence[bytes] = ()) -> bytes:
    library = b"".join(field(1, f) for f in functions)
    versions = field(4, field(1, 1286))
    return b"".join(field(1, n) for n in nodes) + (field(2, library) if functions else b"") + versions


def meta_graph(graph: bytes, *, ops: Sequence[str], saver: tuple[str, str, str] | None = None,
               assets: Sequence[str] = (), user_metadata: Sequence[str] = ()) -> bytes:
    op_list = b"".join(field(1, field(1, op)) for op in sorted(set(ops)))
    info = field(2, op_list) + field(4, "serve") + field(5, "2.15.0")
    out = field(1, info) + field(2, graph)
    if saver is not None:
        out += field(3, field(1, saver[0]) + field(2, saver[1]) + field(3, saver[2]))
    for filename in assets:
        out += field(6, field(2, filename))
    if user_metadata:
        nodes = b"".join(field(1, field(4, field(1, "_tf_keras_layer") + field(3, meta)))
                         for meta in user_metadata)
        out += field(7, nodes)
    return out


def saved_model(*metas: bytes) -> bytes:
    return field(1, 1) + b"".join(field(2, m) for m in metas)


# --- samples ----------------------------------------------------------------------------------------------
SERVE_OPS = ["MatMul", "BiasAdd", "Relu", "Identity", "ReadVariableOp"]
SAVE_OPS = ["StaticRegexFullMatch", "Const", "Select", "StringJoin", "ShardedFilename", "SaveV2",
            "MergeV2Checkpoints", "Identity", "NoOp"]
RESTORE_OPS = ["RestoreV2", "Identity", "AssignVariableOp", "NoOp"]


def _body(prefix: str, ops: Sequence[str]) -> list[bytes]:
    return [node_def(f"{prefix}_{i}", op) for i, op in enumerate(ops)]


def tf2_saved_model(*, serve_ops: Sequence[str] = tuple(SERVE_OPS), extra_functions: Sequence[bytes] = (),
                    extra_nodes: Sequence[bytes] = (), assets: Sequence[str] = (),
                    user_metadata: Sequence[str] = (), const_bytes: int = 64) -> bytes:
    """A TF2-style SavedModel: variables, a serving function, the traced save/restore functions."""
    functions = [
        function_def("__inference_serve_10", _body("serve", serve_ops)),
        function_def("__inference__traced_save_45", _body("save", SAVE_OPS)),
        function_def("__inference__traced_restore_57", _body("restore", RESTORE_OPS)),
        *extra_functions,
    ]
    nodes = [
        node_def("serving_default_x", "Placeholder"),
        node_def("dense/kernel", "VarHandleOp"),
        node_def("Const", "Const", attr_entry("value", tensor_bytes=const_bytes)),
        node_def("StatefulPartitionedCall", "StatefulPartitionedCall", attr_entry("f", func="__inference_serve_10")),
        node_def("saver_filename", "Placeholder"),
        node_def("StatefulPartitionedCall_1", "StatefulPartitionedCall",
                 attr_entry("f", func="__inference__traced_save_45")),
        node_def("StatefulPartitionedCall_2", "StatefulPartitionedCall",
                 attr_entry("f", func="__inference__traced_restore_57")),
        node_def("NoOp", "NoOp"),
        *extra_nodes,
    ]
    ops = ["Placeholder", "VarHandleOp", "Const", "StatefulPartitionedCall", "NoOp", *serve_ops, *SAVE_OPS,
           *RESTORE_OPS]
    meta = meta_graph(graph_def(nodes, functions), ops=ops,
                      saver=("saver_filename:0", "StatefulPartitionedCall_1:0", "StatefulPartitionedCall_2"),
                      assets=assets, user_metadata=user_metadata)
    return saved_model(meta)


def tf1_saved_model() -> bytes:
    """A TF1 (tf.compat.v1 Saver) SavedModel: the checkpoint ops live in the "save" name scope."""
    nodes = [
        node_def("x", "Placeholder"), node_def("w", "VariableV2"), node_def("w/read", "Identity"),
        node_def("MatMul", "MatMul"), node_def("save/Const", "Const"), node_def("save/SaveV2", "SaveV2"),
        node_def("save/ShardedFilename", "ShardedFilename"), node_def("save/MergeV2Checkpoints", "MergeV2Checkpoints"),
        node_def("save/RestoreV2", "RestoreV2"), node_def("save/Assign", "Assign"),
        node_def("save/restore_all", "NoOp"), node_def("init", "NoOp"),
    ]
    ops = ["Placeholder", "VariableV2", "Identity", "MatMul", "Const", "SaveV2", "ShardedFilename",
           "MergeV2Checkpoints", "RestoreV2", "Assign", "NoOp"]
    return saved_model(meta_graph(graph_def(nodes), ops=ops,
                                  saver=("save/Const:0", "save/control_dependency:0", "save/restore_all")))


def read_file_in_function() -> bytes:
    steal = function_def("__inference_serve_99", [node_def("path", "Const"), node_def("ReadFile", "ReadFile"),
                                                  node_def("out", "Identity")])
    return tf2_saved_model(extra_functions=[steal])


def py_func_model() -> bytes:
    return tf2_saved_model(extra_nodes=[node_def("PyFunc", "PyFunc", attr_entry("token", s="pyfunc_0"))])


def write_file_model() -> bytes:
    return tf2_saved_model(serve_ops=[*SERVE_OPS, "WriteFile"])


def save_in_serving_function() -> bytes:
    return tf2_saved_model(serve_ops=[*SERVE_OPS, "SaveV2"])


def custom_op_model() -> bytes:
    return tf2_saved_model(serve_ops=[*SERVE_OPS, "ZeroOut"])


def print_to_file_model() -> bytes:
    printer = node_def("print", "PrintV2", attr_entry("output_stream", s="file:///tmp/leak.txt"))
    return tf2_saved_model(extra_nodes=[printer])


def print_to_stderr_model() -> bytes:
    return tf2_saved_model(extra_nodes=[node_def("print", "PrintV2", attr_entry("output_stream", s="stderr"))])


def asset_traversal_model() -> bytes:
    return tf2_saved_model(assets=["vocab.txt", "../../../etc/passwd"])


def keras_object_metadata_model(metadata: dict) -> bytes:
    return tf2_saved_model(user_metadata=[json.dumps(metadata)])


def keras_metadata_pb(metadatas: list[dict]) -> bytes:
    """keras_metadata.pb: SavedMetadata { nodes = 1 } -> SavedObject { node_id = 2, node_path = 3,
    identifier = 4, metadata = 5 }."""
    return b"".join(field(1, field(2, i) + field(3, f"root.layer_{i}") + field(4, "_tf_keras_layer")
                          + field(5, json.dumps(m))) for i, m in enumerate(metadatas))
