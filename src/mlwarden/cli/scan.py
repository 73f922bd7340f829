"""``mlwarden scan``: scan paths, render the report, exit by the policy gate (0 pass, 1 fail, 2 error)."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from mlwarden.core.policy import Config
    from mlwarden.core.report import Report

HELP = ("Scan a project: model files (without loading them), dependencies against the offline advisory "
        "database, unsafe ML code, notebooks and leaked secrets, in one report. Exit 0 when nothing at or above "
        "--fail-on remains, 1 when something does, 2 on usage or input errors.")


class OutputFormat(StrEnum):
    terminal = "terminal"
    json = "json"
    sarif = "sarif"
    html = "html"


class ScannerName(StrEnum):
    models = "models"
    deps = "deps"
    code = "code"
    notebooks = "notebooks"
    secrets = "secrets"
    pii = "pii"


class Level(StrEnum):
    critical = "critical"
    high = "high"
    medium = "medium"
    low = "low"
    info = "info"


def scan(
    paths: list[Path] | None = typer.Argument(None, help="Files or folders to scan.", show_default=False),
    output_format: OutputFormat = typer.Option(OutputFormat.terminal, "--format", "-f", help="Report format."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the report to FILE (atomically)."),
    fail_on: Level | None = typer.Option(None, "--fail-on", help="Gate level (default: config, else high)."),
    jobs: int | None = typer.Option(None, "--jobs", "-j", min=1, help="Parallel workers (default: CPU cores)."),
    config_path: Path | None = typer.Option(None, "--config", help="mlwarden.toml or pyproject.toml to use."),
    baseline: Path | None = typer.Option(None, "--baseline", help="Suppress findings recorded in this baseline."),
    write_baseline: Path | None = typer.Option(None, "--write-baseline",
                                               help="Record all current findings in FILE and exit 0."),
    progress: bool | None = typer.Option(None, "--progress/--no-progress",
                                         help="Progress bar (default: on when stderr is a terminal)."),
    only: list[ScannerName] | None = typer.Option(None, "--only", help="Run only this scanner (repeatable)."),
    skip: list[ScannerName] | None = typer.Option(None, "--skip", help="Do not run this scanner (repeatable)."),
    environment: bool = typer.Option(False, "--environment",
                                     help="Also audit the packages installed in the current environment."),
    python: Path | None = typer.Option(None, "--python",
                                       help="Also audit the packages of this interpreter or virtual environment."),
    db: Path | None = typer.Option(None, "--db", help="Advisory database (default: the mlwarden cache folder)."),
) -> int:
    from mlwarden.cli.reporting import emit_report
    from mlwarden.core.errors import UsageError
    from mlwarden.core.findings import Severity
    from mlwarden.core.policy import baseline_document, exit_code, load_config, write_atomic
    from mlwarden.scanning.engine import scan_paths

    config = load_config(config_path)
    if fail_on is not None:
        config = config.with_fail_on(Severity(fail_on.value))
    if only and skip:
        raise UsageError("--only and --skip cannot be combined; use one of them")
    selected = [s.value for s in only] if only else [s for s in config.model.scanners
                                                      if s not in {k.value for k in skip or ()}]
    if not selected:
        raise UsageError("every scanner is skipped; leave at least one (models, deps, code, notebooks, secrets, pii)")
    paths = list(paths or [])
    if not paths and not environment and python is None:
        raise UsageError("missing paths: name at least one file or folder to scan (or use --environment or "
                         "--python to audit an installed environment)")
    show_progress = sys.stderr.isatty() if progress is None else progress
    options = {"scanners": selected, "environment": environment, "python": python, "db_path": db}

    if show_progress:
        report = _scan_with_progress(paths, config, jobs, baseline, write_baseline is None, options)
    else:
        report = scan_paths(paths, config=config, jobs=jobs, baseline=baseline,
                            use_baseline=write_baseline is None, **options)  # type: ignore[arg-type]

    if write_baseline is not None:
        write_atomic(write_baseline, baseline_document(report.findings, report.tool_version))
        typer.echo(f"mlwarden: baseline with {len(report.findings)} findings written to {write_baseline}",
                   err=True)
        return 0

    fmt = output_format.value
    emit_report(report, fmt, output)
    if output is not None:
        counts = ", ".join(f"{n} {sev}" for sev, n in report.counts().items() if n)
        verdict = "PASS" if report.passed else "FAIL"
        typer.echo(f"mlwarden: {len(report.findings)} findings ({counts or 'none'}) in "
                   f"{report.stats.files_scanned} scanned files; {fmt} report written to {output}; "
                   f"gate {verdict} (fail-on {report.fail_on.value})", err=True)
    return exit_code(report.findings, report.fail_on)


def _scan_with_progress(paths: list[Path], config: Config, jobs: int | None, baseline: Path | None,
                        use_baseline: bool, options: dict[str, Any]) -> Report:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from mlwarden.scanning.engine import FileResult, scan_paths
    with Progress(TextColumn("scanning"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("scan", total=None)

        def started(total: int) -> None:
            bar.update(task, total=total)

        def advanced(_: FileResult) -> None:
            bar.advance(task)

        return scan_paths(paths, config=config, jobs=jobs, baseline=baseline, use_baseline=use_baseline,
                          on_start=started, on_result=advanced, **options)
