"""Sign a model: hash it the OMS way, sign the in-toto statement as a DSSE envelope, write the Sigstore bundle.

Two offline methods: a bare private key (the bundle names the key by its hint) and a certificate chain (the bundle
carries the signing certificate and its intermediates). Keyless Sigstore signing (OIDC identity, Fulcio, Rekor)
is out of scope: it needs the network. The signature goes to ``model.sig`` inside a model folder (beside the
files, as model-signing users keep it) or beside a single-file model, unless ``output`` says otherwise; when it
lies inside the model it is listed in ``ignore_paths``, so it never signs itself and verifiers skip it.

This module never writes a partial signature (temporary file, renamed after success), never writes a signature
that its own verifier would refuse for a reason known at signing time (a certificate that does not match the key,
is expired or may not sign), and never puts key material into messages.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path, PurePosixPath

from cryptography import x509

from mlwarden.core.errors import InputError
from mlwarden.core.policy import write_atomic
from mlwarden.integrity import certificates, keys, oms
from mlwarden.integrity.hashing import hash_model
from mlwarden.integrity.model import HashSettings

DEFAULT_SIGNATURE_NAME = "model.sig"
# What model-signing leaves out of a signature by default (its --ignore-git-paths): version-control metadata
# that changes with every checkout and is never loaded as part of the model.
GIT_PATHS: tuple[str, ...] = (".git", ".gitattributes", ".github", ".gitignore")
DEFAULT_SETTINGS = HashSettings()  # files, SHA-256, no symlinks: what model-signing signs with by default


def default_signature_path(model: Path) -> Path:
    """``MODEL/model.sig`` for a folder, ``model.sig`` in the same folder for a single-file model."""
    return model / DEFAULT_SIGNATURE_NAME if model.is_dir() else model.parent / DEFAULT_SIGNATURE_NAME


def signature_ignore_path(model: Path, signature: Path) -> str | None:
    """The signature's path relative to a model folder (POSIX), when it lies inside it; else None."""
    if not model.is_dir():
        return None
    try:
        relative = signature.resolve().relative_to(model.resolve())
    except ValueError:
        return None
    text = PurePosixPath(*relative.parts).as_posix()
    return text if text not in ("", ".") else None


def sign_model(model: Path, *, key: keys.PrivateKey, output: Path | None = None,
               settings: HashSettings = DEFAULT_SETTINGS,
               certificate_chain: Sequence[x509.Certificate] = (),
               model_name: str | None = None, workers: int | None = None,
               now: datetime | None = None) -> Path:
    """Sign the model at ``model`` (a folder or one file) with ``key`` and return the signature's path.

    ``settings`` chooses files or shards, the hash and ``ignore_paths`` (POSIX paths relative to the model);
    ``certificate_chain`` (signing certificate first, then intermediates) selects the certificate method, whose
    certificate must belong to ``key``, be valid at ``now`` and allow signing. Raises ``InputError`` for a
    missing model, a key or certificate that cannot sign, or an unwritable output.
    """
    if not model.exists():
        raise InputError(f"model {model} does not exist: give the model folder or file to sign")
    algorithm = keys.key_algorithm(key)  # InputError for key types mlwarden does not sign with
    signature_path = output if output is not None else default_signature_path(model)
    if signature_path.exists() and signature_path.is_dir():
        raise InputError(f"cannot write the signature to {signature_path}: it is a folder; give a file path")

    inside = signature_ignore_path(model, signature_path)
    if inside is not None and inside not in settings.ignore_paths:
        settings = dataclasses.replace(settings, ignore_paths=(*settings.ignore_paths, inside))

    if certificate_chain:
        certificates.check_signing_certificate(certificate_chain[0], key=key, now=now)
        material = oms.certificate_material([certificates.certificate_der(c) for c in certificate_chain])
    else:
        material = oms.key_material(key)

    manifest = hash_model(model, settings, model_name=model_name, workers=workers)
    payload = oms.statement_payload(manifest)
    signature = keys.scheme(algorithm).sign(key, oms.pae(oms.PAYLOAD_TYPE, payload))
    document = oms.bundle_document(payload=payload, signature=signature, material=material)
    write_atomic(signature_path, document)
    return signature_path
