"""Scan one text file for the supply-chain scanners: unsafe code (Python), configuration (YAML/JSON),
notebooks, leaked secrets, and dependency declarations (requirements and lock files).

The engine calls ``scan_text_file`` with bytes it has already read (bounded by ``Limits``); nothing here opens
other files except through the ``read_include`` callback the engine provides for ``-r`` includes. Scanned text is
parsed (``ast``, JSON, safe YAML), never imported or run. Secrets are masked before anything leaves this module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from mlwarden.core.findings import Finding, Location
from mlwarden.core.limits import Limits
from mlwarden.core.policy import SCANNERS
from mlwarden.core.rules import make_finding
from mlwarden.supply.deps.model import Dependency, SourceProblem, SourceResult
from mlwarden.supply.hits import Hit, hit_to_finding
from mlwarden.supply.suppress import inline_reason

PYTHON_EXTENSIONS = frozenset({".py", ".pyw"})
# Text without a telling extension that still often holds credentials.
SECRET_NAMES = frozenset({".env", ".netrc", ".npmrc", ".pypirc", "credentials", "dockerfile", ".envrc"})
SECRET_EXTENSIONS = frozenset({
    ".py", ".pyw", ".ipynb", ".yaml", ".yml", ".json", ".toml", ".cfg", ".ini", ".conf", ".env", ".txt", ".md",
    ".rst", ".sh", ".bash", ".zsh", ".ps1", ".js", ".ts", ".properties", ".xml", ".tf", ".tfvars", ".hcl",
    ".r", ".scala", ".java", ".go", ".rb", ".sql", ".csv", ".log", ".jinja", ".j2", ".dockerfile", ".service",
})


@dataclass(slots=True)
class TextScanResult:
    findings: list[Finding] = field(default_factory=list)
    dependencies: list[Dependency] = field(default_factory=list)


def _extension(name: str) -> str:
    base = name.rsplit("/", 1)[-1].lower()
    return "." + base.rsplit(".", 1)[-1] if "." in base.lstrip(".") else ""


def text_kinds(name: str, scanners: frozenset[str]) -> frozenset[str]:
    """Which analyses apply to a file of this name: code, config, notebook, secrets, deps (cheap, by name)."""
    base = name.rsplit("/", 1)[-1].lower()
    ext = _extension(base)
    kinds: set[str] = set()
    if ext in PYTHON_EXTENSIONS and "code" in scanners:
        kinds.add("code")
    if "code" in scanners:
        from mlwarden.supply.code.config_rules import config_kind_for

        if config_kind_for(name) is not None:
            kinds.add("config")
    if ext == ".ipynb":
        # A notebook is always read as a notebook (so that locations name cells and outputs); which of its
        # checks run follows the selection (see _scan_notebook).
        return frozenset({"notebook"}) if scanners & {"notebooks", "code", "secrets", "deps"} else frozenset()
    if "secrets" in scanners and (ext in SECRET_EXTENSIONS or base in SECRET_NAMES or base.startswith(".env")):
        kinds.add("secrets")
    if "deps" in scanners:
        from mlwarden.supply.deps.sources import source_kind

        if source_kind(name.replace("\\", "/")) is not None:  # the folder counts: requirements/base.txt
            kinds.add("deps")
    return frozenset(kinds)


def max_bytes_for(kinds: frozenset[str], limits: Limits) -> int:
    """How much of the file the analyses need."""
    if "notebook" in kinds:
        return limits.max_notebook_bytes
    if "deps" in kinds:
        return max(limits.max_dependency_file_bytes, limits.max_source_bytes)
    return limits.max_source_bytes


def scan_text_file(
    data: bytes,
    *,
    display: str,
    name: str,
    kinds: frozenset[str],
    truncated: bool,
    limits: Limits,
    read_include: Callable[[str], str | None] | None = None,
    scanners: frozenset[str] = frozenset(SCANNERS),
) -> TextScanResult:
    """Run the analyses in ``kinds`` over ``data`` (the file's first bytes; ``truncated`` when there is more).
    ``scanners`` is the run's selection: a notebook's code cells, secrets and ``pip install`` lines are only
    analysed when code, secrets and deps are selected."""
    result = TextScanResult()
    where = Location(display)
    if b"\x00" in data[:8192] and "notebook" not in kinds:
        # Binary content: the model scanner and identification already had their say. A dependency file must
        # be text, so a binary one means its dependencies go unaudited: say so.
        if "deps" in kinds:
            result.findings.append(make_finding(
                "MW-DEP-004", where, "dependency file is binary, not text; its dependencies were not audited",
                evidence="binary content", scanner="deps"))
        return result
    if "notebook" in kinds:
        _scan_notebook(data, where, truncated, limits, result, scanners)
        return result
    text = data.decode("utf-8", errors="replace")
    lines: list[str] | None = None
    hits: list[tuple[Hit, str]] = []
    if truncated:
        result.findings.append(make_finding(
            "MW-FMT-003", where, f"file is larger than {limits.max_source_bytes} bytes; only its first part was "
            "searched for unsafe code and secrets", evidence="max_source_bytes", scanner="code"))
    if "code" in kinds and not truncated:
        from mlwarden.supply.code.python_rules import analyze_python_source

        hits.extend((hit, "code") for hit in analyze_python_source(text))
    if "config" in kinds and not truncated:
        from mlwarden.supply.code.config_rules import analyze_config, config_kind_for

        config_kind = config_kind_for(name)
        if config_kind is not None:
            hits.extend((hit, "config") for hit in analyze_config(text, kind=config_kind))
    if "secrets" in kinds:
        from mlwarden.supply.secrets import find_secrets

        hits.extend((hit, "secrets") for hit in find_secrets(text))
    python_lines: list[str] | None = None
    for hit, scanner in hits:
        finding = hit_to_finding(_masked(hit), where, scanner=scanner)
        # Look the marker up on the line as the analyzer numbered it: Python's tokenizer also ends lines at a
        # lone \r, the secret scanner and the configuration parsers count \n only.
        if scanner == "code":
            if python_lines is None:
                from mlwarden.supply.code.python_rules import split_source_lines

                python_lines = split_source_lines(text)
            numbered = python_lines
        else:
            if lines is None:
                lines = text.split("\n")
            numbered = lines
        line_text = numbered[hit.line - 1] if 0 < hit.line <= len(numbered) else ""
        reason = inline_reason(line_text, hit.rule_id)
        result.findings.append(replace(finding, suppressed=f"inline: {reason}") if reason else finding)
    if "deps" in kinds:
        from mlwarden.supply.deps.sources import parse_source, source_kind

        kind = source_kind(name.replace("\\", "/"))
        if kind is not None:
            if truncated:
                result.findings.append(make_finding(
                    "MW-DEP-004", where, "dependency file is too large to parse completely; its dependencies were "
                    "not audited", evidence="max_dependency_file_bytes", scanner="deps"))
            else:
                _add_source(parse_source(kind, text, path=display, read_include=read_include), result)
    return result


def _masked(hit: Hit) -> Hit:
    """A last line of defence: code evidence quotes source lines, which may hold a secret."""
    if hit.rule_id.startswith("MW-SECRET") or (hit.evidence is None and not hit.message):
        return hit
    from mlwarden.supply.secrets import mask_secrets_in

    evidence = mask_secrets_in(hit.evidence) if hit.evidence else hit.evidence
    return replace(hit, evidence=evidence, message=mask_secrets_in(hit.message))


def _add_source(source: SourceResult, result: TextScanResult) -> None:
    result.dependencies.extend(source.dependencies)
    for problem in source.problems:
        result.findings.append(problem_to_finding(problem))


def problem_to_finding(problem: SourceProblem) -> Finding:
    return make_finding(problem.rule_id, Location(problem.source, line=problem.line), problem.message,
                        evidence=problem.evidence, scanner="deps")


# Which scanner a notebook hit belongs to, by rule prefix; the notebook's own rules (MW-NB-*) always run.
_NOTEBOOK_HIT_SCANNER = (("MW-SECRET-", "secrets"), ("MW-CODE-", "code"))


def _scan_notebook(data: bytes, where: Location, truncated: bool, limits: Limits, result: TextScanResult,
                   scanners: frozenset[str]) -> None:
    from mlwarden.supply.code.notebooks import analyze_notebook

    if truncated:
        result.findings.append(make_finding(
            "MW-NB-004", where, f"notebook is larger than {limits.max_notebook_bytes} bytes and was not analysed",
            evidence="max_notebook_bytes", scanner="notebooks"))
        return
    analysis = analyze_notebook(data, max_bytes=limits.max_notebook_bytes)
    for nb_hit in analysis.hits:
        wanted = next((name for prefix, name in _NOTEBOOK_HIT_SCANNER if nb_hit.hit.rule_id.startswith(prefix)),
                      "notebooks")
        if wanted not in scanners:
            continue
        finding = hit_to_finding(_masked(nb_hit.hit), nb_hit.location(where.path), scanner="notebooks")
        if nb_hit.suppressed:
            finding = replace(finding, suppressed=f"inline: {nb_hit.suppressed}")
        result.findings.append(finding)
    if analysis.pip_installs and "deps" in scanners:
        from mlwarden.supply.deps.sources.requirements import parse_pip_install_args

        for cell, line, args in analysis.pip_installs:
            for item in parse_pip_install_args(args, source=where.path, line=line, cell=cell):
                if isinstance(item, Dependency):
                    result.dependencies.append(item)
                else:
                    result.findings.append(replace(problem_to_finding(item),
                                                   location=Location(where.path, cell=cell, line=item.line)))
