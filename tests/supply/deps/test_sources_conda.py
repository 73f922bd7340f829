"""conda environment files: mapped conda packages, match-spec versions and the pip section."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.specifiers import SpecifierSet

from mlwarden.supply.deps.model import Dependency, SourceResult
from mlwarden.supply.deps.sources.conda import CONDA_TO_PYPI, conda_spec_to_pep440, parse_conda_environment

ENVIRONMENT = """\
name: vision-train
channels:
  - pytorch
  - nvidia
  - conda-forge
  - defaults
dependencies:
  - python=3.11
  - pytorch::pytorch=2.1.0=py3.11_cuda12.1_cudnn8.9.2_0
  - pytorch-cuda=12.1
  - cudatoolkit=11.8
  - numpy=1.26.4=py311h64a7726_0
  - pandas=2.1
  - scikit-learn>=1.3,<1.5
  - matplotlib-base 3.8.2 py311h54ef318_0
  - tensorflow-base==2.15.0
  - py-opencv=4.8|4.9
  - conda-forge/linux-64::pillow[version='>=10.0']
  - jax
  - libgcc-ng
  - pip
  - pip:
    - transformers==4.40.0  # pinned for the tokenizer fix
    - -r requirements-extra.txt
    - git+https://github.com/acme/augment.git@v0.2#egg=augment
"""


def _by_name(result: SourceResult) -> dict[str, Dependency]:
    return {dep.name: dep for dep in result.dependencies}


def test_realistic_environment_file() -> None:
    read = {"requirements-extra.txt": "accelerate==0.30.0\n"}.get
    result = parse_conda_environment(ENVIRONMENT, path="envs/environment.yml", read_include=read)
    deps = _by_name(result)
    assert list(deps) == ["torch", "numpy", "pandas", "scikit-learn", "matplotlib", "tensorflow", "opencv-python",
                          "pillow", "jax", "transformers", "accelerate", "augment"]
    assert (deps["torch"].kind, deps["torch"].version, deps["torch"].line) == ("pinned", "2.1.0", 9)
    assert (deps["numpy"].kind, deps["numpy"].version) == ("pinned", "1.26.4")
    assert (deps["pandas"].kind, deps["pandas"].specifier) == ("range", "==2.1.*")
    assert deps["scikit-learn"].specifier == ">=1.3,<1.5"
    assert (deps["matplotlib"].kind, deps["matplotlib"].version) == ("pinned", "3.8.2")
    assert (deps["tensorflow"].kind, deps["tensorflow"].version) == ("pinned", "2.15.0")
    assert deps["opencv-python"].specifier == ">=4.8,<=4.9"
    assert deps["pillow"].specifier == ">=10.0"
    assert deps["jax"].kind == "unpinned"
    assert (deps["transformers"].version, deps["transformers"].line) == ("4.40.0", 23)
    assert deps["accelerate"].source == "envs/requirements-extra.txt"
    assert deps["augment"].kind == "url"
    assert all(dep.direct for dep in deps.values())
    assert [(problem.rule_id, problem.line) for problem in result.problems] == [("MW-DEP-007", 25)]


def test_unmapped_packages_are_skipped_silently() -> None:
    text = "dependencies:\n  - python=3.11\n  - cudatoolkit=11.8\n  - libgcc-ng >=12\n  - weird version!!\n"
    assert parse_conda_environment(text, path="environment.yml") == SourceResult()


def test_mapped_package_with_unreadable_version_is_a_problem() -> None:
    result = parse_conda_environment("dependencies:\n  - numpy=1.26_custom\n  - scipy==1.0,==2.0\n",
                                     path="environment.yml")
    assert result.dependencies == []
    assert [problem.line for problem in result.problems] == [2, 3]


@pytest.mark.parametrize(
    ("spec", "prefix", "pep440"),
    [
        ("1.26.4", False, "==1.26.4"),
        ("1.26.4", True, "==1.26.4"),
        ("1.26", True, "==1.26.*"),
        ("1", True, "==1.*"),
        ("1.26*", False, "==1.26.*"),
        ("1.26.*", True, "==1.26.*"),
        ("*", True, ""),
        ("", False, ""),
        (">=1.8,<2", False, ">=1.8,<2"),
        ("!=1.2*", False, "!=1.2.*"),
        ("1.11.1|1.11.3", False, ">=1.11.1,<=1.11.3"),
        (">=2|<1", False, ""),
        ("~=1.4", False, "~=1.4"),
        ("=1.2,<1.2.5", False, "==1.2.*,<1.2.5"),
    ],
)
def test_conda_version_specs(spec: str, prefix: bool, pep440: str) -> None:
    assert conda_spec_to_pep440(spec, prefix_equals=prefix) == pep440
    SpecifierSet(pep440)


def test_table_maps_to_normalised_pypi_names() -> None:
    assert CONDA_TO_PYPI["pytorch"] == "torch" and CONDA_TO_PYPI["py-opencv"] == "opencv-python"
    assert all(name == name.lower() for name in CONDA_TO_PYPI)
    assert "python" not in CONDA_TO_PYPI and "cudatoolkit" not in CONDA_TO_PYPI


def test_not_an_environment_gives_nothing() -> None:
    for text in ("", "# only a comment\n", "- a\n- b\n", "name: x\nchannels: [conda-forge]\n", "just text"):
        assert parse_conda_environment(text, path="environment.yml") == SourceResult()


def test_bad_shapes_are_problems() -> None:
    text = ("dependencies:\n  - numpy=1.26.4\n  - [nested]\n  - other: [x]\n  - pip: notalist\n"
            "  - pip:\n    - {a: b}\n    - flask==3.0.0\n")
    result = parse_conda_environment(text, path="environment.yml")
    assert [dep.name for dep in result.dependencies] == ["numpy", "flask"]
    assert [problem.line for problem in result.problems] == [3, 4, 5, 7]
    assert "not a list" in parse_conda_environment("dependencies: 3\n", path="e.yml").problems[0].message


def test_yaml_syntax_error_is_one_problem_with_line() -> None:
    result = parse_conda_environment("name: x\ndependencies:\n  - numpy\n  - [oops\n", path="environment.yml")
    (problem,) = result.problems
    assert problem.rule_id == "MW-DEP-004" and "YAML syntax error" in problem.message and problem.line


def test_python_tags_are_never_constructed(tmp_path: Path) -> None:
    marker = tmp_path / "constructed"
    text = (f"dependencies:\n  - !!python/object/apply:builtins.open ['{marker}', 'w']\n"
            f"  - numpy=1.26.4\nextra: !!python/object/apply:os.system ['touch {marker}']\n")
    result = parse_conda_environment(text, path="environment.yml")
    assert not marker.exists()
    assert [dep.name for dep in result.dependencies] == ["numpy"]


def test_aliases_do_not_multiply_work() -> None:
    # a "billion laughs" shape: every level references the previous one nine times
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 12):
        refs = ", ".join([f"*a{level - 1}"] * 9)
        levels.append(f"a{level}: &a{level} [{refs}]")
    text = "\n".join(levels) + "\ndependencies: *a11\n"
    result = parse_conda_environment(text, path="environment.yml")
    assert result.dependencies == [] and len(result.problems) == 9


def test_duplicate_dependencies_key_takes_the_last() -> None:
    result = parse_conda_environment("dependencies: [numpy=1.0.0]\ndependencies: [scipy=1.11.4]\n",
                                     path="environment.yml")
    assert [dep.name for dep in result.dependencies] == ["scipy"]


@settings(max_examples=150, deadline=None)
@given(st.integers(0, len(ENVIRONMENT)), st.integers(0, 40),
       st.sampled_from(["", "-", ":", "  - ", "\n", "[", "]", "{", "&a ", "*a", "!!python/name:os.system ", "|",
                        "\t", "=", "::", "'", '"', "\x00", "pip:\n    - "]))
def test_fuzz_mutated_environment(cut: int, drop: int, insert: str) -> None:
    text = ENVIRONMENT[:cut] + insert + ENVIRONMENT[cut + drop:]
    result = parse_conda_environment(text, path="environment.yml", read_include=lambda relative: text)
    assert isinstance(result, SourceResult)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200))
def test_fuzz_random_text(text: str) -> None:
    assert isinstance(parse_conda_environment(text, path="environment.yml"), SourceResult)


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("0123456789.*|,<>=!~ abc_")), max_size=25), st.booleans())
def test_fuzz_conda_version_spec(spec: str, prefix: bool) -> None:
    try:
        converted = conda_spec_to_pep440(spec, prefix_equals=prefix)
    except ValueError:
        return
    SpecifierSet(converted)
