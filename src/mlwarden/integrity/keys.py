"""Signing keys: generate, write, load, fingerprint, sign and verify bytes, for each supported algorithm.

One table (``SCHEMES``) says which key types mlwarden signs with and how: ECDSA P-256 with SHA-256 and P-384
with SHA-384 (what OMS and model-signing use: the hash follows the curve), Ed25519 (a Sigstore key type,
PKIX_ED25519; model-signing 1.1.1 itself verifies ECDSA keys only), and ML-DSA-65 (FIPS 204, post-quantum), an
mlwarden extension outside OMS whose bundles are marked as such (see ``oms.py``). Every primitive comes from the
``cryptography`` package.

This module must never put key material or passphrases into a message, an exception or a log line, and never
writes a private key other than through a temporary file that only its owner can read, renamed into place.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeAlias

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, mldsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from mlwarden.core.errors import InputError, UsageError
from mlwarden.integrity.model import SignatureAlgorithm

PrivateKey: TypeAlias = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | mldsa.MLDSA65PrivateKey
PublicKey: TypeAlias = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | mldsa.MLDSA65PublicKey

# A PEM key file is a few KiB (ML-DSA-65 private keys are the largest, about 5.5 KiB encrypted); anything far
# larger is not a key, and reading it whole would only waste memory.
MAX_KEY_FILE_BYTES = 1024 * 1024
DEFAULT_ALGORITHM: SignatureAlgorithm = "ecdsa-p256-sha256"


class SignatureScheme(Protocol):
    """How one signature algorithm generates keys, recognises them, signs and verifies."""

    @property
    def algorithm(self) -> SignatureAlgorithm: ...

    @property
    def oms(self) -> bool:
        """True for algorithms OMS bundles admit; False marks an mlwarden extension (ML-DSA-65)."""
        ...

    @property
    def description(self) -> str: ...

    def generate(self) -> PrivateKey: ...

    def owns(self, key: PrivateKey | PublicKey) -> bool: ...

    def sign(self, key: PrivateKey, data: bytes) -> bytes: ...

    def verify(self, key: PublicKey, signature: bytes, data: bytes) -> None:
        """Raise ``InvalidSignature`` unless ``signature`` is ``key``'s signature over ``data``."""
        ...

    def well_formed(self, signature: bytes) -> bool:
        """Whether ``signature`` has the shape this algorithm produces (tells corruption from a wrong key)."""
        ...


@dataclass(frozen=True, slots=True)
class _Ecdsa:
    algorithm: SignatureAlgorithm
    curve: type[ec.EllipticCurve]
    digest: type[hashes.HashAlgorithm]
    description: str
    oms: bool = True

    def generate(self) -> PrivateKey:
        return ec.generate_private_key(self.curve())

    def owns(self, key: PrivateKey | PublicKey) -> bool:
        return isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) and \
            isinstance(key.curve, self.curve)

    def sign(self, key: PrivateKey, data: bytes) -> bytes:
        assert isinstance(key, ec.EllipticCurvePrivateKey)  # owns() was checked by the caller
        # DER-encoded (r, s), as model-signing and Sigstore write ECDSA signatures.
        return key.sign(data, ec.ECDSA(self.digest()))

    def verify(self, key: PublicKey, signature: bytes, data: bytes) -> None:
        assert isinstance(key, ec.EllipticCurvePublicKey)
        key.verify(signature, data, ec.ECDSA(self.digest()))

    def well_formed(self, signature: bytes) -> bool:
        try:
            decode_dss_signature(signature)
        except ValueError:
            return False
        return True


@dataclass(frozen=True, slots=True)
class _Ed25519:
    algorithm: SignatureAlgorithm = "ed25519"
    description: str = "Ed25519 (Sigstore key type; model-signing 1.1.1 verifies ECDSA only)"
    oms: bool = True

    def generate(self) -> PrivateKey:
        return ed25519.Ed25519PrivateKey.generate()

    def owns(self, key: PrivateKey | PublicKey) -> bool:
        return isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey)

    def sign(self, key: PrivateKey, data: bytes) -> bytes:
        assert isinstance(key, ed25519.Ed25519PrivateKey)
        return key.sign(data)

    def verify(self, key: PublicKey, signature: bytes, data: bytes) -> None:
        assert isinstance(key, ed25519.Ed25519PublicKey)
        key.verify(signature, data)

    def well_formed(self, signature: bytes) -> bool:
        return len(signature) == 64  # RFC 8032: R || S, 32 bytes each


@dataclass(frozen=True, slots=True)
class _MlDsa65:
    algorithm: SignatureAlgorithm = "ml-dsa-65"
    description: str = "ML-DSA-65, FIPS 204 post-quantum (mlwarden extension, not OMS)"
    oms: bool = False

    def generate(self) -> PrivateKey:
        return mldsa.MLDSA65PrivateKey.generate()

    def owns(self, key: PrivateKey | PublicKey) -> bool:
        return isinstance(key, mldsa.MLDSA65PrivateKey | mldsa.MLDSA65PublicKey)

    def sign(self, key: PrivateKey, data: bytes) -> bytes:
        assert isinstance(key, mldsa.MLDSA65PrivateKey)
        return key.sign(data)  # pure ML-DSA with the empty context string, as FIPS 204 defaults

    def verify(self, key: PublicKey, signature: bytes, data: bytes) -> None:
        assert isinstance(key, mldsa.MLDSA65PublicKey)
        key.verify(signature, data)

    def well_formed(self, signature: bytes) -> bool:
        return len(signature) == 3309  # FIPS 204, table 2: ML-DSA-65 signature size


# The one table of supported algorithms; the first is the default.
SCHEMES: tuple[SignatureScheme, ...] = (
    _Ecdsa("ecdsa-p256-sha256", ec.SECP256R1, hashes.SHA256, "ECDSA P-256 with SHA-256 (OMS default)"),
    _Ecdsa("ecdsa-p384-sha384", ec.SECP384R1, hashes.SHA384, "ECDSA P-384 with SHA-384 (OMS)"),
    _Ed25519(),
    _MlDsa65(),
)
ALGORITHMS: tuple[SignatureAlgorithm, ...] = tuple(s.algorithm for s in SCHEMES)
_BY_NAME: dict[str, SignatureScheme] = {s.algorithm: s for s in SCHEMES}


def scheme(algorithm: str) -> SignatureScheme:
    """The scheme named ``algorithm``; ``UsageError`` for a name mlwarden does not know."""
    found = _BY_NAME.get(algorithm)
    if found is None:
        raise UsageError(f"unknown signature algorithm '{algorithm}': use one of {', '.join(ALGORITHMS)}")
    return found


def scheme_of(key: PrivateKey | PublicKey) -> SignatureScheme:
    """The scheme a key belongs to; ``InputError`` for key types mlwarden does not sign with (RSA, P-521...)."""
    for candidate in SCHEMES:
        if candidate.owns(key):
            return candidate
    raise InputError(f"unsupported key type {_describe(key)}: mlwarden signs with {', '.join(ALGORITHMS)}; "
                     "generate a key with 'mlwarden keygen'")


def key_algorithm(key: PrivateKey | PublicKey) -> SignatureAlgorithm:
    return scheme_of(key).algorithm


def generate_key(algorithm: SignatureAlgorithm = DEFAULT_ALGORITHM) -> PrivateKey:
    return scheme(algorithm).generate()


def public_key_of(key: PrivateKey | PublicKey) -> PublicKey:
    if isinstance(key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | mldsa.MLDSA65PrivateKey):
        return key.public_key()
    return key


def public_key_pem(key: PrivateKey | PublicKey) -> bytes:
    """The PEM SubjectPublicKeyInfo of ``key`` (OMS key hints hash exactly these bytes)."""
    return public_key_of(key).public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)


def key_fingerprint(key: PrivateKey | PublicKey) -> str:
    """SHA-256 of the DER SubjectPublicKeyInfo, lowercase hex: the identity mlwarden reports for a signer."""
    der = public_key_of(key).public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def sign_bytes(key: PrivateKey, data: bytes) -> bytes:
    return scheme_of(key).sign(key, data)


def verify_bytes(public_key: PublicKey, signature: bytes, data: bytes) -> bool:
    """True when ``signature`` is ``public_key``'s signature over ``data``; False for any other bytes."""
    try:
        scheme_of(public_key).verify(public_key, signature, data)
    except (InvalidSignature, ValueError):  # ValueError: bytes too malformed to even parse as a signature
        return False
    return True


def write_private_key(path: Path, key: PrivateKey, *, passphrase: bytes | None, overwrite: bool = False) -> None:
    """Write ``key`` as PEM PKCS#8, encrypted with ``passphrase`` (best available encryption) when given.

    The file is created readable by its owner only (0600) and appears under its name only once complete.
    An existing file is never replaced unless ``overwrite=True``: losing a signing key is not undoable.
    """
    scheme_of(key)  # refuse key types that could not be loaded back
    if passphrase is not None and not passphrase:
        raise UsageError("the passphrase is empty: give a non-empty passphrase, or none to leave the key "
                         "unencrypted")
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    _write_new_file(path, pem, overwrite=overwrite)


def write_public_key(path: Path, key: PrivateKey | PublicKey, *, overwrite: bool = False) -> None:
    """Write the public half of ``key`` as PEM SubjectPublicKeyInfo."""
    scheme_of(key)
    _write_new_file(path, public_key_pem(key), overwrite=overwrite, mode=0o644)


def private_key_is_encrypted(path: Path) -> bool:
    """Whether the PEM private key at ``path`` is passphrase-protected (so a caller knows to ask for it)."""
    return b"-----BEGIN ENCRYPTED PRIVATE KEY-----" in _read_key_file(path, "private key")


def load_private_key(path: Path, *, passphrase: bytes | None = None) -> PrivateKey:
    """Load a PEM private key (PKCS#8 or traditional), decrypting it with ``passphrase`` when it is encrypted.

    Raises ``InputError`` naming the fix for a missing file, a file that is not a private key, a wrong or
    missing passphrase, and key types mlwarden does not sign with.
    """
    data = _read_key_file(path, "private key")
    # PKCS#8 ("ENCRYPTED PRIVATE KEY") and traditional OpenSSL PEM ("Proc-Type: 4,ENCRYPTED") encryption.
    encrypted = b"ENCRYPTED" in data[:4096]
    try:
        key = serialization.load_pem_private_key(data, password=passphrase)
    except TypeError:
        # cryptography raises TypeError for a passphrase mismatch in either direction.
        if passphrase is None:
            raise InputError(f"private key {path} is encrypted: give its passphrase (--passphrase-env NAME, or "
                             "type it at the prompt)") from None
        raise InputError(f"private key {path} is not encrypted: give no passphrase for it") from None
    except ValueError:
        if encrypted and passphrase is not None:
            raise InputError(f"cannot decrypt private key {path}: wrong passphrase (or a corrupted key file); "
                             "check the passphrase") from None
        raise InputError(f"{path} is not a PEM private key: give the private key file written by "
                         "'mlwarden keygen'") from None
    except UnsupportedAlgorithm:
        raise InputError(f"private key {path} uses an algorithm this system cannot load: use one of "
                         f"{', '.join(ALGORITHMS)}") from None
    return _supported(key, path)  # type: ignore[return-value]


def load_public_key(path: Path) -> PublicKey:
    """Load a PEM (or DER) SubjectPublicKeyInfo public key; ``InputError`` with the fix otherwise."""
    data = _read_key_file(path, "public key")
    if b"PRIVATE KEY-----" in data:
        raise InputError(f"{path} is a private key: verify with the public key (written by 'mlwarden keygen' "
                         "as the .pub file) and keep the private key secret")
    if b"-----BEGIN CERTIFICATE-----" in data:
        raise InputError(f"{path} is a certificate, not a public key: verify certificate signatures with "
                         "--ca ROOT.pem")
    try:
        key = (serialization.load_pem_public_key(data) if data.lstrip().startswith(b"-----")
               else serialization.load_der_public_key(data))
    except (ValueError, UnsupportedAlgorithm):
        raise InputError(f"{path} is not a PEM public key: give the public key file written by "
                         "'mlwarden keygen' (PEM SubjectPublicKeyInfo)") from None
    return _supported(key, path)  # type: ignore[return-value]


def _supported(key: object, path: Path) -> PrivateKey | PublicKey:
    for candidate in SCHEMES:
        if candidate.owns(key):  # type: ignore[arg-type]
            return key  # type: ignore[return-value]
    raise InputError(f"key {path} is {_describe(key)}, which mlwarden does not sign with: use one of "
                     f"{', '.join(ALGORITHMS)} ('mlwarden keygen --algorithm')")


def _describe(key: object) -> str:
    curve = getattr(key, "curve", None)
    if curve is not None:
        return f"an ECDSA {curve.name} key"
    name = type(key).__name__.replace("PrivateKey", "").replace("PublicKey", "").lstrip("_")
    return f"a {name or 'unknown'} key"


def _read_key_file(path: Path, what: str) -> bytes:
    try:
        if not path.is_file():
            raise InputError(f"{what} {path} does not exist or is not a file: check the path")
        if path.stat().st_size > MAX_KEY_FILE_BYTES:
            raise InputError(f"{path} is too large to be a {what} (over {MAX_KEY_FILE_BYTES} bytes): check the "
                             "path")
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror or exc}; check its permissions") from None


def _write_new_file(path: Path, data: bytes, *, overwrite: bool, mode: int = 0o600) -> None:
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"cannot write {path}: folder {folder} does not exist; create it first")
    if path.exists() and not overwrite:
        raise InputError(f"{path} already exists: choose another path or remove the old key first")
    # mkstemp creates the file 0600, so a private key is never readable by others, not even while written.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, mode)
        if overwrite:
            os.replace(tmp, path)
        else:
            # link() fails if the name appeared meanwhile, so a key written concurrently is never clobbered.
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise InputError(f"{path} already exists: choose another path or remove the old key "
                                 "first") from None
            except OSError:  # a file system without hard links: the existence check above has to do
                os.replace(tmp, path)
            finally:
                Path(tmp).unlink(missing_ok=True)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
