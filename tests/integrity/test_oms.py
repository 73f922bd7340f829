"""OMS bundles: DSSE PAE, the statement and bundle layout, key hints, strict bounded parsing, the spec's vectors."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlwarden.integrity import keys, oms
from mlwarden.integrity.hashing import subject_digest
from mlwarden.integrity.model import HashSettings, Manifest, ResourceDigest
from mlwarden.integrity.oms import BundleFormatError

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO / ".." / "shared" / "schemas" / "oms-v1.0"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="shared/schemas/oms-v1.0 is not beside the repository")

DIGEST_A = hashlib.sha256(b"a").hexdigest()
DIGEST_B = hashlib.sha256(b"b").hexdigest()


def manifest(settings: HashSettings = HashSettings()) -> Manifest:
    algorithm = "sha256" if settings.method == "files" else f"sha256-sharded-{settings.shard_size}"
    names = ("a.bin", "sub/b.bin") if settings.method == "files" else ("a.bin:0:1", "sub/b.bin:0:1")
    resources = (ResourceDigest(names[0], algorithm, DIGEST_A), ResourceDigest(names[1], algorithm, DIGEST_B))
    return Manifest(model_name="demo", settings=settings, resources=resources,
                    subject_digest=subject_digest(resources, method=settings.method))


def signed_bundle(key: keys.PrivateKey | None = None, payload: bytes | None = None) -> tuple[str, keys.PrivateKey]:
    key = key or keys.generate_key()
    payload = payload if payload is not None else oms.statement_payload(manifest())
    signature = keys.sign_bytes(key, oms.pae(oms.PAYLOAD_TYPE, payload))
    return oms.bundle_document(payload=payload, signature=signature, material=oms.key_material(key)), key


def bundle_dict() -> dict:
    return json.loads(signed_bundle()[0])


def encoded(document: dict) -> bytes:
    return json.dumps(document).encode()


# --- DSSE and layout --------------------------------------------------------------------------------------------

def test_pae_matches_the_dsse_specification_example():
    # secure-systems-lab/dsse protocol.md test vector
    assert oms.pae("http://example.com/HelloWorld", b"hello world") == \
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    assert oms.pae(oms.PAYLOAD_TYPE, b"") == b"DSSEv1 28 application/vnd.in-toto+json 0 "
    assert oms.pae("t", "é".encode()) == b"DSSEv1 1 t 2 " + "é".encode()  # byte lengths, not characters


def test_statement_payload_is_indented_like_model_signing():
    payload = oms.statement_payload(manifest())
    text = payload.decode()
    assert text.startswith('{\n  "_type": "https://in-toto.io/Statement/v1",\n  "subject": [\n')
    statement = json.loads(text)
    assert list(statement) == ["_type", "subject", "predicateType", "predicate"]
    assert statement["predicateType"] == "https://model_signing/signature/v1.0"
    assert statement["subject"] == [{"name": "demo", "digest": {"sha256": manifest().subject_digest}}]
    assert list(statement["predicate"]) == ["serialization", "resources"]
    assert statement["predicate"]["resources"][0] == {"name": "a.bin", "algorithm": "sha256", "digest": DIGEST_A}


def test_shard_size_is_written_as_an_integer():
    statement = json.loads(oms.statement_payload(manifest(HashSettings(method="shards", shard_size=1000))))
    assert statement["predicate"]["serialization"]["shard_size"] == 1000
    assert isinstance(statement["predicate"]["serialization"]["shard_size"], int)


def test_bundle_document_is_compact_and_ordered_like_model_signing():
    text, key = signed_bundle()
    assert text.startswith('{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json",'
                           '"verificationMaterial":{"publicKey":{"hint":"')
    document = json.loads(text)
    assert document["verificationMaterial"] == {"publicKey": {"hint": oms.key_hint(key)}, "tlogEntries": []}
    envelope = document["dsseEnvelope"]
    assert list(envelope) == ["payload", "payloadType", "signatures"]
    assert envelope["signatures"][0]["keyid"] == ""


def test_key_hints():
    p256 = keys.generate_key("ecdsa-p256-sha256")
    assert oms.key_hint(p256) == hashlib.sha256(keys.public_key_pem(p256)).hexdigest()  # model-signing's hint
    ed = keys.generate_key("ed25519")
    assert oms.key_hint(ed) == hashlib.sha256(keys.public_key_pem(ed)).hexdigest()
    ml = keys.generate_key("ml-dsa-65")
    from cryptography.hazmat.primitives import serialization

    raw = ml.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert oms.key_hint(ml) == "ML_DSA_65:" + hashlib.sha256(raw).hexdigest()
    assert oms.extensions_for("ml-dsa-65") == ("ml-dsa-65",)
    assert oms.extensions_for("ecdsa-p256-sha256") == oms.extensions_for("ed25519") == ()


def test_certificate_material_round_trip():
    payload = oms.statement_payload(manifest())
    text = oms.bundle_document(payload=payload, signature=b"sig",
                               material=oms.certificate_material([b"leaf-der", b"intermediate-der"]))
    bundle = oms.parse_bundle(text.encode())
    assert bundle.material.method == "certificate"
    assert bundle.material.certificates == (b"leaf-der", b"intermediate-der")
    assert json.loads(text)["verificationMaterial"]["x509CertificateChain"]["certificates"][0] == \
        {"rawBytes": base64.b64encode(b"leaf-der").decode()}


def test_round_trip_parse():
    text, key = signed_bundle()
    bundle = oms.parse_bundle(text.encode())
    assert bundle.media_type == oms.BUNDLE_MEDIA_TYPE
    assert bundle.material.key_hint == oms.key_hint(key)
    assert keys.verify_bytes(key.public_key(), bundle.envelope.signatures[0].sig,
                             oms.pae(bundle.envelope.payload_type, bundle.envelope.payload))
    statement = oms.parse_statement(bundle.envelope.payload)
    assert statement.subject_consistent()
    assert statement.manifest() == manifest()


def test_subject_mismatch_is_detected_not_raised():
    statement = json.loads(oms.statement_payload(manifest()))
    statement["subject"][0]["digest"]["sha256"] = "0" * 64
    parsed = oms.parse_statement(json.dumps(statement).encode())
    assert not parsed.subject_consistent()


# --- strict parsing ---------------------------------------------------------------------------------------------

def _mutate(path: tuple, value=None, delete=False):
    document = bundle_dict()
    target = document
    for step in path[:-1]:
        target = target[step]
    if delete:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return encoded(document)


@pytest.mark.parametrize("data, reason", [
    (b"", "empty"),
    (b"   \n", "empty"),
    (b"\xff\xfe{}", "not UTF-8"),
    (b"{", "not valid JSON"),
    (b"[]", "must be a JSON object"),
    (b'{"mediaType": 1e999999}', "bundle lacks"),
    (b"[" * 100_000 + b"]" * 100_000, "nests deeper"),
    (b'{"a":' * 40 + b"1" + b"}" * 40, "nests deeper"),
    (b'{"mediaType": "x", "mediaType": "y"}', "duplicate key"),
    (b'{"n": ' + b"9" * 5000 + b"}", "not valid JSON"),
])
def test_unusable_bytes(data, reason):
    with pytest.raises(BundleFormatError, match=reason):
        oms.parse_bundle(data)


def test_size_limit():
    with pytest.raises(BundleFormatError, match="over the"):
        oms.parse_bundle(b" " * (oms.MAX_BUNDLE_BYTES + 1))


@pytest.mark.parametrize("path, value, reason", [
    (("mediaType",), "application/vnd.dev.sigstore.bundle.v0.2+json", "media type"),
    (("extra",), 1, "unknown field 'extra'"),
    (("messageSignature",), {}, "unknown field"),
    (("verificationMaterial",), [], "must be a JSON object"),
    (("verificationMaterial", "publicKey", "hint"), 5, "hint must be"),
    (("verificationMaterial", "publicKey", "hint"), "x" * 201, "longer than"),
    (("verificationMaterial", "x509CertificateChain"), {"certificates": []}, "exactly one of"),
    (("verificationMaterial", "tlogEntries"), {}, "tlogEntries must be a list"),
    (("verificationMaterial", "bogus"), 1, "unknown field 'bogus'"),
    (("dsseEnvelope", "payloadType"), "application/json", "payloadType"),
    (("dsseEnvelope", "payload"), "", "non-empty base64"),
    (("dsseEnvelope", "payload"), "!!!!", "not base64"),
    (("dsseEnvelope", "payload"), "QUJD=QUJD", "not base64"),
    (("dsseEnvelope", "payload"), "QUJDR", "truncated base64"),
    (("dsseEnvelope", "signatures"), [], "exactly one signature"),
    (("dsseEnvelope", "signatures"), [{"sig": "QUJD"}, {"sig": "QUJD"}], "exactly one signature"),
    (("dsseEnvelope", "signatures"), [{"sig": "QUJD", "other": 1}], "unknown field"),
    (("dsseEnvelope", "signatures"), [{"sig": "QUJD", "keyid": 5}], "keyid"),
    (("dsseEnvelope", "signatures"), [{"keyid": ""}], "lacks sig"),
    (("dsseEnvelope", "extra"), 1, "unknown field"),
])
def test_malformed_fields_are_named(path, value, reason):
    with pytest.raises(BundleFormatError, match=reason):
        oms.parse_bundle(_mutate(path, value))


@pytest.mark.parametrize("path", [("mediaType",), ("verificationMaterial",), ("dsseEnvelope",),
                                  ("dsseEnvelope", "payload"), ("dsseEnvelope", "signatures")])
def test_missing_fields_are_named(path):
    with pytest.raises(BundleFormatError, match=f"lacks {path[-1]}"):
        oms.parse_bundle(_mutate(path, delete=True))


def test_lenient_where_the_formats_allow():
    document = bundle_dict()
    payload = base64.b64decode(document["dsseEnvelope"]["payload"])
    document["dsseEnvelope"]["payload"] = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    document["dsseEnvelope"]["signatures"][0]["keyid"] = None
    document["verificationMaterial"]["publicKey"] = {"rawBytes": "QUJD"}  # older bundles: no hint
    del document["verificationMaterial"]["tlogEntries"]
    document["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.3"
    bundle = oms.parse_bundle(encoded(document))
    assert bundle.envelope.payload == payload
    assert bundle.material.key_hint is None


def test_certificate_count_and_size_limits():
    document = bundle_dict()
    document["verificationMaterial"] = {"x509CertificateChain": {"certificates": [{"rawBytes": "QUJD"}] * 11}}
    with pytest.raises(BundleFormatError, match="more than 10"):
        oms.parse_bundle(encoded(document))
    big = base64.b64encode(b"x" * (oms.MAX_CERTIFICATE_BYTES + 1)).decode()
    document["verificationMaterial"] = {"x509CertificateChain": {"certificates": [{"rawBytes": big}]}}
    with pytest.raises(BundleFormatError, match="larger than"):
        oms.parse_bundle(encoded(document))


def test_keyless_sigstore_material_needs_log_entries():
    document = bundle_dict()
    document["verificationMaterial"] = {"certificate": {"rawBytes": "QUJD"}, "tlogEntries": []}
    with pytest.raises(BundleFormatError, match="needs tlogEntries"):
        oms.parse_bundle(encoded(document))
    document["verificationMaterial"]["tlogEntries"] = [{"logIndex": "1"}]
    assert oms.parse_bundle(encoded(document)).material.method == "sigstore"


def _statement(**changes) -> bytes:
    statement = json.loads(oms.statement_payload(manifest()))
    for dotted, value in changes.items():
        target = statement
        parts = dotted.split(".")
        for part in parts[:-1]:
            target = target[int(part)] if part.isdigit() else target[part]
        last = parts[-1]
        target[int(last) if last.isdigit() else last] = value
    return json.dumps(statement).encode()


@pytest.mark.parametrize("changes, reason", [
    ({"_type": "https://in-toto.io/Statement/v0.1"}, "statement type"),
    ({"predicateType": "https://model_signing/Digests/v0.1"}, "not the OMS predicate"),
    ({"subject": []}, "exactly one subject"),
    ({"subject.0.name": ""}, "name must be a non-empty string"),
    ({"subject.0.digest": {"sha512": "00"}}, "digest.sha256"),
    ({"subject.0.digest": {"sha256": "ABC"}}, "digest.sha256"),
    ({"predicate": []}, "predicate must be a JSON object"),
    ({"predicate.serialization": {"method": "files", "hash_type": "md5", "allow_symlinks": False}},
     "predicate.serialization"),
    ({"predicate.serialization.surprise": True}, "unknown setting"),
    ({"predicate.resources": {}}, "predicate.resources"),
    ({"predicate.resources.0.digest": "xyz"}, "predicate.resources"),
    ({"predicate.resources.1.name": "a.bin"}, "listed twice"),
    ({"extra": 1}, "unknown field"),
])
def test_statement_problems_are_named(changes, reason):
    with pytest.raises(BundleFormatError, match=reason):
        oms.parse_statement(_statement(**changes))


def test_unknown_predicate_fields_are_ignored_as_oms_says():
    statement = json.loads(_statement())
    statement["predicate"]["modelCard"] = {"anything": True}
    assert oms.parse_statement(json.dumps(statement).encode()).manifest() == manifest()


def test_float_shard_size_and_sharded_algorithm_names_as_model_signing_writes_them():
    statement = json.loads(oms.statement_payload(manifest(HashSettings(method="shards", shard_size=1000))))
    statement["predicate"]["serialization"]["shard_size"] = 1000.0
    parsed = oms.parse_statement(json.dumps(statement).encode())
    assert parsed.settings.shard_size == 1000 and parsed.subject_consistent()
    assert parsed.resources[0].algorithm == "sha256-sharded-1000"


# --- hostile input: never anything but BundleFormatError --------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20)


@given(st.binary(max_size=4096))
def test_random_bytes(data):
    try:
        oms.parse_bundle(data)
    except BundleFormatError:
        pass


@settings(max_examples=300)
@given(st.sampled_from([
    ("mediaType",), ("verificationMaterial",), ("verificationMaterial", "publicKey"),
    ("verificationMaterial", "publicKey", "hint"), ("verificationMaterial", "tlogEntries"),
    ("verificationMaterial", "x509CertificateChain"), ("verificationMaterial", "certificate"),
    ("dsseEnvelope",), ("dsseEnvelope", "payload"), ("dsseEnvelope", "payloadType"),
    ("dsseEnvelope", "signatures"), ("dsseEnvelope", "signatures", 0), ("dsseEnvelope", "signatures", 0, "sig"),
    ("dsseEnvelope", "signatures", 0, "keyid"),
]), json_values)
def test_structure_aware_mutations(path, value):
    try:
        bundle = oms.parse_bundle(_mutate(path, value))
    except BundleFormatError:
        return
    assert bundle.envelope.signatures


statement_paths = st.sampled_from(["_type", "subject", "subject.0", "subject.0.name", "subject.0.digest",
                                   "predicateType", "predicate", "predicate.serialization",
                                   "predicate.serialization.method", "predicate.serialization.shard_size",
                                   "predicate.serialization.ignore_paths", "predicate.resources",
                                   "predicate.resources.0", "predicate.resources.0.name",
                                   "predicate.resources.0.digest", "predicate.resources.1.algorithm"])


@settings(max_examples=300)
@given(statement_paths, json_values)
def test_statement_mutations(path, value):
    try:
        parsed = oms.parse_statement(_statement(**{path: value}))
    except BundleFormatError:
        return
    parsed.subject_consistent()  # a bool, never an exception


# --- the specification's vectors --------------------------------------------------------------------------------

@needs_shared
@pytest.mark.parametrize("name, method", [("key", "key"), ("certificate", "certificate"), ("sigstore", "sigstore")])
def test_valid_vectors_parse_and_their_subjects_cover_their_resources(name, method):
    bundle = oms.parse_bundle((SHARED / "test-vectors" / "valid" / f"{name}.bundle.json").read_bytes())
    assert bundle.material.method == method
    statement = oms.parse_statement(bundle.envelope.payload)
    assert statement.subject_consistent()
    assert [r.name for r in statement.resources] == ["signme-1", "signme-2"]
    if method == "key":
        assert bundle.material.key_hint == "e8450dec4eb99dae995da9af1bc2cc9f76ed669ee2e744f57abba763df3e3f8e"


@needs_shared
@pytest.mark.parametrize("name", ["certificate", "sigstore"])
def test_vector_signatures_verify_over_our_pae(name):
    from cryptography import x509

    bundle = oms.parse_bundle((SHARED / "test-vectors" / "valid" / f"{name}.bundle.json").read_bytes())
    leaf = x509.load_der_x509_certificate(bundle.material.certificates[0])
    data = oms.pae(bundle.envelope.payload_type, bundle.envelope.payload)
    assert keys.verify_bytes(leaf.public_key(), bundle.envelope.signatures[0].sig, data)
    assert not keys.verify_bytes(leaf.public_key(), bundle.envelope.signatures[0].sig, data + b" ")


@needs_shared
@pytest.mark.parametrize("name, reason", [
    ("invalid/empty", "empty"),
    ("invalid/missing-envelope", "lacks dsseEnvelope"),
    ("invalid/missing-tlog-entries", "needs tlogEntries"),
    ("invalid/missing-verification-material", "lacks verificationMaterial"),
    ("invalid-payload/wrong-predicate", "not the OMS predicate"),
])
def test_invalid_vectors_are_rejected_with_a_reason(name, reason):
    data = (SHARED / "test-vectors" / f"{name}.bundle.json").read_bytes()
    with pytest.raises(BundleFormatError, match=reason):
        oms.parse_statement(oms.parse_bundle(data).envelope.payload)


@needs_shared
@pytest.mark.parametrize("settings_", [HashSettings(), HashSettings(hash_type="blake2b", ignore_paths=("x",))])
def test_written_bundles_validate_against_the_oms_schemas(settings_):
    validator = _schema_validator("bundle")
    text, _ = signed_bundle(payload=oms.statement_payload(manifest(settings_)))
    document = json.loads(text)
    assert not list(validator.iter_errors(document))
    statement = json.loads(base64.b64decode(document["dsseEnvelope"]["payload"]))
    assert not list(_schema_validator("statement").iter_errors(statement))


@needs_shared
def test_shard_resources_deviate_from_the_schema_only_in_the_algorithm_name():
    # model-signing names shard digests "sha256-sharded-N" and compares those names when verifying; OMS's
    # predicate schema lists only bare hash names. Interoperability wins; nothing else may deviate.
    statement = json.loads(oms.statement_payload(manifest(HashSettings(method="shards", shard_size=1000))))
    errors = list(_schema_validator("statement").iter_errors(statement))
    assert errors and all(list(e.absolute_path)[-1] == "algorithm" for e in errors)


def _schema_validator(name: str):
    jsonschema = pytest.importorskip("jsonschema")
    referencing = pytest.importorskip("referencing")
    resources = []
    for part in ("bundle", "envelope", "statement", "predicate"):
        schema = json.loads((SHARED / f"{part}.schema.json").read_text())
        resources.append((schema["$id"], referencing.Resource.from_contents(schema)))
    registry = referencing.Registry().with_resources(resources)
    schema = json.loads((SHARED / f"{name}.schema.json").read_text())
    return jsonschema.Draft202012Validator(schema, registry=registry)
