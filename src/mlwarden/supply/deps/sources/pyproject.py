"""pyproject.toml: the dependencies a project declares (PEP 621, PEP 735 dependency groups, Poetry, uv sources).

Read:
- ``[project] dependencies`` and ``[project.optional-dependencies]`` (PEP 621; group = the extra's name);
- ``[dependency-groups]`` (PEP 735): strings and ``{include-group = "name"}`` entries; an entry of an included
  group lists every group that reaches it in ``groups``; unknown and cyclic includes are problems;
- ``[tool.poetry.dependencies]``, ``[tool.poetry.dev-dependencies]`` (group "dev") and
  ``[tool.poetry.group.<name>.dependencies]``. Poetry constraints become PEP 440 specifiers (Poetry docs,
  "Dependency specification"): ``^1.2.3`` -> ``>=1.2.3,<2.0.0`` (the first non-zero component is bumped:
  ``^0.2.3`` -> ``<0.3.0``), ``~1.2.3`` -> ``>=1.2.3,<1.3.0``, a bare ``1.2.3`` is exact, ``*`` is any version,
  clauses separated by ``,`` or spaces all apply. ``a || b`` has no PEP 440 form: its hull (lowest lower bound,
  highest upper bound) is used, which admits at least every version the constraint does. The ``python`` key is
  the interpreter, not a package. Table forms: ``version``, ``extras``, ``markers``, ``optional``; ``git``/``url``
  (kind url), ``path`` (kind path, or editable with ``develop = true``); a list of tables gives one entry each.
  Under Poetry 2 a ``[project]`` dependency that ``[tool.poetry.dependencies]`` repeats is read once, from
  ``[project]``, taking its git/url/path source from Poetry;
- ``[tool.uv.sources]``: a git/url/path source turns that dependency into kind url/path/editable; a
  ``workspace = true`` source is a member of the same workspace, audited through its own pyproject.toml: skipped;
- ``[tool.pdm.dev-dependencies]`` (PDM's groups before PEP 735) like dependency groups.
Not read: ``[build-system] requires`` (build-time tools), ``[project] license`` (the project's own licence), and
``dynamic`` dependencies (they come from files this package reads on their own, such as requirements.txt).
Line numbers are found by looking the entry up in the text after its table's header: best effort.

It never evaluates or executes anything in the file and never raises on a malformed one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from packaging.specifiers import InvalidSpecifier, Specifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from mlwarden.supply.deps.model import Dependency, DependencyKind, SourceProblem, SourceResult, normalize_name
from mlwarden.supply.deps.sources import (
    TOML_HEADER,
    TOML_KEY,
    TOML_STRING,
    LineIndex,
    ReadInclude,
    ResultBuilder,
    clip,
    header_key,
    read_toml,
)
from mlwarden.supply.deps.sources.requirements import (
    bump_release,
    classify_specifier,
    requirement_from_pep508,
    specifier_hull,
)

__all__ = ["parse_pyproject", "poetry_constraint_to_pep440"]

# Dependency groups are few in real projects; the bound keeps the include closure (groups x groups) small.
MAX_GROUPS = 200
# Poetry's dependency tables that are interpreters or metadata, not packages.
_POETRY_SKIPPED_KEYS = frozenset({"python"})


# ---------------------------------------------------------------------------------------------------------------
# Poetry version constraints -> PEP 440
# ---------------------------------------------------------------------------------------------------------------
_OPERATORS = ("===", "==", "!=", "~=", ">=", "<=", ">", "<", "^", "~", "=")


def _clause_to_pep440(clause: str) -> str:
    """One Poetry clause as PEP 440 text; raises ValueError when it is not a valid constraint."""
    operator = next((op for op in _OPERATORS if clause.startswith(op)), "")
    version_text = clause[len(operator):].strip()
    if not version_text:
        raise ValueError(f"'{clause}' has no version")
    if operator in {"^", "~"}:
        version = Version(version_text)  # InvalidVersion is a ValueError
        release = version.release
        width = len(release)
        if operator == "^":
            nonzero = next((index for index, part in enumerate(release) if part != 0), width - 1)
            upper = bump_release(release, nonzero, width)
        else:
            upper = bump_release(release, 1 if width >= 2 else 0, width)
        return f">={version_text},<{upper}"
    if operator in {"", "="}:
        operator = "=="
    if version_text == "*" or version_text.endswith(".*") and operator not in {"==", "!="}:
        if version_text == "*":
            return ""
        raise ValueError(f"'{clause}': a wildcard only goes with == or !=")
    Specifier(f"{operator}{version_text}")  # validates; InvalidSpecifier is a ValueError
    return f"{operator}{version_text}"


def _alternative_to_pep440(alternative: str) -> str:
    """One ``||`` alternative: clauses separated by commas or spaces, all of which apply."""
    # Join an operator to its version ("^ 1.2", ">= 1.0") so spaces only separate clauses.
    tokens = [token for token in alternative.replace(",", " ").split() if token]
    clauses: list[str] = []
    pending = ""
    for token in tokens:
        if token in _OPERATORS:
            pending += token
            continue
        clauses.append(pending + token)
        pending = ""
    if pending:
        raise ValueError(f"'{pending}' has no version")
    converted = [_clause_to_pep440(clause) for clause in clauses]
    return ",".join(part for part in converted if part)


def poetry_constraint_to_pep440(constraint: str) -> str:
    """A Poetry version constraint as a PEP 440 specifier ("" for any version). Raises ValueError if invalid.

    ``a || b`` becomes the hull of its alternatives (see the module docstring).
    """
    text = constraint.strip()
    if text in {"", "*"}:
        return ""
    alternatives = [part.strip() for part in text.replace("||", "|").split("|")]
    if any(not part for part in alternatives):
        raise ValueError("empty alternative in '||'")
    converted = [_alternative_to_pep440(part) for part in alternatives]
    if len(converted) == 1:
        SpecifierSet(converted[0])
        return converted[0]
    if any(part == "" for part in converted):
        return ""  # one alternative admits every version
    return specifier_hull(converted)


# ---------------------------------------------------------------------------------------------------------------
# The document
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Location:
    """Where a dependency's files come from when a tool table says so (uv sources, Poetry git/url/path)."""

    kind: DependencyKind | None  # None: the workspace itself (skip the dependency)
    url: str | None


class _Lines:
    """Line lookups for one document: table headers, keys at line start, quoted strings."""

    def __init__(self, text: str) -> None:
        self.headers = LineIndex(text, TOML_HEADER, normalize=header_key)
        self.keys = LineIndex(text, TOML_KEY, normalize=normalize_name)
        self.strings = LineIndex(text, TOML_STRING)

    def header(self, *names: str) -> int:
        for name in names:
            found = self.headers.first(name)
            if found is not None:
                return found
        return 0

    def string(self, value: str, anchor: int) -> int | None:
        found = self.strings.take(value, after=anchor)
        return found if found is not None else self.strings.take(value)

    def key(self, name: str, anchor: int) -> int | None:
        found = self.keys.take(name, after=anchor)
        return found if found is not None else self.keys.take(name)


def _table(value: Any) -> Mapping[str, Any] | None:
    return value if isinstance(value, Mapping) else None


def _add_pep508_list(
    out: ResultBuilder, lines: _Lines, entries: Any, *, where: str, anchor: int, groups: tuple[str, ...],
    locations: Mapping[str, _Location],
) -> None:
    """A TOML array of PEP 508 strings (the shape of dependencies, extras and dependency groups)."""
    if not isinstance(entries, list):
        out.problem(f"{where} is not an array of requirement strings", anchor or None)
        return
    for entry in entries:
        if out.full:
            return
        if isinstance(entry, Mapping) and "include-group" in entry:
            continue  # dependency-group includes are resolved by the caller
        if not isinstance(entry, str):
            out.problem(f"{where} holds a {type(entry).__name__}, not a requirement string", anchor or None)
            continue
        line = lines.string(entry, anchor)
        found = requirement_from_pep508(entry, source=out.path, line=line, groups=groups)
        if isinstance(found, Dependency):
            location = locations.get(found.normalized)
            if location is not None:
                if location.kind is None:
                    continue
                found = replace(found, kind=location.kind, url=location.url, version=None, specifier="")
        out.add(found)


def _group_includes(out: ResultBuilder, groups: Mapping[str, Any], anchor: int) -> dict[str, set[str]]:
    """For each PEP 735 group (normalised name), the groups that include it, directly or not (itself included)."""
    names = {normalize_name(name): name for name in groups}
    edges: dict[str, set[str]] = {key: set() for key in names}  # group -> groups it includes
    for name, entries in groups.items():
        if not isinstance(entries, list):
            continue
        for entry in entries:
            if not isinstance(entry, Mapping) or "include-group" not in entry:
                continue
            target = entry.get("include-group")
            if not isinstance(target, str) or normalize_name(target) not in names:
                out.problem(f"dependency group '{clip(str(name), 80)}' includes unknown group "
                            f"'{clip(str(target), 80)}'", anchor or None)
                continue
            edges[normalize_name(name)].add(normalize_name(target))
    reached_by: dict[str, set[str]] = {key: {key} for key in names}
    cyclic: set[str] = set()
    for start in names:
        stack, seen = [start], {start}
        while stack:
            current = stack.pop()
            for included in edges[current]:
                if included == start:
                    cyclic.add(start)
                if included not in seen:
                    seen.add(included)
                    reached_by[included].add(start)
                    stack.append(included)
    for name in sorted(cyclic):
        out.problem(f"dependency group '{clip(names[name], 80)}' includes itself (an include cycle)", anchor or None)
    return {names[key]: {names[other] for other in value} for key, value in reached_by.items()}


def _poetry_location(spec: Mapping[str, Any]) -> _Location | None:
    for key in ("git", "url", "path"):
        value = spec.get(key)
        if isinstance(value, str) and value:
            if key == "git":
                reference = next((spec[ref] for ref in ("rev", "tag", "branch")
                                  if isinstance(spec.get(ref), str)), None)
                url = f"git+{value}" + (f"@{reference}" if reference else "")
                return _Location("url", clip(url, 2048))
            if key == "url":
                return _Location("url", clip(value, 2048))
            return _Location("editable" if spec.get("develop") is True else "path", clip(value, 2048))
    return None


def _uv_locations(sources: Any) -> dict[str, _Location]:
    """``[tool.uv.sources]``: normalised name -> where uv installs it from (only non-index sources)."""
    locations: dict[str, _Location] = {}
    if not isinstance(sources, Mapping):
        return locations
    for name, spec in sources.items():
        if isinstance(spec, list):  # marker-dependent sources: the first one describes the usual install
            spec = spec[0] if spec else None
        if not isinstance(spec, Mapping):
            continue
        if spec.get("workspace") is True:
            locations[normalize_name(str(name))] = _Location(None, None)
            continue
        if isinstance(spec.get("git"), str):
            reference = next((spec[ref] for ref in ("rev", "tag", "branch") if isinstance(spec.get(ref), str)), None)
            url = f"git+{spec['git']}" + (f"@{reference}" if reference else "")
            locations[normalize_name(str(name))] = _Location("url", clip(url, 2048))
        elif isinstance(spec.get("url"), str):
            locations[normalize_name(str(name))] = _Location("url", clip(spec["url"], 2048))
        elif isinstance(spec.get("path"), str):
            kind: DependencyKind = "editable" if spec.get("editable") is True else "path"
            locations[normalize_name(str(name))] = _Location(kind, clip(spec["path"], 2048))
    return locations


def _poetry_dependency(
    out: ResultBuilder, name: str, spec: Any, *, line: int | None, groups: tuple[str, ...],
    extras_of: Mapping[str, tuple[str, ...]],
) -> None:
    specs = spec if isinstance(spec, list) else [spec]
    for one in specs:
        if out.full:
            return
        if isinstance(one, str):
            one = {"version": one}
        if not isinstance(one, Mapping):
            out.problem(f"Poetry dependency '{clip(name, 80)}' is neither a version string nor a table", line)
            continue
        marker = one.get("markers") if isinstance(one.get("markers"), str) else None
        extras_value = one.get("extras", [])
        extras = tuple(sorted(str(extra) for extra in extras_value)) if isinstance(extras_value, list) else ()
        entry_groups = groups
        if one.get("optional") is True:
            entry_groups = (*groups, *extras_of.get(normalize_name(name), ("optional",)))
        location = _poetry_location(one)
        if location is not None and location.kind is not None:
            out.add(Dependency(name, out.path, kind=location.kind, line=line, extras=extras, marker=marker,
                               url=location.url, groups=entry_groups))
            continue
        version = one.get("version", "*")
        if not isinstance(version, str):
            out.problem(f"Poetry dependency '{clip(name, 80)}' has a version that is not a string", line)
            continue
        try:
            specifier_text = poetry_constraint_to_pep440(version)
            specifier = SpecifierSet(specifier_text)
        except (ValueError, InvalidSpecifier, InvalidVersion) as error:
            out.problem(f"Poetry dependency '{clip(name, 80)}': invalid constraint '{clip(version, 80)}' "
                        f"({clip(str(error).splitlines()[0] if str(error) else 'invalid', 120)})", line)
            continue
        kind, exact, problem = classify_specifier(specifier)
        if problem is not None:
            out.problem(f"Poetry dependency '{clip(name, 80)}': {problem}", line)
            continue
        out.add(Dependency(name, out.path, kind=kind, version=exact, specifier=str(specifier), line=line,
                           extras=extras, marker=marker, groups=entry_groups))


def _poetry_tables(poetry: Mapping[str, Any]) -> list[tuple[tuple[str, ...], str, Any]]:
    """(groups, header, table) of every Poetry dependency table."""
    tables: list[tuple[tuple[str, ...], str, Any]] = [
        ((), "tool.poetry.dependencies", poetry.get("dependencies")),
        (("dev",), "tool.poetry.dev-dependencies", poetry.get("dev-dependencies")),
    ]
    group_table = _table(poetry.get("group"))
    if group_table is not None:
        for group, body in group_table.items():
            body_table = _table(body)
            tables.append(((str(group),), f"tool.poetry.group.{group}.dependencies",
                           body_table.get("dependencies") if body_table is not None else None))
    return [entry for entry in tables if entry[2] is not None]


def parse_pyproject(text: str, *, path: str, read_include: ReadInclude | None = None) -> SourceResult:
    """The dependencies a pyproject.toml declares (``read_include`` is not used: pyproject has no includes)."""
    document = read_toml(text, path)
    if isinstance(document, SourceProblem):
        return SourceResult(problems=[document])
    out = ResultBuilder(path)
    lines = _Lines(text)
    tool = _table(document.get("tool")) or {}
    uv = _table(tool.get("uv")) or {}
    locations = _uv_locations(uv.get("sources"))
    poetry = _table(tool.get("poetry")) or {}
    poetry_main = _table(poetry.get("dependencies")) or {}
    for name, spec in poetry_main.items():
        if isinstance(spec, Mapping):
            found = _poetry_location(spec)
            if found is not None:
                locations.setdefault(normalize_name(str(name)), found)

    project_value = document.get("project")
    project = _table(project_value)
    declared: set[str] = set()
    if project_value is not None and project is None:
        out.problem("[project] is not a table")
    if project is not None:
        anchor = lines.header("project")
        if "dependencies" in project:
            _add_pep508_list(out, lines, project["dependencies"], where="[project] dependencies", anchor=anchor,
                             groups=(), locations=locations)
        optional = project.get("optional-dependencies")
        if optional is not None:
            optional_table = _table(optional)
            if optional_table is None:
                out.problem("[project.optional-dependencies] is not a table", anchor or None)
            else:
                optional_anchor = lines.header("project.optional-dependencies") or anchor
                for group, entries in optional_table.items():
                    _add_pep508_list(out, lines, entries, where=f"optional dependency group '{clip(str(group), 80)}'",
                                     anchor=optional_anchor, groups=(str(group),), locations=locations)
        declared = {dep.normalized for dep in out.result.dependencies if not dep.groups}

    _add_dependency_groups(out, lines, document.get("dependency-groups"), header="dependency-groups",
                           locations=locations)
    pdm = _table(tool.get("pdm")) or {}
    if "dev-dependencies" in pdm:
        _add_dependency_groups(out, lines, pdm["dev-dependencies"], header="tool.pdm.dev-dependencies",
                               locations=locations)

    extras_of: dict[str, tuple[str, ...]] = {}
    poetry_extras = _table(poetry.get("extras")) or {}
    for extra, members in poetry_extras.items():
        if isinstance(members, list):
            for member in members:
                if isinstance(member, str):
                    key = normalize_name(member)
                    extras_of[key] = (*extras_of.get(key, ()), str(extra))
    for groups, header, table in _poetry_tables(poetry):
        if out.full:
            break
        body = _table(table)
        anchor = lines.header(header)
        if body is None:
            out.problem(f"[{clip(header, 120)}] is not a table", anchor or None)
            continue
        for name, spec in body.items():
            key = normalize_name(str(name))
            if key in _POETRY_SKIPPED_KEYS or (not groups and key in declared):
                continue
            line = lines.header(f"{header}.{name}") or lines.key(str(name), anchor)
            _poetry_dependency(out, str(name), spec, line=line or None, groups=groups, extras_of=extras_of)
    return out.result


def _add_dependency_groups(
    out: ResultBuilder, lines: _Lines, value: Any, *, header: str, locations: Mapping[str, _Location]
) -> None:
    if value is None:
        return
    anchor = lines.header(header)
    groups = _table(value)
    if groups is None:
        out.problem(f"[{header}] is not a table", anchor or None)
        return
    if len(groups) > MAX_GROUPS:
        out.problem(f"[{header}] has more than {MAX_GROUPS} groups; not read", anchor or None)
        return
    reached_by = _group_includes(out, groups, anchor)
    for name, entries in groups.items():
        others = sorted(reached_by.get(name, set()) - {name})
        _add_pep508_list(out, lines, entries, where=f"dependency group '{clip(str(name), 80)}'", anchor=anchor,
                         groups=(str(name), *others), locations=locations)
