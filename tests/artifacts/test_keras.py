"""Keras scanners through the real entry point (identify by content, then dispatch): `.keras` archives,
JSON configs, legacy `.h5` files and keras_metadata.pb."""

from __future__ import annotations

import io
import json

import pytest

from mlwarden.artifacts import keras as keras_module
from mlwarden.artifacts.keras import KerasConfigAnalyzer, describe_bytecode
from mlwarden.core.findings import Severity
from mlwarden.core.limits import Limits
from mlwarden.scanning.context import ScanContext, ScanOptions
from mlwarden.scanning.dispatch import scan_stream
from tests.samples import keras_samples as ks
from tests.samples.tensorflow_samples import keras_metadata_pb


class CountingStream(io.BytesIO):
    """Counts the bytes a scanner actually reads."""

    bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.bytes_read += len(data)
        return data


def scan(data: bytes, name: str, **options) -> list:
    ctx = ScanContext(path="x", size=len(data), name=name, options=ScanOptions(**options))
    scan_stream(io.BytesIO(data), ctx)
    return ctx.findings


def alarms(findings: list) -> list:
    """Findings of severity medium or worse: benign samples must have none."""
    return [f for f in findings if f.severity.rank >= Severity.MEDIUM.rank]


def only(findings: list, rule_id: str) -> list:
    return [f for f in findings if f.rule_id == rule_id]


# --- .keras archives and JSON configs ---------------------------------------------------------------------
def test_benign_keras_v3_archive_is_clean():
    findings = scan(ks.keras_v3_archive(ks.keras3_sequential()), "model.keras")
    assert findings == []


def test_keras_v3_archive_with_lambda_is_critical_with_bytecode_evidence():
    config = ks.keras3_sequential([ks.keras3_lambda_layer("preprocess")])
    [finding] = only(scan(ks.keras_v3_archive(config), "model.keras"), "MW-KERAS-001")
    assert finding.severity is Severity.CRITICAL
    assert "preprocess" in finding.evidence and "marshalled bytecode" in finding.evidence
    assert "os" in finding.evidence and "system" in finding.evidence
    assert finding.location.member == "config.json"


def test_lambda_nested_in_functional_model_and_wrapper_is_found():
    data = json.dumps(ks.keras3_functional_with_nested_lambda()).encode()
    findings = scan(data, "config.json")
    [finding] = only(findings, "MW-KERAS-001")
    assert "'hidden'" in finding.evidence
    assert not only(findings, "MW-KERAS-003")  # the __lambda__ of a Lambda layer is reported once


def test_custom_object_from_foreign_module_is_high():
    [finding] = only(scan(json.dumps(ks.keras3_custom_object_config()).encode(), "config.json"), "MW-KERAS-002")
    assert finding.severity is Severity.HIGH
    assert finding.evidence == "evil_pkg.layers.EvilLayer"


@pytest.mark.parametrize("config, evidence", [
    (ks.keras3_os_system_activation_config(), "os.system"),
    (ks.keras3_builtins_eval_loss_config(), "builtins.eval"),
])
def test_functions_from_dangerous_modules_are_critical(config, evidence):
    [finding] = only(scan(json.dumps(config).encode(), "config.json"), "MW-KERAS-003")
    assert finding.severity is Severity.CRITICAL
    assert finding.evidence == evidence


def test_registered_custom_layer_in_keras_module_is_only_mentioned():
    findings = scan(json.dumps(ks.keras3_registered_custom_layer_config()).encode(), "config.json")
    assert alarms(findings) == []
    assert [f.evidence for f in only(findings, "MW-KERAS-002")] == ["MyProject>MyBlock"]


def test_keras_gadget_function_is_critical_even_inside_keras():
    activation = {"module": "keras.utils", "class_name": "function", "config": "get_file", "registered_name": None}
    config = ks.keras3_sequential([ks.dense("fetch", activation=activation)])
    [finding] = only(scan(json.dumps(config).encode(), "config.json"), "MW-KERAS-003")
    assert finding.evidence == "keras.utils.get_file"


def test_keras2_named_function_lambda_is_high_not_critical():
    layer = {"class_name": "Lambda", "config": {"name": "scale", "function": "scale_fn", "function_type": "function",
                                                "module": "my_project.ops", "output_shape": None}}
    [finding] = only(scan(json.dumps(ks.keras2_sequential([layer])).encode(), "model.json"), "MW-KERAS-001")
    assert finding.severity is Severity.HIGH
    assert "my_project.ops" in finding.evidence


def test_torch_module_wrapper_is_critical_and_its_pickle_is_scanned():
    import base64
    payload = base64.b64encode(b"cos\nsystem\n(S'true'\ntR.").decode()
    layer = {"module": "keras.layers", "class_name": "TorchModuleWrapper",
             "config": {"name": "torch", "module": payload}, "registered_name": None}
    findings = scan(json.dumps(ks.keras3_sequential([layer])).encode(), "config.json")
    assert only(findings, "MW-KERAS-003")[0].severity is Severity.CRITICAL


def test_invalid_json_config_is_unscannable():
    findings = scan(b'{"class_name": "Sequential", "config": {"layers": [', "config.json")
    assert [f.rule_id for f in findings] == ["MW-FMT-001"]


def test_deeply_nested_json_fails_closed():
    data = b'{"class_name": "Sequential", "config": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    findings = scan(data, "config.json")
    assert [f.rule_id for f in findings] == ["MW-FMT-001"]


def test_oversized_config_hits_the_json_limit():
    data = json.dumps(ks.keras3_sequential()).encode()
    findings = scan(data, "config.json", limits=Limits(max_json_bytes=100))
    assert [f.rule_id for f in findings] == ["MW-FMT-003"]


def test_bytecode_names_must_be_whole_strings():
    import base64
    assert "mentions" not in describe_bytecode(base64.b64encode(b"\x03pos\x09posix_not").decode())
    assert describe_bytecode(base64.b64encode(b"\xfa\x02os\xfa\x06system").decode()).endswith("os, system)")
    assert "not valid base64" in describe_bytecode("abc")


def test_analyzer_reports_each_lambda_once():
    ctx = ScanContext(path="x", size=0)
    analyzer = KerasConfigAnalyzer(ctx)
    config = ks.keras3_sequential([ks.keras3_lambda_layer()])
    analyzer.analyze(config, where="a")
    analyzer.analyze(config["config"]["layers"], where="b")
    assert len(only(ctx.findings, "MW-KERAS-001")) == 1


# --- legacy .h5 -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("libver", [None, "earliest", "latest"])
@pytest.mark.parametrize("fixed_length", [False, True])
def test_benign_keras2_h5_is_clean(libver, fixed_length):
    data = ks.keras2_h5(ks.keras2_sequential(), training_config=ks.keras2_training_config(), libver=libver,
                        fixed_length=fixed_length)
    assert scan(data, "model.h5") == []


@pytest.mark.parametrize("libver", [None, "latest"])
@pytest.mark.parametrize("fixed_length", [False, True])
def test_keras2_h5_with_lambda_is_critical(libver, fixed_length):
    data = ks.keras2_h5(ks.keras2_sequential([ks.keras2_lambda_layer("evil")]), libver=libver,
                        fixed_length=fixed_length)
    [finding] = only(scan(data, "model.h5"), "MW-KERAS-001")
    assert finding.severity is Severity.CRITICAL
    assert "'evil'" in finding.evidence and "system" in finding.evidence
    assert "model_config" in finding.message and finding.location.offset is not None


def test_keras2_h5_with_custom_module_object():
    [finding] = only(scan(ks.keras2_h5(ks.keras2_evil_pkg_config()), "model.h5"), "MW-KERAS-002")
    assert finding.evidence == "evil_pkg.Backdoor"


def test_training_config_is_analysed_too():
    training = ks.keras2_training_config()
    training["loss"] = {"module": "subprocess", "class_name": "function", "config": "call"}
    findings = scan(ks.keras2_h5(ks.keras2_sequential(), training_config=training), "model.h5")
    [finding] = only(findings, "MW-KERAS-003")
    assert "training_config" in finding.message


def test_weights_only_h5_gives_no_finding():
    assert scan(ks.keras_v3_weights_h5(), "model.weights.h5") == []
    assert scan(ks.keras2_h5(None), "weights.h5") == []


@pytest.mark.parametrize("libver, fixed_length", [(None, False), ("latest", False), ("latest", True)])
@pytest.mark.parametrize("structure_only", [False, True])
def test_long_model_config_is_found(monkeypatch, libver, fixed_length, structure_only):
    """>64 KiB: h5py puts it in the global heap (variable-length) or, fixed-length, as a huge fractal-heap
    object of dense attribute storage. With the head search disabled, only the structure leads to it."""
    if structure_only:
        monkeypatch.setattr(keras_module, "FULL_SCAN_BYTES", 0)
    config = ks.long_config(ks.keras2_sequential([ks.keras2_lambda_layer("deep")]))
    assert len(json.dumps(config)) > 64 * 1024
    data = ks.keras2_h5(config, libver=libver, fixed_length=fixed_length)
    [finding] = only(scan(data, "model.h5"), "MW-KERAS-001")
    assert "'deep'" in finding.evidence


@pytest.mark.parametrize("attributes", [40, 3000])
def test_dense_attribute_storage_is_followed(monkeypatch, attributes):
    monkeypatch.setattr(keras_module, "FULL_SCAN_BYTES", 0)
    data = ks.keras2_h5(ks.keras2_sequential([ks.keras2_lambda_layer()]), libver="latest", fixed_length=True,
                        many_attributes=attributes)
    assert only(scan(data, "model.h5"), "MW-KERAS-001")


def test_large_h5_reads_only_the_structure_and_the_head(monkeypatch):
    monkeypatch.setattr(keras_module, "FULL_SCAN_BYTES", 1 << 20)
    import h5py
    import numpy as np
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        f.attrs["model_config"] = json.dumps(ks.keras2_sequential([ks.keras2_lambda_layer()])).encode()
        f.create_dataset("model_weights/big", data=np.zeros((16 << 20) // 4, dtype="float32"))
    data = buffer.getvalue()
    stream = CountingStream(data)
    ctx = ScanContext(path="x", size=len(data), name="model.h5")
    scan_stream(stream, ctx)
    assert only(ctx.findings, "MW-KERAS-001")
    assert stream.bytes_read < (1 << 20) + 256 * 1024


@pytest.mark.parametrize("data", [
    b"\x89HDF\r\n\x1a\n" + b"\x07" + b"\x00" * 100,  # unknown superblock version
    b"\x89HDF\r\n\x1a\n" + b"\x00" * 8 + b"\x09\x09" + b"\x00" * 80,  # invalid address sizes
    b"\x89HDF\r\n\x1a\n\x00",  # truncated
])
def test_corrupt_superblock_is_unscannable(data):
    assert [f.rule_id for f in scan(data, "model.h5")] == ["MW-FMT-001"]


def test_truncated_h5_still_reports_what_it_found():
    data = ks.keras2_h5(ks.keras2_sequential([ks.keras2_lambda_layer()]))
    findings = scan(data[:4096], "model.h5")
    assert "MW-SCAN-002" not in {f.rule_id for f in findings}
    assert findings  # the config attribute lies past the cut (global heap) or the structure breaks


# --- keras_metadata.pb -----------------------------------------------------------------------------------
def test_keras_metadata_pb():
    layer = ks.keras2_lambda_layer("meta_lambda")
    model = ks.keras2_sequential([layer])
    findings = scan(keras_metadata_pb([{"class_name": "Sequential", "config": model["config"]}, layer]),
                    "keras_metadata.pb")
    [finding] = only(findings, "MW-KERAS-001")
    assert "'meta_lambda'" in finding.evidence
    assert scan(keras_metadata_pb([ks.keras2_sequential()]), "keras_metadata.pb") == []


def test_h5_after_a_user_block_is_scanned_when_dispatched_as_hdf5():
    """HDF5 also looks for its superblock at 512, 1024, 2048...; identification by content only checks offset
    0, so such files reach this scanner only with a format hint."""
    import h5py
    buffer = io.BytesIO()
    with h5py.File(buffer, "w", userblock_size=512) as f:
        f.attrs["model_config"] = json.dumps(ks.keras2_sequential([ks.keras2_lambda_layer("hidden")])).encode()
    data = buffer.getvalue()
    assert data[:8] != b"\x89HDF\r\n\x1a\n"
    ctx = ScanContext(path="x", size=len(data), name="model.h5")
    scan_stream(io.BytesIO(data), ctx, format_hint="hdf5")
    assert [f.rule_id for f in ctx.findings] == ["MW-KERAS-001"]


def test_findings_per_rule_are_capped():
    layers = [{"module": f"pkg_{i}", "class_name": "Layer", "config": {}} for i in range(500)]
    findings = scan(json.dumps(ks.keras3_sequential(layers)).encode(), "config.json")
    assert len(only(findings, "MW-KERAS-002")) == 50
    assert "not listed" in only(findings, "MW-KERAS-002")[-1].message


# --- the JSON-encoded tuple form of a tf.keras 2.x Lambda function -----------------------------------------
def test_tuple_encoded_lambda_in_keras_metadata_pb_is_critical():
    layer = ks.keras2_tuple_lambda_layer("tuple_lambda")
    findings = scan(keras_metadata_pb([{"class_name": "Dense", "config": {"name": "dense", "units": 4}}, layer]),
                    "keras_metadata.pb")
    [finding] = only(findings, "MW-KERAS-001")
    assert finding.severity is Severity.CRITICAL
    assert "'tuple_lambda'" in finding.evidence and "marshalled bytecode" in finding.evidence
    assert "system" in finding.evidence and "no function stored" not in finding.message


def test_tuple_encoded_lambda_in_config_json_is_critical():
    config = ks.keras2_sequential([ks.keras2_tuple_lambda_layer("tuple_lambda")])
    [finding] = only(scan(json.dumps(config).encode(), "config.json"), "MW-KERAS-001")
    assert finding.severity is Severity.CRITICAL and "marshalled bytecode" in finding.evidence


def test_tuple_that_is_not_code_stays_high():
    layer = ks.keras2_lambda_layer("shape_only")
    layer["config"]["function"] = {"class_name": "__tuple__", "items": [1, 2]}
    [finding] = only(scan(json.dumps(ks.keras2_sequential([layer])).encode(), "config.json"), "MW-KERAS-001")
    assert finding.severity is Severity.HIGH and "no function stored" in finding.message


@pytest.mark.parametrize("missing", [16, 4096])
def test_h5_stream_shorter_than_its_declared_size_fails_closed(missing):
    """An archive member whose declared size lies: the reader runs out early (found by fuzzing)."""
    data = ks.keras2_h5(ks.keras2_sequential([ks.keras2_lambda_layer()]))
    ctx = ScanContext(path="m.h5", size=len(data) + missing, name="model.h5")
    scan_stream(io.BytesIO(data), ctx, format_hint="hdf5")
    rules = {f.rule_id for f in ctx.findings}
    assert "MW-SCAN-002" not in rules, ctx.findings
    assert rules & {"MW-FMT-001", "MW-KERAS-001"}
