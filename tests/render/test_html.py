import base64
import hashlib
import re
import time
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlwarden.core.findings import Finding, Location, Severity
from mlwarden.core.report import Report
from mlwarden.render.html import CONTENT_SECURITY_POLICY, SCRIPT, STYLE, render_html
from tests.samples.reports import (
    ALL_REPORTS,
    BIDI_OVERRIDE,
    HTML_ATTRIBUTE_BREAKOUT,
    SCRIPT_BREAKOUT,
    big_report,
    empty_report,
    hostile_report,
    mixed_report,
)

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
# Elements that could load something or run code if an attacker got one into the page.
ACTIVE = {"iframe", "object", "embed", "img", "link", "base", "form", "svg", "math", "video", "audio", "source"}


class StrictPage(HTMLParser):
    """Parses the page and records what a security review cares about; ``problems`` lists anything wrong."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []
        self.problems = []
        self.tags = []
        self.attributes = []
        self.scripts = []
        self.styles = []
        self.text = []
        self.ids = {}
        self._raw = None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes.append((tag, dict(attrs)))
        for name, _ in attrs:
            if name.startswith("on") or name in {"src", "srcdoc", "style", "formaction"}:
                self.problems.append(f"attribute {name} on <{tag}>")
        if "id" in dict(attrs):
            self.ids[dict(attrs)["id"]] = dict(attrs)
        if tag in ACTIVE:
            self.problems.append(f"active element <{tag}>")
        if tag in ("script", "style"):
            self._raw = []
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> does not close {self.stack[-1:] or 'anything'}")
            return
        self.stack.pop()
        if tag in ("script", "style"):
            (self.scripts if tag == "script" else self.styles).append("".join(self._raw))
            self._raw = None

    def handle_data(self, data):
        if self._raw is not None:
            self._raw.append(data)
        else:
            self.text.append(data)

    def close(self):
        super().close()
        if self.stack:
            self.problems.append(f"unclosed elements {self.stack}")


def _parse(html):
    page = StrictPage()
    page.feed(html)
    page.close()
    return page


def _csp_hash(text):
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@pytest.mark.parametrize("name", sorted(ALL_REPORTS))
def test_every_sample_parses_cleanly_with_one_script_and_one_style(name):
    html = render_html(ALL_REPORTS[name]())
    page = _parse(html)
    assert page.problems == []
    assert page.scripts == [SCRIPT] and page.styles == [STYLE]
    assert html.startswith("<!DOCTYPE html>\n<html lang=\"en\">")
    html.encode("utf-8")
    # no raw control characters: HTML parsers treat them as errors, terminals and editors misdisplay them
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", html)


def test_the_page_is_self_contained():
    html = render_html(mixed_report())
    page = _parse(html)
    for tag, attrs in page.attributes:
        assert "src" not in attrs
        if tag == "a":
            assert re.fullmatch(r"https://(cwe\.mitre\.org/data/definitions/\d+\.html|www\.cve\.org/CVERecord\?id="
                                r"CVE-\d{4}-\d+)", attrs["href"])
            assert attrs["rel"] == "noopener noreferrer"
        else:
            assert "href" not in attrs
    assert "@import" not in STYLE and "url(" not in STYLE
    assert "fetch(" not in SCRIPT and "XMLHttpRequest" not in SCRIPT and "innerHTML" not in SCRIPT


def test_content_security_policy_allows_only_the_page_own_style_and_script():
    page = _parse(render_html(mixed_report()))
    meta = [attrs for tag, attrs in page.attributes if tag == "meta" and attrs.get("http-equiv")]
    assert meta == [{"http-equiv": "Content-Security-Policy", "content": CONTENT_SECURITY_POLICY}]
    directives = dict(d.strip().split(" ", 1) for d in CONTENT_SECURITY_POLICY.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["style-src"] == _csp_hash(page.styles[0])
    assert directives["script-src"] == _csp_hash(page.scripts[0])
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY and "unsafe-eval" not in CONTENT_SECURITY_POLICY
    # the policy comes before anything it governs
    assert page.tags.index("meta") < page.tags.index("style")


def test_summary_cards_and_every_finding():
    report = mixed_report()
    html = render_html(report)
    text = " ".join(_parse(html).text)
    for finding in report.findings:
        assert finding.rule_id in html
        assert finding.title in text
    assert "FAIL" in text and "5 findings at or above high" in text
    for severity, count in report.counts().items():
        assert f'<div class="card sev-{severity}"><span class="n">{count}</span>{severity}</div>' in html
    assert "files scanned of 25 seen" in text and "123.5 MB" in text and "1.23 s" in text
    assert "models/" in text and "bundle" in text and "2024-05-01T12:00:00Z" in text
    assert "<title>mlwarden report: FAIL, 11 findings</title>" in html


def test_findings_are_grouped_by_file_with_location_evidence_fix_and_references():
    html = render_html(mixed_report())
    assert html.count('<section class="file">') == 9
    assert html.count('<article class="finding') == 11 + 2  # active + suppressed
    assert "<code>member inner.pt!archive/data.pkl · byte offset 1024</code>" in html
    assert "<code>line 12:5</code>" in html and "<code>cell 2 · line 1:1</code>" in html
    assert "<pre><code>os.system</code></pre>" in html
    assert "<pre><code>def forward(self, x):\n    return x\n</code></pre>" in html  # code keeps its lines
    assert ('<a href="https://cwe.mitre.org/data/definitions/502.html" rel="noopener noreferrer">CWE-502</a>'
            in html)
    assert '<a href="https://www.cve.org/CVERecord?id=CVE-2024-3660" rel="noopener noreferrer">' in html
    assert "ATLAS AML.T0010.003" in html
    assert "модели/模型 файл #1 100%.safetensors" in html and "ünïcödé ✓" in html


def test_filters_exist_for_every_severity_and_appear_only_with_javascript():
    page = _parse(render_html(mixed_report()))
    boxes = [attrs["value"] for tag, attrs in page.attributes if tag == "input" and attrs.get("type") == "checkbox"]
    assert boxes == [s.value for s in Severity]
    assert "hidden" in page.ids["filters"]
    assert page.ids["filter-text"]["type"] == "search"
    # without JavaScript everything is visible: only the filter bar and the "no match" note start hidden
    hidden = [attrs.get("id") for _, attrs in page.attributes if "hidden" in attrs]
    assert hidden == ["filters", "no-match"]
    severities = [attrs["data-severity"] for tag, attrs in page.attributes if tag == "article"
                  and "data-severity" in attrs]
    assert set(severities) == {s.value for s in Severity}
    # the script works on exactly these hooks
    for hook in ('getElementById("filters")', 'getElementById("filter-text")', 'getElementById("no-match")',
                 '"#findings .file"', '".finding"', '"data-severity"', "bar.hidden = false"):
        assert hook in SCRIPT


def test_suppressed_findings_are_listed_with_their_reason_outside_the_filtered_list():
    html = render_html(mixed_report())
    main_end = html.index("</main>")
    section = html.index('<section id="suppressed">')
    assert section > main_end
    assert "Suppressed findings (2)" in html
    assert "<dt>Suppressed</dt><dd>in baseline</dd>" in html
    assert "ignored: reviewed by the ML platform team" in html[section:]


def test_empty_report():
    html = render_html(empty_report())
    page = _parse(html)
    assert page.problems == []
    assert '<p class="none">No findings.</p>' in html
    assert "filters" not in page.ids  # nothing to filter
    assert "PASS" in " ".join(page.text)


def test_hostile_strings_appear_only_escaped():
    html = render_html(hostile_report())
    page = _parse(html)
    assert page.problems == []
    assert SCRIPT_BREAKOUT not in html
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert len(re.findall(r"<script", html, re.IGNORECASE)) == 1
    assert "<img" not in html.lower()
    assert HTML_ATTRIBUTE_BREAKOUT not in html
    assert "&quot;&#x27; onmouseover=&quot;alert(2)&quot; x=&quot;" in html
    text = "".join(page.text)
    assert SCRIPT_BREAKOUT in text  # a reader sees exactly what the file contained
    assert "<img src=x onerror=alert(3)>" in text


def test_hostile_control_characters_and_bidi_overrides_are_visible_escapes():
    html = render_html(hostile_report())
    assert BIDI_OVERRIDE not in html and "\x1b" not in html and "\r" not in html
    assert "evil\\u202egpj.pt" in html
    assert "\\x1b[2J\\x1b[H\\x1b]0;pwned\\x07boom" in html
    assert "weights-\\xff\\xfe.pt" in html


def test_only_genuine_cwe_references_become_links():
    html = render_html(hostile_report())
    assert 'href="https://cwe.mitre.org/data/definitions/1336.html"' in html
    assert 'definitions/79' not in html
    assert "CWE-79&quot;&gt;&lt;script&gt;alert(4)&lt;/script&gt;" in html


def test_long_evidence_is_cut():
    html = render_html(hostile_report())
    assert "x" * 10_000 not in html and "more characters]" in html


def test_big_report_is_fast_and_complete():
    report = big_report()
    start = time.perf_counter()
    html = render_html(report)
    assert time.perf_counter() - start < 5
    page = _parse(html)
    assert page.problems == []
    assert html.count('<article class="finding') == 2000
    assert html.count('<section class="file">') == 211


def test_colour_option_is_accepted_and_ignored():
    assert render_html(mixed_report(), color=True) == render_html(mixed_report(), color=False)


# Any character, surrogates included as file names produce them (os.fsdecode: U+DC80-U+DCFF). Other lone
# surrogates break Finding.fingerprint itself (see test_json_report.test_fingerprint_of_any_lone_surrogate).
_FILE_NAME_SURROGATES = st.characters(min_codepoint=0xDC80, max_codepoint=0xDCFF)
_TEXT = st.text(alphabet=st.characters(codec=None, exclude_categories=("Cs",)) | _FILE_NAME_SURROGATES,
                max_size=40)
_MARKUP = st.sampled_from(["<", ">", "&", '"', "'", "</script>", "<script>", "<!--", "-->", "]]>", "`", "\x1b[",
                           "\u202e", "\udcff", "\r\n", "javascript:", "CWE-79"])
_HOSTILE = st.lists(st.one_of(_TEXT, _MARKUP), max_size=6).map("".join)


@settings(max_examples=150, deadline=None)
@given(path=_HOSTILE, member=st.none() | _HOSTILE, message=_HOSTILE, evidence=st.none() | _HOSTILE,
       reference=_HOSTILE, severity=st.sampled_from(list(Severity)))
def test_no_text_can_break_the_page(path, member, message, evidence, reference, severity):
    finding = Finding(rule_id="MW-PKL-001", severity=severity, title=message, message=message,
                      location=Location(path, member=member), evidence=evidence, remediation=message,
                      references=(reference,))
    report = Report(findings=[finding], roots=[path], tool_version=message, suppressed=[finding])
    html = render_html(report)
    page = _parse(html)
    assert page.problems == []
    assert page.scripts == [SCRIPT] and page.styles == [STYLE]
    assert len(re.findall(r"<script", html, re.IGNORECASE)) == 1
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]", html)


def test_dependency_audit_section_shows_the_upgrade_set_escaped():
    from mlwarden.core.report import Report

    report = Report(findings=[], roots=["p"], tool_version="0.1.0", dependency_audit={
        "database": {"path": None, "source": "<script>alert(1)</script>", "snapshot_date": "2024", "records": 3},
        "dependencies": 2, "audited": 2, "vulnerable": 1,
        "upgrades": [{"package": "torch", "current": "1.12.0", "target": "1.13.1", "fixes": ["PYSEC-2022-43015"],
                      "unfixed": []}],
        "ml_packages": [{"package": "torch", "version": "1.12.0", "vulnerabilities": 1}]})
    page = render_html(report)
    assert "Minimal upgrade set" in page and "1.13.1" in page and "ML stack" in page
    assert "<script>alert(1)</script>" not in page
