"""``mlwarden encrypt``, ``decrypt``, ``rekey`` and ``enc-keygen``: encryption at rest from the command line.

Thin: parse options, turn key sources into recipients and identities, call ``mlwarden.crypto.files``, print one
summary line on stderr. Key sources: ``--recipient`` (public key file), ``--identity`` (private key file),
``--key-file`` (symmetric key file), ``--passphrase-env NAME`` (the passphrase is read from that environment
variable, never from the command line, where ``ps`` would show it) and ``--passphrase`` (typed at a prompt,
which is also offered when no key source is given and a terminal is attached).

This module must never print, log or echo a passphrase or key, and never accept a passphrase as an argument.
"""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from mlwarden.core.errors import InputError, UsageError

if TYPE_CHECKING:
    from mlwarden.crypto.files import CryptSummary
    from mlwarden.crypto.recipients import Identity, Passphrase, Recipient, StanzaMatcher

ENCRYPT_HELP = ("Encrypt a model file or folder at rest (AES-256-GCM in authenticated chunks) for one or more "
                "recipients: public keys, key files, passphrases. Exit 0 on success, 2 on any error (no output "
                "is left behind).")
DECRYPT_HELP = ("Decrypt a file or folder written by 'mlwarden encrypt'. The output appears only after every "
                "chunk authenticated; a wrong key, a damaged or truncated file exits 2 and leaves nothing behind.")
REKEY_HELP = ("Change who can open an encrypted file or folder without re-encrypting it: add or remove "
              "recipients (the data key is re-wrapped, the payload bytes are copied unchanged).")
KEYGEN_HELP = ("Create an encryption key: an X25519 or hybrid X25519 + ML-KEM-768 key pair (private key mode "
               "0600 plus a .pub file to give to whoever encrypts for you), or a symmetric key file.")


class KeyKindOption(StrEnum):
    x25519 = "x25519"
    x25519_mlkem768 = "x25519-mlkem768"
    symmetric = "symmetric"


class KdfOption(StrEnum):
    argon2id = "argon2id"
    scrypt = "scrypt"


# --- key sources ------------------------------------------------------------------------------------------

def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stderr.isatty()


def _prompt_secret(prompt: str) -> str:
    import getpass

    return getpass.getpass(prompt)


def _prompted_passphrase(*, confirm: bool) -> str:
    if not _interactive():
        raise UsageError("cannot prompt for a passphrase without a terminal; use --passphrase-env NAME")
    value = _prompt_secret("Passphrase: ")
    if confirm and _prompt_secret("Passphrase (again): ") != value:
        raise UsageError("the two passphrases differ; run again and type the same passphrase twice")
    return value


def _env_passphrase(name: str, option: str) -> str:
    value = os.environ.get(name)
    if value is None:
        raise UsageError(f"environment variable {name} is not set ({option}); export it or use another key "
                         "source")
    return value


def _passphrase(value: str, kdf: KdfOption | None) -> Passphrase:
    from mlwarden.crypto.recipients import Passphrase

    return Passphrase(value, kdf=kdf.value if kdf is not None else None)


def _recipients(public_keys: list[Path] | None, key_files: list[Path] | None, passphrase_env: str | None,
                prompt: bool, kdf: KdfOption | None, *, option_prefix: str = "") -> list[Recipient]:
    from mlwarden.crypto.recipients import load_key_file, load_recipient

    recipients: list[Recipient] = [load_recipient(p) for p in public_keys or ()]
    recipients += [load_key_file(p) for p in key_files or ()]
    if passphrase_env is not None:
        recipients.append(_passphrase(_env_passphrase(passphrase_env, f"--{option_prefix}passphrase-env"), kdf))
    if prompt:
        recipients.append(_passphrase(_prompted_passphrase(confirm=True), kdf))
    return recipients


def _identities(private_keys: list[Path] | None, key_files: list[Path] | None, passphrase_env: str | None,
                prompt: bool) -> list[Identity]:
    from mlwarden.crypto.recipients import Passphrase, load_identity, load_key_file

    identities: list[Identity] = [load_identity(p) for p in private_keys or ()]
    identities += [load_key_file(p) for p in key_files or ()]
    if passphrase_env is not None:
        identities.append(Passphrase(_env_passphrase(passphrase_env, "--passphrase-env")))
    if prompt:
        identities.append(Passphrase(_prompted_passphrase(confirm=False)))
    return identities


def _first_encrypted_file(path: Path) -> Path | None:
    if path.is_file():
        return path
    if path.is_dir():
        for candidate in sorted(path.rglob("*.mlwenc")):
            if candidate.is_file() and not candidate.is_symlink():
                return candidate
    return None


def _identities_or_prompt(path: Path, private_keys: list[Path] | None, key_files: list[Path] | None,
                          passphrase_env: str | None, prompt: bool) -> list[Identity]:
    """The identities given; with none, a prompted passphrase when the file has a passphrase stanza."""
    from mlwarden.crypto.files import inspect_encrypted
    from mlwarden.crypto.recipients import FORMAT_BY_KIND

    identities = _identities(private_keys, key_files, passphrase_env, prompt)
    if identities:
        return identities
    if not path.exists():
        raise InputError(f"{path} does not exist; check the path")
    sample = _first_encrypted_file(path)
    if sample is not None and _interactive():
        kinds = sorted({stanza.kind for stanza in inspect_encrypted(sample).stanzas})
        if any(FORMAT_BY_KIND[kind].passphrase for kind in kinds):
            return _identities(None, None, None, True)
        raise UsageError(f"{sample} is encrypted to {', '.join(kinds)} only; pass the matching --identity or "
                         "--key-file")
    raise UsageError("no key given: pass --identity, --key-file or --passphrase-env (or run in a terminal to "
                     "type a passphrase)")


def _size(count: int) -> str:
    value = float(count)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{count} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{count} bytes"


def _report(summary: CryptSummary, verb: str, extra: str = "") -> None:
    count = len(summary.files)
    noun = "file" if count == 1 else "files"
    typer.echo(f"mlwarden: {verb} {count} {noun} ({_size(summary.total_bytes)}) to {summary.output}{extra}",
               err=True)


# --- commands ---------------------------------------------------------------------------------------------

def encrypt(
    path: Path = typer.Argument(..., help="File or folder to encrypt.", show_default=False),
    output: Path | None = typer.Option(None, "--output", "-o",
                                       help="Encrypted file or folder (default: PATH.mlwenc)."),
    recipient: list[Path] | None = typer.Option(None, "--recipient", "-r", metavar="PUBLIC.pem",
                                                help="Public key file (.pub from enc-keygen); repeatable."),
    key_file: list[Path] | None = typer.Option(None, "--key-file", "-k", metavar="FILE",
                                               help="Symmetric key file to encrypt to; repeatable."),
    passphrase_env: str | None = typer.Option(None, "--passphrase-env", metavar="NAME",
                                              help="Encrypt to the passphrase held in environment variable NAME."),
    passphrase: bool = typer.Option(False, "--passphrase", "-p", help="Encrypt to a passphrase typed at a prompt."),
    kdf: KdfOption | None = typer.Option(None, "--kdf",
                                         help="Passphrase KDF (default: argon2id when available, else scrypt)."),
    force: bool = typer.Option(False, "--force", help="Replace an existing output file (never the input)."),
) -> int:
    from mlwarden.crypto.files import encrypt_path

    recipients = _recipients(recipient, key_file, passphrase_env, passphrase, kdf)
    if not recipients:
        if not _interactive():
            raise UsageError("no recipient: pass --recipient, --key-file or --passphrase-env (or run in a "
                             "terminal to type a passphrase)")
        recipients = _recipients(None, None, None, True, kdf)
    summary = encrypt_path(path, output, recipients=recipients, overwrite=force)
    names = ", ".join(r.describe() for r in recipients)
    _report(summary, "encrypted", f" for {len(recipients)} recipient{'s' if len(recipients) > 1 else ''}: {names}")
    return 0


def decrypt(
    path: Path = typer.Argument(..., help="Encrypted file or folder.", show_default=False),
    output: Path | None = typer.Option(None, "--output", "-o",
                                       help="Decrypted file or folder (default: PATH without .mlwenc)."),
    identity: list[Path] | None = typer.Option(None, "--identity", "-i", metavar="PRIVATE.pem",
                                                help="Private key file; repeatable."),
    key_file: list[Path] | None = typer.Option(None, "--key-file", "-k", metavar="FILE",
                                               help="Symmetric key file; repeatable."),
    passphrase_env: str | None = typer.Option(None, "--passphrase-env", metavar="NAME",
                                              help="Read the passphrase from environment variable NAME."),
    passphrase: bool = typer.Option(False, "--passphrase", "-p", help="Type the passphrase at a prompt."),
    force: bool = typer.Option(False, "--force", help="Replace an existing output file (never the input)."),
) -> int:
    from mlwarden.crypto.files import decrypt_path

    identities = _identities_or_prompt(path, identity, key_file, passphrase_env, passphrase)
    _report(decrypt_path(path, output, identities=identities, overwrite=force), "decrypted")
    return 0


def rekey(
    path: Path = typer.Argument(..., help="Encrypted file or folder (rewritten in place unless --output).",
                                show_default=False),
    identity: list[Path] | None = typer.Option(None, "--identity", "-i", metavar="PRIVATE.pem",
                                               help="Private key that opens the file now; repeatable."),
    key_file: list[Path] | None = typer.Option(None, "--key-file", "-k", metavar="FILE",
                                               help="Key file that opens the file now; repeatable."),
    passphrase_env: str | None = typer.Option(None, "--passphrase-env", metavar="NAME",
                                              help="Current passphrase, from environment variable NAME."),
    passphrase: bool = typer.Option(False, "--passphrase", "-p", help="Type the current passphrase at a prompt."),
    add_recipient: list[Path] | None = typer.Option(None, "--add-recipient", metavar="PUBLIC.pem", help="Public key file to add."),
    add_key_file: list[Path] | None = typer.Option(None, "--add-key-file", metavar="FILE", help="Key file to add."),
    add_passphrase_env: str | None = typer.Option(None, "--add-passphrase-env", metavar="NAME",
                                                  help="Add the passphrase held in environment variable NAME."),
    add_passphrase: bool = typer.Option(False, "--add-passphrase", help="Add a passphrase typed at a prompt."),
    remove_recipient: list[Path] | None = typer.Option(None, "--remove-recipient", metavar="PUBLIC.pem",
                                                       help="Public key file whose stanza to remove."),
    remove_key_file: list[Path] | None = typer.Option(None, "--remove-key-file", metavar="FILE",
                                                      help="Key file whose stanza to remove."),
    remove_passphrase: bool = typer.Option(False, "--remove-passphrase", help="Remove every passphrase stanza."),
    kdf: KdfOption | None = typer.Option(None, "--kdf", help="KDF for an added passphrase."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the rekeyed file here (files only)."),
    force: bool = typer.Option(False, "--force", help="Replace an existing --output file."),
) -> int:
    from mlwarden.crypto.files import rekey_path
    from mlwarden.crypto.recipients import ALL_PASSPHRASES, load_key_file, load_recipient

    add = _recipients(add_recipient, add_key_file, add_passphrase_env, add_passphrase, kdf, option_prefix="add-")
    remove: list[StanzaMatcher] = [load_recipient(p) for p in remove_recipient or ()]
    remove += [load_key_file(p) for p in remove_key_file or ()]
    if remove_passphrase:
        remove.append(ALL_PASSPHRASES)
    if not add and not remove:
        raise UsageError("rekey needs a change: --add-recipient, --add-key-file, --add-passphrase-env, "
                         "--remove-recipient, --remove-key-file or --remove-passphrase")
    identities = _identities_or_prompt(path, identity, key_file, passphrase_env, passphrase)
    summary = rekey_path(path, identities=identities, add=add, remove=remove, output=output, overwrite=force)
    changes = [f"+{r.describe()}" for r in add] + [f"-{r.describe()}" for r in remove]
    _report(summary, "rekeyed", f" ({', '.join(changes)}; payload unchanged)")
    return 0


def enc_keygen(
    kind: KeyKindOption = typer.Option(KeyKindOption.x25519, "--kind",
                                       help="x25519, x25519-mlkem768 (quantum-resistant hybrid) or symmetric."),
    output: Path = typer.Option(..., "--output", "-o", help="Private key (or key file) to create, mode 0600.",
                                show_default=False),
    public_output: Path | None = typer.Option(None, "--public-output",
                                              help="Public key to create (default: OUTPUT.pub)."),
) -> int:
    from mlwarden.crypto.recipients import keygen_recipient

    if kind is KeyKindOption.symmetric and public_output is not None:
        raise UsageError("a symmetric key file has no public part; drop --public-output")
    written = keygen_recipient(kind.value, output, public_path=public_output)
    if written.public_path is None:
        typer.echo(f"mlwarden: wrote symmetric key file {written.private_path} (mode 0600, key id "
                   f"{written.recipient_id}); keep it secret and backed up: without it the files are lost",
                   err=True)
    else:
        typer.echo(f"mlwarden: wrote {written.kind} private key {written.private_path} (mode 0600) and public key "
                   f"{written.public_path} (recipient id {written.recipient_id}); share only the .pub file",
                   err=True)
    return 0


def register(app: typer.Typer) -> None:
    """Add the encryption commands to ``app`` (the lines cli/main.py needs)."""
    app.command("encrypt", help=ENCRYPT_HELP)(encrypt)
    app.command("decrypt", help=DECRYPT_HELP)(decrypt)
    app.command("rekey", help=REKEY_HELP)(rekey)
    app.command("enc-keygen", help=KEYGEN_HELP)(enc_keygen)
