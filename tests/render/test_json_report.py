import json
import random
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from mlwarden.core.errors import UsageError
from mlwarden.core.findings import Finding, Location, Severity
from mlwarden.core.report import JSON_SCHEMA_VERSION, Report
from mlwarden.render import FORMATS, RENDERERS, render, renderer_for
from mlwarden.render.json_report import render_json, report_document
from tests.samples.reports import ALL_REPORTS, UNDECODABLE_NAME, empty_report, hostile_report, mixed_report

DOCS = Path(__file__).resolve().parents[2] / "docs"
SCHEMA = json.loads((DOCS / "report.schema.json").read_text(encoding="utf-8"))
VALIDATOR = Draft202012Validator(SCHEMA)


def _errors(document):
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in VALIDATOR.iter_errors(document)]


# --- the table of renderers --------------------------------------------------------------------------------

def test_every_format_has_a_renderer_and_unknown_formats_are_usage_errors():
    assert FORMATS == ("terminal", "json", "sarif", "html")
    for fmt in FORMATS:
        assert callable(renderer_for(fmt))
        assert RENDERERS[fmt].split(":")[1] == f"render_{fmt}"
        assert isinstance(render(mixed_report(), fmt, color=False), str)
    with pytest.raises(UsageError, match="unknown report format 'xml': use one of terminal, json, sarif, html"):
        render(mixed_report(), "xml")


def test_render_dispatch_gives_the_same_json():
    report = mixed_report()
    assert render(report, "json", color=False) == render_json(report)


# --- the document ----------------------------------------------------------------------------------------

def test_schema_itself_is_valid():
    Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("name", sorted(ALL_REPORTS))
def test_every_sample_validates_against_the_documented_schema(name):
    document = json.loads(render_json(ALL_REPORTS[name]()))
    assert _errors(document) == []


def test_top_level_shape_and_values():
    report = mixed_report()
    document = json.loads(render_json(report))
    assert list(document) == ["schema_version", "tool", "started_at", "roots", "fail_on", "passed", "summary",
                              "scanners", "dependency_audit", "findings", "suppressed"]
    assert document["schema_version"] == JSON_SCHEMA_VERSION
    assert document["tool"] == {"name": "mlwarden", "version": "0.1.0"}
    assert document["started_at"] == "2024-05-01T12:00:00Z"
    assert document["roots"] == ["models/", "bundle", "hf/"]
    assert document["fail_on"] == "high"
    assert document["passed"] is False
    summary = document["summary"]
    assert summary["counts"] == {"critical": 3, "high": 2, "medium": 3, "low": 1, "info": 2}
    assert list(summary["counts"]) == [s.value for s in Severity]
    assert summary["formats"] == {"hf-config": 1, "pickle": 4, "safetensors": 2, "zip": 3}
    assert list(summary["formats"]) == sorted(summary["formats"])
    assert (summary["files_seen"], summary["files_scanned"], summary["bytes_seen"], summary["duration_s"]) == (
        25, 20, 123_456_789, 1.234)


def test_findings_round_trip_in_report_order():
    report = mixed_report()
    document = json.loads(render_json(report))
    assert document["findings"] == [f.to_dict() for f in report.sorted_findings()]
    assert all(len(f["fingerprint"]) == 32 for f in document["findings"])


def test_suppressed_findings_carry_their_reason():
    document = json.loads(render_json(mixed_report()))
    reasons = {entry["rule_id"]: entry["reason"] for entry in document["suppressed"]}
    assert reasons == {"MW-ONNX-002": "in baseline", "MW-PKL-002": "ignored: reviewed by the ML platform team"}
    assert [e["location"]["path"] for e in document["suppressed"]] == ["models/evil.pt", "onnx/model.onnx"]


def test_empty_report_passes_with_empty_lists():
    document = json.loads(render_json(empty_report()))
    assert document["passed"] is True
    assert document["findings"] == [] and document["suppressed"] == []
    assert set(document["summary"]["counts"].values()) == {0}


def test_output_is_deterministic_whatever_the_input_order():
    report = mixed_report()
    shuffled = list(report.findings)
    random.Random(7).shuffle(shuffled)
    other = replace(report, findings=shuffled, suppressed=list(reversed(report.suppressed)))
    assert render_json(report) == render_json(other) == render_json(mixed_report())


def test_formatting_indent_two_and_unicode_kept():
    text = render_json(mixed_report())
    assert text.startswith('{\n  "schema_version": ')
    assert text.endswith("}\n")
    assert "модели/模型 файл #1 100%.safetensors" in text and "\\u" not in text


def test_hostile_text_is_kept_verbatim_and_the_output_is_always_utf8():
    report = hostile_report()
    text = render_json(report)
    text.encode("utf-8")  # lone surrogates from undecodable names are escaped, not written raw
    document = json.loads(text)
    paths = [f["location"]["path"] for f in document["findings"]]
    assert UNDECODABLE_NAME in paths  # the escape loads back to the same string
    by_rule = {f["rule_id"]: f for f in document["findings"]}
    assert by_rule["MW-PKL-001"]["evidence"] == "</script><script>alert(1)</script>"
    assert by_rule["MW-FMT-002"]["evidence"] == "x" * 50_000  # JSON never cuts evidence
    assert document["findings"] == [f.to_dict() for f in report.sorted_findings()]


def test_the_schema_rejects_what_the_contract_forbids():
    document = json.loads(render_json(mixed_report()))
    assert _errors(document) == []
    broken = json.loads(json.dumps(document))
    broken["findings"][0]["severity"] = "severe"
    broken["summary"]["counts"].pop("info")
    broken["suppressed"][0].pop("reason")
    broken["findings"][1]["undocumented"] = True
    broken["schema_version"] = "2.0"
    assert len(_errors(broken)) == 5


def test_the_documentation_names_every_field():
    """docs/report-formats.md is the contract for people: every field the renderer writes is explained there."""
    doc = (DOCS / "report-formats.md").read_text(encoding="utf-8")
    document = report_document(mixed_report())
    names = set(document) | set(document["summary"]) | set(document["findings"][0]) | {"reason"}
    names |= {"member", "offset", "line", "column", "cell", "output", "field", "start", "end", "path"}
    names |= {"database", "dependencies", "audited", "vulnerable", "upgrades", "target", "unfixed"}
    missing = sorted(name for name in names if f"`{name}`" not in doc)
    assert missing == []
    assert f"`{JSON_SCHEMA_VERSION}`" in doc


# --- any text at all ---------------------------------------------------------------------------------------

# Any character, surrogates included as file names produce them (os.fsdecode: U+DC80-U+DCFF).
_FILE_NAME_SURROGATES = st.characters(min_codepoint=0xDC80, max_codepoint=0xDCFF)
_TEXT = st.text(alphabet=st.characters(codec=None, exclude_categories=("Cs",)) | _FILE_NAME_SURROGATES,
                max_size=40)


@settings(max_examples=150, deadline=None)
@given(path=_TEXT, member=st.none() | _TEXT, message=_TEXT, evidence=st.none() | _TEXT,
       offset=st.none() | st.integers(0, 2**63), severity=st.sampled_from(list(Severity)))
def test_any_text_round_trips_and_validates(path, member, message, evidence, offset, severity):
    finding = Finding(rule_id="MW-PKL-001", severity=severity, title="t", message=message,
                      location=Location(path, member=member, offset=offset), evidence=evidence)
    report = Report(findings=[finding], roots=[path], tool_version="0.1.0")
    text = render_json(report)
    text.encode("utf-8")
    document = json.loads(text)
    assert document["findings"] == [finding.to_dict()]
    assert _errors(document) == []


def test_fingerprint_of_any_lone_surrogate():
    finding = Finding(rule_id="MW-PKL-001", severity=Severity.HIGH, title="t", message="m",
                      location=Location("a.pkl"), evidence="\ud800")
    document = json.loads(render_json(Report(findings=[finding], roots=["."], tool_version="0.1.0")))
    assert document["findings"][0]["evidence"] == "\ud800"
