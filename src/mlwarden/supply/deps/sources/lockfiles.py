"""Lock files: poetry.lock, uv.lock, Pipfile.lock and PEP 751 pylock.toml.

Every entry of a lock file names one exact version, so registry entries are ``pinned``; entries installed from
git, a URL or a local folder become kind url / path / editable with an MW-DEP-007 problem, as in requirements.
Which entries the project itself declares is known only for uv.lock (its own package entry lists its direct
dependencies, extras and dev groups): there they are ``direct=True``, everywhere else lock entries are
``direct=False``. The project itself (uv's editable/virtual ``.`` entry and workspace members, a ``.`` folder in
Pipfile.lock or pylock.toml) is not a dependency and is skipped.

Formats, from the tools' documentation and the files they write:
- poetry.lock: ``[[package]]`` name, version, ``category`` (lock format 1.x) or ``groups`` (2.x), ``markers``,
  ``files`` (hashes; 1.x kept them under ``[metadata.files]``), ``[package.source]`` type git / url / file /
  directory (``legacy`` is a private index: still pinned).
- uv.lock: ``[[package]]`` name, version, ``source`` = { registry | git | url | path | directory | editable |
  virtual }, ``sdist``/``wheels`` with hashes, ``[manifest] members`` for workspaces.
- Pipfile.lock: JSON; every top-level key but ``_meta`` is a category ("default", "develop", custom ones) mapping
  names to {version "==x", hashes, markers, extras, git/ref, file, path/editable}.
- pylock.toml (PEP 751, "pylock.toml Specification"): ``lock-version`` "1.x", ``[[packages]]`` name, version,
  marker, and one of ``vcs``, ``directory``, ``archive``, ``sdist``/``wheels`` (an index).

Nothing here installs, downloads or verifies the files the lock names; a broken file is one problem, a broken
entry one problem at its line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from mlwarden.supply.deps.model import Dependency, DependencyKind, SourceProblem, SourceResult, normalize_name
from mlwarden.supply.deps.sources import (
    LineIndex,
    ReadInclude,
    ResultBuilder,
    clip,
    read_json,
    read_toml,
)
from mlwarden.supply.deps.sources.requirements import requirement_from_pep508

__all__ = ["parse_pipfile_lock", "parse_poetry_lock", "parse_pylock", "parse_uv_lock"]

# A package's "name = ..." line at the start of a line (poetry.lock, uv.lock, pylock.toml write them so).
_NAME_LINE = re.compile(r"^name\s*=\s*(?:\"([^\"]{1,300})\"|'([^']{1,300})')")
# A JSON object key that opens an object: '    "numpy": {'
_JSON_OBJECT_KEY = re.compile(r"^\s*\"([^\"]{1,300})\"\s*:\s*\{")
# pylock.toml lock-version majors this parser understands (PEP 751: tools must reject an unknown major).
_PYLOCK_MAJORS = frozenset({"1"})
# uv.lock "version" values this parser understands (uv's lock format; revisions within a version are compatible).
_UV_LOCK_VERSIONS = frozenset({1})
_SELF = frozenset({".", "./", ""})
# uv.lock source keys that are not an index, and the kind of dependency each gives ("virtual": a folder that is
# not a package, "editable": a folder installed in editable mode; both are project-local when not the root).
_UV_LOCAL_SOURCES: tuple[tuple[str, DependencyKind], ...] = (
    ("git", "url"), ("url", "url"), ("path", "path"), ("directory", "path"), ("editable", "editable"),
    ("virtual", "path"),
)


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _table(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _valid_version(out: ResultBuilder, name: str, version: Any, line: int | None) -> str | None:
    """The version if it is a PEP 440 version; else a problem (an index never serves another) and None."""
    if not isinstance(version, str) or not version:
        out.problem(f"'{clip(name, 80)}' has no version", line)
        return None
    try:
        Version(version)
    except InvalidVersion:
        out.problem(f"'{clip(name, 80)}' has version '{clip(version, 80)}', which is not a PEP 440 version", line)
        return None
    return version


def _packages(out: ResultBuilder, document: Mapping[str, Any], key: str) -> list[Any]:
    value = document.get(key, [])
    if not isinstance(value, list):
        out.problem(f"'{key}' is not an array of tables")
        return []
    return value


def _hashed(*entries: Any) -> bool:
    """Whether any file record (a table with "hash" or "hashes") carries a hash."""
    for entry in entries:
        records = entry if isinstance(entry, list) else [entry]
        for record in records:
            if isinstance(record, Mapping) and (record.get("hash") or record.get("hashes")):
                return True
    return False


def _named_entries(out: ResultBuilder, packages: list[Any], key: str, lines: LineIndex
                   ) -> Iterator[tuple[Mapping[str, Any], str, int | None]]:
    """The ``[[key]]`` tables (``packages``) of a lock file that have a name, with their line; stops when the
    result is full. A nameless entry is one problem and is skipped."""
    for entry in packages:
        if out.full:
            return
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str) or not entry["name"]:
            out.problem(f"a [[{key}]] entry has no name")
            continue
        name: str = entry["name"]
        yield entry, name, lines.take(name)


def _add_locked(out: ResultBuilder, path: str, name: str, version: Any, line: int | None, *,
                location: tuple[DependencyKind, str] | None, marker: str | None = None, hashed: bool = False,
                direct: bool = False, groups: tuple[str, ...] = ()) -> None:
    """One lock entry: from a URL, path or editable source (``location``), else pinned to a valid version."""
    if location is not None:
        out.add(Dependency(name, path, kind=location[0], version=_string(version), line=line, marker=marker,
                           url=clip(location[1], 2048) or None, hashed=hashed, direct=direct, groups=groups))
        return
    checked = _valid_version(out, name, version, line)
    if checked is not None:
        out.add(Dependency(name, path, kind="pinned", version=checked, line=line, marker=marker, hashed=hashed,
                           direct=direct, groups=groups))


# ---------------------------------------------------------------------------------------------------------------
# poetry.lock
# ---------------------------------------------------------------------------------------------------------------
def parse_poetry_lock(text: str, *, path: str, read_include: ReadInclude | None = None) -> SourceResult:
    """Every package of a poetry.lock: pinned, ``direct=False``, groups from ``groups``/``category`` ("main": none)."""
    document = read_toml(text, path)
    if isinstance(document, SourceProblem):
        return SourceResult(problems=[document])
    out = ResultBuilder(path)
    lines = LineIndex(text, _NAME_LINE)
    legacy_files = _table(_table(document.get("metadata")).get("files"))
    for entry, name, line in _named_entries(out, _packages(out, document, "package"), "package", lines):
        groups_value = entry.get("groups", entry.get("category"))
        listed = [groups_value] if isinstance(groups_value, str) else groups_value
        # "main" is Poetry's name for the project's own dependencies: no group, as in pyproject.toml
        groups = tuple(str(group) for group in listed if group != "main") if isinstance(listed, list) else ()
        source = _table(entry.get("source"))
        source_type = _string(source.get("type"))
        url = _string(source.get("url"))
        location: tuple[DependencyKind, str] | None = None
        if source_type in {"git", "url", "file", "directory"}:
            kind: DependencyKind = "url" if source_type in {"git", "url"} else "path"
            if source_type == "directory" and entry.get("develop") is True:
                kind = "editable"
            if source_type == "git" and url:
                reference = _string(source.get("resolved_reference")) or _string(source.get("reference"))
                url = f"git+{url}" + (f"@{reference}" if reference else "")
            location = (kind, url or "")
        _add_locked(out, path, name, entry.get("version"), line, location=location,
                    marker=_string(entry.get("markers")),
                    hashed=_hashed(entry.get("files"), legacy_files.get(name)), groups=groups)
    return out.result


# ---------------------------------------------------------------------------------------------------------------
# uv.lock
# ---------------------------------------------------------------------------------------------------------------
def _uv_root_names(packages: list[Any], members: set[str]) -> set[str]:
    """Normalised names of the project's own packages: the ``.`` editable/virtual entry and workspace members."""
    roots: set[str] = set()
    for entry in packages:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
            continue
        source = _table(entry.get("source"))
        local = _string(source.get("editable")) if "editable" in source else _string(source.get("virtual"))
        if local is None:
            continue
        if local.rstrip("/") in _SELF or normalize_name(entry["name"]) in members:
            roots.add(normalize_name(entry["name"]))
    return roots


def _uv_direct(packages: list[Any], roots: set[str]) -> dict[str, set[str]]:
    """Normalised name -> groups ("" for the main dependencies) for what the project's own packages require."""
    direct: dict[str, set[str]] = {}

    def note(requirements: Any, group: str) -> None:
        if not isinstance(requirements, list):
            return
        for requirement in requirements:
            if isinstance(requirement, Mapping) and isinstance(requirement.get("name"), str):
                direct.setdefault(normalize_name(requirement["name"]), set()).add(group)

    for entry in packages:
        if not isinstance(entry, Mapping) or normalize_name(str(entry.get("name", ""))) not in roots:
            continue
        note(entry.get("dependencies"), "")
        for table_key in ("optional-dependencies", "dev-dependencies"):
            for group, requirements in _table(entry.get(table_key)).items():
                note(requirements, str(group))
    return direct


def parse_uv_lock(text: str, *, path: str, read_include: ReadInclude | None = None) -> SourceResult:
    """Every package of a uv.lock but the project's own; what the project requires is ``direct=True``."""
    document = read_toml(text, path)
    if isinstance(document, SourceProblem):
        return SourceResult(problems=[document])
    out = ResultBuilder(path)
    lock_version = document.get("version")
    if lock_version is not None and lock_version not in _UV_LOCK_VERSIONS:
        out.problem(f"uv.lock format version {clip(str(lock_version), 20)} is not known; entries read as version 1")
    lines = LineIndex(text, _NAME_LINE)
    packages = _packages(out, document, "package")
    members_value = _table(document.get("manifest")).get("members", [])
    members = {normalize_name(member) for member in members_value if isinstance(member, str)} \
        if isinstance(members_value, list) else set()
    roots = _uv_root_names(packages, members)
    direct = _uv_direct(packages, roots)
    for entry, name, line in _named_entries(out, packages, "package", lines):
        key = normalize_name(name)
        if key in roots:
            continue
        source = _table(entry.get("source"))
        location: tuple[DependencyKind, str] | None = None
        for source_key, kind in _UV_LOCAL_SOURCES:
            value = _string(source.get(source_key))
            if value is not None:
                location = (kind, f"git+{value}" if source_key == "git" else value)
                break
        _add_locked(out, path, name, entry.get("version"), line, location=location,
                    hashed=_hashed(entry.get("sdist"), entry.get("wheels")), direct=key in direct,
                    groups=tuple(sorted(group for group in direct.get(key, set()) if group)))
    return out.result


# ---------------------------------------------------------------------------------------------------------------
# Pipfile.lock
# ---------------------------------------------------------------------------------------------------------------
def _pipfile_entry(out: ResultBuilder, name: str, entry: Mapping[str, Any], *, line: int | None,
                   groups: tuple[str, ...]) -> None:
    marker = _string(entry.get("markers"))
    extras_value = entry.get("extras", [])
    extras = tuple(sorted(str(extra) for extra in extras_value)) if isinstance(extras_value, list) else ()
    hashed = bool(entry.get("hashes"))
    location: tuple[DependencyKind, str] | None = None
    if isinstance(entry.get("git"), str):
        reference = _string(entry.get("ref"))
        location = ("url", f"git+{entry['git']}" + (f"@{reference}" if reference else ""))
    elif isinstance(entry.get("file"), str):
        file_url: str = entry["file"]
        location = ("path" if file_url.lower().startswith("file:") else "url", file_url)
    elif isinstance(entry.get("path"), str):
        local: str = entry["path"]
        if local.rstrip("/\\") in _SELF:
            return  # the project itself, installed in editable mode
        location = ("editable" if entry.get("editable") is True else "path", local)
    if location is not None:
        out.add(Dependency(name, out.path, kind=location[0], line=line, extras=extras, marker=marker,
                           url=clip(location[1], 2048), hashed=hashed, direct=False, groups=groups))
        return
    version = entry.get("version")
    if not isinstance(version, str) or not version.strip():
        out.problem(f"'{clip(name, 80)}' has no version", line)
        return
    found = requirement_from_pep508(f"{name}{version}" if version.strip() != "*" else name, source=out.path,
                                    line=line, direct=False, hashed=hashed, groups=groups)
    if isinstance(found, Dependency):
        found = replace(found, extras=extras, marker=marker)
    out.add(found)


def parse_pipfile_lock(text: str, *, path: str, read_include: ReadInclude | None = None) -> SourceResult:
    """Every entry of every category of a Pipfile.lock ("default" has no group; others are the group)."""
    document = read_json(text, path)
    if isinstance(document, SourceProblem):
        return SourceResult(problems=[document])
    out = ResultBuilder(path)
    if not isinstance(document, Mapping):
        out.problem("Pipfile.lock is not a JSON object")
        return out.result
    lines = LineIndex(text, _JSON_OBJECT_KEY)
    for category, section in document.items():
        if out.full:
            break
        if category.startswith("_"):
            continue
        anchor = lines.first(category) or 0
        if not isinstance(section, Mapping):
            out.problem(f"category '{clip(category, 80)}' is not an object", anchor or None)
            continue
        groups: tuple[str, ...] = () if category == "default" else (category,)
        for name, entry in section.items():
            if out.full:
                break
            line = lines.take(name, after=anchor)
            if not isinstance(entry, Mapping):
                out.problem(f"'{clip(name, 80)}' in '{clip(category, 80)}' is not an object", line)
                continue
            _pipfile_entry(out, name, entry, line=line, groups=groups)
    return out.result


# ---------------------------------------------------------------------------------------------------------------
# pylock.toml (PEP 751)
# ---------------------------------------------------------------------------------------------------------------
def _version_from_files(entry: Mapping[str, Any]) -> str | None:
    """A version named by the package's wheel or sdist file names, when ``version`` is left out."""
    wheels = entry.get("wheels")
    for record in wheels if isinstance(wheels, list) else []:
        file_name = _string(_table(record).get("name")) or _string(_table(record).get("url")) or ""
        try:
            return str(parse_wheel_filename(file_name.rsplit("/", 1)[-1])[1])
        except InvalidWheelFilename:
            continue
    sdist = _table(entry.get("sdist"))
    file_name = _string(sdist.get("name")) or _string(sdist.get("url")) or ""
    try:
        return str(parse_sdist_filename(file_name.rsplit("/", 1)[-1])[1])
    except InvalidSdistFilename:
        return None


def parse_pylock(text: str, *, path: str, read_include: ReadInclude | None = None) -> SourceResult:
    """Every package of a PEP 751 lock file (``direct=False``: the format does not say which are direct)."""
    document = read_toml(text, path)
    if isinstance(document, SourceProblem):
        return SourceResult(problems=[document])
    out = ResultBuilder(path)
    lock_version = document.get("lock-version")
    if not isinstance(lock_version, str) or lock_version.split(".", 1)[0] not in _PYLOCK_MAJORS:
        out.problem(f"lock-version {clip(repr(lock_version), 40)} is not supported (PEP 751 defines 1.0); "
                    "not read")
        return out.result
    lines = LineIndex(text, _NAME_LINE)
    for entry, name, line in _named_entries(out, _packages(out, document, "packages"), "packages", lines):
        marker = _string(entry.get("marker"))
        version = _string(entry.get("version"))
        vcs, directory, archive = _table(entry.get("vcs")), _table(entry.get("directory")), _table(entry.get("archive"))
        location: tuple[DependencyKind, str] | None = None
        if vcs:
            remote = _string(vcs.get("url"))
            commit = _string(vcs.get("commit-id"))
            vcs_type = _string(vcs.get("type")) or "git"
            if remote:
                location = ("url", f"{vcs_type}+{remote}" + (f"@{commit}" if commit else ""))
            else:
                location = ("path", _string(vcs.get("path")) or "")
        elif directory:
            local = _string(directory.get("path")) or ""
            if local.rstrip("/\\") in _SELF:
                continue  # the project being locked
            location = ("editable" if directory.get("editable") is True else "path", local)
        elif archive:
            remote = _string(archive.get("url"))
            location = ("url", remote) if remote else ("path", _string(archive.get("path")) or "")
        if location is not None:
            _add_locked(out, path, name, version, line, location=location, marker=marker,
                        hashed=_hashed(archive) if archive else False)
            continue
        if not entry.get("sdist") and not entry.get("wheels"):
            out.problem(f"'{clip(name, 80)}' names no source (vcs, directory, archive, sdist or wheels)", line)
            continue
        _add_locked(out, path, name, version or _version_from_files(entry), line, location=None, marker=marker,
                    hashed=_hashed(entry.get("sdist"), entry.get("wheels")))
    return out.result
