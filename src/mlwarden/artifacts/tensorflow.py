"""TensorFlow SavedModel scanner (``saved_model.pb``).

Walks SavedModel { meta_graphs = 2 } -> MetaGraphDef { meta_info_def = 1 (stripped_op_list = 2), graph_def = 2,
saver_def = 3, asset_file_def = 6, object_graph_def = 7 } -> GraphDef { node = 1, library = 2 } ->
FunctionDefLibrary { function = 1 } -> FunctionDef { signature = 1, node_def = 3 } -> NodeDef { name = 1, op = 2,
attr = 5 } (tensorflow/core/protobuf/saved_model.proto, meta_graph.proto, framework/graph.proto, function.proto,
node_def.proto, attr_value.proto) and collects every op name of graph nodes and function bodies.

Findings: Python-calling ops (MW-TF-002, critical), ops that read or write files (MW-TF-001), checkpoint
save/restore ops outside the saver that SaverDef names (MW-TF-001, medium; see _settle_checkpoint_ops), ops TensorFlow does not ship, which need a custom op
library of native code (MW-TF-002, medium), asset paths that leave the assets folder (MW-TF-001), and Keras
metadata kept in the object graph (the Keras config analysis).

What it must never do: import TensorFlow or protobuf, or read tensor contents (Const values and other big
fields are skipped by seeking; see protobuf_wire).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import BinaryIO

from mlwarden.artifacts.keras import KerasConfigAnalyzer
from mlwarden.artifacts.protobuf_wire import (
    LEN,
    ParseError,
    ProtoLimitError,
    ProtoMessage,
    ProtoReader,
    WireField,
)
from mlwarden.core.findings import Severity
from mlwarden.scanning.context import ScanContext, UnscannableError

# --- op tables (names from tensorflow/core/ops via tf.raw_ops; see STANDARD_OPS below) ----------------------
# Ops that call back into the Python interpreter of the process that runs the graph (tf.py_function,
# tf.numpy_function, tf.compat.v1.py_func). Their Python function is not in the file, but any graph that
# contains them runs whatever the loader registered under the token: never expected in a shared model.
PYTHON_OPS = frozenset({"PyFunc", "PyFuncStateless", "EagerPyFunc"})

# Ops that read or write files whose names are tensors (so data decides the path): reported high. TensorFlow
# has no op that deletes files (tf.io.gfile.remove is Python only), so none is listed.
FILE_OPS: dict[str, str] = {
    "ReadFile": "reads a file", "WriteFile": "writes a file", "MatchingFiles": "lists files",
    "ImmutableConst": "memory-maps a file", "WholeFileReader": "reads files", "WholeFileReaderV2": "reads files",
    "TextLineReader": "reads files", "TextLineReaderV2": "reads files", "TFRecordReader": "reads files",
    "TFRecordReaderV2": "reads files", "FixedLengthRecordReader": "reads files",
    "FixedLengthRecordReaderV2": "reads files", "LMDBReader": "reads files", "RecordInput": "reads files",
    "TextLineDataset": "reads files", "TFRecordDataset": "reads files", "FixedLengthRecordDataset": "reads files",
    "FixedLengthRecordDatasetV2": "reads files", "CSVDataset": "reads files", "CSVDatasetV2": "reads files",
    "ExperimentalCSVDataset": "reads files", "LMDBDataset": "reads files", "ExperimentalLMDBDataset": "reads files",
    "MatchingFilesDataset": "lists files", "ExperimentalMatchingFilesDataset": "lists files",
    "SqlDataset": "opens a database file", "ExperimentalSqlDataset": "opens a database file",
    "LoadDataset": "reads files", "SnapshotDataset": "reads and writes files",
    "SnapshotDatasetV2": "reads and writes files", "SnapshotDatasetReader": "reads files",
    "SnapshotChunkDataset": "reads files", "SnapshotNestedDatasetReader": "reads files",
    "SaveDataset": "writes files", "SaveDatasetV2": "writes files", "DistributedSave": "writes files",
    "DatasetToTFRecord": "writes a file", "ExperimentalDatasetToTFRecord": "writes a file",
    "CreateSummaryFileWriter": "writes event files", "CreateSummaryDbWriter": "writes a database file",
}
# Ops that read a file that is normally one of the SavedModel's own assets (vocabularies, checkpoints to
# remap): ordinary in text models, so they are only mentioned (low), never alarmed on.
ASSET_READING_OPS: dict[str, str] = {
    "InitializeTableFromTextFile": "reads a vocabulary file", "InitializeTableFromTextFileV2":
    "reads a vocabulary file", "GenerateVocabRemapping": "reads vocabulary files",
    "LoadAndRemapMatrix": "reads a checkpoint", "CacheDataset": "may write a cache file",
    "CacheDatasetV2": "may write a cache file",
}
# Checkpoint ops: every SavedModel has them in its saver, which MetaGraphDef.saver_def (SaverDef, tensorflow/core/
# protobuf/saver.proto) names: save_tensor_name = 2 is the node that saves, restore_op_name = 3 the node the loader
# runs to restore the variables. TF2 (tf.saved_model.save, Keras export; checked on TensorFlow 2.21) makes those
# graph nodes StatefulPartitionedCall nodes whose attr "f" names the functions __inference__traced_save_N and
# __inference__traced_restore_N that hold the ops; TF1 (tf.compat.v1 Saver / SavedModelBuilder) puts the ops
# straight in the graph under the saver's name scope ("save/SaveV2", "save/restore_all"). Elsewhere they read or
# write checkpoint files at paths the graph computes, so they are reported (medium). Each side of the saver only
# holds its own kind: save ops in the save function, restore ops in the restore function (run at load time).
SAVE_CHECKPOINT_OPS = frozenset({"Save", "SaveV2", "SaveSlices", "MergeV2Checkpoints"})
RESTORE_CHECKPOINT_OPS = frozenset({"Restore", "RestoreV2", "RestoreSlice"})
CHECKPOINT_OPS = SAVE_CHECKPOINT_OPS | RESTORE_CHECKPOINT_OPS
_SAVE, _RESTORE = "save", "restore"
_FUNCTION_TAKING_OP = re.compile(r"Call|If$|While$|Case$|^For$|Dataset|Xla|TPU|Function|Gradient|Map")
# Ops whose string attributes can send output to a file ("file://..." output stream or debug URL).
STREAM_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "PrintV2": ("output_stream",), "DebugIdentity": ("debug_urls",), "DebugIdentityV2": ("debug_urls",),
    "DebugIdentityV3": ("debug_urls",), "DebugNanCount": ("debug_urls",), "DebugNumericSummary": ("debug_urls",),
}
# Examples kept per finding, and checkpoint-op uses remembered until the saver scope is known.
_MAX_PLACES = 3
_MAX_PENDING = 10_000
_MAX_ATTR_ENTRIES = 256
# Attr entries up to this size are read in one piece; bigger ones (Const tensors) are walked by seeking.
_ATTR_INLINE_BYTES = 4096
# Distinct unknown ops and function names remembered per file (memory bound for hostile files). Past the
# limit, unknown ops are counted under "(more)" and ops named like unremembered functions are reported.
_MAX_DISTINCT = 100_000


@dataclass(slots=True)
class _OpUse:
    rule_id: str
    severity: Severity
    why: str
    count: int = 0
    places: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Census:
    """What the walk found, aggregated per op so that a graph of a million nodes gives a handful of findings."""

    uses: dict[tuple[str, str], _OpUse] = field(default_factory=dict)
    unknown: dict[str, _OpUse] = field(default_factory=dict)
    functions: set[str] = field(default_factory=set)
    # The saver of the meta graph being walked: SaverDef's node names and their role ("save" / "restore"), the
    # name scopes of those names (TF1), and the functions those nodes call, with the roles they are called in.
    saver_nodes: dict[str, str] = field(default_factory=dict)
    saver_scopes: dict[str, set[str]] = field(default_factory=dict)
    saver_functions: dict[str, set[str]] = field(default_factory=dict)
    # Functions called from anywhere but a saver node: a saver function that other code also calls (a serving
    # signature calling __inference__traced_save_N with its own path) is no longer only the saver's.
    called_elsewhere: set[str] = field(default_factory=set)
    called_elsewhere_overflow: bool = False
    # (op, node, function or None), decided once the whole meta graph has been walked.
    pending_checkpoint: list[tuple[str, str, str | None]] = field(default_factory=list)

    def add(self, rule_id: str, severity: Severity, op: str, why: str, place: str) -> None:
        use = self.uses.setdefault((rule_id, op), _OpUse(rule_id, severity, why))
        use.count += 1
        if len(use.places) < _MAX_PLACES and place not in use.places:
            use.places.append(place)


def _place(node: str, function: str | None) -> str:
    return f"node '{node}' of function '{function}'" if function else f"graph node '{node}'"


@functools.lru_cache(maxsize=4096)
def _may_name_functions(op: str) -> bool:
    """Whether a node of this op may have function-valued attrs (only those nodes' attrs are read, which halves
    the time of a big graph): ops outside TensorFlow, and the TensorFlow ops that take functions, all named by
    these patterns (call ops, functional control flow, dataset transformations, XLA/TPU, BatchFunction,
    SymbolicGradient; tensorflow/core/ops/functional_ops.cc, dataset_ops.cc, compiler/tf2xla/ops)."""
    return op not in STANDARD_OPS or _FUNCTION_TAKING_OP.search(op) is not None


def _node_name(tensor: str) -> str:
    """The node of a tensor or control-input name: "^save/restore_all" and "StatefulPartitionedCall_1:0"."""
    return tensor.removeprefix("^").split(":", 1)[0]


def _function_names(name_attr_list: ProtoMessage, *, limit: int) -> list[str]:
    """NameAttrList { name = 1 }: the function an attr names."""
    names: list[str] = []
    for item in name_attr_list.fields():
        if item.number == 1 and item.wire_type == LEN and len(names) < limit:
            names.append(name_attr_list.read_text(item, 1024))
    return names


class SavedModelScanner:
    """``saved_model.pb`` (also frozen GraphDef ``.pb`` files, and ONNX models misnamed ``.pb``)."""

    name = "tensorflow"

    def scan(self, stream: BinaryIO, ctx: ScanContext) -> None:
        reader = ProtoReader(stream, ctx.size, max_depth=ctx.limits.max_proto_depth)
        census = _Census()
        self._keras = KerasConfigAnalyzer(ctx)
        self._ctx = ctx
        try:
            top = reader.message()
            kind = self._kind(top)
            if kind == "onnx":
                from mlwarden.artifacts.onnx import OnnxScanner

                stream.seek(0)
                OnnxScanner().scan(stream, ctx)
                return
            if kind == "graphdef":
                self._graph_def(top, census)
                self._settle_checkpoint_ops(census)
            else:
                for item in top.fields():
                    if item.number == 2 and item.wire_type == LEN:
                        self._meta_graph(top.submessage(item), census)
        except ProtoLimitError as exc:
            self._report(census)
            ctx.report("MW-FMT-003", f"SavedModel not fully analysed: {exc}", offset=exc.offset)
            return
        except ParseError as exc:
            self._report(census)
            raise UnscannableError(f"invalid protobuf: {exc}", offset=exc.offset) from None
        self._report(census)

    @staticmethod
    def _kind(top: ProtoMessage) -> str:
        """"savedmodel", "graphdef" (a frozen graph: repeated NodeDef node = 1) or "onnx" (ModelProto: graph = 7,
        opset_import = 8, functions = 25 never occur in a SavedModel)."""
        for index, item in enumerate(top.fields()):
            if item.number in (7, 8, 25) and item.wire_type == LEN:
                return "onnx"
            if index == 0 and item.number == 1 and item.wire_type == LEN:
                return "graphdef"
            if index >= 64:
                break
        return "savedmodel"

    # -- walking --
    def _meta_graph(self, meta: ProtoMessage, census: _Census) -> None:
        # SaverDef (field 3) is serialized after the graph (field 2): read it first so that the walk knows which
        # graph nodes are the saver's. The meta graph has a handful of fields; the graph is skipped by seeking.
        for item in meta.fields():
            if item.number == 3 and item.wire_type == LEN:
                self._saver_def(meta.submessage(item), census)
        for item in meta.fields():
            if item.wire_type != LEN:
                continue
            if item.number == 1:
                self._stripped_ops(meta.submessage(item), census)
            elif item.number == 2:
                self._graph_def(meta.submessage(item), census)
            elif item.number == 6:
                asset = meta.submessage(item)
                for name_field in asset.fields():
                    if name_field.number == 2 and name_field.wire_type == LEN:
                        self._check_asset(asset.read_text(name_field, 4096), name_field.offset)
            elif item.number == 7:
                self._object_graph(meta.submessage(item), census)
        self._settle_checkpoint_ops(census)

    @staticmethod
    def _saver_def(saver: ProtoMessage, census: _Census) -> None:
        """SaverDef { save_tensor_name = 2 ("StatefulPartitionedCall_1:0", "save/control_dependency:0"),
        restore_op_name = 3 ("StatefulPartitionedCall_2", "save/restore_all") }."""
        for item in saver.fields():
            if item.number not in (2, 3) or item.wire_type != LEN:
                continue
            role = _SAVE if item.number == 2 else _RESTORE
            node = _node_name(saver.read_text(item, 1024))
            if not node:
                continue
            census.saver_nodes[node] = role
            if "/" in node:
                census.saver_scopes.setdefault(node.split("/", 1)[0], set()).add(role)

    def _stripped_ops(self, info: ProtoMessage, census: _Census) -> None:
        for item in info.fields():
            if item.number != 2 or item.wire_type != LEN:
                continue
            op_list = info.submessage(item)
            for op_field in op_list.fields():
                if op_field.number != 1 or op_field.wire_type != LEN:
                    continue
                op_def = op_list.submessage(op_field)
                for name_field in op_def.fields():
                    if name_field.number == 1 and name_field.wire_type == LEN:
                        op = op_def.read_text(name_field, 256)
                        if op not in CHECKPOINT_OPS:
                            self._classify(op, "the stripped op list", census, attrs={})
                        break

    def _graph_def(self, graph: ProtoMessage, census: _Census) -> None:
        for item in graph.fields():
            if item.wire_type != LEN:
                continue
            if item.number == 1:
                self._node(graph.submessage(item), None, census)
            elif item.number == 2:
                library = graph.submessage(item)
                for function_field in library.fields():
                    if function_field.number == 1 and function_field.wire_type == LEN:
                        self._function(library.submessage(function_field), census)

    def _function(self, function: ProtoMessage, census: _Census) -> None:
        name = "?"
        bodies: list[WireField] = []
        for item in function.fields():
            if item.wire_type != LEN:
                continue
            if item.number == 1:
                signature = function.submessage(item)
                for name_field in signature.fields():
                    if name_field.number == 1 and name_field.wire_type == LEN:
                        name = signature.read_text(name_field, 1024)
                        if len(census.functions) < _MAX_DISTINCT:
                            census.functions.add(name)
                        break
            elif item.number == 3:
                bodies.append(item)
        for item in bodies:
            self._node(function.submessage(item), name, census)

    def _node(self, node: ProtoMessage, function: str | None, census: _Census) -> None:
        name, op = "?", ""
        attr_fields: list[WireField] = []
        for item in node.fields():
            if item.wire_type != LEN:
                continue
            if item.number == 1:
                name = node.read_text(item, 1024)
            elif item.number == 2:
                op = node.read_text(item, 256)
            elif item.number == 5 and len(attr_fields) < _MAX_ATTR_ENTRIES:
                attr_fields.append(item)
        if not op:
            return
        attrs: dict[str, list[str]] = {}
        called: list[str] = []
        wanted = STREAM_ATTRIBUTES.get(op, ())
        for item in attr_fields if wanted or _may_name_functions(op) else ():
            # A small inline budget: an attr entry holding a big Const tensor is walked by seeking, never read.
            key, values, functions = self._attr_values(node.submessage(item, inline_bytes=_ATTR_INLINE_BYTES))
            if key in wanted:
                attrs[key] = values
            called += functions
        role = census.saver_nodes.get(name) if function is None else None
        for callee in called:
            if role is not None:
                census.saver_functions.setdefault(callee, set()).add(role)
            else:
                self._called_elsewhere(callee, census)
        place = _place(name, function)
        if op in CHECKPOINT_OPS:
            if len(census.pending_checkpoint) < _MAX_PENDING:
                # Decided once the whole meta graph is known: which functions the saver nodes call, and whether
                # anything else calls them.
                census.pending_checkpoint.append((op, name, function))
            else:
                census.add("MW-TF-001", Severity.MEDIUM, op, "reads or writes checkpoint files", place)
            return
        if op not in STANDARD_OPS:
            # A node whose op is a library function's name calls that function directly.
            self._called_elsewhere(op, census)
        self._classify(op, place, census, attrs)

    @staticmethod
    def _called_elsewhere(callee: str, census: _Census) -> None:
        if callee in census.called_elsewhere:
            return
        if len(census.called_elsewhere) < _MAX_DISTINCT:
            census.called_elsewhere.add(callee)
        else:
            census.called_elsewhere_overflow = True

    def _classify(self, op: str, place: str, census: _Census, attrs: dict[str, list[str]]) -> None:
        if op in PYTHON_OPS:
            census.add("MW-TF-002", Severity.CRITICAL, op, "calls back into Python", place)
        elif op in FILE_OPS:
            census.add("MW-TF-001", Severity.HIGH, op, FILE_OPS[op], place)
        elif op in ASSET_READING_OPS:
            census.add("MW-TF-001", Severity.LOW, op, ASSET_READING_OPS[op], place)
        elif op in STREAM_ATTRIBUTES:
            targets = [v for values in attrs.values() for v in values if v.lower().startswith("file://")]
            if targets:
                census.add("MW-TF-001", Severity.HIGH, op, f"writes its output to {targets[0][:200]}", place)
        elif op not in STANDARD_OPS:
            key = op if op in census.unknown or len(census.unknown) < _MAX_DISTINCT else "(more)"
            use = census.unknown.setdefault(key, _OpUse("MW-TF-002", Severity.MEDIUM, "is not a TensorFlow op"))
            use.count += 1
            if len(use.places) < _MAX_PLACES and place not in use.places:
                use.places.append(place)

    @staticmethod
    def _attr_values(entry: ProtoMessage) -> tuple[str, list[str], list[str]]:
        """An attr map entry (key = 1, AttrValue value = 2): its key, its string values (s = 2, list.s = 1.2)
        and the functions it names (func = 10, list.func = 1.9; NameAttrList name = 1)."""
        key: str = ""
        values: list[str] = []
        functions: list[str] = []
        for item in entry.fields():
            if item.wire_type != LEN:
                continue
            if item.number == 1:
                key = entry.read_text(item, 256)
            elif item.number == 2:
                value = entry.submessage(item, inline_bytes=_ATTR_INLINE_BYTES)
                for part in value.fields():
                    if part.wire_type != LEN:
                        continue
                    if part.number == 2:
                        values.append(value.read_text(part, 1024))
                    elif part.number == 10:
                        functions += _function_names(value.submessage(part), limit=1)
                    elif part.number == 1:
                        listed = value.submessage(part, inline_bytes=_ATTR_INLINE_BYTES)
                        for element in listed.fields():
                            if element.wire_type != LEN:
                                continue
                            if element.number == 2 and len(values) < 64:
                                values.append(listed.read_text(element, 1024))
                            elif element.number == 9 and len(functions) < 64:
                                functions += _function_names(listed.submessage(element), limit=1)
        return key, values, functions

    def _object_graph(self, graph: ProtoMessage, census: _Census) -> None:
        """SavedObjectGraph { nodes = 1, concrete_functions = 2 } -> SavedObject { user_object = 4 } ->
        SavedUserObject { metadata = 3 }: Keras (TF 2.0-2.4) kept each layer's JSON config here. The keys of
        concrete_functions (map entry key = 1) are the functions the restored Python object exposes: callable by
        whoever loads the model, so not the saver's alone (TensorFlow never lists the traced save/restore ones)."""
        limit = self._ctx.limits.max_json_bytes + 1
        for node_field in graph.fields():
            if node_field.number == 2 and node_field.wire_type == LEN:
                entry = graph.submessage(node_field)
                for key_field in entry.fields():
                    if key_field.number == 1 and key_field.wire_type == LEN:
                        self._called_elsewhere(entry.read_text(key_field, 1024), census)
                continue
            if node_field.number != 1 or node_field.wire_type != LEN:
                continue
            node = graph.submessage(node_field)
            for item in node.fields():
                if item.number != 4 or item.wire_type != LEN:
                    continue
                user_object = node.submessage(item)
                for meta in user_object.fields():
                    if meta.number == 3 and meta.wire_type == LEN and meta.value:
                        text = user_object.read_bytes(meta, limit)
                        if text.lstrip()[:1] == b"{":
                            self._keras.analyze_text(text, where="saved_model.pb object metadata",
                                                     offset=meta.offset)

    def _check_asset(self, filename: str, offset: int) -> None:
        parts = re.split(r"[\\/]+", filename)
        if filename.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", filename) or ".." in parts:
            self._ctx.report("MW-TF-001", f"asset file '{filename[:200]}' lies outside the SavedModel's assets "
                             "folder; loading the model reads it", evidence=f"asset {filename[:200]}",
                             offset=offset, severity=Severity.HIGH)

    # -- results --
    @staticmethod
    def _settle_checkpoint_ops(census: _Census) -> None:
        """A checkpoint op is the saver's when SaverDef leads to it, in the role (save / restore) it has there:
        TF2: it sits in a function that the save or restore node calls, and nothing else calls that function;
        TF1: it is a graph node in the name scope of SaverDef's save or restore node ("save/SaveV2")."""
        for op, node, function in census.pending_checkpoint:
            role = _SAVE if op in SAVE_CHECKPOINT_OPS else _RESTORE
            if function is not None:
                exclusive = function not in census.called_elsewhere and not census.called_elsewhere_overflow
                if exclusive and role in census.saver_functions.get(function, ()):
                    continue
            elif "/" in node and role in census.saver_scopes.get(node.split("/", 1)[0], ()):
                continue
            census.add("MW-TF-001", Severity.MEDIUM, op, "reads or writes checkpoint files", _place(node, function))
        census.pending_checkpoint.clear()
        census.saver_nodes.clear()
        census.saver_scopes.clear()
        census.saver_functions.clear()

    def _report(self, census: _Census) -> None:
        uses = list(census.uses.items())
        uses += [(("MW-TF-002", op), use) for op, use in census.unknown.items() if op not in census.functions]
        for (rule_id, op), use in sorted(uses, key=lambda pair: pair[0]):
            where = "; ".join(use.places) + (f" and {use.count - len(use.places)} more" if
                                             use.count > len(use.places) else "")
            if rule_id == "MW-TF-002" and use.severity is Severity.MEDIUM:
                message = (f"the graph uses the op '{op}', which TensorFlow does not ship: it needs a custom op "
                           f"library (native code) to run ({where})")
            else:
                message = f"the graph uses {op}, which {use.why} ({where})"
            self._ctx.report(rule_id, message, evidence=op, severity=use.severity)


# tf.raw_ops as listed in tensorflow/tools/api/golden/v2/tensorflow.raw_ops.pbtxt (TensorFlow 2.15 era), i.e.
# every op registered by TensorFlow with a Python wrapper. An op outside this set (and outside the extras
# below) needs a library loaded with tf.load_op_library.
_RAW_OPS = """
    Abort Abs AccumulateNV2 AccumulatorApplyGradient AccumulatorNumAccumulated AccumulatorSetGlobalStep
    AccumulatorTakeGradient Acos Acosh Add AddManySparseToTensorsMap AddN AddSparseToTensorsMap AddV2
    AdjustContrast AdjustContrastv2 AdjustHue AdjustSaturation All AllCandidateSampler AllToAll Angle
    AnonymousHashTable AnonymousIterator AnonymousIteratorV2 AnonymousIteratorV3 AnonymousMemoryCache
    AnonymousMultiDeviceIterator AnonymousMultiDeviceIteratorV3 AnonymousMutableDenseHashTable
    AnonymousMutableHashTable AnonymousMutableHashTableOfTensors AnonymousRandomSeedGenerator
    AnonymousSeedGenerator Any ApplyAdaMax ApplyAdadelta ApplyAdagrad ApplyAdagradDA ApplyAdagradV2
    ApplyAdam ApplyAddSign ApplyCenteredRMSProp ApplyFtrl ApplyFtrlV2 ApplyGradientDescent ApplyMomentum
    ApplyPowerSign ApplyProximalAdagrad ApplyProximalGradientDescent ApplyRMSProp ApproxTopK
    ApproximateEqual ArgMax ArgMin AsString Asin Asinh Assert AssertCardinalityDataset AssertNextDataset
    AssertPrevDataset Assign AssignAdd AssignAddVariableOp AssignSub AssignSubVariableOp AssignVariableOp
    AssignVariableXlaConcatND Atan Atan2 Atanh AudioSpectrogram AudioSummary AudioSummaryV2 AutoShardDataset
    AvgPool AvgPool3D AvgPool3DGrad AvgPoolGrad BandedTriangularSolve Barrier BarrierClose
    BarrierIncompleteSize BarrierInsertMany BarrierReadySize BarrierTakeMany Batch BatchCholesky
    BatchCholeskyGrad BatchDataset BatchDatasetV2 BatchFFT BatchFFT2D BatchFFT3D BatchFunction BatchIFFT
    BatchIFFT2D BatchIFFT3D BatchMatMul BatchMatMulV2 BatchMatMulV3 BatchMatrixBandPart
    BatchMatrixDeterminant BatchMatrixDiag BatchMatrixDiagPart BatchMatrixInverse BatchMatrixSetDiag
    BatchMatrixSolve BatchMatrixSolveLs BatchMatrixTriangularSolve BatchNormWithGlobalNormalization
    BatchNormWithGlobalNormalizationGrad BatchSelfAdjointEig BatchSelfAdjointEigV2 BatchSvd BatchToSpace
    BatchToSpaceND BesselI0 BesselI0e BesselI1 BesselI1e BesselJ0 BesselJ1 BesselK0 BesselK0e BesselK1
    BesselK1e BesselY0 BesselY1 Betainc BiasAdd BiasAddGrad BiasAddV1 Bincount Bitcast BitwiseAnd BitwiseOr
    BitwiseXor BlockLSTM BlockLSTMGrad BlockLSTMGradV2 BlockLSTMV2 BoostedTreesAggregateStats
    BoostedTreesBucketize BoostedTreesCalculateBestFeatureSplit BoostedTreesCalculateBestFeatureSplitV2
    BoostedTreesCalculateBestGainsPerFeature BoostedTreesCenterBias BoostedTreesCreateEnsemble
    BoostedTreesCreateQuantileStreamResource BoostedTreesDeserializeEnsemble
    BoostedTreesEnsembleResourceHandleOp BoostedTreesExampleDebugOutputs BoostedTreesFlushQuantileSummaries
    BoostedTreesGetEnsembleStates BoostedTreesMakeQuantileSummaries BoostedTreesMakeStatsSummary
    BoostedTreesPredict BoostedTreesQuantileStreamResourceAddSummaries
    BoostedTreesQuantileStreamResourceDeserialize BoostedTreesQuantileStreamResourceFlush
    BoostedTreesQuantileStreamResourceGetBucketBoundaries BoostedTreesQuantileStreamResourceHandleOp
    BoostedTreesSerializeEnsemble BoostedTreesSparseAggregateStats
    BoostedTreesSparseCalculateBestFeatureSplit BoostedTreesTrainingPredict BoostedTreesUpdateEnsemble
    BoostedTreesUpdateEnsembleV2 BroadcastArgs BroadcastGradientArgs BroadcastTo Bucketize
    BytesProducedStatsDataset CSRSparseMatrixComponents CSRSparseMatrixToDense CSRSparseMatrixToSparseTensor
    CSVDataset CSVDatasetV2 CTCBeamSearchDecoder CTCGreedyDecoder CTCLoss CTCLossV2 CacheDataset
    CacheDatasetV2 Case Cast Ceil CheckNumerics CheckNumericsV2 Cholesky CholeskyGrad
    ChooseFastestBranchDataset ChooseFastestDataset ClipByValue CloseSummaryWriter CollectiveAllToAllV2
    CollectiveAllToAllV3 CollectiveAssignGroupV2 CollectiveBcastRecv CollectiveBcastRecvV2
    CollectiveBcastSend CollectiveBcastSendV2 CollectiveGather CollectiveGatherV2
    CollectiveInitializeCommunicator CollectivePermute CollectiveReduce CollectiveReduceScatterV2
    CollectiveReduceV2 CollectiveReduceV3 CombinedNonMaxSuppression Complex ComplexAbs
    CompositeTensorVariantFromComponents CompositeTensorVariantToComponents CompressElement
    ComputeAccidentalHits ComputeBatchSize Concat ConcatOffset ConcatV2 ConcatenateDataset
    ConditionalAccumulator ConfigureDistributedTPU ConfigureTPUEmbedding Conj ConjugateTranspose Const
    ConsumeMutexLock ControlTrigger Conv2D Conv2DBackpropFilter Conv2DBackpropFilterV2 Conv2DBackpropInput
    Conv2DBackpropInputV2 Conv3D Conv3DBackpropFilter Conv3DBackpropFilterV2 Conv3DBackpropInput
    Conv3DBackpropInputV2 Copy CopyHost Cos Cosh CountUpTo CreateSummaryDbWriter CreateSummaryFileWriter
    CropAndResize CropAndResizeGradBoxes CropAndResizeGradImage Cross CrossReplicaSum CudnnRNN
    CudnnRNNBackprop CudnnRNNBackpropV2 CudnnRNNBackpropV3 CudnnRNNCanonicalToParams
    CudnnRNNCanonicalToParamsV2 CudnnRNNParamsSize CudnnRNNParamsToCanonical CudnnRNNParamsToCanonicalV2
    CudnnRNNV2 CudnnRNNV3 Cumprod Cumsum CumulativeLogsumexp DataFormatDimMap DataFormatVecPermute
    DataServiceDataset DataServiceDatasetV2 DataServiceDatasetV3 DataServiceDatasetV4 DatasetCardinality
    DatasetFromGraph DatasetToGraph DatasetToGraphV2 DatasetToSingleElement DatasetToTFRecord Dawsn
    DebugGradientIdentity DebugGradientRefIdentity DebugIdentity DebugIdentityV2 DebugIdentityV3
    DebugNanCount DebugNumericSummary DebugNumericSummaryV2 DecodeAndCropJpeg DecodeBase64 DecodeBmp
    DecodeCSV DecodeCompressed DecodeGif DecodeImage DecodeJSONExample DecodeJpeg DecodePaddedRaw DecodePng
    DecodeProtoV2 DecodeRaw DecodeWav DeepCopy DeleteIterator DeleteMemoryCache DeleteMultiDeviceIterator
    DeleteRandomSeedGenerator DeleteSeedGenerator DeleteSessionTensor DenseBincount DenseCountSparseOutput
    DenseToCSRSparseMatrix DenseToDenseSetOperation DenseToSparseBatchDataset DenseToSparseSetOperation
    DepthToSpace DepthwiseConv2dNative DepthwiseConv2dNativeBackpropFilter
    DepthwiseConv2dNativeBackpropInput Dequantize DeserializeIterator DeserializeManySparse
    DeserializeSparse DestroyResourceOp DestroyTemporaryVariable DeviceIndex Diag DiagPart Digamma
    Dilation2D Dilation2DBackpropFilter Dilation2DBackpropInput DirectedInterleaveDataset DisableCopyOnRead
    DistributedSave Div DivNoNan DrawBoundingBoxes DrawBoundingBoxesV2 DummyIterationCounter
    DummyMemoryCache DummySeedGenerator DynamicEnqueueTPUEmbeddingArbitraryTensorBatch DynamicPartition
    DynamicStitch EagerPyFunc EditDistance Eig Einsum Elu EluGrad Empty EmptyTensorList EncodeBase64
    EncodeJpeg EncodeJpegVariableQuality EncodePng EncodeProto EncodeWav
    EnqueueTPUEmbeddingArbitraryTensorBatch EnqueueTPUEmbeddingIntegerBatch
    EnqueueTPUEmbeddingRaggedTensorBatch EnqueueTPUEmbeddingSparseBatch EnqueueTPUEmbeddingSparseTensorBatch
    EnsureShape Enter Equal Erf Erfc Erfinv EuclideanNorm Exit Exp ExpandDims ExperimentalAssertNextDataset
    ExperimentalAutoShardDataset ExperimentalBytesProducedStatsDataset ExperimentalCSVDataset
    ExperimentalChooseFastestDataset ExperimentalDatasetCardinality ExperimentalDatasetToTFRecord
    ExperimentalDenseToSparseBatchDataset ExperimentalDirectedInterleaveDataset
    ExperimentalGroupByReducerDataset ExperimentalGroupByWindowDataset ExperimentalIgnoreErrorsDataset
    ExperimentalIteratorGetDevice ExperimentalLMDBDataset ExperimentalLatencyStatsDataset
    ExperimentalMapAndBatchDataset ExperimentalMapDataset ExperimentalMatchingFilesDataset
    ExperimentalMaxIntraOpParallelismDataset ExperimentalNonSerializableDataset
    ExperimentalParallelInterleaveDataset ExperimentalParseExampleDataset
    ExperimentalPrivateThreadPoolDataset ExperimentalRandomDataset ExperimentalRebatchDataset
    ExperimentalScanDataset ExperimentalSetStatsAggregatorDataset ExperimentalSleepDataset
    ExperimentalSlidingWindowDataset ExperimentalSqlDataset ExperimentalStatsAggregatorHandle
    ExperimentalStatsAggregatorSummary ExperimentalTakeWhileDataset ExperimentalThreadPoolDataset
    ExperimentalThreadPoolHandle ExperimentalUnbatchDataset ExperimentalUniqueDataset Expint Expm1
    ExtractGlimpse ExtractGlimpseV2 ExtractImagePatches ExtractJpegShape ExtractVolumePatches FFT FFT2D
    FFT3D FIFOQueue FIFOQueueV2 Fact FakeParam FakeQuantWithMinMaxArgs FakeQuantWithMinMaxArgsGradient
    FakeQuantWithMinMaxVars FakeQuantWithMinMaxVarsGradient FakeQuantWithMinMaxVarsPerChannel
    FakeQuantWithMinMaxVarsPerChannelGradient FakeQueue Fill FilterByLastComponentDataset FilterDataset
    FinalizeDataset Fingerprint FixedLengthRecordDataset FixedLengthRecordDatasetV2 FixedLengthRecordReader
    FixedLengthRecordReaderV2 FixedUnigramCandidateSampler FlatMapDataset Floor FloorDiv FloorMod
    FlushSummaryWriter For FractionalAvgPool FractionalAvgPoolGrad FractionalMaxPool FractionalMaxPoolGrad
    FresnelCos FresnelSin FusedBatchNorm FusedBatchNormGrad FusedBatchNormGradV2 FusedBatchNormGradV3
    FusedBatchNormV2 FusedBatchNormV3 FusedPadConv2D FusedResizeAndPadConv2D GRUBlockCell GRUBlockCellGrad
    Gather GatherNd GatherV2 GenerateBoundingBoxProposals GenerateVocabRemapping GeneratorDataset
    GetElementAtIndex GetOptions GetSessionHandle GetSessionHandleV2 GetSessionTensor Greater GreaterEqual
    GroupByReducerDataset GroupByWindowDataset GuaranteeConst HSVToRGB HashTable HashTableV2
    HistogramFixedWidth HistogramSummary IFFT IFFT2D IFFT3D IRFFT IRFFT2D IRFFT3D Identity IdentityN
    IdentityReader IdentityReaderV2 If Igamma IgammaGradA Igammac IgnoreErrorsDataset Imag
    ImageProjectiveTransformV2 ImageProjectiveTransformV3 ImageSummary ImmutableConst ImportEvent InTopK
    InTopKV2 InfeedDequeue InfeedDequeueTuple InfeedEnqueue InfeedEnqueuePrelinearizedBuffer
    InfeedEnqueueTuple InitializeTable InitializeTableFromDataset InitializeTableFromTextFile
    InitializeTableFromTextFileV2 InitializeTableV2 InplaceAdd InplaceSub InplaceUpdate InterleaveDataset
    Inv InvGrad Invert InvertPermutation IsBoostedTreesEnsembleInitialized
    IsBoostedTreesQuantileStreamResourceInitialized IsFinite IsInf IsNan IsTPUEmbeddingInitialized
    IsVariableInitialized IsotonicRegression Iterator IteratorFromStringHandle IteratorFromStringHandleV2
    IteratorGetDevice IteratorGetNext IteratorGetNextAsOptional IteratorGetNextSync IteratorToStringHandle
    IteratorV2 L2Loss LMDBDataset LMDBReader LRN LRNGrad LSTMBlockCell LSTMBlockCellGrad LatencyStatsDataset
    LeakyRelu LeakyReluGrad LearnedUnigramCandidateSampler LeftShift LegacyParallelInterleaveDatasetV2 Less
    LessEqual Lgamma LinSpace ListDataset ListDiff LoadAndRemapMatrix LoadDataset
    LoadTPUEmbeddingADAMParameters LoadTPUEmbeddingAdadeltaParameters
    LoadTPUEmbeddingAdagradMomentumParameters LoadTPUEmbeddingAdagradParameters
    LoadTPUEmbeddingCenteredRMSPropParameters LoadTPUEmbeddingFTRLParameters
    LoadTPUEmbeddingFrequencyEstimatorParameters LoadTPUEmbeddingMDLAdagradLightParameters
    LoadTPUEmbeddingMomentumParameters LoadTPUEmbeddingProximalAdagradParameters
    LoadTPUEmbeddingProximalYogiParameters LoadTPUEmbeddingRMSPropParameters
    LoadTPUEmbeddingStochasticGradientDescentParameters Log Log1p LogMatrixDeterminant LogSoftmax
    LogUniformCandidateSampler LogicalAnd LogicalNot LogicalOr LookupTableExport LookupTableExportV2
    LookupTableFind LookupTableFindV2 LookupTableImport LookupTableImportV2 LookupTableInsert
    LookupTableInsertV2 LookupTableRemoveV2 LookupTableSize LookupTableSizeV2 LoopCond LowerBound Lu
    MakeIterator MapAndBatchDataset MapClear MapDataset MapDefun MapIncompleteSize MapPeek MapSize MapStage
    MapUnstage MapUnstageNoKey MatMul MatchingFiles MatchingFilesDataset MatrixBandPart MatrixDeterminant
    MatrixDiag MatrixDiagPart MatrixDiagPartV2 MatrixDiagPartV3 MatrixDiagV2 MatrixDiagV3 MatrixExponential
    MatrixInverse MatrixLogarithm MatrixSetDiag MatrixSetDiagV2 MatrixSetDiagV3 MatrixSolve MatrixSolveLs
    MatrixSquareRoot MatrixTriangularSolve Max MaxIntraOpParallelismDataset MaxPool MaxPool3D MaxPool3DGrad
    MaxPool3DGradGrad MaxPoolGrad MaxPoolGradGrad MaxPoolGradGradV2 MaxPoolGradGradWithArgmax MaxPoolGradV2
    MaxPoolGradWithArgmax MaxPoolV2 MaxPoolWithArgmax Maximum Mean Merge MergeSummary MergeV2Checkpoints
    Mfcc Min Minimum MirrorPad MirrorPadGrad Mod ModelDataset Mul MulNoNan MultiDeviceIterator
    MultiDeviceIteratorFromStringHandle MultiDeviceIteratorGetNextFromShard MultiDeviceIteratorInit
    MultiDeviceIteratorToStringHandle Multinomial MutableDenseHashTable MutableDenseHashTableV2
    MutableHashTable MutableHashTableOfTensors MutableHashTableOfTensorsV2 MutableHashTableV2 MutexLock
    MutexV2 NcclAllReduce NcclBroadcast NcclReduce Ndtri Neg NextAfter NextIteration NoOp
    NonDeterministicInts NonMaxSuppression NonMaxSuppressionV2 NonMaxSuppressionV3 NonMaxSuppressionV4
    NonMaxSuppressionV5 NonMaxSuppressionWithOverlaps NonSerializableDataset NotEqual NthElement OneHot
    OneShotIterator OnesLike OptimizeDataset OptimizeDatasetV2 OptionalFromValue OptionalGetValue
    OptionalHasValue OptionalNone OptionsDataset OrderedMapClear OrderedMapIncompleteSize OrderedMapPeek
    OrderedMapSize OrderedMapStage OrderedMapUnstage OrderedMapUnstageNoKey OutfeedDequeue
    OutfeedDequeueTuple OutfeedDequeueTupleV2 OutfeedDequeueV2 OutfeedEnqueue OutfeedEnqueueTuple Pack Pad
    PadV2 PaddedBatchDataset PaddedBatchDatasetV2 PaddingFIFOQueue PaddingFIFOQueueV2 ParallelBatchDataset
    ParallelConcat ParallelDynamicStitch ParallelFilterDataset ParallelInterleaveDataset
    ParallelInterleaveDatasetV2 ParallelInterleaveDatasetV3 ParallelInterleaveDatasetV4 ParallelMapDataset
    ParallelMapDatasetV2 ParameterizedTruncatedNormal ParseExample ParseExampleDataset ParseExampleDatasetV2
    ParseExampleV2 ParseSequenceExample ParseSequenceExampleV2 ParseSingleExample ParseSingleSequenceExample
    ParseTensor PartitionedCall Placeholder PlaceholderV2 PlaceholderWithDefault Polygamma PopulationCount
    Pow PrefetchDataset Prelinearize PrelinearizeTuple PreventGradient Print PrintV2 PriorityQueue
    PriorityQueueV2 PrivateThreadPoolDataset Prod PyFunc PyFuncStateless Qr QuantizeAndDequantize
    QuantizeAndDequantizeV2 QuantizeAndDequantizeV3 QuantizeAndDequantizeV4 QuantizeAndDequantizeV4Grad
    QuantizeDownAndShrinkRange QuantizeV2 QuantizedAdd QuantizedAvgPool
    QuantizedBatchNormWithGlobalNormalization QuantizedBiasAdd QuantizedConcat QuantizedConv2D
    QuantizedConv2DAndRelu QuantizedConv2DAndReluAndRequantize QuantizedConv2DAndRequantize
    QuantizedConv2DPerChannel QuantizedConv2DWithBias QuantizedConv2DWithBiasAndRelu
    QuantizedConv2DWithBiasAndReluAndRequantize QuantizedConv2DWithBiasAndRequantize
    QuantizedConv2DWithBiasSignedSumAndReluAndRequantize QuantizedConv2DWithBiasSumAndRelu
    QuantizedConv2DWithBiasSumAndReluAndRequantize QuantizedDepthwiseConv2D QuantizedDepthwiseConv2DWithBias
    QuantizedDepthwiseConv2DWithBiasAndRelu QuantizedDepthwiseConv2DWithBiasAndReluAndRequantize
    QuantizedInstanceNorm QuantizedMatMul QuantizedMatMulWithBias QuantizedMatMulWithBiasAndDequantize
    QuantizedMatMulWithBiasAndRelu QuantizedMatMulWithBiasAndReluAndRequantize
    QuantizedMatMulWithBiasAndRequantize QuantizedMaxPool QuantizedMul QuantizedRelu QuantizedRelu6
    QuantizedReluX QuantizedReshape QuantizedResizeBilinear QueueClose QueueCloseV2 QueueDequeue
    QueueDequeueMany QueueDequeueManyV2 QueueDequeueUpTo QueueDequeueUpToV2 QueueDequeueV2 QueueEnqueue
    QueueEnqueueMany QueueEnqueueManyV2 QueueEnqueueV2 QueueIsClosed QueueIsClosedV2 QueueSize QueueSizeV2
    RFFT RFFT2D RFFT3D RGBToHSV RaggedBincount RaggedCountSparseOutput RaggedCross RaggedFillEmptyRows
    RaggedFillEmptyRowsGrad RaggedGather RaggedRange RaggedTensorFromVariant RaggedTensorToSparse
    RaggedTensorToTensor RaggedTensorToVariant RaggedTensorToVariantGradient RandomCrop RandomDataset
    RandomDatasetV2 RandomGamma RandomGammaGrad RandomIndexShuffle RandomPoisson RandomPoissonV2
    RandomShuffle RandomShuffleQueue RandomShuffleQueueV2 RandomStandardNormal RandomUniform
    RandomUniformInt Range RangeDataset Rank ReadFile ReadVariableOp ReadVariableXlaSplitND
    ReaderNumRecordsProduced ReaderNumRecordsProducedV2 ReaderNumWorkUnitsCompleted
    ReaderNumWorkUnitsCompletedV2 ReaderRead ReaderReadUpTo ReaderReadUpToV2 ReaderReadV2 ReaderReset
    ReaderResetV2 ReaderRestoreState ReaderRestoreStateV2 ReaderSerializeState ReaderSerializeStateV2 Real
    RealDiv RebatchDataset RebatchDatasetV2 Reciprocal ReciprocalGrad RecordInput Recv
    RecvTPUEmbeddingActivations ReduceDataset ReduceJoin RefEnter RefExit RefIdentity RefMerge
    RefNextIteration RefSelect RefSwitch RegexFullMatch RegexReplace RegisterDataset RegisterDatasetV2 Relu
    Relu6 Relu6Grad ReluGrad RemoteCall RepeatDataset RequantizationRange RequantizationRangePerChannel
    Requantize RequantizePerChannel Reshape ResizeArea ResizeBicubic ResizeBicubicGrad ResizeBilinear
    ResizeBilinearGrad ResizeNearestNeighbor ResizeNearestNeighborGrad ResourceAccumulatorApplyGradient
    ResourceAccumulatorNumAccumulated ResourceAccumulatorSetGlobalStep ResourceAccumulatorTakeGradient
    ResourceApplyAdaMax ResourceApplyAdadelta ResourceApplyAdagrad ResourceApplyAdagradDA
    ResourceApplyAdagradV2 ResourceApplyAdam ResourceApplyAdamWithAmsgrad ResourceApplyAddSign
    ResourceApplyCenteredRMSProp ResourceApplyFtrl ResourceApplyFtrlV2 ResourceApplyGradientDescent
    ResourceApplyKerasMomentum ResourceApplyMomentum ResourceApplyPowerSign ResourceApplyProximalAdagrad
    ResourceApplyProximalGradientDescent ResourceApplyRMSProp ResourceConditionalAccumulator
    ResourceCountUpTo ResourceGather ResourceGatherNd ResourceScatterAdd ResourceScatterDiv
    ResourceScatterMax ResourceScatterMin ResourceScatterMul ResourceScatterNdAdd ResourceScatterNdMax
    ResourceScatterNdMin ResourceScatterNdSub ResourceScatterNdUpdate ResourceScatterSub
    ResourceScatterUpdate ResourceSparseApplyAdadelta ResourceSparseApplyAdagrad
    ResourceSparseApplyAdagradDA ResourceSparseApplyAdagradV2 ResourceSparseApplyCenteredRMSProp
    ResourceSparseApplyFtrl ResourceSparseApplyFtrlV2 ResourceSparseApplyKerasMomentum
    ResourceSparseApplyMomentum ResourceSparseApplyProximalAdagrad
    ResourceSparseApplyProximalGradientDescent ResourceSparseApplyRMSProp ResourceStridedSliceAssign Restore
    RestoreSlice RestoreV2 RetrieveTPUEmbeddingADAMParameters RetrieveTPUEmbeddingAdadeltaParameters
    RetrieveTPUEmbeddingAdagradMomentumParameters RetrieveTPUEmbeddingAdagradParameters
    RetrieveTPUEmbeddingCenteredRMSPropParameters RetrieveTPUEmbeddingFTRLParameters
    RetrieveTPUEmbeddingFrequencyEstimatorParameters RetrieveTPUEmbeddingMDLAdagradLightParameters
    RetrieveTPUEmbeddingMomentumParameters RetrieveTPUEmbeddingProximalAdagradParameters
    RetrieveTPUEmbeddingProximalYogiParameters RetrieveTPUEmbeddingRMSPropParameters
    RetrieveTPUEmbeddingStochasticGradientDescentParameters Reverse ReverseSequence ReverseV2 RewriteDataset
    RightShift Rint RngReadAndSkip RngSkip Roll Round Rsqrt RsqrtGrad SampleDistortedBoundingBox
    SampleDistortedBoundingBoxV2 SamplingDataset Save SaveDataset SaveDatasetV2 SaveSlices SaveV2
    ScalarSummary ScaleAndTranslate ScaleAndTranslateGrad ScanDataset ScatterAdd ScatterDiv ScatterMax
    ScatterMin ScatterMul ScatterNd ScatterNdAdd ScatterNdMax ScatterNdMin ScatterNdNonAliasingAdd
    ScatterNdSub ScatterNdUpdate ScatterSub ScatterUpdate SdcaFprint SdcaOptimizer SdcaOptimizerV2
    SdcaShrinkL1 SegmentMax SegmentMaxV2 SegmentMean SegmentMin SegmentMinV2 SegmentProd SegmentProdV2
    SegmentSum SegmentSumV2 Select SelectV2 SelfAdjointEig SelfAdjointEigV2 Selu SeluGrad Send
    SendTPUEmbeddingGradients SerializeIterator SerializeManySparse SerializeSparse SerializeTensor SetSize
    SetStatsAggregatorDataset Shape ShapeN ShardDataset ShardedFilename ShardedFilespec
    ShuffleAndRepeatDataset ShuffleAndRepeatDatasetV2 ShuffleDataset ShuffleDatasetV2 ShuffleDatasetV3
    ShutdownDistributedTPU Sigmoid SigmoidGrad Sign Sin Sinh Size SkipDataset SleepDataset Slice
    SlidingWindowDataset Snapshot SnapshotChunkDataset SnapshotDataset SnapshotDatasetReader
    SnapshotDatasetV2 SnapshotNestedDatasetReader SobolSample Softmax SoftmaxCrossEntropyWithLogits Softplus
    SoftplusGrad Softsign SoftsignGrad SpaceToBatch SpaceToBatchND SpaceToDepth
    SparseAccumulatorApplyGradient SparseAccumulatorTakeGradient SparseAdd SparseAddGrad SparseApplyAdadelta
    SparseApplyAdagrad SparseApplyAdagradDA SparseApplyAdagradV2 SparseApplyCenteredRMSProp SparseApplyFtrl
    SparseApplyFtrlV2 SparseApplyMomentum SparseApplyProximalAdagrad SparseApplyProximalGradientDescent
    SparseApplyRMSProp SparseBincount SparseConcat SparseConditionalAccumulator SparseCountSparseOutput
    SparseCross SparseCrossHashed SparseCrossV2 SparseDenseCwiseAdd SparseDenseCwiseDiv SparseDenseCwiseMul
    SparseFillEmptyRows SparseFillEmptyRowsGrad SparseMatMul SparseMatrixAdd SparseMatrixMatMul
    SparseMatrixMul SparseMatrixNNZ SparseMatrixOrderingAMD SparseMatrixSoftmax SparseMatrixSoftmaxGrad
    SparseMatrixSparseCholesky SparseMatrixSparseMatMul SparseMatrixTranspose SparseMatrixZeros
    SparseReduceMax SparseReduceMaxSparse SparseReduceSum SparseReduceSumSparse SparseReorder SparseReshape
    SparseSegmentMean SparseSegmentMeanGrad SparseSegmentMeanWithNumSegments SparseSegmentSqrtN
    SparseSegmentSqrtNGrad SparseSegmentSqrtNWithNumSegments SparseSegmentSum SparseSegmentSumGrad
    SparseSegmentSumWithNumSegments SparseSlice SparseSliceGrad SparseSoftmax
    SparseSoftmaxCrossEntropyWithLogits SparseSparseMaximum SparseSparseMinimum SparseSplit
    SparseTensorDenseAdd SparseTensorDenseMatMul SparseTensorSliceDataset SparseTensorToCSRSparseMatrix
    SparseToDense SparseToSparseSetOperation Spence Split SplitV SqlDataset Sqrt SqrtGrad Square
    SquaredDifference Squeeze Stack StackClose StackCloseV2 StackPop StackPopV2 StackPush StackPushV2
    StackV2 Stage StageClear StagePeek StageSize StatefulPartitionedCall StatefulRandomBinomial
    StatefulStandardNormal StatefulStandardNormalV2 StatefulTruncatedNormal StatefulUniform
    StatefulUniformFullInt StatefulUniformInt StatelessCase StatelessIf StatelessMultinomial
    StatelessParameterizedTruncatedNormal StatelessRandomBinomial StatelessRandomGammaV2
    StatelessRandomGammaV3 StatelessRandomGetAlg StatelessRandomGetKeyCounter
    StatelessRandomGetKeyCounterAlg StatelessRandomNormal StatelessRandomNormalV2 StatelessRandomPoisson
    StatelessRandomUniform StatelessRandomUniformFullInt StatelessRandomUniformFullIntV2
    StatelessRandomUniformInt StatelessRandomUniformIntV2 StatelessRandomUniformV2
    StatelessSampleDistortedBoundingBox StatelessShuffle StatelessTruncatedNormal StatelessTruncatedNormalV2
    StatelessWhile StaticRegexFullMatch StaticRegexReplace StatsAggregatorHandle StatsAggregatorHandleV2
    StatsAggregatorSetSummaryWriter StatsAggregatorSummary StopGradient StridedSlice StridedSliceAssign
    StridedSliceGrad StringFormat StringJoin StringLength StringLower StringNGrams StringSplit StringSplitV2
    StringStrip StringToHashBucket StringToHashBucketFast StringToHashBucketStrong StringToNumber
    StringUpper Sub Substr Sum SummaryWriter Svd Switch SymbolicGradient SyncDevice TFRecordDataset
    TFRecordReader TFRecordReaderV2 TPUCompilationResult TPUEmbeddingActivations TPUOrdinalSelector
    TPUPartitionedCall TPUPartitionedInput TPUPartitionedInputV2 TPUPartitionedOutput TPUPartitionedOutputV2
    TPUReplicateMetadata TPUReplicatedInput TPUReplicatedOutput TakeDataset TakeManySparseFromTensorsMap
    TakeWhileDataset Tan Tanh TanhGrad TemporaryVariable TensorArray TensorArrayClose TensorArrayCloseV2
    TensorArrayCloseV3 TensorArrayConcat TensorArrayConcatV2 TensorArrayConcatV3 TensorArrayGather
    TensorArrayGatherV2 TensorArrayGatherV3 TensorArrayGrad TensorArrayGradV2 TensorArrayGradV3
    TensorArrayGradWithShape TensorArrayPack TensorArrayRead TensorArrayReadV2 TensorArrayReadV3
    TensorArrayScatter TensorArrayScatterV2 TensorArrayScatterV3 TensorArraySize TensorArraySizeV2
    TensorArraySizeV3 TensorArraySplit TensorArraySplitV2 TensorArraySplitV3 TensorArrayUnpack TensorArrayV2
    TensorArrayV3 TensorArrayWrite TensorArrayWriteV2 TensorArrayWriteV3 TensorDataset TensorListConcat
    TensorListConcatLists TensorListConcatV2 TensorListElementShape TensorListFromTensor TensorListGather
    TensorListGetItem TensorListLength TensorListPopBack TensorListPushBack TensorListPushBackBatch
    TensorListReserve TensorListResize TensorListScatter TensorListScatterIntoExistingList
    TensorListScatterV2 TensorListSetItem TensorListSplit TensorListStack TensorScatterAdd TensorScatterMax
    TensorScatterMin TensorScatterSub TensorScatterUpdate TensorSliceDataset TensorStridedSliceUpdate
    TensorSummary TensorSummaryV2 TextLineDataset TextLineReader TextLineReaderV2 ThreadPoolDataset
    ThreadPoolHandle ThreadUnsafeUnigramCandidateSampler Tile TileGrad Timestamp ToBool TopK TopKV2
    Transpose TridiagonalMatMul TridiagonalSolve TruncateDiv TruncateMod TruncatedNormal Unbatch
    UnbatchDataset UnbatchGrad UncompressElement UnicodeDecode UnicodeDecodeWithOffsets UnicodeEncode
    UnicodeScript UnicodeTranscode UniformCandidateSampler UniformDequantize UniformQuantize
    UniformQuantizedAdd UniformQuantizedClipByValue UniformQuantizedConvolution
    UniformQuantizedConvolutionHybrid UniformQuantizedDot UniformQuantizedDotHybrid UniformRequantize Unique
    UniqueDataset UniqueV2 UniqueWithCounts UniqueWithCountsV2 Unpack UnravelIndex UnsortedSegmentJoin
    UnsortedSegmentMax UnsortedSegmentMin UnsortedSegmentProd UnsortedSegmentSum Unstage
    UnwrapDatasetVariant UpperBound VarHandleOp VarIsInitializedOp Variable VariableShape VariableV2 Where
    While WholeFileReader WholeFileReaderV2 WindowDataset WindowOp WorkerHeartbeat WrapDatasetVariant
    WriteAudioSummary WriteFile WriteGraphSummary WriteHistogramSummary WriteImageSummary
    WriteRawProtoSummary WriteScalarSummary WriteSummary Xdivy XlaConcatND XlaSplitND Xlog1py Xlogy
    ZerosLike Zeta ZipDataset
"""
# Ops TensorFlow registers without a raw_ops wrapper that appear in saved graphs: XLA bridge ops (jax2tf exports
# use XlaCallModule), TPU ops, TensorMap ops and internal ops (tensorflow/compiler/tf2xla/ops, core/tpu/ops,
# core/ops). Ops added by TensorFlow releases after the table was taken are reported (medium) until listed here.
_EXTRA_STANDARD_OPS = """
    XlaCallModule XlaConv XlaConvV2 XlaDot XlaDotV2 XlaDynamicSlice XlaDynamicUpdateSlice XlaEinsum XlaGather
    XlaIf XlaKeyValueSort XlaPad XlaRecv XlaReduce XlaReduceWindow XlaRemoveDynamicDimensionSize XlaReplicaId
    XlaRngBitGenerator XlaScatter XlaSelectAndScatter XlaSelfAdjointEig XlaSend XlaSetBound
    XlaSetDynamicDimensionSize XlaSharding XlaSort XlaSpmdFullToShardShape XlaSpmdShardToFullShape XlaSvd
    XlaVariadicReduce XlaVariadicReduceV2 XlaVariadicSort XlaWhile XlaAllReduce XlaReduceScatter
    XlaReducePrecision XlaOptimizationBarrier XlaCustomCall XlaCustomCallV2 XlaDequantize XlaBroadcastHelper
    XlaClusterOutput XlaLaunch XlaLaunchV2 XlaHostCompute XlaRecvFromHost XlaSendToHost XlaConcatND XlaSplitND
    TPUCompile TPUExecute TPUExecuteAndUpdateVariables TPUCompileSucceededAssert TPUReplicate TPUDummyInput
    _TPUCompileMlir _Arg _Retval _DeviceArg _DeviceRetval _Send _Recv _HostSend _HostRecv _ListToArray
    _ArrayToList _FusedConv2D _FusedMatMul _FusedBatchNormEx _If _While _ReadVariablesOp _VarHandlesOp
    _XlaCompile _XlaRun _XlaMerge _HostCast _UnaryOpsComposition _SwitchN _ScopedAllocator
    _ScopedAllocatorConcat _ScopedAllocatorSplit EmptyTensorMap TensorMapErase TensorMapHasKey TensorMapInsert
    TensorMapLookup TensorMapSize TensorMapStackKeys Conv KthOrderStatistic MakeUnique TopKUnique TopKWithUnique
    TPURoundRobin
"""
STANDARD_OPS = frozenset(_RAW_OPS.split()) | frozenset(_EXTRA_STANDARD_OPS.split())
