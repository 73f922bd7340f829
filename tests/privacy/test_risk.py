"""Tests of mlwarden.privacy.risk: k-anonymity, l-diversity, unique share, suggestions, detection, findings."""

from __future__ import annotations

import random
import time
from dataclasses import replace

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlwarden.core.errors import InputError, UsageError
from mlwarden.core.rules import CATALOGUE
from mlwarden.core.rules_risk import RISK_RULES
from mlwarden.privacy.risk import (
    GENERALIZATIONS,
    _ArrowFrame,
    _generalize_value,
    assess_risk,
    format_risk_report,
    header_kind,
    load_table,
    risk_findings,
    shape_kind,
)
from tests.privacy.fake_analyzer import fake_analyze

for _rule in RISK_RULES:  # test shim: a no-op once core/rules.py includes RISK_RULES
    CATALOGUE.setdefault(_rule.rule_id, _rule)

# Hand-computed: over (age, zip, sex) the classes are (34,12345,F) x2 and six singletons.
TABLE = {
    "age": ["34", "36", "34", "51", "52", "58", "23", "27"],
    "zip": ["12345", "12345", "12345", "99501", "99501", "99502", "12346", "12346"],
    "sex": ["F", "F", "F", "M", "M", "M", "F", "F"],
    "dx": ["flu", "cold", "flu", "hiv", "hiv", "flu", "cold", "asthma"],
    "email": [f"person{i}@example.org" for i in range(8)],
}


def assess(table=TABLE, **kw):
    return assess_risk(table, analyze=fake_analyze, **kw)


@pytest.mark.parametrize("engine", ["pyarrow", "python"])
def test_k_anonymity_and_unique_share_hand_computed(engine):
    report = assess(sensitive=["dx"], k_threshold=2, engine=engine)
    assert [q.column for q in report.quasi_identifiers] == ["age", "zip", "sex"]
    assert all(q.source == "detected" for q in report.quasi_identifiers)
    assert (report.rows, report.k, report.classes) == (8, 1, 7)
    assert (report.classes_below_k, report.rows_below_k) == (6, 6)
    assert report.unique_records == 6 and report.unique_share == 0.75
    assert report.engine == engine


@pytest.mark.parametrize("engine", ["pyarrow", "python"])
def test_given_quasi_identifiers_and_l_diversity(engine):
    report = assess(quasi_identifiers=["zip", "sex"], sensitive=["dx"], k_threshold=2, engine=engine)
    # classes: 12345/F x3 {flu, cold}, 99501/M x2 {hiv}, 99502/M x1 {flu}, 12346/F x2 {cold, asthma}
    assert (report.k, report.classes, report.rows_below_k, report.unique_records) == (1, 4, 1, 1)
    (div,) = report.l_diversity
    assert (div.column, div.l, div.classes_below_2, div.rows_below_2) == ("dx", 1, 2, 3)
    assert all(q.source == "given" for q in report.quasi_identifiers)


def test_engines_agree():
    a = assess(sensitive=["dx"], k_threshold=2, engine="pyarrow")
    b = assess(sensitive=["dx"], k_threshold=2, engine="python")
    assert replace(a, engine="x") == replace(b, engine="x")


def test_suggestions_single_and_combined():
    report = assess(k_threshold=2)
    texts = [s.text for s in report.suggestions]
    assert "age -> 10-year bands keeps k at 1; rows in classes below 2: 6 -> 1" in texts
    combined = [s for s in report.suggestions if len(s.columns) > 1]
    assert combined and combined[0].k_after >= 2
    assert any(s.generalizations == ("suppressed (column dropped)",) for s in report.suggestions)


def test_suggestion_raises_k_phrase():
    rows = 40
    table = {"age": [str(20 + i) for i in range(rows)], "sex": ["F", "M"] * (rows // 2)}
    report = assess(table, k_threshold=5)
    by = {(s.columns, s.generalizations): s for s in report.suggestions}
    ten = by[(("age",), ("10-year bands",))]
    assert ten.k_before == 1 and ten.k_after == 5
    assert ten.text.startswith("age -> 10-year bands raises k from 1 to 5")


def test_direct_identifiers_are_not_quasi_identifiers():
    report = assess()
    assert [(d.column, d.entity) for d in report.direct_identifiers] == [("email", "EMAIL")]
    assert "email" not in {q.column for q in report.quasi_identifiers}


@pytest.mark.parametrize(("name", "values", "kind"), [
    ("age", ["34", "71", "5"], "age"),
    ("PatientAge", ["34.5", "71", "5"], "age"),
    ("date_of_birth", ["1980-02-03", "1975-12-31", "03/04/1990"], "date"),
    ("dob", ["19800203", "19751231"], "date"),
    ("zip_code", ["12345", "99501-1234", "SW1A 1AA"], "postcode"),
    ("Sex", ["F", "M", "X", "f"], "gender"),
    ("city", ["Berlin", "Lyon", "Porto"], "category"),
    ("nationality", ["DE", "FR", "PT"], "category"),
])
def test_quasi_identifier_detection(name, values, kind):
    report = assess({name: values * 5, "other": ["x"] * (5 * len(values))})
    assert [(q.column, q.kind) for q in report.quasi_identifiers] == [(name, kind)]


@pytest.mark.parametrize(("name", "values"), [
    ("age", ["3 days ago", "last week", "yesterday"]),  # age of a record, not a person
    ("age", ["250", "999", "1000"]),  # not human ages
    ("birth", ["3f2a9c1d0b8e7f6a5d4c3b2a1f0e9d8c7b6a5f4e", "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d"]),  # SHAs
    ("created_at", ["2024-01-02T10:11:12Z", "2023-05-06T01:02:03Z"]),  # a timestamp, not a birth date
    ("zip", ["a long free-text note about the delivery", "another long free-text note here"]),
    ("sex", [f"value {i}" for i in range(30)]),  # too many distinct values
    ("state", ["100234", "100235", "100236"]),  # numeric ids
    ("order_number", ["INV-2024-0001", "INV-2024-0002"]),
    ("version", ["1.2.3.4", "10.0.0.1"]),
    ("uuid", ["123e4567-e89b-12d3-a456-426614174000", "00000000-0000-0000-0000-000000000000"]),
])
def test_quasi_identifier_hard_negatives(name, values):
    report = assess({name: values * 3})
    assert report.quasi_identifiers == ()
    assert report.k == report.rows  # one class


def test_header_kind_and_shape():
    assert header_kind("zipCode") == "postcode"
    assert header_kind("usage") is None  # "age" only as a whole word
    assert header_kind("birth_year") == "date"
    assert shape_kind("age", [None, "  "]) == (False, "no values")


@pytest.mark.parametrize(("value", "label", "expected"), [
    ("34", "10-year bands", "30-39"), ("34.9", "5-year bands", "30-34"), ("abc", "5-year bands", "abc"),
    ("1980-02-03", "year only", "1980"), ("03/04/1987", "decade", "1980-1989"),
    ("1983-01-01", "5-year bands of the year", "1980-1984"), ("unknown", "year only", "unknown"),
    ("sw1a 1aa", "first 3 characters", "SW1"), ("99501-1234", "first 4 characters", "9950"),
])
def test_generalize_value(value, label, expected):
    gen = next(g for ladder in GENERALIZATIONS.values() for g in ladder if g.label == label)
    assert _generalize_value(value, gen) == expected


def test_arrow_generalization_of_typed_columns():
    table = pa.table({"age": pa.array([34, 36, None, 200], pa.int64()),
                      "dob": pa.array([0, 4000, 20000, None], pa.date32())})
    frame = _ArrowFrame(table)
    ages = frame._array(("age", GENERALIZATIONS["age"][1])).to_pylist()
    assert ages == ["30-39", "30-39", None, "200"]
    years = frame._array(("dob", GENERALIZATIONS["date"][0])).to_pylist()
    assert years == ["1970", "1980", "2024", None]


@settings(max_examples=150)
@given(st.lists(st.one_of(st.none(), st.text(max_size=30), st.integers(-5, 300).map(str),
                          st.dates().map(str)), min_size=1, max_size=30),
       st.sampled_from([g for ladder in GENERALIZATIONS.values() for g in ladder]))
def test_arrow_and_python_generalizations_agree(values, gen):
    frame = _ArrowFrame(pa.table({"c": pa.array(values, pa.string())}))
    assert frame._array(("c", gen)).to_pylist() == [_generalize_value(v, gen) for v in values]


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(["age", "zip", "sex", "city", "dob", "x", "notes"]),
                       st.lists(st.one_of(st.none(), st.text(max_size=20)), min_size=6, max_size=6),
                       min_size=1, max_size=4))
def test_random_tables_never_raise_and_engines_agree(columns):
    a = assess(columns, engine="pyarrow")
    b = assess(columns, engine="python")
    assert replace(a, engine="x") == replace(b, engine="x")
    risk_findings(a, "t.csv")
    format_risk_report(a)


def test_findings_never_show_values():
    report = assess(sensitive=["dx"], k_threshold=2)
    findings = risk_findings(report, "people.csv")
    ids = sorted(f.rule_id for f in findings)
    assert ids == ["MW-RISK-001", "MW-RISK-002", "MW-RISK-003"]
    k_finding = next(f for f in findings if f.rule_id == "MW-RISK-001")
    assert k_finding.severity.value == "high" and "k-anonymity over age, zip, sex is 1" in k_finding.message
    text = repr([f.to_dict() for f in findings]) + format_risk_report(report) + repr(report.to_dict())
    for raw in ("person0@example.org", "12345", "hiv", "asthma"):
        assert raw not in text


def test_no_findings_for_a_safe_table():
    table = {"age": ["30", "31", "32", "33", "34"] * 4, "sex": ["F"] * 20, "dx": ["a", "b"] * 10}
    report = assess(table, quasi_identifiers=["sex"], sensitive=["dx"], k_threshold=5)
    assert report.k == 20 and risk_findings(report, "t.csv") == []


def test_usage_errors():
    with pytest.raises(UsageError, match="unknown quasi-identifier column"):
        assess(quasi_identifiers=["nope"])
    with pytest.raises(UsageError, match="both"):
        assess(quasi_identifiers=["dx"], sensitive=["dx"])
    with pytest.raises(UsageError, match="same length"):
        assess({"a": ["1"], "b": ["1", "2"]})
    with pytest.raises(UsageError, match="at least 1"):
        assess(k_threshold=0)


def test_empty_table():
    report = assess({"age": []})
    assert (report.rows, report.k, report.unique_share) == (0, 0, 0.0)
    assert risk_findings(report, "t.csv") == []


def test_load_table_csv_tsv_parquet(tmp_path):
    import pyarrow.parquet as pq

    csv_path = tmp_path / "t.csv"
    csv_path.write_text("age,zip,age\n34,12345,1\n36,12346,2\n")
    table = load_table(csv_path)
    assert isinstance(table, pa.Table) and table.column_names == ["age", "zip", "age (2)"]
    tsv = tmp_path / "t.tsv"
    tsv.write_text("age\tsex\n34\tF\n")
    assert load_table(tsv).column_names == ["age", "sex"]
    pq.write_table(pa.table({"age": [1, 2]}), tmp_path / "t.parquet")
    assert load_table(tmp_path / "t.parquet").num_rows == 2
    with pytest.raises(InputError):
        load_table(tmp_path / "missing.csv")


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=300))
def test_load_table_on_junk_never_crashes(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("junk") / "j.csv"
    path.write_bytes(data)
    try:
        load_table(path)
    except InputError as error:
        assert "could not be read" in str(error)


def test_python_fallback_reader(tmp_path):
    from mlwarden.privacy.files import column_names, sniff_delimiter
    from mlwarden.privacy.risk import _read_csv_python

    path = tmp_path / "t.csv"
    path.write_text("age;zip\n34;12345\n36\n")
    assert _read_csv_python(path, column_names, sniff_delimiter) == {"age": ["34", "36"], "zip": ["12345", None]}


def test_million_rows_in_seconds(capsys):
    rng = random.Random(7)
    n = 1_000_000
    table = pa.table({
        "age": pa.array([rng.randint(18, 90) for _ in range(n)], pa.int64()),
        "zip": pa.array([str(rng.randint(10000, 10999)) for _ in range(n)], pa.string()),
        "sex": pa.array([rng.choice("FM") for _ in range(n)], pa.string()),
        "dx": pa.array([rng.choice(("a", "b", "c")) for _ in range(n)], pa.string()),
    })
    start = time.perf_counter()
    report = assess(table, sensitive=["dx"])
    elapsed = time.perf_counter() - start
    with capsys.disabled():
        print(f"\nassess_risk on {n} rows x 4 columns: {elapsed:.2f} s, {len(report.suggestions)} suggestions")
    assert report.rows == n and report.k >= 1 and report.suggestions
    assert elapsed < 120  # measured ~1 s; only a guard against a non-vectorized path
