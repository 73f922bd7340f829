"""``mlwarden pii risk`` (or ``mlwarden risk``): the re-identification risk report for one table.

Thin: parse arguments, read the table with ``mlwarden.privacy.risk.load_table``, call ``assess_risk`` and
``risk_findings``, print the report (terminal text or JSON), exit by the gate (0 pass, 1 fail, 2 usage or input
errors). Never prints a table value: the report holds column names and counts only.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path

import typer

from mlwarden.cli.scan import Level

HELP = ("Report how easily the records of a CSV, TSV or Parquet table can be re-identified: direct identifiers, "
        "quasi-identifiers (given with --quasi-identifiers, else detected from header and values), k-anonymity, "
        "unique records, l-diversity of --sensitive columns, and generalizations that would raise k. Exit 0 "
        "when no finding at or above --fail-on, 1 when one is, 2 on usage or input errors.")


class RiskFormat(StrEnum):
    terminal = "terminal"
    json = "json"


def risk(
    path: Path = typer.Argument(..., help="The table: CSV, TSV or Parquet.", show_default=False),
    quasi_identifiers: str | None = typer.Option(None, "--quasi-identifiers", "-q", metavar="A,B",
                                                 help="Quasi-identifier columns (default: detected)."),
    sensitive: str | None = typer.Option(None, "--sensitive", "-s", metavar="C,D",
                                         help="Sensitive columns to check for l-diversity."),
    k: int = typer.Option(5, "--k", min=1, help="k-anonymity threshold."),
    output_format: RiskFormat = typer.Option(RiskFormat.terminal, "--format", "-f", help="Report format."),
    fail_on: Level = typer.Option(Level.high, "--fail-on", help="Gate level."),
) -> int:
    from mlwarden.core.findings import Severity
    from mlwarden.core.policy import exit_code
    from mlwarden.privacy.risk import assess_risk, format_risk_report, load_table, risk_findings

    table = load_table(path)
    report = assess_risk(table, quasi_identifiers=_split(quasi_identifiers), sensitive=_split(sensitive) or (),
                         k_threshold=k)
    findings = risk_findings(report, path.as_posix())
    if output_format is RiskFormat.json:
        document = {"path": path.as_posix(), "report": report.to_dict(),
                    "findings": [finding.to_dict() for finding in findings]}
        sys.stdout.write(json.dumps(document, indent=2, sort_keys=False) + "\n")
    else:
        text = format_risk_report(report)
        text += "".join(f"[{f.severity.value}] {f.rule_id} {f.location.display()}: {f.message}\n"
                        for f in findings)
        sys.stdout.write(text)
    return exit_code(findings, Severity(fail_on.value))


def _split(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [part.strip() for part in text.split(",") if part.strip()]
