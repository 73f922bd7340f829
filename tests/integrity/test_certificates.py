"""Certificate chains for the OMS certificate method: built here with cryptography (root, intermediate, signing
certificate), then validated, expired, re-rooted and stripped of their key usage."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mlwarden.core.errors import InputError
from mlwarden.integrity import certificates, keys
from mlwarden.integrity.certificates import CertificateChainError

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
CA_USAGE = x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                         encipher_only=False, decipher_only=False)
SIGNING_USAGE = x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                              data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                              encipher_only=False, decipher_only=False)
ENCIPHER_ONLY_USAGE = x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=True,
                                    data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                    crl_sign=False, encipher_only=False, decipher_only=False)
_DEFAULT = object()


def make_certificate(subject: str, key, issuer: str, issuer_key, *, ca: bool, usage=_DEFAULT,
                     purposes=(ExtendedKeyUsageOID.CODE_SIGNING,), not_before=None, not_after=None,
                     around: dt.datetime = NOW) -> x509.Certificate:
    """One certificate; ``usage=None`` leaves out the key usage extension, ``purposes=()`` the EKU."""
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(not_before or around - dt.timedelta(days=30))
               .not_valid_after(not_after or around + dt.timedelta(days=365))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                              critical=False))
    if usage is _DEFAULT:
        usage = CA_USAGE if ca else SIGNING_USAGE
    if usage is not None:
        builder = builder.add_extension(usage, critical=True)
    if purposes and not ca:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(purposes)), critical=False)
    algorithm = None if isinstance(issuer_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(issuer_key, algorithm)


@dataclass
class Pki:
    root: x509.Certificate
    root_key: ec.EllipticCurvePrivateKey
    intermediate: x509.Certificate
    intermediate_key: ec.EllipticCurvePrivateKey
    leaf: x509.Certificate
    leaf_key: keys.PrivateKey

    @property
    def chain(self) -> list[x509.Certificate]:
        return [self.leaf, self.intermediate]

    def leaf_with(self, **options) -> x509.Certificate:
        return make_certificate("model signer", self.leaf_key, "ML intermediate CA", self.intermediate_key,
                                ca=False, **options)


def make_pki(leaf_algorithm: str = "ecdsa-p256-sha256", *, around: dt.datetime = NOW, **leaf_options) -> Pki:
    """Root (P-384), intermediate (P-256) and signing certificate, valid from 30 days before ``around``."""
    root_key = ec.generate_private_key(ec.SECP384R1())
    intermediate_key = ec.generate_private_key(ec.SECP256R1())
    leaf_key = keys.generate_key(leaf_algorithm)  # type: ignore[arg-type]
    root = make_certificate("ML root CA", root_key, "ML root CA", root_key, ca=True, around=around)
    intermediate = make_certificate("ML intermediate CA", intermediate_key, "ML root CA", root_key, ca=True,
                                    around=around)
    leaf = make_certificate("model signer", leaf_key, "ML intermediate CA", intermediate_key, ca=False,
                            around=around, **leaf_options)
    return Pki(root, root_key, intermediate, intermediate_key, leaf, leaf_key)


def pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki()


# --- positive ---------------------------------------------------------------------------------------------------

def test_valid_chain_validates_to_the_root(pki):
    verified = certificates.verify_chain(pki.chain, roots=[pki.root], now=NOW)
    assert verified.leaf == pki.leaf
    assert [c.subject.rfc4514_string() for c in verified.path] == ["CN=model signer", "CN=ML intermediate CA",
                                                                    "CN=ML root CA"]
    assert verified.subject == "CN=model signer" and verified.issuer == "CN=ML intermediate CA"


def test_chain_that_also_carries_the_root_validates(pki):
    assert certificates.verify_chain([pki.leaf, pki.intermediate, pki.root], roots=[pki.root], now=NOW)


def test_intermediates_in_any_order_and_several_roots(pki):
    other_root_key = ec.generate_private_key(ec.SECP256R1())
    other_root = make_certificate("other root", other_root_key, "other root", other_root_key, ca=True)
    assert certificates.verify_chain(pki.chain, roots=[other_root, pki.root], now=NOW)


@pytest.mark.parametrize("algorithm", ["ecdsa-p384-sha384", "ed25519", "ml-dsa-65"])
def test_signing_certificate_may_hold_any_supported_key(algorithm):
    pki = make_pki(algorithm)
    assert certificates.verify_chain(pki.chain, roots=[pki.root], now=NOW).leaf == pki.leaf


def test_no_key_usage_but_code_signing_purpose_is_accepted(pki):
    leaf = pki.leaf_with(usage=None)
    assert certificates.verify_chain([leaf, pki.intermediate], roots=[pki.root], now=NOW)


def test_validation_time_decides_expiry(pki):
    leaf = pki.leaf_with(not_before=NOW - dt.timedelta(days=10), not_after=NOW - dt.timedelta(days=1))
    with pytest.raises(CertificateChainError, match="expired on"):
        certificates.verify_chain([leaf, pki.intermediate], roots=[pki.root], now=NOW)
    # At a time inside its validity (a signing time known from elsewhere) it validates.
    assert certificates.verify_chain([leaf, pki.intermediate], roots=[pki.root], now=NOW - dt.timedelta(days=5))


def test_naive_time_is_taken_as_utc(pki):
    assert certificates.verify_chain(pki.chain, roots=[pki.root], now=NOW.replace(tzinfo=None))


# --- negative ---------------------------------------------------------------------------------------------------

def test_expired_signing_certificate(pki):
    leaf = pki.leaf_with(not_before=NOW - dt.timedelta(days=400), not_after=NOW - dt.timedelta(days=35))
    with pytest.raises(CertificateChainError, match="signing certificate 'CN=model signer' expired on"):
        certificates.verify_chain([leaf, pki.intermediate], roots=[pki.root], now=NOW)


def test_not_yet_valid_signing_certificate(pki):
    leaf = pki.leaf_with(not_before=NOW + dt.timedelta(days=1), not_after=NOW + dt.timedelta(days=30))
    with pytest.raises(CertificateChainError, match="not valid before"):
        certificates.verify_chain([leaf, pki.intermediate], roots=[pki.root], now=NOW)


def test_expired_intermediate(pki):
    intermediate = make_certificate("ML intermediate CA", pki.intermediate_key, "ML root CA", pki.root_key,
                                    ca=True, not_before=NOW - dt.timedelta(days=90),
                                    not_after=NOW - dt.timedelta(days=1))
    with pytest.raises(CertificateChainError, match="intermediate certificate .* expired"):
        certificates.verify_chain([pki.leaf, intermediate], roots=[pki.root], now=NOW)


def test_wrong_root(pki):
    other = make_pki()
    with pytest.raises(CertificateChainError, match="does not lead to any of the given CA roots"):
        certificates.verify_chain(pki.chain, roots=[other.root], now=NOW)


def test_missing_intermediate(pki):
    with pytest.raises(CertificateChainError, match="does not lead"):
        certificates.verify_chain([pki.leaf], roots=[pki.root], now=NOW)


def test_root_carried_in_the_bundle_is_never_trusted(pki):
    # An attacker's own root, named like the real one, shipped in the chain: only the given roots count.
    fake_root_key = ec.generate_private_key(ec.SECP384R1())
    fake_root = make_certificate("ML root CA", fake_root_key, "ML root CA", fake_root_key, ca=True)
    fake_intermediate = make_certificate("ML intermediate CA", pki.intermediate_key, "ML root CA", fake_root_key,
                                         ca=True)
    with pytest.raises(CertificateChainError, match="does not lead"):
        certificates.verify_chain([pki.leaf, fake_intermediate, fake_root], roots=[pki.root], now=NOW)


def test_signing_certificate_without_digital_signature(pki):
    leaf = pki.leaf_with(usage=ENCIPHER_ONLY_USAGE)
    with pytest.raises(CertificateChainError, match="lacks digitalSignature"):
        certificates.verify_chain([leaf, pki.intermediate], roots=[pki.root], now=NOW)


def test_signing_certificate_without_any_usage(pki):
    leaf = pki.leaf_with(usage=None, purposes=())
    with pytest.raises(CertificateChainError, match="no key usage"):
        certificates.verify_chain([leaf, pki.intermediate], roots=[pki.root], now=NOW)


def test_signing_certificate_with_only_a_tls_purpose_and_no_key_usage(pki):
    leaf = pki.leaf_with(usage=None, purposes=(ExtendedKeyUsageOID.SERVER_AUTH,))
    with pytest.raises(CertificateChainError, match="lacks codeSigning"):
        certificates.verify_chain([leaf, pki.intermediate], roots=[pki.root], now=NOW)


def test_intermediate_that_is_not_a_ca(pki):
    not_ca = make_certificate("ML intermediate CA", pki.intermediate_key, "ML root CA", pki.root_key, ca=False,
                              usage=CA_USAGE, purposes=())
    with pytest.raises(CertificateChainError):
        certificates.verify_chain([pki.leaf, not_ca], roots=[pki.root], now=NOW)


def test_forged_signature_on_the_signing_certificate(pki):
    impostor_key = ec.generate_private_key(ec.SECP256R1())  # claims the intermediate's name, not its key
    forged = make_certificate("model signer", pki.leaf_key, "ML intermediate CA", impostor_key, ca=False)
    with pytest.raises(CertificateChainError):
        certificates.verify_chain([forged, pki.intermediate], roots=[pki.root], now=NOW)


def test_no_roots_and_no_chain(pki):
    with pytest.raises(CertificateChainError, match="no trusted root"):
        certificates.verify_chain(pki.chain, roots=[], now=NOW)
    with pytest.raises(CertificateChainError, match="no certificate"):
        certificates.verify_chain([], roots=[pki.root], now=NOW)


# --- loading and signing-time checks ----------------------------------------------------------------------------

def test_load_certificates_pem_bundle_and_der(tmp_path, pki):
    (tmp_path / "chain.pem").write_bytes(pem(pki.leaf, pki.intermediate))
    assert certificates.load_certificates(tmp_path / "chain.pem") == [pki.leaf, pki.intermediate]
    (tmp_path / "root.der").write_bytes(pki.root.public_bytes(serialization.Encoding.DER))
    assert certificates.load_certificates(tmp_path / "root.der") == [pki.root]


@pytest.mark.parametrize("content", [b"", b"not a certificate", b"-----BEGIN CERTIFICATE-----\nAAAA\n"])
def test_load_certificates_rejects_garbage(tmp_path, content):
    (tmp_path / "bad.pem").write_bytes(content)
    with pytest.raises(InputError, match="no readable X.509 certificate"):
        certificates.load_certificates(tmp_path / "bad.pem")


def test_load_certificates_missing_file(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        certificates.load_certificates(tmp_path / "nope.pem")


def test_parse_chain_rejects_non_certificates(pki):
    der = pki.leaf.public_bytes(serialization.Encoding.DER)
    assert certificates.parse_chain([der]) == (pki.leaf,)
    with pytest.raises(CertificateChainError, match="certificate 1 in the signature is not"):
        certificates.parse_chain([der, b"\x30\x03\x02\x01\x01"])
    with pytest.raises(CertificateChainError):
        certificates.parse_chain([])


def test_check_signing_certificate(pki):
    certificates.check_signing_certificate(pki.leaf, key=pki.leaf_key, now=NOW)
    with pytest.raises(InputError, match="not for this private key"):
        certificates.check_signing_certificate(pki.leaf, key=keys.generate_key(), now=NOW)
    expired = pki.leaf_with(not_before=NOW - dt.timedelta(days=60), not_after=NOW - dt.timedelta(days=1))
    with pytest.raises(InputError, match="expired"):
        certificates.check_signing_certificate(expired, key=pki.leaf_key, now=NOW)
    with pytest.raises(InputError, match="digitalSignature"):
        certificates.check_signing_certificate(pki.leaf_with(usage=ENCIPHER_ONLY_USAGE), key=pki.leaf_key,
                                               now=NOW)
