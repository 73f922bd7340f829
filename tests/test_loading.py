"""mlwarden.load: signature, trust policy, decryption and scan all pass before the framework loads anything."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

import mlwarden
from mlwarden.core.errors import UsageError
from mlwarden.demo import protocol0_payload
from mlwarden.integrity import keys
from mlwarden.integrity.sign import sign_model
from mlwarden.loading import ModelRefusedError


@pytest.fixture()
def signer(tmp_path: Path):
    key = keys.generate_key("ecdsa-p256-sha256")
    public = tmp_path / "signer.pub"
    keys.write_public_key(public, key)
    return key, public


def signed_pickle(folder: Path, key, value: object = None, *, data: bytes | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    model = folder / "model.pkl"
    model.write_bytes(data if data is not None else pickle.dumps(value if value is not None else {"w": [1.0, 2.0]}))
    sign_model(model, key=key)
    return model


def test_a_signed_clean_model_loads(tmp_path: Path, signer):
    key, public = signer
    model = signed_pickle(tmp_path / "m", key, {"w": [1.0, 2.0]})
    assert mlwarden.load(model, framework="pickle", public_key=public) == {"w": [1.0, 2.0]}


def test_an_unsigned_model_is_refused(tmp_path: Path, signer):
    _, public = signer
    model = tmp_path / "model.pkl"
    model.write_bytes(pickle.dumps([1]))
    with pytest.raises(ModelRefusedError) as info:
        mlwarden.load(model, framework="pickle", public_key=public)
    assert info.value.check == "signature" and "no signature" in str(info.value)


def test_a_tampered_model_is_refused(tmp_path: Path, signer):
    key, public = signer
    model = signed_pickle(tmp_path / "m", key, [1, 2, 3])
    model.write_bytes(pickle.dumps([1, 2, 4]))
    with pytest.raises(ModelRefusedError) as info:
        mlwarden.load(model, framework="pickle", public_key=public)
    assert info.value.check == "signature" and "modified" in str(info.value)
    assert any(f.rule_id == "MW-SIG-001" for f in info.value.findings)


def test_a_model_signed_by_another_key_is_refused(tmp_path: Path, signer):
    _, public = signer
    model = signed_pickle(tmp_path / "m", keys.generate_key("ecdsa-p256-sha256"), [1])
    with pytest.raises(ModelRefusedError) as info:
        mlwarden.load(model, framework="pickle", public_key=public)
    assert info.value.check == "signature"


def test_a_signed_malicious_pickle_is_refused_by_the_scan_before_it_runs(tmp_path: Path, signer):
    key, public = signer
    witness = tmp_path / "pwned"
    model = signed_pickle(tmp_path / "m", key, data=protocol0_payload(f"touch {witness}"))
    with pytest.raises(ModelRefusedError) as info:
        mlwarden.load(model, framework="pickle", public_key=public)
    assert info.value.check == "scan" and any(f.rule_id == "MW-PKL-001" for f in info.value.findings)
    assert not witness.exists()


def test_allow_unsigned_model_still_scans(tmp_path: Path):
    model = tmp_path / "evil.pkl"
    model.write_bytes(protocol0_payload("true"))
    with pytest.raises(ModelRefusedError) as info:
        mlwarden.load(model, framework="pickle", allow_unsigned_model=True)
    assert info.value.check == "scan"


def test_no_trust_anchor_is_a_usage_error(tmp_path: Path, signer):
    key, _ = signer
    model = signed_pickle(tmp_path / "m", key, [1])
    with pytest.raises(UsageError):
        mlwarden.load(model, framework="pickle")


def test_an_encrypted_signed_model_is_decrypted_in_memory(tmp_path: Path, signer):
    from mlwarden.crypto.files import encrypt_path
    from mlwarden.crypto.recipients import SymmetricKey

    key, public = signer
    data_key = SymmetricKey.generate()
    plain = tmp_path / "plain" / "model.pkl"
    plain.parent.mkdir()
    plain.write_bytes(pickle.dumps({"secret": "weights"}))
    encrypted = tmp_path / "enc" / "model.pkl.mlwenc"
    encrypted.parent.mkdir()
    encrypt_path(plain, encrypted, recipients=[data_key])
    sign_model(encrypted, key=key)  # the signature covers the bytes as stored
    loaded = mlwarden.load(encrypted, framework="pickle", public_key=public, identities=[data_key])
    assert loaded == {"secret": "weights"}
    with pytest.raises(ModelRefusedError) as info:
        mlwarden.load(encrypted, framework="pickle", public_key=public)
    assert info.value.check == "decryption"
    with pytest.raises(ModelRefusedError) as info:
        mlwarden.load(encrypted, framework="pickle", public_key=public, identities=[SymmetricKey.generate()])
    assert info.value.check == "decryption"


def test_the_trust_policy_can_refuse_a_verified_signer(tmp_path: Path, signer):
    from mlwarden.integrity.policy import trust_policy_from_mapping

    key, public = signer
    model = signed_pickle(tmp_path / "m", key, [1])
    policy = trust_policy_from_mapping({"trusted_keys": [{"fingerprint": "0" * 64, "name": "someone else"}]})
    with pytest.raises(ModelRefusedError) as info:
        mlwarden.load(model, framework="pickle", public_key=public, policy=policy)
    assert info.value.check == "policy"
    trusted = trust_policy_from_mapping({"trusted_keys": [{"fingerprint": keys.key_fingerprint(key)}]})
    assert mlwarden.load(model, framework="pickle", public_key=public, policy=trusted) == [1]


def test_torch_checkpoints_load_with_weights_only(tmp_path: Path, signer):
    torch = pytest.importorskip("torch")
    key, public = signer
    model = tmp_path / "m" / "model.pt"
    model.parent.mkdir()
    torch.save({"w": torch.ones(3)}, model)
    sign_model(model, key=key)
    state = mlwarden.load(model, public_key=public)  # framework guessed from the content: a torch zip
    assert state["w"].sum().item() == 3.0


def test_a_file_inside_a_signed_folder_loads_with_signed_root(tmp_path: Path, signer):
    key, public = signer
    folder = tmp_path / "bert"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "weights.pkl").write_bytes(pickle.dumps({"w": 1}))
    sign_model(folder, key=key)
    assert mlwarden.load(folder / "weights.pkl", framework="pickle", signed_root=folder, public_key=public) == {"w": 1}
    (folder / "config.json").write_text('{"auto_map": {}}')  # any change in the signed folder refuses
    with pytest.raises(ModelRefusedError):
        mlwarden.load(folder / "weights.pkl", framework="pickle", signed_root=folder, public_key=public)
    with pytest.raises(UsageError):
        mlwarden.load(tmp_path / "elsewhere.pkl", framework="pickle", signed_root=folder, public_key=public)


@pytest.mark.parametrize("shard_size", [None, 7])
@pytest.mark.parametrize("hash_type", ["sha256", "blake2b", "blake3"])
def test_the_loaded_bytes_must_be_the_signed_bytes(tmp_path: Path, hash_type: str, shard_size: int | None):
    from mlwarden.integrity.hashing import bytes_match_manifest, hash_model
    from mlwarden.integrity.model import HashSettings

    model = tmp_path / "model.bin"
    model.write_bytes(b"0123456789abcdefghij")
    settings = HashSettings(method="shards" if shard_size else "files", hash_type=hash_type, shard_size=shard_size)
    manifest = hash_model(model, settings)
    assert bytes_match_manifest(model.read_bytes(), manifest, ".")
    assert not bytes_match_manifest(b"0123456789abcdefghiJ", manifest, ".")  # swapped after verification
    assert not bytes_match_manifest(b"0123456789abcdefghij!", manifest, ".")  # grown
    assert not bytes_match_manifest(model.read_bytes(), manifest, "other")


def test_every_framework_loader_gets_the_scanned_bytes(tmp_path: Path):
    np = pytest.importorskip("numpy")
    from safetensors.numpy import save as save_safetensors

    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    npy = tmp_path / "a.npy"
    np.save(npy, array)
    assert (mlwarden.load(npy, allow_unsigned_model=True) == array).all()  # guessed: numpy, allow_pickle=False
    st = tmp_path / "w.safetensors"
    st.write_bytes(save_safetensors({"w": array}))
    assert (mlwarden.load(st, allow_unsigned_model=True)["w"] == array).all()
    joblib = pytest.importorskip("joblib")
    jb = tmp_path / "m.joblib"
    joblib.dump({"coef": [1, 2]}, jb)
    assert mlwarden.load(jb, framework="joblib", allow_unsigned_model=True) == {"coef": [1, 2]}
    onnx = pytest.importorskip("onnx")
    graph = onnx.helper.make_graph([onnx.helper.make_node("Identity", ["x"], ["y"])], "g",
                                   [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])],
                                   [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])])
    model = tmp_path / "m.onnx"
    model.write_bytes(onnx.helper.make_model(graph).SerializeToString())
    assert mlwarden.load(model, allow_unsigned_model=True).graph.node[0].op_type == "Identity"


def test_an_object_array_is_refused_before_numpy_sees_it(tmp_path: Path):
    from mlwarden.demo import npy_file

    path = tmp_path / "objects.npy"
    path.write_bytes(npy_file("|O", (1,), protocol0_payload("true")))
    with pytest.raises(ModelRefusedError) as info:
        mlwarden.load(path, allow_unsigned_model=True)
    assert info.value.check == "scan"


def test_a_plain_pickle_is_never_loaded_by_guesswork(tmp_path: Path):
    path = tmp_path / "m.pkl"
    path.write_bytes(pickle.dumps([1]))
    with pytest.raises(UsageError, match="framework"):
        mlwarden.load(path, allow_unsigned_model=True)
