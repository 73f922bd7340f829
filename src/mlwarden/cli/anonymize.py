"""``mlwarden anonymize`` and ``mlwarden reidentify``: write an anonymized copy of a data file, and reverse its
reversible pseudonyms for holders of the dataset key.

Thin: parse arguments, load the policy and the key, call ``mlwarden.privacy.anonymize.anonymize_file`` or
``mlwarden.privacy.reidentify.reidentify_file``, print a one-line summary on stderr. Never prints a value:
summaries hold counts, entity labels and column names only.
"""

from __future__ import annotations

from pathlib import Path

import typer

ANONYMIZE_HELP = (
    "Write an anonymized copy of a text, JSON Lines, JSON, CSV or TSV file: personal data found by the "
    "recognizers (and columns or fields the policy names) is redacted, masked, tagged, hashed with the dataset "
    "key, replaced by a keyed surrogate, generalized, dropped or encrypted as a reversible pseudonym. Streams "
    "the file; never writes in place; the output appears only when complete. Without --policy every entity "
    "becomes its tag (<EMAIL>).")
REIDENTIFY_HELP = ("Decrypt the reversible pseudonyms (MWP1_ tokens) that 'mlwarden anonymize' wrote with the "
                   "encrypt operator, using the dataset key file. Fails, writing nothing, if a token does not "
                   "open with that key.")


def anonymize(
    source: Path = typer.Argument(..., help="The file to anonymize.", show_default=False),
    out: Path = typer.Option(..., "--out", "-o", help="Where to write the anonymized copy.", show_default=False),
    policy_file: Path | None = typer.Option(None, "--policy", help="Policy file (TOML or JSON)."),
    key_file: Path | None = typer.Option(None, "--key-file",
                                         help="Dataset key (symmetric key file); default: the policy's key_file."),
    force: bool = typer.Option(False, "--force", help="Replace --out if it exists."),
) -> int:
    from mlwarden.privacy.anonymize import AnonymizePolicy, anonymize_file, load_dataset_key, load_policy

    policy = load_policy(policy_file) if policy_file is not None else AnonymizePolicy()
    path = key_file or policy.key_file
    key = load_dataset_key(path) if path is not None else None
    summary = anonymize_file(source, out, policy, key=key, force=force)
    replaced = ", ".join(f"{entity} {n}" for entity, n in sorted(summary.replaced.items())) or "none"
    parts = [f"mlwarden: anonymized {summary.records} {summary.kind} records into {out}",
             f"replaced: {replaced}"]
    if summary.columns:
        parts.append("columns: " + ", ".join(f"{name} ({rule})" for name, rule in summary.columns.items()))
    if summary.dropped_columns:
        parts.append(f"dropped columns/fields: {', '.join(summary.dropped_columns[:20])}")
    if summary.dropped_records:
        parts.append(f"{summary.dropped_records} unparseable records dropped")
    if summary.too_deep:
        parts.append(f"{summary.too_deep} over-deep values set to null")
    typer.echo("; ".join(parts), err=True)
    return 0


def reidentify(
    source: Path = typer.Argument(..., help="An anonymized file with MWP1_ tokens.", show_default=False),
    out: Path = typer.Option(..., "--out", "-o", help="Where to write the re-identified copy.",
                             show_default=False),
    key_file: Path = typer.Option(..., "--key-file", help="The dataset key file used by anonymize.",
                                  show_default=False),
    force: bool = typer.Option(False, "--force", help="Replace --out if it exists."),
) -> int:
    from mlwarden.privacy.anonymize import load_dataset_key
    from mlwarden.privacy.reidentify import reidentify_file

    summary = reidentify_file(source, out, key=load_dataset_key(key_file), force=force)
    typer.echo(f"mlwarden: {summary.tokens} pseudonyms decrypted in {summary.records} {summary.kind} records; "
               f"written to {out}", err=True)
    return 0
