"""pyproject.toml: PEP 621, PEP 735, Poetry, uv sources and PDM dependency declarations."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.specifiers import SpecifierSet

from mlwarden.supply.deps.model import Dependency, SourceResult
from mlwarden.supply.deps.sources.pyproject import parse_pyproject, poetry_constraint_to_pep440

PEP621 = """\
[build-system]
requires = ["setuptools>=68", "wheel"]
build-backend = "setuptools.build_meta"

[project]
name = "vision-service"
version = "0.4.0"
license = { text = "Apache-2.0" }
requires-python = ">=3.10"
dependencies = [
    "torch>=2.1,<2.4",
    "numpy==1.26.4",
    'transformers[torch]~=4.40; python_version >= "3.9"',
    "pillow",
    "internal-lib",
    "sibling",
]

[project.optional-dependencies]
gpu = ["bitsandbytes==0.43.1"]
serve = ["fastapi>=0.110", "uvicorn[standard]==0.29.0"]

[dependency-groups]
test = ["pytest>=8", "hypothesis==6.100.0"]
lint = ["ruff==0.4.4"]
dev = [{include-group = "test"}, {include-group = "lint"}, "ipython"]

[tool.uv.sources]
internal-lib = { git = "https://github.com/acme/internal-lib", tag = "v1.2.0" }
sibling = { workspace = true }
"""


def _by_name(result: SourceResult) -> dict[str, Dependency]:
    return {dep.name: dep for dep in result.dependencies}


def test_pep621_project() -> None:
    result = parse_pyproject(PEP621, path="pyproject.toml")
    deps = _by_name(result)
    assert "setuptools" not in deps and "sibling" not in deps  # build requirements, workspace member
    assert (deps["torch"].kind, deps["torch"].line) == ("range", 11)
    assert (deps["numpy"].kind, deps["numpy"].version, deps["numpy"].line) == ("pinned", "1.26.4", 12)
    assert deps["transformers"].marker == 'python_version >= "3.9"' and deps["transformers"].extras == ("torch",)
    assert deps["pillow"].kind == "unpinned"
    internal = deps["internal-lib"]
    assert (internal.kind, internal.url) == ("url", "git+https://github.com/acme/internal-lib@v1.2.0")
    assert deps["bitsandbytes"].groups == ("gpu",) and deps["bitsandbytes"].line == 20
    assert deps["uvicorn"].groups == ("serve",)
    assert all(dep.direct for dep in deps.values())
    assert [problem.rule_id for problem in result.problems] == ["MW-DEP-007"]
    assert result.problems[0].line == 15


def test_dependency_groups_include_chain() -> None:
    deps = _by_name(parse_pyproject(PEP621, path="pyproject.toml"))
    assert deps["pytest"].groups == ("test", "dev")
    assert deps["ruff"].groups == ("lint", "dev")
    assert deps["ipython"].groups == ("dev",)
    assert deps["pytest"].line == 24


def test_dependency_group_errors() -> None:
    text = '[dependency-groups]\na = [{include-group = "b"}, "x==1"]\nb = [{include-group = "a"}]\n' \
           'c = [{include-group = "missing"}]\nd = "not-a-list"\ne = [3]\n'
    result = parse_pyproject(text, path="pyproject.toml")
    messages = " | ".join(problem.message for problem in result.problems)
    assert "unknown group 'missing'" in messages
    assert "'a' includes itself" in messages and "'b' includes itself" in messages
    assert "'d' is not an array" in messages
    assert "holds a int" in messages
    assert _by_name(result)["x"].groups == ("a", "b")


POETRY = """\
[tool.poetry]
name = "classifier"
version = "1.0.0"

[tool.poetry.dependencies]
python = "^3.10"
requests = "^2.31.0"
urllib3 = "~1.26"
zero = "^0.2.3"
exact = "1.2.3"
anything = "*"
either = "^1.2 || ^2.0"
spaced = ">= 1.2, < 1.5"
gitdep = { git = "https://github.com/acme/gitdep.git", branch = "main" }
localdep = { path = "../localdep", develop = true }
archive = { url = "https://example.com/archive-1.0.tar.gz" }
scipy = [
  { version = "^1.10", python = "<3.12" },
  { version = "^1.11", python = ">=3.12", markers = "sys_platform == 'linux'" },
]
broken = "^^1"
gpu-extra = { version = "^0.43", optional = true, extras = ["cuda"] }

[tool.poetry.extras]
gpu = ["gpu-extra"]

[tool.poetry.group.dev.dependencies]
pytest = "^8.0"

[tool.poetry.dev-dependencies]
black = "24.3.0"

[tool.poetry.dependencies.tabled]
version = "2.0.0"
"""


def test_poetry_project() -> None:
    result = parse_pyproject(POETRY, path="pyproject.toml")
    deps = _by_name(result)
    assert "python" not in deps
    assert (deps["requests"].specifier, deps["requests"].line) == ("<3.0.0,>=2.31.0", 7)
    assert deps["urllib3"].specifier == "<1.27,>=1.26"
    assert deps["zero"].specifier == "<0.3.0,>=0.2.3"
    assert (deps["exact"].kind, deps["exact"].version) == ("pinned", "1.2.3")
    assert deps["anything"].kind == "unpinned"
    assert deps["either"].specifier == "<3.0,>=1.2"
    assert deps["spaced"].specifier == "<1.5,>=1.2"
    assert (deps["gitdep"].kind, deps["gitdep"].url) == ("url", "git+https://github.com/acme/gitdep.git@main")
    assert (deps["localdep"].kind, deps["localdep"].url) == ("editable", "../localdep")
    assert deps["archive"].kind == "url"
    scipy = [dep for dep in result.dependencies if dep.name == "scipy"]
    assert [dep.specifier for dep in scipy] == ["<2.0,>=1.10", "<2.0,>=1.11"]
    assert scipy[1].marker == "sys_platform == 'linux'"
    assert deps["gpu-extra"].groups == ("gpu",) and deps["gpu-extra"].extras == ("cuda",)
    assert deps["pytest"].groups == ("dev",)
    assert deps["black"].groups == ("dev",) and deps["black"].kind == "pinned"
    assert (deps["tabled"].version, deps["tabled"].line) == ("2.0.0", 33)
    rules = [(problem.rule_id, problem.line) for problem in result.problems]
    assert ("MW-DEP-004", 21) in rules  # "^^1"
    assert sum(rule == "MW-DEP-007" for rule, _ in rules) == 3


def test_poetry2_project_section_wins_over_tool_poetry() -> None:
    text = ('[project]\nname = "x"\ndependencies = ["numpy>=1.26", "mylib"]\n\n'
            '[tool.poetry.dependencies]\nnumpy = "^1.26"\nmylib = { path = "../mylib", develop = true }\n'
            'extra-only = "^1.0"\n')
    result = parse_pyproject(text, path="pyproject.toml")
    deps = [(dep.name, dep.kind) for dep in result.dependencies]
    assert deps == [("numpy", "range"), ("mylib", "editable"), ("extra-only", "range")]


def test_pdm_dev_dependencies() -> None:
    text = '[tool.pdm.dev-dependencies]\ntest = ["pytest==8.2.0"]\n'
    (dep,) = parse_pyproject(text, path="pyproject.toml").dependencies
    assert (dep.name, dep.groups, dep.line) == ("pytest", ("test",), 2)


@pytest.mark.parametrize(
    ("poetry", "pep440"),
    [
        ("^1.2.3", ">=1.2.3,<2.0.0"),
        ("^1.2", ">=1.2,<2.0"),
        ("^1", ">=1,<2"),
        ("^0.2.3", ">=0.2.3,<0.3.0"),
        ("^0.0.3", ">=0.0.3,<0.0.4"),
        ("^0.0", ">=0.0,<0.1"),
        ("^0", ">=0,<1"),
        ("~1.2.3", ">=1.2.3,<1.3.0"),
        ("~1.2", ">=1.2,<1.3"),
        ("~1", ">=1,<2"),
        ("~=1.4", "~=1.4"),
        ("1.2.3", "==1.2.3"),
        ("=1.2.3", "==1.2.3"),
        ("1.2.*", "==1.2.*"),
        ("*", ""),
        ("", ""),
        (">= 1.2, < 1.5", ">=1.2,<1.5"),
        (">=1.2 <1.5", ">=1.2,<1.5"),
        ("!=1.3", "!=1.3"),
        ("^1.0 || ^3.0", ">=1.0,<4.0"),
        ("1.0 || 1.5", ">=1.0,<=1.5"),
        ("<1.0 || >=2.0", ""),
        ("* || ^1.0", ""),
    ],
)
def test_poetry_constraints(poetry: str, pep440: str) -> None:
    assert poetry_constraint_to_pep440(poetry) == pep440
    SpecifierSet(pep440)


@pytest.mark.parametrize("bad", ["^", ">=", "^^1", "1.2.* || ", ">=1.*", "^abc"])
def test_invalid_poetry_constraints_raise_value_error(bad: str) -> None:
    with pytest.raises(ValueError):
        poetry_constraint_to_pep440(bad)


def test_toml_syntax_error_is_one_problem_with_line() -> None:
    result = parse_pyproject('[project]\nname = "x"\ndependencies = ["a",\n  oops\n]\n', path="pyproject.toml")
    (problem,) = result.problems
    assert result.dependencies == []
    assert problem.rule_id == "MW-DEP-004" and problem.line == 4 and "TOML syntax error" in problem.message


def test_wrong_shapes_are_problems() -> None:
    for text in ('project = "x"\n', '[project]\ndependencies = "numpy"\n',
                 '[project]\noptional-dependencies = ["x"]\n', '[project]\ndependencies = [1, {a = 2}]\n',
                 '[tool.poetry]\ndependencies = ["numpy"]\n', 'dependency-groups = 3\n',
                 '[tool.poetry.dependencies]\nx = 3\ny = { version = 3 }\n'):
        result = parse_pyproject(text, path="pyproject.toml")
        assert result.problems, text
        assert result.dependencies == []


def test_deeply_nested_toml_is_a_problem() -> None:
    result = parse_pyproject("a = " + "[" * 5000 + "]" * 5000, path="pyproject.toml")
    assert "nested too deeply" in result.problems[0].message


def test_project_without_dependencies() -> None:
    assert parse_pyproject('[project]\nname = "x"\n', path="pyproject.toml") == SourceResult()
    assert parse_pyproject("", path="pyproject.toml") == SourceResult()


def _mutated() -> st.SearchStrategy[str]:
    sample = st.sampled_from([PEP621, POETRY])
    return st.builds(lambda text, cut, insert: text[:cut] + insert + text[cut:], sample, st.integers(0, 1200),
                     st.sampled_from(["", "[", "]", '"', "{", "}", "=", "\n", "[[x]]\n", "include-group", "^",
                                      "||", "x = 1\n", "\x00", "🙂"]))


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.text(max_size=300), _mutated()))
def test_fuzz_pyproject(text: str) -> None:
    result = parse_pyproject(text, path="pyproject.toml")
    assert all(problem.rule_id in {"MW-DEP-004", "MW-DEP-007"} for problem in result.problems)


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("0123456789.^~*|<>=!, abc")), max_size=30))
def test_fuzz_poetry_constraint(text: str) -> None:
    try:
        converted = poetry_constraint_to_pep440(text)
    except ValueError:
        return
    SpecifierSet(converted)
