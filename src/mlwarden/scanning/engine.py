"""The scan engine: walk the inputs, scan each file (in parallel processes), apply policy, build the Report.

I/O lives here: the engine opens each file and hands the scanners a seekable stream. It never imports,
unpickles or executes anything it scans, and a failure in one file becomes a finding for that file only.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from mlwarden.core.errors import InputError, UsageError
from mlwarden.core.findings import Finding, Location
from mlwarden.core.policy import Config, apply_policy, is_skipped, load_baseline
from mlwarden.core.report import Report, ScanStats
from mlwarden.core.rules import make_finding
from mlwarden.scanning.context import ScanContext, ScanOptions
from mlwarden.scanning.dispatch import scan_stream
from mlwarden.scanning.identify import HF_CHAT_TEMPLATE, HF_CODE, HF_CONFIG, KERAS_CONFIG
from mlwarden.supply.deps.model import Dependency

# Version-control folders are never model artifacts and can be huge.
SKIPPED_DIRS = frozenset({".git", ".hg", ".svn"})
# Recognised, but nothing in them is analysed by the model scanner.
_UNANALYSED = frozenset({"text", "json"})
# Below this many files, process start-up costs more than it saves.
_PARALLEL_MIN_FILES = 8
# Formats whose content is text that the code, configuration, notebook, secret and dependency scanners read.
_TEXTUAL = frozenset({None, "text", "json", HF_CODE, HF_CONFIG, HF_CHAT_TEMPLATE, KERAS_CONFIG})


@dataclass(frozen=True, slots=True)
class FileTask:
    path: str  # on disk
    display: str  # as reported: the path as found under the scanned path, POSIX separators
    size: int
    model_folder: bool  # folder holds a config.json: its .py files are remote code for trust_remote_code
    root: str = ""  # the scanned folder this file was found under: includes (-r base.txt) may not leave it
    # Inside an installed environment (a virtualenv, conda env, site-packages, node_modules): its models are
    # still scanned, but third-party sources there are not the project's code (audit them with --python).
    in_environment: bool = False


@dataclass(frozen=True, slots=True)
class FileResult:
    display: str
    size: int
    format: str | None
    findings: tuple[Finding, ...]
    kinds: frozenset[str] = frozenset()  # text analyses that ran: code, config, notebook, secrets, deps
    dependencies: tuple[Dependency, ...] = ()


def _display(root_given: str, rel: str) -> str:
    joined = os.path.join(root_given, rel) if rel else root_given
    return os.path.normpath(joined).replace(os.sep, "/")


def collect_files(paths: Sequence[str | os.PathLike[str]], skip: Sequence[str] = ()) -> list[FileTask]:
    """Expand files and folders into scan tasks. Symbolic links are not followed (they could leave the tree)."""
    tasks: list[FileTask] = []
    for given in paths:
        root = os.fspath(given)
        if not os.path.lexists(root):
            raise InputError(f"path '{root}' does not exist; check the spelling or run from the right folder")
        if os.path.isfile(root):
            folder = os.path.dirname(os.path.abspath(root))
            tasks.append(FileTask(root, _display(root, ""), os.path.getsize(root),
                                  os.path.isfile(os.path.join(folder, "config.json")), folder))
            continue
        if not os.path.isdir(root):
            raise InputError(f"path '{root}' is not a regular file or folder; give a file or folder to scan")
        environments: list[str] = []
        for dirpath, dirnames, filenames in os.walk(root, onerror=None, followlinks=False):
            if _is_environment(dirpath, dirnames, filenames):
                environments.append(dirpath)
            in_environment = any(dirpath == e or dirpath.startswith(e + os.sep) for e in environments)
            rel_dir = os.path.relpath(dirpath, root)
            rel_dir = "" if rel_dir == "." else rel_dir.replace(os.sep, "/")
            dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS
                                 and not is_skipped(f"{rel_dir}/{d}".lstrip("/"), skip))
            model_folder = "config.json" in filenames
            for name in sorted(filenames):
                rel = f"{rel_dir}/{name}".lstrip("/")
                if is_skipped(rel, skip):
                    continue
                full = os.path.join(dirpath, name)
                try:
                    info = os.lstat(full)
                except OSError:
                    info = None
                # Links are not followed; FIFOs, sockets and devices are skipped (opening a FIFO would hang).
                if info is not None and not stat.S_ISREG(info.st_mode):
                    continue
                tasks.append(FileTask(full, _display(root, rel), info.st_size if info else 0, model_folder, root,
                                      in_environment))
    return tasks


# Folders that hold installed packages rather than the project's own files.
_ENVIRONMENT_DIRS = frozenset({"site-packages", "dist-packages", "node_modules"})


def _is_environment(dirpath: str, dirnames: list[str], filenames: list[str]) -> bool:
    return ("pyvenv.cfg" in filenames or "conda-meta" in dirnames
            or os.path.basename(dirpath) in _ENVIRONMENT_DIRS)


def scan_file(task: FileTask, options: ScanOptions) -> FileResult:
    """Scan one file on disk. Never raises for problems with the file: they become findings."""
    ctx = ScanContext(path=task.display, size=task.size, options=options, name=os.path.basename(task.path))
    fmt: str | None = None
    kinds: frozenset[str] = frozenset()
    dependencies: tuple[Dependency, ...] = ()
    scanners = options.scanners
    try:
        with open(task.path, "rb") as stream:
            ctx.size = os.fstat(stream.fileno()).st_size
            from mlwarden.scanning.dispatch import detect_format

            fmt = detect_format(stream, ctx)
            source_code = fmt == HF_CODE and not task.model_folder
            if source_code:
                fmt = None  # ordinary source code: the code scanners handle it, not the model scanner
            if "models" in scanners and not source_code:
                if fmt is None:
                    fmt = scan_stream(stream, ctx)  # may still find a zip behind unknown leading bytes
                else:
                    scan_stream(stream, ctx, format_hint=fmt)
            if fmt in _TEXTUAL and len(scanners) > ("models" in scanners) and not task.in_environment:
                kinds, dependencies = _scan_text(stream, task, ctx, options)
        if "pii" in scanners and not task.in_environment and _is_dataset(task.path):
            kinds = kinds | {"pii"}
            ctx.findings.extend(_scan_dataset(task))
    except OSError as exc:
        ctx.findings.append(make_finding(
            "MW-SCAN-001", Location(task.display), f"cannot read file: {exc.strerror or exc}",
            evidence=type(exc).__name__, scanner="engine"))
    return FileResult(task.display, ctx.size, fmt, tuple(ctx.findings), kinds, dependencies)


# Files a project scan reads as datasets for personal data. Text and JSON in general are left to
# 'mlwarden pii scan', which takes them when asked: in a code repository they are mostly docs and configs.
_DATASET_SUFFIXES = (".csv", ".tsv", ".jsonl", ".ndjson", ".parquet")


def _is_dataset(path: str) -> bool:
    return path.lower().endswith(_DATASET_SUFFIXES)


def _scan_dataset(task: FileTask) -> list[Finding]:
    from mlwarden.core.errors import MissingExtraError
    from mlwarden.privacy.files import scan_pii_file

    try:
        return scan_pii_file(Path(task.path), display=task.display)
    except MissingExtraError as exc:
        return [make_finding("MW-PII-003", Location(task.display), f"not scanned for personal data: {exc}",
                             evidence="missing extra", scanner="pii")]
    except Exception as exc:  # noqa: BLE001 - fail closed for this file only
        return [make_finding("MW-SCAN-002", Location(task.display), f"personal-data scan failed: "
                             f"{type(exc).__name__}: {exc}", evidence=type(exc).__name__, scanner="pii")]


def _scan_text(stream: BinaryIO, task: FileTask, ctx: ScanContext, options: ScanOptions
               ) -> tuple[frozenset[str], tuple[Dependency, ...]]:
    from mlwarden.supply.filescan import max_bytes_for, scan_text_file, text_kinds

    kinds = text_kinds(task.path, options.scanners)
    if not kinds:
        return kinds, ()
    limit = max_bytes_for(kinds, options.limits)
    stream.seek(0)
    data = stream.read(limit + 1)
    try:
        outcome = scan_text_file(data[:limit], display=task.display, name=task.path, kinds=kinds,
                                 truncated=len(data) > limit, limits=options.limits,
                                 read_include=_include_reader(task, options), scanners=options.scanners)
    except RecursionError:
        ctx.findings.append(make_finding("MW-FMT-001", Location(task.display), "text is nested too deeply to "
                                         "analyse", scanner="code"))
        return kinds, ()
    except Exception as exc:  # noqa: BLE001 - fail closed: an analyzer bug must never pass a file silently
        ctx.findings.append(make_finding(
            "MW-SCAN-002", Location(task.display), f"text analysis failed: {type(exc).__name__}: {exc}",
            evidence=type(exc).__name__, scanner="code"))
        return kinds, ()
    ctx.findings.extend(outcome.findings)
    return kinds, tuple(outcome.dependencies)


def _include_reader(task: FileTask, options: ScanOptions) -> Callable[[str], str | None]:
    from mlwarden.supply.deps.sources import include_reader

    return include_reader(task.path, task.root or os.path.dirname(task.path),
                          max_bytes=options.limits.max_dependency_file_bytes)


def _scan_chunk(tasks: list[FileTask], options: ScanOptions) -> list[FileResult]:
    return [scan_file(t, options) for t in tasks]


def _chunks(tasks: list[FileTask], jobs: int) -> Iterator[list[FileTask]]:
    # Small chunks keep all workers busy when one file is slow; big files go alone.
    size = max(1, min(32, len(tasks) // (jobs * 8) or 1))
    batch: list[FileTask] = []
    for task in sorted(tasks, key=lambda t: -t.size):
        batch.append(task)
        if len(batch) >= size or task.size > 64 * 1024 * 1024:
            yield batch
            batch = []
    if batch:
        yield batch


def run_tasks(tasks: list[FileTask], options: ScanOptions, *, jobs: int,
              on_result: Callable[[FileResult], None] | None = None) -> list[FileResult]:
    results: list[FileResult] = []
    if jobs <= 1 or len(tasks) < _PARALLEL_MIN_FILES:
        for task in tasks:
            result = scan_file(task, options)
            results.append(result)
            if on_result:
                on_result(result)
        return results
    import multiprocessing

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context(method)) as pool:
        from concurrent.futures import as_completed

        futures = [pool.submit(_scan_chunk, chunk, options) for chunk in _chunks(tasks, jobs)]
        for future in as_completed(futures):
            for result in future.result():
                results.append(result)
                if on_result:
                    on_result(result)
    return results


def _without_repeated_source_problems(findings: list[Finding]) -> list[Finding]:
    """A requirements file included with -r and also found by the walk is parsed twice: its problems
    (MW-DEP-004/007) must be reported once. Findings of other scanners are never merged."""
    seen: set[tuple[str, Location]] = set()
    kept: list[Finding] = []
    for finding in findings:
        if finding.rule_id.startswith("MW-DEP-"):
            key = (finding.fingerprint, finding.location)
            if key in seen:
                continue
            seen.add(key)
        kept.append(finding)
    return kept


def scan_paths(
    paths: Sequence[str | os.PathLike[str]],
    *,
    config: Config | None = None,
    jobs: int | None = None,
    baseline: Path | None = None,
    use_baseline: bool = True,
    scanners: Sequence[str] | None = None,
    environment: bool = False,
    python: Path | None = None,
    db_path: Path | None = None,
    on_start: Callable[[int], None] | None = None,
    on_result: Callable[[FileResult], None] | None = None,
) -> Report:
    """Scan files and folders and return the Report (policy applied). The engine behind ``mlwarden.scan``.

    ``scanners`` selects models, deps, code, notebooks and secrets (default: the configuration's, else all).
    ``environment`` / ``python`` add an installed environment to the dependency audit (never implicit).
    """
    from mlwarden import __version__
    from mlwarden.supply.deps.pipeline import collect_environment, run_dependency_audit

    if not paths and not environment and python is None:
        raise InputError("no path given; name at least one file or folder to scan")
    config = config or Config()
    selected = frozenset(scanners if scanners is not None else config.model.scanners)
    if (environment or python is not None) and "deps" not in selected:
        raise UsageError("--environment / --python audit installed packages: select the deps scanner too")
    started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    clock = time.perf_counter()
    tasks = collect_files(paths, config.model.skip)
    options = ScanOptions(trusted_callables=frozenset(config.model.trusted_callables), scanners=selected)
    if on_start:
        on_start(len(tasks))
    results = run_tasks(tasks, options, jobs=jobs or os.cpu_count() or 1, on_result=on_result)

    stats = ScanStats(files_seen=len(tasks))
    findings: list[Finding] = []
    declared: list[Dependency] = []
    for result in sorted(results, key=lambda r: r.display):
        stats.bytes_seen += result.size
        if result.format is not None and "models" in selected:
            stats.formats[result.format] += 1
            if result.format not in _UNANALYSED:
                stats.files_scanned += 1
        for kind in result.kinds:
            stats.text_files[kind] += 1
        findings.extend(result.findings)
        declared.extend(result.dependencies)
    audit_summary = None
    if "deps" in selected:
        installed, problems = collect_environment(environment=environment, python=python)
        findings.extend(problems)
        outcome = run_dependency_audit([*declared, *installed], db_path=db_path,
                                       max_age_days=config.model.advisory_max_age_days)
        findings.extend(outcome.findings)
        audit_summary = outcome.summary
    findings = _without_repeated_source_problems(findings)
    baseline_path = baseline or (config.baseline_path() if use_baseline else None)
    known = load_baseline(baseline_path) if baseline_path else frozenset()
    outcome_policy = apply_policy(findings, config, known)
    stats.duration_s = round(time.perf_counter() - clock, 3)
    return Report(findings=outcome_policy.active, suppressed=outcome_policy.suppressed,
                  roots=[os.fspath(p) for p in paths], tool_version=__version__, fail_on=config.fail_on,
                  stats=stats, started_at=started, scanners=sorted(selected), dependency_audit=audit_summary)
