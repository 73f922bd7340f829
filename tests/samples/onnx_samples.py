"""ONNX samples: small models built with onnx.helper (onnx is used to write, never to load, scanned files), and
a large model written field by field so that 100 MB of tensor data never sits in memory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from tests.samples.tensorflow_samples import field, tag, varint

OPSET = [helper.make_opsetid("", 17)]


def _serialize(model: onnx.ModelProto) -> bytes:
    return model.SerializeToString()


def _weight(name: str = "W", location: str | None = None) -> TensorProto:
    tensor = numpy_helper.from_array(np.ones((4, 4), dtype=np.float32), name=name)
    if location is not None:
        tensor.ClearField("raw_data")
        tensor.data_location = TensorProto.EXTERNAL
        for key, value in (("location", location), ("offset", "0"), ("length", "64")):
            entry = tensor.external_data.add()
            entry.key, entry.value = key, value
    return tensor


def _io() -> tuple[list[onnx.ValueInfoProto], list[onnx.ValueInfoProto]]:
    return ([helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 4])],
            [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 4])])


def benign_model(location: str | None = None) -> bytes:
    """MatMul + Relu with one initializer, inline or as external data at ``location``."""
    inputs, outputs = _io()
    nodes = [helper.make_node("MatMul", ["X", "W"], ["H"], name="matmul"),
             helper.make_node("Relu", ["H"], ["Y"], name="relu")]
    graph = helper.make_graph(nodes, "benign", inputs, outputs, initializer=[_weight(location=location)])
    return _serialize(helper.make_model(graph, opset_imports=OPSET, producer_name="mlwarden-tests"))


def custom_domain_model(domain: str = "com.evil.ops", op_type: str = "EvilOp") -> bytes:
    inputs, outputs = _io()
    nodes = [helper.make_node(op_type, ["X"], ["Y"], name="custom", domain=domain)]
    graph = helper.make_graph(nodes, "custom", inputs, outputs)
    opsets = [*OPSET, helper.make_opsetid(domain, 1)]
    return _serialize(helper.make_model(graph, opset_imports=opsets))


def nested_custom_op_model() -> bytes:
    """An If node whose then-branch subgraph holds the custom-domain op; the top graph looks standard."""
    then_out = helper.make_tensor_value_info("T", TensorProto.FLOAT, [1, 4])
    else_out = helper.make_tensor_value_info("E", TensorProto.FLOAT, [1, 4])
    then_graph = helper.make_graph([helper.make_node("EvilOp", ["X"], ["T"], name="hidden", domain="com.evil.ops")],
                                   "then", [], [then_out])
    else_graph = helper.make_graph([helper.make_node("Identity", ["X"], ["E"], name="id")], "else", [], [else_out])
    inputs, outputs = _io()
    cond = helper.make_tensor_value_info("C", TensorProto.BOOL, [])
    node = helper.make_node("If", ["C"], ["Y"], name="branch", then_branch=then_graph, else_branch=else_graph)
    graph = helper.make_graph([node], "nested", [*inputs, cond], outputs)
    opsets = [*OPSET, helper.make_opsetid("com.evil.ops", 1)]
    return _serialize(helper.make_model(graph, opset_imports=opsets))


def constant_with_external_data(location: str) -> bytes:
    """A Constant node whose tensor attribute points at external data (attributes carry tensors too)."""
    inputs, outputs = _io()
    const = helper.make_node("Constant", [], ["W"], name="const", value=_weight(location=location))
    nodes = [const, helper.make_node("Add", ["X", "W"], ["Y"], name="add")]
    graph = helper.make_graph(nodes, "const", inputs, outputs)
    return _serialize(helper.make_model(graph, opset_imports=OPSET))


def local_function_model() -> bytes:
    """A node in a custom domain that is a function defined in the model itself (as torch.onnx emits)."""
    body = [helper.make_node("Relu", ["a"], ["b"])]
    function = helper.make_function("pkg.mlwarden.local", "MyRelu", ["a"], ["b"], body, OPSET)
    inputs, outputs = _io()
    graph = helper.make_graph([helper.make_node("MyRelu", ["X"], ["Y"], domain="pkg.mlwarden.local")],
                              "local", inputs, outputs)
    opsets = [*OPSET, helper.make_opsetid("pkg.mlwarden.local", 1)]
    return _serialize(helper.make_model(graph, opset_imports=opsets, functions=[function]))


def ml_and_contrib_model() -> bytes:
    """ai.onnx.ml and ONNX Runtime contrib (com.microsoft) operators: standard, or shipped with the runtime."""
    inputs, outputs = _io()
    nodes = [helper.make_node("Normalizer", ["X"], ["N"], domain="ai.onnx.ml", norm="L2"),
             helper.make_node("FusedMatMul", ["N", "N"], ["Y"], domain="com.microsoft")]
    graph = helper.make_graph(nodes, "ml", inputs, outputs)
    opsets = [*OPSET, helper.make_opsetid("ai.onnx.ml", 3), helper.make_opsetid("com.microsoft", 1)]
    return _serialize(helper.make_model(graph, opset_imports=opsets))


def write_large_model(path: Path, *, data_bytes: int, location: str | None = None,
                      domain: str = "com.evil.ops") -> None:
    """ModelProto { ir_version; graph { node (custom domain); initializer { raw_data: data_bytes zeros } } },
    written field by field (onnx.proto numbers) so the tensor bytes are streamed to disk, not built in memory.
    ``location`` adds an external-data entry to a second, small tensor."""
    node = field(1, "X") + field(2, "Y") + field(3, "custom") + field(4, "EvilOp") + field(7, domain)
    tensor_head = field(1, 1 << 20) + field(2, TensorProto.FLOAT) + field(8, "big")
    raw_header = tag(9, 2) + varint(data_bytes)
    tensor_len = len(tensor_head) + len(raw_header) + data_bytes
    extra = b""
    if location is not None:
        entry = field(1, "location") + field(2, location)
        extra = field(5, field(8, "external") + field(13, entry) + field(14, 1))
    graph_head = field(1, node) + field(2, "large")
    initializer_header = tag(5, 2) + varint(tensor_len)
    graph_len = len(graph_head) + len(initializer_header) + tensor_len + len(extra)
    opset = field(8, field(1, "") + field(2, 17))
    with path.open("wb") as out:
        out.write(field(1, 9) + field(2, "mlwarden-tests") + opset + tag(7, 2) + varint(graph_len))
        out.write(graph_head + initializer_header + tensor_head + raw_header)
        chunk = b"\x00" * (1 << 20)
        left = data_bytes
        while left:
            out.write(chunk[:min(left, len(chunk))])
            left -= min(left, len(chunk))
        out.write(extra)
