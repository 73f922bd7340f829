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
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import competitors
import corpus
import large_checkpoint
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


def run_mlwarden(path: str | os.PathLike[str], timeout: float = competitors.DEFAULT_TIMEOUT_S) -> ToolResult:
    """``mlwarden scan PATH --format json``: detected = exit 1 (default gate, --fail-on high) or any finding
    of severity high/critical. Output that is not a JSON report (a crash) is an error."""
    target = os.path.abspath(path)
    proc, seconds, error = run_timed([*mlwarden_command(), "scan", target, "--format", "json", "--no-progress"],
                                     timeout)
    if proc is None:
        return ToolResult(MLWARDEN, target, False, seconds, error)
    try:
        report = json.loads(proc.stdout)
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
                        flagged_files=len({f["location"]["path"] for f in blocking}))
    if proc.returncode not in (0, 1):
        result.error = f"exit {proc.returncode}"
    elif any(f.get("rule_id") == "MW-SCAN-002" for f in findings):
        result.error = "scanner failed (MW-SCAN-002, fail-closed)"
    return result


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


def _median_runs(tools: Sequence[str], target: Path, runs: int, timeout: float) -> dict[str, dict[str, Any]]:
    """Time each tool on ``target``, ``runs`` times, interleaved (tool A, B, C, A, B, C...) so that drift in
    machine load hits every tool alike. One run at a time: nothing else runs in parallel."""
    table = runners()
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
                     "exit_code": results[-1].exit_code, "flagged_files": results[-1].flagged_files}
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


def startup_times(tools: Sequence[str], runs: int, timeout: float) -> dict[str, float | None]:
    """Each tool on a 40-byte benign pickle: what process start-up and imports cost before any scanning."""
    tiny = WORK_DIR / "tiny" / "tiny.pkl"
    tiny.parent.mkdir(parents=True, exist_ok=True)
    tiny.write_bytes(b"\x80\x04\x95\x0b\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94K\x01s.")
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
    lines.append(f"Total benchmark wall time: {data['wall_seconds']:.0f} s "
                 f"(setup {data['setup_seconds']:.0f} s).")
    return "\n".join(lines) + "\n"


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
