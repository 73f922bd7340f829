"""Unsafe ML code in Python source: unsafe deserialization, code from model hubs, unsafe YAML, eval/exec, shell
commands, archive extraction, disabled TLS checks, exposed servers, weak hashes and native library loading.

How it works: one ``ast.parse`` and ONE walk of the tree per file. The walk keeps track of what names stand for
(``import pickle as pk``, ``from torch import load as l``, ``loader = torch.load``, ``app = Flask(__name__)``,
``with tarfile.open(p) as tar``) and, at each call, looks the resolved callee up in one dispatch table built from
``CALL_RULES``; each rule is data (rule id, callee names) plus one small check of the call's arguments.

Resolution, and what it deliberately does not do:
- Imports (``import x as y``, ``from x import y as z``) bind names; ``from x import *`` and relative imports bind
  nothing we can name, so calls through them stay quiet.
- ``name = <resolvable callable>`` and ``name = <known constructor>(...)`` bind in the scope being walked, in
  source order; ``partial(torch.load, weights_only=True)`` keeps its bound arguments. Any other binding of a name
  (parameters, loops, comprehension variables, other assignments) makes it unknown, except ``name = None`` (the
  ``except ImportError: name = None`` fallback), which keeps the earlier binding. Function bodies are walked
  after the code around them, so module-level names assigned later in the file are seen, as Python would at
  call time. Branches are not merged: the last binding in source order wins. Attributes (``self.loader``) are
  not tracked.
- A name bound nowhere in the text is taken at face value (``torch`` is torch), with the usual aliases (``np``,
  ``pd``, ``tf``, ``gr``): notebook cells and snippets often import in another cell.
- A method on an object that could not be identified (``app.run(debug=True)`` where ``app = create_app()``) is
  matched by its name for a few distinctive cases (``run``, ``launch``, HTTP verbs, ``from_pretrained``), one
  severity level lower, and the message says so.

Argument analysis: only literal constants prove anything. A value that is a variable is "not provably safe" and
is reported lower or not at all (each check's docstring says which); ``**kwargs`` that could carry the deciding
keyword makes it unknown: quiet, except for torch.load, reported low because its old default is unsafe.
Decisions worth knowing: eval/exec of a constant string is quiet (nothing can be injected); zipfile extraction
is quiet (CPython sanitises member names); a hub ``revision=`` given as a variable is quiet (cannot be proved
either way); a repository name that is a variable and no revision is low (it may be a local folder).

This module never imports, runs or evaluates the analysed code; ``ast.parse`` only builds a tree.
"""

from __future__ import annotations

import ast
import re
import sys
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from typing import Any, Final, Literal

from mlwarden.core.findings import Severity
from mlwarden.core.rules import CATALOGUE
from mlwarden.supply.hits import Hit
from mlwarden.supply.suppress import inline_reason

__all__ = [
    "CALL_RULES",
    "CallRule",
    "CallSite",
    "Missing",
    "Symbol",
    "Verdict",
    "analyze_python_source",
    "apply_inline_suppressions",
    "classify_repo_reference",
    "is_commit_revision",
    "split_source_lines",
]

_C, _H, _M, _L, _I = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO

EVIDENCE_MAX_CHARS: Final = 200
_UNPARSEABLE: Final = "MW-CODE-000"


# ================================================================================================================
# Values the checks work with
# ================================================================================================================


@dataclass(frozen=True, slots=True)
class Symbol:
    """What a name or expression stands for, as far as the walk can tell.

    ``qualname`` is a canonical dotted name (``torch.load``, ``tarfile.TarFile`` for an instance of it) or None when
    unknown. ``guessed`` marks a name bound nowhere in the text and taken at face value. ``bases`` holds the
    resolved base classes of a class defined in the text (a ``yaml.SafeLoader`` subclass is still safe).
    ``loader = partial(torch.load, weights_only=True)`` stands for torch.load with that keyword bound.
    """

    qualname: str | None
    guessed: bool = False
    bases: tuple[str, ...] = ()
    # functools.partial(f, *args, **kwargs): the arguments already bound, prepended to every call.
    bound_args: tuple[ast.expr, ...] = ()
    bound_keywords: tuple[ast.keyword, ...] = ()


UNKNOWN: Final = Symbol(None)


class Missing(Enum):
    """Why an argument has no literal value."""

    ABSENT = "absent"  # not passed, and no *args/**kwargs that could carry it
    UNPACKED = "unpacked"  # not visible: *args or **kwargs may carry it
    EXPRESSION = "expression"  # passed, but as an expression rather than a literal constant


@dataclass(frozen=True, slots=True)
class CallSite:
    """One call, as a check sees it."""

    node: ast.Call
    name: str  # canonical callee ("torch.load"), or "*.method" when only the method's name matched
    written: str  # the callee as written ("l", "pk.loads", "self.app.run")
    by_method_name: bool  # the object the method belongs to could not be identified
    resolve: Callable[[ast.expr], Symbol]

    def argument(self, keyword: str, position: int | None = None) -> ast.expr | Missing:
        """The expression passed as ``keyword`` (or at ``position``), or why there is none to look at."""
        for kw in self.node.keywords:
            if kw.arg == keyword:
                return kw.value
        starred = False
        if position is not None:
            for index, arg in enumerate(self.node.args):
                if isinstance(arg, ast.Starred):
                    starred = True
                    break
                if index == position:
                    return arg
        if starred or any(kw.arg is None for kw in self.node.keywords):
            return Missing.UNPACKED
        return Missing.ABSENT

    def literal(self, keyword: str, position: int | None = None) -> object:
        """The constant passed as ``keyword``/at ``position``; a ``Missing`` member when there is none."""
        arg = self.argument(keyword, position)
        if isinstance(arg, Missing):
            return arg
        if isinstance(arg, ast.Constant):
            return arg.value
        return Missing.EXPRESSION


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a check found: the message, and a severity when this case differs from the rule's default."""

    message: str
    severity: Severity | None = None


Check = Callable[[CallSite], Verdict | None]


@dataclass(frozen=True, slots=True)
class CallRule:
    """A rule on calls: which callees it looks at and the check of one call.

    ``callees`` are canonical dotted names; ``pkg.*.method`` means that method on any class of the package
    (``transformers.*.from_pretrained``); ``*.method`` means that method on an object that could not be
    identified (reported one level lower).
    """

    rule_id: str
    callees: tuple[str, ...]
    check: Check


# ================================================================================================================
# Name tables (data). Where entries come from is said above each one.
# ================================================================================================================

# Modules that are the same thing under another name: Python 2 / C accelerator / backport names of pickle,
# Keras re-exported by TensorFlow and by the tf_keras package, joblib vendored by old scikit-learn, the
# submodules that define functions re-exported at package level (requests.api.get is requests.get).
_CANONICAL_PREFIXES: Final[Mapping[str, str]] = {
    "cPickle": "pickle",
    "_pickle": "pickle",
    "pickle5": "pickle",
    "tensorflow.keras": "keras",
    "tensorflow.python.keras": "keras",
    "tf_keras": "keras",
    "keras.api": "keras",
    "keras.src.saving.saving_api": "keras.saving",
    "sklearn.externals.joblib": "joblib",
    "pandas.io.pickle": "pandas",
    "torch.serialization": "torch",
    "requests.api": "requests",
    "requests.sessions": "requests",
    "httpx._api": "httpx",
    "gradio.blocks": "gradio",
    "gradio.interface": "gradio",
    "gradio.chat_interface": "gradio",
    "ruamel_yaml": "ruamel.yaml",
    "Cryptodome": "Crypto",
    "huggingface_hub.file_download": "huggingface_hub",
    "huggingface_hub._snapshot_download": "huggingface_hub",
    "datasets.load": "datasets",
    "transformers.pipelines": "transformers",
    "yaml.loader": "yaml",
    "yaml.cyaml": "yaml",
}

# Conventional import aliases, used only for names bound nowhere in the analysed text (notebook cells, snippets).
_CONVENTIONAL_NAMES: Final[Mapping[str, str]] = {
    "np": "numpy",
    "pd": "pandas",
    "tf": "tensorflow",
    "gr": "gradio",
    "load_dataset": "datasets.load_dataset",
    "hf_hub_download": "huggingface_hub.hf_hub_download",
    "snapshot_download": "huggingface_hub.snapshot_download",
}

# Builtins the rules look at; only when the name is not bound in the text (``model.eval()`` is not eval).
_BUILTIN_CALLS: Final = frozenset({"eval", "exec"})

# transformers' Auto classes (AutoModel, TFAutoModelForCausalLM, FlaxAutoModel...): distinctive enough to be taken
# as transformers classes when a notebook cell uses them without importing.
_HF_AUTO_CLASS: Final = re.compile(r"(?:TF|Flax)?Auto[A-Z][A-Za-z0-9]*")

# What a call to a known constructor or factory returns, so that methods on the result can be resolved.
_HTTP_VERBS: Final = ("get", "post", "put", "patch", "delete", "head", "options", "request", "stream", "send")
_INSTANCE_TYPES: Final[Mapping[str, str]] = {
    **{f"tarfile.{f}": "tarfile.TarFile" for f in ("open", "TarFile", "TarFile.open", "TarFile.taropen",
                                                  "TarFile.gzopen", "TarFile.bz2open", "TarFile.xzopen")},
    "zipfile.ZipFile": "zipfile.ZipFile",
    "flask.Flask": "flask.Flask",
    "dash.Dash": "dash.Dash",
    **{f"gradio.{c}": f"gradio.{c}" for c in ("Blocks", "Interface", "ChatInterface", "TabbedInterface")},
    "requests.Session": "requests.Session",
    "requests.session": "requests.Session",
    "httpx.Client": "httpx.Client",
    "httpx.AsyncClient": "httpx.AsyncClient",
    "aiohttp.ClientSession": "aiohttp.ClientSession",
    "socket.socket": "socket.socket",
}

# Hub repository names: "org/name" or a legacy single name, 1-96 characters each from [A-Za-z0-9._-] (the
# Hugging Face Hub's repo-id rules); "--" and ".." are not allowed in ids.
_HUB_ID: Final = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?"
                            r"(?:/[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?)?")
_COMMIT_SHA: Final = re.compile(r"[0-9a-fA-F]{40}")
# File names passed where a repository is expected are local files, not hub ids.
_FILE_SUFFIXES: Final = (".bin", ".pt", ".pth", ".ckpt", ".safetensors", ".json", ".h5", ".keras", ".onnx",
                         ".gguf", ".pkl", ".pickle", ".joblib", ".npz", ".npy", ".py", ".txt", ".csv",
                         ".parquet", ".arrow", ".yaml", ".yml", ".zip", ".tar", ".gz", ".msgpack", ".model")
# datasets' packaged builders (datasets/packaged_modules): load_dataset("csv", data_files=...) reads local files.
_PACKAGED_DATASET_BUILDERS: Final = frozenset({
    "csv", "json", "parquet", "text", "arrow", "pandas", "imagefolder", "audiofolder", "videofolder",
    "pdffolder", "webdataset", "sql", "generator", "spark", "xml", "cache", "hdf5", "eval", "lance",
})

_BIND_ALL_HOSTS: Final = frozenset({"0.0.0.0", "::", "[::]", "0:0:0:0:0:0:0:0"})  # noqa: S104 - the value we look for
_WEAK_HASH_NAMES: Final = frozenset({"md4", "md5", "sha1", "sha", "md5-sha1", "md5_sha1"})

# Keyword names whose values never go into evidence (credentials travel in them).
_SECRET_KEYWORD: Final = re.compile(r"(?i)pass|secret|token|key|auth|cred|header|cookie|session")
# Prefixes of well-known token formats (Hugging Face, OpenAI, GitHub, GitLab, Slack, AWS, Google, JWT).
_TOKEN_PREFIX: Final = re.compile(r"(?<![A-Za-z0-9])(?:hf_|api_org_|sk-|sk_|rk_|ghp_|gho_|ghs_|ghu_|ghr_|github_pat_|glpat-|"
                                  r"xox[abposr]-|AKIA|ASIA|AIza|ya29\.|eyJ)[A-Za-z0-9_\-./+=]{8,}")


# ================================================================================================================
# Small helpers shared by the checks and by config_rules
# ================================================================================================================


def is_commit_revision(value: str) -> bool:
    """True for a full 40-hex git commit sha, the only revision that pins a hub repository's content."""
    return _COMMIT_SHA.fullmatch(value) is not None


def classify_repo_reference(value: str) -> Literal["hub", "local", "ambiguous"]:
    """Whether a literal passed as a model/data-set name is a hub repository id.

    "org/name" is a hub id. A single name is a hub id when it has a digit or a dash, like the legacy canonical
    models (gpt2, bert-base-uncased, t5-small); a plain word (output, checkpoint, imdb) may as well be a local
    folder: "ambiguous". Paths (./x, /x, ~/x, a/b/c, C:\\x) and file names (model.bin) are local.
    """
    text = value.strip()
    if not text or not _HUB_ID.fullmatch(text) or "--" in text or ".." in text:
        return "local"
    if text.lower().endswith(_FILE_SUFFIXES):
        return "local"
    if "/" in text:
        return "hub"
    if any(ch.isdigit() for ch in text) or "-" in text:
        return "hub"
    return "ambiguous"


def _show(value: str, limit: int = 60) -> str:
    """A string constant fit for evidence and messages: token-like values masked, long ones shortened."""
    if _looks_secret(value):
        return "'***'"
    if len(value) > limit:
        value = value[:limit] + "…"
    return repr(value)


def _looks_secret(value: str) -> bool:
    if _TOKEN_PREFIX.search(value):
        return True
    # A long unbroken mix of upper, lower and several digits with no path or URL punctuation reads as a key or
    # token (identifiers such as class names rarely carry three digits).
    if len(value) >= 24 and not any(ch in value for ch in " /.:\\\n"):
        return any(c.isupper() for c in value) and any(c.islower() for c in value) and sum(
            c.isdigit() for c in value) >= 3
    return False


def _lower(severity: Severity) -> Severity:
    return {_C: _H, _H: _M, _M: _L, _L: _I, _I: _I}[severity]


# ================================================================================================================
# The checks: one small function per concern, each documented with when it fires.
# ================================================================================================================


def _resolved_name(site: CallSite) -> str:
    return site.name if not site.by_method_name else site.written


def _torch_load(site: CallSite) -> Verdict | None:
    """weights_only=True: quiet. False: critical. Not a literal: medium. Absent: high (low if **kwargs)."""
    value = site.literal("weights_only")
    if value is True:
        return None
    if value is False:
        return Verdict("torch.load(weights_only=False) unpickles the file: loading an untrusted checkpoint runs "
                       "any code it names", _C)
    if value is Missing.UNPACKED:
        return Verdict("torch.load without a visible weights_only=True (it may be in **kwargs): could not prove "
                       "the load is restricted to tensors", _L)
    if value is Missing.EXPRESSION:
        return Verdict("torch.load with weights_only set from an expression: not provably True, and with False "
                       "loading an untrusted checkpoint runs its code", _M)
    return Verdict("torch.load without weights_only=True unpickles the file on PyTorch < 2.6 (and whenever "
                   "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD is set): an untrusted checkpoint runs its code")


# marshal does not call code by itself and shelve files are usually the program's own: reported at medium.
_PICKLE_MEDIUM_ROOTS: Final = ("marshal.", "shelve.")


def _pickle_family(site: CallSite) -> Verdict | None:
    """Always fires: the data decides what gets called."""
    name = site.name
    if name.startswith(_PICKLE_MEDIUM_ROOTS):
        if name.startswith("marshal."):
            return Verdict(f"{name} reads marshalled code objects and is not safe against malicious data", _M)
        return Verdict(f"{name} opens a shelf whose values are unpickled when read: an untrusted shelf file "
                       "runs code", _M)
    return Verdict(f"{name} deserializes pickle data: loading untrusted data runs any code it names")


def _numpy_load(site: CallSite) -> Verdict | None:
    """allow_pickle=True: high. Not a literal: low. False or absent (the safe default): quiet."""
    value = site.literal("allow_pickle", 2)
    if value is True:
        return Verdict("numpy.load(allow_pickle=True) unpickles object arrays in the file: an untrusted "
                       ".npy/.npz runs code")
    if value is Missing.EXPRESSION:
        return Verdict("numpy.load with allow_pickle set from an expression: not provably False", _L)
    return None


def _keras_safe_mode(site: CallSite) -> Verdict | None:
    """safe_mode=False: high. Not a literal: low. True or absent (the default): quiet."""
    value = site.literal("safe_mode")
    if value is False:
        return Verdict(f"{_resolved_name(site)}(safe_mode=False) deserializes Lambda layers and arbitrary "
                       "callables from the model file, which run code on load")
    if value is Missing.EXPRESSION:
        return Verdict(f"{_resolved_name(site)} with safe_mode set from an expression: not provably True", _L)
    return None


def _keras_unsafe_switch(site: CallSite) -> Verdict | None:
    """Always fires: it turns safe_mode off for every later load in the process."""
    return Verdict("keras.config.enable_unsafe_deserialization() disables safe_mode for every model loaded "
                   "afterwards: Lambda layers and arbitrary callables in model files run on load")


def _skops_trusted(site: CallSite) -> Verdict | None:
    """trusted=True: high. A list of type names (the reviewed way) or absent: quiet."""
    if site.literal("trusted", 1) is True:
        return Verdict(f"{site.name}(trusted=True) accepts every type in the file, so it may build and call "
                       "arbitrary objects")
    return None


def _mlflow_load(site: CallSite) -> Verdict | None:
    """Always fires (medium): these flavours unpickle the model's files."""
    return Verdict(f"{site.name} unpickles the model (cloudpickle/pickle/torch.load): a model from an untrusted "
                   "run or registry runs code when loaded")


def _trust_remote_code(value: ast.expr, siblings: Mapping[str, ast.expr]) -> Verdict | None:
    """trust_remote_code=True (a keyword of any call, or a dict entry): high; low when the same call or dict pins
    revision= to a 40-hex commit (the reviewed-and-pinned way). Anything else: quiet."""
    if not (isinstance(value, ast.Constant) and value.value is True):
        return None
    revision = siblings.get("revision")
    if isinstance(revision, ast.Constant) and isinstance(revision.value, str) and is_commit_revision(
            revision.value):
        return Verdict("trust_remote_code=True runs Python files from the repository, pinned to a commit: review "
                       "that commit's code", _L)
    return Verdict("trust_remote_code=True imports and runs Python files from the model or data set repository")


def _torch_hub(site: CallSite) -> Verdict | None:
    """source="local": quiet. "owner/repo:<40-hex>": low. Anything else: high."""
    if site.literal("source") == "local":
        return None
    repo = site.literal("repo_or_dir", 0)
    if repo is Missing.ABSENT:
        repo = site.literal("github", 0)
    if isinstance(repo, str):
        ref = repo.rpartition(":")[2] if ":" in repo else ""
        if is_commit_revision(ref):
            return Verdict(f"{site.name} imports hubconf.py from {_show(repo)}, pinned to a commit: review that "
                           "commit's code", _L)
        return Verdict(f"{site.name} downloads {_show(repo)} and runs its hubconf.py; the reference is a branch "
                       "or tag whose code can change")
    return Verdict(f"{site.name} downloads a repository and runs its hubconf.py (repository not a literal)")


def _unpinned_download(repo_keyword: str, repo_position: int | None, *, datasets: bool = False) -> Check:
    """Hub id with no revision or a branch/tag: medium. Repository not a literal (or a plain word that may be a
    folder) and no revision: low (quiet when only the method name matched). 40-hex revision, a revision that is
    an expression (could not prove either way) or **kwargs that may carry it: quiet. Local paths: quiet."""

    def check(site: CallSite) -> Verdict | None:
        repo = site.literal(repo_keyword, repo_position)
        return _download_verdict(site, repo, datasets=datasets)

    return check


def _download_verdict(site: CallSite, repo: object, *, datasets: bool) -> Verdict | None:
    revision = site.literal("revision")
    if isinstance(revision, str) and is_commit_revision(revision):
        return None
    if revision is Missing.EXPRESSION or revision is Missing.UNPACKED:
        return None
    what = f"{_resolved_name(site)}"
    pinned_text = "with no revision" if revision in (Missing.ABSENT, None) else (
        f"with revision {_show(str(revision))}, a branch or tag")
    if isinstance(repo, str):
        kind = classify_repo_reference(repo)
        if datasets and repo.strip().lower() in _PACKAGED_DATASET_BUILDERS:
            return None
        if kind == "local":
            return None
        if kind == "hub":
            return Verdict(f"{what} downloads {_show(repo)} from the hub {pinned_text}: the repository's owner "
                           "can change what you get")
        if site.by_method_name:
            return None
        return Verdict(f"{what}({_show(repo)}) {pinned_text}: if this names a hub repository rather than a local "
                       "folder, its content is not pinned", _L)
    if site.by_method_name or repo is Missing.UNPACKED:
        return None
    if revision is Missing.ABSENT or revision is None:
        return Verdict(f"{what} with a repository name that is not a literal and no revision: if it names a hub "
                       "repository, its content is not pinned", _L)
    return Verdict(f"{what} {pinned_text}: the repository's content is not pinned")


def _peft_download(site: CallSite) -> Verdict | None:
    """PeftModel*.from_pretrained(model, model_id): the adapter id is the second argument; the AutoPeftModel*
    classes take it first. Otherwise as for other downloads."""
    if site.name.rpartition(".")[0].rpartition(".")[2].startswith("AutoPeft"):
        return _download_verdict(site, site.literal("pretrained_model_name_or_path", 0), datasets=False)
    return _download_verdict(site, site.literal("model_id", 1), datasets=False)


def _pipeline(site: CallSite) -> Verdict | None:
    """model= a hub id: as for downloads. No model (the task's default model is downloaded): low. A model that is
    an expression (often a loaded model object): quiet."""
    model = site.literal("model", 1)
    if model is Missing.ABSENT or model is None:
        if site.literal("revision") is Missing.UNPACKED:
            return None
        return Verdict(f"{_resolved_name(site)} without a model downloads the task's default model from the hub, "
                       "unpinned", _L)
    if not isinstance(model, str):
        return None
    return _download_verdict(site, model, datasets=False)


_YamlLoaderKind = Literal["safe", "full", "unsafe", "unknown"]
_YAML_KINDS_WORST_FIRST: Final[tuple[_YamlLoaderKind, ...]] = ("unsafe", "unknown", "full", "safe")


def _yaml_loader_kind(symbol: Symbol) -> _YamlLoaderKind:
    names = (symbol.qualname,) if symbol.qualname else symbol.bases
    kinds = {_YAML_LOADERS.get(name.rpartition(".")[2], "unknown") for name in names if name}
    for kind in _YAML_KINDS_WORST_FIRST:  # the worst base decides
        if kind in kinds:
            return kind
    return "unknown"


# PyYAML's loader classes (yaml/loader.py, yaml/cyaml.py).
_YAML_LOADERS: Final[Mapping[str, str]] = {
    "SafeLoader": "safe", "CSafeLoader": "safe", "BaseLoader": "safe", "CBaseLoader": "safe",
    "FullLoader": "full", "CFullLoader": "full",
    "Loader": "unsafe", "CLoader": "unsafe", "UnsafeLoader": "unsafe", "CUnsafeLoader": "unsafe",
}


def _yaml_load(site: CallSite) -> Verdict | None:
    """Loader=SafeLoader/CSafeLoader/BaseLoader (or a subclass): quiet. Loader/CLoader/UnsafeLoader: high.
    FullLoader: low. A loader that cannot be identified, or none: medium."""
    loader = site.argument("Loader", 1)
    if loader is Missing.UNPACKED:
        return Verdict(f"{_resolved_name(site)} with the Loader possibly in **kwargs: could not prove it is safe",
                       _M)
    if isinstance(loader, Missing):
        return Verdict(f"{_resolved_name(site)} without a Loader: unsafe before PyYAML 5.1 (an error since 6.0); "
                       "use yaml.safe_load", _M)
    kind = _yaml_loader_kind(site.resolve(loader))
    if kind == "safe":
        return None
    if kind == "unsafe":
        return Verdict(f"{_resolved_name(site)} with an unsafe Loader constructs arbitrary Python objects from tags "
                       "like !!python/object/apply: a hostile document runs code")
    if kind == "full":
        return Verdict(f"{_resolved_name(site)} with FullLoader constructs some Python objects; SafeLoader is "
                       "enough for configuration", _L)
    return Verdict(f"{_resolved_name(site)} with a Loader that could not be identified as a safe loader", _M)


def _yaml_unsafe(site: CallSite) -> Verdict | None:
    """Always fires: these functions use the unsafe loader."""
    return Verdict(f"{site.name} constructs arbitrary Python objects from tags like !!python/object/apply: a "
                   "hostile document runs code")


def _yaml_full(site: CallSite) -> Verdict | None:
    """Always fires, low: FullLoader is not known to be exploitable today but builds more than data."""
    return Verdict(f"{site.name} uses FullLoader, which constructs some Python objects; yaml.safe_load is "
                   "enough for configuration", _L)


def _ruamel_yaml(site: CallSite) -> Verdict | None:
    """YAML(typ="unsafe"): high. Round-trip, safe and base loaders: quiet."""
    if site.literal("typ", None) == "unsafe":
        return Verdict("ruamel.yaml YAML(typ='unsafe') constructs arbitrary Python objects from tags: a hostile "
                       "document runs code")
    return None


def _eval_exec(site: CallSite) -> Verdict | None:
    """A constant string: quiet (nothing can be injected). Anything else: medium."""
    source = site.argument("source", 0)
    if isinstance(source, ast.Constant) and isinstance(source.value, str | bytes):
        return None
    if source is Missing.ABSENT:
        return None
    builtin = site.name.rpartition(".")[2]
    return Verdict(f"{builtin}() runs a string built at run time as Python: if any part comes from a file, a "
                   "model config or a user, it is code injection")


def _is_constant_command(node: ast.expr | Missing) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.List | ast.Tuple):
        return all(isinstance(elt, ast.Constant) for elt in node.elts)
    return False


def _subprocess_shell(site: CallSite) -> Verdict | None:
    """shell=True with a command built at run time: high; with a constant command: low. shell= set from an
    expression: low (not provably False). shell=False, absent or in **kwargs: quiet."""
    shell = site.literal("shell")
    if shell is Missing.EXPRESSION:
        if _is_constant_command(site.argument("args", 0)):
            return None
        return Verdict(f"{site.name} with shell= set from an expression: when it is true, the command runs "
                       "through the shell", _L)
    if shell is not True:
        return None
    command = site.argument("args", 0)
    if _is_constant_command(command):
        return Verdict(f"{site.name}(..., shell=True) runs a constant command through the shell", _L)
    return Verdict(f"{site.name}(..., shell=True) runs a command built at run time through the shell: values "
                   "in it are interpreted by the shell (command injection)")


def _shell_function(site: CallSite) -> Verdict | None:
    """Always a shell: a command built at run time is high, a constant command low."""
    command = site.argument("cmd", 0)
    if command is Missing.ABSENT:
        command = site.argument("command", 0)
    if command is Missing.ABSENT:
        return None
    if _is_constant_command(command):
        return Verdict(f"{site.name} runs a constant command through the shell", _L)
    return Verdict(f"{site.name} runs a command built at run time through the shell: values in it are "
                   "interpreted by the shell (command injection)")


def _tar_extract(site: CallSite) -> Verdict | None:
    """No filter=: high (low with members=, a hand-made selection). filter="fully_trusted" (or its function):
    high. Any other filter, a filter from an expression, or **kwargs: quiet."""
    filter_arg = site.argument("filter")
    method = site.name.rpartition(".")[2]
    if isinstance(filter_arg, ast.Constant):
        if filter_arg.value == "fully_trusted":
            return Verdict(f"{method}(filter='fully_trusted') extracts member names with '..', absolute paths and "
                           "links as they are")
        return None
    if isinstance(filter_arg, ast.expr):
        if site.resolve(filter_arg).qualname == "tarfile.fully_trusted_filter":
            return Verdict(f"{method}(filter=tarfile.fully_trusted_filter) extracts member names with '..', "
                           "absolute paths and links as they are")
        return None
    if filter_arg is Missing.UNPACKED:
        return None
    if method == "extractall" and not isinstance(site.argument("members", 1), Missing):
        return Verdict("TarFile.extractall(members=...) without filter=: safe only if the member selection rejects "
                       "'..', absolute paths and links", _L)
    return Verdict(f"TarFile.{method} without filter= follows member names with '..', absolute paths and links: "
                   "a hostile archive writes outside the target folder (use filter='data')")


def _unpack_archive(site: CallSite) -> Verdict | None:
    """No filter= and the format is not known to be zip: medium. zip (names are sanitised): quiet."""
    filter_arg = site.argument("filter")
    if not isinstance(filter_arg, Missing) or filter_arg is Missing.UNPACKED:
        if isinstance(filter_arg, ast.Constant) and filter_arg.value == "fully_trusted":
            return Verdict("shutil.unpack_archive(filter='fully_trusted') extracts tar members as they are")
        return None
    fmt = site.literal("format", 2)
    filename = site.literal("filename", 0)
    if fmt == "zip" or (isinstance(filename, str) and filename.lower().endswith(".zip")):
        return None
    return Verdict("shutil.unpack_archive without filter=: a tar archive with '..', absolute names or links "
                   "writes outside the target folder", _M)


def _verify_false(site: CallSite) -> Verdict | None:
    """verify=False: high (medium when only the method name matched). Anything else: quiet."""
    if site.literal("verify") is False:
        return Verdict(f"{_resolved_name(site)}(..., verify=False) accepts any TLS certificate: downloads and "
                       "credentials can be tampered with or read in transit")
    return None


def _aiohttp_ssl(site: CallSite) -> Verdict | None:
    """ssl=False or verify_ssl=False: high."""
    if site.literal("ssl") is False or site.literal("verify_ssl") is False:
        return Verdict(f"{site.name}(..., ssl=False) accepts any TLS certificate")
    return None


def _urllib3_cert_none(site: CallSite) -> Verdict | None:
    """cert_reqs="CERT_NONE" (the string form; ssl.CERT_NONE is found wherever it is used): high."""
    if site.literal("cert_reqs") in ("CERT_NONE", "NONE"):
        return Verdict(f"{site.name}(cert_reqs='CERT_NONE') accepts any TLS certificate")
    return None


def _unverified_context(site: CallSite) -> Verdict | None:
    """Always fires: the context does not check certificates or host names."""
    return Verdict(f"{site.name}() makes an SSL context that checks neither certificates nor host names")


# When only the method name matched, run()/run_server() count only on objects named like an app or server
# (app, self.app, flask_app, server): many other libraries have a run(debug=...) of their own.
_APP_RECEIVER: Final = re.compile(r"(?i)(?:^|[._])[a-z0-9_]*(?:app|application|server)(?:\(…\))?$")


def _app_like(site: CallSite) -> bool:
    return not site.by_method_name or _APP_RECEIVER.search(site.written.rpartition(".")[0]) is not None


def _debugger(keyword: str, position: int | None = None) -> Check:
    """``keyword``=True: high (medium when only the method name matched, on an object named like an app).
    Anything else: quiet."""

    def check(site: CallSite) -> Verdict | None:
        if not _app_like(site):
            return None
        if site.literal(keyword, None if site.by_method_name else position) is True:
            return Verdict(f"{_resolved_name(site)}({keyword}=True) starts the Werkzeug debugger, which runs "
                           "Python typed into an error page: whoever reaches the app runs code")
        return None

    return check


def _gradio_share(site: CallSite) -> Verdict | None:
    """share=True: medium (low when only the method name matched)."""
    if site.literal("share") is True:
        return Verdict(f"{_resolved_name(site)}(share=True) publishes the app through a public gradio.live link")
    return None


def _binds_all(keyword: str, position: int | None = None, *, app_only: bool = False) -> Check:
    """The host argument is 0.0.0.0 or ::: medium (low when only the method name matched; for run() only on an
    object named like an app)."""

    def check(site: CallSite) -> Verdict | None:
        if app_only and not _app_like(site):
            return None
        host = site.literal(keyword, None if site.by_method_name else position)
        if isinstance(host, str) and host.strip() in _BIND_ALL_HOSTS:
            return Verdict(f"{_resolved_name(site)}({keyword}={host!r}) listens on every network interface")
        return None

    return check


def _binds_all_address(site: CallSite) -> Verdict | None:
    """An address tuple whose host is 0.0.0.0, :: or "" (INADDR_ANY): medium. Port 0 (finding a free port):
    quiet."""
    address = site.argument("address", 0)
    if isinstance(address, Missing):
        address = site.argument("server_address", 0)
    if isinstance(address, ast.Tuple) and address.elts:
        host = address.elts[0]
        port = address.elts[1] if len(address.elts) > 1 else None
        if isinstance(port, ast.Constant) and port.value == 0:
            return None  # bind(("", 0)) asks the system for a free port number, usually closed right away
        if isinstance(host, ast.Constant) and isinstance(host.value, str) and (
                host.value.strip() in _BIND_ALL_HOSTS or host.value == ""):
            return Verdict(f"{_resolved_name(site)} binds {host.value or 'all interfaces'!r}: it listens on every "
                           "network interface")
    return None


def _weak_hash(site: CallSite) -> Verdict | None:
    """md5/sha1 (hashlib.new("md5") too) without usedforsecurity=False: low. Other algorithms: quiet."""
    if site.literal("usedforsecurity") is False:
        return None
    name = site.name
    if name in ("hashlib.new",):
        algorithm = site.literal("name", 0)
        if not isinstance(algorithm, str) or algorithm.lower() not in _WEAK_HASH_NAMES:
            return None
        name = f"hashlib.new({algorithm!r})"
    return Verdict(f"{name} is a broken hash for integrity checks (collisions are practical); pass "
                   "usedforsecurity=False if it only names a cache entry")


def _native_library(site: CallSite) -> Verdict | None:
    """A path computed at run time: medium for torch/tensorflow custom-op loaders, low for ctypes (packages load
    their own libraries that way). A constant path: low. A bare library name (resolved by the system loader),
    None (the running process) or ctypes.util.find_library(...): quiet."""
    path = site.argument("name", 0)
    for keyword in ("path", "library_filename", "library_location"):
        if path is Missing.ABSENT:
            path = site.argument(keyword, 0)
    if isinstance(path, Missing):
        return None
    if isinstance(path, ast.Constant):
        if path.value is None or not isinstance(path.value, str):
            return None
        if "/" not in path.value and "\\" not in path.value:
            return None
        return Verdict(f"{_resolved_name(site)} loads native code from {_show(path.value)}", _L)
    if isinstance(path, ast.Call) and site.resolve(path.func).qualname == "ctypes.util.find_library":
        return None
    severity = None if site.name.startswith(_CUSTOM_OP_LOADERS) else _L
    return Verdict(f"{_resolved_name(site)} loads native code from a path computed at run time: a library placed "
                   "there (a model folder, a download) runs unsandboxed", severity)


# Framework custom-op loaders: custom ops are often shipped beside models, so a computed path stays medium.
_CUSTOM_OP_LOADERS: Final = ("torch.", "tensorflow.")


# ================================================================================================================
# The rule table: which callees each check looks at. Names are canonical (see _CANONICAL_PREFIXES).
# ================================================================================================================

_PICKLE_LOADERS: Final = (
    "pickle.load", "pickle.loads", "pickle.Unpickler",
    "dill.load", "dill.loads", "dill.Unpickler",
    "cloudpickle.load", "cloudpickle.loads",
    "jsonpickle.decode", "jsonpickle.loads", "jsonpickle.unpickler.decode",
    "joblib.load", "pandas.read_pickle",
    "shelve.open", "shelve.Shelf", "shelve.DbfilenameShelf",
    "marshal.load", "marshal.loads",
)
_KERAS_LOADERS: Final = (
    "keras.models.load_model", "keras.saving.load_model", "keras.saving.load", "keras.models.model_from_json",
    "keras.models.model_from_config", "keras.saving.deserialize_keras_object", "keras.layers.deserialize",
)
_HUB_PACKAGES: Final = ("transformers", "diffusers", "optimum", "setfit", "huggingface_hub",
                        "sentence_transformers", "timm", "open_clip", "gliner", "span_marker")
_GRADIO_APPS: Final = ("gradio.Blocks", "gradio.Interface", "gradio.ChatInterface", "gradio.TabbedInterface")
_HTTP_CLIENTS: Final = ("requests", "requests.Session", "httpx", "httpx.Client", "httpx.AsyncClient")

CALL_RULES: Final[tuple[CallRule, ...]] = (
    # --- deserialization -----------------------------------------------------------------------------------
    CallRule("MW-CODE-001", ("torch.load",), _torch_load),
    CallRule("MW-CODE-002", _PICKLE_LOADERS, _pickle_family),
    CallRule("MW-CODE-003", ("numpy.load",), _numpy_load),
    CallRule("MW-CODE-004", _KERAS_LOADERS, _keras_safe_mode),
    CallRule("MW-CODE-004", ("keras.config.enable_unsafe_deserialization",), _keras_unsafe_switch),
    CallRule("MW-CODE-005", ("skops.io.load", "skops.io.loads"), _skops_trusted),
    CallRule("MW-CODE-006", ("mlflow.pyfunc.load_model", "mlflow.sklearn.load_model", "mlflow.pytorch.load_model",
                             "mlflow.pyfunc.load_pyfunc"), _mlflow_load),
    # --- code and models from a hub (trust_remote_code is a keyword rule, below) ------------------------------
    CallRule("MW-CODE-008", ("torch.hub.load", "torch.hub.list", "torch.hub.help"), _torch_hub),
    CallRule("MW-CODE-009", (*(f"{pkg}.*.from_pretrained" for pkg in _HUB_PACKAGES), "*.from_pretrained"),
             _unpinned_download("pretrained_model_name_or_path", 0)),
    CallRule("MW-CODE-009", ("peft.*.from_pretrained",), _peft_download),
    CallRule("MW-CODE-009", ("huggingface_hub.hf_hub_download", "huggingface_hub.snapshot_download"),
             _unpinned_download("repo_id", 0)),
    CallRule("MW-CODE-009", ("datasets.load_dataset",), _unpinned_download("path", 0, datasets=True)),
    CallRule("MW-CODE-009", ("sentence_transformers.SentenceTransformer",),
             _unpinned_download("model_name_or_path", 0)),
    CallRule("MW-CODE-009", ("sentence_transformers.CrossEncoder",), _unpinned_download("model_name", 0)),
    CallRule("MW-CODE-009", ("transformers.pipeline",), _pipeline),
    # --- YAML ----------------------------------------------------------------------------------------------
    CallRule("MW-CODE-010", ("yaml.load", "yaml.load_all", "ruamel.yaml.load", "ruamel.yaml.load_all"),
             _yaml_load),
    CallRule("MW-CODE-010", ("yaml.unsafe_load", "yaml.unsafe_load_all"), _yaml_unsafe),
    CallRule("MW-CODE-010", ("yaml.full_load", "yaml.full_load_all"), _yaml_full),
    CallRule("MW-CODE-010", ("ruamel.yaml.YAML",), _ruamel_yaml),
    # --- eval / exec, shell ------------------------------------------------------------------------------
    CallRule("MW-CODE-011", ("builtins.eval", "builtins.exec"), _eval_exec),
    CallRule("MW-CODE-012", tuple(f"subprocess.{f}" for f in ("run", "call", "check_call", "check_output",
                                                               "Popen")), _subprocess_shell),
    CallRule("MW-CODE-012", ("os.system", "os.popen", "os.popen2", "os.popen3", "os.popen4", "subprocess.getoutput",
                             "subprocess.getstatusoutput", "commands.getoutput", "commands.getstatusoutput",
                             "asyncio.create_subprocess_shell", "popen2.popen2"), _shell_function),
    # --- archive extraction --------------------------------------------------------------------------------
    CallRule("MW-CODE-013", ("tarfile.TarFile.extractall", "tarfile.TarFile.extract"), _tar_extract),
    CallRule("MW-CODE-013", ("shutil.unpack_archive",), _unpack_archive),
    # --- TLS -----------------------------------------------------------------------------------------------
    CallRule("MW-CODE-014", (*(f"{c}.{v}" for c in _HTTP_CLIENTS for v in _HTTP_VERBS), "httpx.Client",
                             "httpx.AsyncClient", *(f"*.{v}" for v in _HTTP_VERBS)), _verify_false),
    CallRule("MW-CODE-014", ("aiohttp.TCPConnector", *(f"aiohttp.ClientSession.{v}" for v in _HTTP_VERBS)),
             _aiohttp_ssl),
    CallRule("MW-CODE-014", ("urllib3.PoolManager", "urllib3.ProxyManager", "urllib3.HTTPSConnectionPool",
                             "urllib3.connection_from_url"), _urllib3_cert_none),
    CallRule("MW-CODE-014", ("ssl._create_unverified_context",), _unverified_context),
    # --- debuggers and exposed servers ---------------------------------------------------------------------
    CallRule("MW-CODE-015", ("flask.Flask.run", "*.run"), _debugger("debug", 2)),
    CallRule("MW-CODE-015", ("dash.Dash.run", "dash.Dash.run_server", "*.run_server"), _debugger("debug")),
    CallRule("MW-CODE-015", ("werkzeug.serving.run_simple", "werkzeug.run_simple"), _debugger("use_debugger")),
    CallRule("MW-CODE-016", (*(f"{app}.launch" for app in _GRADIO_APPS), "*.launch"), _gradio_share),
    CallRule("MW-CODE-017", ("flask.Flask.run", "*.run"), _binds_all("host", 0, app_only=True)),
    CallRule("MW-CODE-017", ("dash.Dash.run", "dash.Dash.run_server", "*.run_server"),
             _binds_all("host", app_only=True)),
    CallRule("MW-CODE-017", ("uvicorn.run", "uvicorn.Config", "aiohttp.web.run_app", "hypercorn.config.Config"),
             _binds_all("host")),
    CallRule("MW-CODE-017", (*(f"{app}.launch" for app in _GRADIO_APPS), "*.launch"), _binds_all("server_name")),
    CallRule("MW-CODE-017", ("socket.socket.bind", "socket.create_server", "http.server.HTTPServer",
                             "http.server.ThreadingHTTPServer", "socketserver.TCPServer",
                             "socketserver.ThreadingTCPServer", "wsgiref.simple_server.make_server"),
             _binds_all_address),
    # --- weak hashes, native code --------------------------------------------------------------------------
    CallRule("MW-CODE-018", ("hashlib.md5", "hashlib.sha1", "hashlib.new", "Crypto.Hash.MD5.new",
                             "Crypto.Hash.SHA1.new", "cryptography.hazmat.primitives.hashes.MD5",
                             "cryptography.hazmat.primitives.hashes.SHA1"), _weak_hash),
    CallRule("MW-CODE-019", ("ctypes.CDLL", "ctypes.PyDLL", "ctypes.WinDLL", "ctypes.OleDLL",
                             *(f"ctypes.{lib}.LoadLibrary" for lib in ("cdll", "pydll", "windll", "oledll")),
                             "_ctypes.dlopen", "torch.ops.load_library", "torch.classes.load_library",
                             "tensorflow.load_op_library", "tensorflow.load_library"), _native_library),
)

# Keywords checked on every call, whatever the callee (and as string keys of dict literals, for kwargs dicts).
KeywordCheck = Callable[[ast.expr, Mapping[str, ast.expr]], Verdict | None]
_KEYWORD_RULES: Final[Mapping[str, tuple[str, KeywordCheck]]] = {
    "trust_remote_code": ("MW-CODE-007", _trust_remote_code),
}

# Names whose mere use as a value disables TLS checks (assigned as the default context, passed as cert_reqs).
_UNSAFE_REFERENCES: Final[Mapping[str, tuple[str, str]]] = {
    "ssl._create_unverified_context": ("MW-CODE-014", "ssl._create_unverified_context used as a context factory: "
                                                      "certificates and host names are not checked"),
    "ssl.CERT_NONE": ("MW-CODE-014", "ssl.CERT_NONE turns certificate verification off"),
}
_UNSAFE_REFERENCE_ATTRS: Final = frozenset(name.rpartition(".")[2] for name in _UNSAFE_REFERENCES)


def _build_dispatch() -> tuple[dict[str, tuple[CallRule, ...]], dict[tuple[str, str], tuple[CallRule, ...]]]:
    by_name: dict[str, list[CallRule]] = {}
    by_package_method: dict[tuple[str, str], list[CallRule]] = {}
    for rule in CALL_RULES:
        for callee in rule.callees:
            if ".*." in callee:
                package, _, method = callee.partition(".*.")
                by_package_method.setdefault((package, method), []).append(rule)
            else:
                by_name.setdefault(callee, []).append(rule)
    return ({k: tuple(v) for k, v in by_name.items()}, {k: tuple(v) for k, v in by_package_method.items()})


_BY_NAME, _BY_PACKAGE_METHOD = _build_dispatch()

# Roots that name modules: a guessed (unbound) receiver with one of these roots is a module, not an unknown object.
_MODULE_ROOTS: Final = frozenset(sys.stdlib_module_names) | frozenset(
    name.partition(".")[0] for name in (*_BY_NAME, *(pkg for pkg, _ in _BY_PACKAGE_METHOD)) if name[0] != "*")


@lru_cache(maxsize=8192)
def _canonical(name: str) -> str:
    """Rewrite a dotted name to the one the tables use (``tensorflow.keras.x`` -> ``keras.x``)."""
    parts = name.split(".", 4)
    for size in range(min(len(parts), 4), 0, -1):
        prefix = ".".join(parts[:size])
        target = _CANONICAL_PREFIXES.get(prefix)
        if target is not None:
            rest = name[len(prefix):]
            return target + rest
    return name


# ================================================================================================================
# The walk
# ================================================================================================================


class _Scope:
    """Names bound in one function, class, comprehension or the module. Class scopes are not seen by methods."""

    __slots__ = ("is_class", "names", "parent")

    def __init__(self, parent: _Scope | None, *, is_class: bool = False) -> None:
        self.names: dict[str, Symbol] = {}
        self.parent = parent
        self.is_class = is_class

    def lookup(self, name: str) -> Symbol | None:
        scope: _Scope | None = self
        while scope is not None:
            found = scope.names.get(name)
            if found is not None:
                return found
            scope = scope.parent
        return None

    def function_parent(self) -> _Scope:
        """The scope a function defined here closes over (class bodies are skipped, as in Python)."""
        scope = self
        while scope.is_class and scope.parent is not None:
            scope = scope.parent
        return scope


# Fields that hold AST nodes without anything for the walk (expression contexts, operators).
_SKIPPED_FIELDS: Final = frozenset({"ctx", "op", "ops"})
_CHILD_FIELDS: dict[type[ast.AST], tuple[str, ...]] = {}


def _child_fields(cls: type[ast.AST]) -> tuple[str, ...]:
    fields = _CHILD_FIELDS.get(cls)
    if fields is None:
        fields = tuple(f for f in cls._fields if f not in _SKIPPED_FIELDS)
        _CHILD_FIELDS[cls] = fields
    return fields


def _children(node: ast.AST) -> list[ast.AST]:
    """Child nodes in source order, without the leaves the walk has nothing to do with (constants, names read)."""
    out: list[ast.AST] = []
    for name in _child_fields(type(node)):
        value = getattr(node, name, None)
        if value is None:
            continue
        if type(value) is list:
            for item in value:
                if isinstance(item, ast.AST) and not _is_leaf(item):
                    out.append(item)
        elif isinstance(value, ast.AST) and not _is_leaf(value):
            out.append(value)
    return out


def _is_leaf(node: ast.AST) -> bool:
    kind = type(node)
    return kind is ast.Constant or (kind is ast.Name and type(node.ctx) is ast.Load)  # type: ignore[attr-defined]


def _push_children(stack: list[_Task], node: ast.AST, scope: _Scope) -> None:
    children = _children(node)
    children.reverse()
    stack.extend([(child, scope) for child in children])


_Task = tuple[ast.AST, _Scope] | Callable[[], None]


# Calls followed while resolving one expression (``tarfile.open(p).extractall`` needs one).
_MAX_CALLS_FOLLOWED: Final = 4


class _Walker:
    """Walks one module once, resolving names as it goes and dispatching calls to the rule table."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._lines: list[str] | None = None
        self.hits: list[Hit] = []
        self._deferred: deque[tuple[list[ast.stmt], _Scope]] = deque()

    # --- driving --------------------------------------------------------------------------------------------

    def run(self, tree: ast.Module) -> None:
        self._deferred.append((tree.body, _Scope(None)))
        while self._deferred:  # function bodies run after the code around them, as at call time
            body, scope = self._deferred.popleft()
            self._walk(body, scope)

    def _walk(self, body: Iterable[ast.AST], scope: _Scope) -> None:
        stack: list[_Task] = [(node, scope) for node in reversed(list(body))]
        while stack:
            task = stack.pop()
            if not isinstance(task, tuple):
                task()
                continue
            node, where = task
            handler = _HANDLERS.get(type(node))
            if handler is not None:
                handler(self, node, where, stack)
            else:
                _push_children(stack, node, where)

    @staticmethod
    def _push(stack: list[_Task], nodes: Iterable[ast.AST | None], scope: _Scope) -> None:
        items = [node for node in nodes if node is not None]
        stack.extend((node, scope) for node in reversed(items))

    # --- name resolution ------------------------------------------------------------------------------------

    def resolve(self, expr: ast.expr, scope: _Scope, depth: int = 0) -> Symbol:
        """What ``expr`` stands for: a dotted name through imports and bindings, or UNKNOWN.

        ``depth`` counts the calls followed inside ``expr`` (``tarfile.open(p).extractall``): long fluent chains
        (``x.a().b().c()...``) stop being followed after a few, so resolution never recurses deeply.
        """
        attrs: list[str] = []
        while isinstance(expr, ast.Attribute):
            attrs.append(expr.attr)
            expr = expr.value
            if len(attrs) > 16:
                return UNKNOWN
        if isinstance(expr, ast.Name):
            base = scope.lookup(expr.id)
            if base is None:
                base = _unbound(expr.id)
        elif isinstance(expr, ast.Call) and depth < _MAX_CALLS_FOLLOWED:
            base = self._instance_of(expr, scope, depth + 1)
        else:
            return UNKNOWN
        if base.qualname is None or not attrs:
            return base if not attrs else UNKNOWN
        return Symbol(_canonical(base.qualname + "." + ".".join(reversed(attrs))), guessed=base.guessed)

    def _instance_of(self, call: ast.Call, scope: _Scope, depth: int = 0) -> Symbol:
        """The type of what ``call`` returns when it is a known constructor; ``partial(f)`` stands for f."""
        func = call.func
        if not isinstance(func, ast.Name | ast.Attribute):  # f()() chains: not followed (keeps this bounded)
            return UNKNOWN
        callee = self.resolve(func, scope, depth)
        if callee.qualname is None:
            return UNKNOWN
        instance = _INSTANCE_TYPES.get(callee.qualname)
        if instance is not None:
            return Symbol(instance, guessed=callee.guessed)
        if callee.qualname == "functools.partial" and call.args and isinstance(call.args[0],
                                                                               ast.Name | ast.Attribute):
            inner = self.resolve(call.args[0], scope, depth)
            if inner.qualname is None:
                return UNKNOWN
            return Symbol(inner.qualname, guessed=inner.guessed, bound_args=(*inner.bound_args, *call.args[1:]),
                          bound_keywords=(*inner.bound_keywords, *call.keywords))
        return UNKNOWN

    def value_symbol(self, value: ast.expr, scope: _Scope) -> Symbol:
        if isinstance(value, ast.Name | ast.Attribute):
            return self.resolve(value, scope)
        if isinstance(value, ast.Call):
            return self._instance_of(value, scope)
        return UNKNOWN

    def _receiver_is_unknown(self, receiver: ast.expr, scope: _Scope) -> bool:
        symbol = self.resolve(receiver, scope)
        if symbol.qualname is None:
            return True
        return symbol.guessed and symbol.qualname.partition(".")[0] not in _MODULE_ROOTS

    # --- node handlers --------------------------------------------------------------------------------------

    def _import(self, node: ast.Import, scope: _Scope, stack: list[_Task]) -> None:
        for alias in node.names:
            if alias.asname:
                scope.names[alias.asname] = Symbol(_canonical(alias.name))
            else:
                top = alias.name.partition(".")[0]
                scope.names[top] = Symbol(_canonical(top))

    def _import_from(self, node: ast.ImportFrom, scope: _Scope, stack: list[_Task]) -> None:
        for alias in node.names:
            if alias.name == "*":
                continue  # unknown names: calls through them stay unresolved (documented)
            bound = alias.asname or alias.name
            if node.level or not node.module:
                scope.names[bound] = UNKNOWN  # relative: the package's own name is not known here
            else:
                scope.names[bound] = Symbol(_canonical(f"{node.module}.{alias.name}"))

    def _bind_after(self, stack: list[_Task], scope: _Scope, names: list[str], symbol: Symbol) -> None:
        def bind() -> None:
            for name in names:
                scope.names[name] = symbol

        stack.append(bind)

    def _assign(self, node: ast.Assign | ast.AnnAssign | ast.NamedExpr, scope: _Scope,
                stack: list[_Task]) -> None:
        value = node.value
        targets: list[ast.expr] = list(node.targets) if isinstance(node, ast.Assign) else [node.target]
        if value is not None:
            self._check_reference(value, scope)
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            if names and isinstance(value, ast.Constant) and value.value is None:
                # ``try: from hub import download / except ImportError: download = None``: a call through the
                # name can only mean the import, so None does not replace what the name was bound to.
                for name in names:
                    previous = scope.names.get(name)
                    if previous is not None and previous.qualname is not None:
                        self._bind_after(stack, scope, [name], previous)
            elif names:
                # The value is resolved before the targets are bound: ``x = x.load`` sees the old x.
                self._bind_after(stack, scope, names, self.value_symbol(value, scope))
        _push_children(stack, node, scope)

    def _with(self, node: ast.With | ast.AsyncWith, scope: _Scope, stack: list[_Task]) -> None:
        self._push(stack, node.body, scope)
        for item in reversed(node.items):
            if isinstance(item.optional_vars, ast.Name):
                # Context managers we track (TarFile, ZipFile, Blocks, Session) return themselves from __enter__.
                self._bind_after(stack, scope, [item.optional_vars.id],
                                 self.value_symbol(item.context_expr, scope))
        self._push(stack, [item for item in node.items], scope)

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda, scope: _Scope,
                  stack: list[_Task]) -> None:
        inner = _Scope(scope.function_parent())
        arguments = node.args
        for arg in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs, arguments.vararg,
                    arguments.kwarg):
            if arg is not None:
                inner.names[arg.arg] = UNKNOWN
        if isinstance(node, ast.Lambda):
            stack.append((node.body, inner))
        else:
            scope.names[node.name] = UNKNOWN
            self._deferred.append((node.body, inner))
            self._push(stack, node.decorator_list, scope)
        self._push(stack, [*arguments.defaults, *arguments.kw_defaults], scope)

    def _class(self, node: ast.ClassDef, scope: _Scope, stack: list[_Task]) -> None:
        bases: list[str] = []
        for base in node.bases:
            symbol = self.resolve(base, scope)
            bases.extend((symbol.qualname,) if symbol.qualname else symbol.bases)
        inner = _Scope(scope, is_class=True)
        self._push(stack, node.body, inner)
        scope.names[node.name] = Symbol(None, bases=tuple(bases))
        self._push(stack, [*node.bases, *(kw.value for kw in node.keywords), *node.decorator_list], scope)

    def _comprehension(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp, scope: _Scope,
                       stack: list[_Task]) -> None:
        inner = _Scope(scope.function_parent())
        # The element is written (and walked) before the loops, but runs inside them: bind their targets first.
        targets: list[ast.expr] = [generator.target for generator in node.generators]
        while targets:
            target = targets.pop()
            if isinstance(target, ast.Name):
                inner.names[target.id] = UNKNOWN
            elif isinstance(target, ast.Tuple | ast.List):
                targets.extend(target.elts)
            elif isinstance(target, ast.Starred):
                targets.append(target.value)
        _push_children(stack, node, inner)

    def _name(self, node: ast.Name, scope: _Scope, stack: list[_Task]) -> None:
        if not isinstance(node.ctx, ast.Load):
            scope.names[node.id] = UNKNOWN  # any other binding hides what the name meant

    def _except(self, node: ast.ExceptHandler, scope: _Scope, stack: list[_Task]) -> None:
        if node.name:
            scope.names[node.name] = UNKNOWN
        _push_children(stack, node, scope)

    def _dict(self, node: ast.Dict, scope: _Scope, stack: list[_Task]) -> None:
        siblings: dict[str, ast.expr] | None = None
        for key, value in zip(node.keys, node.values, strict=False):
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                keyword_rule = _KEYWORD_RULES.get(key.value)
                if keyword_rule is not None:
                    if siblings is None:
                        siblings = {k.value: v for k, v in zip(node.keys, node.values, strict=False)
                                    if isinstance(k, ast.Constant) and isinstance(k.value, str)}
                    verdict = keyword_rule[1](value, siblings)
                    if verdict is not None:
                        self._emit(keyword_rule[0], key, verdict, evidence=f"{_show(key.value)}: "
                                   f"{_render(value)}", callee=None)
        _push_children(stack, node, scope)

    def _call(self, node: ast.Call, scope: _Scope, stack: list[_Task]) -> None:
        self._dispatch(node, scope)
        _push_children(stack, node, scope)

    # --- dispatch -------------------------------------------------------------------------------------------

    def _dispatch(self, node: ast.Call, scope: _Scope) -> None:
        func = node.func
        symbol = self.resolve(func, scope) if isinstance(func, ast.Name | ast.Attribute | ast.Call) else UNKNOWN
        rules: tuple[CallRule, ...] = ()
        name = symbol.qualname
        by_method_name = False
        if name is not None:
            rules = _BY_NAME.get(name, ())
            if not rules and "." in name:
                package = name.partition(".")[0]
                rules = _BY_PACKAGE_METHOD.get((package, name.rpartition(".")[2]), ())
        if not rules and isinstance(func, ast.Attribute):
            fallback = _BY_NAME.get("*." + func.attr)
            if fallback and self._receiver_is_unknown(func.value, scope):
                rules, name, by_method_name = fallback, "*." + func.attr, True
        for kw in node.keywords:
            if kw.arg is not None:
                keyword_rule = _KEYWORD_RULES.get(kw.arg)
                if keyword_rule is not None:
                    siblings = {k.arg: k.value for k in node.keywords if k.arg is not None}
                    verdict = keyword_rule[1](kw.value, siblings)
                    if verdict is not None:
                        self._emit(keyword_rule[0], node, verdict, evidence=_render(node), callee=name)
            self._check_reference(kw.value, scope)
        if not rules or name is None:
            return
        checked = node
        if symbol.bound_args or symbol.bound_keywords:  # a partial(): check the call as it really happens
            checked = ast.Call(func=node.func, args=[*symbol.bound_args, *node.args],
                               keywords=[*symbol.bound_keywords, *node.keywords])
            ast.copy_location(checked, node)
        site = CallSite(node=checked, name=name, written=_dotted(func), by_method_name=by_method_name,
                        resolve=lambda expr: self.resolve(expr, scope))
        for rule in rules:
            verdict = rule.check(site)
            if verdict is None:
                continue
            if by_method_name:
                verdict = Verdict(verdict.message + " (the object could not be identified; matched by method "
                                  "name)", _lower(verdict.severity or CATALOGUE[rule.rule_id].severity))
            elif site.written != name and not site.written.endswith(name.partition(".")[2] or name):
                verdict = Verdict(f"{verdict.message} (`{site.written}` is {name})", verdict.severity)
            self._emit(rule.rule_id, node, verdict, evidence=_render(node), callee=name)

    def _check_reference(self, value: ast.expr, scope: _Scope) -> None:
        if isinstance(value, ast.Attribute) and value.attr in _UNSAFE_REFERENCE_ATTRS:
            found = _UNSAFE_REFERENCES.get(self.resolve(value, scope).qualname or "")
            if found is not None:
                self._emit(found[0], value, Verdict(found[1]), evidence=_render(value), callee=None)

    # --- output ---------------------------------------------------------------------------------------------

    def _emit(self, rule_id: str, node: ast.AST, verdict: Verdict, *, evidence: str,
              callee: str | None) -> None:
        severity = verdict.severity
        if severity is not None and severity == CATALOGUE[rule_id].severity:
            severity = None
        line = getattr(node, "lineno", 1)
        column = self._column(line, getattr(node, "col_offset", 0))
        data: dict[str, Any] | None = {"callee": callee} if callee else None
        self.hits.append(Hit(rule_id=rule_id, line=line, message=verdict.message, evidence=evidence[
            :EVIDENCE_MAX_CHARS], column=column, severity=severity, data=data))

    def _column(self, line: int, byte_offset: int) -> int:
        """1-based character column (ast gives UTF-8 byte offsets)."""
        if self._lines is None:
            self._lines = split_source_lines(self._text)
        if not 1 <= line <= len(self._lines):
            return byte_offset + 1
        prefix = self._lines[line - 1].encode("utf-8", "surrogatepass")[:byte_offset]
        return len(prefix.decode("utf-8", "replace")) + 1


_HANDLERS: Final[Mapping[type[ast.AST], Callable[[_Walker, Any, _Scope, list[_Task]], None]]] = {
    ast.Import: _Walker._import,
    ast.ImportFrom: _Walker._import_from,
    ast.Assign: _Walker._assign,
    ast.AnnAssign: _Walker._assign,
    ast.NamedExpr: _Walker._assign,
    ast.With: _Walker._with,
    ast.AsyncWith: _Walker._with,
    ast.FunctionDef: _Walker._function,
    ast.AsyncFunctionDef: _Walker._function,
    ast.Lambda: _Walker._function,
    ast.ClassDef: _Walker._class,
    ast.ListComp: _Walker._comprehension,
    ast.SetComp: _Walker._comprehension,
    ast.GeneratorExp: _Walker._comprehension,
    ast.DictComp: _Walker._comprehension,
    ast.Name: _Walker._name,
    ast.ExceptHandler: _Walker._except,
    ast.Dict: _Walker._dict,
    ast.Call: _Walker._call,
}


def _unbound(name: str) -> Symbol:
    """A name bound nowhere in the text: a builtin, a conventional alias, or taken at face value."""
    if name in _BUILTIN_CALLS:
        return Symbol(f"builtins.{name}")
    alias = _CONVENTIONAL_NAMES.get(name)
    if alias is not None:
        return Symbol(alias, guessed=True)
    if _HF_AUTO_CLASS.fullmatch(name):
        return Symbol(f"transformers.{name}", guessed=True)
    return Symbol(name, guessed=True)


# ================================================================================================================
# Evidence rendering: short, bounded (no recursion on deep trees), and never showing credentials.
# ================================================================================================================


def _dotted(expr: ast.expr, depth: int = 0) -> str:
    """``a.b.c`` as written; a call inside the chain as ``f(…)``; at most a few calls deep (no deep recursion)."""
    parts: list[str] = []
    while isinstance(expr, ast.Attribute) and len(parts) < 12:
        parts.append(expr.attr)
        expr = expr.value
    if isinstance(expr, ast.Name):
        parts.append(expr.id)
    elif isinstance(expr, ast.Call) and depth < 2 and isinstance(expr.func, ast.Name | ast.Attribute):
        parts.append(_dotted(expr.func, depth + 1) + "(…)")
    else:
        parts.append("…")
    return ".".join(reversed(parts))


def _render(node: ast.AST, depth: int = 0) -> str:
    """``torch.load(path, map_location='cpu')``: names, attributes and short constants; the rest as …"""
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, str):
            return _show(value, 40)
        text = repr(value)
        return text if len(text) <= 40 else text[:40] + "…"
    if isinstance(node, ast.Name | ast.Attribute):
        return _dotted(node)
    if depth >= 2:
        return "…"
    if isinstance(node, ast.Call):
        parts = [_render(arg, depth + 1) for arg in node.args[:6]]
        if len(node.args) > 6:
            parts.append("…")
        for kw in node.keywords[:8]:
            if kw.arg is None:
                parts.append("**" + _render(kw.value, depth + 1))
            elif _SECRET_KEYWORD.search(kw.arg):
                parts.append(f"{kw.arg}=…")
            else:
                parts.append(f"{kw.arg}={_render(kw.value, depth + 1)}")
        if len(node.keywords) > 8:
            parts.append("…")
        callee = _dotted(node.func) if isinstance(node.func, ast.Name | ast.Attribute) else "…"
        return f"{callee}({', '.join(parts)})"
    if isinstance(node, ast.Starred):
        return "*" + _render(node.value, depth + 1)
    if isinstance(node, ast.JoinedStr):
        return "f'…'"
    if isinstance(node, ast.Tuple | ast.List):
        inner = ", ".join(_render(elt, depth + 1) for elt in node.elts[:4])
        more = ", …" if len(node.elts) > 4 else ""
        return f"({inner}{more})" if isinstance(node, ast.Tuple) else f"[{inner}{more}]"
    if isinstance(node, ast.Dict):
        return "{…}"  # dicts carry headers and credentials: never shown
    return "…"


# ================================================================================================================
# Public entry points
# ================================================================================================================

_LINE_BREAK: Final = re.compile(r"\r\n|\r|\n")


def split_source_lines(text: str) -> list[str]:
    """Lines numbered as Python's tokenizer numbers them (\\r\\n, \\r and \\n end lines; \\f and U+2028 do not)."""
    return _LINE_BREAK.split(text)


def analyze_python_source(text: str) -> list[Hit]:
    """Hits for unsafe ML code in ``text`` (Python source), lines 1-based in ``text``.

    Never raises on any input: text that is not Python 3 gives one MW-CODE-000 hit. Inline suppressions are not
    applied here (see ``apply_inline_suppressions``).
    """
    source = text[1:] if text.startswith("\ufeff") else text  # a BOM is not part of the code
    try:
        with warnings.catch_warnings():
            # Invalid escape sequences and similar produce SyntaxWarnings: the file's business, not ours.
            warnings.simplefilter("ignore")
            tree = ast.parse(source)
    except SyntaxError as error:
        line = error.lineno if isinstance(error.lineno, int) and error.lineno > 0 else 1
        return [Hit(_UNPARSEABLE, line=line, message=f"not valid Python 3: {error.msg}")]
    except (ValueError, RecursionError, MemoryError, OverflowError) as error:
        reason = "nested too deeply to parse" if isinstance(error, RecursionError | MemoryError) else str(error)
        return [Hit(_UNPARSEABLE, line=1, message=f"not valid Python 3: {reason[:200]}")]
    walker = _Walker(source)
    walker.run(tree)
    return sorted(walker.hits, key=lambda hit: (hit.line, hit.column or 0, hit.rule_id))


def apply_inline_suppressions(hits: list[Hit], text: str) -> list[tuple[Hit, str | None]]:
    """Pair each hit with the reason of a ``# mlwarden: ignore[RULE-ID] reason`` comment on its line, or None."""
    if not hits:
        return []
    source = text[1:] if text.startswith("\ufeff") else text
    lines = split_source_lines(source)
    out: list[tuple[Hit, str | None]] = []
    for hit in hits:
        line_text = lines[hit.line - 1] if 1 <= hit.line <= len(lines) else ""
        out.append((hit, inline_reason(line_text, hit.rule_id)))
    return out
