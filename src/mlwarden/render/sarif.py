"""The SARIF 2.1.0 report, shaped for GitHub code scanning (docs/report-formats.md has the full mapping).

One run; ``tool.driver.rules`` holds one reporting descriptor for each rule that occurs in the results (active or
suppressed), taken from the rule catalogue. Suppressed findings stay in the log with a ``suppressions`` entry,
so a viewer can show what was waived and why.

Locations: GitHub needs a ``physicalLocation`` with ``region.startLine`` on every result, and only files of the
repository can carry one. So the physical location is always the scanned file itself; a finding inside an
archive member names the member in its message and ``properties.member`` (its offset and line are positions in
the member, not in the file, and are kept in ``properties`` only). A file without lines (every binary model)
gets ``startLine`` 1, meaning "this file"; its byte offset goes into a related location with a binary region
(``byteOffset``), where SARIF puts positions in binary artifacts.

This module never invents a severity or a rule: both come from the findings and the catalogue.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from mlwarden.core.findings import Finding, Severity
from mlwarden.core.report import Report
from mlwarden.core.rules import CATALOGUE
from mlwarden.render import printable, shorten
from mlwarden.render.json_report import TOOL_NAME, dumps_json, sort_key

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://github.com/mlwarden/mlwarden"  # placeholder until the project has a home page
SOURCE_ROOT = "%SRCROOT%"
FINGERPRINT_KEY = "mlwardenFingerprint/v1"

# SARIF has three result levels; GitHub shows error/warning/note.
LEVELS: dict[Severity, str] = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub reads rules' "security-severity" as: over 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low,
# 0.0 none. One value in the middle of each band.
SECURITY_SEVERITY: dict[Severity, str] = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}
# How often a rule's results are true ("very-high", "high", "medium", "low"); GitHub orders alerts by it.
# Rules that report a fact about the file (it imports os.system, a member path has '..') are "high". The
# exceptions are rules whose results are a judgement that is often harmless in practice:
PRECISION: dict[str, str] = {
    "MW-PKL-007": "medium",  # calling a value that is not a known import: often a method fetched at load time
    "MW-GGUF-001": "medium",  # template constructs matched by pattern, not proven escapes
}
DEFAULT_PRECISION = "high"

# Limits from GitHub's SARIF upload documentation: descriptions and names are shown cut at these lengths, and
# a rule's tags list is used up to 20 entries. Messages are kept well short of what a page can show.
DESCRIPTION_LIMIT = 1024
NAME_LIMIT = 255
TAG_LIMIT = 20
MESSAGE_LIMIT = 1000
EVIDENCE_LIMIT = 4096

_CWE = re.compile(r"CWE-(\d+)")
_CVE = re.compile(r"CVE-\d{4}-\d+")
_WORD = re.compile(r"[A-Za-z0-9]+")
# A path that is absolute on POSIX or Windows cannot be resolved against the source root.
_ABSOLUTE = re.compile(r"^(/|[A-Za-z]:/)")
# The engine's started_at, e.g. 2024-05-01T12:00:00Z; SARIF wants an RFC 3339 UTC time or nothing.
_UTC_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z")


def render_sarif(report: Report, **_options: object) -> str:
    """Render ``report`` as a SARIF 2.1.0 log. Options such as ``color`` are accepted and ignored."""
    return dumps_json(sarif_log(report))


def sarif_log(report: Report) -> dict[str, Any]:
    """The SARIF log as plain JSON data."""
    entries = [(f, False) for f in report.sorted_findings()]
    entries += [(f, True) for f in sorted(report.suppressed, key=sort_key)]

    rule_ids = sorted({finding.rule_id for finding, _ in entries})
    index = {rule_id: position for position, rule_id in enumerate(rule_ids)}
    rules = [_rule(rule_id, [f for f, _ in entries if f.rule_id == rule_id]) for rule_id in rule_ids]
    results = [_result(finding, index[finding.rule_id], suppressed) for finding, suppressed in entries]

    driver: dict[str, Any] = {"name": TOOL_NAME, "version": report.tool_version,
                              "informationUri": INFORMATION_URI, "rules": rules}
    if _is_semantic_version(report.tool_version):
        driver["semanticVersion"] = report.tool_version
    run: dict[str, Any] = {
        "tool": {"driver": driver},
        "columnKind": "unicodeCodePoints",  # Location.column counts Python characters
        "results": results,
        "properties": {"roots": list(report.roots), "failOn": report.fail_on.value, "passed": report.passed},
    }
    invocation: dict[str, Any] = {"executionSuccessful": True}
    if _UTC_TIME.fullmatch(report.started_at):
        invocation["startTimeUtc"] = report.started_at
    run["invocations"] = [invocation]
    return {"$schema": SARIF_SCHEMA_URI, "version": SARIF_VERSION, "runs": [run]}


def artifact_uri(path: str) -> tuple[str, str | None]:
    """The SARIF URI of a reported path and its base id: relative paths are resolved against %SRCROOT%.

    Characters that are not URI characters are percent-encoded (as UTF-8; undecodable file-name bytes as the
    original byte), including ':' so that a first segment like ``c:x`` is never read as a scheme.
    """
    try:
        raw = path.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that is no escaped byte (possible in Windows file names)
        raw = path.encode("utf-8", "surrogatepass")
    encoded = quote(raw, safe="/")
    if _ABSOLUTE.match(path):
        return "file://" + ("" if path.startswith("/") else "/") + _keep_drive_colon(encoded), None
    return encoded, SOURCE_ROOT


def _keep_drive_colon(encoded: str) -> str:
    # "C%3A/x" -> "C:/x": a drive letter keeps its colon in a file URI (file:///C:/x).
    return encoded[0] + ":" + encoded[4:] if re.match(r"^[A-Za-z]%3A/", encoded) else encoded


def _is_semantic_version(version: str) -> bool:
    return re.fullmatch(r"\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?", version) is not None


def _rule(rule_id: str, findings: list[Finding]) -> dict[str, Any]:
    rule = CATALOGUE.get(rule_id)
    first = findings[0]
    title = rule.title if rule else first.title
    description = rule.description if rule else first.title
    remediation = rule.remediation if rule else first.remediation
    references = rule.references if rule else first.references
    default = rule.severity if rule else first.severity
    # security-severity is per rule on GitHub; a config override or a scanner may raise one finding above the
    # catalogue default, so the rule takes the worst severity it has in this log.
    worst = max((f.severity for f in findings), key=lambda s: s.rank)
    return {
        "id": rule_id,
        "name": shorten(_pascal_case(title) or rule_id, NAME_LIMIT),
        "shortDescription": {"text": shorten(title, DESCRIPTION_LIMIT)},
        "fullDescription": {"text": shorten(description, DESCRIPTION_LIMIT)},
        "help": {"text": _help_text(description, remediation, references),
                 "markdown": _help_markdown(description, remediation, references)},
        "defaultConfiguration": {"level": LEVELS[default]},
        "properties": {
            "tags": _tags(references),
            "security-severity": SECURITY_SEVERITY[worst],
            "precision": PRECISION.get(rule_id, DEFAULT_PRECISION),
            "severity": default.value,
        },
    }


def _pascal_case(title: str) -> str:
    return "".join(word[:1].upper() + word[1:] for word in _WORD.findall(title))


def _tags(references: tuple[str, ...]) -> list[str]:
    tags = ["security"]
    for reference in references:
        cwe = _CWE.fullmatch(reference)
        # GitHub and CodeQL spell CWE tags this way; GitHub links them to the CWE entry.
        tags.append(f"external/cwe/cwe-{cwe.group(1)}" if cwe else reference)
    return list(dict.fromkeys(tags))[:TAG_LIMIT]


def _help_text(description: str, remediation: str, references: tuple[str, ...]) -> str:
    text = description
    if remediation:
        text += f"\n\nRemediation: {remediation}"
    if references:
        text += f"\n\nReferences: {', '.join(references)}"
    return text


def _help_markdown(description: str, remediation: str, references: tuple[str, ...]) -> str:
    # Only catalogue text reaches here (never file content), and it uses `code` spans on purpose: no escaping.
    text = description
    if remediation:
        text += f"\n\n**Remediation:** {remediation}"
    if references:
        text += "\n\n**References:** " + ", ".join(_reference_markdown(r) for r in references)
    return text


def _reference_markdown(reference: str) -> str:
    cwe = _CWE.fullmatch(reference)
    if cwe:
        return f"[{reference}](https://cwe.mitre.org/data/definitions/{cwe.group(1)}.html)"
    if _CVE.fullmatch(reference):
        return f"[{reference}](https://www.cve.org/CVERecord?id={reference})"
    return reference


def _result(finding: Finding, rule_index: int, suppressed: bool) -> dict[str, Any]:
    location = finding.location
    uri, base = artifact_uri(location.path)
    artifact: dict[str, Any] = {"uri": uri}
    if base:
        artifact["uriBaseId"] = base

    # A line inside an archive member or a notebook cell is not a line of the file GitHub would show.
    in_member = location.member is not None or location.cell is not None
    region: dict[str, Any] = {"startLine": 1}
    if not in_member and location.line is not None and location.line >= 1:
        region = {"startLine": location.line}
        if location.column is not None and location.column >= 1:
            region["startColumn"] = location.column

    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index,
        "level": LEVELS[finding.severity],
        "message": {"text": _message(finding)},
        "locations": [{"physicalLocation": {"artifactLocation": artifact, "region": region}}],
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
        "properties": _properties(finding),
    }
    if not in_member and location.line is None and location.offset is not None and location.offset >= 0:
        result["relatedLocations"] = [{
            "id": 1,
            "physicalLocation": {"artifactLocation": dict(artifact), "region": {"byteOffset": location.offset}},
            "message": {"text": f"byte offset {location.offset}"},
        }]
    if suppressed:
        kind = "inSource" if (finding.suppressed or "").startswith("inline:") else "external"
        result["suppressions"] = [{"kind": kind, "justification": finding.suppressed or "suppressed"}]
    return result


def _message(finding: Finding) -> str:
    """What GitHub shows as the alert's title: the message, where inside the file, the evidence.

    Passed through ``printable``: a viewer shows it to a person, and a bidi override or a control character
    from the file must not reorder or hide what it says.
    """
    location = finding.location
    where: list[str] = []
    if location.member:
        where.append(f"archive member '{shorten(location.member, 300)}'")
    if location.cell is not None:
        where.append(f"cell {location.cell}")
    if location.output is not None:
        where.append(f"output {location.output}")
    if location.line is not None and (location.member or location.cell is not None):
        where.append(f"line {location.line}")
    if location.offset is not None:
        where.append(f"byte offset {location.offset}")
    text = shorten(finding.message.strip(), 500) or finding.title
    if where:
        text += f" (at {', '.join(where)})"
    if finding.evidence:
        text += ("" if text.endswith((".", "!", "?")) else ".") + f" Evidence: {shorten(finding.evidence, 300)}"
    return shorten(printable(text), MESSAGE_LIMIT)


def _properties(finding: Finding) -> dict[str, Any]:
    location = finding.location
    properties: dict[str, Any] = {"severity": finding.severity.value, "title": finding.title}
    if finding.evidence is not None:
        properties["evidence"] = shorten(finding.evidence, EVIDENCE_LIMIT)
    for key in ("member", "offset", "line", "column", "cell", "output", "field", "start", "end"):
        value = getattr(location, key)
        if value is not None:
            properties[key] = value
    if location.table_column is not None:
        properties["tableColumn"] = location.table_column
    if finding.data is not None:
        properties["data"] = dict(finding.data)
    if finding.scanner:
        properties["scanner"] = finding.scanner
    return properties
