"""Recipients and identities: every kind, several on one file, rekey, key files on disk, hostile key files."""

from __future__ import annotations

import os
import stat
import struct
import unicodedata

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from mlwarden.core.errors import InputError, UsageError
from mlwarden.crypto.files import encrypt_path, rekey_path
from mlwarden.crypto.recipients import (
    ALL_PASSPHRASES,
    MAX_KEY_FILE_BYTES,
    HybridIdentity,
    HybridRecipient,
    Passphrase,
    Stanza,
    SymmetricKey,
    X25519Identity,
    X25519Recipient,
    keygen_recipient,
    load_identity,
    load_key_file,
    load_recipient,
    unwrap_data_key,
    write_key_file,
)
from mlwarden.crypto.stream import (
    MAX_PASSPHRASE_STANZAS,
    PREAMBLE_SIZE,
    DecryptionError,
    parse_header,
    rewrap_header,
    unlock,
)
from tests.crypto.conftest import PASSPHRASE, cheap_passphrase, decrypt_bytes, encrypt_bytes, needs_argon2

DATA = b"model weights " * 300


def test_key_file_recipient(symmetric_key):
    blob = encrypt_bytes(DATA, [symmetric_key])
    assert parse_header(blob).stanzas[0].kind == "keyfile"
    assert decrypt_bytes(blob, [symmetric_key]) == DATA


@pytest.mark.parametrize("kdf", ["scrypt", pytest.param("argon2id", marks=needs_argon2)])
def test_passphrase_recipient(kdf):
    blob = encrypt_bytes(DATA, [cheap_passphrase(kdf=kdf)])
    assert parse_header(blob).stanzas[0].kind == kdf
    assert decrypt_bytes(blob, [Passphrase(PASSPHRASE)]) == DATA


@pytest.mark.parametrize("kdf", ["scrypt", pytest.param("argon2id", marks=needs_argon2)])
def test_wrong_passphrase(kdf):
    blob = encrypt_bytes(DATA, [cheap_passphrase(kdf=kdf)])
    with pytest.raises(DecryptionError) as info:
        decrypt_bytes(blob, [Passphrase("Correct horse battery staple")])
    message = str(info.value)
    assert "wrong key or passphrase" in message and kdf in message
    assert "horse" not in message


def test_passphrase_is_unicode_normalized():
    composed = unicodedata.normalize("NFC", "pässwörd")
    decomposed = unicodedata.normalize("NFD", "pässwörd")
    assert composed != decomposed
    blob = encrypt_bytes(DATA, [cheap_passphrase(composed)])
    assert decrypt_bytes(blob, [Passphrase(decomposed)]) == DATA


def test_x25519_recipient(x25519_identity):
    blob = encrypt_bytes(DATA, [x25519_identity.recipient])
    stanza = parse_header(blob).stanzas[0]
    assert stanza.kind == "x25519" and stanza.recipient_id == x25519_identity.recipient.recipient_id
    assert decrypt_bytes(blob, [x25519_identity]) == DATA
    with pytest.raises(DecryptionError, match="wrong key"):
        decrypt_bytes(blob, [X25519Identity(X25519PrivateKey.generate())])


def test_hybrid_recipient_needs_both_keys(hybrid_identity):
    blob = encrypt_bytes(DATA, [hybrid_identity.recipient])
    assert parse_header(blob).stanzas[0].kind == "x25519-mlkem768"
    assert decrypt_bytes(blob, [hybrid_identity]) == DATA
    wrong_mlkem = HybridIdentity(hybrid_identity.x25519, MLKEM768PrivateKey.generate())
    wrong_x25519 = HybridIdentity(X25519PrivateKey.generate(), hybrid_identity.mlkem768)
    for identity in (wrong_mlkem, wrong_x25519, X25519Identity(hybrid_identity.x25519)):
        with pytest.raises(DecryptionError, match="wrong key"):
            decrypt_bytes(blob, [identity])


def test_hybrid_stanza_tampering_fails_cleanly(hybrid_identity):
    blob = encrypt_bytes(DATA, [hybrid_identity.recipient])
    body_start = PREAMBLE_SIZE + 6 + 11
    for offset in (0, 40, 32 + 1087, 32 + 1088 + 5):  # ephemeral key, ML-KEM ciphertext, wrapped key
        damaged = bytearray(blob)
        damaged[body_start + offset] ^= 0x01
        with pytest.raises(DecryptionError, match="wrong key"):
            decrypt_bytes(bytes(damaged), [hybrid_identity])


def test_low_order_ephemeral_key_is_refused(x25519_identity, hybrid_identity):
    context = bytes(PREAMBLE_SIZE)
    zero_point = bytes(32)
    stanza = Stanza("x25519", bytes(8), zero_point + bytes(48))
    assert x25519_identity.unwrap(stanza, context) is None
    hybrid = Stanza("x25519-mlkem768", bytes(8), zero_point + bytes(1088) + bytes(48))
    assert hybrid_identity.unwrap(hybrid, context) is None


def test_several_recipients_each_open_the_file(symmetric_key, x25519_identity, hybrid_identity):
    recipients = [symmetric_key, cheap_passphrase(), x25519_identity.recipient, hybrid_identity.recipient]
    blob = encrypt_bytes(DATA, recipients)
    assert [s.kind for s in parse_header(blob).stanzas] == ["keyfile", "scrypt", "x25519", "x25519-mlkem768"]
    for identity in (symmetric_key, Passphrase(PASSPHRASE), x25519_identity, hybrid_identity):
        assert decrypt_bytes(blob, [identity]) == DATA


def test_identities_are_tried_cheapest_first(symmetric_key):
    class Exploding(Passphrase):
        def unwrap(self, stanza, context):  # type: ignore[override]
            raise AssertionError("the passphrase KDF ran although a key file opens the file")

    blob = encrypt_bytes(DATA, [cheap_passphrase(), symmetric_key])
    header = parse_header(blob)
    assert unwrap_data_key(header.stanzas, [Exploding(PASSPHRASE), symmetric_key], header.preamble)


def test_identity_of_another_kind_is_not_tried(symmetric_key, x25519_identity):
    blob = encrypt_bytes(DATA, [x25519_identity.recipient])
    with pytest.raises(DecryptionError, match="encrypted to: x25519"):
        decrypt_bytes(blob, [symmetric_key, Passphrase("nope")])


def test_passphrase_cost_bounds():
    with pytest.raises(UsageError, match="scrypt work factor"):
        Passphrase("x", scrypt_log_n=9)
    with pytest.raises(UsageError, match="scrypt work factor"):
        Passphrase("x", scrypt_log_n=21)
    with pytest.raises(UsageError, match="Argon2id memory"):
        Passphrase("x", argon2_memory_kib=2 * 1024 * 1024)
    with pytest.raises(UsageError, match="Argon2id iterations"):
        Passphrase("x", argon2_iterations=0)
    with pytest.raises(UsageError, match="empty"):
        Passphrase("")


def test_defaults_stay_strong():
    value = Passphrase("x")
    assert value.scrypt_log_n >= 17 and value.argon2_memory_kib >= 64 * 1024 and value.argon2_iterations >= 3


def test_hostile_kdf_cost_in_a_header_is_refused_before_any_work():
    blob = bytearray(encrypt_bytes(DATA, [cheap_passphrase(kdf="scrypt")]))
    blob[PREAMBLE_SIZE + 6 + 11] = 30  # scrypt log_n: 2**30 would need 1 TiB
    with pytest.raises(DecryptionError, match=r"damaged header \(scrypt work factor 2\*\*30"):
        decrypt_bytes(bytes(blob), [Passphrase(PASSPHRASE)])


@needs_argon2
def test_hostile_argon2_cost_is_refused():
    blob = bytearray(encrypt_bytes(DATA, [cheap_passphrase(kdf="argon2id")]))
    body = PREAMBLE_SIZE + 6 + 11
    blob[body + 2:body + 6] = struct.pack(">I", 2 ** 31)
    with pytest.raises(DecryptionError, match="Argon2id memory"):
        decrypt_bytes(bytes(blob), [Passphrase(PASSPHRASE)])


def test_too_many_passphrases():
    with pytest.raises(UsageError, match="at most 4"):
        encrypt_bytes(DATA, [cheap_passphrase(str(i)) for i in range(MAX_PASSPHRASE_STANZAS + 1)])


# --- rekey ------------------------------------------------------------------------------------------------

def test_rewrap_keeps_the_payload(symmetric_key, x25519_identity):
    blob = encrypt_bytes(DATA, [symmetric_key])
    header = parse_header(blob)
    data_key = unlock(header, [symmetric_key], name="x")
    new = rewrap_header(header, data_key, keep=(), add=[x25519_identity.recipient])
    rekeyed = new.to_bytes() + blob[header.size:]
    assert decrypt_bytes(rekeyed, [x25519_identity]) == DATA
    with pytest.raises(DecryptionError, match="wrong key"):
        decrypt_bytes(rekeyed, [symmetric_key])
    assert new.preamble == header.preamble


def test_rekey_adds_and_removes_recipients_without_touching_the_payload(tmp_path, symmetric_key,
                                                                       x25519_identity, hybrid_identity):
    plain = tmp_path / "model.bin"
    plain.write_bytes(DATA)
    target = tmp_path / "model.bin.mlwenc"
    encrypt_path(plain, target, recipients=[symmetric_key, x25519_identity.recipient], chunk_size=1024)
    before = target.read_bytes()
    payload = before[parse_header(before).size:]

    rekey_path(target, identities=[symmetric_key], add=[hybrid_identity.recipient],
               remove=[x25519_identity.recipient])
    after = target.read_bytes()
    assert after[parse_header(after).size:] == payload
    assert [s.kind for s in parse_header(after).stanzas] == ["keyfile", "x25519-mlkem768"]
    assert decrypt_bytes(after, [hybrid_identity]) == DATA
    assert decrypt_bytes(after, [symmetric_key]) == DATA
    with pytest.raises(DecryptionError, match="wrong key"):
        decrypt_bytes(after, [x25519_identity])

    # Rotate from the key file to a passphrase, unlocking with the hybrid key.
    rekey_path(target, identities=[hybrid_identity], add=[cheap_passphrase("new one")], remove=[symmetric_key])
    final = target.read_bytes()
    assert final[parse_header(final).size:] == payload
    assert decrypt_bytes(final, [Passphrase("new one")]) == DATA
    with pytest.raises(DecryptionError):
        decrypt_bytes(final, [symmetric_key])
    rekey_path(target, identities=[hybrid_identity], remove=[ALL_PASSPHRASES])
    assert [s.kind for s in parse_header(target.read_bytes()).stanzas] == ["x25519-mlkem768"]


def test_rekey_refusals(tmp_path, symmetric_key, x25519_identity):
    plain = tmp_path / "m"
    plain.write_bytes(DATA)
    target = tmp_path / "m.mlwenc"
    encrypt_path(plain, target, recipients=[symmetric_key])
    before = target.read_bytes()
    with pytest.raises(UsageError, match="no recipient"):
        rekey_path(target, identities=[symmetric_key], remove=[symmetric_key])
    with pytest.raises(UsageError, match="nothing to remove"):
        rekey_path(target, identities=[symmetric_key], remove=[x25519_identity.recipient])
    with pytest.raises(UsageError, match="already encrypted to keyfile"):
        rekey_path(target, identities=[symmetric_key], add=[symmetric_key])
    with pytest.raises(UsageError, match="needs a change"):
        rekey_path(target, identities=[symmetric_key])
    with pytest.raises(DecryptionError, match="wrong key"):
        rekey_path(target, identities=[SymmetricKey.generate()], add=[x25519_identity.recipient])
    assert target.read_bytes() == before


# --- key files on disk ------------------------------------------------------------------------------------

def test_symmetric_key_file_round_trip(tmp_path):
    written = keygen_recipient("symmetric", tmp_path / "team.key")
    path = written.private_path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and written.public_path is None
    text = path.read_text()
    assert text.startswith("-----BEGIN MLWARDEN SYMMETRIC KEY-----\n")
    key = load_key_file(path)
    assert key.recipient_id.hex() == written.recipient_id
    with pytest.raises(InputError, match="never overwritten"):
        write_key_file(path, SymmetricKey.generate())
    assert load_key_file(path) == key


@pytest.mark.parametrize("kind", ["x25519", "x25519-mlkem768"])
def test_keygen_writes_standard_pem(kind, tmp_path):
    written = keygen_recipient(kind, tmp_path / "alice.pem")
    assert written.public_path == tmp_path / "alice.pem.pub"
    assert stat.S_IMODE(written.private_path.stat().st_mode) == 0o600
    public_pem = written.public_path.read_bytes()
    assert public_pem.count(b"-----BEGIN PUBLIC KEY-----") == (1 if kind == "x25519" else 2)
    # Each block is a standard SubjectPublicKeyInfo that any PEM reader accepts on its own.
    first = public_pem.split(b"-----END PUBLIC KEY-----")[0] + b"-----END PUBLIC KEY-----\n"
    assert serialization.load_pem_public_key(first)
    recipient = load_recipient(written.public_path)
    identity = load_identity(written.private_path)
    assert isinstance(recipient, X25519Recipient if kind == "x25519" else HybridRecipient)
    assert recipient.recipient_id.hex() == written.recipient_id == identity.recipient.recipient_id.hex()
    assert decrypt_bytes(encrypt_bytes(DATA, [recipient]), [identity]) == DATA
    with pytest.raises(InputError, match="never overwritten"):
        keygen_recipient(kind, written.private_path)


def test_key_files_in_the_wrong_place_say_so(tmp_path):
    pair = keygen_recipient("x25519", tmp_path / "k.pem")
    symmetric = keygen_recipient("symmetric", tmp_path / "s.key").private_path
    with pytest.raises(InputError, match="holds a private key"):
        load_recipient(pair.private_path)
    with pytest.raises(InputError, match="decryption needs the private key"):
        load_identity(pair.public_path)
    with pytest.raises(InputError, match="pass it with --key-file"):
        load_recipient(symmetric)
    with pytest.raises(InputError, match="use --recipient or --identity"):
        load_key_file(pair.public_path)
    with pytest.raises(InputError, match="does not exist"):
        load_key_file(tmp_path / "missing.key")
    with pytest.raises(InputError, match="is a folder"):
        load_identity(tmp_path)


def test_unsupported_and_damaged_key_files(tmp_path):
    from cryptography.hazmat.primitives.asymmetric import ec

    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_public = tmp_path / "ec.pub"
    ec_public.write_bytes(ec_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                           serialization.PublicFormat.SubjectPublicKeyInfo))
    with pytest.raises(InputError, match="one X25519 public key"):
        load_recipient(ec_public)
    encrypted = tmp_path / "enc.pem"
    encrypted.write_bytes(X25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw")))
    with pytest.raises(InputError, match="passphrase-protected"):
        load_identity(encrypted)
    mlkem_only = tmp_path / "mlkem.pub"
    mlkem_only.write_bytes(MLKEM768PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    with pytest.raises(InputError, match="one X25519 public key"):
        load_recipient(mlkem_only)
    damaged = tmp_path / "bad.key"
    damaged.write_text("-----BEGIN MLWARDEN SYMMETRIC KEY-----\n!!!!\n-----END MLWARDEN SYMMETRIC KEY-----\n")
    with pytest.raises(InputError, match="damaged"):
        load_key_file(damaged)
    short = tmp_path / "short.key"
    short.write_text("-----BEGIN MLWARDEN SYMMETRIC KEY-----\nAAAA\n-----END MLWARDEN SYMMETRIC KEY-----\n")
    with pytest.raises(InputError, match="damaged"):
        load_key_file(short)
    huge = tmp_path / "huge.pem"
    huge.write_bytes(b"A" * (MAX_KEY_FILE_BYTES + 1))
    with pytest.raises(InputError, match="not a key file"):
        load_recipient(huge)
    empty = tmp_path / "empty.pem"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="no PEM public key"):
        load_recipient(empty)


def test_secrets_never_in_reprs(symmetric_key, x25519_identity, hybrid_identity):
    secret = "very secret words"
    raw_x = x25519_identity.private_key.private_bytes_raw()
    texts = [repr(symmetric_key), repr(Passphrase(secret)), repr(x25519_identity), repr(hybrid_identity)]
    for text in texts:
        assert secret not in text and symmetric_key.key.hex() not in text and raw_x.hex() not in text
        assert repr(symmetric_key.key) not in text


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600), st.sampled_from(["PUBLIC KEY", "PRIVATE KEY", "MLWARDEN SYMMETRIC KEY", "X"]))
def test_hostile_key_files_give_input_errors(tmp_path_factory, body, label):
    folder = tmp_path_factory.mktemp("keys")
    path = folder / "k"
    import base64

    path.write_bytes(f"-----BEGIN {label}-----\n".encode() + base64.encodebytes(body)
                     + f"-----END {label}-----\n".encode() + body[:50])
    for loader in (load_recipient, load_identity, load_key_file):
        try:
            loader(path)
        except InputError:
            pass
    os.unlink(path)


def test_pem_parsing_is_linear_and_tolerant(tmp_path):
    import time

    hostile = tmp_path / "hostile.pem"
    hostile.write_bytes((b"-----BEGIN PUBLIC KEY-----\nx\n" * 5000)[:MAX_KEY_FILE_BYTES])
    started = time.perf_counter()
    with pytest.raises(InputError, match="no PEM public key"):
        load_recipient(hostile)
    assert time.perf_counter() - started < 0.5
    pair = keygen_recipient("x25519-mlkem768", tmp_path / "k.pem")
    decorated = tmp_path / "decorated.pub"
    text = pair.public_path.read_bytes().replace(b"\n", b"\r\n")
    decorated.write_bytes(b"# the team's loader key\r\n" + text + b"trailing words\r\n")
    assert load_recipient(decorated).recipient_id.hex() == pair.recipient_id
