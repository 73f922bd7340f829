"""SLSA provenance for a signed model: what it was built from, signed with the model's key, bound to its digest.

``mlwarden sign --provenance SPEC`` writes, beside the OMS signature ``model.sig``, a second Sigstore bundle
``model.provenance.sig`` whose DSSE envelope carries an in-toto Statement v1 with predicate type
``https://slsa.dev/provenance/v1``:

- ``subject``: the model, with the same name and the same SHA-256 root digest as the OMS signature's subject;
- ``buildDefinition``: ``buildType`` (mlwarden's model-build type), ``externalParameters.parameters`` (training
  parameters as given), ``resolvedDependencies`` (each dataset with its digests, the code as a ``git+https`` URI
  with a ``gitCommit`` digest, the base model), each annotated with its ``role``;
- ``runDetails``: the builder id and, when known, start and finish times.

It is signed with the same key and carries the same verification material (key hint or certificate chain) as the
signature, so any Sigstore/DSSE tool can read it. ``verify_provenance`` accepts it only when the signature over it
verifies with the key that verified the model signature (same fingerprint) and its subject digest equals the
signed root digest; anything else is an MW-TRUST-007 finding. A separate file, not a second signature in the OMS
bundle: OMS bundles hold exactly one signature over one OMS predicate, and model-signing must keep verifying ours.
When the provenance file lies inside the model folder it must be listed in the signature's ``ignore_paths``
(``settings_with_provenance`` does that before signing), or it would count as an unsigned file.

This module never puts key material into messages, never writes a partial file (temporary file, renamed after
success), never loads a model or dataset (files given by path are only hashed), and parses the statement with
bounded size and depth: a hostile file gives ``ProvenanceFormatError`` or a problem sentence, never a traceback.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
import stat
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mlwarden.core.errors import ConfigError, InputError
from mlwarden.core.findings import Finding, Location
from mlwarden.core.policy import write_atomic
from mlwarden.core.rules import make_finding
from mlwarden.integrity import keys, oms
from mlwarden.integrity.model import HashSettings, SignatureVerdict

__all__ = [
    "BUILD_TYPE",
    "DEFAULT_BUILDER_ID",
    "PREDICATE_TYPE",
    "ArtifactReference",
    "AttachedProvenance",
    "CodeRevision",
    "Provenance",
    "ProvenanceFormatError",
    "ProvenanceVerdict",
    "attach_provenance",
    "build_statement",
    "load_provenance_spec",
    "parse_statement",
    "provenance_findings",
    "provenance_path_for",
    "provenance_summary",
    "settings_with_provenance",
    "verify_provenance",
]

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
# SLSA: buildType is a URI naming the template of the build; ours says "a model trained or converted from
# these inputs, attested by mlwarden sign". The builder id defaults to mlwarden itself (a local, unattested run).
BUILD_TYPE = "https://mlwarden.dev/slsa/model-build/v1"
DEFAULT_BUILDER_ID = "https://mlwarden.dev/builders/local"
PROVENANCE_SUFFIX = ".provenance"
# A statement is a few KiB; hundreds of datasets still fit. Depth: statement 6 levels plus user parameters.
MAX_STATEMENT_BYTES = 4 * 1024 * 1024
MAX_JSON_DEPTH = 48
MAX_DEPENDENCIES = 10_000
MAX_TEXT_CHARS = 4096
MAX_SPEC_BYTES = 1024 * 1024
_HEX = re.compile(r"[0-9a-f]+")
_COMMIT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")  # SHA-1 or SHA-256 git object names
_DIGEST_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,31}")
_HASH_CHUNK = 1024 * 1024


class ProvenanceFormatError(InputError):
    """The provenance statement is malformed; ``reason`` says which field and why."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"not a valid SLSA provenance statement: {reason}")
        self.reason = reason


# --- values ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ArtifactReference:
    """A dataset or base model, as an SLSA ResourceDescriptor: a name, digests (algorithm, lowercase hex) and
    where it came from."""

    name: str
    digest: tuple[tuple[str, str], ...]
    uri: str | None = None

    def digest_dict(self) -> dict[str, str]:
        return dict(self.digest)


@dataclass(frozen=True, slots=True)
class CodeRevision:
    """The training code: a VCS URI (``git+https://host/org/repo``) and the commit (40 or 64 hex digits)."""

    uri: str
    commit: str


@dataclass(frozen=True, slots=True)
class Provenance:
    """What a model came from. ``parameters`` are plain JSON values (training parameters, as given)."""

    datasets: tuple[ArtifactReference, ...] = ()
    code: CodeRevision | None = None
    base_model: ArtifactReference | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict, hash=False)
    builder_id: str = DEFAULT_BUILDER_ID
    build_type: str = BUILD_TYPE
    started_on: str | None = None
    finished_on: str | None = None


@dataclass(frozen=True, slots=True)
class ProvenanceVerdict:
    """The outcome of checking one provenance file against a model signature's verdict. ``ok``: the signature over
    it verified with the model signer's key and it is bound to the signed root digest; ``provenance`` is then what
    it says (None otherwise); ``problems`` are short sentences."""

    path: str
    ok: bool
    provenance: Provenance | None = None
    subject_name: str | None = None
    subject_digest: str | None = None
    statement_sha256: str | None = None
    problems: tuple[str, ...] = ()


# --- paths -----------------------------------------------------------------------------------------------------

def provenance_path_for(signature: Path) -> Path:
    """Where the provenance of a signature goes: ``model.sig`` -> ``model.provenance.sig``."""
    suffix = signature.suffix or ".sig"
    stem = signature.stem if signature.suffix else signature.name
    return signature.with_name(f"{stem}{PROVENANCE_SUFFIX}{suffix}")


def settings_with_provenance(model: Path, signature: Path, settings: HashSettings) -> HashSettings:
    """``settings`` with the provenance file added to ``ignore_paths`` when it lies inside the model folder, so
    that the signature never covers (nor later misses) it. Call before ``sign_model``."""
    from mlwarden.integrity.sign import signature_ignore_path

    inside = signature_ignore_path(model, provenance_path_for(signature))
    if inside is None or inside in settings.ignore_paths:
        return settings
    return dataclasses.replace(settings, ignore_paths=(*settings.ignore_paths, inside))


# --- building and signing --------------------------------------------------------------------------------------

def build_statement(*, model_name: str, subject_digest: str, provenance: Provenance,
                    subject_algorithm: str = "sha256") -> dict[str, Any]:
    """The in-toto Statement v1 with the SLSA provenance v1 predicate, for the model with this root digest."""
    dependencies: list[dict[str, Any]] = []
    for dataset in provenance.datasets:
        dependencies.append(_descriptor(dataset, "dataset"))
    if provenance.code is not None:
        dependencies.append({"uri": provenance.code.uri, "digest": {"gitCommit": provenance.code.commit},
                             "annotations": {"role": "code"}})
    if provenance.base_model is not None:
        dependencies.append(_descriptor(provenance.base_model, "base-model"))
    run_details: dict[str, Any] = {"builder": {"id": provenance.builder_id}}
    metadata = {key: value for key, value in (("startedOn", provenance.started_on),
                                              ("finishedOn", provenance.finished_on)) if value is not None}
    if metadata:
        run_details["metadata"] = metadata
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": model_name, "digest": {subject_algorithm: subject_digest}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": {
                "buildType": provenance.build_type,
                "externalParameters": {"parameters": dict(provenance.parameters)},
                "resolvedDependencies": dependencies,
            },
            "runDetails": run_details,
        },
    }


def _descriptor(reference: ArtifactReference, role: str) -> dict[str, Any]:
    descriptor: dict[str, Any] = {"name": reference.name, "digest": reference.digest_dict()}
    if reference.uri is not None:
        descriptor["uri"] = reference.uri
    descriptor["annotations"] = {"role": role}
    return descriptor


def statement_payload(statement: Mapping[str, Any]) -> bytes:
    """The DSSE payload bytes: indented JSON, as the OMS statement is written (any layout verifies: DSSE signs
    the exact bytes)."""
    try:
        return json.dumps(statement, indent=2, allow_nan=False).encode("utf-8")
    except ValueError as exc:  # NaN or infinity among the parameters
        raise InputError(f"provenance parameters must be plain JSON numbers ({exc}); fix the provenance spec"
                         ) from None


@dataclass(frozen=True, slots=True)
class AttachedProvenance:
    """What ``attach_provenance`` wrote: the file, the SHA-256 of its signed statement, the subject it is bound to
    and the summary to record in the signing registry."""

    path: Path
    statement_sha256: str
    subject_name: str
    subject_digest: str
    summary: Mapping[str, Any] = field(hash=False)


def attach_provenance(signature: Path, provenance: Provenance, *, key: keys.PrivateKey,
                      certificate_chain: Sequence[x509.Certificate] = (), output: Path | None = None
                      ) -> AttachedProvenance:
    """Sign ``provenance`` for the model that ``signature`` (just written by ``sign_model`` with ``key``) covers,
    bound to the same subject, and write it to ``output`` (default ``provenance_path_for(signature)``).

    The signature file is read back and must verify with ``key``: provenance is never attached to a signature
    made with another key. ``certificate_chain`` is the one given to ``sign_model`` (same material in both files).
    """
    from mlwarden.integrity import certificates

    target = output if output is not None else provenance_path_for(signature)
    public_key = keys.public_key_of(key)
    bundle = _read_bundle(signature, "signature")
    if not keys.verify_bytes(public_key, bundle.envelope.signatures[0].sig,
                             oms.pae(bundle.envelope.payload_type, bundle.envelope.payload)):
        raise InputError(f"signature {signature} was not made with this key; attach provenance with the key that "
                         "signed the model")
    signed = oms.parse_statement(bundle.envelope.payload)
    statement = build_statement(model_name=signed.model_name, subject_digest=signed.claimed_subject_digest,
                                subject_algorithm=signed.subject_algorithm, provenance=provenance)
    payload = statement_payload(statement)
    if certificate_chain:
        material = oms.certificate_material([certificates.certificate_der(c) for c in certificate_chain])
    else:
        material = oms.key_material(key)
    sig = keys.sign_bytes(key, oms.pae(oms.PAYLOAD_TYPE, payload))
    write_atomic(target, oms.bundle_document(payload=payload, signature=sig, material=material))
    statement_sha256 = hashlib.sha256(payload).hexdigest()
    return AttachedProvenance(path=target, statement_sha256=statement_sha256, subject_name=signed.model_name,
                              subject_digest=signed.claimed_subject_digest,
                              summary=provenance_summary(provenance, statement_sha256=statement_sha256))


# --- verifying -------------------------------------------------------------------------------------------------

def verify_provenance(path: Path, *, verdict: SignatureVerdict, public_key: keys.PublicKey | None = None
                      ) -> ProvenanceVerdict:
    """Check the provenance file at ``path`` against the model signature's ``verdict``.

    The key is the model signer's: ``public_key`` when given (its fingerprint must be the signer's), else the
    signing certificate in the provenance file, whose key must have the signer's fingerprint (the model
    signature's chain was validated; the same key proves the same signer). Raises ``InputError`` only when the
    file does not exist or cannot be read; every other problem is in the verdict.
    """
    base = ProvenanceVerdict(path=str(path), ok=False)
    signer, manifest = verdict.signer, verdict.manifest
    if not verdict.signature_ok or verdict.problems or signer is None or manifest is None:
        return dataclasses.replace(base, problems=("the model signature did not verify, so no provenance can be "
                                                   "bound to it",))
    try:
        bundle = _read_bundle(path, "provenance")
    except oms.BundleFormatError as exc:
        return dataclasses.replace(base, problems=(f"the provenance file is not a signed bundle: {exc.reason}",))
    verifying_key, problem = _provenance_key(bundle.material, public_key, signer.key_fingerprint)
    if verifying_key is None:
        return dataclasses.replace(base, problems=(problem,))
    envelope = bundle.envelope
    if not keys.verify_bytes(verifying_key, envelope.signatures[0].sig, oms.pae(envelope.payload_type,
                                                                                 envelope.payload)):
        return dataclasses.replace(base, problems=("the signature over the provenance does not verify with the "
                                                   "model signer's key: it was edited or signed by someone else",))
    digest = hashlib.sha256(envelope.payload).hexdigest()
    try:
        name, subjects, provenance = parse_statement(envelope.payload)
    except ProvenanceFormatError as exc:
        return dataclasses.replace(base, statement_sha256=digest, problems=(exc.reason,))
    bound = subjects.get(manifest.subject_algorithm)
    result = dataclasses.replace(base, subject_name=name, subject_digest=bound, statement_sha256=digest)
    if bound != manifest.subject_digest:
        return dataclasses.replace(result, problems=(
            f"the provenance is for another model: its subject digest {(bound or 'missing')[:16]} is not the "
            f"signed root digest {manifest.subject_digest[:16]}",))
    return dataclasses.replace(result, ok=True, provenance=provenance)


def _provenance_key(material: oms.VerificationMaterial, public_key: keys.PublicKey | None, fingerprint: str
                    ) -> tuple[keys.PublicKey | None, str]:
    from mlwarden.integrity import certificates

    if public_key is not None:
        candidate = public_key
    elif material.method == "certificate" and material.certificates:
        try:
            leaf = certificates.parse_chain(material.certificates[:1])[0]
            candidate = leaf.public_key()  # type: ignore[assignment]
            keys.scheme_of(candidate)
        except InputError:
            return None, "the provenance's certificate holds no key mlwarden verifies"
    else:
        return None, "the provenance was signed with a bare key: verify it with the signer's public key"
    try:
        if keys.key_fingerprint(candidate) != fingerprint.lower():
            return None, "the provenance is signed with another key than the model signature"
        if material.method == "key" and material.key_hint is not None and material.key_hint != oms.key_hint(candidate):
            return None, "the provenance names another key than the model signer's"
    except (InputError, ValueError, TypeError):
        return None, "the provenance's key cannot be used"
    return candidate, ""


def _read_bundle(path: Path, what: str) -> oms.Bundle:
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"{what} {path} is not a regular file; give the .sig file")
        with path.open("rb") as handle:
            data = handle.read(oms.MAX_BUNDLE_BYTES + 1)
    except FileNotFoundError:
        raise InputError(f"{what} file {path} does not exist; check the path") from None
    except OSError as exc:
        raise InputError(f"cannot read {what} file {path}: {exc.strerror}; check its permissions") from None
    return oms.parse_bundle(data)


# --- parsing ---------------------------------------------------------------------------------------------------

def parse_statement(payload: bytes) -> tuple[str, dict[str, str], Provenance]:
    """Parse a DSSE payload as an SLSA provenance v1 statement: (subject name, subject digests, provenance).
    Raises ``ProvenanceFormatError`` for anything else, whatever the bytes; unknown fields are ignored (SLSA
    allows extensions), known ones are type-checked."""
    document = _load_json(payload)
    if document.get("_type") != STATEMENT_TYPE:
        raise ProvenanceFormatError(f"_type is not {STATEMENT_TYPE}")
    if document.get("predicateType") != PREDICATE_TYPE:
        raise ProvenanceFormatError(f"predicateType is not {PREDICATE_TYPE}")
    subjects = document.get("subject")
    if not isinstance(subjects, list) or len(subjects) != 1:
        raise ProvenanceFormatError("subject must list exactly one subject (the model)")
    subject = _object(subjects[0], "subject[0]")
    name = _text(subject.get("name"), "subject[0].name")
    digests = _digest_set(subject.get("digest"), "subject[0].digest")
    predicate = _object(document.get("predicate"), "predicate")
    definition = _object(predicate.get("buildDefinition"), "predicate.buildDefinition")
    build_type = _text(definition.get("buildType"), "buildDefinition.buildType")
    external = _object(definition.get("externalParameters", {}), "buildDefinition.externalParameters")
    parameters = _object(external.get("parameters", {}), "externalParameters.parameters")
    raw_dependencies = definition.get("resolvedDependencies", [])
    if not isinstance(raw_dependencies, list) or len(raw_dependencies) > MAX_DEPENDENCIES:
        raise ProvenanceFormatError(f"resolvedDependencies must be a list of at most {MAX_DEPENDENCIES} entries")
    datasets: list[ArtifactReference] = []
    code: CodeRevision | None = None
    base_model: ArtifactReference | None = None
    for index, raw in enumerate(raw_dependencies):
        where = f"resolvedDependencies[{index}]"
        entry = _object(raw, where)
        annotations = _object(entry.get("annotations", {}), f"{where}.annotations")
        role = annotations.get("role")
        digest = _digest_set(entry.get("digest"), f"{where}.digest")
        uri = _optional_text(entry.get("uri"), f"{where}.uri")
        if role == "code":
            commit = digest.get("gitCommit")
            if uri is None or commit is None or not _COMMIT.fullmatch(commit):
                raise ProvenanceFormatError(f"{where}: code needs a uri and a gitCommit digest of 40 or 64 hex "
                                            "digits")
            code = CodeRevision(uri=uri, commit=commit)
            continue
        reference = ArtifactReference(name=_text(entry.get("name", uri), f"{where}.name"),
                                      digest=tuple(sorted(digest.items())), uri=uri)
        if role == "base-model":
            base_model = reference
        else:  # datasets, and dependencies of other roles written by other tools
            datasets.append(reference)
    run_details = _object(predicate.get("runDetails"), "predicate.runDetails")
    builder = _object(run_details.get("builder"), "runDetails.builder")
    metadata = _object(run_details.get("metadata", {}), "runDetails.metadata")
    provenance = Provenance(
        datasets=tuple(datasets), code=code, base_model=base_model, parameters=parameters,
        builder_id=_text(builder.get("id"), "runDetails.builder.id"), build_type=build_type,
        started_on=_optional_text(metadata.get("startedOn"), "metadata.startedOn"),
        finished_on=_optional_text(metadata.get("finishedOn"), "metadata.finishedOn"))
    return name, digests, provenance


def _load_json(payload: bytes) -> dict[str, Any]:
    if len(payload) > MAX_STATEMENT_BYTES:
        raise ProvenanceFormatError(f"the statement is larger than {MAX_STATEMENT_BYTES} bytes")
    try:
        document = json.loads(payload.decode("utf-8"), object_pairs_hook=oms.reject_duplicate_keys,
                              parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise ProvenanceFormatError("the statement is not UTF-8 JSON") from None
    except RecursionError:
        raise ProvenanceFormatError(f"the statement nests deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError as exc:
        raise ProvenanceFormatError(f"the statement is not valid JSON ({str(exc)[:100]})") from None
    if not isinstance(document, dict):
        raise ProvenanceFormatError("the statement must be a JSON object")
    stack: list[tuple[object, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise ProvenanceFormatError(f"the statement nests deeper than {MAX_JSON_DEPTH} levels")
        children: Iterable[object] = value.values() if isinstance(value, dict) else value  # type: ignore[assignment]
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return document


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _object(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ProvenanceFormatError(f"{where} must be a JSON object")
    return value


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_TEXT_CHARS:
        raise ProvenanceFormatError(f"{where} must be a non-empty string of at most {MAX_TEXT_CHARS} characters")
    return value


def _optional_text(value: object, where: str) -> str | None:
    return None if value is None else _text(value, where)


def _digest_set(value: object, where: str) -> dict[str, str]:
    digests = _object(value, where)
    if not digests or len(digests) > 16:
        raise ProvenanceFormatError(f"{where} must hold between 1 and 16 digests")
    for algorithm, digest in digests.items():
        if not _DIGEST_NAME.fullmatch(algorithm.lower()) or not isinstance(digest, str) \
                or not _HEX.fullmatch(digest) or len(digest) > 256:
            raise ProvenanceFormatError(f"{where}: {algorithm[:32]!r} must map to lowercase hex")
    return dict(digests)


# --- reporting -------------------------------------------------------------------------------------------------

def provenance_findings(verdict: ProvenanceVerdict) -> list[Finding]:
    """One MW-TRUST-007 finding per problem; none when the provenance verified and is bound to the model."""
    return [make_finding("MW-TRUST-007", Location(verdict.path), problem, scanner="provenance",
                         data={"provenance": verdict.path, "subject_digest": verdict.subject_digest})
            for problem in verdict.problems]


def provenance_summary(provenance: Provenance, *, statement_sha256: str | None = None) -> dict[str, Any]:
    """What the signing registry keeps of a provenance statement: the answer to "what data did this version come
    from". Strings only (parameter names, not values), so the registry's canonical JSON stays exact."""
    summary: dict[str, Any] = {
        "builder": provenance.builder_id,
        "datasets": [_reference_summary(d) for d in provenance.datasets],
    }
    if provenance.code is not None:
        summary["code"] = {"uri": provenance.code.uri, "commit": provenance.code.commit}
    if provenance.base_model is not None:
        summary["base_model"] = _reference_summary(provenance.base_model)
    if provenance.parameters:
        summary["parameters"] = sorted(provenance.parameters)
    if statement_sha256 is not None:
        summary["statement_sha256"] = statement_sha256
    return summary


def _reference_summary(reference: ArtifactReference) -> dict[str, Any]:
    out: dict[str, Any] = {"name": reference.name, "digest": reference.digest_dict()}
    if reference.uri is not None:
        out["uri"] = reference.uri
    return out


# --- the provenance spec file ----------------------------------------------------------------------------------

class _ReferenceSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    uri: str | None = Field(default=None, min_length=1, max_length=MAX_TEXT_CHARS)
    digest: dict[str, str] | None = None
    path: str | None = Field(default=None, min_length=1, max_length=MAX_TEXT_CHARS)

    @field_validator("digest")
    @classmethod
    def _hex_digests(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is None:
            return None
        if not value or len(value) > 16:
            raise ValueError("digest must hold between 1 and 16 algorithm = hex entries")
        cleaned: dict[str, str] = {}
        for algorithm, digest in value.items():
            text = digest.strip().lower()
            if not _DIGEST_NAME.fullmatch(algorithm) or not _HEX.fullmatch(text) or len(text) > 256:
                raise ValueError(f"digest '{algorithm[:32]}' must be a lowercase algorithm name mapped to hex")
            cleaned[algorithm] = text
        return cleaned

    @model_validator(mode="after")
    def _digest_or_path(self) -> _ReferenceSpec:
        if (self.digest is None) == (self.path is None):
            raise ValueError("give exactly one of digest (e.g. { sha256 = \"...\" }) or path (a file to hash)")
        return self


class _CodeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    uri: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    commit: str

    @field_validator("commit")
    @classmethod
    def _object_name(cls, value: str) -> str:
        text = value.strip().lower()
        if not _COMMIT.fullmatch(text):
            raise ValueError("commit must be a full git commit id (40 or 64 hex digits), not a branch or tag")
        return text

    @field_validator("uri")
    @classmethod
    def _vcs_uri(cls, value: str) -> str:
        if not re.fullmatch(r"git\+(https|ssh|file)://\S+", value):
            raise ValueError("uri must be a git+https:// (or git+ssh://, git+file://) repository URI")
        return value


class _ProvenanceSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    builder_id: str = Field(default=DEFAULT_BUILDER_ID, min_length=1, max_length=MAX_TEXT_CHARS)
    build_type: str = Field(default=BUILD_TYPE, min_length=1, max_length=MAX_TEXT_CHARS)
    started_on: str | None = None
    finished_on: str | None = None
    code: _CodeSpec | None = None
    datasets: tuple[_ReferenceSpec, ...] = Field(default=(), max_length=MAX_DEPENDENCIES)
    base_model: _ReferenceSpec | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)

    @field_validator("parameters")
    @classmethod
    def _plain_json(cls, value: dict[str, Any]) -> dict[str, Any]:
        _check_plain_json(value, depth=0)
        return value

    @field_validator("started_on", "finished_on", mode="before")
    @classmethod
    def _times_as_text(cls, value: Any) -> Any:
        # TOML has a datetime type; SLSA wants RFC 3339 text.
        return value.isoformat() if hasattr(value, "isoformat") else value


def _check_plain_json(value: Any, depth: int) -> None:
    if depth > 16:
        raise ValueError("parameters nest deeper than 16 levels")
    if isinstance(value, dict):
        for item in value.values():
            _check_plain_json(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_plain_json(item, depth + 1)
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueError("parameters must be finite numbers")
    elif not isinstance(value, str | int | float | bool) and value is not None:
        raise ValueError(f"parameters hold a {type(value).__name__}; use strings, numbers, lists and tables")


def load_provenance_spec(path: Path) -> Provenance:
    """Read a provenance spec (TOML, or JSON when it ends in .json) for ``sign --provenance``::

        builder_id = "https://ci.example.com/runners/7"
        [code]
        uri = "git+https://github.com/example/train"
        commit = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
        [[datasets]]
        name = "wiki-2024"
        digest = { sha256 = "..." }       # or: path = "data/wiki.parquet" (hashed with SHA-256)
        [base_model]
        name = "bert-base-uncased"
        uri = "https://huggingface.co/bert-base-uncased"
        digest = { sha256 = "..." }
        [parameters]
        learning_rate = 3e-5

    Relative ``path`` entries are relative to the spec file. Every mistake is a one-line ConfigError.
    """
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_SPEC_BYTES:
            raise ConfigError(f"provenance spec {path} is not a regular file of at most {MAX_SPEC_BYTES} bytes")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"provenance spec {path} does not exist; check --provenance") from None
    except OSError as exc:
        raise ConfigError(f"cannot read provenance spec {path}: {exc.strerror}; check its permissions") from None
    try:
        text = raw.decode("utf-8")
        data = json.loads(text, parse_constant=_no_constant) if path.suffix == ".json" else tomllib.loads(text)
    except UnicodeDecodeError:
        raise ConfigError(f"provenance spec {path} is not UTF-8 text") from None
    except RecursionError:
        raise ConfigError(f"provenance spec {path} nests too deeply") from None
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"provenance spec {path} is not valid {'JSON' if path.suffix == '.json' else 'TOML'} "
                          f"({str(exc)[:120]}); fix the syntax") from None
    if not isinstance(data, dict):
        raise ConfigError(f"provenance spec {path} must be a table of keys")
    try:
        spec = _ProvenanceSpec.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "spec"
        message = str(error["msg"]).removeprefix("Value error, ").replace("\n", " ")
        raise ConfigError(f"{path.name}: '{where}': {message}; fix the provenance spec") from None
    base = path.parent
    return Provenance(
        datasets=tuple(_reference(item, base) for item in spec.datasets),
        code=CodeRevision(uri=spec.code.uri, commit=spec.code.commit) if spec.code else None,
        base_model=_reference(spec.base_model, base) if spec.base_model else None,
        parameters=spec.parameters, builder_id=spec.builder_id, build_type=spec.build_type,
        started_on=spec.started_on, finished_on=spec.finished_on)


def _reference(spec: _ReferenceSpec, base: Path) -> ArtifactReference:
    if spec.digest is not None:
        return ArtifactReference(name=spec.name, digest=tuple(sorted(spec.digest.items())), uri=spec.uri)
    target = Path(spec.path or "")
    target = target if target.is_absolute() else base / target
    return ArtifactReference(name=spec.name, digest=(("sha256", _sha256_file(target)),),
                             uri=spec.uri or target.resolve().as_uri())


def _sha256_file(path: Path) -> str:
    """SHA-256 of one file's bytes (read in chunks: datasets are large). Folders: sign them, give the digest."""
    try:
        info = path.stat()
    except OSError as exc:
        raise ConfigError(f"dataset {path} cannot be read ({exc.strerror}); check the path in the spec") from None
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"dataset {path} is not a regular file; give a file, or a digest for a folder")
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(_HASH_CHUNK):
                digest.update(chunk)
    except OSError as exc:
        raise ConfigError(f"dataset {path} cannot be read ({exc.strerror}); check its permissions") from None
    return digest.hexdigest()

