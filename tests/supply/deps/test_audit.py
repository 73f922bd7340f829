"""The dependency audit: findings per rule (positive and safe look-alike), alias merging, severities, the
minimal upgrade set, database age, ML grouping."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlwarden.core.findings import Severity
from mlwarden.supply.advisories.importer import import_path
from mlwarden.supply.advisories.store import AdvisoryStore, advisory_from_osv
from mlwarden.supply.deps.audit import (
    DATABASE_LOCATION,
    ML_PACKAGES,
    Upgrade,
    advisory_severity,
    audit,
    check_database_age,
    cvss3_base_score,
    is_ml_package,
    merge_advisories,
    missing_database_finding,
    severity_from_score,
)
from mlwarden.supply.deps.model import Dependency, normalize_name
from tests.samples.advisories import CVSS_CRITICAL, build_db, build_tiny_db, tiny_records

REPO_ROOT = Path(__file__).resolve().parents[3]
SNAPSHOT = REPO_ROOT.parent / "shared" / "advisories" / "pypi-osv.jsonl.gz"

V1 = ["GHSA-demo-0001-aaaa", "CVE-2099-0001", "TEST-0001"]  # TEST-0001 + its GHSA twin (shared CVE)
V2 = ["GHSA-demo-0002-bbbb", "CVE-2099-0002", "TEST-0002"]  # TEST-0002 + the GHSA that aliases it


@pytest.fixture()
def store(tmp_path):
    with AdvisoryStore.open(build_tiny_db(tmp_path)) as opened:
        yield opened


def pinned(name: str, version: str, *, source: str = "requirements.txt", line: int = 1, **kw) -> Dependency:
    return Dependency(name=name, source=source, kind="pinned", version=version, specifier=f"=={version}",
                      line=line, **kw)


def ranged(name: str, specifier: str, *, source: str = "pyproject.toml", line: int = 3) -> Dependency:
    return Dependency(name=name, source=source, kind="range" if specifier else "unpinned", specifier=specifier,
                      line=line)


def rules_of(result) -> list[str]:
    return [f.rule_id for f in result.findings]


# ---- MW-DEP-001 --------------------------------------------------------------------------------------------

def test_a_vulnerable_pin_gives_one_finding_per_vulnerability_with_all_ids(store):
    result = audit([pinned("demo-pkg", "1.1.0", line=7)], store)
    assert rules_of(result) == ["MW-DEP-001"]  # TEST-0001 and GHSA-demo-0001-aaaa are one vulnerability
    (finding,) = result.findings
    assert finding.severity is Severity.CRITICAL  # CVSS 9.8 from TEST-0001
    assert finding.location.path == "requirements.txt" and finding.location.line == 7
    assert finding.evidence == "demo-pkg 1.1.0: GHSA-demo-0001-aaaa (CVE-2099-0001, TEST-0001)"
    data = finding.data
    assert data["package"] == "demo-pkg" and data["version"] == "1.1.0"
    assert data["ids"] == V1 and data["id"] == V1[0] and data["aliases"] == V1[1:]
    assert data["cvss"] == 9.8 and data["severity_source"] == "cvss_v3" and data["cvss_vector"] == CVSS_CRITICAL
    assert data["affected"] == "<1.2.0" and data["fixed"] == "1.2.0"
    assert data["source"] == "requirements.txt" and data["ml"] is False
    assert data["summary"]
    assert "fixed in 1.2.0" in finding.message
    json.dumps(finding.to_dict())  # the JSON report can carry it
    assert result.audited == 1 and result.vulnerable == 1


def test_records_that_alias_each_other_are_merged(store):
    (finding,) = audit([pinned("demo-pkg", "2.0.1")], store).findings
    assert finding.data["ids"] == V2
    assert finding.severity is Severity.HIGH and finding.data["severity_source"] == "database_specific"
    assert finding.data["affected"] == ">=2.0,<2.0.3; >=2.1,<=2.1.4" and finding.data["fixed"] == "2.0.3"


def test_inclusive_end_without_a_fix(store):
    (finding,) = audit([pinned("demo-pkg", "2.1.4")], store).findings
    assert finding.data["fixed"] is None and "no fixed version is known" in finding.message


@pytest.mark.parametrize("dependency", [
    pinned("demo-pkg", "1.2.0"),  # the fix itself
    pinned("demo-pkg", "2.0.3"),
    pinned("demo-pkg", "2.1.5"),
    pinned("demo-pkg", "5.0"),  # only the withdrawn TEST-0004 and the npm TEST-0006 cover it
    pinned("Demo_Pkg.Other", "1.0.post2"),
    pinned("edge-pkg", "3.0.0"),
    pinned("limit-pkg", "2.0"),
    pinned("unknown-pkg", "1.0"),
    pinned("demo-pkg", "not-a-version"),
])
def test_safe_look_alikes_give_no_finding(store, dependency):
    result = audit([dependency], store)
    assert result.findings == [] and result.vulnerable == 0 and result.upgrades == []


@pytest.mark.parametrize("dependency, ids", [
    (pinned("Demo_Pkg.Other", "1.0.post1"), ["TEST-0003"]),
    (pinned("demo.pkg.other", "1.0"), ["TEST-0003"]),
    (pinned("edge-pkg", "3.0.0rc1"), ["TEST-0005"]),
    (pinned("edge-pkg", "1!0.6"), ["TEST-0005"]),
    (pinned("limit-pkg", "1.0"), ["TEST-0007"]),
])
def test_matching_edge_cases_through_the_audit(store, dependency, ids):
    assert [f.data["id"] for f in audit([dependency], store).findings] == ids


def test_ml_packages_are_marked(store):
    (finding,) = audit([pinned("Torch", "2.5.0")], store).findings
    assert finding.data["ml"] is True
    # CVSS v4 is not scored: the record's database_specific severity is used.
    assert finding.severity is Severity.CRITICAL and finding.data["severity_source"] == "database_specific"
    assert finding.data["cvss"] is None


def test_the_same_package_in_two_files_is_reported_at_each_place(store):
    deps = [pinned("demo-pkg", "1.1.0", source="requirements.txt", line=2),
            pinned("demo-pkg", "1.1.0", source="notebooks/train.ipynb", line=1, cell=3)]
    result = audit(deps, store)
    assert [(f.location.path, f.location.cell) for f in result.findings] == [
        ("requirements.txt", None), ("notebooks/train.ipynb", 3)]
    assert len({f.fingerprint for f in result.findings}) == 2
    assert result.vulnerable == 1 and len(result.upgrades) == 1


def test_url_path_and_editable_requirements_are_not_matched(store):
    deps = [Dependency("demo-pkg", "requirements.txt", kind=kind, url="https://example.org/demo.zip")
            for kind in ("url", "path", "editable")]
    result = audit(deps, store)
    assert result.findings == [] and result.audited == 0


# ---- MW-DEP-002 / MW-DEP-003 -------------------------------------------------------------------------------

def test_a_range_is_not_exact_and_lists_possible_vulnerabilities(store):
    result = audit([ranged("demo-pkg", ">=1.0")], store)
    assert rules_of(result) == ["MW-DEP-002", "MW-DEP-003"]
    not_pinned, possible = result.findings
    assert not_pinned.severity is Severity.LOW and not_pinned.data["specifier"] == ">=1.0"
    assert possible.data["ids"] == V1 + V2
    assert [v["id"] for v in possible.data["vulnerabilities"]] == [V1[0], V2[0]]
    # The range admits fixed versions of both: the rule's own severity.
    assert possible.severity is Severity.MEDIUM
    assert all(v["admits_fixed"] for v in possible.data["vulnerabilities"])
    assert possible.data["version"] is None and possible.location.line == 3


def test_a_range_that_admits_no_fix_takes_the_vulnerability_severity(store):
    (_, possible) = audit([ranged("demo-pkg", "<1.2")], store).findings
    assert possible.data["ids"] == V1
    assert possible.severity is Severity.CRITICAL
    assert possible.data["vulnerabilities"][0]["admits_fixed"] is False


def test_a_range_past_every_window_only_says_it_is_not_pinned(store):
    assert rules_of(audit([ranged("demo-pkg", ">=2.1.5")], store)) == ["MW-DEP-002"]
    assert rules_of(audit([ranged("safe-pkg", "")], store)) == ["MW-DEP-002"]


def test_unpinned_and_unparseable_specifiers(store):
    result = audit([ranged("limit-pkg", "")], store)
    assert rules_of(result) == ["MW-DEP-002", "MW-DEP-003"]
    assert "no version constraint" in result.findings[0].message
    broken = audit([Dependency("demo-pkg", "requirements.txt", kind="range", specifier=">=>1")], store)
    assert rules_of(broken) == ["MW-DEP-002", "MW-DEP-003"]
    assert "not valid PEP 440" in broken.findings[0].message


def test_a_pinned_kind_without_a_version_is_audited_as_a_range(store):
    dependency = Dependency("demo-pkg", "requirements.txt", kind="pinned", version=None, specifier="<1.2")
    assert rules_of(audit([dependency], store)) == ["MW-DEP-002", "MW-DEP-003"]


# ---- upgrades ----------------------------------------------------------------------------------------------

def test_upgrades_are_the_smallest_versions_that_fix_everything(store):
    deps = [pinned("demo-pkg", "1.1.0"), pinned("demo-pkg", "2.0.1"), pinned("demo-pkg", "2.1.2"),
            ranged("demo-pkg", "<1.2")]
    upgrades = {u.current: u for u in audit(deps, store).upgrades}
    assert upgrades["1.1.0"] == Upgrade("demo-pkg", "1.1.0", "1.2.0", (V1[0],))
    assert upgrades["2.0.1"] == Upgrade("demo-pkg", "2.0.1", "2.0.3", (V2[0],))
    assert upgrades["2.1.2"] == Upgrade("demo-pkg", "2.1.2", None, (), (V2[0],))
    assert upgrades["<1.2"].target == "1.2.0"


def _record(record_id: str, events: list[dict[str, str]], package: str = "multi-pkg") -> dict:
    return {"id": record_id, "modified": "2024-01-01T00:00:00Z",
            "affected": [{"package": {"ecosystem": "PyPI", "name": package},
                          "ranges": [{"type": "ECOSYSTEM", "events": events}]}]}


def test_an_upgrade_must_not_land_in_another_vulnerability(tmp_path):
    path = tmp_path / "db.sqlite3"
    build_db([_record("X-1", [{"introduced": "0"}, {"fixed": "1.2"}]),
              _record("X-2", [{"introduced": "1.2"}, {"fixed": "1.3"}]),
              _record("X-3", [{"introduced": "0"}, {"last_affected": "0.5"}])], path)
    with AdvisoryStore.open(path) as store:
        (upgrade,) = audit([pinned("multi-pkg", "1.0")], store).upgrades
    assert upgrade == Upgrade("multi-pkg", "1.0", "1.3", ("X-1",))


def test_when_nothing_fixes_everything_the_upgrade_fixes_what_it_can(tmp_path):
    path = tmp_path / "db.sqlite3"
    build_db([_record("X-1", [{"introduced": "0"}, {"fixed": "1.5"}]),
              _record("X-2", [{"introduced": "0"}, {"last_affected": "9.0"}])], path)
    with AdvisoryStore.open(path) as store:
        (upgrade,) = audit([pinned("multi-pkg", "1.0")], store).upgrades
    assert upgrade == Upgrade("multi-pkg", "1.0", "1.5", ("X-1",), ("X-2",))


# ---- severity ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("vector, score", [
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),
    ("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 7.5),
    ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8),
    ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 9.9),
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
    ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:L/I:N/A:N", 4.3),
    ("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.6),
    ("CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:H/I:N/A:N", 4.7),
    ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
    # temporal and environmental metrics do not change the base score
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U/RL:O/RC:C", 9.8),
])
def test_cvss3_base_score(vector, score):
    assert cvss3_base_score(vector) == score


@pytest.mark.parametrize("vector", [
    "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", "AV:N/AC:L/Au:N/C:P/I:P/A:P",
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H", "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
    "CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "CVSS:3.1/", "", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:Q/C:H/I:H/A:H",
    "CVSS:3.1/" + "AV:N/" * 200,
])
def test_invalid_or_unsupported_vectors_have_no_score(vector):
    assert cvss3_base_score(vector) is None


_metric_values = {"AV": "NALP", "AC": "LH", "PR": "NLH", "UI": "NR", "S": "UC", "C": "HLN", "I": "HLN", "A": "HLN"}


@settings(max_examples=150, deadline=None)
@given(values=st.fixed_dictionaries({k: st.sampled_from(v) for k, v in _metric_values.items()}),
       order=st.permutations(list(_metric_values)), minor=st.sampled_from(["3.0", "3.1"]))
def test_every_valid_vector_scores_between_0_and_10_in_one_decimal(values, order, minor):
    score = cvss3_base_score(f"CVSS:{minor}/" + "/".join(f"{k}:{values[k]}" for k in order))
    assert score is not None and 0.0 <= score <= 10.0 and round(score, 1) == score
    assert (score == 0.0) == all(values[k] == "N" for k in "CIA")


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=80) | st.builds(lambda t: "CVSS:3.1/" + t, st.text(max_size=80)))
def test_junk_vectors_never_raise(text):
    score = cvss3_base_score(text)
    assert score is None or 0.0 <= score <= 10.0


def test_severity_ladder_and_fallbacks():
    assert [severity_from_score(s) for s in (9.0, 8.9, 7.0, 6.9, 4.0, 3.9, 0.0)] == [
        Severity.CRITICAL, Severity.HIGH, Severity.HIGH, Severity.MEDIUM, Severity.MEDIUM, Severity.LOW,
        Severity.LOW]
    base = {"id": "X-1", "modified": "2024-01-01T00:00:00Z"}
    moderate = advisory_from_osv({**base, "database_specific": {"severity": "MODERATE"}})
    assert advisory_severity(moderate).severity is Severity.MEDIUM
    unrated = advisory_from_osv({**base, "severity": [{"type": "CVSS_V4", "score": "CVSS:4.0/AV:N"}]})
    assert advisory_severity(unrated).severity is Severity.HIGH and advisory_severity(unrated).source == "default"


def test_merging_prefers_scores_and_pysec_ids():
    records = [
        {"id": "GHSA-aaaa-bbbb-cccc", "modified": "2024-01-01T00:00:00Z", "aliases": ["CVE-2099-1"],
         "database_specific": {"severity": "LOW"},
         "affected": [{"package": {"ecosystem": "PyPI", "name": "p"}, "versions": ["1.0"]}]},
        {"id": "PYSEC-2099-1", "modified": "2024-01-01T00:00:00Z", "aliases": ["CVE-2099-1"],
         "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:L/I:N/A:N"}],
         "affected": [{"package": {"ecosystem": "PyPI", "name": "p"}, "versions": ["1.0"]}]},
        # Chained: only aliases the GHSA id, still the same vulnerability.
        {"id": "OSV-2099-1", "modified": "2024-01-01T00:00:00Z", "aliases": ["GHSA-aaaa-bbbb-cccc"],
         "affected": [{"package": {"ecosystem": "PyPI", "name": "p"}, "versions": ["1.0"]}]},
        {"id": "PYSEC-2099-2", "modified": "2024-01-01T00:00:00Z",
         "affected": [{"package": {"ecosystem": "PyPI", "name": "p"}, "versions": ["1.0"]}]},
    ]
    merged = merge_advisories([advisory_from_osv(r) for r in records], "P")
    assert [v.ids for v in merged] == [
        ("PYSEC-2099-1", "CVE-2099-1", "GHSA-aaaa-bbbb-cccc", "OSV-2099-1"), ("PYSEC-2099-2",)]
    assert merged[0].cvss == 4.3 and merged[0].severity is Severity.MEDIUM
    assert merged[1].severity_source == "default"


# ---- database state ----------------------------------------------------------------------------------------

def test_an_old_database_gives_one_stable_finding(store):
    old = check_database_age(store, 30, now=datetime(2024, 12, 1, tzinfo=UTC))
    assert old is not None and old.rule_id == "MW-DEP-006" and old.location.path == DATABASE_LOCATION
    assert "122 days old" in old.message
    older = check_database_age(store, 30, now=datetime(2025, 6, 1, tzinfo=UTC))
    assert older.fingerprint == old.fingerprint  # a baseline entry keeps matching as days pass
    assert check_database_age(store, 30, now=datetime(2024, 8, 15, tzinfo=UTC)) is None  # fresh enough


def test_missing_database_finding():
    finding = missing_database_finding("/tmp/x.sqlite3", dependencies=3)
    assert finding.rule_id == "MW-DEP-005" and "3 dependencies were not audited" in finding.message


# ---- ML set ------------------------------------------------------------------------------------------------

def test_ml_package_set():
    assert 40 <= len(ML_PACKAGES) == len(set(ML_PACKAGES))
    assert all(normalize_name(name) == name for name in ML_PACKAGES)
    for name in ("torch", "TensorFlow", "transformers", "Pillow", "scikit_learn", "huggingface.hub", "mlflow"):
        assert is_ml_package(name)
    for name in ("requests", "flask", "torch-but-not", ""):
        assert not is_ml_package(name)


# ---- the real snapshot -------------------------------------------------------------------------------------

def test_audit_against_the_real_snapshot(tmp_path):
    if not SNAPSHOT.is_file():
        pytest.skip("the shared PyPA OSV snapshot is not present")
    import_path(SNAPSHOT, tmp_path / "db.sqlite3")
    with AdvisoryStore.open(tmp_path / "db.sqlite3") as store:
        result = audit([pinned("torch", "1.12.0"), pinned("pillow", "9.0.0"), pinned("requests", "2.32.3")],
                       store)
    torch = [f for f in result.findings if f.data["package"] == "torch"]
    assert any("CVE-2022-45907" in f.data["ids"] for f in torch)
    assert all(f.data["ml"] for f in torch)
    assert any(f.evidence.startswith("torch 1.12.0: PYSEC-") and "CVE-2022-45907" in f.evidence for f in torch)
    assert any(f.data["package"] == "pillow" for f in result.findings)
    pillow_upgrade = next(u for u in result.upgrades if u.name == "pillow")
    assert pillow_upgrade.target is not None and not pillow_upgrade.unfixed


# ---- robustness --------------------------------------------------------------------------------------------

_dependencies = st.builds(
    Dependency,
    name=st.sampled_from(["demo-pkg", "Demo_Pkg.Other", "edge-pkg", "limit-pkg", "torch", "x"]) | st.text(max_size=8),
    source=st.just("requirements.txt"),
    kind=st.sampled_from(["pinned", "range", "unpinned", "url", "path", "editable"]),
    version=st.none() | st.text(max_size=10) | st.sampled_from(["1.0", "2.0.1", "1!0.6", "3.0.0rc1"]),
    specifier=st.text(max_size=12) | st.sampled_from(["", ">=1.0", "<1.2", "~=2.0", "==1.*", "!=2.1.4"]),
    line=st.none() | st.integers(1, 100),
)


@settings(max_examples=150, deadline=None)
@given(deps=st.lists(_dependencies, max_size=5))
def test_audit_never_raises_on_odd_dependencies(tmp_path_factory, deps):
    path = build_tiny_db(tmp_path_factory.mktemp("db"))
    with AdvisoryStore.open(path) as store:
        result = audit(deps, store)
    for finding in result.findings:
        json.dumps(finding.to_dict())
    assert result.vulnerable <= len(deps)


def test_tiny_records_are_valid_osv_apart_from_their_test_ids():
    jsonschema = pytest.importorskip("jsonschema")
    schema_path = REPO_ROOT.parent / "shared" / "schemas" / "osv" / "schema.json"
    if not schema_path.is_file():
        pytest.skip("the shared OSV schema is not present")
    schema = json.loads(schema_path.read_text())
    for record in tiny_records():
        record["id"] = "PYSEC-" + record["id"]  # TEST- is not a registered prefix
        jsonschema.validate(record, schema)
