"""The dependency audit: dependencies (from any source) against the offline advisory database.

Findings, one rule each (catalogue: ``core/rules_deps.py``):

* MW-DEP-001: a pinned or installed version is affected. One finding per (dependency, vulnerability): records
  that name the same vulnerability (a PYSEC and a GHSA record aliasing each other or sharing a CVE) are merged
  first, so a vulnerability is reported once with all its ids. Severity follows the CVSS v3 base score, else the
  record's ``database_specific.severity``, else the rule's default.
* MW-DEP-002: one per dependency that is a range or has no version at all (it cannot be audited exactly).
* MW-DEP-003: one per such dependency whose admitted versions include affected ones, listing every possible
  vulnerability in its evidence. One finding per dependency, not per vulnerability: an unpinned ``pillow`` would
  otherwise bring a hundred findings for one line to fix. Its severity is the rule's (medium), raised to a
  vulnerability's own severity when the requirement admits no fixed version of it.
* MW-DEP-006: the database is older than the configured age (``check_database_age``); MW-DEP-005 when there is
  none (``missing_database_finding``).

The same package declared in several files gives findings at each place (each is a line to fix). URL, path and
editable requirements are not matched (their source reports MW-DEP-007), nor are dependencies of another
ecosystem than PyPI. Environment markers are not evaluated: every declared dependency is audited. This module only reads the database; it never installs, imports or runs
a package.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from mlwarden.core.findings import Finding, Location, Severity
from mlwarden.core.rules import make_finding
from mlwarden.supply.advisories.store import Advisory, AffectedPackage, DbMetadata
from mlwarden.supply.deps.matcher import (
    admitted_affected,
    affects,
    describe_range,
    fixed_versions,
    parse_version,
    smallest_fix,
    specifier_interval,
)
from mlwarden.supply.deps.model import Dependency, normalize_name

SCANNER = "deps"
DATABASE_LOCATION = "<advisory-db>"

# The ML stack: frameworks, model formats and hubs, training / serving / tracking tools, notebooks and the
# scientific libraries they load data with. Chosen from the packages in ML supply-chain advisories (OSV PyPI,
# GitHub advisories) and in the scope of the OWASP ML Top 10 / MITRE ATLAS supply-chain techniques.
# PEP 503-normalised names.
ML_PACKAGES: tuple[str, ...] = (
    # frameworks
    "torch", "torchvision", "torchaudio", "tensorflow", "tensorflow-cpu", "tensorflow-gpu", "keras", "jax",
    "jaxlib", "flax", "paddlepaddle", "mxnet", "pytorch-lightning", "lightning", "deepspeed",
    # model hubs, formats, tokenizers
    "transformers", "tokenizers", "huggingface-hub", "datasets", "accelerate", "diffusers", "peft", "timm",
    "sentence-transformers", "safetensors", "onnx", "onnxruntime", "sentencepiece",
    # serving, LLM tooling, apps
    "vllm", "bentoml", "ray", "gradio", "streamlit", "langchain", "langchain-core", "langchain-community",
    "llama-index", "mlflow", "wandb", "kserve",
    # classic ML and the data stack models are loaded with
    "scikit-learn", "xgboost", "lightgbm", "catboost", "joblib", "numpy", "scipy", "pandas", "pillow",
    "opencv-python", "nltk", "spacy", "h5py",
    # notebooks
    "jupyter", "notebook", "jupyterlab", "jupyter-server", "ipython", "ipykernel", "nbconvert",
)
_ML_SET = frozenset(ML_PACKAGES)

# Kinds that have no version to match: their source already reported MW-DEP-007.
_UNMATCHED_KINDS = ("url", "path", "editable")

# database_specific.severity words (GitHub advisories use CRITICAL, HIGH, MODERATE, LOW) -> our levels.
_DATABASE_SEVERITY = {"CRITICAL": Severity.CRITICAL, "HIGH": Severity.HIGH, "MODERATE": Severity.MEDIUM,
                      "MEDIUM": Severity.MEDIUM, "LOW": Severity.LOW}
# Which record id names a merged vulnerability: PyPI's own database first, then GitHub's; others alphabetically.
_PRIMARY_PREFERENCE = ("PYSEC-", "GHSA-")
_SEVERITY_SOURCES = ("cvss_v3", "database_specific", "default")
_SHOWN_IDS = 5


def is_ml_package(name: str) -> bool:
    """Whether ``name`` (any spelling) is in the ML stack set ``ML_PACKAGES``."""
    return normalize_name(name) in _ML_SET


# --------------------------------------------------------------------------------------------------------------
# CVSS v3.x base score (FIRST, CVSS v3.1 specification section 7; v3.0 has the same base equations and
# weights, only Roundup was made exact in 3.1, which we use for both).

_CVSS3_WEIGHTS: dict[str, dict[str, float]] = {
    "AV": {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2},
    "AC": {"L": 0.77, "H": 0.44},
    "PR": {"N": 0.85, "L": 0.62, "H": 0.27},  # scope unchanged
    "PR:C": {"N": 0.85, "L": 0.68, "H": 0.5},  # scope changed
    "UI": {"N": 0.85, "R": 0.62},
    "CIA": {"H": 0.56, "L": 0.22, "N": 0.0},
}
_CVSS3_BASE_METRICS = ("AV", "AC", "PR", "UI", "S", "C", "I", "A")
_MAX_VECTOR_CHARS = 300


def _roundup(value: float) -> float:
    """CVSS v3.1 Roundup: the smallest one-decimal number >= value, computed on integers to avoid float noise."""
    scaled = round(value * 100_000)
    if scaled % 10_000 == 0:
        return scaled / 100_000.0
    return (math.floor(scaled / 10_000) + 1) / 10.0


def cvss3_base_score(vector: str) -> float | None:
    """The base score of a CVSS v3.0 / v3.1 vector (``CVSS:3.1/AV:N/AC:L/...``), or None if it is not valid."""
    if not isinstance(vector, str) or len(vector) > _MAX_VECTOR_CHARS:
        return None
    prefix, _, rest = vector.strip().partition("/")
    if prefix not in ("CVSS:3.0", "CVSS:3.1") or not rest:
        return None
    metrics: dict[str, str] = {}
    for part in rest.split("/"):
        name, sep, value = part.partition(":")
        if not sep or name in metrics:
            return None
        metrics[name] = value
    if any(name not in metrics for name in _CVSS3_BASE_METRICS) or metrics["S"] not in ("U", "C"):
        return None
    changed = metrics["S"] == "C"
    try:
        av = _CVSS3_WEIGHTS["AV"][metrics["AV"]]
        ac = _CVSS3_WEIGHTS["AC"][metrics["AC"]]
        pr = _CVSS3_WEIGHTS["PR:C" if changed else "PR"][metrics["PR"]]
        ui = _CVSS3_WEIGHTS["UI"][metrics["UI"]]
        c, i, a = (_CVSS3_WEIGHTS["CIA"][metrics[m]] for m in ("C", "I", "A"))
    except KeyError:
        return None
    iss = 1 - (1 - c) * (1 - i) * (1 - a)
    impact = 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15 if changed else 6.42 * iss
    exploitability = 8.22 * av * ac * pr * ui
    if impact <= 0:
        return 0.0
    total = 1.08 * (impact + exploitability) if changed else impact + exploitability
    return _roundup(min(total, 10.0))


def severity_from_score(score: float) -> Severity:
    """CVSS qualitative ladder as mlwarden levels: >=9 critical, >=7 high, >=4 medium, else low."""
    if score >= 9.0:
        return Severity.CRITICAL
    if score >= 7.0:
        return Severity.HIGH
    if score >= 4.0:
        return Severity.MEDIUM
    return Severity.LOW


@dataclass(frozen=True, slots=True)
class Rating:
    severity: Severity
    source: str  # "cvss_v3", "database_specific" or "default"
    cvss: float | None = None
    vector: str | None = None  # the CVSS v3 vector the score comes from


def advisory_severity(advisory: Advisory) -> Rating:
    """How bad one record says it is: CVSS v3 base score, else database_specific.severity, else the rule default.

    CVSS v4 (and v2) vectors are not scored here; such records fall back to database_specific or the default.
    """
    scored = [(score, vector) for kind, vector in advisory.severity if kind == "CVSS_V3"
              for score in (cvss3_base_score(vector),) if score is not None]
    if scored:
        score, vector = max(scored)
        return Rating(severity_from_score(score), "cvss_v3", score, vector)
    word = (advisory.database_severity or "").strip().upper()
    if word in _DATABASE_SEVERITY:
        return Rating(_DATABASE_SEVERITY[word], "database_specific")
    return Rating(Severity.HIGH, "default")


# --------------------------------------------------------------------------------------------------------------
# Vulnerabilities: advisory records merged by id and alias


@dataclass(frozen=True, slots=True)
class Vulnerability:
    """One vulnerability of one package, possibly described by several records (merged by id / alias)."""

    id: str
    aliases: tuple[str, ...]  # every other id of the merged records, sorted
    package: str  # normalised name
    summary: str
    severity: Severity
    severity_source: str  # "cvss_v3", "database_specific" or "default"
    cvss: float | None
    affected: tuple[AffectedPackage, ...]  # this package's entries from every merged record
    records: tuple[str, ...]  # ids of the merged records
    references: tuple[str, ...] = ()
    cvss_vector: str | None = None

    @property
    def ids(self) -> tuple[str, ...]:
        return (self.id, *self.aliases)

    def affects(self, version: str) -> bool:
        return any(affects(entry, version) for entry in self.affected)

    def admitted_by(self, specifier: SpecifierSet) -> bool:
        return any(admitted_affected(entry, specifier) for entry in self.affected)

    def fixed_at_least(self, version: str | None) -> str | None:
        return smallest_fix(self.affected, at_least=version)

    def describe(self) -> str:
        return "; ".join(dict.fromkeys(describe_range(entry) for entry in self.affected))


def _primary_key(record_id: str) -> tuple[int, str]:
    upper = record_id.upper()
    for rank, prefix in enumerate(_PRIMARY_PREFERENCE):
        if upper.startswith(prefix):
            return rank, upper
    return len(_PRIMARY_PREFERENCE), upper


def _summary_of(records: Sequence[Advisory]) -> str:
    """One line for messages: the first record's summary, else the start of its details."""
    for record in records:
        if record.summary.strip():
            return " ".join(record.summary.split())
    for record in records:
        if record.details.strip():
            first = " ".join(record.details.strip().splitlines()[0].split())
            return first if len(first) <= 160 else first[:159].rstrip() + "\u2026"
    return ""


def merge_advisories(advisories: Iterable[Advisory], package: str) -> list[Vulnerability]:
    """The vulnerabilities of ``package`` among ``advisories``: withdrawn records dropped, records that share
    an id or alias (transitively) merged into one, sorted by primary id."""
    wanted = normalize_name(package)
    records = [a for a in advisories if a.withdrawn is None and a.affected_for(wanted)]
    parent = list(range(len(records)))

    def find(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    owner: dict[str, int] = {}
    for index, record in enumerate(records):
        for key in {i.upper() for i in record.ids}:
            if key in owner:
                parent[find(index)] = find(owner[key])
            else:
                owner[key] = index
    groups: dict[int, list[Advisory]] = {}
    for index, record in enumerate(records):
        groups.setdefault(find(index), []).append(record)
    merged = [_merge_group(group, wanted) for group in groups.values()]
    return sorted(merged, key=lambda v: _primary_key(v.id))


def _merge_group(group: list[Advisory], package: str) -> Vulnerability:
    group = sorted(group, key=lambda a: _primary_key(a.id))
    primary = group[0]
    seen = {primary.id.upper()}
    aliases: list[str] = []
    for record in group:
        for identifier in record.ids:
            if identifier.upper() not in seen:
                seen.add(identifier.upper())
                aliases.append(identifier)
    # The most specific source any record offers wins (a CVSS score over a word over the default); within one
    # source, the worst rating: records of one vulnerability rarely disagree, and when they do we warn high.
    rated = [advisory_severity(record) for record in group]
    best_source = min(_SEVERITY_SOURCES.index(r.source) for r in rated)
    rating = max((r for r in rated if _SEVERITY_SOURCES.index(r.source) == best_source),
                 key=lambda r: (r.cvss or 0.0, r.severity.rank))
    return Vulnerability(
        id=primary.id, aliases=tuple(sorted(aliases)), package=package, summary=_summary_of(group),
        severity=rating.severity, severity_source=rating.source, cvss=rating.cvss, cvss_vector=rating.vector,
        affected=tuple(entry for record in group for entry in record.affected_for(package)),
        records=tuple(record.id for record in group),
        references=tuple(dict.fromkeys(ref for record in group for ref in record.references))[:5],
    )


# --------------------------------------------------------------------------------------------------------------
# The audit


class AdvisoryLookup(Protocol):
    """What the audit needs from a database (``AdvisoryStore`` is one)."""

    def advisories_for(self, name: str) -> list[Advisory]: ...


class DatabaseInfo(Protocol):
    def metadata(self) -> DbMetadata: ...

    def age_days(self, now: datetime | None = None) -> float | None: ...


@dataclass(frozen=True, slots=True)
class Upgrade:
    """The smallest version of a package that fixes all its known vulnerabilities (``target``), or, when no
    version does, the one that leaves the fewest of the current ones; None when no fixed version is known."""

    name: str  # normalised
    current: str  # the pinned version, or the specifier of a range ("*" when unpinned)
    target: str | None
    fixes: tuple[str, ...]  # primary ids of the current vulnerabilities the target fixes
    unfixed: tuple[str, ...] = ()  # primary ids no known version fixes


@dataclass(frozen=True, slots=True)
class AuditResult:
    findings: list[Finding]
    upgrades: list[Upgrade]
    audited: int  # dependencies matched against the database (url/path/editable ones are not)
    vulnerable: int  # distinct (package, version) pairs with at least one MW-DEP-001 finding


def _location(dependency: Dependency) -> Location:
    return Location(path=dependency.source, line=dependency.line, cell=dependency.cell)


def _id_list(vulnerability: Vulnerability) -> str:
    shown = vulnerability.aliases[:_SHOWN_IDS]
    more = len(vulnerability.aliases) - len(shown)
    inner = ", ".join(shown) + (f", +{more} more" if more > 0 else "")
    return f"{vulnerability.id} ({inner})" if inner else vulnerability.id


def _vulnerability_data(vulnerability: Vulnerability, fixed: str | None) -> dict[str, Any]:
    return {
        "ids": list(vulnerability.ids),
        "id": vulnerability.id,
        "aliases": list(vulnerability.aliases),
        "summary": vulnerability.summary,
        "severity": vulnerability.severity.value,
        "severity_source": vulnerability.severity_source,
        "cvss": vulnerability.cvss,
        "cvss_vector": vulnerability.cvss_vector,
        "affected": vulnerability.describe(),
        "fixed": fixed,
        "references": list(vulnerability.references),
    }


def _vulnerable_finding(dependency: Dependency, version: str, vulnerability: Vulnerability) -> Finding:
    fixed = vulnerability.fixed_at_least(version)
    data = {"package": dependency.name, "version": version, **_vulnerability_data(vulnerability, fixed),
            "source": dependency.source, "ml": is_ml_package(dependency.name)}
    summary = f": {vulnerability.summary}" if vulnerability.summary else ""
    remedy = f"fixed in {fixed}" if fixed else "no fixed version is known"
    message = (f"{dependency.name} {version} is affected by {_id_list(vulnerability)}{summary} "
               f"(affected: {vulnerability.describe()}; {remedy})")
    return make_finding("MW-DEP-001", _location(dependency), message,
                        evidence=f"{dependency.name} {version}: {_id_list(vulnerability)}",
                        severity=vulnerability.severity, scanner=SCANNER, data=data)


def _parse_specifier(text: str) -> tuple[SpecifierSet, bool]:
    try:
        return SpecifierSet(text), True
    except InvalidSpecifier:
        return SpecifierSet(), False  # unusable: treat as admitting every version (conservative)


def _floor_of(specifier: SpecifierSet) -> str | None:
    interval = specifier_interval(specifier)
    return interval.low.text if interval is not None and interval.low is not None else None


def _admits_version_from(specifier: SpecifierSet, version_text: str) -> bool:
    """Whether the specifier admits ``version_text`` or something above it (the fix or a later release)."""
    version = parse_version(version_text)
    interval = specifier_interval(specifier)
    if version is None or interval is None:
        return False
    high = interval.high
    return high is None or high.version > version or (high.version == version and high.inclusive)


def _unpinned_findings(dependency: Dependency, vulnerabilities: Sequence[Vulnerability]
                       ) -> tuple[list[Finding], list[Vulnerability]]:
    specifier_text = dependency.specifier.strip()
    specifier, valid = _parse_specifier(specifier_text)
    shown = specifier_text or "(no version constraint)"
    ml = is_ml_package(dependency.name)
    note = "" if valid else " (the specifier is not valid PEP 440; every version is assumed admitted)"
    findings = [make_finding(
        "MW-DEP-002", _location(dependency),
        f"{dependency.name} {shown} is not pinned to one version, so the installed version cannot be audited "
        f"exactly{note}",
        evidence=f"{dependency.name} {shown}", scanner=SCANNER,
        data={"package": dependency.name, "version": None, "specifier": specifier_text, "kind": dependency.kind,
              "source": dependency.source, "ml": ml})]
    possible = [v for v in vulnerabilities if v.admitted_by(specifier)]
    if not possible:
        return findings, []
    floor = _floor_of(specifier)
    entries: list[dict[str, Any]] = []
    severity = Severity.MEDIUM
    for vulnerability in possible:
        fixed = vulnerability.fixed_at_least(floor)
        admits_fixed = fixed is not None and _admits_version_from(specifier, fixed)
        if not admits_fixed and vulnerability.severity.rank > severity.rank:
            severity = vulnerability.severity
        entries.append({**_vulnerability_data(vulnerability, fixed), "admits_fixed": admits_fixed})
    ids = [v.id for v in possible]
    listed = ", ".join(ids[:_SHOWN_IDS]) + (f" (+{len(ids) - _SHOWN_IDS} more)" if len(ids) > _SHOWN_IDS else "")
    worst = max(possible, key=lambda v: (v.severity.rank, v.cvss or 0.0))
    findings.append(make_finding(
        "MW-DEP-003", _location(dependency),
        f"{dependency.name} {shown} admits versions affected by {len(possible)} known "
        f"vulnerabilit{'y' if len(possible) == 1 else 'ies'}: {listed}; the worst is {worst.id} "
        f"({worst.severity.value})",
        evidence=f"{dependency.name} {shown}: {listed}", severity=severity, scanner=SCANNER,
        data={"package": dependency.name, "version": None, "specifier": specifier_text,
              "ids": [i for v in possible for i in v.ids], "vulnerabilities": entries,
              "source": dependency.source, "ml": ml}))
    return findings, possible


def _upgrade(name: str, current: str, floor: str | None, everything: Sequence[Vulnerability],
             present: Sequence[Vulnerability]) -> Upgrade:
    floor_version = parse_version(floor) if floor is not None else None
    candidates = [bound for bound in fixed_versions(e for v in everything for e in v.affected)
                  if floor_version is None or bound.version >= floor_version]
    for bound in candidates:
        if not any(v.affects(bound.text) for v in everything):
            return Upgrade(name, current, bound.text, tuple(v.id for v in present))
    # No release fixes everything known: propose the one that leaves the fewest of the current ones.
    best: tuple[int, str, tuple[str, ...]] | None = None
    for bound in candidates:
        remaining = tuple(v.id for v in present if v.affects(bound.text))
        if len(remaining) < len(present) and (best is None or len(remaining) < best[0]):
            best = (len(remaining), bound.text, remaining)
    if best is None:
        return Upgrade(name, current, None, (), tuple(v.id for v in present))
    _, target, remaining = best
    return Upgrade(name, current, target, tuple(v.id for v in present if v.id not in remaining), remaining)


def audit(dependencies: Sequence[Dependency], store: AdvisoryLookup) -> AuditResult:
    """Match ``dependencies`` against ``store``: findings, the minimal upgrade set, and counts."""
    findings: list[Finding] = []
    upgrades: dict[tuple[str, str], Upgrade] = {}
    vulnerable: set[tuple[str, str]] = set()
    by_package: dict[str, list[Vulnerability]] = {}
    audited = 0
    for dependency in dependencies:
        if dependency.kind in _UNMATCHED_KINDS or dependency.ecosystem != "PyPI":
            continue
        audited += 1
        name = dependency.normalized
        if name not in by_package:
            by_package[name] = merge_advisories(store.advisories_for(name), name)
        known = by_package[name]
        if dependency.kind == "pinned" and dependency.version:
            version = dependency.version.strip()
            hits = [v for v in known if v.affects(version)]
            findings.extend(_vulnerable_finding(dependency, version, v) for v in hits)
            if hits:
                vulnerable.add((name, version))
                key = (name, version)
                if key not in upgrades:
                    upgrades[key] = _upgrade(name, version, version, known, hits)
            continue
        unpinned, possible = _unpinned_findings(dependency, known)
        findings.extend(unpinned)
        if possible:
            current = dependency.specifier.strip() or "*"
            if (name, current) not in upgrades:
                floor = _floor_of(_parse_specifier(current if current != "*" else "")[0])
                upgrades[(name, current)] = _upgrade(name, current, floor, known, possible)
    return AuditResult(findings=findings, upgrades=list(upgrades.values()), audited=audited,
                       vulnerable=len(vulnerable))


# --------------------------------------------------------------------------------------------------------------
# Database state as findings


def check_database_age(store: DatabaseInfo, max_age_days: int, *, now: datetime | None = None) -> Finding | None:
    """MW-DEP-006 when the database's data is older than ``max_age_days`` (see ``DbMetadata.age_days``)."""
    age = store.age_days(now)
    if age is None or age <= max_age_days:
        return None
    metadata = store.metadata()
    snapshot = (metadata.snapshot_date or metadata.imported_at or "unknown")[:10]
    return make_finding(
        "MW-DEP-006", Location(path=DATABASE_LOCATION),
        f"the advisory database is {int(age)} days old (data up to {snapshot}, limit {max_age_days} days), so "
        f"advisories published since are missing",
        # Stable text (no day count) so that a baseline entry keeps matching as the database ages.
        evidence=f"advisory database older than {max_age_days} days", scanner=SCANNER,
        data={"path": metadata.path, "source": metadata.source, "snapshot_date": metadata.snapshot_date,
              "imported_at": metadata.imported_at, "age_days": round(age, 1), "max_age_days": max_age_days})


def missing_database_finding(path: str, *, dependencies: int) -> Finding:
    """MW-DEP-005: ``dependencies`` dependencies were found but there is no database at ``path``."""
    return make_finding(
        "MW-DEP-005", Location(path=DATABASE_LOCATION),
        f"{dependencies} dependenc{'y was' if dependencies == 1 else 'ies were'} not audited: no advisory "
        f"database at {path}", evidence="no advisory database", scanner=SCANNER,
        data={"path": path, "dependencies": dependencies})
