import re

import pytest
from rich.cells import cell_len

from mlwarden.core.findings import Location, Severity
from mlwarden.core.report import Report
from mlwarden.core.rules import make_finding
from mlwarden.render import human_size, printable, shorten
from mlwarden.render.terminal import FIXED_WIDTH, render_terminal
from tests.samples import reports
from tests.samples.reports import (
    ANSI_CLEAR_SCREEN,
    BIDI_OVERRIDE,
    big_report,
    empty_report,
    hostile_report,
    mixed_report,
    passing_report,
)

SGR = re.compile(r"\x1b\[[0-9;]*m")  # the only escape sequences the renderer itself may emit


def _lines(text):
    return SGR.sub("", text).splitlines()


# --- printable / shorten / human_size (shared by all renderers) --------------------------------------------

@pytest.mark.parametrize(("raw", "shown"), [
    ("plain text, ünïcödé 模型 ✓", "plain text, ünïcödé 模型 ✓"),
    ("\x1b[2J", "\\x1b[2J"),
    ("a\r\nb\tc", "a\\r\\nb\\tc"),
    ("evil\u202egpj.pt", "evil\\u202egpj.pt"),
    ("zero\u200bwidth", "zero\\u200bwidth"),
    ("name-\udcff", "name-\\xff"),
    ("\x7f\x85", "\\x7f\\x85"),
    ("\U000e0041", "\\U000e0041"),
])
def test_printable_makes_every_unprintable_character_visible(raw, shown):
    assert printable(raw) == shown


def test_printable_can_keep_line_breaks_for_code_blocks():
    assert printable("a\nb\tc\x1b", keep_newlines=True) == "a\nb\tc\\x1b"


def test_shorten_says_how_much_was_cut_and_stays_within_the_limit():
    assert shorten("abc", 10) == "abc"
    cut = shorten("x" * 5000, 300)
    assert len(cut) <= 300 and cut.endswith(f"[{5000 - 260} more characters]")


def test_human_size():
    assert [human_size(n) for n in (0, 999, 1000, 1_234_567, 5 * 10**12)] == [
        "0 bytes", "999 bytes", "1.0 KB", "1.2 MB", "5.0 TB"]


# --- the terminal report ------------------------------------------------------------------------------------

def test_empty_report_says_no_findings_and_passes():
    text = render_terminal(empty_report(), color=False)
    assert "No findings." in text
    assert "PASS" in text and "FAIL" not in text
    assert "mlwarden 0.1.0" in text and "models/" in text
    assert "3 files seen, 2 scanned" in text


def test_mixed_report_shows_summary_verdict_and_every_finding_grouped_by_file():
    report = mixed_report()
    text = render_terminal(report, color=False)
    assert "Findings: 3 critical, 2 high, 3 medium, 1 low, 2 info" in text
    assert "FAIL: 5 findings at or above high (fail-on high)" in text
    for finding in report.findings:
        assert finding.rule_id in text
        assert finding.location.path in text
    # grouped: each path heading appears once, with its count
    assert text.count("models/evil.pt  3 findings") == 1
    assert "at member archive/data.pkl, offset 42" in text
    assert "at member inner.pt!archive/data.pkl, offset 1024" in text
    assert "at line 12:5" in text and "at cell 2, line 1:1" in text
    assert "evidence: os.system" in text
    assert "fix: Do not load this file." in text
    assert "модели/模型 файл #1 100%.safetensors" in text and "ünïcödé ✓" in text


def test_findings_keep_the_report_order_within_a_file():
    text = render_terminal(mixed_report(), color=False)
    block = text[text.index("models/evil.pt  3 findings"):]
    assert block.index("MW-ARC-003") < block.index("MW-PKL-001") < block.index("MW-PKL-002")


def test_suppressed_findings_are_one_summary_line():
    text = render_terminal(mixed_report(), color=False)
    lines = [line for line in _lines(text) if "suppressed" in line]
    assert len(lines) == 1
    assert lines[0].startswith("2 suppressed findings not shown (in baseline: 1")
    assert "custom domain com.acme" not in text  # the suppressed finding itself is not listed


def test_report_below_the_gate_passes():
    text = render_terminal(passing_report(), color=False)
    assert "PASS: nothing at or above high" in text


def test_single_finding_is_singular():
    report = Report(findings=[make_finding("MW-PKL-001", Location("a.pkl"), "m")], roots=["a.pkl"],
                    tool_version="0.1.0", fail_on=Severity.CRITICAL)
    text = render_terminal(report, color=False)
    assert "a.pkl  1 finding\n" in text and "FAIL: 1 finding at or above critical" in text


def test_plain_output_has_no_escape_sequences_and_fixed_width():
    text = render_terminal(mixed_report(), color=False)
    assert "\x1b" not in text
    assert max(cell_len(line) for line in text.splitlines()) <= FIXED_WIDTH
    assert all(line == line.rstrip() for line in text.splitlines())


def test_colour_output_styles_severities():
    text = render_terminal(mixed_report(), color=True)
    assert "\x1b[1;31mCRITICAL" in text  # bold red
    assert "\x1b[31mHIGH" in text  # red
    assert "\x1b[33mMEDIUM" in text  # yellow
    assert "\x1b[36mLOW" in text  # cyan
    assert "\x1b[2mINFO" in text  # dim
    assert "\x1b[1;31mFAIL" in text
    assert max(cell_len(line) for line in _lines(text)) <= FIXED_WIDTH


def test_colour_none_follows_the_environment(monkeypatch):
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("COLUMNS", "60")
    monkeypatch.setenv("TERM", "xterm-256color")
    plain = render_terminal(mixed_report(), color=None)  # pytest captures stdout: not a terminal
    assert "\x1b" not in plain
    assert max(cell_len(line) for line in plain.splitlines()) <= 60
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert "\x1b[" in render_terminal(mixed_report(), color=None)
    monkeypatch.setenv("NO_COLOR", "1")
    assert not re.search(r"\x1b\[[0-9;]*3[0-7]m", render_terminal(mixed_report(), color=None))


# --- hostile text -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("color", [False, True])
def test_hostile_text_cannot_emit_escape_sequences(color):
    text = render_terminal(hostile_report(), color=color)
    # Every ESC left is the start of a colour code emitted by the renderer, nothing else.
    assert "\x1b" not in SGR.sub("", text)
    assert "\x1b[2J" not in text and "\x1b]" not in text and "\x1b[31mred.pt" not in text
    assert "\\x1b[2J\\x1b[H\\x1b]0;pwned\\x07boom" in SGR.sub("", text)
    for char in text:
        assert char in "\n\x1b" or char.isprintable(), repr(char)


def test_hostile_text_cannot_forge_report_lines():
    lines = _lines(render_terminal(hostile_report(), color=False))
    forged = [line for line in lines if "forged line" in line]
    assert forged and all("harmless\\r\\n" in line for line in forged)
    assert not any(line.lstrip().startswith("CRITICAL  MW-PKL-001 forged") for line in lines)


def test_rich_markup_and_emoji_codes_in_findings_print_literally():
    text = render_terminal(hostile_report(), color=True)
    plain = SGR.sub("", text)
    assert "[bold red]FAKE CRITICAL[/bold red] [link=https://evil.example]x[/link] [/] :skull:" in plain
    assert "rich/[bold]markup[/].gguf" in plain
    assert "\U0001f480" not in text  # :skull: was not turned into an emoji
    assert "\x1b]8;" not in text  # [link=...] did not become a hyperlink


def test_bidi_overrides_and_undecodable_names_are_shown_escaped():
    text = render_terminal(hostile_report(), color=False)
    assert BIDI_OVERRIDE not in text
    assert "evil\\u202egpj.pt" in text
    assert "weights-\\xff\\xfe.pt" in text
    text.encode("utf-8")  # no lone surrogate survives


def test_suppression_reasons_are_sanitised_too():
    text = render_terminal(hostile_report(), color=False)
    assert ANSI_CLEAR_SCREEN not in text
    assert "1 suppressed finding not shown" in text


def test_long_evidence_is_cut_in_the_terminal():
    text = render_terminal(hostile_report(), color=False)
    assert "x" * 50_000 not in text
    assert "more characters]" in text


def test_big_report_renders_every_file():
    report = big_report()
    text = render_terminal(report, color=False)
    assert len(report.by_path()) == 211
    assert all(f"{path}  " in text for path in report.by_path())


def test_every_sample_renders():
    for build in reports.ALL_REPORTS.values():
        for color in (False, True):
            assert render_terminal(build(), color=color).endswith("\n")
