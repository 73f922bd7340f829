"""The signing workflow behind ``mlwarden.sign`` and ``mlwarden.verify`` (and ``mlwarden sign``/``verify``):
keys and certificates from paths, hashing settings, provenance, the trust policy and the signing registry,
in one place.

Imports nothing heavy at import time; each function imports its implementation when called. Nothing here
prints, and nothing writes the signing registry unless a ``registry`` is passed or ``record()`` is called.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography import x509

    from mlwarden.core.findings import Finding
    from mlwarden.integrity.keys import PrivateKey, PublicKey
    from mlwarden.integrity.model import (
        Difference,
        HashAlgorithm,
        Manifest,
        SignatureVerdict,
        SignerIdentity,
    )
    from mlwarden.integrity.policy import PolicyDecision, TrustPolicy
    from mlwarden.integrity.provenance import AttachedProvenance, Provenance, ProvenanceVerdict
    from mlwarden.integrity.registry import RegistryEntry, SigningRegistry

__all__ = ["SignedModel", "Verification", "sign", "verify"]

_PathLike = str | os.PathLike[str]


# --- signing -------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class SignedModel:
    """What ``sign`` wrote: the OMS signature, the manifest it signs (root digest included), who signed, and the
    provenance file when one was attached."""

    signature: Path
    manifest: Manifest
    signer: SignerIdentity
    model_path: Path
    provenance: AttachedProvenance | None = None

    def record(self, registry: SigningRegistry | _PathLike | None = None) -> RegistryEntry:
        """Append this signing to the signing registry (default: the one in ``MLWARDEN_HOME``) and return the
        entry. Raises ``InputError`` when the registry cannot be written."""
        return _registry(registry).record_signing(
            manifest=self.manifest, model_path=self.model_path, signer=self.signer, signature_path=self.signature,
            provenance=dict(self.provenance.summary) if self.provenance is not None else None)


def sign(
    model: _PathLike,
    *,
    key: PrivateKey | _PathLike,
    output: _PathLike | None = None,
    hash: HashAlgorithm = "sha256",  # the CLI's --hash; keyword-only, so the builtin is shadowed only inside
    shard_size: int | None = None,
    passphrase: str | bytes | None = None,
    certificate_chain: Sequence[x509.Certificate | _PathLike] = (),
    ignore_paths: Sequence[str] = (),
    ignore_git_paths: bool = True,
    provenance: Provenance | _PathLike | None = None,
    registry: SigningRegistry | _PathLike | None = None,
    workers: int | None = None,
) -> SignedModel:
    """Sign a model folder or file with an OMS signature (what ``mlwarden sign`` does) and return what was written.

    ``key`` is a private key object or a PEM file (``passphrase`` opens an encrypted one). The signature goes to
    ``output`` (default ``MODEL/model.sig``, or ``model.sig`` beside a single file). ``hash`` is sha256, blake2b or
    blake3; ``shard_size`` (bytes) hashes files in shards. ``certificate_chain`` (signing certificate first, then
    intermediates; certificate objects or PEM files) selects the certificate method. ``ignore_paths`` are POSIX
    paths relative to the model left out of the signature, beside ``.git`` and friends unless
    ``ignore_git_paths=False``. ``provenance`` (a ``Provenance`` or a spec file, see ``docs/signing.md``) is signed
    into ``model.provenance.sig`` beside the signature. ``registry`` (a ``SigningRegistry`` or its file) records
    the signing; without it nothing is recorded. Errors are ``MlwardenError`` subclasses.
    """
    from typing import get_args

    from mlwarden.core.errors import UsageError
    from mlwarden.integrity import oms
    from mlwarden.integrity.model import HashAlgorithm, HashSettings
    from mlwarden.integrity.provenance import (
        Provenance,
        attach_provenance,
        load_provenance_spec,
        provenance_path_for,
        settings_with_provenance,
    )
    from mlwarden.integrity.sign import GIT_PATHS, default_signature_path, sign_model

    if hash not in get_args(HashAlgorithm):
        raise UsageError(f"unknown hash '{hash}': use one of {', '.join(get_args(HashAlgorithm))}")
    if shard_size is not None and (isinstance(shard_size, bool) or not isinstance(shard_size, int)
                                   or shard_size < 1):
        raise UsageError("shard_size must be a positive number of bytes, or None to hash whole files")
    root = Path(model)
    private = _private_key(key, passphrase)
    chain = _certificates(certificate_chain)
    spec = provenance if provenance is None or isinstance(provenance, Provenance) \
        else load_provenance_spec(Path(provenance))  # before hashing: a broken spec fails fast
    target = Path(output) if output is not None else default_signature_path(root)
    settings = HashSettings(method="shards" if shard_size is not None else "files", hash_type=hash,
                            shard_size=shard_size,
                            ignore_paths=(*(GIT_PATHS if ignore_git_paths else ()), *ignore_paths))
    if spec is not None or provenance_path_for(target).is_file():
        # The provenance file is never a model file: an old one left in the folder must not be signed either
        # (it stays, and 'verify' checks it against the new signature).
        settings = settings_with_provenance(root, target, settings)
    written = sign_model(root, key=private, output=target, settings=settings, certificate_chain=chain,
                         workers=workers)
    attached = attach_provenance(written, spec, key=private, certificate_chain=chain) if spec is not None else None
    # The manifest as signed, read back from the signature just written (no second hashing of the model).
    manifest = oms.parse_statement(oms.parse_bundle(written.read_bytes()).envelope.payload).manifest()
    result = SignedModel(signature=written, manifest=manifest, signer=_signer_identity(private, chain),
                         model_path=root, provenance=attached)
    if registry is not None:
        result.record(registry)
    return result


# --- verifying -----------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Verification:
    """The answer of ``verify``: ``allowed`` is the gate (the signature verified and, when given, the trust policy
    allowed the model, and any provenance file is bound to it). ``verdict`` is the signature check alone;
    ``decision`` the trust policy's (None without a policy); ``provenance`` the check of ``model.provenance.sig``
    (None when there is none). ``findings`` explain every problem, for the usual reports."""

    verdict: SignatureVerdict
    allowed: bool
    findings: tuple[Finding, ...] = ()
    decision: PolicyDecision | None = None
    provenance: ProvenanceVerdict | None = None
    # Every signature checked (k of n signers); ``verdict`` is the first that verified, else the first.
    verdicts: tuple[SignatureVerdict, ...] = ()

    @property
    def verified(self) -> bool:
        return self.verdict.verified

    @property
    def signer(self) -> SignerIdentity | None:
        return self.verdict.signer

    @property
    def differences(self) -> tuple[Difference, ...]:
        return self.verdict.differences

    @property
    def problems(self) -> tuple[str, ...]:
        problems = self.verdict.problems
        if self.provenance is not None:
            problems = (*problems, *(f"provenance: {p}" for p in self.provenance.problems))
        return problems

    def record(self, registry: SigningRegistry | _PathLike | None = None) -> RegistryEntry:
        """Append this verification to the signing registry (default: the one in ``MLWARDEN_HOME``): ``allowed``
        or ``denied`` when a trust policy decided, else ``verified`` or ``failed``."""
        verdict = self.verdict
        if self.decision is None and verdict.verified and not self.allowed:
            # Verified, yet refused for its provenance: the log must say failed, not verified.
            verdict = dataclasses.replace(verdict, problems=self.problems)
        return _registry(registry).record_verification(
            verdict, allowed=self.allowed if self.decision is not None else None)


def verify(
    model: _PathLike,
    *,
    signature: _PathLike | Sequence[_PathLike] | None = None,
    public_key: PublicKey | _PathLike | Sequence[PublicKey | _PathLike] | None = None,
    ca_roots: Sequence[x509.Certificate | _PathLike] = (),
    policy: TrustPolicy | _PathLike | None = None,
    registry: SigningRegistry | _PathLike | None = None,
    workers: int | None = None,
) -> Verification:
    """Verify a model against its OMS signature (what ``mlwarden verify`` does) and return a ``Verification``.

    ``signature`` defaults to ``model.sig`` where ``sign`` puts it. ``public_key`` (a key object or a PEM file)
    verifies key signatures, ``ca_roots`` (certificates or PEM files) certificate chains. ``policy`` (a
    ``TrustPolicy`` or a policy file with a ``[trust]`` table) then decides whether the signer, algorithms, age and
    unsigned files are acceptable; ``registry`` is where the signing times for ``max_signature_age_days`` are read
    (this function never writes it: call ``.record()`` on the result). A ``model.provenance.sig`` beside the
    signature must verify with the signer's key and name the signed root digest. Tampering is in the result,
    never raised; ``MlwardenError`` only for arguments that cannot be used (no key, a missing file).
    """
    from mlwarden.core.findings import Severity
    from mlwarden.integrity import keys
    from mlwarden.integrity.policy import TrustPolicy, evaluate, load_trust_policy
    from mlwarden.integrity.provenance import provenance_findings, provenance_path_for, verify_provenance
    from mlwarden.integrity.sign import default_signature_path
    from mlwarden.integrity.verify import verdict_findings

    root = Path(model)
    paths = [Path(p) for p in (signature if isinstance(signature, Sequence) and not isinstance(signature, str)
                               else [signature] if signature is not None else [default_signature_path(root)])]
    candidates = (public_key if isinstance(public_key, Sequence) and not isinstance(public_key, str)
                  else [public_key] if public_key is not None else [])
    loaded = [keys.load_public_key(Path(k)) if isinstance(k, str | os.PathLike) else k for k in candidates]
    roots = _certificates(ca_roots)
    # Before hashing: a broken policy file is a usage error and must fail fast.
    trust = policy if policy is None or isinstance(policy, TrustPolicy) else load_trust_policy(Path(policy))
    times = _registry(registry) if registry is not None else None

    # Several signatures (k of n signers): each is checked with the key it names, or, failing that, every key.
    verdicts = [_verify_one(root, path, loaded, roots, workers) for path in paths]
    verdict = next((v for v in verdicts if v.verified), verdicts[0])
    key = _key_for(verdict, loaded)
    signature_path = Path(verdict.signature_path)
    findings = [finding for v in verdicts for finding in verdict_findings(v)]
    allowed = all(v.verified for v in verdicts)
    decision = None
    if trust is not None:
        decision = evaluate(trust, verdicts, model=root, signing_times=times)
        allowed = decision.allowed
        if allowed:  # what the policy accepted (an extension, an allowed unsigned file) stays visible, below the gate
            findings = [f.with_severity(Severity.LOW) if f.severity.rank > Severity.LOW.rank else f
                        for f in findings]
        findings.extend(decision.findings)
    checked = None
    provenance_file = provenance_path_for(signature_path)
    # A signature that did not verify binds nothing: its findings already refuse the model.
    if provenance_file.is_file() and verdict.signature_ok and not verdict.problems:
        checked = verify_provenance(provenance_file, verdict=verdict, public_key=key)
        findings.extend(provenance_findings(checked))
        allowed = allowed and checked.ok
    return Verification(verdict=verdict, allowed=allowed, findings=tuple(findings), decision=decision,
                        provenance=checked, verdicts=tuple(verdicts))


def _verify_one(root: Path, signature: Path, public_keys: Sequence[PublicKey], roots: Sequence[x509.Certificate],
                workers: int | None) -> SignatureVerdict:
    """One signature file: with the key it names when several keys are given (a wrong key otherwise)."""
    from mlwarden.integrity.verify import verify_model

    if len(public_keys) <= 1:
        return verify_model(root, signature=signature, public_key=public_keys[0] if public_keys else None,
                            ca_roots=roots, workers=workers)
    first = None
    for key in public_keys:
        verdict = verify_model(root, signature=signature, public_key=key, ca_roots=roots, workers=workers)
        if verdict.signature_ok:
            return verdict
        first = first or verdict
    assert first is not None
    return first


def _key_for(verdict: SignatureVerdict, public_keys: Sequence[PublicKey]) -> PublicKey | None:
    from mlwarden.integrity import keys

    if verdict.signer is not None:
        for key in public_keys:
            if keys.key_fingerprint(key) == verdict.signer.key_fingerprint:
                return key
    return public_keys[0] if public_keys else None


# --- argument conversion (paths to keys, certificates and registries) -------------------------------------

def _private_key(key: PrivateKey | _PathLike, passphrase: str | bytes | None) -> PrivateKey:
    from mlwarden.integrity import keys

    if not isinstance(key, str | os.PathLike):
        keys.scheme_of(key)  # InputError for key types mlwarden does not sign with
        return key
    secret = passphrase.encode("utf-8") if isinstance(passphrase, str) else passphrase
    return keys.load_private_key(Path(key), passphrase=secret)


def _certificates(items: Sequence[x509.Certificate | _PathLike]) -> list[x509.Certificate]:
    from mlwarden.integrity.certificates import load_certificates

    found: list[x509.Certificate] = []
    for item in items:
        if isinstance(item, str | os.PathLike):
            found.extend(load_certificates(Path(item)))
        else:
            found.append(item)
    return found


def _registry(registry: SigningRegistry | _PathLike | None) -> SigningRegistry:
    from mlwarden.integrity.registry import SigningRegistry

    if isinstance(registry, SigningRegistry):
        return registry
    return SigningRegistry(Path(registry) if registry is not None else None)


def _signer_identity(key: PrivateKey, chain: Sequence[x509.Certificate]) -> SignerIdentity:
    """Who signs, named as ``verify`` will name them (so that the registry groups signings and checks)."""
    from mlwarden.integrity import certificates, keys
    from mlwarden.integrity.model import SignerIdentity

    algorithm, fingerprint = keys.key_algorithm(key), keys.key_fingerprint(key)
    if not chain:
        return SignerIdentity(method="key", algorithm=algorithm, key_fingerprint=fingerprint)
    leaf = chain[0]
    return SignerIdentity(method="certificate", algorithm=algorithm, key_fingerprint=fingerprint,
                          subject=leaf.subject.rfc4514_string(), issuer=leaf.issuer.rfc4514_string(),
                          not_before=certificates.rfc3339(leaf.not_valid_before_utc),
                          not_after=certificates.rfc3339(leaf.not_valid_after_utc))
