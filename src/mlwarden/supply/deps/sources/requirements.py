"""pip requirements files, PEP 508 requirement strings and ``pip install`` argument strings.

Follows pip's requirements file format (pip docs "Requirements File Format"; pip/_internal/req/req_file.py):
lines ending in a backslash are joined to the next, ``#`` starts a comment at the start of a line or after
whitespace, ``-r``/``--requirement`` includes another requirements file and ``-c``/``--constraint`` a constraints
file (both relative to the including file; a ``-r`` inside a constraints file includes requirements again, as in
pip), ``-e``/``--editable`` installs a path or VCS URL in editable mode, and per-requirement options (``--hash``,
``--config-settings``...) follow the requirement after whitespace. Every other option (``--index-url``,
``--extra-index-url``, ``--trusted-host``, ``--find-links``, ``--pre``...) is read and ignored: it says where
packages come from, not which ones (index risks are the configuration scanner's concern).

What each entry becomes:
- ``name==1.2`` / ``name===1.2`` (one exact version): pinned; ``==1.*``, ``~=``, ``>=``, ``!=``...: range;
  no specifier: unpinned. Extras, the environment marker and ``--hash`` (``hashed=True``) are kept.
- ``name @ https://...``, a bare URL (``git+https://...#egg=name``, an archive URL): kind url; a local path or
  archive (``./pkg``, ``../dist/x-1.0-py3-none-any.whl``, ``file:...``): kind path; ``-e``: kind editable. Each of
  these also gives an MW-DEP-007 problem (``provenance_problem``): nothing with a version can be audited.
  Their names come from ``#egg=``, the archive file name, or the last path segment (a best guess).
- ``.`` / ``-e .`` / ``.[dev]``: the project itself, audited through its own pyproject.toml: skipped.
- a line pip would reject, or one whose version comes from ``${VARIABLE}``: an MW-DEP-004 problem.
Lines are constraints (``direct=False``) when read through ``-c`` or from a constraints file.

It never runs pip, never fetches an include given as a URL, never expands environment variables (their values
on this machine say nothing about the install), and never quotes a URL's credentials.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Literal

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from mlwarden.supply.deps.model import Dependency, DependencyKind, SourceProblem, SourceResult
from mlwarden.supply.deps.sources import (
    MAX_ENTRIES,
    MAX_INCLUDE_DEPTH,
    MAX_INCLUDED_FILES,
    MAX_LINE_CHARS,
    MAX_LINES,
    MAX_REQUIREMENT_CHARS,
    MAX_SOURCE_CHARS,
    ReadInclude,
    ResultBuilder,
    clip,
    display_of,
    include_key,
    provenance_problem,
)

__all__ = [
    "classify_specifier",
    "parse_constraints_file",
    "parse_pip_install_args",
    "parse_requirement_line",
    "parse_requirement_lines",
    "parse_requirements_file",
    "requirement_from_pep508",
    "specifier_hull",
]

# pip expands ${NAME} (upper-case letters, digits, underscore only) from the environment at install time.
_ENV_VARIABLE = re.compile(r"\$\{[A-Z0-9_]+\}")
# A PEP 508 "name @ url" requirement (the name may carry extras). Each whitespace run has one place to go, so a
# long run of spaces cannot make the match backtrack quadratically.
_NAMED_URL = re.compile(r"\s*[A-Za-z0-9][A-Za-z0-9._\-]*\s*(?:\[[^\]]*\]\s*)?@")
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")
_EGG_FRAGMENT = re.compile(r"[#&]egg=([A-Za-z0-9][A-Za-z0-9._\-]*)")
# Archive suffixes pip installs from a path or URL (pip/_internal/utils/filetypes.py ARCHIVE_EXTENSIONS).
_ARCHIVE_SUFFIXES = (".whl", ".tar.gz", ".tgz", ".tar", ".zip", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tlz",
                     ".tar.lz", ".tar.lzma")
_SELF_REFERENCES = frozenset({".", "./", ".\\", "file:.", "file:./"})
_HASH_ALGORITHMS = frozenset({"sha256", "sha384", "sha512"})  # pip's --hash accepts these (utils/hashes.py)

# Options of `pip install` (pip install --help, pip 25) that take a value: their value is not a requirement.
_VALUE_OPTIONS_LONG = frozenset({
    "--requirement", "--constraint", "--editable", "--target", "--platform", "--python-version",
    "--implementation", "--abi", "--root", "--prefix", "--src", "--upgrade-strategy", "--config-settings",
    "--global-option", "--install-option", "--no-binary", "--only-binary", "--progress-bar", "--root-user-action",
    "--report", "--index-url", "--extra-index-url", "--find-links", "--log", "--log-file", "--proxy",
    "--retries", "--timeout", "--exists-action", "--trusted-host", "--cert", "--client-cert", "--cache-dir",
    "--use-feature", "--use-deprecated", "--python", "--keyring-provider", "--group", "--build", "--hash",
    "--resume-retries",
})
_VALUE_OPTIONS_SHORT = frozenset("rcetifCb")
# Options whose value names more dependencies that are not read from a notebook line.
_INCLUDE_OPTIONS = {"-r": "--requirement", "-c": "--constraint", "--requirement": "--requirement",
                    "--constraint": "--constraint", "--group": "--group"}


# ---------------------------------------------------------------------------------------------------------------
# One PEP 508 requirement
# ---------------------------------------------------------------------------------------------------------------
def classify_specifier(specifier: SpecifierSet) -> tuple[DependencyKind, str | None, str | None]:
    """(kind, exact version, problem) for a version specifier.

    Pinned when one exact version (``==X`` without a wildcard, or ``===X``) is named and the other clauses admit
    it; ``==1.*`` is a range. A set no version satisfies (``==1.0,==2.0``, ``==1.0,>=2``) gives a problem.
    """
    clauses = list(specifier)
    if not clauses:
        return "unpinned", None, None
    exact = {c.version for c in clauses if c.operator == "===" or (c.operator == "==" and not c.version.endswith(".*"))}
    if not exact:
        return "range", None, None
    if len(exact) > 1:
        return "range", None, f"no version satisfies '{specifier}'"
    (version,) = exact
    try:
        Version(version)
    except InvalidVersion:  # "===" admits any string: nothing more to check
        return "pinned", version, None
    if not specifier.contains(version, prereleases=True):
        return "range", None, f"no version satisfies '{specifier}'"
    return "pinned", version, None


def bump_release(release: tuple[int, ...], index: int, width: int) -> str:
    """``release`` cut after ``index``, that component plus one, zero-padded to ``width`` components."""
    bumped = (*release[:index], release[index] + 1)
    bumped = bumped + (0,) * (width - len(bumped))
    return ".".join(str(part) for part in bumped)


def _bounds(specifier: SpecifierSet) -> tuple[tuple[Version, bool] | None, tuple[Version, bool] | None]:
    """(lowest admitted, highest admitted) of a PEP 440 set, each (version, inclusive); None when unbounded."""
    lower: tuple[Version, bool] | None = None
    upper: tuple[Version, bool] | None = None
    for clause in specifier:
        text = clause.version
        if clause.operator == "!=":
            continue
        if text.endswith(".*"):
            prefix = Version(text[:-2])
            width = len(prefix.release)
            pair_low: tuple[Version, bool] | None = (prefix, True)
            pair_high: tuple[Version, bool] | None = (Version(bump_release(prefix.release, width - 1, width)), False)
        else:
            version = Version(text)
            pair_low = pair_high = None
            if clause.operator in {"==", "==="}:
                pair_low, pair_high = (version, True), (version, True)
            elif clause.operator == "~=":
                release = version.release
                pair_low = (version, True)
                ceiling = bump_release(release, max(len(release) - 2, 0), max(len(release) - 1, 1))
                pair_high = (Version(ceiling), False)
            elif clause.operator in {">=", ">"}:
                pair_low = (version, clause.operator == ">=")
            elif clause.operator in {"<=", "<"}:
                pair_high = (version, clause.operator == "<=")
        if pair_low is not None and (lower is None or pair_low[0] > lower[0]):
            lower = pair_low
        if pair_high is not None and (upper is None or pair_high[0] < upper[0]):
            upper = pair_high
    return lower, upper


def specifier_hull(alternatives: list[str]) -> str:
    """One PEP 440 set admitting every version that any of ``alternatives`` admits, for "a || b" constraints.

    The hull: lowest lower bound, highest upper bound, a side left open when some alternative leaves it open.
    Raises ValueError (InvalidVersion) for a clause whose version is not PEP 440 (``===anything``).
    """
    lowers, uppers = [], []
    for alternative in alternatives:
        low, high = _bounds(SpecifierSet(alternative))
        lowers.append(low)
        uppers.append(high)
    parts: list[str] = []
    if all(low is not None for low in lowers):
        bounded_lows = [low for low in lowers if low is not None]
        lowest = min(bounded_lows, key=lambda pair: (pair[0], not pair[1]))
        parts.append(f"{'>=' if lowest[1] else '>'}{lowest[0]}")
    if all(high is not None for high in uppers):
        bounded_highs = [high for high in uppers if high is not None]
        highest = max(bounded_highs, key=lambda pair: (pair[0], pair[1]))
        parts.append(f"{'<=' if highest[1] else '<'}{highest[0]}")
    return ",".join(parts)


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def requirement_from_pep508(
    text: str,
    *,
    source: str,
    line: int | None,
    cell: int | None = None,
    direct: bool = True,
    hashed: bool = False,
    groups: tuple[str, ...] = (),
    via: tuple[str, ...] = (),
) -> Dependency | SourceProblem:
    """A PEP 508 string (``name[extras] specifier ; marker`` or ``name @ url``) as a Dependency or a problem."""
    text = text.strip()
    if len(text) > MAX_REQUIREMENT_CHARS:
        return SourceProblem(source, f"requirement longer than {MAX_REQUIREMENT_CHARS} characters",
                             line=line, evidence=clip(text))
    if _ENV_VARIABLE.search(text) and not _NAMED_URL.match(text):
        return SourceProblem(source, "requirement uses an environment variable; its version is unknown until "
                             "install time", line=line, evidence=clip(text))
    try:
        requirement = Requirement(text)
    except InvalidRequirement as error:
        return SourceProblem(source, f"invalid requirement: {clip(_first_line(error))}", line=line,
                             evidence=clip(text))
    marker = str(requirement.marker) if requirement.marker is not None else None
    extras = tuple(sorted(requirement.extras))
    if requirement.url:
        kind: DependencyKind = "path" if requirement.url.lower().startswith("file:") else "url"
        return Dependency(requirement.name, source, kind=kind, line=line, cell=cell, extras=extras, marker=marker,
                          url=clip(requirement.url, 2048), hashed=hashed, direct=direct, groups=groups, via=via)
    kind, version, problem = classify_specifier(requirement.specifier)
    if problem is not None:
        return SourceProblem(source, problem, line=line, evidence=clip(text))
    return Dependency(requirement.name, source, kind=kind, version=version, specifier=str(requirement.specifier),
                      line=line, cell=cell, extras=extras, marker=marker, hashed=hashed, direct=direct,
                      groups=groups, via=via)


# ---------------------------------------------------------------------------------------------------------------
# URLs and paths (not PEP 508)
# ---------------------------------------------------------------------------------------------------------------
def _split_extras(text: str) -> tuple[str, tuple[str, ...]]:
    """``./pkg[a,b]`` -> ("./pkg", ("a", "b")), as pip strips extras from a path."""
    match = re.fullmatch(r"(.*?)\[([^\[\]]*)\]", text)
    if match is None:
        return text, ()
    extras = tuple(sorted(part.strip() for part in match.group(2).split(",") if part.strip()))
    return match.group(1), extras


def _name_from_location(location: str) -> tuple[str | None, str | None]:
    """(name, version) a URL or path names: ``#egg=``, a wheel or sdist file name, else the last segment."""
    egg = _EGG_FRAGMENT.search(location)
    if egg is not None:
        return egg.group(1), None
    without_fragment = location.split("#", 1)[0].split("?", 1)[0].rstrip("/\\")
    last = re.split(r"[/\\]", without_fragment)[-1] if without_fragment else ""
    if "@" in last and "://" in location:  # git+https://host/org/repo.git@v1.2
        last = last.split("@", 1)[0]
    lowered = last.lower()
    if lowered.endswith(".whl"):
        try:
            name, version, _, _ = parse_wheel_filename(last)
            return str(name), str(version)
        except InvalidWheelFilename:
            return None, None
    for suffix in (".tar.gz", ".zip"):
        if lowered.endswith(suffix):
            try:
                name, version = parse_sdist_filename(last)
                return str(name), str(version)
            except InvalidSdistFilename:
                break
    stem = last.removesuffix(".git")
    for suffix in _ARCHIVE_SUFFIXES:
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    if re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9._\-]*[A-Za-z0-9])?", stem or ""):
        return stem, None
    return None, None


def _looks_like_url(text: str) -> bool:
    return bool(_URL_SCHEME.match(text)) or text.lower().startswith("file:")


def _looks_like_path(text: str) -> bool:
    head = text.split(";", 1)[0].strip()
    if _WINDOWS_DRIVE.match(head) or head.startswith((".", "/", "\\", "~")):
        return True
    if "/" in head or "\\" in head:
        return True
    return head.lower().endswith(_ARCHIVE_SUFFIXES)


def _location_dependency(
    text: str,
    *,
    kind: DependencyKind,
    source: str,
    line: int | None,
    cell: int | None,
    direct: bool,
    hashed: bool,
    via: tuple[str, ...],
) -> Dependency | SourceProblem | None:
    """A bare URL or path (optionally ``; marker``, ``[extras]``); None for the project itself."""
    location, _, marker_text = text.partition("; ") if kind != "path" else text.partition(";")
    location = location.strip()
    location, extras = _split_extras(location)
    if location.rstrip("/\\") in {".", "file:."} or location in _SELF_REFERENCES:
        return None
    marker: str | None = None
    if marker_text.strip():
        try:
            marker = str(Marker(marker_text.strip()))
        except InvalidMarker as error:
            return SourceProblem(source, f"invalid environment marker: {clip(_first_line(error))}", line=line,
                                 evidence=clip(text))
    if kind == "url" and location.lower().startswith("file:"):
        kind = "path"
    name, version = _name_from_location(location)
    if name is None:
        what = "URL" if kind == "url" else "path"
        return SourceProblem(source, f"cannot tell which package the {what} '{clip(location)}' installs",
                             line=line, rule_id="MW-DEP-007", evidence=clip(location))
    return Dependency(name, source, kind=kind, version=version, line=line, cell=cell, extras=extras, marker=marker,
                      url=clip(location, 2048), hashed=hashed, direct=direct, via=via)


def _editable_dependency(
    value: str, *, source: str, line: int | None, cell: int | None, direct: bool, via: tuple[str, ...]
) -> Dependency | SourceProblem | None:
    value = value.strip()
    if not value:
        return SourceProblem(source, "'-e' without a path or URL", line=line)
    if _NAMED_URL.match(value) and not _looks_like_url(value):
        parsed = requirement_from_pep508(value, source=source, line=line, cell=cell, direct=direct, via=via)
        return replace(parsed, kind="editable") if isinstance(parsed, Dependency) else parsed
    kind: DependencyKind = "url" if _looks_like_url(value) else "path"
    found = _location_dependency(value, kind=kind, source=source, line=line, cell=cell, direct=direct,
                                 hashed=False, via=via)
    return replace(found, kind="editable") if isinstance(found, Dependency) else found


def parse_requirement_line(
    text: str, *, source: str, line: int | None, cell: int | None = None
) -> Dependency | SourceProblem | None:
    """One requirements-file line (comment allowed, no continuation) as a Dependency, a problem, or None.

    None for a blank or comment line, an option that names no package (``--index-url``, ``-q``...) and the project
    itself (``.``, ``-e .``). ``-r``/``-c`` give a problem: an include cannot be followed from one line. A url,
    path or editable Dependency is not audited: add ``provenance_problem(dep)`` for its MW-DEP-007 finding.
    """
    entries = _line_entries(_strip_comment(text), source=source, line=line, cell=cell, direct=True, via=())
    for entry in entries:
        if isinstance(entry, _Include):
            return SourceProblem(source, f"'{entry.option} {clip(entry.target)}' is not followed from a single line",
                                 line=line)
        return entry
    return None


# ---------------------------------------------------------------------------------------------------------------
# Requirements file lines
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Include:
    option: Literal["-r", "-c"]
    target: str


def _strip_comment(text: str) -> str:
    """pip's comment rule (req_file.COMMENT_RE): "#" at the start of the line or after whitespace starts a comment.

    Scanned by hand, in one pass: the regular expression form backtracks quadratically on long runs of spaces.
    """
    start = text.find("#")
    while start != -1:
        if start == 0 or text[start - 1].isspace():
            return text[:start].strip()
        start = text.find("#", start + 1)
    return text.strip()


def _split_requirement_options(text: str) -> tuple[str, str]:
    """pip's break_args_options: the requirement runs until the first space-separated token starting with '-'."""
    tokens = text.split(" ")
    for index, token in enumerate(tokens):
        if token.startswith("-"):
            return " ".join(tokens[:index]), " ".join(tokens[index:])
    return text, ""


def _has_hash(options: list[str]) -> bool:
    for index, option in enumerate(options):
        value = None
        if option.startswith("--hash="):
            value = option.removeprefix("--hash=")
        elif option == "--hash" and index + 1 < len(options):
            value = options[index + 1]
        if value is not None and value.partition(":")[0].lower() in _HASH_ALGORITHMS and value.partition(":")[2]:
            return True
    return False


def _option_value(tokens: list[str], index: int, token: str, long_name: str, short: str) -> tuple[str | None, int]:
    """The value of an option at ``tokens[index]`` and the index after it (forms: -r X, -rX, --opt=X, --opt X)."""
    if token.startswith(long_name + "="):
        return token[len(long_name) + 1:], index + 1
    if token == long_name or token == short:
        return (tokens[index + 1], index + 2) if index + 1 < len(tokens) else (None, index + 1)
    return token[len(short):], index + 1  # -rfile


def _option_entries(
    text: str, *, source: str, line: int | None, cell: int | None, direct: bool, via: tuple[str, ...]
) -> list[Dependency | SourceProblem | _Include]:
    try:
        tokens = shlex.split(text)
    except ValueError as error:
        return [SourceProblem(source, f"cannot split the options: {error}", line=line, evidence=clip(text))]
    entries: list[Dependency | SourceProblem | _Include] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        for long_name, short, what in (("--requirement", "-r", "-r"), ("--constraint", "-c", "-c"),
                                       ("--editable", "-e", "-e")):
            if token == long_name or token.startswith(long_name + "=") or (
                    token.startswith(short) and not token.startswith("--")):
                value, index = _option_value(tokens, index, token, long_name, short)
                if value is None or not value.strip():
                    entries.append(SourceProblem(source, f"'{token}' without a value", line=line))
                elif what == "-e":
                    found = _editable_dependency(value, source=source, line=line, cell=cell, direct=direct, via=via)
                    if found is not None:
                        entries.append(found)
                else:
                    entries.append(_Include("-r" if what == "-r" else "-c", value))
                break
        else:
            # Every other option is ignored; skip its value so it is not read as an option.
            name = token.split("=", 1)[0]
            takes_value = name in _VALUE_OPTIONS_LONG or (
                len(token) == 2 and token[0] == "-" and token[1] in _VALUE_OPTIONS_SHORT)
            index += 2 if takes_value and "=" not in token else 1
    return entries


def _line_entries(
    text: str, *, source: str, line: int | None, cell: int | None, direct: bool, via: tuple[str, ...]
) -> list[Dependency | SourceProblem | _Include]:
    """What one logical line (comment already stripped) declares."""
    if not text:
        return []
    if text.startswith("-"):
        return _option_entries(text, source=source, line=line, cell=cell, direct=direct, via=via)
    requirement_text, options_text = _split_requirement_options(text)
    hashed = False
    if options_text:
        try:
            hashed = _has_hash(shlex.split(options_text))
        except ValueError as error:
            return [SourceProblem(source, f"cannot split the options: {error}", line=line, evidence=clip(text))]
    requirement_text = requirement_text.strip()
    if len(requirement_text) > MAX_REQUIREMENT_CHARS:
        return [SourceProblem(source, f"requirement longer than {MAX_REQUIREMENT_CHARS} characters", line=line,
                              evidence=clip(requirement_text))]
    found: Dependency | SourceProblem | None
    if _NAMED_URL.match(requirement_text) or not (
            _looks_like_url(requirement_text) or _looks_like_path(requirement_text)):
        found = requirement_from_pep508(requirement_text, source=source, line=line, cell=cell, direct=direct,
                                        hashed=hashed, via=via)
    else:
        kind: DependencyKind = "url" if _looks_like_url(requirement_text) else "path"
        found = _location_dependency(requirement_text, kind=kind, source=source, line=line, cell=cell,
                                     direct=direct, hashed=hashed, via=via)
    return [] if found is None else [found]


def _logical_lines(text: str) -> Iterator[tuple[int, str | None]]:
    """(first physical line, logical line) pairs, continuations joined as pip does; None for an over-long line.

    A line ending in a backslash continues on the next unless it is a comment line. Stops after MAX_LINES.
    """
    start: int | None = None
    parts: list[str] = []
    length = 0
    overflow = False
    for number, physical in enumerate(text.splitlines(), start=1):
        if number > MAX_LINES:
            break
        is_comment = physical.lstrip().startswith("#")
        continues = physical.endswith("\\") and not is_comment
        if start is None:
            start = number
        if not overflow:
            piece = physical.rstrip("\\") if continues else physical
            length += len(piece)
            if length > MAX_LINE_CHARS:
                overflow, parts = True, []
            else:
                # pip prefixes a comment line that ends a continuation with a space so it stays a comment
                parts.append(" " + piece if is_comment and parts else piece)
        if not continues:
            yield start, None if overflow else "".join(parts)
            start, parts, length, overflow = None, [], 0, False
    if start is not None:
        yield start, None if overflow else "".join(parts)


class _Walk:
    """State shared across one top-level file and everything it includes."""

    def __init__(self, top: str, read_include: ReadInclude | None) -> None:
        self.top = top  # display path of the top-level file
        self.read_include = read_include
        self.builder = ResultBuilder(top)
        self.parsed: set[tuple[str, bool]] = set()  # (include key, read as constraints)
        self.included = 0

    @property
    def truncated(self) -> bool:
        return self.builder.full

    @property
    def result(self) -> SourceResult:
        return self.builder.result

    def add(self, entry: Dependency | SourceProblem) -> bool:
        """Record one entry (with its MW-DEP-007 problem); False once MAX_ENTRIES were reached."""
        self.builder.add(entry)
        return not self.builder.full


@dataclass(frozen=True, slots=True)
class _File:
    """Where a line comes from within the include tree."""

    path: str  # display path
    key: str  # relative to the top-level file's folder (its own name for the top-level file)
    constraint: bool
    chain: tuple[str, ...]  # include keys from the top-level file down to this one
    via: tuple[str, ...]  # display paths from the top-level file down to this one (empty for the top-level file)


def _walk_lines(walk: _Walk, where: _File, lines: Iterable[tuple[int, str | None]]) -> None:
    for number, logical in lines:
        if walk.truncated:
            return
        if logical is None:
            walk.add(SourceProblem(where.path, f"line longer than {MAX_LINE_CHARS} characters; not read",
                                   line=number))
            continue
        text = _strip_comment(logical)
        for entry in _line_entries(text, source=where.path, line=number, cell=None, direct=not where.constraint,
                                   via=where.via):
            if isinstance(entry, _Include):
                _follow_include(walk, where, entry, number)
            elif not walk.add(entry):
                return


def _follow_include(walk: _Walk, where: _File, include: _Include, line: int) -> None:
    target = include.target.strip()
    quoted = f"'{include.option} {clip(target)}'"
    if _looks_like_url(target) and not target.lower().startswith("file:"):
        walk.add(SourceProblem(where.path, f"{quoted} includes a file from a URL; it is not fetched", line=line))
        return
    if _ENV_VARIABLE.search(target):
        walk.add(SourceProblem(where.path, f"{quoted} uses an environment variable; it is not followed", line=line))
        return
    if walk.read_include is None:
        walk.add(SourceProblem(where.path, f"{quoted} is not followed here", line=line))
        return
    constraint = include.option == "-c"
    key = include_key(where.key, target.removeprefix("file:"))
    if key in where.chain:
        cycle = " -> ".join((*where.chain, key))
        walk.add(SourceProblem(where.path, f"{quoted} makes an include cycle ({clip(cycle)})", line=line))
        return
    if len(where.chain) > MAX_INCLUDE_DEPTH:
        walk.add(SourceProblem(where.path, f"{quoted} is nested more than {MAX_INCLUDE_DEPTH} includes deep; "
                               "not followed", line=line))
        return
    if (key, constraint) in walk.parsed:
        return  # read already through another include: the same entries would come out again
    if walk.included >= MAX_INCLUDED_FILES:
        walk.add(SourceProblem(where.path, f"{quoted} exceeds {MAX_INCLUDED_FILES} included files; not followed",
                               line=line))
        return
    text = walk.read_include(key)
    walk.included += 1
    if text is None:
        walk.add(SourceProblem(where.path, f"{quoted} could not be read (missing, outside the project or too "
                               "large)", line=line))
        return
    if len(text) > MAX_SOURCE_CHARS:
        walk.add(SourceProblem(where.path, f"{quoted} is too large to read", line=line))
        return
    walk.parsed.add((key, constraint))
    path = display_of(walk.top, key)
    child = _File(path=path, key=key, constraint=constraint, chain=(*where.chain, key),
                  via=(*(where.via or (where.path,)), path))
    _walk_lines(walk, child, _logical_lines(text))


def _parse_file(text: str, *, path: str, read_include: ReadInclude | None, constraint: bool) -> SourceResult:
    walk = _Walk(top=path, read_include=read_include)
    key = posixpath.basename(path)
    walk.parsed.add((key, constraint))
    _walk_lines(walk, _File(path=path, key=key, constraint=constraint, chain=(key,), via=()), _logical_lines(text))
    return walk.result


def parse_requirements_file(text: str, *, path: str, read_include: ReadInclude | None = None) -> SourceResult:
    """A pip requirements file (and the files it includes through ``read_include``)."""
    return _parse_file(text, path=path, read_include=read_include, constraint=False)


def parse_constraints_file(text: str, *, path: str, read_include: ReadInclude | None = None) -> SourceResult:
    """A pip constraints file: its entries pin versions but declare nothing (``direct=False``)."""
    return _parse_file(text, path=path, read_include=read_include, constraint=True)


def parse_requirement_lines(
    lines: Iterable[tuple[int, str]], *, path: str, read_include: ReadInclude | None = None
) -> SourceResult:
    """Requirements-file lines held in another file (a conda environment's ``pip:`` list), with their lines.

    Includes resolve relative to ``path``'s folder, as pip does for the temporary file conda writes there.
    """
    walk = _Walk(top=path, read_include=read_include)
    key = posixpath.basename(path)
    walk.parsed.add((key, False))
    bounded = ((number, text if len(text) <= MAX_LINE_CHARS else None) for number, text in lines)
    _walk_lines(walk, _File(path=path, key=key, constraint=False, chain=(key,), via=()), bounded)
    return walk.result


# ---------------------------------------------------------------------------------------------------------------
# `pip install ARGS` (notebook `!pip install`, `%pip install`)
# ---------------------------------------------------------------------------------------------------------------
_SHELL_OPERATOR_CHARS = frozenset(";&|<>()")
_COMMAND_ENDS = frozenset({";", "&", "&&", "|", "||", "|&", "(", ")"})
_NOTEBOOK_VARIABLE = re.compile(r"\$|\{[^{}]*\}")


def _shell_words(text: str) -> tuple[list[tuple[bool, str]], str | None]:
    """Split like a POSIX shell: (is_operator, text) pairs and an error for an unterminated quote.

    Quotes and backslashes are honoured; ``;&|<>()`` form operators (``2>`` keeps its file descriptor); ``#``
    at the start of a word starts a comment.
    """
    words: list[tuple[bool, str]] = []
    word: list[str] = []
    in_word = False  # a word has started (an empty '' is a word)
    quoted = False  # the current word holds a quoted part
    index = 0
    length = len(text)

    def finish() -> None:
        nonlocal word, in_word, quoted
        if in_word:
            words.append((False, "".join(word)))
        word, in_word, quoted = [], False, False

    while index < length:
        char = text[index]
        if char in " \t\r\n":
            finish()
            index += 1
        elif char == "\\":
            if index + 1 < length and text[index + 1] != "\n":
                word.append(text[index + 1])
            in_word = True
            index += 2
        elif char in "'\"":
            end = index + 1
            chunk: list[str] = []
            while end < length and text[end] != char:
                if char == '"' and text[end] == "\\" and end + 1 < length and text[end + 1] in '"\\$`':
                    end += 1
                chunk.append(text[end])
                end += 1
            if end >= length:
                return words, f"unterminated {char} quote"
            word.extend(chunk)
            in_word = quoted = True
            index = end + 1
        elif char == "#" and not in_word:
            break
        elif char in _SHELL_OPERATOR_CHARS:
            prefix = "".join(word) if (char in "<>" and in_word and not quoted and "".join(word).isdigit()) else ""
            if prefix:
                word, in_word = [], False
            finish()
            end = index
            while end < length and text[end] in _SHELL_OPERATOR_CHARS and end - index < 3:
                end += 1
            words.append((True, prefix + text[index:end]))
            index = end
        else:
            word.append(char)
            in_word = True
            index += 1
    finish()
    return words, None


def parse_pip_install_args(
    args: str, *, source: str, line: int | None, cell: int | None = None
) -> list[Dependency | SourceProblem]:
    """The packages of ``pip install ARGS`` (the text after ``install``), with MW-DEP-007/-004 problems.

    Understands quoting, options with values (``-i URL``, ``--target DIR``), combined flags (``-Uq``), ``-e``,
    and stops at the end of the shell command (``;``, ``&&``, ``|``). ``-r``/``-c``/``--group`` are not followed
    (a problem says so). An unquoted ``pkg>=1.0`` is a shell redirect: ``pkg`` is installed unconstrained and a
    problem says to quote it. A notebook variable (``{name}``, ``$name``) gives a problem: its value is unknown.
    """
    out: list[Dependency | SourceProblem] = []
    words, error = _shell_words(args)
    if error is not None:
        return [SourceProblem(source, f"cannot split 'pip install {clip(args)}': {error}", line=line,
                              evidence=clip(args))]

    def add(found: Dependency | SourceProblem | None) -> None:
        if found is None:
            return
        out.append(found)
        if isinstance(found, Dependency):
            extra = provenance_problem(found)
            if extra is not None:
                out.append(extra)

    index = 0
    options_done = False
    previous_requirement: str | None = None
    while index < len(words) and len(out) < MAX_ENTRIES:
        is_operator, word = words[index]
        if is_operator:
            if word.lstrip("0123456789") in _COMMAND_ENDS or word in _COMMAND_ENDS:
                break
            target = words[index + 1][1] if index + 1 < len(words) and not words[index + 1][0] else ""
            if previous_requirement is not None and word in {">", "<"} and re.match(r"[=\d]", target):
                out.append(SourceProblem(
                    source, f"unquoted '{previous_requirement}{word}{clip(target, 40)}' is a shell redirect: "
                    f"'{previous_requirement}' is installed without its version constraint; quote it", line=line,
                    evidence=clip(f"{previous_requirement}{word}{target}")))
            index += 2  # the redirect and its target
            previous_requirement = None
            continue
        previous_requirement = None
        if not options_done and word == "--":
            options_done = True
            index += 1
            continue
        if not options_done and word.startswith("-") and word != "-":
            index = _pip_option(words, index, add, source=source, line=line, cell=cell)
            continue
        if _NOTEBOOK_VARIABLE.search(word):
            out.append(SourceProblem(source, f"'{clip(word, 80)}' uses a variable; the package is unknown until "
                                     "the cell runs", line=line, evidence=clip(word)))
        else:
            found = _line_entries(word.strip(), source=source, line=line, cell=cell, direct=True, via=())
            for entry in found:
                if not isinstance(entry, _Include):
                    add(entry)
            previous_requirement = word
        index += 1
    return out


_Add = Callable[[Dependency | SourceProblem | None], None]


def _pip_option(words: list[tuple[bool, str]], index: int, add: _Add, *, source: str, line: int | None,
                cell: int | None) -> int:
    """Handle the option at ``words[index]``; returns the index of the next word to read."""
    word = words[index][1]

    def value_at(position: int) -> str | None:
        return words[position][1] if position < len(words) and not words[position][0] else None

    if word.startswith("--"):
        name, has_equals, inline = word.partition("=")
        takes_value = name in _VALUE_OPTIONS_LONG
        value = inline if has_equals else (value_at(index + 1) if takes_value else None)
        following = index + 1 if has_equals or not takes_value else index + 2
    else:
        # combined short flags: -Uq, -qr req.txt, -rreq.txt
        name, value, following = word, None, index + 1
        for position, letter in enumerate(word[1:], start=1):
            if letter in _VALUE_OPTIONS_SHORT:
                name = f"-{letter}"
                rest = word[position + 1:]
                value = rest if rest else value_at(index + 1)
                following = index + 1 if rest else index + 2
                break
    if name in _INCLUDE_OPTIONS:
        shown = f"{_INCLUDE_OPTIONS[name]} {value or ''}".strip()
        add(SourceProblem(source, f"'pip install {clip(shown)}': that file is not followed from here; audit it "
                          "directly", line=line))
    elif name in {"-e", "--editable"}:
        if value is None:
            add(SourceProblem(source, "'-e' without a path or URL", line=line))
        else:
            add(_editable_dependency(value, source=source, line=line, cell=cell, direct=True, via=()))
    return following
