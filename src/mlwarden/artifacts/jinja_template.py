"""Chat-template analysis: find Jinja constructs that reach Python internals (sandbox escapes).

GGUF files (``tokenizer.chat_template``) and Hugging Face tokenizer configs carry Jinja chat templates that
loaders render with every prompt. Rendered outside a hardened sandbox (llama-cpp-python before 0.2.72 used a
plain ``jinja2.Environment``: CVE-2024-34359), a template such as
``{{ cycler.__init__.__globals__.os.popen('id').read() }}`` runs commands.

``find_template_escapes`` parses the template with Jinja's own lexer and parser into an AST and walks it. It
NEVER renders, compiles or evaluates the template: the only "evaluation" is a tiny constant folder over string
literals (concatenation, ``~``, ``%``/``format``, ``join``, ``replace``...) that works on plain ``str``/``int``
values, so that names assembled from pieces (``'__cla' ~ 'ss__'``, ``dict(__class__=1)|join``) are seen too.
A template Jinja cannot parse gets a lexical fallback scan of its tags.
"""

from __future__ import annotations

import itertools
import re
import string
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.parser import Parser

# Kinds of issue. An escape is reported as MW-GGUF-001 (GGUF) / MW-HF-003 (tokenizer configs). A template
# Jinja cannot parse cannot be rendered by Jinja either, so it is no escape through Jinja; but other engines
# (llama.cpp's minja, a later Jinja) may accept it, so callers report it as MW-FMT-001 at medium severity and
# it is still scanned lexically for escape patterns.
IssueKind = Literal["escape", "unparseable", "too-large"]
ESCAPE: Literal["escape"] = "escape"
UNPARSEABLE: Literal["unparseable"] = "unparseable"
TOO_LARGE: Literal["too-large"] = "too-large"

# Real chat templates are a few KiB (the largest public ones ~100 KiB). Beyond this, parsing is skipped
# (Jinja's parser is recursive and slow on megabytes) and only the lexical scan runs.
MAX_TEMPLATE_CHARS = 1_000_000
EVIDENCE_CHARS = 200

# --- what counts as dangerous (data) -----------------------------------------------------------------------

_DUNDER = re.compile(r"^__[A-Za-z][A-Za-z0-9_]*__$")
# Python name mangling: ``self._TemplateReference__context`` is the classic way from ``self`` to the context.
_MANGLED = re.compile(r"^_[A-Za-z][A-Za-z0-9]*__[A-Za-z0-9_]+$")

# Attributes that lead from an ordinary object to code, frames or modules without being dunders.
# Sources: jinja2/sandbox.py (UNSAFE_GENERATOR/COROUTINE/ASYNC_GENERATOR_ATTRIBUTES, the ``mro`` check for
# types), Python's data model (frame/traceback/code attributes, Python 2 ``func_globals``/``im_func``), and
# public SSTI payload collections (``os``, ``popen``, ``import_module`` reached through ``__globals__``).
_DANGEROUS_ATTRIBUTES = frozenset({
    "mro", "func_globals", "func_code", "im_func", "im_class",
    "gi_frame", "gi_code", "cr_frame", "cr_code", "ag_frame", "ag_code",
    "f_globals", "f_locals", "f_builtins", "f_back", "f_code", "tb_frame", "tb_next", "co_code",
    "os", "popen", "subprocess", "builtins", "import_module", "eval", "exec", "execfile", "compile",
    "getattr", "setattr", "delattr", "globals", "locals", "vars", "load_module", "spawn", "system_call",
})

# Python names that never belong in a chat template (unless the template binds them itself).
_DANGEROUS_NAMES = frozenset({
    "os", "sys", "subprocess", "builtins", "__builtins__", "importlib", "__import__", "import_module",
    "eval", "exec", "compile", "open", "getattr", "setattr", "delattr", "globals", "locals", "vars", "popen",
})

# Web-framework globals (Flask/Django) that template-injection payloads start from; a chat-template renderer
# never provides them, so a template that names them was written as a payload.
_WEB_GLOBALS = frozenset({"config", "request", "url_for", "get_flashed_messages", "session"})

# Jinja's default globals (jinja2/defaults.py DEFAULT_NAMESPACE) plus ``self``: calling ``range``/``namespace``
# is what chat templates do; reaching *into* them (``cycler.__init__.__globals__``, ``lipsum.__globals__``)
# is the escape.
_JINJA_OBJECT_GLOBALS = frozenset({"range", "dict", "lipsum", "cycler", "joiner", "namespace", "self"})

# Filters whose ``attribute=`` argument is looked up with getattr (jinja2/filters.py make_attrgetter users).
_ATTRIBUTE_FILTERS = frozenset({
    "map", "selectattr", "rejectattr", "sort", "groupby", "sum", "unique", "min", "max",
})
# Filters that apply another filter by name: ``|map('attr', '__class__')``.
_FILTER_APPLYING_FILTERS = frozenset({"map", "select", "reject", "selectattr", "rejectattr"})

# Fragments of sensitive names: a key built at render time from one of these is an escape in the making.
_SENSITIVE_WORDS = (
    "__class__", "__mro__", "__subclasses__", "__globals__", "__builtins__", "__init__", "__import__",
    "__code__", "__getattribute__", "__base__", "__bases__", "__dict__", "__getitem__", "__reduce__",
    "__reduce_ex__", "__self__", "__func__", "__module__", "__loader__", "__spec__", "popen", "subprocess",
)

# Sources whose ``|string`` text leaks characters (``(()|select|string)[24]`` is '_'): used to build names
# without writing them.
_OBJECT_PRODUCING_FILTERS = frozenset({
    "select", "reject", "map", "selectattr", "rejectattr", "batch", "slice", "groupby", "dictsort", "items",
    "attr",
})

# --- the public result -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TemplateIssue:
    """One problem in a template. ``evidence`` is the offending expression (at most 200 characters),
    ``line`` the 1-based line in the template where Jinja saw it (None when unknown)."""

    kind: IssueKind
    message: str
    evidence: str
    line: int | None = None


def find_template_escapes(template: str) -> list[TemplateIssue]:
    """Return the sandbox-escape constructs in a Jinja ``template`` (empty for a benign chat template).

    Pure: never renders or compiles the template and never raises on any input string.
    """
    if len(template) > MAX_TEMPLATE_CHARS:
        issues = [TemplateIssue(TOO_LARGE, f"template of {len(template)} characters is larger than "
                                f"{MAX_TEMPLATE_CHARS}; only its tags were scanned for escape patterns",
                                _clip(template[:EVIDENCE_CHARS]), None)]
        return issues + _scan_lexically(template)
    try:
        with warnings.catch_warnings():
            # Jinja's lexer decodes string escapes with "unicode-escape", which warns on hostile input.
            warnings.simplefilter("ignore")
            tree = _PARSING_ENVIRONMENT.parse(template)
    except jinja2.TemplateSyntaxError as exc:
        issue = TemplateIssue(UNPARSEABLE, f"not valid Jinja: {exc.message or 'syntax error'}",
                              _clip(_line_text(template, exc.lineno)), exc.lineno)
        return [issue, *_scan_lexically(template)]
    except (RecursionError, MemoryError, ValueError, TypeError, IndexError, OverflowError) as exc:
        # Jinja's parser recurses per nesting level; a hostile template can exhaust the stack.
        issue = TemplateIssue(UNPARSEABLE, f"Jinja could not parse it ({type(exc).__name__})",
                              _clip(template[:EVIDENCE_CHARS]), None)
        return [issue, *_scan_lexically(template)]
    return _TemplateWalker(template, tree).run()


# --- parsing ----------------------------------------------------------------------------------------------


class _GenerationTag(Extension):
    """Accepts transformers' ``{% generation %}...{% endgeneration %}`` (assistant-mask) tag for parsing."""

    tags = {"generation"}

    def parse(self, parser: Parser) -> nodes.Node:
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return nodes.Scope(body, lineno=lineno)


# The extensions transformers enables for chat templates (loopcontrols, its generation tag) plus ``do``, so
# that any template a real renderer accepts parses here. The environment is used for ``parse`` only.
_PARSING_ENVIRONMENT = jinja2.Environment(  # noqa: S701 - parse only: nothing is ever rendered here
    extensions=["jinja2.ext.loopcontrols", "jinja2.ext.do", _GenerationTag],
)

# --- constant folding (str/int values only) -----------------------------------------------------------------

_MAX_CANDIDATES = 16
_MAX_FOLDED_CHARS = 4096
_MAX_FOLD_DEPTH = 40
# printf / str.format specs with huge widths would make the folder allocate: refuse them.
_HUGE_PRINTF = re.compile(r"%[^a-zA-Z%]*(\*|\d{3,})")
_HUGE_FORMAT_SPEC = re.compile(r"\d{3,}|\{")

def _bounded(values: Iterable[object]) -> list[object] | None:
    out: list[object] = []
    for value in values:
        if isinstance(value, str) and len(value) > _MAX_FOLDED_CHARS:
            return None
        if isinstance(value, tuple) and len(value) > _MAX_FOLDED_CHARS:
            return None
        if value not in out:
            out.append(value)
        if len(out) > _MAX_CANDIDATES:
            return None
    return out


class _Folder:
    """Folds expressions made of literals (and variables assigned from literals) into their possible values."""

    def __init__(self, variables: dict[str, list[object]]) -> None:
        self.variables = variables

    def fold(self, node: nodes.Node | None, depth: int = 0) -> list[object] | None:
        if node is None or depth > _MAX_FOLD_DEPTH:
            return None
        try:
            return self._fold(node, depth + 1)
        except (TypeError, ValueError, OverflowError, KeyError, IndexError, AttributeError, RecursionError,
                MemoryError):
            return None

    def fold_strings(self, node: nodes.Node | None) -> list[str] | None:
        values = self.fold(node)
        if values is None:
            return None
        strings = [v for v in values if isinstance(v, str)]
        return strings or None

    def _fold(self, node: nodes.Node, depth: int) -> list[object] | None:
        if isinstance(node, nodes.Const):
            value = node.value
            if isinstance(value, bool) or not isinstance(value, str | int):
                return None
            return _bounded([value])
        if isinstance(node, nodes.TemplateData):
            return _bounded([node.data])
        if isinstance(node, nodes.Name):
            return self.variables.get(node.name)
        if isinstance(node, nodes.Getattr) and isinstance(node.node, nodes.Name):
            return self.variables.get(f"{node.node.name}.{node.attr}")
        if isinstance(node, nodes.Neg | nodes.Pos):
            operands = self.fold(node.node, depth)
            if operands is None or not all(isinstance(v, int) for v in operands):
                return None
            return _bounded(-v if isinstance(node, nodes.Neg) else v for v in operands if isinstance(v, int))
        if isinstance(node, nodes.Concat):
            return self._product([self.fold(n, depth) for n in node.nodes], _concat)
        if isinstance(node, nodes.Add):
            return self._binary(node, depth, _add)
        if isinstance(node, nodes.Mul):
            return self._binary(node, depth, _multiply)
        if isinstance(node, nodes.Mod):
            return self._binary(node, depth, _printf)
        if isinstance(node, nodes.CondExpr):
            first, second = self.fold(node.expr1, depth), self.fold(node.expr2, depth)
            if first is None and second is None:
                return None
            return _bounded([*(first or []), *(second or [])])
        if isinstance(node, nodes.Tuple | nodes.List):
            return self._product([self.fold(n, depth) for n in node.items], lambda parts: tuple(parts))
        if isinstance(node, nodes.Dict):
            keys = [self.fold(pair.key, depth) for pair in node.items]
            return self._product(keys, lambda parts: tuple(parts))
        if isinstance(node, nodes.Getitem):
            return self._getitem(node, depth)
        if isinstance(node, nodes.Filter):
            return self._filter(node, depth)
        if isinstance(node, nodes.Call):
            return self._call(node, depth)
        return None

    def _product(self, parts: list[list[object] | None],
                 combine: Callable[[list[object]], object]) -> list[object] | None:
        if any(p is None for p in parts):
            return None
        choices = [p for p in parts if p is not None]
        total = 1
        for choice in choices:
            total *= len(choice)
            if total > _MAX_CANDIDATES:
                return None
        return _bounded(combine(list(combo)) for combo in itertools.product(*choices))

    def _binary(self, node: nodes.BinExpr, depth: int,
                operation: Callable[[object, object], object]) -> list[object] | None:
        left, right = self.fold(node.left, depth), self.fold(node.right, depth)
        if left is None or right is None:
            return None
        out = [operation(a, b) for a in left for b in right]
        return _bounded(v for v in out if v is not None)

    def _getitem(self, node: nodes.Getitem, depth: int) -> list[object] | None:
        bases = self.fold(node.node, depth)
        if bases is None:
            return None
        if isinstance(node.arg, nodes.Slice):
            bounds = [self._int_or_none(n, depth) for n in (node.arg.start, node.arg.stop, node.arg.step)]
            if any(b is False for b in bounds) or bounds[2] == 0:
                return None
            cut = slice(*bounds)
            return _bounded(b[cut] for b in bases if isinstance(b, str | tuple))
        keys = self.fold(node.arg, depth)
        if keys is None:
            return None
        return _bounded(b[k] for b in bases for k in keys
                        if isinstance(b, str | tuple) and isinstance(k, int) and -len(b) <= k < len(b))

    def _int_or_none(self, node: nodes.Node | None, depth: int) -> int | None | bool:
        if node is None:
            return None
        values = self.fold(node, depth)
        if values is None or len(values) != 1 or not isinstance(values[0], int):
            return False
        return values[0]

    def _args(self, args: list[nodes.Expr], depth: int) -> list[list[object]] | None:
        out: list[list[object]] = []
        for arg in args:
            values = self.fold(arg, depth)
            if values is None:
                return None
            out.append(values)
        return out

    def _filter(self, node: nodes.Filter, depth: int) -> list[object] | None:
        name = node.name
        if name in ("default", "d"):
            given = self.fold(node.node, depth) or []
            extra = self._args(list(node.args[:1]), depth) or [[]]
            return _bounded([*given, *extra[0]]) or None
        bases = self.fold(node.node, depth)
        args = self._args(list(node.args), depth)
        if bases is None or args is None or node.kwargs or node.dyn_args or node.dyn_kwargs:
            return None
        out: list[object] = []
        for base in bases:
            for combo in itertools.product(*args):
                value = _apply_filter(name, base, list(combo))
                if value is not None:
                    out.append(value)
        return _bounded(out) or None

    def _call(self, node: nodes.Call, depth: int) -> list[object] | None:
        if isinstance(node.node, nodes.Name) and node.node.name == "dict" and not node.args:
            # dict(__cla=1, ss__=2)|join joins the keyword names.
            return _bounded([tuple(kw.key for kw in node.kwargs)])
        if not isinstance(node.node, nodes.Getattr) or node.kwargs or node.dyn_args or node.dyn_kwargs:
            return None
        receivers = self.fold(node.node.node, depth)
        args = self._args(list(node.args), depth)
        if receivers is None or args is None:
            return None
        out: list[object] = []
        for receiver in receivers:
            for combo in itertools.product(*args):
                value = _apply_method(node.node.attr, receiver, list(combo))
                if value is not None:
                    out.append(value)
        return _bounded(out) or None


def _concat(parts: list[object]) -> object:
    if any(isinstance(p, tuple) for p in parts):
        return None
    return "".join(str(p) for p in parts)


def _add(a: object, b: object) -> object:
    if isinstance(a, str) and isinstance(b, str):
        return a + b
    if isinstance(a, int) and isinstance(b, int):
        return a + b
    return None


def _multiply(a: object, b: object) -> object:
    if isinstance(a, int) and isinstance(b, str):
        a, b = b, a
    if isinstance(a, str) and isinstance(b, int):
        return a * b if 0 <= b and len(a) * b <= _MAX_FOLDED_CHARS else None
    if isinstance(a, int) and isinstance(b, int) and abs(a) < 2**32 and abs(b) < 2**32:
        return a * b
    return None


def _printf(fmt: object, args: object) -> object:
    if not isinstance(fmt, str) or _HUGE_PRINTF.search(fmt):
        return None
    values = args if isinstance(args, tuple) else (args,)
    if not all(isinstance(v, str | int) for v in values):
        return None
    return fmt % values


def _str_format(fmt: str, args: list[object]) -> object:
    for _, field, spec, _ in string.Formatter().parse(fmt):
        # Attribute/index fields are reported as issues elsewhere; never evaluate them here.
        if field and ("." in field or "[" in field):
            return None
        if spec and _HUGE_FORMAT_SPEC.search(spec):
            return None
    if not all(isinstance(a, str | int) for a in args):
        return None
    return fmt.format(*args)


def _replace(text: str, old: object, new: object, count: object = -1) -> object:
    if not isinstance(old, str) or not isinstance(new, str) or not isinstance(count, int):
        return None
    hits = text.count(old) if old else len(text) + 1
    if len(text) + hits * len(new) > _MAX_FOLDED_CHARS:
        return None
    return text.replace(old, new, count)


def _join(items: object, separator: object) -> object:
    if not isinstance(items, tuple | str) or not isinstance(separator, str):
        return None
    parts = list(items)
    if not all(isinstance(p, str | int) for p in parts):
        return None
    return separator.join(str(p) for p in parts)


def _apply_filter(name: str, base: object, args: list[object]) -> object:
    if isinstance(base, str):
        simple: dict[str, Callable[[str], str]] = {"lower": str.lower, "upper": str.upper, "capitalize": str.capitalize, "title": str.title,
                  "trim": str.strip, "string": str, "safe": str}
        if name in simple and not args:
            return simple[name](base)
        if name == "replace" and 2 <= len(args) <= 3:
            return _replace(base, *args)
        if name == "format":
            return _printf(base, tuple(args))
        if name == "list" and not args:
            return tuple(base)
    if name == "string" and isinstance(base, int) and not args:
        return str(base)
    if name == "reverse" and isinstance(base, str | tuple) and not args:
        return base[::-1]
    if name == "join" and len(args) <= 1:
        return _join(base, args[0] if args else "")
    if name in ("first", "last") and isinstance(base, str | tuple) and base and not args:
        return base[0] if name == "first" else base[-1]
    return None


def _apply_method(method: str, receiver: object, args: list[object]) -> object:
    if not isinstance(receiver, str):
        return None
    if method == "format":
        return _str_format(receiver, args)
    if method == "join" and len(args) == 1:
        return _join(args[0], receiver)
    if method == "replace" and 2 <= len(args) <= 3:
        return _replace(receiver, *args)
    simple: dict[str, Callable[[str], str]] = {
        "lower": str.lower, "upper": str.upper, "strip": str.strip, "lstrip": str.lstrip,
        "rstrip": str.rstrip, "title": str.title, "capitalize": str.capitalize, "swapcase": str.swapcase,
    }
    if method in simple and not args:
        return simple[method](receiver)
    return None


_N = TypeVar("_N", bound=nodes.Node)
# Reports kept per template (a payload repeated 10,000 times is still one problem).
_MAX_REPORTS = 200

# --- the walker -------------------------------------------------------------------------------------------


def _sensitive_reason(name: str) -> str | None:
    """Why an attribute/key name is dangerous, or None."""
    if _DUNDER.match(name):
        return "Python internals"
    if _MANGLED.match(name):
        return "private Jinja internals"
    if name in _DANGEROUS_ATTRIBUTES:
        return "code, frames or modules"
    return None


def _attribute_path(name: str) -> list[str]:
    """Jinja's ``attribute=`` arguments are dotted paths (``'user.name'``)."""
    return [part for part in name.split(".") if part]


def _format_fields(fmt: str) -> list[str]:
    """Attribute and index names used by the replacement fields of a str.format string."""
    names: list[str] = []
    try:
        parsed = list(string.Formatter().parse(fmt))
    except ValueError:
        return names
    for _, field, _, _ in parsed:
        if field:
            names.extend(a or b for a, b in re.findall(r"\.([^.\[]+)|\[([^\]]*)\]", field))
    return names


def _fragment_is_sensitive(fragment: str) -> bool:
    if len(fragment) < 2:
        return False
    if fragment.startswith("__") or fragment.endswith("__"):
        return True
    lowered = fragment.lower()
    return len(lowered) >= 4 and any(lowered in word for word in _SENSITIVE_WORDS)


def _walk(root: nodes.Node) -> Iterator[nodes.Node]:
    """Every node under ``root`` (itself included), iteratively: ``a.b.c...`` chains make trees deeper than
    Python's recursion limit, and jinja2's own ``find_all`` recurses."""
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(list(node.iter_child_nodes())))


def _const_strings(node: nodes.Node) -> Iterator[str]:
    for const in _walk(node):
        if isinstance(const, nodes.Const) and isinstance(const.value, str):
            yield const.value


class _TemplateWalker:
    def __init__(self, source: str, tree: nodes.Template) -> None:
        self.source = source
        self.tree = tree
        self.found: list[tuple[int | None, str, str]] = []  # (line, evidence, message)
        self.nodes = list(_walk(tree))
        self.line_starts = [0, *(m.end() for m in re.finditer("\n", source))]
        self.bound = self._bound_names()
        self.blocks = {block.name for block in self._all(nodes.Block)}
        self.folder = _Folder(self._constant_variables())

    # -- setup

    def _all(self, kind: type[_N]) -> list[_N]:
        return [node for node in self.nodes if isinstance(node, kind)]

    def _bound_names(self) -> set[str]:
        bound: set[str] = set()
        for name in self._all(nodes.Name):
            if name.ctx in ("store", "param"):
                bound.add(name.name)
        for macro in self._all(nodes.Macro):
            bound.add(macro.name)
        for imported in self._all(nodes.FromImport):
            for entry in imported.names:
                bound.add(entry[1] if isinstance(entry, tuple) else entry)
        return bound

    def _constant_variables(self) -> dict[str, list[object]]:
        """Values of variables assigned (only) from foldable expressions, to a fixed point."""
        variables: dict[str, list[object]] = {}
        folder = _Folder(variables)
        assignments: list[tuple[str, nodes.Node, str]] = []  # (variable, value node, how)
        for assign in self._all(nodes.Assign):
            target = assign.target
            if isinstance(target, nodes.Name):
                assignments.append((target.name, assign.node, "value"))
                # {% set ns = namespace(k='...') %}: ns.k holds the keyword's value.
                value = assign.node
                if isinstance(value, nodes.Call) and isinstance(value.node, nodes.Name) \
                        and value.node.name == "namespace":
                    for keyword in value.kwargs:
                        assignments.append((f"{target.name}.{keyword.key}", keyword.value, "value"))
            elif isinstance(target, nodes.NSRef):
                assignments.append((f"{target.name}.{target.attr}", assign.node, "value"))
        for block in self._all(nodes.AssignBlock):
            # {% set x %}__class__{% endset %}: a block made only of output is a string value.
            if isinstance(block.target, nodes.Name) and block.filter is None \
                    and all(isinstance(out, nodes.Output) for out in block.body):
                pieces = [n for out in block.body if isinstance(out, nodes.Output) for n in out.nodes]
                assignments.append((block.target.name, nodes.Concat(pieces), "value"))
        for loop in self._all(nodes.For):
            if isinstance(loop.target, nodes.Name):
                assignments.append((loop.target.name, loop.iter, "items"))
        for macro in self._all(nodes.Macro):
            for param, default in zip(macro.args[len(macro.args) - len(macro.defaults):], macro.defaults):
                assignments.append((param.name, default, "value"))
        for _ in range(4):
            changed = False
            for variable, value_node, how in assignments:
                values = folder.fold(value_node)
                if values is None:
                    continue
                if how == "items":
                    values = [item for v in values if isinstance(v, tuple | str) for item in v]
                known = variables.setdefault(variable, [])
                for candidate in values:
                    if candidate not in known and len(known) < _MAX_CANDIDATES:
                        known.append(candidate)
                        changed = True
            if not changed:
                break
        return variables

    # -- reporting

    def _report(self, node: nodes.Node, message: str, *needles: str) -> None:
        line = getattr(node, "lineno", None)
        if len(self.found) < _MAX_REPORTS:
            self.found.append((line, self._evidence(node, line, needles), message))

    def _evidence(self, node: nodes.Node, line: int | None, needles: tuple[str, ...]) -> str:
        start = self.line_starts[line - 1] if line is not None and 0 < line <= len(self.line_starts) else None
        if start is not None:
            for needle in needles:
                index = _find_needle(self.source, needle, start)
                if index is not None:
                    return _enclosing_tag(self.source, index, len(needle))
        return _clip(_expression_text(node))

    def run(self) -> list[TemplateIssue]:
        for node in self.nodes:
            self._visit(node)
            if len(self.found) >= _MAX_REPORTS:
                break
        merged: dict[tuple[int | None, str], list[str]] = {}
        for line, evidence, message in self.found:
            messages = merged.setdefault((line, evidence), [])
            if message not in messages:
                messages.append(message)
        # The walk meets the outermost node first; source order (``a.__class__`` before ``.__mro__``) reads better.
        return [TemplateIssue(ESCAPE, "; ".join(reversed(messages)), evidence, line)
                for (line, evidence), messages in merged.items()]

    # -- checks per node type

    def _visit(self, node: nodes.Node) -> None:
        if isinstance(node, nodes.Getattr):
            self._check_name_use(node, node.attr, f"reads the attribute '{node.attr}'", node.attr)
            self._check_global_base(node, node.node, node.attr)
        elif isinstance(node, nodes.Getitem):
            self._check_getitem(node)
        elif isinstance(node, nodes.Filter | nodes.Test):
            self._check_filter(node)
        elif isinstance(node, nodes.Call):
            self._check_call(node)
        elif isinstance(node, nodes.Name) and node.ctx == "load":
            self._check_name(node)
        elif isinstance(node, nodes.Import | nodes.FromImport | nodes.Include | nodes.Extends):
            self._check_template_load(node)

    def _check_name_use(self, node: nodes.Node, name: str, what: str, *needles: str) -> None:
        reason = _sensitive_reason(name)
        if reason is not None:
            self._report(node, f"{what} ({reason})", *needles)

    def _check_global_base(self, node: nodes.Node, base: nodes.Node | None, attr: str | None = None) -> None:
        """Reaching into a Jinja/web global: ``cycler.__init__``, ``lipsum.__globals__``, ``self._Template...``."""
        if not isinstance(base, nodes.Name) or base.name in self.bound:
            return
        if base.name == "self" and attr is not None and attr in self.blocks:
            return  # self.blockname() renders a block: ordinary Jinja
        if base.name in _JINJA_OBJECT_GLOBALS or base.name in _WEB_GLOBALS:
            self._report(node, f"reaches into the global '{base.name}' (a path to Python internals)", base.name)

    def _check_getitem(self, node: nodes.Getitem) -> None:
        self._check_global_base(node, node.node)
        keys = self.folder.fold_strings(node.arg)
        if keys is not None:
            pieces = [f for f in _const_strings(node.arg) if f]
            for key in keys:
                self._check_name_use(node, key, f"looks up '{key}'", key, *pieces[:1])
            return
        if isinstance(node.arg, nodes.Slice) or (isinstance(node.arg, nodes.Const)):
            self._check_character_picking(node)
            return
        fragments = [f for f in _const_strings(node.arg) if _fragment_is_sensitive(f)]
        if fragments:
            self._report(node, f"builds a key from the pieces {', '.join(map(repr, fragments[:4]))} at render "
                         "time (a way to hide names of Python internals)", *fragments)
        self._check_character_picking(node)

    def _check_character_picking(self, node: nodes.Getitem) -> None:
        """``(()|select|string)[24]`` or ``(lipsum|string)[1]``: characters taken out of an object's repr."""
        base = node.node
        if not isinstance(base, nodes.Filter) or base.name not in ("string", "list"):
            return
        source = base.node
        suspicious = (
            (isinstance(source, nodes.Name) and source.name not in self.bound
             and (source.name in _JINJA_OBJECT_GLOBALS or source.name in _WEB_GLOBALS))
            or isinstance(source, nodes.Tuple | nodes.List | nodes.Dict)
            or (isinstance(source, nodes.Filter) and source.name in _OBJECT_PRODUCING_FILTERS)
        )
        if suspicious:
            self._report(node, "picks characters out of the text of a Python object (builds names without "
                         "writing them)", "string", "list")

    def _check_filter(self, node: nodes.Filter | nodes.Test) -> None:
        kind = "filter" if isinstance(node, nodes.Filter) else "test"
        if isinstance(node, nodes.Filter) and node.name == "attr":
            self._check_global_base(node, node.node)
            self._check_attr_argument(node, node.args[0] if node.args else None, "|attr()")
        if isinstance(node, nodes.Filter) and node.name in _FILTER_APPLYING_FILTERS and len(node.args) >= 2:
            applied = self.folder.fold_strings(node.args[0])
            if applied is not None and "attr" in applied:
                self._check_attr_argument(node, node.args[1], f"|{node.name}('attr', ...)")
        for keyword in node.kwargs:
            if keyword.key == "attribute" and node.name in _ATTRIBUTE_FILTERS:
                self._check_attr_argument(node, keyword.value, f"|{node.name}(attribute=...)", path=True)
        self._check_arguments(node, f"the {kind} '{node.name}'", node.args, node.kwargs)

    def _check_attr_argument(self, node: nodes.Node, argument: nodes.Node | None, how: str,
                             *, path: bool = False) -> None:
        names = self.folder.fold_strings(argument)
        if names is None:
            if argument is not None:
                self._report(node, f"uses {how} with a name computed at render time (hides which attribute "
                             "it reads)", "attr", "attribute")
            return
        for name in names:
            for part in _attribute_path(name) if path else [name]:
                self._check_name_use(node, part, f"uses {how} to read '{part}'", part, name)

    def _check_arguments(self, node: nodes.Node, callee: str, args: list[nodes.Expr],
                         kwargs: list[Any]) -> None:
        # Filter/Test kwargs are Keyword nodes at run time (jinja2 annotates them as Pair).
        """Dunder names passed as arguments or keyword names: ``dict(__class__=1)``, ``x.pop('__init__')``."""
        for keyword in kwargs:
            if _DUNDER.match(keyword.key) or _MANGLED.match(keyword.key):
                self._report(node, f"passes the keyword '{keyword.key}' to {callee}", keyword.key)
        for arg in [*args, *(kw.value for kw in kwargs)]:
            for value in self.folder.fold_strings(arg) or []:
                if _DUNDER.match(value) or _MANGLED.match(value):
                    self._report(node, f"passes the name '{value}' to {callee}", value)

    def _check_call(self, node: nodes.Call) -> None:
        callee = node.node
        if isinstance(callee, nodes.Getattr) and callee.attr in ("format", "format_map"):
            for fmt in self.folder.fold_strings(callee.node) or []:
                for name in _format_fields(fmt):
                    self._check_name_use(node, name, f"uses a str.format() field that reads '{name}'", name)
        label = _expression_text(callee, limit=60)
        self._check_arguments(node, f"'{label}'", node.args, node.kwargs)

    def _check_name(self, node: nodes.Name) -> None:
        if node.name in self.bound:
            return
        if node.name in _DANGEROUS_NAMES or _DUNDER.match(node.name):
            self._report(node, f"refers to the Python name '{node.name}'", node.name)
        elif node.name in _WEB_GLOBALS:
            self._report(node, f"refers to '{node.name}', a web-framework global that template-injection "
                         "payloads start from", node.name)

    def _check_template_load(self, node: nodes.Node) -> None:
        keywords: dict[type[nodes.Node], str] = {nodes.Import: "import", nodes.FromImport: "from", nodes.Include: "include",
                                                 nodes.Extends: "extends"}
        keyword = keywords[type(node)]
        template = getattr(node, "template", None)
        names = self.folder.fold_strings(template) if template is not None else None
        target = repr(names[0]) if names else "a computed name"
        self._report(node, f"loads another template with {{% {keyword} %}} ({target}): renderers with a "
                     "template loader read files this way", keyword)


# --- evidence text ----------------------------------------------------------------------------------------


def _clip(text: str, limit: int = EVIDENCE_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _line_start(source: str, line: int | None) -> int | None:
    if line is None or line < 1:
        return None
    position = 0
    for _ in range(line - 1):
        position = source.find("\n", position)
        if position == -1:
            return None
        position += 1
    return position


def _line_text(source: str, line: int | None) -> str:
    start = _line_start(source, line)
    if start is None:
        return source[:EVIDENCE_CHARS]
    end = source.find("\n", start)
    return source[start: end if end != -1 else start + EVIDENCE_CHARS * 4]


# How far after the start of its line a node's text may be (tags can span lines).
_NEEDLE_WINDOW = 4000


def _find_needle(source: str, needle: str, start: int) -> int | None:
    """Where ``needle`` first occurs from ``start`` (as a whole word when it is an identifier)."""
    if not needle:
        return None
    window = source[start: start + _NEEDLE_WINDOW]
    if needle.isidentifier():
        match = re.search(rf"(?<![A-Za-z0-9_]){re.escape(needle)}(?![A-Za-z0-9_])", window)
        return start + match.start() if match else None
    index = window.find(needle)
    return start + index if index != -1 else None


def _enclosing_tag(source: str, index: int, width: int) -> str:
    """The ``{{ ... }}`` / ``{% ... %}`` tag around ``source[index]``, centred on it when long."""
    opening = max(source.rfind("{{", 0, index + 1), source.rfind("{%", 0, index + 1))
    closes = [c for c in (source.find("}}", index), source.find("%}", index)) if c != -1]
    closing = min(closes) + 2 if closes else len(source)
    if opening == -1 or closing - opening > 20 * EVIDENCE_CHARS:
        opening, closing = max(0, index - 80), min(len(source), index + width + 80)
    tag = " ".join(source[opening:closing].split())
    if len(tag) <= EVIDENCE_CHARS:
        return tag
    middle = " ".join(source[max(opening, index - 90): index].split())
    return _clip("\u2026" + middle + " " + " ".join(source[index: index + 150].split()))


_BINARY_OPERATORS = {nodes.Add: "+", nodes.Sub: "-", nodes.Mul: "*", nodes.Div: "/", nodes.FloorDiv: "//",
                     nodes.Mod: "%", nodes.Pow: "**", nodes.And: "and", nodes.Or: "or"}


def _expression_text(node: nodes.Node | None, limit: int = EVIDENCE_CHARS) -> str:
    """A short, Jinja-like rendering of an expression node, for evidence when the source text is not found."""
    parts: list[str] = []
    _render(node, parts, 0)
    return _clip("".join(parts), limit)


def _render(node: nodes.Node | None, out: list[str], depth: int) -> None:  # noqa: C901 - one case per node type
    if depth > 30 or sum(len(p) for p in out) > EVIDENCE_CHARS * 2:
        out.append("\u2026")
        return
    depth += 1
    if node is None:
        return
    if isinstance(node, nodes.Const):
        out.append(repr(node.value))
    elif isinstance(node, nodes.Name):
        out.append(node.name)
    elif isinstance(node, nodes.Getattr):
        _render(node.node, out, depth)
        out.append(f".{node.attr}")
    elif isinstance(node, nodes.Getitem):
        _render(node.node, out, depth)
        out.append("[")
        _render(node.arg, out, depth)
        out.append("]")
    elif isinstance(node, nodes.Slice):
        _render(node.start, out, depth)
        out.append(":")
        _render(node.stop, out, depth)
    elif isinstance(node, nodes.Call):
        _render(node.node, out, depth)
        _render_arguments(node.args, node.kwargs, out, depth)
    elif isinstance(node, nodes.Filter | nodes.Test):
        if node.node is not None:
            _render(node.node, out, depth)
        out.append(f"|{node.name}" if isinstance(node, nodes.Filter) else f" is {node.name}")
        if node.args or node.kwargs:
            _render_arguments(node.args, node.kwargs, out, depth)
    elif isinstance(node, nodes.Concat):
        for index, piece in enumerate(node.nodes):
            if index:
                out.append(" ~ ")
            _render(piece, out, depth)
    elif isinstance(node, nodes.BinExpr):
        _render(node.left, out, depth)
        out.append(f" {_BINARY_OPERATORS.get(type(node), '?')} ")
        _render(node.right, out, depth)
    elif isinstance(node, nodes.Tuple | nodes.List):
        out.append("(" if isinstance(node, nodes.Tuple) else "[")
        for index, item in enumerate(node.items):
            if index:
                out.append(", ")
            _render(item, out, depth)
        out.append(")" if isinstance(node, nodes.Tuple) else "]")
    elif isinstance(node, nodes.Import | nodes.FromImport | nodes.Include | nodes.Extends):
        out.append(f"{{% {type(node).__name__.lower()} ")
        _render(getattr(node, "template", None), out, depth)
        out.append(" %}")
    else:
        out.append(f"<{type(node).__name__}>")


def _render_arguments(args: list[nodes.Expr], kwargs: list[Any], out: list[str], depth: int) -> None:
    out.append("(")
    for index, arg in enumerate(args):
        if index:
            out.append(", ")
        _render(arg, out, depth)
    for index, keyword in enumerate(kwargs):
        if index or args:
            out.append(", ")
        out.append(f"{keyword.key}=")
        _render(keyword.value, out, depth)
    out.append(")")


# --- lexical fallback -------------------------------------------------------------------------------------

# Patterns looked for inside the tags of templates that could not be parsed (or are too large to parse).
_LEXICAL_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"__[A-Za-z][A-Za-z0-9_]*__"), "names a Python internal"),
    (re.compile(r"\|\s*attr\b"), "uses the |attr() filter"),
    (re.compile(r"\\x5[fF]|\\u005[fF]|\\137"), "spells an underscore as an escape sequence"),
    (re.compile(r"\b(?:os|subprocess|popen|eval|exec|import_module|builtins)\s*[.(]"),
     "calls into a Python module or builtin"),
    (re.compile(r"\b(?:lipsum|cycler|joiner|namespace|range|self|config|request|url_for|"
                r"get_flashed_messages)\s*(?:\.|\[|\|\s*attr)"), "reaches into a Jinja or web global"),
    (re.compile(r"^\{%-?\s*(?:import|include|extends|from)\b"), "loads another template"),
)
_MAX_LEXICAL_ISSUES = 20
_MAX_TAG_CHARS = 20_000


def _tags(source: str) -> Iterator[tuple[int, str]]:
    """Yield (offset, text) of every ``{{ }}`` / ``{% %}`` tag; linear time even when tags never close."""
    position = 0
    opening_expr = source.find("{{")
    opening_stmt = source.find("{%")
    while True:
        if opening_expr != -1 and opening_expr < position:
            opening_expr = source.find("{{", position)
        if opening_stmt != -1 and opening_stmt < position:
            opening_stmt = source.find("{%", position)
        starts = [s for s in (opening_expr, opening_stmt) if s != -1]
        if not starts:
            return
        start = min(starts)
        closer = "}}" if start == opening_expr else "%}"
        end = source.find(closer, start + 2)
        if end == -1:
            yield start, source[start: start + _MAX_TAG_CHARS]
            return
        yield start, source[start: min(end + 2, start + _MAX_TAG_CHARS)]
        position = end + 2


def _scan_lexically(source: str) -> list[TemplateIssue]:
    issues: list[TemplateIssue] = []
    for offset, tag in _tags(source):
        reasons = [why for pattern, why in _LEXICAL_PATTERNS if pattern.search(tag)]
        if reasons:
            line = source.count("\n", 0, offset) + 1
            issues.append(TemplateIssue(ESCAPE, "; ".join(reasons) + " (found by a lexical scan)", _clip(tag),
                                        line))
            if len(issues) >= _MAX_LEXICAL_ISSUES:
                break
    return issues
