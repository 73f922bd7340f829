"""Tests of the notebook analyzer: code cells with IPython syntax, pip installs, every output type, exact
locations (cell, output, field, line, span), invalid notebooks, limits, inline suppression, and fuzzing.

Tokens are fake and built at run time (see tests/supply/test_secrets.py).
"""

from __future__ import annotations

import json
import random
import string
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlwarden.core.findings import Severity
from mlwarden.core.rules import CATALOGUE
from mlwarden.supply.code import notebooks
from mlwarden.supply.code.notebooks import NotebookHit, NotebookResult, analyze_notebook
from mlwarden.supply.code.python_rules import analyze_python_source
from tests.samples.notebooks import display, error, make_notebook, make_notebook_dict, result, stream

MAX = 64 * 1024 * 1024
_rng = random.Random(7)


def fake_hf_token() -> str:
    return "hf" + "_" + "".join(_rng.choice(string.ascii_letters + string.digits) for _ in range(34))


def analyze(cells: list[dict[str, Any]], **options: Any) -> NotebookResult:
    return analyze_notebook(make_notebook(cells, **options), max_bytes=MAX)


def by_rule(found: NotebookResult, prefix: str) -> list[NotebookHit]:
    return [item for item in found.hits if item.hit.rule_id.startswith(prefix)]


def where(item: NotebookHit) -> tuple[int | None, int | None, str | None, int]:
    return item.cell, item.output, item.field, item.hit.line


# ---------------------------------------------------------------------------------------------------------------
# Code cells.

def test_code_cell_rules_run_with_cell_and_line() -> None:
    found = analyze([
        {"markdown": "# Load a model"},
        {"code": "import torch\n\nmodel = torch.load('model.pt')\n"},
    ])
    (load,) = [item for item in found.hits if item.hit.rule_id == "MW-CODE-001"]
    assert (load.cell, load.output, load.hit.line) == (1, None, 3)
    assert found.cells == 2


def test_magics_shell_and_help_lines_are_blanked_keeping_line_numbers() -> None:
    source = (
        "%matplotlib inline\n"
        "%load_ext autoreload\n"
        "!ls -la\n"
        "files = !ls *.pt\n"
        "timing = %timeit -o sum(range(10))\n"
        "np.array?\n"
        "??torch.load\n"
        "if True:\n"
        "    !echo indented\n"
        "    %time import torch\n"
        "!curl https://example.org/install.sh \\\n"
        "   | sh\n"
        "import pickle\n"
        "data = pickle.loads(blob)\n"
        "ratio = (a\n"
        "         % b)\n"
        "same = (a\n"
        "        != b)\n"
    )
    found = analyze([{"code": source}])
    rules = {(item.hit.rule_id, item.hit.line) for item in found.hits}
    assert ("MW-CODE-002", 14) in rules
    assert not [rule for rule, _ in rules if rule == "MW-CODE-000"], found.hits  # what is left parses as Python


def test_cell_source_as_string_or_list_gives_the_same_hits() -> None:
    cells = [{"code": "%pip install torch\nimport torch\ntorch.load(p)\ntoken = '" + fake_hf_token() + "'\n"}]
    as_lines = analyze(cells)
    as_string = analyze(cells, lines=False)
    assert [where(item) + (item.hit.rule_id,) for item in as_lines.hits] == \
           [where(item) + (item.hit.rule_id,) for item in as_string.hits]
    assert as_lines.pip_installs == as_string.pip_installs == [(0, 1, "torch")]


def test_windows_line_endings_keep_line_numbers() -> None:
    found = analyze([{"code": "import torch\r\n\r\ntorch.load(p)\r\n"}])
    assert [item.hit.line for item in found.hits if item.hit.rule_id == "MW-CODE-001"] == [3]


@pytest.mark.parametrize("magic, analysed", [
    ("%%time", True), ("%%timeit -n 1", True), ("%%capture out", True), ("%%prun", True),
    ("%%writefile train.py", True), ("%%writefile -a src/train.py", True),
    ("%%writefile config.yaml", False), ("%%bash", False), ("%%sh", False), ("%%html", False),
    ("%%javascript", False), ("%%sql", False), ("%%R", False), ("%%script bash", False),
])
def test_cell_magics(magic: str, analysed: bool) -> None:
    found = analyze([{"code": f"\n{magic}\nimport torch\ntorch.load(p)\n"}])
    code_hits = [item.hit.line for item in found.hits if item.hit.rule_id == "MW-CODE-001"]
    assert code_hits == ([4] if analysed else [])


def test_non_python_kernel_gets_secrets_only() -> None:
    token = fake_hf_token()
    found = analyze([{"code": f"library(torch)\nx <- torch.load(p)\nSys.setenv(HF_TOKEN = '{token}')\n"}],
                    language="R")
    assert [(item.hit.rule_id, item.cell, item.hit.line) for item in found.hits] == [("MW-SECRET-002", 0, 3)]


def test_notebook_code_hits_match_the_python_rules_on_the_blanked_cell() -> None:
    source = "!pip install x\nimport yaml, subprocess\nyaml.load(s)\nsubprocess.run(c, shell=True)\n"
    found = analyze([{"code": source}])
    expected = analyze_python_source("\nimport yaml, subprocess\nyaml.load(s)\nsubprocess.run(c, shell=True)\n")
    assert [item.hit for item in found.hits if item.hit.rule_id.startswith("MW-CODE")] == expected
    assert expected  # the Python rules do report these


# ---------------------------------------------------------------------------------------------------------------
# pip installs.

def test_pip_install_forms() -> None:
    found = analyze([
        {"code": "!pip install torch==2.3.1 transformers\n"
                 "%pip install -q 'datasets>=2.0'\n"
                 "!python -m pip install --upgrade accelerate\n"
                 "!uv pip install peft\n"
                 "!pip3 install safetensors && pip install tokenizers\n"
                 "!{sys.executable} -m pip install numpy\n"
                 "!pip install scipy \\\n"
                 "    scikit-learn\n"
                 "if colab:\n"
                 "    !pip install gradio\n"
                 "# !pip install commented-out\n"
                 "out = !pip install rich\n"
                 "!pip uninstall -y old\n"
                 "!echo mypip install nothing\n"
                 "import torch\n"},
        {"code": "%%bash\npip install bash-pkg\n# pip install not-this\nexport A=1; pip install after-semicolon\n"},
        {"code": "%%capture\n!pip install captured\n"},
        {"markdown": "!pip install from-markdown"},
    ])
    assert found.pip_installs == [
        (0, 1, "torch==2.3.1 transformers"),
        (0, 2, "-q 'datasets>=2.0'"),
        (0, 3, "--upgrade accelerate"),
        (0, 4, "peft"),
        (0, 5, "safetensors && pip install tokenizers"),
        (0, 5, "tokenizers"),
        (0, 6, "numpy"),
        (0, 7, "scipy scikit-learn"),
        (0, 10, "gradio"),
        (0, 12, "rich"),
        (1, 2, "bash-pkg"),
        (1, 4, "after-semicolon"),
        (2, 2, "captured"),
    ]
    assert not by_rule(found, "MW-CODE-000")


def test_pip_install_arguments_feed_the_dependency_parser() -> None:
    from mlwarden.supply.deps.sources.requirements import parse_pip_install_args

    found = analyze([{"code": "!pip install -q torch==2.3.1 'numpy<2' && echo done\n"}])
    ((cell, line, args),) = found.pip_installs
    names = [getattr(item, "name", None) for item in parse_pip_install_args(args, source="nb.ipynb", line=line,
                                                                           cell=cell)]
    assert names == ["torch", "numpy"]


# ---------------------------------------------------------------------------------------------------------------
# Secrets in cells and outputs, with exact locations.

def test_secret_in_each_kind_of_cell() -> None:
    token = fake_hf_token()
    found = analyze([
        {"markdown": f"Use the token\n\n`{token}`"},
        {"raw": f"HF_TOKEN={token}"},
        {"code": f"import os\nos.environ['HF_TOKEN'] = '{token}'\n!huggingface-cli login --token {token}\n"},
    ])
    secrets = by_rule(found, "MW-SECRET")
    assert [(item.cell, item.output, item.hit.line, item.hit.start, item.hit.end) for item in secrets] == [
        (0, None, 3, 1, 38), (1, None, 1, 9, 46), (2, None, 2, 26, 63), (2, None, 3, 31, 68)]
    assert token not in repr(found)


def test_stream_output_secret_location() -> None:
    token = fake_hf_token()
    found = analyze([{"code": "!cat ~/.cache/huggingface/token", "outputs": [
        stream("starting\n"), stream(f"line one\nyour token is {token}\n", name="stderr")]}])
    (hit,) = by_rule(found, "MW-SECRET")
    assert where(hit) == (0, 1, "text", 2)
    assert (hit.hit.start, hit.hit.end) == (14, 51)
    assert hit.hit.evidence is not None and hit.hit.evidence.startswith("hf_…(37 chars")


def test_execute_result_display_and_json_outputs() -> None:
    token = fake_hf_token()
    key = "AK" + "IA" + "".join(_rng.choice(string.ascii_uppercase) for _ in range(16))
    found = analyze([{"code": "config", "outputs": [
        result({"text/plain": f"{{'user': 'me',\n 'token': '{token}'}}"}),
        display({"application/json": {"nested": {"deeper": [1, {"aws": key}]}}}),
        display({"text/html": f"<div>\n<p>key:\n<b>{token}</b></p></div>", "image/png": "iVBORw0KGgo="}),
    ]}])
    secrets = by_rule(found, "MW-SECRET")
    assert [where(item) for item in secrets] == [
        (0, 0, "text/plain", 2), (0, 1, "application/json", 6), (0, 2, "text/html", 3)]
    assert all(token not in repr(item) and key not in repr(item) for item in secrets)


def test_same_secret_in_two_representations_of_one_output_is_reported_once() -> None:
    token = fake_hf_token()
    found = analyze([{"code": "df", "outputs": [
        result({"text/plain": f"0  {token}", "text/html": f"<table><tr><td>{token}</td></tr></table>"})]}])
    assert [where(item) for item in by_rule(found, "MW-SECRET")] == [(0, 0, "text/plain", 1)]


def test_error_output_traceback_with_ansi_codes() -> None:
    token = fake_hf_token()
    traceback = [
        "\x1b[0;31m---------------------------------------------------------------------------\x1b[0m",
        "\x1b[0;31mHTTPError\x1b[0m                                 Traceback (most recent call last)",
        f"Cell \x1b[0;32mIn[3], line 2\x1b[0m\n      1 \x1b[38;5;28;01mimport\x1b[39;00m requests\n----> 2 r = "
        f"get(url, headers={{\x1b[38;5;124m'Authorization'\x1b[39m: \x1b[38;5;124m'Bearer {token}'\x1b[39m}})",
        "\x1b[0;31mHTTPError\x1b[0m: 401 Client Error",
    ]
    found = analyze([{"code": "r = get(url)", "outputs": [error("HTTPError", "401 Client Error", traceback)]}])
    (secret,) = by_rule(found, "MW-SECRET")
    assert where(secret) == (0, 0, "traceback", 5)
    line = "\n".join(traceback).split("\n")[4]
    plain = line.replace("\x1b[38;5;124m", "").replace("\x1b[39m", "")
    assert plain[secret.hit.start: secret.hit.end] == token
    kinds = {item.hit.data["kind"]: item for item in by_rule(found, "MW-NB-002") if item.hit.data}
    assert set(kinds) == {"traceback", "request_headers"}
    assert kinds["traceback"].hit.severity == Severity.INFO and kinds["traceback"].hit.line == 2
    assert kinds["request_headers"].hit.severity is None and kinds["request_headers"].hit.line == 5


def test_error_output_without_traceback_uses_evalue() -> None:
    token = fake_hf_token()
    found = analyze([{"code": "x", "outputs": [{"output_type": "error", "ename": "ValueError",
                                                "evalue": f"bad token {token}", "traceback": []}]}])
    (secret,) = by_rule(found, "MW-SECRET")
    assert where(secret) == (0, 0, "evalue", 1)


def test_notebook_metadata_widget_state_is_searched() -> None:
    token = fake_hf_token()
    widgets = {"application/vnd.jupyter.widget-state+json": {"state": {"abc": {"model_name": "PasswordModel",
                                                                               "state": {"value": token}}}}}
    found = analyze([{"code": "notebook_login()"}], metadata={"widgets": widgets})
    (secret,) = by_rule(found, "MW-SECRET")
    assert (secret.cell, secret.output, secret.field) == (None, None, "metadata")


# ---------------------------------------------------------------------------------------------------------------
# MW-NB-001: personal data in outputs.

def test_personal_data_positives() -> None:
    found = analyze([{"code": "customers.head()", "outputs": [
        result({"text/plain": "   name    email                 phone\n"
                              "0  Alice   alice.smith@corp.io   +44 20 7946 0958\n"
                              "1  Bob     bob.jones@corp.io     +1 (415) 555-2671\n",
                "text/html": "<td>carol&#64;mail.org</td><td>4556 7375 8689 9855</td>"}),
        stream("card_number\n4556737586899855\n"),
    ]}])
    hits = {(item.output, item.hit.data["entity"]): item for item in by_rule(found, "MW-NB-001")
            if item.hit.data}
    email = hits[(0, "email")]
    assert (email.field, email.hit.line, email.hit.start, email.hit.end) == ("text/plain", 2, 11, 30)
    assert email.hit.data is not None and email.hit.data["count"] == 2
    assert "alice" not in repr(email) and email.hit.evidence is not None and "sha256:" in email.hit.evidence
    phone = hits[(0, "phone")]
    assert phone.hit.line == 2 and phone.hit.data is not None and phone.hit.data["count"] == 2
    assert hits[(0, "payment_card")].field == "text/html"
    assert hits[(0, "payment_card")].hit.severity == Severity.HIGH
    assert hits[(1, "payment_card")].hit.line == 2  # a bare digit run counts where the output names cards
    assert CATALOGUE["MW-NB-001"].area == "notebook"


@pytest.mark.parametrize("text", [
    "contact: someone@example.com, test@test.example.org",
    "logo@2x.png and icon@3x.jpg",
    "git@github.com:huggingface/transformers.git",
    "12345678+noreply@users.noreply.github.com",
    "loss 1.5e+10 grad +0.00012345 step +123 delta +12.5",
    "id            4556737586899855\nid            4556737586899856",  # ids: no card context
    "card: 4242 4242 4242 4242 (Stripe's test card)",
    "card: 4556 7375 8689 9856",  # fails Luhn
    "timestamp 1700000000000000000",
    "x @ w.T and a@b",
])
def test_personal_data_look_alikes(text: str) -> None:
    found = analyze([{"code": "x", "outputs": [stream(text)]}])
    assert by_rule(found, "MW-NB-001") == []


def test_personal_data_in_source_is_not_reported() -> None:
    assert by_rule(analyze([{"code": "# contact alice.smith@corp.io"}]), "MW-NB-001") == []


# ---------------------------------------------------------------------------------------------------------------
# MW-NB-002: environment dumps, request headers, tracebacks.

ENV_DUMP = "SHELL=/bin/bash\nCOLAB_GPU=1\nHOSTNAME=abc\nHOME=/root\nPATH=/usr/local/bin:/usr/bin\n"


@pytest.mark.parametrize("cell, line", [
    ({"code": "!env", "outputs": [stream(ENV_DUMP)]}, 1),
    ({"code": "!export -p", "outputs": [stream("declare -x HOME=\"/root\"\ndeclare -x LANG=\"C\"\n"
                                               "declare -x PATH=\"/usr/bin\"\n")]}, 1),
    ({"code": "%env", "outputs": [result({"text/plain": "{'SHELL': '/bin/bash',\n 'HOME': '/root',\n"
                                                        " 'PATH': '/usr/bin'}"})]}, 1),
    ({"code": "os.environ", "outputs": [result({"text/plain": "environ{'LANG': 'C.UTF-8',\n 'HOSTNAME': 'x',\n"
                                                              " 'USER': 'me'}"})]}, 1),
    ({"code": "!curl -v https://api.example.org", "outputs": [stream("* Connected\n> GET / HTTP/1.1\n"
                                                                      "> Authorization: Bearer abc.def\n")]}, 3),
    ({"code": "print(r.request.headers)", "outputs": [stream("{'User-Agent': 'x', 'X-Api-Key': 'k-1'}\n")]}, 1),
])
def test_output_leaks(cell: dict[str, Any], line: int) -> None:
    (leak,) = by_rule(analyze([cell]), "MW-NB-002")
    assert (leak.cell, leak.output, leak.hit.line, leak.hit.severity) == (0, 0, line, None)


@pytest.mark.parametrize("text", [
    "PATH=/usr/bin\n",  # one variable is not a dump
    "Authorization failed: check your credentials\n",
    "{'Authorization': ''}\n",
    "Set-Cookie handling is described in RFC 6265\n",
])
def test_output_leak_look_alikes(text: str) -> None:
    assert by_rule(analyze([{"code": "x", "outputs": [stream(text)]}]), "MW-NB-002") == []


def test_traceback_printed_to_stderr_is_info() -> None:
    found = analyze([{"code": "main()", "outputs": [stream("warming up\nTraceback (most recent call last):\n"
                                                          "  File \"/home/alice/x.py\", line 1\n", name="stderr")]}])
    (leak,) = by_rule(found, "MW-NB-002")
    assert (leak.hit.line, leak.hit.severity) == (2, Severity.INFO)


# ---------------------------------------------------------------------------------------------------------------
# MW-NB-003 / MW-NB-004: invalid notebooks and limits.

@pytest.mark.parametrize("data, line, words", [
    (b"", 1, "not valid JSON"),
    (b'{\n "cells": [\n  {"cell_type": "code",,}\n ]\n}', 3, "not valid JSON"),
    (b"\xff\xfe\x00garbage", 1, "not valid JSON"),
    (b"[1, 2]", 1, "not an object"),
    (b'{"metadata": {}}', 1, "no list of 'cells'"),
    (b'{"cells": "nope"}', 1, "no list of 'cells'"),
    (b'{"nbformat": 3, "worksheets": [{"cells": []}]}', 1, "nbformat 3"),
    (b"[" * 50_000 + b"]" * 50_000, 1, "nested too deeply"),
    (b'{"cells": [], "x": 1' + b"1" * 5000 + b"}", 1, "JSON"),
])
def test_invalid_notebooks(data: bytes, line: int, words: str) -> None:
    found = analyze_notebook(data, max_bytes=MAX)
    (invalid,) = found.hits
    assert (invalid.hit.rule_id, invalid.cell, invalid.hit.line) == ("MW-NB-003", None, line)
    assert words in invalid.hit.message


def test_malformed_cells_and_outputs_are_reported_and_the_rest_analysed() -> None:
    token = fake_hf_token()
    document = make_notebook_dict([{"code": "x"}, {"code": "y"}, {"code": "z"}, {"code": "w"},
                                   {"code": f"t = '{token}'"}])
    document["cells"][0] = "not a cell"
    document["cells"][1]["source"] = {"not": "a string"}
    document["cells"][2]["outputs"] = "not a list"
    document["cells"][3]["outputs"] = [42, {"output_type": "stream", "text": 5}, {"output_type": "unknown"}]
    found = analyze_notebook(json.dumps(document).encode(), max_bytes=MAX)
    assert [(item.hit.rule_id, item.cell, item.output) for item in found.hits] == [
        ("MW-NB-003", 0, None), ("MW-NB-003", 1, None), ("MW-NB-003", 2, None), ("MW-NB-003", 3, 0),
        ("MW-SECRET-002", 4, None)]


def test_notebook_over_max_bytes_is_not_parsed() -> None:
    data = make_notebook([{"code": "x"}])
    (limit,) = analyze_notebook(data, max_bytes=len(data) - 1).hits
    assert (limit.hit.rule_id, limit.cell) == ("MW-NB-004", None)
    assert CATALOGUE["MW-NB-004"].severity == Severity.MEDIUM


def test_cell_and_output_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notebooks, "MAX_CELLS", 2)
    monkeypatch.setattr(notebooks, "MAX_OUTPUTS_PER_CELL", 1)
    monkeypatch.setattr(notebooks, "MAX_TEXT_CHARS", 100)
    token = fake_hf_token()
    found = analyze([
        {"code": "x", "outputs": [stream("a" * 150 + token), stream(token)]},
        {"code": "y" * 101},
        {"code": f"t = '{token}'"},
    ])
    assert [(item.hit.rule_id, item.cell, item.output, item.hit.severity) for item in found.hits] == [
        ("MW-NB-004", None, None, None),
        ("MW-NB-004", None, None, Severity.LOW),  # the kernelspec metadata is longer than 100 characters too
        ("MW-NB-004", 0, None, None),
        ("MW-NB-004", 0, 0, Severity.LOW),
        ("MW-NB-004", 1, None, Severity.LOW),
    ]
    assert found.cells == 3


def test_json_that_cannot_be_re_serialised_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    def too_deep(*args: Any, **kwargs: Any) -> str:
        raise RecursionError

    data = make_notebook([{"code": "x", "outputs": [display({"application/json": {"a": [1]}})]}])
    monkeypatch.setattr(notebooks.json, "dumps", too_deep)
    found = analyze_notebook(data, max_bytes=MAX)
    assert [(item.hit.rule_id, item.cell, item.output, item.field, item.hit.severity) for item in found.hits] == [
        ("MW-NB-004", None, None, "metadata", Severity.LOW), ("MW-NB-004", 0, 0, "application/json", Severity.LOW)]


def test_large_metadata_is_searched_up_to_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notebooks, "MAX_TEXT_CHARS", 400)
    early, late = fake_hf_token(), fake_hf_token()
    found = analyze([{"code": "x"}], metadata={"a": early, "b": "x" * 500, "c": late})
    assert [(item.hit.rule_id, item.field) for item in found.hits] == [("MW-NB-004", "metadata"),
                                                                        ("MW-SECRET-002", "metadata")]


# ---------------------------------------------------------------------------------------------------------------
# Suppression and findings.

def test_inline_suppression_in_code_cells() -> None:
    token = fake_hf_token()
    found = analyze([{"code": (
        f"token = '{token}'  # mlwarden: ignore[MW-SECRET-002] revoked test token\n"
        "import pickle\n"
        "pickle.loads(b)  # mlwarden: ignore[MW-CODE-002] our own cache\n"
        "pickle.loads(c)  # mlwarden: ignore[MW-CODE-002]\n"
        "pickle.loads(d)  # mlwarden: ignore[MW-CODE-001] wrong rule\n")}])
    waived = {(item.hit.rule_id, item.hit.line): item.suppressed for item in found.hits}
    assert waived == {("MW-SECRET-002", 1): "revoked test token", ("MW-CODE-002", 3): "our own cache",
                      ("MW-CODE-002", 4): None, ("MW-CODE-002", 5): None}


def test_comment_only_marker_waives_a_rule_for_the_cells_outputs() -> None:
    found = analyze([
        {"code": "# mlwarden: ignore[MW-NB-001] synthetic customers\ndf.head()",
         "outputs": [stream("alice.smith@corp.io\n" + ENV_DUMP)]},
        {"code": "df.head()  # mlwarden: ignore[MW-NB-001] not a comment-only line",
         "outputs": [stream("alice.smith@corp.io\n")]},
    ])
    state = [(item.cell, item.hit.rule_id, item.suppressed) for item in found.hits]
    assert state == [(0, "MW-NB-001", "synthetic customers"), (0, "MW-NB-002", None), (1, "MW-NB-001", None)]


def test_markdown_marker_does_not_suppress() -> None:
    token = fake_hf_token()
    (item,) = analyze([{"markdown": f"{token} # mlwarden: ignore[MW-SECRET-002] docs"}]).hits
    assert item.suppressed is None


def test_notebook_hit_to_finding() -> None:
    token = fake_hf_token()
    found = analyze([{"code": "# mlwarden: ignore[MW-SECRET-002] rotated\nprint(t)",
                      "outputs": [stream(f"\n{token}\n")]}])
    (item,) = found.hits
    finding = item.to_finding("notebooks/train.ipynb", scanner="notebooks")
    assert finding.location.to_dict() == {"path": "notebooks/train.ipynb", "cell": 0, "output": 0, "line": 2,
                                          "column": 1, "field": "text", "start": 0, "end": 37}
    assert finding.location.display() == "notebooks/train.ipynb#cell0.out0[text]:2:1"
    assert finding.suppressed == "rotated" and finding.rule_id == "MW-SECRET-002"
    assert token not in json.dumps(finding.to_dict())


# ---------------------------------------------------------------------------------------------------------------
# Fuzzing: random bytes, mutated notebooks, random structures.

def _base_notebook() -> bytes:
    return make_notebook([
        {"code": "%pip install torch\nimport torch\ntorch.load(p)\n", "outputs": [
            stream(ENV_DUMP), result({"text/plain": "alice.smith@corp.io", "text/html": "<b>x</b>"}),
            error("E", "v", ["\x1b[0;31mTraceback\x1b[0m"])]},
        {"markdown": "# title"},
    ])


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["cells", "cell_type", "source", "outputs", "output_type", "text", "data", "text/plain",
                         "text/html", "application/json", "traceback", "ename", "evalue", "metadata", "name",
                         "kernelspec", "language"]), children, max_size=5),
    max_leaves=25)


def _check(found: NotebookResult) -> None:
    for item in found.hits:
        assert item.hit.rule_id in CATALOGUE
        assert item.hit.line >= 1


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2000))
def test_fuzz_random_bytes(data: bytes) -> None:
    _check(analyze_notebook(data, max_bytes=MAX))


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_fuzz_mutated_notebooks(data: st.DataObject) -> None:
    original = bytearray(_base_notebook())
    for _ in range(data.draw(st.integers(0, 8))):
        position = data.draw(st.integers(0, len(original) - 1))
        original[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(original)))
    _check(analyze_notebook(bytes(original[:cut]) if data.draw(st.booleans()) else bytes(original),
                            max_bytes=MAX))


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(["cells", "metadata", "nbformat", "worksheets"]), _JSON, max_size=4),
       st.lists(_JSON, max_size=5))
def test_fuzz_random_structures(document: dict[str, Any], cells: list[Any]) -> None:
    document["cells"] = cells
    _check(analyze_notebook(json.dumps(document).encode(), max_bytes=MAX))


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300), st.text(max_size=300))
def test_fuzz_random_cell_text(source: str, output: str) -> None:
    data = make_notebook([{"code": source, "outputs": [stream(output), result({"text/html": output})]},
                          {"markdown": source}])
    _check(analyze_notebook(data, max_bytes=MAX))


def test_outputs_reuse_the_personal_data_engine_for_other_identifiers() -> None:
    found = analyze([{"code": "patients.head()", "outputs": [
        stream("patient: Dr. Maria Schmidt, MRN: A1234567, born 12.03.1985\nIBAN DE89 3704 0044 0532 0130 00\n")]}])
    entities = {item.hit.data["entity"]: item for item in by_rule(found, "MW-NB-001") if item.hit.data}
    assert {"person", "medical_record_number", "date_of_birth", "iban"} <= set(entities)
    assert entities["iban"].hit.severity == Severity.HIGH and entities["iban"].hit.line == 2
    assert all("Schmidt" not in (item.hit.evidence or "") + item.hit.message for item in entities.values())
