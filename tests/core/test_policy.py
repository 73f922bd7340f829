import json

import pytest

from mlwarden.core.errors import ConfigError, InputError
from mlwarden.core.findings import Location, Severity
from mlwarden.core.policy import (
    apply_policy,
    baseline_document,
    exit_code,
    is_skipped,
    load_baseline,
    load_config,
    write_atomic,
)
from mlwarden.core.rules import make_finding


def _finding(rule="MW-PKL-002", path="models/a.pkl", evidence="pkg.fn"):
    return make_finding(rule, Location(path), "msg", evidence=evidence)


def test_defaults_without_any_config(tmp_path):
    (tmp_path / ".git").mkdir()
    config = load_config(start=tmp_path)
    assert config.source is None and config.fail_on is Severity.HIGH


def test_mlwarden_toml_is_found_from_a_subfolder(tmp_path):
    (tmp_path / "mlwarden.toml").write_text('fail_on = "Medium"\nskip = ["data/**"]\n'
                                            'trusted_callables = ["mypkg.Layer"]\n')
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    config = load_config(start=sub)
    assert config.fail_on is Severity.MEDIUM
    assert config.model.skip == ("data/**",)
    assert config.model.trusted_callables == ("mypkg.Layer",)


def test_pyproject_tool_section(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname="x"\n[tool.mlwarden]\nfail_on="critical"\n'
        '[[tool.mlwarden.ignore]]\nrule="MW-PKL-002"\npath="legacy/*"\nreason="vetted"\n')
    config = load_config(start=tmp_path)
    assert config.fail_on is Severity.CRITICAL
    assert config.model.ignore[0].reason == "vetted"


@pytest.mark.parametrize("text, fragment", [
    ('fail_on = "severe"', "fail_on"),
    ('skipp = ["x"]', "skipp"),
    ('[[ignore]]\nrule = "MW-PKL-002"\npath = "*"\n', "reason"),
    ('[[ignore]]\nrule = "MW-NOPE-1"\nreason = "x"\n', "unknown rule"),
    ('trusted_callables = ["nodots"]', "module.name"),
    ('fail_on = ', "not valid TOML"),
])
def test_bad_config_is_a_one_line_config_error(tmp_path, text, fragment):
    (tmp_path / "mlwarden.toml").write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(start=tmp_path)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_explicit_missing_config_names_the_flag(tmp_path):
    with pytest.raises(ConfigError, match="--config"):
        load_config(tmp_path / "nope.toml")


def test_ignores_need_rule_and_path_and_keep_the_reason(tmp_path):
    (tmp_path / "mlwarden.toml").write_text(
        '[[ignore]]\nrule = "MW-PKL-*"\npath = "legacy/*"\nreason = "frozen legacy models"\n'
        '[severity]\n"MW-HF-002" = "low"\n')
    config = load_config(start=tmp_path)
    kept = _finding(path="models/a.pkl")
    waived = _finding(path="legacy/old.pkl")
    lowered = _finding(rule="MW-HF-002", path="m/modeling.py")
    outcome = apply_policy([kept, waived, lowered], config)
    assert [f.location.path for f in outcome.active] == ["models/a.pkl", "m/modeling.py"]
    assert outcome.active[1].severity is Severity.LOW
    assert outcome.suppressed[0].suppressed == "ignored: frozen legacy models"


def test_baseline_round_trip_suppresses_only_recorded_findings(tmp_path):
    old = _finding(evidence="pkg.old")
    new = _finding(evidence="pkg.new")
    path = tmp_path / "baseline.json"
    write_atomic(path, baseline_document([old], "0.1.0"))
    known = load_baseline(path)
    from mlwarden.core.policy import Config

    outcome = apply_policy([old, new], Config(), known)
    assert outcome.active == [new]
    assert outcome.suppressed[0].suppressed == "in baseline"


def test_broken_or_missing_baseline_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="--write-baseline"):
        load_baseline(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"schema": "other"}))
    with pytest.raises(ConfigError, match="not an mlwarden baseline"):
        load_baseline(bad)


def test_exit_code_gate():
    high = _finding()
    assert exit_code([high], Severity.HIGH) == 1
    assert exit_code([high], Severity.CRITICAL) == 0
    assert exit_code([], Severity.INFO) == 0


def test_skip_patterns():
    assert is_skipped("data/train/x.pkl", ["data/**"])
    assert is_skipped("a/b/cache", ["cache"])
    assert is_skipped("fixtures", ["fixtures/"])
    assert not is_skipped("models/x.pkl", ["data/**"])


def test_write_atomic_never_leaves_partial_files(tmp_path):
    target = tmp_path / "report.json"
    target.write_text("old")

    class Boom(str):
        pass

    write_atomic(target, "new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]
    with pytest.raises(InputError, match="does not exist"):
        write_atomic(tmp_path / "missing" / "r.json", "x")


def test_trust_table_is_validated_and_becomes_a_trust_policy(tmp_path):
    from mlwarden.core.errors import ConfigError
    from mlwarden.core.policy import load_config

    (tmp_path / "mlwarden.toml").write_text('[trust]\ntrusted_keys = ["' + "ab" * 32 + '"]\nrequired_signatures = 1\n')
    config = load_config(start=tmp_path)
    policy = config.trust_policy()
    assert policy is not None and policy.required_signatures == 1
    (tmp_path / "mlwarden.toml").write_text("[trust]\nallow_unsigned = true\n")
    with pytest.raises(ConfigError) as info:
        load_config(start=tmp_path)
    assert "trust.allow_unsigned" in str(info.value)
