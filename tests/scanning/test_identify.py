import pickle
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlwarden.scanning.identify import compression_of, extension_of, identify

SAMPLES = [
    (b"\x80\x04\x95" + b"\x00" * 8, "x", "pickle"),
    (b"PK\x03\x04" + b"\x00" * 30, "model.bin", "zip"),
    (b"\x93NUMPY\x01\x00", "a", "npy"),
    (b"\x89HDF\r\n\x1a\n" + b"\x00" * 8, "m.h5", "hdf5"),
    (b"GGUF\x03\x00\x00\x00", "m", "gguf"),
    (b"\x1f\x8b\x08\x00", "m.gz", "compressed"),
    (b"BZh91AY", "m", "compressed"),
    (b"\xfd7zXZ\x00\x00", "m", "compressed"),
    (b"x\x9c\xcb", "m.joblib", "compressed"),
    (struct.pack("<Q", 20) + b'{"a":{}}' + b" " * 12, "w.safetensors", "safetensors"),
    (b'{"module": "keras", "class_name": "Sequential", "config": {}}', "config.json", "keras-config"),
    (b'{"model_type": "bert"}', "config.json", "hf-config"),
    (b'{"a": 1}', "data.json", "json"),
    (b"\x08\x01\x12\x04", "saved_model.pb", "tf-savedmodel"),
    (b"\x08\x09\x12\x04abcd", "model.onnx", "onnx"),
    (b"import os\n", "modeling.py", "hf-code"),
    (b"hello world, plain text\n", "notes.txt", "text"),
    (b"\x00\x01\x02\x03", "blob", None),
]


@pytest.mark.parametrize("head, name, expected", SAMPLES)
def test_identify_by_content(head, name, expected):
    assert identify(head, name=name, size=1000) == expected


def test_content_wins_over_the_name():
    payload = pickle.dumps({"a": 1}, protocol=4)
    assert identify(payload, name="weights.safetensors", size=len(payload)) == "pickle"
    assert identify(b"PK\x03\x04" + b"\0" * 26, name="config.json", size=30) == "zip"


def test_tar_magic_at_257():
    head = b"\x00" * 257 + b"ustar\x0000" + b"\x00" * 300
    assert identify(head, name="x", size=len(head)) == "tar"


def test_text_starting_with_x_is_not_zlib():
    assert compression_of(b"x marks the spot") is None
    assert compression_of(b"x\x9c") == "zlib"


def test_extension_of():
    assert extension_of("dir/Model.SafeTensors") == ".safetensors"
    assert extension_of(".hidden") == ""
    assert extension_of("noext") == ""


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.sampled_from(["a.bin", "config.json", "x.onnx", "m.pb", "", "z.py"]))
def test_identify_never_raises(head, name):
    identify(head, name=name, size=len(head))


def test_pickle_with_an_appended_zip_is_a_polyglot():
    import io
    import zipfile

    from mlwarden.scanning.context import ScanContext
    from mlwarden.scanning.dispatch import _has_trailing_zip, scan_stream

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("inner.txt", "hello")
    data = pickle.dumps([1, 2, 3], protocol=2) + buf.getvalue()
    assert _has_trailing_zip(io.BytesIO(data), len(data))
    assert not _has_trailing_zip(io.BytesIO(b"x" * 100 + b"PK\x05\x06" + b"\0" * 30), 134)
    ctx = ScanContext(path="p", size=len(data), name="model.pkl")
    scan_stream(io.BytesIO(data), ctx)
    assert any(f.rule_id == "MW-FMT-002" and f.evidence == "pickle+zip" for f in ctx.findings)


def test_hdf5_with_a_user_block_is_still_hdf5():
    head = b"\x00" * 512 + b"\x89HDF\r\n\x1a\n" + b"\x00" * 100
    assert identify(head, name="model.bin", size=10_000) == "hdf5"
    assert identify(b"\x00" * 4096, name="model.h5", size=100_000) == "hdf5"


@pytest.mark.parametrize("name, expected", [("w.safetensors", "safetensors"), ("m.gguf", "gguf"),
                                            ("a.npy", "npy"), ("m.pt", "pickle"), ("notes.bin", None)])
def test_unrecognised_content_with_a_model_extension_goes_to_that_scanner(name, expected):
    assert identify(b"\x00\x01\x02garbage", name=name, size=10) == expected


@pytest.mark.parametrize("name", ["tokenizer_config.json", "chat_template.json", "processor_config.json"])
def test_hugging_face_json_files_are_recognised_by_name(name):
    head = b'{"added_tokens_decoder": {"0": {"content": "<pad>"}}}'
    assert identify(head, name=name, size=len(head)) == "hf-config"
    assert identify(b"{{ messages }}", name="chat_template.jinja", size=14) == "hf-chat-template"


def test_hostile_safetensors_header_is_reported_not_skipped():
    import io
    import struct

    from mlwarden.scanning.context import ScanContext
    from mlwarden.scanning.dispatch import scan_stream

    data = struct.pack("<Q", 1 << 40) + b'{"a": 1}'
    ctx = ScanContext(path="w.safetensors", size=len(data), name="w.safetensors")
    scan_stream(io.BytesIO(data), ctx)
    assert any(f.rule_id in ("MW-ST-001", "MW-FMT-001") for f in ctx.findings)


def test_keras_config_with_a_padded_head_is_still_analysed_as_keras():
    import io
    import json

    from mlwarden.scanning.context import ScanContext
    from mlwarden.scanning.dispatch import scan_stream

    doc = {"padding": "x" * 8000, "class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "Lambda", "config": {"name": "evil", "function": {
            "class_name": "__lambda__", "config": {"code": "4wAAAAAAAAAAAAAAAG9zAHN5c3RlbQ=="}}}}]}}
    data = json.dumps(doc).encode()
    ctx = ScanContext(path="m.keras", size=len(data), name="config.json", member="config.json")
    scan_stream(io.BytesIO(data), ctx)
    assert any(f.rule_id == "MW-KERAS-001" for f in ctx.findings), ctx.findings


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_torch_legacy_magic_at_any_protocol(protocol):
    magic = 0x1950A86A20F9469CFC6C
    head = pickle.dumps(magic, protocol=protocol) + pickle.dumps(1001, protocol=protocol)
    assert identify(head, name="old.pt", size=len(head)) == "torch-legacy"


def test_zip_behind_unknown_leading_bytes_is_found(tmp_path):
    import io
    import zipfile

    from mlwarden.scanning.engine import scan_paths

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("payload.pkl", b"cos\nsystem\n(S'true'\ntR.")
    (tmp_path / "installer.bin").write_bytes(b"\x00\x01#!/bin/sh\nexit 0\n" + buf.getvalue())
    report = scan_paths([tmp_path], jobs=1)
    rules = {f.rule_id for f in report.findings}
    assert {"MW-FMT-002", "MW-PKL-001"} <= rules


@pytest.mark.parametrize("name", ["model.onnx", "saved_model.pb", "keras_metadata.pb", "config.json"])
def test_text_pickle_is_found_whatever_its_protobuf_or_json_name(name):
    head = b"cos\nsystem\n(S'true'\ntR."
    assert identify(head, name=name, size=len(head)) == "pickle"
