"""TensorFlow SavedModel scanner through the real entry point, on hand-built saved_model.pb files."""

from __future__ import annotations

import io

import pytest

from mlwarden.artifacts.tensorflow import (
    CHECKPOINT_OPS,
    FILE_OPS,
    PYTHON_OPS,
    STANDARD_OPS,
    SavedModelScanner,
)
from mlwarden.core.findings import Severity
from mlwarden.scanning.context import ScanContext
from mlwarden.scanning.dispatch import scan_stream
from tests.samples import keras_samples as ks
from tests.samples import onnx_samples
from tests.samples import tensorflow_samples as tf


class CountingStream(io.BytesIO):
    bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.bytes_read += len(data)
        return data


def scan(data: bytes, name: str = "saved_model.pb") -> list:
    ctx = ScanContext(path="x", size=len(data), name=name)
    scan_stream(io.BytesIO(data), ctx)
    return ctx.findings


def only(findings: list, rule_id: str) -> list:
    return [f for f in findings if f.rule_id == rule_id]


@pytest.mark.parametrize("data", [tf.tf2_saved_model(), tf.tf1_saved_model(), tf.print_to_stderr_model()],
                         ids=["tf2", "tf1-saver", "print-to-stderr"])
def test_benign_saved_models_are_clean(data):
    assert scan(data) == []


def test_read_file_in_a_function_body_is_high():
    [finding] = scan(tf.read_file_in_function())
    assert (finding.rule_id, finding.severity, finding.evidence) == ("MW-TF-001", Severity.HIGH, "ReadFile")
    assert "__inference_serve_99" in finding.message


def test_py_func_is_critical():
    [finding] = scan(tf.py_func_model())
    assert (finding.rule_id, finding.severity, finding.evidence) == ("MW-TF-002", Severity.CRITICAL, "PyFunc")


def test_write_file_is_high():
    [finding] = scan(tf.write_file_model())
    assert (finding.rule_id, finding.evidence) == ("MW-TF-001", "WriteFile")


def test_checkpoint_op_outside_the_saver_is_medium():
    [finding] = scan(tf.save_in_serving_function())
    assert (finding.rule_id, finding.severity, finding.evidence) == ("MW-TF-001", Severity.MEDIUM, "SaveV2")
    assert "__inference_serve_10" in finding.message


def test_graph_level_checkpoint_op_outside_the_save_scope_is_medium():
    data = tf.tf2_saved_model(extra_nodes=[tf.node_def("sneaky/RestoreV2", "RestoreV2")])
    [finding] = scan(data)
    assert (finding.evidence, finding.severity) == ("RestoreV2", Severity.MEDIUM)


def test_op_outside_tensorflow_needs_a_custom_library():
    [finding] = scan(tf.custom_op_model())
    assert (finding.rule_id, finding.severity, finding.evidence) == ("MW-TF-002", Severity.MEDIUM, "ZeroOut")


def test_library_function_called_by_name_is_not_a_custom_op():
    helper = tf.function_def("my_helper", [tf.node_def("r", "Relu")])
    data = tf.tf2_saved_model(extra_functions=[helper], extra_nodes=[tf.node_def("call", "my_helper")])
    assert scan(data) == []


def test_print_to_file_is_high():
    [finding] = scan(tf.print_to_file_model())
    assert (finding.rule_id, finding.evidence) == ("MW-TF-001", "PrintV2")
    assert "file:///tmp/leak.txt" in finding.message


def test_asset_outside_the_assets_folder():
    [finding] = scan(tf.asset_traversal_model())
    assert finding.rule_id == "MW-TF-001" and "../../../etc/passwd" in finding.evidence


def test_keras_metadata_in_the_object_graph_is_analysed():
    data = tf.keras_object_metadata_model(ks.keras2_sequential([ks.keras2_lambda_layer("legacy")]))
    [finding] = scan(data)
    assert finding.rule_id == "MW-KERAS-001" and "'legacy'" in finding.evidence


def test_findings_are_aggregated_per_op():
    reads = [tf.node_def(f"read_{i}", "ReadFile") for i in range(500)]
    [finding] = scan(tf.tf2_saved_model(extra_nodes=reads))
    assert "497 more" in finding.message


def test_const_tensor_contents_are_skipped_not_read():
    data = tf.tf2_saved_model(const_bytes=8 << 20)
    stream = CountingStream(data)
    ctx = ScanContext(path="x", size=len(data), name="saved_model.pb")
    SavedModelScanner().scan(stream, ctx)  # the scanner alone: dispatch also reads the head and tail
    assert ctx.findings == []
    assert stream.bytes_read < 16 * 1024


def test_onnx_model_named_pb_is_scanned_as_onnx():
    findings = scan(onnx_samples.custom_domain_model(), "model.pb")
    assert [f.rule_id for f in findings] == ["MW-ONNX-002"]


def test_frozen_graph_def():
    graph = tf.graph_def([tf.node_def("x", "Placeholder"), tf.node_def("r", "ReadFile")])
    assert [f.evidence for f in scan(graph)] == ["ReadFile"]


@pytest.mark.parametrize("data", [b"\x08\x01\x12\xff\xff\xff\x0f", b"\x08\x01\x13\x00", b"\x08\x01\x12\x05ab"])
def test_invalid_protobuf_is_unscannable(data):
    assert [f.rule_id for f in scan(data)] == ["MW-FMT-001"]


def test_op_tables_are_consistent():
    assert PYTHON_OPS <= STANDARD_OPS and set(FILE_OPS) <= STANDARD_OPS and CHECKPOINT_OPS <= STANDARD_OPS
    assert {"MatMul", "StatefulPartitionedCall", "VarHandleOp", "XlaCallModule"} <= STANDARD_OPS
    assert len(STANDARD_OPS) > 1300


# --- the saver, as real TensorFlow 2.21 writes it (see tests/samples/tensorflow_samples.py) ----------------
@pytest.mark.parametrize("data", [tf.tf2_real_module_saved_model(), tf.tf1_real_sharded_saver_saved_model()],
                         ids=["tf2-module", "tf1-sharded-saver"])
def test_real_savers_are_silent(data):
    assert [f for f in scan(data) if f.severity.rank >= Severity.MEDIUM.rank] == []


def test_save_op_in_the_serving_function_of_a_real_model_is_flagged():
    save = tf.node_def("SaveV2", "SaveV2", inputs=("x", "names", "slices"))
    [finding] = scan(tf.tf2_real_module_saved_model(serve_extra=[save]))
    assert (finding.rule_id, finding.severity, finding.evidence) == ("MW-TF-001", Severity.MEDIUM, "SaveV2")
    assert "__inference_serve_13" in finding.message


def test_a_function_named_like_the_saver_but_not_called_by_it_is_flagged():
    fake = tf.function_def("__inference__traced_save_77", [tf.node_def("SaveV2", "SaveV2")])
    data = tf.tf2_saved_model(extra_functions=[fake], extra_nodes=[
        tf.node_def("call", "StatefulPartitionedCall", tf.attr_entry("f", func="__inference__traced_save_77"))])
    [finding] = scan(data)
    assert (finding.evidence, finding.severity) == ("SaveV2", Severity.MEDIUM)
    assert "__inference__traced_save_77" in finding.message


@pytest.mark.parametrize("how", ["graph-node", "exposed-on-the-object"])
def test_the_saver_function_called_from_elsewhere_is_flagged(how):
    if how == "graph-node":
        hijack = tf.node_def("serving_save", "StatefulPartitionedCall",
                             tf.attr_entry("f", func="__inference__traced_save_49"), inputs=("serving_default_x",))
        data = tf.tf2_real_module_saved_model(extra_nodes=[hijack])
    else:
        data = tf.tf2_real_module_saved_model(concrete_functions=["__inference__traced_save_49"])
    findings = scan(data)
    assert {f.evidence for f in findings} == {"SaveV2", "MergeV2Checkpoints"}
    assert all(f.severity is Severity.MEDIUM for f in findings)
