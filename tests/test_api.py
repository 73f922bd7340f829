"""The public Python API: mlwarden.scan returns the same Report the CLI renders."""

import pickle

import pytest

import mlwarden
from mlwarden.core.errors import InputError
from mlwarden.core.policy import load_config
from mlwarden.core.report import Report
from mlwarden.demo import protocol0_payload


class Custom:  # pickled by reference as tests.test_api.Custom: an unknown callable to the scanner
    pass


def test_scan_accepts_one_path_or_many(tmp_path):
    (tmp_path / "evil.pkl").write_bytes(protocol0_payload())
    single = mlwarden.scan(tmp_path / "evil.pkl")
    many = mlwarden.scan([str(tmp_path)], jobs=1)
    assert isinstance(single, Report) and not single.passed
    assert [f.evidence for f in single.findings] == [f.evidence for f in many.findings] == ["os.system"]


def test_scan_missing_path_raises_input_error(tmp_path):
    with pytest.raises(InputError):
        mlwarden.scan(tmp_path / "missing.pkl")


def test_trusted_callables_from_the_config_reach_the_pickle_analyzer(tmp_path):
    (tmp_path / "model.pkl").write_bytes(pickle.dumps(Custom(), protocol=4))
    untrusted = mlwarden.scan(tmp_path / "model.pkl")
    assert [f.rule_id for f in untrusted.findings] == ["MW-PKL-002"]
    assert untrusted.findings[0].evidence == "tests.test_api.Custom"
    (tmp_path / "mlwarden.toml").write_text('trusted_callables = ["tests.test_api.*"]\n')
    trusted = mlwarden.scan(tmp_path / "model.pkl", config=load_config(start=tmp_path))
    assert trusted.findings == []
    # a user can never vouch a known-dangerous callable into safety
    (tmp_path / "evil.pkl").write_bytes(protocol0_payload())
    (tmp_path / "mlwarden.toml").write_text('trusted_callables = ["os.*"]\n')
    still = mlwarden.scan(tmp_path / "evil.pkl", config=load_config(start=tmp_path))
    assert [f.rule_id for f in still.findings] == ["MW-PKL-001"]
