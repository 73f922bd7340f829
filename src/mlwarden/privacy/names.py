"""Recognizers for people's names (PERSON) and postal street addresses (STREET_ADDRESS) in free text.

Rules first: context cues (titles, "my name is", "Dear", "patient", ...), a list of common given names and
surnames (package data in ``privacy/data``), and small grammars for US, UK and German street addresses. An
optional spaCy model, when one is already installed, only adds recall to PERSON.

This module must never download anything, never put a found name or address into a reason, a mask or an
exception (hits carry offsets and a masked form only), and never run a pattern whose time grows faster than
the text: every pattern is precompiled with bounded quantifiers and context windows have a fixed size.
"""

from __future__ import annotations

import importlib.util
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from mlwarden.privacy.model import PiiHit

__all__ = ["AddressRecognizer", "PersonRecognizer", "mask_words", "ner_backend"]

# --------------------------------------------------------------------------------------------------------------
# Data. Where it comes from: the name lists are typed for mlwarden from general knowledge (see the header line of
# each file); the word lists below are common English/German/French/Spanish capitalised words, month and weekday
# names, place names and ML vocabulary that start sentences or headings and would otherwise pass for surnames.
# --------------------------------------------------------------------------------------------------------------

# Given names that are also ordinary words, months or places: a pair with them needs a listed surname or a cue.
AMBIGUOUS_GIVEN_NAMES: tuple[str, ...] = (
    "May", "Will", "Mark", "Bill", "Ray", "Rose", "Hope", "Joy", "June", "April", "Grace", "Ruby", "Amber", "Lily",
    "Carol", "Frank", "Jack", "Jordan", "Austin", "Madison", "Virginia", "Victoria", "Charlotte", "Christian",
    "Pat", "Don", "Art", "Guy", "Dawn", "Faith", "Can", "Sultan", "Eva", "Ali", "Noor", "Jean", "Ann", "Rosa",
    "Leo", "Adam",
)

# Capitalised words that are never taken for a name, and end a run of name tokens.
STOP_WORDS: tuple[str, ...] = (
    # articles, pronouns, conjunctions, prepositions and sentence starters
    "The", "A", "An", "This", "That", "These", "Those", "There", "Here", "It", "Its", "We", "You", "They", "He",
    "She", "I", "My", "Our", "Your", "Their", "His", "Her", "And", "Or", "But", "If", "When", "While", "Then",
    "In", "On", "At", "By", "For", "From", "To", "Of", "With", "Without", "As", "Is", "Are", "Was", "Were", "Be",
    "Not", "No", "Yes", "All", "Any", "Some", "Each", "Every", "Please", "Thanks", "Thank", "Hello", "Hi", "Hey",
    "Dear", "Regards", "Best", "Kind", "Sincerely", "Cheers", "Mit", "Der", "Die", "Das", "Und", "Le", "La",
    "Les", "El", "Los", "Las", "Il", "Lo", "De", "Van", "Von", "Du", "Di", "Da",
    # titles and cue words (a cue is read from the text before a name, never taken as the name)
    "Mr", "Mrs", "Ms", "Mx", "Miss", "Dr", "Prof", "Professor", "Sir", "Madam", "Herr", "Frau", "Mme", "Mlle",
    "Monsieur", "Madame", "Sr", "Sra", "Srta", "Señor", "Señora", "Sig", "Signor", "Signora", "Dott", "Pan",
    "Pani", "Bay", "Bayan", "Shri", "Smt", "Lord", "Lady", "Saint", "Name", "Patient", "Signed", "Contact",
    "Customer", "Client", "User", "Team", "Colleagues", "Friends", "Everyone", "Valued", "Member", "Manager",
    "Doctor", "Nurse", "Admin", "Support", "Sales", "Service", "Information", "Details", "Subject", "Re", "Fwd",
    "Jr", "Junior", "Senior",
    # months and weekdays (May, June and April are ambiguous given names, listed above)
    "January", "February", "March", "July", "August", "September", "October", "November", "December", "Monday",
    "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "Januar", "Februar", "Juni", "Juli",
    "Oktober", "Dezember", "Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag",
    # places: countries, US states, large cities, street words
    "America", "American", "England", "English", "Britain", "British", "France", "French", "Germany", "German",
    "Spain", "Spanish", "Italy", "Italian", "China", "Chinese", "India", "Indian", "Japan", "Japanese", "Europe",
    "European", "Africa", "Asia", "Canada", "Mexico", "Brazil", "Russia", "Turkey", "Poland", "Netherlands",
    "Dutch", "London", "Paris", "Berlin", "Madrid", "Rome", "Tokyo", "Beijing", "Delhi", "Mumbai", "Sydney",
    "Dublin", "Boston", "Chicago", "Houston", "Seattle", "Texas", "California", "Florida", "Georgia", "Carolina",
    "Washington", "York", "New", "North", "South", "East", "West", "Street", "Road", "Avenue", "Lane", "Drive",
    "City", "County", "State", "University", "College", "School", "Hospital", "Bank", "Company", "Inc", "Ltd",
    "Corp", "Group", "Department", "Ministry", "Office", "Center", "Centre", "Park", "Station", "Airport",
    # document, code and ML vocabulary
    "Version", "Chapter", "Section", "Figure", "Table", "Page", "Note", "Notes", "Example", "Summary", "Abstract",
    "Introduction", "Conclusion", "Results", "Methods", "Appendix", "Error", "Warning", "Exception", "Info",
    "Debug", "True", "False", "None", "Null", "Python", "Java", "Linux", "Windows", "Google", "Microsoft",
    "Apple", "Amazon", "Model", "Models", "Dataset", "Data", "Tensor", "Layer", "Linear", "Optimizer", "Loss",
    "Batch", "Epoch", "Training", "Train", "Test", "Validation", "Config", "Module", "Sequential", "Transformer",
    "Attention", "Embedding", "Dropout", "Norm", "Lambda", "Keras", "Torch", "Network", "Neural", "Learning",
    "Machine", "Deep", "Input", "Output", "File", "Path", "Type", "Class", "Function", "Method", "Value", "Key",
    "Total", "Date", "Time", "Year", "Day", "Week", "Month", "Today", "Tomorrow", "Yesterday", "Order", "Invoice",
    "Account", "Number", "Phone", "Email", "Address", "Room", "Building", "Floor", "Street", "Happy", "New",
    "Good", "Great", "Welcome", "Dear", "Status", "Report", "Project", "Product", "Price", "Free", "Open",
)

# Name particles that may sit between a given name and a surname ("Ludwig van Beethoven", "Juan de la Cruz").
NAME_PARTICLES: tuple[str, ...] = (
    "van", "von", "der", "den", "de", "del", "della", "da", "di", "du", "la", "le", "dos", "das", "bin", "ibn",
    "al", "el", "ter", "ten", "zu", "y",
)

# Installed spaCy pipelines tried in order; loaded only if the package is importable, never downloaded.
SPACY_MODELS: tuple[str, ...] = (
    "en_core_web_trf", "en_core_web_lg", "en_core_web_md", "en_core_web_sm", "xx_ent_wiki_sm", "de_core_news_sm",
    "fr_core_news_sm", "es_core_news_sm", "it_core_news_sm", "pt_core_news_sm", "nl_core_news_sm",
)

# Street-type words (English): USPS street suffixes and their standard abbreviations, plus common UK ones.
EN_STREET_SUFFIXES: tuple[str, ...] = (
    "Street", "Avenue", "Road", "Boulevard", "Lane", "Drive", "Court", "Way", "Place", "Terrace", "Circle",
    "Parkway", "Highway", "Square", "Crescent", "Close", "Grove", "Gardens", "Mews", "Row", "Walk", "Trail",
    "Alley", "Plaza", "Loop", "Hill", "Parade", "Esplanade", "Embankment", "Causeway", "Broadway",
)
EN_STREET_ABBREVIATIONS: tuple[str, ...] = (  # may end with a dot ("Ave."), which is part of the address
    "St", "Ave", "Av", "Rd", "Blvd", "Ln", "Dr", "Ct", "Pl", "Ter", "Cir", "Pkwy", "Hwy", "Sq", "Cres", "Gdns",
    "Trl",
)
# Unit designators after a street line (USPS secondary unit designators, UK "Flat").
EN_UNITS: tuple[str, ...] = ("Apt", "Apartment", "Suite", "Ste", "Unit", "Flat", "Fl", "Floor", "Rm", "Room", "#")
# US state and territory codes (USPS).
US_STATES: tuple[str, ...] = (
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY", "LA",
    "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK",
    "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY", "DC", "PR", "GU", "VI",
)
# German street-name endings (attached: "Musterstraße") and the same as separate words ("Berliner Straße").
DE_STREET_ENDINGS: tuple[str, ...] = (
    "straße", "strasse", "str.", "weg", "platz", "allee", "gasse", "ring", "damm", "ufer", "chaussee", "steig",
    "pfad", "markt",
)
DE_STREET_WORDS: tuple[str, ...] = (
    "Straße", "Strasse", "Str.", "Weg", "Platz", "Allee", "Gasse", "Ring", "Damm", "Ufer", "Chaussee", "Markt",
)

# --------------------------------------------------------------------------------------------------------------
# Patterns. Every quantifier is bounded, so a hostile line costs time linear in its length.
# --------------------------------------------------------------------------------------------------------------

_UP = "A-ZÀ-ÖØ-Þ\u0100-\u017f"  # Latin Extended-A mixes cases; the first letter is checked with str.isupper()
_LOW = "a-zß-öø-ÿ\u0100-\u017f"
_CAP = (
    rf"[{_UP}](?:['’]?[{_LOW}]{{0,3}}[{_UP}])?[{_LOW}]{{1,30}}"  # Smith, O'Brien, McDonald, DiCaprio
    rf"(?:[-'’][{_UP}]?[{_LOW}]{{1,30}}){{0,2}}"  # Müller-Lüdenscheidt
)
_PARTICLE = "|".join(NAME_PARTICLES)
_SEP = rf"[ \t]{{1,3}}(?:(?:{_PARTICLE})[ \t]{{1,3}}){{0,3}}|[ \t]{{1,3}}[{_UP}]\.?[ \t]{{1,3}}"
_NAME_RUN = re.compile(rf"(?<!\w)(?:{_CAP})(?:(?:{_SEP})(?:{_CAP})){{0,4}}(?![\w@])")
_NAME_TOKEN = re.compile(rf"(?<!\w){_CAP}(?!\w)")

_CUE = re.compile(
    r"(?<![A-Za-z])(?=[A-Za-z])(?:"  # every cue starts a word; saying so first lets the scan skip most positions
    r"(?P<title>\b(?:Mr|Mrs|Ms|Mx|Miss|Dr|Prof|Herr|Frau|Mme|Mlle|Sr|Sra|Srta|Sig|Sig\.ra|Dott|Pani?|Shri|Smt)"
    r"\b\.?|(?<![\w.])M\.)"
    r"|(?P<initial>(?<![\w.])[A-Z]\.)"
    r"|(?P<phrase>(?i:my[ \t]{1,3}name[ \t]{1,3}is|(?<![a-z])(?:(?:first|last|full|given|family|sur)[_ ]?)?"
    r"name\"?[ \t]{0,3}[:=]|\bpatient(?:[ \t]{1,3}name)?[ \t]{0,3}:?|\bdear|\bsigned(?:[ \t]{1,3}by)?[ \t]{0,3}:?"
    r"|\bsincerely,?|\bregards,?|\bcontact(?:[ \t]{1,3}person)?[ \t]{0,3}:|\battn\.?[ \t]{0,3}:?|\bc/o))"
    r"|(?P<weak>(?i:\bby|\bfrom|\bauthor[ \t]{0,3}:))"
    r")[\s\"'«:]{0,4}"
)

_SUFFIX = "|".join(EN_STREET_SUFFIXES)
_ABBREVIATION = "|".join(EN_STREET_ABBREVIATIONS)
_UNIT = "|".join(re.escape(u) for u in EN_UNITS)
_STATE = "|".join(US_STATES)
_EN_STREET = re.compile(
    r"(?<![\w.:/\-])(?P<num>\d{1,5}[A-Za-z]?(?:-\d{1,5})?)[ \t]{1,3}"
    r"(?P<name>(?:(?:[A-Z][a-z'’\-]{1,20}|\d{1,3}(?:st|nd|rd|th)|[NSEW]\.?)[ \t]{1,3}){1,4})"
    rf"(?P<suffix>(?:{_SUFFIX})|(?:{_ABBREVIATION})\.?)(?![\w])"
    r"(?:[ \t]{1,3}(?:NW|NE|SW|SE|N|S|E|W)\.?(?![\w]))?"
    rf"(?P<unit>,?[ \t]{{1,3}}(?:{_UNIT})\.?[ \t]{{0,2}}[A-Za-z0-9\-]{{1,6}}(?![\w]))?"
)
_TAIL_SEP = r"(?:,[ \t]{0,3}|[ \t]{1,3}|[ \t]{0,3}\r?\n[ \t]{0,3})"
_CITY = r"[A-Z][a-z]{1,20}(?:[ \t][A-Z][a-z]{1,20}){0,2}"
_US_TAIL = re.compile(
    rf"{_TAIL_SEP}(?P<city>{_CITY}),?[ \t]{{1,3}}(?P<state>{_STATE})(?![\w])"
    r"(?:[ \t]{1,3}(?P<zip>\d{5}(?:-\d{4})?)(?![\w]))?"
)
_UK_POSTCODE = r"(?:GIR[ \t]?0AA|[A-Z]{1,2}\d[A-Z\d]?[ \t]?\d[A-Z]{2})"
_UK_TAIL = re.compile(rf"{_TAIL_SEP}(?:(?P<town>{_CITY}),?[ \t]{{1,3}})?(?P<postcode>{_UK_POSTCODE})(?![\w])")

_DE_UP = "A-ZÄÖÜ"
_DE_LOW = "a-zäöüß"
_DE_ENDING = "|".join(re.escape(e) for e in DE_STREET_ENDINGS)
_DE_WORD = "|".join(re.escape(w) for w in DE_STREET_WORDS)
# Articles and pronouns that start sentences ("Der Weg 2 ist ...") are not street-name words.
_DE_NOT_PREFIX = r"(?!(?:Der|Die|Das|Den|Dem|Des|Ein|Eine|Einen|Mein|Meine|Dein|Sein|Ihr|Unser|Kein|Dieser|Jeder)\b)"
_DE_PREFIX = rf"{_DE_NOT_PREFIX}[{_DE_UP}][{_DE_LOW}]{{1,30}}(?:-|[ \t])"
_DE_STREET = re.compile(
    rf"(?<![\w\-])(?P<street>(?:{_DE_PREFIX}){{0,3}}[{_DE_UP}][{_DE_LOW}]{{0,30}}(?:{_DE_ENDING})"
    rf"|(?:{_DE_PREFIX}){{1,3}}(?:{_DE_WORD}))"
    r"[ \t]{0,2}(?P<num>\d{1,4}[a-zA-Z]?(?:[ \t]?[-/][ \t]?\d{1,4}[a-zA-Z]?)?)(?![\w])"
)
_DE_TAIL = re.compile(
    rf"{_TAIL_SEP}(?P<plz>\d{{5}})[ \t]{{1,3}}(?P<city>[{_DE_UP}][{_DE_LOW}]{{1,30}}"
    rf"(?:-[{_DE_UP}][{_DE_LOW}]{{1,30}}|[ \t](?:am|an[ \t]der|im|bei|ob[ \t]der)[ \t][{_DE_UP}][{_DE_LOW}]{{1,30}}"
    r"|[ \t]\([A-Za-zäöü. ]{1,20}\))?)(?![\w])"
)


# --------------------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def _fold(word: str) -> str:
    """The lookup key of a word: accents removed, case folded ("José" and "JOSE" match "jose")."""
    decomposed = unicodedata.normalize("NFKD", word.replace("ı", "i").replace("ł", "l").replace("Ł", "L"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold().replace("’", "'")


@lru_cache(maxsize=4)
def _load_list(filename: str) -> frozenset[str]:
    text = resources.files("mlwarden.privacy").joinpath("data", filename).read_text(encoding="utf-8")
    return frozenset(_fold(line.strip()) for line in text.splitlines() if line.strip() and not line.startswith("#"))


def given_names() -> frozenset[str]:
    """The folded given-name list (package data ``data/first_names.txt``)."""
    return _load_list("first_names.txt")


def surnames() -> frozenset[str]:
    """The folded surname list (package data ``data/surnames.txt``)."""
    return _load_list("surnames.txt")


_STOP = frozenset(_fold(w) for w in STOP_WORDS) - frozenset(_fold(w) for w in AMBIGUOUS_GIVEN_NAMES)
_AMBIGUOUS = frozenset(_fold(w) for w in AMBIGUOUS_GIVEN_NAMES)


def mask_words(value: str) -> str:
    """Mask a value for reports: each word keeps its first letter, other letters become ``*``, digits ``#``.

    "John Smith" -> "J*** S****"; the masked form never contains more than one letter of any word.
    """
    out: list[str] = []
    first = True
    for ch in value:
        if ch.isalpha():
            out.append(ch if first else "*")
            first = False
        elif ch.isdigit():
            out.append("#")
            first = False
        else:
            out.append(ch if ch in " ,.-'\n\t/#" else "*")
            first = True
    return "".join(out)


@lru_cache(maxsize=1)
def _spacy_pipeline() -> tuple[str, Any] | None:
    """The first installed spaCy model, loaded once; None when spaCy or every model is missing."""
    if importlib.util.find_spec("spacy") is None:
        return None
    for model in SPACY_MODELS:
        if importlib.util.find_spec(model) is None:
            continue
        import spacy  # only reached when spaCy is installed

        try:
            return model, spacy.load(model)
        except (OSError, ImportError, ValueError):  # a broken install: try the next model, rules still work
            continue
    return None


def ner_backend() -> str:
    """``"spacy:<model>"`` when spaCy and one of ``SPACY_MODELS`` are installed, else ``"rules"``."""
    pipeline = _spacy_pipeline()
    return f"spacy:{pipeline[0]}" if pipeline else "rules"


# --------------------------------------------------------------------------------------------------------------
# PERSON
# --------------------------------------------------------------------------------------------------------------

# Confidence by cue kind: (pair with both lists, pair with one list, pair with neither, single listed, single
# unlisted). None means "no hit".
_CUE_SCORES: dict[str, tuple[float, float, float | None, float | None, float | None]] = {
    "title": (0.95, 0.9, 0.85, 0.9, 0.8),
    "phrase": (0.95, 0.85, 0.75, 0.85, 0.65),
    "weak": (0.9, 0.7, None, 0.55, None),
    "initial": (0.8, 0.6, None, 0.6, None),
}
_NER_CHUNK = 100_000  # characters per spaCy call (its default max_length is 1,000,000)


@dataclass(frozen=True, slots=True)
class _Token:
    start: int
    end: int
    key: str


class PersonRecognizer:
    """Finds people's names: context cues, given-name and surname lists, capitalised word pairs.

    ``min_confidence`` drops weaker hits; ``use_ner`` (default: when ``ner_backend()`` is not ``"rules"``) adds the
    PERSON entities of an installed spaCy model.
    """

    name = "names.person"
    entities: tuple[str, ...] = ("PERSON",)

    def __init__(self, *, min_confidence: float = 0.5, use_ner: bool | None = None) -> None:
        self.min_confidence = min_confidence
        self.use_ner = ner_backend() != "rules" if use_ner is None else use_ner
        self._given = given_names()
        self._surnames = surnames()

    def find(self, text: str) -> Iterable[PiiHit]:
        hits = [hit for hit in self._rule_hits(text) if hit.confidence >= self.min_confidence]
        if self.use_ner:
            hits = self._merge_ner(text, hits)
        return hits

    # -- rules ---------------------------------------------------------------------------------------------

    def _rule_hits(self, text: str) -> Iterator[PiiHit]:
        # One pass for cues, keyed by where the word after them starts; cheaper than a window search per run.
        cues = {cue.end(): cue for cue in _CUE.finditer(text)}
        for run in _NAME_RUN.finditer(text):
            tokens = [
                _Token(m.start() + run.start(), m.end() + run.start(), _fold(m.group()))
                for m in _NAME_TOKEN.finditer(run.group())
                if m.group()[0].isupper()
            ]
            hit = self._score_run(text, tokens, cues)
            if hit is not None:
                yield hit

    def _name_span(self, tokens: list[_Token]) -> list[_Token]:
        """The name inside a run: leading stop words dropped, cut at the next stop word, begun at a given name."""
        start = 0
        while start < len(tokens) and tokens[start].key in _STOP:
            start += 1
        end = start
        while end < len(tokens) and tokens[end].key not in _STOP:
            end += 1
        span = tokens[start:end]
        if len(span) > 2 and span[0].key not in self._given:
            for index in range(1, len(span) - 1):
                if span[index].key in self._given:
                    return span[index:]
        return span

    def _score_run(self, text: str, tokens: list[_Token], cues: dict[int, re.Match[str]]) -> PiiHit | None:
        span = self._name_span(tokens)
        if not span:
            return None
        first, last = span[0], span[-1]
        cue = cues.get(first.start)
        cue_kind = cue.lastgroup if cue else None
        start = cue.start(cue_kind) if cue and cue_kind == "initial" else first.start
        given = first.key in self._given and first.key not in _AMBIGUOUS
        ambiguous = first.key in _AMBIGUOUS
        # Many surnames are also given names (Hassan, Thomas), so a listed given name in last place counts too.
        surname = last.key in self._surnames or (
            len(span) >= 2 and last.key in self._given and last.key not in _AMBIGUOUS
        )
        reasons: list[str] = []
        confidence: float | None
        if len(span) >= 2:
            listed = int(given or ambiguous) + int(surname)
            if cue_kind is None:
                if given and surname:
                    confidence = 0.85
                elif given:
                    confidence = 0.6
                elif ambiguous and surname:
                    confidence = 0.55
                else:
                    confidence = None
            else:
                both, one, neither = _CUE_SCORES[cue_kind][:3]
                confidence = both if listed == 2 else one if listed == 1 else neither
            reasons.append(f"{len(span)} capitalised words")
        else:
            listed = int(first.key in self._given or first.key in self._surnames)
            if cue_kind is None:
                confidence = None
            else:
                single_listed, single_unlisted = _CUE_SCORES[cue_kind][3:]
                confidence = single_listed if listed else single_unlisted
            reasons.append("1 capitalised word")
        if confidence is None:
            return None
        if first.key in self._given:
            reasons.append("given-name list" + (" (also a common word)" if ambiguous else ""))
        if surname and (len(span) >= 2 or first.key not in self._given):
            reasons.append("surname list")
        if cue is not None and cue_kind is not None:
            reasons.append(f"context {cue_kind} '{_describe_cue(cue.group(cue_kind))}'")
        return PiiHit(
            entity="PERSON", start=start, end=last.end, confidence=confidence,
            masked=mask_words(text[start:last.end]), reason="; ".join(reasons), recognizer=self.name,
        )

    # -- optional NER --------------------------------------------------------------------------------------

    def _merge_ner(self, text: str, hits: list[PiiHit]) -> list[PiiHit]:
        pipeline = _spacy_pipeline()
        if pipeline is None:
            return hits
        model, nlp = pipeline
        merged = list(hits)
        for offset in range(0, len(text), _NER_CHUNK):
            chunk = text[offset:offset + _NER_CHUNK]
            try:
                doc = nlp(chunk)
            except (ValueError, RuntimeError, MemoryError):  # the rules' hits stand; NER only adds recall
                continue
            for ent in doc.ents:
                if ent.label_ not in ("PERSON", "PER"):
                    continue
                start, end = offset + ent.start_char, offset + ent.end_char
                overlap = [i for i, hit in enumerate(merged) if hit.start < end and start < hit.end]
                if overlap:
                    for i in overlap:
                        old = merged[i]
                        merged[i] = PiiHit(
                            old.entity, old.start, old.end, min(0.99, old.confidence + 0.05), old.masked,
                            f"{old.reason}; spaCy {model} agrees", old.recognizer,
                        )
                elif 0.7 >= self.min_confidence:
                    merged.append(PiiHit(
                        "PERSON", start, end, 0.7, mask_words(text[start:end]), f"spaCy {model} PERSON entity",
                        self.name,
                    ))
        merged.sort(key=lambda hit: hit.start)
        return merged


def _describe_cue(cue: str) -> str:
    """A cue for a reason string: the cue word(s) only, whitespace collapsed (cues are never personal data)."""
    return " ".join(cue.split())[:24]


# --------------------------------------------------------------------------------------------------------------
# STREET_ADDRESS
# --------------------------------------------------------------------------------------------------------------


class AddressRecognizer:
    """Finds postal street addresses: US and UK street lines (with city, state, ZIP or postcode) and German ones
    (street + number, with PLZ and city). A street line alone is a weaker hit than a full address."""

    name = "names.address"
    entities: tuple[str, ...] = ("STREET_ADDRESS",)

    def __init__(self, *, min_confidence: float = 0.5) -> None:
        self.min_confidence = min_confidence

    def find(self, text: str) -> Iterable[PiiHit]:
        hits = [hit for hit in (*self._english(text), *self._german(text)) if hit.confidence >= self.min_confidence]
        hits.sort(key=lambda hit: hit.start)
        kept: list[PiiHit] = []
        for hit in hits:  # overlapping grammars: keep the first, or the stronger one
            if kept and hit.start < kept[-1].end:
                if hit.confidence > kept[-1].confidence:
                    kept[-1] = hit
                continue
            kept.append(hit)
        return kept

    def _hit(self, text: str, start: int, end: int, confidence: float, reason: str) -> PiiHit:
        return PiiHit(
            entity="STREET_ADDRESS", start=start, end=end, confidence=confidence,
            masked=mask_words(text[start:end]), reason=reason, recognizer=self.name,
        )

    def _english(self, text: str) -> Iterator[PiiHit]:
        for street in _EN_STREET.finditer(text):
            end = street.end()
            parts = ["street line (number, street name, street-type word)"]
            confidence = 0.6
            if street.group("unit"):
                parts.append("unit")
                confidence = 0.65
            us = _US_TAIL.match(text, end)
            uk = _UK_TAIL.match(text, end)
            if us is not None:
                end = us.end()
                confidence = 0.95 if us.group("zip") else 0.85
                parts.append("US city, state" + (", ZIP" if us.group("zip") else ""))
            elif uk is not None:
                end = uk.end()
                confidence = 0.95 if uk.group("town") else 0.85
                parts.append(("UK town, " if uk.group("town") else "UK ") + "postcode")
            yield self._hit(text, street.start(), end, confidence, "; ".join(parts))

    def _german(self, text: str) -> Iterator[PiiHit]:
        for street in _DE_STREET.finditer(text):
            end = street.end()
            parts = ["German street line (street name ending, house number)"]
            confidence = 0.7
            tail = _DE_TAIL.match(text, end)
            if tail is not None:
                end = tail.end()
                confidence = 0.95
                parts.append("PLZ and city")
            yield self._hit(text, street.start(), end, confidence, "; ".join(parts))
