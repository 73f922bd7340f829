"""Signing keys: generation, PEM files (encrypted or not), loading errors with fixes, fingerprints, sign/verify."""

from __future__ import annotations

import hashlib
import os
import stat

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from hypothesis import given
from hypothesis import strategies as st

from mlwarden.core.errors import InputError, MlwardenError, UsageError
from mlwarden.integrity import keys

PASSPHRASE = b"correct horse battery staple"


@pytest.fixture(scope="module", params=keys.ALGORITHMS)
def key(request) -> keys.PrivateKey:
    return keys.generate_key(request.param)


def test_every_algorithm_has_a_scheme_and_the_default_is_p256():
    assert keys.ALGORITHMS == ("ecdsa-p256-sha256", "ecdsa-p384-sha384", "ed25519", "ml-dsa-65")
    assert keys.DEFAULT_ALGORITHM == "ecdsa-p256-sha256"
    assert [s.oms for s in keys.SCHEMES] == [True, True, True, False]  # ML-DSA-65 is the non-OMS extension


def test_generate_gives_the_named_algorithm(key):
    algorithm = keys.key_algorithm(key)
    assert keys.key_algorithm(key.public_key()) == algorithm
    assert keys.scheme_of(key).algorithm == algorithm


def test_unknown_algorithm_name_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown signature algorithm 'rsa'"):
        keys.generate_key("rsa")  # type: ignore[arg-type]


def test_sign_and_verify_bytes(key):
    signature = keys.sign_bytes(key, b"payload")
    assert keys.verify_bytes(key.public_key(), signature, b"payload")
    assert not keys.verify_bytes(key.public_key(), signature, b"payload!")
    assert not keys.verify_bytes(keys.generate_key(keys.key_algorithm(key)).public_key(), signature, b"payload")
    assert not keys.verify_bytes(key.public_key(), b"\x00" * len(signature), b"payload")
    assert not keys.verify_bytes(key.public_key(), b"", b"payload")
    assert keys.scheme_of(key).well_formed(signature)


def test_ecdsa_signatures_are_der_with_the_curve_hash():
    p384 = keys.generate_key("ecdsa-p384-sha384")
    signature = keys.sign_bytes(p384, b"x")
    assert signature[0] == 0x30  # DER SEQUENCE (r, s), as model-signing writes it
    from cryptography.hazmat.primitives import hashes

    p384.public_key().verify(signature, b"x", ec.ECDSA(hashes.SHA384()))  # the hash follows the curve


def test_fingerprint_is_sha256_of_der_spki(key):
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert keys.key_fingerprint(key) == hashlib.sha256(der).hexdigest()
    assert keys.key_fingerprint(key.public_key()) == keys.key_fingerprint(key)


@pytest.mark.parametrize("passphrase", [None, PASSPHRASE])
def test_private_key_round_trip(tmp_path, key, passphrase):
    path = tmp_path / "signing.pem"
    keys.write_private_key(path, key, passphrase=passphrase)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    text = path.read_bytes()
    assert text.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----" if passphrase else b"-----BEGIN PRIVATE KEY")
    assert keys.private_key_is_encrypted(path) is (passphrase is not None)
    loaded = keys.load_private_key(path, passphrase=passphrase)
    assert keys.key_fingerprint(loaded) == keys.key_fingerprint(key)
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind


def test_public_key_round_trip(tmp_path, key):
    path = tmp_path / "signing.pub"
    keys.write_public_key(path, key)
    assert path.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    assert keys.key_fingerprint(keys.load_public_key(path)) == keys.key_fingerprint(key)
    path.write_bytes(key.public_key().public_bytes(serialization.Encoding.DER,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo))
    assert keys.key_fingerprint(keys.load_public_key(path)) == keys.key_fingerprint(key)


def test_existing_key_files_are_never_replaced_by_default(tmp_path):
    key = keys.generate_key()
    path = tmp_path / "k.pem"
    keys.write_private_key(path, key, passphrase=None)
    before = path.read_bytes()
    with pytest.raises(InputError, match="already exists"):
        keys.write_private_key(path, keys.generate_key(), passphrase=None)
    assert path.read_bytes() == before
    keys.write_private_key(path, keys.generate_key(), passphrase=None, overwrite=True)
    assert path.read_bytes() != before


def test_write_into_a_missing_folder(tmp_path):
    with pytest.raises(InputError, match="does not exist; create it first"):
        keys.write_private_key(tmp_path / "nope" / "k.pem", keys.generate_key(), passphrase=None)


def test_empty_passphrase_is_refused(tmp_path):
    with pytest.raises(UsageError, match="passphrase is empty"):
        keys.write_private_key(tmp_path / "k.pem", keys.generate_key(), passphrase=b"")


def test_wrong_or_missing_passphrase_names_the_fix_and_never_the_secret(tmp_path):
    path = tmp_path / "k.pem"
    keys.write_private_key(path, keys.generate_key("ed25519"), passphrase=PASSPHRASE)
    with pytest.raises(InputError, match="wrong passphrase") as wrong:
        keys.load_private_key(path, passphrase=b"guess")
    with pytest.raises(InputError, match="is encrypted: give its passphrase") as missing:
        keys.load_private_key(path)
    for error in (wrong.value, missing.value):
        assert "guess" not in str(error) and PASSPHRASE.decode() not in str(error)
        assert "\n" not in str(error)


def test_passphrase_for_an_unencrypted_key(tmp_path):
    path = tmp_path / "k.pem"
    keys.write_private_key(path, keys.generate_key(), passphrase=None)
    with pytest.raises(InputError, match="not encrypted: give no passphrase"):
        keys.load_private_key(path, passphrase=PASSPHRASE)


def test_traditional_ec_pem_loads(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / "ec.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                       serialization.NoEncryption()))
    assert keys.key_algorithm(keys.load_private_key(path)) == "ecdsa-p256-sha256"


@pytest.mark.parametrize("make", [
    lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
    lambda: ec.generate_private_key(ec.SECP521R1()),
    lambda: ec.generate_private_key(ec.SECP256K1()),
], ids=["rsa", "p521", "secp256k1"])
def test_unsupported_key_types(tmp_path, make):
    key = make()
    private = tmp_path / "k.pem"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    public = tmp_path / "k.pub"
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
    with pytest.raises(InputError, match="mlwarden does not sign with"):
        keys.load_private_key(private)
    with pytest.raises(InputError, match="mlwarden does not sign with"):
        keys.load_public_key(public)
    with pytest.raises(InputError, match="unsupported key type"):
        keys.key_algorithm(key)


def test_wrong_kind_of_file(tmp_path):
    key = keys.generate_key()
    private, public = tmp_path / "k.pem", tmp_path / "k.pub"
    keys.write_private_key(private, key, passphrase=None)
    keys.write_public_key(public, key)
    with pytest.raises(InputError, match="is a private key: verify with the public key"):
        keys.load_public_key(private)
    with pytest.raises(InputError, match="is not a PEM private key"):
        keys.load_private_key(public)
    (tmp_path / "cert.pem").write_bytes(b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    with pytest.raises(InputError, match="is a certificate"):
        keys.load_public_key(tmp_path / "cert.pem")
    with pytest.raises(InputError, match="does not exist"):
        keys.load_private_key(tmp_path / "missing.pem")
    with pytest.raises(InputError, match="does not exist or is not a file"):
        keys.load_public_key(tmp_path)


def test_oversized_key_file(tmp_path):
    path = tmp_path / "huge.pem"
    path.write_bytes(b"A" * (keys.MAX_KEY_FILE_BYTES + 1))
    with pytest.raises(InputError, match="too large"):
        keys.load_private_key(path)


@given(st.binary(max_size=2048))
def test_hostile_key_bytes_give_input_errors_only(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("keys") / "k.pem"
    for prefix in (b"", b"-----BEGIN PRIVATE KEY-----\n", b"-----BEGIN PUBLIC KEY-----\n"):
        path.write_bytes(prefix + data)
        for load in (keys.load_private_key, keys.load_public_key):
            try:
                load(path)
            except MlwardenError as error:
                assert "\n" not in str(error)


def test_ed25519_is_an_oms_key_type_and_ml_dsa_is_not():
    assert keys.scheme("ed25519").oms and isinstance(keys.generate_key("ed25519"), ed25519.Ed25519PrivateKey)
    assert not keys.scheme("ml-dsa-65").oms
    assert "extension" in keys.scheme("ml-dsa-65").description
