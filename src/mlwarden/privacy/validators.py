"""Check digits and format rules of personal identifiers: pure functions from a candidate string to a verdict.

The recognizers call these to turn "looks like a number" into "is a valid number of this kind", which is what
separates a credit card from an order number. Every function takes the raw candidate (separators allowed),
runs in time linear in a bounded input (longer inputs are rejected at once) and returns a bool; none raises on
any string, none looks anything up over the network, and none logs or returns the value it was given.

Sources of the rules and tables:

* Luhn: ISO/IEC 7812-1 annex B.
* IBAN: ISO 13616-1 (mod-97 per ISO 7064) and the lengths of the SWIFT IBAN Registry (release 2024).
* US SSN: SSA "Social Security Number Randomization" (2011): area 000, 666 and 900-999, group 00 and serial
  0000 are never issued; 078-05-1120 and 219-09-9999 are well-known advertising numbers.
* UK NINO: HMRC National Insurance Manual NIM39110 (prefix letters and unallocated prefixes).
* DE Steuer-ID: Steueridentifikationsnummerverordnung (StIdV) and BZSt: 11 digits, first not 0, in the first
  ten digits exactly one digit occurs twice or three times (three times never adjacent), ISO 7064 MOD 11,10.
* Aadhaar: UIDAI: 12 digits, first digit 2-9, last digit a Verhoeff check digit.
* Phone: ITU-T E.164 (at most 15 digits) and its list of assigned country codes.
* IP addresses: RFC 791 / RFC 4291 syntax, checked by the standard library's ``ipaddress``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

__all__ = [
    "E164_COUNTRY_CODES",
    "IBAN_LENGTHS",
    "VALIDATORS",
    "aadhaar_valid",
    "de_tax_id_valid",
    "iban_valid",
    "ipv4_valid",
    "ipv6_valid",
    "luhn_valid",
    "phone_plausible",
    "uk_nino_valid",
    "us_ssn_valid",
    "verhoeff_valid",
]

# Longer than any identifier checked here (an IBAN is at most 34 characters; 64 leaves room for separators).
_MAX_CANDIDATE = 64
_SEPARATORS = re.compile(r"[\s./()-]")

# ISO 13616 lengths per country, from the SWIFT IBAN Registry.
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27,
    "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25,
    "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18,
    "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33,
    "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}

# ITU-T E.164 assigned country calling codes (Operational Bulletin list), 1 to 3 digits; no code is a prefix
# of another, so the first match while reading 1, 2, then 3 digits is the code.
E164_COUNTRY_CODES: frozenset[str] = frozenset(
    "1 7 20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 60 61 62 63 64 65 66 "
    "81 82 84 86 90 91 92 93 94 95 98 211 212 213 216 218 290 291 297 298 299 350 351 352 353 354 355 356 "
    "357 358 359 370 371 372 373 374 375 376 377 378 379 380 381 382 383 385 386 387 389 420 421 423 500 501 "
    "502 503 504 505 506 507 508 509 590 591 592 593 594 595 596 597 598 599 670 672 673 674 675 676 677 678 "
    "679 680 681 682 683 685 686 687 688 689 690 691 692 800 808 850 852 853 855 856 870 878 880 881 882 883 "
    "886 888 960 961 962 963 964 965 966 967 968 970 971 972 973 974 975 976 977 979 992 993 994 995 996 998"
    .split()
) | frozenset(str(code) for code in range(220, 259)) | frozenset(str(code) for code in range(260, 270))

# Numbers printed in advertising and documentation, never issued to a person (SSA).
_SSN_NEVER_ISSUED = frozenset({"078051120", "219099999", "123456789"})

# HMRC NIM39110: first letter never D F I Q U V; second letter never D F I O Q U V; these pairs unallocated.
_NINO_BAD_FIRST = frozenset("DFIQUV")
_NINO_BAD_SECOND = frozenset("DFIOQUV")
_NINO_BAD_PREFIXES = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})
_NINO = re.compile(r"[A-Z]{2}\d{6}[A-D]")

# Verhoeff's dihedral-group tables (J. Verhoeff, "Error Detecting Decimal Codes", 1969).
_VERHOEFF_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 3, 4, 0, 6, 7, 8, 9, 5), (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7), (4, 0, 1, 2, 3, 9, 5, 6, 7, 8), (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2), (7, 6, 5, 9, 8, 2, 1, 0, 4, 3), (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_VERHOEFF_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 5, 7, 6, 2, 8, 3, 0, 9, 4), (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7), (9, 4, 5, 3, 1, 2, 6, 8, 7, 0), (4, 2, 8, 6, 5, 7, 3, 9, 1, 0),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5), (7, 0, 4, 6, 9, 1, 3, 2, 8, 5),
)


def _compact(value: str) -> str | None:
    """``value`` without separators (spaces, dots, dashes, slashes, parentheses), or None when too long."""
    if len(value) > _MAX_CANDIDATE:
        return None
    return _SEPARATORS.sub("", value)


def _digits(value: str) -> str | None:
    compact = _compact(value)
    if compact is None or not compact.isascii() or not compact.isdigit():
        return None
    return compact


def luhn_valid(value: str) -> bool:
    """True when ``value`` (digits and separators, at least 2 digits) passes the Luhn mod-10 check."""
    digits = _digits(value)
    if digits is None or len(digits) < 2:
        return False
    total = 0
    for index, char in enumerate(reversed(digits)):
        digit = ord(char) - 48
        if index % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def iban_valid(value: str) -> bool:
    """True for an IBAN (spaces allowed, either case) of its country's registered length with mod-97 == 1."""
    compact = _compact(value)
    if compact is None or not compact.isascii() or not compact.isalnum():
        return False
    compact = compact.upper()
    country = compact[:2]
    if IBAN_LENGTHS.get(country) != len(compact) or not compact[2:4].isdigit():
        return False
    rearranged = compact[4:] + compact[:4]
    remainder = 0
    for char in rearranged:  # digit by digit keeps the numbers small (no 34-digit integer needed)
        number = int(char, 36)
        remainder = (remainder * (100 if number > 9 else 10) + number) % 97
    return remainder == 1


def us_ssn_valid(value: str) -> bool:
    """True for nine digits that the SSA could have issued (area, group and serial rules)."""
    digits = _digits(value)
    if digits is None or len(digits) != 9:
        return False
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    if area == "000" or area == "666" or area[0] == "9" or group == "00" or serial == "0000":
        return False
    return digits not in _SSN_NEVER_ISSUED


def uk_nino_valid(value: str) -> bool:
    """True for a UK National Insurance number: two prefix letters, six digits, suffix A-D (HMRC rules)."""
    compact = _compact(value)
    if compact is None:
        return False
    compact = compact.upper()
    if not _NINO.fullmatch(compact):
        return False
    first, second = compact[0], compact[1]
    if first in _NINO_BAD_FIRST or second in _NINO_BAD_SECOND:
        return False
    return compact[:2] not in _NINO_BAD_PREFIXES


def de_tax_id_valid(value: str) -> bool:
    """True for a German Steuer-Identifikationsnummer: digit-frequency rule and ISO 7064 MOD 11,10 check."""
    digits = _digits(value)
    if digits is None or len(digits) != 11 or digits[0] == "0":
        return False
    body = digits[:10]
    counts = [body.count(str(digit)) for digit in range(10)]
    repeated = [digit for digit in range(10) if counts[digit] > 1]
    if len(repeated) != 1 or counts[repeated[0]] > 3:
        return False
    if counts[repeated[0]] == 3 and str(repeated[0]) * 3 in body:
        return False
    product = 10
    for char in body:
        total = (ord(char) - 48 + product) % 10
        if total == 0:
            total = 10
        product = (total * 2) % 11
    check = 11 - product
    if check == 10:
        check = 0
    return check == ord(digits[10]) - 48


def verhoeff_valid(value: str) -> bool:
    """True when the last digit of ``value`` is the Verhoeff check digit of the others."""
    digits = _digits(value)
    if digits is None or len(digits) < 2:
        return False
    check = 0
    for index, char in enumerate(reversed(digits)):
        check = _VERHOEFF_D[check][_VERHOEFF_P[index % 8][ord(char) - 48]]
    return check == 0


def aadhaar_valid(value: str) -> bool:
    """True for an Aadhaar number: 12 digits, first digit 2-9, Verhoeff check digit."""
    digits = _digits(value)
    return digits is not None and len(digits) == 12 and digits[0] not in "01" and verhoeff_valid(digits)


def phone_plausible(value: str) -> bool:
    """True for a plausible phone number.

    With a leading ``+``: an assigned E.164 country code and 8 to 15 digits in all. Without: a national number
    of 7 to 12 digits (trunk prefix included), not all the same digit.
    """
    stripped = value.strip()
    international = stripped.startswith("+")
    digits = _digits(stripped[1:] if international else stripped)
    if digits is None or len(set(digits)) == 1:
        return False
    if not international:
        return 7 <= len(digits) <= 12
    if not 8 <= len(digits) <= 15:
        return False
    return any(digits[:size] in E164_COUNTRY_CODES for size in (1, 2, 3))


def ipv4_valid(value: str) -> bool:
    """True for a dotted-quad IPv4 address (no leading zeros, each part 0-255)."""
    if len(value) > 15:
        return False
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return False
    return True


def ipv6_valid(value: str) -> bool:
    """True for an IPv6 address in any RFC 4291 text form (without zone or prefix length)."""
    if len(value) > 45 or "%" in value or "/" in value:
        return False
    try:
        ipaddress.IPv6Address(value)
    except ValueError:
        return False
    return True


# Names a user can give a ``CustomPattern`` as its validator.
VALIDATORS: dict[str, Callable[[str], bool]] = {
    "luhn": luhn_valid,
    "iban": iban_valid,
    "us_ssn": us_ssn_valid,
    "uk_nino": uk_nino_valid,
    "de_tax_id": de_tax_id_valid,
    "verhoeff": verhoeff_valid,
    "aadhaar": aadhaar_valid,
    "phone": phone_plausible,
    "ipv4": ipv4_valid,
    "ipv6": ipv6_valid,
}
