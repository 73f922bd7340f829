"""Install the competing scanners in their own virtual environment and run them on one file or folder.

modelscan, picklescan and fickling go into benchmarks/.work/venv-competitors (never into mlwarden's
environment or dependencies), installed with pip's ordinary client. Each adapter runs the tool as a
subprocess and reduces its output to a ``ToolResult``: detected or not, wall seconds, and an error when the
tool crashed or timed out. A crash or timeout counts as "not detected" (and as "no false alarm" on benign
input) and is listed as an error by the report. Nothing here imports a competitor into this process or
loads a sample: fickling runs through a small driver script under the competitors' Python.

Run ``python benchmarks/competitors.py`` to set up the environment and print the installed versions.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
WORK_DIR = BENCH_DIR / ".work"
VENV_DIR = WORK_DIR / "venv-competitors"
# An empty folder the tools run in: modelscan reads ./modelscan-settings.toml and mlwarden reads
# ./mlwarden.toml when present, so no stray configuration may change their defaults.
RUN_CWD = WORK_DIR / "cwd"

# What the comparison installs. Versions are pinned so that a re-run measures the same tools; raise them
# deliberately (and re-run) to compare against newer releases.
REQUIREMENTS: tuple[str, ...] = (
    "modelscan[h5py]==0.8.8",  # [h5py]: modelscan's Keras .h5 scanner needs it
    "picklescan==1.0.5",
    "fickling==0.1.12",
    # fickling 0.1.12 imports typing_extensions on Python < 3.12 but does not declare it.
    "typing_extensions",
    # modelscan's SavedModel scanners need TensorFlow (its [tensorflow] extra); tensorflow-cpu provides the
    # same `tensorflow` module without the CUDA wheels.
    "tensorflow-cpu",
    # modelscan 0.8.8 calls numpy.lib.format._check_version, which NumPy 2.3 made private (every .npy/.npz
    # scan then fails with an AttributeError). Pinning keeps modelscan working as its authors tested it.
    "numpy<2.3",
)
# Distribution names whose versions the report records.
REPORTED_PACKAGES: tuple[str, ...] = ("modelscan", "picklescan", "fickling", "tensorflow-cpu", "h5py", "numpy")

DEFAULT_TIMEOUT_S = 300.0

# Quiet TensorFlow's C++ logging in modelscan's output; it does not change what modelscan scans.
_TOOL_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONDONTWRITEBYTECODE": "1"}


@dataclass
class ToolResult:
    """One tool on one path."""

    tool: str
    target: str
    detected: bool
    seconds: float
    error: str | None = None  # crash, timeout or unusable output
    exit_code: int | None = None
    detail: list[str] = field(default_factory=list)  # what the tool reported (rules, globals, ops), short
    flagged_files: int | None = None  # files the tool flagged, where its output says (folder runs)
    coverage: str | None = None  # what the tool says it scanned and skipped, where its output says (folder runs)

    def __post_init__(self) -> None:
        self.detail = [_printable(d) for d in self.detail]
        self.error = None if self.error is None else _printable(self.error, 240)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        # Cleaned again: adapters append to detail/error after construction.
        d["detail"] = [_printable(x) for x in self.detail]
        d["error"] = None if self.error is None else _printable(self.error, 240)
        return d


def _printable(text: str, limit: int = 120) -> str:
    """Tools echo raw bytes (picklescan prints whatever it parsed as a global name): keep reports readable."""
    cleaned = "".join(ch if ch.isprintable() else "?" for ch in text)
    cleaned = re.sub(r"\?{4,}", "???", cleaned)
    return cleaned if len(cleaned) <= limit else cleaned[:limit - 3] + "..."


def _venv_bin(name: str) -> Path:
    return VENV_DIR / "bin" / name


def venv_python() -> Path:
    return _venv_bin("python")


def _stamp() -> Path:
    return VENV_DIR / ".mlwarden-bench-requirements.json"


def ensure_competitors(*, force: bool = False, quiet: bool = True) -> dict[str, str]:
    """Create the competitors' venv and install REQUIREMENTS (skipped when already done); return versions."""
    wanted = json.dumps(list(REQUIREMENTS))
    if force or not venv_python().exists() or not _stamp().is_file() or _stamp().read_text() != wanted:
        base_python = getattr(sys, "_base_executable", sys.executable) or sys.executable
        subprocess.run([base_python, "-m", "venv", "--clear", str(VENV_DIR)], check=True)
        pip = [str(venv_python()), "-m", "pip", "install", *(["--quiet"] if quiet else [])]
        subprocess.run([*pip, "--upgrade", "pip"], check=True)
        subprocess.run([*pip, *REQUIREMENTS], check=True)
        _stamp().write_text(wanted)
    return installed_versions()


def installed_versions() -> dict[str, str]:
    listing = subprocess.run([str(venv_python()), "-m", "pip", "list", "--format", "json"],
                             capture_output=True, text=True, check=True).stdout
    versions = {row["name"].lower().replace("_", "-"): row["version"] for row in json.loads(listing)}
    out = {name: versions[name] for name in REPORTED_PACKAGES if name in versions}
    out["python"] = subprocess.run([str(venv_python()), "-c", "import platform; print(platform.python_version())"],
                                   capture_output=True, text=True, check=True).stdout.strip()
    return out


def run_timed(cmd: Sequence[str], timeout: float, env: dict[str, str] | None = None
              ) -> tuple[subprocess.CompletedProcess[str] | None, float, str | None]:
    """Run ``cmd`` in RUN_CWD; return (process or None on timeout, wall seconds, error)."""
    RUN_CWD.mkdir(parents=True, exist_ok=True)
    merged = {**os.environ, **_TOOL_ENV, **(env or {})}
    started = time.perf_counter()
    try:
        proc = subprocess.run(list(cmd), cwd=RUN_CWD, env=merged, capture_output=True, text=True,
                              errors="replace", timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, time.perf_counter() - started, f"timeout after {timeout:.0f} s"
    return proc, time.perf_counter() - started, None


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


# --- modelscan ----------------------------------------------------------------------------------------------

def run_modelscan(path: str | os.PathLike[str], timeout: float = DEFAULT_TIMEOUT_S) -> ToolResult:
    """``modelscan -p PATH -r json -o FILE``. Exit codes (modelscan/cli.py): 0 clean, 1 issues, 2 scan errors,
    3 no supported file, 4 usage. An issue of any severity counts as a detection; the JSON report is read
    rather than the exit code because 2 also comes with issues found."""
    target = os.path.abspath(path)  # the tools run in RUN_CWD
    with tempfile.TemporaryDirectory(dir=WORK_DIR) as tmp:
        report_path = Path(tmp) / "modelscan.json"
        proc, seconds, error = run_timed([str(_venv_bin("modelscan")), "-p", target, "-r", "json",
                                          "-o", str(report_path)], timeout)
        if proc is None:
            return ToolResult("modelscan", target, False, seconds, error)
        if not report_path.is_file():
            return ToolResult("modelscan", target, False, seconds,
                              f"no report (exit {proc.returncode}): {_last_line(proc.stdout + proc.stderr)}",
                              proc.returncode)
        report = json.loads(report_path.read_text())
    issues = report.get("issues", [])
    errors = report.get("errors", [])
    detail = sorted({f"{i.get('severity', '?')} {i.get('module', '')}.{i.get('operator', '')}".strip()
                     for i in issues})
    result = ToolResult("modelscan", target, bool(issues), seconds, exit_code=proc.returncode, detail=detail,
                        flagged_files=len({str(i.get("source", "")).split(":", 1)[0] for i in issues}),
                        coverage=_modelscan_coverage(report))
    if errors and not issues:
        result.error = "; ".join(sorted({str(e.get("description", e))[:160] for e in errors}))
    elif proc.returncode == 3:
        result.detail.append("no supported file (skipped)")
    return result


def _modelscan_coverage(report: dict[str, Any]) -> str | None:
    """What modelscan says it covered, from its report's summary (modelscan 0.8: summary.scanned.total_scanned
    counts files and archive members; summary.skipped appears only with --show-skipped), plus its scan
    errors."""
    summary = report.get("summary", {})
    scanned = summary.get("scanned", {}).get("total_scanned")
    if scanned is None:
        return None
    text = f"{scanned} scanned (files and archive members)"
    skipped = summary.get("skipped", {}).get("total_skipped")
    errors = report.get("errors", [])
    return text + (f", {skipped} skipped" if skipped is not None else "") + (
        f", {len(errors)} scan errors" if errors else "")


# --- picklescan ---------------------------------------------------------------------------------------------

_PICKLESCAN_COUNTS = re.compile(r"^(Scanned files|Infected files|Suspicious globals|Dangerous globals): (\d+)",
                                re.MULTILINE)


def run_picklescan(path: str | os.PathLike[str], timeout: float = DEFAULT_TIMEOUT_S, *,
                   strict: bool = False) -> ToolResult:
    """``picklescan -p PATH [--strict]``. Exit codes (picklescan/cli.py): 0 clean, 1 dangerous globals found,
    2 scan error. The summary's "Dangerous globals" count decides; a scan error that still found dangerous
    globals is a detection."""
    target = os.path.abspath(path)  # the tools run in RUN_CWD
    name = "picklescan-strict" if strict else "picklescan"
    cmd = [str(_venv_bin("picklescan")), "-p", target, *(["--strict"] if strict else [])]
    proc, seconds, error = run_timed(cmd, timeout)
    if proc is None:
        return ToolResult(name, target, False, seconds, error)
    output = proc.stdout + proc.stderr
    counts = {key: int(value) for key, value in _PICKLESCAN_COUNTS.findall(output)}
    dangerous = counts.get("Dangerous globals", 0)
    detected = dangerous > 0 or proc.returncode == 1
    detail = sorted({m.group(1) for m in re.finditer(r"dangerous import '([^']+)' FOUND", output)})[:12]
    result = ToolResult(name, target, detected, seconds, exit_code=proc.returncode, detail=detail,
                        flagged_files=counts.get("Infected files"),
                        coverage=(f"{counts['Scanned files']} files scanned" if "Scanned files" in counts else None))
    if not detected and (proc.returncode not in (0, 1) or "Dangerous globals" not in output):
        result.error = f"exit {proc.returncode}: {_last_line(output)}"
    return result


# --- fickling -----------------------------------------------------------------------------------------------

# Runs under the competitors' Python. It follows fickling's own policy for scanning model repositories
# (fickling/cli.py, _scan_huggingface): zip archives -> scan_zip_archive (members named .pkl/.pickle/.bin),
# pickles and .bin/.pkl/.pickle files -> scan_file, everything else is skipped as "not a pickle".
# fickling.polyglot.check_pickle is reproduced because that module refuses to import without torch.
# Deviation in fickling's favour: a non-zip .pt/.pth is scanned as a pickle instead of failing as a zip.
FICKLING_DRIVER = r'''
import json, os, sys, zipfile
import fickling
from fickling.analysis import Severity
from fickling.fickle import Pickled, StackedPickle

RAW_PICKLE_EXTENSIONS = {".bin", ".pkl", ".pickle"}

def looks_like_pickle(path):
    with open(path, "rb") as f:
        try:
            return len(Pickled.load(f)) > 2
        except Exception:
            f.seek(0)
            try:
                return any(len(p) > 2 for p in StackedPickle.load(f).pickled)
            except Exception:
                return False

def scan(path):
    ext = os.path.splitext(path)[1].lower()
    if zipfile.is_zipfile(path):
        return "zip", list(fickling.scan_zip_archive(path, graceful=True).items())
    if ext in RAW_PICKLE_EXTENSIONS or looks_like_pickle(path):
        return "pickle", [(os.path.basename(path), fickling.scan_file(path, graceful=True))]
    return "skipped", []

target = sys.argv[1]
if not os.path.exists(target):
    sys.exit("no such path: " + target)
files = [target] if os.path.isfile(target) else sorted(
    os.path.join(d, f) for d, _, names in os.walk(target) for f in names)
out = {"unsafe": False, "by_analysis": False, "scanned": 0, "skipped": 0, "detail": []}
for path in files:
    mode, results = scan(path)
    if mode == "skipped":
        out["skipped"] += 1
        continue
    out["scanned"] += 1
    for member, result in results:
        if not result.is_safe:
            out["unsafe"] = True
            analysed = any(r.severity > Severity.LIKELY_SAFE for r in result.results)
            out["by_analysis"] = out["by_analysis"] or analysed
            what = result.severity.name if analysed else "parse error: " + "; ".join(result.errors)[:120]
            where = os.path.relpath(path, target) if os.path.isdir(target) else os.path.basename(path)
            out["detail"].append(where + ("" if member == os.path.basename(path) else "!" + member) + " " + what)
print(json.dumps(out))
'''


def run_fickling(path: str | os.PathLike[str], timeout: float = DEFAULT_TIMEOUT_S) -> ToolResult:
    """fickling's library API through FICKLING_DRIVER; "unsafe" = any scanned pickle not LIKELY_SAFE
    (fickling's ``ScanResult.is_safe``), which includes pickles fickling cannot parse."""
    target = os.path.abspath(path)  # the tools run in RUN_CWD
    proc, seconds, error = run_timed([str(venv_python()), "-c", FICKLING_DRIVER, target], timeout)
    if proc is None:
        return ToolResult("fickling", target, False, seconds, error)
    try:
        verdict = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return ToolResult("fickling", target, False, seconds,
                          f"exit {proc.returncode}: {_last_line(proc.stderr or proc.stdout)}", proc.returncode)
    detail = verdict["detail"][:6]
    if verdict["unsafe"] and not verdict["by_analysis"]:
        detail.insert(0, "verdict from parse errors only")
    if not verdict["scanned"]:
        detail.append("no pickle found (skipped)")
    return ToolResult("fickling", target, verdict["unsafe"], seconds, exit_code=proc.returncode, detail=detail)


# --- the table the comparison uses --------------------------------------------------------------------------

def competitor_runners() -> dict[str, Any]:
    """Tool name -> callable(path, timeout) -> ToolResult, for per-file and per-folder runs."""
    return {
        "modelscan": run_modelscan,
        "picklescan": run_picklescan,
        "picklescan-strict": lambda path, timeout=DEFAULT_TIMEOUT_S: run_picklescan(path, timeout, strict=True),
        "fickling": run_fickling,
    }


# Tools that take a whole folder in one command (fickling has no folder mode: its CLI takes one pickle).
FOLDER_CAPABLE: tuple[str, ...] = ("modelscan", "picklescan", "picklescan-strict")


def main() -> int:
    versions = ensure_competitors(quiet=False)
    print(json.dumps(versions, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
