"""Personal-data benchmark: mlwarden's text analyzer and table scanner, accuracy and throughput, vs Presidio and
DataFog where they install.

Text: the seeded multilingual corpus of ``pii_corpus.py`` (gold spans plus hard negatives). A predicted hit is
a true positive when its entity equals a gold entity and the spans overlap (each gold span counts once);
per-entity and micro precision/recall/F1, and the share of hard-negative sentences with any hit.
Tables: a 100,000-row x 30-column CSV scanned with ``scan_pii_file`` (median of 3 -> rows/s), flagged columns
vs expected; a 1,000,000-row version timed once.
Competitors run in their own venv (benchmarks/.work/venv-pii) through a driver script, never imported here;
their labels are mapped to mlwarden's and labels with no counterpart are dropped. What cannot run is reported
as "not available offline: <reason>", never as numbers.

Run: ``.venv/bin/python benchmarks/pii_benchmark.py [--skip-million] [--skip-competitors]``.
Writes benchmarks/.work/pii/results.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(BENCH_DIR.parent / "src"))

from pii_corpus import Sentence, expected_columns, text_corpus, write_table  # noqa: E402

from mlwarden.privacy.files import scan_pii_file  # noqa: E402
from mlwarden.privacy.text import analyze_text  # noqa: E402

WORK = BENCH_DIR / ".work" / "pii"
VENV = BENCH_DIR / ".work" / "venv-pii"
COMPETITOR_PACKAGES = ("presidio-analyzer", "datafog")
Prediction = list[tuple[str, int, int]]

# Competitor labels -> mlwarden's; anything else is dropped (URL, NRP, DATE without a birth context ...).
# Presidio's DATE_TIME and DataFog's DATE are "any date": mapped to DATE_OF_BIRTH, so ordinary dates count
# against them exactly as they would against mlwarden.
PRESIDIO_LABELS = {"PERSON": "PERSON", "EMAIL_ADDRESS": "EMAIL", "PHONE_NUMBER": "PHONE",
                   "CREDIT_CARD": "CREDIT_CARD", "IBAN_CODE": "IBAN", "US_SSN": "US_SSN",
                   "IP_ADDRESS": "IP_ADDRESS", "DATE_TIME": "DATE_OF_BIRTH", "LOCATION": "STREET_ADDRESS",
                   "MEDICAL_LICENSE": "LICENSE_NUMBER", "US_DRIVER_LICENSE": "LICENSE_NUMBER",
                   "US_BANK_NUMBER": "ACCOUNT_NUMBER", "UK_NHS": "MEDICAL_RECORD_NUMBER"}
DATAFOG_LABELS = {"EMAIL": "EMAIL", "PHONE": "PHONE", "SSN": "US_SSN", "CREDIT_CARD": "CREDIT_CARD",
                  "IP_ADDRESS": "IP_ADDRESS", "DATE": "DATE_OF_BIRTH", "PERSON": "PERSON"}

# Runs under the competitors' Python: reads sentences (JSON list of strings), writes
# {"predictions": [[[label, start, end], ...], ...], "seconds": s} or {"error": "..."}.
DRIVER = r'''
import json, sys, time
tool, src, dst, blank = sys.argv[1:5]
texts = json.load(open(src, encoding="utf-8"))
out = {}
try:
    if tool == "presidio":
        from presidio_analyzer import AnalyzerEngine
        from presidio_analyzer.nlp_engine import NlpEngineProvider
        model = "en_core_web_lg"
        try:
            import spacy
            spacy.load(model)
            out["note"] = "spaCy en_core_web_lg (NER on)"
        except Exception as error:
            model = blank
            out["note"] = ("rules only: spaCy model en_core_web_lg not available offline (" + type(error).__name__
                           + "); a blank English pipeline instead, so no NER (PERSON, LOCATION)")
        provider = NlpEngineProvider(nlp_configuration={"nlp_engine_name": "spacy",
                                                        "models": [{"lang_code": "en", "model_name": model}]})
        engine = AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"])
        run = lambda t: [(r.entity_type, r.start, r.end) for r in engine.analyze(t, language="en")]
    else:
        import datafog
        run = lambda t: [(e.type, e.start, e.end) for e in datafog.scan(t).entities]
    run(texts[0])
    start = time.perf_counter()
    out["predictions"] = [run(t) for t in texts]
    out["seconds"] = time.perf_counter() - start
except Exception as error:
    out = {"error": type(error).__name__ + ": " + str(error)[:300]}
json.dump(out, open(dst, "w", encoding="utf-8"))
'''


# --- scoring -----------------------------------------------------------------------------------------------------
def score(sentences: list[Sentence], predictions: list[Prediction], entities: set[str] | None = None) -> dict[str, Any]:
    """Per-entity and micro P/R/F1 (entity equal, spans overlapping, each gold once) and the hard-negative rate.
    ``entities`` limits scoring to labels a tool can produce (None: all)."""
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    negatives = flagged = 0
    flagged_by_kind: Counter[str] = Counter()
    total_by_kind: Counter[str] = Counter()
    for sentence, predicted in zip(sentences, predictions, strict=True):
        gold = [g for g in sentence.gold if entities is None or g[0] in entities]
        if sentence.negative_kind is not None:
            negatives += 1
            total_by_kind[sentence.negative_kind] += 1
            if predicted:
                flagged += 1
                flagged_by_kind[sentence.negative_kind] += 1
        used: set[int] = set()
        for label, start, end in predicted:
            match = next((i for i, (g_label, g_start, g_end) in enumerate(gold)
                          if i not in used and g_label == label and start < g_end and g_start < end), None)
            if match is None:
                fp[label] += 1
            else:
                used.add(match)
                tp[label] += 1
        for i, (label, _, _) in enumerate(gold):
            if i not in used:
                fn[label] += 1

    def prf(t: int, p: int, n: int) -> dict[str, float | int]:
        precision = t / (t + p) if t + p else 0.0
        recall = t / (t + n) if t + n else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3),
                "tp": t, "fp": p, "fn": n}

    labels = sorted(set(tp) | set(fp) | set(fn))
    return {
        "micro": prf(sum(tp.values()), sum(fp.values()), sum(fn.values())),
        "per_entity": {label: prf(tp[label], fp[label], fn[label]) for label in labels},
        "hard_negatives": {"sentences": negatives, "flagged": flagged,
                           "flagged_share": round(flagged / negatives, 3) if negatives else 0.0,
                           "by_kind": {k: f"{flagged_by_kind[k]}/{n}" for k, n in sorted(total_by_kind.items())}},
    }


def run_mlwarden_text(sentences: list[Sentence]) -> tuple[list[Prediction], float]:
    analyze_text(sentences[0].text)  # loads the recognizers and name lists outside the timing
    start = time.perf_counter()
    predictions = [[(h.entity, h.start, h.end) for h in analyze_text(s.text)] for s in sentences]
    return predictions, time.perf_counter() - start


# --- competitors ---------------------------------------------------------------------------------------------------
def _venv_python() -> Path:
    return VENV / "bin" / "python"


def ensure_competitors() -> str | None:
    """Create the venv and install the competitors; the reason as text when that fails."""
    python = _venv_python()
    try:
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, capture_output=True, timeout=300)
        check = subprocess.run([str(python), "-c", "import presidio_analyzer, datafog"], capture_output=True)
        if check.returncode != 0:
            subprocess.run([str(python), "-m", "pip", "install", "-q", *COMPETITOR_PACKAGES], check=True,
                           capture_output=True, timeout=900)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as error:
        return f"install failed ({type(error).__name__})"
    return None


def competitor_versions() -> dict[str, str]:
    code = ("import importlib.metadata as m, json; print(json.dumps({p: m.version(p) for p in "
            "('presidio-analyzer', 'datafog', 'spacy')}))")
    done = subprocess.run([str(_venv_python()), "-c", code], capture_output=True, text=True)
    return json.loads(done.stdout) if done.returncode == 0 else {}


def run_competitor(tool: str, sentences: list[Sentence]) -> dict[str, Any]:
    labels = PRESIDIO_LABELS if tool == "presidio" else DATAFOG_LABELS
    with tempfile.TemporaryDirectory() as tmp:
        src, dst, driver = Path(tmp) / "in.json", Path(tmp) / "out.json", Path(tmp) / "driver.py"
        blank = Path(tmp) / "blank_en"
        src.write_text(json.dumps([s.text for s in sentences]), encoding="utf-8")
        driver.write_text(DRIVER, encoding="utf-8")
        if tool == "presidio":
            subprocess.run([str(_venv_python()), "-c", f"import spacy; spacy.blank('en').to_disk({str(blank)!r})"],
                           capture_output=True, timeout=300)
        env = {**os.environ, "PYTHONWARNINGS": "ignore", "TOKENIZERS_PARALLELISM": "false"}
        try:
            subprocess.run([str(_venv_python()), str(driver), tool, str(src), str(dst), str(blank)],
                           capture_output=True, timeout=900, env=env)
            raw = json.loads(dst.read_text(encoding="utf-8"))
        except (subprocess.TimeoutExpired, OSError, json.JSONDecodeError) as error:
            return {"status": f"not available offline: {type(error).__name__}"}
    if "error" in raw:
        return {"status": f"not available offline: {raw['error']}"}
    predictions = [[(labels[label], start, end) for label, start, end in predicted if label in labels]
                   for predicted in raw["predictions"]]
    produced = set(labels.values())
    if tool == "presidio" and "rules only" in raw.get("note", ""):
        produced -= {"PERSON", "STREET_ADDRESS"}
    result: dict[str, Any] = {"status": "ok", "note": raw.get("note", ""), "seconds": round(raw["seconds"], 3),
                              "sentences_per_s": round(len(sentences) / raw["seconds"], 1),
                              "all_entities": score(sentences, predictions),
                              "own_entities": score(sentences, predictions, produced),
                              "own_entity_set": sorted(produced)}
    return result


# --- tables ----------------------------------------------------------------------------------------------------------
def table_run(rows: int, repeats: int) -> dict[str, Any]:
    path = WORK / f"table_{rows}.csv"
    if not path.exists():
        started = time.perf_counter()
        write_table(path, rows)
        print(f"wrote {path.name} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    times = []
    findings = []
    for _ in range(repeats):
        start = time.perf_counter()
        findings = scan_pii_file(path)
        times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    got = {f.location.table_column: (f.data or {}).get("entity") for f in findings
           if f.rule_id == "MW-PII-002" and f.location.table_column}
    expected = expected_columns()
    columns = {name: {"expected": want, "got": got.get(name)} for name, want in expected.items()}
    correct = sum(1 for c in columns.values() if c["expected"] == c["got"])
    return {"rows": rows, "columns": len(expected), "bytes": path.stat().st_size, "repeats": repeats,
            "seconds": round(seconds, 3), "all_seconds": [round(t, 3) for t in times],
            "rows_per_s": round(rows / seconds), "columns_correct": f"{correct}/{len(expected)}",
            "column_results": columns,
            "problems": [f.message for f in findings if f.rule_id == "MW-PII-003"]}


# --- report --------------------------------------------------------------------------------------------------------
def markdown(results: dict[str, Any]) -> str:
    lines = ["# Personal-data benchmark", "", f"Machine: {results['machine']}", "",
             "## Text corpus", "",
             f"{results['corpus']['sentences']} sentences ({results['corpus']['positives']} with entities, "
             f"{results['corpus']['negatives']} hard negatives) in en/de/fr/es, "
             f"{results['corpus']['gold_spans']} gold spans.", "",
             "| tool | entities scored | micro P | micro R | micro F1 | hard negatives flagged | sentences/s |",
             "|---|---|---|---|---|---|---|"]
    tools = {"mlwarden": results["text"]["mlwarden"], **results["text"]["competitors"]}
    for name, res in tools.items():
        if res.get("status", "ok") != "ok":
            lines.append(f"| {name} | {res['status']} | | | | | |")
            continue
        for scope in ("all_entities", "own_entities"):
            if scope not in res:
                continue
            s = res[scope]
            scoped = "all" if scope == "all_entities" else "its own: " + ", ".join(res["own_entity_set"])
            lines.append(f"| {name} | {scoped} | {s['micro']['precision']} | {s['micro']['recall']} | "
                         f"{s['micro']['f1']} | {s['hard_negatives']['flagged_share']:.1%} | "
                         f"{res['sentences_per_s']} |")
    lines += ["", "### mlwarden per entity", "", "| entity | P | R | F1 | tp | fp | fn |", "|---|---|---|---|---|---|---|"]
    for label, s in results["text"]["mlwarden"]["all_entities"]["per_entity"].items():
        lines.append(f"| {label} | {s['precision']} | {s['recall']} | {s['f1']} | {s['tp']} | {s['fp']} | {s['fn']} |")
    lines += ["", "Hard negatives flagged by kind (mlwarden): "
              + ", ".join(f"{k} {v}" for k, v in
                          results["text"]["mlwarden"]["all_entities"]["hard_negatives"]["by_kind"].items()), ""]
    for name, res in results["text"]["competitors"].items():
        if res.get("note"):
            lines.append(f"- {name}: {res['note']}")
    lines += ["", "## Tables (`scan_pii_file`, CSV, 30 columns)", "",
              "| rows | MiB | seconds | rows/s | columns right |", "|---|---|---|---|---|"]
    for res in results["tables"]:
        lines.append(f"| {res['rows']:,} | {res['bytes'] / 2**20:.0f} | {res['seconds']} "
                     f"({'median of ' + str(res['repeats']) if res['repeats'] > 1 else 'once'}) | "
                     f"{res['rows_per_s']:,} | {res['columns_correct']} |")
    if results["tables"]:
        lines += ["", "| column | expected | got |", "|---|---|---|"]
        for name, c in results["tables"][0]["column_results"].items():
            mark = "" if c["expected"] == c["got"] else " **x**"
            lines.append(f"| {name} | {c['expected'] or '-'} | {c['got'] or '-'}{mark} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-million", action="store_true", help="no 1,000,000-row table")
    parser.add_argument("--skip-competitors", action="store_true", help="no Presidio / DataFog")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)

    sentences = text_corpus()
    predictions, seconds = run_mlwarden_text(sentences)
    mlwarden_text = {"status": "ok", "seconds": round(seconds, 3),
                     "sentences_per_s": round(len(sentences) / seconds, 1),
                     "chars_per_s": round(sum(len(s.text) for s in sentences) / seconds),
                     "all_entities": score(sentences, predictions)}
    competitors: dict[str, Any] = {}
    versions: dict[str, str] = {}
    if not args.skip_competitors:
        reason = ensure_competitors()
        if reason is not None:
            competitors = {tool: {"status": f"not available offline: {reason}"} for tool in ("presidio", "datafog")}
        else:
            versions = competitor_versions()
            competitors = {tool: run_competitor(tool, sentences) for tool in ("presidio", "datafog")}

    tables = [table_run(100_000, 3)]
    if not args.skip_million:
        tables.append(table_run(1_000_000, 1))

    results = {
        "machine": f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}",
        "versions": versions,
        "corpus": {"sentences": len(sentences), "positives": sum(1 for s in sentences if s.negative_kind is None),
                   "negatives": sum(1 for s in sentences if s.negative_kind is not None),
                   "gold_spans": sum(len(s.gold) for s in sentences), "seed": 20240605,
                   "example": asdict(sentences[0])},
        "text": {"mlwarden": mlwarden_text, "competitors": competitors},
        "tables": tables,
    }
    (WORK / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    report = markdown(results)
    (WORK / "results.md").write_text(report, encoding="utf-8")
    print(json.dumps(results, indent=2, ensure_ascii=False))
    print(report)


if __name__ == "__main__":
    main()
