"""Values shared by hashing, signing, verification and the trust policy. Data only; no I/O, no cryptography.

OMS v1.0 (OpenSSF Model Signing) names: a model is serialized as ``files`` (one digest per file) or ``shards``
(one digest per fixed-size byte range of each file); each resource has a ``name`` (POSIX path relative to the
model root, ``path:start:end`` for shards), an ``algorithm`` and a hex ``digest``; the in-toto subject digest
covers all resources.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

HashAlgorithm = Literal["sha256", "blake2b", "blake3"]
SerializationMethod = Literal["files", "shards"]
# What a verification can find wrong with the model, named as the issue names them.
DifferenceKind = Literal["modified", "added", "removed", "renamed", "swapped", "symlink"]
SignatureAlgorithm = Literal["ecdsa-p256-sha256", "ecdsa-p384-sha384", "ed25519", "ml-dsa-65"]


@dataclass(frozen=True, slots=True)
class HashSettings:
    method: SerializationMethod = "files"
    hash_type: HashAlgorithm = "sha256"
    shard_size: int | None = None  # bytes, shards only
    ignore_paths: tuple[str, ...] = ()  # POSIX paths relative to the model root, as OMS records them
    allow_symlinks: bool = False


@dataclass(frozen=True, slots=True)
class ResourceDigest:
    name: str  # POSIX path relative to the model root; "path:start:end" for a shard
    algorithm: str  # as OMS writes it: "sha256", "blake2b", "blake3", "sha256-sharded-1073741824" ...
    digest: str  # lowercase hex


@dataclass(frozen=True, slots=True)
class Manifest:
    """Every resource of a model with its digest, sorted by name, and the subject digest over all of them."""

    model_name: str
    settings: HashSettings
    resources: tuple[ResourceDigest, ...]
    subject_digest: str  # hex; the in-toto subject's digest (algorithm: subject_algorithm)
    subject_algorithm: str = "sha256"


@dataclass(frozen=True, slots=True)
class Difference:
    """One way the model on disk differs from what was signed."""

    kind: DifferenceKind
    path: str  # the file concerned (for renamed: the new name)
    detail: str = ""  # e.g. "renamed from a.bin", "content of b.bin"


@dataclass(frozen=True, slots=True)
class SignerIdentity:
    """Who signed: always a key fingerprint (SHA-256 of the DER SubjectPublicKeyInfo, hex); for the certificate
    method also the leaf certificate's subject and issuer (RFC 4514 strings) and its validity."""

    method: Literal["key", "certificate", "sigstore"]
    algorithm: str
    key_fingerprint: str
    subject: str | None = None
    issuer: str | None = None
    not_before: str | None = None  # RFC 3339 UTC
    not_after: str | None = None

    def describe(self) -> str:
        """One line for people: method, fingerprint, algorithm, and the certificate's subject and issuer."""
        text = f"{self.method} signer {self.key_fingerprint} ({self.algorithm})"
        if self.subject is not None:
            text += f", subject {self.subject}, issuer {self.issuer}"
        return text


@dataclass(frozen=True, slots=True)
class SignatureVerdict:
    """The outcome of checking one signature file against a model folder.

    ``signature_ok`` says the envelope's signature verified with the signer's key; ``differences`` lists every
    way the model on disk differs from the signed manifest (empty: it matches); ``problems`` are reasons the
    signature itself is unusable (corrupted bundle, edited payload, wrong key, unknown algorithm), as short
    sentences. ``verified`` is the overall yes/no before any trust policy.
    """

    signature_path: str
    model_path: str
    signature_ok: bool
    signer: SignerIdentity | None = None
    manifest: Manifest | None = None
    differences: tuple[Difference, ...] = ()
    problems: tuple[str, ...] = ()
    signed_at: str | None = None  # RFC 3339 UTC when known (certificate validity, registry)
    extensions: tuple[str, ...] = field(default=())  # non-OMS features used, e.g. "ml-dsa-65"

    @property
    def verified(self) -> bool:
        return self.signature_ok and not self.differences and not self.problems
