"""Tests for the pickle analyzer: opcode table and reader, probe, callable lists, symbolic walk and scanner."""

from __future__ import annotations

import io
import pickle
import pickletools
import struct

import pytest

from mlwarden.artifacts.pickle import analyze_pickle, looks_like_pickle, scan_pickle_bytes
from mlwarden.artifacts.pickle import analyzer as analyzer_module
from mlwarden.artifacts.pickle import scanner as scanner_module
from mlwarden.artifacts.pickle.callables import Verdict, classify_callable
from mlwarden.artifacts.pickle.opcodes import (
    BY_CODE,
    OPCODES,
    PickleFormatError,
    iter_opcodes,
    opcode_extent,
)
from mlwarden.artifacts.pickle.probe import looks_like_nested_pickle
from mlwarden.core.findings import Severity
from mlwarden.core.limits import Limits
from mlwarden.scanning.context import ScanContext, ScanOptions
from mlwarden.scanning.dispatch import scan_stream
from tests.samples import pickles as samples


def scan(data: bytes, *, name: str = "model.pkl", profile: str = "generic", trusted: frozenset[str] = frozenset(),
         limits: Limits | None = None) -> ScanContext:
    """The engine's path for one file: identify by content, dispatch, scan."""
    options = ScanOptions(limits=limits or Limits(), trusted_callables=trusted)
    ctx = ScanContext(path="x", size=len(data), name=name, profile=profile, options=options)
    scan_stream(io.BytesIO(data), ctx)
    return ctx


def rules(ctx: ScanContext) -> list[tuple[str, str | None]]:
    return [(f.rule_id, f.evidence) for f in ctx.findings]


def serious(ctx: ScanContext) -> list[tuple[str, str | None, str]]:
    return [(f.rule_id, f.evidence, f.message) for f in ctx.findings if f.severity.rank >= Severity.MEDIUM.rank]


def context(**kwargs: object) -> ScanContext:
    return ScanContext(path="x", size=0, **kwargs)  # type: ignore[arg-type]


# --- opcode table and reader -------------------------------------------------------------------------------------

def test_opcode_table_matches_pickletools():
    ours = {op.code: op for op in OPCODES}
    assert len(ours) == len(OPCODES) == len(pickletools.opcodes) == 68
    for reference in pickletools.opcodes:
        op = ours[ord(reference.code)]
        assert op.name == reference.name
        assert op.proto == reference.proto
        assert op.arg == (reference.arg.name if reference.arg else "none")
        assert BY_CODE[op.code] is op


def test_reader_agrees_with_genops_on_benign_pickles():
    for _label, data in samples.benign_pickles():
        theirs = [(pos, op.name) for op, _arg, pos in pickletools.genops(data)]
        ours = [(pos, op.name) for pos, op, _arg in iter_opcodes(data)]
        assert ours == theirs[:len(ours)]


def test_reader_decodes_arguments():
    data = b"cos\nsystem\n(S'true'\ntR."
    decoded = [(op.name, arg) for _pos, op, arg in iter_opcodes(data)]
    assert decoded[0] == ("GLOBAL", ("os", "system"))
    assert decoded[2] == ("STRING", b"true")
    values = [arg for _pos, _op, arg in iter_opcodes(pickle.dumps([1.5, -7, 2**80, "é", b"x"], protocol=4))]
    assert 1.5 in values and -7 in values and 2**80 in values and "é" in values and b"x" in values


@pytest.mark.parametrize("data, offset, truncated", [
    (b"\x80\x04\x8e" + struct.pack("<Q", 2**63) + b"abc", 2, True),  # BINBYTES8 with a hostile length
    (b"\x80\x05\x96" + struct.pack("<Q", 2**64 - 1), 2, True),  # BYTEARRAY8
    (b"\x80\x02\x8b" + struct.pack("<i", 2**31 - 1), 2, True),  # LONG4
    (b"\x80\x04\x8d" + struct.pack("<Q", 10**18) + b"x", 2, True),  # BINUNICODE8
    (b"\x80\x02\x8b" + struct.pack("<i", -5), 2, False),  # negative LONG4 length
    (b"K\x01\xff", 2, False),  # not an opcode
    (b"cos\nsys", 0, True),  # GLOBAL without its second line
    (b"J\x01\x02", 0, True),  # BININT cut short
])
def test_reader_reports_offsets_and_never_allocates_from_length_fields(data, offset, truncated):
    with pytest.raises(PickleFormatError) as caught:
        list(iter_opcodes(data))
    assert caught.value.offset == offset
    assert caught.value.truncated is truncated


def test_opcode_extent_on_memoryview():
    data = memoryview(b"cos\nsystem\n.")
    assert opcode_extent(data, 0) == 11
    assert [op.name for _p, op, _a in iter_opcodes(data)] == ["GLOBAL", "STOP"]


# --- probe -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("head", [
    b"cos\nsystem\n(S'true'\ntR.",
    b"cos\nsystem\n(S'true'\ntR",  # no STOP: pickle.load still runs the REDUCE before failing
    b"(lp0\nI1\naI2\na.",
    b"(dp0\nS'a'\np1\nI1\ns.",
    b"}q\x00X\x01\x00\x00\x00aq\x01K\x01s.",
    b"]q\x00(K\x01K\x02e.",
    pickle.dumps({"a": [1, 2, 3]}, protocol=0),
    pickle.dumps({"a": [1, 2, 3]}, protocol=1),
    pickle.dumps(list(range(2000)), protocol=1)[:4096],  # a head cut inside a long pickle
])
def test_probe_accepts_protocol_0_and_1_pickles(head):
    assert looks_like_pickle(head)


@pytest.mark.parametrize("head", [
    b"import os\nimport sys\n\ndef main():\n    os.system('ls')\n",
    b"class Model:\n    pass\n",
    b"The quick brown fox jumps over the lazy dog. It was a sunny day.\n",
    b'{"model_type": "bert", "hidden_size": 768}',
    b"id,name,score\n1,alpha,0.5\n2,beta,0.25\n",
    b"model:\n  name: resnet\n  layers: [1, 2, 3]\n",
    b"# Title\n\nSome *markdown* text with a [link](http://x).\n",
    b"CacheControl==0.14.4\ndistlib==0.4.4\ndistro==1.9.0\nmsgpack==1.0.8\npackaging==24.0\n",
    b"cat\ndog\n",
    b"N" * 4096,  # a raw DNA sequence of unknown bases: every byte is the NONE opcode
    b"(" * 5000,
    b"\x00\x01\x02\x03\xff\xfe",
    b"",
])
def test_probe_rejects_text_and_binary(head):
    assert not looks_like_pickle(head)


def test_probe_on_random_binary_is_rare():
    import random

    generator = random.Random(7)
    hits = sum(looks_like_pickle(generator.randbytes(generator.randint(1, 512))) for _ in range(3000))
    assert hits <= 1


def test_nested_probe_needs_a_complete_pickle():
    assert looks_like_nested_pickle(pickle.dumps({"a": 1}, protocol=2))
    assert looks_like_nested_pickle(b"cos\nsystem\n(S'true'\ntR.")
    assert not looks_like_nested_pickle(b"An ordinary sentence.")
    assert not looks_like_nested_pickle(b"\x80\x02" + b"\xff" * 10)


# --- callable lists ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("module, name, verdict", [
    ("os", "system", Verdict.DANGEROUS),
    ("posix", "system", Verdict.DANGEROUS),
    ("nt", "system", Verdict.DANGEROUS),
    ("os.path", "join", Verdict.DANGEROUS),
    ("__builtin__", "eval", Verdict.DANGEROUS),
    ("builtins", "getattr", Verdict.DANGEROUS),
    ("builtins", "__dict__.get", Verdict.DANGEROUS),
    ("commands", "getoutput", Verdict.DANGEROUS),  # Python 2 name mapped to subprocess
    ("torch", "load", Verdict.DANGEROUS),
    ("torch.serialization", "load", Verdict.DANGEROUS),
    ("torch", "serialization.load", Verdict.DANGEROUS),  # the same callable through a dotted qualname
    ("torch.storage", "_load_from_bytes", Verdict.DANGEROUS),
    ("torch.fx.graph_module", "reduce_graph_module", Verdict.DANGEROUS),
    ("torch.hub", "load", Verdict.DANGEROUS),
    ("torch", "os.system", Verdict.DANGEROUS),
    ("numpy.testing._private.utils", "runstring", Verdict.DANGEROUS),
    ("mymodule", "system", Verdict.DANGEROUS),
    ("functools", "partial", Verdict.DANGEROUS),
    ("operator", "attrgetter", Verdict.DANGEROUS),
    ("joblib", "load", Verdict.DANGEROUS),
    ("torch._utils", "_rebuild_tensor_v2", Verdict.ALLOWED),
    ("torch", "_utils._rebuild_tensor_v2", Verdict.ALLOWED),
    ("torch", "FloatStorage", Verdict.ALLOWED),
    ("torch", "bfloat16", Verdict.ALLOWED),
    ("torch.nn.modules.linear", "Linear", Verdict.ALLOWED),
    ("collections", "OrderedDict", Verdict.ALLOWED),
    ("copy_reg", "_reconstructor", Verdict.ALLOWED),
    ("__builtin__", "set", Verdict.ALLOWED),
    ("numpy.core.multiarray", "_reconstruct", Verdict.ALLOWED),
    ("numpy._core.multiarray", "_reconstruct", Verdict.ALLOWED),
    ("numpy.random._pickle", "__randomstate_ctor", Verdict.ALLOWED),
    ("joblib.numpy_pickle", "NumpyArrayWrapper", Verdict.ALLOWED),
    ("sklearn.tree._tree", "Tree", Verdict.ALLOWED),
    ("sklearn.linear_model._logistic", "LogisticRegression", Verdict.ALLOWED),
    ("sklearn._loss._loss", "__pyx_unpickle_CyHalfSquaredError", Verdict.ALLOWED),
    ("xgboost.sklearn", "XGBClassifier", Verdict.ALLOWED),
    ("sklearn.utils", "some_function", Verdict.UNKNOWN),
    ("torch", "Generator", Verdict.UNKNOWN),  # not wildcarded: torch.* is not allowed wholesale
    ("osmosis", "Thing", Verdict.UNKNOWN),  # "os" matches on dotted-name boundaries only
    ("mymodule", "helper", Verdict.UNKNOWN),
    ("joblib.numpy_pickle_compat", "NDArrayWrapper", Verdict.DANGEROUS),
])
def test_classify_callable(module, name, verdict):
    assert classify_callable(module, name).verdict == verdict


def test_trusted_callables_lift_unknown_but_never_deny():
    assert classify_callable("mymodule", "helper", frozenset({"mymodule.helper"})).verdict == Verdict.TRUSTED
    assert classify_callable("mymodule.sub", "helper", frozenset({"mymodule.*"})).verdict == Verdict.TRUSTED
    assert classify_callable("os", "system", frozenset({"os.system", "os.*"})).verdict == Verdict.DANGEROUS


def test_python2_names_are_mapped_as_find_class_maps_them():
    info = classify_callable("__builtin__", "xrange")
    assert info.name == "builtins.range" and info.verdict == Verdict.ALLOWED


# --- benign pickles ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("label, data", samples.benign_pickles(), ids=[label for label, _ in samples.benign_pickles()])
def test_benign_pickles_have_no_findings(label, data):
    ctx = scan(data)
    assert serious(ctx) == []


def test_benign_summary():
    data = pickle.dumps(samples.benign_values(), protocol=4)
    summary = analyze_pickle(data, context())
    assert summary.complete and summary.pickles == 1 and summary.end_offset == len(data)
    names = {item.qualified_name for item in summary.globals}
    assert "collections.OrderedDict" in names and all(item.verdict == "allowed" for item in summary.globals)


def test_concatenated_benign_pickles_are_all_walked():
    data = dict(samples.benign_pickles())["concatenated"]
    summary = analyze_pickle(data, context())
    assert summary.pickles == 3 and summary.complete


# --- malicious pickles -------------------------------------------------------------------------------------------

MALICIOUS = [
    ("global_os_system_p0", samples.global_os_system_p0, "MW-PKL-001", "os.system"),
    ("stack_global_from_memo", samples.stack_global_from_memo, "MW-PKL-001", "os.system"),
    ("binunicode8_and_string", samples.stack_global_binunicode8_and_string, "MW-PKL-001", "subprocess.check_output"),
    ("stack_global_dynamic", samples.stack_global_dynamic, "MW-PKL-001", "os.<dynamic>"),
    ("inst_form", samples.inst_form, "MW-PKL-001", "os.system"),
    ("obj_form", samples.obj_form, "MW-PKL-001", "os.system"),
    ("newobj_ex_form", samples.newobj_ex_form, "MW-PKL-001", "subprocess.Popen"),
    ("getattr_chain", samples.getattr_import_chain, "MW-PKL-001", "builtins.getattr"),
    ("import_chain", samples.getattr_import_chain, "MW-PKL-001", "builtins.__import__"),
    ("second_pickle", samples.payload_in_second_pickle, "MW-PKL-001", "posix.system"),
    ("ext1", samples.ext1_opcode, "MW-PKL-003", "EXT1 1"),
    ("binpersid", samples.binpersid_generic, "MW-PKL-004", "BINPERSID"),
    ("unknown", samples.unknown_callable, "MW-PKL-002", "mymodule.helper"),
    ("partial", samples.partial_gadget, "MW-PKL-001", "functools.partial"),
    ("partial_target", samples.partial_gadget, "MW-PKL-001", "os.system"),
    ("attrgetter", samples.attrgetter_gadget, "MW-PKL-001", "operator.attrgetter"),
    ("load_from_bytes", samples.torch_load_from_bytes, "MW-PKL-001", "torch.storage._load_from_bytes"),
    ("py2_eval", samples.python2_builtin_eval, "MW-PKL-001", "builtins.eval"),
    ("dunder", samples.dunder_qualname, "MW-PKL-001", "builtins.__dict__.get"),
    ("reexport", samples.reexported_module_qualname, "MW-PKL-001", "torch.os.system"),
    ("type_3_args", samples.type_three_arguments, "MW-PKL-001", "builtins.type"),
    ("call_of_call", samples.call_of_call_result, "MW-PKL-007", None),
    ("build_on_import", samples.build_on_import, "MW-PKL-007", None),
    ("trailing_garbage", samples.trailing_garbage, "MW-PKL-006", "trailing data"),
]


@pytest.mark.parametrize("label, build, rule_id, evidence", MALICIOUS, ids=[m[0] for m in MALICIOUS])
def test_malicious_pickles(label, build, rule_id, evidence):
    ctx = scan(build())
    found = [(f.rule_id, f.evidence) for f in ctx.findings if f.rule_id == rule_id]
    assert found, rules(ctx)
    if evidence is not None:
        assert (rule_id, evidence) in found, rules(ctx)


def test_payload_in_second_pickle_is_located_there():
    data = samples.payload_in_second_pickle()
    first_length = len(pickle.dumps({"weights": [1.0, 2.0]}, protocol=4))
    summary = analyze_pickle(data, ctx := context())
    assert summary.pickles == 2
    (finding,) = [f for f in ctx.findings if f.rule_id == "MW-PKL-001"]
    assert finding.location.offset is not None and finding.location.offset > first_length


def test_truncated_stream_keeps_what_came_before_the_cut():
    data, cut = samples.truncated_after_global()
    for payload in (data, pickle.dumps(samples.SystemCall(), protocol=2)[:-3]):
        ctx = scan(payload)
        assert ("MW-PKL-001", "os.system") in rules(ctx) or ("MW-PKL-001", "posix.system") in rules(ctx)
        (truncated,) = [f for f in ctx.findings if f.rule_id == "MW-PKL-006"]
        assert truncated.location.offset is not None and truncated.location.offset <= len(payload)
    ctx = context()
    summary = analyze_pickle(data, ctx)
    assert not summary.complete
    (truncated,) = [f for f in ctx.findings if f.rule_id == "MW-PKL-006"]
    assert truncated.location.offset == cut - 3  # the STRING opcode that runs past the end


def test_each_callable_is_reported_once_per_pickle_at_its_first_use():
    data = b"\x80\x02" + b"cos\nsystem\nq\x00(U\x04trueq\x01tRh\x00(h\x01tR" + b"0" + b"h\x00."
    ctx = context()
    summary = analyze_pickle(data, ctx)
    assert [(f.rule_id, f.evidence, f.location.offset) for f in ctx.findings] == [("MW-PKL-001", "os.system", 2)]
    assert [(g.module, g.name, g.offset, g.opcode) for g in summary.globals] == [("os", "system", 2, "GLOBAL")]


def test_no_double_report_for_calls_on_reported_results():
    ctx = scan(samples.getattr_import_chain())
    assert [f.rule_id for f in ctx.findings] == ["MW-PKL-001", "MW-PKL-001"]


def test_reconstructor_given_a_computed_class_is_reported():
    data = b"ccopy_reg\n_reconstructor\n(ccollections\nOrderedDict\n)RN}tR."
    assert "MW-PKL-007" in [f.rule_id for f in scan(data).findings]


def test_nested_pickle_is_reported_and_scanned():
    for data in (samples.nested_pickle_in_bytes(), samples.nested_pickle_in_protocol2_bytes()):
        ctx = scan(data)
        nested = [f for f in ctx.findings if f.rule_id == "MW-PKL-005"]
        assert len(nested) == 1
        inner = [f for f in ctx.findings if f.rule_id == "MW-PKL-001"]
        assert inner and inner[0].location.member == nested[0].evidence


def test_persistent_ids_in_the_torch_profile():
    assert serious(scan(samples.torch_storage_pid(), profile="torch")) == []
    generic = scan(samples.torch_storage_pid())
    assert "MW-PKL-004" in [f.rule_id for f in generic.findings]
    wrong_storage = scan(samples.torch_storage_pid("Evil"), profile="torch")
    assert {"MW-PKL-004", "MW-PKL-002"} <= {f.rule_id for f in wrong_storage.findings}


def test_torch_module_persistent_id_is_the_class():
    assert rules(scan(samples.torch_module_pid(), profile="torch")) == []
    assert "MW-PKL-004" in [f.rule_id for f in scan(samples.torch_module_pid()).findings]


@pytest.mark.parametrize("data, expected", [
    (b"\x80\x02(0cos\nsystem\n.", [("MW-PKL-001", "os.system")]),  # POP right after MARK pops the mark
    (b"\x80\x02(N1cos\nsystem\n.", [("MW-PKL-001", "os.system")]),  # POP_MARK
    (b"\x80\x04\x8c\x02os\x8c\x06system2\x93.", [("MW-PKL-001", "system.system")]),  # DUP copies 'system'
    (b"\x80\x04\x8c\x02os2\x93.", [("MW-PKL-001", "os.os")]),
])
def test_stack_manipulation(data, expected):
    assert rules(scan(data)) == expected


def test_short_strings_are_not_taken_for_nested_pickles():
    data = pickle.dumps(["N)0.", "I1\n.", "Mr. Smith.", "An ordinary sentence."], protocol=4)
    assert rules(scan(data)) == []


def test_trusted_callables_suppress_unknown():
    assert "MW-PKL-002" in [f.rule_id for f in scan(samples.unknown_callable()).findings]
    assert serious(scan(samples.unknown_callable(), trusted=frozenset({"mymodule.helper"}))) == []
    assert serious(scan(samples.unknown_callable(), trusted=frozenset({"mymodule.*"}))) == []
    assert "MW-PKL-001" in [f.rule_id for f in
                            scan(samples.global_os_system_p0(), trusted=frozenset({"os.*"})).findings]


def test_trailing_data_ok():
    data = samples.trailing_garbage()
    summary = analyze_pickle(data, ctx := context(), trailing_data_ok=True)
    assert ctx.findings == [] and summary.complete and summary.end_offset == len(pickle.dumps([1, 2], protocol=2))
    summary = analyze_pickle(data, ctx := context())
    assert [f.rule_id for f in ctx.findings] == ["MW-PKL-006"] and not summary.complete


def test_base_offset_and_memoryview_input():
    data = memoryview(samples.global_os_system_p0())
    ctx = context()
    analyze_pickle(data, ctx, base_offset=1000)
    assert [f.location.offset for f in ctx.findings] == [1000]


@pytest.mark.parametrize("data, fragment", [
    (b"\x80\x02h\x05.", "memo entry"),
    (b"\x80\x02R.", "stack underflow"),
    (b"\x80\x02t.", "stack underflow"),  # TUPLE without MARK
    (b"\x80\x04\x8c\x02\xff\xfe.", "UTF-8"),
    (b"\x80\x07N.", "protocol"),
    (b"\x80\x02N\xff.", "invalid opcode"),
    (b"", "empty"),
])
def test_malformed_streams(data, fragment):
    ctx = context()
    summary = analyze_pickle(data, ctx)
    assert not summary.complete
    assert [f.rule_id for f in ctx.findings] == ["MW-PKL-006"]
    assert fragment in ctx.findings[0].message


def test_frame_longer_than_the_stream():
    data = b"\x80\x04\x95" + struct.pack("<Q", 1000) + b"N."
    ctx = context()
    analyze_pickle(data, ctx)
    assert [f.rule_id for f in ctx.findings] == ["MW-PKL-006"]


# --- limits ------------------------------------------------------------------------------------------------------

def test_opcode_limit():
    data = pickle.dumps(list(range(5000)), protocol=2) + samples.global_os_system_p0()
    ctx = scan(data, limits=Limits(max_pickle_opcodes=100))
    assert ("MW-FMT-003", "max_pickle_opcodes") in rules(ctx)


def test_stack_limit():
    data = b"\x80\x02" + b"N" * 200_000 + b"."
    ctx = scan(data, limits=Limits(max_pickle_stack=1000))
    assert ("MW-FMT-003", "max_pickle_stack") in rules(ctx)


def test_memo_limit_keeps_resolving_imports():
    data = pickle.dumps([str(i) for i in range(3000)], protocol=4)[:-1] + b"0" + samples.stack_global_from_memo()[2:]
    ctx = scan(data, limits=Limits(max_pickle_memo=100))
    assert ("MW-FMT-003", "max_pickle_memo") in rules(ctx)
    assert ("MW-PKL-001", "os.system") in rules(ctx)


def test_pickles_per_stream_limit():
    data = pickle.dumps(1, protocol=2) * 5
    ctx = scan(data, limits=Limits(max_pickles_per_stream=3))
    assert ("MW-FMT-003", "max_pickles_per_stream") in rules(ctx)


def test_max_pickle_bytes_analyses_the_prefix():
    data = samples.global_os_system_p0()[:-1] + b"0" + pickle.dumps(list(range(20000)), protocol=2)[2:]
    ctx = scan(data, limits=Limits(max_pickle_bytes=4096))
    assert ("MW-PKL-001", "os.system") in rules(ctx)
    assert ("MW-FMT-003", "max_pickle_bytes") in rules(ctx)
    ctx = context(options=ScanOptions(limits=Limits(max_pickle_bytes=4096)))
    summary = scan_pickle_bytes(data, ctx)
    assert not summary.complete and ("MW-FMT-003", "max_pickle_bytes") in rules(ctx)


# --- streaming -----------------------------------------------------------------------------------------------------

def _finding_keys(ctx: ScanContext) -> list[tuple[str, str | None, int | None, str]]:
    return sorted((f.rule_id, f.evidence, f.location.offset, f.location.member or "") for f in ctx.findings)


@pytest.mark.parametrize("chunk", [17, 100, 4096])
def test_streaming_in_small_chunks_matches_one_pass(monkeypatch, chunk):
    monkeypatch.setattr(scanner_module, "CHUNK_BYTES", chunk)
    corpus = [data for _label, data in samples.benign_pickles()[:4]]
    corpus += [build() for _label, build, _r, _e in MALICIOUS]
    corpus.append(samples.truncated_after_global()[0])
    for data in corpus:
        whole = context()
        expected = analyze_pickle(data, whole)
        streamed = ScanContext(path="x", size=len(data))
        summary = scanner_module.scan_pickle_stream(io.BytesIO(data), streamed)
        assert _finding_keys(streamed) == _finding_keys(whole)
        assert (summary.pickles, summary.complete, summary.end_offset) == \
            (expected.pickles, expected.complete, expected.end_offset)


def test_streaming_skips_oversized_strings(monkeypatch):
    monkeypatch.setattr(scanner_module, "CHUNK_BYTES", 256)
    monkeypatch.setattr(analyzer_module, "MAX_MATERIALIZED_VALUE", 1024)
    blob = pickle.dumps(samples.SystemCall(), protocol=3) + b"\x00" * 5000
    data = b"\x80\x03" + b"B" + struct.pack("<I", len(blob)) + blob + b"0" + samples.global_os_system_p0()
    ctx = ScanContext(path="x", size=len(data))
    summary = scanner_module.scan_pickle_stream(io.BytesIO(data), ctx)
    assert ("MW-PKL-001", "os.system") in rules(ctx)  # after the skipped value
    assert "MW-PKL-005" in [f.rule_id for f in ctx.findings]
    assert summary.complete
