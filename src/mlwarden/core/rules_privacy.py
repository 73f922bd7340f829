"""Catalogue entries for personal data in data files (``mlwarden pii scan``), and the severity of each entity.

Emitted by ``mlwarden.privacy.files`` and ``mlwarden.privacy.tables``. Data only: no detection logic here, and
nothing in this module ever sees a scanned value.

References: GDPR (Regulation (EU) 2016/679) Art. 4(1) "personal data", Art. 5(1)(c) "data minimisation",
Art. 32 "security of processing"; HIPAA Privacy Rule 45 CFR 164.514(b) (de-identification, Safe Harbor's 18
identifiers); CWE-359 "Exposure of Private Personal Information to an Unauthorized Actor", CWE-20 "Improper
Input Validation", CWE-400 "Uncontrolled Resource Consumption".
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from mlwarden.core.findings import Severity
from mlwarden.core.rule import Rule

_H, _M, _L = Severity.HIGH, Severity.MEDIUM, Severity.LOW
_PRIVACY = ("CWE-359", "GDPR Art. 4(1)", "GDPR Art. 5(1)(c)", "GDPR Art. 32", "45 CFR 164.514(b)")
_MINIMISE = ("Remove or pseudonymise the values before the data is used for training or shared (drop the "
             "column, mask or tokenise it, or replace it with synthetic data); keep only what the model needs "
             "(GDPR data minimisation, HIPAA Safe Harbor de-identification).")

PRIVACY_RULES: tuple[Rule, ...] = (
    Rule("MW-PII-001", "Personal data in text", _M,
         "A text, JSON or JSON Lines file holds personal data: names, e-mail addresses, phone numbers, payment "
         "cards, bank accounts, national identity numbers, addresses, dates of birth, medical record numbers or "
         "secrets. Models memorise and can repeat such values from their training data. Severity follows the "
         "entity: secrets, card, social-security, national-id and medical numbers are high; contact details, "
         "names, addresses and birth dates medium; IP addresses low. Reports show masked values only.",
         _MINIMISE, _PRIVACY, "privacy"),
    Rule("MW-PII-002", "Table column holds personal data", _M,
         "Most sampled values of a table column (CSV, TSV, Parquet, JSON Lines records) are personal data of one "
         "kind, or a free-text column mentions personal data. The column name is only a weak hint; the decision "
         "rests on validated values. Severity follows the entity as for MW-PII-001.",
         _MINIMISE, _PRIVACY, "privacy"),
    Rule("MW-PII-003", "Data file could not be fully scanned for personal data", _M,
         "The file is malformed (invalid JSON or JSON Lines records, undecodable text, a broken table), needs an "
         "optional extra, or exceeds a scan limit, so part of it was not searched for personal data.",
         "Fix or re-export the file (or install the named extra), or review the unscanned part by hand.",
         ("CWE-20", "CWE-400", "CWE-359"), "privacy"),
)

# Severity of a finding by canonical entity label (mlwarden.privacy.model.ENTITIES). Labels not listed here
# (user-defined recognizers) get the rule's default, medium.
ENTITY_SEVERITY: Mapping[str, Severity] = MappingProxyType({
    # Direct access to money, identity or accounts, or special-category (health) data: high.
    "SECRET": _H, "URL_WITH_CREDENTIALS": _H, "CREDIT_CARD": _H, "IBAN": _H, "ACCOUNT_NUMBER": _H,
    "US_SSN": _H, "UK_NINO": _H, "DE_TAX_ID": _H, "IN_AADHAAR": _H, "LICENSE_NUMBER": _H,
    "MEDICAL_RECORD_NUMBER": _H, "HEALTH_PLAN_NUMBER": _H,
    # Identifying, contact and quasi-identifying data: medium.
    "PERSON": _M, "EMAIL": _M, "PHONE": _M, "STREET_ADDRESS": _M, "DATE_OF_BIRTH": _M,
    # Often a server's or a documentation address; personal data only in context: low.
    "IP_ADDRESS": _L,
})


def severity_for_entity(entity: str) -> Severity:
    """The severity of a personal-data finding about ``entity`` (medium for labels not in the table)."""
    return ENTITY_SEVERITY.get(entity, _M)
