"""Compare mlwarden with modelscan, picklescan and fickling on one corpus, in one run.

    python benchmarks/run_comparison.py            # everything (3-5 minutes on 2 cores)
    python benchmarks/run_comparison.py --quick    # detection only: no 2 GiB checkpoint, no folder timing

Steps: build the corpus (corpus.py) and the 2 GiB checkpoint (large_checkpoint.py), set up the competitors'
own virtual environment (competitors.py), then run every tool on every sample, time every tool on the 2 GiB
checkpoint (median of 3) and on the whole corpus folder (median of 3). Prints a markdown summary to stdout
and writes the raw results to benchmarks/.work/results.json (and the summary to results.md).

Detection rules: mlwarden detects when it exits 1 under the default gate (--fail-on high) or reports a
finding of severity high or critical; modelscan when it reports any issue; picklescan when it counts a
dangerous global; fickling when a pickle it scanned is not LIKELY_SAFE. A tool that crashes or times out
detects nothing and raises no false alarm; it is listed as an error.

Must be run with a Python that has mlwarden and the sample writers (torch, numpy, joblib, h5py, onnx,
safetensors) installed: the project's .venv. It never loads a sample.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import competitors
import corpus
import large_checkpoint
import mixed_folder
from competitors import ToolResult, run_timed

BENCH_DIR = Path(__file__).resolve().parent
WORK_DIR = BENCH_DIR / ".work"
RESULTS_JSON = WORK_DIR / "results.json"
RESULTS_MD = WORK_DIR / "results.md"

MLWARDEN = "mlwarden"
# Report order. picklescan-strict is picklescan with --strict (unknown globals count as dangerous).
TOOLS: tuple[str, ...] = (MLWARDEN, "modelscan", "picklescan", "picklescan-strict", "fickling")
_BLOCKING = frozenset({"critical", "high"})

Runner = Callable[..., ToolResult]


# --- mlwarden adapter ---------------------------------------------------------------------------------------

def mlwarden_command() -> list[str]:
    return [sys.executable, "-m", "mlwarden"]


def run_mlwarden(path: str | os.PathLike[str], timeout: float = competitors.DEFAULT_TIMEOUT_S, *,
                 report_file: bool = False) -> ToolResult:
    """``mlwarden scan PATH --format json``: detected = exit 1 (default gate, --fail-on high) or any finding
    of severity high/critical. Output that is not a JSON report (a crash) is an error. With ``report_file``
    the report goes to a file (``-f json -o FILE``, as a CI job would run it) instead of stdout."""
    target = os.path.abspath(path)
    with tempfile.TemporaryDirectory(dir=WORK_DIR) as tmp:
        report_path = Path(tmp) / "mlwarden.json"
        output = ["-o", str(report_path)] if report_file else []
        proc, seconds, error = run_timed([*mlwarden_command(), "scan", target, "--format", "json", *output,
                                          "--no-progress"], timeout)
        text = report_path.read_text() if report_file and report_path.is_file() else (proc.stdout if proc else "")
    if proc is None:
        return ToolResult(MLWARDEN, target, False, seconds, error)
    try:
        report = json.loads(text)
    except ValueError:
        tail = [line for line in (proc.stderr or proc.stdout).strip().splitlines() if line.strip()]
        return ToolResult(MLWARDEN, target, False, seconds, f"exit {proc.returncode}: {tail[-1][:200] if tail else ''}",
                          proc.returncode)
    findings = report.get("findings", [])
    blocking = [f for f in findings if f.get("severity") in _BLOCKING]
    detail = sorted({f"{f['severity']} {f['rule_id']}" + (f" ({f['evidence']})" if f.get("evidence") else "")
                     for f in findings if f.get("severity") in (*_BLOCKING, "medium")})[:8]
    result = ToolResult(MLWARDEN, target, proc.returncode == 1 or bool(blocking), seconds,
                        exit_code=proc.returncode, detail=detail,
                        flagged_files=len({f["location"]["path"] for f in blocking}),
                        coverage=_mlwarden_coverage(report.get("summary", {})))
    if proc.returncode not in (0, 1):
        result.error = f"exit {proc.returncode}"
    elif any(f.get("rule_id") == "MW-SCAN-002" for f in findings):
        result.error = "scanner failed (MW-SCAN-002, fail-closed)"
    return result


def _mlwarden_coverage(summary: dict[str, Any]) -> str | None:
    """What mlwarden covered, from its report summary (files_seen counts the files it skipped as well: ones of
    no model format, such as a README, are listed but not parsed)."""
    if "files_scanned" not in summary:
        return None
    return f"{summary['files_scanned']} of {summary.get('files_seen', '?')} files scanned"


def run_mlwarden_report_file(path: str | os.PathLike[str],
                             timeout: float = competitors.DEFAULT_TIMEOUT_S) -> ToolResult:
    return run_mlwarden(path, timeout, report_file=True)


def mlwarden_version() -> str:
    proc, _, error = run_timed([*mlwarden_command(), "--version"], 60)
    if proc is None or proc.returncode != 0:
        return f"unknown ({error or (proc.stderr.strip() if proc else '')})"
    return proc.stdout.strip().split()[-1]


def runners() -> dict[str, Runner]:
    return {MLWARDEN: run_mlwarden, **competitors.competitor_runners()}


# --- runs ---------------------------------------------------------------------------------------------------

def detection_run(manifest: dict[str, Any], corpus_dir: Path, tools: Sequence[str], workers: int,
                  timeout: float) -> list[dict[str, Any]]:
    """Every tool on every sample. Subprocesses run ``workers`` at a time (detection only; not timed)."""
    table = runners()
    jobs = [(entry, tool) for entry in manifest["samples"] for tool in tools]

    def one(job: tuple[dict[str, Any], str]) -> dict[str, Any]:
        entry, tool = job
        result = table[tool](corpus_dir / entry["path"], timeout)
        return {"sample": entry["id"], **result.to_dict()}

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, jobs))


def _median_runs(tools: Sequence[str], target: Path, runs: int, timeout: float,
                 table: dict[str, Runner] | None = None) -> dict[str, dict[str, Any]]:
    """Time each tool on ``target``, ``runs`` times, interleaved (tool A, B, C, A, B, C...) so that drift in
    machine load hits every tool alike. One run at a time: nothing else runs in parallel."""
    table = table or runners()
    samples: dict[str, list[ToolResult]] = {tool: [] for tool in tools}
    for _ in range(runs):
        for tool in tools:
            samples[tool].append(table[tool](target, timeout))
    out: dict[str, dict[str, Any]] = {}
    for tool, results in samples.items():
        ok = [r.seconds for r in results if r.error is None or not r.error.startswith("timeout")]
        out[tool] = {"median_s": round(statistics.median(ok), 3) if ok else None,
                     "runs_s": [round(r.seconds, 3) for r in results],
                     "detected": results[-1].detected, "error": results[-1].error, "detail": results[-1].detail,
                     "exit_code": results[-1].exit_code, "flagged_files": results[-1].flagged_files,
                     "coverage": results[-1].coverage}
    base = out.get(MLWARDEN, {}).get("median_s")
    for entry in out.values():
        entry["ratio_vs_mlwarden"] = (round(entry["median_s"] / base, 2)
                                      if base and entry["median_s"] is not None else None)
    return out


def _warm_page_cache(path: Path) -> None:
    """Read the file once so that every timed run finds it in the page cache (no first-run disk penalty)."""
    with open(path, "rb") as stream:
        while stream.read(64 * 1024 * 1024):
            pass


# Runs a command and prints how many bytes it and its reaped descendants read through read()-family system
# calls: Linux adds a reaped child's I/O counters to its parent's (kernel/exit.c, wait_task_zombie), and
# /proc/self/io shows them. Memory-mapped reads are not counted, and neither is anything the page cache
# saved: it is bytes requested, the work a scanner asks for, not disk traffic.
_READ_BYTES_WRAPPER = r'''
import subprocess, sys
def rchar():
    with open("/proc/self/io") as io:
        return int(next(line for line in io if line.startswith("rchar")).split()[1])
before = rchar()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
print(rchar() - before, code)
'''


def bytes_read(cmd: Sequence[str], timeout: float) -> int | None:
    """Bytes ``cmd`` read (see _READ_BYTES_WRAPPER), imports of its own modules included; None where
    /proc/self/io is missing (not Linux) or the command timed out."""
    if not os.path.exists("/proc/self/io"):
        return None
    proc, _, error = run_timed([sys.executable, "-c", _READ_BYTES_WRAPPER, *cmd], timeout)
    if proc is None or error or proc.returncode != 0:
        return None
    try:
        return int(proc.stdout.split()[0])
    except (ValueError, IndexError):
        return None


def _mixed_commands(target: Path) -> dict[str, list[str]]:
    """The commands of the mixed-folder section, as the timed runners run them (for the bytes-read pass)."""
    venv_bin = competitors.venv_python().parent
    report = str(WORK_DIR / "bytes-read-report.json")  # a real file: mlwarden writes reports atomically
    return {MLWARDEN: [*mlwarden_command(), "scan", str(target), "-f", "json", "-o", report, "--no-progress"],
            "picklescan": [str(venv_bin / "picklescan"), "-p", str(target)],
            "modelscan": [str(venv_bin / "modelscan"), "-p", str(target), "-r", "json", "-o", report]}


def mixed_folder_timings(tools: Sequence[str], manifest: dict[str, Any], runs: int,
                         timeout: float) -> dict[str, Any]:
    """mlwarden (``-f json -o FILE``), picklescan and modelscan on the realistic mixed folder: the folder is
    read once into the page cache, each tool runs once untimed (its own imports cached too), then the
    median of ``runs`` interleaved runs. Also the bytes each tool read, in one more untimed run."""
    target = Path(manifest["path"])
    mixed_tools = [t for t in (MLWARDEN, "picklescan", "modelscan") if t in tools]
    table = {**runners(), MLWARDEN: run_mlwarden_report_file}
    for path in sorted(p for p in target.rglob("*") if p.is_file()):
        _warm_page_cache(path)
    _median_runs(mixed_tools, target, 1, timeout, table)  # warm-up, discarded
    timings = _median_runs(mixed_tools, target, runs, timeout, table)
    commands = _mixed_commands(target)
    for tool in mixed_tools:
        timings[tool]["bytes_read"] = bytes_read(commands[tool], timeout)
    Path(WORK_DIR / "bytes-read-report.json").unlink(missing_ok=True)
    return {"path": str(target), "files": manifest["files"], "bytes": manifest["bytes"], "runs": runs,
            "build_seconds": manifest.get("build_seconds"), "timings": timings}


def startup_times(tools: Sequence[str], runs: int, timeout: float) -> dict[str, float | None]:
    """Each tool on a 40-byte benign pickle: what process start-up and imports cost before any scanning."""
    tiny = WORK_DIR / "tiny" / "tiny.pkl"
    tiny.parent.mkdir(parents=True, exist_ok=True)
    tiny.write_bytes(b"\x80\x04\x95\x0a\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94K\x01s.")
    timed = _median_runs(tools, tiny, runs, timeout)
    return {tool: timed[tool]["median_s"] for tool in tools}


# --- summaries ----------------------------------------------------------------------------------------------

def summarize(manifest: dict[str, Any], results: list[dict[str, Any]], tools: Sequence[str]) -> dict[str, Any]:
    label_of = {e["id"]: e["label"] for e in manifest["samples"]}
    format_of = {e["id"]: e["format"] for e in manifest["samples"]}
    n_mal = sum(1 for e in manifest["samples"] if e["label"] == corpus.MALICIOUS)
    n_ben = len(manifest["samples"]) - n_mal
    per_tool: dict[str, Any] = {}
    per_format: dict[str, dict[str, Any]] = {}
    for tool in tools:
        rows = [r for r in results if r["tool"] == tool]
        caught = [r for r in rows if label_of[r["sample"]] == corpus.MALICIOUS and r["detected"]]
        flagged = [r for r in rows if label_of[r["sample"]] == corpus.BENIGN and r["detected"]]
        per_tool[tool] = {
            "malicious_caught": len(caught), "malicious_total": n_mal,
            "benign_flagged": len(flagged), "benign_total": n_ben,
            "errors": len([r for r in rows if r["error"]]),
            "tool_seconds": round(sum(r["seconds"] for r in rows), 1),
            "missed": sorted(r["sample"] for r in rows
                             if label_of[r["sample"]] == corpus.MALICIOUS and not r["detected"]),
            "false_alarms": sorted(r["sample"] for r in flagged),
            "error_samples": sorted(f"{r['sample']}: {r['error']}" for r in rows if r["error"]),
        }
        for fmt in manifest["formats"]:
            fmt_rows = [r for r in rows if format_of[r["sample"]] == fmt]
            per_format.setdefault(fmt, {})[tool] = {
                "caught": sum(1 for r in fmt_rows if label_of[r["sample"]] == corpus.MALICIOUS and r["detected"]),
                "malicious": sum(1 for r in fmt_rows if label_of[r["sample"]] == corpus.MALICIOUS),
                "flagged": sum(1 for r in fmt_rows if label_of[r["sample"]] == corpus.BENIGN and r["detected"]),
                "benign": sum(1 for r in fmt_rows if label_of[r["sample"]] == corpus.BENIGN),
            }
    return {"per_tool": per_tool, "per_format": per_format}


def _fmt_s(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} s"


def _fmt_ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def _mlwarden_notes(data: dict[str, Any]) -> list[str]:
    """What the pass/fail counts hide: catches by another rule than expected, and medium findings on benign
    samples (below the default gate, so not false alarms, but noise a user sees)."""
    if MLWARDEN not in data["tools"]:
        return []
    entries = {e["id"]: e for e in data["corpus"]["samples"]}
    other_rule, noise = [], []
    for row in data["results"]:
        if row["tool"] != MLWARDEN:
            continue
        entry = entries[row["sample"]]
        reported = " ".join(row["detail"])
        if entry["label"] == corpus.MALICIOUS and row["detected"] and entry["expected_rule"] \
                and entry["expected_rule"] not in reported:
            other_rule.append(f"- `{row['sample']}`: expected {entry['expected_rule']}, got {'; '.join(row['detail'][:3])}")
        if entry["label"] == corpus.BENIGN and not row["detected"] and row["detail"]:
            noise.append(f"- `{row['sample']}`: {'; '.join(row['detail'][:4])}")
    lines = ["### mlwarden: caught by another rule than expected", ""] + (other_rule or ["none"]) + [""]
    lines += ["### mlwarden: medium findings on benign samples (below the default gate)", ""] + (noise or ["none"])
    return [*lines, ""]


def render_markdown(data: dict[str, Any]) -> str:
    tools: list[str] = data["tools"]
    summary = data["summary"]
    manifest_counts = data["corpus"]["counts"]
    lines = [
        "# mlwarden vs modelscan, picklescan, fickling",
        "",
        f"- date: {data['date']}; machine: {data['machine']['cpus']} CPU cores ({data['machine']['cpu']}), "
        f"{data['machine']['memory_gib']} GiB RAM, {data['machine']['platform']}",
        f"- versions: mlwarden {data['versions'].get(MLWARDEN)}, "
        + ", ".join(f"{k} {v}" for k, v in data["versions"].items() if k != MLWARDEN),
        f"- corpus: {manifest_counts['malicious']} malicious + {manifest_counts['benign']} benign samples in "
        f"{len(data['corpus']['formats'])} formats; command: `python benchmarks/run_comparison.py`",
        "",
        "## Detection",
        "",
        "| tool | malicious caught | benign flagged (false alarms) | errors (crash/timeout) |",
        "|---|---|---|---|",
    ]
    for tool in tools:
        row = summary["per_tool"][tool]
        lines.append(f"| {tool} | {row['malicious_caught']}/{row['malicious_total']} "
                     f"({100 * row['malicious_caught'] / max(row['malicious_total'], 1):.0f}%) | "
                     f"{row['benign_flagged']}/{row['benign_total']} | {row['errors']} |")
    lines += ["", "## Per format (malicious caught / total · benign flagged / total)", "",
              "| format | " + " | ".join(tools) + " |", "|---|" + "---|" * len(tools)]
    for fmt, cells in summary["per_format"].items():
        lines.append(f"| {fmt} | " + " | ".join(
            f"{c['caught']}/{c['malicious']} · {c['flagged']}/{c['benign']}" for c in (cells[t] for t in tools))
            + " |")
    lines += ["", "## Misses, false alarms and errors", ""]
    by_key = {(r["tool"], r["sample"]): r for r in data["results"]}
    expected = {e["id"]: e.get("expected_rule") for e in data["corpus"]["samples"]}
    for tool in tools:
        row = summary["per_tool"][tool]
        lines.append(f"### {tool}")
        lines.append("")
        if not (row["missed"] or row["false_alarms"] or row["error_samples"]):
            lines += ["none", ""]
            continue
        for sample in row["missed"]:
            got = by_key[(tool, sample)]
            note = "; ".join(got["detail"][:3]) or "nothing reported"
            exp = f" (expected {expected[sample]})" if tool == MLWARDEN and expected.get(sample) else ""
            lines.append(f"- missed `{sample}`{exp}: {note}")
        for sample in row["false_alarms"]:
            lines.append(f"- false alarm `{sample}`: {'; '.join(by_key[(tool, sample)]['detail'][:3])}")
        for err in row["error_samples"]:
            lines.append(f"- error `{err}`")
        lines.append("")
    lines += _mlwarden_notes(data)
    if data.get("large"):
        large = data["large"]
        lines += [f"## Scan time: benign PyTorch checkpoint of {large['size_gib']:.2f} GiB (median of "
                  f"{large['runs']} runs)", "",
                  "Ratio = tool time / mlwarden time: above 1 the tool is slower than mlwarden, below 1 faster.", "",
                  "| tool | median wall time | ratio vs mlwarden | start-up alone (tiny file) | verdict |",
                  "|---|---|---|---|---|"]
        for tool, row in large["timings"].items():
            verdict = "error: " + row["error"] if row["error"] else ("FLAGGED" if row["detected"] else "clean")
            lines.append(f"| {tool} | {_fmt_s(row['median_s'])} | {_fmt_ratio(row['ratio_vs_mlwarden'])} | "
                         f"{_fmt_s(data['startup'].get(tool))} | {verdict} |")
        lines.append("")
    if data.get("folder"):
        folder = data["folder"]
        lines += [f"## Folder scan of the whole corpus ({folder['files']} files, median of {folder['runs']} runs)",
                  "", "Ratio = tool time / mlwarden time.", "",
                  "| tool | command | median wall time | ratio vs mlwarden | files flagged |", "|---|---|---|---|---|"]
        commands = {MLWARDEN: "mlwarden scan DIR", "modelscan": "modelscan -p DIR",
                    "picklescan": "picklescan -p DIR", "picklescan-strict": "picklescan -p DIR --strict"}
        for tool, row in folder["timings"].items():
            lines.append(f"| {tool} | `{commands.get(tool, tool)}` | {_fmt_s(row['median_s'])} | "
                         f"{_fmt_ratio(row['ratio_vs_mlwarden'])} | "
                         f"{'n/a' if row['flagged_files'] is None else row['flagged_files']} |")
        lines.append("")
        lines.append("Files flagged: distinct files with a high/critical finding (mlwarden), with an issue (modelscan),"
                     " or counted as infected (picklescan).")
        lines.append("")
        lines.append("fickling has no folder mode (its CLI takes one pickle), so it is not in this table.")
        lines.append("")
    if data.get("mixed"):
        lines += _render_mixed(data["mixed"])
    lines.append(f"Total benchmark wall time: {data['wall_seconds']:.0f} s "
                 f"(setup {data['setup_seconds']:.0f} s).")
    return "\n".join(lines) + "\n"


def _fmt_bytes(value: int | None) -> str:
    return "n/a" if value is None else f"{value / 1024 ** 2:,.0f} MiB"


def _render_mixed(mixed: dict[str, Any]) -> list[str]:
    lines = [f"## Folder scan: realistic mixed model folder ({mixed['files']} files, "
             f"{mixed['bytes'] / 1024 ** 3:.2f} GiB, median of {mixed['runs']} runs)", "",
             "PyTorch zip and legacy checkpoints, scikit-learn-style pickles, joblib (plain and zlib), .npy/.npz, "
             "safetensors, GGUF, ONNX, Keras H5, a Hugging Face folder and the detection corpus "
             "(`benchmarks/mixed_folder.py`). Page cache warm, one untimed run per tool first. "
             "Ratio = tool time / mlwarden time. Bytes read: read()-family system calls of the tool and its "
             "child processes, imports included.", "",
             "| tool | command | median wall time | ratio vs mlwarden | bytes read | what it covered | "
             "files flagged |", "|---|---|---|---|---|---|---|"]
    commands = {MLWARDEN: "mlwarden scan DIR -f json -o FILE", "picklescan": "picklescan -p DIR",
                "modelscan": "modelscan -p DIR -r json -o FILE"}
    for tool, row in mixed["timings"].items():
        wall = _fmt_s(row["median_s"]) if row["median_s"] is not None else "timeout"
        if row["error"] and row["error"].startswith("timeout"):
            wall = row["error"]
        lines.append(f"| {tool} | `{commands.get(tool, tool)}` | {wall} | {_fmt_ratio(row['ratio_vs_mlwarden'])} | "
                     f"{_fmt_bytes(row.get('bytes_read'))} | {row.get('coverage') or 'n/a'} | "
                     f"{'n/a' if row['flagged_files'] is None else row['flagged_files']} |")
    return [*lines, ""]


# --- main ---------------------------------------------------------------------------------------------------

def _machine() -> dict[str, Any]:
    memory = 0.0
    try:
        with open("/proc/meminfo") as meminfo:
            memory = int(meminfo.readline().split()[1]) / 1024 / 1024
    except (OSError, ValueError, IndexError):
        pass
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "memory_gib": round(memory, 1), "cpu": cpu,
            "platform": f"{platform.system()} {platform.release()}", "python": platform.python_version()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Compare mlwarden with modelscan, picklescan and fickling.")
    parser.add_argument("--quick", action="store_true", help="detection only: skip the checkpoint and folder timing")
    parser.add_argument("--skip-mixed", action="store_true",
                        help="skip the folder scan of the realistic 2.6 GiB mixed model folder")
    parser.add_argument("--workers", type=int, default=2, help="parallel tool runs in the detection pass")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per tool (median)")
    parser.add_argument("--timeout", type=float, default=competitors.DEFAULT_TIMEOUT_S, help="seconds per tool run")
    parser.add_argument("--tools", default=",".join(TOOLS), help="comma-separated subset of: " + ", ".join(TOOLS))
    parser.add_argument("--rebuild", action="store_true", help="rebuild the corpus and reinstall the competitors")
    args = parser.parse_args(argv)
    tools = [t for t in args.tools.split(",") if t]
    unknown = set(tools) - set(TOOLS)
    if unknown:
        parser.error(f"unknown tools: {', '.join(sorted(unknown))}")

    started = time.perf_counter()
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    log = sys.stderr
    print("building corpus ...", file=log)
    manifest = corpus.build_corpus(force=args.rebuild)
    corpus_dir = corpus.DEFAULT_OUT
    large_path = None
    if not args.quick:
        print("building the 2 GiB checkpoint (cached) ...", file=log)
        large_path = large_checkpoint.ensure_large_checkpoint()
    mixed_manifest = None
    if not args.quick and not args.skip_mixed:
        print("building the mixed model folder (cached) ...", file=log)
        mixed_manifest = mixed_folder.ensure_mixed_folder()
    print("setting up competitors' venv (cached) ...", file=log)
    versions = {MLWARDEN: mlwarden_version(), **competitors.ensure_competitors(force=args.rebuild)}
    setup_seconds = time.perf_counter() - started

    print(f"detection pass: {len(manifest['samples'])} samples x {len(tools)} tools ...", file=log)
    results = detection_run(manifest, corpus_dir, tools, args.workers, args.timeout)
    data: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "machine": _machine(), "versions": versions,
        "tools": tools, "corpus": {"counts": manifest["counts"], "formats": manifest["formats"],
                                   "samples": manifest["samples"]},
        "results": results, "summary": summarize(manifest, results, tools),
    }
    if large_path is not None:
        print("timing the 2 GiB checkpoint ...", file=log)
        _warm_page_cache(large_path)
        data["startup"] = startup_times(tools, args.runs, args.timeout)
        data["large"] = {"path": str(large_path), "size_gib": large_path.stat().st_size / 1024 ** 3,
                         "runs": args.runs, "timings": _median_runs(tools, large_path, args.runs, args.timeout)}
        print("timing the folder scan ...", file=log)
        folder_tools = [t for t in tools if t == MLWARDEN or t in competitors.FOLDER_CAPABLE]
        files = sum(len(names) for _, _, names in os.walk(corpus_dir))
        data["folder"] = {"path": str(corpus_dir), "files": files, "runs": args.runs,
                          "timings": _median_runs(folder_tools, corpus_dir, args.runs, args.timeout)}
    if mixed_manifest is not None:
        print("timing the mixed model folder ...", file=log)
        data["mixed"] = mixed_folder_timings(tools, mixed_manifest, args.runs, args.timeout)
    data["setup_seconds"] = round(setup_seconds, 1)
    data["wall_seconds"] = round(time.perf_counter() - started, 1)
    markdown = render_markdown(data)
    RESULTS_JSON.write_text(json.dumps(data, indent=2) + "\n")
    RESULTS_MD.write_text(markdown)
    sys.stdout.write(markdown)
    print(f"results: {RESULTS_JSON} and {RESULTS_MD}", file=log)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except subprocess.CalledProcessError as exc:
        sys.exit(f"run_comparison: setup command failed: {exc}")
