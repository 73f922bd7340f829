"""`mlwarden encrypt / decrypt / rekey / enc-keygen` through the real entry point (in-process) and one
subprocess: exit codes, one-line errors, passphrases from the environment or a prompt, nothing left behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlwarden.cli import crypt as crypt_cmd
from mlwarden.cli import main as main_cli

SECRET = "tiger lily 42"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def crypt_commands(monkeypatch):
    """The commands as cli/main.py registers them; added here on a copy until main.py lists them itself."""
    names = {c.name for c in main_cli.app.registered_commands}
    if "encrypt" not in names:
        monkeypatch.setattr(main_cli.app, "registered_commands", list(main_cli.app.registered_commands))
        crypt_cmd.register(main_cli.app)


def invoke(capsys, *argv):
    with pytest.raises(SystemExit) as info:
        main_cli.run([str(a) for a in argv])
    out, err = capsys.readouterr()
    return info.value.code, out, err


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mlwarden: error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture()
def model(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes(os.urandom(300_000))
    return path


def test_keygen_encrypt_decrypt_with_key_pairs(capsys, tmp_path, model):
    for kind in ("x25519", "x25519-mlkem768"):
        code, _, err = invoke(capsys, "enc-keygen", "--kind", kind, "--output", tmp_path / f"{kind}.pem")
        assert code == 0 and "mode 0600" in err and f"{kind}.pem.pub" in err
    code, _, err = invoke(capsys, "encrypt", model, "--recipient", tmp_path / "x25519.pem.pub",
                          "--recipient", tmp_path / "x25519-mlkem768.pem.pub")
    assert code == 0, err
    assert "encrypted 1 file" in err and "for 2 recipients: x25519" in err and "x25519-mlkem768" in err
    encrypted = tmp_path / "model.safetensors.mlwenc"
    for kind in ("x25519", "x25519-mlkem768"):
        out = tmp_path / f"restored-{kind}"
        code, _, err = invoke(capsys, "decrypt", encrypted, "--identity", tmp_path / f"{kind}.pem", "-o", out)
        assert code == 0, err
        assert out.read_bytes() == model.read_bytes()


def test_symmetric_key_file_and_folder(capsys, tmp_path, model):
    code, _, err = invoke(capsys, "enc-keygen", "--kind", "symmetric", "-o", tmp_path / "team.key")
    assert code == 0 and "symmetric key file" in err
    folder = tmp_path / "repo"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "w.bin").write_bytes(b"w" * 5000)
    (folder / "config.json").write_text("{}")
    code, _, err = invoke(capsys, "encrypt", folder, "--key-file", tmp_path / "team.key", "-o", tmp_path / "sealed")
    assert code == 0 and "encrypted 2 files" in err
    assert (tmp_path / "sealed" / "sub" / "w.bin.mlwenc").is_file()
    code, _, err = invoke(capsys, "decrypt", tmp_path / "sealed", "-k", tmp_path / "team.key",
                          "-o", tmp_path / "back")
    assert code == 0, err
    assert (tmp_path / "back" / "sub" / "w.bin").read_bytes() == b"w" * 5000


def test_passphrase_from_the_environment(capsys, tmp_path, model, monkeypatch):
    monkeypatch.setenv("MODEL_PASSPHRASE", SECRET)
    code, out, err = invoke(capsys, "encrypt", model, "--passphrase-env", "MODEL_PASSPHRASE", "--kdf", "scrypt")
    assert code == 0 and "passphrase (scrypt)" in err
    assert SECRET not in out + err
    restored = tmp_path / "restored"
    code, out, err = invoke(capsys, "decrypt", f"{model}.mlwenc", "--passphrase-env", "MODEL_PASSPHRASE",
                            "-o", restored)
    assert code == 0 and restored.read_bytes() == model.read_bytes()
    monkeypatch.setenv("MODEL_PASSPHRASE", "not it")
    code, out, err = invoke(capsys, "decrypt", f"{model}.mlwenc", "--passphrase-env", "MODEL_PASSPHRASE",
                            "-o", tmp_path / "again")
    line = one_line_error(err)
    assert code == 2 and "wrong key or passphrase" in line and "not it" not in line and SECRET not in line
    assert not (tmp_path / "again").exists()


def test_missing_environment_variable(capsys, model, monkeypatch):
    monkeypatch.delenv("NOPE_PASSPHRASE", raising=False)
    code, _, err = invoke(capsys, "encrypt", model, "--passphrase-env", "NOPE_PASSPHRASE")
    assert code == 2 and "environment variable NOPE_PASSPHRASE is not set" in one_line_error(err)
    assert not Path(f"{model}.mlwenc").exists()


def test_interactive_prompt(capsys, tmp_path, model, monkeypatch):
    answers = iter([SECRET, SECRET, SECRET, "typo", SECRET, "other", "another"])
    monkeypatch.setattr(crypt_cmd, "_interactive", lambda: True)
    monkeypatch.setattr(crypt_cmd, "_prompt_secret", lambda prompt: next(answers))
    code, _, err = invoke(capsys, "encrypt", model)  # no key source: prompt, twice
    assert code == 0, err
    code, _, err = invoke(capsys, "decrypt", f"{model}.mlwenc", "-o", tmp_path / "r")
    assert code == 0 and (tmp_path / "r").read_bytes() == model.read_bytes()
    code, _, err = invoke(capsys, "encrypt", model, "-o", tmp_path / "second.mlwenc")
    assert code == 2 and "the two passphrases differ" in one_line_error(err)
    code, _, err = invoke(capsys, "encrypt", model, "-p", "-o", tmp_path / "third.mlwenc")
    assert code == 2 and "differ" in err and not (tmp_path / "third.mlwenc").exists()


def test_no_key_source_without_a_terminal(capsys, tmp_path, model, monkeypatch):
    monkeypatch.setattr(crypt_cmd, "_interactive", lambda: False)
    code, _, err = invoke(capsys, "encrypt", model)
    assert code == 2 and "no recipient" in one_line_error(err)
    code, _, err = invoke(capsys, "enc-keygen", "--kind", "symmetric", "-o", tmp_path / "k")
    invoke(capsys, "encrypt", model, "-k", tmp_path / "k")
    code, _, err = invoke(capsys, "decrypt", f"{model}.mlwenc", "-o", tmp_path / "r")
    assert code == 2 and "no key given" in one_line_error(err)


def test_prompt_is_not_offered_for_a_key_only_file(capsys, tmp_path, model, monkeypatch):
    monkeypatch.setattr(crypt_cmd, "_interactive", lambda: True)
    invoke(capsys, "enc-keygen", "-o", tmp_path / "a.pem")
    invoke(capsys, "encrypt", model, "-r", tmp_path / "a.pem.pub")
    code, _, err = invoke(capsys, "decrypt", f"{model}.mlwenc", "-o", tmp_path / "r")
    assert code == 2 and "is encrypted to x25519" in one_line_error(err) and "--identity" in err


def test_tampered_file_exits_2_and_leaves_nothing(capsys, tmp_path, model):
    invoke(capsys, "enc-keygen", "--kind", "symmetric", "-o", tmp_path / "k")
    invoke(capsys, "encrypt", model, "-k", tmp_path / "k")
    encrypted = Path(f"{model}.mlwenc")
    blob = bytearray(encrypted.read_bytes())
    blob[-50] ^= 0x10
    encrypted.write_bytes(bytes(blob))
    code, _, err = invoke(capsys, "decrypt", encrypted, "-k", tmp_path / "k", "-o", tmp_path / "out")
    line = one_line_error(err)
    assert code == 2 and "is damaged: chunk 0 failed authentication" in line
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    encrypted.write_bytes(bytes(blob[:len(blob) // 2]))
    code, _, err = invoke(capsys, "decrypt", encrypted, "-k", tmp_path / "k", "-o", tmp_path / "out")
    assert code == 2 and "chunk 0" in one_line_error(err)


def test_existing_output_and_bad_flags(capsys, tmp_path, model):
    invoke(capsys, "enc-keygen", "--kind", "symmetric", "-o", tmp_path / "k")
    Path(f"{model}.mlwenc").write_bytes(b"already here")
    code, _, err = invoke(capsys, "encrypt", model, "-k", tmp_path / "k")
    assert code == 2 and "pass --force" in one_line_error(err)
    code, _, err = invoke(capsys, "encrypt", model, "-k", tmp_path / "k", "--force")
    assert code == 0
    code, _, err = invoke(capsys, "encrypt", model, "--kdf", "md5")
    assert code == 2 and "--kdf" in one_line_error(err)
    code, _, err = invoke(capsys, "enc-keygen", "--kind", "rsa", "-o", tmp_path / "r")
    assert code == 2 and "--kind" in one_line_error(err)
    code, _, err = invoke(capsys, "enc-keygen", "--kind", "symmetric", "-o", tmp_path / "k")
    assert code == 2 and "never overwritten" in one_line_error(err)
    code, _, err = invoke(capsys, "encrypt", model, "-r", tmp_path / "k")
    assert code == 2 and "pass it with --key-file" in one_line_error(err)


def test_rekey_from_the_command_line(capsys, tmp_path, model, monkeypatch):
    invoke(capsys, "enc-keygen", "--kind", "symmetric", "-o", tmp_path / "old.key")
    invoke(capsys, "enc-keygen", "--kind", "x25519-mlkem768", "-o", tmp_path / "new.pem")
    invoke(capsys, "encrypt", model, "-k", tmp_path / "old.key")
    encrypted = Path(f"{model}.mlwenc")
    code, _, err = invoke(capsys, "rekey", encrypted, "-k", tmp_path / "old.key",
                          "--add-recipient", tmp_path / "new.pem.pub", "--remove-key-file", tmp_path / "old.key")
    assert code == 0, err
    assert "rekeyed 1 file" in err and "+x25519-mlkem768" in err and "-keyfile" in err and "payload unchanged" in err
    code, _, err = invoke(capsys, "decrypt", encrypted, "-k", tmp_path / "old.key", "-o", tmp_path / "x")
    assert code == 2 and "wrong key" in one_line_error(err)
    code, _, err = invoke(capsys, "decrypt", encrypted, "-i", tmp_path / "new.pem", "-o", tmp_path / "x")
    assert code == 0 and (tmp_path / "x").read_bytes() == model.read_bytes()
    monkeypatch.setenv("ADD_ME", SECRET)
    code, _, err = invoke(capsys, "rekey", encrypted, "-i", tmp_path / "new.pem", "--add-passphrase-env", "ADD_ME",
                          "--kdf", "scrypt")
    assert code == 0 and SECRET not in err
    code, _, err = invoke(capsys, "rekey", encrypted, "-i", tmp_path / "new.pem", "--remove-passphrase")
    assert code == 0
    code, _, err = invoke(capsys, "rekey", encrypted, "-i", tmp_path / "new.pem")
    assert code == 2 and "rekey needs a change" in one_line_error(err)


def test_errors_in_a_real_process(tmp_path):
    """The installed-style entry point in a subprocess: exit 2, one line, no traceback, no output file."""
    key = tmp_path / "k"
    key.write_text("-----BEGIN MLWARDEN SYMMETRIC KEY-----\n" + "A" * 43 + "=\n"
                   "-----END MLWARDEN SYMMETRIC KEY-----\n")
    model = tmp_path / "m.bin"
    model.write_bytes(b"weights")
    script = ("import sys; from mlwarden.cli import main, crypt\n"
              "if 'encrypt' not in {c.name for c in main.app.registered_commands}: crypt.register(main.app)\n"
              "main.run(sys.argv[1:])")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + str(ROOT)}
    encrypt = subprocess.run([sys.executable, "-c", script, "encrypt", str(model), "-k", str(key)],
                             capture_output=True, text=True, env=env, timeout=60)
    assert encrypt.returncode == 0, encrypt.stderr
    other = tmp_path / "other"
    other.write_text("-----BEGIN MLWARDEN SYMMETRIC KEY-----\n" + "B" * 43 + "=\n"
                     "-----END MLWARDEN SYMMETRIC KEY-----\n")
    result = subprocess.run([sys.executable, "-c", script, "decrypt", f"{model}.mlwenc", "-k", str(other),
                             "-o", str(tmp_path / "out")], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "wrong key or passphrase" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()
