"""The shape of one catalogue rule. Data only: the rules themselves live in ``rules.py`` and ``rules_*.py``."""

from __future__ import annotations

from dataclasses import dataclass

from mlwarden.core.findings import Severity


@dataclass(frozen=True, slots=True)
class Rule:
    rule_id: str
    title: str
    severity: Severity
    description: str
    remediation: str
    references: tuple[str, ...] = ()
    # Which capability emits it: artifact, engine, dependency, code, notebook, config, secret.
    area: str = "artifact"
