"""The ``mlwarden`` command: the Typer app and the error boundary.

Every user error (bad flag, missing path, broken config) ends here as one line on stderr and exit status 2;
tracebacks are reserved for bugs. Subcommand modules import their heavy dependencies lazily.
"""

from __future__ import annotations

import sys

import typer

from mlwarden import __version__
from mlwarden.cli import anonymize as anonymize_cmd
from mlwarden.cli import crypt as crypt_cmd
from mlwarden.cli import db as db_cmd
from mlwarden.cli import demo as demo_cmd
from mlwarden.cli import pii as pii_cmd
from mlwarden.cli import registry as registry_cmd
from mlwarden.cli import rules as rules_cmd
from mlwarden.cli import sbom as sbom_cmd
from mlwarden.cli import scan as scan_cmd
from mlwarden.cli import signing as signing_cmd
from mlwarden.core.errors import MlwardenError

app = typer.Typer(
    name="mlwarden",
    help="Security for machine-learning models: find code-execution payloads in model files without loading them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mlwarden {__version__}")
        raise typer.Exit(0)


@app.callback()
def main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Show the version and exit."),
) -> None:
    """mlwarden: scan model artifacts, gate CI on what they would do when loaded."""


app.command("scan", help=scan_cmd.HELP)(scan_cmd.scan)
app.command("rules", help="List the rule catalogue: ids, default severities, references.")(rules_cmd.rules)
app.command("sbom", help=sbom_cmd.HELP)(sbom_cmd.sbom)
app.command("keygen", help=signing_cmd.KEYGEN_HELP)(signing_cmd.keygen)
app.command("sign", help=signing_cmd.SIGN_HELP)(signing_cmd.sign)
app.command("verify", help=signing_cmd.VERIFY_HELP)(signing_cmd.verify)
app.command("encrypt", help=crypt_cmd.ENCRYPT_HELP)(crypt_cmd.encrypt)
app.command("decrypt", help=crypt_cmd.DECRYPT_HELP)(crypt_cmd.decrypt)
app.command("rekey", help=crypt_cmd.REKEY_HELP)(crypt_cmd.rekey)
app.command("enc-keygen", help=crypt_cmd.KEYGEN_HELP)(crypt_cmd.enc_keygen)
app.command("anonymize", help=anonymize_cmd.ANONYMIZE_HELP)(anonymize_cmd.anonymize)
app.command("reidentify", help=anonymize_cmd.REIDENTIFY_HELP)(anonymize_cmd.reidentify)
app.command("demo", help="Write a small demo ML project with clean and poisoned models, scan it, and "
                         "write an HTML report next to it.")(demo_cmd.demo)
app.add_typer(db_cmd.app, name="db")
app.add_typer(registry_cmd.app, name="registry")
app.add_typer(pii_cmd.app, name="pii")


def _fail(message: str) -> None:
    sys.stderr.write(f"mlwarden: error: {message}\n")
    sys.exit(2)


def run(argv: list[str] | None = None) -> None:
    """Entry point: run the app with one-line errors and the documented exit codes (0, 1, 2)."""
    try:
        code = app(args=argv, prog_name="mlwarden", standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        _fail("aborted")
    except typer.TyperException as exc:  # typer's usage errors (bad flag, missing argument, bad value)
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError":
            sys.exit(0)  # Typer has already printed the help
        command = ctx.command_path if ctx is not None else "mlwarden"
        _fail(f"{exc.format_message()} (see '{command} --help')")
    except MlwardenError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        sys.stderr.write("mlwarden: interrupted\n")
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
