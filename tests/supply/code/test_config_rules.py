"""Tests for the YAML/JSON configuration rules: positives and safe look-alikes in both formats, exact lines,
hostile documents (aliases, cycles, deep nesting, junk) and fuzzing."""

from __future__ import annotations

import json
import textwrap

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from mlwarden.core.findings import Severity
from mlwarden.core.rules import CATALOGUE
from mlwarden.supply.code import config_rules
from mlwarden.supply.code.config_rules import analyze_config, config_kind_for
from mlwarden.supply.hits import Hit

SHA = "0123456789abcdef0123456789abcdef01234567"


def yaml_hits(text: str) -> list[Hit]:
    return analyze_config(textwrap.dedent(text), kind="yaml")


def rules(hits: list[Hit]) -> list[str]:
    return [h.rule_id for h in hits]


@pytest.fixture(params=["c", "python"])
def yaml_loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run YAML tests with libyaml's loader (when it is safe to use) and with the pure-Python one."""
    if request.param == "python":
        monkeypatch.setattr(config_rules, "_yaml_loader", lambda: yaml.SafeLoader)
    return str(request.param)


# (rule id, YAML document, JSON document): both hold exactly one hit of that rule.
POSITIVES: list[tuple[str, dict[str, object]]] = [
    ("MW-CFG-001", {"model": {"name": "org/x", "trust_remote_code": True}}),
    ("MW-CFG-001", {"trust-remote-code": "true"}),
    ("MW-CFG-002", {"server": {"host": "0.0.0.0", "port": 8000}}),
    ("MW-CFG-002", {"listen": "0.0.0.0:8080"}),
    ("MW-CFG-002", {"server_name": "::"}),
    ("MW-CFG-002", {"api_host": "http://0.0.0.0:7860"}),
    ("MW-CFG-003", {"model_name_or_path": "meta-llama/Llama-2-7b-hf", "revision": "main"}),
    ("MW-CFG-003", {"model": "gpt2", "model_revision": "v1.0"}),
    ("MW-CFG-004", {"client": {"verify_ssl": False}}),
    ("MW-CFG-004", {"insecure-skip-tls-verify": True}),
]

SAFE: list[tuple[str, dict[str, object]]] = [
    ("MW-CFG-001", {"trust_remote_code": False}),
    ("MW-CFG-001", {"description": "set trust_remote_code: true to load it"}),
    ("MW-CFG-002", {"host": "127.0.0.1", "bind": "localhost:8000"}),
    ("MW-CFG-002", {"comment": "0.0.0.0"}),
    ("MW-CFG-003", {"model": "org/x", "revision": SHA}),
    ("MW-CFG-003", {"base_model_name_or_path": "org/x", "revision": None}),
    ("MW-CFG-003", {"model": "./checkpoints/run1", "revision": "main"}),
    ("MW-CFG-003", {"revision": "main", "name": "docs"}),
    ("MW-CFG-004", {"verify_ssl": True, "insecure_skip_verify": False}),
]


def _as_yaml(document: dict[str, object]) -> str:
    return yaml.safe_dump(document, sort_keys=False)


@pytest.mark.parametrize(("rule_id", "document"), POSITIVES, ids=[f"{r}-{i}" for i, (r, _) in enumerate(POSITIVES)])
def test_positive_yaml_and_json(rule_id: str, document: dict[str, object], yaml_loader: str) -> None:
    for kind, text in (("yaml", _as_yaml(document)), ("json", json.dumps(document, indent=2))):
        hits = [h for h in analyze_config(text, kind=kind) if h.rule_id == rule_id]  # type: ignore[arg-type]
        assert len(hits) == 1, (kind, text, hits)
        assert hits[0].message and hits[0].evidence and hits[0].line >= 1


@pytest.mark.parametrize(("rule_id", "document"), SAFE, ids=[f"{r}-{i}" for i, (r, _) in enumerate(SAFE)])
def test_safe_look_alike_yaml_and_json(rule_id: str, document: dict[str, object], yaml_loader: str) -> None:
    for kind, text in (("yaml", _as_yaml(document)), ("json", json.dumps(document))):
        assert analyze_config(text, kind=kind) == []  # type: ignore[arg-type]


def test_every_config_rule_is_tested() -> None:
    config_ids = {r for r in CATALOGUE if r.startswith("MW-CFG-")}
    assert {r for r, _ in POSITIVES} | {"MW-CFG-000", "MW-CFG-005"} == config_ids
    for rule_id in config_ids:
        assert CATALOGUE[rule_id].area == "config"


def test_yaml_positions_and_python_tags(yaml_loader: str) -> None:
    hits = yaml_hits("""
        training:
          model_name: org/name
          revision: main
          trust_remote_code: yes
        serve:
          host: 0.0.0.0
        payload: !!python/object/apply:os.system ["echo hi"]
        other: !!python/name:builtins.eval
        fine: !!binary aGVsbG8=
    """)
    assert [(h.rule_id, h.line, h.column) for h in hits] == [
        ("MW-CFG-003", 4, 3), ("MW-CFG-001", 5, 3), ("MW-CFG-002", 7, 3), ("MW-CFG-005", 8, 10),
        ("MW-CFG-005", 9, 8)]
    assert hits[3].evidence == "!!python/object/apply:os.system"
    assert CATALOGUE["MW-CFG-005"].severity is Severity.HIGH


def test_yaml_quoted_true_is_a_string_but_still_reported(yaml_loader: str) -> None:
    assert rules(yaml_hits('trust_remote_code: "True"\n')) == ["MW-CFG-001"]
    assert rules(yaml_hits("trust_remote_code: off\n")) == []


def test_yaml_documents_and_a_late_syntax_error(yaml_loader: str) -> None:
    hits = yaml_hits("""
        host: 0.0.0.0
        ---
        trust_remote_code: true
        ---
        broken: [unclosed
    """)
    assert rules(hits) == ["MW-CFG-002", "MW-CFG-001", "MW-CFG-000"]
    assert hits[-1].severity is None and CATALOGUE["MW-CFG-000"].severity is Severity.INFO
    assert "unclosed" not in hits[-1].message  # the document's text is not echoed


def test_yaml_aliases_are_walked_once_and_cycles_end(yaml_loader: str) -> None:
    shared = "a: &x {trust_remote_code: true}\nb: *x\nc: *x\n"
    assert rules(yaml_hits(shared)) == ["MW-CFG-001"]
    assert rules(yaml_hits("&a [*a, {host: '::'}]\n")) == ["MW-CFG-002"]
    laughs = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(9))
    assert yaml_hits(laughs) == []


@pytest.mark.parametrize("text", [
    "[" * 5000 + "]" * 5000,
    "".join(" " * i + "a:\n" for i in range(1500)) + " " * 1500 + "b",
    "- " * 3000 + "x",
    "\x00\x01\x02",
    "{{ .Values.image }}: [",
    "a: !!python/object/new:x [",
    "key: value\n\tbad: tab",
])
def test_hostile_yaml_gives_a_parse_hit_not_an_exception(text: str, yaml_loader: str) -> None:
    hits = analyze_config(text, kind="yaml")
    assert "MW-CFG-000" in rules(hits)


def test_json_lines_follow_key_occurrences() -> None:
    text = textwrap.dedent("""\
        {
          "a": {"host": "127.0.0.1"},
          "b": {"host": "0.0.0.0"},
          "description": "the \\"host\\": key",
          "items": [{"trust_remote_code": false}, {"trust_remote_code": true}],
          "model_name": "org/x", "revision": "v2",
          "host": "::"
        }
    """)
    hits = analyze_config(text, kind="json")
    assert [(h.rule_id, h.line) for h in hits] == [
        ("MW-CFG-002", 3), ("MW-CFG-001", 5), ("MW-CFG-003", 6), ("MW-CFG-002", 7)]
    assert hits[1].column == 44


def test_json_duplicate_keys_are_all_checked() -> None:
    hits = analyze_config('{"host": "0.0.0.0",\n "host": "127.0.0.1",\n "host": "::"}', kind="json")
    assert [(h.rule_id, h.line) for h in hits] == [("MW-CFG-002", 1), ("MW-CFG-002", 3)]


@pytest.mark.parametrize("text", ["", "{", "[1, 2", "1" * 5000, "[" * 100_000 + "]" * 100_000, "\ud800",
                                  "// comment\n{}", "{'single': 1}"])
def test_hostile_json_gives_a_parse_hit(text: str) -> None:
    assert rules(analyze_config(text, kind="json")) == ["MW-CFG-000"]


def test_json_scalars_and_byte_order_mark() -> None:
    assert analyze_config('"just a string"', kind="json") == []
    assert rules(analyze_config('\ufeff{"host": "0.0.0.0"}', kind="json")) == ["MW-CFG-002"]


def test_json_deeper_than_the_walk_limit_is_reported() -> None:
    depth = config_rules.MAX_CONFIG_DEPTH + 10
    text = '{"a": ' * depth + '{"host": "0.0.0.0"}' + "}" * depth
    assert rules(analyze_config(text, kind="json")) == ["MW-CFG-000"]


def test_unknown_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown configuration kind"):
        analyze_config("{}", kind="toml")  # type: ignore[arg-type]


@pytest.mark.parametrize(("path", "kind"), [
    ("config.yaml", "yaml"), ("deploy/values.YML", "yaml"), ("configs/train.json", "json"),
    ("package-lock.json", None), ("web/tsconfig.build.json", None), (".vscode/settings.json", None),
    ("model/tokenizer.json", None), ("notebook.ipynb", None), ("setup.py", None), ("a\\b\\c.yaml", "yaml"),
])
def test_config_kind_for(path: str, kind: str | None) -> None:
    assert config_kind_for(path) == kind


# --- fuzzing -------------------------------------------------------------------------------------------------

_YAML_SEED = textwrap.dedent("""\
    model: &m
      model_name: org/x
      revision: main
      trust_remote_code: true
    serve: {host: 0.0.0.0, ports: [1, 2, 3]}
    copy: *m
    tag: !!python/name:os.system
    ---
    - verify_ssl: false
""")
_JSON_SEED = json.dumps({"model_name": "org/x", "revision": "main", "server": {"host": "0.0.0.0"},
                         "list": [{"trust_remote_code": True}, 1, None, 2.5]}, indent=1)


def _mutate(seed: str, edits: list[tuple[int, int, str]]) -> str:
    text = seed
    for position, removed, inserted in edits:
        text = text[:position] + inserted + text[position + removed:]
    return text


_EDITS = st.lists(st.tuples(st.integers(0, 200), st.integers(0, 6), st.text(max_size=5)), max_size=6)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.text(max_size=300), st.sampled_from(["yaml", "json"]))
def test_random_text_never_raises(text: str, kind: str) -> None:
    for hit in analyze_config(text, kind=kind):  # type: ignore[arg-type]
        assert hit.rule_id in CATALOGUE and hit.line >= 1


@settings(max_examples=150, deadline=None, derandomize=True)
@given(_EDITS)
def test_mutated_yaml_never_raises(edits: list[tuple[int, int, str]]) -> None:
    for hit in analyze_config(_mutate(_YAML_SEED, edits), kind="yaml"):
        assert hit.rule_id in CATALOGUE and hit.line >= 1


@settings(max_examples=150, deadline=None, derandomize=True)
@given(_EDITS)
def test_mutated_json_never_raises(edits: list[tuple[int, int, str]]) -> None:
    for hit in analyze_config(_mutate(_JSON_SEED, edits), kind="json"):
        assert hit.rule_id in CATALOGUE and hit.line >= 1


def test_seeds_report_every_rule() -> None:
    assert sorted(set(rules(analyze_config(_YAML_SEED, kind="yaml")))) == [
        "MW-CFG-001", "MW-CFG-002", "MW-CFG-003", "MW-CFG-004", "MW-CFG-005"]
    assert sorted(rules(analyze_config(_JSON_SEED, kind="json"))) == ["MW-CFG-001", "MW-CFG-002", "MW-CFG-003"]
