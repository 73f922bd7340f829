from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlwarden.core.errors import MissingExtraError
from mlwarden.privacy.files import PiiLimits, detect_kind, scan_pii_file, sniff_delimiter
from tests.privacy.fake_analyzer import fake_analyze


def scan(path, **kwargs):
    return scan_pii_file(path, display=path.name, analyze=fake_analyze, **kwargs)


def test_text_lines_give_line_and_character_span(tmp_path):
    text = "hello\nwrite to bob@example.org or\r\nssn 123-45-6789 ok\n"
    path = tmp_path / "notes.txt"
    path.write_bytes(text.encode())
    findings = scan(path)
    lines = text.split("\n")
    got = {(f.data["entity"], f.location.line) for f in findings}
    assert got == {("EMAIL", 2), ("US_SSN", 3)}
    for finding in findings:
        where = finding.location
        value = lines[where.line - 1][where.start:where.end]
        assert value in ("bob@example.org", "123-45-6789")
        assert value not in finding.message and value not in (finding.evidence or "")
        assert value not in json.dumps(finding.to_dict())
        assert finding.rule_id == "MW-PII-001"
    assert {f.data["entity"]: f.severity.value for f in findings} == {"EMAIL": "medium", "US_SSN": "high"}


def test_long_line_is_windowed_without_losing_or_repeating_hits(tmp_path):
    filler = "x " * 40
    line = "".join(f"{filler}u{i}@example.org " for i in range(300))
    path = tmp_path / "big.log"
    path.write_text(line + "\nsecond a@example.org")
    findings = scan(path, limits=PiiLimits(window_chars=1000, window_overlap=64))
    spans = [(f.location.line, f.location.start, f.location.end) for f in findings]
    assert len(spans) == len(set(spans)) == 301
    for line_no, start, end in spans:
        source = line if line_no == 1 else "second a@example.org"
        assert "@example.org" in source[start:end]


def test_json_lines_fields_are_dotted_paths(tmp_path):
    records = [{"id": 1, "user": {"contact": {"email": "ann@example.org"}}},
               {"msgs": ["hi", "ssn 123-45-6789"]}]
    path = tmp_path / "chat.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\nnot json\n\n{\"a\": \n")
    findings = scan(path)
    hits = [f for f in findings if f.rule_id == "MW-PII-001"]
    assert [(f.location.line, f.location.field) for f in hits] == [(1, "user.contact.email"), (2, "msgs.1")]
    assert records[0]["user"]["contact"]["email"][hits[0].location.start:hits[0].location.end] == "ann@example.org"
    assert records[1]["msgs"][1][hits[1].location.start:hits[1].location.end] == "123-45-6789"
    problems = [f for f in findings if f.rule_id == "MW-PII-003"]
    assert len(problems) == 1 and problems[0].data["count"] == 2 and problems[0].location.line == 3


def test_json_document_and_invalid_json(tmp_path):
    good = tmp_path / "a.json"
    good.write_text(json.dumps({"people": [{"mail": "x@example.org"}]}))
    (finding,) = scan(good)
    assert finding.location.field == "people.0.mail" and finding.location.line == 1
    bad = tmp_path / "b.json"
    bad.write_text("{\"mail\": \"x@example.org\"")
    (problem,) = scan(bad)
    assert problem.rule_id == "MW-PII-003" and "x@example.org" not in problem.message


def test_deep_json_is_bounded(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    assert [f.rule_id for f in scan(path)] == ["MW-PII-003"]
    nested = tmp_path / "nested.jsonl"
    nested.write_text(json.dumps(json.loads("[" * 80 + "\"a@example.org\"" + "]" * 80)) + "\n")
    assert [f.rule_id for f in scan(nested)] == ["MW-PII-003"]


def test_csv_column_finding_names_the_column(tmp_path):
    path = tmp_path / "people.csv"
    rows = ["id;contact;note"] + [f"{i};p{i}@example.org;ok" for i in range(500)]
    path.write_text("\n".join(rows) + "\n")
    (finding,) = scan(path)
    assert finding.rule_id == "MW-PII-002"
    assert finding.location.table_column == "contact"
    assert finding.to_dict()["location"]["column"] == "contact"
    assert finding.data["entity"] == "EMAIL" and finding.data["count"] == finding.data["sampled"] == 500
    assert finding.data["rows"] == 500
    assert not any(f"p{i}@example.org" in json.dumps(finding.to_dict()) for i in range(500))


def test_tsv_and_broken_csv(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("a\tb\n" + "".join(f"{i}\tq{i}@example.org\n" for i in range(20)))
    assert [f.location.table_column for f in scan(path)] == ["b"]
    empty = tmp_path / "e.csv"
    empty.write_text("")
    assert scan(empty) == []


def test_sniff_delimiter():
    assert sniff_delimiter("a,b,c\n1,2,3\n", ",") == ","
    assert sniff_delimiter("a;b;c\n1;2;3\n", ",") == ";"
    assert sniff_delimiter("single\nrow\n", "\t") == "\t"


def test_parquet_without_pyarrow_names_the_extra(tmp_path):
    path = tmp_path / "d.parquet"
    path.write_bytes(b"PAR1" + b"\0" * 16 + b"PAR1")
    assert detect_kind(path) == "parquet"
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        with pytest.raises(MissingExtraError, match="parquet"):
            scan(path)
    else:
        assert [f.rule_id for f in scan(path)] == ["MW-PII-003"]


def test_parquet_columns(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"n": list(range(3000)), "who": [f"z{i}@example.org" for i in range(3000)]}), path)
    (finding,) = scan(path)
    assert finding.location.table_column == "who" and finding.data["rows"] == 3000


def test_hit_limit_is_reported(tmp_path):
    path = tmp_path / "many.txt"
    path.write_text("".join(f"m{i}@example.org\n" for i in range(50)))
    findings = scan(path, limits=PiiLimits(max_findings=10))
    assert [f.rule_id for f in findings].count("MW-PII-001") == 10
    assert findings[-1].rule_id == "MW-PII-003" and findings[-1].data["count"] == 40


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=400), st.sampled_from(["x.txt", "x.jsonl", "x.json", "x.csv", "x.tsv"]))
def test_random_bytes_never_raise(tmp_path_factory, data, name):
    path = tmp_path_factory.mktemp("fuzz") / name
    path.write_bytes(data)
    try:
        findings = scan(path)
    except MissingExtraError:  # a real-looking Parquet file and no pyarrow
        assert data[:4] == data[-4:] == b"PAR1"
        return
    for finding in findings:
        assert finding.rule_id.startswith("MW-PII-")


def test_hostile_data_files_give_a_per_file_problem_never_a_crash(tmp_path):
    from mlwarden.privacy.files import scan_pii_file

    broken = tmp_path / "broken.csv"
    broken.write_bytes(b'a,b\n"unterminated,1\n' + b"x" * 300_000 + b"\n")
    mixed = tmp_path / "mixed.csv"
    mixed.write_bytes(b"name,email\n" + "Müller,m@corp.de\n".encode("latin-1") + b"\xff\xfe\x00,zz\n")
    lines = tmp_path / "huge.jsonl"
    lines.write_bytes(b'{"a":' * 50_000 + b"\n{not json}\n\x00\x01")
    fake = tmp_path / "fake.parquet"
    fake.write_bytes(b"PAR1garbagePAR1")
    for path in (broken, mixed, lines, fake):
        findings = scan_pii_file(path)
        assert all(f.rule_id in ("MW-PII-001", "MW-PII-002", "MW-PII-003") for f in findings), path
    assert any(f.rule_id == "MW-PII-003" for f in scan_pii_file(broken))
    assert any(f.rule_id == "MW-PII-003" for f in scan_pii_file(lines))
    assert any(f.rule_id == "MW-PII-003" for f in scan_pii_file(fake))


def test_parquet_with_nested_types_is_read_without_error(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    from mlwarden.privacy.files import scan_pii_file

    path = tmp_path / "nested.parquet"
    pq.write_table(pa.table({"meta": [{"email": "a@corp.io", "n": [1, 2]}] * 5, "tags": [["x", "y"]] * 5}), path)
    assert all(f.rule_id != "MW-SCAN-002" for f in scan_pii_file(path))
