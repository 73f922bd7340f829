"""Catalogue entries for the dependency audit (known vulnerabilities in the packages a project uses).

References: ``OWASP-ML06`` (AI Supply Chain Attacks), ATLAS AML.T0010.001 "ML Supply Chain Compromise: ML
Software", CWE-1395 "Dependency on Vulnerable Third-Party Component", CWE-1104 "Use of Unmaintained Third Party
Components", CWE-1357 "Reliance on Insufficiently Trustworthy Component".
"""

from __future__ import annotations

from mlwarden.core.findings import Severity
from mlwarden.core.rule import Rule

_SUPPLY_SW = ("OWASP-ML06", "ATLAS AML.T0010.001")

DEPENDENCY_RULES: tuple[Rule, ...] = (
    Rule("MW-DEP-001", "Dependency has a known vulnerability", Severity.HIGH,
         "The pinned or installed version of this package is affected by a published advisory. The finding's "
         "severity follows the advisory's CVSS score when it has one.",
         "Upgrade to the fixed version named in the finding (see the upgrade summary for the smallest set).",
         ("CWE-1395", *_SUPPLY_SW), "dependency"),
    Rule("MW-DEP-002", "Dependency is not pinned to one version", Severity.LOW,
         "The requirement admits several versions, so the version that gets installed, and its advisories, "
         "cannot be audited exactly. Advisories that affect any admitted version are listed as possible.",
         "Pin exact versions in a lock file (pip-compile, uv lock, poetry lock) and audit the lock file.",
         ("CWE-1357", *_SUPPLY_SW), "dependency"),
    Rule("MW-DEP-003", "Admitted versions include vulnerable ones", Severity.MEDIUM,
         "The requirement is not pinned and some of the versions it admits are affected by an advisory.",
         "Raise the lower bound past the fixed version, or pin a fixed version.",
         ("CWE-1395", *_SUPPLY_SW), "dependency"),
    Rule("MW-DEP-004", "Dependency file could not be fully parsed", Severity.MEDIUM,
         "A line or entry of a requirements or lock file was malformed or uses a form mlwarden cannot resolve "
         "(a URL, a local path, an include outside the project), so that dependency was not audited.",
         "Fix the entry or audit the resolved lock file instead.", ("CWE-1357",), "dependency"),
    Rule("MW-DEP-005", "Dependencies were not audited: no advisory database", Severity.HIGH,
         "Dependencies were found but there is no local advisory database to check them against. High by "
         "default: a gate that passes without auditing gives false assurance (deny by default); lower it in "
         "[severity] or run with --skip deps if dependencies are audited elsewhere.",
         "Run 'mlwarden db update' (online) or 'mlwarden db import PATH' with an OSV export, then scan again.",
         ("CWE-1395",), "dependency"),
    Rule("MW-DEP-006", "Advisory database is out of date", Severity.LOW,
         "The local advisory database is older than the configured maximum age, so recent advisories are missing.",
         "Run 'mlwarden db update' or import a newer OSV export.", ("CWE-1395",), "dependency"),
    Rule("MW-DEP-007", "Dependency installed from a URL, a path or in editable mode", Severity.LOW,
         "The requirement bypasses the package index and version pinning; what gets installed is whatever the "
         "URL or folder holds at install time and cannot be audited against advisories.",
         "Publish the package to an index you control and pin its version, or pin a commit and add a hash.",
         ("CWE-494", "CWE-1357", *_SUPPLY_SW), "dependency"),
)
