"""`mlwarden keygen`, `sign` and `verify` through the real entry point: exit codes 0/1/2, one-line errors, reports."""

from __future__ import annotations

import json
import os
import stat
import sys
from datetime import UTC, datetime

import pytest

from mlwarden.cli import main as cli_main
from mlwarden.cli import signing as signing_cmd
from mlwarden.cli.main import run
from tests.integrity.test_certificates import make_pki, pem

# The commands are registered in cli/main.py; until they are, register them here the same way.
_registered = {command.name for command in cli_main.app.registered_commands}
for _name, _function, _help in (("keygen", signing_cmd.keygen, signing_cmd.KEYGEN_HELP),
                                ("sign", signing_cmd.sign, signing_cmd.SIGN_HELP),
                                ("verify", signing_cmd.verify, signing_cmd.VERIFY_HELP)):
    if _name not in _registered:
        cli_main.app.command(_name, help=_help)(_function)


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    """Every command here may write the signing registry: never the real user data folder."""
    folder = tmp_path / "mlwarden-home"
    monkeypatch.setenv("MLWARDEN_HOME", str(folder))
    return folder


def invoke(capsys, *argv):
    with pytest.raises(SystemExit) as info:
        run([str(a) for a in argv])
    out, err = capsys.readouterr()
    return info.value.code, out, err


def one_line_error(err: str) -> bool:
    lines = err.strip().splitlines()
    return len(lines) == 1 and lines[0].startswith("mlwarden: error: ")


@pytest.fixture()
def model(tmp_path):
    root = tmp_path / "model"
    root.mkdir()
    (root / "config.json").write_text('{"a": 1}')
    (root / "weights.bin").write_bytes(b"\x01" * 1000)
    return root


@pytest.fixture()
def keypair(tmp_path, capsys):
    code, out, err = invoke(capsys, "keygen", tmp_path / "signing.pem")
    assert code == 0, err
    return tmp_path / "signing.pem", tmp_path / "signing.pub", out.strip()


def test_keygen_writes_both_keys_and_prints_the_fingerprint(tmp_path, capsys):
    code, out, err = invoke(capsys, "keygen", tmp_path / "k.pem", "--algorithm", "ed25519")
    assert code == 0
    assert stat.S_IMODE(os.stat(tmp_path / "k.pem").st_mode) == 0o600
    assert (tmp_path / "k.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    assert len(out.strip()) == 64 and "NOT encrypted" in err


def test_keygen_with_a_passphrase_from_the_environment(tmp_path, capsys, monkeypatch, model):
    monkeypatch.setenv("MLW_TEST_PASS", "s3cret-passphrase")
    code, _, err = invoke(capsys, "keygen", tmp_path / "k.pem", "--passphrase-env", "MLW_TEST_PASS",
                          "-a", "ml-dsa-65")
    assert code == 0 and "encrypted with the passphrase" in err and "s3cret" not in err
    assert b"ENCRYPTED PRIVATE KEY" in (tmp_path / "k.pem").read_bytes()
    code, _, err = invoke(capsys, "sign", model, "--key", tmp_path / "k.pem", "--passphrase-env", "MLW_TEST_PASS")
    assert code == 0, err
    code, out, err = invoke(capsys, "verify", model, "--signature", model / "model.sig", "--key", tmp_path / "k.pub")
    assert code == 0 and "VERIFIED" in err and "MW-SIG-010" in out  # the extension, as information
    monkeypatch.setenv("MLW_TEST_PASS", "Zq9-not-it")
    code, _, err = invoke(capsys, "sign", model, "--key", tmp_path / "k.pem", "--passphrase-env", "MLW_TEST_PASS")
    assert code == 2 and one_line_error(err) and "wrong passphrase" in err and "Zq9-not-it" not in err


@pytest.mark.parametrize("argv, fragment", [
    (["--passphrase-env", "MLW_SURELY_UNSET"], "MLW_SURELY_UNSET"),
    (["--algorithm", "rsa"], "--algorithm"),
    (["--passphrase-env", "X", "--passphrase"], "cannot be combined"),
])
def test_keygen_usage_errors(tmp_path, capsys, argv, fragment):
    code, _, err = invoke(capsys, "keygen", tmp_path / "k.pem", *argv)
    assert code == 2 and one_line_error(err) and fragment in err
    assert not (tmp_path / "k.pem").exists()


def test_keygen_never_replaces_a_key(tmp_path, capsys, keypair):
    private, _, _ = keypair
    before = private.read_bytes()
    code, _, err = invoke(capsys, "keygen", private)
    assert code == 2 and one_line_error(err) and "already exists" in err
    assert private.read_bytes() == before
    assert invoke(capsys, "keygen", private, "--force")[0] == 0 and private.read_bytes() != before


def test_sign_and_verify(capsys, model, keypair):
    private, public, fingerprint = keypair
    code, _, err = invoke(capsys, "sign", model, "--key", private)
    assert code == 0 and "signature written to" in err
    code, out, err = invoke(capsys, "verify", model, "--signature", model / "model.sig", "--key", public)
    assert code == 0, out + err
    assert f"VERIFIED signed by key {fingerprint}" in err


def test_tampering_exits_1_with_named_findings_in_every_format(tmp_path, capsys, model, keypair):
    private, public, _ = keypair
    invoke(capsys, "sign", model, "--key", private, "--hash", "blake2b", "--shard-size", "100")
    (model / "weights.bin").write_bytes(b"\x02" * 1000)
    (model / "evil.pkl").write_bytes(b"\x80\x04.")
    code, out, err = invoke(capsys, "verify", model, "-s", model / "model.sig", "-k", public, "-f", "json")
    assert code == 1 and "NOT VERIFIED (2 differences)" in err
    report = json.loads(out)
    assert sorted((f["rule_id"], f["location"]["path"]) for f in report["findings"]) == [
        ("MW-SIG-001", f"{model}/weights.bin"), ("MW-SIG-002", f"{model}/evil.pkl")]
    for fmt in ("sarif", "html", "terminal"):
        target = tmp_path / f"report.{fmt}"
        code, out, err = invoke(capsys, "verify", model, "-s", model / "model.sig", "-k", public, "-f", fmt,
                                "-o", target)
        assert code == 1 and out == "" and "report written to" in err
        assert "MW-SIG-001" in target.read_text()
    sarif = json.loads((tmp_path / "report.sarif").read_text())
    assert {r["ruleId"] for r in sarif["runs"][0]["results"]} == {"MW-SIG-001", "MW-SIG-002"}


def test_wrong_key_exits_1(tmp_path, capsys, model, keypair):
    private, _, _ = keypair
    invoke(capsys, "sign", model, "--key", private)
    invoke(capsys, "keygen", tmp_path / "other.pem")
    code, out, _ = invoke(capsys, "verify", model, "-s", model / "model.sig", "-k", tmp_path / "other.pub",
                          "-f", "json")
    assert code == 1 and [f["rule_id"] for f in json.loads(out)["findings"]] == ["MW-SIG-007"]


def test_corrupted_signature_file_exits_1(capsys, model, keypair):
    private, public, _ = keypair
    invoke(capsys, "sign", model, "--key", private)
    (model / "model.sig").write_text("{not json")
    code, out, _ = invoke(capsys, "verify", model, "-s", model / "model.sig", "-k", public, "-f", "json")
    assert code == 1 and [f["rule_id"] for f in json.loads(out)["findings"]] == ["MW-SIG-008"]


@pytest.mark.parametrize("argv, fragment", [
    (["verify", "{model}", "-s", "{model}/model.sig"], "--key"),
    (["verify", "{model}", "-s", "{tmp}/missing.sig", "-k", "{pub}"], "does not exist"),
    (["verify", "{tmp}/missing", "-s", "{model}/model.sig", "-k", "{pub}"], "does not exist"),
    (["verify", "{model}", "-s", "{model}/model.sig", "-k", "{model}/model.sig"], "not a PEM public key"),
    (["verify", "{model}", "-s", "{model}/model.sig", "-k", "{priv}"], "is a private key"),
    (["verify", "{model}", "-s", "{model}/model.sig", "-k", "{pub}", "--format", "xml"], "--format"),
    (["verify", "{model}", "-s", "{model}/model.sig", "--policy", "{tmp}/policy.toml"], "--key"),
    (["verify", "{model}", "-s", "{model}/model.sig", "-k", "{pub}", "--policy", "{tmp}/nope.toml"],
     "does not exist"),
    (["verify", "{model}", "-s", "{model}/model.sig", "--ca", "{pub}"], "no readable X.509"),
    (["sign", "{model}", "--key", "{pub}"], "not a PEM private key"),
    (["sign", "{tmp}/missing", "--key", "{priv}"], "does not exist"),
    (["sign", "{model}", "--key", "{priv}", "--hash", "md5"], "--hash"),
    (["sign", "{model}", "--key", "{priv}", "--shard-size", "0"], "--shard-size"),
    (["sign", "{model}", "--key", "{priv}", "--certificate-chain", "{pub}"], "--certificate"),
    (["sign", "{model}"], "--key"),
    (["sign", "{model}", "--key", "{priv}", "--provenance", "{tmp}/missing.toml"], "does not exist"),
    (["sign", "{model}", "--key", "{priv}", "--no-registry", "--registry", "{tmp}/r.sqlite3"], "contradict"),
    (["verify", "{model}", "-k", "{pub}", "--policy", "{tmp}/p.toml", "--config", "{tmp}/p.toml"], "give one"),
    (["verify", "{model}", "-k", "{pub}", "--config", "{tmp}/missing.toml"], "does not exist"),
])
def test_unusable_arguments_exit_2_with_one_line(tmp_path, capsys, model, keypair, argv, fragment):
    private, public, _ = keypair
    invoke(capsys, "sign", model, "--key", private)
    values = {"model": model, "tmp": tmp_path, "pub": public, "priv": private}
    code, _, err = invoke(capsys, *[a.format(**values) for a in argv])
    assert code == 2 and one_line_error(err) and fragment in err, err


def test_encrypted_key_without_a_terminal_asks_for_the_environment_variable(tmp_path, capsys, model,
                                                                               monkeypatch):
    monkeypatch.setenv("MLW_TEST_PASS", "pw-123456")
    invoke(capsys, "keygen", tmp_path / "k.pem", "--passphrase-env", "MLW_TEST_PASS")
    monkeypatch.setattr(sys, "stdin", open(os.devnull))  # not a terminal
    code, _, err = invoke(capsys, "sign", model, "--key", tmp_path / "k.pem")
    assert code == 2 and one_line_error(err) and "--passphrase-env" in err


def test_certificate_method(tmp_path, capsys, model):
    now = datetime.now(UTC)  # the command checks validity against the real clock
    pki = make_pki(around=now)
    from cryptography.hazmat.primitives import serialization

    (tmp_path / "leaf.key").write_bytes(pki.leaf_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (tmp_path / "leaf.pem").write_bytes(pem(pki.leaf))
    (tmp_path / "inter.pem").write_bytes(pem(pki.intermediate))
    (tmp_path / "root.pem").write_bytes(pem(pki.root))
    code, _, err = invoke(capsys, "sign", model, "--key", tmp_path / "leaf.key", "--certificate",
                          tmp_path / "leaf.pem", "--certificate-chain", tmp_path / "inter.pem")
    assert code == 0, err
    code, _, err = invoke(capsys, "verify", model, "-s", model / "model.sig", "--ca", tmp_path / "root.pem")
    assert code == 0 and "subject CN=model signer" in err
    other = make_pki(around=now)
    (tmp_path / "other.pem").write_bytes(pem(other.root))
    code, out, _ = invoke(capsys, "verify", model, "-s", model / "model.sig", "--ca", tmp_path / "other.pem",
                          "-f", "json")
    assert code == 1 and [f["rule_id"] for f in json.loads(out)["findings"]] == ["MW-SIG-011"]


def test_trust_policy_decides(tmp_path, capsys, model, keypair):
    private, public, fingerprint = keypair
    invoke(capsys, "sign", model, "--key", private)
    trusted = tmp_path / "trusted.toml"
    trusted.write_text(f'[trust]\ntrusted_keys = ["{fingerprint}"]\n')
    code, _, err = invoke(capsys, "verify", model, "-s", model / "model.sig", "-k", public, "--policy", trusted)
    assert code == 0 and "trust policy: allowed" in err
    untrusted = tmp_path / "untrusted.toml"
    untrusted.write_text(f'[trust]\ntrusted_keys = ["{"0" * 64}"]\n')
    code, out, err = invoke(capsys, "verify", model, "-s", model / "model.sig", "-k", public, "--policy", untrusted,
                            "-f", "json")
    assert code == 1 and "trust policy: denied" in err
    assert "MW-TRUST-001" in {f["rule_id"] for f in json.loads(out)["findings"]}
    # An unsigned benign file is let through only with allow_unsigned_files, and then below the gate.
    (model / "README.md").write_text("hello")
    lenient = tmp_path / "lenient.toml"
    lenient.write_text(f'[trust]\ntrusted_keys = ["{fingerprint}"]\nallow_unsigned_files = true\n')
    code, out, _ = invoke(capsys, "verify", model, "-s", model / "model.sig", "-k", public, "--policy", lenient,
                          "-f", "json")
    assert code == 0
    assert all(f["severity"] in ("low", "info") for f in json.loads(out)["findings"])
    code, _, _ = invoke(capsys, "verify", model, "-s", model / "model.sig", "-k", public, "--policy", trusted)
    assert code == 1


def test_verify_finds_the_signature_where_sign_wrote_it(tmp_path, capsys, home, keypair):
    private, public, _ = keypair
    single = tmp_path / "model.safetensors"
    single.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    assert invoke(capsys, "sign", single, "--key", private)[0] == 0
    assert (tmp_path / "model.sig").is_file()
    code, _, err = invoke(capsys, "verify", single, "--key", public)
    assert code == 0 and "VERIFIED" in err
    assert (home / "registry.sqlite3").is_file()  # recorded in MLWARDEN_HOME, never the user's own folder
