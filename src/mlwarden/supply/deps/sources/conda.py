"""conda environment files (environment.yml): the PyPI packages they install, through conda or through pip.

The file is read with PyYAML's safe composer: it builds a node tree (with line numbers) and never constructs
Python objects, so no tag in the file can run code. Its ``dependencies`` list holds conda match specs and, under a
``pip:`` key, pip requirement lines, which are read by the requirements parser (``-r`` files resolve next to the
environment file, where conda writes the temporary requirements file it hands to pip).

Conda packages are audited only when they are PyPI projects repackaged: ``CONDA_TO_PYPI`` names them (with their
PyPI names: conda's ``pytorch`` is PyPI's ``torch``). Everything else (``python``, ``cudatoolkit``, ``libgcc``,
``pip`` itself) is not a PyPI package, or is the installer, and is skipped silently.

Version specs follow conda's match-spec rules (conda docs, "Package match specifications"):
- ``name==1.26.4`` is exact: pinned.
- ``name=1.26`` is a prefix match (1.26, 1.26.1, ...): the range ``==1.26.*``. ``name=1.26.4`` is the same prefix
  rule, but a version with three or more components names one upstream release (``conda env export`` writes
  every package so), so it is treated as pinned to 1.26.4; the build string after a second ``=`` is ignored.
- ``name 1.26.4 build`` (space form): a bare version is exact; ``1.26*`` is a prefix.
- ``>=``, ``<``, ``!=``, ``~=`` and ``,`` (and) carry over to PEP 440; ``|`` (or) becomes the hull of its
  alternatives, which admits at least every version the spec does.
- a channel (``conda-forge::name``) and a bracket form (``name[version='>=1.2']``) are understood.
A mapped package whose version is not a PEP 440 version gives a problem; nothing else in the file does.
"""

from __future__ import annotations

import re
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from mlwarden.supply.deps.model import Dependency, SourceProblem, SourceResult
from mlwarden.supply.deps.sources import MAX_ENTRIES, ReadInclude, ResultBuilder, clip
from mlwarden.supply.deps.sources.requirements import (
    classify_specifier,
    parse_requirement_lines,
    specifier_hull,
)

__all__ = ["CONDA_TO_PYPI", "conda_spec_to_pep440", "parse_conda_environment"]

# Conda package name -> PyPI project name, for the ML and data packages conda users install most. Entries come
# from the conda-forge feedstocks' recipes (the "source: url" of each recipe is the PyPI sdist of the named
# project) and the Anaconda "defaults" channel's split packages (numpy-base, matplotlib-base, tensorflow-base).
# Names that are the same on both sides are listed too: only listed packages are audited. Not listed on purpose:
# python (the interpreter), pip/setuptools tooling conda pulls in itself, pytorch-cuda / cudatoolkit / cudnn /
# libtorch (binaries whose versions are CUDA's or C++ libraries', not a PyPI release), and C libraries.
CONDA_TO_PYPI: dict[str, str] = {
    # deep learning
    "pytorch": "torch",
    "pytorch-gpu": "torch",
    "pytorch-cpu": "torch",
    "torchvision": "torchvision",
    "torchaudio": "torchaudio",
    "tensorflow": "tensorflow",
    "tensorflow-base": "tensorflow",
    "tensorflow-gpu": "tensorflow",
    "tensorflow-cpu": "tensorflow",
    "keras": "keras",
    "jax": "jax",
    "jaxlib": "jaxlib",
    "onnx": "onnx",
    "onnxruntime": "onnxruntime",
    # Hugging Face stack
    "transformers": "transformers",
    "tokenizers": "tokenizers",
    "datasets": "datasets",
    "huggingface_hub": "huggingface-hub",
    "safetensors": "safetensors",
    "accelerate": "accelerate",
    "diffusers": "diffusers",
    "peft": "peft",
    "sentencepiece": "sentencepiece",
    # classic ML and data
    "numpy": "numpy",
    "numpy-base": "numpy",
    "scipy": "scipy",
    "pandas": "pandas",
    "pyarrow": "pyarrow",
    "scikit-learn": "scikit-learn",
    "scikit-image": "scikit-image",
    "xgboost": "xgboost",
    "py-xgboost": "xgboost",
    "lightgbm": "lightgbm",
    "catboost": "catboost",
    "statsmodels": "statsmodels",
    "matplotlib": "matplotlib",
    "matplotlib-base": "matplotlib",
    "pillow": "pillow",
    "py-opencv": "opencv-python",
    "opencv": "opencv-python",
    "h5py": "h5py",
    "joblib": "joblib",
    "dask": "dask",
    "numba": "numba",
    "ray-core": "ray",
    "ray-default": "ray",
    "nltk": "nltk",
    "spacy": "spacy",
    "gensim": "gensim",
    # serving, notebooks and the libraries they expose
    "mlflow": "mlflow",
    "gradio": "gradio",
    "streamlit": "streamlit",
    "jupyterlab": "jupyterlab",
    "notebook": "notebook",
    "ipython": "ipython",
    "langchain": "langchain",
    "protobuf": "protobuf",
    "pyyaml": "pyyaml",
    "requests": "requests",
    "urllib3": "urllib3",
    "jinja2": "jinja2",
    "aiohttp": "aiohttp",
    "tornado": "tornado",
    "werkzeug": "werkzeug",
    "flask": "flask",
    "fastapi": "fastapi",
    "cryptography": "cryptography",
    "lxml": "lxml",
    "tqdm": "tqdm",
}

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")
_OPERATOR = re.compile(r"^(===|==|!=|~=|>=|<=|>|<|=)?\s*(.*)$")
_BRACKET = re.compile(r"^([^\s\[\]]+?)\s*\[(.*)\]\s*$")
_BRACKET_VERSION = re.compile(r"""(?:^|,)\s*version\s*=\s*(?:'([^']*)'|"([^"]*)"|([^,\s]+))""")


def _wildcard(version: str) -> str:
    """conda's ``1.2*`` / ``1.2.*`` prefix as PEP 440 ``1.2.*``."""
    stem = version.rstrip("*").rstrip(".")
    Version(stem)
    return f"{stem}.*"


def _fuzzy(version: str) -> str:
    """``=X``: a prefix match, except that X with three or more components is taken as that release."""
    if version.endswith("*"):
        return f"=={_wildcard(version)}"
    if len(Version(version).release) >= 3:
        return f"=={version}"
    return f"=={version}.*"


def _clause(text: str) -> str:
    match = _OPERATOR.match(text.strip())
    operator, version = (match.group(1) or "", match.group(2).strip()) if match else ("", text.strip())
    if not version:
        raise ValueError(f"'{text}' has no version")
    if version == "*":
        return ""
    if operator == "=":
        return _fuzzy(version)
    if operator in {"", "=="}:
        return f"=={_wildcard(version)}" if version.endswith("*") else f"=={version}"
    if operator == "!=" and version.endswith("*"):
        return f"!={_wildcard(version)}"
    return f"{operator}{version.rstrip('*').rstrip('.')}"


def conda_spec_to_pep440(version_spec: str, *, prefix_equals: bool = False) -> str:
    """A conda version spec as a PEP 440 specifier ("" for any). Raises ValueError when it cannot be converted.

    ``prefix_equals``: the spec came as ``name=VERSION``, conda's prefix form.
    """
    text = version_spec.strip()
    if text in {"", "*"}:
        return ""
    if prefix_equals and not re.search(r"[<>=!~,|]", text):
        specifier = _fuzzy(text)
    else:
        alternatives = []
        for alternative in text.split("|"):
            clauses = [_clause(part) for part in alternative.split(",")]
            alternatives.append(",".join(clause for clause in clauses if clause))
        if any(not alternative for alternative in alternatives):
            return ""
        specifier = alternatives[0] if len(alternatives) == 1 else specifier_hull(alternatives)
    SpecifierSet(specifier)  # InvalidSpecifier is a ValueError
    return specifier


def _split_match_spec(spec: str) -> tuple[str, str, bool]:
    """(name, version spec, prefix form) of a conda match spec; the build string and channel are dropped."""
    text = spec.strip()
    if "::" in text:
        text = text.rsplit("::", 1)[1].strip()
    bracket = _BRACKET.match(text)
    if bracket is not None:
        inner = _BRACKET_VERSION.search(bracket.group(2))
        head = bracket.group(1)
        if inner is not None:
            name_match = _NAME.match(head)
            name = name_match.group(0) if name_match else head
            return name, next(group for group in inner.groups() if group is not None), False
        text = head
    name_match = _NAME.match(text)
    if name_match is None:
        return text, "", False
    name = name_match.group(0)
    rest = text[name_match.end():]
    if not rest.strip():
        return name, "", False
    if rest[0].isspace():  # "numpy 1.26.4 py311_0"
        return name, rest.split()[0], False
    if rest.startswith("=="):
        return name, rest[2:].split("=", 1)[0], False
    if rest.startswith("=") and not rest.startswith("=<") and not rest.startswith("=>"):
        return name, rest[1:].split("=", 1)[0], True
    return name, rest.strip(), False


def _conda_entry(out: ResultBuilder, spec: str, line: int) -> None:
    name, version_spec, prefix_form = _split_match_spec(spec)
    pypi_name = CONDA_TO_PYPI.get(name.lower())
    if pypi_name is None:
        return
    try:
        specifier = conda_spec_to_pep440(version_spec, prefix_equals=prefix_form)
        kind, version, problem = classify_specifier(SpecifierSet(specifier))
    except (ValueError, InvalidSpecifier, InvalidVersion):
        out.problem(f"conda package '{clip(name, 80)}': version spec '{clip(version_spec, 80)}' cannot be read as "
                    "a PyPI version", line)
        return
    if problem is not None:
        out.problem(f"conda package '{clip(name, 80)}': {problem}", line)
        return
    out.add(Dependency(pypi_name, out.path, kind=kind, version=version, specifier=specifier, line=line))


def _yaml_problem(path: str, error: Exception) -> SourceProblem:
    mark = getattr(error, "problem_mark", None)
    line = mark.line + 1 if mark is not None else None
    what = getattr(error, "problem", None) or getattr(error, "context", None) or type(error).__name__
    return SourceProblem(path, f"YAML syntax error: {clip(str(what))}", line=line)


def _compose(text: str, path: str) -> Any:
    """The document's node tree (None when empty) or a SourceProblem. Composing builds no Python objects."""
    try:
        import yaml
    except ImportError:
        return SourceProblem(path, "conda environment files need PyYAML: pip install pyyaml")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.compose(text, Loader=loader)
    except RecursionError:
        return SourceProblem(path, "YAML document is nested too deeply to parse")
    except yaml.YAMLError as error:
        return _yaml_problem(path, error)


def parse_conda_environment(text: str, *, path: str, read_include: ReadInclude | None = None) -> SourceResult:
    """The PyPI packages of a conda environment file: mapped conda packages and the ``pip:`` list."""
    import yaml  # only reached when _compose could import it

    root = _compose(text, path)
    if isinstance(root, SourceProblem):
        return SourceResult(problems=[root])
    out = ResultBuilder(path)
    if not isinstance(root, yaml.MappingNode):
        return out.result  # not an environment file (or an empty one): nothing to say
    dependencies = None
    for key, value in root.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "dependencies":
            dependencies = value  # conda keeps the last of repeated keys
    if dependencies is None:
        return out.result
    if not isinstance(dependencies, yaml.SequenceNode):
        out.problem("'dependencies' is not a list", dependencies.start_mark.line + 1)
        return out.result
    if len(dependencies.value) > MAX_ENTRIES:
        out.problem(f"more than {MAX_ENTRIES} dependencies; the rest was not read", dependencies.start_mark.line + 1)
    pip_lines: list[tuple[int, str]] = []
    for item in dependencies.value[:MAX_ENTRIES]:
        if out.full:
            break
        line = item.start_mark.line + 1
        if isinstance(item, yaml.ScalarNode):
            _conda_entry(out, str(item.value), line)
        elif isinstance(item, yaml.MappingNode):
            for key, value in item.value:
                if not (isinstance(key, yaml.ScalarNode) and key.value == "pip"):
                    out.problem(f"unexpected entry '{clip(str(getattr(key, 'value', '?')), 80)}' in dependencies",
                                key.start_mark.line + 1)
                elif not isinstance(value, yaml.SequenceNode):
                    out.problem("'pip' is not a list of requirements", value.start_mark.line + 1)
                else:
                    for pip_item in value.value:
                        if len(pip_lines) >= MAX_ENTRIES:
                            out.problem(f"more than {MAX_ENTRIES} pip requirements; the rest was not read",
                                        value.start_mark.line + 1)
                            break
                        if isinstance(pip_item, yaml.ScalarNode):
                            pip_lines.append((pip_item.start_mark.line + 1, str(pip_item.value)))
                        else:
                            out.problem("a 'pip' entry is not a requirement string", pip_item.start_mark.line + 1)
        else:
            out.problem("a dependencies entry is neither a package spec nor a 'pip' list", line)
    if pip_lines:
        out.extend(parse_requirement_lines(pip_lines, path=path, read_include=read_include))
    return out.result
