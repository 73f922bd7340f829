"""Catalogue entries for model signatures: what a verification found (tampering, bad signatures)."""

from __future__ import annotations

from mlwarden.core.rule import Rule

INTEGRITY_RULES: tuple[Rule, ...] = ()
