"""``mlwarden sbom``: write the project's ML bill of materials (CycloneDX 1.6 JSON) and say what is in it.

Thin: the library does the work (``mlwarden.supply.sbom_project.write_sbom``); the summary goes to stderr.
"""

from __future__ import annotations

from pathlib import Path

import typer

HELP = ("Write a CycloneDX 1.6 ML bill of materials: libraries (versions, licences, purls), model artifacts "
        "and datasets with SHA-256 hashes, and the known vulnerabilities of the dependencies when an advisory "
        "database is present. Exit 0 when written, 2 on usage or input errors.")


def sbom(
    path: list[Path] = typer.Argument(..., help="Project folders or files to describe.", show_default=False),
    output: Path = typer.Option(..., "--output", "-o", help="Write the BOM to FILE (atomically).",
                                show_default=False),
    db: Path | None = typer.Option(None, "--db", help="Advisory database to use (default: the local one)."),
    environment: bool = typer.Option(False, "--environment",
                                     help="Also list the packages installed in the current Python environment."),
    python: Path | None = typer.Option(None, "--python",
                                       help="Also list the packages of this interpreter or virtual environment."),
) -> int:
    from mlwarden.core.policy import load_config
    from mlwarden.supply.sbom_project import write_sbom

    config = load_config()  # the project's skip globs apply to the BOM as they do to scans
    summary = write_sbom(path, output, db_path=db, environment=environment, python=python,
                         skip=config.model.skip)
    typer.echo(summary.line(), err=True)
    return 0
