"""Unsafe settings in YAML and JSON configuration files: trust_remote_code enabled, servers bound to all
interfaces, hub models pinned to a branch or tag, TLS verification switched off, and YAML documents that carry
Python object tags (which run code when someone loads them with an unsafe loader).

Parsing is safe by construction: YAML is only *composed* into nodes with PyYAML's safe loader (no object is
constructed, tags are just read), JSON goes through ``json.loads``. Nothing here evaluates or imports anything.
Hostile input is bounded: the walk is iterative with a depth and node budget, aliases are visited once, and
parse failures, excessive nesting (RecursionError) and oversized numbers become one MW-CFG-000 hit.

Line numbers: YAML nodes carry their position. JSON does not; the k-th occurrence of a key in document order is
matched to the k-th ``"key":`` in the text, which is exact unless keys are written with escape sequences
(then the line is approximate).
"""

from __future__ import annotations

import bisect
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import PurePosixPath
from typing import Any, Final, Literal

import yaml

from mlwarden.supply.code.python_rules import Verdict, classify_repo_reference, is_commit_revision
from mlwarden.supply.hits import Hit

__all__ = ["ConfigKind", "analyze_config", "config_kind_for"]

ConfigKind = Literal["yaml", "json"]

# Bounds for hostile documents (the caller already limits the text's size).
MAX_CONFIG_DEPTH: Final = 256
MAX_CONFIG_NODES: Final = 1_000_000

_UNPARSEABLE: Final = "MW-CFG-000"
_PYTHON_TAG_PREFIX: Final = "tag:yaml.org,2002:python/"

# --- key tables (compared after lower-casing and turning '-' into '_') ---------------------------------------
# Keys that name the address a server listens on (Flask/uvicorn/Gradio/vLLM/TGI/Triton/MLflow style configs).
_HOST_KEYS: Final = frozenset({"host", "server_name", "server_host", "bind", "bind_host", "bind_address",
                               "bind_addr", "listen", "listen_address", "listen_addr", "listen_host", "address",
                               "http_host", "grpc_host", "api_host", "ip", "server_ip"})
_HOST_KEY_SUFFIXES: Final = ("_host", "_bind", "_bind_address", "_listen", "_listen_address")
_BIND_ALL: Final = frozenset({"0.0.0.0", "::", "[::]", "0:0:0:0:0:0:0:0", "*"})  # noqa: S104 - what we look for
# transformers / vLLM / lm-eval / axolotl / TGI names for the model revision and the repository it belongs to.
_REVISION_KEYS: Final = frozenset({"revision", "model_revision", "code_revision", "tokenizer_revision",
                                   "base_model_revision", "adapter_revision"})
_MODEL_KEYS: Final = frozenset({"model", "model_name", "model_id", "model_name_or_path",
                                "pretrained_model_name_or_path", "base_model", "base_model_name_or_path",
                                "repo_id", "tokenizer", "tokenizer_name", "tokenizer_name_or_path",
                                "hub_model_id", "model_path"})
# TLS switches: requests-style, Elasticsearch/OpenSearch clients, kubeconfig, Docker/registry and CI configs.
_VERIFY_OFF_KEYS: Final = frozenset({"verify_ssl", "ssl_verify", "verify_tls", "tls_verify", "ssl_verification",
                                     "verify_certs", "verify_certificate", "verify_certificates", "sslverify",
                                     "ssl_cert_verify", "check_certificate", "validate_certs"})
_INSECURE_ON_KEYS: Final = frozenset({"insecure_skip_verify", "insecure_skip_tls_verify", "tls_insecure_skip_verify",
                                      "skip_tls_verify", "tls_skip_verify", "skip_ssl_verify", "ssl_insecure",
                                      "insecure_ssl"})

# Files that are JSON/YAML but not configuration: lock files (the dependency audit reads them), tokenizer
# vocabularies (megabytes of data, no settings) and editor/TypeScript configs (JSON with comments).
_SKIPPED_FILE_NAMES: Final = frozenset({"package-lock.json", "npm-shrinkwrap.json", "pnpm-lock.yaml",
                                        "composer.lock", "tokenizer.json", "vocab.json", "merges.json",
                                        "jsconfig.json", ".eslintrc.json", "devcontainer.json",
                                        ".devcontainer.json"})
_SKIPPED_DIRS: Final = frozenset({".vscode", ".devcontainer", "node_modules", ".idea"})


def config_kind_for(path: str) -> ConfigKind | None:
    """Which parser a file needs, or None when it is not a configuration file this module checks."""
    pure = PurePosixPath(path.replace("\\", "/"))
    name = pure.name.lower()
    if name in _SKIPPED_FILE_NAMES or name.startswith("tsconfig") or _SKIPPED_DIRS.intersection(pure.parts):
        return None
    if name.endswith((".yaml", ".yml")):
        return "yaml"
    if name.endswith(".json"):
        return "json"
    return None


# ================================================================================================================
# A common view of both formats: mappings as lists of entries, checked one mapping at a time.
# ================================================================================================================


class _Container:
    """Marks a value that is a mapping or a list (the checks only look at scalars)."""


CONTAINER: Final = _Container()
Scalar = bool | int | float | str | None | _Container


@dataclass(frozen=True, slots=True)
class Entry:
    """One key of a mapping. ``line``/``column`` are known for YAML; for JSON ``occurrence`` locates the key."""

    key: str  # normalised: lower case, '-' as '_'
    raw_key: str
    value: Scalar
    line: int | None
    column: int | None
    occurrence: int


MappingCheck = Callable[[list[Entry]], Iterable[tuple[str, Entry, Verdict]]]


def _normalise(key: str) -> str:
    return key.strip().lower().replace("-", "_")


def _is_true(value: Scalar) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() in ("true", "yes", "on"))


def _is_false(value: Scalar) -> bool:
    return value is False or (isinstance(value, str) and value.strip().lower() in ("false", "no", "off"))


def _shown(value: Scalar) -> str:
    if isinstance(value, _Container):
        return "…"
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    return text if len(text) <= 80 else text[:80] + "…"


def _check_trust_remote_code(entries: list[Entry]) -> Iterator[tuple[str, Entry, Verdict]]:
    """trust_remote_code set to true (boolean or the string "true"): MW-CFG-001."""
    for entry in entries:
        if entry.key == "trust_remote_code" and _is_true(entry.value):
            yield "MW-CFG-001", entry, Verdict(
                "trust_remote_code is enabled: the loader imports and runs Python files from the model repository")


def _bind_all_host(value: str) -> bool:
    text = value.strip().lower()
    if "://" in text:
        text = text.split("://", 1)[1].split("/", 1)[0]
    if text in _BIND_ALL:
        return True
    if text.startswith("[::]:"):
        return True
    host, sep, port = text.rpartition(":")
    return bool(sep) and port.isdigit() and host in _BIND_ALL


def _check_bind_all(entries: list[Entry]) -> Iterator[tuple[str, Entry, Verdict]]:
    """A host/bind/listen key whose value is 0.0.0.0, ::, [::] or * (with or without a port): MW-CFG-002."""
    for entry in entries:
        if not isinstance(entry.value, str):
            continue
        if entry.key in _HOST_KEYS or entry.key.endswith(_HOST_KEY_SUFFIXES):
            if _bind_all_host(entry.value):
                yield "MW-CFG-002", entry, Verdict(
                    f"{entry.raw_key} is {_shown(entry.value)}: the service listens on every network interface")


def _check_revision(entries: list[Entry]) -> Iterator[tuple[str, Entry, Verdict]]:
    """A revision that is a string but not a 40-hex commit, in a mapping that names a hub model id: MW-CFG-003.
    A missing or null revision is not reported (too common to be useful: every PEFT adapter config has one)."""
    hub_models = [e for e in entries if e.key in _MODEL_KEYS and isinstance(e.value, str)
                  and classify_repo_reference(e.value) == "hub"]
    if not hub_models:
        return
    model = hub_models[0]
    for entry in entries:
        if entry.key in _REVISION_KEYS and isinstance(entry.value, str | int | float) and not isinstance(
                entry.value, bool):
            revision = str(entry.value)
            if not is_commit_revision(revision):
                yield "MW-CFG-003", entry, Verdict(
                    f"{entry.raw_key} {_shown(revision)} for hub model {_shown(model.value)} is a branch or tag, "
                    "not a 40-hex commit: the repository owner can change what gets loaded")


def _check_tls(entries: list[Entry]) -> Iterator[tuple[str, Entry, Verdict]]:
    """verify_ssl-style keys set to false, insecure_skip_verify-style keys set to true: MW-CFG-004."""
    for entry in entries:
        if (entry.key in _VERIFY_OFF_KEYS and _is_false(entry.value)) or (
                entry.key in _INSECURE_ON_KEYS and _is_true(entry.value)):
            yield "MW-CFG-004", entry, Verdict(
                f"{entry.raw_key}: {_shown(entry.value)} turns TLS certificate verification off")


_MAPPING_CHECKS: Final[tuple[MappingCheck, ...]] = (
    _check_trust_remote_code, _check_bind_all, _check_revision, _check_tls,
)


# ================================================================================================================
# YAML: compose (never construct) and walk the node graph once.
# ================================================================================================================


@cache
def _yaml_loader() -> Any:
    """libyaml's CSafeLoader when it enforces its nesting limit (libyaml 0.2.5+; its composer recurses in C and
    would exhaust the stack otherwise), else the pure-Python SafeLoader, which fails cleanly with RecursionError."""
    c_loader = getattr(yaml, "CSafeLoader", None)
    if c_loader is None:
        return yaml.SafeLoader
    probe = "[" * 1200 + "]" * 1200
    try:
        yaml.compose(probe, Loader=c_loader)
    except yaml.YAMLError:
        return c_loader
    except RecursionError:
        return yaml.SafeLoader
    return yaml.SafeLoader


def _yaml_scalar(node: yaml.ScalarNode) -> Scalar:
    tag = node.tag
    value = node.value
    if tag == "tag:yaml.org,2002:bool":
        return value.strip().lower() in ("true", "yes", "on", "y")
    if tag == "tag:yaml.org,2002:null":
        return None
    return str(value)


def _python_tag_text(tag: str) -> str:
    return "!!" + tag[len("tag:yaml.org,2002:"):]


class _Budget:
    __slots__ = ("exceeded", "left", "too_deep")

    def __init__(self) -> None:
        self.left = MAX_CONFIG_NODES
        self.exceeded = False
        self.too_deep = False


def _walk_yaml(root: yaml.Node, hits: list[Hit], budget: _Budget, seen: set[int]) -> None:
    stack: list[tuple[yaml.Node, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        if id(node) in seen:
            continue  # aliases point at nodes already walked (and may form cycles)
        seen.add(id(node))
        budget.left -= 1
        if budget.left < 0:
            budget.exceeded = True
            return
        tag = node.tag or ""
        if tag.startswith(_PYTHON_TAG_PREFIX):
            shown = _python_tag_text(tag)[:120]
            hits.append(Hit("MW-CFG-005", line=node.start_mark.line + 1, column=node.start_mark.column + 1,
                            message=f"the document uses the tag {shown}: an unsafe YAML loader imports and calls "
                                    "the Python callable it names", evidence=shown))
        if depth >= MAX_CONFIG_DEPTH:
            budget.too_deep = True
            continue
        if isinstance(node, yaml.MappingNode):
            entries: list[Entry] = []
            children: list[yaml.Node] = []
            for key_node, value_node in node.value:
                children.extend((key_node, value_node))
                if isinstance(key_node, yaml.ScalarNode):
                    value = _yaml_scalar(value_node) if isinstance(value_node, yaml.ScalarNode) else CONTAINER
                    entries.append(Entry(_normalise(str(key_node.value)), str(key_node.value), value,
                                         key_node.start_mark.line + 1, key_node.start_mark.column + 1, 0))
            _run_checks(entries, hits, locate=None)
            stack.extend((child, depth + 1) for child in reversed(children))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((child, depth + 1) for child in reversed(node.value))


def _analyze_yaml(text: str) -> list[Hit]:
    hits: list[Hit] = []
    budget = _Budget()
    seen: set[int] = set()
    try:
        for document in yaml.compose_all(text, Loader=_yaml_loader()):
            if document is not None:
                _walk_yaml(document, hits, budget, seen)
            if budget.exceeded:
                break
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 1
        # Only the problem's description: the snippet PyYAML adds could show a secret from the file.
        problem = error.problem or error.context or "syntax error"
        hits.append(Hit(_UNPARSEABLE, line=line, message=f"could not be parsed as YAML: {problem}"))
    except yaml.YAMLError as error:
        hits.append(Hit(_UNPARSEABLE, line=1, message=f"could not be parsed as YAML: {type(error).__name__}"))
    except (RecursionError, MemoryError):
        hits.append(Hit(_UNPARSEABLE, line=1, message="could not be parsed as YAML: nested too deeply"))
    except (ValueError, UnicodeError) as error:
        hits.append(Hit(_UNPARSEABLE, line=1, message=f"could not be parsed as YAML: {type(error).__name__}"))
    _report_budget(budget, hits)
    return hits


# ================================================================================================================
# JSON: json.loads keeping every key (duplicates too), walked once in document order.
# ================================================================================================================


class _JsonObject(list[tuple[str, Any]]):
    """A JSON object as its key/value pairs in document order (duplicate keys kept, as in the text)."""


class _JsonKeyLocator:
    """Finds the line and column of the k-th ``"key":`` in the text, computed only for keys that got a hit."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._line_starts: list[int] | None = None
        self._positions: dict[str, list[int]] = {}

    def __call__(self, raw_key: str, occurrence: int) -> tuple[int, int | None]:
        positions = self._positions.get(raw_key)
        if positions is None:
            escaped = json.dumps(raw_key, ensure_ascii=False)[1:-1]
            pattern = re.compile(r'(?<!\\)"' + re.escape(escaped) + r'"\s*:')
            positions = [match.start() for match in pattern.finditer(self._text)]
            self._positions[raw_key] = positions
        if occurrence >= len(positions):
            return 1, None  # written with escapes: the position is not known
        offset = positions[occurrence]
        if self._line_starts is None:
            self._line_starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", self._text)]
        index = bisect.bisect_right(self._line_starts, offset) - 1
        return index + 1, offset - self._line_starts[index] + 1


def _analyze_json(text: str) -> list[Hit]:
    hits: list[Hit] = []
    try:
        root = json.loads(text, object_pairs_hook=_JsonObject)
    except json.JSONDecodeError as error:
        return [Hit(_UNPARSEABLE, line=error.lineno, message=f"could not be parsed as JSON: {error.msg}")]
    except (RecursionError, MemoryError):
        return [Hit(_UNPARSEABLE, line=1, message="could not be parsed as JSON: nested too deeply")]
    except ValueError as error:  # integers beyond Python's digit limit, lone surrogates
        return [Hit(_UNPARSEABLE, line=1, message=f"could not be parsed as JSON: {str(error)[:120]}")]
    budget = _Budget()
    locate = _JsonKeyLocator(text)
    counts: Counter[str] = Counter()
    # Frames are (container, next index, entries of that object); keys are counted in document order.
    if not isinstance(root, list):  # a scalar document has nothing to check
        return hits
    frames: list[tuple[Any, int, list[Entry] | None]] = [(root, 0, [] if isinstance(root, _JsonObject) else None)]
    while frames:
        container, index, entries = frames[-1]
        if index >= len(container):
            frames.pop()
            if entries is not None:
                _run_checks(entries, hits, locate=locate)
            continue
        frames[-1] = (container, index + 1, entries)
        budget.left -= 1
        if budget.left < 0:
            budget.exceeded = True
            break
        if entries is not None:
            key, value = container[index]
            key = str(key)
            entries.append(Entry(_normalise(key), key, value if not isinstance(value, list) else CONTAINER,
                                 None, None, counts[key]))
            counts[key] += 1
        else:
            value = container[index]
        if isinstance(value, list):
            if len(frames) >= MAX_CONFIG_DEPTH:
                budget.too_deep = True
                continue
            frames.append((value, 0, [] if isinstance(value, _JsonObject) else None))
    _report_budget(budget, hits)
    return hits


# ================================================================================================================
# Shared plumbing and the entry point
# ================================================================================================================


def _run_checks(entries: list[Entry], hits: list[Hit],
                locate: Callable[[str, int], tuple[int, int | None]] | None) -> None:
    if not entries:
        return
    for check in _MAPPING_CHECKS:
        for rule_id, entry, verdict in check(entries):
            line, column = entry.line, entry.column
            if line is None:
                line, column = locate(entry.raw_key, entry.occurrence) if locate is not None else (1, None)
            hits.append(Hit(rule_id, line=line, column=column, message=verdict.message, severity=verdict.severity,
                            evidence=f"{entry.raw_key[:60]}: {_shown(entry.value)}"))


def _report_budget(budget: _Budget, hits: list[Hit]) -> None:
    if budget.exceeded:
        hits.append(Hit(_UNPARSEABLE, line=1, message=f"more than {MAX_CONFIG_NODES} values: only the first "
                                                      "ones were checked"))
    elif budget.too_deep:
        hits.append(Hit(_UNPARSEABLE, line=1, message=f"nested deeper than {MAX_CONFIG_DEPTH} levels: deeper "
                                                      "values were not checked"))


_ANALYZERS: Final[Mapping[str, Callable[[str], list[Hit]]]] = {"yaml": _analyze_yaml, "json": _analyze_json}


def analyze_config(text: str, *, kind: ConfigKind) -> list[Hit]:
    """Hits for unsafe settings in one YAML (all documents) or JSON file; lines are 1-based in ``text``.

    Never raises on any text: what cannot be parsed gives an MW-CFG-000 hit (after the hits found before it).
    An unknown ``kind`` is a programming error in the caller and raises ValueError.
    """
    analyzer = _ANALYZERS.get(kind)
    if analyzer is None:
        raise ValueError(f"unknown configuration kind {kind!r}: use 'yaml' or 'json'")  # a caller's bug
    source = text[1:] if text.startswith("\ufeff") else text
    hits = analyzer(source)
    return sorted(hits, key=lambda hit: (hit.line, hit.column or 0, hit.rule_id))
