"""``mlwarden db``: import, update and inspect the offline advisory database. No logic: calls the library.

Errors are ``MlwardenError``s; the main app's error boundary prints them in one line and exits 2.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from mlwarden.cli.reporting import TextOrJson

app = typer.Typer(
    help="Manage the offline advisory database (OSV records) that dependency audits use.",
    no_args_is_help=True,
    add_completion=False,
)

_DB_HELP = "Database file (default: advisories.sqlite3 in $MLWARDEN_HOME or the user cache folder)."



@app.command("import")
def import_command(
    path: Path = typer.Argument(..., help="OSV data: a .zip export, a folder of .json/.yaml records, "
                                          ".jsonl or .jsonl.gz.", show_default=False),
    db: Path | None = typer.Option(None, "--db", help=_DB_HELP, show_default=False),
) -> None:
    """Build the database from local OSV data (replaces the current one only when the import succeeds)."""
    from mlwarden.supply.advisories.importer import import_path_with_stats

    metadata, stats = import_path_with_stats(path, db)
    skipped = stats.skipped_records + stats.skipped_files
    typer.echo(f"imported {metadata.record_count} advisories ({metadata.withdrawn_count} withdrawn) for "
               f"{metadata.package_count} packages into {metadata.path}")
    if skipped:
        typer.echo(f"skipped {skipped} malformed or oversized entries, e.g. {stats.problems[0]}", err=True)


@app.command("update")
def update_command(
    url: str | None = typer.Option(None, "--url", help="Where to download the OSV zip from (default: OSV's "
                                                       "PyPI export).", show_default=False),
    db: Path | None = typer.Option(None, "--db", help=_DB_HELP, show_default=False),
    sha256: str | None = typer.Option(None, "--sha256", help="Refuse the download unless its SHA-256 is HEX.",
                                      show_default=False),
) -> None:
    """Download the OSV PyPI export and swap it in atomically (a failed download changes nothing)."""
    from mlwarden.supply.advisories.update import DEFAULT_URL, display_url, update_database

    source = url or DEFAULT_URL
    typer.echo(f"downloading {display_url(source)} ...", err=True)
    metadata = update_database(source, db, sha256=sha256)
    typer.echo(f"updated {metadata.path}: {metadata.record_count} advisories ({metadata.withdrawn_count} "
               f"withdrawn) for {metadata.package_count} packages, data up to {metadata.snapshot_date or '?'}")


@app.command("status")
def status_command(
    db: Path | None = typer.Option(None, "--db", help=_DB_HELP, show_default=False),
    output_format: TextOrJson = typer.Option(TextOrJson.text, "--format", "-f", help="text or json."),
) -> None:
    """Say which database is there, what it holds and how old its data is."""
    from mlwarden.supply.advisories.store import AdvisoryStore

    with AdvisoryStore.open(db) as store:
        metadata = store.metadata()
        age = store.age_days()
    age_text = f"{age:.0f} days" if age is not None else "unknown"
    if output_format is TextOrJson.json:
        typer.echo(json.dumps({**metadata.to_dict(), "age_days": None if age is None else round(age, 1)},
                              indent=2))
        return
    rows: list[tuple[str, str]] = [
        ("database", metadata.path),
        ("records", f"{metadata.record_count} ({metadata.withdrawn_count} withdrawn)"),
        ("packages", str(metadata.package_count)),
        ("source", metadata.source),
        ("snapshot date", metadata.snapshot_date or "unknown"),
        ("imported at", metadata.imported_at),
        ("age", age_text),
    ]
    if metadata.skipped_count:
        rows.append(("skipped on import", str(metadata.skipped_count)))
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        typer.echo(f"{label + ':':<{width + 1}} {value}")
