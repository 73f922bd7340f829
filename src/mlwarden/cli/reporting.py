"""Writing a Report where the user asked: rendered to standard output, or atomically to ``--output``.

Shared by the commands that produce reports (scan, verify, pii scan), and the one text-or-JSON ``--format`` of
the commands that print listings (db status, registry); no other logic lives here.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlwarden.core.report import Report


class TextOrJson(StrEnum):
    """``--format`` of the commands that print a status or listing rather than a findings report."""

    text = "text"
    json = "json"


def emit_report(report: Report, fmt: str, output: Path | None) -> None:
    """Terminal reports follow the real terminal's colours and width; files and other formats are plain."""
    from mlwarden.core.policy import write_atomic
    from mlwarden.render import render

    if output is None:
        text = render(report, fmt, color=None if fmt == "terminal" else False)
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        write_atomic(output, render(report, fmt, color=False))
