"""ONNX scanner: external-data paths that leave the model folder (MW-ONNX-001) and operators from custom
domains that need a native operator library (MW-ONNX-002).

Walks ModelProto { graph = 7, training_info = 20 (initialization = 1, algorithm = 2), functions = 25 } ->
GraphProto { node = 1, initializer = 5, sparse_initializer = 15 } -> NodeProto { name = 3, op_type = 4,
attribute = 5, domain = 7 } -> AttributeProto { t = 5, g = 6, tensors = 10, graphs = 11, sparse_tensor = 22,
sparse_tensors = 23 } (subgraphs of If/Loop/Scan) and TensorProto { name = 8, external_data = 13
(StringStringEntryProto key = 1, value = 2), data_location = 14 }; FunctionProto { name = 1, node = 7,
domain = 10, attribute_proto = 11 } (onnx/onnx.proto).

What it must never do: import onnx or protobuf, or read tensor data: raw_data (field 9) and the typed data
fields can be gigabytes and are skipped by seeking, so a 10 GB model costs what its graph costs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import BinaryIO

from mlwarden.artifacts.protobuf_wire import LEN, ParseError, ProtoLimitError, ProtoMessage, ProtoReader
from mlwarden.core.findings import Severity
from mlwarden.scanning.context import ScanContext, UnscannableError

# Operator-set domains defined by the ONNX specification (docs/Operators.md, Operators-ml.md and the training
# operators); the empty domain is "ai.onnx".
STANDARD_DOMAINS = frozenset({"", "ai.onnx", "ai.onnx.ml", "ai.onnx.training", "ai.onnx.preview.training",
                              "ai.onnx.preview"})
# ONNX Runtime's own contrib-operator domains: they ship inside onnxruntime (no separate library is loaded),
# so they are only mentioned (low). Any other domain needs a custom-op library registered by the loader.
RUNTIME_DOMAIN_PREFIXES = ("com.microsoft", "com.ms.internal")
# TensorProto holds its data inline; only its first bytes (name, external_data) are read into memory.
_TENSOR_INLINE_BYTES = 4096
_MAX_EXAMPLES = 3
# Distinct (domain, op_type) pairs, local functions and external locations remembered per file: a hostile file
# with millions of distinct names must not exhaust memory (the rest is counted under "(more)").
_MAX_DISTINCT = 10_000
_DRIVE = re.compile(r"[A-Za-z]:")


def external_location_problem(location: str) -> str | None:
    """Why an external-data ``location`` escapes the model's folder, or None when it stays inside it.
    ONNX joins the location to the model's folder, so absolute paths, drive letters, UNC paths and '..'
    segments (with either separator: Windows loaders accept backslashes) all reach other files."""
    if "\x00" in location:
        return "contains a NUL byte"
    if location.startswith(("/", "\\")):
        return "is an absolute path"
    if _DRIVE.match(location):
        return "names a drive"
    if ".." in re.split(r"[\\/]+", location):
        return "climbs out with '..'"
    return None


@dataclass(slots=True)
class _Usage:
    count: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, example: str) -> None:
        self.count += 1
        if len(self.examples) < _MAX_EXAMPLES and example not in self.examples:
            self.examples.append(example)


class _OnnxWalk:
    def __init__(self, ctx: ScanContext) -> None:
        self.ctx = ctx
        # domain -> op_type -> nodes using it
        self.operators: dict[str, dict[str, _Usage]] = {}
        self.local_functions: set[tuple[str, str]] = set()
        self.external: dict[str, tuple[str, str, int]] = {}

    # -- walking --
    def model(self, model: ProtoMessage) -> None:
        for item in model.fields():
            if item.wire_type != LEN:
                continue
            if item.number == 7:
                self.graph(model.submessage(item), "main graph")
            elif item.number == 25:
                self.function(model.submessage(item))
            elif item.number == 20:
                training = model.submessage(item)
                for part in training.fields():
                    if part.number in (1, 2) and part.wire_type == LEN:
                        self.graph(training.submessage(part), "training graph")

    def graph(self, graph: ProtoMessage, where: str) -> None:
        for item in graph.fields():
            if item.wire_type != LEN:
                continue
            if item.number == 1:
                self.node(graph.submessage(item), where)
            elif item.number == 5:
                self.tensor(graph.submessage(item, inline_bytes=_TENSOR_INLINE_BYTES))
            elif item.number == 15:
                self.sparse_tensor(graph.submessage(item, inline_bytes=_TENSOR_INLINE_BYTES))

    def function(self, function: ProtoMessage) -> None:
        name, domain = "", ""
        for item in function.fields():
            if item.wire_type != LEN:
                continue
            if item.number == 1:
                name = function.read_text(item, 1024)
            elif item.number == 10:
                domain = function.read_text(item, 1024)
            elif item.number == 7:
                self.node(function.submessage(item), "a model-local function")
            elif item.number == 11:
                self.attribute(function.submessage(item), "a model-local function")
        if len(self.local_functions) < _MAX_DISTINCT:
            self.local_functions.add((domain[:256], name))

    def node(self, node: ProtoMessage, where: str) -> None:
        name, op_type, domain = "", "", ""
        for item in node.fields():
            if item.wire_type != LEN:
                continue
            if item.number == 3:
                name = node.read_text(item, 512)
            elif item.number == 4:
                op_type = node.read_text(item, 512)
            elif item.number == 7:
                domain = node.read_text(item, 512)
            elif item.number == 5:
                self.attribute(node.submessage(item), f"a subgraph of node '{name or op_type}'")
        if domain in STANDARD_DOMAINS:
            return  # the common case: nothing to remember
        domain = domain if domain in self.operators or len(self.operators) < _MAX_DISTINCT else "(more)"
        by_op = self.operators.setdefault(domain, {})
        usage = by_op.setdefault(op_type if op_type in by_op or len(by_op) < _MAX_DISTINCT else "(more)", _Usage())
        usage.add(f"node '{name}' in {where}" if name else where)

    def attribute(self, attribute: ProtoMessage, where: str) -> None:
        for item in attribute.fields():
            if item.wire_type != LEN:
                continue
            if item.number in (5, 10):
                self.tensor(attribute.submessage(item, inline_bytes=_TENSOR_INLINE_BYTES))
            elif item.number in (6, 11):
                self.graph(attribute.submessage(item), where)
            elif item.number in (22, 23):
                self.sparse_tensor(attribute.submessage(item, inline_bytes=_TENSOR_INLINE_BYTES))

    def sparse_tensor(self, sparse: ProtoMessage) -> None:
        for item in sparse.fields():
            if item.number in (1, 2) and item.wire_type == LEN:
                self.tensor(sparse.submessage(item, inline_bytes=_TENSOR_INLINE_BYTES))

    def tensor(self, tensor: ProtoMessage) -> None:
        name = ""
        locations: list[tuple[str, int]] = []
        for item in tensor.fields():
            if item.wire_type != LEN:
                continue  # raw_data (9) and the typed data fields are skipped without being read
            if item.number == 8:
                name = tensor.read_text(item, 512)
            elif item.number == 13:
                entry = tensor.submessage(item)
                key, value, value_at = "", "", item.offset
                for part in entry.fields():
                    if part.wire_type != LEN:
                        continue
                    if part.number == 1:
                        key = entry.read_text(part, 256)
                    elif part.number == 2:
                        value, value_at = entry.read_text(part, 4096), part.offset
                if key == "location":
                    locations.append((value, value_at))
        for location, offset in locations:
            problem = external_location_problem(location)
            if problem is not None and location not in self.external and len(self.external) < _MAX_DISTINCT:
                self.external[location] = (name, problem, offset)

    # -- results --
    def report(self) -> None:
        for location, (tensor, problem, offset) in self.external.items():
            shown = location[:300]
            self.ctx.report("MW-ONNX-001", f"tensor '{tensor[:200]}' loads its external data from '{shown}', "
                            f"which {problem}: loading the model reads that file", evidence=shown, offset=offset)
        for domain in sorted(self.operators):
            if domain in STANDARD_DOMAINS:
                continue
            ops = {op: usage for op, usage in self.operators[domain].items()
                   if (domain, op) not in self.local_functions}
            if not ops:
                continue
            nodes = sum(usage.count for usage in ops.values())
            names = ", ".join(sorted(ops)[:10]) + (", ..." if len(ops) > 10 else "")
            examples = "; ".join(next(iter(ops.values())).examples)
            runtime = domain.startswith(RUNTIME_DOMAIN_PREFIXES)
            need = ("ONNX Runtime contrib operators" if runtime
                    else "operators that need a custom operator library (native code) to run")
            self.ctx.report("MW-ONNX-002", f"{nodes} node(s) use {need} from the domain '{domain[:200]}': {names} "
                            f"(e.g. {examples})", evidence=f"domain {domain[:200]}",
                            severity=Severity.LOW if runtime else None)


class OnnxScanner:
    """ONNX ModelProto files (``.onnx``), streamed: tensor data is never read."""

    name = "onnx"

    def scan(self, stream: BinaryIO, ctx: ScanContext) -> None:
        reader = ProtoReader(stream, ctx.size, max_depth=ctx.limits.max_proto_depth)
        walk = _OnnxWalk(ctx)
        try:
            walk.model(reader.message())
        except ProtoLimitError as exc:
            walk.report()
            ctx.report("MW-FMT-003", f"ONNX model not fully analysed: {exc}", offset=exc.offset)
            return
        except ParseError as exc:
            walk.report()
            raise UnscannableError(f"invalid protobuf: {exc}", offset=exc.offset) from None
        walk.report()
