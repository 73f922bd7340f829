"""analyze_text: the registry, entity and confidence filters, overlap resolution, custom patterns, speed."""

from __future__ import annotations

import random
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlwarden.core.errors import UsageError
from mlwarden.privacy.model import PiiHit
from mlwarden.privacy.recognizers import EmailRecognizer
from mlwarden.privacy.text import CustomPattern, analyze_text, default_recognizers, resolve_overlaps

RECORD = (
    "Contact: jane.roe@acme.io, phone +49 151 12345678.\n"
    "Card 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00.\n"
    "SSN 536-22-1234; date of birth 3 March 1985; server 8.8.8.8; version 1.2.3.4.\n"
    "Order 555-123-4567 shipped on 2023-01-15 10:30:00.\n"
)


def spans(hits: list[PiiHit], text: str) -> list[tuple[str, str]]:
    return [(hit.entity, text[hit.start:hit.end]) for hit in hits]


def test_finds_each_entity_once_sorted_by_start() -> None:
    hits = analyze_text(RECORD)
    found = [(entity, value) for entity, value in spans(hits, RECORD) if entity not in ("PERSON", "STREET_ADDRESS")]
    assert found == [
        ("EMAIL", "jane.roe@acme.io"),
        ("PHONE", "+49 151 12345678"),
        ("CREDIT_CARD", "4111 1111 1111 1111"),
        ("IBAN", "DE89 3704 0044 0532 0130 00"),
        ("US_SSN", "536-22-1234"),
        ("DATE_OF_BIRTH", "3 March 1985"),
        ("IP_ADDRESS", "8.8.8.8"),
    ]
    assert [hit.start for hit in hits] == sorted(hit.start for hit in hits)


def test_entities_filter_and_min_confidence() -> None:
    only_cards = analyze_text(RECORD, entities={"CREDIT_CARD"})
    assert [hit.entity for hit in only_cards] == ["CREDIT_CARD"]
    loose = analyze_text("lo 127.0.0.1", min_confidence=0.0, entities=["IP_ADDRESS"])
    assert [hit.entity for hit in loose] == ["IP_ADDRESS"]
    assert analyze_text("lo 127.0.0.1", entities=["IP_ADDRESS"]) == []


def test_empty_text_and_unknown_entity() -> None:
    assert analyze_text("") == []
    assert analyze_text(RECORD, entities={"NO_SUCH_ENTITY"}) == []


def test_overlaps_keep_the_most_confident_then_the_longest() -> None:
    def hit(entity: str, start: int, end: int, confidence: float) -> PiiHit:
        return PiiHit(entity, start, end, confidence, "x***", "test", "test")

    kept = resolve_overlaps([hit("PHONE", 0, 10, 0.5), hit("CREDIT_CARD", 0, 19, 0.9), hit("EMAIL", 25, 30, 0.9),
                             hit("SECRET", 20, 40, 0.9), hit("US_SSN", 41, 50, 0.6)])
    assert [(item.entity, item.start) for item in kept] == [("CREDIT_CARD", 0), ("SECRET", 20), ("US_SSN", 41)]


def test_url_credentials_win_over_the_email_and_secret_inside() -> None:
    text = "DATABASE_URL=postgres://admin:Xq9vLm2pR7tZ@db.acme.io:5432/app"
    hits = analyze_text(text)
    assert [hit.entity for hit in hits] == ["URL_WITH_CREDENTIALS"]


def test_no_hit_reveals_the_value() -> None:
    for hit in analyze_text(RECORD):
        value = RECORD[hit.start:hit.end]
        assert value not in hit.masked and value not in hit.reason


def test_registry_loads_the_built_in_recognizers() -> None:
    names = {recognizer.name for recognizer in default_recognizers()}
    assert {"email", "phone", "credit_card", "iban", "secret", "date_of_birth"} <= names


def test_custom_pattern_with_validator_and_context() -> None:
    employee = CustomPattern("EMPLOYEE_ID", r"\bEMP-\d{6}\b", context=("staff",), confidence=0.6)
    luhn_ids = CustomPattern("LOYALTY_CARD", r"\b\d{8}\b", validator="luhn", confidence=0.7)
    text = "staff EMP-123456, loyalty 79927398, other 79927399, EMP-654321"
    hits = analyze_text(text, recognizers=[employee, luhn_ids])
    assert spans(hits, text) == [("EMPLOYEE_ID", "EMP-123456"), ("LOYALTY_CARD", "79927398"),
                                 ("EMPLOYEE_ID", "EMP-654321")]
    assert hits[0].confidence == 0.9 and "context 'staff'" in hits[0].reason
    assert hits[2].confidence == 0.6
    assert hits[0].masked == "E***(10 chars)"


def test_custom_pattern_added_to_the_defaults() -> None:
    custom = CustomPattern("EMPLOYEE_ID", r"EMP-\d{6}")
    hits = analyze_text("EMP-123456 mail a.b@acme.io", recognizers=[*default_recognizers(), custom])
    assert {hit.entity for hit in hits} >= {"EMPLOYEE_ID", "EMAIL"}


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"entity": "X", "regex": "("}, "not a valid regex"),
    ({"entity": "X", "regex": "a", "validator": "nope"}, "unknown validator"),
    ({"entity": "X", "regex": "a", "confidence": 2.0}, "between 0 and 1"),
    ({"entity": "bad label!", "regex": "a"}, "must be a label"),
])
def test_custom_pattern_errors_are_usage_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        CustomPattern(**kwargs)  # type: ignore[arg-type]


def test_custom_pattern_skips_empty_matches() -> None:
    assert analyze_text("abc", recognizers=[CustomPattern("X", r"\d*")]) == []


def test_one_megabyte_of_mixed_text_is_fast() -> None:
    rng = random.Random(0)
    words = ["the", "patient", "was", "seen", "on", "2023-01-15", "and", "call", "+49 151 12345678", "order",
             "555-123-4567", "jane@acme.io", "version", "1.2.3", "8.8.8.8", "born", "3 March 1985", "x" * 20,
             "lorem", "ipsum", "dolor", "42", "3.14", "MRN:", "A123456"]
    text = " ".join(rng.choice(words) for _ in range(140_000))[:1_000_000]
    began = time.perf_counter()
    hits = analyze_text(text, recognizers=[*default_recognizers()])
    elapsed = time.perf_counter() - began
    assert hits
    assert elapsed < 3.0  # well under a second on a developer machine; slack for loaded CI runners


def test_plain_prose_megabyte_is_fast() -> None:
    text = "The quick brown fox jumps over the lazy dog near the river bank. " * 16_000
    began = time.perf_counter()
    analyze_text(text)
    assert time.perf_counter() - began < 2.0


@given(st.text(max_size=300))
def test_random_text_never_raises(text: str) -> None:
    hits = analyze_text(text, min_confidence=0.0)
    assert [hit.start for hit in hits] == sorted(hit.start for hit in hits)
    for before, after in zip(hits, hits[1:], strict=False):
        assert before.end <= after.start


def test_explicit_recognizers_replace_the_registry() -> None:
    hits = analyze_text(RECORD, recognizers=[EmailRecognizer()])
    assert [hit.entity for hit in hits] == ["EMAIL"]


def test_each_recognizer_is_capped_in_one_place():
    from mlwarden.privacy.recognizers import MAX_HITS_PER_RECOGNIZER
    from mlwarden.privacy.text import analyze_text

    text = " ".join(f"user{i}@corp.io" for i in range(MAX_HITS_PER_RECOGNIZER + 500))
    assert len(analyze_text(text, entities=["EMAIL"])) == MAX_HITS_PER_RECOGNIZER
