"""Keys and helpers for the encryption tests. Every key is generated here; passphrase costs are lowered
explicitly (the defaults stay strong)."""

from __future__ import annotations

import io

import pytest
from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from mlwarden.crypto.recipients import (
    HybridIdentity,
    Passphrase,
    SymmetricKey,
    X25519Identity,
    argon2id_available,
)
from mlwarden.crypto.stream import decrypt_stream, encrypt_stream

SMALL_CHUNK = 1024
PASSPHRASE = "correct horse battery staple"


def cheap_passphrase(value: str = PASSPHRASE, kdf: str = "scrypt") -> Passphrase:
    return Passphrase(value, kdf=kdf, scrypt_log_n=10, argon2_memory_kib=64, argon2_iterations=1,
                      argon2_lanes=1)  # type: ignore[arg-type]


def encrypt_bytes(data: bytes, recipients, chunk_size: int = SMALL_CHUNK) -> bytes:
    out = io.BytesIO()
    encrypt_stream(io.BytesIO(data), out, recipients=recipients, chunk_size=chunk_size)
    return out.getvalue()


def decrypt_bytes(blob: bytes, identities) -> bytes:
    out = io.BytesIO()
    decrypt_stream(io.BytesIO(blob), out, identities=identities, name="sample")
    return out.getvalue()


@pytest.fixture(scope="session")
def symmetric_key() -> SymmetricKey:
    return SymmetricKey.generate()


@pytest.fixture(scope="session")
def x25519_identity() -> X25519Identity:
    return X25519Identity(X25519PrivateKey.generate())


@pytest.fixture(scope="session")
def hybrid_identity() -> HybridIdentity:
    return HybridIdentity(X25519PrivateKey.generate(), MLKEM768PrivateKey.generate())


needs_argon2 = pytest.mark.skipif(not argon2id_available(), reason="cryptography built without Argon2id")
