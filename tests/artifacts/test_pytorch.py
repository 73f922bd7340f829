"""PyTorch checkpoints through the real entry point: torch.save zips, TorchScript, the legacy stream and tar
formats. Pickle payload tests rely on the pickle analyzer (MW-PKL-001 with evidence "module.name")."""

from __future__ import annotations

import io
import pickle
import re
import struct

import pytest

from mlwarden.artifacts.pytorch import (
    ROLE_CODE,
    ROLE_CONTENT,
    ROLE_PICKLE,
    ROLE_STORAGE,
    TORCHSCRIPT_CODE_RULES,
    cut_pickle,
    scan_torchscript_code,
    torch_archive_layout,
)
from mlwarden.core.findings import Finding, Severity
from mlwarden.scanning.context import ScanContext
from mlwarden.scanning.dispatch import scan_stream
from tests.samples import archives as arc
from tests.samples import pytorch as pt
from tests.samples.archives import CountingReader
from tests.samples.findings import rules, serious, system_calls


def scan(data: bytes, name: str = "model.pt", stream: io.BytesIO | None = None) -> tuple[str | None, list[Finding]]:
    ctx = ScanContext(path="sample", size=len(data), name=name)
    fmt = scan_stream(stream if stream is not None else io.BytesIO(data), ctx)
    return fmt, ctx.findings


def assert_clean_scan(findings: list[Finding]) -> None:
    assert not [f for f in findings if f.rule_id in ("MW-SCAN-002", "MW-FMT-001")], findings


# --- torch.save zip -------------------------------------------------------------------------------------------


def test_benign_checkpoint_has_no_findings():
    fmt, findings = scan(pt.torch_zip_checkpoint())
    assert fmt == "zip"
    assert serious(findings) == []


def test_large_checkpoint_never_reads_its_storages():
    data = pt.large_checkpoint(50)
    stream = CountingReader(data)
    fmt, findings = scan(data, stream=stream)
    assert fmt == "zip"
    assert serious(findings) == []
    # The structural guarantee: storages (nearly all of the 50 MB) are skipped without a read.
    assert stream.bytes_read < 256 * 1024, stream.bytes_read


def test_storage_member_is_not_read_even_if_it_is_a_pickle():
    _, findings = scan(pt.checkpoint_with_storage_named_pickle())
    assert system_calls(findings) == []
    assert serious(findings) == []


def test_malicious_data_pkl():
    _, findings = scan(pt.checkpoint_with_malicious_data_pkl())
    hits = system_calls(findings)
    assert hits and hits[0].location.member == "archive/data.pkl"


def test_payload_in_an_extra_pickle_member_is_caught():
    _, findings = scan(pt.checkpoint_with_extra_pickle())
    hits = system_calls(findings)
    assert hits and hits[0].location.member == "archive/extra.pkl"


def test_bad_crc_does_not_stop_the_scan():
    data = arc.with_bad_crc(pt.checkpoint_with_malicious_data_pkl(), "archive/data.pkl")
    _, findings = scan(data)
    assert any(f.rule_id == "MW-ARC-003" and f.evidence == "bad CRC" for f in findings)
    assert system_calls(findings)


@pytest.mark.parametrize("local_only", [True, False])
def test_encryption_flag_does_not_stop_the_scan(local_only):
    data = arc.with_encryption_flag(pt.checkpoint_with_malicious_data_pkl(), "archive/data.pkl",
                                    local_only=local_only)
    _, findings = scan(data)
    flagged = [f for f in findings if f.rule_id == "MW-ARC-003" and f.evidence == "encryption flag"]
    assert flagged and ("local header only" in flagged[0].message) is local_only
    assert system_calls(findings)


def test_bad_crc_on_a_benign_checkpoint_is_only_an_irregularity():
    data = arc.with_bad_crc(pt.torch_zip_checkpoint(), "archive/data.pkl")
    _, findings = scan(data)
    assert rules(serious(findings)) == {"MW-ARC-003"}


def test_checkpoint_without_central_directory_is_walked():
    _, findings = scan(arc.without_central_directory(pt.checkpoint_with_malicious_data_pkl()))
    assert any(f.rule_id == "MW-ARC-003" and "local headers" in f.message for f in findings)
    assert system_calls(findings)


def test_checkpoint_named_safetensors_is_flagged_and_scanned():
    _, findings = scan(pt.checkpoint_with_malicious_data_pkl(), name="model.safetensors")
    assert any(f.rule_id == "MW-FMT-002" and f.evidence == ".safetensors -> zip" for f in findings)
    assert system_calls(findings)


def test_layout_roles():
    layout = torch_archive_layout(["archive/data.pkl", "archive/data/0", "archive/version",
                                   "archive/.data/serialization_id", "archive/extra.pkl", "ARCHIVE/DATA/1"])
    assert layout.is_torch and not layout.is_torchscript
    assert layout.role("archive/data/0") == ROLE_STORAGE
    assert layout.role("ARCHIVE/DATA/1") == ROLE_STORAGE  # miniz looks names up case-insensitively
    assert layout.role("archive/data.pkl") == ROLE_PICKLE
    assert layout.role("archive/Extra.PKL") == ROLE_PICKLE
    assert layout.role("archive/version") == ROLE_CONTENT
    assert layout.role("archive/.data/serialization_id") == ROLE_CONTENT
    scripted = torch_archive_layout(["m/data.pkl", "m/constants.pkl", "m/code/__torch__.py",
                                     "m/code/__torch__.py.debug_pkl", "m/constants/0"])
    assert scripted.is_torchscript
    assert scripted.role("m/code/__torch__.py") == ROLE_CODE
    assert scripted.role("m/code/__torch__.py.debug_pkl") == ROLE_PICKLE
    assert scripted.role("m/constants/0") == ROLE_STORAGE
    assert not torch_archive_layout(["a.npy", "b.npy"]).is_torch


# --- TorchScript ----------------------------------------------------------------------------------------------


def test_benign_torchscript_lists_its_code_only():
    fmt, findings = scan(pt.torchscript_archive())
    assert fmt == "zip"
    info = [f for f in findings if f.rule_id == "MW-TORCH-002"]
    assert len(info) == 1 and info[0].severity is Severity.INFO
    assert "code/" in (info[0].evidence or "")
    assert serious(findings) == []


def test_torchscript_file_operations_are_critical():
    _, findings = scan(pt.torchscript_with_file_ops())
    dangerous = [f for f in findings if f.rule_id == "MW-TORCH-001"]
    assert {f.evidence for f in dangerous} >= {"torch.save", "torch.from_file"}
    assert all(f.severity is Severity.CRITICAL for f in dangerous)
    assert all(f.location.line for f in dangerous)


def test_hand_edited_torchscript_code():
    _, findings = scan(pt.torchscript_with_edited_code())
    assert any(f.rule_id == "MW-TORCH-001" and "__import__" in (f.evidence or "") for f in findings)


# Bandit-style: each code rule with a positive and a negative example.
CODE_EXAMPLES = [
    ("writes files", 'torch.save(x, "/tmp/a")', "self.save_state(x)"),
    ("reads files (aten::from_file)", 'y = torch.from_file("/etc/passwd", None, 4)', "y = torch.from_numpy(x)"),
    ("debugprims", "y = ops.debugprims.load_tensor(\"t\", [1], [1])", "y = ops.prims.add(a, b)"),
    ("remote procedure", "fut = rpc_async(\"worker1\", f, (x,))", "fut = torch.jit._fork(f, x)"),
    ("network collectives", "y = ops._c10d_functional.all_reduce(x, \"sum\", \"0\")", "y = ops.aten.add(x, x)"),
    ("Python code execution", "_0 = eval(\"1\")", "_0 = self.evaluate(x)"),
    ("Python system modules", "os.system(\"true\")", "_0 = self.pos.x + torch.cos(x)"),
    ("Python open", "f = open(\"/etc/passwd\")", "f = self.open(x)"),
    ("introspection", "x.__class__.__subclasses__()", "x = __torch__.torch.nn.Linear"),
    ("native library", "torch.ops.load_library(\"/tmp/evil.so\")", "torch.ops.aten.relu(x)"),
]


@pytest.mark.parametrize("label, positive, negative", CODE_EXAMPLES)
def test_code_rule_examples(label, positive, negative):
    def findings_for(text: str) -> list[Finding]:
        ctx = ScanContext(path="p", size=len(text), member="archive/code/__torch__.py")
        scan_torchscript_code(text, ctx)
        return ctx.findings

    hits = findings_for(f"def forward(self, x):\n  {positive}\n")
    assert any(label in f.message for f in hits), hits
    assert findings_for(f"def forward(self, x):\n  {negative}\n") == []


def test_code_rules_compile_and_are_documented():
    for rule in TORCHSCRIPT_CODE_RULES:
        assert isinstance(rule.pattern, re.Pattern) and rule.label and rule.why


def test_custom_operator_and_class_namespaces_are_low():
    ctx = ScanContext(path="p", size=0)
    scan_torchscript_code("y = ops.my_vendor.fused(x)\nz = ops.torchvision.nms(a, b, 0.5)\n"
                          "p : __torch__.torch.classes.acme.Packed\n"
                          "q : __torch__.torch.classes.quantized.LinearPackedParamsBase\n", ctx)
    assert {f.evidence for f in ctx.findings} == {"ops.my_vendor.fused", "torch.classes.acme.Packed"}
    assert all(f.severity is Severity.LOW for f in ctx.findings)


# --- legacy stream format -------------------------------------------------------------------------------------


def test_benign_legacy_checkpoint():
    fmt, findings = scan(pt.torch_legacy_checkpoint())
    assert fmt == "torch-legacy"
    assert serious(findings) == []


def test_legacy_payload_in_main_object():
    _, findings = scan(pt.legacy_with_payload_in_main_object())
    hits = system_calls(findings)
    assert hits
    # Offsets are absolute in the file: past the three header pickles.
    assert hits[0].location.offset is not None and hits[0].location.offset > 60


def test_legacy_storage_bytes_are_not_parsed_as_pickle():
    data = pt.legacy_with_pickle_in_storage_bytes()
    assert pt.malicious_pickle() in data  # the payload bytes really are in the file, as raw storage
    _, findings = scan(data)
    assert system_calls(findings) == []
    assert serious(findings) == []


def test_legacy_reads_only_the_five_pickles():
    data = pt.torch_legacy_checkpoint({"big": pt.torch.zeros(1_000_000)})
    pickles_end = 0
    for _ in range(5):
        pickles_end = cut_pickle(io.BytesIO(data), pickles_end, len(data)).end
    stream = CountingReader(data)
    _, findings = scan(data, stream=stream)
    assert serious(findings) == []
    # Identification reads 4 KiB, the dispatcher's polyglot check the last 64 KiB, each pickle cut at most one
    # small read-ahead; the 4 MB of storage bytes in between are never read.
    allowance = pickles_end + 4096 + 65_557 + 5 * 1024
    assert stream.bytes_read < allowance < len(data) // 10


def test_truncated_legacy_checkpoint():
    data = pt.legacy_with_payload_in_main_object()
    _, findings = scan(data[:200])
    assert "MW-FMT-001" in rules(findings)
    assert "MW-SCAN-002" not in rules(findings)


def test_cut_pickle_finds_stop_and_reports_damage():
    payload = pt.malicious_pickle()
    span = cut_pickle(io.BytesIO(payload + b"\xff" * 100), 0, 1000, keep_opcodes=True)
    assert span.complete and span.data == payload and span.opcodes and span.opcodes[-1][0] == "STOP"
    broken = cut_pickle(io.BytesIO(payload[:-3]), 0, 1000)
    assert not broken.complete and broken.problem
    unknown = cut_pickle(io.BytesIO(b"\x80\x02\xfe"), 0, 10)
    assert not unknown.complete


# --- legacy tar format ----------------------------------------------------------------------------------------


def test_benign_legacy_tar():
    fmt, findings = scan(pt.legacy_tar_checkpoint())
    assert fmt == "tar"
    assert serious(findings) == []


@pytest.mark.parametrize("part, kwargs", [
    ("pickle", {"main": pt.malicious_pickle()}),
    ("storages", {"storage_header": pt.MALICIOUS_STORAGE_HEADER}),
    ("tensors", {"tensor_header": pt.MALICIOUS_TENSOR_HEADER}),
])
def test_legacy_tar_payloads(part, kwargs):
    _, findings = scan(pt.legacy_tar_checkpoint(**kwargs))
    hits = system_calls(findings)
    assert hits and hits[0].location.member == part
    assert_clean_scan(findings)


def test_legacy_tar_with_lying_storage_size():
    data = pt.legacy_tar_checkpoint()
    # The storage element count sits right after the count pickle and the storage header pickle.
    marker = struct.pack("<q", 3) + struct.pack("<3f", 1.0, 2.0, 3.0)
    tampered = data.replace(marker, struct.pack("<q", 10**12) + marker[8:])
    _, findings = scan(tampered)
    assert any(f.rule_id == "MW-FMT-001" and f.location.member == "storages" for f in findings)


def test_torchscript_filter_keeps_real_payloads():
    base = pt.torchscript_archive()
    for target in ("/constants.pkl", ".debug_pkl"):
        data = arc.rebuild_zip(base, transform=lambda name, blob, t=target: pt.malicious_pickle()
                               if name.endswith(t) else blob)
        _, findings = scan(data)
        assert system_calls(findings), target


class _KeyPickler(pickle.Pickler):
    """Writes tensors-like objects as plain string persistent ids, as the legacy tar format did."""

    def persistent_id(self, obj):  # type: ignore[no-untyped-def]
        return "140213" if isinstance(obj, bytearray) else None


def test_legacy_tar_plain_key_persistent_ids_are_accepted():
    shared = bytearray(b"x")
    buffer = io.BytesIO()
    _KeyPickler(buffer, protocol=2).dump({"a": shared, "b": shared, "c": [shared]})
    assert b"h" in buffer.getvalue()  # the second use of the key comes from the memo (BINGET)
    _, findings = scan(pt.legacy_tar_checkpoint(main=buffer.getvalue()))
    assert serious(findings) == []


def test_legacy_tar_other_persistent_ids_are_still_reported():
    main = b"\x80\x02(X\x04\x00\x00\x00evilK\x01tQ."  # persistent id ('evil', 1)
    _, findings = scan(pt.legacy_tar_checkpoint(main=main))
    assert any(f.rule_id == "MW-PKL-004" and f.location.member == "pickle" for f in findings)


def test_legacy_checkpoint_with_a_newer_pickle_protocol():
    buffer = io.BytesIO()
    pt.torch.save(pt.benign_state_dict(), buffer, _use_new_zipfile_serialization=False, pickle_protocol=4)
    data = buffer.getvalue()
    ctx = ScanContext(path="sample", size=len(data), name="model.pt")
    scan_stream(io.BytesIO(data), ctx, format_hint="torch-legacy")  # identify matches only protocol 2 heads
    assert serious(ctx.findings) == []
