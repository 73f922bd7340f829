"""Verify a model against an OMS signature, and turn the verdict into findings for the usual reports.

The order is fixed and fails closed: parse the bundle strictly; decide which key may have signed it (the public
key the user gave, checked against the bundle's key hint, or the signing certificate of a chain validated to the
user's CA roots); verify the DSSE signature over the payload; only then read the statement, check that its
subject digest covers its resources, hash the model with the hashing settings recorded in the signature, and
compare. The key type given by the user decides the algorithm, never a field of the bundle (no algorithm
confusion).

``verify_model`` never raises on a hostile signature file: every problem becomes a sentence in
``SignatureVerdict.problems``, prefixed with its kind (``bundle:``, ``signature:``, ``payload:``,
``algorithm:``, ``certificate:``, ``model:``), which ``verdict_findings`` maps to a rule. It raises only for
arguments that cannot be used (no key or root given, a model or signature path that does not exist). It never
hashes a model against a manifest whose signature did not verify, and never loads a model file.
"""

from __future__ import annotations

import dataclasses
import os
import stat
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path, PurePosixPath

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm

from mlwarden.core.errors import InputError, MissingExtraError, UsageError
from mlwarden.core.findings import Finding, Location, Severity
from mlwarden.core.rules import make_finding
from mlwarden.integrity import certificates, keys, oms
from mlwarden.integrity.hashing import compare_manifests, inspect_model
from mlwarden.integrity.model import Difference, SignatureVerdict, SignerIdentity
from mlwarden.integrity.sign import signature_ignore_path

# The prefix of each problem sentence names its rule.
PROBLEM_RULES: dict[str, str] = {
    "bundle": "MW-SIG-008",
    "signature": "MW-SIG-007",
    "payload": "MW-SIG-009",
    "algorithm": "MW-SIG-010",
    "certificate": "MW-SIG-011",
    "model": "MW-SIG-012",
}
DIFFERENCE_RULES: dict[str, str] = {
    "modified": "MW-SIG-001",
    "added": "MW-SIG-002",
    "removed": "MW-SIG-003",
    "renamed": "MW-SIG-004",
    "swapped": "MW-SIG-005",
    "symlink": "MW-SIG-006",
}
SCANNER = "signature"


class _Rejected(Exception):
    """Internal: verification stops with this problem sentence (never leaves this module)."""

    def __init__(self, problem: str, signer: SignerIdentity | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.signer = signer


def verify_model(model: Path, *, signature: Path, public_key: keys.PublicKey | None = None,
                 ca_roots: Sequence[x509.Certificate] = (), now: datetime | None = None,
                 workers: int | None = None) -> SignatureVerdict:
    """Check the model at ``model`` against the OMS signature file ``signature``.

    Give ``public_key`` for signatures made with a key, ``ca_roots`` for signatures made with a certificate chain
    (validated at ``now``, default the current time). Returns a verdict; raises ``UsageError`` when neither is
    given and ``InputError`` when the model or the signature file does not exist.
    """
    if public_key is None and not ca_roots:
        raise UsageError("nothing to verify with: give the signer's public key (--key PUBLIC.pem) or the CA root "
                         "(--ca ROOT.pem)")
    if public_key is not None:
        keys.scheme_of(public_key)  # InputError for key types mlwarden does not verify
    if not os.path.lexists(model):
        raise InputError(f"model {model} does not exist: give the model folder or file the signature is for")
    data = _read_signature(signature)
    base = SignatureVerdict(signature_path=str(signature), model_path=str(model), signature_ok=False)
    try:
        return _verify(model, signature, data, base, public_key, ca_roots, now, workers)
    except _Rejected as rejected:
        return dataclasses.replace(base, signer=rejected.signer, problems=(rejected.problem,))


def _verify(model: Path, signature: Path, data: bytes, base: SignatureVerdict, public_key: keys.PublicKey | None,
            ca_roots: Sequence[x509.Certificate], now: datetime | None, workers: int | None
            ) -> SignatureVerdict:
    try:
        bundle = oms.parse_bundle(data)
    except oms.BundleFormatError as exc:
        raise _Rejected(f"bundle: {exc.reason}") from None

    verifying_key, signer, pinned = _signer(bundle.material, public_key, ca_roots, now)
    algorithm = keys.key_algorithm(verifying_key)
    scheme = keys.scheme(algorithm)
    sig = bundle.envelope.signatures[0].sig
    if not scheme.well_formed(sig):
        raise _Rejected(f"signature: the signature value is corrupted (not a well-formed {algorithm} signature)",
                        signer)
    if not keys.verify_bytes(verifying_key, sig, oms.pae(bundle.envelope.payload_type, bundle.envelope.payload)):
        if pinned:
            raise _Rejected("payload: the signature does not verify over the payload although the bundle names "
                            "this signer: the payload was edited after signing (or the signature value "
                            "altered)", signer)
        raise _Rejected("signature: the signature does not verify with the given key: it was made with another "
                        "key, or the signature or payload was altered", signer)

    # The envelope's signature verified: from here on a problem concerns what was signed, not who signed it.
    verdict = dataclasses.replace(base, signature_ok=True, signer=signer, extensions=oms.extensions_for(algorithm))
    try:
        statement = oms.parse_statement(bundle.envelope.payload)
    except oms.BundleFormatError as exc:
        return dataclasses.replace(verdict, problems=(f"bundle: signed statement: {exc.reason}",))
    if not statement.subject_consistent():
        return dataclasses.replace(verdict, problems=(
            "payload: the statement's subject digest does not match the resources it lists: the statement was "
            "edited, or written by a faulty signer",))
    signed = statement.manifest()

    settings = signed.settings
    inside = signature_ignore_path(model, signature)
    if inside is not None and inside not in settings.ignore_paths:
        # As model-signing does: a signature file kept in the model folder is never part of the model.
        settings = dataclasses.replace(settings, ignore_paths=(*settings.ignore_paths, inside))
    try:
        snapshot = inspect_model(model, settings, model_name=signed.model_name, workers=workers)
    except MissingExtraError:
        raise  # the environment lacks blake3: the user can fix it, and no verdict can be given without it
    except InputError as exc:
        return dataclasses.replace(verdict, manifest=signed, problems=(f"model: {exc}",))
    differences: tuple[Difference, ...] = compare_manifests(signed, snapshot.manifest, symlinks=snapshot.symlinks)
    return dataclasses.replace(verdict, manifest=signed, differences=differences)


def _signer(material: oms.VerificationMaterial, public_key: keys.PublicKey | None,
            ca_roots: Sequence[x509.Certificate], now: datetime | None
            ) -> tuple[keys.PublicKey, SignerIdentity, bool]:
    """The key that must have signed, who that is, and whether the bundle itself names that signer (a matching
    key hint or a validated certificate), which tells an edited payload from a wrong key."""
    if material.method == "sigstore":
        raise _Rejected("algorithm: this is a keyless Sigstore signature (Fulcio certificate, Rekor entry), which "
                        "mlwarden does not verify offline; verify it with model-signing or sigstore")
    if material.method == "key":
        if public_key is None:
            raise _Rejected("signature: the signature was made with a key, not a certificate: verify it with the "
                            "signer's public key (--key PUBLIC.pem)")
        algorithm = keys.key_algorithm(public_key)
        identity = SignerIdentity(method="key", algorithm=algorithm, key_fingerprint=keys.key_fingerprint(public_key))
        expected = oms.key_hint(public_key)
        if material.key_hint is not None and material.key_hint != expected:
            raise _Rejected(f"signature: the signature names another key (hint {material.key_hint[:80]!r}) than "
                            f"the one given ({expected}): verify with the signer's public key", identity)
        return public_key, identity, material.key_hint is not None

    if not ca_roots:
        raise _Rejected("certificate: the signature was made with a certificate chain: verify it with the CA root "
                        "(--ca ROOT.pem)")
    try:
        chain = certificates.parse_chain(material.certificates)
    except certificates.CertificateChainError as exc:
        raise _Rejected(f"bundle: {exc.reason}") from None
    try:
        leaf_key = chain[0].public_key()
        algorithm = keys.key_algorithm(leaf_key)  # type: ignore[arg-type]
    except (InputError, ValueError, UnsupportedAlgorithm):
        raise _Rejected(f"algorithm: the signing certificate holds {_leaf_key_kind(chain[0])}, which mlwarden "
                        f"does not verify (supported: {', '.join(keys.ALGORITHMS)})") from None
    verifying_key: keys.PublicKey = leaf_key  # type: ignore[assignment]
    leaf = chain[0]
    identity = SignerIdentity(
        method="certificate", algorithm=algorithm, key_fingerprint=keys.key_fingerprint(verifying_key),
        subject=_rfc4514(leaf.subject), issuer=_rfc4514(leaf.issuer),
        not_before=certificates.rfc3339(leaf.not_valid_before_utc),
        not_after=certificates.rfc3339(leaf.not_valid_after_utc))
    if public_key is not None and keys.key_fingerprint(public_key) != identity.key_fingerprint:
        raise _Rejected("signature: the signing certificate is for another key than the one given (--key)",
                        identity)
    try:
        certificates.verify_chain(chain, roots=ca_roots, now=now)
    except certificates.CertificateChainError as exc:
        raise _Rejected(f"certificate: {exc.reason}", identity) from None
    return verifying_key, identity, True


def _read_signature(signature: Path) -> bytes:
    # Open first, then look at what was opened: a name swapped for a FIFO between a check and the open cannot
    # block the verifier (O_NONBLOCK), and a folder or device is refused by the fstat of the open file.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(signature, flags)
    except FileNotFoundError:
        raise InputError(f"signature file {signature} does not exist: give the .sig file written by "
                         "'mlwarden sign' or model-signing") from None
    except IsADirectoryError:
        raise InputError(f"signature {signature} is not a regular file: give the .sig file") from None
    except OSError as exc:
        raise InputError(f"cannot read signature file {signature}: {exc.strerror}; check its permissions"
                         ) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise InputError(f"signature {signature} is not a regular file: give the .sig file")
    with os.fdopen(fd, "rb") as handle:
        try:
            # One byte past the limit is enough to know it is too large; parse_bundle reports that.
            return handle.read(oms.MAX_BUNDLE_BYTES + 1)
        except OSError as exc:
            raise InputError(f"cannot read signature file {signature}: {exc.strerror}; check its permissions"
                             ) from None


def _rfc4514(name: x509.Name) -> str:
    try:
        return name.rfc4514_string()
    except ValueError:
        return "(unreadable name)"


def _leaf_key_kind(leaf: x509.Certificate) -> str:
    try:
        key: object = leaf.public_key()
    except (ValueError, UnsupportedAlgorithm):
        return "a key of an unknown type"
    curve = getattr(key, "curve", None)
    if curve is not None:
        return f"an ECDSA {curve.name} key"
    return f"a {type(key).__name__.replace('PublicKey', '').lstrip('_')} key"


# --- findings -------------------------------------------------------------------------------------------------

def verdict_findings(verdict: SignatureVerdict) -> list[Finding]:
    """One finding per difference and per problem (rules MW-SIG-001..012), plus an informational MW-SIG-010 per
    non-OMS extension used. A verified model without extensions gives no finding."""
    findings: list[Finding] = []
    data_base = {"signature": verdict.signature_path, "model": verdict.model_path}
    if verdict.signer is not None:
        data_base["signer"] = verdict.signer.key_fingerprint
    for difference in verdict.differences:
        where = Location(path=_file_location(verdict, difference.path))
        findings.append(make_finding(
            DIFFERENCE_RULES[difference.kind], where, _difference_message(difference), scanner=SCANNER,
            evidence=difference.detail or difference.path,
            data={**data_base, "kind": difference.kind, "file": difference.path}))
    for problem in verdict.problems:
        kind, _, text = problem.partition(": ")
        rule_id = PROBLEM_RULES.get(kind)
        if rule_id is None:  # a problem without a known prefix: the signature cannot be trusted
            rule_id, text = "MW-SIG-007", problem
        findings.append(make_finding(rule_id, Location(path=verdict.signature_path), text, scanner=SCANNER,
                                     evidence=_signer_text(verdict), data={**data_base, "problem": kind}))
    if not verdict.signature_ok and not verdict.problems:
        findings.append(make_finding("MW-SIG-007", Location(path=verdict.signature_path),
                                     "the signature did not verify", scanner=SCANNER, data=data_base))
    for extension in verdict.extensions:
        findings.append(make_finding(
            "MW-SIG-010", Location(path=verdict.signature_path),
            f"signed with {extension}, an mlwarden extension outside OMS: other OMS verifiers (model-signing) "
            "cannot verify this signature", severity=Severity.INFO, scanner=SCANNER, evidence=extension,
            data={**data_base, "extension": extension}))
    return findings


_DIFFERENCE_TEXT: dict[str, str] = {
    "modified": "'{path}' was modified after signing: its digest differs from the signed one",
    "added": "'{path}' is not covered by the signature (added after signing)",
    "removed": "'{path}' is signed but missing",
    "renamed": "'{path}' holds signed content under a new name ({detail})",
    "swapped": "'{path}' now holds another signed file's content ({detail})",
    "symlink": "'{path}' is a symbolic link, which the signature does not allow",
}


def _difference_message(difference: Difference) -> str:
    return _DIFFERENCE_TEXT[difference.kind].format(path=difference.path, detail=difference.detail)


def _file_location(verdict: SignatureVerdict, name: str) -> str:
    """Where a model file is, as the user named the model: ``MODEL/name`` (POSIX), or the model itself for a
    single-file model (whose only resource is named ``.``)."""
    model = verdict.model_path.replace(os.sep, "/")
    if name == ".":
        return model
    return str(PurePosixPath(model) / name)


def _signer_text(verdict: SignatureVerdict) -> str:
    return verdict.signer.describe() if verdict.signer is not None else "signer unknown"
