"""Recognizers: positives and hard negatives per entity, masking, confidence and context, hostile text."""

from __future__ import annotations

import random
import string
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlwarden.privacy.model import ENTITIES, PiiHit, Recognizer
from mlwarden.privacy.recognizers import (
    AadhaarRecognizer,
    CreditCardRecognizer,
    DateOfBirthRecognizer,
    DeTaxIdRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    IpAddressRecognizer,
    LabelledIdRecognizer,
    PhoneRecognizer,
    SecretRecognizer,
    UkNinoRecognizer,
    UrlCredentialsRecognizer,
    UsSsnRecognizer,
    mask,
)

ALL: list[Recognizer] = [
    EmailRecognizer(), PhoneRecognizer(), CreditCardRecognizer(), IbanRecognizer(), UsSsnRecognizer(),
    UkNinoRecognizer(), DeTaxIdRecognizer(), AadhaarRecognizer(), IpAddressRecognizer(), DateOfBirthRecognizer(),
    LabelledIdRecognizer(), UrlCredentialsRecognizer(), SecretRecognizer(),
]


def found(recognizer: Recognizer, text: str, min_confidence: float = 0.5) -> list[str]:
    """The matched substrings of hits at or above ``min_confidence``."""
    return [text[hit.start:hit.end] for hit in recognizer.find(text) if hit.confidence >= min_confidence]


def one(recognizer: Recognizer, text: str) -> PiiHit:
    hits = list(recognizer.find(text))
    assert len(hits) == 1, hits
    return hits[0]


# --- positives and hard negatives, one table per entity -------------------------------------------------------

CASES: list[tuple[Recognizer, str, str | None]] = [
    # (recognizer, text, expected match or None for a hard negative)
    (EmailRecognizer(), "mail jane.roe+news@mail.acme.co.uk today", "jane.roe+news@mail.acme.co.uk"),
    (EmailRecognizer(), "user@host without tld", None),
    (EmailRecognizer(), "pip install pkg@1.2.3", None),
    (EmailRecognizer(), "git@github.com:org/repo.git", "git@github.com"),
    (PhoneRecognizer(), "Call me on +49 151 12345678.", "+49 151 12345678"),
    (PhoneRecognizer(), "tel: +44 20 7946 0958", "+44 20 7946 0958"),
    (PhoneRecognizer(), "Phone (555) 123-4567", "(555) 123-4567"),
    (PhoneRecognizer(), "Telefon 030 12345678", "030 12345678"),
    (PhoneRecognizer(), "Tél. 06 12 34 56 78", "06 12 34 56 78"),
    (PhoneRecognizer(), "Order 555-123-4567 shipped", None),
    (PhoneRecognizer(), "Invoice no 030 12345678", None),
    (PhoneRecognizer(), "ticket 555 123 4567", None),
    (PhoneRecognizer(), "logged at 2023-01-15 10:30:00", None),
    (PhoneRecognizer(), "on 15.01.2023 we met", None),
    (PhoneRecognizer(), "version 10.20.30.40", None),
    (PhoneRecognizer(), "address 192.168.100.200", None),
    (PhoneRecognizer(), "price 1 000 000 and 250.000.000", None),
    (PhoneRecognizer(), "+999 1234 5678 is no country", None),
    (CreditCardRecognizer(), "card 4111 1111 1111 1111 exp", "4111 1111 1111 1111"),
    (CreditCardRecognizer(), "amex 3782-822463-10005", "3782-822463-10005"),
    (CreditCardRecognizer(), "paid with 5555555555554444", "5555555555554444"),
    (CreditCardRecognizer(), "card 4111 1111 1111 1112", None),  # Luhn fails
    (CreditCardRecognizer(), "number 9111111111111111", None),  # no brand starts with 9
    (CreditCardRecognizer(), "order id 4111111111111111", None),  # labelled as an order
    (CreditCardRecognizer(), "1.4111111111111111", None),  # a decimal
    (IbanRecognizer(), "IBAN: DE89 3704 0044 0532 0130 00, thanks", "DE89 3704 0044 0532 0130 00"),
    (IbanRecognizer(), "pay GB82WEST12345698765432 now", "GB82WEST12345698765432"),
    (IbanRecognizer(), "IBAN DE89 3704 0044 0532 0130 01", None),  # mod-97 fails
    (IbanRecognizer(), "code XX12 3456 7890 1234", None),
    (UsSsnRecognizer(), "SSN: 536-22-1234", "536-22-1234"),
    (UsSsnRecognizer(), "id 536-22-1234 on file", "536-22-1234"),
    (UsSsnRecognizer(), "social security number 536221234", "536221234"),
    (UsSsnRecognizer(), "reference 536221234", None),  # bare digits need a label
    (UsSsnRecognizer(), "SSN 666-12-3456", None),
    (UsSsnRecognizer(), "SSN 123-00-4567", None),
    (UsSsnRecognizer(), "sample 078-05-1120", None),
    (UkNinoRecognizer(), "NI number: AB 12 34 56 C", "AB 12 34 56 C"),
    (UkNinoRecognizer(), "JG103759A", "JG103759A"),
    (UkNinoRecognizer(), "QQ 12 34 56 C", None),
    (UkNinoRecognizer(), "GB123456A", None),
    (DeTaxIdRecognizer(), "Steuer-ID: 86095742719", "86095742719"),
    (DeTaxIdRecognizer(), "Identifikationsnummer 86 095 742 719", "86 095 742 719"),
    (DeTaxIdRecognizer(), "Kundennummer 86095742719", None),  # valid but no label: below 0.5
    (DeTaxIdRecognizer(), "Steuer-ID: 86095742718", None),
    (AadhaarRecognizer(), "Aadhaar: 4991 1866 5246", "4991 1866 5246"),
    (AadhaarRecognizer(), "UID 499118665246", "499118665246"),
    (AadhaarRecognizer(), "Aadhaar: 4991 1866 5247", None),
    (AadhaarRecognizer(), "Aadhaar: 1991 1866 5246", None),
    (IpAddressRecognizer(), "client 8.8.8.8 connected", "8.8.8.8"),
    (IpAddressRecognizer(), "from 2001:4860:4860::8888.", "2001:4860:4860::8888"),
    (IpAddressRecognizer(), "lan 192.168.1.20", "192.168.1.20"),
    (IpAddressRecognizer(), "version 1.2.3.4", None),
    (IpAddressRecognizer(), "build 10.0.0.1", None),
    (IpAddressRecognizer(), "v1.2.3.4", None),
    (IpAddressRecognizer(), "pkg 1.2.3.4.5", None),
    (IpAddressRecognizer(), "bad 999.1.1.1", None),
    (IpAddressRecognizer(), "at 12:30:45 and 2023-01-15T10:30:00Z", None),
    (IpAddressRecognizer(), "uuid 123e4567-e89b-12d3-a456-426614174000", None),
    (IpAddressRecognizer(), "std::vector<int> a::b", None),
    (IpAddressRecognizer(), "mac 00:1a:2b:3c:4d:5e", None),
    (DateOfBirthRecognizer(), "Date of birth: 03/04/1985", "03/04/1985"),
    (DateOfBirthRecognizer(), "born on 3 March 1985 in Leeds", "3 March 1985"),
    (DateOfBirthRecognizer(), "DOB 1985-03-03", "1985-03-03"),
    (DateOfBirthRecognizer(), "geboren am 12.04.1990", "12.04.1990"),
    (DateOfBirthRecognizer(), "Geburtsdatum: 3. März 1985", "3. März 1985"),
    (DateOfBirthRecognizer(), "née le 5 mai 1972", "5 mai 1972"),
    (DateOfBirthRecognizer(), "fecha de nacimiento: 5 de mayo de 1972", "5 de mayo de 1972"),
    (DateOfBirthRecognizer(), "nata il 5 maggio 1972", "5 maggio 1972"),
    (DateOfBirthRecognizer(), "data de nascimento 05/05/1972", "05/05/1972"),
    (DateOfBirthRecognizer(), "geboortedatum 5 mei 1972", "5 mei 1972"),
    (DateOfBirthRecognizer(), "born March 3, 1985", "March 3, 1985"),
    (DateOfBirthRecognizer(), "Meeting on 2023-01-15 about the release", None),
    (DateOfBirthRecognizer(), "invoice date 03/04/1985", None),
    (DateOfBirthRecognizer(), "DOB 1985-02-30", None),  # no such day
    (DateOfBirthRecognizer(), "born in Leeds, which is a lovely city by the river; we moved on 2001-05-05", None),
    (LabelledIdRecognizer(), "MRN: 00123456", "00123456"),
    (LabelledIdRecognizer(), "Patient ID A-1234567", "A-1234567"),
    (LabelledIdRecognizer(), "member id: XZ9876543", "XZ9876543"),
    (LabelledIdRecognizer(), "Account no. 12345678", "12345678"),
    (LabelledIdRecognizer(), "Driver's license D1234567", "D1234567"),
    (LabelledIdRecognizer(), "the medical record was lost", None),
    (LabelledIdRecognizer(), "order 12345678", None),
    (UrlCredentialsRecognizer(), "DB=postgres://admin:s3cr3tPa55@db.internal:5432/app",
     "postgres://admin:s3cr3tPa55@db.internal:5432"),
    (UrlCredentialsRecognizer(), "see https://example.com/path and mailto:a@b.c", None),
    (UrlCredentialsRecognizer(), "https://user@host.example/ only a user", None),
]


@pytest.mark.parametrize(("recognizer", "text", "expected"), CASES)
def test_positives_and_hard_negatives(recognizer: Recognizer, text: str, expected: str | None) -> None:
    matches = found(recognizer, text)
    if expected is None:
        assert matches == []
    else:
        assert matches == [expected]


def test_every_recognizer_declares_canonical_entities() -> None:
    for recognizer in ALL:
        assert recognizer.entities and all(entity in ENTITIES for entity in recognizer.entities)
        assert recognizer.name


# --- confidence and reasons ------------------------------------------------------------------------------------


def test_context_raises_confidence_and_is_named_in_the_reason() -> None:
    plain = one(CreditCardRecognizer(), "4111 1111 1111 1111")
    labelled = one(CreditCardRecognizer(), "Kreditkarte 4111 1111 1111 1111")
    assert labelled.confidence > plain.confidence
    assert "luhn valid" in labelled.reason and "kreditkarte" in labelled.reason


def test_ip_ranges_order_confidence() -> None:
    public = one(IpAddressRecognizer(), "8.8.8.8").confidence
    private = one(IpAddressRecognizer(), "10.1.2.3").confidence
    loopback = one(IpAddressRecognizer(), "127.0.0.1").confidence
    assert public > private > loopback
    assert loopback < 0.5  # kept but below the default threshold


def test_phone_context_wins_over_a_farther_negative_word() -> None:
    hit = one(PhoneRecognizer(), "order shipped. Phone: 555-123-4567")
    assert hit.confidence >= 0.8


def test_labelled_entities_are_told_apart() -> None:
    text = "MRN 0012345, policy number HP-445566, acct no 99887766, licence number L99-8877"
    entities = [hit.entity for hit in LabelledIdRecognizer().find(text)]
    assert sorted(entities) == sorted(["MEDICAL_RECORD_NUMBER", "HEALTH_PLAN_NUMBER", "ACCOUNT_NUMBER",
                                       "LICENSE_NUMBER"])


def test_placeholder_password_in_url_is_low_confidence() -> None:
    assert one(UrlCredentialsRecognizer(), "redis://user:${REDIS_PASSWORD}@cache:6379").confidence < 0.5


def fake_token() -> str:
    rng = random.Random(7)
    return "hf" + "_" + "".join(rng.choice(string.ascii_letters) for _ in range(34))


def test_secret_hits_have_absolute_offsets_and_the_secret_mask() -> None:
    token = fake_token()
    text = f"first line\nsecond line\nlogin(token=\"{token}\")\n"
    hit = one(SecretRecognizer(), text)
    assert text[hit.start:hit.end] == token
    assert hit.entity == "SECRET" and hit.masked.startswith("hf_…(37 chars")
    assert token not in repr(hit)


# --- masking -----------------------------------------------------------------------------------------------


def test_mask_keeps_only_type_telling_parts() -> None:
    assert mask("EMAIL", "john.doe@example.com") == "j***@e***.com"
    assert mask("CREDIT_CARD", "4111-1111-1111-1234") == "**** **** **** 1234"
    assert mask("IBAN", "DE89 3704 0044 0532 0130 00") == "DE****************3000"
    assert mask("PHONE", "+49 151 12345678") == "+***********78"
    assert mask("US_SSN", "536-22-1234") == "5***(11 chars)"
    assert mask("URL_WITH_CREDENTIALS", "https://bob:hunter2@host.example") == "https://***:***@host.example"


@pytest.mark.parametrize(("recognizer", "text", "expected"), [case for case in CASES if case[2]])
def test_no_hit_carries_the_raw_value(recognizer: Recognizer, text: str, expected: str) -> None:
    for hit in recognizer.find(text):
        value = text[hit.start:hit.end]
        assert value not in hit.masked and value not in hit.reason


# --- hostile text ----------------------------------------------------------------------------------------------

HOSTILE = [
    "1" * 200_000, "1." * 100_000, "+1 " * 60_000, ":" * 200_000, "a:" * 100_000, "@a." * 60_000,
    "x" * 200_000, "born " * 40_000, "MRN " * 40_000, "://a:b@" * 30_000, "4111 " * 40_000, "DE89 " * 40_000,
    "\x00\xff\ud800" * 50_000,
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_text_is_fast(text: str) -> None:
    for recognizer in ALL:
        began = time.perf_counter()
        list(recognizer.find(text))
        assert time.perf_counter() - began < 1.0, recognizer.name


_PIECES = st.sampled_from([
    "+", "+49 ", "(", ")", "-", ".", " ", ":", "::", "@", "://", "0", "1", "4111", "DE89", "born ", "DOB ",
    "MRN ", "SSN ", "March ", "1985", "version ", "ß", "İ", "\n", "a", "Z",
])


@given(st.one_of(st.text(max_size=200), st.lists(_PIECES, max_size=40).map("".join)))
def test_random_text_never_raises_and_spans_are_sane(text: str) -> None:
    for recognizer in ALL:
        for hit in recognizer.find(text):
            assert 0 <= hit.start < hit.end <= len(text)
            assert 0.0 <= hit.confidence <= 1.0
            assert hit.entity in recognizer.entities


def test_no_aadhaar_inside_a_card_number_and_spanish_versions_are_not_ips():
    from mlwarden.privacy.text import analyze_text

    card = "Karte 4111 1111 1111 1111 hinterlegt"
    assert [h.entity for h in analyze_text(card)] == ["CREDIT_CARD"]
    # a valid Aadhaar on its own (Verhoeff check digit) is still found with its label
    from mlwarden.privacy.validators import aadhaar_valid

    number = next(f"2345 6789 01{a}{b}" for a in "0123456789" for b in "0123456789"
                  if aadhaar_valid(f"2345 6789 01{a}{b}"))
    assert "IN_AADHAAR" in [h.entity for h in analyze_text(f"Aadhaar: {number}")]
    assert not [h for h in analyze_text("Instalada la versión 10.2.3.4 ayer") if h.entity == "IP_ADDRESS"]
