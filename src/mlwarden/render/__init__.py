"""The report renderers: one table from format name to the function that turns a ``Report`` into text.

Each renderer is ``render_<fmt>(report, **options) -> str`` in its own module, imported only when its format is
asked for (the terminal renderer pulls in Rich, the others need only the standard library). Renderers are pure:
a Report in, a string out; they never write files, read the scanned files or look at anything but the Report.

Everything a Report carries that came out of a scanned file (paths, members, messages, evidence) is hostile
text. ``printable`` below is the one definition of "make hostile text safe to show to a person"; each renderer
adds the escaping its own medium needs (Rich markup, HTML, JSON).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from mlwarden.core.errors import UsageError

if TYPE_CHECKING:
    from mlwarden.core.findings import Location
    from mlwarden.core.report import Report


class Renderer(Protocol):
    """A report renderer. ``color`` matters only to the terminal; the others accept and ignore it."""

    def __call__(self, report: Report, *, color: bool | None = None) -> str: ...


# Format name -> "module:function". Strings, not imports, so that rendering JSON never imports Rich.
RENDERERS: dict[str, str] = {
    "terminal": "mlwarden.render.terminal:render_terminal",
    "json": "mlwarden.render.json_report:render_json",
    "sarif": "mlwarden.render.sarif:render_sarif",
    "html": "mlwarden.render.html:render_html",
}

FORMATS: tuple[str, ...] = tuple(RENDERERS)


def renderer_for(fmt: str) -> Renderer:
    target = RENDERERS.get(fmt)
    if target is None:
        raise UsageError(f"unknown report format '{fmt}': use one of {', '.join(FORMATS)}")
    module_name, _, function_name = target.partition(":")
    renderer: Renderer = getattr(importlib.import_module(module_name), function_name)
    return renderer


def render(report: Report, fmt: str, *, color: bool | None = None) -> str:
    """Render ``report`` as ``fmt`` (one of ``FORMATS``).

    ``color``: None decides from the real terminal (terminal format only), True forces colour, False gives plain
    text. Raises ``UsageError`` for an unknown format.
    """
    return renderer_for(fmt)(report, color=color)


# The escapes a reader knows best, for the controls that occur in ordinary text.
_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str, *, keep_newlines: bool = False) -> str:
    """Show hostile text as what it is: every character that ``str.isprintable`` rejects becomes a visible escape.

    That covers C0/C1 controls (ESC starts terminal escape sequences), format characters (bidi overrides that
    reorder a name on screen, zero-width characters), line/paragraph separators, unusual spaces, unassigned and
    private-use code points, and lone surrogates (from undecodable file names: ``\\udcff`` becomes ``\\xff``,
    the original byte). ``keep_newlines`` keeps ``\\n`` and ``\\t`` for media where a line break cannot forge
    anything (an HTML ``<code>`` block); the terminal never keeps them, so a message cannot fake report lines.
    """
    if text.isprintable():
        return text
    out: list[str] = []
    for char in text:
        if char == " " or char.isprintable() or (keep_newlines and char in "\n\t"):
            out.append(char)
            continue
        code = ord(char)
        if char in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[char])
        elif 0xDC80 <= code <= 0xDCFF:  # a byte that os.fsdecode could not decode (surrogateescape)
            out.append(f"\\x{code - 0xDC00:02x}")
        elif code < 0x100:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return "".join(out)


def shorten(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    keep = max(0, limit - 40)  # room for the marker, which is at most 40 characters long
    return f"{text[:keep]} … [{len(text) - keep} more characters]"


def human_size(count: int) -> str:
    """``1234567`` -> ``1.2 MB`` (decimal units, as file managers show them)."""
    if count < 1000:
        return f"{count} bytes"
    value = count / 1000
    for unit in ("KB", "MB", "GB"):
        if value < 1000:
            return f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"


def location_parts(location: Location, clean: Callable[[str, int], str], *, offset_word: str = "offset"
                   ) -> list[str]:
    """Where inside the file a finding is, as short phrases ("member x", "cell 2", "line 4:9"), for people.
    ``clean(text, limit)`` makes file-derived text safe for the output format (escaping, shortening)."""
    parts: list[str] = []
    if location.member:
        parts.append(f"member {clean(location.member, 300)}")
    if location.cell is not None:
        parts.append(f"cell {location.cell}")
    if location.output is not None:
        parts.append(f"output {location.output}")
    if location.field is not None:
        parts.append(f"field {clean(location.field, 100)}")
    if location.table_column is not None:
        parts.append(f"column {clean(location.table_column, 100)}")
    if location.line is not None:
        parts.append(f"line {location.line}" + (f":{location.column}" if location.column is not None else ""))
    if location.offset is not None:
        parts.append(f"{offset_word} {location.offset}")
    return parts
