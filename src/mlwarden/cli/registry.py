"""``mlwarden registry``: read and check the signing registry (log, show, verify). No logic: calls the library.

``verify`` exits 1 when the history was tampered with, 0 when it is intact; errors (a missing entry, a file that is
not a registry) are ``MlwardenError``s that the main app prints in one line with exit status 2. Nothing here
writes to the registry: ``sign`` and ``verify`` append to it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from mlwarden.cli.reporting import TextOrJson

if TYPE_CHECKING:
    from mlwarden.integrity.registry import RegistryEntry, SigningRegistry

app = typer.Typer(
    help="The signing registry: every signing and verification, hash-chained so that edits of its history show.",
    no_args_is_help=True,
    add_completion=False,
)

_REGISTRY_HELP = "Registry file (default: registry.sqlite3 in $MLWARDEN_HOME or the user cache folder)."



def _open(path: Path | None) -> SigningRegistry:
    from mlwarden.integrity.registry import SigningRegistry

    return SigningRegistry(path)


def _short(digest: str | None, width: int = 16) -> str:
    return (digest or "-")[:width]


def _line(entry: RegistryEntry) -> str:
    signer = _short(entry.signer_fingerprint)
    if entry.signer_subject:
        signer += f" {entry.signer_subject}"
    digest = f"{entry.subject_algorithm}:{_short(entry.subject_digest)}" if entry.subject_digest else "-"
    return (f"{entry.seq:>5}  {entry.recorded_at}  {entry.action:<6}  {entry.verdict:<8}  {entry.model_name}  "
            f"{digest}  {signer}")


@app.command("log")
def log_command(
    model: str | None = typer.Option(None, "--model", "-m", help="Only entries of this model (its name or "
                                                                 "folder).", show_default=False),
    versions: bool = typer.Option(False, "--versions", help="With --model: one line per signed version (root "
                                                            "digest): signers, data, last verification."),
    limit: int | None = typer.Option(None, "--limit", "-n", min=1, help="Only the last N entries.",
                                     show_default=False),
    registry_path: Path | None = typer.Option(None, "--registry", help=_REGISTRY_HELP, show_default=False),
    output_format: TextOrJson = typer.Option(TextOrJson.text, "--format", "-f", help="text or json."),
) -> None:
    """List signings and verifications, oldest first."""
    from mlwarden.core.errors import UsageError

    registry = _open(registry_path)
    names = _model_names(model)
    if versions:
        if model is None:
            raise UsageError("--versions needs --model NAME: versions are listed per model")
        _print_versions(registry, names, output_format)
        return
    if names:
        found = {entry.seq: entry for name in names for entry in registry.entries(model=name, limit=limit)}
        entries = sorted(found.values(), key=lambda entry: entry.seq)[-limit if limit else 0:]
    else:
        entries = registry.entries(limit=limit)
    if output_format is TextOrJson.json:
        typer.echo(json.dumps([entry.to_dict() for entry in entries], indent=2))
        return
    if not entries:
        where = registry.path if registry.exists() else f"{registry.path} (not created yet)"
        typer.echo(f"no entries{f' for {model}' if model else ''} in {where}")
        return
    for entry in entries:
        typer.echo(_line(entry))


def _model_names(model: str | None) -> list[str]:
    """A model is recorded by name and by resolved folder path: accept either spelling."""
    if model is None:
        return []
    names = [model]
    candidate = Path(model)
    if candidate.exists():
        names.append(str(candidate.resolve()))
    return names


def _print_versions(registry: SigningRegistry, names: list[str], output_format: TextOrJson) -> None:
    found = {v.subject_digest: v for name in names for v in registry.versions(name)}
    versions = sorted(found.values(), key=lambda v: (v.first_signed_at, v.sign_entries))
    if output_format is TextOrJson.json:
        typer.echo(json.dumps([{
            "model_name": v.model_name, "subject_digest": {v.subject_algorithm: v.subject_digest},
            "first_signed_at": v.first_signed_at, "last_signed_at": v.last_signed_at, "signers": list(v.signers),
            "provenance": list(v.provenance), "sign_entries": list(v.sign_entries),
            "verifications": v.verifications, "last_verdict": v.last_verdict, "paths": list(v.paths),
        } for v in versions], indent=2))
        return
    if not versions:
        typer.echo(f"no signed versions of {names[0]} in {registry.path}")
        return
    for v in versions:
        checks = f"{v.verifications} verification{'s' if v.verifications != 1 else ''}"
        if v.last_verdict:
            checks += f", last {v.last_verdict}"
        typer.echo(f"{v.subject_algorithm}:{v.subject_digest}  {v.model_name}")
        typer.echo(f"  signed      {v.first_signed_at}" + (f" .. {v.last_signed_at}"
                                                           if v.last_signed_at != v.first_signed_at else "")
                   + f"  (entries {', '.join(str(s) for s in v.sign_entries)})")
        typer.echo(f"  signers     {', '.join(v.signers)}")
        typer.echo(f"  checked     {checks}")
        for summary in v.provenance:
            typer.echo(f"  provenance  {json.dumps(summary, sort_keys=True)}")


@app.command("show")
def show_command(
    seq: int = typer.Argument(..., help="Entry number, as 'registry log' lists it.", show_default=False),
    registry_path: Path | None = typer.Option(None, "--registry", help=_REGISTRY_HELP, show_default=False),
    output_format: TextOrJson = typer.Option(TextOrJson.text, "--format", "-f", help="text or json."),
) -> None:
    """Show every field of one entry, and whether its hash still matches its content."""
    entry = _open(registry_path).entry(seq)
    document = {**entry.to_dict(), "hash_ok": entry.hash_ok}
    if output_format is TextOrJson.json:
        typer.echo(json.dumps(document, indent=2))
        return
    width = max(len(key) for key in document)
    for key, value in document.items():
        shown = json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else value
        typer.echo(f"{key + ':':<{width + 1}} {'-' if shown is None else shown}")


@app.command("verify")
def verify_command(
    anchor: str | None = typer.Option(None, "--anchor", help="SEQ:HASH printed by an earlier 'registry verify' "
                                                             "and kept elsewhere: also catches a history "
                                                             "rewritten from scratch or cut back.",
                                      show_default=False),
    registry_path: Path | None = typer.Option(None, "--registry", help=_REGISTRY_HELP, show_default=False),
    output_format: TextOrJson = typer.Option(TextOrJson.text, "--format", "-f", help="text or json."),
) -> None:
    """Check the hash chain: exit 0 when intact, 1 when entries were edited, deleted, reordered, inserted or cut."""
    from mlwarden.integrity.registry import parse_anchor

    expected = parse_anchor(anchor) if anchor is not None else None
    registry = _open(registry_path)
    problems = registry.verify_chain(anchor=expected)
    head = None
    if not problems:
        head = registry.head()
    if output_format is TextOrJson.json:
        typer.echo(json.dumps({
            "registry": str(registry.path), "intact": not problems,
            "head": f"{head[0]}:{head[1]}" if head else None,
            "problems": [{"kind": p.kind, "seq": p.seq, "message": p.message} for p in problems],
        }, indent=2))
    elif problems:
        typer.echo(f"{registry.path}: history was tampered with ({len(problems)} problem"
                   f"{'s' if len(problems) != 1 else ''}):")
        for problem in problems:
            typer.echo(f"  {problem.kind}: {problem.message}")
    elif head is None:
        typer.echo(f"{registry.path}: no entries yet; nothing to verify")
    else:
        typer.echo(f"{registry.path}: chain intact, {head[0]} entries")
        typer.echo(f"head {head[0]}:{head[1]}  (keep it elsewhere; check later with --anchor)")
    if problems:
        raise typer.Exit(1)
