"""``mlwarden keygen``, ``mlwarden sign`` and ``mlwarden verify``: OMS model signatures, offline.

Thin: parse arguments, read keys and certificates, call the public API (``mlwarden.sign``, ``mlwarden.verify``),
render the report like ``scan`` does, record in the signing registry, exit. ``verify`` exits 0 when the model
verifies (and the trust policy, from --policy or the configuration's ``[trust]``, allows it, and any provenance
file is bound to it), 1 when it does not, 2 for arguments that cannot be used. A registry that cannot be written
is a one-line warning; it never changes the exit status. Passphrases come from an environment variable or a
hidden prompt, never from a command-line argument (it would show in ``ps`` and shell history), and are never
printed.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from mlwarden.cli.scan import OutputFormat

if TYPE_CHECKING:
    from collections.abc import Callable

    from mlwarden import Verification
    from mlwarden.core.findings import Finding
    from mlwarden.core.report import Report
    from mlwarden.integrity.keys import PrivateKey
    from mlwarden.integrity.model import SignatureVerdict
    from mlwarden.integrity.policy import TrustPolicy
    from mlwarden.integrity.registry import RegistryEntry, SigningRegistry

KEYGEN_HELP = ("Generate a signing key pair: ECDSA P-256 (the OMS default), P-384, Ed25519, or ML-DSA-65 "
               "(post-quantum; an mlwarden extension that other OMS verifiers cannot check). The private key is "
               "PEM PKCS#8, encrypted when a passphrase is given (--passphrase-env NAME or --passphrase to be "
               "prompted); the public key goes beside it as .pub. Prints the key fingerprint.")
SIGN_HELP = ("Sign a model folder or file with a private key (or a certificate chain): writes an OMS signature "
             "(Sigstore bundle, DSSE, in-toto), by default MODEL/model.sig for a folder and model.sig beside a "
             "file, plus signed SLSA provenance with --provenance. Records the signing in the signing registry. "
             "Compatible with model-signing. Keyless Sigstore signing is not supported (offline only).")
VERIFY_HELP = ("Verify a model against an OMS signature with the signer's public key (--key) or CA roots (--ca), "
               "judged by a trust policy (--policy, or the trust table of mlwarden.toml) when there is one, and checks "
               "model.provenance.sig beside the signature. Names every modified, added, removed, renamed, "
               "swapped or symlinked file and every bad signature; records the verification in the signing "
               "registry. Exit 0 verified (and allowed), 1 not, 2 on usage errors.")
REGISTRY_HELP = ("Signing registry file (default: registry.sqlite3 in $MLWARDEN_HOME or the user cache folder).")


class KeyAlgorithm(StrEnum):
    ecdsa_p256 = "ecdsa-p256-sha256"
    ecdsa_p384 = "ecdsa-p384-sha384"
    ed25519 = "ed25519"
    ml_dsa_65 = "ml-dsa-65"


class HashName(StrEnum):
    sha256 = "sha256"
    blake2b = "blake2b"
    blake3 = "blake3"


def keygen(
    private_key: Path = typer.Argument(..., help="Where to write the private key (PEM PKCS#8).",
                                       show_default=False),
    algorithm: KeyAlgorithm = typer.Option(KeyAlgorithm.ecdsa_p256, "--algorithm", "-a",
                                           help="Signature algorithm (ml-dsa-65 is an mlwarden extension, "
                                                "not OMS)."),
    public_key: Path | None = typer.Option(None, "--public-key",
                                           help="Where to write the public key (default: PRIVATE with .pub)."),
    passphrase_env: str | None = typer.Option(None, "--passphrase-env", metavar="NAME",
                                              help="Encrypt the private key with the passphrase in this "
                                                   "environment variable."),
    prompt: bool = typer.Option(False, "--passphrase",
                                help="Encrypt the private key with a passphrase typed at a hidden prompt."),
    force: bool = typer.Option(False, "--force", help="Replace existing key files."),
) -> int:
    from mlwarden.core.errors import UsageError
    from mlwarden.integrity import keys

    if passphrase_env is not None and prompt:
        raise UsageError("--passphrase-env and --passphrase cannot be combined; choose one")
    public_path = public_key if public_key is not None else _public_path_for(private_key)
    if public_path == private_key:
        raise UsageError("the public key path is the private key path; give --public-key another file")
    passphrase: bytes | None = None
    if passphrase_env is not None:
        passphrase = _env_passphrase(passphrase_env)
    elif prompt:
        passphrase = typer.prompt("Passphrase for the new private key", hide_input=True,
                                  confirmation_prompt=True, err=True).encode("utf-8")
    if not force:
        for path in (private_key, public_path):
            if path.exists():
                raise UsageError(f"{path} already exists: choose another path, or pass --force to replace it")
    key = keys.generate_key(keys.scheme(algorithm.value).algorithm)
    keys.write_private_key(private_key, key, passphrase=passphrase, overwrite=force)
    keys.write_public_key(public_path, key, overwrite=force)
    fingerprint = keys.key_fingerprint(key)
    protection = "encrypted with the passphrase" if passphrase else \
        "NOT encrypted: use --passphrase or --passphrase-env to protect it"
    typer.echo(f"mlwarden: {algorithm.value} private key written to {private_key}, {protection}; public key "
               f"written to {public_path}", err=True)
    typer.echo(fingerprint)
    return 0


def sign(
    model: Path = typer.Argument(..., help="Model folder or file to sign.", show_default=False),
    key: Path = typer.Option(..., "--key", "-k", help="Private key (PEM).", show_default=False),
    output: Path | None = typer.Option(None, "--output", "-o",
                                       help="Signature file (default: MODEL/model.sig, or model.sig beside a "
                                            "single file)."),
    hash_name: HashName = typer.Option(HashName.sha256, "--hash", help="Digest for files or shards."),
    shard_size: int | None = typer.Option(None, "--shard-size", min=1,
                                          help="Hash files in shards of N bytes (OMS 'shards' method)."),
    certificate: Path | None = typer.Option(None, "--certificate",
                                            help="Signing certificate (PEM) for the certificate method."),
    certificate_chain: list[Path] | None = typer.Option(None, "--certificate-chain", metavar="PEM",
                                                        help="Intermediate certificate(s) (PEM, repeatable)."),
    passphrase_env: str | None = typer.Option(None, "--passphrase-env", metavar="NAME",
                                              help="Read the private key's passphrase from this environment "
                                                   "variable (otherwise prompted when needed)."),
    ignore: list[str] | None = typer.Option(None, "--ignore", metavar="PATH",
                                            help="Path relative to the model to leave out (repeatable)."),
    ignore_git_paths: bool = typer.Option(True, "--ignore-git-paths/--no-ignore-git-paths",
                                          help="Leave out .git, .gitattributes, .github, .gitignore (as "
                                               "model-signing does)."),
    provenance: Path | None = typer.Option(None, "--provenance", metavar="SPEC",
                                           help="Provenance spec (TOML or JSON: datasets, code commit, base model, "
                                                "parameters): signed as SLSA provenance into model.provenance.sig "
                                                "beside the signature."),
    registry_path: Path | None = typer.Option(None, "--registry", metavar="PATH", help=REGISTRY_HELP,
                                              show_default=False),
    no_registry: bool = typer.Option(False, "--no-registry", help="Do not record the signing in the registry."),
    jobs: int | None = typer.Option(None, "--jobs", "-j", min=1, help="Hashing threads (default: CPU cores)."),
) -> int:
    import mlwarden
    from mlwarden.core.errors import UsageError
    from mlwarden.integrity import certificates
    from mlwarden.integrity.provenance import load_provenance_spec, provenance_path_for

    if certificate_chain and certificate is None:
        raise UsageError("--certificate-chain needs --certificate (the signing certificate)")
    registry = _registry(registry_path, no_registry)
    private = _load_signing_key(key, passphrase_env)
    chain = []
    if certificate is not None:
        chain = certificates.load_certificates(certificate)[:1]
        for path in certificate_chain or ():
            chain.extend(certificates.load_certificates(path))
    spec = load_provenance_spec(provenance) if provenance is not None else None  # before hashing: fail fast
    signed = mlwarden.sign(model, key=private, output=output, hash=hash_name.value, shard_size=shard_size,
                           certificate_chain=chain, ignore_paths=tuple(ignore or ()),
                           ignore_git_paths=ignore_git_paths, provenance=spec, workers=jobs)
    method = "certificate" if chain else "key"
    settings = signed.manifest.settings
    typer.echo(f"mlwarden: signed {model} with {signed.signer.algorithm} ({method} method, {settings.method}, "
               f"{settings.hash_type}); signature written to {signed.signature}", err=True)
    if signed.provenance is not None:
        typer.echo(f"mlwarden: provenance signed into {signed.provenance.path}", err=True)
    elif provenance_path_for(signed.signature).is_file():
        typer.echo(f"mlwarden: note: {provenance_path_for(signed.signature)} is from an earlier signing and was "
                   "not re-signed; 'verify' checks it against the new signature (sign with --provenance to "
                   "replace it, or delete it)", err=True)
    if registry is not None:
        _record(registry, signed.record, "signing")
    return 0


def verify(
    model: Path = typer.Argument(..., help="Model folder or file to verify.", show_default=False),
    signature: list[Path] | None = typer.Option(None, "--signature", "-s",
                                                help="Signature file (default: MODEL/model.sig, or model.sig "
                                                     "beside a single file, where 'sign' writes it); repeat it "
                                                     "for several signers (k of n in the trust policy)."),
    key: list[Path] | None = typer.Option(None, "--key", "-k",
                                          help="Signer's public key (PEM); repeatable, one per signer."),
    ca: list[Path] | None = typer.Option(None, "--ca", metavar="PEM",
                                         help="Trusted CA root certificate(s), PEM (repeatable)."),
    policy: Path | None = typer.Option(None, "--policy",
                                       help="Trust policy file (TOML with a trust table) that decides whether "
                                            "a verified signature is enough; use with --key or --ca. Default: "
                                            "the trust table of the project configuration, if it has one."),
    config_path: Path | None = typer.Option(None, "--config",
                                            help="mlwarden.toml or pyproject.toml whose trust table is the "
                                                 "policy when --policy is not given (default: discovered from "
                                                 "the current folder)."),
    output_format: OutputFormat = typer.Option(OutputFormat.terminal, "--format", "-f", help="Report format."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the report to FILE (atomically)."),
    registry_path: Path | None = typer.Option(None, "--registry", metavar="PATH", help=REGISTRY_HELP,
                                              show_default=False),
    no_registry: bool = typer.Option(False, "--no-registry",
                                     help="Neither record the verification nor read signing times from the "
                                          "registry (a policy's max_signature_age_days then needs a time from "
                                          "the signature itself)."),
    jobs: int | None = typer.Option(None, "--jobs", "-j", min=1, help="Hashing threads (default: CPU cores)."),
) -> int:
    import mlwarden
    from mlwarden.cli.reporting import emit_report
    from mlwarden.core.errors import UsageError
    from mlwarden.integrity import certificates, keys

    if not key and not ca:
        hint = " (the trust policy names trusted signers, not their keys)" if policy is not None else ""
        raise UsageError(f"give the signer's public key (--key PUBLIC.pem) or CA root (--ca ROOT.pem){hint}")
    if policy is not None and config_path is not None:
        raise UsageError("--policy and --config both name a trust policy; give one")
    registry = _registry(registry_path, no_registry)
    public_keys = [keys.load_public_key(path) for path in key or ()]
    roots = [root for path in ca or () for root in certificates.load_certificates(path)]
    trust, policy_source = _trust_policy(policy, config_path, model)  # before hashing: a broken policy fails fast
    if policy_source is not None:
        typer.echo(f"mlwarden: trust policy: {policy_source}", err=True)
    started = datetime.now(UTC)
    result = mlwarden.verify(model, signature=signature or None, public_key=public_keys, ca_roots=roots,
                             policy=trust, registry=registry, workers=jobs)
    scanners = ["signature", *(["trust"] if trust is not None else []),
                *(["provenance"] if result.provenance is not None else [])]
    report = _report(model, result.verdict, list(result.findings), started, scanners)
    fmt = output_format.value
    emit_report(report, fmt, output)
    if output is not None:
        typer.echo(f"mlwarden: {fmt} report written to {output}", err=True)
    if registry is not None:
        _record(registry, result.record, "verification")
    typer.echo(_summary(result, trust is not None), err=True)
    return 0 if result.allowed else 1


# --- helpers ----------------------------------------------------------------------------------------------------

def _public_path_for(private_key: Path) -> Path:
    if private_key.suffix == ".pub":
        from mlwarden.core.errors import UsageError

        raise UsageError(f"{private_key} looks like a public key name: give the private key a name such as "
                         "signing.pem")
    return private_key.with_suffix(".pub")


def _env_passphrase(name: str) -> bytes:
    from mlwarden.core.errors import UsageError

    value = os.environ.get(name)
    if value is None:
        raise UsageError(f"environment variable {name} (--passphrase-env) is not set: export the passphrase in it")
    if not value:
        raise UsageError(f"environment variable {name} (--passphrase-env) is empty: put the passphrase in it")
    return value.encode("utf-8")


def _load_signing_key(path: Path, passphrase_env: str | None) -> PrivateKey:
    from mlwarden.core.errors import UsageError
    from mlwarden.integrity import keys

    if passphrase_env is not None:
        return keys.load_private_key(path, passphrase=_env_passphrase(passphrase_env))
    if keys.private_key_is_encrypted(path):
        if not sys.stdin.isatty():
            raise UsageError(f"private key {path} is encrypted and there is no terminal to ask for its passphrase: "
                             "pass --passphrase-env NAME")
        passphrase = typer.prompt(f"Passphrase for {path}", hide_input=True, err=True).encode("utf-8")
        return keys.load_private_key(path, passphrase=passphrase)
    return keys.load_private_key(path)


def _registry(path: Path | None, disabled: bool) -> SigningRegistry | None:
    from mlwarden.core.errors import UsageError
    from mlwarden.integrity.registry import SigningRegistry

    if disabled:
        if path is not None:
            raise UsageError("--registry and --no-registry contradict each other; give one")
        return None
    return SigningRegistry(path)


def _record(registry: SigningRegistry, record: Callable[[SigningRegistry], RegistryEntry], what: str) -> None:
    """Append to the registry; a registry that cannot be written is a warning, never a changed exit status (the
    signature was written, the verdict given)."""
    from mlwarden.core.errors import MlwardenError

    try:
        entry = record(registry)
    except MlwardenError as exc:
        message = " ".join(str(exc).split())
        typer.echo(f"mlwarden: warning: the {what} was not recorded in the signing registry: {message}", err=True)
        return
    if what == "signing":
        typer.echo(f"mlwarden: recorded as entry {entry.seq} of the signing registry {registry.path}", err=True)


def _trust_policy(policy: Path | None, config_path: Path | None, model: Path
                  ) -> tuple[TrustPolicy | None, str | None]:
    """The policy to apply and a line saying where it came from: --policy, else the configuration's [trust]."""
    from mlwarden.core.errors import ConfigError
    from mlwarden.core.policy import load_config
    from mlwarden.integrity.policy import load_trust_policy

    if policy is not None:
        return load_trust_policy(policy), f"{policy} (--policy)"
    config = load_config(config_path)
    trust = config.trust_policy()
    source = config.source
    if trust is None or source is None:
        if config_path is not None:
            raise ConfigError(f"{config_path} has no [trust] table, so it names no trust policy; add one or give "
                              "--policy")
        return None, None
    if config_path is None and model.is_dir() and source.is_relative_to(model.resolve()):
        # A model must not bring its own policy: an ignore_paths or allow_unsigned_files written by whoever
        # altered the model would wave the alteration through.
        raise ConfigError(f"the trust policy would come from {source}, inside the model being verified: run from "
                          "the project folder, or name the policy with --policy or --config")
    table = "[tool.mlwarden.trust]" if source.name == "pyproject.toml" else "[trust]"
    return trust, f"{table} of {source}"


def _report(model: Path, verdict: SignatureVerdict, findings: list[Finding], started: datetime,
            scanners: list[str]) -> Report:
    from mlwarden import __version__
    from mlwarden.core.findings import Severity
    from mlwarden.core.report import Report, ScanStats
    from mlwarden.integrity.hashing import split_shard_name

    files: set[str] = set()
    if verdict.manifest is not None:
        for resource in verdict.manifest.resources:
            shard = split_shard_name(resource.name) if verdict.manifest.settings.method == "shards" else None
            files.add(shard[0] if shard else resource.name)
    stats = ScanStats(files_seen=len(files), files_scanned=len(files) if verdict.signature_ok else 0,
                      duration_s=round((datetime.now(UTC) - started).total_seconds(), 3))
    # Every failing verification finding is high or above; extensions are informational.
    return Report(findings=findings, roots=[str(model)], tool_version=__version__, fail_on=Severity.HIGH,
                  stats=stats, started_at=started.strftime("%Y-%m-%dT%H:%M:%SZ"), scanners=scanners)


def _summary(result: Verification, with_policy: bool) -> str:
    from mlwarden.render import printable

    verdict = result.verdict
    signer = verdict.signer
    who = ""
    if signer is not None:
        who = f" signed by {signer.method} {signer.key_fingerprint} ({signer.algorithm})"
        if signer.subject is not None:
            who += f", subject {printable(signer.subject)[:200]}"  # from the bundle: hostile text
    if verdict.verified:
        state = "VERIFIED"
    else:
        parts = []
        if verdict.differences:
            parts.append(f"{len(verdict.differences)} difference{'s' if len(verdict.differences) != 1 else ''}")
        if verdict.problems:
            parts.append(f"{len(verdict.problems)} problem{'s' if len(verdict.problems) != 1 else ''}")
        state = "NOT VERIFIED (" + ", ".join(parts or ["signature invalid"]) + ")"
    judged = ""
    if with_policy and result.decision is not None:
        judged += "; trust policy: " + ("allowed" if result.decision.allowed else "denied")
    if result.provenance is not None:
        judged += "; provenance: " + ("bound to the signed model" if result.provenance.ok else "INVALID")
    return f"mlwarden: {verdict.model_path}: {state}{who}{judged}"
