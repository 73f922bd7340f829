"""Hugging Face model-folder scanners: configs that make ``trust_remote_code=True`` import code, the Python
files that code lives in, and the chat templates tokenizer configs carry.

- ``HfConfigScanner`` ("hf-config": config.json, tokenizer_config.json, processor/preprocessor configs,
  chat_template.json): ``auto_map`` entries (``"AutoModel": "modeling_foo.FooModel"``, tokenizers as
  ``[slow, fast]`` lists, ``"org/repo--modeling_foo.FooModel"`` for code fetched from ANOTHER repository),
  ``custom_pipelines`` implementations and ``trust_remote_code: true`` anywhere in the file -> MW-HF-001;
  ``chat_template`` (a string or a list of ``{"name", "template"}``) -> MW-HF-003 when it can escape Jinja.
- ``HfCodeScanner`` ("hf-code": a .py file beside a config.json): MW-HF-002 for the file, and one MW-HF-002
  (high) per call to a process, code-execution or network API, found by walking the ``ast``.
- ``HfChatTemplateScanner``: a standalone ``chat_template.jinja`` (newer transformers save templates so).

Nothing here imports, executes or renders what it scans: JSON is parsed with size bounds, Python with ``ast``,
templates with Jinja's parser only.
"""

from __future__ import annotations

import ast
import json
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

from mlwarden.core.findings import Severity
from mlwarden.scanning.context import ScanContext, UnscannableError

_EVIDENCE_CHARS = 200
# Findings of one rule per file before the rest are summarised (a config may map dozens of classes).
_MAX_FINDINGS = 50
# Largest Python file parsed with ``ast`` (modeling files are well under 1 MiB; ast needs ~20x the source in
# memory). Larger files get the file-level finding and a limit finding.
_MAX_SOURCE_BYTES = 16 * 1024 * 1024
# trust_remote_code may hide in nested kwargs (sentence-transformers' model_kwargs/config_kwargs).
_MAX_JSON_WALK_DEPTH = 32
_MAX_JSON_WALK_NODES = 200_000

# A code reference is "module.Class", optionally prefixed "org/repo--" (transformers' dynamic_module_utils:
# get_class_from_dynamic_module splits the repo id off at "--").
_CODE_REFERENCE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")

# Calls that start processes, execute code or open network connections from model code. Exact dotted names,
# or a module followed by ".*" for every callable in it. Sources: Python's os/subprocess/pty/socket docs and
# the usual exfiltration clients; the brief's list (os.system, subprocess, eval, exec, __import__, socket,
# requests, urllib) plus the os.exec*/spawn* family that does the same as os.system.
_DANGEROUS_CALLS: tuple[tuple[str, str], ...] = (
    ("os.system", "runs a shell command"),
    ("os.popen", "runs a shell command"),
    ("os.exec*", "replaces the process with another program"),
    ("os.spawn*", "starts a process"),
    ("os.posix_spawn*", "starts a process"),
    ("os.startfile", "starts a program"),
    ("subprocess.*", "starts a process"),
    ("pty.spawn", "starts a process"),
    ("eval", "evaluates Python code"),
    ("exec", "executes Python code"),
    ("builtins.eval", "evaluates Python code"),
    ("builtins.exec", "executes Python code"),
    ("__import__", "imports a module named at run time"),
    ("socket.*", "opens a network socket"),
    ("requests.*", "makes an HTTP request"),
    ("httpx.*", "makes an HTTP request"),
    ("urllib.request.*", "makes a network request"),
    ("urllib.urlopen", "makes a network request"),
    ("urllib2.urlopen", "makes a network request"),
    ("urllib3.*", "makes an HTTP request"),
    ("http.client.*", "makes an HTTP request"),
)
_BUILTIN_CALLS = frozenset({"eval", "exec", "__import__"})
# For sources ast cannot parse (another Python version's syntax): the same calls, found by text.
_DANGEROUS_CALL_TEXT = re.compile(
    r"(?<![\w.])(os\.(?:system|popen|exec\w*|spawn\w*|posix_spawn\w*)|subprocess\.\w+|pty\.spawn|eval|exec|"
    r"__import__|socket\.\w+|requests\.\w+|httpx\.\w+|urllib\.request\.\w+|urllib3\.\w+|http\.client\.\w+)"
    r"\s*\("
)


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _EVIDENCE_CHARS else text[: _EVIDENCE_CHARS - 1] + "\u2026"


def _file_name(ctx: ScanContext) -> str:
    return ctx.name or ctx.path.rsplit("/", 1)[-1]


# --- configs ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _ParsedConfig:
    data: dict[str, Any]
    # Values of keys that appear more than once: JSON parsers disagree on which one wins.
    shadowed: list[tuple[str, Any]]


def _read_json_config(stream: BinaryIO, ctx: ScanContext) -> _ParsedConfig | None:
    limit = ctx.limits.max_json_bytes
    if ctx.size > limit:
        ctx.report("MW-FMT-003", f"'{_file_name(ctx)}' has {ctx.size} bytes, more than the JSON limit of {limit}; "
                   "it was not analysed", evidence=_file_name(ctx))
        return None
    stream.seek(0)
    raw = stream.read(limit + 1)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnscannableError(f"config is not UTF-8 (byte {exc.start})", offset=exc.start) from None
    shadowed: list[tuple[str, Any]] = []

    def keep_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                shadowed.append((key, out[key]))
            out[key] = value
        return out

    try:
        data = json.loads(text, object_pairs_hook=keep_pairs)
    except json.JSONDecodeError as exc:
        raise UnscannableError(f"config is not valid JSON: {exc.msg} (line {exc.lineno})", offset=exc.pos) from None
    except (ValueError, RecursionError) as exc:
        raise UnscannableError(f"config JSON cannot be parsed: {type(exc).__name__}") from None
    if not isinstance(data, dict):
        raise UnscannableError(f"config is a JSON {type(data).__name__}, not an object")
    return _ParsedConfig(data, shadowed)


def _code_references(value: object) -> Iterator[str | object]:
    """auto_map values: "module.Class", or a [slow, fast] list for tokenizers (entries may be null)."""
    if isinstance(value, list | tuple):
        for item in value:
            if item is not None:
                yield item
    elif value is not None:
        yield value


class _ConfigFindings:
    def __init__(self, ctx: ScanContext) -> None:
        self.ctx = ctx
        self.counts: dict[str, int] = {}

    def report(self, rule_id: str, message: str, *, evidence: str | None = None,
               severity: Severity | None = None) -> None:
        count = self.counts.get(rule_id, 0) + 1
        self.counts[rule_id] = count
        if count <= _MAX_FINDINGS:
            self.ctx.report(rule_id, message, evidence=_clip(evidence) if evidence is not None else None,
                            severity=severity)

    def summarise(self) -> None:
        for rule_id, count in self.counts.items():
            if count > _MAX_FINDINGS:
                self.ctx.report(rule_id, f"{count - _MAX_FINDINGS} more findings of this rule in "
                                f"'{_file_name(self.ctx)}' not listed", evidence=f"{count} findings")


class HfConfigScanner:
    """Scanner for Hugging Face configs (format id "hf-config")."""

    name = "huggingface"

    def scan(self, stream: BinaryIO, ctx: ScanContext) -> None:
        parsed = _read_json_config(stream, ctx)
        if parsed is None:
            return
        if isinstance(parsed.data, dict) and "class_name" in parsed.data and "config" in parsed.data:
            # A Keras config whose "class_name" sat beyond the identification head: analyse it as Keras too.
            from mlwarden.artifacts.keras import KerasConfigScanner

            stream.seek(0)
            KerasConfigScanner().scan(stream, ctx)
        findings = _ConfigFindings(ctx)
        try:
            self._analyse(parsed, ctx, findings)
        finally:
            findings.summarise()

    def _analyse(self, parsed: _ParsedConfig, ctx: ScanContext, findings: _ConfigFindings) -> None:
        data = parsed.data
        sources: list[tuple[str, Any, str]] = [(key, data[key], "") for key in
                                               ("auto_map", "custom_pipelines", "chat_template") if key in data]
        sources += [(key, value, " (from a duplicate key that some JSON parsers read instead)")
                    for key, value in parsed.shadowed if key in ("auto_map", "custom_pipelines", "chat_template")]
        for key, value, note in sources:
            if key == "auto_map":
                self._auto_map(value, ctx, findings, note)
            elif key == "custom_pipelines":
                self._custom_pipelines(value, ctx, findings, note)
            else:
                self._chat_templates(value, ctx, findings, note)
        for path in _trust_remote_code_paths(data):
            findings.report("MW-HF-001", f"'{_file_name(ctx)}' sets {path} = true: loaders following it run the "
                            "model's own Python code", evidence=f"{path} = true", severity=Severity.MEDIUM)

    def _auto_map(self, auto_map: object, ctx: ScanContext, findings: _ConfigFindings, note: str) -> None:
        if not isinstance(auto_map, dict):
            findings.report("MW-HF-001", f"'{_file_name(ctx)}' has an auto_map that is not an object{note}",
                            evidence=f"auto_map = {_clip(repr(auto_map))}")
            return
        for auto_class, target in auto_map.items():
            for reference in _code_references(target):
                self._code_reference(f"auto_map.{auto_class}", reference, ctx, findings, note)

    def _custom_pipelines(self, pipelines: object, ctx: ScanContext, findings: _ConfigFindings,
                          note: str) -> None:
        if not isinstance(pipelines, dict):
            return
        for task, spec in pipelines.items():
            if isinstance(spec, dict) and "impl" in spec:
                self._code_reference(f"custom_pipelines.{task}.impl", spec["impl"], ctx, findings, note)

    def _code_reference(self, where: str, reference: object, ctx: ScanContext, findings: _ConfigFindings,
                        note: str) -> None:
        if not isinstance(reference, str):
            findings.report("MW-HF-001", f"'{_file_name(ctx)}' {where} is not a code reference string{note}",
                            evidence=f"{where} -> {_clip(repr(reference))}")
            return
        repository, separator, code = reference.rpartition("--")
        module = code.rsplit(".", 1)[0]
        message = (f"'{_file_name(ctx)}' maps {where} to {code}: trust_remote_code=True imports and runs "
                   f"{module}.py")
        severity: Severity | None = None
        if separator:
            # Code from another repository is not even in the folder being reviewed, and that repository can
            # change it at any time.
            message += f" downloaded from ANOTHER repository, '{repository}'"
            severity = Severity.CRITICAL
        if not _CODE_REFERENCE.match(code):
            message += " (the reference is not a plain module.Class path)"
        findings.report("MW-HF-001", message + note, evidence=f"{where} -> {reference}", severity=severity)

    def _chat_templates(self, value: object, ctx: ScanContext, findings: _ConfigFindings, note: str) -> None:
        named: list[tuple[str, str]] = []
        if isinstance(value, str):
            named.append(("default", value))
        elif isinstance(value, list):
            # transformers' multiple templates: [{"name": "default", "template": "..."}, {"name": "tool_use"...}]
            for index, item in enumerate(value):
                if isinstance(item, dict) and isinstance(item.get("template"), str):
                    named.append((str(item.get("name", index)), item["template"]))
        for name, template in named:
            report_template_issues(ctx, f"chat template '{name}'{note}", template, "MW-HF-003", findings.report)


class _Report(Protocol):
    def __call__(self, rule_id: str, message: str, *, evidence: str | None = None,
                 severity: Severity | None = None) -> None: ...


def report_template_issues(ctx: ScanContext, label: str, template: str, rule_id: str, report: _Report) -> None:
    """Report ``find_template_escapes`` results for one template with ``rule_id`` for escapes."""
    # Jinja is imported only when a template is actually there (it costs ~60 ms of start-up).
    from mlwarden.artifacts.jinja_template import ESCAPE, TOO_LARGE, UNPARSEABLE, find_template_escapes

    for issue in find_template_escapes(template):
        where = f" (line {issue.line})" if issue.line else ""
        if issue.kind == ESCAPE:
            report(rule_id, f"{label} in '{_file_name(ctx)}' {issue.message}{where}", evidence=issue.evidence)
        elif issue.kind == UNPARSEABLE:
            # Jinja cannot render it either, so it is no escape through Jinja; other engines may accept it.
            report("MW-FMT-001", f"{label} in '{_file_name(ctx)}' could not be parsed ({issue.message}); it was "
                   "only scanned for escape patterns", evidence=issue.evidence, severity=Severity.MEDIUM)
        elif issue.kind == TOO_LARGE:
            report("MW-FMT-003", f"{label} in '{_file_name(ctx)}': {issue.message}", evidence=label)


def _trust_remote_code_paths(data: object) -> list[str]:
    """Dotted paths of every ``"trust_remote_code": true`` in the document (bounded walk)."""
    found: list[str] = []
    stack: list[tuple[object, str, int]] = [(data, "", 0)]
    visited = 0
    while stack and visited < _MAX_JSON_WALK_NODES:
        node, path, depth = stack.pop()
        visited += 1
        if depth > _MAX_JSON_WALK_DEPTH:
            continue
        if isinstance(node, dict):
            for key, value in node.items():
                child = f"{path}.{key}" if path else str(key)
                if key == "trust_remote_code" and value is True:
                    found.append(child)
                elif isinstance(value, dict | list):
                    stack.append((value, child, depth + 1))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                if isinstance(value, dict | list):
                    stack.append((value, f"{path}[{index}]", depth + 1))
    return sorted(found)


# --- Python code -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DangerousCall:
    """A call in model code to an API that runs processes, code or network requests."""

    name: str  # resolved dotted name, e.g. "os.system" for ``from os import system as s; s(...)``
    reason: str
    line: int
    source: str  # the call's source text, at most 200 characters


def _match_dangerous(dotted: str) -> str | None:
    for pattern, reason in _DANGEROUS_CALLS:
        if pattern.endswith("*"):
            if dotted.startswith(pattern[:-1]) and len(dotted) > len(pattern) - 1:
                return reason
        elif dotted == pattern:
            return reason
    return None


class _ImportAliases(ast.NodeVisitor):
    """Local name -> dotted origin for every import in the module (anywhere, including inside functions)."""

    def __init__(self) -> None:
        self.aliases: dict[str, str] = {}
        self.star_modules: list[str] = []
        self.rebound: set[str] = set()

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname:
                self.aliases[alias.asname] = alias.name
            else:
                top = alias.name.split(".", 1)[0]
                self.aliases[top] = top

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level or not node.module:
            return  # relative imports name the model's own modules
        for alias in node.names:
            if alias.name == "*":
                self.star_modules.append(node.module)
            else:
                self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"

    def visit_Module(self, node: ast.Module) -> None:
        # Module-level functions and classes shadow builtins and modules everywhere; methods (a model's
        # ``def eval(self)``) do not.
        for statement in node.body:
            if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                self.rebound.add(statement.name)
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Store):
            self.rebound.add(node.id)

    def visit_arg(self, node: ast.arg) -> None:
        self.rebound.add(node.arg)


def _dotted(node: ast.expr, aliases: _ImportAliases) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    base = node.id
    if base in aliases.aliases:
        base = aliases.aliases[base]
    elif not parts and base not in aliases.rebound and base not in _BUILTIN_CALLS:
        for module in aliases.star_modules:
            candidate = f"{module}.{base}"
            if _match_dangerous(candidate):
                return candidate
    elif base in aliases.rebound and base not in aliases.aliases:
        return None  # a local variable/function of that name, not the module or builtin
    return ".".join([base, *reversed(parts)])


def find_dangerous_calls(source: str) -> list[DangerousCall]:
    """Calls to process/code-execution/network APIs in Python ``source`` (parsed with ``ast``, never run).

    Raises SyntaxError (or ValueError for NUL bytes) when ``source`` is not Python this interpreter parses.
    """
    with warnings.catch_warnings():
        # Scanned code is not ours: its SyntaxWarnings (invalid escapes, literals) must not reach the report.
        warnings.simplefilter("ignore")
        tree = ast.parse(source)
    aliases = _ImportAliases()
    aliases.visit(tree)
    calls: list[DangerousCall] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        dotted = _dotted(node.func, aliases)
        # getattr(os, "system")(...): the attribute named by a constant.
        if (dotted is None and isinstance(node.func, ast.Call) and isinstance(node.func.func, ast.Name)
                and node.func.func.id == "getattr" and len(node.func.args) >= 2
                and isinstance(node.func.args[1], ast.Constant) and isinstance(node.func.args[1].value, str)):
            base = _dotted(node.func.args[0], aliases)
            dotted = f"{base}.{node.func.args[1].value}" if base else None
        if dotted is None:
            continue
        reason = _match_dangerous(dotted)
        if reason is None:
            continue
        text = ast.get_source_segment(source, node) or dotted
        calls.append(DangerousCall(dotted, reason, node.lineno, _clip(text)))
    calls.sort(key=lambda c: (c.line, c.name))
    return calls


def _find_dangerous_calls_by_text(source: str) -> list[DangerousCall]:
    calls: list[DangerousCall] = []
    for number, line in enumerate(source.splitlines(), start=1):
        for match in _DANGEROUS_CALL_TEXT.finditer(line):
            name = match.group(1)
            calls.append(DangerousCall(name, _match_dangerous(name) or "runs code", number, _clip(line.strip())))
    return calls


class HfCodeScanner:
    """Scanner for Python files in a model folder (format id "hf-code")."""

    name = "huggingface-code"

    def scan(self, stream: BinaryIO, ctx: ScanContext) -> None:
        name = _file_name(ctx)
        if ctx.size > _MAX_SOURCE_BYTES:
            ctx.report("MW-HF-002", f"'{name}' is Python code in a model folder: loading the model with "
                       "trust_remote_code=True imports and runs it", evidence=name)
            ctx.report("MW-FMT-003", f"'{name}' has {ctx.size} bytes, more than the {_MAX_SOURCE_BYTES} bytes "
                       "parsed; its calls were not analysed", evidence=name)
            return
        stream.seek(0)
        source = stream.read(_MAX_SOURCE_BYTES).decode("utf-8", errors="replace")
        parsed = True
        try:
            calls = find_dangerous_calls(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            # Syntax of another Python version still runs there: fall back to a text search for the calls.
            parsed = False
            calls = _find_dangerous_calls_by_text(source)
        listed = ", ".join(f"{c.name} (line {c.line})" for c in calls[:20])
        more = f" and {len(calls) - 20} more" if len(calls) > 20 else ""
        message = f"'{name}' is Python code in a model folder: loading the model with trust_remote_code=True " \
                  "imports and runs it"
        if calls:
            message += f"; it calls {listed}{more}"
        ctx.report("MW-HF-002", message, evidence=name)
        if not parsed:
            ctx.report("MW-FMT-001", f"'{name}' could not be parsed as Python; its calls were found by a text "
                       "search only", evidence=name, severity=Severity.MEDIUM)
        for call in calls[:_MAX_FINDINGS]:
            ctx.report("MW-HF-002", f"'{name}' calls {call.name} on line {call.line}: it {call.reason} when the "
                       "model is loaded with trust_remote_code=True", evidence=call.source, line=call.line,
                       severity=Severity.HIGH)
        if len(calls) > _MAX_FINDINGS:
            ctx.report("MW-HF-002", f"{len(calls) - _MAX_FINDINGS} more dangerous calls in '{name}' not listed",
                       evidence=f"{len(calls)} calls", severity=Severity.HIGH)


class HfChatTemplateScanner:
    """Scanner for a standalone Jinja chat template (``chat_template.jinja``). Not yet in the registry: it
    needs a format id (e.g. "hf-chat-template") from identify for files named ``*.jinja``."""

    name = "huggingface-chat-template"

    def scan(self, stream: BinaryIO, ctx: ScanContext) -> None:
        limit = ctx.limits.max_json_bytes
        if ctx.size > limit:
            ctx.report("MW-FMT-003", f"'{_file_name(ctx)}' has {ctx.size} bytes, more than the limit of {limit}; "
                       "it was not analysed", evidence=_file_name(ctx))
            return
        stream.seek(0)
        template = stream.read(limit).decode("utf-8", errors="replace")
        report_template_issues(ctx, "chat template", template, "MW-HF-003", ctx.report)
