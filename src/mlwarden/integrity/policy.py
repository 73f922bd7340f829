"""The trust policy, and the one function that decides whether a verified model may be used.

A signature that verifies proves only that somebody holding a key signed these bytes. ``evaluate`` decides whether
that is enough: the signer must be trusted (a key fingerprint, or a certificate subject and issuer), the
algorithms allowed, the signature young enough, ``required_signatures`` distinct trusted signers must have signed
the same model, and every file the signature does not cover is denied, or (only with ``allow_unsigned_files``)
scanned with the model scanner, where anything at high or above still denies. The CLI, the guarded loader and the
gateway all call ``evaluate``; none of them re-implements a part of it.

The policy lives in a ``[trust]`` table (a policy file or ``mlwarden.toml``) or in ``[tool.mlwarden.trust]`` of
``pyproject.toml``::

    [trust]
    trusted_keys = [{ fingerprint = "4f1c...e2", name = "release key" }]   # or plain fingerprint strings
    trusted_certificates = [{ subject = "CN=ML Release,O=Example", issuer = "CN=Example CA,O=Example" }]
    algorithms = ["ecdsa-p256-sha256", "ecdsa-p384-sha384", "ed25519"]   # ml-dsa-65 only when listed
    hash_algorithms = ["sha256", "blake2b", "blake3"]
    required_signatures = 1              # k distinct trusted signers over the same model
    max_signature_age_days = 365         # unset: no age limit; set: an unknown age denies (the time comes from
                                         # the verdict, else the signing registry, else a certificate's notBefore
                                         # bounds it)
    allow_unsigned_files = false         # true: extra files are allowed but always scanned
    ignore_paths = []                    # globs exempt from signature coverage (never from the scan)

This module never trusts a signature the verifier did not verify, never lets an unsigned file through unscanned,
never loads or imports model files (the model scanner reads them without loading), and reads no file but the
policy file and, through the scanner, the unsigned files themselves. Unknown keys are errors: a typo must not
silently weaken the policy.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from mlwarden.core.errors import ConfigError, MlwardenError, UsageError
from mlwarden.core.findings import Finding, Location, Severity
from mlwarden.core.rules import make_finding
from mlwarden.integrity.model import HashAlgorithm, SignatureAlgorithm, SignatureVerdict

__all__ = [
    "DEFAULT_HASH_ALGORITHMS",
    "DEFAULT_SIGNATURE_ALGORITHMS",
    "PolicyDecision",
    "SigningTimes",
    "TrustPolicy",
    "TrustedCertificate",
    "TrustedKey",
    "evaluate",
    "load_trust_policy",
    "trust_policy_from_mapping",
]

# The OMS v1.0 signing algorithms. ML-DSA-65 (FIPS 204) is an mlwarden extension that other OMS verifiers do not
# accept, so a policy admits it only when it lists it.
DEFAULT_SIGNATURE_ALGORITHMS: tuple[SignatureAlgorithm, ...] = ("ecdsa-p256-sha256", "ecdsa-p384-sha384", "ed25519")
DEFAULT_HASH_ALGORITHMS: tuple[HashAlgorithm, ...] = ("sha256", "blake2b", "blake3")
# A policy file is a few hundred bytes; anything near this is not a policy (and tomllib recurses on nesting).
MAX_POLICY_FILE_BYTES = 1024 * 1024
# k of n beyond this is a typo, not a signing ceremony.
MAX_REQUIRED_SIGNATURES = 64
# Clocks differ between the signer and the verifier; a signature dated slightly in the future is still fine.
CLOCK_SKEW = timedelta(minutes=5)
# An unsigned file whose scan finds anything at this level or above is denied (the issue: "any finding >= high").
UNSIGNED_SCAN_DENY_LEVEL = Severity.HIGH
# Difference kinds that leave a file on disk whose content no signature vouches for: scanned when let through.
_UNCOVERED_CONTENT = frozenset({"added", "modified"})
_HEX_FINGERPRINT = re.compile(r"[0-9a-f]{64}")
_MAX_PATTERN_CHARS = 1024
_MAX_TIME_CHARS = 64


# --- the policy ------------------------------------------------------------------------------------------------

class TrustedKey(BaseModel):
    """A signer trusted by its public key: the SHA-256 of the DER SubjectPublicKeyInfo, as ``mlwarden`` prints
    it (64 hex digits; ``sha256:`` prefixes and ``:`` separators are accepted and dropped)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fingerprint: str = Field(max_length=200)
    name: str | None = Field(default=None, min_length=1, max_length=200)

    @field_validator("fingerprint")
    @classmethod
    def _hex_sha256(cls, value: str) -> str:
        text = value.strip().lower().removeprefix("sha256:").replace(":", "")
        if not _HEX_FINGERPRINT.fullmatch(text):
            raise ValueError("a key fingerprint is 64 hex digits: the SHA-256 of the DER public key, as "
                             "'mlwarden verify' prints it")
        return text

    @property
    def label(self) -> str:
        return f"{self.name} ({self.fingerprint[:16]})" if self.name else self.fingerprint[:16]


class TrustedCertificate(BaseModel):
    """A signer trusted by its certificate: subject and issuer, both required (a subject alone is worthless: anyone
    can issue a certificate with any subject). RFC 4514 strings, or a Sigstore identity and OIDC issuer URL.

    Patterns match exactly, or as globs where ``*`` (any run) and ``?`` (one character) never cross an RDN
    separator (an unescaped ``,`` or ``+``), so ``CN=*,O=Example`` cannot match ``CN=x,O=Evil,O=Example``.
    There are no character classes: ``[`` is literal. Matching is case-sensitive.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    subject: str = Field(min_length=1, max_length=_MAX_PATTERN_CHARS)
    issuer: str = Field(min_length=1, max_length=_MAX_PATTERN_CHARS)
    name: str | None = Field(default=None, min_length=1, max_length=200)

    @field_validator("subject", "issuer")
    @classmethod
    def _not_only_wildcards(cls, value: str) -> str:
        if not value.strip("*? "):
            raise ValueError("a pattern of wildcards alone trusts everyone; name the subject or issuer")
        return value

    def matches(self, subject: str, issuer: str) -> bool:
        return _identity_glob(self.issuer).fullmatch(issuer) is not None and \
            _identity_glob(self.subject).fullmatch(subject) is not None

    @property
    def label(self) -> str:
        return self.name or self.subject


class TrustPolicy(BaseModel):
    """Which signatures make a model acceptable. The defaults trust nobody: every model is denied until a key or
    certificate is listed (deny by default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    trusted_keys: tuple[TrustedKey, ...] = ()
    trusted_certificates: tuple[TrustedCertificate, ...] = ()
    algorithms: tuple[SignatureAlgorithm, ...] = Field(default=DEFAULT_SIGNATURE_ALGORITHMS, min_length=1)
    hash_algorithms: tuple[HashAlgorithm, ...] = Field(default=DEFAULT_HASH_ALGORITHMS, min_length=1)
    # Strict types: "yes" or 1 must not quietly switch off a security check.
    allow_unsigned_files: StrictBool = False
    scan_unsigned_files: StrictBool = True
    max_signature_age_days: StrictInt | None = Field(default=None, ge=1, le=36_500)
    required_signatures: StrictInt = Field(default=1, ge=1, le=MAX_REQUIRED_SIGNATURES)
    ignore_paths: tuple[str, ...] = ()

    @field_validator("trusted_keys", mode="before")
    @classmethod
    def _plain_fingerprints(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return [{"fingerprint": item} if isinstance(item, str) else item for item in value]
        return value

    @field_validator("scan_unsigned_files")
    @classmethod
    def _always_scanned(cls, value: bool) -> bool:
        if not value:
            raise ValueError("cannot be false: unsigned files that the policy lets through are always scanned; "
                             "remove the key")
        return value

    @field_validator("ignore_paths")
    @classmethod
    def _relative_globs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            if not pattern.strip("*?/ "):
                raise ValueError(f"'{pattern}' would exempt every file from the signature; list the files")
            if pattern.startswith("/") or "\\" in pattern or ".." in PurePosixPath(pattern).parts:
                raise ValueError(f"'{pattern}' is not a POSIX path glob relative to the model folder")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> TrustPolicy:
        fingerprints = [key.fingerprint for key in self.trusted_keys]
        if len(fingerprints) != len(set(fingerprints)):
            raise ValueError("trusted_keys lists the same fingerprint twice; keep one entry per key")
        # Certificate patterns can match many signers, so the bound is checkable only for keys alone.
        if self.trusted_keys and not self.trusted_certificates and self.required_signatures > len(self.trusted_keys):
            raise ValueError(f"required_signatures is {self.required_signatures} but only "
                             f"{len(self.trusted_keys)} keys are trusted; no model could ever pass")
        return self

    def trusted_name(self, *, key_fingerprint: str, method: str, subject: str | None, issuer: str | None
                     ) -> str | None:
        """The trust entry's label when this signer is trusted, else None."""
        fingerprint = key_fingerprint.lower()
        for key in self.trusted_keys:
            if key.fingerprint == fingerprint:
                return key.label
        # Only certificate-based signers have a subject the verifier checked against a chain; a bare key has none.
        if method in ("certificate", "sigstore") and subject is not None and issuer is not None:
            for certificate in self.trusted_certificates:
                if certificate.matches(subject, issuer):
                    return certificate.label
        return None


def _identity_glob(pattern: str) -> re.Pattern[str]:
    """Compile a subject/issuer pattern: ``*`` and ``?`` stay within one RDN, ``\\x`` is a literal pair."""
    parts: list[str] = []
    one = r"(?:[^,+\\]|\\.)"
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            parts.append(re.escape(pattern[index:index + 2]))
            index += 2
            continue
        parts.append(one + "*" if char == "*" else one if char == "?" else re.escape(char))
        index += 1
    return re.compile("".join(parts), re.DOTALL)


# --- loading ---------------------------------------------------------------------------------------------------

def trust_policy_from_mapping(data: Any, *, source: str = "trust policy") -> TrustPolicy:
    """Validate a parsed ``[trust]`` table. Every problem is a one-line ConfigError naming the key."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: [trust] must be a table of keys; see docs/configuration.md")
    try:
        return TrustPolicy.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in ("trust", *error["loc"]))
        message = str(error["msg"]).removeprefix("Value error, ").replace("\n", " ")
        raise ConfigError(f"{source}: '{where}': {message}; fix it or see docs/configuration.md") from None


def load_trust_policy(path: Path) -> TrustPolicy:
    """Read the ``[trust]`` table of a policy file or ``mlwarden.toml``, or ``[tool.mlwarden.trust]`` of a
    ``pyproject.toml``. A missing, oversized, malformed or invalid file is a one-line ConfigError."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"trust policy {path} is not a regular file; give the policy's TOML file")
        if info.st_size > MAX_POLICY_FILE_BYTES:
            raise ConfigError(f"trust policy {path} is {info.st_size} bytes, more than a policy can be "
                              f"({MAX_POLICY_FILE_BYTES}); check the path")
        with path.open("rb") as handle:
            raw = handle.read(MAX_POLICY_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"trust policy {path} does not exist; check the path given with --policy") from None
    except OSError as exc:
        raise ConfigError(f"cannot read trust policy {path}: {exc.strerror}; check the path and permissions"
                          ) from None
    if len(raw) > MAX_POLICY_FILE_BYTES:
        raise ConfigError(f"trust policy {path} grew past {MAX_POLICY_FILE_BYTES} bytes while reading; check it")
    try:
        document = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text; save the policy as UTF-8 TOML") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML ({exc}); fix the syntax") from None
    except RecursionError:  # tomllib recurses on nested arrays and inline tables
        raise ConfigError(f"{path} nests arrays or tables too deeply to be a policy; fix the file") from None
    if path.name == "pyproject.toml":
        tool = document.get("tool")
        section = tool.get("mlwarden") if isinstance(tool, dict) else None
        table = section.get("trust") if isinstance(section, dict) else None
        where = "[tool.mlwarden.trust]"
    else:
        table = document.get("trust")
        where = "[trust]"
    if table is None:
        raise ConfigError(f"{path} has no {where} table; add one (see docs/configuration.md)")
    return trust_policy_from_mapping(table, source=path.name)


# --- evaluation ------------------------------------------------------------------------------------------------

class SigningTimes(Protocol):
    """Where ``evaluate`` looks up when a signature was made if the verdict does not say (the signing registry)."""

    def signed_at(self, *, subject_digest: str, key_fingerprint: str) -> str | None: ...


@dataclass(frozen=True, slots=True)
class PolicyDecision:
    """The answer: ``allowed`` is the gate. ``findings`` explain every denial (rules MW-TRUST-*, plus what the
    model scanner found in unsigned files); when ``allowed``, no finding is at high or above. ``trusted_signers``
    are the key fingerprints of the distinct trusted signers that were counted; ``reasons`` are short sentences
    for people and logs."""

    allowed: bool
    findings: tuple[Finding, ...] = ()
    trusted_signers: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()


@dataclass(slots=True)
class _Assessment:
    """What the policy makes of one verdict."""

    verdict: SignatureVerdict
    usable_problem: str | None = None  # why the signature cannot count at all (failed verification)
    trusted_as: str | None = None
    rejections: list[tuple[str, str]] = field(default_factory=list)  # (rule id, message)
    uncovered: tuple[str, ...] = ()  # added files, outside ignore_paths
    exempt: tuple[str, ...] = ()  # added or modified files under ignore_paths: scanned, never denied for this

    @property
    def counted(self) -> bool:
        return self.usable_problem is None and not self.rejections

    @property
    def group(self) -> tuple[str, str]:
        manifest = self.verdict.manifest
        return (manifest.subject_algorithm, manifest.subject_digest) if manifest else ("", "")


def evaluate(policy: TrustPolicy, verdicts: Sequence[SignatureVerdict], *, model: Path,
             now: datetime | None = None, signing_times: SigningTimes | None = None) -> PolicyDecision:
    """Decide whether the model at ``model``, with these verification verdicts (one per signature file), may be
    used under ``policy``.

    ``now`` (timezone-aware) defaults to the current time; ``signing_times`` (the signing registry) supplies a
    signing time when a verdict has none. Unsigned files are scanned here, with the model scanner, only when the
    policy lets them through.
    """
    when = datetime.now(UTC) if now is None else now
    if when.tzinfo is None:
        raise UsageError("evaluate(now=...) needs a timezone-aware datetime, e.g. datetime.now(UTC)")
    assessments = [_assess(policy, verdict, when, signing_times) for verdict in verdicts]
    reasons: list[str] = []
    for item in assessments:
        reasons.append(_assessment_reason(item))

    counted, group = _count_distinct_signers(assessments)
    enough = len(counted) >= policy.required_signatures
    deciding = [a for a in assessments if a.usable_problem is None and (not enough or a.group == group)]
    uncovered = sorted({path for a in deciding for path in a.uncovered})
    exempt = sorted({path for a in deciding for path in a.exempt} - set(uncovered))

    findings: list[Finding] = []
    signature_findings: list[Finding] = []
    model_text = model.as_posix()
    for item in assessments:
        for rule_id, message in item.rejections:
            signature_findings.append(make_finding(
                rule_id, Location(item.verdict.signature_path), message, scanner="trust",
                evidence=_signer_text(item.verdict), data=_signer_data(item.verdict)))
    if not enough:
        findings.append(make_finding(
            "MW-TRUST-003", Location(model_text),
            f"{len(counted)} of {policy.required_signatures} required trusted signatures "
            f"({len(verdicts)} signature{'s' if len(verdicts) != 1 else ''} checked)",
            scanner="trust", evidence="; ".join(reasons) or "the model has no signature",
            data={"required": policy.required_signatures, "counted": len(counted),
                  "signatures": [_assessment_data(a) for a in assessments]}))
        reasons.append(f"denied: {len(counted)} of {policy.required_signatures} required trusted signatures")
    else:
        reasons.append(f"{len(counted)} of {policy.required_signatures} required trusted signatures")

    file_findings, files_denied = _judge_unsigned_files(policy, model, uncovered, exempt, reasons)
    allowed = enough and not files_denied
    if allowed:  # the extra signatures did not matter: keep them visible, below the gate
        signature_findings = [f.with_severity(Severity.LOW) for f in signature_findings]
    findings[:0] = signature_findings
    findings.extend(file_findings)
    reasons.append("allowed" if allowed else "denied")
    return PolicyDecision(allowed=allowed, findings=tuple(findings), trusted_signers=tuple(counted),
                          reasons=tuple(reasons))


def _assess(policy: TrustPolicy, verdict: SignatureVerdict, now: datetime, signing_times: SigningTimes | None
            ) -> _Assessment:
    item = _Assessment(verdict)
    signer, manifest = verdict.signer, verdict.manifest
    if not verdict.signature_ok or verdict.problems or signer is None or manifest is None:
        item.usable_problem = "; ".join(verdict.problems) or "the signature did not verify"
        return item
    exempt: list[str] = []
    uncovered: list[str] = []
    broken: list[str] = []
    for difference in verdict.differences:
        if difference.kind in _UNCOVERED_CONTENT and _is_ignored(difference.path, policy.ignore_paths):
            exempt.append(difference.path)
        elif difference.kind == "added":
            uncovered.append(difference.path)
        else:
            broken.append(f"{difference.kind} {difference.path}")
    if broken:
        item.usable_problem = "the model differs from what was signed: " + ", ".join(broken[:5]) + \
            (f" and {len(broken) - 5} more" if len(broken) > 5 else "")
        return item
    item.uncovered, item.exempt = tuple(uncovered), tuple(exempt)

    if signer.algorithm not in policy.algorithms:
        item.rejections.append(("MW-TRUST-002", f"signing algorithm '{signer.algorithm}' is not allowed "
                                                f"(allowed: {', '.join(policy.algorithms)})"))
    if manifest.settings.hash_type not in policy.hash_algorithms:
        item.rejections.append(("MW-TRUST-002", f"hash algorithm '{manifest.settings.hash_type}' is not allowed "
                                                f"(allowed: {', '.join(policy.hash_algorithms)})"))
    item.trusted_as = policy.trusted_name(key_fingerprint=signer.key_fingerprint, method=signer.method,
                                          subject=signer.subject, issuer=signer.issuer)
    if item.trusted_as is None:
        who = f"key {signer.key_fingerprint[:16]}"
        if signer.subject is not None:
            who += f", subject '{signer.subject}', issuer '{signer.issuer}'"
        item.rejections.append(("MW-TRUST-001", f"signer ({who}) is not in the trust policy"))
    if policy.max_signature_age_days is not None:
        problem = _age_problem(verdict, policy.max_signature_age_days, now, signing_times)
        if problem is not None:
            item.rejections.append(("MW-TRUST-004", problem))
    return item


def _is_ignored(path: str, patterns: Sequence[str]) -> bool:
    if not patterns:
        return False
    from mlwarden.core.policy import is_skipped  # lazy: core.policy is configuration, loaded only when needed

    return is_skipped(path, patterns)


def _age_problem(verdict: SignatureVerdict, max_days: int, now: datetime, signing_times: SigningTimes | None
                 ) -> str | None:
    text = verdict.signed_at
    source = "signature"
    if text is None and signing_times is not None and verdict.signer and verdict.manifest:
        source = "signing registry"
        try:
            text = signing_times.signed_at(subject_digest=verdict.manifest.subject_digest,
                                           key_fingerprint=verdict.signer.key_fingerprint)
        except MlwardenError as exc:
            return f"signing time unknown: the signing registry could not be read ({exc})"
    if text is None:
        return _age_from_certificate(verdict, max_days, now)
    signed = _parse_time(text)
    if signed is None:
        return f"signing time '{text[:_MAX_TIME_CHARS]}' from the {source} is not an RFC 3339 time"
    if signed > now + CLOCK_SKEW:
        return f"signed at {_utc_text(signed)}, in the future (now {_utc_text(now)})"
    age = now - signed
    if age > timedelta(days=max_days):
        return f"signed at {_utc_text(signed)}, {age.days} days ago (max_signature_age_days is {max_days})"
    return None


def _age_from_certificate(verdict: SignatureVerdict, max_days: int, now: datetime) -> str | None:
    """Without a signing time, a certificate still bounds the age: nobody signs with a certificate before it is
    valid, so ``now - not_before`` is the oldest the signature can be. Young enough by that bound is young enough;
    otherwise the age stays unknown (deny)."""
    issued = _parse_time(verdict.signer.not_before) if verdict.signer and verdict.signer.not_before else None
    if issued is not None and timedelta(0) <= now - issued <= timedelta(days=max_days):
        return None
    unknown = (f"signing time unknown (max_signature_age_days is {max_days}): the signature carries no time and "
               "no signing registry records it")
    if issued is not None:
        unknown += f"; its certificate dates from {_utc_text(issued)}, which does not bound the age enough"
    return unknown


def _parse_time(text: str) -> datetime | None:
    if len(text) > _MAX_TIME_CHARS:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:  # RFC 3339 requires an offset; guessing one would shift the age by hours
        return None
    return parsed.astimezone(UTC)


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _count_distinct_signers(assessments: Sequence[_Assessment]) -> tuple[list[str], tuple[str, str]]:
    """The largest set of distinct trusted signers over one subject digest, and that digest.

    Distinct means a different key *and* a different certificate identity: one key certified twice, or one
    identity with two keys, is one signer. Greedy in verdict order; it can only undercount, which denies.
    """
    best: list[str] = []
    best_group: tuple[str, str] = ("", "")
    groups: dict[tuple[str, str], list[_Assessment]] = {}
    for item in assessments:
        if item.counted:
            groups.setdefault(item.group, []).append(item)
    for group, members in groups.items():
        keys: list[str] = []
        identities: set[tuple[str, str]] = set()
        for item in members:
            signer = item.verdict.signer
            assert signer is not None  # counted implies a signer
            fingerprint = signer.key_fingerprint.lower()
            identity = (signer.issuer or "", signer.subject or "") if signer.subject is not None else None
            if fingerprint in keys or (identity is not None and identity in identities):
                continue
            keys.append(fingerprint)
            if identity is not None:
                identities.add(identity)
        if len(keys) > len(best):
            best, best_group = keys, group
    return best, best_group


def _judge_unsigned_files(policy: TrustPolicy, model: Path, uncovered: Sequence[str], exempt: Sequence[str],
                          reasons: list[str]) -> tuple[list[Finding], bool]:
    """Deny files no signature covers, or (allow_unsigned_files) scan them; files under ignore_paths are scanned
    too. Returns the findings and whether any of them denies."""
    findings: list[Finding] = []
    denied = False
    to_scan: list[str] = []
    for rel in uncovered:
        where = Location(_model_file(model, rel))
        if not _is_inside(rel):
            findings.append(make_finding("MW-TRUST-005", where, f"unsigned file '{rel}' names a path outside the "
                                         "model folder", scanner="trust", data={"file": rel}))
            reasons.append(f"denied: unsigned file {rel} is outside the model folder")
            denied = True
        elif not policy.allow_unsigned_files:
            findings.append(make_finding("MW-TRUST-005", where, f"'{rel}' is not covered by the signature and "
                                         "allow_unsigned_files is false", scanner="trust", data={"file": rel}))
            reasons.append(f"denied: unsigned file {rel}")
            denied = True
        else:
            findings.append(make_finding("MW-TRUST-005", where, f"'{rel}' is not covered by the signature; "
                                         "allowed by allow_unsigned_files and scanned", scanner="trust",
                                         severity=Severity.INFO, data={"file": rel}))
            reasons.append(f"unsigned file {rel} allowed by allow_unsigned_files; scanned")
            to_scan.append(rel)
    to_scan.extend(rel for rel in exempt if _is_inside(rel))
    if to_scan:
        scan_findings, failures = _scan_files(model, to_scan)
        findings.extend(scan_findings)
        for rel, worst in failures.items():
            findings.append(make_finding("MW-TRUST-006", Location(_model_file(model, rel)),
                                         f"unsigned file '{rel}' failed the model scan: {worst}", scanner="trust",
                                         data={"file": rel}))
            reasons.append(f"denied: unsigned file {rel} failed the model scan ({worst})")
            denied = True
    return findings, denied


def _is_inside(rel: str) -> bool:
    pure = PurePosixPath(rel)
    return bool(rel) and not pure.is_absolute() and ".." not in pure.parts and "\\" not in rel and "\x00" not in rel


def _model_file(model: Path, rel: str) -> str:
    return os.path.normpath(os.path.join(os.fspath(model), rel)).replace(os.sep, "/")


def _scan_files(model: Path, relative: Sequence[str]) -> tuple[list[Finding], dict[str, str]]:
    """Scan these files with the model scanner (never loading them). Returns every finding and, per file that
    fails, the worst problem. A file that is gone, is not a regular file, or cannot be scanned fails."""
    from mlwarden.core.policy import Config
    from mlwarden.scanning.engine import scan_paths

    failures: dict[str, str] = {}
    paths: dict[str, str] = {}  # scanner display path -> relative path
    for rel in relative:
        full = _model_file(model, rel)
        try:
            mode = os.lstat(full).st_mode
        except OSError:
            failures[rel] = "the file cannot be read"
            continue
        if not stat.S_ISREG(mode):  # a link or device: the scanner would read something else than the loader
            failures[rel] = "not a regular file"
            continue
        paths[full] = rel
    if not paths:
        return [], failures
    try:
        # A fresh Config: the project's ignores, severity overrides and baseline must not waive a payload here.
        report = scan_paths(list(paths), config=Config(), scanners=["models"], jobs=1, use_baseline=False)
    except MlwardenError as exc:
        for rel in paths.values():
            failures[rel] = f"the scan could not run ({exc})"
        return [], failures
    # In-file waivers ("# mlwarden: ignore") are written by whoever wrote the file: they count as findings here.
    found = [*report.findings, *report.suppressed]
    for finding in sorted(found, key=lambda f: -f.severity.rank):
        owner = paths.get(finding.location.path)
        if owner is not None and finding.severity.rank >= UNSIGNED_SCAN_DENY_LEVEL.rank and owner not in failures:
            failures[owner] = f"{finding.rule_id} {finding.title} ({finding.severity.value})"
    return found, failures


def _signer_text(verdict: SignatureVerdict) -> str:
    return verdict.signer.describe() if verdict.signer is not None else "unknown signer"


def _signer_data(verdict: SignatureVerdict) -> dict[str, Any]:
    signer = verdict.signer
    data: dict[str, Any] = {"signature": verdict.signature_path}
    if signer is not None:
        data.update({"method": signer.method, "algorithm": signer.algorithm,
                     "key_fingerprint": signer.key_fingerprint, "subject": signer.subject,
                     "issuer": signer.issuer})
    if verdict.signed_at is not None:
        data["signed_at"] = verdict.signed_at
    return data


def _assessment_reason(item: _Assessment) -> str:
    name = item.verdict.signature_path
    if item.usable_problem is not None:
        return f"{name}: does not count: {item.usable_problem}"
    if item.rejections:
        return f"{name}: does not count: " + "; ".join(message for _, message in item.rejections)
    return f"{name}: valid, signed by trusted {item.trusted_as}"


def _assessment_data(item: _Assessment) -> dict[str, Any]:
    return {**_signer_data(item.verdict), "counted": item.counted,
            "reason": item.usable_problem or "; ".join(m for _, m in item.rejections) or None,
            "trusted_as": item.trusted_as}
