"""`mlwarden pii scan` through the real CLI and the real recognizers: the JSON contract, and no raw personal
data in any report format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlwarden.cli.main import run

EMAIL = "maria.schmidt@example.com"
CARD = "4111 1111 1111 1111"
LINE_1 = f"Contact Dr. Maria Schmidt at {EMAIL} please."
LINE_2 = f"Card {CARD} on file; version 1.2.3.4 released."


@pytest.fixture()
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "notes.txt").write_text(f"{LINE_1}\n{LINE_2}\n")
    (folder / "chat.jsonl").write_text(json.dumps({"user": {"email": EMAIL}, "text": "hi"}) + "\n")
    rows = "\n".join(f"{i},user{i}@example.org,{i * 3}" for i in range(40))
    (folder / "users.csv").write_text("id,contact,score\n" + rows + "\n")
    return folder


def scan_json(capsys, *args) -> dict:
    with pytest.raises(SystemExit):
        run(["pii", "scan", *map(str, args), "--format", "json"])
    return json.loads(capsys.readouterr().out)


def test_the_json_contract_with_the_real_recognizers(data: Path, capsys):
    document = scan_json(capsys, data)
    by_file: dict[str, list[dict]] = {}
    for finding in document["findings"]:
        by_file.setdefault(finding["location"]["path"].rsplit("/", 1)[-1], []).append(finding)
    lines = {1: LINE_1, 2: LINE_2}
    notes = {(f["evidence"]["entity"], f["location"]["line"]): f["location"] for f in by_file["notes.txt"]}
    assert {("PERSON", 1), ("EMAIL", 1), ("CREDIT_CARD", 2)} <= set(notes)
    assert ("IP_ADDRESS", 2) not in notes  # a version string, not an address
    for (entity, line), where in notes.items():
        value = lines[line][where["start"]:where["end"]]
        assert {"EMAIL": EMAIL, "CREDIT_CARD": CARD, "PERSON": "Maria Schmidt"}.get(entity, value) == value
    (chat,) = by_file["chat.jsonl"]
    assert chat["location"]["field"] == "user.email" and chat["evidence"]["entity"] == "EMAIL"
    assert EMAIL[chat["location"]["start"]:chat["location"]["end"]] == EMAIL
    (column,) = by_file["users.csv"]
    assert column["rule_id"] == "MW-PII-002" and column["location"]["column"] == "contact"


@pytest.mark.parametrize("fmt", ["terminal", "json", "sarif", "html"])
def test_no_report_format_repeats_the_personal_data(data: Path, tmp_path: Path, fmt: str):
    out = tmp_path / f"report.{fmt}"
    with pytest.raises(SystemExit):
        run(["pii", "scan", str(data), "--format", fmt, "--output", str(out)])
    text = out.read_text(encoding="utf-8")
    assert "MW-PII-001" in text
    for raw in (EMAIL, CARD, "Maria Schmidt", "user7@example.org"):
        assert raw not in text, raw
