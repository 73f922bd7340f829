"""Files and folders on disk: layout, atomic output, nothing left behind on failure, the input never replaced."""

from __future__ import annotations

import os
import stat

import pytest

from mlwarden.core.errors import InputError, UsageError
from mlwarden.crypto import files as files_module
from mlwarden.crypto.files import (
    decrypt_path,
    decrypt_to_memory,
    encrypt_path,
    inspect_encrypted,
    is_encrypted,
    open_decrypted,
    rekey_path,
)
from mlwarden.crypto.recipients import SymmetricKey
from mlwarden.crypto.stream import TAG_SIZE, DecryptionError, parse_header
from tests.crypto.conftest import cheap_passphrase

CHUNK = 1024


def make_model_folder(root):
    (root / "weights").mkdir(parents=True)
    (root / "weights" / "shard-1.safetensors").write_bytes(os.urandom(3 * CHUNK + 11))
    (root / "weights" / "shard-2.safetensors").write_bytes(os.urandom(CHUNK))
    (root / "config.json").write_text('{"layers": 2}')
    (root / "empty.txt").write_bytes(b"")
    (root / "nested" / "deeper" / "void").mkdir(parents=True)
    return root


def snapshot(root):
    return {p.relative_to(root).as_posix(): (p.read_bytes() if p.is_file() else None)
            for p in sorted(root.rglob("*"))}


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_file_round_trip_with_default_names(tmp_path, symmetric_key):
    source = tmp_path / "model.pt"
    source.write_bytes(os.urandom(5 * CHUNK + 1))
    summary = encrypt_path(source, recipients=[symmetric_key], chunk_size=CHUNK)
    encrypted = tmp_path / "model.pt.mlwenc"
    assert summary.output == encrypted and summary.total_bytes == 5 * CHUNK + 1
    assert is_encrypted(encrypted) and not is_encrypted(source) and not is_encrypted(tmp_path / "missing")
    restored = tmp_path / "restored.pt"
    decrypt_path(encrypted, restored, identities=[symmetric_key])
    assert restored.read_bytes() == source.read_bytes()
    source.rename(tmp_path / "original.pt")
    assert decrypt_path(encrypted, identities=[symmetric_key]).output == source
    assert source.read_bytes() == (tmp_path / "original.pt").read_bytes()
    assert stat.S_IMODE(source.stat().st_mode) == 0o600  # plaintext of a protected model: owner only
    assert leftovers(tmp_path) == []


def test_folder_round_trip_keeps_the_layout(tmp_path, symmetric_key):
    source = make_model_folder(tmp_path / "model")
    summary = encrypt_path(source, tmp_path / "sealed", recipients=[symmetric_key], chunk_size=CHUNK)
    sealed = tmp_path / "sealed"
    assert sorted(p.relative_to(sealed).as_posix() for p in sealed.rglob("*")) == [
        "config.json.mlwenc", "empty.txt.mlwenc", "nested", "nested/deeper", "nested/deeper/void", "weights",
        "weights/shard-1.safetensors.mlwenc", "weights/shard-2.safetensors.mlwenc"]
    assert len(summary.files) == 4 and all(is_encrypted(f.output) for f in summary.files)
    restored = decrypt_path(sealed, tmp_path / "restored", identities=[symmetric_key]).output
    assert snapshot(restored) == snapshot(source)
    assert leftovers(tmp_path) == []


def test_no_output_left_behind_on_wrong_key(tmp_path, symmetric_key):
    source = tmp_path / "m.bin"
    source.write_bytes(b"x" * 3000)
    encrypt_path(source, recipients=[symmetric_key], chunk_size=CHUNK)
    with pytest.raises(DecryptionError, match="wrong key"):
        decrypt_path(tmp_path / "m.bin.mlwenc", tmp_path / "out.bin", identities=[SymmetricKey.generate()])
    assert not (tmp_path / "out.bin").exists() and leftovers(tmp_path) == []


@pytest.mark.parametrize("damage", ["flip-last-chunk", "truncate", "truncate-boundary", "append"])
def test_no_plaintext_left_behind_on_damage(tmp_path, symmetric_key, damage):
    source = tmp_path / "m.bin"
    source.write_bytes(os.urandom(4 * CHUNK))
    encrypted = encrypt_path(source, recipients=[symmetric_key], chunk_size=CHUNK).output
    blob = bytearray(encrypted.read_bytes())
    if damage == "flip-last-chunk":
        blob[-3] ^= 1
    elif damage == "truncate":
        del blob[-100:]
    elif damage == "truncate-boundary":
        del blob[-(CHUNK + TAG_SIZE):]
    else:
        blob += b"more"
    encrypted.write_bytes(bytes(blob))
    with pytest.raises(DecryptionError):
        decrypt_path(encrypted, tmp_path / "out.bin", identities=[symmetric_key])
    assert not (tmp_path / "out.bin").exists() and leftovers(tmp_path) == []


def test_folder_with_one_damaged_file_leaves_nothing(tmp_path, symmetric_key):
    source = make_model_folder(tmp_path / "model")
    sealed = encrypt_path(source, tmp_path / "sealed", recipients=[symmetric_key], chunk_size=CHUNK).output
    victim = sealed / "weights" / "shard-2.safetensors.mlwenc"
    victim.write_bytes(victim.read_bytes()[:-1])
    with pytest.raises(DecryptionError, match="shard-2"):
        decrypt_path(sealed, tmp_path / "restored", identities=[symmetric_key])
    assert not (tmp_path / "restored").exists() and leftovers(tmp_path) == []


def test_failure_while_encrypting_leaves_nothing(tmp_path, symmetric_key, monkeypatch):
    source = make_model_folder(tmp_path / "model")
    calls = []

    def failing(src, dst, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            dst.write(b"partial")
            raise OSError(28, "No space left on device")
        return real(src, dst, **kwargs)

    real = files_module.encrypt_stream
    monkeypatch.setattr(files_module, "encrypt_stream", failing)
    with pytest.raises(InputError, match="cannot encrypt .* No space left on device"):
        encrypt_path(source, tmp_path / "sealed", recipients=[symmetric_key])
    assert not (tmp_path / "sealed").exists() and leftovers(tmp_path) == []
    with pytest.raises(InputError, match="No space left"):
        calls.clear()
        calls.extend([1, 1])
        encrypt_path(source / "config.json", tmp_path / "c.mlwenc", recipients=[symmetric_key])
    assert not (tmp_path / "c.mlwenc").exists() and leftovers(tmp_path) == []


def test_never_overwrites_the_input(tmp_path, symmetric_key):
    source = tmp_path / "m.bin"
    source.write_bytes(b"precious")
    for kwargs in ({}, {"overwrite": True}):
        with pytest.raises(UsageError, match="is the input"):
            encrypt_path(source, source, recipients=[symmetric_key], **kwargs)
    link = tmp_path / "link.bin"
    link.symlink_to(source)
    with pytest.raises(UsageError, match="is the input"):
        encrypt_path(source, link, recipients=[symmetric_key], overwrite=True)
    encrypted = encrypt_path(source, recipients=[symmetric_key]).output
    with pytest.raises(UsageError, match="is the input"):
        decrypt_path(encrypted, encrypted, identities=[symmetric_key], overwrite=True)
    folder = make_model_folder(tmp_path / "model")
    with pytest.raises(UsageError, match="inside the input folder"):
        encrypt_path(folder, folder / "sealed", recipients=[symmetric_key])
    assert source.read_bytes() == b"precious"


def test_existing_output_needs_force(tmp_path, symmetric_key):
    source = tmp_path / "m.bin"
    source.write_bytes(b"v2")
    target = tmp_path / "m.bin.mlwenc"
    target.write_bytes(b"old")
    with pytest.raises(InputError, match="pass --force"):
        encrypt_path(source, target, recipients=[symmetric_key])
    assert target.read_bytes() == b"old"
    encrypt_path(source, target, recipients=[symmetric_key], overwrite=True)
    assert decrypt_to_memory(target, identities=[symmetric_key]) == b"v2"
    folder = make_model_folder(tmp_path / "model")
    (tmp_path / "sealed").mkdir()
    with pytest.raises(InputError, match="already exists"):
        encrypt_path(folder, tmp_path / "sealed", recipients=[symmetric_key])


def test_symlinks_and_special_files_in_folders_are_refused(tmp_path, symmetric_key):
    folder = make_model_folder(tmp_path / "model")
    (folder / "escape").symlink_to(tmp_path)
    with pytest.raises(InputError, match="is a symlink"):
        encrypt_path(folder, tmp_path / "sealed", recipients=[symmetric_key])
    (folder / "escape").unlink()
    (folder / "loop").symlink_to(folder / "loop")
    with pytest.raises(InputError, match="is a symlink"):
        encrypt_path(folder, tmp_path / "sealed", recipients=[symmetric_key])
    (folder / "loop").unlink()
    os.mkfifo(folder / "pipe")
    with pytest.raises(InputError, match="not a regular file"):
        encrypt_path(folder, tmp_path / "sealed", recipients=[symmetric_key])
    assert not (tmp_path / "sealed").exists() and leftovers(tmp_path) == []


def test_decrypting_a_folder_with_foreign_files(tmp_path, symmetric_key):
    sealed = encrypt_path(make_model_folder(tmp_path / "model"), tmp_path / "sealed",
                          recipients=[symmetric_key]).output
    (sealed / "README").write_text("not encrypted")
    with pytest.raises(InputError, match="README is not an encrypted file"):
        decrypt_path(sealed, tmp_path / "out", identities=[symmetric_key])
    (sealed / "README").unlink()
    (sealed / "fake.mlwenc").write_text("not encrypted either")
    with pytest.raises(DecryptionError, match="not an mlwarden encrypted file"):
        decrypt_path(sealed, tmp_path / "out", identities=[symmetric_key])
    assert not (tmp_path / "out").exists()


def test_usage_errors(tmp_path, symmetric_key):
    with pytest.raises(InputError, match="does not exist"):
        encrypt_path(tmp_path / "missing", recipients=[symmetric_key])
    source = tmp_path / "plain.bin"
    source.write_bytes(b"x")
    with pytest.raises(UsageError, match="no recipients"):
        encrypt_path(source, recipients=[])
    with pytest.raises(UsageError, match="pass --output"):
        decrypt_path(source, identities=[symmetric_key])
    with pytest.raises(InputError, match="folder .* does not exist"):
        encrypt_path(source, tmp_path / "nowhere" / "x.mlwenc", recipients=[symmetric_key])


def test_decrypt_to_memory_is_bounded(tmp_path, symmetric_key):
    source = tmp_path / "m.bin"
    data = os.urandom(3 * CHUNK + 5)
    source.write_bytes(data)
    encrypted = encrypt_path(source, recipients=[symmetric_key], chunk_size=CHUNK).output
    assert decrypt_to_memory(encrypted, identities=[symmetric_key]) == data
    with pytest.raises(InputError, match="more than the limit"):
        decrypt_to_memory(encrypted, identities=[symmetric_key], max_bytes=len(data) - 1)
    encrypted.write_bytes(encrypted.read_bytes()[:-(CHUNK // 2)])
    with pytest.raises(DecryptionError):
        decrypt_to_memory(encrypted, identities=[symmetric_key])


def test_open_decrypted_streams_and_seeks(tmp_path, symmetric_key):
    source = tmp_path / "m.bin"
    data = os.urandom(4 * CHUNK + 100)
    source.write_bytes(data)
    encrypted = encrypt_path(source, recipients=[symmetric_key], chunk_size=CHUNK).output
    with open_decrypted(encrypted, identities=[symmetric_key]) as stream:
        assert stream.read(10) == data[:10]
        stream.seek(2 * CHUNK - 5)
        assert stream.read(20) == data[2 * CHUNK - 5:2 * CHUNK + 15]
        stream.seek(0, os.SEEK_END)
        assert stream.tell() == len(data)
        stream.seek(0)
        assert stream.read() == data
    with pytest.raises(DecryptionError, match="wrong key"):
        open_decrypted(encrypted, identities=[SymmetricKey.generate()])


def test_inspect_encrypted_needs_no_key(tmp_path, symmetric_key, x25519_identity):
    source = tmp_path / "m.bin"
    source.write_bytes(b"y" * 2500)
    encrypted = encrypt_path(source, recipients=[symmetric_key, x25519_identity.recipient],
                             chunk_size=CHUNK).output
    info = inspect_encrypted(encrypted)
    assert (info.version, info.chunk_size, info.plaintext_size) == (1, CHUNK, 2500)
    assert [s.kind for s in info.stanzas] == ["keyfile", "x25519"]
    assert info.stanzas[1].recipient_id == x25519_identity.recipient.recipient_id.hex()


def test_rekey_in_place_keeps_mode_and_payload(tmp_path, symmetric_key, x25519_identity):
    source = tmp_path / "m.bin"
    source.write_bytes(os.urandom(3000))
    encrypted = encrypt_path(source, recipients=[symmetric_key], chunk_size=CHUNK).output
    os.chmod(encrypted, 0o640)
    before = encrypted.read_bytes()
    summary = rekey_path(encrypted, identities=[symmetric_key], add=[x25519_identity.recipient])
    after = encrypted.read_bytes()
    assert summary.files[0].plaintext_bytes == 3000
    assert after[parse_header(after).size:] == before[parse_header(before).size:]
    assert stat.S_IMODE(encrypted.stat().st_mode) == 0o640
    assert decrypt_to_memory(encrypted, identities=[x25519_identity]) == source.read_bytes()
    copy = tmp_path / "copy.mlwenc"
    rekey_path(encrypted, identities=[symmetric_key], remove=[symmetric_key], output=copy)
    assert encrypted.read_bytes() == after
    assert decrypt_to_memory(copy, identities=[x25519_identity]) == source.read_bytes()
    assert leftovers(tmp_path) == []


def test_rekey_folder_checks_every_file_before_writing(tmp_path, symmetric_key, x25519_identity):
    sealed = encrypt_path(make_model_folder(tmp_path / "model"), tmp_path / "sealed",
                          recipients=[symmetric_key], chunk_size=CHUNK).output
    other = SymmetricKey.generate()
    odd = sealed / "weights" / "shard-2.safetensors.mlwenc"
    odd_source = tmp_path / "odd"
    odd_source.write_bytes(b"odd")
    encrypt_path(odd_source, odd, recipients=[other], overwrite=True)
    before = snapshot(sealed)
    with pytest.raises(DecryptionError, match="shard-2"):
        rekey_path(sealed, identities=[symmetric_key], add=[x25519_identity.recipient])
    assert snapshot(sealed) == before
    rekey_path(sealed, identities=[symmetric_key, other], add=[cheap_passphrase()])
    restored = decrypt_path(sealed, tmp_path / "restored", identities=[cheap_passphrase()]).output
    assert (restored / "config.json").read_text() == '{"layers": 2}'
    with pytest.raises(UsageError, match="in place"):
        rekey_path(sealed, identities=[symmetric_key], add=[x25519_identity.recipient],
                   output=tmp_path / "elsewhere")


def test_a_passphrase_folder_runs_the_kdf_once_each_way(tmp_path, monkeypatch):
    from mlwarden.crypto import recipients

    runs = []
    real = recipients._PASSPHRASE_KDFS["scrypt"]

    def counting(secret, kdf_input):
        runs.append(kdf_input)
        return real(secret, kdf_input)

    monkeypatch.setitem(recipients._PASSPHRASE_KDFS, "scrypt", counting)
    source = tmp_path / "model"
    source.mkdir()
    for index in range(12):
        (source / f"shard-{index}.bin").write_bytes(os.urandom(100 + index))
    sealed = encrypt_path(source, tmp_path / "sealed", recipients=[cheap_passphrase()]).output
    assert len(runs) == 1
    restored = decrypt_path(sealed, tmp_path / "restored", identities=[cheap_passphrase()]).output
    assert len(runs) == 2 and runs[0] == runs[1]
    assert snapshot(restored) == snapshot(source)
    # Each file still has its own wrap salt and data key: only the KDF run is shared.
    headers = [parse_header(p.read_bytes()) for p in sorted(sealed.iterdir())]
    assert len({h.stanzas[0].body[-48 - 16:-48] for h in headers}) == 12
    assert len({h.file_nonce for h in headers}) == 12


def test_a_checkpoint_loads_straight_from_the_encrypted_file(tmp_path, symmetric_key):
    """What the guarded loader does: torch.load on open_decrypted (seeks inside the zip), nothing on disk."""
    torch = pytest.importorskip("torch")
    state = {"layer.weight": torch.arange(50_000, dtype=torch.float32).reshape(500, 100), "step": 7}
    checkpoint = tmp_path / "model.pt"
    torch.save(state, checkpoint)
    encrypted = encrypt_path(checkpoint, recipients=[symmetric_key], chunk_size=4096).output
    checkpoint.unlink()
    with open_decrypted(encrypted, identities=[symmetric_key]) as stream:
        with pytest.raises(OSError):
            stream.fileno()  # the encrypted file's descriptor is never handed out as if it were the plaintext
        loaded = torch.load(stream, weights_only=True)
    assert loaded["step"] == 7 and torch.equal(loaded["layer.weight"], state["layer.weight"])
    assert list(tmp_path.iterdir()) == [encrypted]
