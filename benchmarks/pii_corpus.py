"""Seeded generators for the personal-data benchmark: a labelled multilingual text corpus and a wide CSV table.

Everything here is synthetic and made up for the benchmark: names are composed from the small hand-written
lists below (chosen to be rarer than, and mostly absent from, mlwarden's own ``privacy/data/*.txt`` lists, so
the benchmark does not grade the recognizers on their own dictionaries); card numbers are completed with the
Luhn check digit, IBANs carry a correct ISO 7064 mod-97 check, SSNs follow the SSA's rules (no area 000, 666 or
900-999, no group 00, no serial 0000), UK NINOs the HMRC prefix rules. No value is taken from a test-data
generator (Faker or similar) and none belongs to a real person: e-mail domains are reserved ones (RFC 2606),
IP addresses come from the documentation ranges (RFC 5737).

Never imports mlwarden: the corpus must not depend on the code it grades.
"""

from __future__ import annotations

import csv
import random
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

# --- hand-written word lists (typed for this benchmark; rarer names on purpose) ------------------------------
GIVEN_NAMES: tuple[str, ...] = (
    "Ottilie", "Wendelin", "Ysolde", "Thaddeus", "Perpetua", "Leocadia", "Evander", "Brunhilde", "Casimir",
    "Eulalia", "Fridolin", "Honorine", "Lysander", "Melisende", "Nepomuk", "Quirin", "Roswitha", "Severin",
    "Tancredi", "Zenobia", "Aurelio", "Berenike", "Cyprian", "Domitila", "Eberhard", "Philomena", "Gervasio",
    "Hyacinthe", "Isidora", "Jocelin", "Kunigunde", "Leontine", "Marcelino", "Norberta", "Onesime", "Prisca",
)
SURNAMES: tuple[str, ...] = (
    "Quigley", "Abernethy", "Pfefferkorn", "Thibodeaux", "Ravensworth", "Dunkerley", "Achterberg", "Goicoechea",
    "Brandstätter", "Lacombe", "Villaseñor", "Etxeberria", "Oyelaran", "Wolfsteiner", "Marchetti", "Delacroix",
    "Urquhart", "Zumárraga", "Kesselring", "Beauchesne", "Larrañaga", "Hollingworth", "Trautwein", "Castañeda",
    "Fairweather", "Vandermeulen", "Oberhuber", "Dufresnoy", "Arrizabalaga", "Greenhalgh",
)
# Street names per language (invented or generic); the street kinds are those the recognizers document.
EN_STREETS: tuple[str, ...] = ("Larkspur", "Tamarack", "Wexford", "Cobblestone", "Hawthorne", "Briarwood")
EN_SUFFIXES: tuple[str, ...] = ("Street", "Avenue", "Road", "Lane", "Drive", "Boulevard")
DE_STREETS: tuple[str, ...] = ("Kastanienweg", "Lindenstraße", "Am Mühlbach", "Birkenallee", "Uferstraße",
                               "Schillerplatz")
FR_STREETS: tuple[str, ...] = ("rue des Tanneurs", "avenue Foch", "boulevard Voltaire", "rue de la Paix",
                               "chemin des Vignes")
ES_STREETS: tuple[str, ...] = ("Calle de Alcalá", "Avenida de la Constitución", "Calle Mayor", "Paseo del Prado",
                               "Calle del Pez")
DOMAINS: tuple[str, ...] = ("example.org", "example.com", "example.net", "mail.example", "post.test")
LANGUAGES: tuple[str, ...] = ("en", "de", "fr", "es")


@dataclass
class Sentence:
    """One corpus sentence: text, language, gold spans ``(entity, start, end)``, and whether it is a hard
    negative (a sentence with no personal data but PII-shaped strings)."""

    text: str
    lang: str
    gold: list[tuple[str, int, int]] = field(default_factory=list)
    negative_kind: str | None = None


# --- value generators -----------------------------------------------------------------------------------------
def luhn_complete(body: str) -> str:
    """``body`` plus the digit that makes the Luhn sum divisible by 10."""
    total = 0
    for index, char in enumerate(reversed(body)):
        digit = int(char)
        if index % 2 == 0:  # these positions are doubled once the check digit is appended
            digit *= 2
            digit -= 9 if digit > 9 else 0
        total += digit
    return body + str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    return luhn_complete(number[:-1]) == number


def card_number(rng: random.Random) -> str:
    prefix, length = rng.choice((("4", 16), ("51", 16), ("53", 16), ("55", 16), ("34", 15), ("37", 15)))
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    number = luhn_complete(body)
    style = rng.randrange(3)
    if style == 0:
        return number
    sep = " " if style == 1 else "-"
    if length == 15:
        return sep.join((number[:4], number[4:10], number[10:]))
    return sep.join(number[i:i + 4] for i in range(0, 16, 4))


def invalid_card_number(rng: random.Random) -> str:
    """Card-shaped (16 digits, Visa/Mastercard prefix) but the Luhn check fails."""
    valid = luhn_complete("4" + "".join(rng.choice(string.digits) for _ in range(14)))
    wrong = str((int(valid[-1]) + rng.randint(1, 9)) % 10)
    number = valid[:-1] + wrong
    return " ".join(number[i:i + 4] for i in range(0, 16, 4))


def _iban_check(country: str, bban: str) -> str:
    rearranged = bban + country + "00"
    numeric = "".join(str(int(char, 36)) for char in rearranged)
    return f"{98 - int(numeric) % 97:02d}"


# Country -> BBAN shape ("9" digit, "A" upper-case letter), from the ISO 13616 registry's formats.
_IBAN_SHAPES: dict[str, str] = {"DE": "9" * 18, "FR": "9" * 23, "ES": "9" * 20, "GB": "AAAA" + "9" * 14}


def iban(rng: random.Random, country: str | None = None) -> str:
    country = country or rng.choice(tuple(_IBAN_SHAPES))
    bban = "".join(rng.choice(string.digits if c == "9" else string.ascii_uppercase)
                   for c in _IBAN_SHAPES[country])
    value = country + _iban_check(country, bban) + bban
    if rng.random() < 0.5:
        return " ".join(value[i:i + 4] for i in range(0, len(value), 4))
    return value


def ssn(rng: random.Random) -> str:
    area = rng.choice([a for a in range(1, 900) if a != 666])
    return f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


_NINO_FIRST = "ABCEGHJKLMNOPRSTWXYZ"
_NINO_SECOND = "ABCEGHJKLMNPRSTWXYZ"
_NINO_BAD = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})


def nino(rng: random.Random) -> str:
    while True:
        prefix = rng.choice(_NINO_FIRST) + rng.choice(_NINO_SECOND)
        if prefix not in _NINO_BAD:
            break
    digits = "".join(rng.choice(string.digits) for _ in range(6))
    return f"{prefix}{digits}{rng.choice('ABCD')}"


def person(rng: random.Random) -> str:
    return f"{rng.choice(GIVEN_NAMES)} {rng.choice(SURNAMES)}"


def _ascii(word: str) -> str:
    table = str.maketrans("äöüßñéèáíóúç", "aousneeaiouc")
    return word.lower().translate(table)


def email(rng: random.Random) -> str:
    given, surname = _ascii(rng.choice(GIVEN_NAMES)), _ascii(rng.choice(SURNAMES))
    local = rng.choice((f"{given}.{surname}", f"{given[0]}{surname}", f"{given}_{rng.randint(1, 99)}"))
    return f"{local}@{rng.choice(DOMAINS)}"


def phone(rng: random.Random, lang: str) -> str:
    d = lambda n: "".join(rng.choice(string.digits) for _ in range(n))  # noqa: E731
    if lang == "en":
        return rng.choice((f"+1 {rng.randint(201, 989)} 555 {d(4)}", f"({rng.randint(201, 989)}) 555-{d(4)}",
                           f"+44 20 7946 {d(4)}"))
    if lang == "de":
        return rng.choice((f"+49 30 {d(7)}", f"030 {d(8)}", f"+49 151 {d(8)}"))
    if lang == "fr":
        return rng.choice((f"+33 6 {d(2)} {d(2)} {d(2)} {d(2)}", f"06 {d(2)} {d(2)} {d(2)} {d(2)}"))
    return rng.choice((f"+34 6{d(2)} {d(3)} {d(3)}", f"91 {d(3)} {d(2)} {d(2)}"))


def birth_date(rng: random.Random, lang: str) -> str:
    year, month, day = rng.randint(1935, 2006), rng.randint(1, 12), rng.randint(1, 28)
    if lang == "en":
        months = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                  "October", "November", "December")
        return rng.choice((f"{year}-{month:02d}-{day:02d}", f"{month:02d}/{day:02d}/{year}",
                           f"{months[month - 1]} {day}, {year}"))
    if lang == "de":
        return rng.choice((f"{day:02d}.{month:02d}.{year}", f"{year}-{month:02d}-{day:02d}"))
    return rng.choice((f"{day:02d}/{month:02d}/{year}", f"{year}-{month:02d}-{day:02d}"))


def ordinary_date(rng: random.Random, lang: str) -> str:
    year, month, day = rng.randint(2015, 2025), rng.randint(1, 12), rng.randint(1, 28)
    if lang == "de":
        return f"{day:02d}.{month:02d}.{year}"
    if lang in ("fr", "es"):
        return f"{day:02d}/{month:02d}/{year}"
    return f"{year}-{month:02d}-{day:02d}"


def street_address(rng: random.Random, lang: str) -> str:
    if lang == "en":
        return f"{rng.randint(2, 9899)} {rng.choice(EN_STREETS)} {rng.choice(EN_SUFFIXES)}"
    if lang == "de":
        return f"{rng.choice(DE_STREETS)} {rng.randint(1, 180)}"
    if lang == "fr":
        return f"{rng.randint(1, 120)} {rng.choice(FR_STREETS)}"
    return f"{rng.choice(ES_STREETS)} {rng.randint(1, 220)}"


def mrn(rng: random.Random) -> str:
    return rng.choice((f"{rng.randint(0, 99_999_999):08d}", f"H{rng.randint(100_000, 9_999_999)}"))


def ip_address(rng: random.Random) -> str:
    net = rng.choice(("192.0.2", "198.51.100", "203.0.113"))
    return f"{net}.{rng.randint(1, 254)}"


def hex_string(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def uuid4(rng: random.Random) -> str:
    h = hex_string(rng, 32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{rng.choice('89ab')}{h[17:20]}-{h[20:]}"


# --- sentence templates ---------------------------------------------------------------------------------------
# ``{ENTITY}`` slots are filled by the generators below and become gold spans. Written for this benchmark in
# the style of support tickets, forms and clinical notes.
POSITIVE_TEMPLATES: dict[str, tuple[str, ...]] = {
    "en": (
        "Please contact {PERSON} at {EMAIL} about the refund.",
        "Mr. {PERSON} called from {PHONE} to change his delivery slot.",
        "My name is {PERSON} and my card number is {CREDIT_CARD}.",
        "Wire the deposit to IBAN {IBAN} before Monday.",
        "Her SSN is {US_SSN} according to the intake form.",
        "Patient {PERSON}, date of birth {DATE_OF_BIRTH}, MRN: {MEDICAL_RECORD_NUMBER}.",
        "Ship the replacement to {STREET_ADDRESS}, attention {PERSON}.",
        "The login came from IP address {IP_ADDRESS} at night.",
        "Reach me on {PHONE} or write to {EMAIL}.",
        "Dr. {PERSON} was born on {DATE_OF_BIRTH} in a small town.",
        "Card {CREDIT_CARD} was declined twice; the holder lives at {STREET_ADDRESS}.",
        "Social security number {US_SSN} belongs to the applicant.",
    ),
    "de": (
        "Bitte melden Sie sich bei Frau {PERSON} unter {EMAIL}.",
        "Herr {PERSON} ist telefonisch unter {PHONE} erreichbar.",
        "Überweisen Sie den Betrag auf das Konto mit der IBAN {IBAN}.",
        "Geburtsdatum: {DATE_OF_BIRTH}, wohnhaft in der {STREET_ADDRESS}.",
        "Die Kreditkarte {CREDIT_CARD} wurde gesperrt.",
        "Patientennummer {MEDICAL_RECORD_NUMBER} gehört zu Herrn {PERSON}.",
        "Rückfragen an {EMAIL} oder Telefon {PHONE}.",
        "Frau {PERSON}, geboren am {DATE_OF_BIRTH}, hat den Antrag gestellt.",
        "Die Lieferadresse ist {STREET_ADDRESS}.",
    ),
    "fr": (
        "Veuillez contacter Mme {PERSON} à l'adresse {EMAIL}.",
        "M. {PERSON} a appelé depuis le {PHONE} ce matin.",
        "Le virement doit être fait sur l'IBAN {IBAN}.",
        "Date de naissance : {DATE_OF_BIRTH}, domicile au {STREET_ADDRESS}.",
        "La carte bancaire {CREDIT_CARD} a expiré.",
        "Téléphone : {PHONE}, courriel : {EMAIL}.",
        "Mme {PERSON}, née le {DATE_OF_BIRTH}, attend une réponse.",
    ),
    "es": (
        "Por favor, contacte con la Sra. {PERSON} en {EMAIL}.",
        "El Sr. {PERSON} llamó desde el teléfono {PHONE}.",
        "Transfiera el importe a la cuenta IBAN {IBAN}.",
        "Fecha de nacimiento: {DATE_OF_BIRTH}; domicilio en {STREET_ADDRESS}.",
        "La tarjeta {CREDIT_CARD} fue rechazada.",
        "Teléfono {PHONE}, correo {EMAIL}.",
        "La Sra. {PERSON}, nacida el {DATE_OF_BIRTH}, firmó el contrato.",
    ),
}

# Sentences with PII-shaped strings that are not personal data. ``{X}`` slots are filled by NEGATIVE_FILLERS.
NEGATIVE_TEMPLATES: dict[str, tuple[tuple[str, str], ...]] = {
    "en": (
        ("luhn_invalid", "Tracking code {BADCARD} was scanned at the depot."),
        ("version_ip", "Upgrade the firmware to version {VERSION} before Friday."),
        ("ordinary_date", "The quarterly review took place on {DATE} in room 4."),
        ("order_number", "Order number {ORDER} shipped this morning."),
        ("invoice_number", "Invoice {INVOICE} is due in thirty days."),
        ("git_sha", "The fix landed in commit {SHA} on the main branch."),
        ("uuid", "Request {UUID} failed with a timeout."),
        ("timestamp", "The job finished at {TIMESTAMP} without errors."),
    ),
    "de": (
        ("luhn_invalid", "Die Sendungsnummer {BADCARD} wurde erfasst."),
        ("version_ip", "Bitte auf Version {VERSION} aktualisieren."),
        ("ordinary_date", "Die Besprechung fand am {DATE} statt."),
        ("order_number", "Bestellung Nr. {ORDER} wurde versandt."),
        ("invoice_number", "Die Rechnung {INVOICE} ist fällig."),
        ("git_sha", "Der Fehler wurde mit Commit {SHA} behoben."),
        ("uuid", "Die Anfrage {UUID} ist fehlgeschlagen."),
        ("timestamp", "Der Lauf endete um {TIMESTAMP}."),
    ),
    "fr": (
        ("luhn_invalid", "Le colis {BADCARD} a été scanné au dépôt."),
        ("version_ip", "Mettez à jour vers la version {VERSION} avant vendredi."),
        ("ordinary_date", "La réunion a eu lieu le {DATE}."),
        ("order_number", "La commande n° {ORDER} a été expédiée."),
        ("invoice_number", "La facture {INVOICE} est à régler sous trente jours."),
        ("git_sha", "Corrigé dans le commit {SHA}."),
        ("uuid", "La requête {UUID} a échoué."),
        ("timestamp", "Le traitement s'est terminé à {TIMESTAMP}."),
    ),
    "es": (
        ("luhn_invalid", "El envío {BADCARD} fue escaneado en el almacén."),
        ("version_ip", "Actualice a la versión {VERSION} antes del viernes."),
        ("ordinary_date", "La reunión se celebró el {DATE}."),
        ("order_number", "El pedido n.º {ORDER} ya fue enviado."),
        ("invoice_number", "La factura {INVOICE} vence en treinta días."),
        ("git_sha", "Corregido en el commit {SHA}."),
        ("uuid", "La solicitud {UUID} falló."),
        ("timestamp", "El proceso terminó a las {TIMESTAMP}."),
    ),
}


def _positive_value(slot: str, rng: random.Random, lang: str) -> str:
    generators: dict[str, Callable[[], str]] = {
        "PERSON": lambda: person(rng),
        "EMAIL": lambda: email(rng),
        "PHONE": lambda: phone(rng, lang),
        "CREDIT_CARD": lambda: card_number(rng),
        "IBAN": lambda: iban(rng, {"de": "DE", "fr": "FR", "es": "ES"}.get(lang)),
        "US_SSN": lambda: ssn(rng),
        "DATE_OF_BIRTH": lambda: birth_date(rng, lang),
        "STREET_ADDRESS": lambda: street_address(rng, lang),
        "MEDICAL_RECORD_NUMBER": lambda: mrn(rng),
        "IP_ADDRESS": lambda: ip_address(rng),
    }
    return generators[slot]()


def _negative_value(slot: str, rng: random.Random, lang: str) -> str:
    if slot == "BADCARD":
        return invalid_card_number(rng)
    if slot == "VERSION":
        return f"{rng.randint(1, 12)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}.{rng.randint(0, 250)}"
    if slot == "DATE":
        return ordinary_date(rng, lang)
    if slot == "ORDER":
        return rng.choice((f"{rng.randint(1000, 9999)}-{rng.randint(2015, 2025)}-{rng.randint(100, 999)}",
                           f"{rng.randint(10_000_000, 99_999_999)}"))
    if slot == "INVOICE":
        return f"INV-{rng.randint(2015, 2025)}-{rng.randint(0, 999_999):06d}"
    if slot == "SHA":
        return hex_string(rng, 40)
    if slot == "UUID":
        return uuid4(rng)
    return f"{ordinary_date(rng, 'en')}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z"


def _fill(template: str, value_for: Callable[[str], str]) -> tuple[str, list[tuple[str, int, int]]]:
    parts: list[str] = []
    spans: list[tuple[str, int, int]] = []
    length = 0
    rest = template
    while "{" in rest:
        before, _, tail = rest.partition("{")
        slot, _, rest = tail.partition("}")
        parts.append(before)
        length += len(before)
        value = value_for(slot)
        spans.append((slot, length, length + len(value)))
        parts.append(value)
        length += len(value)
    parts.append(rest)
    return "".join(parts), spans


def text_corpus(*, seed: int = 20240605, positives: int = 1500, negatives: int = 500) -> list[Sentence]:
    """``positives`` sentences with gold spans and ``negatives`` hard negatives, spread over four languages."""
    rng = random.Random(seed)
    sentences: list[Sentence] = []
    for index in range(positives):
        lang = LANGUAGES[index % len(LANGUAGES)]
        template = rng.choice(POSITIVE_TEMPLATES[lang])
        text, spans = _fill(template, partial(_positive_value, rng=rng, lang=lang))
        sentences.append(Sentence(text, lang, spans))
    for index in range(negatives):
        lang = LANGUAGES[index % len(LANGUAGES)]
        kind, template = NEGATIVE_TEMPLATES[lang][(index // len(LANGUAGES)) % len(NEGATIVE_TEMPLATES[lang])]
        text, _ = _fill(template, partial(_negative_value, rng=rng, lang=lang))
        sentences.append(Sentence(text, lang, [], kind))
    return sentences


# --- the table -------------------------------------------------------------------------------------------------
# (column name, expected entity or None, generator). Column names are plain schema names; the PII columns hold
# one entity each, the others hold ids, numbers, booleans, categories, PII-free text and non-birth dates.
_CATEGORIES = ("garden", "kitchen", "toys", "books", "outdoor", "office", "pets", "tools")
_REVIEWS = (
    "Arrived on time and works as described, would order again.",
    "The colour is slightly different from the picture but fine overall.",
    "Packaging was damaged, the product itself is intact.",
    "Instructions were unclear; it took an hour to assemble.",
    "Great value for the price, the battery lasts for days.",
    "Stopped working after two weeks, asked for a replacement.",
)


def table_columns(rng: random.Random) -> list[tuple[str, str | None, Callable[[], str]]]:
    return [
        ("row_id", None, lambda: str(rng.randint(1, 10**9))),
        ("full_name", "PERSON", lambda: person(rng)),
        ("order_id", None, lambda: f"ORD-{rng.randint(0, 99_999_999):08d}"),
        ("email", "EMAIL", lambda: email(rng)),
        ("sku", None, lambda: f"{rng.choice(string.ascii_uppercase)}{rng.choice(string.ascii_uppercase)}-"
                             f"{rng.randint(1000, 9999)}"),
        ("phone", "PHONE", lambda: phone(rng, rng.choice(LANGUAGES))),
        ("quantity", None, lambda: str(rng.randint(1, 40))),
        ("card_number", "CREDIT_CARD", lambda: card_number(rng)),
        ("unit_price", None, lambda: f"{rng.uniform(0.5, 900):.2f}"),
        ("iban", "IBAN", lambda: iban(rng)),
        ("discount", None, lambda: f"{rng.uniform(0, 0.5):.3f}"),
        ("ssn", "US_SSN", lambda: ssn(rng)),
        ("weight_kg", None, lambda: f"{rng.uniform(0.01, 60):.3f}"),
        ("date_of_birth", "DATE_OF_BIRTH", lambda: birth_date(rng, "de")),
        ("in_stock", None, lambda: rng.choice(("true", "false"))),
        ("street_address", "STREET_ADDRESS", lambda: street_address(rng, rng.choice(("en", "de")))),
        ("is_returned", None, lambda: rng.choice(("0", "1"))),
        ("ip_address", "IP_ADDRESS", lambda: ip_address(rng)),
        ("category", None, lambda: rng.choice(_CATEGORIES)),
        ("ni_number", "UK_NINO", lambda: nino(rng)),
        ("region_code", None, lambda: rng.choice(("EU-W", "EU-C", "NA-E", "NA-W", "APAC"))),
        ("currency", None, lambda: rng.choice(("EUR", "USD", "GBP", "CHF"))),
        ("status", None, lambda: rng.choice(("shipped", "pending", "cancelled", "delivered"))),
        ("created_at", None, lambda: ordinary_date(rng, "en")),
        ("shipped_at", None, lambda: _negative_value("TIMESTAMP", rng, "en")),
        ("review_text", None, lambda: rng.choice(_REVIEWS)),
        ("warehouse", None, lambda: f"WH{rng.randint(1, 60):02d}"),
        ("score", None, lambda: f"{rng.uniform(1, 5):.1f}"),
        ("session_uuid", None, lambda: uuid4(rng)),
        ("build_sha", None, lambda: hex_string(rng, 40)),
    ]


def expected_columns() -> dict[str, str | None]:
    return {name: entity for name, entity, _ in table_columns(random.Random(0))}


def write_table(path: Path, rows: int, *, seed: int = 7, pool: int = 20_000) -> None:
    """Write a ``rows`` x 30 CSV. Each column draws from a pool of ``pool`` generated values (generating 30
    million distinct values would dominate the benchmark's run time; a scanner samples 1,000 rows anyway)."""
    rng = random.Random(seed)
    columns = table_columns(rng)
    pools = [[make() for _ in range(pool)] for _, _, make in columns]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([name for name, _, _ in columns])
        width = len(columns)
        done = 0
        while done < rows:
            chunk = min(50_000, rows - done)
            picks = [[rng.randrange(pool) for _ in range(chunk)] for _ in range(width)]
            writer.writerows([pools[c][picks[c][r]] for c in range(width)] for r in range(chunk))
            done += chunk
    tmp.replace(path)
