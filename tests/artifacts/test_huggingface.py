"""Hugging Face folder scanners: auto_map / custom_pipelines / trust_remote_code in configs, dangerous calls in
the folder's Python files, chat templates in tokenizer configs. Plain folders stay silent."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlwarden.artifacts.huggingface import HfChatTemplateScanner, find_dangerous_calls
from mlwarden.core.findings import Finding, Severity
from mlwarden.scanning.context import ScanContext, ScanOptions
from mlwarden.scanning.dispatch import scan_stream
from mlwarden.scanning.engine import collect_files, run_tasks
from tests.samples import hf_samples as h
from tests.samples.gguf_samples import MALICIOUS_TEMPLATES


def scan(data: bytes, name: str, *, hint: str | None = None) -> list[Finding]:
    ctx = ScanContext(path=name, size=len(data), name=name)
    scan_stream(io.BytesIO(data), ctx, format_hint=hint)
    return ctx.findings


def scan_json(config: object, name: str = "config.json") -> list[Finding]:
    return scan(json.dumps(config, indent=2).encode(), name)


def scan_folder(root: Path) -> dict[str, list[Finding]]:
    results = run_tasks(collect_files([root]), ScanOptions(scanners=frozenset({"models"})), jobs=1)
    return {r.display.rsplit("/", 1)[-1]: list(r.findings) for r in results}


# --- folders through the engine ----------------------------------------------------------------------------


def test_plain_bert_folder_has_no_findings(tmp_path):
    results = scan_folder(h.bert_folder(tmp_path / "bert"))
    assert results == {"config.json": [], "tokenizer_config.json": []}


def test_remote_code_folder(tmp_path):
    results = scan_folder(h.remote_code_folder(tmp_path / "foo"))
    config = results["config.json"]
    assert [(f.rule_id, f.severity, f.evidence) for f in config] == [
        ("MW-HF-001", Severity.HIGH, "auto_map.AutoConfig -> configuration_foo.FooConfig"),
        ("MW-HF-001", Severity.HIGH, "auto_map.AutoModelForCausalLM -> modeling_foo.FooForCausalLM"),
    ]
    # The benign code file: one medium finding (it is code that would run), no dangerous calls.
    assert [(f.rule_id, f.severity, f.evidence) for f in results["configuration_foo.py"]] == [
        ("MW-HF-002", Severity.MEDIUM, "configuration_foo.py")]
    modeling = results["modeling_foo.py"]
    assert modeling[0].severity is Severity.MEDIUM and "os.system (line 10)" in modeling[0].message
    high = [(f.location.line, f.evidence) for f in modeling if f.severity is Severity.HIGH]
    assert high == [
        (10, 'os.system("true")'),
        (11, 'sp.run(["true"])'),
        (12, 'run_shell("true")'),
        (15, 'urllib.request.urlopen("http://127.0.0.1:9/")'),
        (16, "socket.socket()"),
        (17, 'requests.post("http://127.0.0.1:9/", data=b"")'),
        (18, 'eval("1 + 1")'),
        (19, 'exec("x = 1")'),
        (20, '__import__("os")'),
        (21, 'getattr(os, "popen")("true")'),
    ]
    assert all(f.rule_id == "MW-HF-002" for f in modeling)


def test_python_file_outside_a_model_folder_is_not_model_code(tmp_path):
    (tmp_path / "script.py").write_text(h.MALICIOUS_MODELING_CODE)
    assert scan_folder(tmp_path) == {"script.py": []}


# --- configs -------------------------------------------------------------------------------------------------


def test_cross_repository_code_is_critical():
    (finding,) = scan_json(h.CROSS_REPO_CONFIG)
    assert finding.severity is Severity.CRITICAL
    assert "someone-else/other-repo" in finding.message
    assert finding.evidence == "auto_map.AutoModel -> someone-else/other-repo--modeling_bar.BarModel"


def test_tokenizer_auto_map_list_with_null():
    findings = scan_json(h.REMOTE_TOKENIZER_CONFIG, "tokenizer_config.json")
    assert [f.evidence for f in findings] == ["auto_map.AutoTokenizer -> tokenization_foo.FooTokenizer"]


def test_custom_pipelines_are_remote_code():
    (finding,) = scan_json(h.CUSTOM_PIPELINE_CONFIG)
    assert finding.rule_id == "MW-HF-001"
    assert finding.evidence == "custom_pipelines.pair-classification.impl -> pair_pipeline.PairPipeline"


def test_trust_remote_code_anywhere_is_medium():
    (finding,) = scan_json(h.SENTENCE_TRANSFORMERS_CONFIG)
    assert (finding.rule_id, finding.severity, finding.evidence) == \
        ("MW-HF-001", Severity.MEDIUM, "model_kwargs.trust_remote_code = true")


def test_malformed_code_reference_is_noted():
    (finding,) = scan_json({"model_type": "x", "auto_map": {"AutoModel": "../../evil"}})
    assert "not a plain module.Class path" in finding.message


def test_duplicate_auto_map_key_is_analysed_too():
    raw = b'{"model_type": "x", "auto_map": {"AutoModel": "modeling_a.A"}, "auto_map": {}}'
    (finding,) = scan(raw, "config.json")
    assert "duplicate key" in finding.message and finding.evidence == "auto_map.AutoModel -> modeling_a.A"


def test_benign_chat_template_in_tokenizer_config():
    assert scan_json(h.CHAT_TOKENIZER_CONFIG, "tokenizer_config.json") == []


def test_malicious_named_chat_template_in_tokenizer_config():
    config = {"model_type": "qwen2", **h.MULTI_TEMPLATE_TOKENIZER_CONFIG}
    findings = scan_json(config, "tokenizer_config.json")
    assert [f.rule_id for f in findings] == ["MW-HF-003"]
    assert "'tool_use'" in findings[0].message and "__globals__" in findings[0].evidence


def test_standalone_chat_template_file():
    template = MALICIOUS_TEMPLATES["cycler-globals-popen"].encode()
    ctx = ScanContext(path="chat_template.jinja", size=len(template), name="chat_template.jinja")
    HfChatTemplateScanner().scan(io.BytesIO(template), ctx)
    assert [f.rule_id for f in ctx.findings] == ["MW-HF-003"]


def test_invalid_json_config_is_unscannable():
    findings = scan(b'{"model_type": "bert", ', "config.json")
    assert [f.rule_id for f in findings] == ["MW-FMT-001"]


def test_config_over_the_json_limit_is_a_limit_finding():
    from mlwarden.core.limits import Limits

    data = json.dumps({"model_type": "x", "pad": "y" * 2000}).encode()
    ctx = ScanContext(path="config.json", size=len(data), name="config.json",
                      options=ScanOptions(limits=Limits(max_json_bytes=1000)))
    scan_stream(io.BytesIO(data), ctx)
    assert [f.rule_id for f in ctx.findings] == ["MW-FMT-003"]


# --- Python code ---------------------------------------------------------------------------------------------


def test_unparseable_code_falls_back_to_text_search():
    findings = scan(h.UNPARSEABLE_MODELING_CODE.encode(), "modeling_x.py", hint="hf-code")
    assert ("MW-FMT-001", Severity.MEDIUM) in [(f.rule_id, f.severity) for f in findings]
    assert [(f.location.line, f.severity) for f in findings if f.severity is Severity.HIGH] == [(3, Severity.HIGH)]


@pytest.mark.parametrize("source, expected", [
    ("import os\nos.system('x')", ["os.system"]),
    ("from subprocess import *\nPopen(['x'])", ["subprocess.Popen"]),
    ("import os as o\no.popen('x')", ["os.popen"]),
    ("from os import execv\nexecv('/bin/true', [])", ["os.execv"]),
    ("import builtins\nbuiltins.exec('1')", ["builtins.exec"]),
    ("from urllib import request\nrequest.urlopen('u')", ["urllib.request.urlopen"]),
    ("class M:\n    def eval(self):\n        return self\nM().eval()", []),
    ("def f(eval):\n    return eval(1)", []),
    ("import re\nre.compile('x').match('y')", []),
    ("import os\nos.path.join('a', 'b')", []),
    ("from .modeling_utils import system\nsystem()", []),
])
def test_find_dangerous_calls(source, expected):
    assert [c.name for c in find_dangerous_calls(source)] == expected


# --- fuzz --------------------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400), st.sampled_from(["config.json", "tokenizer_config.json", "modeling_x.py"]))
def test_random_bytes_never_crash_the_hf_scanners(data, name):
    hint = "hf-code" if name.endswith(".py") else "hf-config"
    findings = scan(data, name, hint=hint)
    assert "MW-SCAN-002" not in {f.rule_id for f in findings}


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["auto_map", "AutoModel", "chat_template", "custom_pipelines", "impl", "template",
                         "name", "trust_remote_code", "x"]), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(_json_values)
def test_random_json_configs_never_crash(value):
    findings = scan(json.dumps(value).encode(), "config.json", hint="hf-config")
    assert "MW-SCAN-002" not in {f.rule_id for f in findings}


def test_syntax_warnings_of_scanned_code_are_not_printed(recwarn):
    from mlwarden.artifacts.huggingface import find_dangerous_calls

    calls = find_dangerous_calls('import os\nx = "\\d"\ny = 1if 1else 0\nos.system("true")\n')
    assert [c.line for c in calls] == [4]
    assert [w for w in recwarn if issubclass(w.category, SyntaxWarning)] == []
