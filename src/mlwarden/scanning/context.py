"""What a scanner sees: the scan context (where am I, which limits apply, where do findings go) and the
``Scanner`` protocol every artifact scanner implements.

Scanners are pure analysis: they read the stream they are handed and report findings through the context.
They never open other files, never import or deserialize the content, and never raise on bad input: a parse
failure is raised as ``UnscannableError`` (which the dispatcher turns into an MW-FMT-001 finding) or reported
directly.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import BinaryIO, Protocol

from mlwarden.core.findings import Finding, Location, Severity
from mlwarden.core.limits import DEFAULT_LIMITS, Limits
from mlwarden.core.rules import make_finding


class UnscannableError(Exception):
    """Raised by a scanner when a file of its format cannot be parsed further. Not a user error."""

    def __init__(self, message: str, *, offset: int | None = None) -> None:
        super().__init__(message)
        self.offset = offset


@dataclass(frozen=True, slots=True)
class ScanOptions:
    limits: Limits = DEFAULT_LIMITS
    # Extra callables the user vouches for, as "module.qualname" or "module.*" (from the configuration).
    trusted_callables: frozenset[str] = frozenset()
    # Which scanners run (see mlwarden.core.policy.SCANNERS): models, deps, code, notebooks, secrets, pii.
    scanners: frozenset[str] = frozenset({"models", "deps", "code", "notebooks", "secrets", "pii"})


@dataclass(slots=True)
class ScanBudget:
    """Shared by a top-level file and everything nested inside it, so a bomb cannot multiply limits."""

    decompressed_bytes: int = 0
    members: int = 0
    exhausted: bool = False


class Scanner(Protocol):
    """An artifact scanner. ``stream`` is seekable, positioned at 0; ``ctx.size`` is its length in bytes."""

    name: str

    def scan(self, stream: BinaryIO, ctx: ScanContext) -> None: ...


@dataclass(slots=True)
class ScanContext:
    path: str
    size: int
    options: ScanOptions = field(default_factory=ScanOptions)
    member: str | None = None
    name: str = ""
    depth: int = 0
    # "generic" or "torch": set by the archive scanner for PyTorch checkpoints, inherited by children, so that
    # the pickle analyzer accepts PyTorch's storage persistent ids there and nowhere else.
    profile: str = "generic"
    findings: list[Finding] = field(default_factory=list)
    budget: ScanBudget = field(default_factory=ScanBudget)
    scanner: str = ""

    @property
    def limits(self) -> Limits:
        return self.options.limits

    def location(self, *, offset: int | None = None, line: int | None = None, column: int | None = None,
                 start: int | None = None, end: int | None = None) -> Location:
        return Location(path=self.path, member=self.member, offset=offset, line=line, column=column,
                        start=start, end=end)

    def report(self, rule_id: str, message: str, *, evidence: str | None = None, offset: int | None = None,
               line: int | None = None, column: int | None = None, severity: Severity | None = None) -> None:
        self.findings.append(make_finding(
            rule_id, self.location(offset=offset, line=line, column=column), message,
            evidence=evidence, severity=severity, scanner=self.scanner))

    def child(self, member_name: str, size: int, *, profile: str | None = None) -> ScanContext:
        chain = f"{self.member}!{member_name}" if self.member else member_name
        return ScanContext(path=self.path, size=size, options=self.options, member=chain,
                           name=member_name.rsplit("/", 1)[-1], depth=self.depth + 1,
                           profile=profile or self.profile, findings=self.findings, budget=self.budget)

    def scan_member(self, member_name: str, stream: BinaryIO, size: int, *, profile: str | None = None,
                    format_hint: str | None = None) -> None:
        """Identify a nested object (archive member, decompressed stream, embedded pickle) and scan it."""
        from mlwarden.scanning.dispatch import scan_stream

        if self.depth + 1 > self.limits.max_depth:
            self.report("MW-ARC-004", f"nesting deeper than {self.limits.max_depth} levels; "
                        f"'{member_name}' was not scanned", evidence=member_name)
            return
        scan_stream(stream, self.child(member_name, size, profile=profile), format_hint=format_hint)

    def scan_member_bytes(self, member_name: str, data: bytes, *, profile: str | None = None,
                          format_hint: str | None = None) -> None:
        self.scan_member(member_name, io.BytesIO(data), len(data), profile=profile, format_hint=format_hint)
