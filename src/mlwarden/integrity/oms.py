"""OMS signature files: build and parse the in-toto Statement, its DSSE envelope and the Sigstore bundle.

An OMS (OpenSSF Model Signing v1.0) signature is a Sigstore bundle (media type
``application/vnd.dev.sigstore.bundle.v0.3+json``) whose ``dsseEnvelope`` carries, base64-encoded, an in-toto
Statement v1 with predicate type ``https://model_signing/signature/v1.0``: one subject (the model's name and a
SHA-256 over every resource digest) and a predicate listing each file or shard with its digest plus the hashing
settings. The signature is over the DSSE pre-authentication encoding (PAE) of the payload.

Byte-level choices follow model-signing 1.1.1, so that either tool verifies the other's signatures: the payload
is the statement as indented JSON (protobuf's ``MessageToJson`` layout), the bundle is compact JSON, the key
method names the key by ``verificationMaterial.publicKey.hint`` = hex SHA-256 of the PEM SubjectPublicKeyInfo,
the certificate method puts the DER chain (signing certificate first) in ``x509CertificateChain``, and ``keyid``
is the empty string. The mlwarden extension ML-DSA-65 is marked by a prefixed hint (``ML_DSA_65:`` + SHA-256 of
the raw public key, as model-signing's unreleased ML-DSA signer writes it), which OMS verifiers reject as a key
mismatch instead of misreading.

Parsing is strict and bounded: at most ``MAX_BUNDLE_BYTES``, ``MAX_JSON_DEPTH`` levels, no duplicate keys, no
unknown fields where the schemas forbid them; every failure is a ``BundleFormatError`` naming the field. This
module never verifies a signature and never reads the model: it only turns bytes into values and back.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from cryptography.hazmat.primitives import serialization

from mlwarden.core.errors import InputError
from mlwarden.integrity import keys
from mlwarden.integrity.hashing import (
    parse_resources,
    parse_serialization,
    serialization_dict,
    subject_digest,
)
from mlwarden.integrity.model import HashSettings, Manifest, ResourceDigest, SignatureAlgorithm

BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
# The same bundle version in Sigstore's older media-type spelling; both mean v0.3.
_ACCEPTED_MEDIA_TYPES = frozenset({BUNDLE_MEDIA_TYPE, "application/vnd.dev.sigstore.bundle+json;version=0.3"})
PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://model_signing/signature/v1.0"

# A bundle lists one resource per file or shard, about 150 bytes each: 64 MiB is over 400,000 resources.
MAX_BUNDLE_BYTES = 64 * 1024 * 1024
# A bundle nests about 6 levels and a statement about 5; the bound only has to stop hostile nesting.
MAX_JSON_DEPTH = 32
# Signing certificate plus intermediates; real chains have 2 to 4.
MAX_CERTIFICATES = 10
MAX_CERTIFICATE_BYTES = 64 * 1024
# Hint: 64 hex digits, maybe with an algorithm prefix. Names: a path inside a model.
MAX_HINT_CHARS = 200
MAX_NAME_CHARS = 4096

_HEX = re.compile(r"[0-9a-f]+")
_STANDARD_B64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_URLSAFE_B64 = re.compile(r"[A-Za-z0-9_-]*={0,2}")

Method = Literal["key", "certificate", "sigstore"]


class BundleFormatError(InputError):
    """The signature file is not a well-formed OMS bundle; ``reason`` says which part and why (no secrets:
    a bundle holds none)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"not a valid OMS signature: {reason}")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class VerificationMaterial:
    """What the bundle offers to check the signature with: a key hint, a certificate chain (DER, signing
    certificate first), or a keyless Sigstore certificate (which mlwarden does not verify offline)."""

    method: Method
    key_hint: str | None = None
    certificates: tuple[bytes, ...] = ()


@dataclass(frozen=True, slots=True)
class DsseSignature:
    sig: bytes
    keyid: str = ""


@dataclass(frozen=True, slots=True)
class Envelope:
    payload: bytes
    payload_type: str
    signatures: tuple[DsseSignature, ...]


@dataclass(frozen=True, slots=True)
class Bundle:
    media_type: str
    material: VerificationMaterial
    envelope: Envelope


@dataclass(frozen=True, slots=True)
class SignedStatement:
    """The statement as the signer wrote it. ``claimed_subject_digest`` is what the subject says; whether it
    matches the resources is checked by ``subject_consistent``, not assumed."""

    model_name: str
    settings: HashSettings
    resources: tuple[ResourceDigest, ...]
    claimed_subject_digest: str
    subject_algorithm: str = "sha256"

    def manifest(self) -> Manifest:
        return Manifest(model_name=self.model_name, settings=self.settings, resources=self.resources,
                        subject_digest=self.claimed_subject_digest, subject_algorithm=self.subject_algorithm)

    def subject_consistent(self) -> bool:
        """Whether the subject digest is the SHA-256 over the resource digests in the order they are listed."""
        actual = subject_digest(self.resources, method=self.settings.method, order="listed")
        return actual == self.claimed_subject_digest


# --- DSSE and key hints ---------------------------------------------------------------------------------------

def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: ``DSSEv1 SP len(type) SP type SP len(body) SP body``, lengths as
    ASCII decimal byte counts (secure-systems-lab/dsse protocol.md)."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def _pem_sha256(key: keys.PublicKey) -> str:
    return hashlib.sha256(keys.public_key_pem(key)).hexdigest()


def _raw_sha256(key: keys.PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


# How each algorithm names its key in ``publicKey.hint``. OMS (model-signing 1.1.1): SHA-256 of the PEM SPKI.
# An extension carries a prefix so that OMS verifiers reject it as a key mismatch rather than misreading it.
_HINTS: dict[SignatureAlgorithm, Callable[[keys.PublicKey], str]] = {
    "ecdsa-p256-sha256": _pem_sha256,
    "ecdsa-p384-sha384": _pem_sha256,
    "ed25519": _pem_sha256,
    "ml-dsa-65": lambda key: "ML_DSA_65:" + _raw_sha256(key),
}


def key_hint(public_key: keys.PublicKey | keys.PrivateKey) -> str:
    public = keys.public_key_of(public_key)
    return _HINTS[keys.key_algorithm(public)](public)


def extensions_for(algorithm: SignatureAlgorithm) -> tuple[str, ...]:
    """The non-OMS features a signature with ``algorithm`` uses (reported in ``SignatureVerdict.extensions``)."""
    return () if keys.scheme(algorithm).oms else (algorithm,)


# --- building -------------------------------------------------------------------------------------------------

def statement_payload(manifest: Manifest) -> bytes:
    """The DSSE payload: the in-toto statement as indented JSON, laid out as model-signing writes it."""
    statement = {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": manifest.model_name, "digest": {manifest.subject_algorithm: manifest.subject_digest}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "serialization": serialization_dict(manifest.settings),
            "resources": [{"name": r.name, "algorithm": r.algorithm, "digest": r.digest}
                          for r in manifest.resources],
        },
    }
    return json.dumps(statement, indent=2).encode("utf-8")


def key_material(public_key: keys.PublicKey | keys.PrivateKey) -> VerificationMaterial:
    return VerificationMaterial(method="key", key_hint=key_hint(public_key))


def certificate_material(chain_der: Sequence[bytes]) -> VerificationMaterial:
    if not chain_der:
        raise ValueError("a certificate chain needs at least the signing certificate")
    return VerificationMaterial(method="certificate", certificates=tuple(chain_der))


def bundle_document(*, payload: bytes, signature: bytes, material: VerificationMaterial) -> str:
    """The signature file's text: a Sigstore bundle v0.3 as compact JSON, fields in model-signing's order."""
    if material.method == "key":
        verification: dict[str, Any] = {"publicKey": {"hint": material.key_hint or ""}, "tlogEntries": []}
    elif material.method == "certificate":
        verification = {"x509CertificateChain": {"certificates": [{"rawBytes": _b64(der)}
                                                                  for der in material.certificates]},
                        "tlogEntries": []}
    else:
        raise ValueError("mlwarden signs offline only: keyless Sigstore bundles are not written")
    document = {
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": verification,
        "dsseEnvelope": {
            "payload": _b64(payload),
            "payloadType": PAYLOAD_TYPE,
            "signatures": [{"sig": _b64(signature), "keyid": ""}],
        },
    }
    return json.dumps(document, separators=(",", ":"))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# --- parsing --------------------------------------------------------------------------------------------------

def parse_bundle(data: bytes) -> Bundle:
    """Parse a signature file strictly. Raises ``BundleFormatError`` with the reason for anything that is not a
    well-formed OMS bundle; never anything else, whatever the bytes."""
    document = _load_json(data, "bundle")
    _only_fields(document, "bundle", required=("mediaType", "verificationMaterial", "dsseEnvelope"))
    media_type = document["mediaType"]
    if not isinstance(media_type, str) or media_type not in _ACCEPTED_MEDIA_TYPES:
        raise BundleFormatError(f"media type {_show(media_type)} is not {BUNDLE_MEDIA_TYPE}")
    return Bundle(media_type=media_type, material=_parse_material(document["verificationMaterial"]),
                  envelope=_parse_envelope(document["dsseEnvelope"]))


def parse_statement(payload: bytes) -> SignedStatement:
    """Parse the DSSE payload as an OMS statement; ``BundleFormatError`` names what is wrong with it."""
    statement = _load_json(payload, "statement")
    _only_fields(statement, "statement", required=("_type", "subject", "predicateType", "predicate"))
    if statement["_type"] != STATEMENT_TYPE:
        raise BundleFormatError(f"statement type {_show(statement['_type'])} is not {STATEMENT_TYPE}")
    if statement["predicateType"] != PREDICATE_TYPE:
        raise BundleFormatError(f"predicate type {_show(statement['predicateType'])} is not the OMS predicate "
                                f"{PREDICATE_TYPE}")
    subjects = statement["subject"]
    if not isinstance(subjects, list) or len(subjects) != 1:
        raise BundleFormatError("statement.subject must list exactly one subject (the model)")
    subject = _object(subjects[0], "statement.subject[0]")
    name = _string(subject.get("name"), "statement.subject[0].name", limit=MAX_NAME_CHARS)
    digests = _object(subject.get("digest"), "statement.subject[0].digest")
    claimed = digests.get("sha256")
    if not isinstance(claimed, str) or len(claimed) != 64 or not _HEX.fullmatch(claimed):
        raise BundleFormatError("statement.subject[0].digest.sha256 must be 64 lowercase hex digits")

    predicate = _object(statement["predicate"], "statement.predicate")
    # OMS v1.0: verifiers ignore predicate fields other than these two (room for later versions).
    serialization_doc = _object(predicate.get("serialization"), "predicate.serialization")
    try:
        settings = parse_serialization(serialization_doc)
    except (InputError, ValueError, TypeError, KeyError) as exc:
        raise BundleFormatError(f"predicate.serialization: {exc}") from None
    try:
        resources = parse_resources(predicate.get("resources"), settings)
    except (InputError, ValueError, TypeError) as exc:
        raise BundleFormatError(f"predicate.resources: {exc}") from None
    return SignedStatement(model_name=name, settings=settings, resources=resources, claimed_subject_digest=claimed)


def _parse_material(value: object) -> VerificationMaterial:
    material = _object(value, "verificationMaterial")
    _only_fields(material, "verificationMaterial",
                 optional=("publicKey", "x509CertificateChain", "certificate", "tlogEntries",
                           "timestampVerificationData"))
    present = [k for k in ("publicKey", "x509CertificateChain", "certificate") if k in material]
    if len(present) != 1:
        raise BundleFormatError("verificationMaterial must hold exactly one of publicKey, x509CertificateChain "
                                "or certificate")
    entries = material.get("tlogEntries", [])
    if not isinstance(entries, list):
        raise BundleFormatError("verificationMaterial.tlogEntries must be a list")
    if present[0] == "publicKey":
        key = _object(material["publicKey"], "verificationMaterial.publicKey")
        hint = key.get("hint")
        # Older bundles name the key by rawBytes instead of a hint; both are optional, the key comes from the user.
        if hint is not None:
            hint = _string(hint, "verificationMaterial.publicKey.hint", limit=MAX_HINT_CHARS, empty=True)
        return VerificationMaterial(method="key", key_hint=hint or None)
    if present[0] == "x509CertificateChain":
        chain = _object(material["x509CertificateChain"], "verificationMaterial.x509CertificateChain")
        certificates = chain.get("certificates")
        if not isinstance(certificates, list) or not certificates:
            raise BundleFormatError("x509CertificateChain.certificates must list at least the signing certificate")
        if len(certificates) > MAX_CERTIFICATES:
            raise BundleFormatError(f"x509CertificateChain holds {len(certificates)} certificates, more than "
                                    f"{MAX_CERTIFICATES}")
        ders = tuple(_certificate_bytes(item, f"x509CertificateChain.certificates[{i}]")
                     for i, item in enumerate(certificates))
        return VerificationMaterial(method="certificate", certificates=ders)
    if not entries:
        raise BundleFormatError("a keyless Sigstore bundle (verificationMaterial.certificate) needs tlogEntries")
    der = _certificate_bytes(material["certificate"], "verificationMaterial.certificate")
    return VerificationMaterial(method="sigstore", certificates=(der,))


def _certificate_bytes(value: object, where: str) -> bytes:
    entry = _object(value, where)
    der = _decode_b64(entry.get("rawBytes"), f"{where}.rawBytes")
    if len(der) > MAX_CERTIFICATE_BYTES:
        raise BundleFormatError(f"{where} is larger than {MAX_CERTIFICATE_BYTES} bytes")
    return der


def _parse_envelope(value: object) -> Envelope:
    envelope = _object(value, "dsseEnvelope")
    _only_fields(envelope, "dsseEnvelope", required=("payload", "payloadType", "signatures"))
    payload_type = envelope["payloadType"]
    if not isinstance(payload_type, str) or payload_type != PAYLOAD_TYPE:
        raise BundleFormatError(f"dsseEnvelope.payloadType {_show(payload_type)} is not {PAYLOAD_TYPE}")
    payload = _decode_b64(envelope["payload"], "dsseEnvelope.payload")
    signatures = envelope["signatures"]
    # DSSE allows several signatures; OMS producers write exactly one, and model-signing checks only the first,
    # so a second one could never be checked the same way by every verifier: refuse it.
    if not isinstance(signatures, list) or len(signatures) != 1:
        raise BundleFormatError("dsseEnvelope.signatures must hold exactly one signature")
    entry = _object(signatures[0], "dsseEnvelope.signatures[0]")
    _only_fields(entry, "dsseEnvelope.signatures[0]", required=("sig",), optional=("keyid",))
    keyid = entry.get("keyid")
    if keyid is not None and not isinstance(keyid, str):
        raise BundleFormatError("dsseEnvelope.signatures[0].keyid must be a string or null")
    sig = _decode_b64(entry["sig"], "dsseEnvelope.signatures[0].sig")
    return Envelope(payload=payload, payload_type=payload_type,
                    signatures=(DsseSignature(sig=sig, keyid=(keyid or "")[:MAX_HINT_CHARS]),))


# --- bounded JSON ---------------------------------------------------------------------------------------------

def _load_json(data: bytes, what: str) -> dict[str, Any]:
    if len(data) > MAX_BUNDLE_BYTES:
        raise BundleFormatError(f"the {what} is {len(data)} bytes, over the {MAX_BUNDLE_BYTES}-byte limit")
    if not data.strip():
        raise BundleFormatError(f"the {what} is empty")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BundleFormatError(f"the {what} is not UTF-8 JSON") from None
    try:
        document = json.loads(text, object_pairs_hook=reject_duplicate_keys)
    except RecursionError:
        raise BundleFormatError(f"the {what} nests deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError as exc:  # JSONDecodeError, duplicate keys, integers past Python's digit limit
        raise BundleFormatError(f"the {what} is not valid JSON ({_short(str(exc))})") from None
    if not isinstance(document, dict):
        raise BundleFormatError(f"the {what} must be a JSON object")
    _check_depth(document, what)
    return document


def reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` for signed JSON: two "payload" (or "subject") keys would let two verifiers read two
    different documents from one signed file."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key[:40]!r}")
        result[key] = value
    return result


def _check_depth(document: object, what: str) -> None:
    stack: list[tuple[object, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise BundleFormatError(f"the {what} nests deeper than {MAX_JSON_DEPTH} levels")
        children: Iterable[object] = ()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))


def _only_fields(document: Mapping[str, Any], where: str, *, required: Sequence[str] = (),
                 optional: Sequence[str] = ()) -> None:
    missing = [k for k in required if k not in document]
    if missing:
        raise BundleFormatError(f"{where} lacks {', '.join(missing)}")
    unknown = sorted(set(document) - set(required) - set(optional))
    if unknown:
        raise BundleFormatError(f"{where} has unknown field {_show(unknown[0])}")


def _object(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BundleFormatError(f"{where} must be a JSON object")
    return value


def _string(value: object, where: str, *, limit: int, empty: bool = False) -> str:
    if not isinstance(value, str) or (not value and not empty):
        raise BundleFormatError(f"{where} must be a non-empty string")
    if len(value) > limit:
        raise BundleFormatError(f"{where} is longer than {limit} characters")
    return value


def _decode_b64(value: object, where: str) -> bytes:
    """Base64 as protobuf's JSON mapping allows it: the standard or URL-safe alphabet, padded or not."""
    if not isinstance(value, str) or not value:
        raise BundleFormatError(f"{where} must be a non-empty base64 string")
    text = value.strip()
    if _STANDARD_B64.fullmatch(text):
        alphabet = b"+/"
    elif _URLSAFE_B64.fullmatch(text):
        alphabet = b"-_"
    else:
        raise BundleFormatError(f"{where} is not base64")
    unpadded = text.rstrip("=")
    if len(unpadded) % 4 == 1:
        raise BundleFormatError(f"{where} is truncated base64")
    try:
        decoded = base64.b64decode(unpadded + "=" * (-len(unpadded) % 4), altchars=alphabet, validate=True)
    except (binascii.Error, ValueError):
        raise BundleFormatError(f"{where} is not base64") from None
    if not decoded:
        raise BundleFormatError(f"{where} is empty")
    return decoded


def _show(value: object) -> str:
    """A hostile value, quoted and cut short, for an error message."""
    return repr(value)[:80] if not isinstance(value, str) else repr(value[:60])


def _short(text: str) -> str:
    return text[:120]
