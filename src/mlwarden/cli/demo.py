"""``mlwarden demo``: write the demo project, scan it, print the report, write the HTML report beside it."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import typer


def demo(
    folder: Path | None = typer.Argument(None, help="Where to write the demo project (default: a new "
                                                    "temporary folder)."),
    jobs: int | None = typer.Option(None, "--jobs", "-j", min=1, help="Parallel workers."),
) -> int:
    from mlwarden.core.policy import Config, write_atomic
    from mlwarden.demo import write_demo_project
    from mlwarden.render import render
    from mlwarden.scanning.engine import scan_paths

    target = folder if folder is not None else Path(tempfile.mkdtemp(prefix="mlwarden-demo-"))
    write_demo_project(target)
    report = scan_paths([target], config=Config(), jobs=jobs)
    sys.stdout.write(render(report, "terminal", color=None))
    html_path = target / "mlwarden-report.html"
    write_atomic(html_path, render(report, "html", color=False))
    typer.echo(f"\nDemo project: {target}\nHTML report:  {html_path}\n"
               f"In CI, 'mlwarden scan {target}' would exit 1 here: the poisoned models fail the gate.")
    return 0
