"""GGUF scanner and chat-template analyser: benign files and templates stay silent, hostile ones are caught
quickly without allocating from length fields, and the scanner never reads tensor data."""

from __future__ import annotations

import io
import struct
import time
import tracemalloc

import pytest

from mlwarden.artifacts.jinja_template import ESCAPE, TOO_LARGE, UNPARSEABLE, find_template_escapes
from mlwarden.core.findings import Finding, Severity
from mlwarden.core.limits import Limits
from mlwarden.scanning.context import ScanContext, ScanOptions
from mlwarden.scanning.dispatch import scan_stream
from tests.samples import gguf_samples as g
from tests.samples.findings import rules


def scan(data: bytes, *, name: str = "model.gguf", limits: Limits | None = None,
         hint: str | None = None) -> list[Finding]:
    options = ScanOptions(limits=limits) if limits else ScanOptions()
    ctx = ScanContext(path="x", size=len(data), name=name, options=options)
    scan_stream(io.BytesIO(data), ctx, format_hint=hint)
    return ctx.findings


def assert_no_scanner_failure(findings: list[Finding]) -> None:
    assert "MW-SCAN-002" not in rules(findings), [f.message for f in findings]


# --- benign files ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [1, 2, 3])
@pytest.mark.parametrize("endian", ["<", ">"])
def test_benign_file_has_no_findings(version, endian):
    data = g.benign_gguf(version=version, endian=endian)
    assert scan(data) == []


def test_benign_file_with_explicit_alignment_has_no_findings():
    assert scan(g.benign_gguf(alignment=64)) == []


@pytest.mark.parametrize("name", sorted(g.BENIGN_TEMPLATES))
def test_benign_chat_templates_in_gguf_give_nothing(name):
    assert scan(g.gguf_with_template(g.BENIGN_TEMPLATES[name])) == []


def test_identify_dispatches_gguf_by_content():
    assert rules(scan(g.gguf_with_template(g.MALICIOUS_TEMPLATES["subclasses"]), name="blob.bin")) == \
        {"MW-GGUF-001"}


# --- chat-template escapes in GGUF -------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(g.MALICIOUS_TEMPLATES))
def test_template_injection_in_gguf_is_critical(name):
    template = g.MALICIOUS_TEMPLATES[name]
    data = g.gguf_with_template(template)
    findings = [f for f in scan(data) if f.rule_id == "MW-GGUF-001"]
    assert findings, name
    for finding in findings:
        assert finding.severity is Severity.CRITICAL
        assert finding.evidence and len(finding.evidence) <= 200
        # The offset points at the template text inside the file.
        assert finding.location.offset == data.find(template.encode())


def test_named_chat_template_is_analysed_too():
    writer = g.GgufWriter()
    extra = [writer.kv("tokenizer.chat_template.tool_use", g.STRING, g.MALICIOUS_TEMPLATES["lipsum-globals"])]
    findings = scan(g.benign_gguf(extra_kvs=extra))
    assert [f.rule_id for f in findings] == ["MW-GGUF-001"]
    assert "tokenizer.chat_template.tool_use" in findings[0].message


def test_duplicate_template_key_is_reported_and_both_are_analysed():
    writer = g.GgufWriter()
    extra = [writer.kv("tokenizer.chat_template", g.STRING, g.MALICIOUS_TEMPLATES["cycler-globals-popen"])]
    findings = scan(g.benign_gguf(extra_kvs=extra))
    assert "MW-GGUF-001" in rules(findings)
    assert any(f.rule_id == "MW-GGUF-002" and "more than once" in f.message for f in findings)


def test_evidence_is_the_offending_expression():
    template = g.LLAMA3_TEMPLATE + "{{ cycler.__init__.__globals__.os.popen('true').read() }}"
    (finding,) = scan(g.gguf_with_template(template))
    assert finding.evidence == "{{ cycler.__init__.__globals__.os.popen('true').read() }}"
    assert "__globals__" in finding.message and "cycler" in finding.message


def test_unparseable_template_is_medium_format_finding():
    findings = scan(g.gguf_with_template("{% for m in messages %}{{ m['content'] }}"))
    assert [(f.rule_id, f.severity) for f in findings] == [("MW-FMT-001", Severity.MEDIUM)]


def test_unparseable_template_is_still_scanned_lexically():
    findings = scan(g.gguf_with_template("{% if %}{{ lipsum.__globals__ }}"))
    assert {"MW-FMT-001", "MW-GGUF-001"} <= rules(findings)


def test_template_over_the_string_limit_is_a_limit_finding():
    limits = Limits(max_gguf_string=100)
    findings = scan(g.gguf_with_template(g.QWEN2_TEMPLATE), limits=limits)
    assert "MW-FMT-003" in rules(findings)
    assert "MW-GGUF-001" not in rules(findings)


# --- hostile length fields ---------------------------------------------------------------------------------

HOSTILE = {
    "string-length-2^62": g.gguf_with_string_length(2**62),
    "kv-count-2^40": g.gguf_with_kv_count(2**40),
    "tensor-count-2^40": g.gguf_with_tensor_count(2**40),
    "array-count-2^50": g.gguf_with_array_count(2**50),
    "string-array-count-2^50": g.gguf_with_array_count(2**50, g.STRING),
    "nested-array-count-2^50": g.gguf_with_array_count(2**50, g.ARRAY),
    "lying-string-in-array": g.gguf_with_string_array_lying_element(),
    "unknown-value-type": g.gguf_with_unknown_value_type(),
    "n_dims-1000": g.gguf_with_n_dims(1000),
    "offset-beyond-eof": g.gguf_offset_beyond_eof(),
    "overlapping-tensors": g.gguf_overlapping_tensors(),
    # elements fit int64 but their bytes do not (found by fuzzing: the size table is a signed 64-bit array)
    "dims-product-beyond-int64": g.gguf_with_tensors([("huge", [1 << 31, 1 << 31], g.F32, 0)], 64),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_length_fields_are_invalid_quickly_without_allocating(name):
    data = HOSTILE[name]
    tracemalloc.start()
    started = time.perf_counter()
    try:
        findings = scan(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 1.0
    assert peak < 8 * 1024 * 1024, peak
    invalid = [f for f in findings if f.rule_id == "MW-GGUF-002"]
    assert invalid and invalid[0].severity is Severity.HIGH, [f.message for f in findings]
    assert_no_scanner_failure(findings)


def test_overlap_names_both_tensors():
    findings = scan(g.gguf_overlapping_tensors())
    overlap = [f for f in findings if "overlap" in f.message]
    assert overlap and overlap[0].evidence == "a <-> b"


def test_offset_beyond_eof_names_the_tensor():
    findings = scan(g.gguf_offset_beyond_eof())
    assert any(f.evidence == "b" and "outside" in f.message for f in findings)


@pytest.mark.parametrize("cut", [6, 12, 30, 100, 300, 1000, 2000, -40])
def test_truncated_file_is_reported(cut):
    data = g.benign_gguf()[:cut]
    findings = scan(data)
    assert any(f.rule_id == "MW-GGUF-002" and f.severity is Severity.HIGH for f in findings), cut
    assert_no_scanner_failure(findings)


def test_gap_between_tensors_is_medium():
    findings = scan(g.gguf_with_tensors([("a", [8], g.F32, 0), ("b", [8], g.F32, 64)], 96))
    gap = [f for f in findings if "belong to no tensor" in f.message and f.evidence == "b"]
    assert gap and gap[0].severity is Severity.MEDIUM


def test_misaligned_offset_is_medium():
    findings = scan(g.gguf_with_tensors([("a", [2], g.F32, 0), ("b", [2], g.F32, 8)], 32))
    assert any("not a multiple of the alignment" in f.message and f.severity is Severity.MEDIUM for f in findings)


def test_tensors_out_of_order_are_checked_for_overlap():
    findings = scan(g.gguf_with_tensors([("b", [16], g.F32, 32), ("a", [16], g.F32, 0), ("c", [8], g.F32, 16)],
                                        96))
    assert any("overlap" in f.message for f in findings)
    assert any("order" in f.message and f.severity is Severity.LOW for f in findings)


def test_unknown_ggml_type_is_medium():
    findings = scan(g.gguf_with_tensors([("a", [8], 77, 0)], 32))
    assert [(f.rule_id, f.severity) for f in findings if "unknown ggml type" in f.message] == \
        [("MW-GGUF-002", Severity.MEDIUM)]


def test_row_not_multiple_of_block_size_is_medium():
    findings = scan(g.gguf_with_tensors([("q", [33], g.Q8_0, 0)], 96))
    assert any("block size" in f.message and f.severity is Severity.MEDIUM for f in findings)


def test_bad_alignment_values_are_reported():
    writer = g.GgufWriter()
    not_power = scan(writer.file([writer.kv("general.alignment", g.UINT32, 48)],
                                 [writer.tensor_info("a", [8], g.F32, 0)], b"\0" * 64, alignment=48))
    assert any("power of two" in f.message for f in not_power)
    wrong_type = scan(writer.file([writer.kv("general.alignment", g.UINT64, 32)],
                                  [writer.tensor_info("a", [8], g.F32, 0)], b"\0" * 32))
    assert any("not UINT32" in f.message for f in wrong_type)


def test_bool_other_than_0_or_1_is_medium():
    writer = g.GgufWriter()
    data = writer.file([writer.raw_kv("general.flag", g.BOOL, b"\x07")], [])
    assert [(f.rule_id, f.severity) for f in scan(data)] == [("MW-GGUF-002", Severity.MEDIUM)]


def test_duplicate_tensor_names_are_medium():
    findings = scan(g.gguf_with_tensors([("a", [8], g.F32, 0), ("a", [8], g.F32, 32)], 64))
    assert any("declared more than once" in f.message and f.severity is Severity.MEDIUM for f in findings)


def test_unsupported_version_is_invalid():
    data = b"GGUF" + struct.pack("<I", 7) + b"\0" * 16
    assert any("unsupported GGUF version 7" in f.message for f in scan(data))


def test_wrong_magic_with_a_hint_is_unscannable():
    assert rules(scan(b"NOPE" + b"\0" * 32, hint="gguf")) == {"MW-FMT-001"}


def test_many_findings_of_one_kind_are_summarised():
    tensors = [(f"t{i}", [2], g.F32, 1 << 30) for i in range(30)]
    findings = scan(g.gguf_with_tensors(tensors, 0))
    outside = [f for f in findings if "outside" in f.message]
    assert len(outside) == 10
    assert any("20 more problems" in f.message for f in findings)


# --- limits ------------------------------------------------------------------------------------------------


def test_kv_limit_is_a_limit_finding():
    findings = scan(g.benign_gguf(), limits=Limits(max_gguf_kv=3))
    assert "MW-FMT-003" in rules(findings)


def test_tensor_limit_is_a_limit_finding():
    findings = scan(g.benign_gguf(), limits=Limits(max_gguf_tensors=2))
    assert "MW-FMT-003" in rules(findings)


def test_array_limit_is_a_limit_finding():
    findings = scan(g.benign_gguf(n_tokens=100), limits=Limits(max_gguf_array=50))
    assert "MW-FMT-003" in rules(findings)


# --- streaming: large vocabularies and huge tensor data ---------------------------------------------------


def test_ten_gigabyte_file_reads_only_the_metadata():
    writer = g.GgufWriter()
    big = [("token_embd.weight", [4096, 128256], g.F16), ("output.weight", [4096, 128256], g.F16)]
    infos, offset = [], 0
    for name, dims, ggml_type in big:
        infos.append(writer.tensor_info(name, dims, ggml_type, offset))
        offset += g.tensor_bytes(dims, ggml_type)
    head = writer.file([writer.kv("general.architecture", g.STRING, "llama"),
                        writer.kv("tokenizer.chat_template", g.STRING, g.LLAMA3_TEMPLATE)], infos)
    size = len(head) + offset
    assert size > 2 * 10**9
    stream = g.VirtualFile(head, size)
    ctx = ScanContext(path="x", size=size, name="big.gguf")
    scan_stream(stream, ctx)  # type: ignore[arg-type]
    assert ctx.findings == []
    # identify reads a 4 KiB head, dispatch may look at the last 64 KiB for an appended zip; the scanner reads
    # the metadata in bounded chunks: far below 4 MiB, whatever the size of the tensor data.
    assert stream.bytes_read < 4 * 1024 * 1024


def test_large_vocabulary_is_walked_quickly():
    data = g.benign_gguf(n_tokens=150_000)
    started = time.perf_counter()
    findings = scan(data)
    assert findings == []
    assert time.perf_counter() - started < 3.0


# --- the template analyser on its own ---------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(g.BENIGN_TEMPLATES))
def test_benign_templates_give_no_issue(name):
    assert find_template_escapes(g.BENIGN_TEMPLATES[name]) == []


@pytest.mark.parametrize("name", sorted(g.MALICIOUS_TEMPLATES))
def test_malicious_templates_give_escape_issues(name):
    issues = find_template_escapes(g.MALICIOUS_TEMPLATES[name])
    assert issues and all(i.kind == ESCAPE for i in issues), issues
    assert all(len(i.evidence) <= 200 and i.line == 1 for i in issues if name != "in-llama3")


@pytest.mark.parametrize("template, expected", [
    ("{{ x['__cla' ~ 'ss__'] }}", "'__class__'"),
    ("{{ x[dict(__glo=1, bals__=2)|join] }}", "'__globals__'"),
    ("{% set a = '__in' %}{{ x[a ~ 'it__'] }}", "'__init__'"),
    ("{{ x|attr('%c%cclass%c%c' % (95, 95, 95, 95)) }}", "'__class__'"),
])
def test_names_built_from_pieces_are_folded(template, expected):
    (issue,) = find_template_escapes(template)
    assert expected in issue.message


def test_parsing_never_renders(tmp_path):
    # If the analyser rendered the template, the file would be created.
    marker = tmp_path / "rendered"
    template = "{{ cycler.__init__.__globals__.os.popen('touch " + str(marker) + "').read() }}"
    assert find_template_escapes(template)
    assert not marker.exists()


def test_attr_with_a_safe_constant_name_is_fine():
    assert find_template_escapes("{{ message|attr('content') }}{{ messages|map(attribute='role')|list }}") == []


def test_locally_bound_names_are_not_globals():
    template = "{% for request in requests %}{{ request['text'] }}{% endfor %}{% set config = 1 %}{{ config }}"
    assert find_template_escapes(template) == []


def test_self_block_calls_are_fine_but_self_internals_are_not():
    assert find_template_escapes("{% block body %}x{% endblock %}{{ self.body() }}") == []
    assert find_template_escapes("{{ self.__dict__ }}")


def test_unparseable_and_too_large_kinds():
    assert [i.kind for i in find_template_escapes("{{ oops(")] == [UNPARSEABLE]
    huge = "{{ x }}" * 200_000
    kinds = [i.kind for i in find_template_escapes(huge)]
    assert kinds == [TOO_LARGE]


def test_deeply_nested_template_does_not_crash():
    issues = find_template_escapes("{{ " + "(" * 5000 + "x" + ")" * 5000 + " }}")
    assert [i.kind for i in issues] == [UNPARSEABLE]
    assert find_template_escapes("{{ x" + ".y" * 20000 + " }}") == []


def test_repeated_payload_is_capped():
    issues = find_template_escapes("{{ x.__class__ }}\n" * 5000)
    assert 0 < len(issues) <= 200
