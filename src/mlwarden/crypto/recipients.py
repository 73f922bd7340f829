"""Recipients of an encrypted file: who can open the random data key, and the key files they hold.

Every encrypted file has one random 32-byte data key (see ``mlwarden.crypto.stream``). This module wraps that
key once per recipient into a *stanza* and unwraps it again with an *identity*:

================  =====================================================================  ======================
stanza kind       wrap key                                                               parameters (bytes)
================  =====================================================================  ======================
keyfile           HKDF(key file key, salt, "keyfile")                                    salt 16
scrypt            HKDF(scrypt(pass, L || kdf salt, 2**log_n, r=8, p=1), wrap salt,       log_n 1, kdf salt 16,
                  "scrypt wrap")                                                         wrap salt 16
argon2id          HKDF(Argon2id(pass, L || kdf salt, t, p, m), wrap salt, "argon2id      t 1, p 1, m 4, kdf salt
                  wrap")                                                                 16, wrap salt 16
x25519            HKDF(X25519(e, R), salt = E || R, "x25519")                            E 32
x25519-mlkem768   HKDF(X-Wing combiner, no salt, "x25519-mlkem768")                      E 32, ML-KEM ct 1088
================  =====================================================================  ======================

HKDF is HKDF-SHA256 with info "mlwarden-enc/v1 " + the label shown; L is "mlwarden-enc/v1 scrypt" or
"mlwarden-enc/v1 argon2id". Every body is the parameters followed by the 48-byte wrapped key.

``wrapped`` is AES-256-GCM(wrap key, nonce = 12 zero bytes, data key, AAD = file preamble || stanza type code ||
the body's parameters). A zero nonce is safe because every wrap key is used once: it is derived from a fresh
salt or a fresh ephemeral key. The hybrid recipient combines both shared secrets with the X-Wing combiner
(draft-connolly-cfrg-xwing-kem, "Combiner"): SHA3-256(ss_MLKEM || ss_X25519 || E || R || "\\.//^\\"), over
an X25519 key and an ML-KEM-768 key generated separately (so X-Wing's combiner, not X-Wing's key format): the
file stays confidential as long as either X25519 or ML-KEM-768 holds.

Each stanza also carries an 8-byte recipient id (a truncated SHA-256 of the recipient's public key or key file
key; zero for passphrases) so that ``rekey`` can remove one recipient. It is covered by the header MAC.

Key files are PEM: X25519 keys as SubjectPublicKeyInfo / PKCS#8, a hybrid key as two PEM blocks in one file
(X25519 first, then ML-KEM-768, each a standard PKIX encoding as ``cryptography`` writes it), a symmetric key
file as one ``MLWARDEN SYMMETRIC KEY`` block holding 32 random bytes in base64. Private key files are written with mode
0600, atomically, and never overwrite an existing file.

This module must never put key material (keys, passphrases, derived secrets, data keys) into an exception
message, a ``repr`` or a log line, and never accept KDF parameters that would let a hostile header take
unbounded time or memory.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import os
import re
import secrets
import struct
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PrivateKey, MLKEM768PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from mlwarden.core.errors import InputError, UsageError

StanzaKind = Literal["keyfile", "scrypt", "argon2id", "x25519", "x25519-mlkem768"]
RecipientKind = Literal["keyfile", "passphrase", "x25519", "x25519-mlkem768"]
PassphraseKdf = Literal["scrypt", "argon2id"]
KeyKind = Literal["x25519", "x25519-mlkem768"]

DATA_KEY_SIZE = 32
WRAPPED_KEY_SIZE = DATA_KEY_SIZE + 16  # AES-GCM ciphertext + tag
RECIPIENT_ID_SIZE = 8
SALT_SIZE = 16
X25519_SIZE = 32
MLKEM768_CIPHERTEXT_SIZE = 1088
NO_RECIPIENT_ID = bytes(RECIPIENT_ID_SIZE)
_ZERO_NONCE = bytes(12)
_LABEL = b"mlwarden-enc/v1 "
# X-Wing's combiner label (draft-connolly-cfrg-xwing-kem, section "Combiner"): the ASCII art \.//^\ .
_XWING_LABEL = b"\x5c\x2e\x2f\x2f\x5e\x5c"

# Passphrase KDF bounds. Encryption never goes below the defaults unless a caller asks for it (tests do);
# decryption accepts anything inside the bounds, so a hostile header costs at most ~1 GiB and a few seconds.
SCRYPT_LOG_N_DEFAULT = 17  # 128 MiB, ~0.3 s here
SCRYPT_LOG_N_RANGE = (10, 20)
ARGON2_MEMORY_KIB_DEFAULT = 128 * 1024  # RFC 9106 second recommended option uses 64 MiB; we double it
ARGON2_ITERATIONS_DEFAULT = 3
ARGON2_LANES_DEFAULT = 4
ARGON2_MEMORY_KIB_MAX = 1024 * 1024
ARGON2_ITERATIONS_RANGE = (1, 16)
ARGON2_LANES_RANGE = (1, 16)
# memory x iterations, in KiB passes: 4 GiB-passes is ~11x the default's work (a few seconds here), so a hostile
# header with the maximum number of passphrase stanzas still costs well under a minute.
ARGON2_WORK_KIB_MAX = 4 * 1024 * 1024

# Key files are small; anything larger is not a key file and is not read into memory.
MAX_KEY_FILE_BYTES = 64 * 1024
SYMMETRIC_KEY_LABEL = "MLWARDEN SYMMETRIC KEY"


# --- stanzas ----------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Stanza:
    """One wrapped copy of the data key. ``body`` is the kind's parameters followed by the wrapped key."""

    kind: StanzaKind
    recipient_id: bytes
    body: bytes

    @property
    def parameters(self) -> bytes:
        return self.body[:-WRAPPED_KEY_SIZE]

    @property
    def wrapped_key(self) -> bytes:
        return self.body[-WRAPPED_KEY_SIZE:]


def _check_scrypt(body: bytes) -> str | None:
    low, high = SCRYPT_LOG_N_RANGE
    if not low <= body[0] <= high:
        return f"scrypt work factor 2**{body[0]} is outside 2**{low}..2**{high}"
    return None


def _check_argon2(body: bytes) -> str | None:
    iterations, lanes, memory = struct.unpack_from(">BBI", body)
    if not ARGON2_ITERATIONS_RANGE[0] <= iterations <= ARGON2_ITERATIONS_RANGE[1]:
        return f"Argon2id iterations {iterations} outside {ARGON2_ITERATIONS_RANGE[0]}..{ARGON2_ITERATIONS_RANGE[1]}"
    if not ARGON2_LANES_RANGE[0] <= lanes <= ARGON2_LANES_RANGE[1]:
        return f"Argon2id lanes {lanes} outside {ARGON2_LANES_RANGE[0]}..{ARGON2_LANES_RANGE[1]}"
    if not 8 * lanes <= memory <= ARGON2_MEMORY_KIB_MAX:
        return f"Argon2id memory {memory} KiB outside {8 * lanes}..{ARGON2_MEMORY_KIB_MAX} KiB"
    if memory * iterations > ARGON2_WORK_KIB_MAX:
        return (f"Argon2id work {memory} KiB x {iterations} iterations is more than {ARGON2_WORK_KIB_MAX} "
                "KiB passes")
    return None


def _no_check(body: bytes) -> str | None:
    return None


@dataclass(frozen=True, slots=True)
class StanzaFormat:
    """How one stanza kind is laid out in the header: its type code, exact body size, parameter check."""

    code: int
    kind: StanzaKind
    body_size: int
    check: Callable[[bytes], str | None]
    passphrase: bool = False  # costs a memory-hard KDF per attempt: the header allows only a few


# The one table of stanza kinds; the header parser and the identities look kinds up here.
STANZA_FORMATS: tuple[StanzaFormat, ...] = (
    StanzaFormat(1, "keyfile", SALT_SIZE + WRAPPED_KEY_SIZE, _no_check),
    StanzaFormat(2, "scrypt", 1 + 2 * SALT_SIZE + WRAPPED_KEY_SIZE, _check_scrypt, passphrase=True),
    StanzaFormat(3, "argon2id", 6 + 2 * SALT_SIZE + WRAPPED_KEY_SIZE, _check_argon2, passphrase=True),
    StanzaFormat(4, "x25519", X25519_SIZE + WRAPPED_KEY_SIZE, _no_check),
    StanzaFormat(5, "x25519-mlkem768", X25519_SIZE + MLKEM768_CIPHERTEXT_SIZE + WRAPPED_KEY_SIZE, _no_check),
)
FORMAT_BY_CODE: dict[int, StanzaFormat] = {f.code: f for f in STANZA_FORMATS}
FORMAT_BY_KIND: dict[str, StanzaFormat] = {f.kind: f for f in STANZA_FORMATS}


def _aad(context: bytes, kind: StanzaKind, parameters: bytes) -> bytes:
    return context + bytes([FORMAT_BY_KIND[kind].code]) + parameters


def _seal(wrap_key: bytes, data_key: bytes, context: bytes, kind: StanzaKind, parameters: bytes) -> bytes:
    return AESGCM(wrap_key).encrypt(_ZERO_NONCE, data_key, _aad(context, kind, parameters))


def _open(wrap_key: bytes, stanza: Stanza, context: bytes) -> bytes | None:
    try:
        return AESGCM(wrap_key).decrypt(_ZERO_NONCE, stanza.wrapped_key,
                                        _aad(context, stanza.kind, stanza.parameters))
    except InvalidTag:
        return None


def _hkdf(secret: bytes, *, salt: bytes | None, label: str, length: int = 32) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt,
                info=_LABEL + label.encode("ascii")).derive(secret)


def _short_id(label: str, material: bytes) -> bytes:
    return hashlib.sha256(_LABEL + label.encode("ascii") + b" id" + material).digest()[:RECIPIENT_ID_SIZE]


# --- protocols --------------------------------------------------------------------------------------------

@runtime_checkable
class Recipient(Protocol):
    """Someone a file is encrypted to: wraps the data key into a stanza only they can open."""

    @property
    def kind(self) -> RecipientKind: ...

    def wrap(self, data_key: bytes, context: bytes) -> Stanza:
        """Wrap ``data_key`` for this recipient; ``context`` (the file preamble) is bound as associated data."""
        ...

    def owns(self, stanza: Stanza) -> bool:
        """True when ``stanza`` was made for this recipient (used to remove recipients on rekey)."""
        ...

    def describe(self) -> str:
        """A short, secret-free label for messages, e.g. ``x25519 3f2a9c0d1e2b4a5f``."""
        ...


class StanzaMatcher(Protocol):
    """Selects stanzas to remove on rekey: every recipient is one, and so is ``ALL_PASSPHRASES``."""

    def owns(self, stanza: Stanza) -> bool: ...

    def describe(self) -> str: ...


@runtime_checkable
class Identity(Protocol):
    """Something that can open stanzas: a private key, a key file, a passphrase."""

    @property
    def kinds(self) -> tuple[StanzaKind, ...]: ...

    def unwrap(self, stanza: Stanza, context: bytes) -> bytes | None:
        """The data key when this identity opens ``stanza``, else None (wrong key or not its kind)."""
        ...


# --- key file (symmetric) ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class SymmetricKey:
    """A 32-byte key from a key file; it is both a recipient and an identity."""

    key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.key) != DATA_KEY_SIZE:
            raise UsageError(f"a symmetric key must be {DATA_KEY_SIZE} bytes; generate one with "
                             "'mlwarden enc-keygen --kind symmetric'")

    @classmethod
    def generate(cls) -> SymmetricKey:
        return cls(secrets.token_bytes(DATA_KEY_SIZE))

    @property
    def kind(self) -> RecipientKind:
        return "keyfile"

    @property
    def kinds(self) -> tuple[StanzaKind, ...]:
        return ("keyfile",)

    @property
    def recipient_id(self) -> bytes:
        return _short_id("keyfile", self.key)

    def wrap(self, data_key: bytes, context: bytes) -> Stanza:
        salt = secrets.token_bytes(SALT_SIZE)
        wrap_key = _hkdf(self.key, salt=salt, label="keyfile")
        return Stanza("keyfile", self.recipient_id, salt + _seal(wrap_key, data_key, context, "keyfile", salt))

    def unwrap(self, stanza: Stanza, context: bytes) -> bytes | None:
        if stanza.kind != "keyfile":
            return None
        return _open(_hkdf(self.key, salt=stanza.parameters, label="keyfile"), stanza, context)

    def owns(self, stanza: Stanza) -> bool:
        return stanza.kind == "keyfile" and stanza.recipient_id == self.recipient_id

    def describe(self) -> str:
        return f"keyfile {self.recipient_id.hex()}"


# --- passphrase -------------------------------------------------------------------------------------------

@functools.cache
def argon2id_available() -> bool:
    """Whether this ``cryptography`` build can run Argon2id (it needs OpenSSL 3.2 or newer)."""
    try:
        from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

        Argon2id(salt=bytes(16), length=32, iterations=1, lanes=1, memory_cost=8).derive(b"probe")
    except (ImportError, UnsupportedAlgorithm):
        return False
    return True


def _normalize_passphrase(value: str) -> bytes:
    # NFC so that the same passphrase typed on two systems (composed vs decomposed accents) gives one key.
    return unicodedata.normalize("NFC", value).encode("utf-8")


def _scrypt_master(secret: bytes, kdf_input: bytes) -> bytes:
    log_n, salt = kdf_input[0], kdf_input[1:]
    return Scrypt(salt=_LABEL + b"scrypt" + salt, length=32, n=2 ** log_n, r=8, p=1).derive(secret)


def _argon2id_master(secret: bytes, kdf_input: bytes) -> bytes:
    from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

    iterations, lanes, memory = struct.unpack_from(">BBI", kdf_input)
    return Argon2id(salt=_LABEL + b"argon2id" + kdf_input[6:], length=32, iterations=iterations, lanes=lanes,
                    memory_cost=memory).derive(secret)


# Passphrase KDFs by stanza kind: (secret, cost parameters || KDF salt) -> 32-byte master key.
_PASSPHRASE_KDFS: dict[str, Callable[[bytes, bytes], bytes]] = {
    "scrypt": _scrypt_master,
    "argon2id": _argon2id_master,
}


@dataclass(frozen=True, slots=True)
class Passphrase:
    """A passphrase: a recipient (with the KDF and cost to use) and an identity (cost read from the stanza).

    ``kdf`` None picks Argon2id when this ``cryptography`` build has it, else scrypt. The cost fields default to
    the strong values above; tests pass small ones explicitly.

    The memory-hard KDF turns the passphrase into a master key once per (cost, KDF salt); each stanza then
    derives its own wrap key from the master with HKDF and a fresh wrap salt. One object encrypting a folder of
    a thousand files therefore runs the KDF once (its files share one KDF salt), and one object decrypting them
    runs it once too. The derived master keys stay inside this object and are never shown.
    """

    value: str = field(repr=False)
    kdf: PassphraseKdf | None = None
    scrypt_log_n: int = SCRYPT_LOG_N_DEFAULT
    argon2_memory_kib: int = ARGON2_MEMORY_KIB_DEFAULT
    argon2_iterations: int = ARGON2_ITERATIONS_DEFAULT
    argon2_lanes: int = ARGON2_LANES_DEFAULT
    _masters: dict[bytes, bytes] = field(default_factory=dict, init=False, repr=False, compare=False)
    _own_kdf_input: dict[str, bytes] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.value:
            raise UsageError("the passphrase is empty; choose a non-empty passphrase")
        # The same bounds a reader applies to a stanza, so every file written here can be read back.
        try:
            scrypt_parameters = bytes([self.scrypt_log_n])
            argon2_parameters = struct.pack(">BBI", self.argon2_iterations, self.argon2_lanes,
                                            self.argon2_memory_kib)
        except (ValueError, struct.error):
            raise UsageError("passphrase cost parameters out of range") from None
        problem = _check_scrypt(scrypt_parameters) or _check_argon2(argon2_parameters)
        if problem is not None:
            raise UsageError(f"passphrase cost: {problem}")

    @property
    def kind(self) -> RecipientKind:
        return "passphrase"

    @property
    def kinds(self) -> tuple[StanzaKind, ...]:
        return ("scrypt", "argon2id")

    def _chosen_kdf(self) -> PassphraseKdf:
        if self.kdf is not None:
            return self.kdf
        return "argon2id" if argon2id_available() else "scrypt"

    def _master(self, kind: StanzaKind, kdf_input: bytes) -> bytes:
        cache_key = bytes([FORMAT_BY_KIND[kind].code]) + kdf_input
        master = self._masters.get(cache_key)
        if master is None:
            if kind == "argon2id" and not argon2id_available():
                raise InputError("this passphrase stanza uses Argon2id, which needs cryptography built with "
                                 "OpenSSL 3.2 or newer; upgrade cryptography")
            master = _PASSPHRASE_KDFS[kind](_normalize_passphrase(self.value), kdf_input)
            self._masters[cache_key] = master
        return master

    def wrap(self, data_key: bytes, context: bytes) -> Stanza:
        kind: StanzaKind = self._chosen_kdf()
        kdf_input = self._own_kdf_input.get(kind)
        if kdf_input is None:
            cost = (bytes([self.scrypt_log_n]) if kind == "scrypt" else
                    struct.pack(">BBI", self.argon2_iterations, self.argon2_lanes, self.argon2_memory_kib))
            kdf_input = cost + secrets.token_bytes(SALT_SIZE)
            self._own_kdf_input[kind] = kdf_input
        master = self._master(kind, kdf_input)
        wrap_salt = secrets.token_bytes(SALT_SIZE)
        parameters = kdf_input + wrap_salt
        wrap_key = _hkdf(master, salt=wrap_salt, label=f"{kind} wrap")
        return Stanza(kind, NO_RECIPIENT_ID, parameters + _seal(wrap_key, data_key, context, kind, parameters))

    def unwrap(self, stanza: Stanza, context: bytes) -> bytes | None:
        if stanza.kind not in _PASSPHRASE_KDFS:
            return None
        kdf_input, wrap_salt = stanza.parameters[:-SALT_SIZE], stanza.parameters[-SALT_SIZE:]
        master = self._master(stanza.kind, kdf_input)
        return _open(_hkdf(master, salt=wrap_salt, label=f"{stanza.kind} wrap"), stanza, context)

    def owns(self, stanza: Stanza) -> bool:
        # Passphrase stanzas carry no id: removing "the passphrase" removes every passphrase stanza.
        return FORMAT_BY_KIND[stanza.kind].passphrase

    def describe(self) -> str:
        return f"passphrase ({self._chosen_kdf()})"


@dataclass(frozen=True, slots=True)
class AllPassphrases:
    """Matches every passphrase stanza, whatever its passphrase: ``rekey --remove-passphrase``."""

    def owns(self, stanza: Stanza) -> bool:
        return FORMAT_BY_KIND[stanza.kind].passphrase

    def describe(self) -> str:
        return "passphrase"


ALL_PASSPHRASES = AllPassphrases()


# --- X25519 -----------------------------------------------------------------------------------------------

def _x25519_raw(key: X25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _x25519_exchange(private: X25519PrivateKey, peer_raw: bytes) -> bytes | None:
    try:
        return private.exchange(X25519PublicKey.from_public_bytes(peer_raw))
    except ValueError:  # a low-order point gives the all-zero secret, which cryptography refuses
        return None


@dataclass(frozen=True, slots=True)
class X25519Recipient:
    public_key: X25519PublicKey

    @property
    def kind(self) -> RecipientKind:
        return "x25519"

    @property
    def recipient_id(self) -> bytes:
        return _short_id("x25519", _x25519_raw(self.public_key))

    def wrap(self, data_key: bytes, context: bytes) -> Stanza:
        ephemeral = X25519PrivateKey.generate()
        ephemeral_raw = _x25519_raw(ephemeral.public_key())
        shared = ephemeral.exchange(self.public_key)
        wrap_key = _hkdf(shared, salt=ephemeral_raw + _x25519_raw(self.public_key), label="x25519")
        return Stanza("x25519", self.recipient_id,
                      ephemeral_raw + _seal(wrap_key, data_key, context, "x25519", ephemeral_raw))

    def owns(self, stanza: Stanza) -> bool:
        return stanza.kind == "x25519" and stanza.recipient_id == self.recipient_id

    def describe(self) -> str:
        return f"x25519 {self.recipient_id.hex()}"


@dataclass(frozen=True, slots=True)
class X25519Identity:
    private_key: X25519PrivateKey = field(repr=False)

    @property
    def kinds(self) -> tuple[StanzaKind, ...]:
        return ("x25519",)

    @property
    def recipient(self) -> X25519Recipient:
        return X25519Recipient(self.private_key.public_key())

    def unwrap(self, stanza: Stanza, context: bytes) -> bytes | None:
        if stanza.kind != "x25519":
            return None
        ephemeral_raw = stanza.parameters
        shared = _x25519_exchange(self.private_key, ephemeral_raw)
        if shared is None:
            return None
        own_raw = _x25519_raw(self.private_key.public_key())
        return _open(_hkdf(shared, salt=ephemeral_raw + own_raw, label="x25519"), stanza, context)


# --- hybrid X25519 + ML-KEM-768 ---------------------------------------------------------------------------

def _xwing_combine(ss_mlkem: bytes, ss_x25519: bytes, ephemeral_raw: bytes, recipient_x25519_raw: bytes) -> bytes:
    return hashlib.sha3_256(ss_mlkem + ss_x25519 + ephemeral_raw + recipient_x25519_raw + _XWING_LABEL).digest()


@dataclass(frozen=True, slots=True)
class HybridRecipient:
    """A quantum-resistant recipient: an X25519 key and an ML-KEM-768 key, both needed to open the stanza."""

    x25519: X25519PublicKey
    mlkem768: MLKEM768PublicKey

    @property
    def kind(self) -> RecipientKind:
        return "x25519-mlkem768"

    @property
    def recipient_id(self) -> bytes:
        return _short_id("x25519-mlkem768", _x25519_raw(self.x25519) + self.mlkem768.public_bytes_raw())

    def wrap(self, data_key: bytes, context: bytes) -> Stanza:
        ephemeral = X25519PrivateKey.generate()
        ephemeral_raw = _x25519_raw(ephemeral.public_key())
        ss_x25519 = ephemeral.exchange(self.x25519)
        ss_mlkem, mlkem_ciphertext = self.mlkem768.encapsulate()
        combined = _xwing_combine(ss_mlkem, ss_x25519, ephemeral_raw, _x25519_raw(self.x25519))
        wrap_key = _hkdf(combined, salt=None, label="x25519-mlkem768")
        parameters = ephemeral_raw + mlkem_ciphertext
        return Stanza("x25519-mlkem768", self.recipient_id,
                      parameters + _seal(wrap_key, data_key, context, "x25519-mlkem768", parameters))

    def owns(self, stanza: Stanza) -> bool:
        return stanza.kind == "x25519-mlkem768" and stanza.recipient_id == self.recipient_id

    def describe(self) -> str:
        return f"x25519-mlkem768 {self.recipient_id.hex()}"


@dataclass(frozen=True, slots=True)
class HybridIdentity:
    x25519: X25519PrivateKey = field(repr=False)
    mlkem768: MLKEM768PrivateKey = field(repr=False)

    @property
    def kinds(self) -> tuple[StanzaKind, ...]:
        return ("x25519-mlkem768",)

    @property
    def recipient(self) -> HybridRecipient:
        return HybridRecipient(self.x25519.public_key(), self.mlkem768.public_key())

    def unwrap(self, stanza: Stanza, context: bytes) -> bytes | None:
        if stanza.kind != "x25519-mlkem768":
            return None
        ephemeral_raw = stanza.parameters[:X25519_SIZE]
        ss_x25519 = _x25519_exchange(self.x25519, ephemeral_raw)
        if ss_x25519 is None:
            return None
        try:
            # ML-KEM decapsulation never fails on a well-sized ciphertext (implicit rejection gives a random
            # secret); a wrong key or a forged ciphertext shows up as a failed AES-GCM unwrap below.
            ss_mlkem = self.mlkem768.decapsulate(stanza.parameters[X25519_SIZE:])
        except ValueError:
            return None
        combined = _xwing_combine(ss_mlkem, ss_x25519, ephemeral_raw, _x25519_raw(self.x25519.public_key()))
        return _open(_hkdf(combined, salt=None, label="x25519-mlkem768"), stanza, context)


# --- wrapping the data key for many recipients ------------------------------------------------------------

def wrap_for_recipients(data_key: bytes, recipients: Sequence[Recipient], context: bytes) -> tuple[Stanza, ...]:
    """One stanza per recipient, in the order given. At least one recipient is required (deny by default)."""
    if not recipients:
        raise UsageError("no recipients: encrypt to at least one key file, passphrase or public key")
    return tuple(recipient.wrap(data_key, context) for recipient in recipients)


def unwrap_data_key(stanzas: Iterable[Stanza], identities: Sequence[Identity], context: bytes) -> bytes | None:
    """The data key from the first stanza any identity opens, else None. Cheap identities go first."""
    candidates = list(stanzas)
    # Try key files and public keys before passphrases: a passphrase attempt costs a memory-hard KDF.
    ordered = sorted(identities, key=lambda identity: isinstance(identity, Passphrase))
    for identity in ordered:
        for stanza in candidates:
            if stanza.kind in identity.kinds:
                data_key = identity.unwrap(stanza, context)
                if data_key is not None:
                    return data_key
    return None


# --- key files on disk ------------------------------------------------------------------------------------

_PEM_BEGIN = re.compile(rb"-----BEGIN ([A-Z0-9 ]{1,64})-----")


@dataclass(frozen=True, slots=True)
class KeyPairPaths:
    """What ``keygen_recipient`` wrote: the private key (mode 0600), the public key and the recipient id."""

    kind: KeyKind | Literal["symmetric"]
    private_path: Path
    public_path: Path | None
    recipient_id: str


def _read_key_file(path: Path, what: str) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_KEY_FILE_BYTES + 1)
    except FileNotFoundError:
        raise InputError(f"{what} {path} does not exist; check the path") from None
    except IsADirectoryError:
        raise InputError(f"{what} {path} is a folder; name the key file") from None
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror}") from None
    if len(data) > MAX_KEY_FILE_BYTES:
        raise InputError(f"{what} {path} is larger than {MAX_KEY_FILE_BYTES} bytes; it is not a key file")
    return data


@dataclass(frozen=True, slots=True)
class _PemBlock:
    label: str
    text: bytes  # BEGIN line to END line, as a PEM loader wants it
    body: bytes  # the base64 lines between them


def _pem_blocks(data: bytes) -> list[_PemBlock]:
    """The PEM blocks of ``data``, in order, in one pass over its lines (text around blocks is ignored, as
    RFC 7468 allows). Linear in the input, whatever a hostile file holds."""
    blocks: list[_PemBlock] = []
    label: bytes | None = None
    lines: list[bytes] = []
    for line in data.splitlines():
        stripped = line.strip()
        begin = _PEM_BEGIN.fullmatch(stripped)
        if begin is not None:  # a BEGIN line (re)starts a block; an unfinished one is dropped
            label, lines = begin.group(1), []
        elif label is not None and stripped == b"-----END " + label + b"-----":
            body = b"\n".join(lines)
            text = b"-----BEGIN " + label + b"-----\n" + body + b"\n" + stripped + b"\n"
            blocks.append(_PemBlock(label.decode("ascii"), text, body))
            label = None
        elif label is not None:
            lines.append(stripped)
    return blocks


def load_key_file(path: Path) -> SymmetricKey:
    """Read a symmetric key file written by ``mlwarden enc-keygen --kind symmetric``."""
    blocks = _pem_blocks(_read_key_file(path, "key file"))
    if len(blocks) != 1 or blocks[0].label != SYMMETRIC_KEY_LABEL:
        hint = (" (it holds a public or private key: use --recipient or --identity)"
                if any("KEY" in block.label for block in blocks) else "")
        raise InputError(f"{path} is not an mlwarden symmetric key file{hint}; create one with "
                         "'mlwarden enc-keygen --kind symmetric'")
    try:
        key = base64.b64decode(b"".join(blocks[0].body.split()), validate=True)
    except (binascii.Error, ValueError):
        raise InputError(f"key file {path} is damaged (not base64); restore it from your backup") from None
    if len(key) != DATA_KEY_SIZE:
        raise InputError(f"key file {path} is damaged (a key has {DATA_KEY_SIZE} bytes); restore it from your "
                         "backup")
    return SymmetricKey(key)


def _load_public_keys(path: Path) -> list[object]:
    keys: list[object] = []
    for pem in _pem_blocks(_read_key_file(path, "public key file")):
        label, block = pem.label, pem.text
        if "PRIVATE KEY" in label:
            raise InputError(f"{path} holds a private key; give recipients the public key (.pub) and keep "
                             "the private key for --identity")
        if label == SYMMETRIC_KEY_LABEL:
            raise InputError(f"{path} is a symmetric key file; pass it with --key-file")
        if label != "PUBLIC KEY":
            continue
        try:
            keys.append(serialization.load_pem_public_key(block))
        except (ValueError, UnsupportedAlgorithm):
            raise InputError(f"{path} holds a public key that cannot be read (damaged or of an unsupported "
                             "type); use an X25519 or X25519 + ML-KEM-768 key from 'mlwarden enc-keygen'") from None
    return keys


def _load_private_keys(path: Path) -> list[object]:
    keys: list[object] = []
    for pem in _pem_blocks(_read_key_file(path, "private key file")):
        label, block = pem.label, pem.text
        if label == "ENCRYPTED PRIVATE KEY":
            raise InputError(f"{path} is a passphrase-protected private key, which mlwarden cannot use yet; "
                             "export it without a passphrase into a file only you can read")
        if label == SYMMETRIC_KEY_LABEL:
            raise InputError(f"{path} is a symmetric key file; pass it with --key-file")
        if label == "PUBLIC KEY":
            raise InputError(f"{path} holds a public key; decryption needs the private key")
        if label != "PRIVATE KEY":
            continue
        try:
            keys.append(serialization.load_pem_private_key(block, password=None))
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise InputError(f"{path} holds a private key that cannot be read (damaged or of an unsupported "
                             "type); use a key from 'mlwarden enc-keygen'") from None
    return keys


def _pair(path: Path, keys: list[object], x_type: type, m_type: type, role: str) -> tuple[object, object | None]:
    x_keys = [k for k in keys if isinstance(k, x_type)]
    m_keys = [k for k in keys if isinstance(k, m_type)]
    if len(x_keys) == 1 and len(m_keys) <= 1 and len(keys) == len(x_keys) + len(m_keys):
        return x_keys[0], (m_keys[0] if m_keys else None)
    if not keys:
        raise InputError(f"{path} holds no PEM {role} key; create a key pair with 'mlwarden enc-keygen'")
    raise InputError(f"{path} must hold one X25519 {role} key, optionally followed by one ML-KEM-768 {role} "
                     "key; other key types cannot be encryption recipients")


def load_recipient(path: Path) -> X25519Recipient | HybridRecipient:
    """Read a public key file: one X25519 key, or an X25519 key and an ML-KEM-768 key (hybrid)."""
    x_key, m_key = _pair(path, _load_public_keys(path), X25519PublicKey, MLKEM768PublicKey, "public")
    assert isinstance(x_key, X25519PublicKey)
    if m_key is None:
        return X25519Recipient(x_key)
    assert isinstance(m_key, MLKEM768PublicKey)
    return HybridRecipient(x_key, m_key)


def load_identity(path: Path) -> X25519Identity | HybridIdentity:
    """Read a private key file written by ``keygen_recipient``."""
    x_key, m_key = _pair(path, _load_private_keys(path), X25519PrivateKey, MLKEM768PrivateKey, "private")
    assert isinstance(x_key, X25519PrivateKey)
    if m_key is None:
        return X25519Identity(x_key)
    assert isinstance(m_key, MLKEM768PrivateKey)
    return HybridIdentity(x_key, m_key)


def _write_new_file(path: Path, data: bytes, *, mode: int) -> None:
    """Write ``data`` to ``path`` through a temporary file; refuse to replace an existing file (keys are
    irreplaceable: overwriting one would lock its files away for good)."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"cannot write {path}: folder {folder} does not exist; create it first")
    if path.exists() or path.is_symlink():
        raise InputError(f"{path} already exists; keys are never overwritten: choose another name")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        # link() fails if the name appeared meanwhile, where rename() would silently replace it.
        os.link(tmp, path)
    except FileExistsError:
        raise InputError(f"{path} already exists; keys are never overwritten: choose another name") from None
    finally:
        Path(tmp).unlink(missing_ok=True)


def write_key_file(path: Path, key: SymmetricKey) -> None:
    """Write a symmetric key file (mode 0600); never overwrites."""
    encoded = base64.b64encode(key.key)
    text = (f"-----BEGIN {SYMMETRIC_KEY_LABEL}-----\n".encode("ascii") + encoded
            + f"\n-----END {SYMMETRIC_KEY_LABEL}-----\n".encode("ascii"))
    _write_new_file(path, text, mode=0o600)


def _pkcs8(key: X25519PrivateKey | MLKEM768PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _spki(key: X25519PublicKey | MLKEM768PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def default_public_path(private_path: Path) -> Path:
    return private_path.with_name(private_path.name + ".pub")


def keygen_recipient(kind: KeyKind | Literal["symmetric"], private_path: Path, *,
                     public_path: Path | None = None) -> KeyPairPaths:
    """Create a key: an X25519 or X25519 + ML-KEM-768 key pair (private key at ``private_path``, mode 0600;
    public key at ``public_path``, default ``<private>.pub``), or a symmetric key file (no public part).
    Never overwrites a file."""
    if kind == "symmetric":
        key = SymmetricKey.generate()
        write_key_file(private_path, key)
        return KeyPairPaths("symmetric", private_path, None, key.recipient_id.hex())
    public_path = public_path or default_public_path(private_path)
    if public_path.exists():
        raise InputError(f"{public_path} already exists; keys are never overwritten: choose another name")
    x_private = X25519PrivateKey.generate()
    recipient: X25519Recipient | HybridRecipient
    if kind == "x25519":
        private_pem = _pkcs8(x_private)
        public_pem = _spki(x_private.public_key())
        recipient = X25519Recipient(x_private.public_key())
    elif kind == "x25519-mlkem768":
        m_private = MLKEM768PrivateKey.generate()
        private_pem = _pkcs8(x_private) + _pkcs8(m_private)
        public_pem = _spki(x_private.public_key()) + _spki(m_private.public_key())
        recipient = HybridRecipient(x_private.public_key(), m_private.public_key())
    else:
        raise UsageError(f"unknown key kind '{kind}'; use x25519, x25519-mlkem768 or symmetric")
    _write_new_file(private_path, private_pem, mode=0o600)
    try:
        _write_new_file(public_path, public_pem, mode=0o644)
    except BaseException:
        private_path.unlink(missing_ok=True)  # a private key without its public half is of no use
        raise
    return KeyPairPaths(kind, private_path, public_path, recipient.recipient_id.hex())
