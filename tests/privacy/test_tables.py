from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mlwarden.privacy.tables import (
    StridedSampler,
    classify_columns,
    header_prior,
    sample_indices,
)
from tests.privacy.fake_analyzer import fake_analyze

EMAILS = [f"user{i}@example.org" for i in range(200)]
SSNS = [f"{100 + i % 800:03d}-{10 + i % 80:02d}-{1000 + i:04d}" for i in range(200)]


def classify(columns, **kwargs):
    return classify_columns(columns, analyze=fake_analyze, **kwargs)


def test_email_column_without_a_telling_name_is_found():
    verdicts = classify({"col_17": EMAILS, "amount": [str(i * 7) for i in range(200)]})
    assert [(v.column, v.entity) for v in verdicts] == [("col_17", "EMAIL")]
    verdict = verdicts[0]
    assert verdict.share == 1.0 and verdict.matches == verdict.sampled == 200
    assert 0.5 <= verdict.confidence <= 0.99
    assert 1 <= len(verdict.examples) <= 3


def test_masked_examples_never_equal_or_contain_raw_values():
    verdicts = classify({"email": EMAILS, "ssn": SSNS})
    raw = set(EMAILS) | set(SSNS)
    for verdict in verdicts:
        for example in verdict.examples:
            assert example not in raw
            assert not any(value in example for value in raw)
        assert not any(value in verdict.reason for value in raw)


def test_leaky_mask_from_a_recognizer_is_replaced():
    from mlwarden.privacy.model import PiiHit

    def leaky(text, **_):
        return [PiiHit("EMAIL", 0, len(text), 0.9, text, "leaky", "leaky")] if "@" in text else []

    verdict = classify_columns({"c": EMAILS}, analyze=leaky)[0]
    assert all(example not in EMAILS and set(example) == {"*"} for example in verdict.examples)


def test_header_prior_alone_does_not_flag_booleans():
    verdicts = classify({"ssn_check_status": ["true", "false", "true", "n/a"] * 50,
                         "ssn_count": [str(i % 3) for i in range(200)]})
    assert verdicts == []


def test_share_threshold_without_and_with_header_prior():
    mixed = SSNS[:90] + [f"order-{i}" for i in range(110)]  # 45% SSNs
    assert classify({"reference": mixed}) == []
    verdicts = classify({"ssn": mixed})
    assert [(v.column, v.entity) for v in verdicts] == [("ssn", "US_SSN")]
    assert 0.44 < verdicts[0].share < 0.46
    assert "header names it" in verdicts[0].reason
    assert classify({"reference": SSNS[:130] + ["x"] * 70})[0].entity == "US_SSN"  # 65% without prior


def test_header_prior_words():
    assert "US_SSN" in header_prior("ssn_check_status")
    assert "EMAIL" in header_prior("customerEmail")
    assert "PHONE" in header_prior("phone_number")
    assert header_prior("col_17") == frozenset()


def test_order_and_invoice_numbers_and_timestamps_are_not_personal():
    columns = {
        "order_id": [f"ORD-2024-{i:06d}" for i in range(300)],
        "created": [f"2024-03-{1 + i % 28:02d}T10:{i % 60:02d}:00Z" for i in range(300)],
        "sha": [f"{i:040x}" for i in range(300)],
        "score": [f"0.{i:04d}" for i in range(300)],
    }
    assert classify(columns) == []


def test_free_text_column_reports_entities_inside():
    notes = [f"Customer called about the invoice, Name: Ada Lovelace, reach at ada{i}@example.org today"
             for i in range(50)] + ["nothing personal in this rather long comment here"] * 50
    verdict = classify({"notes": notes})[0]
    assert verdict.free_text
    assert dict(verdict.entities) == {"EMAIL": 50, "PERSON": 50}
    assert verdict.matches == 50 and verdict.sampled == 100


def test_entities_filter_and_min_confidence():
    assert classify({"c": EMAILS}, entities={"US_SSN"}) == []
    assert classify({"c": SSNS}, min_confidence=0.95) == []


def test_empty_and_none_values_are_ignored():
    assert classify({"c": [None, "", "  "]}) == []
    verdict = classify({"c": EMAILS[:10] + [None] * 100})[0]
    assert verdict.sampled == 10


def test_sample_indices_are_deterministic_and_bounded():
    assert sample_indices(5, 10) == [0, 1, 2, 3, 4]
    picks = sample_indices(100_000, 1000)
    assert len(picks) == 1000 and picks == sorted(set(picks))
    assert picks[:500] == list(range(500)) and picks[-1] < 100_000 and picks[-1] > 99_000


def test_strided_sampler_is_bounded_and_spread():
    sampler = StridedSampler(100)
    for i in range(100_000):
        sampler.add(i)
    items = sampler.items()
    assert len(items) <= 101 and items[:50] == list(range(50))
    assert max(items) > 50_000  # reaches far into the stream
    assert sampler.seen == 100_000


@given(st.dictionaries(st.text(max_size=20), st.lists(st.one_of(st.none(), st.text(max_size=60)), max_size=30),
                       max_size=4))
def test_random_columns_never_raise(columns):
    for verdict in classify(columns):
        assert 0 <= verdict.share <= 1
