"""Hypothesis: random and mutated protobufs, JSON configs and HDF5 files must never crash a scanner (no
MW-SCAN-002), never hang, and the wire reader must raise nothing but ParseError on garbage."""

from __future__ import annotations

import io
import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlwarden.artifacts.protobuf_wire import LEN, ParseError, ProtoLimitError, ProtoMessage, ProtoReader
from mlwarden.scanning.context import ScanContext
from mlwarden.scanning.dispatch import scan_stream
from tests.samples import keras_samples as ks
from tests.samples import onnx_samples
from tests.samples import tensorflow_samples as tf

SEEDS: dict[str, list[bytes]] = {
    "model.onnx": [onnx_samples.nested_custom_op_model(), onnx_samples.benign_model("../x"),
                   onnx_samples.local_function_model()],
    "saved_model.pb": [tf.tf2_saved_model(), tf.print_to_file_model(),
                       tf.keras_object_metadata_model(ks.keras2_sequential([ks.keras2_lambda_layer()]))],
    "keras_metadata.pb": [tf.keras_metadata_pb([ks.keras2_sequential([ks.keras2_lambda_layer()])])],
    "config.json": [json.dumps(ks.keras3_functional_with_nested_lambda()).encode(),
                    json.dumps(ks.keras3_os_system_activation_config()).encode()],
    "model.h5": [ks.keras2_h5(ks.keras2_sequential([ks.keras2_lambda_layer()])),
                 ks.keras2_h5(ks.keras2_sequential(), libver="latest", fixed_length=True, many_attributes=40)],
}
CASES = [(name, seed) for name, seeds in SEEDS.items() for seed in seeds]


def _scan(data: bytes, name: str) -> list:
    ctx = ScanContext(path="fuzz", size=len(data), name=name)
    started = time.perf_counter()
    scan_stream(io.BytesIO(data), ctx)
    assert time.perf_counter() - started < 5, "scan took too long"
    return ctx.findings


def _walk(message: ProtoMessage, budget: list[int]) -> None:
    """Descend into every length-delimited field as if it were a message, the way scanners do."""
    for item in message.fields():
        if item.wire_type == LEN and budget[0] > 0:
            budget[0] -= 1
            try:
                _walk(message.submessage(item), budget)
            except ParseError:
                pass  # a string or packed field that is no message: fine, keep walking the parent
            message.read_bytes(item, 64)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=512), inline=st.sampled_from([0, 16, 1 << 20]))
def test_wire_reader_raises_only_parse_errors(data, inline):
    reader = ProtoReader(io.BytesIO(data), len(data), max_depth=8, inline_bytes=inline, max_fields=10_000)
    try:
        _walk(reader.message(), [2000])
    except ParseError:
        pass


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=512))
def test_seeking_and_in_memory_reading_agree(data):
    def fields_of(reader: ProtoReader) -> list | str:
        try:
            return [(f.number, f.wire_type, f.value, f.offset) for f in reader.message().fields()]
        except ParseError as exc:
            return f"error at {exc.offset}"

    in_memory = ProtoReader(data, len(data), max_depth=8)
    seeking = ProtoReader(io.BytesIO(data), len(data), max_depth=8, inline_bytes=0)
    assert fields_of(in_memory) == fields_of(seeking)


def test_nesting_limit():
    nested = b""
    for _ in range(100):
        nested = tf.field(1, nested)
    reader = ProtoReader(nested, len(nested), max_depth=64)
    message = reader.message()
    with pytest.raises(ProtoLimitError):
        for _ in range(100):
            message = message.submessage(next(iter(message.fields())))


def test_field_budget():
    data = tf.field(1, 1) * 1000
    reader = ProtoReader(data, len(data), max_depth=8, max_fields=100)
    with pytest.raises(ProtoLimitError):
        list(reader.message().fields())


@pytest.mark.parametrize("data, message", [
    (b"\x0b\x00", "group"), (b"\x00\x01", "field number"), (b"\x0e", "wire type"),
    (b"\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", "varint"), (b"\x12\x05ab", "ends sooner"),
    (b"\x09\x00\x00", "fixed-width"),
])
def test_bad_wire_data_is_named(data, message):
    with pytest.raises(ParseError, match=message):
        list(ProtoReader(data, len(data), max_depth=8).message().fields())


@pytest.mark.parametrize("name", sorted(SEEDS))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=1024))
def test_random_bytes_never_crash(name, data):
    assert not [f for f in _scan(data, name) if f.rule_id == "MW-SCAN-002"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=st.sampled_from(CASES), cut=st.integers(min_value=0, max_value=1 << 16),
       flips=st.lists(st.tuples(st.integers(min_value=0, max_value=1 << 20), st.integers(0, 255)), max_size=8))
def test_truncated_and_mutated_samples_never_crash(case, cut, flips):
    name, seed = case
    data = bytearray(seed[: max(1, len(seed) - cut % len(seed))])
    for position, value in flips:
        data[position % len(data)] = value
    assert not [f for f in _scan(bytes(data), name) if f.rule_id == "MW-SCAN-002"]
