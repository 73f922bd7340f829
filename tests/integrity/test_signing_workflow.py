"""The signing workflow end to end: keygen, sign with provenance, verify, the signing registry and the trust
policy, through the CLI (``mlwarden.cli.main.run``) and through the public API (``mlwarden.sign`` /
``mlwarden.verify``). Every test sets ``MLWARDEN_HOME`` to its own folder: nothing touches the user's data."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

import mlwarden
from mlwarden.cli.main import run
from mlwarden.core.errors import ConfigError, InputError, UsageError
from mlwarden.integrity import keys
from mlwarden.integrity.policy import TrustPolicy
from mlwarden.integrity.provenance import ArtifactReference, Provenance
from mlwarden.integrity.registry import SigningRegistry
from tests.integrity.test_certificates import make_pki, pem

COMMIT = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "mlwarden-home"
    monkeypatch.setenv("MLWARDEN_HOME", str(folder))
    return folder


def invoke(capsys, *argv):
    with pytest.raises(SystemExit) as info:
        run([str(a) for a in argv])
    out, err = capsys.readouterr()
    return info.value.code, out, err


def rule_ids(out: str) -> list[str]:
    return sorted(f["rule_id"] for f in json.loads(out)["findings"])


@pytest.fixture()
def model(tmp_path) -> Path:
    root = tmp_path / "bert"
    root.mkdir()
    (root / "config.json").write_text('{"hidden_size": 8}')
    (root / "weights.bin").write_bytes(b"\x01" * 4096)
    return root


@pytest.fixture()
def spec(tmp_path) -> Path:
    (tmp_path / "wiki.csv").write_text("id,text\n1,hello\n")
    path = tmp_path / "provenance.toml"
    path.write_text(f'builder_id = "https://ci.example.com/runners/7"\n'
                    f'[code]\nuri = "git+https://github.com/example/train"\ncommit = "{COMMIT}"\n'
                    f'[[datasets]]\nname = "wiki-2024"\npath = "wiki.csv"\n'
                    f'[parameters]\nlearning_rate = 3e-5\n')
    return path


@pytest.fixture()
def keypair(tmp_path, capsys):
    code, out, err = invoke(capsys, "keygen", tmp_path / "signing.pem")
    assert code == 0, err
    return tmp_path / "signing.pem", tmp_path / "signing.pub", out.strip()


# --- the whole workflow through the CLI ----------------------------------------------------------------------

def test_keygen_sign_verify_registry_and_tampering(capsys, home, model, spec, keypair):
    private, public, fingerprint = keypair
    code, _, err = invoke(capsys, "sign", model, "--key", private, "--provenance", spec)
    assert code == 0, err
    assert (model / "model.sig").is_file() and (model / "model.provenance.sig").is_file()
    assert "recorded as entry 1 of the signing registry" in err

    code, out, err = invoke(capsys, "verify", model, "--key", public, "--format", "json")
    assert code == 0, err
    assert rule_ids(out) == []
    assert f"VERIFIED signed by key {fingerprint}" in err and "provenance: bound to the signed model" in err

    code, out, _ = invoke(capsys, "registry", "log")
    lines = out.strip().splitlines()
    assert [line.split()[2:4] for line in lines] == [["sign", "signed"], ["verify", "verified"]]
    assert all(fingerprint[:16] in line for line in lines)
    code, out, _ = invoke(capsys, "registry", "log", "--model", model, "--versions", "--format", "json")
    [version] = json.loads(out)
    assert version["signers"] == [fingerprint] and version["verifications"] == 1
    [summary] = version["provenance"]
    assert summary["code"] == {"uri": "git+https://github.com/example/train", "commit": COMMIT}
    assert [d["name"] for d in summary["datasets"]] == ["wiki-2024"]

    (model / "weights.bin").write_bytes(b"\x02" * 4096)
    code, out, err = invoke(capsys, "verify", model, "--key", public, "--format", "json")
    assert code == 1 and "NOT VERIFIED (1 difference)" in err
    assert rule_ids(out) == ["MW-SIG-001"]
    entries = SigningRegistry(home / "registry.sqlite3").entries()
    assert [(e.action, e.verdict) for e in entries] == [("sign", "signed"), ("verify", "verified"),
                                                        ("verify", "failed")]

    code, out, _ = invoke(capsys, "registry", "verify")
    assert code == 0 and "chain intact, 3 entries" in out

    with sqlite3.connect(home / "registry.sqlite3") as connection:
        connection.execute("DROP TRIGGER entries_never_updated")
        connection.execute("UPDATE entries SET signer_fingerprint = ? WHERE seq = 1", ["0" * 64])
    connection.close()
    code, out, _ = invoke(capsys, "registry", "verify")
    assert code == 1 and "edited: entry 1 was changed after it was written" in out


def test_trust_policy_from_mlwarden_toml_in_the_working_folder(tmp_path, capsys, monkeypatch, model, keypair):
    private, public, fingerprint = keypair
    monkeypatch.chdir(tmp_path)
    assert invoke(capsys, "sign", model, "--key", private)[0] == 0
    (tmp_path / "mlwarden.toml").write_text(f'[trust]\ntrusted_keys = [{{ fingerprint = "{fingerprint}", '
                                            f'name = "release key" }}]\n')
    code, out, err = invoke(capsys, "verify", model, "--key", public, "--format", "json")
    assert code == 0, err
    assert f"trust policy: [trust] of {tmp_path / 'mlwarden.toml'}" in err and "trust policy: allowed" in err
    assert rule_ids(out) == []
    assert SigningRegistry().entries()[-1].verdict == "allowed"

    (tmp_path / "mlwarden.toml").write_text(f'[trust]\ntrusted_keys = ["{"ab" * 32}"]\n')
    code, out, err = invoke(capsys, "verify", model, "--key", public, "--format", "json")
    assert code == 1 and "trust policy: denied" in err
    assert rule_ids(out) == ["MW-TRUST-001", "MW-TRUST-003"]
    assert SigningRegistry().entries()[-1].verdict == "denied"

    # --policy wins over the configuration, and says so.
    (tmp_path / "release.toml").write_text(f'[trust]\ntrusted_keys = ["{fingerprint}"]\n')
    code, _, err = invoke(capsys, "verify", model, "--key", public, "--policy", tmp_path / "release.toml")
    assert code == 0 and "release.toml (--policy)" in err


def test_trust_policy_in_pyproject_and_explicit_config(tmp_path, capsys, monkeypatch, model, keypair):
    private, public, fingerprint = keypair
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(f'[tool.mlwarden.trust]\ntrusted_keys = ["{fingerprint}"]\n')
    monkeypatch.chdir(project)
    invoke(capsys, "sign", model, "--key", private)
    code, _, err = invoke(capsys, "verify", model, "--key", public)
    assert code == 0 and "[tool.mlwarden.trust] of" in err
    (tmp_path / "plain.toml").write_text('fail_on = "high"\n')
    code, _, err = invoke(capsys, "verify", model, "--key", public, "--config", tmp_path / "plain.toml")
    assert code == 2 and "has no [trust] table" in err
    code, _, err = invoke(capsys, "verify", model, "--key", public, "--config", tmp_path / "plain.toml",
                          "--policy", tmp_path / "plain.toml")
    assert code == 2 and "give one" in err


def test_a_model_cannot_bring_its_own_trust_policy(capsys, monkeypatch, model, keypair):
    private, public, fingerprint = keypair
    invoke(capsys, "sign", model, "--key", private)
    (model / "weights.bin").write_bytes(b"\x03" * 4096)
    # Whoever altered the model also drops a lenient policy into it, exempting the altered file.
    (model / "mlwarden.toml").write_text(f'[trust]\ntrusted_keys = ["{fingerprint}"]\nallow_unsigned_files = true\n'
                                         f'ignore_paths = ["weights.bin", "mlwarden.toml"]\n')
    monkeypatch.chdir(model)
    code, _, err = invoke(capsys, "verify", ".", "--key", public)
    assert code == 2 and "inside the model being verified" in err


def test_signature_age_comes_from_the_registry(tmp_path, capsys, model, keypair):
    private, public, fingerprint = keypair
    policy = tmp_path / "fresh.toml"
    policy.write_text(f'[trust]\ntrusted_keys = ["{fingerprint}"]\nmax_signature_age_days = 30\n')
    invoke(capsys, "sign", model, "--key", private)
    code, _, err = invoke(capsys, "verify", model, "--key", public, "--policy", policy)
    assert code == 0, err
    # Without the registry a key signature has no known age: denied by default.
    code, out, _ = invoke(capsys, "verify", model, "--key", public, "--policy", policy, "--no-registry",
                          "--format", "json")
    assert code == 1 and "MW-TRUST-004" in rule_ids(out)


def test_registry_flags_and_write_failures(tmp_path, capsys, home, model, keypair):
    private, public, _ = keypair
    chosen = tmp_path / "team" / "registry.sqlite3"
    code, _, err = invoke(capsys, "sign", model, "--key", private, "--registry", chosen)
    assert code == 0 and str(chosen) in err
    assert invoke(capsys, "verify", model, "--key", public, "--registry", chosen)[0] == 0
    assert [e.action for e in SigningRegistry(chosen).entries()] == ["sign", "verify"]
    assert not (home / "registry.sqlite3").exists()

    assert invoke(capsys, "sign", model, "--key", private, "--no-registry")[0] == 0
    assert invoke(capsys, "verify", model, "--key", public, "--no-registry")[0] == 0
    assert not (home / "registry.sqlite3").exists() and len(SigningRegistry(chosen).entries()) == 2

    not_a_registry = tmp_path / "notes.sqlite3"
    not_a_registry.write_text("not a database")
    for argv, expected in ((["sign", model, "--key", private], 0),
                           (["verify", model, "--key", public], 0),
                           (["verify", model, "--key", tmp_path / "signing.pub", "-s", model / "missing.sig"], 2)):
        code, _, err = invoke(capsys, *argv, "--registry", not_a_registry)
        assert code == expected, err
        if expected == 0:
            warnings = [line for line in err.splitlines() if "warning" in line]
            assert len(warnings) == 1 and "was not recorded in the signing registry" in warnings[0]
    assert not_a_registry.read_text() == "not a database"
    code, _, err = invoke(capsys, "verify", model, "--key", public, "--no-registry", "--registry", chosen)
    assert code == 2 and "contradict" in err


def test_provenance_that_is_not_bound_to_the_model_denies(tmp_path, capsys, model, spec, keypair):
    private, public, _ = keypair
    invoke(capsys, "sign", model, "--key", private, "--provenance", spec)
    # Another model's provenance, signed with the same key, copied over this one's.
    other = tmp_path / "other"
    other.mkdir()
    (other / "w.bin").write_bytes(b"other")
    invoke(capsys, "sign", other, "--key", private, "--provenance", spec)
    (model / "model.provenance.sig").write_bytes((other / "model.provenance.sig").read_bytes())
    code, out, err = invoke(capsys, "verify", model, "--key", public, "--format", "json")
    assert code == 1 and "VERIFIED signed by" in err and "provenance: INVALID" in err
    assert rule_ids(out) == ["MW-TRUST-007"]
    assert SigningRegistry().entries()[-1].verdict == "failed"


def test_resigning_without_provenance_keeps_the_old_file_out_of_the_signature(capsys, model, spec, keypair):
    private, public, _ = keypair
    invoke(capsys, "sign", model, "--key", private, "--provenance", spec)
    (model / "weights.bin").write_bytes(b"\x04" * 4096)
    code, _, err = invoke(capsys, "sign", model, "--key", private)
    assert code == 0 and "from an earlier signing and was not re-signed" in err
    code, out, _ = invoke(capsys, "verify", model, "--key", public, "--format", "json")
    assert code == 1 and rule_ids(out) == ["MW-TRUST-007"]  # stale, never "added" or silently trusted
    (model / "model.provenance.sig").unlink()
    assert invoke(capsys, "verify", model, "--key", public)[0] == 0


def test_certificate_signing_with_provenance(tmp_path, capsys, model, spec):
    pki = make_pki(around=datetime.now(UTC))
    (tmp_path / "leaf.key").write_bytes(pki.leaf_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (tmp_path / "leaf.pem").write_bytes(pem(pki.leaf))
    (tmp_path / "inter.pem").write_bytes(pem(pki.intermediate))
    (tmp_path / "root.pem").write_bytes(pem(pki.root))
    code, _, err = invoke(capsys, "sign", model, "--key", tmp_path / "leaf.key", "--certificate",
                          tmp_path / "leaf.pem", "--certificate-chain", tmp_path / "inter.pem", "--provenance", spec)
    assert code == 0, err
    code, _, err = invoke(capsys, "verify", model, "--ca", tmp_path / "root.pem")
    assert code == 0 and "provenance: bound to the signed model" in err
    sign_entry, verify_entry = SigningRegistry().entries()
    assert sign_entry.signer_subject == verify_entry.signer_subject == "CN=model signer"
    assert sign_entry.signer_fingerprint == verify_entry.signer_fingerprint == keys.key_fingerprint(pki.leaf_key)


# --- the public API ------------------------------------------------------------------------------------------

def test_api_sign_and_verify_with_paths(tmp_path, home, model, spec, keypair):
    private, public, fingerprint = keypair
    signed = mlwarden.sign(str(model), key=str(private), provenance=spec)
    assert signed.signature == model / "model.sig" and signed.signer.key_fingerprint == fingerprint
    assert signed.provenance is not None and signed.provenance.path == model / "model.provenance.sig"
    assert signed.manifest.model_name == "bert" and "model.provenance.sig" in signed.manifest.settings.ignore_paths
    assert not (home / "registry.sqlite3").exists()  # the API records only when asked

    result = mlwarden.verify(model, public_key=public)
    assert result.verified and result.allowed and result.findings == ()
    assert result.signer is not None and result.signer.key_fingerprint == fingerprint
    assert result.provenance is not None and result.provenance.ok and result.decision is None

    (model / "extra.pkl").write_bytes(b"\x80\x04N.")
    result = mlwarden.verify(model, signature=model / "model.sig", public_key=public)
    assert not result.allowed and [d.kind for d in result.differences] == ["added"]
    assert [f.rule_id for f in result.findings] == ["MW-SIG-002"]


def test_api_with_key_objects_policy_and_registry(tmp_path, model):
    key = keys.generate_key("ed25519")
    registry = SigningRegistry(tmp_path / "log.sqlite3")
    signed = mlwarden.sign(model, key=key, hash="blake2b", shard_size=1024, registry=registry,
                           provenance=Provenance(datasets=(ArtifactReference("d", (("sha256", "ab" * 32),)),)))
    assert signed.manifest.settings.method == "shards" and signed.manifest.settings.hash_type == "blake2b"
    [entry] = registry.entries()
    assert entry.signer_fingerprint == keys.key_fingerprint(key) and entry.provenance_summary is not None

    policy = TrustPolicy(trusted_keys=({"fingerprint": keys.key_fingerprint(key)},), max_signature_age_days=7)
    result = mlwarden.verify(model, public_key=keys.public_key_of(key), policy=policy, registry=registry)
    assert result.allowed and result.decision is not None and result.decision.allowed
    assert result.record(registry).verdict == "allowed"
    denied = mlwarden.verify(model, public_key=keys.public_key_of(key), policy=policy)  # no registry: age unknown
    assert not denied.allowed and "MW-TRUST-004" in {f.rule_id for f in denied.findings}

    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(f'[trust]\ntrusted_keys = ["{"cd" * 32}"]\n')
    untrusted = mlwarden.verify(model, public_key=keys.public_key_of(key), policy=policy_file)
    assert untrusted.verified and not untrusted.allowed
    assert untrusted.record(registry).verdict == "denied"


def test_api_certificate_roots_as_paths(tmp_path, model):
    pki = make_pki(around=datetime.now(UTC))
    (tmp_path / "chain.pem").write_bytes(pem(pki.leaf, pki.intermediate))
    (tmp_path / "root.pem").write_bytes(pem(pki.root))
    signed = mlwarden.sign(model, key=pki.leaf_key, certificate_chain=[tmp_path / "chain.pem"])
    assert signed.signer.method == "certificate" and signed.signer.subject == "CN=model signer"
    result = mlwarden.verify(model, ca_roots=[tmp_path / "root.pem"])
    assert result.allowed and result.signer == signed.signer


def test_api_refuses_unusable_arguments(tmp_path, model, keypair):
    private, public, _ = keypair
    with pytest.raises(UsageError):
        mlwarden.sign(model, key=private, hash="md5")  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        mlwarden.sign(model, key=private, shard_size=0)
    with pytest.raises(InputError):
        mlwarden.sign(tmp_path / "missing", key=private)
    with pytest.raises(ConfigError):
        mlwarden.sign(model, key=private, provenance=tmp_path / "missing.toml")
    assert not (model / "model.sig").exists()  # nothing written before the arguments were checked
    with pytest.raises(UsageError):
        mlwarden.verify(model)
    mlwarden.sign(model, key=private)
    with pytest.raises(ConfigError):
        mlwarden.verify(model, public_key=public, policy=tmp_path / "missing.toml")


def test_public_api_surface_and_lazy_imports():
    assert {"sign", "verify", "load", "scan", "SignedModel", "Verification"} <= set(mlwarden.__all__)
    # The workflow module itself is light (its imports are inside the functions); what must not load with the
    # package is the cryptography and the scan engine.
    code = ("import sys, mlwarden; heavy = [m for m in sys.modules if m.startswith(('mlwarden.integrity.keys', "
            "'mlwarden.integrity.verify', 'cryptography', 'mlwarden.scanning'))]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_two_of_two_signers_through_the_cli(tmp_path, capsys, model):
    """k of n: two signers sign the same model into two signature files; a 2-of-2 policy needs both."""
    signers = []
    for name in ("alice", "bob"):
        code, fingerprint, err = invoke(capsys, "keygen", tmp_path / f"{name}.pem")
        assert code == 0, err
        signature = tmp_path / f"{name}.sig"
        code, _, err = invoke(capsys, "sign", model, "--key", tmp_path / f"{name}.pem", "--output", signature,
                              "--no-registry")
        assert code == 0, err
        signers.append((tmp_path / f"{name}.pub", signature, fingerprint.strip()))
    policy = tmp_path / "policy.toml"
    policy.write_text("[trust]\nrequired_signatures = 2\ntrusted_keys = [" +
                      ", ".join(f'"{fp}"' for _, _, fp in signers) + "]\n")
    both = []
    for public, signature, _ in signers:
        both += ["--signature", signature, "--key", public]
    code, out, err = invoke(capsys, "verify", model, *both, "--policy", policy, "--no-registry", "-f", "json")
    assert code == 0, err
    (public, signature, _) = signers[0]
    code, out, err = invoke(capsys, "verify", model, "--signature", signature, "--key", public, "--policy", policy,
                            "--no-registry", "-f", "json")
    assert code == 1
    assert "MW-TRUST-003" in rule_ids(out)
    # The keys are matched to the signatures: given in the other order, both still verify.
    swapped = ["--signature", signers[0][1], "--signature", signers[1][1], "--key", signers[1][0], "--key",
               signers[0][0]]
    code, _, err = invoke(capsys, "verify", model, *swapped, "--policy", policy, "--no-registry")
    assert code == 0, err


def test_the_api_takes_several_signatures(tmp_path, model):
    alice, bob = keys.generate_key("ecdsa-p256-sha256"), keys.generate_key("ed25519")
    sig_a = mlwarden.sign(model, key=alice, output=tmp_path / "a.sig").signature
    sig_b = mlwarden.sign(model, key=bob, output=tmp_path / "b.sig").signature
    policy = TrustPolicy(trusted_keys=[keys.key_fingerprint(alice), keys.key_fingerprint(bob)],
                         required_signatures=2)
    result = mlwarden.verify(model, signature=[sig_a, sig_b],
                             public_key=[keys.public_key_of(alice), keys.public_key_of(bob)], policy=policy)
    assert result.allowed and len(result.verdicts) == 2
    (model / "weights.bin").write_bytes(b"\x02" * 4096)
    tampered = mlwarden.verify(model, signature=[sig_a, sig_b],
                               public_key=[keys.public_key_of(alice), keys.public_key_of(bob)], policy=policy)
    assert not tampered.allowed
