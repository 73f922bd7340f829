"""The dependency source registry: file names, dispatch, and the helpers every parser shares."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlwarden.core.errors import UsageError
from mlwarden.supply.deps.model import Dependency, SourceProblem, SourceResult
from mlwarden.supply.deps.sources import (
    MAX_ENTRIES,
    MAX_SOURCE_CHARS,
    SOURCE_PARSERS,
    LineIndex,
    ResultBuilder,
    clip,
    combine_results,
    mask_credentials,
    parse_source,
    provenance_problem,
    source_kind,
)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("requirements.txt", "requirements"),
        ("Requirements.TXT", "requirements"),
        ("requirements-dev.txt", "requirements"),
        ("requirements_gpu.txt", "requirements"),
        ("dev-requirements.txt", "requirements"),
        ("test_requirements.txt", "requirements"),
        ("docs.requirements.txt", "requirements"),
        ("requirements/base.txt", "requirements"),
        ("project/requirements/prod.txt", "requirements"),
        ("project\\requirements\\prod.txt", "requirements"),
        ("constraints.txt", "constraints"),
        ("pip-constraints.txt", "constraints"),
        ("pyproject.toml", "pyproject"),
        ("sub/pyproject.toml", "pyproject"),
        ("poetry.lock", "poetry-lock"),
        ("uv.lock", "uv-lock"),
        ("Pipfile.lock", "pipfile-lock"),
        ("pylock.toml", "pylock"),
        ("pylock.spam.toml", "pylock"),
        ("environment.yml", "conda"),
        ("environment.yaml", "conda"),
        ("environment-gpu.yml", "conda"),
        ("environment_dev.yaml", "conda"),
        ("conda.yaml", "conda"),
    ],
)
def test_source_kind_recognises(name: str, kind: str) -> None:
    assert source_kind(name) == kind


@pytest.mark.parametrize(
    "name",
    ["requirements.in", "notes.txt", "README.md", "Pipfile", "setup.py", "setup.cfg", "pylock.a.b.toml",
     "pylock..toml", "mypylock.toml", "environments.yml", "environment.json", "package-lock.json", "poetry.toml",
     "uv.toml", "docs/base.txt", "", "/"],
)
def test_source_kind_ignores_lookalikes(name: str) -> None:
    assert source_kind(name) is None


def test_every_table_entry_has_an_importable_parser() -> None:
    for entry in SOURCE_PARSERS:
        result = parse_source(entry.kind, "", path=f"x.{entry.kind}")
        assert isinstance(result, SourceResult)
    kinds = [entry.kind for entry in SOURCE_PARSERS]
    assert len(kinds) == len(set(kinds))


def test_parse_source_dispatches_by_kind() -> None:
    result = parse_source("requirements", "numpy==1.26.4\n", path="requirements.txt")
    assert [dep.name for dep in result.dependencies] == ["numpy"]
    result = parse_source("constraints", "numpy==1.26.4\n", path="constraints.txt")
    assert result.dependencies[0].direct is False
    read = {"base.txt": "flask==3.0.0\n"}.get
    result = parse_source("requirements", "-r base.txt\n", path="requirements.txt", read_include=read)
    assert [dep.name for dep in result.dependencies] == ["flask"]


def test_unknown_kind_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown dependency source kind 'npm'"):
        parse_source("npm", "", path="package.json")


def test_oversized_text_is_one_problem() -> None:
    result = parse_source("requirements", "a" * (MAX_SOURCE_CHARS + 1), path="requirements.txt")
    assert result.dependencies == [] and "larger than" in result.problems[0].message


def test_combine_results_drops_repeats_from_includes() -> None:
    read = {"base.txt": "flask==3.0.0\nbad==\n"}.get
    top = parse_source("requirements", "-r base.txt\n", path="requirements.txt", read_include=read)
    alone = parse_source("requirements", "flask==3.0.0\nbad==\n", path="base.txt")
    combined = combine_results([top, alone])
    assert [dep.source for dep in combined.dependencies] == ["base.txt"]
    assert len(combined.problems) == 1


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("https://user:pass@host/x", "https://****@host/x"),
        ("git+https://ghp_abcdef@github.com/a/b.git", "git+https://****@github.com/a/b.git"),
        ("git+ssh://git@github.com/a/b.git", "git+ssh://git@github.com/a/b.git"),
        ("see https://host/x@y", "see https://host/x@y"),
        ("no url user@example.com", "no url user@example.com"),
    ],
)
def test_mask_credentials(text: str, masked: str) -> None:
    assert mask_credentials(text) == masked


def test_clip_masks_and_shortens() -> None:
    clipped = clip("https://u:secret@h/" + "x" * 500, 50)
    assert len(clipped) == 50 and "secret" not in clipped and clipped.endswith("...")


def test_provenance_problem_only_for_unauditable_kinds() -> None:
    url = Dependency("x", "r.txt", kind="url", url="https://h/x.tar.gz", line=3)
    problem = provenance_problem(url)
    assert problem is not None and (problem.rule_id, problem.line) == ("MW-DEP-007", 3)
    for kind in ("pinned", "range", "unpinned"):
        assert provenance_problem(Dependency("x", "r.txt", kind=kind)) is None  # type: ignore[arg-type]


def test_result_builder_is_bounded() -> None:
    builder = ResultBuilder("r.txt")
    for index in range(MAX_ENTRIES + 10):
        builder.add(Dependency(f"p{index}", "r.txt"))
    assert builder.full
    assert len(builder.result.dependencies) == MAX_ENTRIES
    assert [problem.message for problem in builder.result.problems] == [f"more than {MAX_ENTRIES} entries; the "
                                                                       "rest was not read"]
    builder.extend(SourceResult(problems=[SourceProblem("r.txt", "late")]))
    assert len(builder.result.problems) == 1


def test_line_index_takes_successive_lines() -> None:
    index = LineIndex('name = "a"\nname = "b"\nname = "a"\n', re.compile(r'^name = "([^"]+)"'))
    assert index.take("a") == 1 and index.take("a") == 3 and index.take("a") is None
    assert index.first("b") == 2 and index.take("b", after=3) is None


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=80))
def test_fuzz_source_kind(name: str) -> None:
    kind = source_kind(name)
    assert kind is None or kind in {entry.kind for entry in SOURCE_PARSERS}


@settings(max_examples=150, deadline=None)
@given(st.sampled_from([entry.kind for entry in SOURCE_PARSERS]), st.binary(max_size=300))
def test_fuzz_every_parser_with_binary_junk(kind: str, junk: bytes) -> None:
    text = junk.decode("utf-8", errors="replace")
    result = parse_source(kind, text, path="file", read_include=lambda relative: text)
    assert isinstance(result, SourceResult)


_HOSTILE_SHAPES = {
    "spaces then text": "a" + " " * 50_000 + "x",
    "spaces then hash": "a" + " " * 50_000 + "x#",
    "spaces then at": "a" + " " * 50_000 + "@",
    "open bracket and spaces": "[" + " " * 50_000,
    "brackets": "[" * 50_000,
    "quotes": '"' * 50_000,
    "unclosed quote": '"' + "a" * 50_000,
    "braces": "{" * 50_000,
    "continuations": "a\\\n" * 20_000,
    "long dotted header": "[" + "a." * 100_000 + "a]\n",
    "long dotted key": "x = 1\n" + "a" + ".a" * 100_000 + " = 1\n",
    "quoted dotted key": "[" + '"a".' * 50_000 + "a]\n",
    "userinfo": "https://" + "a" * 50_000 + "@",
    "dashes": "a " + "- " * 25_000,
}


@pytest.mark.parametrize("shape", sorted(_HOSTILE_SHAPES))
def test_hostile_shapes_finish_quickly(shape: str) -> None:
    import time

    from mlwarden.supply.deps.sources.requirements import parse_pip_install_args, parse_requirement_line

    text = _HOSTILE_SHAPES[shape]
    started = time.perf_counter()
    for entry in SOURCE_PARSERS:
        assert isinstance(parse_source(entry.kind, text, path="f", read_include=lambda relative: None), SourceResult)
    parse_pip_install_args(text, source="nb", line=1)
    parse_requirement_line(text, source="nb", line=1)
    assert time.perf_counter() - started < 5
