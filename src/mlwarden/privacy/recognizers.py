"""Recognizers for structured personal data: e-mail, phone, payment and national identifiers, IP addresses,
dates of birth, labelled record numbers, credentials in URLs and secrets. One class per entity family, each
implementing ``mlwarden.privacy.model.Recognizer``; plus ``mask``, the one place that decides what of a value a
report may show.

Pure and bounded: text in, ``PiiHit``s out. This module must never return, log or put into a ``reason`` the
value it found (a hit carries offsets and ``mask`` output only), never raise on any text, and never use a
pattern that can backtrack without bound: every quantifier is bounded, every pattern is compiled once, and
context is read from a fixed window around a match. Each recognizer skips texts that cannot hold its entity
(no digit, no ``@``) before running any pattern; ``analyze_text`` takes at most ``MAX_HITS_PER_RECOGNIZER``
hits from each (recognizers are generators, so that also stops their work).

Confidence: a format match alone is weak; a passed validator (check digit, registry length) raises it; a context
word nearby (``card``, ``SSN``, ``Steuer-ID``) raises it further; words that say "this is something else"
(``order``, ``invoice``, ``version``) lower it or drop the hit. The ``reason`` says which of these applied.
"""

from __future__ import annotations

import calendar
import ipaddress
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator

from mlwarden.privacy.model import PiiHit
from mlwarden.privacy.validators import (
    IBAN_LENGTHS,
    aadhaar_valid,
    de_tax_id_valid,
    iban_valid,
    ipv4_valid,
    ipv6_valid,
    luhn_valid,
    phone_plausible,
    uk_nino_valid,
    us_ssn_valid,
)
from mlwarden.supply.secrets import find_secrets, mask_secret

__all__ = [
    "ALL_RECOGNIZERS",
    "MAX_HITS_PER_RECOGNIZER",
    "AadhaarRecognizer",
    "CreditCardRecognizer",
    "DateOfBirthRecognizer",
    "DeTaxIdRecognizer",
    "EmailRecognizer",
    "IbanRecognizer",
    "IpAddressRecognizer",
    "LabelledIdRecognizer",
    "PhoneRecognizer",
    "SecretRecognizer",
    "UkNinoRecognizer",
    "UrlCredentialsRecognizer",
    "UsSsnRecognizer",
    "context_window",
    "mask",
]

MAX_HITS_PER_RECOGNIZER = 10_000
# Characters before a match searched for context words ("Tel.: ", "Kreditkarte Nr. ").
CONTEXT_CHARS = 40

_HAS_DIGIT = re.compile(r"\d")


def _words(*words: str) -> re.Pattern[str]:
    """A pattern finding any of ``words`` as whole words in lower-cased text."""
    alternatives = "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


# --- context vocabularies (hand-written from the field labels of forms in the languages named) ---------------
_PHONE_WORDS = _words(
    "phone", "tel", "tel.", "tél", "telephone", "mobile", "cell", "call", "fax", "whatsapp", "contact", "ph",
    "telefon", "handy", "mobil", "rufnummer", "téléphone", "portable", "teléfono", "telefono", "móvil",
    "cellulare", "telefone", "celular", "telefoonnummer", "mobiel",
)
_NOT_PHONE_WORDS = _words(
    "order", "invoice", "ref", "reference", "ticket", "id", "no", "nr", "#", "case", "tracking", "serial",
    "sku", "account", "po", "batch", "bestellung", "rechnung", "commande", "facture", "pedido", "factura",
)
_CARD_WORDS = _words(
    "card", "credit", "debit", "visa", "mastercard", "amex", "american express", "cc", "ccn", "pan",
    "kreditkarte", "karte", "carte", "tarjeta", "carta", "cartão", "kaart", "creditcard", "payment",
)
_IBAN_WORDS = _words("iban", "bank", "account", "konto", "compte", "cuenta", "conto", "conta", "rekening")
_SSN_WORDS = _words("ssn", "ss#", "social security", "social security number", "ss no", "ssn#", "tin",
                    "taxpayer")
_NINO_WORDS = _words("nino", "national insurance", "ni number", "ni no", "insurance number")
_DE_TAX_WORDS = _words(
    "steuer-id", "steuerid", "steuer id", "steuer-identifikationsnummer", "steueridentifikationsnummer",
    "identifikationsnummer", "idnr", "id-nr", "tax id", "tin", "steuernummer", "steuerliche",
)
_AADHAAR_WORDS = _words("aadhaar", "aadhar", "adhaar", "uid", "uidai", "आधार")
_IP_WORDS = _words("ip", "ip address", "ipv4", "ipv6", "client", "remote", "remote_addr", "x-forwarded-for",
                   "host", "from", "src", "source", "login", "address")
_VERSION_WORDS = _words("version", "ver", "ver.", "v", "build", "release", "rev", "revision", "firmware",
                        "kernel", "update", "patch", "oid",
                        # the same word in the other corpus languages (Spanish, Portuguese, Italian, Dutch, French)
                        "versión", "versão", "versione", "versie", "révision", "revisión")


def context_window(text: str, start: int, end: int = -1, *, before: int = CONTEXT_CHARS, after: int = 0) -> str:
    """The lower-cased text around ``start``..``end``: ``before`` characters before and ``after`` after."""
    if end < 0:
        end = start
    head = text[max(0, start - before): start]
    tail = text[end: end + after] if after else ""
    return f"{head} {tail}".lower()


def _first_word(pattern: re.Pattern[str], window: str) -> str | None:
    found = pattern.search(window)
    return found.group() if found else None


def _nearest(pattern: re.Pattern[str], window: str) -> tuple[str, int] | None:
    """The word of ``pattern`` closest to the end of ``window`` and its end position, or None."""
    last = None
    for found in pattern.finditer(window):
        last = found
    return (last.group(), last.end()) if last is not None else None


def _hit(entity: str, start: int, end: int, confidence: float, value: str, reason: str, name: str) -> PiiHit:
    return PiiHit(entity=entity, start=start, end=end, confidence=round(min(max(confidence, 0.0), 1.0), 2),
                  masked=mask(entity, value), reason=reason, recognizer=name)


# --- masking ---------------------------------------------------------------------------------------------------

_DIGIT_CHARS = re.compile(r"\d")
_URL_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]{0,15}://)[^@]{0,256}@(?P<host>[^\s/?#]{0,253})")


def mask(entity: str, value: str) -> str:
    """What a report may show of ``value``: only the parts that tell its type, never enough to recover it.

    E-mail ``j***@e***.com``; card ``**** **** **** 1234``; IBAN country and last 4; phone the last 2 digits;
    URL with credentials scheme and host; secrets as ``mlwarden.supply.secrets.mask_secret`` shows them;
    anything else its first character and its length.
    """
    if entity == "EMAIL" and "@" in value:
        local, _, domain = value.rpartition("@")
        label, dot, tld = domain.rpartition(".")
        if not dot:
            label, tld = domain, ""
        return f"{local[:1]}***@{label[:1]}***{dot}{tld[:24]}"
    if entity == "CREDIT_CARD":
        digits = "".join(_DIGIT_CHARS.findall(value))
        return f"**** **** **** {digits[-4:]}"
    if entity == "IBAN":
        compact = re.sub(r"\s", "", value[:64]).upper()
        return f"{compact[:2]}{'*' * max(len(compact) - 6, 0)}{compact[-4:]}"
    if entity == "PHONE":
        digits = "".join(_DIGIT_CHARS.findall(value[:64]))
        plus = "+" if value.lstrip().startswith("+") else ""
        return f"{plus}{'*' * max(len(digits) - 2, 0)}{digits[-2:]}"
    if entity == "URL_WITH_CREDENTIALS":
        found = _URL_USERINFO.match(value)
        if found is not None:
            return f"{found.group('scheme')}***:***@{found.group('host')}"
    if entity == "SECRET":
        return mask_secret(value)
    return f"{value[:1]}***({len(value)} chars)"


# --- the recognizers ---------------------------------------------------------------------------------------


class EmailRecognizer:
    """E-mail addresses (RFC 5321 shape: local part up to 64 characters, dotted domain with a letter TLD)."""

    name = "email"
    entities = ("EMAIL",)
    _pattern = re.compile(
        r"(?<![\w.%+-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,63})@"
        r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,8}[A-Za-z]{2,24}(?![\w-]|\.[A-Za-z])"
    )
    _placeholder_domains = ("example.com", "example.org", "example.net", "test.com", "localhost")

    def find(self, text: str) -> Iterator[PiiHit]:
        if "@" not in text:
            return
        for found in self._pattern.finditer(text):
            value = found.group()
            local = value.partition("@")[0]
            if ".." in local or local.endswith("."):
                continue
            domain = value.rpartition("@")[2].lower()
            if domain.endswith(self._placeholder_domains):
                yield _hit("EMAIL", found.start(), found.end(), 0.5, value,
                           "e-mail syntax; documentation domain", self.name)
            else:
                yield _hit("EMAIL", found.start(), found.end(), 0.9, value, "e-mail syntax", self.name)


_DATE_SHAPE = re.compile(r"(?:\d{4}([-./])\d{1,2}\1\d{1,2}|\d{1,2}([-./])\d{1,2}\2\d{2,4})(?!\d)")


class PhoneRecognizer:
    """Phone numbers: international ``+CC ...`` and national formats with separators.

    Not dates, timestamps, IP-like or version numbers, and not numbers labelled as orders, invoices, tickets
    or ids (without a phone word nearby such candidates are dropped).
    """

    name = "phone"
    entities = ("PHONE",)
    _international = re.compile(
        r"(?<![\w+])\+\d{1,3}(?:(?:[ .-]?\(\d{1,4}\))?(?:[ .-]\d{1,10}){1,6}|\d{5,14})(?![\w+]|[.-]\d)"
    )
    _national = re.compile(
        r"(?<![\w+.,/:-])(?:\(\d{2,5}\)[ .-]?|\d{2,5}[ .-])\d{2,8}(?:[ .-]\d{2,5}){0,3}(?![\w/:]|[.,-]\d)"
    )
    _groups = re.compile(r"\d+")

    def find(self, text: str) -> Iterator[PiiHit]:
        if _HAS_DIGIT.search(text) is None:
            return
        starts: list[int] = []  # international hits, in order; national candidates inside them are skipped
        ends: list[int] = []
        for found in self._international.finditer(text):
            hit = self._judge(text, found.start(), found.end(), international=True)
            if hit is not None:
                starts.append(hit.start)
                ends.append(hit.end)
                yield hit
        for found in self._national.finditer(text):
            index = bisect_right(starts, found.start()) - 1
            if index >= 0 and ends[index] > found.start():
                continue
            hit = self._judge(text, found.start(), found.end(), international=False)
            if hit is not None:
                yield hit

    def _judge(self, text: str, start: int, end: int, *, international: bool) -> PiiHit | None:
        value = text[start:end]
        if not phone_plausible(value):
            return None
        window = context_window(text, start)
        if _first_word(_VERSION_WORDS, window[-12:]) is not None:
            return None
        phone_near = _nearest(_PHONE_WORDS, window)
        negative_near = _nearest(_NOT_PHONE_WORDS, window[-20:])
        if phone_near is not None and negative_near is not None and \
                phone_near[1] < len(window) - 20 + negative_near[1]:
            phone_near = None  # the label right before the number is the negative one ("Tel ...; Order 555-...")
        phone_word = phone_near[0] if phone_near else None
        negative = negative_near[0] if negative_near else None
        if international:
            confidence, reason = 0.75, "E.164 country code and length"
        else:
            if _DATE_SHAPE.fullmatch(value) or _DATE_SHAPE.match(value):
                return None  # a date, or the date part of a timestamp
            groups = self._groups.findall(value)
            separators = set(re.sub(r"[\d()]", "", value))
            if separators <= {"."} and all(len(group) <= 3 for group in groups):
                return None  # IP-like or a version
            thousands = len(groups[0]) <= 3 and all(len(group) == 3 for group in groups[1:])
            strong = value.startswith(("(", "0")) or [len(group) for group in groups] == [3, 3, 4]
            if thousands and not value.startswith("0"):
                confidence, reason = 0.35, "national phone shape; also a grouped number"
            elif strong:
                confidence, reason = 0.55, "national phone format"
            else:
                confidence, reason = 0.4, "digit groups of a phone's length"
        if phone_word is not None:
            confidence = max(confidence, 0.7) + 0.2
            reason += f"; context '{phone_word}'"
        if negative is not None:
            if phone_word is None:
                return None
            confidence -= 0.3
            reason += f"; also near '{negative}'"
        return _hit("PHONE", start, end, confidence, value, reason, self.name)


# Issuer identification number ranges and lengths (ISO/IEC 7812 registrations as published by the networks).
_CARD_BRANDS: tuple[tuple[str, tuple[tuple[int, int], ...], tuple[int, ...]], ...] = (
    ("visa", ((4, 4),), (13, 16, 19)),
    ("mastercard", ((51, 55), (2221, 2720)), (16,)),
    ("amex", ((34, 34), (37, 37)), (15,)),
    ("discover", ((6011, 6011), (644, 649), (65, 65)), (16, 17, 18, 19)),
    ("diners", ((300, 305), (36, 36), (38, 39)), (14, 15, 16, 17, 18, 19)),
    ("jcb", ((3528, 3589),), (16, 17, 18, 19)),
    ("unionpay", ((62, 62),), (16, 17, 18, 19)),
    ("maestro", ((50, 50), (56, 58), (63, 63), (67, 67)), (12, 13, 14, 15, 16, 17, 18, 19)),
)


def card_brand(digits: str) -> str | None:
    """The card network whose IIN range and length fit ``digits``, or None."""
    for brand, ranges, lengths in _CARD_BRANDS:
        if len(digits) not in lengths:
            continue
        for low, high in ranges:
            size = len(str(low))
            prefix = int(digits[:size])
            if low <= prefix <= high:
                return brand
    return None


class CreditCardRecognizer:
    """Payment card numbers: 13-19 digits, optionally in groups, with Luhn check, brand prefix and length."""

    name = "credit_card"
    entities = ("CREDIT_CARD",)
    _pattern = re.compile(r"(?<![\d.,-])[1-9]\d{3}(?:[ -]?\d){9,15}(?![\d]|[.,-]\d)")

    def find(self, text: str) -> Iterator[PiiHit]:
        if _HAS_DIGIT.search(text) is None:
            return
        for found in self._pattern.finditer(text):
            value = found.group()
            digits = value.replace(" ", "").replace("-", "")
            separators = set(value) - set("0123456789")
            if len(separators) > 1 or not luhn_valid(digits):
                continue
            brand = card_brand(digits)
            if brand is None:
                continue
            window = context_window(text, found.start())
            word = _first_word(_CARD_WORDS, window)
            confidence, reason = 0.8, f"luhn valid; {brand} prefix and length"
            if word is not None:
                confidence, reason = 0.95, f"{reason}; context '{word}'"
            elif not separators:
                negative = _first_word(_NOT_PHONE_WORDS, window[-20:])
                if negative is not None:
                    confidence, reason = 0.4, f"{reason}; near '{negative}'"
            yield _hit("CREDIT_CARD", found.start(), found.end(), confidence, value, reason, self.name)


class IbanRecognizer:
    """IBANs, compact or in groups of four: registry length per country and the mod-97 check."""

    name = "iban"
    entities = ("IBAN",)
    _pattern = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?(?![A-Za-z0-9])")

    def find(self, text: str) -> Iterator[PiiHit]:
        if _HAS_DIGIT.search(text) is None:
            return
        for found in self._pattern.finditer(text):
            end = self._trim(text, found.start(), found.end())
            if end is None:
                continue
            value = text[found.start(): end]
            word = _first_word(_IBAN_WORDS, context_window(text, found.start()))
            confidence, reason = 0.9, "country length and mod-97 valid"
            if word is not None:
                confidence, reason = 0.98, f"{reason}; context '{word}'"
            yield _hit("IBAN", found.start(), end, confidence, value, reason, self.name)

    @staticmethod
    def _trim(text: str, start: int, end: int) -> int | None:
        """The end of the valid IBAN starting at ``start`` (the match may have taken a following group)."""
        expected = IBAN_LENGTHS.get(text[start: start + 2])
        if expected is None:
            return None
        seen = 0
        for position in range(start, end):
            if text[position] != " ":
                seen += 1
                if seen == expected:
                    stop = position + 1
                    if stop < end and text[stop] != " ":
                        return None
                    return stop if iban_valid(text[start:stop]) else None
        return None


class UsSsnRecognizer:
    """US Social Security numbers: ``123-45-6789`` (or spaced) by shape, nine bare digits only with context."""

    name = "us_ssn"
    entities = ("US_SSN",)
    _dashed = re.compile(r"(?<![\w.-])\d{3}([- ])\d{2}\1\d{4}(?![\w]|[.-]\d)")
    _bare = re.compile(r"(?<![\w.-])\d{9}(?![\w]|[.-]\d)")

    def find(self, text: str) -> Iterator[PiiHit]:
        if _HAS_DIGIT.search(text) is None:
            return
        for pattern, shaped in ((self._dashed, True), (self._bare, False)):
            for found in pattern.finditer(text):
                value = found.group()
                if not us_ssn_valid(value):
                    continue
                word = _first_word(_SSN_WORDS, context_window(text, found.start()))
                spaced = shaped and " " in value
                if word is not None:
                    confidence, reason = 0.95, f"SSA area/group/serial rules; context '{word}'"
                elif shaped and not spaced:
                    confidence, reason = 0.6, "SSN shape; SSA area/group/serial rules"
                else:
                    continue  # nine digits or spaced groups are too common to report without a label
                yield _hit("US_SSN", found.start(), found.end(), confidence, value, reason, self.name)


class UkNinoRecognizer:
    """UK National Insurance numbers (``AB 12 34 56 C``) with HMRC's prefix rules."""

    name = "uk_nino"
    entities = ("UK_NINO",)
    _pattern = re.compile(r"(?<![\w])[A-Za-z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-Da-d](?!\w)")

    def find(self, text: str) -> Iterator[PiiHit]:
        if _HAS_DIGIT.search(text) is None:
            return
        for found in self._pattern.finditer(text):
            value = found.group()
            if not uk_nino_valid(value):
                continue
            word = _first_word(_NINO_WORDS, context_window(text, found.start()))
            upper = value.isupper() or not any(char.isalpha() for char in value)
            confidence, reason = (0.75 if upper else 0.45), "HMRC prefix rules"
            if word is not None:
                confidence, reason = 0.95, f"{reason}; context '{word}'"
            yield _hit("UK_NINO", found.start(), found.end(), confidence, value, reason, self.name)


class DeTaxIdRecognizer:
    """German Steuer-Identifikationsnummer: 11 digits (or ``12 345 678 901``) with check digit; needs context."""

    name = "de_tax_id"
    entities = ("DE_TAX_ID",)
    _pattern = re.compile(r"(?<![\w.-])[1-9]\d(?: ?\d{3}){3}(?![\w]|[.-]\d)")

    def find(self, text: str) -> Iterator[PiiHit]:
        if _HAS_DIGIT.search(text) is None:
            return
        for found in self._pattern.finditer(text):
            value = found.group()
            if not de_tax_id_valid(value):
                continue
            word = _first_word(_DE_TAX_WORDS, context_window(text, found.start()))
            if word is not None:
                confidence, reason = 0.9, f"digit rule and MOD 11,10 check; context '{word}'"
            else:
                confidence, reason = 0.3, "digit rule and MOD 11,10 check; no Steuer-ID label"
            yield _hit("DE_TAX_ID", found.start(), found.end(), confidence, value, reason, self.name)


class AadhaarRecognizer:
    """Indian Aadhaar numbers: 12 digits (``2345 6789 0123``), first digit 2-9, Verhoeff check digit."""

    name = "in_aadhaar"
    entities = ("IN_AADHAAR",)
    # Not three groups cut out of a longer run of groups (a 4-4-4-4 card number): no digit group may touch it.
    _pattern = re.compile(r"(?<![\w.-])(?<!\d[ -])[2-9]\d{3}([ -]?)\d{4}\1\d{4}(?![\w]|[.-]\d|[ -]\d)")

    def find(self, text: str) -> Iterator[PiiHit]:
        if _HAS_DIGIT.search(text) is None:
            return
        for found in self._pattern.finditer(text):
            value = found.group()
            if not aadhaar_valid(value):
                continue
            word = _first_word(_AADHAAR_WORDS, context_window(text, found.start()))
            if word is not None:
                confidence, reason = 0.95, f"Verhoeff check digit; context '{word}'"
            elif found.group(1):
                confidence, reason = 0.55, "Verhoeff check digit; Aadhaar grouping"
            else:
                confidence, reason = 0.35, "Verhoeff check digit; no Aadhaar label"
            yield _hit("IN_AADHAAR", found.start(), found.end(), confidence, value, reason, self.name)


class IpAddressRecognizer:
    """IPv4 and IPv6 addresses; not dotted version numbers; loopback, private and documentation ranges lower."""

    name = "ip_address"
    entities = ("IP_ADDRESS",)
    _v4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")
    _v6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|\d{1,3}(?:\.\d{1,3}){3})?(?![\w:]|\.\d)")

    def find(self, text: str) -> Iterator[PiiHit]:
        if _HAS_DIGIT.search(text) is not None and "." in text:
            for found in self._v4.finditer(text):
                hit = self._judge(text, found.start(), found.end(), ipv4_valid)
                if hit is not None:
                    yield hit
        if "::" in text or text.count(":") >= 7:
            for found in self._v6.finditer(text):
                value = found.group()
                if value.count(":") < 2 or len(value.replace(":", "")) < 1:
                    continue
                hit = self._judge(text, found.start(), found.end(), ipv6_valid)
                if hit is not None:
                    yield hit

    def _judge(self, text: str, start: int, end: int, valid: Callable[[str], bool]) -> PiiHit | None:
        value = text[start:end]
        if not valid(value):
            return None
        window = context_window(text, start)
        if _first_word(_VERSION_WORDS, window[-16:]) is not None:
            return None
        address = ipaddress.ip_address(value)
        if address.is_loopback or address.is_unspecified or address.is_multicast or address.is_reserved:
            confidence, reason = 0.3, "valid address; loopback, unspecified or reserved"
        elif address.is_link_local or address.is_private:
            confidence, reason = 0.6, "valid address; private range"
        else:
            confidence, reason = 0.85, "valid public address"
        word = _first_word(_IP_WORDS, window)
        if word is not None and confidence >= 0.6:
            confidence += 0.1
            reason += f"; context '{word}'"
        return _hit("IP_ADDRESS", start, end, confidence, value, reason, self.name)


# Birth words in English, German, French, Spanish, Italian, Portuguese and Dutch (written from the field labels
# of passports and civil-status forms in those languages).
_BIRTH_WORDS = re.compile(
    r"(?<!\w)(?:date of birth|birth ?date|birthday|born(?: on)?|birth|dob|d\.o\.b\.?|"
    r"geburtsdatum|geburtstag|geboren(?: am)?|geb\.|"
    r"date de naissance|naissance|née? le|née?|"
    r"fecha de nacimiento|nacimiento|nacid[oa](?: el)?|"
    r"data di nascita|nascita|nat[oa](?: il)?|"
    r"data de nascimento|nascimento|nascid[oa](?: em)?|"
    r"geboortedatum|geboren op)(?!\w)",
)
_MONTHS: dict[str, int] = {}
for _number, _names in enumerate((
    "january jan januar janvier enero gennaio janeiro januari jänner",
    "february feb februar février fevrier febrero febbraio fevereiro februari",
    "march mar märz maerz mars marzo março maart",
    "april apr avril abril aprile",
    "may mai mayo maggio maio mei",
    "june jun juni juin junio giugno junho",
    "july jul juli juillet julio luglio julho",
    "august aug août aout agosto augustus",
    "september sep sept septembre septiembre settembre setembro",
    "october oct oktober octobre octubre ottobre outubro",
    "november nov novembre noviembre novembro",
    "december dec dezember décembre decembre diciembre dicembre dezembro",
), start=1):
    for _name in _names.split():
        _MONTHS[_name] = _number
_MONTH_NAMES = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DATE = re.compile(
    r"(?<!\d)(?:"
    r"(?P<iy>\d{4})[-./](?P<im>\d{1,2})[-./](?P<id>\d{1,2})"
    r"|(?P<na>\d{1,2})[-./](?P<nb>\d{1,2})[-./](?P<ny>\d{4}|\d{2})"
    rf"|(?P<wd>\d{{1,2}})\.?(?:st|nd|rd|th|er|º)?(?: de)? (?P<wm>{_MONTH_NAMES})\.?,?(?: de)? (?P<wy>\d{{4}})"
    rf"|(?P<mm>{_MONTH_NAMES})\.? (?P<md>\d{{1,2}})(?:st|nd|rd|th)?,? (?P<my>\d{{4}})"
    r")(?!\d)",
    re.IGNORECASE,
)
# How far after a birth word a date may start ("Date of birth (DD/MM/YYYY): ...").
_BIRTH_WINDOW = 40


def _real_date(year: int, month: int, day: int) -> bool:
    return 1870 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]


def parse_date(found: re.Match[str]) -> bool:
    """True when a ``_DATE`` match names a real calendar day (D/M/Y or M/D/Y, two-digit years allowed)."""
    groups = found.groupdict()
    if groups["iy"]:
        return _real_date(int(groups["iy"]), int(groups["im"]), int(groups["id"]))
    if groups["ny"]:
        year = int(groups["ny"])
        if len(groups["ny"]) == 2:
            year += 1900 if year > 30 else 2000
        first, second = int(groups["na"]), int(groups["nb"])
        return _real_date(year, second, first) or _real_date(year, first, second)
    if groups["wy"]:
        return _real_date(int(groups["wy"]), _MONTHS[groups["wm"].lower()], int(groups["wd"]))
    return _real_date(int(groups["my"]), _MONTHS[groups["mm"].lower()], int(groups["md"]))


class DateOfBirthRecognizer:
    """Dates of birth: a date (ISO, D/M/Y, M/D/Y, ``3 March 1985``) shortly after a birth word, in seven
    languages. Ordinary dates are not reported."""

    name = "date_of_birth"
    entities = ("DATE_OF_BIRTH",)

    def find(self, text: str) -> Iterator[PiiHit]:
        if _HAS_DIGIT.search(text) is None:
            return
        last_end = -1
        for word in _BIRTH_WORDS.finditer(_lowered(text)):
            window_end = word.end() + _BIRTH_WINDOW
            found = _DATE.search(text, word.end(), window_end + 40)
            if found is None or found.start() > window_end or found.start() < last_end:
                continue
            if not parse_date(found):
                continue
            last_end = found.end()
            label = word.group().lower()
            yield _hit("DATE_OF_BIRTH", found.start(), found.end(), 0.85, found.group(),
                       f"real date after birth word '{label}'", self.name)


_ID_AFTER_LABEL = re.compile(
    r"\.?[ \t]{0,3}(?:(?:no|nr|number|num|#|id)\.?[ \t]{0,3})?[:#=]?[ \t]{0,3}(?P<id>[A-Za-z0-9][A-Za-z0-9-]{3,23})(?![\w-])",
    re.IGNORECASE,
)

# Field labels of US/UK/EU health, insurance, banking and licensing forms (hand-written), lower case.
_ID_LABELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("MEDICAL_RECORD_NUMBER", (
        "mrn", "medical record number", "medical record no", "medical record", "patient id", "patient number",
        "patient no", "chart number", "hospital number", "nhs number", "patientennummer", "dossier médical")),
    ("HEALTH_PLAN_NUMBER", (
        "member id", "member number", "member no", "policy number", "policy no", "health plan number",
        "health plan id", "insurance id", "insurance number", "subscriber id", "beneficiary number",
        "medicare number", "medicaid id", "versichertennummer", "krankenversicherungsnummer")),
    ("ACCOUNT_NUMBER", (
        "account number", "account no", "acct no", "acct", "account #", "bank account", "kontonummer",
        "numéro de compte", "número de cuenta", "numero di conto")),
    ("LICENSE_NUMBER", (
        "driver's license", "drivers license", "driver license", "driver's licence", "driving licence",
        "driving license", "licence number", "license number", "license no", "licence no", "dl#",
        "führerscheinnummer", "führerschein", "permis de conduire")),
)


def _label_pattern() -> re.Pattern[str]:
    """One pattern over lower-cased text for all labels; group ``e<i>`` tells which entity's label matched."""
    groups = []
    for index, (_entity, labels) in enumerate(_ID_LABELS):
        alternatives = "|".join(re.escape(label).replace(r"\ ", r"[ _-]?")
                                for label in sorted(labels, key=len, reverse=True))
        groups.append(f"(?P<e{index}>{alternatives})")
    return re.compile(rf"(?<!\w)(?:{'|'.join(groups)})(?!\w)")


_LABELS = _label_pattern()


def _lowered(text: str) -> str:
    """``text`` lower-cased at the same offsets (a few characters change length when lowered: keep those)."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(char if len(char.lower()) != 1 else char.lower() for char in text)


class LabelledIdRecognizer:
    """Record, member, account and licence numbers: an alphanumeric id with a digit, only right after its label
    (``MRN: 00123456``, ``Policy number AB-123456``)."""

    name = "labelled_id"
    entities = ("MEDICAL_RECORD_NUMBER", "HEALTH_PLAN_NUMBER", "ACCOUNT_NUMBER", "LICENSE_NUMBER")

    def find(self, text: str) -> Iterator[PiiHit]:
        if _HAS_DIGIT.search(text) is None:
            return
        for word in _LABELS.finditer(_lowered(text)):
            found = _ID_AFTER_LABEL.match(text, word.end())
            if found is None:
                continue
            value = found.group("id")
            if sum(char.isdigit() for char in value) < 3:
                continue
            entity = _ID_LABELS[int((word.lastgroup or "e0")[1:])][0]
            yield _hit(entity, found.start("id"), found.end("id"), 0.8, value,
                       f"id after label '{word.group()}'", self.name)


class UrlCredentialsRecognizer:
    """URLs with a user name and password: ``scheme://user:password@host``."""

    name = "url_credentials"
    entities = ("URL_WITH_CREDENTIALS",)
    _scheme = re.compile(r"[A-Za-z][A-Za-z0-9+.-]{0,15}\Z")
    _rest = re.compile(r"(?P<user>[^\s:/@]{1,128}):(?P<password>[^\s/@]{1,256})@(?P<host>[A-Za-z0-9.\-\[\]:]{1,253})")
    _placeholder = re.compile(r"^(?:\*+|x+|\$\{.*\}|\{\{.*\}\}|<.*>|%\(.*\)s|password|pass|passwd|secret|"
                              r"changeme|\$[A-Z_]+)$", re.IGNORECASE)

    def find(self, text: str) -> Iterator[PiiHit]:
        if "://" not in text or "@" not in text:
            return
        for marker in re.finditer("://", text):
            head = self._scheme.search(text, max(0, marker.start() - 16), marker.start())
            if head is None:
                continue
            found = self._rest.match(text, marker.end())
            if found is None:
                continue
            value = text[head.start(): found.end()]
            if self._placeholder.match(found.group("password")):
                confidence, reason = 0.3, "user and password in URL; password is a placeholder"
            else:
                confidence, reason = 0.9, "user and password in URL"
            yield _hit("URL_WITH_CREDENTIALS", head.start(), found.end(), confidence, value, reason, self.name)


class SecretRecognizer:
    """Secrets (API tokens, private keys, JWTs, passwords) found by ``mlwarden.supply.secrets.find_secrets``."""

    name = "secret"
    entities = ("SECRET",)
    _generic_rule = "MW-SECRET-004"

    def find(self, text: str) -> Iterable[PiiHit]:
        hits = find_secrets(text)
        if not hits:
            return []
        line_starts = [0] + [found.end() for found in re.finditer("\n", text)]
        out: list[PiiHit] = []
        for hit in hits:
            if hit.start is None or hit.end is None or hit.line > len(line_starts):
                continue
            base = line_starts[hit.line - 1]
            masked = hit.evidence or mask_secret(text[base + hit.start: base + hit.end])
            kind = (hit.data or {}).get("provider", "secret")
            confidence = 0.7 if hit.rule_id == self._generic_rule else 0.9
            out.append(PiiHit(entity="SECRET", start=base + hit.start, end=base + hit.end, confidence=confidence,
                              masked=masked, reason=f"{hit.rule_id}: {kind}", recognizer=self.name))
        return out


ALL_RECOGNIZERS: tuple[str, ...] = (
    "EmailRecognizer", "PhoneRecognizer", "CreditCardRecognizer", "IbanRecognizer", "UsSsnRecognizer",
    "UkNinoRecognizer", "DeTaxIdRecognizer", "AadhaarRecognizer", "IpAddressRecognizer", "DateOfBirthRecognizer",
    "LabelledIdRecognizer", "UrlCredentialsRecognizer", "SecretRecognizer",
)
