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


# --- mirrors of real TensorFlow 2.21 output --------------------------------------------------------------
# tf.saved_model.save of a tf.Module with one tf.Variable ("kernel") and a tf.function "serve"
# (tf.TensorSpec([None, 3])), signature serving_default: node names, inputs, function names and SaverDef
# exactly as TensorFlow 2.21 wrote them (tensor values and shapes left out).
def _call(name: str, function: str, *inputs: str) -> bytes:
    return node_def(name, "StatefulPartitionedCall", attr_entry("f", func=function), inputs=inputs)


def _nodes(*specs: tuple[str, str, tuple[str, ...]]) -> list[bytes]:
    return [node_def(name, op, inputs=inputs) for name, op, inputs in specs]


REAL_TRACED_SAVE = _nodes(
    ("StaticRegexFullMatch", "StaticRegexFullMatch", ("file_prefix",)), ("Const", "Const", ()),
    ("Const_1", "Const", ()), ("Select", "Select", ("StaticRegexFullMatch:output:0", "Const:output:0",
                                                       "Const_1:output:0")),
    ("StringJoin", "StringJoin", ("file_prefix", "Select:output:0")),
    ("Read/DisableCopyOnRead", "DisableCopyOnRead", ("read_disablecopyonread_kernel",)),
    ("Read/ReadVariableOp", "ReadVariableOp", ("read_disablecopyonread_kernel", "^Read/DisableCopyOnRead")),
    ("Identity", "Identity", ("Read/ReadVariableOp:value:0",)), ("Identity_1", "Identity", ("Identity:output:0",)),
    ("num_shards", "Const", ()), ("ShardedFilename/shard", "Const", ()),
    ("ShardedFilename", "ShardedFilename", ("StringJoin:output:0", "ShardedFilename/shard:output:0",
                                            "num_shards:output:0")),
    ("SaveV2/tensor_names", "Const", ()), ("SaveV2/shape_and_slices", "Const", ()),
    ("SaveV2", "SaveV2", ("ShardedFilename:filename:0", "SaveV2/tensor_names:output:0",
                          "SaveV2/shape_and_slices:output:0")),
    ("MergeV2Checkpoints/checkpoint_prefixes", "Pack", ("ShardedFilename:filename:0", "^SaveV2")),
    ("MergeV2Checkpoints", "MergeV2Checkpoints", ("MergeV2Checkpoints/checkpoint_prefixes:output:0",
                                                  "file_prefix")),
    ("Identity_2", "Identity", ("file_prefix", "^MergeV2Checkpoints")),
    ("Identity_3", "Identity", ("Identity_2:output:0", "^NoOp")),
    ("NoOp", "NoOp", ("^MergeV2Checkpoints", "^Read/DisableCopyOnRead", "^Read/ReadVariableOp")),
)
REAL_TRACED_RESTORE = _nodes(
    ("RestoreV2/tensor_names", "Const", ()), ("RestoreV2/shape_and_slices", "Const", ()),
    ("RestoreV2", "RestoreV2", ("file_prefix", "RestoreV2/tensor_names:output:0",
                                "RestoreV2/shape_and_slices:output:0")),
    ("Identity", "Identity", ("RestoreV2:tensors:0",)),
    ("AssignVariableOp", "AssignVariableOp", ("assignvariableop_kernel", "Identity:output:0")),
    ("NoOp", "NoOp", ()), ("Identity_1", "Identity", ("file_prefix", "^AssignVariableOp", "^NoOp")),
    ("Identity_2", "Identity", ("Identity_1:output:0", "^NoOp_1")), ("NoOp_1", "NoOp", ("^AssignVariableOp",)),
)


def tf2_real_module_saved_model(*, serve_extra: Sequence[bytes] = (), extra_nodes: Sequence[bytes] = (),
                                concrete_functions: Sequence[str] = ()) -> bytes:
    """The TF 2.21 tf.Module SavedModel (see above); the keyword arguments add hostile variations."""
    serve = _nodes(("MatMul/ReadVariableOp", "ReadVariableOp", ("matmul_readvariableop_resource",)),
                   ("MatMul", "MatMul", ("x", "MatMul/ReadVariableOp:value:0")),
                   ("Relu", "Relu", ("MatMul:product:0",)), ("NoOp", "NoOp", ("^MatMul/ReadVariableOp",)),
                   ("Identity", "Identity", ("Relu:activations:0", "^NoOp")))
    functions = [
        function_def("__inference_signature_wrapper_serve_21", [
            _call("StatefulPartitionedCall", "__inference_serve_13", "x", "unknown"),
            node_def("NoOp", "NoOp"), node_def("Identity", "Identity")]),
        function_def("__inference_serve_13", [*serve, *serve_extra]),
        function_def("__inference__traced_restore_61", REAL_TRACED_RESTORE),
        function_def("__inference__traced_save_49", REAL_TRACED_SAVE),
    ]
    nodes = [
        node_def("kernel", "VarHandleOp"), node_def("kernel/Read/ReadVariableOp", "ReadVariableOp", inputs=("kernel",)),
        node_def("serving_default_x", "Placeholder"),
        _call("StatefulPartitionedCall", "__inference_signature_wrapper_serve_21", "serving_default_x", "kernel"),
        node_def("NoOp", "NoOp"), node_def("Const", "Const", attr_entry("value", tensor_bytes=16)),
        node_def("saver_filename", "Placeholder"),
        _call("StatefulPartitionedCall_1", "__inference__traced_save_49", "saver_filename", "kernel", "Const"),
        _call("StatefulPartitionedCall_2", "__inference__traced_restore_61", "saver_filename", "kernel"),
        *extra_nodes,
    ]
    ops = ["AssignVariableOp", "Const", "DisableCopyOnRead", "Identity", "MatMul", "MergeV2Checkpoints", "NoOp",
           "Pack", "Placeholder", "ReadVariableOp", "Relu", "RestoreV2", "SaveV2", "Select", "ShardedFilename",
           "StatefulPartitionedCall", "StaticRegexFullMatch", "StringJoin", "VarHandleOp"]
    meta = meta_graph(graph_def(nodes, functions), ops=ops,
                      saver=("saver_filename:0", "StatefulPartitionedCall_1:0", "StatefulPartitionedCall_2"))
    objects = field(2, field(1, "__inference_serve_13")) + field(2, field(1, "__inference_signature_wrapper_serve_21"))
    objects += b"".join(field(2, field(1, name)) for name in concrete_functions)
    return saved_model(meta + field(7, objects))


def tf1_real_sharded_saver_saved_model() -> bytes:
    """tf.compat.v1 SavedModelBuilder.add_meta_graph_and_variables without a saver (TF 2.21 builds a sharded
    Saver under "save/"): node names, inputs and SaverDef as written."""
    nodes = _nodes(
        ("x", "Placeholder", ()), ("w", "VarHandleOp", ()), ("w/Read/ReadVariableOp", "ReadVariableOp", ("w",)),
        ("MatMul/ReadVariableOp", "ReadVariableOp", ("w",)), ("MatMul", "MatMul", ("x", "MatMul/ReadVariableOp")),
        ("y", "Relu", ("MatMul",)), ("init", "NoOp", ()),
        ("save/filename/input", "Const", ()), ("save/filename", "PlaceholderWithDefault", ("save/filename/input",)),
        ("save/Const", "PlaceholderWithDefault", ("save/filename",)),
        ("save/StaticRegexFullMatch", "StaticRegexFullMatch", ("save/Const",)),
        ("save/Const_1", "Const", ()), ("save/Const_2", "Const", ()),
        ("save/Select", "Select", ("save/StaticRegexFullMatch", "save/Const_1", "save/Const_2")),
        ("save/StringJoin", "StringJoin", ("save/Const", "save/Select")), ("save/num_shards", "Const", ()),
        ("save/ShardedFilename/shard", "Const", ()),
        ("save/ShardedFilename", "ShardedFilename", ("save/StringJoin", "save/ShardedFilename/shard",
                                                     "save/num_shards")),
        ("save/SaveV2/tensor_names", "Const", ()), ("save/SaveV2/shape_and_slices", "Const", ()),
        ("save/SaveV2", "SaveV2", ("save/ShardedFilename", "save/SaveV2/tensor_names",
                                   "save/SaveV2/shape_and_slices", "w/Read/ReadVariableOp")),
        ("save/control_dependency", "Identity", ("save/ShardedFilename", "^save/SaveV2")),
        ("save/MergeV2Checkpoints/checkpoint_prefixes", "Pack", ("save/ShardedFilename", "^save/control_dependency")),
        ("save/MergeV2Checkpoints", "MergeV2Checkpoints", ("save/MergeV2Checkpoints/checkpoint_prefixes",
                                                           "save/Const")),
        ("save/Identity", "Identity", ("save/Const", "^save/MergeV2Checkpoints", "^save/control_dependency")),
        ("save/RestoreV2/tensor_names", "Const", ()), ("save/RestoreV2/shape_and_slices", "Const", ()),
        ("save/RestoreV2", "RestoreV2", ("save/Const", "save/RestoreV2/tensor_names",
                                         "save/RestoreV2/shape_and_slices")),
        ("save/Identity_1", "Identity", ("save/RestoreV2",)),
        ("save/AssignVariableOp", "AssignVariableOp", ("w", "save/Identity_1")),
        ("save/restore_shard", "NoOp", ("^save/AssignVariableOp",)),
        ("save/restore_all", "NoOp", ("^save/restore_shard",)),
    )
    ops = ["AssignVariableOp", "Const", "Identity", "MatMul", "MergeV2Checkpoints", "NoOp", "Pack", "Placeholder",
           "PlaceholderWithDefault", "ReadVariableOp", "Relu", "RestoreV2", "SaveV2", "Select", "ShardedFilename",
           "StaticRegexFullMatch", "StringJoin", "VarHandleOp"]
    return saved_model(meta_graph(graph_def(nodes), ops=ops,
                                  saver=("save/Const:0", "save/Identity:0", "save/restore_all")))
