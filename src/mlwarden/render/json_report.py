"""The JSON report: the stable, versioned contract for scripts and CI (documented in docs/report-formats.md,
described by docs/report.schema.json).

Output is deterministic for a given Report: findings in ``Report.sorted_findings()`` order, keys in a fixed
order, two-space indentation, UTF-8 text kept as is. Changing a field's name, type or meaning needs a new major
``JSON_SCHEMA_VERSION``; adding a field needs a new minor one and an update of the schema file. This module
must never drop or rewrite what a finding says: it is the one format that carries everything.
"""

from __future__ import annotations

import json
import re
from typing import Any

from mlwarden.core.findings import Finding, Severity
from mlwarden.core.report import JSON_SCHEMA_VERSION, Report, finding_order

TOOL_NAME = "mlwarden"

# A file name that is not valid UTF-8 reaches us with lone surrogates (os.fsdecode's surrogateescape). json.dumps
# with ensure_ascii=False copies them raw, and the text then cannot be written as UTF-8; their \\u escape is
# valid JSON and loads back to the same string.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def dumps_json(document: Any) -> str:
    """JSON text that is always encodable as UTF-8: indent 2, non-ASCII kept, lone surrogates escaped."""
    text = json.dumps(document, indent=2, ensure_ascii=False)
    return _LONE_SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text) + "\n"


def sort_key(finding: Finding) -> tuple[str, str, int, int, int, int, str]:
    """The order of ``Report.sorted_findings``, for lists (suppressed findings) that the Report does not sort."""
    return finding_order(finding)


def report_document(report: Report) -> dict[str, Any]:
    """The report as plain JSON data (what ``render_json`` serialises)."""
    stats = report.stats
    counts = report.counts()
    return {
        "schema_version": JSON_SCHEMA_VERSION,
        "tool": {"name": TOOL_NAME, "version": report.tool_version},
        "started_at": report.started_at,
        "roots": list(report.roots),
        "fail_on": report.fail_on.value,
        "passed": report.passed,
        "summary": {
            "files_seen": stats.files_seen,
            "files_scanned": stats.files_scanned,
            "bytes_seen": stats.bytes_seen,
            "duration_s": stats.duration_s,
            "counts": {severity.value: counts[severity.value] for severity in Severity},
            "formats": {name: stats.formats[name] for name in sorted(stats.formats)},
            "text_files": {name: stats.text_files[name] for name in sorted(stats.text_files)},
        },
        "scanners": list(report.scanners),
        "dependency_audit": report.dependency_audit,
        "findings": [finding.to_dict() for finding in report.sorted_findings()],
        "suppressed": [{**finding.to_dict(), "reason": finding.suppressed or ""}
                       for finding in sorted(report.suppressed, key=sort_key)],
    }


def render_json(report: Report, **_options: object) -> str:
    """Render ``report`` as the versioned JSON document. Options such as ``color`` are accepted and ignored."""
    return dumps_json(report_document(report))
