"""Write the ML bill of materials of a project: find its dependency files, models and datasets, audit the
dependencies against the local advisory database when there is one, and write CycloneDX 1.6 JSON atomically.

The I/O edge of ``mlwarden.supply.sbom``: dependency files are read with a size bound and parsed as text
(includes only inside the scanned folder), artifacts are hashed as they stream. An installed environment is read
only when asked (``environment`` / ``python``). Nothing scanned is imported or run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mlwarden.core.errors import InputError
from mlwarden.core.findings import Finding
from mlwarden.core.limits import DEFAULT_LIMITS
from mlwarden.core.policy import write_atomic
from mlwarden.supply.deps.model import Dependency, SourceProblem, SourceResult
from mlwarden.supply.sbom import (
    VULNERABILITY_RULE,
    ArtifactRecord,
    ProjectFile,
    build_bom,
    inventory_files,
    project_files,
)

__all__ = ["SbomSummary", "write_sbom"]


@dataclass(frozen=True, slots=True)
class SbomSummary:
    """What ``write_sbom`` wrote. ``audited`` is False when no advisory database was used; ``not_audited``
    then says why. ``problems`` has one line per dependency entry or file that could not be used."""

    output: Path
    subject: str
    libraries: int
    models: int
    datasets: int
    vulnerabilities: int
    dependency_files: int
    audited: bool
    not_audited: str | None = None
    problems: tuple[str, ...] = ()

    def line(self) -> str:
        """One line for the terminal (stderr)."""
        text = (f"mlwarden: SBOM of {self.subject} written to {self.output}: {self.libraries} libraries "
                f"from {self.dependency_files} dependency files, {self.models} models, {self.datasets} datasets, "
                f"{self.vulnerabilities} vulnerabilities")
        if not self.audited and self.not_audited:
            text += f"; dependencies not audited: {self.not_audited}"
        if self.problems:
            text += f"; {len(self.problems)} problems (first: {self.problems[0]})"
        return text


def _read_bounded(path: str) -> str | None:
    """The file's text (UTF-8, undecodable bytes replaced), or None when it is larger than the limit."""
    limit = DEFAULT_LIMITS.max_dependency_file_bytes
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    return None if len(data) > limit else data.decode("utf-8", errors="replace")


def _include_reader(file: ProjectFile) -> Callable[[str], str | None]:
    from mlwarden.supply.deps.sources import include_reader

    return include_reader(file.path, file.root, max_bytes=DEFAULT_LIMITS.max_dependency_file_bytes)


def _problem_line(problem: SourceProblem) -> str:
    where = f"{problem.source}:{problem.line}" if problem.line else problem.source
    return f"{where}: {problem.message}"


def _declared_dependencies(files: Sequence[ProjectFile]) -> tuple[list[Dependency], int, list[str]]:
    """Parse every dependency file among ``files``: (dependencies, files parsed, problem lines)."""
    from mlwarden.supply.deps.sources import parse_source, source_kind

    dependencies: list[Dependency] = []
    problems: list[str] = []
    parsed = 0
    for file in files:
        kind = source_kind(file.path.replace(os.sep, "/"))  # the folder counts: requirements/base.txt
        if kind is None:
            continue
        try:
            text = _read_bounded(file.path)
        except OSError as exc:
            problems.append(f"{file.rel}: cannot read file: {exc.strerror or exc}")
            continue
        if text is None:
            problems.append(f"{file.rel}: larger than {DEFAULT_LIMITS.max_dependency_file_bytes} bytes; not parsed")
            continue
        try:
            result: SourceResult = parse_source(kind, text, path=file.rel, read_include=_include_reader(file))
        except RecursionError:
            problems.append(f"{file.rel}: nested too deeply to parse")
            continue
        except Exception as exc:  # noqa: BLE001 - one broken file must not lose the whole BOM; it is reported
            problems.append(f"{file.rel}: could not be parsed ({type(exc).__name__})")
            continue
        parsed += 1
        dependencies.extend(result.dependencies)
        problems.extend(_problem_line(p) for p in result.problems)
    return dependencies, parsed, problems


def _installed_dependencies(*, environment: bool, python: Path | None) -> tuple[list[Dependency], list[str]]:
    if not environment and python is None:
        return [], []
    from mlwarden.supply.deps.sources.installed import installed_distributions

    results = ([installed_distributions()] if environment else []) + (
        [installed_distributions(python=python)] if python is not None else [])
    dependencies = [dep for result in results for dep in result.dependencies]
    problems = [_problem_line(p) for result in results for p in result.problems]
    return dependencies, problems


def _audit(dependencies: list[Dependency], db_path: Path | None) -> tuple[list[Finding], str | None]:
    """MW-DEP-001 findings of the audit, or no findings and why there was no audit."""
    if not dependencies:
        return [], "no dependencies found"
    from mlwarden.supply.advisories.store import AdvisoryStore, MissingDatabaseError

    try:
        store = AdvisoryStore.open(db_path)
    except MissingDatabaseError as exc:
        return [], str(exc)
    try:
        from mlwarden.supply.deps.audit import audit

        result = audit(dependencies, store)
    finally:
        store.close()
    return [f for f in result.findings if f.rule_id == VULNERABILITY_RULE], None


def _subject_name(paths: Sequence[Path]) -> str:
    if not paths:
        return "environment"
    first = Path(os.path.abspath(paths[0]))
    folder = first if first.is_dir() else first.parent
    return folder.name or "project"


def write_sbom(
    paths: Sequence[Path],
    output: Path,
    *,
    db_path: Path | None = None,
    environment: bool = False,
    python: Path | None = None,
    skip: Sequence[str] = (),
    serial: str | None = None,
    timestamp: str | None = None,
) -> SbomSummary:
    """Write the CycloneDX 1.6 BOM of ``paths`` (plus an installed environment when asked) to ``output``.

    Without an advisory database the BOM is still written, without vulnerabilities, and the summary says so.
    Raises ``InputError`` for a missing path or output folder (and whatever the installed-environment reader
    raises for a ``python`` that is not an interpreter or virtual environment).
    """
    from mlwarden import __version__

    if not paths and not environment and python is None:
        raise InputError("no path given; name the project folder to describe")
    _check_output(output)
    files = project_files(paths, skip=skip)
    declared, dependency_files, problems = _declared_dependencies(files)
    installed, installed_problems = _installed_dependencies(environment=environment, python=python)
    problems.extend(installed_problems)
    artifacts, unreadable = inventory_files(files)
    problems.extend(unreadable)
    dependencies = list(dict.fromkeys([*declared, *installed]))  # one entry reached through two includes counts once
    vulnerabilities, not_audited = _audit(dependencies, db_path)
    subject = _subject_name(paths)
    bom = build_bom(subject=subject, dependencies=dependencies, artifacts=artifacts,
                    vulnerabilities=vulnerabilities, tool_version=__version__, serial=serial, timestamp=timestamp)
    write_atomic(output, json.dumps(bom, indent=2, ensure_ascii=False) + "\n")
    return SbomSummary(
        output=output,
        subject=subject,
        libraries=sum(1 for c in bom["components"] if c["type"] == "library"),
        models=_count(artifacts, "model"),
        datasets=_count(artifacts, "data"),
        vulnerabilities=len(bom.get("vulnerabilities", [])),
        dependency_files=dependency_files,
        audited=not_audited is None,
        not_audited=not_audited,
        problems=tuple(problems),
    )


def _check_output(output: Path) -> None:
    """Refuse an unusable output before the work, not after it."""
    folder = output.parent if str(output.parent) else Path(".")
    if output.is_dir():
        raise InputError(f"cannot write {output}: it is a folder; give a file name for the BOM")
    if not folder.is_dir():
        raise InputError(f"cannot write {output}: folder {folder} does not exist; create it first")


def _count(artifacts: Sequence[ArtifactRecord], kind: str) -> int:
    return sum(1 for a in artifacts if a.kind == kind)
