"""Compare mlwarden's code and secret scan with Bandit and detect-secrets, and time the dependency audit.

    python benchmarks/supply_comparison.py            # corpus: the transformers sources (pinned below)
    python benchmarks/supply_comparison.py --corpus PATH

Part 1 runs the three tools on the same real codebase (the Python sources of a pinned `transformers` release,
installed with --no-deps into benchmarks/.work/venv-supply next to Bandit and detect-secrets) and prints wall
time (median of 3) and finding counts per tool: mlwarden with `--only code --only secrets`, Bandit with its
default profile (`-r`, all severities) and at medium+ severity/confidence, detect-secrets with its default
plugins and --all-files. A large count on a library's own sources is mostly false alarms: library code calls `eval`,
`subprocess` and `pickle` on purpose and holds no credentials.

Part 2 builds an advisory database from the PyPA snapshot in ../shared/advisories (when present) and audits a
300-package pinned requirements file (the first 300 package names of the snapshot, each at the oldest version
any advisory names, so most of them are vulnerable): median of 5 runs of the in-process audit, plus one full
`mlwarden scan --only deps` for the end-to-end time with process start-up.

Nothing here imports a scanned file; the competitors run as subprocesses in their own virtual environment.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
WORK_DIR = BENCH_DIR / ".work"
VENV = WORK_DIR / "venv-supply"
SHARED = BENCH_DIR.parent.parent / "shared"
REQUIREMENTS = ("bandit==1.9.4", "detect-secrets==1.5.0")
CORPUS_PACKAGE = "transformers==4.46.3"


def _bin(name: str) -> Path:
    return VENV / ("Scripts" if os.name == "nt" else "bin") / name


def setup() -> Path:
    """Create the competitors' venv and the corpus; return the corpus folder."""
    if not _bin("bandit").exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(_bin("python")), "-m", "pip", "install", "-q", *REQUIREMENTS], check=True)
    site = next(VENV.glob("lib/python*/site-packages"), None) or VENV / "Lib" / "site-packages"
    corpus = site / "transformers"
    if not corpus.is_dir():
        subprocess.run([str(_bin("python")), "-m", "pip", "install", "-q", "--no-deps", CORPUS_PACKAGE], check=True)
    return corpus


def _timed(command: list[str], runs: int) -> tuple[float, subprocess.CompletedProcess[str]]:
    times = []
    proc: subprocess.CompletedProcess[str] | None = None
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - start)
    assert proc is not None
    return statistics.median(times), proc


def code_comparison(corpus: Path, runs: int) -> dict[str, Any]:
    files = sum(1 for _ in corpus.rglob("*.py"))
    out: dict[str, Any] = {"corpus": str(corpus.name), "python_files": files}
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "mlwarden.json"
        seconds, _ = _timed([sys.executable, "-m", "mlwarden", "scan", str(corpus), "--only", "code", "--only",
                             "secrets", "--format", "json", "--output", str(report), "--no-progress"], runs)
        doc = json.loads(report.read_text())
        counts: dict[str, int] = {}
        for finding in doc["findings"]:
            counts[finding["severity"]] = counts.get(finding["severity"], 0) + 1
        by_rule: dict[str, int] = {}
        for finding in doc["findings"]:
            by_rule[finding["rule_id"]] = by_rule.get(finding["rule_id"], 0) + 1
        out["mlwarden"] = {"seconds": round(seconds, 2), "findings": len(doc["findings"]),
                           "medium_or_worse": sum(counts.get(s, 0) for s in ("critical", "high", "medium")),
                           "by_severity": counts, "by_rule": dict(sorted(by_rule.items()))}
    seconds, proc = _timed([str(_bin("bandit")), "-r", str(corpus), "-f", "json", "-q"], runs)
    bandit = json.loads(proc.stdout or "{}").get("results", [])
    medium = [r for r in bandit if r["issue_severity"] in ("MEDIUM", "HIGH")
              and r["issue_confidence"] in ("MEDIUM", "HIGH")]
    out["bandit"] = {"seconds": round(seconds, 2), "findings": len(bandit), "medium_or_worse": len(medium)}
    # --all-files: without it detect-secrets only reads files git tracks, and the corpus is no git checkout.
    seconds, proc = _timed([str(_bin("detect-secrets")), "scan", "--all-files", str(corpus)], runs)
    secrets = json.loads(proc.stdout or "{}").get("results", {})
    out["detect-secrets"] = {"seconds": round(seconds, 2),
                             "findings": sum(len(v) for v in secrets.values())}
    out["speedup_vs_bandit"] = round(out["bandit"]["seconds"] / out["mlwarden"]["seconds"], 2)
    return out


def dependency_audit(runs: int) -> dict[str, Any] | None:
    snapshot = SHARED / "advisories" / "pypi-osv.jsonl.gz"
    if not snapshot.is_file():
        return None
    from mlwarden.supply.advisories.importer import import_path
    from mlwarden.supply.advisories.store import AdvisoryStore
    from mlwarden.supply.deps.audit import audit
    from mlwarden.supply.deps.sources import parse_source

    pins: dict[str, str] = {}
    with gzip.open(snapshot, "rt", encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            for affected in record.get("affected", []):
                name = affected.get("package", {}).get("name", "")
                versions = affected.get("versions") or []
                if name and versions and name not in pins:
                    pins[name] = versions[0]
            if len(pins) >= 300:
                break
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "advisories.sqlite3"
        start = time.perf_counter()
        meta = import_path(snapshot, dest=db)
        build_seconds = time.perf_counter() - start
        project = Path(tmp) / "project"
        project.mkdir()
        text = "".join(f"{name}=={version}\n" for name, version in pins.items())
        (project / "requirements.txt").write_text(text)
        deps = parse_source("requirements", text, path="requirements.txt").dependencies
        times = []
        result = None
        for _ in range(runs):
            start = time.perf_counter()
            store = AdvisoryStore.open(db)
            result = audit(deps, store)
            store.close()
            times.append(time.perf_counter() - start)
        assert result is not None
        env = {**os.environ, "MLWARDEN_HOME": tmp}
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "mlwarden", "scan", str(project), "--only", "deps", "--db", str(db),
                        "--format", "json", "--output", str(Path(tmp) / "deps.json"), "--no-progress"],
                       env=env, capture_output=True, check=False)
        cli_seconds = time.perf_counter() - start
    return {"records": meta.record_count, "build_seconds": round(build_seconds, 2), "packages": len(deps),
            "audit_seconds_median": round(statistics.median(times), 3), "vulnerable_packages": result.vulnerable,
            "findings": len(result.findings), "cli_seconds": round(cli_seconds, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, help="folder of Python sources (default: transformers)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    corpus = args.corpus or setup()
    if args.corpus:
        setup()
    results = {"code": code_comparison(corpus, args.runs), "dependencies": dependency_audit(max(args.runs, 5))}
    WORK_DIR.mkdir(exist_ok=True)
    (WORK_DIR / "supply-results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
