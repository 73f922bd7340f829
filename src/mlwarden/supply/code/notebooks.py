"""Analyse a Jupyter notebook (``.ipynb``, nbformat 4) without running it.

* Code cells: IPython syntax (``%magic``, ``%%cell magic``, ``!shell``, ``var = !cmd``, ``obj?``) is blanked
  out, keeping line numbers, and the remaining Python goes through the unsafe-code rules
  (``mlwarden.supply.code.python_rules``). ``pip install`` commands are extracted for the dependency audit.
* Every cell (code, markdown, raw), every stored output and the notebook metadata (widget state keeps what was
  typed into login widgets) go through the secret scanner.
* Stored outputs are also searched for personal data (MW-NB-001), environment dumps, request headers with
  credentials and tracebacks (MW-NB-002).

This module must never execute, import or render anything from the notebook: it does not use nbformat,
IPython or Jupyter, only ``json.loads`` on bytes whose size the caller bounds. Hostile notebooks (invalid JSON,
deep nesting, wrong types, huge outputs) give MW-NB-003 / MW-NB-004 hits, never an exception.

Locations: a hit in a cell's source has ``cell`` (0-based index into ``cells``) and ``line`` (1-based in the
cell's source, the list of strings joined as nbformat defines). A hit in an output also has ``output`` (0-based
index into the cell's ``outputs``) and ``field``, the representation searched: ``text`` for streams, the MIME
type (``text/plain``, ``text/html``, ``application/json``...) for results and displays, ``traceback`` or
``evalue`` for errors; its ``line`` counts in that representation's text after joining the list of strings
(tracebacks: one frame per line, as Jupyter shows them) and removing ANSI colour codes (and, for HTML, tags).
``application/json`` data is searched in a re-serialised form (``json.dumps(indent=1)``), as is the notebook
``metadata`` (``field="metadata"``, ``cell`` None), so their lines count in that form. A hit about the whole
file (invalid JSON, limits) has ``cell`` None; for invalid JSON its line is the file's line.

Cell magics whose body is Python (``%%time``, ``%%timeit``, ``%%capture``, ``%%prun``, ``%%debug``,
``%%memit``, ``%%px`` and ``%%writefile`` of a ``.py`` file) are analysed as Python; any other cell magic
(``%%bash``, ``%%html``, ``%%sql``, ``%%R``...) makes the cell non-Python: secrets only, plus ``pip install``
lines of shell cells. Notebooks whose kernel language is not Python get secrets and output checks only.

Inline suppression: ``# mlwarden: ignore[RULE] reason`` on the line of a hit in a code cell. For outputs, which
cannot carry comments, a comment-only line with that marker anywhere in the cell waives the rule for all of the
cell's outputs.
"""

from __future__ import annotations

import html
import json
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from mlwarden.core.findings import Finding, Location, Severity
from mlwarden.core.limits import MiB
from mlwarden.supply.hits import Hit, hit_to_finding
from mlwarden.supply.secrets import find_secrets, mask_secret, mask_secrets_in
from mlwarden.supply.suppress import inline_reason

__all__ = [
    "MAX_CELLS",
    "MAX_OUTPUTS_PER_CELL",
    "MAX_TEXT_CHARS",
    "NotebookHit",
    "NotebookResult",
    "analyze_notebook",
]

# Bounds (beyond them the rest is not analysed and an MW-NB-004 hit says so). Real notebooks have hundreds of
# cells; 1 MiB of text per output or cell is far more than a person reads and far less than a plot's base64.
MAX_CELLS = 10_000
MAX_OUTPUTS_PER_CELL = 1_000
MAX_TEXT_CHARS = 1 * MiB
_MAX_PIP_ARGS = 4_096
_MAX_PII_COUNT = 100_000

_INVALID = "MW-NB-003"
_LIMIT = "MW-NB-004"
_PERSONAL_DATA = "MW-NB-001"
_OUTPUT_LEAK = "MW-NB-002"


@dataclass(frozen=True, slots=True)
class NotebookHit:
    """A ``Hit`` placed in a notebook: ``cell``/``output`` (0-based), the output ``field`` searched, and the
    reason of an inline suppression (None when not waived)."""

    hit: Hit
    cell: int | None = None
    output: int | None = None
    suppressed: str | None = None
    field: str | None = None

    def location(self, path: str) -> Location:
        return Location(path=path, cell=self.cell, output=self.output, field=self.field)

    def to_finding(self, path: str, *, scanner: str) -> Finding:
        finding = hit_to_finding(self.hit, self.location(path), scanner=scanner)
        return replace(finding, suppressed=self.suppressed) if self.suppressed else finding


@dataclass(slots=True)
class NotebookResult:
    hits: list[NotebookHit] = field(default_factory=list)
    # (cell, 1-based line in the cell, the arguments after ``pip install`` as written)
    pip_installs: list[tuple[int, int, str]] = field(default_factory=list)
    cells: int = 0


def analyze_notebook(data: bytes, *, max_bytes: int) -> NotebookResult:
    """Analyse the bytes of an ``.ipynb`` file. Never raises on any input; ``max_bytes`` bounds what is parsed."""
    result = NotebookResult()
    if len(data) > max_bytes:
        result.hits.append(NotebookHit(Hit(_LIMIT, 1, f"notebook is {len(data)} bytes, over the {max_bytes}-byte "
                                                        "limit: not analysed")))
        return result
    document = _parse(data, result)
    if document is None:
        return result
    cells = document["cells"]
    result.cells = len(cells)
    if len(cells) > MAX_CELLS:
        result.hits.append(NotebookHit(Hit(_LIMIT, 1, f"notebook has {len(cells)} cells: only the first "
                                                        f"{MAX_CELLS} were analysed")))
    python = _is_python_kernel(document.get("metadata"))
    metadata = _json_text(document.get("metadata"))
    if metadata is None:
        result.hits.append(NotebookHit(Hit(_LIMIT, 1, "notebook metadata is nested too deeply to be searched",
                                           severity=Severity.LOW), field="metadata"))
    elif metadata:
        if len(metadata) > MAX_TEXT_CHARS:
            result.hits.append(NotebookHit(Hit(_LIMIT, 1, f"notebook metadata is {len(metadata)} characters: only "
                                               f"the first {MAX_TEXT_CHARS} were searched", severity=Severity.LOW),
                                           field="metadata"))
        result.hits.extend(NotebookHit(hit, field="metadata") for hit in find_secrets(metadata[:MAX_TEXT_CHARS]))
    for index, cell in enumerate(cells[:MAX_CELLS]):
        _analyze_cell(index, cell, python=python, result=result)
    return result


# ------------------------------------------------------------------------------------------------------------
# The document.


def _parse(data: bytes, result: NotebookResult) -> dict[str, Any] | None:
    def invalid(message: str, line: int = 1) -> None:
        result.hits.append(NotebookHit(Hit(_INVALID, line, message)))

    try:
        document = json.loads(data)
    except json.JSONDecodeError as error:
        invalid(f"not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})", error.lineno)
        return None
    except RecursionError:
        invalid("not analysed: JSON nested too deeply")
        return None
    except ValueError as error:  # undecodable bytes (UnicodeDecodeError), numbers too long to convert
        invalid(f"not valid JSON text: {str(error)[:200]}")
        return None
    if not isinstance(document, dict):
        invalid("not a notebook: the JSON document is not an object")
        return None
    if "worksheets" in document and "cells" not in document:
        invalid("nbformat 3 notebook (cells inside 'worksheets'): not analysed; convert it with "
                "'jupyter nbconvert --to notebook'")
        return None
    if not isinstance(document.get("cells"), list):
        invalid("not a notebook: no list of 'cells'")
        return None
    return document


def _is_python_kernel(metadata: object) -> bool:
    """True unless the notebook says its kernel speaks another language (R, Julia, Scala...)."""
    if not isinstance(metadata, dict):
        return True
    for key, name_key in (("kernelspec", "language"), ("language_info", "name")):
        section = metadata.get(key)
        if isinstance(section, dict) and isinstance(section.get(name_key), str):
            return section[name_key].strip().lower() in ("python", "python3", "python2", "ipython", "")
    return True


def _joined(value: object, separator: str = "") -> str | None:
    """nbformat's multiline string: a string, or a list of strings joined; None for anything else."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(part, str) for part in value):
        return separator.join(value)
    return None


def _json_text(value: object) -> str | None:
    """A parsed JSON value as indented text to search; None when it is nested too deeply to serialise (the
    indenting encoder recurses in Python, so it gives up earlier than the parser)."""
    if not value:
        return ""
    try:
        return json.dumps(value, indent=1, ensure_ascii=False)
    except RecursionError:
        return None


# ------------------------------------------------------------------------------------------------------------
# Cells.


def _analyze_cell(index: int, cell: object, *, python: bool, result: NotebookResult) -> None:
    def problem(rule_id: str, message: str, severity: Severity | None = None) -> None:
        result.hits.append(NotebookHit(Hit(rule_id, 1, message, severity=severity), cell=index))

    if not isinstance(cell, dict):
        problem(_INVALID, "cell is not a JSON object: skipped")
        return
    source = _joined(cell.get("source", ""))
    if source is None:
        problem(_INVALID, "cell source is neither a string nor a list of strings: skipped")
        return
    if len(source) > MAX_TEXT_CHARS:
        problem(_LIMIT, f"cell source is {len(source)} characters: only the first {MAX_TEXT_CHARS} were analysed",
                Severity.LOW)
        source = source[:MAX_TEXT_CHARS]
    source = source.replace("\r\n", "\n").replace("\r", "\n")
    lines = source.split("\n")
    code = cell.get("cell_type") == "code"

    def waiver(hit: Hit) -> str | None:
        return inline_reason(lines[hit.line - 1], hit.rule_id) if code and 0 < hit.line <= len(lines) else None

    for hit in find_secrets(source):
        result.hits.append(NotebookHit(hit, cell=index, suppressed=waiver(hit)))
    if not code:
        return  # markdown and raw cells: secrets only; their outputs do not exist in nbformat
    if python:
        body, installs = _ipython_to_python(lines)
        result.pip_installs.extend((index, line, args) for line, args in installs)
        if body is not None:
            for hit in _python_hits("\n".join(body)):
                result.hits.append(NotebookHit(hit, cell=index, suppressed=waiver(hit)))
    outputs = cell.get("outputs", [])
    if not isinstance(outputs, list):
        problem(_INVALID, "cell outputs are not a list: outputs skipped")
        return
    if len(outputs) > MAX_OUTPUTS_PER_CELL:
        problem(_LIMIT, f"cell has {len(outputs)} outputs: only the first {MAX_OUTPUTS_PER_CELL} were analysed")
    comment_lines = [line for line in lines if line.lstrip().startswith("#") and "mlwarden" in line]
    for number, output in enumerate(outputs[:MAX_OUTPUTS_PER_CELL]):
        for hit, field_name in _output_hits(output):
            reason = next((r for r in (inline_reason(c, hit.rule_id) for c in comment_lines) if r), None)
            result.hits.append(NotebookHit(hit, cell=index, output=number, suppressed=reason, field=field_name))


def _python_hits(text: str) -> list[Hit]:
    """The unsafe-code rules on a cell's Python, messages and evidence masked (a cell may quote a secret)."""
    # Imported on first use: notebooks without code cells never load the AST rules.
    from mlwarden.supply.code.python_rules import analyze_python_source

    return [replace(hit, message=mask_secrets_in(hit.message),
                    evidence=mask_secrets_in(hit.evidence) if hit.evidence else hit.evidence)
            for hit in analyze_python_source(text)]


# IPython syntax, per line (what IPython's input transformers accept at the start of a logical line).
_LINE_MAGIC = re.compile(r"%{1,2}[A-Za-z_]")
_SHELL_ESCAPE = re.compile(r"!(?!=)")
_SHELL_ASSIGNMENT = re.compile(r"[A-Za-z_][\w.]*\s*=\s*[!%](?!=)")
_HELP = re.compile(r"\?{1,2}[A-Za-z_][\w.]*|[A-Za-z_][\w.]*\?{1,2}")
_CELL_MAGIC = re.compile(r"%%(?P<name>[A-Za-z_][\w.]*)(?P<args>[^\n]*)")
# Cell magics whose body is Python (IPython built-ins, memory_profiler, ipyparallel).
_PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug", "memit", "px"})
_SHELL_CELL_MAGICS = frozenset({"bash", "sh", "script", "system"})
_PIP_INSTALL = re.compile(r"pip[0-9.]*\s+install(?=\s|$)")


def _ipython_to_python(lines: list[str]) -> tuple[list[str] | None, list[tuple[int, str]]]:
    """The cell as Python (None when a cell magic makes it another language), with IPython lines blanked
    (``pass`` where indented, so blocks stay valid), and the ``pip install`` commands found (line, arguments)."""
    installs: list[tuple[int, str]] = []
    body = list(lines)
    number = 0
    first = next((index for index, line in enumerate(lines) if line.strip()), None)
    magic = _CELL_MAGIC.match(lines[first].lstrip()) if first is not None else None
    if first is not None and magic is not None:
        name, args = magic.group("name"), magic.group("args").split()
        if name in _SHELL_CELL_MAGICS:
            if name != "script" or args[:1] in (["bash"], ["sh"]):
                installs.extend(_pip_installs_in_shell(lines, first + 1))
            return None, installs
        writes_python = name == "writefile" and bool(args) and args[-1].endswith(".py")
        if name not in _PYTHON_CELL_MAGICS and not writes_python:
            return None, installs
        body[first] = ""
        number = first + 1
    while number < len(body):
        line = body[number]
        stripped = line.lstrip()
        if not (_LINE_MAGIC.match(stripped) or _SHELL_ESCAPE.match(stripped)
                or _SHELL_ASSIGNMENT.match(stripped) or _HELP.fullmatch(stripped.rstrip())):
            number += 1
            continue
        command, last = _continued(body, number)
        installs.extend((number + 1, args) for args in _pip_arguments(command))
        indent = line[: len(line) - len(stripped)]
        body[number] = f"{indent}pass" if indent else ""
        for following in range(number + 1, last + 1):
            body[following] = ""
        number = last + 1
    return body, installs


def _continued(lines: list[str], start: int) -> tuple[str, int]:
    """The command starting at ``lines[start]`` joined over backslash continuations, and its last line index."""
    parts = [lines[start]]
    last = start
    while parts[-1].rstrip().endswith("\\") and last + 1 < len(lines) and len(parts) < 100:
        parts[-1] = parts[-1].rstrip()[:-1].rstrip()
        last += 1
        parts.append(lines[last].strip())
    return " ".join(parts), last


def _pip_installs_in_shell(lines: list[str], start: int) -> Iterator[tuple[int, str]]:
    number = start
    while number < len(lines):
        command, last = _continued(lines, number)
        if not command.lstrip().startswith("#"):
            for args in _pip_arguments(command):
                yield number + 1, args
        number = last + 1


def _pip_arguments(command: str) -> Iterator[str]:
    """What follows each ``pip install`` in a shell command line (``pip``, ``pip3``, ``python -m pip``,
    ``uv pip``, ``%pip``), as written up to the end of the line: shell operators, quotes and redirections are
    left to the dependency parser (``parse_pip_install_args``), which splits the line like a shell does."""
    for match in _PIP_INSTALL.finditer(command):
        before = command[match.start() - 1] if match.start() > 0 else " "
        if before.isspace() or before in "!%;&|(/":  # not "mypip install"
            yield command[match.end(): match.end() + _MAX_PIP_ARGS].strip()


# ------------------------------------------------------------------------------------------------------------
# Outputs.

_ANSI = re.compile(r"\x1b\[[0-?]{0,64}[ -/]{0,8}[@-~]|\x1b\][^\x07\x1b]{0,4096}(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]")
_TAG = re.compile(r"<[^<>\n]{0,4096}>")
# Representations searched, text first so that a secret shown twice is reported where people read it.
_TEXT_MIME_TYPES = ("text/plain", "text/html", "text/markdown", "text/latex", "application/json")


def _output_texts(output: dict[str, Any]) -> Iterator[tuple[str, str | None]]:
    """(field, text) for each text representation of one output, ANSI codes removed, HTML reduced to text;
    text None for JSON data nested too deeply to be searched."""
    kind = output.get("output_type")
    if kind == "stream":
        text = _joined(output.get("text"))
        if text is not None:
            yield "text", _ANSI.sub("", text)
    elif kind in ("execute_result", "display_data", "update_display_data"):
        data = output.get("data")
        if not isinstance(data, dict):
            return
        for mime in _TEXT_MIME_TYPES:
            if mime not in data:
                continue
            if mime == "application/json":
                yield mime, _json_text(data[mime])
                continue
            text = _joined(data[mime])
            if text is None:
                continue
            if mime == "text/html":
                text = html.unescape(_TAG.sub(" ", text))
            yield mime, _ANSI.sub("", text)
    elif kind == "error":
        traceback = _joined(output.get("traceback"), "\n")
        if traceback:
            yield "traceback", _ANSI.sub("", traceback)
        else:
            ename, evalue = output.get("ename"), output.get("evalue")
            yield "evalue", _ANSI.sub("", f"{ename if isinstance(ename, str) else ''}: "
                                          f"{evalue if isinstance(evalue, str) else ''}")


def _output_hits(output: object) -> Iterator[tuple[Hit, str | None]]:
    if not isinstance(output, dict):
        yield Hit(_INVALID, 1, "output is not a JSON object: skipped"), None
        return
    seen: set[tuple[str, str | None]] = set()  # one report per secret and kind per output, whatever its forms
    for field_name, text in _output_texts(output):
        if text is None:
            yield Hit(_LIMIT, 1, "output data is nested too deeply to be searched", severity=Severity.LOW), field_name
            continue
        if len(text) > MAX_TEXT_CHARS:
            yield Hit(_LIMIT, 1, f"output text is {len(text)} characters: only the first {MAX_TEXT_CHARS} were "
                                 "searched", severity=Severity.LOW), field_name
            text = text[:MAX_TEXT_CHARS]
        for hit in (*find_secrets(text), *_personal_data(text), *_leaks(text, output.get("output_type"))):
            kind = hit.data.get("entity") or hit.data.get("kind") if hit.data else None
            key = (hit.rule_id, str(kind) if hit.rule_id.startswith("MW-NB") else hit.evidence)
            if key not in seen:
                seen.add(key)
                yield hit, field_name


class _Lines:
    """Line numbers and spans of absolute positions in one text (the index is built on first use)."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._starts: list[int] | None = None

    def position(self, offset: int) -> tuple[int, int]:
        """(1-based line, 0-based column) of ``offset``."""
        if self._starts is None:
            self._starts = [0] + [match.end() for match in re.finditer("\n", self._text)]
        index = bisect_right(self._starts, offset) - 1
        return index + 1, offset - self._starts[index]


# --- MW-NB-002: environment dumps, request headers, tracebacks ------------------------------------------------

# Variables every Linux/macOS/Jupyter/Colab/Kaggle process environment has; three of them in one output, as
# ``NAME=value`` lines (env, printenv, export -p) or ``'NAME': '...'`` pairs (%env, os.environ), are a dump.
_ENV_DUMP = re.compile(
    r"(?:^(?:declare -x |export )?|['\"])(?P<name>PATH|HOME|USER|SHELL|HOSTNAME|PWD|LANG|TERM|LOGNAME|SHLVL"
    r"|LD_LIBRARY_PATH|PYTHONPATH|JPY_PARENT_PID|CUDA_VERSION|CUDA_HOME|CONDA_PREFIX|VIRTUAL_ENV|TMPDIR"
    r"|MPLBACKEND|COLAB_GPU|KAGGLE_KERNEL_RUN_TYPE|KAGGLE_URL_BASE|CLICOLOR|PAGER|GIT_PAGER|OLDPWD)"
    r"(?:=|['\"]\s?:\s?['\"])", re.MULTILINE)
# Header lines as curl -v, http.client debug or requests' header dicts show them (lower-cased text).
_CREDENTIAL_HEADER = re.compile(
    r"(?:^[>\s]{0,8}|['\"])(?:proxy-)?(?:authorization|x-api-key|api-key|x-auth-token|cookie)['\"]?\s?:\s?['\"]?"
    r"[^\s'\"]", re.MULTILINE)
_TRACEBACK_MARK = "Traceback (most recent call last)"


def _leaks(text: str, output_type: object) -> Iterator[Hit]:
    lines = _Lines(text)
    names: dict[str, int] = {}
    for match in _ENV_DUMP.finditer(text):
        names.setdefault(match.group("name"), match.start("name"))
        if len(names) >= 3:
            line, column = lines.position(min(names.values()))
            yield Hit(_OUTPUT_LEAK, line, "output shows the process environment (" + ", ".join(sorted(names))
                      + ", ...): it may include tokens, user and host names", column=column + 1,
                      data={"kind": "environment"})
            break
    lowered = text.lower()
    header = _CREDENTIAL_HEADER.search(lowered)
    if header is not None:
        line, column = lines.position(header.start())
        yield Hit(_OUTPUT_LEAK, line, "output shows HTTP request headers carrying credentials "
                                      "(Authorization, API key or cookie)", column=column + 1,
                  data={"kind": "request_headers"})
    mark = text.find(_TRACEBACK_MARK)
    if output_type == "error" or mark >= 0:
        line, column = lines.position(max(mark, 0))
        yield Hit(_OUTPUT_LEAK, line, "output keeps a traceback: it shows local paths, user names and code",
                  column=column + 1, severity=Severity.INFO, data={"kind": "traceback"})


# --- MW-NB-001: personal data -------------------------------------------------------------------------------
# Deliberately small and precise (a fuller personal-data engine is a separate capability): e-mail addresses,
# international phone numbers (E.164: "+", 8 to 15 digits) and North American "(415) 555-2671", payment card
# numbers with a valid Luhn digit and a brand's prefix and length (ISO/IEC 7812; brand ranges as published
# by the card schemes). Each is anchored on a literal ("@", "+", "(") or scanned as a digit run.

_EMAIL_DOMAIN = re.compile(r"@(?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.){1,8}"
                           r"(?P<tld>[A-Za-z]{2,24}))(?![A-Za-z0-9\-])", re.ASCII)
_EMAIL_LOCAL = re.compile(r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]{1,64}$", re.ASCII)
# Documentation domains (RFC 2606 / RFC 6761), no-reply senders, and "name@2x.png"-style file names.
_NOT_PERSONAL_DOMAINS = ("example.com", "example.org", "example.net", "test", "example", "invalid", "localhost",
                         "noreply.github.com", "users.noreply.github.com")
_NOT_PERSONAL_LOCALS = frozenset({"git", "noreply", "no-reply", "donotreply", "do-not-reply", "user", "username",
                                  "name", "email", "someone", "your.name", "firstname.lastname", "john.doe",
                                  "jane.doe"})
_FILE_SUFFIXES = frozenset({"png", "jpg", "jpeg", "gif", "svg", "webp", "py", "js", "ts", "json", "txt", "css",
                            "html", "md", "ipynb", "pt", "bin", "h5", "onnx", "pkl", "csv", "yaml", "yml"})
# Digit groups need a separator between them, so a number splits one way only (no backtracking blow-up).
_PHONE = re.compile(r"\+[1-9]\d{0,14}(?:[ \-](?:\(\d{1,6}\) ?)?\d{1,15}){0,6}", re.ASCII)
_NANP_PHONE = re.compile(r"\(\d{3}\) ?\d{3}-\d{4}(?!\d)", re.ASCII)
_CARD = re.compile(r"(?<![\d.,\-])(?:\d{13,19}|\d{4}(?P<sep>[ \-])\d{4}(?P=sep)\d{4}(?P=sep)\d{1,7}"
                   r"|3[47]\d{2}(?P<amex>[ \-])\d{6}(?P=amex)\d{5})(?![\d.,])", re.ASCII)
_CARD_CONTEXT = re.compile(r"(?i)card|visa|mastercard|amex|american express|credit|\bcc_?(?:num|number)?\b|\bpan\b")
# Test numbers the card schemes and payment providers publish for sandboxes: not anyone's card.
_TEST_CARDS = frozenset({"4111111111111111", "4242424242424242", "4012888888881881", "4000056655665556",
                         "5555555555554444", "5105105105105100", "2223003122003222", "378282246310005",
                         "371449635398431", "6011111111111117", "6011000990139424", "3530111333300000",
                         "3566002020360505", "30569309025904", "38520000023237", "4000000000000002"})


def _card_brand(digits: str) -> str | None:
    # The personal-data engine's Luhn check and card ranges (mlwarden.privacy); published test cards are no one's.
    from mlwarden.privacy.recognizers import card_brand
    from mlwarden.privacy.validators import luhn_valid

    if len(set(digits)) < 3 or digits in _TEST_CARDS or not luhn_valid(digits):
        return None
    return card_brand(digits)


def _emails(text: str) -> Iterator[tuple[int, int]]:
    for match in _EMAIL_DOMAIN.finditer(text):
        local = _EMAIL_LOCAL.search(text, max(0, match.start() - 64), match.start())
        if local is None or local.group().startswith(".") or local.group().endswith("."):
            continue
        domain = match.group("domain").lower()
        if match.group("tld").lower() in _FILE_SUFFIXES or local.group().lower() in _NOT_PERSONAL_LOCALS:
            continue
        if any(domain == item or domain.endswith("." + item) for item in _NOT_PERSONAL_DOMAINS):
            continue
        yield local.start(), match.end()


def _phones(text: str) -> Iterator[tuple[int, int]]:
    for match in _PHONE.finditer(text):
        start, end = match.span()
        before = text[start - 1] if start else " "
        after = text[end] if end < len(text) else " "
        digits = sum(char.isdigit() for char in match.group())
        if not before.isalnum() and before not in "+-.e" and not after.isdigit() and after not in ".," \
                and 8 <= digits <= 15:
            yield start, end
    for match in _NANP_PHONE.finditer(text):
        start = match.start()
        # "+1 (415) 555-2671" was counted above as an international number
        if (start == 0 or not text[start - 1].isalnum()) and "+" not in text[max(0, start - 6): start]:
            yield match.span()


def _cards(text: str) -> Iterator[tuple[int, int]]:
    context: bool | None = None  # whether the text talks about cards: decided on the first plain digit run
    for match in _CARD.finditer(text):
        digits = match.group()
        if digits.isdigit():
            # A bare run of 13-19 digits is as often an id or a timestamp (one in ten passes Luhn): it counts only
            # where the output names cards (a column "card_number", "visa"...). Grouped numbers always count.
            if context is None:
                context = _CARD_CONTEXT.search(text) is not None
            if not context:
                continue
        if _card_brand(re.sub(r"\D", "", digits)) is not None:
            yield match.span()


# (entity, what the message calls it, finder, severity when not the rule's default)
_PERSONAL_DATA_KINDS: tuple[tuple[str, str, Callable[[str], Iterable[tuple[int, int]]], Severity | None], ...] = (
    ("email", "e-mail address", _emails, None),
    ("phone", "phone number", _phones, None),
    ("payment_card", "payment card number", _cards, Severity.HIGH),
)


def _personal_data(text: str) -> Iterator[Hit]:
    """One hit per kind of personal data in the text: where the first one is, and how many there are."""
    lines = _Lines(text)
    for entity, label, finder, severity in _PERSONAL_DATA_KINDS:
        first: tuple[int, int] | None = None
        count = 0
        for span in finder(text):
            first = first or span
            count += 1
            if count >= _MAX_PII_COUNT:
                break
        if first is None:
            continue
        line, column = lines.position(first[0])
        line_end = text.find("\n", first[0])
        end = first[1] if line_end < 0 or first[1] <= line_end else line_end
        masked = mask_secret(text[first[0]: first[1]])
        plural = "" if count == 1 else "s" if not label.endswith("s") else "es"
        yield Hit(_PERSONAL_DATA, line, f"{count} {label}{plural} in a stored output (first shown)",
                  evidence=f"{label} {masked}", column=column + 1, start=column, end=column + end - first[0],
                  severity=severity, data={"entity": entity, "count": count, "masked": masked})
    yield from _engine_personal_data(text, lines)


# The personal-data engine (mlwarden.privacy) adds what the small detectors above do not look for; e-mails,
# phones and cards stay with them (tuned for notebook output: documentation domains, published test cards),
# secrets with the secret rules.
_ENGINE_ENTITIES = ("PERSON", "IBAN", "US_SSN", "UK_NINO", "DE_TAX_ID", "IN_AADHAAR", "DATE_OF_BIRTH",
                    "STREET_ADDRESS", "MEDICAL_RECORD_NUMBER", "HEALTH_PLAN_NUMBER", "ACCOUNT_NUMBER",
                    "LICENSE_NUMBER")
# Identifiers whose exposure is serious on its own (as the privacy rules grade them).
_ENGINE_HIGH = frozenset({"IBAN", "US_SSN", "UK_NINO", "DE_TAX_ID", "IN_AADHAAR", "MEDICAL_RECORD_NUMBER",
                          "HEALTH_PLAN_NUMBER", "ACCOUNT_NUMBER", "LICENSE_NUMBER"})


def _engine_personal_data(text: str, lines: _Lines) -> Iterator[Hit]:
    from mlwarden.privacy.text import analyze_text

    firsts: dict[str, tuple[int, int, str]] = {}
    counts: dict[str, int] = {}
    for hit in analyze_text(text, entities=_ENGINE_ENTITIES):
        firsts.setdefault(hit.entity, (hit.start, hit.end, hit.masked))
        counts[hit.entity] = counts.get(hit.entity, 0) + 1
    for entity, (start, stop, masked) in firsts.items():
        line, column = lines.position(start)
        line_end = text.find("\n", start)
        end = stop if line_end < 0 or stop <= line_end else line_end
        label = entity.lower().replace("_", " ")
        count = counts[entity]
        yield Hit(_PERSONAL_DATA, line, f"{count} x {label} in a stored output (first shown)",
                  evidence=f"{label} {masked}", column=column + 1, start=column, end=column + end - start,
                  severity=Severity.HIGH if entity in _ENGINE_HIGH else None,
                  data={"entity": entity.lower(), "count": count, "masked": masked})
