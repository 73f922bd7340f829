"""Configuration and the policy gate.

Configuration comes from ``mlwarden.toml`` (top-level keys) or ``[tool.mlwarden]`` in ``pyproject.toml``:

    fail_on = "high"                      # gate level
    skip = ["tests/fixtures/**"]          # path globs never scanned
    trusted_callables = ["mypkg.layers.MyBlock", "mypkg.*"]
    baseline = "mlwarden-baseline.json"   # findings recorded there do not fail the gate
    [[ignore]]                            # ([[tool.mlwarden.ignore]] in pyproject.toml)
    rule = "MW-PKL-002"
    path = "legacy/*.pkl"
    reason = "vetted by the ML platform team, 2026-10"
    [severity]
    "MW-HF-002" = "low"
    scanners = ["models", "deps", "code", "notebooks", "secrets", "pii"]   # which scanners run (default: all)
    advisory_max_age_days = 30            # warn (MW-DEP-006) when the advisory database is older
    [trust]                               # who may sign the models loaded and served (docs/signing.md)
    trusted_keys = ["<sha256 fingerprint of the signer's public key>"]

Binaries cannot carry inline ignores, so every ignore names a path glob and a rule, with a reason. Unknown keys
are errors (a typo must not silently disable a check). This module reads files only to load configuration and
baselines; it never touches scanned content.
"""

from __future__ import annotations

import fnmatch
import json
import os
import tempfile
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mlwarden.core.errors import ConfigError
from mlwarden.core.findings import Finding, Severity
from mlwarden.core.rules import CATALOGUE

BASELINE_SCHEMA = "mlwarden-baseline/1"
# The scanners of one ``mlwarden scan`` run, selectable with --only / --skip and the ``scanners`` key.
SCANNERS: tuple[str, ...] = ("models", "deps", "code", "notebooks", "secrets", "pii")
CONFIG_FILE = "mlwarden.toml"


class IgnoreEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: str = Field(description="rule id or glob, e.g. MW-PKL-002 or MW-HF-*")
    path: str = Field(default="*", description="path glob, matched against the reported path")
    reason: str = Field(min_length=1, description="why this is acceptable; required")

    @field_validator("rule")
    @classmethod
    def _known_rule(cls, value: str) -> str:
        if not any(ch in value for ch in "*?[") and value not in CATALOGUE:
            raise ValueError(f"unknown rule '{value}' (run 'mlwarden rules')")
        return value

    def matches(self, finding: Finding) -> bool:
        return fnmatch.fnmatchcase(finding.rule_id, self.rule) and _path_matches(finding.location.path, self.path)


class ConfigModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    fail_on: Severity = Severity.HIGH
    skip: tuple[str, ...] = ()
    trusted_callables: tuple[str, ...] = ()
    baseline: str | None = None
    ignore: tuple[IgnoreEntry, ...] = ()
    severity: dict[str, Severity] = Field(default_factory=dict)
    scanners: tuple[str, ...] = SCANNERS
    advisory_max_age_days: int = Field(default=30, ge=1, le=3650)
    # The trust policy for signed models ([trust]); validated by mlwarden.integrity.policy.TrustPolicy.
    trust: dict[str, Any] | None = None

    @field_validator("trust")
    @classmethod
    def _valid_trust(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            from mlwarden.integrity.policy import TrustPolicy

            TrustPolicy.model_validate(value)  # the same rules as a policy file: errors name the key
        return value

    @field_validator("scanners")
    @classmethod
    def _known_scanners(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if name not in SCANNERS:
                raise ValueError(f"unknown scanner '{name}' (use {', '.join(SCANNERS)})")
        return value

    @field_validator("fail_on", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("severity", mode="before")
    @classmethod
    def _lower_map(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for rule in value:
                if rule not in CATALOGUE:
                    raise ValueError(f"unknown rule '{rule}' (run 'mlwarden rules')")
            return {k: v.lower() if isinstance(v, str) else v for k, v in value.items()}
        return value

    @field_validator("trusted_callables")
    @classmethod
    def _dotted(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            if "." not in item or item.startswith(".") or " " in item:
                raise ValueError(f"'{item}' is not 'module.name' or 'module.*'")
        return value


@dataclass(frozen=True, slots=True)
class Config:
    """The effective configuration of a run; ``source`` is the file it came from (None: defaults)."""

    model: ConfigModel = field(default_factory=ConfigModel)
    source: Path | None = None

    @property
    def base_dir(self) -> Path:
        return self.source.parent if self.source else Path.cwd()

    @property
    def fail_on(self) -> Severity:
        return self.model.fail_on

    def with_fail_on(self, level: Severity) -> Config:
        return replace(self, model=self.model.model_copy(update={"fail_on": level}))

    def trust_policy(self) -> Any:
        """The ``[trust]`` table as a ``TrustPolicy``, or None when the configuration has none."""
        if self.model.trust is None:
            return None
        from mlwarden.integrity.policy import trust_policy_from_mapping

        return trust_policy_from_mapping(self.model.trust, source=str(self.source or "configuration"))

    def baseline_path(self) -> Path | None:
        if self.model.baseline is None:
            return None
        return (self.base_dir / self.model.baseline).resolve()


def _path_matches(path: str, pattern: str) -> bool:
    """Glob match on POSIX paths; ``**/`` also matches zero folders, and a pattern without a slash matches
    the base name anywhere (like .gitignore)."""
    path = path.replace("\\", "/").removeprefix("./")
    if fnmatch.fnmatchcase(path, pattern):
        return True
    if pattern.startswith("**/") and fnmatch.fnmatchcase(path, pattern[3:]):
        return True
    if "/" not in pattern:
        return fnmatch.fnmatchcase(path.rsplit("/", 1)[-1], pattern)
    return False


def is_skipped(rel_path: str, patterns: Iterable[str]) -> bool:
    for pattern in patterns:
        bare = pattern.rstrip("/")
        if _path_matches(rel_path, bare) or _path_matches(rel_path, bare + "/**"):
            return True
    return False


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror}; check the path") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML ({exc}); fix the syntax") from None


def parse_config(data: dict[str, Any], source: Path | None) -> Config:
    try:
        return Config(ConfigModel.model_validate(data), source)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "config"
        name = source.name if source else "configuration"
        raise ConfigError(f"{name}: '{where}': {err['msg']}; fix it or see docs/configuration.md") from None


def load_config(explicit: Path | None = None, start: Path | None = None) -> Config:
    """Load ``explicit``, or discover mlwarden.toml / pyproject.toml [tool.mlwarden] from ``start`` upwards."""
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"config file {explicit} does not exist; check --config")
        data = _read_toml(explicit)
        if explicit.name == "pyproject.toml":
            data = data.get("tool", {}).get("mlwarden", {})
        return parse_config(data, explicit.resolve())
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_FILE
        if candidate.is_file():
            return parse_config(_read_toml(candidate), candidate)
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            section = _read_toml(pyproject).get("tool", {}).get("mlwarden")
            if section is not None:
                return parse_config(section, pyproject)
        if (folder / ".git").exists():
            break
    return Config()


# --- baselines -------------------------------------------------------------------------------------------

def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename: never half-written."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        from mlwarden.core.errors import InputError

        raise InputError(f"cannot write {path}: folder {folder} does not exist; create it first")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def baseline_document(findings: Iterable[Finding], tool_version: str) -> str:
    entries = sorted({(f.fingerprint, f.rule_id, f.location.path) for f in findings})
    doc = {
        "schema": BASELINE_SCHEMA,
        "tool_version": tool_version,
        "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "findings": [{"fingerprint": fp, "rule_id": rule, "path": path} for fp, rule, path in entries],
    }
    return json.dumps(doc, indent=2) + "\n"


def load_baseline(path: Path) -> frozenset[str]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"baseline {path} does not exist; create it with 'mlwarden scan --write-baseline {path}'"
                          ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"baseline {path} is unreadable ({exc}); recreate it with --write-baseline") from None
    if not isinstance(doc, dict) or doc.get("schema") != BASELINE_SCHEMA or not isinstance(doc.get("findings"), list):
        raise ConfigError(f"{path} is not an mlwarden baseline; recreate it with --write-baseline")
    return frozenset(str(e.get("fingerprint")) for e in doc["findings"] if isinstance(e, dict))


# --- applying policy -------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class PolicyOutcome:
    active: list[Finding]
    suppressed: list[Finding]


def apply_policy(findings: Iterable[Finding], config: Config, baseline: frozenset[str] = frozenset()
                 ) -> PolicyOutcome:
    """Severity overrides first, then ignores (with their reason), then the baseline."""
    active: list[Finding] = []
    suppressed: list[Finding] = []
    overrides = config.model.severity
    for finding in findings:
        if finding.rule_id in overrides:
            finding = finding.with_severity(overrides[finding.rule_id])
        if finding.suppressed is not None:  # waived in the file itself (# mlwarden: ignore[...] reason)
            suppressed.append(finding)
            continue
        reason = next((f"ignored: {e.reason}" for e in config.model.ignore if e.matches(finding)), None)
        if reason is None and finding.fingerprint in baseline:
            reason = "in baseline"
        if reason is None:
            active.append(finding)
        else:
            suppressed.append(replace(finding, suppressed=reason))
    return PolicyOutcome(active, suppressed)


def exit_code(findings: Iterable[Finding], fail_on: Severity) -> int:
    """The gate: 1 when any active finding is at or above ``fail_on``, else 0. (2 is for usage errors.)"""
    return 1 if any(f.severity.rank >= fail_on.rank for f in findings) else 0
