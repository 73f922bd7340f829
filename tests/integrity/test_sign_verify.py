"""Sign and verify end to end: every algorithm x method x hash, every kind of tampering named with its rule, wrong
keys, corrupted signatures, edited payloads, certificate chains, bundles written the way model-signing writes
them, and (when MODEL_SIGNING_PYTHON names an interpreter with model-signing 1.1.1) both directions of interop."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlwarden.core.errors import InputError, UsageError
from mlwarden.core.findings import Severity
from mlwarden.integrity import keys, oms
from mlwarden.integrity.model import HashSettings, SignatureVerdict
from mlwarden.integrity.sign import GIT_PATHS, default_signature_path, sign_model
from mlwarden.integrity.verify import verdict_findings, verify_model
from tests.integrity.test_certificates import NOW, make_pki

SETTINGS = [HashSettings(method=method, hash_type=hash_type, shard_size=7 if method == "shards" else None)
            for method in ("files", "shards") for hash_type in ("sha256", "blake2b", "blake3")]


def make_model(root: Path) -> Path:
    (root / "sub").mkdir(parents=True)
    (root / "config.json").write_text('{"layers": 2}')
    (root / "weights.bin").write_bytes(bytes(range(256)) * 3)
    (root / "tokenizer.json").write_text('{"vocab": ["a", "b"]}')
    (root / "sub" / "extra.bin").write_bytes(b"\x00" * 20)
    (root / "empty").write_bytes(b"")
    return root


@pytest.fixture(scope="module")
def ecdsa_key() -> keys.PrivateKey:
    return keys.generate_key()


@pytest.fixture()
def signed(tmp_path, ecdsa_key):
    model = make_model(tmp_path / "model")
    signature = sign_model(model, key=ecdsa_key)
    return model, signature, ecdsa_key


def rules(verdict: SignatureVerdict) -> list[str]:
    return [f.rule_id for f in verdict_findings(verdict) if f.severity is not Severity.INFO]


def check(model, signature, key) -> SignatureVerdict:
    return verify_model(model, signature=signature, public_key=keys.public_key_of(key))


# --- round trips ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("algorithm", keys.ALGORITHMS)
@pytest.mark.parametrize("settings_", SETTINGS, ids=lambda s: f"{s.method}-{s.hash_type}")
def test_round_trip(tmp_path, algorithm, settings_):
    key = keys.generate_key(algorithm)
    model = make_model(tmp_path / "model")
    signature = sign_model(model, key=key, settings=settings_)
    verdict = check(model, signature, key)
    assert verdict.verified, verdict
    assert verdict.signer is not None and verdict.signer.algorithm == algorithm
    assert verdict.signer.method == "key" and verdict.signer.key_fingerprint == keys.key_fingerprint(key)
    assert verdict.manifest is not None and verdict.manifest.settings.hash_type == settings_.hash_type
    assert verdict.manifest.settings.method == settings_.method
    assert verdict.extensions == (("ml-dsa-65",) if algorithm == "ml-dsa-65" else ())
    assert rules(verdict) == []


@pytest.mark.parametrize("algorithm", keys.ALGORITHMS)
def test_certificate_method_round_trip(tmp_path, algorithm):
    pki = make_pki(algorithm)
    model = make_model(tmp_path / "model")
    signature = sign_model(model, key=pki.leaf_key, certificate_chain=pki.chain, now=NOW,
                           settings=HashSettings(method="shards", shard_size=100))
    verdict = verify_model(model, signature=signature, ca_roots=[pki.root], now=NOW)
    assert verdict.verified, verdict.problems
    signer = verdict.signer
    assert signer is not None and signer.method == "certificate" and signer.algorithm == algorithm
    assert signer.subject == "CN=model signer" and signer.issuer == "CN=ML intermediate CA"
    assert signer.not_before == "2026-05-02T12:00:00Z" and signer.key_fingerprint == keys.key_fingerprint(pki.leaf_key)
    bundle = json.loads(signature.read_text())
    assert len(bundle["verificationMaterial"]["x509CertificateChain"]["certificates"]) == 2


def test_default_signature_lives_in_the_folder_and_is_never_hashed(signed):
    model, signature, key = signed
    assert signature == model / "model.sig" == default_signature_path(model)
    statement = json.loads(base64.b64decode(json.loads(signature.read_text())["dsseEnvelope"]["payload"]))
    assert statement["predicate"]["serialization"]["ignore_paths"] == ["model.sig"]
    assert "model.sig" not in [r["name"] for r in statement["predicate"]["resources"]]
    assert statement["subject"][0]["name"] == "model"
    # Signing again over an existing signature works and still verifies.
    sign_model(model, key=key)
    assert check(model, signature, key).verified


def test_signature_outside_the_model_and_ignored_paths(tmp_path, ecdsa_key):
    model = make_model(tmp_path / "model")
    (model / ".git").mkdir()
    (model / ".git" / "HEAD").write_text("ref: refs/heads/main")
    signature = sign_model(model, key=ecdsa_key, output=tmp_path / "elsewhere.sig",
                           settings=HashSettings(ignore_paths=GIT_PATHS))
    (model / ".git" / "HEAD").write_text("ref: refs/heads/other")  # ignored: still verifies
    verdict = check(model, signature, ecdsa_key)
    assert verdict.verified
    assert verdict.manifest is not None and ".git" in verdict.manifest.settings.ignore_paths


def test_single_file_model(tmp_path, ecdsa_key):
    weights = tmp_path / "weights.safetensors"
    weights.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    signature = sign_model(weights, key=ecdsa_key)
    assert signature == tmp_path / "model.sig"
    verdict = check(weights, signature, ecdsa_key)
    assert verdict.verified and [r.name for r in verdict.manifest.resources] == ["."]
    weights.write_bytes(b"changed")
    verdict = check(weights, signature, ecdsa_key)
    [finding] = verdict_findings(verdict)
    assert finding.rule_id == "MW-SIG-001" and finding.location.path == str(weights)


def test_a_signature_that_moves_into_the_model_is_still_skipped(tmp_path, ecdsa_key):
    model = make_model(tmp_path / "model")
    outside = sign_model(model, key=ecdsa_key, output=tmp_path / "m.sig")
    inside = model / "copied.sig"
    inside.write_bytes(outside.read_bytes())
    assert check(model, inside, ecdsa_key).verified


# --- tampering, each named ------------------------------------------------------------------------------------

def _modify(model: Path) -> None:
    (model / "config.json").write_text('{"layers": 3}')


def _add(model: Path) -> None:
    (model / "pytorch_model.bin").write_bytes(b"\x80\x04extra")


def _remove(model: Path) -> None:
    (model / "tokenizer.json").unlink()


def _rename(model: Path) -> None:
    (model / "tokenizer.json").rename(model / "tokenizer.old.json")


def _move(model: Path) -> None:
    (model / "sub" / "extra.bin").rename(model / "extra.bin")


def _swap(model: Path) -> None:
    a, b = (model / "config.json").read_bytes(), (model / "tokenizer.json").read_bytes()
    (model / "config.json").write_bytes(b)
    (model / "tokenizer.json").write_bytes(a)


def _symlink(model: Path) -> None:
    os.symlink("/etc/hostname", model / "link.bin")


@pytest.mark.parametrize("tamper, expected", [
    (_modify, [("modified", "config.json", "MW-SIG-001")]),
    (_add, [("added", "pytorch_model.bin", "MW-SIG-002")]),
    (_remove, [("removed", "tokenizer.json", "MW-SIG-003")]),
    (_rename, [("renamed", "tokenizer.old.json", "MW-SIG-004")]),
    (_move, [("renamed", "extra.bin", "MW-SIG-004")]),
    (_swap, [("swapped", "config.json", "MW-SIG-005"), ("swapped", "tokenizer.json", "MW-SIG-005")]),
    (_symlink, [("symlink", "link.bin", "MW-SIG-006")]),
], ids=["modified", "added", "removed", "renamed", "moved", "swapped", "symlink"])
@pytest.mark.parametrize("method", ["files", "shards"])
def test_tampering_is_named(tmp_path, ecdsa_key, tamper, expected, method):
    model = make_model(tmp_path / "model")
    settings_ = HashSettings(method=method, shard_size=16 if method == "shards" else None)
    signature = sign_model(model, key=ecdsa_key, settings=settings_)
    tamper(model)
    verdict = check(model, signature, ecdsa_key)
    assert verdict.signature_ok and not verdict.verified and not verdict.problems
    assert [(d.kind, d.path) for d in verdict.differences] == [(k, p) for k, p, _ in expected]
    findings = verdict_findings(verdict)
    assert [(f.rule_id, f.location.path) for f in findings] == [(r, f"{model}/{p}") for _, p, r in expected]
    assert all(f.severity.rank >= Severity.HIGH.rank for f in findings)
    assert all(f.data and f.data["signature"] == str(signature) for f in findings)


def test_every_difference_at_once(signed):
    model, signature, key = signed
    for tamper in (_modify, _add, _remove, _move):
        tamper(model)
    verdict = check(model, signature, key)
    assert sorted(d.kind for d in verdict.differences) == ["added", "modified", "removed", "renamed"]


# --- signatures that must not verify -----------------------------------------------------------------------------

def _edit_bundle(signature: Path, edit) -> None:
    document = json.loads(signature.read_text())
    edit(document)
    signature.write_text(json.dumps(document))


def test_wrong_key(signed):
    model, signature, _ = signed
    other = keys.generate_key()
    verdict = check(model, signature, other)
    assert not verdict.signature_ok and rules(verdict) == ["MW-SIG-007"]
    assert "names another key" in verdict.problems[0]
    assert verdict.manifest is None and verdict.differences == ()  # never hashed against an unverified manifest


@pytest.mark.parametrize("algorithm", ["ecdsa-p384-sha384", "ed25519", "ml-dsa-65"])
def test_wrong_key_type(signed, algorithm):
    model, signature, _ = signed
    verdict = check(model, signature, keys.generate_key(algorithm))
    assert rules(verdict) == ["MW-SIG-007"]


def test_wrong_key_without_a_hint(signed):
    model, signature, _ = signed
    _edit_bundle(signature, lambda d: d["verificationMaterial"].__setitem__("publicKey", {}))
    verdict = check(model, signature, keys.generate_key())
    assert rules(verdict) == ["MW-SIG-007"] and "does not verify with the given key" in verdict.problems[0]


@pytest.mark.parametrize("corrupt", [
    lambda sig: sig[:-5],
    lambda sig: b"\x00" * len(sig),
    lambda sig: b"\x30" + sig[1:3],
], ids=["truncated", "zeroed", "garbled-der"])
def test_corrupted_signature(signed, corrupt):
    model, signature, key = signed
    _edit_bundle(signature, lambda d: d["dsseEnvelope"]["signatures"][0].__setitem__(
        "sig", base64.b64encode(corrupt(base64.b64decode(d["dsseEnvelope"]["signatures"][0]["sig"]))).decode()))
    verdict = check(model, signature, key)
    assert rules(verdict) == ["MW-SIG-007"] and "corrupted" in verdict.problems[0]


@pytest.mark.parametrize("recompute_subject", [False, True])
def test_edited_payload(signed, recompute_subject):
    model, signature, key = signed

    def edit(document):
        statement = json.loads(base64.b64decode(document["dsseEnvelope"]["payload"]))
        statement["predicate"]["resources"][0]["digest"] = hashlib.sha256(b"evil").hexdigest()
        if recompute_subject:
            digests = b"".join(bytes.fromhex(r["digest"]) for r in statement["predicate"]["resources"])
            statement["subject"][0]["digest"]["sha256"] = hashlib.sha256(digests).hexdigest()
        document["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()

    _edit_bundle(signature, edit)
    verdict = check(model, signature, key)
    assert rules(verdict) == ["MW-SIG-009"] and "edited after signing" in verdict.problems[0]


def test_signed_statement_with_an_inconsistent_subject(tmp_path, ecdsa_key):
    model = make_model(tmp_path / "model")
    signature = sign_model(model, key=ecdsa_key)
    statement = json.loads(base64.b64decode(json.loads(signature.read_text())["dsseEnvelope"]["payload"]))
    statement["subject"][0]["digest"]["sha256"] = "0" * 64
    payload = json.dumps(statement).encode()
    text = oms.bundle_document(payload=payload, signature=keys.sign_bytes(ecdsa_key, oms.pae(oms.PAYLOAD_TYPE,
                                                                                             payload)),
                               material=oms.key_material(ecdsa_key))
    signature.write_text(text)
    verdict = check(model, signature, ecdsa_key)
    assert rules(verdict) == ["MW-SIG-009"] and "subject digest" in verdict.problems[0]


def test_signed_statement_that_is_not_oms(tmp_path, ecdsa_key):
    model = make_model(tmp_path / "model")
    payload = json.dumps({"_type": "https://in-toto.io/Statement/v1", "subject": [],
                          "predicateType": "https://slsa.dev/provenance/v1", "predicate": {}}).encode()
    signature = tmp_path / "s.sig"
    signature.write_text(oms.bundle_document(
        payload=payload, signature=keys.sign_bytes(ecdsa_key, oms.pae(oms.PAYLOAD_TYPE, payload)),
        material=oms.key_material(ecdsa_key)))
    verdict = check(model, signature, ecdsa_key)
    assert rules(verdict) == ["MW-SIG-008"] and "not the OMS predicate" in verdict.problems[0]


@pytest.mark.parametrize("content", [b"", b"{", b"[]", b"{}", b'{"mediaType": "x"}', b"\x00" * 100])
def test_corrupted_bundle(signed, content):
    model, signature, key = signed
    signature.write_bytes(content)
    verdict = check(model, signature, key)
    assert rules(verdict) == ["MW-SIG-008"] and verdict.problems[0].startswith("bundle: ")


def test_oversized_bundle(signed):
    model, signature, key = signed
    with open(signature, "wb") as handle:
        handle.truncate(oms.MAX_BUNDLE_BYTES + 10)
    verdict = check(model, signature, key)
    assert rules(verdict) == ["MW-SIG-008"] and "limit" in verdict.problems[0]


def test_key_signature_verified_with_only_a_root(signed):
    model, signature, _ = signed
    verdict = verify_model(model, signature=signature, ca_roots=[make_pki().root], now=NOW)
    assert rules(verdict) == ["MW-SIG-007"] and "--key" in verdict.problems[0]


def test_unreadable_model_file_fails_closed(signed):
    model, signature, key = signed
    os.mkfifo(model / "fifo")
    verdict = check(model, signature, key)
    assert rules(verdict) == ["MW-SIG-012"] and not verdict.verified


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(st.binary(max_size=3000), st.integers(min_value=0, max_value=5000))
def test_hostile_signature_files_never_raise(tmp_path, ecdsa_key, noise, position):
    model = tmp_path / "model"
    if not model.exists():
        make_model(model)
        sign_model(model, key=ecdsa_key, output=tmp_path / "good.sig")
    good = (tmp_path / "good.sig").read_bytes()
    cut = position % (len(good) + 1)
    hostile = tmp_path / "hostile.sig"
    hostile.write_bytes(good[:cut] + noise + good[cut + len(noise):])
    verdict = check(model, hostile, ecdsa_key)  # never raises
    if hostile.read_bytes() == good:
        assert verdict.verified
    elif verdict.verified:  # only bytes outside what is signed and checked may have changed (keyid, spacing)
        original, mutated = oms.parse_bundle(good), oms.parse_bundle(hostile.read_bytes())
        assert mutated.envelope.payload == original.envelope.payload
        assert mutated.envelope.signatures[0].sig == original.envelope.signatures[0].sig


# --- certificate method failures ---------------------------------------------------------------------------------

def test_certificate_problems(tmp_path):
    pki = make_pki()
    model = make_model(tmp_path / "model")
    signature = sign_model(model, key=pki.leaf_key, certificate_chain=pki.chain, now=NOW)
    wrong_root = verify_model(model, signature=signature, ca_roots=[make_pki().root], now=NOW)
    assert rules(wrong_root) == ["MW-SIG-011"] and "does not lead" in wrong_root.problems[0]
    expired = verify_model(model, signature=signature, ca_roots=[pki.root], now=NOW + dt.timedelta(days=400))
    assert rules(expired) == ["MW-SIG-011"] and "expired" in expired.problems[0]
    assert expired.signer is not None and expired.signer.subject == "CN=model signer"
    key_only = verify_model(model, signature=signature, public_key=keys.generate_key().public_key(), now=NOW)
    assert rules(key_only) == ["MW-SIG-011"] and "--ca" in key_only.problems[0]


def test_certificate_without_digital_signature_usage(tmp_path):
    from tests.integrity.test_certificates import ENCIPHER_ONLY_USAGE

    pki = make_pki()
    model = make_model(tmp_path / "model")
    bad_leaf = pki.leaf_with(usage=ENCIPHER_ONLY_USAGE)
    with pytest.raises(InputError, match="digitalSignature"):
        sign_model(model, key=pki.leaf_key, certificate_chain=[bad_leaf, pki.intermediate], now=NOW)
    # A bundle made elsewhere with such a certificate is refused at verification.
    signature = sign_model(model, key=pki.leaf_key, certificate_chain=pki.chain, now=NOW)
    _edit_bundle(signature, lambda d: d["verificationMaterial"]["x509CertificateChain"]["certificates"][0]
                 .__setitem__("rawBytes", base64.b64encode(bad_leaf.public_bytes(serialization.Encoding.DER))
                              .decode()))
    verdict = verify_model(model, signature=signature, ca_roots=[pki.root], now=NOW)
    assert rules(verdict) == ["MW-SIG-011"] and "digitalSignature" in verdict.problems[0]


def test_certificate_for_another_key_is_refused_at_signing(tmp_path):
    pki = make_pki()
    with pytest.raises(InputError, match="not for this private key"):
        sign_model(make_model(tmp_path / "model"), key=keys.generate_key(), certificate_chain=pki.chain, now=NOW)


def test_swapped_signing_certificate_is_an_edited_payload_or_bad_signature(tmp_path):
    pki, other = make_pki(), make_pki()
    model = make_model(tmp_path / "model")
    signature = sign_model(model, key=pki.leaf_key, certificate_chain=pki.chain, now=NOW)
    other_leaf = make_pki().leaf  # a valid chain of another signer, pasted in
    _edit_bundle(signature, lambda d: d["verificationMaterial"].__setitem__("x509CertificateChain", {
        "certificates": [{"rawBytes": base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode()}
                         for c in other.chain]}))
    assert other_leaf is not None
    verdict = verify_model(model, signature=signature, ca_roots=[other.root], now=NOW)
    assert not verdict.verified and rules(verdict) == ["MW-SIG-009"]


def test_keyless_sigstore_is_out_of_scope(signed):
    model, signature, key = signed
    _edit_bundle(signature, lambda d: d.__setitem__("verificationMaterial", {
        "certificate": {"rawBytes": "QUJD"}, "tlogEntries": [{"logIndex": "1"}]}))
    verdict = check(model, signature, key)
    assert rules(verdict) == ["MW-SIG-010"] and "keyless Sigstore" in verdict.problems[0]


def test_ml_dsa_extension_is_reported_as_information(tmp_path):
    key = keys.generate_key("ml-dsa-65")
    model = make_model(tmp_path / "model")
    verdict = check(model, sign_model(model, key=key), key)
    assert verdict.verified and verdict.extensions == ("ml-dsa-65",)
    [finding] = verdict_findings(verdict)
    assert finding.rule_id == "MW-SIG-010" and finding.severity is Severity.INFO
    hint = json.loads((model / "model.sig").read_text())["verificationMaterial"]["publicKey"]["hint"]
    assert hint.startswith("ML_DSA_65:")  # OMS verifiers see a key mismatch, never a misread key


# --- arguments that cannot be used -------------------------------------------------------------------------------

def test_unusable_arguments_raise(signed, tmp_path):
    model, signature, key = signed
    with pytest.raises(UsageError, match="--key"):
        verify_model(model, signature=signature)
    with pytest.raises(InputError, match="model .* does not exist"):
        verify_model(tmp_path / "nope", signature=signature, public_key=key.public_key())
    with pytest.raises(InputError, match="signature file .* does not exist"):
        verify_model(model, signature=tmp_path / "nope.sig", public_key=key.public_key())
    with pytest.raises(InputError, match="not a regular file"):
        verify_model(model, signature=model, public_key=key.public_key())
    os.mkfifo(tmp_path / "fifo.sig")  # opened without blocking, then refused
    with pytest.raises(InputError, match="not a regular file"):
        verify_model(model, signature=tmp_path / "fifo.sig", public_key=key.public_key())
    with pytest.raises(InputError, match="does not exist"):
        sign_model(tmp_path / "nope", key=key)
    with pytest.raises(InputError, match="is a folder"):
        sign_model(model, key=key, output=model / "sub")


def test_signing_a_model_with_a_symlink_is_refused(tmp_path, ecdsa_key):
    model = make_model(tmp_path / "model")
    _symlink(model)
    with pytest.raises(InputError, match="symbolic link"):
        sign_model(model, key=ecdsa_key)
    assert not (model / "model.sig").exists()  # nothing partial is written


# --- bundles written the way model-signing 1.1.1 writes them -----------------------------------------------------

def _model_signing_style_bundle(model: Path, key: ec.EllipticCurvePrivateKey, *, hash_name: str,
                                shard_size: int | None) -> str:
    """A bundle built independently of mlwarden's writer, with model-signing's quirks: protobuf's JSON layout
    (Struct keys in its own order), a float shard_size, "<hash>-sharded-<size>" algorithm names, ignore_paths
    that include the git paths and the signature file, a hint over the PEM key, ECDSA with the curve's hash."""
    hasher = {"sha256": hashlib.sha256, "blake2b": hashlib.blake2b}[hash_name]
    resources = []
    for path in sorted((p for p in model.rglob("*") if p.is_file() and p.name != "model.sig"),
                       key=lambda p: p.relative_to(model).parts):
        name = path.relative_to(model).as_posix()
        data = path.read_bytes()
        if shard_size is None:
            resources.append({"algorithm": hash_name, "digest": hasher(data).hexdigest(), "name": name})
            continue
        for start in range(0, len(data), shard_size):
            end = min(start + shard_size, len(data))
            resources.append({"algorithm": f"{hash_name}-sharded-{shard_size}",
                              "digest": hasher(data[start:end]).hexdigest(), "name": f"{name}:{start}:{end}"})
    serialization_ = {"ignore_paths": [".github", ".git", ".gitattributes", "model.sig", ".gitignore"],
                      "hash_type": hash_name, "allow_symlinks": False,
                      "method": "files" if shard_size is None else "shards"}
    if shard_size is not None:
        serialization_ = {"shard_size": float(shard_size), **serialization_}
    root = hashlib.sha256(b"".join(bytes.fromhex(r["digest"]) for r in resources)).hexdigest()
    statement = {"_type": "https://in-toto.io/Statement/v1",
                 "subject": [{"name": model.name, "digest": {"sha256": root}}],
                 "predicateType": "https://model_signing/signature/v1.0",
                 "predicate": {"serialization": serialization_, "resources": resources}}
    payload = json.dumps(statement, indent=2).encode()
    digest = hashes.SHA384() if key.curve.key_size == 384 else hashes.SHA256()
    pae = b"DSSEv1 28 application/vnd.in-toto+json %d %s" % (len(payload), payload)
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    bundle = {"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
              "verificationMaterial": {"publicKey": {"hint": hashlib.sha256(pem).hexdigest()}, "tlogEntries": []},
              "dsseEnvelope": {"payload": base64.b64encode(payload).decode(),
                               "payloadType": "application/vnd.in-toto+json",
                               "signatures": [{"sig": base64.b64encode(key.sign(pae, ec.ECDSA(digest))).decode(),
                                               "keyid": ""}]}}
    return json.dumps(bundle, separators=(",", ":"))


@pytest.mark.parametrize("curve", [ec.SECP256R1, ec.SECP384R1])
@pytest.mark.parametrize("hash_name", ["sha256", "blake2b"])
@pytest.mark.parametrize("shard_size", [None, 8])
def test_model_signing_style_bundles_verify(tmp_path, curve, hash_name, shard_size):
    model = make_model(tmp_path / "model")
    key = ec.generate_private_key(curve())
    (model / "model.sig").write_text(_model_signing_style_bundle(model, key, hash_name=hash_name,
                                                                 shard_size=shard_size))
    verdict = verify_model(model, signature=model / "model.sig", public_key=key.public_key())
    assert verdict.verified, (verdict.problems, verdict.differences)
    assert verdict.manifest is not None and verdict.manifest.settings.shard_size == shard_size
    _modify(model)
    assert [d.kind for d in verify_model(model, signature=model / "model.sig",
                                         public_key=key.public_key()).differences] == ["modified"]


# --- live interoperability with model-signing 1.1.1 (optional) ---------------------------------------------------

MODEL_SIGNING_PYTHON = os.environ.get("MODEL_SIGNING_PYTHON")
needs_model_signing = pytest.mark.skipif(
    not MODEL_SIGNING_PYTHON, reason="set MODEL_SIGNING_PYTHON to a Python with model-signing 1.1.1 installed")


def _run_model_signing(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MODEL_SIGNING_PYTHON or sys.executable, "-c", textwrap.dedent(script)], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


@needs_model_signing
@pytest.mark.parametrize("hash_name", ["sha256", "blake2", "blake3"])
@pytest.mark.parametrize("shard", [False, True])
def test_model_signing_signatures_verify_with_mlwarden(tmp_path, hash_name, shard):
    model = make_model(tmp_path / "model")
    key = keys.generate_key("ecdsa-p384-sha384")
    keys.write_private_key(tmp_path / "k.pem", key, passphrase=None)
    config = (f"use_shard_serialization(hashing_algorithm='{hash_name}', shard_size=16)" if shard
              else f"use_file_serialization(hashing_algorithm='{hash_name}')")
    result = _run_model_signing(f"""
        import model_signing
        hashing = model_signing.hashing.Config().{config}.set_ignored_paths(paths=['model.sig'])
        model_signing.signing.Config().use_elliptic_key_signer(private_key='k.pem').set_hashing_config(
            hashing).sign('model', 'model/model.sig')
    """, tmp_path)
    assert result.returncode == 0, result.stderr
    assert check(model, model / "model.sig", key).verified


@needs_model_signing
@pytest.mark.parametrize("algorithm", ["ecdsa-p256-sha256", "ecdsa-p384-sha384"])
@pytest.mark.parametrize("settings_", [HashSettings(), HashSettings(hash_type="blake3"),
                                       HashSettings(method="shards", shard_size=16)],
                         ids=["files-sha256", "files-blake3", "shards-sha256"])
def test_mlwarden_signatures_verify_with_model_signing(tmp_path, algorithm, settings_):
    model = make_model(tmp_path / "model")
    key = keys.generate_key(algorithm)  # type: ignore[arg-type]
    keys.write_public_key(tmp_path / "k.pub", key)
    sign_model(model, key=key, settings=settings_)
    script = """
        import model_signing
        model_signing.verifying.Config().use_elliptic_key_verifier(public_key='k.pub').verify(
            'model', 'model/model.sig')
    """
    assert _run_model_signing(script, tmp_path).returncode == 0
    _modify(model)
    assert _run_model_signing(script, tmp_path).returncode != 0


@pytest.fixture(scope="module")
def certificate_signed(tmp_path_factory):
    pki = make_pki()
    folder = tmp_path_factory.mktemp("certificate-signed")
    model = make_model(folder / "model")
    signature = sign_model(model, key=pki.leaf_key, certificate_chain=pki.chain, now=NOW,
                           output=folder / "good.sig")
    return model, signature, pki


@settings(max_examples=60, deadline=None)
@given(index=st.integers(min_value=0, max_value=1), position=st.integers(min_value=0, max_value=2000),
       noise=st.binary(min_size=1, max_size=16))
def test_hostile_certificates_never_raise(certificate_signed, tmp_path_factory, index, position, noise):
    model, signature, pki = certificate_signed
    document = json.loads(signature.read_text())
    entry = document["verificationMaterial"]["x509CertificateChain"]["certificates"][index]
    der = bytearray(base64.b64decode(entry["rawBytes"]))
    cut = position % len(der)
    der[cut:cut + len(noise)] = noise
    entry["rawBytes"] = base64.b64encode(bytes(der)).decode()
    hostile = tmp_path_factory.mktemp("hostile") / "hostile.sig"
    hostile.write_text(json.dumps(document))
    verdict = verify_model(model, signature=hostile, ca_roots=[pki.root], now=NOW)
    assert verdict.verified == (bytes(der) == base64.b64decode(
        json.loads(signature.read_text())["verificationMaterial"]["x509CertificateChain"]["certificates"][index]
        ["rawBytes"]))


def test_signing_certificate_with_an_unsupported_key(certificate_signed, tmp_path):
    from cryptography.hazmat.primitives.asymmetric import rsa

    from tests.integrity.test_certificates import make_certificate

    model, signature, pki = certificate_signed
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_leaf = make_certificate("rsa signer", rsa_key, "ML intermediate CA", pki.intermediate_key, ca=False)
    document = json.loads(signature.read_text())
    document["verificationMaterial"]["x509CertificateChain"]["certificates"][0]["rawBytes"] = \
        base64.b64encode(rsa_leaf.public_bytes(serialization.Encoding.DER)).decode()
    hostile = tmp_path / "rsa.sig"
    hostile.write_text(json.dumps(document))
    verdict = verify_model(model, signature=hostile, ca_roots=[pki.root], now=NOW)
    assert rules(verdict) == ["MW-SIG-010"] and "RSA" in verdict.problems[0]


def test_certificate_with_a_malformed_issuer_is_rejected(certificate_signed, tmp_path):
    # Found by Hypothesis: cryptography parses names lazily, so a broken issuer surfaced only when first read.
    model, signature, pki = certificate_signed
    document = json.loads(signature.read_text())
    entry = document["verificationMaterial"]["x509CertificateChain"]["certificates"][0]
    der = bytearray(base64.b64decode(entry["rawBytes"]))
    issuer = pki.leaf.issuer.public_bytes()
    der[bytes(der).index(issuer)] = 0x00
    entry["rawBytes"] = base64.b64encode(bytes(der)).decode()
    hostile = tmp_path / "hostile.sig"
    hostile.write_text(json.dumps(document))
    verdict = verify_model(model, signature=hostile, ca_roots=[pki.root], now=NOW)
    assert rules(verdict) == ["MW-SIG-008"] and "not a well-formed" in verdict.problems[0]
