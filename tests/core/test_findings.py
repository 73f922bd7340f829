import pytest

from mlwarden.core.errors import UsageError
from mlwarden.core.findings import Location, Severity
from mlwarden.core.rules import make_finding


def test_severity_order_and_parse():
    assert [s.rank for s in Severity] == [4, 3, 2, 1, 0]
    assert Severity.parse(" HIGH ") is Severity.HIGH
    with pytest.raises(UsageError, match="critical, high, medium, low, info"):
        Severity.parse("severe")


def test_fingerprint_ignores_offsets_but_not_rule_path_or_evidence():
    a = make_finding("MW-PKL-001", Location("a.pkl", offset=1), "m", evidence="os.system")
    b = make_finding("MW-PKL-001", Location("a.pkl", offset=99), "m", evidence="os.system")
    c = make_finding("MW-PKL-001", Location("b.pkl", offset=1), "m", evidence="os.system")
    d = make_finding("MW-PKL-001", Location("a.pkl", offset=1), "m", evidence="posix.system")
    assert a.fingerprint == b.fingerprint
    assert len({a.fingerprint, c.fingerprint, d.fingerprint}) == 3


def test_location_display_and_dict_omit_missing_parts():
    loc = Location("x.zip", member="archive/data.pkl", offset=12)
    assert loc.display() == "x.zip!archive/data.pkl@12"
    assert loc.to_dict() == {"path": "x.zip", "member": "archive/data.pkl", "offset": 12}
    assert Location("n.ipynb", line=3, column=2, cell=1).to_dict() == {"path": "n.ipynb", "line": 3, "column": 2,
                                                                       "cell": 1}
