"""Hypothesis fuzzing of the GGUF and safetensors parsers and of the chat-template analyser: mutated, truncated
and random inputs never raise (no MW-SCAN-002), never hang, and evidence stays bounded."""

from __future__ import annotations

import io
import json
import struct
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlwarden.artifacts.jinja_template import ESCAPE, TOO_LARGE, UNPARSEABLE, find_template_escapes
from mlwarden.core.findings import Finding
from mlwarden.scanning.context import ScanContext
from mlwarden.scanning.dispatch import scan_stream
from tests.samples import gguf_samples as g
from tests.samples import safetensors_samples as s

_GGUF_BASE = g.benign_gguf(n_tokens=6, template=g.CHATML_TEMPLATE)
_GGUF_V1_BE = g.benign_gguf(version=1, endian=">", n_tokens=4, template=g.MISTRAL_TEMPLATE)
_ST_BASE = s.real_safetensors()
_INTERESTING_INTEGERS = [0, 1, 7, 8, 9, 255, 2**16, 2**31 - 1, 2**32 - 1, 2**32, 2**40, 2**62, 2**63, 2**64 - 1]


@st.composite
def mutated(draw: st.DrawFn, base: bytes) -> bytes:
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["byte", "u64", "u32", "truncate", "insert", "delete"]))
        position = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "byte" and data:
            data[position] = draw(st.integers(0, 255))
        elif kind in ("u64", "u32"):
            value = draw(st.sampled_from(_INTERESTING_INTEGERS) | st.integers(0, 2**64 - 1))
            width = 8 if kind == "u64" else 4
            data[position:position + width] = (value % (1 << (8 * width))).to_bytes(width, "little")
        elif kind == "truncate":
            del data[position:]
        elif kind == "insert":
            data[position:position] = draw(st.binary(max_size=16))
        elif kind == "delete":
            del data[position:position + draw(st.integers(1, 16))]
    return bytes(data)


def scan(data: bytes, name: str, hint: str) -> list[Finding]:
    ctx = ScanContext(path="x", size=len(data), name=name)
    started = time.perf_counter()
    scan_stream(io.BytesIO(data), ctx, format_hint=hint)
    assert time.perf_counter() - started < 5.0
    assert "MW-SCAN-002" not in {f.rule_id for f in ctx.findings}, [f.message for f in ctx.findings]
    for finding in ctx.findings:
        assert finding.evidence is None or len(finding.evidence) <= 200
    return ctx.findings


_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(mutated(_GGUF_BASE))
def test_mutated_gguf_never_crashes(data):
    scan(data, "model.gguf", "gguf")


@_SETTINGS
@given(mutated(_GGUF_V1_BE))
def test_mutated_big_endian_v1_gguf_never_crashes(data):
    scan(data, "model.gguf", "gguf")


@_SETTINGS
@given(st.sampled_from([1, 2, 3]), st.sampled_from(["<", ">"]), st.binary(max_size=300))
def test_random_gguf_bodies_never_crash(version, endian, body):
    scan(b"GGUF" + struct.pack(endian + "I", version) + body, "model.gguf", "gguf")


@_SETTINGS
@given(mutated(_ST_BASE))
def test_mutated_safetensors_never_crash(data):
    scan(data, "model.safetensors", "safetensors")


_json_leaf = st.none() | st.booleans() | st.integers(-3, 2**65) | st.floats() | st.text(max_size=8)
_json = st.recursive(_json_leaf, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.sampled_from(["dtype", "shape", "data_offsets", "__metadata__", "t", "u"]), inner, max_size=4),
    max_leaves=16)


@_SETTINGS
@given(_json, st.binary(max_size=64))
def test_random_safetensors_headers_never_crash(header, data):
    try:
        raw = json.dumps(header).encode()
    except ValueError:
        raw = b"{}"
    scan(struct.pack("<Q", len(raw)) + raw + data, "model.safetensors", "safetensors")


@_SETTINGS
@given(st.binary(max_size=200))
def test_random_bytes_as_safetensors_never_crash(data):
    scan(data, "model.safetensors", "safetensors")


_FRAGMENTS = [
    "{{", "}}", "{%", "%}", "{%-", "-%}", "{#", "#}", " ", "\n", "x", "messages", "message['role']", ".",
    "__class__", "__globals__", "__init__", "mro", "os", "popen", "|", "attr", "(", ")", "[", "]", "'", '"',
    "'__", "__'", " ~ ", " + ", " % ", "%c", "95", ",", "for", " in ", "endfor", "set ", "=", "if ", "endif",
    "else", "namespace", "lipsum", "cycler", "self", "request", "dict", "join", "format", "reverse", "[::-1]",
    "-", "1", "\\x5f", "raw", "endraw", "macro", "endmacro", "include", "import", "block", "endblock", "loop",
    "generation", "endgeneration", "break", "continue", "is defined", "tojson", "trim", "*", "replace", "map",
    "attribute=", "ns.k", "strftime_now",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=60).map("".join))
def test_template_like_strings_never_raise(template):
    started = time.perf_counter()
    issues = find_template_escapes(template)
    assert time.perf_counter() - started < 2.0
    for issue in issues:
        assert issue.kind in (ESCAPE, UNPARSEABLE, TOO_LARGE)
        assert len(issue.evidence) <= 200


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_random_text_templates_never_raise(template):
    for issue in find_template_escapes(template):
        assert len(issue.evidence) <= 200


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(sorted(g.BENIGN_TEMPLATES)), st.integers(0, 10_000), st.text(max_size=5))
def test_edited_benign_templates_never_raise(name, position, insert):
    template = g.BENIGN_TEMPLATES[name]
    position %= len(template) + 1
    find_template_escapes(template[:position] + insert + template[position:])
