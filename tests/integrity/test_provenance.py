"""SLSA provenance: built as an in-toto Statement v1, signed with the model's key (sign_model from integrity.sign),
bound to the same root digest, verified against the model signature's verdict (verify_model), summarised into the
signing registry; forged, edited, re-bound and malformed provenance gives MW-TRUST-007, never a traceback."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlwarden.core.errors import ConfigError, InputError
from mlwarden.core.findings import Severity
from mlwarden.integrity import keys, oms
from mlwarden.integrity.model import HashSettings, SignatureVerdict
from mlwarden.integrity.policy import evaluate, trust_policy_from_mapping
from mlwarden.integrity.provenance import (
    BUILD_TYPE,
    PREDICATE_TYPE,
    ArtifactReference,
    CodeRevision,
    Provenance,
    ProvenanceFormatError,
    attach_provenance,
    build_statement,
    load_provenance_spec,
    parse_statement,
    provenance_findings,
    provenance_path_for,
    provenance_summary,
    settings_with_provenance,
    verify_provenance,
)
from mlwarden.integrity.registry import SigningRegistry
from mlwarden.integrity.sign import sign_model
from mlwarden.integrity.verify import verify_model
from tests.integrity.test_certificates import NOW, make_pki

COMMIT = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
WIKI = "9f" * 32
BASE = "ba" * 32
SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "schemas" / "oms-v1.0"

PROVENANCE = Provenance(
    datasets=(ArtifactReference("wiki-2024", (("sha256", WIKI),), "https://data.example.com/wiki-2024"),),
    code=CodeRevision("git+https://github.com/example/train", COMMIT),
    base_model=ArtifactReference("bert-base-uncased", (("sha256", BASE),), "https://huggingface.co/bert"),
    parameters={"learning_rate": 3e-5, "epochs": 3, "layers": [12, 12], "notes": {"seed": 7}},
    builder_id="https://ci.example.com/runners/7", started_on="2026-05-01T10:00:00Z",
    finished_on="2026-05-01T12:00:00Z")


def make_model(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "config.json").write_text('{"hidden_size": 8}')
    (root / "model.safetensors").write_bytes(bytes(range(200)))
    return root


@pytest.fixture(scope="module")
def key() -> keys.PrivateKey:
    return keys.generate_key()


def sign_with_provenance(model: Path, key: keys.PrivateKey, provenance: Provenance = PROVENANCE, **options):
    """What ``mlwarden sign --provenance`` does: keep the provenance file out of the signature, sign, attach."""
    signature = model / "model.sig"
    signature_settings = settings_with_provenance(model, signature, HashSettings())
    sign_model(model, key=key, output=signature, settings=signature_settings, **options)
    chain = options.get("certificate_chain", ())
    attached = attach_provenance(signature, provenance, key=key, certificate_chain=chain)
    return signature, attached.path


def payload_of(path: Path) -> dict:
    return json.loads(oms.parse_bundle(path.read_bytes()).envelope.payload)


# --- round trip ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("algorithm", ["ecdsa-p256-sha256", "ecdsa-p384-sha384", "ed25519", "ml-dsa-65"])
def test_signed_provenance_verifies_and_reads_back(tmp_path, algorithm):
    key = keys.generate_key(algorithm)  # type: ignore[arg-type]
    model = make_model(tmp_path / "bert")
    signature, provenance_file = sign_with_provenance(model, key)
    assert provenance_file == model / "model.provenance.sig"
    public = keys.public_key_of(key)
    verdict = verify_model(model, signature=signature, public_key=public)
    assert verdict.verified, verdict  # the provenance file inside the folder is not an unsigned file
    result = verify_provenance(provenance_file, verdict=verdict, public_key=public)
    assert result.ok and result.problems == () and provenance_findings(result) == []
    assert result.provenance == PROVENANCE and dict(result.provenance.parameters) == dict(PROVENANCE.parameters)
    assert result.subject_digest == verdict.manifest.subject_digest and result.subject_name == "bert"
    assert result.statement_sha256 == hashlib.sha256(
        oms.parse_bundle(provenance_file.read_bytes()).envelope.payload).hexdigest()


def test_the_statement_is_slsa_provenance_v1_bound_to_the_oms_subject(tmp_path, key):
    model = make_model(tmp_path / "bert")
    signature, provenance_file = sign_with_provenance(model, key)
    statement = payload_of(provenance_file)
    oms_statement = payload_of(signature)
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == PREDICATE_TYPE == "https://slsa.dev/provenance/v1"
    assert statement["subject"] == oms_statement["subject"]
    definition = statement["predicate"]["buildDefinition"]
    assert definition["buildType"] == BUILD_TYPE
    assert definition["externalParameters"]["parameters"]["learning_rate"] == 3e-5
    by_role = {d["annotations"]["role"]: d for d in definition["resolvedDependencies"]}
    assert by_role["dataset"] == {"name": "wiki-2024", "digest": {"sha256": WIKI},
                                  "uri": "https://data.example.com/wiki-2024", "annotations": {"role": "dataset"}}
    assert by_role["code"] == {"uri": "git+https://github.com/example/train", "digest": {"gitCommit": COMMIT},
                               "annotations": {"role": "code"}}
    assert by_role["base-model"]["digest"] == {"sha256": BASE}
    assert statement["predicate"]["runDetails"] == {
        "builder": {"id": "https://ci.example.com/runners/7"},
        "metadata": {"startedOn": "2026-05-01T10:00:00Z", "finishedOn": "2026-05-01T12:00:00Z"}}
    bundle = json.loads(provenance_file.read_text())
    assert bundle["mediaType"] == oms.BUNDLE_MEDIA_TYPE
    assert bundle["verificationMaterial"] == json.loads(signature.read_text())["verificationMaterial"]


def test_the_bundle_passes_the_oms_bundle_and_envelope_schemas(tmp_path, key):
    if not SHARED.is_dir():
        pytest.skip("shared OMS schemas are not available")
    jsonschema = pytest.importorskip("jsonschema")
    referencing = pytest.importorskip("referencing")
    schemas = {name: json.loads((SHARED / f"{name}.schema.json").read_text()) for name in ("bundle", "envelope")}
    registry = referencing.Registry().with_resources(
        [(schema["$id"], referencing.Resource.from_contents(schema)) for schema in schemas.values()])
    model = make_model(tmp_path / "bert")
    _, provenance_file = sign_with_provenance(model, key)
    jsonschema.Draft202012Validator(schemas["bundle"], registry=registry).validate(
        json.loads(provenance_file.read_text()))


def test_minimal_provenance_has_only_the_builder():
    statement = build_statement(model_name="m", subject_digest="ab" * 32, provenance=Provenance())
    assert statement["predicate"]["buildDefinition"]["resolvedDependencies"] == []
    assert statement["predicate"]["runDetails"] == {"builder": {"id": "https://mlwarden.dev/builders/local"}}
    name, digests, provenance = parse_statement(json.dumps(statement).encode())
    assert (name, digests, provenance) == ("m", {"sha256": "ab" * 32}, Provenance())


def test_the_certificate_method_uses_the_signing_certificate(tmp_path):
    pki = make_pki()
    model = make_model(tmp_path / "bert")
    signature, provenance_file = sign_with_provenance(model, pki.leaf_key, certificate_chain=pki.chain, now=NOW)
    verdict = verify_model(model, signature=signature, ca_roots=[pki.root], now=NOW)
    assert verdict.verified
    result = verify_provenance(provenance_file, verdict=verdict)
    assert result.ok, result.problems
    other = make_pki()  # another signer, same CA layout: its certificate is for another key
    forged = attach_provenance(signature, PROVENANCE, key=pki.leaf_key, certificate_chain=other.chain,
                               output=tmp_path / "forged.sig").path
    assert "another key" in verify_provenance(forged, verdict=verdict).problems[0]


def test_a_bare_key_provenance_needs_the_public_key(tmp_path, key):
    model = make_model(tmp_path / "bert")
    signature, provenance_file = sign_with_provenance(model, key)
    verdict = verify_model(model, signature=signature, public_key=keys.public_key_of(key))
    result = verify_provenance(provenance_file, verdict=verdict)
    assert not result.ok and "public key" in result.problems[0]


def test_without_the_ignore_path_the_provenance_file_would_be_unsigned(tmp_path, key):
    model = make_model(tmp_path / "bert")
    signature = sign_model(model, key=key, output=model / "model.sig")
    attach_provenance(signature, PROVENANCE, key=key)
    verdict = verify_model(model, signature=signature, public_key=keys.public_key_of(key))
    assert [(d.kind, d.path) for d in verdict.differences] == [("added", "model.provenance.sig")]
    assert settings_with_provenance(tmp_path / "elsewhere", model / "model.sig", HashSettings()) == HashSettings()


def test_provenance_paths():
    assert provenance_path_for(Path("m/model.sig")) == Path("m/model.provenance.sig")
    assert provenance_path_for(Path("bert-v2.sig")) == Path("bert-v2.provenance.sig")
    assert provenance_path_for(Path("a.b.sig")) == Path("a.b.provenance.sig")
    assert provenance_path_for(Path("sig")) == Path("sig.provenance.sig")


# --- forged, edited and re-bound provenance: MW-TRUST-007 --------------------------------------------------------

def forge(path: Path, statement: dict, key: keys.PrivateKey) -> Path:
    """A provenance bundle signed by ``key`` over any statement, written directly with the OMS helpers."""
    payload = json.dumps(statement).encode()
    sig = keys.sign_bytes(key, oms.pae(oms.PAYLOAD_TYPE, payload))
    path.write_text(oms.bundle_document(payload=payload, signature=sig, material=oms.key_material(key)))
    return path


@pytest.fixture()
def signed(tmp_path, key):
    model = make_model(tmp_path / "bert")
    signature, provenance_file = sign_with_provenance(model, key)
    verdict = verify_model(model, signature=signature, public_key=keys.public_key_of(key))
    return model, signature, provenance_file, verdict


def check(path: Path, verdict: SignatureVerdict, key: keys.PrivateKey):
    result = verify_provenance(path, verdict=verdict, public_key=keys.public_key_of(key))
    findings = provenance_findings(result)
    assert not result.ok and result.provenance is None
    assert [(f.rule_id, f.severity) for f in findings] == [("MW-TRUST-007", Severity.HIGH)]
    return result.problems[0]


def test_provenance_signed_by_someone_else_is_refused(tmp_path, key, signed):
    _, _, provenance_file, verdict = signed
    intruder = keys.generate_key()
    forged = forge(tmp_path / "forged.sig", payload_of(provenance_file), intruder)
    problem = check(forged, verdict, key)
    assert "does not verify" in problem or "another key" in problem
    with pytest.raises(InputError, match="not made with this key"):
        attach_provenance(signed[1], PROVENANCE, key=intruder, output=tmp_path / "x.sig")
    wrong_key = verify_provenance(provenance_file, verdict=verdict, public_key=keys.public_key_of(intruder))
    assert not wrong_key.ok and "another key" in wrong_key.problems[0]


def test_an_edited_payload_is_refused(tmp_path, key, signed):
    _, _, provenance_file, verdict = signed
    bundle = json.loads(provenance_file.read_text())
    statement = payload_of(provenance_file)
    statement["predicate"]["buildDefinition"]["resolvedDependencies"][0]["digest"]["sha256"] = "00" * 32
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    edited = tmp_path / "edited.sig"
    edited.write_text(json.dumps(bundle))
    assert "does not verify" in check(edited, verdict, key)


def test_provenance_of_another_model_is_refused(tmp_path, key, signed):
    _, _, _, verdict = signed
    other = make_model(tmp_path / "other")
    (other / "model.safetensors").write_bytes(b"different weights")
    _, other_provenance = sign_with_provenance(other, key)
    assert "another model" in check(other_provenance, verdict, key)


def test_a_well_signed_but_malformed_statement_is_refused(tmp_path, key, signed):
    _, _, provenance_file, verdict = signed
    statement = payload_of(provenance_file)
    statement["predicateType"] = "https://model_signing/signature/v1.0"
    assert "predicateType" in check(forge(tmp_path / "a.sig", statement, key), verdict, key)
    statement = payload_of(provenance_file)
    statement["predicate"]["buildDefinition"]["resolvedDependencies"][1]["digest"] = {"gitCommit": "main"}
    assert "lowercase hex" in check(forge(tmp_path / "b.sig", statement, key), verdict, key)


def test_a_corrupted_file_or_a_failed_model_signature(tmp_path, key, signed):
    _, _, provenance_file, verdict = signed
    garbage = tmp_path / "garbage.sig"
    garbage.write_bytes(b"\x00\xff" * 100)
    assert "not a signed bundle" in check(garbage, verdict, key)
    failed = SignatureVerdict(signature_path="model.sig", model_path="bert", signature_ok=False,
                              problems=("signature: does not verify",))
    assert "did not verify" in check(provenance_file, failed, key)
    with pytest.raises(InputError, match="does not exist"):
        verify_provenance(tmp_path / "missing.sig", verdict=verdict)


def valid_statement() -> dict:
    return build_statement(model_name="bert", subject_digest="ab" * 32, provenance=PROVENANCE)


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                  max_size=3), max_leaves=10)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


_PATHS = list(_paths(valid_statement()))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(where=st.sampled_from(_PATHS[1:]), value=_JSON)
def test_any_replaced_node_parses_or_is_a_format_error(where, value):
    statement = valid_statement()
    node = statement
    for step in where[:-1]:
        node = node[step]
    node[where[-1]] = value
    try:
        parse_statement(json.dumps(statement).encode())
    except ProvenanceFormatError as exc:
        assert "\n" not in str(exc)


@settings(max_examples=200)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_bytes_parse_or_are_a_format_error(data):
    with pytest.raises(ProvenanceFormatError):
        parse_statement(data)


@pytest.mark.parametrize("payload, words", [
    (b"[" * 100_000 + b"]" * 100_000, "nests deeper"),
    (b'{"_type": 1, "_type": 2}', "duplicate key"),
    (b'{"x": NaN}', "not valid JSON"),
    (b"\xff", "not UTF-8"),
    (b" " * (4 * 1024 * 1024 + 1), "larger than"),
])
def test_hostile_payloads(payload, words):
    with pytest.raises(ProvenanceFormatError, match=words):
        parse_statement(payload)


# --- the spec file -------------------------------------------------------------------------------------------

def test_a_toml_spec_with_a_dataset_file_to_hash(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.csv").write_bytes(b"a,b\n1,2\n")
    spec = tmp_path / "provenance.toml"
    spec.write_text(f"""
builder_id = "https://ci.example.com/runners/7"
started_on = 2026-05-01T10:00:00Z
[code]
uri = "git+https://github.com/example/train"
commit = "{COMMIT.upper()}"
[[datasets]]
name = "train"
path = "data/train.csv"
[[datasets]]
name = "wiki"
uri = "https://data.example.com/wiki"
digest = {{ sha256 = "{WIKI.upper()}" }}
[base_model]
name = "bert-base-uncased"
digest = {{ sha256 = "{BASE}" }}
[parameters]
learning_rate = 3e-5
schedule = {{ warmup = 100 }}
""")
    provenance = load_provenance_spec(spec)
    assert provenance.code == CodeRevision("git+https://github.com/example/train", COMMIT)
    train, wiki = provenance.datasets
    assert train.digest == (("sha256", hashlib.sha256(b"a,b\n1,2\n").hexdigest()),)
    assert train.uri == (tmp_path / "data" / "train.csv").resolve().as_uri()
    assert wiki.digest == (("sha256", WIKI),) and provenance.base_model.name == "bert-base-uncased"
    assert provenance.parameters == {"learning_rate": 3e-5, "schedule": {"warmup": 100}}
    assert provenance.started_on == "2026-05-01T10:00:00+00:00"


def test_a_json_spec(tmp_path):
    spec = tmp_path / "provenance.json"
    spec.write_text(json.dumps({"datasets": [{"name": "d", "digest": {"sha512": "ab" * 64}}]}))
    assert load_provenance_spec(spec).datasets[0].digest == (("sha512", "ab" * 64),)


@pytest.mark.parametrize("text, words", [
    ('[code]\nuri = "git+https://x/y"\ncommit = "main"\n', "full git commit id"),
    (f'[code]\nuri = "https://x/y"\ncommit = "{COMMIT}"\n', "git+https://"),
    ('[[datasets]]\nname = "d"\n', "exactly one of digest"),
    (f'[[datasets]]\nname = "d"\npath = "x"\ndigest = {{ sha256 = "{WIKI}" }}\n', "exactly one of digest"),
    ('[[datasets]]\nname = "d"\ndigest = { sha256 = "xyz" }\n', "mapped to hex"),
    ('[[datasets]]\nname = "d"\npath = "missing.bin"\n', "cannot be read"),
    ('[[datasets]]\nname = "d"\npath = "."\n', "not a regular file"),
    ('[parameters]\nlr = nan\n', "finite numbers"),
    ('colour = "blue"\n', "'colour'"),
    ("[code\n", "not valid TOML"),
])
def test_spec_mistakes_are_one_line_config_errors(tmp_path, text, words):
    spec = tmp_path / "provenance.toml"
    spec.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_provenance_spec(spec)
    assert words in str(info.value) and "\n" not in str(info.value), str(info.value)


def test_spec_file_problems(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_provenance_spec(tmp_path / "missing.toml")
    (tmp_path / "p.json").write_text('{"parameters": {"x": NaN}}')
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_provenance_spec(tmp_path / "p.json")
    (tmp_path / "list.json").write_text("[1]")
    with pytest.raises(ConfigError, match="table of keys"):
        load_provenance_spec(tmp_path / "list.json")


# --- with the registry and the trust policy ------------------------------------------------------------------

def test_sign_verify_evaluate_and_record_together(tmp_path, key):
    """The flow the CLI wires: sign with provenance and record it; later verify, evaluate with the registry's
    signing time under an age limit, check the provenance, record the verification."""
    model = make_model(tmp_path / "bert")
    registry = SigningRegistry(tmp_path / "registry.sqlite3")
    signature, provenance_file = sign_with_provenance(model, key)
    public = keys.public_key_of(key)
    verdict = verify_model(model, signature=signature, public_key=public)
    checked = verify_provenance(provenance_file, verdict=verdict, public_key=public)
    signed_at = datetime.now(UTC) - timedelta(days=3)
    registry.record_signing(manifest=verdict.manifest, model_path=model, signer=verdict.signer,
                            signature_path=signature, recorded_at=signed_at,
                            provenance=provenance_summary(checked.provenance,
                                                          statement_sha256=checked.statement_sha256))
    again = attach_provenance(signature, PROVENANCE, key=key, output=tmp_path / "again.sig")
    assert again.subject_digest == verdict.manifest.subject_digest and again.subject_name == "bert"
    assert dict(again.summary) == registry.entries()[-1].provenance_summary  # the same statement bytes
    assert again.statement_sha256 == checked.statement_sha256

    trust = trust_policy_from_mapping({"trusted_keys": [keys.key_fingerprint(key)], "max_signature_age_days": 30})
    decision = evaluate(trust, [verdict], model=model, signing_times=registry)
    assert decision.allowed, decision.reasons
    registry.record_verification(verdict, allowed=decision.allowed)

    (version,) = registry.versions("bert")
    assert version.signers == (keys.key_fingerprint(key),) and version.last_verdict == "allowed"
    (summary,) = version.provenance
    assert summary["datasets"] == [{"name": "wiki-2024", "digest": {"sha256": WIKI},
                                    "uri": "https://data.example.com/wiki-2024"}]
    assert summary["code"] == {"uri": "git+https://github.com/example/train", "commit": COMMIT}
    assert summary["parameters"] == ["epochs", "layers", "learning_rate", "notes"]
    assert summary["statement_sha256"] == checked.statement_sha256
    assert registry.verify_chain() == []

    too_strict = trust_policy_from_mapping({"trusted_keys": [keys.key_fingerprint(key)],
                                            "max_signature_age_days": 1})
    assert not evaluate(too_strict, [verdict], model=model, signing_times=registry).allowed
