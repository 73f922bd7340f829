"""``mlwarden pii``: find personal data in data files (text, JSON, JSON Lines, CSV/TSV, Parquet).

Thin: parse arguments, walk the paths, call ``mlwarden.privacy.files.scan_pii_file``, build a ``Report``, render
it like ``scan`` does, exit by the gate (0 pass, 1 fail, 2 usage or input errors). Never prints a raw value:
findings carry masked values only.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import typer

from mlwarden.cli.scan import Level, OutputFormat

app = typer.Typer(
    help="Find personal data (names, contacts, card and identity numbers, health ids, secrets) in data files.",
    no_args_is_help=True,
    add_completion=False,
)

SCAN_HELP = ("Scan data files for personal data: text and logs line by line, JSON and JSON Lines field by field, "
             "CSV/TSV and Parquet column by column (on a deterministic sample). Folders are walked for .txt .csv "
             ".tsv .json .jsonl .ndjson .parquet .md .log files. Reports show masked values only. Exit 0 when "
             "nothing at or above --fail-on remains, 1 when something does, 2 on usage or input errors.")


@app.command("scan", help=SCAN_HELP)
def scan(
    paths: list[Path] = typer.Argument(..., help="Files or folders to scan.", show_default=False),
    output_format: OutputFormat = typer.Option(OutputFormat.terminal, "--format", "-f", help="Report format."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the report to FILE (atomically)."),
    entities: str | None = typer.Option(None, "--entities", metavar="E,E",
                                        help="Only these entity labels (e.g. EMAIL,PHONE; default: all)."),
    min_confidence: float = typer.Option(0.5, "--min-confidence", min=0.0, max=1.0,
                                         help="Report hits at or above this confidence (0..1)."),
    fail_on: Level = typer.Option(Level.high, "--fail-on", help="Gate level."),
) -> int:
    from mlwarden import __version__
    from mlwarden.cli.reporting import emit_report
    from mlwarden.core.errors import MissingExtraError
    from mlwarden.core.findings import Finding, Location, Severity
    from mlwarden.core.policy import exit_code
    from mlwarden.core.report import Report, ScanStats
    from mlwarden.core.rules import make_finding
    from mlwarden.privacy.files import DATA_SUFFIXES, scan_pii_file
    from mlwarden.scanning.engine import collect_files

    selected = parse_entities(entities)
    started = datetime.now(UTC)
    clock = time.monotonic()
    tasks = collect_files([str(p) for p in paths])
    explicit = {str(p) for p in paths}
    stats = ScanStats()
    findings: list[Finding] = []
    for task in tasks:
        stats.files_seen += 1
        if task.path not in explicit and not task.path.lower().endswith(DATA_SUFFIXES):
            continue  # found in a folder and not a data file: models and code are `mlwarden scan`'s work
        stats.bytes_seen += task.size
        try:
            findings.extend(scan_pii_file(Path(task.path), display=task.display, entities=selected,
                                          min_confidence=min_confidence))
        except MissingExtraError as error:
            if task.path in explicit:
                raise
            findings.append(make_finding("MW-PII-003", Location(task.display), str(error),
                                         evidence="missing_extra", scanner="pii",
                                         data={"problem": "missing_extra", "count": 1}))
            continue
        stats.files_scanned += 1
        stats.formats[Path(task.path).suffix.lower().lstrip(".") or "text"] += 1
    stats.duration_s = time.monotonic() - clock
    report = Report(findings=findings, roots=[p.as_posix() for p in paths], tool_version=__version__,
                    fail_on=Severity(fail_on.value), stats=stats,
                    started_at=started.isoformat().replace("+00:00", "Z"), scanners=["pii"])
    report.findings = report.sorted_findings()
    fmt = output_format.value
    emit_report(report, fmt, output)
    if output is not None:
        verdict = "PASS" if report.passed else "FAIL"
        typer.echo(f"mlwarden: {len(report.findings)} personal-data findings in {stats.files_scanned} files; "
                   f"{fmt} report written to {output}; gate {verdict} (fail-on {fail_on.value})", err=True)
    return exit_code(report.findings, report.fail_on)


def parse_entities(text: str | None) -> frozenset[str] | None:
    """``EMAIL,phone`` -> {"EMAIL", "PHONE"}; unknown labels are a usage error (exit 2)."""
    from mlwarden.core.errors import UsageError
    from mlwarden.privacy.model import ENTITIES

    if text is None:
        return None
    labels = {part.strip().upper() for part in text.split(",") if part.strip()}
    unknown = sorted(labels - set(ENTITIES))
    if unknown or not labels:
        raise UsageError(f"unknown entity label(s) {', '.join(unknown) or '(none given)'} in --entities: use "
                         f"{', '.join(ENTITIES)}")
    return frozenset(labels)


def _register_risk() -> None:
    from mlwarden.cli import risk as risk_cmd

    app.command("risk", help=risk_cmd.HELP)(risk_cmd.risk)


_register_risk()
