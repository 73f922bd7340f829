"""Inline suppression: ``# mlwarden: ignore[MW-CODE-001] reason`` on the line of a finding.

A reason is required, as for configuration ignores: a marker without one does not suppress. Several ids may be
given, comma-separated; ``*`` globs are not accepted inline (a line waives only what it names).
"""

from __future__ import annotations

import re

_MARKER = re.compile(r"#\s*mlwarden:\s*ignore\[(?P<ids>[A-Z0-9\-, ]+)\]\s*(?P<reason>\S.*)?$")


def inline_reason(line_text: str, rule_id: str) -> str | None:
    """The reason given on ``line_text`` for ignoring ``rule_id`` there, or None when it is not waived."""
    if "mlwarden" not in line_text:
        return None
    match = _MARKER.search(line_text)
    if match is None or not match.group("reason"):
        return None
    ids = {part.strip() for part in match.group("ids").split(",")}
    if rule_id not in ids:
        return None
    return match.group("reason").strip()
