"""The HTML report: one self-contained file (inline CSS and JS, no external resource) to attach to a CI run or
open from disk.

Every string from a finding is hostile: it goes through ``printable`` (controls and bidi overrides made visible)
and ``html.escape`` (with quotes, as some of it lands in attributes) before it touches the page; the only markup
is built here from constants. Links are built only from references that fully match ``CWE-n`` / ``CVE-y-n``.

Content-Security-Policy: ``default-src 'none'`` and the one inline ``<style>`` and ``<script>`` allowed by their
SHA-256 hashes, not by ``'unsafe-inline'``. Escaping is the first defence; the policy is the second: even if a
hostile string ever slipped through unescaped, a ``<script>`` or ``<style>`` it injects does not run because its
hash is not listed, and nothing can be loaded from the network. ``<meta>`` policies cannot set frame-ancestors;
a report opened from disk does not need it.

The page works without JavaScript: everything is shown, and the filter bar (hidden by default) appears only
when the script runs.
"""

from __future__ import annotations

import base64
import hashlib
import re
from html import escape

from mlwarden.core.findings import Finding, Severity
from mlwarden.core.report import Report
from mlwarden.render import human_size, location_parts, printable, shorten
from mlwarden.render.json_report import sort_key

# A page must stay openable: the JSON report keeps full evidence.
EVIDENCE_LIMIT = 10_000
TEXT_LIMIT = 4_000

_CWE = re.compile(r"CWE-(\d+)")
_CVE = re.compile(r"CVE-\d{4}-\d+")

STYLE = """
.dependencies table { border-collapse: collapse; margin: .5em 0 1em; }
.dependencies caption { text-align: left; font-weight: 600; }
.dependencies th, .dependencies td { border: 1px solid var(--line); padding: .2em .6em; text-align: left; }
:root { color-scheme: light dark; --bg: #fff; --fg: #1f2328; --muted: #656d76; --line: #d0d7de;
  --card: #f6f8fa; --critical: #a40e26; --high: #d1242f; --medium: #9a6700; --low: #0969da; --info: #6e7781;
  --pass: #1a7f37; --fail: #cf222e; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #0d1117; --fg: #e6edf3; --muted: #8d96a0; --line: #30363d; --card: #161b22;
    --critical: #ff7b72; --high: #f85149; --medium: #d29922; --low: #58a6ff; --info: #8b949e;
    --pass: #3fb950; --fail: #f85149; }
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0 auto; max-width: 72rem; padding: 1.5rem; background: var(--bg); color: var(--fg);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2, h3 { font-size: 1.05rem; margin: 2rem 0 .5rem; overflow-wrap: anywhere; }
code, pre { font: 13px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; max-height: 24rem; overflow: auto; }
a { color: var(--low); }
.meta, .count, .muted { color: var(--muted); }
.cards { display: flex; flex-wrap: wrap; gap: .75rem; margin: 1.25rem 0; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .6rem 1rem;
  min-width: 7.5rem; }
.card .n { display: block; font-size: 1.5rem; font-weight: 700; }
.card.pass .n { color: var(--pass); } .card.fail .n { color: var(--fail); }
.roots { margin: 0; padding-left: 1.25rem; }
#filters { display: flex; flex-wrap: wrap; gap: .75rem 1.25rem; align-items: center; padding: .75rem 1rem;
  border: 1px solid var(--line); border-radius: 8px; background: var(--card); margin: 1rem 0; }
#filters input[type=search] { flex: 1 1 16rem; padding: .35rem .5rem; border: 1px solid var(--line);
  border-radius: 6px; background: var(--bg); color: var(--fg); font: inherit; }
.finding { border: 1px solid var(--line); border-left: 6px solid var(--info); border-radius: 8px;
  padding: .6rem 1rem; margin: .6rem 0; }
.finding > p { margin: 0 0 .4rem; }
.finding dl { display: grid; grid-template-columns: 7rem 1fr; gap: .25rem 1rem; margin: 0; }
.finding dt { color: var(--muted); }
.finding dd { margin: 0; overflow-wrap: anywhere; }
.badge { display: inline-block; min-width: 5.5rem; text-align: center; border-radius: 1rem; color: #fff;
  font-size: .75rem; font-weight: 700; text-transform: uppercase; padding: .05rem .5rem; background: var(--info); }
.rule { font-weight: 700; margin: 0 .4rem; }
.sev-critical { border-left-color: var(--critical); } .badge.sev-critical { background: var(--critical); }
.sev-high { border-left-color: var(--high); } .badge.sev-high { background: var(--high); }
.sev-medium { border-left-color: var(--medium); } .badge.sev-medium { background: var(--medium); }
.sev-low { border-left-color: var(--low); } .badge.sev-low { background: var(--low); }
.card.sev-critical .n { color: var(--critical); } .card.sev-high .n { color: var(--high); }
.card.sev-medium .n { color: var(--medium); } .card.sev-low .n { color: var(--low); }
.card.sev-info .n { color: var(--info); }
.none { font-size: 1.1rem; color: var(--pass); font-weight: 700; }
footer { margin-top: 3rem; color: var(--muted); font-size: .85rem; }
"""

SCRIPT = """
(function () {
  "use strict";
  var bar = document.getElementById("filters");
  if (!bar) { return; }
  var boxes = Array.prototype.slice.call(bar.querySelectorAll("input[type=checkbox]"));
  var search = document.getElementById("filter-text");
  var files = Array.prototype.slice.call(document.querySelectorAll("#findings .file"));
  var empty = document.getElementById("no-match");
  function apply() {
    var wanted = {};
    boxes.forEach(function (box) { wanted[box.value] = box.checked; });
    var needle = search.value.trim().toLowerCase();
    var total = 0;
    files.forEach(function (file) {
      var path = file.querySelector("h2").textContent.toLowerCase();
      var shown = 0;
      file.querySelectorAll(".finding").forEach(function (item) {
        var text = path + " " + item.textContent.toLowerCase();
        var ok = wanted[item.getAttribute("data-severity")] === true &&
          (needle === "" || text.indexOf(needle) !== -1);
        item.hidden = !ok;
        if (ok) { shown += 1; }
      });
      file.hidden = shown === 0;
      total += shown;
    });
    if (empty) { empty.hidden = total !== 0; }
  }
  boxes.forEach(function (box) { box.addEventListener("change", apply); });
  search.addEventListener("input", apply);
  bar.hidden = false;
})();
"""


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


CONTENT_SECURITY_POLICY = (f"default-src 'none'; style-src {_csp_hash(STYLE)}; script-src {_csp_hash(SCRIPT)}; "
                           "base-uri 'none'; form-action 'none'")


def render_html(report: Report, **_options: object) -> str:
    """Render ``report`` as one self-contained HTML page. Options such as ``color`` are accepted and ignored."""
    verdict = "PASS" if report.passed else "FAIL"
    total = len(report.findings)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">',
        '<meta name="referrer" content="no-referrer">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>mlwarden report: {verdict}, {total} finding{_plural(total)}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        _header(report),
        _cards(report),
        _dependency_audit(report),
        _filters(report),
        _findings(report),
        _suppressed(report),
        f"<footer>Generated by mlwarden {_text(report.tool_version)}. Static analysis only: no scanned file was "
        "loaded or executed. The JSON report (--format json) carries the same data for scripts.</footer>",
        f"<script>{SCRIPT}</script>",
        "</body>",
        "</html>",
    ]
    return "\n".join(part for part in parts if part) + "\n"


def _text(value: str, limit: int = TEXT_LIMIT, *, keep_newlines: bool = False) -> str:
    """Hostile text, safe in element content and in quoted attribute values."""
    return escape(printable(shorten(value, limit), keep_newlines=keep_newlines), quote=True)


def _plural(count: int) -> str:
    return "" if count == 1 else "s"


def _header(report: Report) -> str:
    roots = "".join(f"<li><code>{_text(root, 500)}</code></li>" for root in report.roots)
    started = f" · started {_text(report.started_at, 40)}" if report.started_at else ""
    return (f"<header><h1>mlwarden report</h1>"
            f'<p class="meta">mlwarden {_text(report.tool_version, 40)}{started}</p>'
            f'<p class="meta">Scanned:</p><ul class="roots">{roots}</ul></header>')


def _cards(report: Report) -> str:
    stats = report.stats
    failing = len(report.failing())
    gate = escape(report.fail_on.value)
    if report.passed:
        verdict = (f'<div class="card pass"><span class="n">PASS</span>nothing at or above {gate}</div>')
    else:
        verdict = (f'<div class="card fail"><span class="n">FAIL</span>{failing} finding{_plural(failing)} '
                   f"at or above {gate}</div>")
    counts = report.counts()
    severity_cards = "".join(
        f'<div class="card sev-{s.value}"><span class="n">{counts[s.value]}</span>{s.value}</div>' for s in Severity)
    formats = ", ".join(f"{_text(name, 40)} {count}" for name, count in sorted(stats.formats.items()))
    return ('<section class="cards" aria-label="Summary">'
            f"{verdict}{severity_cards}"
            f'<div class="card"><span class="n">{stats.files_scanned}</span>files scanned '
            f"of {stats.files_seen} seen</div>"
            f'<div class="card"><span class="n">{escape(human_size(stats.bytes_seen))}</span>read</div>'
            f'<div class="card"><span class="n">{stats.duration_s:.2f} s</span>scan time</div>'
            f'<div class="card"><span class="n">{len(report.suppressed)}</span>suppressed</div>'
            "</section>"
            + (f'<p class="meta">Formats: {formats}</p>' if formats else ""))


def _dependency_audit(report: Report) -> str:
    audit = report.dependency_audit
    if audit is None:
        return ""
    database = audit.get("database")
    if database is None:
        head = (f"<p><strong>Dependencies:</strong> {int(audit.get('dependencies', 0))} found, <strong>not "
                "audited</strong>: no advisory database (run <code>mlwarden db update</code> or <code>mlwarden db "
                "import PATH</code>).</p>")
    else:
        head = (f"<p><strong>Dependencies:</strong> {int(audit.get('audited', 0))} audited against "
                f"{int(database.get('records', 0))} advisories ({_text(str(database.get('source') or '?'), 200)}, "
                f"newest {_text(str(database.get('snapshot_date') or '?'), 40)}); "
                f"{int(audit.get('vulnerable', 0))} vulnerable.</p>")
    rows = "".join(
        f"<tr><td><code>{_text(str(u['package']), 100)}</code></td><td>{_text(str(u['current']), 40)}</td>"
        f"<td>{_text(str(u['target'] or 'no fixed version'), 40)}</td>"
        f"<td>{_text(', '.join(u.get('fixes') or []), 400)}</td></tr>" for u in audit.get("upgrades") or [])
    table = ('<table><caption>Minimal upgrade set</caption><thead><tr><th>package</th><th>current</th>'
             f"<th>upgrade to</th><th>fixes</th></tr></thead><tbody>{rows}</tbody></table>") if rows else ""
    stack = ", ".join(
        f"<code>{_text(str(e['package']), 100)}</code> {_text(str(e['version']), 40)}"
        + (f" ({int(e['vulnerabilities'])} known)" if e["vulnerabilities"] else "")
        for e in audit.get("ml_packages") or [])
    ml = f'<p class="meta">ML stack: {stack}</p>' if stack else ""
    return f'<section class="dependencies" aria-label="Dependency audit">{head}{ml}{table}</section>'


def _filters(report: Report) -> str:
    if not report.findings:
        return ""
    boxes = "".join(f'<label><input type="checkbox" value="{s.value}" checked> {s.value}</label>'
                    for s in Severity)
    return (f'<div id="filters" hidden>{boxes}'
            '<input type="search" id="filter-text" placeholder="Filter by text: path, rule, message…" '
            'aria-label="Filter findings by text"></div>')


def _findings(report: Report) -> str:
    groups = report.by_path()
    if not groups:
        return '<main id="findings"><p class="none">No findings.</p></main>'
    sections = [_file_section(path, findings) for path, findings in groups.items()]
    return ('<main id="findings">' + "".join(sections)
            + '<p id="no-match" class="muted" hidden>No findings match the filters.</p></main>')


def _file_section(path: str, findings: list[Finding]) -> str:
    cards = "".join(_finding_card(finding) for finding in findings)
    return (f'<section class="file"><h2><code>{_text(path, 1000)}</code> '
            f'<span class="count">{len(findings)} finding{_plural(len(findings))}</span></h2>{cards}</section>')


def _finding_card(finding: Finding, *, reason: str | None = None) -> str:
    severity = finding.severity.value
    rows = []
    where = _location(finding)
    if where:
        rows.append(("Location", f"<code>{where}</code>"))
    rows.append(("Message", _text(finding.message)))
    if finding.evidence:
        rows.append(("Evidence", f"<pre><code>{_text(finding.evidence, EVIDENCE_LIMIT, keep_newlines=True)}"
                                 "</code></pre>"))
    if finding.remediation:
        rows.append(("Fix", _text(finding.remediation)))
    if finding.references:
        rows.append(("References", ", ".join(_reference(r) for r in finding.references)))
    if reason is not None:
        rows.append(("Suppressed", _text(reason)))
    rows.append(("Fingerprint", f'<code class="muted">{escape(finding.fingerprint)}</code>'))
    details = "".join(f"<dt>{label}</dt><dd>{value}</dd>" for label, value in rows)
    return (f'<article class="finding sev-{severity}" data-severity="{severity}">'
            f'<p><span class="badge sev-{severity}">{severity}</span>'
            f'<span class="rule">{_text(finding.rule_id, 100)}</span>{_text(finding.title, 300)}</p>'
            f"<dl>{details}</dl></article>")


def _location(finding: Finding) -> str:
    return " · ".join(location_parts(finding.location, _text, offset_word="byte offset"))


def _reference(reference: str) -> str:
    cwe = _CWE.fullmatch(reference)
    if cwe:
        return (f'<a href="https://cwe.mitre.org/data/definitions/{cwe.group(1)}.html" rel="noopener noreferrer">'
                f"{escape(reference)}</a>")
    if _CVE.fullmatch(reference):
        return (f'<a href="https://www.cve.org/CVERecord?id={escape(reference)}" rel="noopener noreferrer">'
                f"{escape(reference)}</a>")
    return _text(reference, 200)


def _suppressed(report: Report) -> str:
    if not report.suppressed:
        return ""
    groups: dict[str, list[Finding]] = {}
    for finding in sorted(report.suppressed, key=sort_key):
        groups.setdefault(finding.location.path, []).append(finding)
    files = "".join(f'<h3><code>{_text(path, 1000)}</code></h3>'
                    + "".join(_finding_card(f, reason=f.suppressed or "suppressed") for f in findings)
                    for path, findings in groups.items())
    count = len(report.suppressed)
    return (f'<section id="suppressed"><h2>Suppressed findings ({count})</h2>'
            '<p class="muted">Waived by an ignore rule or the baseline; they do not count for the gate.</p>'
            f"{files}</section>")
