"""Which versions an OSV ``affected`` entry covers: PEP 440 versions against OSV ranges and version lists.

Pure functions over values: no I/O, no database. Semantics follow the OSV schema's evaluation rules
(https://ossf.github.io/osv-schema/#evaluation): a version is affected when it is listed in ``versions`` or lies
in a range window; a window opens at ``introduced`` ("0" = from the first version) and closes before ``fixed``
or after ``last_affected``; ``limit`` caps the range (affected only below some limit). Versions compare by
PEP 440 (``packaging``), so pre-, post- and dev-releases, epochs and zero padding order as pip orders them.

Invalid versions never raise: an unparseable ``introduced`` is read as "0" and an unparseable ``fixed`` /
``last_affected`` / ``limit`` is ignored, both of which widen the window (we would rather report a version
that is fine than miss one that is not); an unparseable listed version matches only the identical text.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

from packaging.specifiers import Specifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from mlwarden.supply.advisories.store import AffectedPackage

# How many listed versions ``describe_range`` spells out before it summarises.
_DESCRIBED_VERSIONS = 10
_MAX_VERSION_TEXT = 200


@functools.lru_cache(maxsize=65536)
def parse_version(text: str) -> Version | None:
    """A PEP 440 version, or None for text that is not one (never raises)."""
    if not isinstance(text, str) or len(text) > _MAX_VERSION_TEXT:
        return None
    try:
        return Version(text.strip())
    except InvalidVersion:
        return None


@dataclass(frozen=True, slots=True)
class Bound:
    version: Version
    inclusive: bool
    text: str  # as written in the record or specifier, for messages


@dataclass(frozen=True, slots=True)
class Window:
    """A contiguous run of affected versions: ``low`` is inclusive or None (from the first version)."""

    low: Bound | None
    high: Bound | None  # None: no end known (not fixed yet)

    def contains(self, version: Version) -> bool:
        if self.low is not None and (version < self.low.version
                                     or (version == self.low.version and not self.low.inclusive)):
            return False
        if self.high is None:
            return True
        return version < self.high.version or (self.high.inclusive and version == self.high.version)

    def describe(self) -> str:
        low = f">={self.low.text}" if self.low is not None else ""
        high = ""
        if self.high is not None:
            high = f"{'<=' if self.high.inclusive else '<'}{self.high.text}"
        return ",".join(part for part in (low, high) if part) or "all versions"


@dataclass(frozen=True, slots=True)
class CompiledAffected:
    """An affected entry prepared for matching (cached per entry)."""

    windows: tuple[Window, ...]
    versions: frozenset[Version]
    raw_versions: frozenset[str]  # listed versions that are not PEP 440: matched as text only
    version_texts: tuple[str, ...]
    ignored: tuple[str, ...]  # event versions that are not PEP 440 (see the module docstring)
    fixed: tuple[Bound, ...]  # every valid ``fixed`` event: the candidates for an upgrade


_EVENT_ORDER = {"introduced": 0, "fixed": 1, "last_affected": 1, "limit": 1}
_ZERO = Version("0")


def _position(bound: Bound | None) -> tuple[int, Version]:
    """Sort key: "from the first version" (None) before any real version."""
    return (0, _ZERO) if bound is None else (1, bound.version)


def _windows_of_range(events: Iterable[tuple[str, str]], ignored: list[str], fixed: list[Bound]
                      ) -> list[Window]:
    points: list[tuple[int, str, Bound | None]] = []
    limits: list[Bound] = []
    unlimited = False
    for kind, text in events:
        if not isinstance(kind, str) or not isinstance(text, str) or kind not in _EVENT_ORDER:
            continue  # a corrupt database entry: skip the event rather than fail the audit
        version = parse_version(text)
        if kind == "limit":
            if text.strip() == "*":
                unlimited = True
            elif version is None:
                ignored.append(text)
            else:
                limits.append(Bound(version, False, text))
            continue
        if kind == "introduced" and (version is None or text.strip() == "0"):
            if version is None and text.strip() != "0":
                ignored.append(text)
            points.append((0, kind, None))
            continue
        if version is None:
            ignored.append(text)
            continue
        bound = Bound(version, kind != "fixed", text)
        if kind == "fixed":
            fixed.append(bound)
        points.append((_EVENT_ORDER[kind], kind, bound))
    # Sorted walk of the OSV evaluation: "introduced" opens a window, "fixed"/"last_affected" close it. At equal
    # versions "introduced" sorts first, so introduced X + fixed X is an empty window, as in the spec's loop.
    points.sort(key=lambda item: (_position(item[2]), item[0]))
    windows: list[Window] = []
    is_open = False
    low: Bound | None = None
    for _, kind, point in points:
        if kind == "introduced":
            if not is_open:
                is_open, low = True, point
        elif is_open:
            is_open = False
            windows.append(Window(low, point))
    if is_open:
        windows.append(Window(low, None))
    windows = [w for w in windows if not _empty(w)]
    if limits and not unlimited:
        cap = max(limits, key=lambda b: b.version)  # affected only when below some limit: below the largest
        windows = [capped for capped in (_cap(w, cap) for w in windows) if capped is not None]
    return windows


def _empty(window: Window) -> bool:
    if window.low is None or window.high is None:
        return False
    if window.high.version != window.low.version:
        return window.high.version < window.low.version
    return not (window.high.inclusive and window.low.inclusive)


def _cap(window: Window, cap: Bound) -> Window | None:
    if window.low is not None and window.low.version >= cap.version:
        return None
    high = window.high
    if high is None or high.version > cap.version or (high.version == cap.version and high.inclusive):
        return Window(window.low, cap)
    return window


@functools.lru_cache(maxsize=8192)
def compile_affected(affected: AffectedPackage) -> CompiledAffected:
    ignored: list[str] = []
    fixed: list[Bound] = []
    windows: list[Window] = []
    for rng in affected.ranges:
        windows.extend(_windows_of_range(rng.events, ignored, fixed))
    versions: set[Version] = set()
    raw: set[str] = set()
    for text in affected.versions:
        if not isinstance(text, str):
            continue
        parsed = parse_version(text)
        if parsed is None:
            raw.add(text.strip())
        else:
            versions.add(parsed)
    windows.sort(key=lambda w: _position(w.low))
    return CompiledAffected(tuple(dict.fromkeys(windows)), frozenset(versions), frozenset(raw),
                            tuple(t for t in affected.versions if isinstance(t, str)), tuple(ignored),
                            tuple(sorted(set(fixed), key=lambda b: b.version)))


def _affects(compiled: CompiledAffected, version: Version | None, text: str) -> bool:
    if text.strip() in compiled.raw_versions:
        return True
    if version is None:
        return False
    if version in compiled.versions:
        return True
    # A local build (1.12.0+cu113) is the listed public release with local patches: it shares its advisories.
    if version.local is not None and Version(version.public) in compiled.versions:
        return True
    return any(window.contains(version) for window in compiled.windows)


def affects(advisory_affected: AffectedPackage, version: str) -> bool:
    """Whether ``version`` (as installed or pinned) is affected. Never raises on invalid versions."""
    text = version if isinstance(version, str) else str(version)
    return _affects(compile_affected(advisory_affected), parse_version(text), text)


# --------------------------------------------------------------------------------------------------------------
# Specifiers as intervals


@dataclass(frozen=True, slots=True)
class Interval:
    """The versions between two bounds (None: unbounded). Exclusions (``!=``) are not represented."""

    low: Bound | None = None
    high: Bound | None = None


def _release_version(epoch: int, release: tuple[int, ...], suffix: str = "") -> Version:
    return Version(f"{epoch}!{'.'.join(str(part) for part in release)}{suffix}")


def _prefix_interval(epoch: int, prefix: tuple[int, ...], text: str) -> Interval:
    # ==1.2.* admits 1.2.dev0 (the smallest 1.2 version) up to, not including, 1.3.dev0.
    upper = (*prefix[:-1], prefix[-1] + 1)
    return Interval(Bound(_release_version(epoch, prefix, ".dev0"), True, text),
                    Bound(_release_version(epoch, upper, ".dev0"), False, text))


def _clause_interval(clause: Specifier) -> Interval | None:
    """The interval one clause admits; None when it admits nothing a version comparison can reach."""
    operator, text = clause.operator, clause.version
    if operator == "!=":
        return Interval()
    if operator == "==" and text.endswith(".*"):
        prefix = parse_version(text[:-2])
        return _prefix_interval(prefix.epoch, prefix.release, text) if prefix is not None else Interval()
    version = parse_version(text)
    if version is None:  # "===" with a non-PEP 440 string: only the identical text matches
        return None
    if operator in ("==", "==="):
        return Interval(Bound(version, True, text), Bound(version, True, text))
    if operator == "~=":
        compatible = _prefix_interval(version.epoch, version.release[:-1], text)
        return Interval(Bound(version, True, text), compatible.high)
    if operator == ">=":
        return Interval(low=Bound(version, True, text))
    if operator == ">":
        return Interval(low=Bound(version, False, text))
    if operator == "<=":
        return Interval(high=Bound(version, True, text))
    if operator == "<":
        # PEP 440: "<V" does not admit pre-releases of V unless V is one, so the bound is V's first dev release.
        if not (version.is_prerelease or version.is_postrelease or version.local):
            return Interval(high=Bound(_release_version(version.epoch, version.release, ".dev0"), False, text))
        return Interval(high=Bound(version, False, text))
    return Interval()  # an operator packaging may add later: assume it admits everything (conservative)


def _tighter_low(a: Bound | None, b: Bound | None) -> Bound | None:
    if a is None or b is None:
        return a or b
    if a.version != b.version:
        return a if a.version > b.version else b
    return a if not a.inclusive else b


def _tighter_high(a: Bound | None, b: Bound | None) -> Bound | None:
    if a is None or b is None:
        return a or b
    if a.version != b.version:
        return a if a.version < b.version else b
    return a if not a.inclusive else b


def _intersect(a: Interval, b: Interval) -> Interval | None:
    low, high = _tighter_low(a.low, b.low), _tighter_high(a.high, b.high)
    if low is not None and high is not None:
        if low.version > high.version:
            return None
        if low.version == high.version and not (low.inclusive and high.inclusive):
            return None
    return Interval(low, high)


def specifier_interval(specifier: SpecifierSet) -> Interval | None:
    """The interval a specifier admits (the intersection of its clauses); None when it admits no version."""
    interval: Interval | None = Interval()
    for clause in specifier:
        part = _clause_interval(clause)
        if part is None or interval is None:
            return None
        interval = _intersect(interval, part)
    return interval


def _first_final_release(bound: Bound) -> Version | None:
    """The smallest non-pre-release version at or above an inclusive lower bound (None: not computed)."""
    version = bound.version
    if not version.is_prerelease:
        return version if bound.inclusive else None
    # 1.2.0rc1 and 1.2.0.dev3 come before 1.2.0; 1.2.0.post1.dev0 before 1.2.0.post1.
    suffix = f".post{version.post}" if version.post is not None else ""
    return _release_version(version.epoch, version.release, suffix)


def _holds_final_release(overlap: Interval) -> bool:
    """Whether the interval contains a version that is not a pre-release (what pip installs by default)."""
    if overlap.low is None:
        return True
    first = _first_final_release(overlap.low)
    if first is None:
        return True  # above an exclusive final bound there is always a later final (X.post0, X.0.1) before
    high = overlap.high
    return high is None or first < high.version or (first == high.version and high.inclusive)


def admitted_affected(affected: AffectedPackage, specifier: SpecifierSet) -> bool:
    """Whether some version the specifier admits is affected.

    Approximation (documented, conservative): the specifier becomes one interval (the intersection of its
    ordered clauses, with ``==X.*`` and ``~=`` as prefix intervals and ``<V`` stopping before V's
    pre-releases, as PEP 440 says). Each affected window that overlaps that interval counts, whether or not a
    release exists inside the overlap; ``!=`` exclusions only matter when they remove the single version of an
    overlap. Listed versions are checked exactly against the specifier. As in pip, pre-releases count as
    admitted only when the specifier names one: an overlap made of pre-releases only (``==1.2.*`` against a fix
    in 1.2.0 admits 1.2.0rc1) does not count otherwise.
    """
    compiled = compile_affected(affected)
    interval = specifier_interval(specifier)
    # An empty specifier admits everything, pre-releases included (as packaging decides): conservative.
    allow_pre = bool(specifier.prereleases) or len(specifier) == 0
    if interval is not None:
        for window in compiled.windows:
            overlap = _intersect(interval, Interval(window.low, window.high))
            if overlap is None:
                continue
            if overlap.low is not None and overlap.high is not None and overlap.low.version == overlap.high.version:
                point = overlap.low.version
                if specifier.contains(point, prereleases=allow_pre):
                    return True
            elif allow_pre or _holds_final_release(overlap):
                return True
    if any(specifier.contains(version, prereleases=allow_pre) for version in compiled.versions):
        return True
    # A non-PEP 440 listed version is admitted only by no specifier at all or by "===" with the same text.
    return any(not str(specifier) or all(c.operator == "===" and c.version == raw for c in specifier)
               for raw in compiled.raw_versions)


# --------------------------------------------------------------------------------------------------------------
# Fixes and descriptions


def smallest_fix(affected: Iterable[AffectedPackage], *, at_least: str | None = None) -> str | None:
    """The smallest ``fixed`` version (from any entry) that none of the entries affects, or None.

    ``at_least`` (a version) restricts the candidates to that version and above: pass the installed version to
    get an upgrade, or a specifier's lower bound. A version after a ``last_affected`` bound is not a known
    release, so such windows give no candidate.
    """
    entries = [compile_affected(entry) for entry in affected]
    floor = parse_version(at_least) if at_least is not None else None
    candidates = sorted({bound.version: bound for entry in entries for bound in entry.fixed}.values(),
                        key=lambda b: b.version)
    for bound in candidates:
        if floor is not None and bound.version < floor:
            continue
        if not any(_affects(entry, bound.version, bound.text) for entry in entries):
            return bound.text
    return None


def fixed_versions(affected: Iterable[AffectedPackage]) -> tuple[Bound, ...]:
    """Every valid ``fixed`` event of the entries, smallest first, one per version."""
    found = {bound.version: bound for entry in affected for bound in compile_affected(entry).fixed}
    return tuple(sorted(found.values(), key=lambda b: b.version))


def _version_text_key(text: str) -> tuple[int, Version, str]:
    version = parse_version(text)
    return (0, version, text) if version is not None else (1, _ZERO, text)


def describe_range(affected: AffectedPackage) -> str:
    """A human range such as ``>=2.0,<2.0.3; >=2.1,<=2.1.4``, or the listed versions when there is no range."""
    compiled = compile_affected(affected)
    if compiled.windows:
        text = "; ".join(dict.fromkeys(window.describe() for window in compiled.windows))
    elif compiled.version_texts:
        ordered = sorted(dict.fromkeys(compiled.version_texts), key=_version_text_key)
        shown = ", ".join(f"=={t}" for t in ordered[:_DESCRIBED_VERSIONS])
        more = len(ordered) - _DESCRIBED_VERSIONS
        text = shown + (f" (+{more} more)" if more > 0 else "")
    else:
        text = "no versions"
    if compiled.ignored:
        text += " (not PEP 440, ignored: " + ", ".join(repr(t[:40]) for t in compiled.ignored[:3]) + ")"
    return text
