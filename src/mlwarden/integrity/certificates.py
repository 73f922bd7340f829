"""X.509 for the certificate signing method: load certificates, and validate a signing chain to trusted roots.

The OMS certificate method carries the signing certificate and its intermediates in the bundle
(``verificationMaterial.x509CertificateChain``, signing certificate first); the verifier brings its own roots.
Validation uses ``cryptography.x509.verification`` (RFC 5280 path building with the Web PKI profile for CA
certificates): every signature on the path, validity periods at the verification time, basic constraints (each
issuer must be a CA, path lengths). The signing certificate must be allowed to sign: key usage with
digitalSignature, or, without a key usage extension, an extended key usage with codeSigning (what model-signing
accepts). Unlike model-signing 1.1.1, which checks the chain at the signing certificate's notBefore, the default
time is now: a bundle records no trusted signing time, so an expired certificate is refused (deny by default).

This module never accepts a certificate it could not parse, never trusts a certificate from the bundle as a root,
and never fetches anything (no AIA, no CRL or OCSP: revocation is out of scope offline).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import ExtensionPolicy, PolicyBuilder, Store, VerificationError

from mlwarden.core.errors import InputError
from mlwarden.integrity import keys

# Roots, intermediates, signing certificate: real chains have 2 to 4 links.
MAX_CHAIN_DEPTH = 8
MAX_CERTIFICATE_FILE_BYTES = 4 * 1024 * 1024  # a CA bundle such as certifi's is about 300 KB


class CertificateChainError(InputError):
    """The certificate chain cannot be trusted; ``reason`` says why in one sentence."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"certificate chain not valid: {reason}")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class VerifiedChain:
    """A chain that validated: ``path`` runs from the signing certificate to the trusted root."""

    leaf: x509.Certificate
    path: tuple[x509.Certificate, ...]
    verified_at: datetime

    @property
    def subject(self) -> str:
        return self.leaf.subject.rfc4514_string()

    @property
    def issuer(self) -> str:
        return self.leaf.issuer.rfc4514_string()


def load_certificates(path: Path) -> list[x509.Certificate]:
    """Every certificate in a PEM file (one or more), or the one in a DER file; ``InputError`` otherwise."""
    try:
        if not path.is_file():
            raise InputError(f"certificate file {path} does not exist or is not a file: check the path")
        if path.stat().st_size > MAX_CERTIFICATE_FILE_BYTES:
            raise InputError(f"{path} is too large to be a certificate file: check the path")
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read certificate file {path}: {exc.strerror or exc}; check its permissions"
                         ) from None
    try:
        if b"-----BEGIN" in data:
            certificates = x509.load_pem_x509_certificates(data)
        else:
            certificates = [x509.load_der_x509_certificate(data)]
        for certificate in certificates:
            _parse_fully(certificate)
    except ValueError:
        raise InputError(f"{path} holds no readable X.509 certificate: give a PEM (or DER) certificate file"
                         ) from None
    return certificates


def parse_chain(ders: Sequence[bytes]) -> tuple[x509.Certificate, ...]:
    """Parse the bundle's DER certificates; ``CertificateChainError`` for one that is not a certificate."""
    chain: list[x509.Certificate] = []
    for index, der in enumerate(ders):
        try:
            certificate = x509.load_der_x509_certificate(der)
            _parse_fully(certificate)
        except ValueError:
            raise CertificateChainError(f"certificate {index} in the signature is not a well-formed DER X.509 "
                                        "certificate") from None
        chain.append(certificate)
    if not chain:
        raise CertificateChainError("the signature carries no certificate")
    return tuple(chain)


def verify_chain(chain: Sequence[x509.Certificate], *, roots: Sequence[x509.Certificate],
                 now: datetime | None = None) -> VerifiedChain:
    """Validate ``chain`` (signing certificate first, then intermediates in any order) to one of ``roots``.

    ``now`` (default: the current time, UTC) is when every certificate on the path must be valid. Raises
    ``CertificateChainError`` naming the first problem; certificates in ``chain`` are never trusted as roots.
    """
    if not roots:
        raise CertificateChainError("no trusted root was given (--ca ROOT.pem)")
    if not chain:
        raise CertificateChainError("the signature carries no certificate")
    when = _utc(now)
    leaf, intermediates = chain[0], list(chain[1:])
    _check_validity(leaf, when, "signing certificate")
    for certificate in intermediates:
        _check_validity(certificate, when, "intermediate certificate")
    check_may_sign(leaf)
    verifier = (PolicyBuilder()
                .store(Store(list(roots)))
                .time(when)
                .max_chain_depth(MAX_CHAIN_DEPTH)
                # CA certificates get the Web PKI checks (basic constraints CA, key usage keyCertSign when present);
                # the signing certificate's usage is checked above, for signing instead of TLS.
                .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(),
                                    ee_policy=ExtensionPolicy.permit_all())
                .build_client_verifier())
    try:
        verified = verifier.verify(leaf, intermediates)
    except (VerificationError, ValueError) as exc:  # ValueError: an extension too malformed to even read
        raise CertificateChainError(_explain(str(exc))) from None
    return VerifiedChain(leaf=leaf, path=tuple(verified.chain), verified_at=when)


def check_may_sign(leaf: x509.Certificate) -> None:
    """The signing certificate must allow signatures: key usage digitalSignature, or (no key usage at all)
    extended key usage codeSigning."""
    name = _name(leaf)
    try:
        usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    except ValueError:
        raise CertificateChainError(f"signing certificate {name} has malformed extensions") from None
    if usage is not None:
        if not usage.digital_signature:
            raise CertificateChainError(f"signing certificate {name} may not sign: its key usage lacks "
                                        "digitalSignature")
        return
    try:
        purposes = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        raise CertificateChainError(f"signing certificate {name} has no key usage: it needs digitalSignature "
                                    "(or extended key usage codeSigning)") from None
    if ExtendedKeyUsageOID.CODE_SIGNING not in purposes:
        raise CertificateChainError(f"signing certificate {name} has no key usage and its extended key usage "
                                    "lacks codeSigning")


def check_signing_certificate(leaf: x509.Certificate, *, key: keys.PrivateKey, now: datetime | None = None
                              ) -> None:
    """Before signing: the certificate must belong to ``key``, be valid now, and allow signatures. Raises
    ``InputError`` with the fix (a signature that no verifier would accept is not written)."""
    if keys.key_fingerprint(leaf.public_key()) != keys.key_fingerprint(key):  # type: ignore[arg-type]
        raise InputError(f"certificate {_name(leaf)} is not for this private key: give the certificate issued "
                         "for the key given with --key")
    try:
        _check_validity(leaf, _utc(now), "signing certificate")
        check_may_sign(leaf)
    except CertificateChainError as exc:
        raise InputError(f"{exc.reason}; use a valid signing certificate") from None


def certificate_der(certificate: x509.Certificate) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding

    return certificate.public_bytes(Encoding.DER)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_fully(certificate: x509.Certificate) -> None:
    """cryptography parses names and extensions lazily; read them now, so that a malformed field is a
    ValueError here instead of a surprise wherever the field is first used."""
    certificate.subject.rfc4514_string()
    certificate.issuer.rfc4514_string()
    _ = certificate.not_valid_before_utc, certificate.not_valid_after_utc
    for _extension in certificate.extensions:
        pass


def _check_validity(certificate: x509.Certificate, when: datetime, role: str) -> None:
    if when < certificate.not_valid_before_utc:
        raise CertificateChainError(f"{role} {_name(certificate)} is not valid before "
                                    f"{rfc3339(certificate.not_valid_before_utc)}")
    if when > certificate.not_valid_after_utc:
        raise CertificateChainError(f"{role} {_name(certificate)} expired on "
                                    f"{rfc3339(certificate.not_valid_after_utc)}")


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now.astimezone(UTC) if now.tzinfo is not None else now.replace(tzinfo=UTC)


def _name(certificate: x509.Certificate) -> str:
    try:
        text = certificate.subject.rfc4514_string()
    except ValueError:
        text = "(unreadable subject)"
    return repr(text[:120])


def _explain(message: str) -> str:
    """cryptography's path-validation message, made to say what a user can act on."""
    text = message.removeprefix("validation failed: ")
    if "candidates exhausted" in text:
        return "the chain does not lead to any of the given CA roots (wrong --ca, or a missing intermediate)"
    if "not valid at validation time" in text:
        return "a certificate on the path is expired or not yet valid"
    return text.split(" (encountered processing")[0][:200]
