"""What a dependency is, whatever file declared it. Values only; no I/O.

Every dependency source (requirements files, pyproject.toml, lock files, conda environments, an installed
environment, ``!pip install`` in notebooks) produces ``Dependency`` values and ``SourceProblem``s; the audit and
the SBOM read only these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import quote

# pinned: exactly one version (==X, ===X, or a lock file entry); range: a specifier admitting several versions;
# unpinned: no specifier at all; url / path / editable: not from an index (cannot be audited by version).
DependencyKind = Literal["pinned", "range", "unpinned", "url", "path", "editable"]

_NORMALIZE = re.compile(r"[-_.]+")


def normalize_name(name: str) -> str:
    """PEP 503 normalisation: lowercase, runs of ``-``, ``_`` and ``.`` become one ``-``."""
    return _NORMALIZE.sub("-", name).lower().strip()


def pypi_purl(normalized: str, version: str | None) -> str:
    """Package URL of a PyPI package (purl spec: the version percent-encoded, so "1.0+cpu" is "1.0%2Bcpu")."""
    base = f"pkg:pypi/{quote(normalized, safe='-._~')}"
    return f"{base}@{quote(version, safe='.-_~!')}" if version else base


@dataclass(frozen=True, slots=True)
class Dependency:
    name: str  # as written in the source
    source: str  # display path of the file that declares it (POSIX separators), or "<environment>"
    kind: DependencyKind = "pinned"
    version: str | None = None  # the exact version when pinned or locked
    specifier: str = ""  # the PEP 440 specifier as written (">=1.0,<2"), "" when none
    line: int | None = None  # 1-based line in ``source`` when known
    cell: int | None = None  # notebook cell of a ``!pip install`` line
    extras: tuple[str, ...] = ()
    marker: str | None = None  # environment marker as written
    url: str | None = None  # for url / path / editable requirements
    hashed: bool = False  # the entry carries --hash / hashes (pip's hash-checking mode)
    direct: bool = True  # declared by the project (False: a transitive lock-file entry)
    ecosystem: str = "PyPI"
    licence: str | None = None  # SPDX id or licence text when the source says
    groups: tuple[str, ...] = ()  # optional-dependency group, dev group, Pipfile section ...
    via: tuple[str, ...] = field(default=(), compare=False)  # include chain: requirements.txt -> base.txt

    @property
    def normalized(self) -> str:
        return normalize_name(self.name)

    @property
    def purl(self) -> str:
        """Package URL (purl spec, type ``pypi``: name normalised, lowercase, '-' separators)."""
        return pypi_purl(self.normalized, self.version)


@dataclass(frozen=True, slots=True)
class SourceProblem:
    """An entry a source could not resolve: becomes an MW-DEP-004 (or MW-DEP-007) finding at that line."""

    source: str
    message: str
    line: int | None = None
    rule_id: str = "MW-DEP-004"
    evidence: str | None = None


@dataclass(slots=True)
class SourceResult:
    dependencies: list[Dependency] = field(default_factory=list)
    problems: list[SourceProblem] = field(default_factory=list)
