"""The trust policy: every MW-TRUST rule from 001 to 006 with a positive and a negative case, k-of-n with
repeated signers, unsigned files (the extra pickle beside signed safetensors), signature age, and loading the
policy from TOML, where every mistake is a one-line ConfigError. Verdicts are built here from the shared values,
so the policy is tested apart from the verifier."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlwarden.core.errors import ConfigError, InputError, UsageError
from mlwarden.core.findings import Severity
from mlwarden.integrity.model import (
    Difference,
    HashSettings,
    Manifest,
    ResourceDigest,
    SignatureVerdict,
    SignerIdentity,
)
from mlwarden.integrity.policy import (
    MAX_POLICY_FILE_BYTES,
    TrustedCertificate,
    TrustPolicy,
    evaluate,
    load_trust_policy,
    trust_policy_from_mapping,
)
from tests.samples.pickles import global_os_system_p0

KEY_A = "a1" * 32
KEY_B = "b2" * 32
KEY_C = "c3" * 32
DIGEST = "d4" * 32
OTHER_DIGEST = "e5" * 32
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CA = "CN=Example Release CA,O=Example"


def manifest(digest: str = DIGEST, hash_type: str = "sha256") -> Manifest:
    settings = HashSettings(hash_type=hash_type)  # type: ignore[arg-type]
    return Manifest(model_name="bert", settings=settings,
                    resources=(ResourceDigest("model.safetensors", hash_type, "00" * 32),), subject_digest=digest)


def verdict(key: str = KEY_A, *, algorithm: str = "ecdsa-p256-sha256", method: str = "key",
            subject: str | None = None, issuer: str | None = None, digest: str = DIGEST, hash_type: str = "sha256",
            differences: tuple[Difference, ...] = (), problems: tuple[str, ...] = (), ok: bool = True,
            signed_at: str | None = None, path: str = "model.sig", model_path: str = "bert") -> SignatureVerdict:
    signer = SignerIdentity(method=method, algorithm=algorithm, key_fingerprint=key,  # type: ignore[arg-type]
                            subject=subject, issuer=issuer)
    return SignatureVerdict(signature_path=path, model_path=model_path, signature_ok=ok, signer=signer,
                            manifest=manifest(digest, hash_type), differences=differences, problems=problems,
                            signed_at=signed_at)


def policy(**values: object) -> TrustPolicy:
    values.setdefault("trusted_keys", [KEY_A])
    return trust_policy_from_mapping(values)


def rules_of(decision, *, at_least: Severity = Severity.INFO) -> list[str]:
    return [f.rule_id for f in decision.findings if f.severity.rank >= at_least.rank]


def decide(trust: TrustPolicy, *verdicts: SignatureVerdict, model: Path = Path("bert"), **options):
    return evaluate(trust, list(verdicts), model=model, now=options.pop("now", NOW), **options)


def assert_gate_consistent(decision) -> None:
    """Allowed never comes with a finding at high or above; denied always explains itself with one."""
    assert decision.allowed == (not rules_of(decision, at_least=Severity.HIGH)), decision


# --- who signed: MW-TRUST-001 --------------------------------------------------------------------------------

def test_a_trusted_key_is_allowed():
    decision = decide(policy(), verdict())
    assert decision.allowed and decision.trusted_signers == (KEY_A,)
    assert rules_of(decision) == []
    assert decision.reasons[-1] == "allowed"


def test_the_default_policy_trusts_nobody():
    decision = decide(TrustPolicy(), verdict())
    assert not decision.allowed
    assert rules_of(decision) == ["MW-TRUST-001", "MW-TRUST-003"]
    assert_gate_consistent(decision)


def test_an_untrusted_key_is_denied_with_its_fingerprint_in_the_evidence():
    decision = decide(policy(), verdict(KEY_B))
    assert not decision.allowed and decision.trusted_signers == ()
    first = decision.findings[0]
    assert first.rule_id == "MW-TRUST-001" and first.severity is Severity.HIGH
    assert KEY_B in (first.evidence or "") and first.location.path == "model.sig"
    assert first.data is not None and first.data["key_fingerprint"] == KEY_B
    assert_gate_consistent(decision)


def test_fingerprints_are_accepted_with_prefix_colons_and_capitals():
    spelled = "SHA256:" + ":".join(KEY_A[i:i + 2].upper() for i in range(0, 64, 2))
    trust = policy(trusted_keys=[{"fingerprint": spelled, "name": "release key"}])
    decision = decide(trust, verdict())
    assert decision.allowed
    assert any("release key" in reason for reason in decision.reasons)


def test_a_certificate_is_trusted_by_subject_and_issuer():
    trust = policy(trusted_keys=[], trusted_certificates=[{"subject": "CN=ML Release,O=Example", "issuer": CA}])
    good = verdict(KEY_B, method="certificate", subject="CN=ML Release,O=Example", issuer=CA)
    assert decide(trust, good).allowed
    wrong_issuer = verdict(KEY_B, method="certificate", subject="CN=ML Release,O=Example", issuer="CN=Evil CA")
    assert rules_of(decide(trust, wrong_issuer)) == ["MW-TRUST-001", "MW-TRUST-003"]


def test_a_bare_key_never_matches_certificate_patterns():
    trust = policy(trusted_keys=[], trusted_certificates=[{"subject": "CN=ML Release,O=Example", "issuer": CA}])
    claimed = verdict(KEY_B, method="key", subject="CN=ML Release,O=Example", issuer=CA)
    assert not decide(trust, claimed).allowed


def test_certificate_globs_stay_inside_one_rdn():
    entry = TrustedCertificate(subject="CN=*,O=Example", issuer=CA)
    assert entry.matches("CN=alice,O=Example", CA)
    assert entry.matches(r"CN=Smith\, Alice,O=Example", CA)
    assert not entry.matches("CN=x,O=Evil,O=Example", CA)
    assert not entry.matches("CN=x+UID=1,O=Example", CA)
    assert not entry.matches("CN=alice,O=Example", "CN=Other CA,O=Example")
    literal = TrustedCertificate(subject="CN=[ab],O=Example", issuer=CA)
    assert literal.matches("CN=[ab],O=Example", CA) and not literal.matches("CN=a,O=Example", CA)
    sigstore = TrustedCertificate(subject="*@example.com", issuer="https://accounts.example.com")
    assert sigstore.matches("alice@example.com", "https://accounts.example.com")
    assert not sigstore.matches("alice@example.com", "https://accounts.example.com.evil")


@given(st.text(max_size=40), st.text(max_size=40))
def test_a_pattern_without_wildcards_matches_only_itself(pattern, other):
    pattern = pattern.replace("*", "").replace("?", "").replace("\\", "")
    if not pattern.strip():
        return
    entry = TrustedCertificate(subject=pattern, issuer=pattern)
    assert entry.matches(pattern, pattern)
    assert entry.matches(other, pattern) == (other == pattern)


@given(st.text(alphabet="CN=ab,+\\ *?", max_size=30))
def test_a_star_never_crosses_an_unescaped_separator(subject):
    entry = TrustedCertificate(subject="CN=*", issuer=CA)
    if entry.matches(subject, CA):
        unescaped = subject.replace("\\\\", "").replace("\\,", "").replace("\\+", "")
        assert "," not in unescaped and "+" not in unescaped


# --- with what: MW-TRUST-002 ---------------------------------------------------------------------------------

def test_ml_dsa_is_refused_unless_listed():
    decision = decide(policy(), verdict(algorithm="ml-dsa-65"))
    assert rules_of(decision) == ["MW-TRUST-002", "MW-TRUST-003"]
    assert "ml-dsa-65" in decision.findings[0].message
    assert decide(policy(algorithms=["ml-dsa-65", "ed25519"]), verdict(algorithm="ml-dsa-65")).allowed


def test_a_hash_algorithm_outside_the_policy_is_refused():
    trust = policy(hash_algorithms=["sha256"])
    assert decide(trust, verdict()).allowed
    decision = decide(trust, verdict(hash_type="blake2b"))
    assert "MW-TRUST-002" in rules_of(decision) and not decision.allowed
    assert "blake2b" in decision.findings[0].message


# --- how many: MW-TRUST-003 ----------------------------------------------------------------------------------

def test_no_signature_at_all_is_denied():
    decision = decide(policy(), model=Path("models/bert"))
    assert rules_of(decision) == ["MW-TRUST-003"]
    finding = decision.findings[0]
    assert finding.location.path == "models/bert" and "0 of 1" in finding.message
    assert finding.evidence == "the model has no signature"


def test_two_of_two_distinct_trusted_keys():
    trust = policy(trusted_keys=[KEY_A, KEY_B], required_signatures=2)
    decision = decide(trust, verdict(KEY_A, path="a.sig"), verdict(KEY_B, path="b.sig"))
    assert decision.allowed and set(decision.trusted_signers) == {KEY_A, KEY_B}


def test_the_same_signer_twice_counts_once():
    trust = policy(trusted_keys=[KEY_A, KEY_B], required_signatures=2)
    decision = decide(trust, verdict(KEY_A, path="a.sig"), verdict(KEY_A.upper(), path="a-again.sig"))
    assert not decision.allowed and rules_of(decision) == ["MW-TRUST-003"]
    assert "1 of 2" in decision.findings[0].message and decision.trusted_signers == (KEY_A,)


def test_one_certificate_identity_with_two_keys_counts_once():
    trust = policy(trusted_keys=[], required_signatures=2,
                   trusted_certificates=[{"subject": "CN=*,O=Example", "issuer": CA}])
    same_person = [verdict(key, method="certificate", subject="CN=alice,O=Example", issuer=CA, path=f"{key}.sig")
                   for key in (KEY_A, KEY_B)]
    assert not decide(trust, *same_person).allowed
    two_people = [same_person[0], verdict(KEY_B, method="certificate", subject="CN=bob,O=Example", issuer=CA)]
    assert decide(trust, *two_people).allowed


def test_signatures_over_different_models_do_not_add_up():
    trust = policy(trusted_keys=[KEY_A, KEY_B], required_signatures=2)
    decision = decide(trust, verdict(KEY_A), verdict(KEY_B, digest=OTHER_DIGEST))
    assert not decision.allowed and "1 of 2" in decision.findings[-1].message


def test_an_untrusted_second_signature_does_not_help():
    trust = policy(trusted_keys=[KEY_A, KEY_B], required_signatures=2)
    decision = decide(trust, verdict(KEY_A), verdict(KEY_C))
    assert not decision.allowed and rules_of(decision) == ["MW-TRUST-001", "MW-TRUST-003"]


def test_an_extra_untrusted_signature_is_reported_below_the_gate_when_enough_trusted_ones_exist():
    decision = decide(policy(), verdict(KEY_A, path="a.sig"), verdict(KEY_C, path="c.sig"))
    assert decision.allowed
    assert [(f.rule_id, f.severity) for f in decision.findings] == [("MW-TRUST-001", Severity.LOW)]
    assert_gate_consistent(decision)


@pytest.mark.parametrize("broken", [
    {"ok": False},
    {"problems": ("the payload was edited",)},
    {"differences": (Difference("modified", "model.safetensors"),)},
    {"differences": (Difference("removed", "config.json"),)},
    {"differences": (Difference("renamed", "b.bin", "renamed from a.bin"),)},
    {"differences": (Difference("symlink", "link.bin"),)},
])
def test_a_signature_that_failed_verification_never_counts(broken):
    decision = decide(policy(allow_unsigned_files=True), verdict(**broken))
    assert not decision.allowed and rules_of(decision) == ["MW-TRUST-003"]
    assert "does not count" in (decision.findings[0].evidence or "")
    assert decision.findings[0].data["signatures"][0]["counted"] is False


def test_a_verdict_without_signer_or_manifest_never_counts():
    bare = SignatureVerdict(signature_path="model.sig", model_path="bert", signature_ok=True)
    assert rules_of(decide(policy(), bare)) == ["MW-TRUST-003"]


# --- how old: MW-TRUST-004 -----------------------------------------------------------------------------------

class RegistryTimes:
    def __init__(self, answer: str | None = None, error: Exception | None = None) -> None:
        self.answer, self.error, self.asked = answer, error, []

    def signed_at(self, *, subject_digest: str, key_fingerprint: str) -> str | None:
        self.asked.append((subject_digest, key_fingerprint))
        if self.error is not None:
            raise self.error
        return self.answer


def days_ago(days: float) -> str:
    return (NOW - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_young_signature_passes_and_an_old_one_is_denied():
    trust = policy(max_signature_age_days=30)
    assert decide(trust, verdict(signed_at=days_ago(10))).allowed
    decision = decide(trust, verdict(signed_at=days_ago(40)))
    assert rules_of(decision) == ["MW-TRUST-004", "MW-TRUST-003"]
    assert "40 days ago" in decision.findings[0].message


def test_without_an_age_limit_an_old_signature_is_fine():
    assert decide(policy(), verdict(signed_at=days_ago(4000))).allowed


@pytest.mark.parametrize("signed_at, words", [
    (None, "unknown"),
    ("yesterday", "not an RFC 3339 time"),
    ("2026-05-30T12:00:00", "not an RFC 3339 time"),  # no offset: the age would be a guess
    ("9" * 500, "not an RFC 3339 time"),
    ((NOW + timedelta(days=2)).isoformat(), "in the future"),
])
def test_an_unknown_odd_or_future_time_is_denied_when_an_age_limit_is_set(signed_at, words):
    decision = decide(policy(max_signature_age_days=30), verdict(signed_at=signed_at))
    assert rules_of(decision) == ["MW-TRUST-004", "MW-TRUST-003"]
    assert words in decision.findings[0].message
    assert len(decision.findings[0].message) < 300


def test_a_little_clock_skew_is_tolerated():
    ahead = (NOW + timedelta(minutes=2)).isoformat()
    assert decide(policy(max_signature_age_days=1), verdict(signed_at=ahead)).allowed


def test_the_registry_supplies_the_time_when_the_signature_has_none():
    times = RegistryTimes(days_ago(3))
    assert decide(policy(max_signature_age_days=30), verdict(), signing_times=times).allowed
    assert times.asked == [(DIGEST, KEY_A)]
    assert not decide(policy(max_signature_age_days=30), verdict(), signing_times=RegistryTimes(None)).allowed
    assert not decide(policy(max_signature_age_days=2), verdict(), signing_times=times).allowed


def test_a_registry_that_cannot_be_read_means_an_unknown_age():
    times = RegistryTimes(error=InputError("registry damaged"))
    decision = decide(policy(max_signature_age_days=30), verdict(), signing_times=times)
    assert not decision.allowed and "registry could not be read" in decision.findings[0].message


def test_the_time_in_the_signature_wins_over_the_registry():
    times = RegistryTimes(days_ago(1))
    assert not decide(policy(max_signature_age_days=30), verdict(signed_at=days_ago(90)),
                      signing_times=times).allowed
    assert times.asked == []


def test_a_recent_certificate_bounds_the_age_when_no_time_is_known():
    def issued(days: float) -> SignatureVerdict:
        signer = SignerIdentity(method="certificate", algorithm="ecdsa-p256-sha256", key_fingerprint=KEY_A,
                                subject="CN=r", issuer=CA, not_before=days_ago(days), not_after=days_ago(-300))
        return SignatureVerdict(signature_path="model.sig", model_path="bert", signature_ok=True, signer=signer,
                                manifest=manifest())

    trust = policy(max_signature_age_days=30)
    assert decide(trust, issued(5)).allowed
    decision = decide(trust, issued(45))
    assert not decision.allowed and "does not bound the age enough" in decision.findings[0].message


def test_now_must_carry_a_time_zone():
    with pytest.raises(UsageError, match="timezone-aware"):
        decide(policy(), verdict(), now=datetime(2026, 1, 1))


# --- what else is there: MW-TRUST-005 and 006 ----------------------------------------------------------------

def signed_model(folder: Path) -> Path:
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"signed weights stand-in")
    return folder


def added(*names: str) -> tuple[Difference, ...]:
    return tuple(Difference("added", name) for name in names)


def test_an_unsigned_file_is_denied_by_default(tmp_path):
    model = signed_model(tmp_path / "bert")
    (model / "README.md").write_text("# bert\n")
    decision = decide(policy(), verdict(differences=added("README.md")), model=model)
    assert not decision.allowed and rules_of(decision) == ["MW-TRUST-005"]
    finding = decision.findings[0]
    assert finding.severity is Severity.HIGH and finding.location.path == f"{model.as_posix()}/README.md"
    assert "allow_unsigned_files is false" in finding.message and finding.data == {"file": "README.md"}


def test_a_benign_unsigned_file_passes_only_with_the_flag(tmp_path):
    model = signed_model(tmp_path / "bert")
    (model / "config.json").write_text('{"hidden_size": 8}')
    (model / "README.md").write_text("# bert\n")
    extra = verdict(differences=added("config.json", "README.md"))
    assert not decide(policy(), extra, model=model).allowed
    decision = decide(policy(allow_unsigned_files=True), extra, model=model)
    assert decision.allowed, decision.reasons
    assert [(f.rule_id, f.severity) for f in decision.findings] == [("MW-TRUST-005", Severity.INFO)] * 2
    assert any("scanned" in reason for reason in decision.reasons)


def test_an_extra_pickle_beside_signed_safetensors_is_denied_even_when_unsigned_files_are_allowed(tmp_path):
    model = signed_model(tmp_path / "bert")
    (model / "pytorch_model.bin").write_bytes(global_os_system_p0())
    decision = decide(policy(allow_unsigned_files=True), verdict(differences=added("pytorch_model.bin")),
                      model=model)
    assert not decision.allowed
    assert "MW-PKL-001" in rules_of(decision) and "MW-TRUST-006" in rules_of(decision)
    failure = next(f for f in decision.findings if f.rule_id == "MW-TRUST-006")
    assert failure.severity is Severity.CRITICAL and "MW-PKL-001" in failure.message
    assert failure.location.path.endswith("bert/pytorch_model.bin")
    assert_gate_consistent(decision)


def test_an_unsigned_file_that_vanished_or_is_a_link_fails_closed(tmp_path):
    model = signed_model(tmp_path / "bert")
    os.symlink(model / "model.safetensors", model / "alias.bin")
    decision = decide(policy(allow_unsigned_files=True), verdict(differences=added("gone.bin", "alias.bin")),
                      model=model)
    assert not decision.allowed
    messages = [f.message for f in decision.findings if f.rule_id == "MW-TRUST-006"]
    assert any("cannot be read" in m for m in messages) and any("not a regular file" in m for m in messages)


@pytest.mark.parametrize("name", ["../outside.bin", "/etc/passwd", "a\\..\\b"])
def test_an_unsigned_path_outside_the_model_is_denied_whatever_the_flag(tmp_path, name):
    model = signed_model(tmp_path / "bert")
    decision = decide(policy(allow_unsigned_files=True), verdict(differences=added(name)), model=model)
    assert not decision.allowed and rules_of(decision) == ["MW-TRUST-005"]
    assert "outside the model folder" in decision.findings[0].message


def test_ignored_paths_need_no_signature_but_are_still_scanned(tmp_path):
    model = signed_model(tmp_path / "bert")
    (model / "README.md").write_text("# bert\n")
    (model / "notes.bin").write_bytes(global_os_system_p0())
    trust = policy(ignore_paths=["README.md", "*.bin"])
    assert decide(trust, verdict(differences=added("README.md")), model=model).allowed
    edited = verdict(differences=(Difference("modified", "README.md"),))
    assert decide(trust, edited, model=model).allowed
    decision = decide(trust, verdict(differences=added("notes.bin")), model=model)
    assert not decision.allowed and "MW-TRUST-006" in rules_of(decision)


def test_ignore_paths_do_not_excuse_removed_or_renamed_files(tmp_path):
    model = signed_model(tmp_path / "bert")
    trust = policy(ignore_paths=["*.md"])
    for kind in ("removed", "renamed", "swapped", "symlink"):
        decision = decide(trust, verdict(differences=(Difference(kind, "README.md"),)), model=model)  # type: ignore[arg-type]
        assert not decision.allowed, kind


def test_unsigned_files_of_a_failed_signature_are_not_scanned(tmp_path, monkeypatch):
    import mlwarden.scanning.engine as engine

    model = signed_model(tmp_path / "bert")
    (model / "extra.bin").write_bytes(b"x")
    monkeypatch.setattr(engine, "scan_paths", lambda *a, **k: pytest.fail("scanned"))
    decision = decide(policy(allow_unsigned_files=True), verdict(ok=False, differences=added("extra.bin")),
                      model=model)
    assert rules_of(decision) == ["MW-TRUST-003"]


def test_unsigned_files_are_judged_by_the_signatures_that_count(tmp_path):
    model = signed_model(tmp_path / "bert")
    (model / "extra.bin").write_bytes(b"x")
    # The counted signature (over DIGEST) covers extra.bin; one over another manifest does not.
    decision = decide(policy(trusted_keys=[KEY_A, KEY_B]), verdict(KEY_A),
                      verdict(KEY_B, digest=OTHER_DIGEST, differences=added("extra.bin")), model=model)
    assert decision.allowed


# --- loading the policy --------------------------------------------------------------------------------------

FULL_POLICY = f"""
[trust]
trusted_keys = ["{KEY_A}", {{ fingerprint = "{KEY_B}", name = "backup key" }}]
trusted_certificates = [{{ subject = "CN=ML Release,O=Example", issuer = "{CA}" }}]
algorithms = ["ecdsa-p384-sha384", "ml-dsa-65"]
hash_algorithms = ["sha256"]
required_signatures = 2
max_signature_age_days = 90
allow_unsigned_files = true
scan_unsigned_files = true
ignore_paths = ["README.md", "docs/**"]
"""


def test_a_policy_file_with_every_key(tmp_path):
    path = tmp_path / "trust.toml"
    path.write_text(FULL_POLICY)
    trust = load_trust_policy(path)
    assert [k.fingerprint for k in trust.trusted_keys] == [KEY_A, KEY_B]
    assert trust.trusted_keys[1].name == "backup key"
    assert trust.algorithms == ("ecdsa-p384-sha384", "ml-dsa-65") and trust.hash_algorithms == ("sha256",)
    assert trust.required_signatures == 2 and trust.max_signature_age_days == 90
    assert trust.allow_unsigned_files and trust.ignore_paths == ("README.md", "docs/**")


def test_defaults_deny_unsigned_files_and_accept_only_the_oms_algorithms():
    trust = TrustPolicy()
    assert trust.allow_unsigned_files is False and trust.scan_unsigned_files is True
    assert trust.algorithms == ("ecdsa-p256-sha256", "ecdsa-p384-sha384", "ed25519")
    assert trust.required_signatures == 1 and trust.max_signature_age_days is None and trust.ignore_paths == ()


def test_mlwarden_toml_and_pyproject_sections(tmp_path):
    (tmp_path / "mlwarden.toml").write_text(f'fail_on = "high"\n[trust]\ntrusted_keys = ["{KEY_A}"]\n')
    assert load_trust_policy(tmp_path / "mlwarden.toml").trusted_keys[0].fingerprint == KEY_A
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "x"\n[tool.mlwarden.trust]\n'
                                             f'trusted_keys = ["{KEY_B}"]\n')
    assert load_trust_policy(tmp_path / "pyproject.toml").trusted_keys[0].fingerprint == KEY_B


@pytest.mark.parametrize("text, words", [
    ("[trust]\nscan_unsigned_files = false\n", "unsigned files that the policy lets through are always scanned"),
    ('[trust]\nallow_unsigned_files = "yes"\n', "trust.allow_unsigned_files"),
    ("[trust]\nallow_unsigned_file = true\n", "trust.allow_unsigned_file"),
    ('[trust]\ntrusted_keys = ["abc"]\n', "64 hex digits"),
    (f'[trust]\ntrusted_keys = ["{KEY_A}", "{KEY_A.upper()}"]\n', "same fingerprint twice"),
    (f'[trust]\ntrusted_keys = ["{KEY_A}"]\nrequired_signatures = 2\n', "no model could ever pass"),
    ("[trust]\nrequired_signatures = 0\n", "trust.required_signatures"),
    ('[trust]\nrequired_signatures = "2"\n', "trust.required_signatures"),
    ("[trust]\nmax_signature_age_days = -1\n", "trust.max_signature_age_days"),
    ('[trust]\nalgorithms = ["rsa-pss"]\n', "trust.algorithms.0"),
    ("[trust]\nalgorithms = []\n", "trust.algorithms"),
    ('[trust]\nhash_algorithms = ["md5"]\n', "trust.hash_algorithms.0"),
    ('[trust]\ntrusted_certificates = [{ subject = "CN=x" }]\n', "trust.trusted_certificates.0.issuer"),
    ('[trust]\ntrusted_certificates = [{ subject = "CN=x", issuer = "*" }]\n', "trusts everyone"),
    ('[trust]\nignore_paths = ["**"]\n', "every file"),
    ('[trust]\nignore_paths = ["../x"]\n', "relative to the model folder"),
    ("trust = 3\n", "must be a table"),
    ('[other]\nx = 1\n', "has no [trust] table"),
    ("[trust\n", "not valid TOML"),
])
def test_config_mistakes_are_one_line_config_errors(tmp_path, text, words):
    path = tmp_path / "trust.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_trust_policy(path)
    message = str(info.value)
    assert words in message and "\n" not in message, message


def test_file_problems_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_trust_policy(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="not a regular file"):
        load_trust_policy(tmp_path)
    (tmp_path / "latin1.toml").write_bytes(b"[trust]\n# caf\xe9\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_trust_policy(tmp_path / "latin1.toml")
    (tmp_path / "huge.toml").write_bytes(b"#" * (MAX_POLICY_FILE_BYTES + 1))
    with pytest.raises(ConfigError, match="more than a policy can be"):
        load_trust_policy(tmp_path / "huge.toml")
    (tmp_path / "deep.toml").write_text("[trust]\nx = " + "[" * 200_000 + "]" * 200_000 + "\n")
    with pytest.raises(ConfigError):
        load_trust_policy(tmp_path / "deep.toml")
    (tmp_path / "pyproject.toml").write_text('[tool.mlwarden]\nfail_on = "high"\n')
    with pytest.raises(ConfigError, match=r"\[tool.mlwarden.trust\]"):
        load_trust_policy(tmp_path / "pyproject.toml")


_TOML_SCALARS = st.one_of(st.booleans(), st.integers(-5, 70), st.text(max_size=70),
                          st.sampled_from([KEY_A, "ed25519", "ml-dsa-65", "sha256", "*", "README.md"]))
_KEYS = st.sampled_from(["trusted_keys", "trusted_certificates", "algorithms", "hash_algorithms",
                         "allow_unsigned_files", "scan_unsigned_files", "max_signature_age_days",
                         "required_signatures", "ignore_paths", "fingerprint", "subject", "issuer", "name", "x"])
_TABLES = st.recursive(_TOML_SCALARS, lambda inner: st.lists(inner, max_size=4)
                       | st.dictionaries(_KEYS, inner, max_size=5), max_leaves=20)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(_KEYS, _TABLES, max_size=6))
def test_any_trust_table_gives_a_policy_or_a_one_line_config_error(table):
    try:
        trust = trust_policy_from_mapping(table)
    except ConfigError as exc:
        assert "\n" not in str(exc)
    else:
        assert isinstance(trust, TrustPolicy)
        assert trust.scan_unsigned_files is True


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300) | st.text(max_size=300).map(lambda t: ("[trust]\n" + t).encode()))
def test_any_policy_file_gives_a_policy_or_a_config_error(tmp_path, data):
    path = tmp_path / "fuzz.toml"
    path.write_bytes(data)
    try:
        load_trust_policy(path)
    except ConfigError as exc:
        assert "\n" not in str(exc)


@settings(max_examples=200)
@given(signed_at=st.one_of(st.none(), st.text(max_size=80)), subject=st.one_of(st.none(), st.text(max_size=60)),
       algorithm=st.text(max_size=20), key=st.text(max_size=70))
def test_evaluate_never_fails_on_odd_verdict_values(signed_at, subject, algorithm, key):
    odd = verdict(key, algorithm=algorithm, method="certificate", subject=subject, issuer=subject,
                  signed_at=signed_at)
    decision = decide(policy(max_signature_age_days=10, trusted_certificates=[{"subject": "CN=*", "issuer": CA}]),
                      odd)
    assert_gate_consistent(decision)
