"""Which text analyses run on which file, bounded reads, and masking of secrets quoted by code findings."""

from __future__ import annotations

from mlwarden.core.limits import DEFAULT_LIMITS
from mlwarden.core.policy import SCANNERS
from mlwarden.supply.filescan import max_bytes_for, scan_text_file, text_kinds
from tests.scanning.test_project_scan import fake_hf_token

ALL = frozenset(SCANNERS)


def test_text_kinds_by_name():
    assert text_kinds("src/train.py", ALL) == {"code", "secrets"}
    assert text_kinds("nb/a.ipynb", ALL) == {"notebook", "secrets"}
    assert text_kinds("conf/serve.yaml", ALL) == {"config", "secrets"}
    assert text_kinds("requirements.txt", ALL) == {"deps", "secrets"}
    assert text_kinds("requirements/base.txt", ALL) == {"deps", "secrets"}
    assert text_kinds("pyproject.toml", ALL) == {"deps", "secrets"}
    assert text_kinds(".env", ALL) == {"secrets"}
    assert text_kinds("weights.bin", ALL) == frozenset()
    assert text_kinds("src/train.py", frozenset({"models"})) == frozenset()
    assert text_kinds("a.ipynb", frozenset({"secrets"})) == {"secrets"}


def test_notebooks_get_their_own_larger_bound():
    assert max_bytes_for(frozenset({"notebook"}), DEFAULT_LIMITS) == DEFAULT_LIMITS.max_notebook_bytes
    assert max_bytes_for(frozenset({"code"}), DEFAULT_LIMITS) == DEFAULT_LIMITS.max_source_bytes


def test_a_secret_quoted_by_a_code_finding_is_masked():
    token = fake_hf_token(3)
    source = f"import requests\nrequests.get('https://x', verify=False, headers={{'a': '{token}'}})\n"
    result = scan_text_file(source.encode(), display="a.py", name="a.py", kinds=frozenset({"code", "secrets"}),
                            truncated=False, limits=DEFAULT_LIMITS)
    rules = {f.rule_id for f in result.findings}
    assert {"MW-CODE-014", "MW-SECRET-002"} <= rules
    for finding in result.findings:
        assert token not in (finding.evidence or "") and token not in finding.message


def test_notebook_pip_installs_become_dependencies_with_their_cell():
    from tests.samples.notebooks import make_notebook

    data = make_notebook([{"markdown": "# x"}, {"code": "%pip install torch==1.12.0 'numpy>=1.0'"}])
    result = scan_text_file(data, display="n.ipynb", name="n.ipynb", kinds=frozenset({"notebook", "deps"}),
                            truncated=False, limits=DEFAULT_LIMITS)
    assert [(d.name, d.kind, d.cell, d.line) for d in result.dependencies] == [
        ("torch", "pinned", 1, 1), ("numpy", "range", 1, 1)]


def test_truncated_dependency_file_is_reported_not_half_parsed():
    result = scan_text_file(b"torch==1.0\n", display="requirements.txt", name="requirements.txt",
                            kinds=frozenset({"deps"}), truncated=True, limits=DEFAULT_LIMITS)
    assert result.dependencies == []
    assert {f.rule_id for f in result.findings} == {"MW-FMT-003", "MW-DEP-004"}
