import re
from pathlib import Path

import pytest

from mlwarden.cli.rules import rules_markdown
from mlwarden.core.errors import UsageError
from mlwarden.core.findings import Location, Severity
from mlwarden.core.rules import CATALOGUE, all_rules, get_rule, make_finding

REPO = Path(__file__).resolve().parents[2]


def test_rule_ids_are_unique_and_well_formed():
    ids = [r.rule_id for r in all_rules()]
    assert len(ids) == len(set(ids))
    for rule in all_rules():
        assert re.fullmatch(r"MW-[A-Z]+-\d{3}", rule.rule_id), rule.rule_id
        assert rule.title and rule.description and rule.remediation
        assert isinstance(rule.severity, Severity)


def test_every_rule_has_a_cwe_or_cve_reference():
    for rule in all_rules():
        assert any(ref.startswith(("CWE-", "CVE-")) for ref in rule.references), rule.rule_id


def test_make_finding_takes_title_remediation_and_references_from_the_catalogue():
    finding = make_finding("MW-PKL-001", Location("m.pkl", offset=3), "calls os.system", evidence="os.system")
    rule = CATALOGUE["MW-PKL-001"]
    assert finding.title == rule.title
    assert finding.severity is Severity.CRITICAL
    assert finding.references == rule.references
    assert finding.to_dict()["location"] == {"path": "m.pkl", "offset": 3}


def test_unknown_rule_is_a_usage_error():
    with pytest.raises(UsageError, match="mlwarden rules"):
        get_rule("MW-NOPE-999")


def test_docs_rules_md_is_generated_from_the_catalogue():
    assert (REPO / "docs" / "rules.md").read_text() == rules_markdown() + "\n"
