"""Report objects for the renderer tests: empty, mixed (every severity, archive members, offsets, lines, unicode,
suppressed findings), hostile (strings that try to break out of each output medium) and big.

Nothing here scans anything: the findings are built directly, as the engine would hand them to a renderer.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from mlwarden.core.findings import Finding, Location, Severity
from mlwarden.core.report import Report, ScanStats
from mlwarden.core.rules import make_finding

TOOL_VERSION = "0.1.0"
STARTED_AT = "2024-05-01T12:00:00Z"

# Strings that try to escape from each medium. Each renderer test checks that they come out inert.
SCRIPT_BREAKOUT = "</script><script>alert(1)</script>"
HTML_ATTRIBUTE_BREAKOUT = "\"' onmouseover=\"alert(2)\" x=\""
IMG_TAG = "<img src=x onerror=alert(3)>"
ANSI_CLEAR_SCREEN = "\x1b[2J\x1b[H"
ANSI_RED = "\x1b[31m"
OSC_TITLE = "\x1b]0;pwned\x07"
OSC_HYPERLINK = "\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\"
RICH_MARKUP = "[bold red]FAKE CRITICAL[/bold red] [link=https://evil.example]x[/link] [/] :skull:"
BIDI_OVERRIDE = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: "evil\u202egpj.pt" shows as "eviltp.jpg"
FORGED_LINE = "harmless\r\n  CRITICAL  MW-PKL-001 forged line"
UNDECODABLE_NAME = "weights-\udcff\udcfe.pt"  # os.fsdecode of the bytes b"weights-\xff\xfe.pt"
MARKDOWN_LINK = "[click](https://evil.example)"

HOSTILE_STRINGS = (SCRIPT_BREAKOUT, HTML_ATTRIBUTE_BREAKOUT, IMG_TAG, ANSI_CLEAR_SCREEN, OSC_TITLE,
                   OSC_HYPERLINK, RICH_MARKUP, FORGED_LINE)


def _stats(files_seen: int, files_scanned: int, formats: dict[str, int]) -> ScanStats:
    return ScanStats(files_seen=files_seen, files_scanned=files_scanned, bytes_seen=123_456_789,
                     duration_s=1.234, formats=Counter(formats))


def empty_report() -> Report:
    return Report(findings=[], roots=["models/"], tool_version=TOOL_VERSION, started_at=STARTED_AT,
                  stats=_stats(3, 2, {"safetensors": 2}))


def mixed_findings() -> list[Finding]:
    """At least one finding of every severity, spread over files, with every kind of location."""
    return [
        make_finding("MW-PKL-001", Location("models/evil.pt", member="archive/data.pkl", offset=42),
                     "Loading this pickle calls os.system", evidence="os.system", scanner="pickle"),
        make_finding("MW-PKL-002", Location("models/evil.pt", member="archive/data.pkl", offset=7),
                     "imports an unknown callable", evidence="somepkg.helpers.build", scanner="pickle"),
        make_finding("MW-ARC-003", Location("models/evil.pt"), "duplicate member names",
                     evidence="archive/data.pkl x2", scanner="zip"),
        make_finding("MW-PKL-001",
                     Location("bundle/outer.zip", member="inner.pt!archive/data.pkl", offset=1024),
                     "nested archive calls builtins.exec", evidence="builtins.exec", scanner="pickle"),
        make_finding("MW-KERAS-001", Location("keras/model.keras", member="config.json"),
                     "Lambda layer 'lambda_1'", evidence="lambda_1", scanner="keras"),
        make_finding("MW-HF-002", Location("hf/modeling_custom.py", line=12, column=5),
                     "model folder ships Python code", evidence="import os", scanner="huggingface"),
        make_finding("MW-HF-001", Location("hf/config.json", line=3),
                     "auto_map loads remote code", evidence='"AutoModel": "modeling_custom.Model"'),
        make_finding("MW-NPY-001", Location("data/arr.npy", offset=128), "object array",
                     evidence="dtype=object", severity=Severity.LOW, scanner="numpy"),
        make_finding("MW-TORCH-002", Location("ts/model.pt", member="code/__torch__.py", line=4),
                     "TorchScript code", evidence="def forward(self, x):\n    return x\n", scanner="torch"),
        make_finding("MW-FMT-002", Location("модели/模型 файл #1 100%.safetensors"),
                     "content is a pickle, name says safetensors (ünïcödé ✓)", evidence="\u2603 snowman"),
        make_finding("MW-ST-001", Location("notes/analysis.ipynb", cell=2, line=1, column=1), "bad header",
                     severity=Severity.INFO),
    ]


def suppressed_findings() -> list[Finding]:
    baseline = make_finding("MW-ONNX-002", Location("onnx/model.onnx", offset=300), "custom domain com.acme",
                            evidence="com.acme")
    ignored = make_finding("MW-PKL-002", Location("models/evil.pt", member="archive/data.pkl"),
                           "imports an unknown callable", evidence="trusted.thing")
    return [replace(baseline, suppressed="in baseline"),
            replace(ignored, suppressed="ignored: reviewed by the ML platform team")]


def mixed_report() -> Report:
    return Report(findings=mixed_findings(), roots=["models/", "bundle", "hf/"], tool_version=TOOL_VERSION,
                  fail_on=Severity.HIGH, suppressed=suppressed_findings(), started_at=STARTED_AT,
                  stats=_stats(25, 20, {"pickle": 4, "zip": 3, "safetensors": 2, "hf-config": 1}))


def passing_report() -> Report:
    """Findings below the gate only: the verdict must be PASS."""
    findings = [f for f in mixed_findings() if f.severity.rank < Severity.HIGH.rank]
    return Report(findings=findings, roots=["."], tool_version=TOOL_VERSION, fail_on=Severity.HIGH,
                  started_at=STARTED_AT, stats=_stats(5, 5, {"numpy": 1}))


def hostile_findings() -> list[Finding]:
    return [
        make_finding("MW-PKL-001", Location(f"evil{BIDI_OVERRIDE}gpj.pt", member=IMG_TAG, offset=1),
                     f"calls {SCRIPT_BREAKOUT}", evidence=SCRIPT_BREAKOUT),
        make_finding("MW-PKL-002", Location(f"models/{IMG_TAG}.pkl"), HTML_ATTRIBUTE_BREAKOUT,
                     evidence=HTML_ATTRIBUTE_BREAKOUT),
        make_finding("MW-FMT-001", Location(f"term/{ANSI_RED}red.pt"), f"{ANSI_CLEAR_SCREEN}{OSC_TITLE}boom",
                     evidence=f"{OSC_HYPERLINK}{ANSI_RED}"),
        make_finding("MW-GGUF-001", Location("rich/[bold]markup[/].gguf", line=2), RICH_MARKUP,
                     evidence=RICH_MARKUP),
        make_finding("MW-ARC-001", Location("forge/archive.zip", member="../../etc/passwd"), FORGED_LINE,
                     evidence=FORGED_LINE),
        make_finding("MW-SCAN-001", Location(UNDECODABLE_NAME), "cannot read \udcff", evidence="\udcfe"),
        make_finding("MW-FMT-002", Location("c:colon/javascript:alert(1).pt"), MARKDOWN_LINK,
                     evidence="x" * 50_000),
        # A rule the catalogue does not know (a newer scanner, a plugin): renderers must not depend on it.
        Finding(rule_id="MW-TEST-999", severity=Severity.MEDIUM, title=f"Unknown rule {IMG_TAG}",
                message="from a plugin", location=Location("plugin/file.bin"),
                references=("CWE-79\"><script>alert(4)</script>", "CWE-1336"), remediation=SCRIPT_BREAKOUT),
    ]


def hostile_report() -> Report:
    suppressed = [replace(make_finding("MW-PKL-001", Location(f"sup/{SCRIPT_BREAKOUT}.pkl"), SCRIPT_BREAKOUT,
                                       evidence=ANSI_CLEAR_SCREEN),
                          suppressed=f"ignored: {SCRIPT_BREAKOUT}{ANSI_CLEAR_SCREEN}")]
    return Report(findings=hostile_findings(), roots=[f"roots/{IMG_TAG}", f"{ANSI_RED}x"],
                  tool_version=TOOL_VERSION, fail_on=Severity.CRITICAL, suppressed=suppressed,
                  started_at=STARTED_AT, stats=_stats(9, 8, {f"fmt{IMG_TAG}": 1}))


def big_report(count: int = 2000) -> Report:
    """Many findings over many files, cycling through all severities and rules of the mixed report."""
    templates = mixed_findings()
    findings = []
    for number in range(count):
        template = templates[number % len(templates)]
        location = replace(template.location, path=f"big/dir{number % 211 % 7}/file{number % 211}.pt",
                           offset=number if template.location.line is None else None)
        findings.append(replace(template, location=location, evidence=f"{template.evidence or ''} #{number}"))
    return Report(findings=findings, roots=["big"], tool_version=TOOL_VERSION, started_at=STARTED_AT,
                  stats=_stats(count, count, {"pickle": count}))


ALL_REPORTS = {
    "empty": empty_report,
    "mixed": mixed_report,
    "passing": passing_report,
    "hostile": hostile_report,
    "big": big_report,
}
