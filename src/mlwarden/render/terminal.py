"""The terminal report: a header, the summary with the gate verdict, then the findings grouped by file.

Rendered with Rich into a string (the CLI writes it). Every string that came out of a scanned file is shown as
a ``rich.text.Text``, never as markup, so ``[bold]`` or ``:emoji:`` in a file name is printed literally, and it
goes through ``printable`` first, so an ANSI escape, a carriage return or a bidi override in evidence cannot
rewrite what the reader sees. This module must never feed hostile text to ``Console.print`` as a markup string.
"""

from __future__ import annotations

import re
from collections import Counter
from io import StringIO
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from mlwarden.core.findings import Finding, Severity
from mlwarden.core.report import Report
from mlwarden.render import human_size, location_parts, printable, shorten

# Colours by severity, worst first; the same scale as the HTML report.
SEVERITY_STYLES: dict[Severity, str] = {
    Severity.CRITICAL: "bold red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}
# Width used when the caller fixes colour on or off (files, CI logs): stable output, not the runner's terminal.
FIXED_WIDTH = 100
# A terminal is for reading; the JSON/HTML reports keep the full text.
EVIDENCE_LIMIT = 300
MESSAGE_LIMIT = 1000
SUPPRESSED_REASONS_SHOWN = 3
# Spaces at the end of a line, possibly followed by the SGR codes that close a style.
_TRAILING_BLANKS = re.compile(r" +((?:\x1b\[[0-9;]*m)*)$", re.MULTILINE)


def render_terminal(report: Report, *, color: bool | None = None, width: int | None = None) -> str:
    """Render ``report`` for a terminal.

    ``color=None`` follows the real standard output (colour and width when it is a terminal, honouring
    ``NO_COLOR``/``FORCE_COLOR``); True forces ANSI colour at ``width`` (default 100); False gives plain text.
    """
    buffer = StringIO()
    console = _console(buffer, color, width)
    for block in _blocks(report):
        console.print(block)
    # Rich pads table cells to the column width; trailing blanks only clutter logs and files.
    return _TRAILING_BLANKS.sub(r"\1", buffer.getvalue())


def _console(buffer: StringIO, color: bool | None, width: int | None) -> Console:
    if color is None:
        real = Console()  # reads the environment and stdout; writes nothing
        terminal, system, no_color, width = real.is_terminal, real.color_system, real.no_color, width or real.width
    elif color:
        terminal, system, no_color, width = True, "standard", False, width or FIXED_WIDTH
    else:
        terminal, system, no_color, width = False, None, True, width or FIXED_WIDTH
    # highlight=False and emoji=False: Rich must not restyle or substitute anything inside hostile text.
    return Console(file=buffer, width=width, force_terminal=terminal, color_system=system,  # type: ignore[arg-type]
                   no_color=no_color, highlight=False, emoji=False, soft_wrap=False, legacy_windows=False)


def _hostile(text: str, limit: int = MESSAGE_LIMIT) -> str:
    return printable(shorten(text, limit))


def _blocks(report: Report) -> list[RenderableType]:
    blocks: list[RenderableType] = [_header(report), _summary(report)]
    if report.dependency_audit is not None:
        blocks.append(_dependency_summary(report.dependency_audit))
    groups = report.by_path()
    if not groups:
        blocks.append(Text("No findings.", style="bold green"))
    for path, findings in groups.items():
        blocks.append(_file_block(path, findings))
    if report.suppressed:
        blocks.append(_suppressed_line(report.suppressed))
    return blocks


def _header(report: Report) -> Text:
    roots = ", ".join(_hostile(root, 200) for root in report.roots) or "(nothing)"
    header = Text.assemble(("mlwarden", "bold"), " ", _hostile(report.tool_version, 40), "  ·  scanned ", roots)
    if report.started_at:
        header.append(f"  ·  started {_hostile(report.started_at, 40)}", style="dim")
    return header


def _summary(report: Report) -> Group:
    stats = report.stats
    files = Text(f"{stats.files_seen} files seen, {stats.files_scanned} scanned "
                 f"({human_size(stats.bytes_seen)} in {stats.duration_s:.2f} s)")
    if stats.formats:
        formats = ", ".join(f"{_hostile(name, 40)} {count}" for name, count in sorted(stats.formats.items()))
        files.append(f"  ·  formats: {formats}", style="dim")

    counts = report.counts()
    tally = Text("Findings: ")
    for index, severity in enumerate(Severity):
        if index:
            tally.append(", ")
        number = counts[severity.value]
        tally.append(f"{number} {severity.value}", style=SEVERITY_STYLES[severity] if number else "dim")

    failing = len(report.failing())
    gate = report.fail_on.value
    if report.passed:
        verdict = Text.from_markup(f"[bold green]PASS[/]: nothing at or above {escape(gate)} (fail-on {gate})")
    else:
        verdict = Text.from_markup(f"[bold red]FAIL[/]: {failing} finding{'s' if failing != 1 else ''} at or "
                                   f"above {escape(gate)} (fail-on {gate})")
    return Group(files, tally, verdict, Text(""))


def _dependency_summary(audit: dict[str, Any]) -> Group:
    lines: list[RenderableType] = []
    database = audit.get("database")
    if database is None:
        lines.append(Text(f"Dependencies: {audit.get('dependencies', 0)} found, NOT audited: no advisory database "
                          "(run 'mlwarden db update' or 'mlwarden db import PATH')", style="yellow"))
    else:
        source = _hostile(str(database.get("source") or "?"), 80)
        snapshot = _hostile(str(database.get("snapshot_date") or "?"), 40)
        lines.append(Text(f"Dependencies: {audit.get('audited', 0)} audited against {database.get('records', 0)} "
                          f"advisories ({source}, newest {snapshot}); {audit.get('vulnerable', 0)} vulnerable"))
    stack = audit.get("ml_packages") or []
    if stack:
        lines.append(Text("ML stack: ", style="bold").append(", ".join(
            f"{_hostile(str(e['package']), 60)} {_hostile(str(e['version']), 30)}"
            + (f" ({e['vulnerabilities']} known vulnerabilit{'y' if e['vulnerabilities'] == 1 else 'ies'})"
               if e["vulnerabilities"] else "") for e in stack), style=""))
    upgrades = audit.get("upgrades") or []
    if upgrades:
        lines.append(Text("Minimal upgrade set: ", style="bold").append(", ".join(
            f"{_hostile(str(u['package']), 60)} {_hostile(str(u['current']), 30)} -> "
            f"{_hostile(str(u['target'] or 'no fixed version'), 30)}" for u in upgrades), style=""))
    lines.append(Text(""))
    return Group(*lines)


def _file_block(path: str, findings: list[Finding]) -> Group:
    title = Text.assemble((_hostile(path, 500), "bold underline"),
                          (f"  {len(findings)} finding{'s' if len(findings) != 1 else ''}", "dim"))
    grid = Table.grid(padding=(0, 2))
    grid.add_column(width=8, no_wrap=True)
    grid.add_column(overflow="fold")
    for finding in findings:
        grid.add_row(Text(finding.severity.value.upper(), style=SEVERITY_STYLES[finding.severity]),
                     _finding_text(finding))
    return Group(title, grid, Text(""))


def _finding_text(finding: Finding) -> Text:
    text = Text.assemble((_hostile(finding.rule_id, 60), "bold"), " ", _hostile(finding.title, 200))
    where = _location_text(finding)
    if where:
        text.append(f"\nat {where}", style="dim")
    text.append("\n" + _hostile(finding.message))
    if finding.evidence:
        text.append("\nevidence: ", style="dim")
        text.append(_hostile(finding.evidence, EVIDENCE_LIMIT), style="magenta")
    if finding.remediation:
        text.append("\nfix: ", style="dim")
        text.append(_hostile(finding.remediation, 400))
    return text


def _location_text(finding: Finding) -> str:
    return ", ".join(location_parts(finding.location, _hostile, offset_word="offset"))


def _suppressed_line(suppressed: list[Finding]) -> Text:
    # Reasons come from the user's config and baseline, still shown through printable: they are file content.
    reasons = Counter(_hostile(f.suppressed or "suppressed", 80) for f in suppressed)
    shown = ", ".join(f"{reason}: {count}" for reason, count in reasons.most_common(SUPPRESSED_REASONS_SHOWN))
    if len(reasons) > SUPPRESSED_REASONS_SHOWN:
        shown += ", …"
    count = len(suppressed)
    return Text(f"{count} suppressed finding{'s' if count != 1 else ''} not shown ({shown}); "
                "the JSON, SARIF and HTML reports list them.", style="dim")
