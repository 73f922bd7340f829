"""The signing registry: appending and querying, and every kind of tampering with the SQLite file (edited,
deleted, reordered, inserted, cut-off, re-hashed, mistyped, oversized rows; a foreign or broken file) is found."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlwarden.core.errors import InputError, UsageError
from mlwarden.integrity.model import HashSettings, Manifest, SignatureVerdict, SignerIdentity
from mlwarden.integrity.registry import (
    GENESIS_HASH,
    MAX_FIELD_CHARS,
    REGISTRY_FILE_NAME,
    SigningRegistry,
    default_registry_path,
    entry_hash,
    parse_anchor,
)

KEY_A = "a1" * 32
KEY_B = "b2" * 32
V1 = "11" * 32
V2 = "22" * 32
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def add(registry: SigningRegistry, n: int = 1, **values) -> list:
    out = []
    for index in range(n):
        fields = {"action": "sign", "model_name": "bert", "model_path": "/models/bert", "subject_digest": V1,
                  "verdict": "signed", "signer_fingerprint": KEY_A,
                  "recorded_at": T0 + timedelta(minutes=len(out) + index)}
        fields.update(values)
        out.append(registry.append(**fields))
    return out


@pytest.fixture()
def registry(tmp_path) -> SigningRegistry:
    return SigningRegistry(tmp_path / "home" / REGISTRY_FILE_NAME)


def tamper(registry: SigningRegistry, *statements: str, parameters=()) -> None:
    """Edit the file as an attacker with write access would: drop the append-only triggers first."""
    connection = sqlite3.connect(registry.path)
    try:
        connection.execute("PRAGMA synchronous = OFF")  # the attacker's edit needs no durability; tests need speed
        connection.execute("DROP TRIGGER IF EXISTS entries_never_updated")
        connection.execute("DROP TRIGGER IF EXISTS entries_never_deleted")
        for statement in statements:
            connection.execute(statement, parameters)
        connection.commit()
    finally:
        connection.close()


def rewrite(registry: SigningRegistry, seq: int, **changes) -> None:
    """Change one entry and recompute its own hash, as a careful attacker would."""
    entry = registry.entry(seq).__class__(**{**_fields(registry.entry(seq)), **changes})
    fields = _fields(entry)
    fields["entry_hash"] = entry_hash(fields)
    tamper(registry, "DELETE FROM entries WHERE seq = ?", parameters=(seq,))
    names = list(fields)
    tamper(registry, f"INSERT INTO entries ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
           parameters=[fields[n] for n in names])


def _fields(entry) -> dict:
    return {name: getattr(entry, name) for name in entry.__dataclass_fields__}


def kinds(registry: SigningRegistry, **options) -> list[str]:
    return [problem.kind for problem in registry.verify_chain(**options)]


# --- appending and reading -----------------------------------------------------------------------------------

def test_entries_form_a_chain(registry):
    first, second, third = add(registry, 3)
    assert (first.seq, second.seq, third.seq) == (1, 2, 3)
    assert first.prev_hash == GENESIS_HASH and second.prev_hash == first.entry_hash
    assert third.prev_hash == second.entry_hash and all(e.hash_ok for e in (first, second, third))
    assert registry.entries() == [first, second, third]
    assert registry.head() == (3, third.entry_hash)
    assert registry.verify_chain() == []
    assert registry.entry(2) == second


def test_the_hash_covers_every_field_in_a_fixed_format(registry):
    entry = registry.append(action="sign", model_name="bert", model_path="/m", subject_digest=V1.upper(),
                            verdict="signed", signer_fingerprint=KEY_A.upper(), provenance={"b": [1, "x"], "a": None},
                            recorded_at=T0)
    assert entry.subject_digest == V1 and entry.signer_fingerprint == KEY_A
    assert entry.provenance == '{"a":null,"b":[1,"x"]}' and entry.recorded_at == "2026-03-01T09:00:00Z"
    # Golden value: changing the canonical form breaks every existing registry, so it must be deliberate.
    assert entry.entry_hash == "0eba5704a08627513043d41f443671c90b9a79c0b31ad0a1fb0120e39eb1a250"
    document = {"domain": "mlwarden-registry/1", **_fields(entry)}
    del document["entry_hash"]
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert hashlib.sha256(text.encode()).hexdigest() == entry.entry_hash
    for field in _fields(entry):
        if field in ("entry_hash",):
            continue
        changed = dict(_fields(entry), **{field: 7 if field == "seq" else "other"})
        assert entry_hash(changed) != entry.entry_hash, field


def test_queries_by_model_digest_action_and_limit(registry):
    add(registry, 2)
    add(registry, 1, model_name="gpt", model_path="/models/gpt", subject_digest=V2)
    add(registry, 1, action="verify", verdict="allowed")
    assert [e.seq for e in registry.entries(model="bert")] == [1, 2, 4]
    assert [e.seq for e in registry.entries(model="/models/gpt")] == [3]
    assert [e.seq for e in registry.entries(subject_digest=V2.upper())] == [3]
    assert [e.seq for e in registry.entries(action="verify")] == [4]
    assert [e.seq for e in registry.entries(limit=2)] == [3, 4]
    assert registry.entries(model="nothing") == []


def test_record_signing_and_verification_from_the_shared_values(registry, tmp_path):
    manifest = Manifest(model_name="bert", settings=HashSettings(), resources=(), subject_digest=V1)
    signer = SignerIdentity(method="certificate", algorithm="ecdsa-p256-sha256", key_fingerprint=KEY_B,
                            subject="CN=release,O=Example", issuer="CN=CA,O=Example")
    model = tmp_path / "bert"
    signed = registry.record_signing(manifest=manifest, model_path=model, signer=signer,
                                     signature_path=tmp_path / "model.sig",
                                     provenance={"datasets": [{"name": "wiki", "digest": {"sha256": V2}}]})
    assert signed.action == "sign" and signed.verdict == "signed" and signed.model_path == str(model.resolve())
    assert signed.signer_subject == "CN=release,O=Example" and signed.provenance_summary["datasets"][0]["name"] == "wiki"
    good = SignatureVerdict(signature_path=str(tmp_path / "model.sig"), model_path=str(model), signature_ok=True,
                            signer=signer, manifest=manifest)
    assert registry.record_verification(good).verdict == "verified"
    assert registry.record_verification(good, allowed=False).verdict == "denied"
    assert registry.record_verification(good, allowed=True).verdict == "allowed"
    broken = SignatureVerdict(signature_path="x.sig", model_path=str(model), signature_ok=False,
                              problems=("not a valid OMS signature",))
    failed = registry.record_verification(broken)
    assert failed.verdict == "failed" and failed.subject_digest == "" and failed.model_name == "bert"
    assert registry.verify_chain() == []


def test_versions_say_who_signed_what_from_which_data(registry):
    add(registry, 1, provenance={"datasets": ["wiki@v1"]})
    add(registry, 1, signer_fingerprint=KEY_B, provenance={"datasets": ["wiki@v1"]})
    add(registry, 1, action="verify", verdict="allowed")
    add(registry, 1, subject_digest=V2, provenance={"datasets": ["wiki@v2"]}, recorded_at=T0 + timedelta(days=1))
    add(registry, 1, action="verify", subject_digest=V2, verdict="denied", recorded_at=T0 + timedelta(days=2))
    add(registry, 1, action="verify", subject_digest="33" * 32, verdict="failed")  # never signed here
    first, second = registry.versions("bert")
    assert first.subject_digest == V1 and first.signers == (KEY_A, KEY_B)
    assert first.provenance == ({"datasets": ["wiki@v1"]},) and first.sign_entries == (1, 2)
    assert first.verifications == 1 and first.last_verdict == "allowed"
    assert second.subject_digest == V2 and second.last_verdict == "denied"
    assert second.first_signed_at == "2026-03-02T09:00:00Z"


def test_signed_at_is_the_latest_signing_of_that_digest_by_that_key(registry):
    assert registry.signed_at(subject_digest=V1, key_fingerprint=KEY_A) is None  # no registry yet
    add(registry, 1)
    add(registry, 1, recorded_at=T0 + timedelta(days=5))
    add(registry, 1, action="verify", verdict="verified", recorded_at=T0 + timedelta(days=9))
    assert registry.signed_at(subject_digest=V1, key_fingerprint=KEY_A.upper()) == "2026-03-06T09:00:00Z"
    assert registry.signed_at(subject_digest=V1, key_fingerprint=KEY_B) is None
    tamper(registry, "UPDATE entries SET recorded_at = '2030-01-01T00:00:00Z' WHERE seq = 1")
    with pytest.raises(InputError, match="damaged"):
        registry.signed_at(subject_digest=V1, key_fingerprint=KEY_A)


def test_the_default_file_is_in_the_data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("MLWARDEN_HOME", str(tmp_path / "mw"))
    assert default_registry_path() == tmp_path / "mw" / "registry.sqlite3"
    registry = SigningRegistry()
    add(registry)
    assert (tmp_path / "mw" / "registry.sqlite3").is_file()


def test_without_a_registry_there_is_nothing_to_read(registry):
    assert registry.entries() == [] and registry.head() is None and registry.verify_chain() == []
    assert registry.versions("bert") == []
    with pytest.raises(InputError, match="no entry 1"):
        registry.entry(1)
    assert kinds(registry, anchor=(1, "ab" * 32)) == ["anchor"]
    assert not registry.path.exists()


@pytest.mark.parametrize("values, words", [
    ({"action": "delete"}, "registry action"),
    ({"verdict": "maybe"}, "registry verdict"),
    ({"model_name": "x" * (MAX_FIELD_CHARS + 1)}, "more than the registry keeps"),
    ({"provenance": {"weights": float("nan")}}, "not plain JSON"),
    ({"provenance": {"blob": "x" * 70_000}}, "summarise it"),
    ({"recorded_at": datetime(2026, 1, 1)}, "timezone-aware"),
])
def test_bad_entries_are_refused_before_anything_is_written(registry, values, words):
    with pytest.raises(UsageError, match=words):
        add(registry, 1, **values)
    assert registry.entries() == []


def test_undecodable_path_bytes_are_kept_visibly_escaped(registry):
    entry = add(registry, 1, model_path="/models/caf\udce9")[0]
    assert entry.model_path == "/models/caf\\udce9" and registry.verify_chain() == []


def test_concurrent_writers_keep_one_linear_chain(registry):
    add(registry)  # create the file first: the threads race only on appends

    def writer(name: str) -> None:
        other = SigningRegistry(registry.path)
        for _ in range(15):
            other.append(action="verify", model_name=name, model_path=f"/{name}", subject_digest=V1,
                         verdict="verified")

    threads = [threading.Thread(target=writer, args=(f"m{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    entries = registry.entries()
    assert [e.seq for e in entries] == list(range(1, 62))
    assert registry.verify_chain() == []


# --- tampering -----------------------------------------------------------------------------------------------

def test_the_file_refuses_updates_and_deletes(registry):
    add(registry, 2)
    connection = sqlite3.connect(registry.path)
    for statement in ("UPDATE entries SET verdict = 'denied'", "DELETE FROM entries WHERE seq = 2"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            connection.execute(statement)
    connection.close()


def test_an_edited_field_is_found(registry):
    add(registry, 3)
    tamper(registry, "UPDATE entries SET signer_fingerprint = ? WHERE seq = 2", parameters=(KEY_B,))
    problems = registry.verify_chain()
    assert [(p.kind, p.seq) for p in problems] == [("edited", 2)]
    assert "entry 2 was changed" in str(problems[0])


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(registry):
    add(registry, 3)
    rewrite(registry, 2, verdict="signed", signer_fingerprint=KEY_B)
    assert [(p.kind, p.seq) for p in registry.verify_chain()] == [("inserted", 3)]


def test_a_deleted_entry_is_found(registry):
    add(registry, 4)
    tamper(registry, "DELETE FROM entries WHERE seq = 2")
    problems = registry.verify_chain()
    assert [(p.kind, p.seq) for p in problems] == [("deleted", 3)]
    assert "entry 2 deleted" in str(problems[0])
    tamper(registry, "DELETE FROM entries WHERE seq = 1")
    assert "entries 1 to 2 deleted" in str(registry.verify_chain()[0])


def test_a_cut_off_tail_is_found_from_the_head_record(registry):
    add(registry, 4)
    tamper(registry, "DELETE FROM entries WHERE seq >= 3")
    assert kinds(registry) == ["truncated"]


def test_a_cut_off_tail_with_a_forged_head_needs_the_anchor(registry):
    entries = add(registry, 4)
    anchor = parse_anchor(f"4:{entries[-1].entry_hash}")
    tamper(registry, "DELETE FROM entries WHERE seq = 4",
           f"UPDATE meta SET value = '{entries[2].entry_hash}' WHERE key = 'head_hash'",
           "UPDATE meta SET value = '3' WHERE key = 'head_seq'")
    assert registry.verify_chain() == []  # a hash chain alone cannot see this
    assert kinds(registry, anchor=anchor) == ["anchor"]


def test_a_history_rewritten_from_scratch_needs_the_anchor(registry):
    entries = add(registry, 3)
    anchor = (2, entries[1].entry_hash)
    replacement = SigningRegistry(registry.path.with_name("forged.sqlite3"))
    add(replacement, 3, signer_fingerprint=KEY_B)
    shutil.copyfile(replacement.path, registry.path)
    assert registry.verify_chain() == []
    assert kinds(registry, anchor=anchor) == ["anchor"]
    assert registry.verify_chain(anchor=(3, entries[2].entry_hash))[0].seq == 3


def test_swapped_rows_are_found(registry):
    add(registry, 3)
    two, three = registry.entry(2), registry.entry(3)
    tamper(registry, "DELETE FROM entries WHERE seq IN (2, 3)")
    for target, source in ((2, three), (3, two)):
        fields = dict(_fields(source), seq=target)
        names = list(fields)
        tamper(registry, f"INSERT INTO entries ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
               parameters=[fields[n] for n in names])
    assert set(kinds(registry)) >= {"edited"}


def test_reordered_rows_with_recomputed_hashes_are_found(registry):
    add(registry, 4)
    one, two, three = registry.entry(1), registry.entry(2), registry.entry(3)
    # Move entry 3 before entry 2, renumbering both and re-hashing them, but keeping each one's prev_hash.
    rewrite(registry, 2, **{k: v for k, v in _fields(three).items() if k not in ("seq", "entry_hash")})
    rewrite(registry, 3, **{k: v for k, v in _fields(two).items() if k not in ("seq", "entry_hash")})
    found = kinds(registry)
    assert "reordered" in found
    assert one.entry_hash  # entry 1 untouched


def test_an_inserted_entry_is_found(registry):
    add(registry, 3)
    last = registry.entry(3)
    forged = dict(_fields(last), seq=4, prev_hash=registry.entry(1).entry_hash, verdict="signed")
    forged["entry_hash"] = entry_hash(forged)
    names = list(forged)
    tamper(registry, f"INSERT INTO entries ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
           parameters=[forged[n] for n in names])
    assert "reordered" in kinds(registry) or "inserted" in kinds(registry)


def test_a_mistyped_or_oversized_value_is_malformed_not_a_crash(registry):
    add(registry, 3)
    tamper(registry, "UPDATE entries SET model_name = X'00ff' WHERE seq = 2")
    assert kinds(registry)[0] == "malformed"
    tamper(registry, "UPDATE entries SET model_name = 'bert', model_path = ? WHERE seq = 2",
           parameters=("x" * 5_000_000,))
    problems = registry.verify_chain()
    assert problems[0].kind == "malformed" and "longer than" in str(problems[0])
    with pytest.raises(InputError, match="entry 2"):
        registry.entries()
    tamper(registry, "UPDATE entries SET model_path = '/m', action = 'rm -rf' WHERE seq = 2")
    assert kinds(registry)[0] == "malformed"


def test_an_edited_head_record_is_found(registry):
    add(registry, 2)
    tamper(registry, "UPDATE meta SET value = '1' WHERE key = 'head_seq'")
    assert kinds(registry) == ["edited"]
    tamper(registry, "DELETE FROM meta WHERE key = 'head_seq'")
    assert kinds(registry) == ["truncated"]


@pytest.mark.parametrize("content", [b"", b"not a database at all" * 50, b"SQLite format 3\x00" + b"\xff" * 4000])
def test_a_file_that_is_not_a_registry_is_unreadable(registry, content):
    registry.path.parent.mkdir(parents=True)
    registry.path.write_bytes(content)
    assert kinds(registry) == ["unreadable"]
    with pytest.raises(InputError):
        registry.entries()
    if content:  # an empty file is what SQLite itself creates first: a writer may start the registry in it
        with pytest.raises(InputError):
            add(registry)


def test_a_foreign_database_is_never_written_into(registry):
    registry.path.parent.mkdir(parents=True)
    connection = sqlite3.connect(registry.path)
    connection.execute("CREATE TABLE notes (text TEXT)")
    connection.commit()
    connection.close()
    with pytest.raises(InputError, match="not an mlwarden signing registry"):
        add(registry)
    connection = sqlite3.connect(registry.path)
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    connection.close()
    assert tables == {"notes"}


def test_a_newer_schema_is_refused(registry):
    add(registry)
    tamper(registry, "UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(InputError, match="schema version '99'"):
        registry.entries()


def test_anchor_text():
    assert parse_anchor(f"12:{KEY_A.upper()}") == (12, KEY_A)
    for text in ("12", "x:ab", "0:" + KEY_A, "3:" + "zz" * 32, ""):
        with pytest.raises(UsageError, match="SEQ:HASH"):
            parse_anchor(text)


_COLUMNS = ["seq", "recorded_at", "action", "model_name", "model_path", "subject_digest", "subject_algorithm",
            "signature_path", "signer_fingerprint", "signer_subject", "signer_issuer", "verdict", "provenance",
            "prev_hash", "entry_hash"]
_VALUES = st.one_of(st.none(), st.integers(-3, 10), st.text(max_size=20), st.binary(max_size=8),
                    st.floats(allow_nan=False), st.sampled_from([KEY_A, GENESIS_HASH, "sign", "signed"]))


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    registry = SigningRegistry(tmp_path_factory.mktemp("template") / REGISTRY_FILE_NAME)
    add(registry, 4, provenance={"datasets": ["wiki"]})
    add(registry, 1, action="verify", verdict="denied", signer_subject="CN=x", signer_issuer="CN=y")
    return registry.path


def cell(path: Path, column: str, seq: object) -> tuple | None:
    connection = sqlite3.connect(path)
    try:
        return connection.execute(f"SELECT {column}, typeof({column}) FROM entries WHERE seq = ?", (seq,)).fetchone()
    finally:
        connection.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seq=st.integers(1, 5), column=st.sampled_from(_COLUMNS), value=_VALUES)
def test_any_single_edit_of_any_cell_is_found(tmp_path, template, seq, column, value):
    path = tmp_path / f"fuzz-{seq}-{column}.sqlite3"
    shutil.copyfile(template, path)
    registry = SigningRegistry(path)
    before = cell(path, column, seq)
    try:
        tamper(registry, f"UPDATE entries SET {column} = ? WHERE seq = ?", parameters=(value, seq))
    except sqlite3.IntegrityError:
        return  # NOT NULL / UNIQUE / PRIMARY KEY refused the edit itself
    if cell(path, column, value if column == "seq" else seq) == before:
        return  # the same value written again: nothing changed
    assert registry.verify_chain(), (column, value)
