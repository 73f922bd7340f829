"""Catalogue entries for the re-identification risk of a table (``mlwarden.privacy.risk``). Data only.

Emitted by ``mlwarden.privacy.risk.risk_findings``; nothing here ever sees a table value.

References: Sweeney, "k-anonymity: a model for protecting privacy" (2002); Machanavajjhala et al.,
"l-diversity: privacy beyond k-anonymity" (2007); GDPR (Regulation (EU) 2016/679) Art. 4(1) and Recital 26
(identifiability "by all the means reasonably likely to be used"); HIPAA 45 CFR 164.514(b) (de-identification:
Safe Harbor's direct identifiers, Expert Determination's small-cell rule); CWE-359 "Exposure of Private Personal
Information to an Unauthorized Actor".
"""

from __future__ import annotations

from mlwarden.core.findings import Severity
from mlwarden.core.rule import Rule

_H, _M = Severity.HIGH, Severity.MEDIUM
_REFS = ("CWE-359", "GDPR Art. 4(1)", "GDPR Recital 26", "45 CFR 164.514(b)")

RISK_RULES: tuple[Rule, ...] = (
    Rule("MW-RISK-001", "Table records can be singled out (k-anonymity below threshold)", _H,
         "Some combinations of quasi-identifiers (age, birth date, postcode, gender, city, ...) are shared by "
         "fewer records than the k threshold, so a person known to be in the data can be singled out by linking "
         "these columns with another source (voter rolls, social media). High when some records are unique "
         "(k = 1), medium otherwise.",
         "Generalize the quasi-identifiers (age bands, birth year instead of date, postcode prefix) as the "
         "report's suggestions show, or suppress the rare records, until every class holds at least k records.",
         _REFS, "privacy"),
    Rule("MW-RISK-002", "Table holds direct identifiers", _H,
         "A column holds values that identify a person on their own (names, e-mail addresses, phone numbers, "
         "national identity, card, account or medical record numbers), so no linking is needed to re-identify.",
         "Drop the column, or replace it with a keyed pseudonym kept apart from the data, before release or "
         "training.",
         _REFS, "privacy"),
    Rule("MW-RISK-003", "Sensitive attribute is not diverse within a class (l-diversity below 2)", _M,
         "Within at least one class of records that share their quasi-identifiers, the sensitive column holds a "
         "single value, so whoever can place a person in that class learns the sensitive value (homogeneity "
         "attack) even when the class is large.",
         "Generalize the quasi-identifiers further so that classes mix sensitive values, or suppress the "
         "homogeneous classes.",
         _REFS, "privacy"),
)
