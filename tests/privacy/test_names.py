"""Tests for the PERSON and STREET_ADDRESS recognizers (rules path only: spaCy is not installed in CI)."""

from __future__ import annotations

import re
import time
from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlwarden.privacy import names
from mlwarden.privacy.model import ENTITIES, PiiHit, Recognizer
from mlwarden.privacy.names import AddressRecognizer, PersonRecognizer, mask_words, ner_backend

PERSON = PersonRecognizer()
ADDRESS = AddressRecognizer()


def _spans(recognizer: Recognizer, text: str) -> list[str]:
    return [text[hit.start:hit.end] for hit in recognizer.find(text)]


def _only(recognizer: Recognizer, text: str) -> PiiHit:
    hits = list(recognizer.find(text))
    assert len(hits) == 1, [(text[h.start:h.end], h.reason) for h in hits]
    return hits[0]


# --- protocol, data ---------------------------------------------------------------------------------------------


def test_recognizers_follow_the_protocol() -> None:
    for recognizer in (PERSON, ADDRESS):
        assert isinstance(recognizer.name, str) and recognizer.name
        assert all(entity in ENTITIES for entity in recognizer.entities)
    assert PERSON.entities == ("PERSON",)
    assert ADDRESS.entities == ("STREET_ADDRESS",)


def test_ner_backend_is_rules_without_spacy() -> None:
    assert ner_backend() == "rules"
    assert PersonRecognizer().use_ner is False


@pytest.mark.parametrize(("filename", "minimum"), [("first_names.txt", 400), ("surnames.txt", 400)])
def test_name_lists_are_package_data_with_a_header(filename: str, minimum: int) -> None:
    text = resources.files("mlwarden.privacy").joinpath("data", filename).read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0].startswith("#") and "not taken from any test-data generator" in lines[0]
    entries = [line for line in lines[1:] if line.strip()]
    assert len(entries) >= minimum
    assert all(" " not in entry and entry[0].isupper() for entry in entries)


def test_mask_keeps_only_initials() -> None:
    assert mask_words("John Smith") == "J*** S****"
    assert mask_words("Hauptstr. 5a") == "H*******. #*"
    assert mask_words("SW1A 2AA") == "S*#* #**"


# --- PERSON: positives ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name", "minimum", "reason"),
    [
        ("Hello, my name is John Smith and I live here.", "John Smith", 0.9, "my name is"),
        ("Dear Anna,\nthank you for your letter.", "Anna", 0.8, "Dear"),
        ("Dr. Müller will see you now.", "Müller", 0.85, "title"),
        ("Appointment with Dr Smith at noon.", "Smith", 0.85, "title"),
        ("Rendez-vous avec M. Dupont demain.", "Dupont", 0.85, "title"),
        ("Sehr geehrte Frau Schmidt,", "Schmidt", 0.85, "Frau"),
        ("Atendido por Sra. García ayer.", "García", 0.85, "Sra."),
        ("Patient: Xavier Quux, admitted 3 days ago", "Xavier Quux", 0.7, "Patient"),
        ("patient Mehmet Yılmaz was discharged", "Mehmet Yılmaz", 0.9, "patient"),
        ('{"name": "Zed Xylo", "id": 4}', "Zed Xylo", 0.7, "name"),
        ('{"full_name": "Priya Sharma"}', "Priya Sharma", 0.9, "name"),
        ("Signed by Maria García on behalf of the board", "Maria García", 0.9, "Signed by"),
        ("Sincerely,\nWojciech Nowak", "Wojciech Nowak", 0.9, "Sincerely"),
        ("contact: Lena Fischer (ops)", "Lena Fischer", 0.9, "contact"),
        ("The report was written by Giulia Rossi last year.", "Giulia Rossi", 0.85, "by"),
        ("John F. Kennedy was president.", "John F. Kennedy", 0.8, "surname list"),
        ("Yesterday Ahmed Hassan joined the team.", "Ahmed Hassan", 0.8, "given-name list"),
        ("Ping Wei Chen met Thomas Müller-Lüdenscheidt", "Thomas Müller-Lüdenscheidt", 0.55, "given-name list"),
        ("Reviewer: Sean O'Brien", "Sean O'Brien", 0.8, "surname list"),
        ("as noted by J. Smith in the appendix", "J. Smith", 0.55, "initial"),
        ("Vincent van Gogh painted it", "Vincent van Gogh", 0.55, "given-name list"),
    ],
)
def test_person_positives(text: str, name: str, minimum: float, reason: str) -> None:
    hits = [hit for hit in PERSON.find(text) if text[hit.start:hit.end] == name]
    assert hits, [(text[h.start:h.end], h.reason) for h in PERSON.find(text)]
    hit = hits[0]
    assert hit.entity == "PERSON" and hit.recognizer == PERSON.name
    assert hit.confidence >= minimum
    assert reason.lower() in hit.reason.lower()
    assert name not in hit.masked and name not in hit.reason


def test_context_raises_confidence_over_the_list_alone() -> None:
    plain = _only(PERSON, "Yesterday Anna Kowalski called.")
    cued = _only(PERSON, "Yesterday Dr. Anna Kowalski called.")
    assert cued.confidence > plain.confidence
    listed = _only(PERSON, "Yesterday Anna Kowalski called.")
    shaped = _only(PERSON, "Yesterday Anna Quuxington called.")
    assert listed.confidence > shaped.confidence


def test_ambiguous_given_names_need_a_surname_or_context() -> None:
    assert _spans(PERSON, "In May we shipped the model.") == []
    assert _spans(PERSON, "Will you review it? Mark the cells.") == []
    assert _spans(PERSON, "Mark Twain wrote it.") == []  # ambiguous first word, unlisted surname, no cue
    assert _spans(PERSON, "Written by Will") == ["Will"]
    assert _spans(PERSON, "Dear Mark, thanks") == ["Mark"]
    weak = _only(PERSON, "In May Johnson said so.")
    assert weak.confidence < 0.7


# --- PERSON: hard negatives -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "The Adam Optimizer converged after 3 epochs.",
        "Thank you, Team!",
        "Dear Customer, your order 12345 has shipped.",
        "Contact: Support",
        "Monday March 3 at 10:00:00 UTC",
        "New York City and Washington State",
        "Version 2 Street Fighter",
        "commit 3f2a9c1d4e5b6a7f8091a2b3c4d5e6f708192a3b by ci-bot",
        "uuid 123e4567-e89b-12d3-a456-426614174000",
        "Table Of Contents",
        "JOHN SMITH",  # all capitals are left to other signals
        "john smith",
        "Python Error Warning",
        "from Google import Model",
        "Hello World",
    ],
)
def test_person_negatives(text: str) -> None:
    assert _spans(PERSON, text) == []


def test_unlisted_given_name_without_cue_is_a_known_miss() -> None:
    assert _spans(PERSON, "Gonzalo Quixote filed it") == []
    assert _spans(PERSON, "Patient: Gonzalo Quixote") == ["Gonzalo Quixote"]


def test_min_confidence_filters() -> None:
    text = "Yesterday Anna Quuxington called."
    assert list(PersonRecognizer(min_confidence=0.9).find(text)) == []
    assert list(PersonRecognizer(min_confidence=0.5).find(text))


# --- STREET_ADDRESS ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "address", "minimum", "reason"),
    [
        ("Send it to 1600 Pennsylvania Ave NW, Washington, DC 20500 please",
         "1600 Pennsylvania Ave NW, Washington, DC 20500", 0.9, "ZIP"),
        ("350 5th Avenue, Suite 100, New York, NY 10118", "350 5th Avenue, Suite 100, New York, NY 10118", 0.9, "unit"),
        ("12 Main St\nSpringfield, IL 62701", "12 Main St\nSpringfield, IL 62701", 0.9, "state"),
        ("office: 42 Elm Street, Boston, MA", "42 Elm Street, Boston, MA", 0.8, "US city, state"),
        ("10 Downing Street, London SW1A 2AA", "10 Downing Street, London SW1A 2AA", 0.9, "UK town, postcode"),
        ("Flat 2, 221B Baker Street, London NW1 6XE", "221B Baker Street, London NW1 6XE", 0.9, "postcode"),
        ("lives at 221B Baker Street.", "221B Baker Street", 0.55, "street line"),
        ("Musterstraße 12, 10115 Berlin", "Musterstraße 12, 10115 Berlin", 0.9, "PLZ"),
        ("Hauptstr. 5a\n80331 München", "Hauptstr. 5a\n80331 München", 0.9, "PLZ"),
        ("Karl-Marx-Allee 90, 10243 Berlin", "Karl-Marx-Allee 90, 10243 Berlin", 0.9, "PLZ"),
        ("Berliner Straße 10, 60311 Frankfurt am Main", "Berliner Straße 10, 60311 Frankfurt am Main", 0.9, "PLZ"),
        ("Am Schillerplatz 4", "Am Schillerplatz 4", 0.6, "German street line"),
    ],
)
def test_address_positives(text: str, address: str, minimum: float, reason: str) -> None:
    hit = _only(ADDRESS, text)
    assert text[hit.start:hit.end] == address
    assert hit.entity == "STREET_ADDRESS" and hit.recognizer == ADDRESS.name
    assert hit.confidence >= minimum
    assert reason.lower() in hit.reason.lower()
    for word in re.findall(r"\w{3,}", address):
        assert word not in hit.masked and word not in hit.reason


@pytest.mark.parametrize(
    "text",
    [
        "I bought 3 apples and 2 Pears",
        "Version 2 Street Fighter",
        "Room 12",
        "2024-01-01T10:00:00 St Patrick",
        "released 10:15:00 Main Street edition",  # time before the street words
        "v1.2.3 Park Lane",
        "Der Weg 2 ist lang",
        "Straßenbahn 12 fährt",
        "order #12345 Invoice 2024-0042",
        "192.168.0.1 Main Rd",
        "sha 3f2a9c1 Lane",
        "Chapter 5 Lane Change",
    ],
)
def test_address_negatives(text: str) -> None:
    assert _spans(ADDRESS, text) == []


def test_street_line_alone_is_weaker_than_full_address() -> None:
    line = _only(ADDRESS, "12 Main St")
    full = _only(ADDRESS, "12 Main St, Springfield, IL 62701")
    assert line.confidence < full.confidence


# --- hostile input --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "A" + "a" * 200_000,
        "Abc Def " * 40_000,
        "Dr. " * 60_000,
        "1 " * 100_000,
        "Main " * 50_000 + "Street",
        "Karl-" * 50_000 + "Allee 5",
        "\x00\xff\ud800" * 50_000,
        "name: " * 40_000,
    ],
)
def test_hostile_text_is_bounded(text: str) -> None:
    started = time.perf_counter()
    for recognizer in (PERSON, ADDRESS):
        list(recognizer.find(text))
    assert time.perf_counter() - started < 2.0


def test_one_megabyte_of_mixed_text_is_fast() -> None:
    chunk = ("Dear Anna Kowalski, the model by John Smith was sent to 1600 Pennsylvania Ave NW, Washington, "
             "DC 20500 and Musterstraße 12, 10115 Berlin. Version 2 Street Fighter uses Adam Optimizer. ")
    text = (chunk * (1_000_000 // len(chunk) + 1))[:1_000_000]
    started = time.perf_counter()
    people = list(PERSON.find(text))
    places = list(ADDRESS.find(text))
    elapsed = time.perf_counter() - started
    assert people and places
    assert elapsed < 3.0  # measured about 0.5 s; generous for slow CI machines


@given(st.text(max_size=400))
def test_random_text_never_raises_person(text: str) -> None:
    for hit in PERSON.find(text):
        assert 0 <= hit.start < hit.end <= len(text)
        assert 0.0 <= hit.confidence <= 1.0
        assert len(hit.masked) == hit.end - hit.start
        assert re.search(r"[^\W\d_]{2}", hit.masked) is None  # at most one letter of any word survives


@given(st.text(alphabet=st.sampled_from(list("AaBbMSt1234 ,.\n-ßäStraeDrNW")), max_size=300))
def test_random_address_like_text_never_raises(text: str) -> None:
    for recognizer in (PERSON, ADDRESS):
        for hit in recognizer.find(text):
            assert 0 <= hit.start < hit.end <= len(text)
            assert len(hit.masked) == hit.end - hit.start


@given(st.text(max_size=400))
def test_random_text_never_raises_address(text: str) -> None:
    for hit in ADDRESS.find(text):
        assert 0 <= hit.start < hit.end <= len(text)
        assert hit.entity == "STREET_ADDRESS"


def test_spacy_pipeline_absent() -> None:
    assert names._spacy_pipeline() is None
