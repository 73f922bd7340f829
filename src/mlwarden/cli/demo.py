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
    from mlwarden.core.policy import Config, ConfigModel, write_atomic
    from mlwarden.demo import (
        DEMO_ADVISORIES,
        DEMO_DATASET,
        DEMO_PUBLIC_KEY,
        SIGNED_MODEL,
        TAMPERED_COPY,
        anonymize_demo_dataset,
        sign_and_tamper,
        write_demo_project,
    )
    from mlwarden.render import render
    from mlwarden.scanning.engine import scan_paths
    from mlwarden.supply.advisories.store import build_database

    target = folder if folder is not None else Path(tempfile.mkdtemp(prefix="mlwarden-demo-"))
    write_demo_project(target)
    verification = sign_and_tamper(target)
    # The demo brings its own few advisories, so it shows the dependency audit offline and leaves the user's
    # database alone; it lives outside the project folder so the scan does not list it.
    with tempfile.TemporaryDirectory(prefix="mlwarden-demo-db-") as db_folder:
        db_path = Path(db_folder) / "advisories.sqlite3"
        build_database(DEMO_ADVISORIES, db_path,
                       source="mlwarden demo sample of the PyPA advisory database (CC-BY 4.0)")
        # The sample's records are years old by design: no staleness warning for the demo's own database.
        config = Config(ConfigModel(advisory_max_age_days=3650))
        report = scan_paths([target], config=config, jobs=jobs, db_path=db_path)
    report.findings.extend(verification)  # the signature check of the signed model and its tampered copy
    anonymized = anonymize_demo_dataset(target)  # after the scan: the report shows the original's findings
    sys.stdout.write(render(report, "terminal", color=None))
    html_path = target / "mlwarden-report.html"
    write_atomic(html_path, render(report, "html", color=False))
    typer.echo(f"\nDemo project: {target}\nHTML report:  {html_path}\n"
               f"The dependency audit used {len(DEMO_ADVISORIES)} sample advisories; for the full database run "
               "'mlwarden db update' (online) or 'mlwarden db import PATH'.\n"
               f"{DEMO_DATASET} holds personal data; its anonymized copy is {anonymized}\n"
               f"{SIGNED_MODEL} is signed; {TAMPERED_COPY} is a copy with a swapped checkpoint. Check them with:\n"
               f"  mlwarden verify {target / TAMPERED_COPY} --signature {target / TAMPERED_COPY / 'model.sig'} "
               f"--key {target / DEMO_PUBLIC_KEY}\n"
               f"In CI, 'mlwarden scan {target}' would exit 1 here: the poisoned models fail the gate.")
    return 0
