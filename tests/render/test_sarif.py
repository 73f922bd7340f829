import json
from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from jsonschema import Draft4Validator

from mlwarden.core.findings import Finding, Location, Severity
from mlwarden.core.report import Report
from mlwarden.core.rules import CATALOGUE, make_finding
from mlwarden.render.sarif import FINGERPRINT_KEY, artifact_uri, render_sarif
from tests.samples.reports import ALL_REPORTS, big_report, empty_report, hostile_report, mixed_report

REPO = Path(__file__).resolve().parents[2]
SARIF_SCHEMA = REPO / ".." / "shared" / "schemas" / "sarif" / "sarif-schema-2.1.0.json"

LEVELS = {"none", "note", "warning", "error"}


def _log(report):
    return json.loads(render_sarif(report))


def check_structure(log):
    """What any SARIF 2.1.0 consumer relies on; runs whether or not the official schema file is present."""
    assert log["version"] == "2.1.0"
    assert log["$schema"].startswith("https://") and log["$schema"].endswith("sarif-schema-2.1.0.json")
    assert len(log["runs"]) == 1
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "mlwarden" and driver["informationUri"].startswith("https://")
    rules = driver["rules"]
    ids = [rule["id"] for rule in rules]
    assert len(ids) == len(set(ids)) and ids == sorted(ids)
    assert set(ids) == {result["ruleId"] for result in run["results"]}  # exactly the rules used
    for rule in rules:
        assert rule["defaultConfiguration"]["level"] in LEVELS
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in LEVELS
        assert result["message"]["text"].strip()
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"]
        region = location["region"]
        assert isinstance(region["startLine"], int) and region["startLine"] >= 1
        assert region.get("startColumn", 1) >= 1
        for suppression in result.get("suppressions", []):
            assert suppression["kind"] in {"inSource", "external"}


def check_github_code_scanning(log):
    """GitHub's documented requirements and limits for uploaded SARIF (docs: 'SARIF support for code scanning')."""
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"]
    assert len(run["results"]) <= 25_000 and len(driver["rules"]) <= 25_000
    for rule in driver["rules"]:
        assert rule["id"]
        assert 0 < len(rule["shortDescription"]["text"]) <= 1024
        assert 0 < len(rule["fullDescription"]["text"]) <= 1024
        assert rule["help"]["text"] and rule["help"]["markdown"]
        assert len(rule["name"]) <= 255
        assert rule["defaultConfiguration"]["level"] in {"note", "warning", "error"}
        properties = rule["properties"]
        assert "security" in properties["tags"] and len(properties["tags"]) <= 20
        assert 0.0 <= float(properties["security-severity"]) <= 10.0
        assert isinstance(properties["security-severity"], str)
        assert properties["precision"] in {"very-high", "high", "medium", "low"}
    for result in run["results"]:
        assert result["ruleId"]
        assert 0 < len(result["message"]["text"]) < 2000
        assert 1 <= len(result["locations"]) <= 10
        physical = result["locations"][0]["physicalLocation"]
        uri = physical["artifactLocation"]["uri"]
        assert physical["region"]["startLine"] >= 1
        assert result["partialFingerprints"][FINGERPRINT_KEY]
        if physical["artifactLocation"].get("uriBaseId") == "%SRCROOT%":
            # relative to the repository root: no scheme, no leading slash, only URI characters
            assert not urlsplit(uri).scheme and not uri.startswith("/")
            assert all(33 <= ord(char) < 127 for char in uri)


@pytest.mark.parametrize("name", sorted(ALL_REPORTS))
def test_every_sample_is_structurally_valid_and_meets_github_requirements(name):
    log = _log(ALL_REPORTS[name]())
    check_structure(log)
    check_github_code_scanning(log)


@pytest.mark.parametrize("name", sorted(ALL_REPORTS))
def test_every_sample_validates_against_the_sarif_schema(name):
    if not SARIF_SCHEMA.is_file():
        pytest.skip(f"SARIF schema not found at {SARIF_SCHEMA}")
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in Draft4Validator(schema).iter_errors(_log(ALL_REPORTS[name]()))]
    assert errors == []


def test_the_structural_check_catches_broken_logs():
    log = _log(mixed_report())
    broken = json.loads(json.dumps(log))
    broken["runs"][0]["results"][0]["ruleIndex"] += 1
    with pytest.raises(AssertionError):
        check_structure(broken)
    broken = json.loads(json.dumps(log))
    broken["runs"][0]["results"][0]["level"] = "critical"
    with pytest.raises(AssertionError):
        check_structure(broken)


def test_driver_and_run_metadata():
    run = _log(mixed_report())["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["semanticVersion"] == "0.1.0" and driver["version"] == "0.1.0"
    assert run["invocations"] == [{"executionSuccessful": True, "startTimeUtc": "2024-05-01T12:00:00Z"}]
    assert run["properties"] == {"roots": ["models/", "bundle", "hf/"], "failOn": "high", "passed": False}
    dev = _log(replace(empty_report(), tool_version="dev", started_at=""))["runs"][0]
    assert "semanticVersion" not in dev["tool"]["driver"]
    assert "startTimeUtc" not in dev["invocations"][0]


def test_rules_come_from_the_catalogue():
    rules = {rule["id"]: rule for rule in _log(mixed_report())["runs"][0]["tool"]["driver"]["rules"]}
    pkl = rules["MW-PKL-001"]
    catalogue = CATALOGUE["MW-PKL-001"]
    assert pkl["name"] == "PickleCallsADangerousCallable"
    assert pkl["shortDescription"]["text"] == catalogue.title
    assert pkl["fullDescription"]["text"] == catalogue.description
    assert catalogue.remediation in pkl["help"]["text"]
    assert f"**Remediation:** {catalogue.remediation}" in pkl["help"]["markdown"]
    assert "[CWE-502](https://cwe.mitre.org/data/definitions/502.html)" in pkl["help"]["markdown"]
    assert pkl["defaultConfiguration"]["level"] == "error"
    assert pkl["properties"]["tags"] == ["security", "external/cwe/cwe-502", "OWASP-ML06", "ATLAS AML.T0010.003",
                                         "ATLAS AML.T0011.000"]
    assert pkl["properties"]["security-severity"] == "9.5"
    assert pkl["properties"]["precision"] == "high"
    assert rules["MW-HF-002"]["defaultConfiguration"]["level"] == "warning"
    assert rules["MW-HF-002"]["properties"]["security-severity"] == "5.5"
    # the suppressed-only rule is described too, because its result is in the log
    assert "MW-ONNX-002" in rules


def test_levels_and_security_severity_by_severity():
    expected = {Severity.CRITICAL: ("error", "9.5"), Severity.HIGH: ("error", "8.0"),
                Severity.MEDIUM: ("warning", "5.5"), Severity.LOW: ("note", "3.0"), Severity.INFO: ("note", "0.0")}
    for severity, (level, score) in expected.items():
        finding = make_finding("MW-ARC-003", Location("a.zip"), "m", severity=severity)
        run = _log(Report(findings=[finding], roots=["a.zip"], tool_version="0.1.0"))["runs"][0]
        assert run["results"][0]["level"] == level
        assert run["results"][0]["properties"]["severity"] == severity.value
        assert run["tool"]["driver"]["rules"][0]["properties"]["security-severity"] == score
        assert run["tool"]["driver"]["rules"][0]["defaultConfiguration"]["level"] == "warning"  # catalogue


def test_a_rule_raised_above_its_default_takes_its_worst_severity():
    low = make_finding("MW-PKL-002", Location("a.pkl"), "m", evidence="a.b")
    raised = make_finding("MW-PKL-002", Location("b.pkl"), "m", evidence="c.d", severity=Severity.CRITICAL)
    rule = _log(Report(findings=[low, raised], roots=["."], tool_version="0.1.0"))["runs"][0]["tool"]["driver"][
        "rules"][0]
    assert rule["properties"]["security-severity"] == "9.5"
    assert rule["defaultConfiguration"]["level"] == "error"  # the catalogue default (high)


def _results_by_path(report):
    return {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r
            for r in _log(report)["runs"][0]["results"]}


def test_locations_text_lines_binary_offsets_and_members():
    results = {(r["ruleId"], unquote(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"])): r
               for r in _log(mixed_report())["runs"][0]["results"]}
    text = results[("MW-HF-002", "hf/modeling_custom.py")]
    assert text["locations"][0]["physicalLocation"]["region"] == {"startLine": 12, "startColumn": 5}
    assert text["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
    assert "relatedLocations" not in text

    binary = results[("MW-NPY-001", "data/arr.npy")]
    assert binary["locations"][0]["physicalLocation"]["region"] == {"startLine": 1}
    related = binary["relatedLocations"][0]["physicalLocation"]
    assert related["region"] == {"byteOffset": 128}
    assert related["artifactLocation"]["uri"] == "data/arr.npy"
    assert binary["properties"]["offset"] == 128
    assert "byte offset 128" in binary["message"]["text"]

    member = results[("MW-PKL-001", "bundle/outer.zip")]
    # positions inside a member are not positions in the file: only the file itself is located
    assert member["locations"][0]["physicalLocation"]["region"] == {"startLine": 1}
    assert "relatedLocations" not in member
    assert member["properties"]["member"] == "inner.pt!archive/data.pkl"
    assert member["properties"]["offset"] == 1024
    assert "archive member 'inner.pt!archive/data.pkl'" in member["message"]["text"]

    code_in_member = results[("MW-TORCH-002", "ts/model.pt")]
    assert code_in_member["locations"][0]["physicalLocation"]["region"] == {"startLine": 1}
    assert code_in_member["properties"]["line"] == 4


def test_result_fields():
    report = mixed_report()
    results = _log(report)["runs"][0]["results"]
    findings = report.sorted_findings()
    active = [r for r in results if "suppressions" not in r]
    assert [r["partialFingerprints"][FINGERPRINT_KEY] for r in active] == [f.fingerprint for f in findings]
    first = active[0]
    assert first["ruleId"] == findings[0].rule_id
    assert first["properties"]["evidence"] == findings[0].evidence
    assert first["message"]["text"].startswith(findings[0].message)
    assert f"Evidence: {findings[0].evidence}" in first["message"]["text"]


def test_suppressed_findings_are_reported_with_their_justification():
    results = _log(mixed_report())["runs"][0]["results"]
    suppressed = [r for r in results if "suppressions" in r]
    assert len(results) == 13 and len(suppressed) == 2
    assert results[-2:] == suppressed  # active results first
    justifications = sorted(r["suppressions"][0]["justification"] for r in suppressed)
    assert justifications == ["ignored: reviewed by the ML platform team", "in baseline"]
    assert all(r["suppressions"][0]["kind"] == "external" for r in suppressed)


@pytest.mark.parametrize(("path", "uri", "base"), [
    ("models/evil.pt", "models/evil.pt", "%SRCROOT%"),
    ("модели/模型 файл #1 100%.safetensors",
     "%D0%BC%D0%BE%D0%B4%D0%B5%D0%BB%D0%B8/%E6%A8%A1%E5%9E%8B%20%D1%84%D0%B0%D0%B9%D0%BB%20%231%20100%25.safetensors",
     "%SRCROOT%"),
    ("c:colon/javascript:alert(1).pt", "c%3Acolon/javascript%3Aalert%281%29.pt", "%SRCROOT%"),
    ("weights-\udcff\udcfe.pt", "weights-%FF%FE.pt", "%SRCROOT%"),
    ("../outside/m.pt", "../outside/m.pt", "%SRCROOT%"),
    ("win-\ud800.pt", "win-%ED%A0%80.pt", "%SRCROOT%"),
    ("/abs/dir/m.pt", "file:///abs/dir/m.pt", None),
    ("C:/Users/me/m.pt", "file:///C:/Users/me/m.pt", None),
])
def test_artifact_uris_are_percent_encoded_and_relative_where_possible(path, uri, base):
    assert artifact_uri(path) == (uri, base)


def test_absolute_paths_have_no_base_id():
    finding = make_finding("MW-PKL-001", Location("/abs/m.pkl"), "m")
    result = _log(Report(findings=[finding], roots=["/abs"], tool_version="0.1.0"))["runs"][0]["results"][0]
    artifact = result["locations"][0]["physicalLocation"]["artifactLocation"]
    assert artifact == {"uri": "file:///abs/m.pkl"}


def test_hostile_report_messages_are_bounded_and_printable():
    log = _log(hostile_report())
    check_structure(log)
    run = log["runs"][0]
    for result in run["results"]:
        text = result["message"]["text"]
        assert len(text) <= 1000
        assert all(char.isprintable() for char in text), text
        assert len(result["properties"].get("evidence", "")) <= 4096
    messages = " ".join(r["message"]["text"] for r in run["results"])
    assert "\\x1b[2J" in messages and "\x1b" not in messages
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]]
    assert "evil%E2%80%AEgpj.pt" in uris  # the bidi override is percent-encoded, never raw
    # the plugin rule that the catalogue does not know still gets a descriptor
    rules = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
    plugin = rules["MW-TEST-999"]
    assert plugin["shortDescription"]["text"].startswith("Unknown rule")
    assert plugin["defaultConfiguration"]["level"] == "warning"
    assert plugin["properties"]["tags"][:2] == ["security", 'CWE-79"><script>alert(4)</script>']
    assert "external/cwe/cwe-1336" in plugin["properties"]["tags"]


def test_output_is_utf8_and_deterministic():
    text = render_sarif(hostile_report())
    text.encode("utf-8")
    assert text == render_sarif(hostile_report())


def test_big_report():
    log = _log(big_report())
    check_structure(log)
    check_github_code_scanning(log)
    assert len(log["runs"][0]["results"]) == 2000


def test_finding_without_message_uses_its_title():
    finding = Finding(rule_id="MW-ARC-003", severity=Severity.MEDIUM, title="Irregular archive", message="  ",
                      location=Location("a.zip"))
    result = _log(Report(findings=[finding], roots=["."], tool_version="0.1.0"))["runs"][0]["results"][0]
    assert result["message"]["text"] == "Irregular archive"
