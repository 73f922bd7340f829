"""Validators: published example numbers pass, one changed digit or a forbidden range fails, nothing raises."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlwarden.privacy.validators import (
    E164_COUNTRY_CODES,
    IBAN_LENGTHS,
    VALIDATORS,
    aadhaar_valid,
    de_tax_id_valid,
    iban_valid,
    ipv4_valid,
    ipv6_valid,
    luhn_valid,
    phone_plausible,
    uk_nino_valid,
    us_ssn_valid,
    verhoeff_valid,
)


@pytest.mark.parametrize("number", ["4111 1111 1111 1111", "5555-5555-5555-4444", "378282246310005", "79927398713"])
def test_luhn_accepts_network_test_numbers(number: str) -> None:
    assert luhn_valid(number)


@pytest.mark.parametrize("number", ["4111 1111 1111 1112", "79927398710", "1", "", "abcd", "4111x1111"])
def test_luhn_rejects_changed_digits_and_junk(number: str) -> None:
    assert not luhn_valid(number)


@pytest.mark.parametrize("iban", ["GB82 WEST 1234 5698 7654 32", "DE89370400440532013000", "de89370400440532013000",
                                  "FR1420041010050500013M02606", "NO9386011117947"])
def test_iban_accepts_registry_examples(iban: str) -> None:
    assert iban_valid(iban)


@pytest.mark.parametrize("iban", ["DE89370400440532013001", "DE8937040044053201300", "XX89370400440532013000",
                                  "GB82WEST1234569876543", "DE8937040044053201300O", ""])
def test_iban_rejects_bad_checksum_length_and_country(iban: str) -> None:
    assert not iban_valid(iban)


def test_iban_table_has_the_sepa_core() -> None:
    assert IBAN_LENGTHS["DE"] == 22 and IBAN_LENGTHS["GB"] == 22 and IBAN_LENGTHS["NO"] == 15
    assert IBAN_LENGTHS["MT"] == 31 and IBAN_LENGTHS["RU"] == 33


@pytest.mark.parametrize("ssn", ["123-45-6788", "536 22 1234", "001010001", "665-01-0001"])
def test_ssn_accepts_issuable_numbers(ssn: str) -> None:
    assert us_ssn_valid(ssn)


@pytest.mark.parametrize("ssn", ["000-12-3456", "666-12-3456", "900-12-3456", "999-99-9999", "123-00-4567",
                                 "123-45-0000", "078-05-1120", "219-09-9999", "12-345-678", "1234567890"])
def test_ssn_rejects_never_issued(ssn: str) -> None:
    assert not us_ssn_valid(ssn)


@pytest.mark.parametrize("nino", ["AB 12 34 56 C", "ab123456c", "JG103759A", "CE123456D"])
def test_nino_accepts_valid_prefixes(nino: str) -> None:
    assert uk_nino_valid(nino)


@pytest.mark.parametrize("nino", ["DA123456A", "AD123456A", "QQ123456C", "GB123456A", "NK123456A", "TN123456A",
                                  "ZZ123456A", "AO123456A", "AB123456E", "AB12345C", "AB1234567C"])
def test_nino_rejects_forbidden_prefixes_and_shapes(nino: str) -> None:
    assert not uk_nino_valid(nino)


@pytest.mark.parametrize("tax_id", ["86095742719", "47036892816", "65929970489", "57549285017", "25768131411",
                                    "86 095 742 719"])
def test_de_tax_id_accepts_bzst_examples(tax_id: str) -> None:
    assert de_tax_id_valid(tax_id)


@pytest.mark.parametrize("tax_id", [
    "86095742718",  # wrong check digit
    "06095742719",  # leading zero
    "12345678903",  # every digit once: no repeated digit
    "11123456789",  # one digit three times in a row
    "11223456789",  # two digits repeated
    "8609574271",  # ten digits
])
def test_de_tax_id_rejects_rule_breakers(tax_id: str) -> None:
    assert not de_tax_id_valid(tax_id)


def test_verhoeff_and_aadhaar() -> None:
    assert verhoeff_valid("2363") and not verhoeff_valid("2364")
    assert aadhaar_valid("4991 1866 5246") and aadhaar_valid("234123412346")
    assert not aadhaar_valid("499118665247")  # check digit
    assert not aadhaar_valid("123412341234")  # first digit 1
    assert not aadhaar_valid("49911866524")  # 11 digits


@pytest.mark.parametrize("phone", ["+49 151 12345678", "+1 (555) 123-4567", "+44 20 7946 0958", "030 1234567",
                                   "(555) 123-4567"])
def test_phone_plausible(phone: str) -> None:
    assert phone_plausible(phone)


@pytest.mark.parametrize("phone", ["+999 1234 5678", "+49 123", "+1 2345 6789 0123 4567", "123456", "0000000000",
                                   "1234567890123"])
def test_phone_implausible(phone: str) -> None:
    assert not phone_plausible(phone)


def test_country_codes_are_not_prefixes_of_each_other() -> None:
    for code in E164_COUNTRY_CODES:
        assert not any(code != other and other.startswith(code) for other in E164_COUNTRY_CODES)


def test_ip_syntax() -> None:
    assert ipv4_valid("8.8.8.8") and ipv4_valid("192.168.0.1")
    assert not ipv4_valid("256.1.1.1") and not ipv4_valid("1.2.3") and not ipv4_valid("01.2.3.4")
    assert ipv6_valid("2001:db8::1") and ipv6_valid("::1") and ipv6_valid("::ffff:192.0.2.1")
    assert not ipv6_valid("12:30:45") and not ipv6_valid("fe80::1%eth0") and not ipv6_valid("1:2:3:4:5:6:7:8:9")


def test_long_input_is_rejected_at_once() -> None:
    huge = "4" * 10_000_000
    for check in VALIDATORS.values():
        assert check(huge) is False


@given(st.text(max_size=80))
def test_validators_never_raise(text: str) -> None:
    for check in VALIDATORS.values():
        assert check(text) in (True, False)
