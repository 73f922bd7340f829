"""Which text analyses run on which file, bounded reads, and masking of secrets quoted by code findings."""

from __future__ import annotations

from mlwarden.core.limits import DEFAULT_LIMITS
from mlwarden.core.policy import SCANNERS
from mlwarden.supply.filescan import max_bytes_for, scan_text_file, text_kinds
from tests.scanning.test_project_scan import fake_hf_token

ALL = frozenset(SCANNERS)


def test_text_kinds_by_name():
    assert text_kinds("src/train.py", ALL) == {"code", "secrets"}
    assert text_kinds("nb/a.ipynb", ALL) == {"notebook"}
    assert text_kinds("conf/serve.yaml", ALL) == {"config", "secrets"}
    assert text_kinds("requirements.txt", ALL) == {"deps", "secrets"}
    assert text_kinds("requirements/base.txt", ALL) == {"deps", "secrets"}
    assert text_kinds("pyproject.toml", ALL) == {"deps", "secrets"}
    assert text_kinds(".env", ALL) == {"secrets"}
    assert text_kinds("weights.bin", ALL) == frozenset()
    assert text_kinds("src/train.py", frozenset({"models"})) == frozenset()
    assert text_kinds("a.ipynb", frozenset({"secrets"})) == {"notebook"}
    assert text_kinds("a.ipynb", frozenset({"models"})) == frozenset()


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


def test_notebook_checks_follow_the_scanner_selection():
    from tests.samples.notebooks import make_notebook, stream

    token = fake_hf_token(5)
    data = make_notebook([{"code": "import torch\n!pip install torch==1.0\nm = torch.load('x')",
                           "outputs": [stream(f"{token}\n")]}])

    def rules(selection: set[str]) -> set[str]:
        result = scan_text_file(data, display="n.ipynb", name="n.ipynb", kinds=frozenset({"notebook"}),
                                truncated=False, limits=DEFAULT_LIMITS, scanners=frozenset(selection))
        return {f.rule_id for f in result.findings} | ({"deps"} if result.dependencies else set())

    assert {"MW-CODE-001", "MW-SECRET-002", "deps"} <= rules({"notebooks", "code", "secrets", "deps"})
    assert rules({"secrets"}) == {"MW-SECRET-002"}
    assert rules({"code"}) == {"MW-CODE-001"}
    assert rules({"deps"}) == {"deps"}


def test_inline_marker_is_found_on_the_line_python_numbers():
    # A form feed and a lone carriage return: Python ends a line at \r but not at \f.
    source = "import torch\x0c\nx = 1\ry = torch.load('m')  # mlwarden: ignore[MW-CODE-001] signed checkpoints\n"
    result = scan_text_file(source.encode(), display="a.py", name="a.py", kinds=frozenset({"code"}),
                            truncated=False, limits=DEFAULT_LIMITS)
    (finding,) = [f for f in result.findings if f.rule_id == "MW-CODE-001"]
    assert finding.location.line == 3
    assert finding.suppressed == "inline: signed checkpoints"
