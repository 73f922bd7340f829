"""Dependency sources: which files declare what a project depends on, and the one entry point that parses them.

``source_kind`` tells by a file's name alone (cheap: the engine asks it for every file it walks) whether the file
is a dependency source and of which kind; ``parse_source`` hands the decoded text to that kind's parser, named in
the ``SOURCE_PARSERS`` table and imported only when first needed. Every parser returns a ``SourceResult``: the
dependencies it could read and one ``SourceProblem`` per entry (or per file) it could not.

This package never imports, runs or deserializes anything it parses (TOML, JSON and YAML are read with safe
parsers into plain values, PEP 508 strings with ``packaging``), never reads a file itself (includes come through
the caller's ``read_include``), never touches the network, and never lets a malformed file raise: a broken file
is a problem in the result. Installed environments (``installed.py``) are read only when the user asks.

This module also holds what the parsers share: their limits, masking of credentials in URLs, locating entries
of TOML/JSON documents by line, and the one way a syntax error becomes a problem.
"""

from __future__ import annotations

import bisect
import fnmatch
import importlib
import json
import os
import posixpath
import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from mlwarden.core.errors import UsageError
from mlwarden.supply.deps.model import Dependency, SourceProblem, SourceResult

__all__ = [
    "SOURCE_PARSERS",
    "ReadInclude",
    "SourceFormat",
    "SourceParser",
    "combine_results",
    "parse_source",
    "provenance_problem",
    "source_kind",
]

# ---------------------------------------------------------------------------------------------------------------
# Limits. They bound time and memory on hostile files; real files stay far below them (the largest uv.lock and
# poetry.lock files of big monorepos are a few MiB with a few thousand packages).
# ---------------------------------------------------------------------------------------------------------------
MAX_SOURCE_CHARS = 32 * 1024 * 1024  # a larger dependency file is reported, not parsed
MAX_LINES = 200_000  # physical lines of one requirements file
MAX_LINE_CHARS = 100_000  # one logical requirements line, continuations joined (long --hash lists fit)
MAX_REQUIREMENT_CHARS = 8_192  # the PEP 508 part of one entry (a long URL fits)
MAX_ENTRIES = 100_000  # dependencies plus problems from one file, includes counted
MAX_INCLUDE_DEPTH = 8  # -r / -c nesting
MAX_INCLUDED_FILES = 64  # distinct files read through includes from one top-level file
MAX_EVIDENCE_CHARS = 200  # evidence quoted in a problem

# The engine's reader for included files: text of a path relative to the top-level file, or None when it is
# missing, outside the project or too large.
ReadInclude = Callable[[str], str | None]


def include_reader(path: str, root: str, *, max_bytes: int) -> ReadInclude:
    """The ``read_include`` for the dependency file at ``path``: files it includes (``-r base.txt``) are read
    relative to it, never outside ``root`` (the scanned folder), and not when larger than ``max_bytes``."""
    top = os.path.realpath(root)
    here = os.path.dirname(os.path.realpath(path))

    def read_include(relative: str) -> str | None:
        try:
            target = os.path.realpath(os.path.join(here, relative))
            if os.path.commonpath([top, target]) != top or not os.path.isfile(target):
                return None
            with open(target, "rb") as handle:
                data = handle.read(max_bytes + 1)
        except (OSError, ValueError):  # unreadable, a NUL in the name, another drive
            return None
        return None if len(data) > max_bytes else data.decode("utf-8", errors="replace")

    return read_include


class SourceParser(Protocol):
    """What every source format module provides: decoded text in, dependencies and problems out."""

    def __call__(self, text: str, *, path: str, read_include: ReadInclude | None) -> SourceResult: ...


@dataclass(frozen=True, slots=True)
class SourceFormat:
    """One dependency file format: how its files are named and which function parses it."""

    kind: str
    # fnmatch globs over the lowercased file name, or over "folder/name" when the glob holds a "/"
    globs: tuple[str, ...]
    parser: str  # "module:function" within this package, imported on first use
    # for names a glob cannot say exactly (PEP 751's pylock.<name>.toml)
    predicate: Callable[[str], bool] | None = None


_PYLOCK_NAME = re.compile(r"pylock\.(?:[^.]+\.)?toml")  # PEP 751 "File Name": ^pylock\.([^.]+\.)?toml$


def _is_pylock(name: str) -> bool:
    return _PYLOCK_NAME.fullmatch(name) is not None


# Where the names come from:
# - requirements: pip's docs name no file, but "requirements.txt" is the convention of pip's user guide,
#   "requirements-dev.txt"/"requirements_test.txt" and "dev-requirements.txt" (pip-tools' docs) are the common
#   variants, and a "requirements/" folder of per-environment files (base.txt, dev.txt) is the Django/cookiecutter
#   layout. pip-compile inputs (*.in) are deliberately not read: they hold the intended ranges and their compiled
#   .txt next to them holds what is installed; auditing both would flag every intended range.
# - constraints: pip's user guide ("Constraints Files") uses "constraints.txt"; entries pin, they do not declare.
#   Checked first, so "requirements/constraints.txt" is a constraints file.
# - pyproject.toml: PEP 518/621; poetry.lock, uv.lock and Pipfile.lock: the tools' fixed names.
# - pylock.toml: PEP 751 (pylock.toml or pylock.<name>.toml).
# - conda: `conda env create` reads environment.yml by default and the conda docs also use environment.yaml;
#   "environment-<variant>.yml" is common for GPU/dev variants; MLflow projects and logged models write conda.yaml.
#   A YAML file so named that has no "dependencies" list gives no dependencies and no problem.
SOURCE_PARSERS: tuple[SourceFormat, ...] = (
    SourceFormat(
        "constraints",
        ("constraints*.txt", "*-constraints.txt", "*_constraints.txt", "constraints/*.txt"),
        "requirements:parse_constraints_file",
    ),
    SourceFormat(
        "requirements",
        ("requirements*.txt", "*-requirements.txt", "*_requirements.txt", "*.requirements.txt", "requirements/*.txt"),
        "requirements:parse_requirements_file",
    ),
    SourceFormat("pyproject", ("pyproject.toml",), "pyproject:parse_pyproject"),
    SourceFormat("poetry-lock", ("poetry.lock",), "lockfiles:parse_poetry_lock"),
    SourceFormat("uv-lock", ("uv.lock",), "lockfiles:parse_uv_lock"),
    SourceFormat("pipfile-lock", ("pipfile.lock",), "lockfiles:parse_pipfile_lock"),
    SourceFormat("pylock", (), "lockfiles:parse_pylock", predicate=_is_pylock),
    SourceFormat(
        "conda",
        ("environment.yml", "environment.yaml", "environment[-_.]*.yml", "environment[-_.]*.yaml",
         "conda.yml", "conda.yaml"),
        "conda:parse_conda_environment",
    ),
)

_BY_KIND: dict[str, SourceFormat] = {entry.kind: entry for entry in SOURCE_PARSERS}


def source_kind(filename: str) -> str | None:
    """The source kind of a file, judged by its name (and its folder's name) only; None when it is not one.

    ``filename`` may be a bare name or a path with ``/`` or ``\\`` separators.
    """
    parts = filename.replace("\\", "/").rstrip("/").split("/")
    name = parts[-1].lower()
    if not name:
        return None
    in_folder = f"{parts[-2].lower()}/{name}" if len(parts) >= 2 else name
    for entry in SOURCE_PARSERS:
        if entry.predicate is not None and entry.predicate(name):
            return entry.kind
        for glob in entry.globs:
            if fnmatch.fnmatchcase(in_folder if "/" in glob else name, glob):
                return entry.kind
    return None


_PARSER_CACHE: dict[str, SourceParser] = {}


def _parser_for(kind: str) -> SourceParser:
    entry = _BY_KIND.get(kind)
    if entry is None:
        known = ", ".join(sorted(_BY_KIND))
        raise UsageError(f"unknown dependency source kind '{kind}': use one of {known}")
    parser = _PARSER_CACHE.get(kind)
    if parser is None:
        module_name, _, function_name = entry.parser.partition(":")
        module = importlib.import_module(f"{__name__}.{module_name}")
        parser = getattr(module, function_name)
        _PARSER_CACHE[kind] = parser
    return parser


def parse_source(kind: str, text: str, *, path: str, read_include: ReadInclude | None = None) -> SourceResult:
    """Parse one dependency file of ``kind`` (from ``source_kind``). ``path`` is its display path.

    Malformed content never raises: it gives problems in the result. ``read_include(relative_path)`` returns the
    text of a file that a requirements file includes, the path given relative to the folder of the file parsed
    here (nested includes are resolved to that folder too), or None when it is missing, outside the project or
    too large. Raises ``UsageError`` only for an unknown ``kind``.
    """
    parser = _parser_for(kind)
    if len(text) > MAX_SOURCE_CHARS:
        return SourceResult(problems=[SourceProblem(
            path, f"file is larger than {MAX_SOURCE_CHARS // (1024 * 1024)} MiB of text; it was not parsed")])
    return parser(text, path=path, read_include=read_include)


def combine_results(results: Iterable[SourceResult]) -> SourceResult:
    """Merge results, dropping repeats (a file read through ``-r`` and also found by itself gives equal values)."""
    combined = SourceResult()
    seen_dependencies: set[Dependency] = set()
    seen_problems: set[SourceProblem] = set()
    for result in results:
        for dependency in result.dependencies:
            if dependency not in seen_dependencies:
                seen_dependencies.add(dependency)
                combined.dependencies.append(dependency)
        for problem in result.problems:
            if problem not in seen_problems:
                seen_problems.add(problem)
                combined.problems.append(problem)
    return combined


# ---------------------------------------------------------------------------------------------------------------
# What the parsers share.
# ---------------------------------------------------------------------------------------------------------------
_UNAUDITABLE_KINDS = {
    "url": "installed from a URL",
    "path": "installed from a local path",
    "editable": "installed in editable mode",
}


def provenance_problem(dependency: Dependency) -> SourceProblem | None:
    """The MW-DEP-007 problem for a dependency that bypasses the index (url, path, editable), else None."""
    how = _UNAUDITABLE_KINDS.get(dependency.kind)
    if how is None:
        return None
    where = f" ({clip(dependency.url)})" if dependency.url else ""
    return SourceProblem(dependency.source, f"'{dependency.name}' is {how}{where}; it cannot be audited",
                         line=dependency.line, rule_id="MW-DEP-007", evidence=dependency.url)


class ResultBuilder:
    """Collects one file's dependencies and problems, bounded by MAX_ENTRIES, adding MW-DEP-007 problems."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.result = SourceResult()
        self.full = False

    def _room(self) -> bool:
        if len(self.result.dependencies) + len(self.result.problems) < MAX_ENTRIES:
            return True
        if not self.full:
            self.full = True
            self.result.problems.append(SourceProblem(self.path, f"more than {MAX_ENTRIES} entries; the rest was "
                                                      "not read"))
        return False

    def add(self, entry: Dependency | SourceProblem) -> None:
        if not self._room():
            return
        if isinstance(entry, Dependency):
            self.result.dependencies.append(entry)
            extra = provenance_problem(entry)
            if extra is not None:
                self.result.problems.append(extra)
        else:
            self.result.problems.append(entry)

    def problem(self, message: str, line: int | None = None) -> None:
        self.add(SourceProblem(self.path, message, line=line))

    def extend(self, result: SourceResult) -> None:
        """Take over another parser's result as it is (its MW-DEP-007 problems are already there)."""
        for dependency in result.dependencies:
            if not self._room():
                return
            self.result.dependencies.append(dependency)
        for problem in result.problems:
            if not self._room():
                return
            self.result.problems.append(problem)


# userinfo of a URL: "https://user:token@host" -> "https://****@host". "git@" (SSH's conventional user) is kept.
_URL_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]{0,30}://)(?P<userinfo>[^/@\s?#]{1,2048})@")


def _mask_userinfo(match: re.Match[str]) -> str:
    if match.group("userinfo") == "git":
        return match.group(0)
    return f"{match.group('scheme')}****@"


def mask_credentials(text: str) -> str:
    """``text`` with the user and password part of every URL in it replaced by ``****``."""
    if "@" not in text:
        return text
    return _URL_USERINFO.sub(_mask_userinfo, text)


def clip(text: str, limit: int = MAX_EVIDENCE_CHARS) -> str:
    """Credentials masked and shortened to ``limit`` characters: safe to quote in a problem."""
    masked = mask_credentials(text)
    return masked if len(masked) <= limit else masked[: limit - 3] + "..."


def include_key(including: str, target: str) -> str:
    """The path of ``target`` (as written in the file ``including``) relative to the top-level file's folder.

    ``including`` is itself relative to that folder (the top-level file's own name for it), so nested includes
    resolve against the folder of the file that names them, as pip does.
    """
    joined = posixpath.join(posixpath.dirname(including), target.replace("\\", "/"))
    return posixpath.normpath(joined)


def display_of(path: str, relative: str) -> str:
    """The display path of a file given relative to the folder of the top-level file at display path ``path``."""
    return posixpath.normpath(posixpath.join(posixpath.dirname(path), relative))


_TOML_POSITION = re.compile(r"\(at line (\d+), column \d+\)")


# tomllib's time and memory grow with the square of a dotted key's length ("[a.a.a...]" with 200k parts takes
# minutes and gigabytes), so keys longer than this many parts are refused before parsing. Real files use fewer
# than ten. A part is a bare or quoted key; the look-behind starts a match only at a key's start, which keeps the
# search linear.
MAX_TOML_KEY_PARTS = 64
_LONG_DOTTED_KEY = re.compile(
    r"(?<![A-Za-z0-9_\-.\"'])(?:(?:[A-Za-z0-9_\-]+|\"[^\"\n]*\"|'[^'\n]*')[ \t]*\.[ \t]*)"
    rf"{{{MAX_TOML_KEY_PARTS}}}"
)


def read_toml(text: str, path: str) -> dict[str, Any] | SourceProblem:
    """The parsed TOML document, or one problem for the file with tomllib's message and line."""
    long_key = _LONG_DOTTED_KEY.search(text)
    if long_key is not None:
        return SourceProblem(path, f"a dotted key has more than {MAX_TOML_KEY_PARTS} parts; the file was not "
                             "parsed", line=text.count("\n", 0, long_key.start()) + 1)
    try:
        return tomllib.loads(text)
    except RecursionError:
        return SourceProblem(path, "TOML document is nested too deeply to parse")
    except ValueError as error:  # TOMLDecodeError, and int() of an over-long number
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        line: int | None = getattr(error, "lineno", None)
        match = _TOML_POSITION.search(message)
        if match is not None:
            line = line or int(match.group(1))
            message = message[: match.start()].rstrip()
        return SourceProblem(path, f"TOML syntax error: {clip(message)}", line=line)


def read_json(text: str, path: str) -> Any | SourceProblem:
    """The parsed JSON document, or one problem for the file with the decoder's message and line."""
    try:
        return json.loads(text)
    except RecursionError:
        return SourceProblem(path, "JSON document is nested too deeply to parse")
    except json.JSONDecodeError as error:
        return SourceProblem(path, f"JSON syntax error: {clip(error.msg)}", line=error.lineno)
    except ValueError as error:  # int() of an over-long number
        return SourceProblem(path, f"JSON value cannot be read: {clip(str(error).splitlines()[0])}")


class LineIndex:
    """Best-effort line numbers for entries of a parsed document (tomllib and json do not keep positions).

    ``pattern`` captures one key per line (a name, a quoted string); ``take(key, after=n)`` returns the first
    unused line >= n holding that key and marks it used, so repeated keys map to successive lines. Built once,
    in one pass over the text: lookups do not rescan.
    """

    def __init__(self, text: str, pattern: re.Pattern[str], *, normalize: Callable[[str], str] | None = None):
        self._lines: dict[str, list[int]] = {}
        normal = normalize or (lambda key: key)
        for number, line in enumerate(text.splitlines(), start=1):
            for match in pattern.finditer(line):
                key = next((group for group in match.groups() if group is not None), None)
                if key is not None:
                    self._lines.setdefault(normal(key), []).append(number)
        self._normal = normal

    def take(self, key: str, *, after: int = 0) -> int | None:
        lines = self._lines.get(self._normal(key))
        if not lines:
            return None
        index = bisect.bisect_left(lines, after)
        if index >= len(lines):
            return None
        return lines.pop(index)

    def first(self, key: str, *, after: int = 0) -> int | None:
        """Like ``take`` but leaves the line available (for headers that several entries share)."""
        lines = self._lines.get(self._normal(key))
        if not lines:
            return None
        index = bisect.bisect_left(lines, after)
        return lines[index] if index < len(lines) else None


# TOML table headers: "[tool.poetry.dependencies]", "[[package]]" (keys taken as written, spaces removed).
TOML_HEADER = re.compile(r"^\s*\[\[?([^\[\]#]*)\]")  # greedy over a class without "]": no backtracking
# A TOML key at the start of a line: numpy = ..., "numpy" = ..., 'numpy' = ...
TOML_KEY = re.compile(r"^\s*(?:\"([^\"]{1,200})\"|'([^']{1,200})'|([A-Za-z0-9_.\-]{1,200}))\s*=")
# Quoted strings anywhere on a line (PEP 508 entries in arrays); basic and literal strings, no escapes needed.
TOML_STRING = re.compile(r"\"((?:[^\"\\\n]|\\.){1,8192})\"|'([^'\n]{1,8192})'")


def header_key(header: str) -> str:
    """Normalise a TOML header as written ("tool . poetry.dependencies") to compare with dotted names."""
    return ".".join(part.strip().strip("\"'") for part in header.split("."))
