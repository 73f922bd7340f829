"""mlwarden.guard: pickle, torch and joblib loaders refuse what fails the scan, before deserializing it."""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import pytest

import mlwarden.guard as guard
from mlwarden.demo import protocol0_payload, stack_global_payload, torch_zip
from mlwarden.loading import ModelRefusedError


@pytest.fixture(autouse=True)
def _always_uninstall():
    yield
    guard.uninstall()


def witness_payload(tmp_path: Path) -> tuple[bytes, Path]:
    """A pickle that would create a file if it ever ran: proof that refusing happens before loading."""
    witness = tmp_path / "pwned"
    return protocol0_payload(f"touch {witness}"), witness


def test_pickle_load_and_loads_refuse_a_payload_before_running_it(tmp_path: Path):
    data, witness = witness_payload(tmp_path)
    with guard.guarded():
        with pytest.raises(ModelRefusedError) as info:
            pickle.loads(data)
        assert info.value.check == "scan" and "MW-PKL-001" in str(info.value)
        with pytest.raises(ModelRefusedError):
            pickle.load(io.BytesIO(data))
    assert not witness.exists()


def test_benign_pickles_load_and_the_stream_position_is_kept():
    stream = io.BytesIO(pickle.dumps({"a": 1}) + pickle.dumps([2, 3]))
    with guard.guarded():
        assert pickle.load(stream) == {"a": 1}
        assert pickle.load(stream) == [2, 3]


def test_uninstall_restores_the_originals():
    original = pickle.loads
    guard.install()
    assert pickle.loads is not original and guard.installed()
    guard.uninstall()
    assert pickle.loads is original and not guard.installed()


def test_torch_load_refuses_a_poisoned_checkpoint_and_loads_a_clean_one(tmp_path: Path):
    torch = pytest.importorskip("torch")
    poisoned = tmp_path / "poisoned.pt"
    poisoned.write_bytes(torch_zip({"extra.pkl": stack_global_payload("true")}, {"w": (2,)}))
    clean = tmp_path / "clean.pt"
    torch.save({"w": torch.ones(2)}, clean)
    with guard.guarded():
        with pytest.raises(ModelRefusedError):
            torch.load(poisoned, weights_only=False)
        assert torch.load(clean, weights_only=True)["w"].sum().item() == 2.0


def test_joblib_load_refuses_a_payload(tmp_path: Path):
    joblib = pytest.importorskip("joblib")
    data, witness = witness_payload(tmp_path)
    path = tmp_path / "pipeline.joblib"
    path.write_bytes(data)
    clean = tmp_path / "clean.joblib"
    joblib.dump({"coef": [1, 2]}, clean)
    with guard.guarded():
        with pytest.raises(ModelRefusedError):
            joblib.load(path)
        assert joblib.load(clean) == {"coef": [1, 2]}
    assert not witness.exists()
