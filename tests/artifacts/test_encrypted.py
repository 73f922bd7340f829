"""Encrypted files are recognised and reported as not scanned (never decrypted by the scanner)."""

import io

from mlwarden.crypto.files import encrypt_path
from mlwarden.crypto.recipients import SymmetricKey
from mlwarden.demo import protocol0_payload
from mlwarden.scanning.context import ScanContext
from mlwarden.scanning.dispatch import scan_stream


def test_an_encrypted_payload_is_reported_as_unscanned_not_as_clean(tmp_path):
    plain = tmp_path / "evil.pkl"
    plain.write_bytes(protocol0_payload("true"))
    encrypted = tmp_path / "evil.pkl.mlwenc"
    encrypt_path(plain, encrypted, recipients=[SymmetricKey.generate()])
    data = encrypted.read_bytes()
    ctx = ScanContext(path="evil.pkl.mlwenc", size=len(data), name="evil.pkl.mlwenc")
    assert scan_stream(io.BytesIO(data), ctx) == "mlwarden-encrypted"
    assert [f.rule_id for f in ctx.findings] == ["MW-FMT-004"]
    assert "MLWENC v1" == ctx.findings[0].evidence


def test_a_cut_off_header_is_still_reported():
    ctx = ScanContext(path="x", size=7, name="x.mlwenc")
    scan_stream(io.BytesIO(b"MLWENC\x01"), ctx)
    assert [f.rule_id for f in ctx.findings] == ["MW-FMT-004"]
