"""Reverse the reversible pseudonyms of ``mlwarden anonymize`` (operator ``encrypt``) for holders of the key.

Tokens are ``MWP1_`` + base64url(AES-SIV(subkey of the dataset key, value)) (see
``mlwarden.privacy.anonymize``). They are found by a bounded pattern in text (line by line), in the string
values of JSON Lines records, and in the cells of CSV/TSV tables (so that a value with a delimiter or a quote
is written back correctly quoted).

This module must never write in place, never leave a partial output behind, and never put a decrypted value
or key material into an exception or log line. A token that does not decrypt (another key, or altered) stops
the run with a ``ReidentifyError``: nothing is written.
"""

from __future__ import annotations

import base64
import binascii
import csv
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from cryptography.exceptions import InvalidTag

from mlwarden.core.errors import InputError
from mlwarden.crypto.recipients import SymmetricKey
from mlwarden.privacy.anonymize import (
    MAX_ENCRYPT_BYTES,
    MAX_JSON_DEPTH,
    MAX_RECORD_CHARS,
    PSEUDONYM_PREFIX,
    DatasetKeys,
    open_output,
    write_via_temp,
)

__all__ = ["ReidentifyError", "ReidentifySummary", "reidentify_file", "reidentify_text"]

# base64url of 17 bytes (16-byte SIV tag + at least one byte) up to MAX_ENCRYPT_BYTES + 16 bytes; the
# boundaries keep a token from being read out of a longer word.
_MAX_TOKEN_CHARS = (MAX_ENCRYPT_BYTES + 16) * 4 // 3 + 4
_TOKEN = re.compile(rf"(?<![A-Za-z0-9_-]){re.escape(PSEUDONYM_PREFIX)}([A-Za-z0-9_-]{{23,{_MAX_TOKEN_CHARS}}})"
                    r"(?![A-Za-z0-9_-])")


class ReidentifyError(InputError):
    """A pseudonym token that this key cannot open."""


@dataclass
class ReidentifySummary:
    kind: str = "text"
    tokens: int = 0  # tokens decrypted
    records: int = 0


class _Decrypter:
    def __init__(self, key: SymmetricKey, summary: ReidentifySummary) -> None:
        self.keys = DatasetKeys.from_key(key)
        self.summary = summary
        self.where = ""

    def token(self, found: re.Match[str]) -> str:
        body = found.group(1)
        try:
            data = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            value = self.keys.siv.decrypt(data, None)
        except (InvalidTag, binascii.Error, ValueError):
            raise ReidentifyError(
                f"a pseudonym token{self.where} cannot be decrypted: the key file is not the dataset key it "
                "was made with, or the token was altered; nothing was written") from None
        self.summary.tokens += 1
        return value.decode("utf-8", "surrogateescape")

    def text(self, text: str) -> str:
        if PSEUDONYM_PREFIX not in text:
            return text
        return _TOKEN.sub(self.token, text)


def reidentify_text(text: str, *, key: SymmetricKey) -> str:
    """``text`` with every ``MWP1_`` token replaced by the value it encrypts. Raises ``ReidentifyError`` for a
    token this key cannot open."""
    return _Decrypter(key, ReidentifySummary()).text(text)


def reidentify_file(src: Path, dst: Path, *, key: SymmetricKey, force: bool = False) -> ReidentifySummary:
    """Write ``src`` with its tokens decrypted to ``dst`` (never in place; only when every token opened)."""
    from mlwarden.privacy.files import detect_kind, sniff_delimiter

    open_output(src, dst, force=force)
    kind = detect_kind(src)
    summary = ReidentifySummary(kind=kind)
    decrypter = _Decrypter(key, summary)

    def lines(out: IO[str], transform: Callable[[str], str]) -> None:
        with src.open(encoding="utf-8", errors="surrogateescape", newline="") as handle:
            number = 0
            while True:
                line = handle.readline(MAX_RECORD_CHARS + 1)
                if not line:
                    return
                number += 1
                if len(line) > MAX_RECORD_CHARS and not line.endswith(("\n", "\r")):
                    raise InputError(f"{src}: line {number} is longer than {MAX_RECORD_CHARS} characters; "
                                     "nothing was written")
                decrypter.where = f" on line {number}"
                out.write(transform(line))
                summary.records += 1

    def json_line(line: str) -> str:
        if PSEUDONYM_PREFIX not in line or not line.strip():
            return line
        try:
            document = json.loads(line)
        except (ValueError, RecursionError):
            return decrypter.text(line)  # not a record anonymize wrote: tokens are plain text in it
        return json.dumps(_walk(document, decrypter), ensure_ascii=False) + "\n"

    def table(out: IO[str]) -> None:
        with src.open(encoding="utf-8", errors="surrogateescape", newline="") as handle:
            delimiter = sniff_delimiter(handle.read(64 * 1024), "\t" if kind == "tsv" else ",")
            handle.seek(0)
            writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
            reader = csv.reader(handle, delimiter=delimiter)
            try:
                for row in reader:
                    decrypter.where = f" on line {reader.line_num}"
                    writer.writerow([decrypter.text(cell) for cell in row])
                    summary.records += 1
            except csv.Error:
                raise InputError(f"{src} is not a readable table past line {reader.line_num}; nothing was "
                                 "written") from None

    if kind in ("csv", "tsv"):
        write_via_temp(dst, table)
    elif kind == "jsonl":
        write_via_temp(dst, lambda out: lines(out, json_line))
    elif kind == "text":
        write_via_temp(dst, lambda out: lines(out, decrypter.text))
    else:
        raise InputError(f"{src}: reidentify reads text, JSON Lines, CSV and TSV files, not {kind}")
    return summary


def _walk(document: Any, decrypter: _Decrypter) -> Any:
    root: list[Any] = [document]
    stack: list[tuple[Any, Any, int]] = [(root, 0, 0)]
    while stack:
        container, key, depth = stack.pop()
        value = container[key]
        if isinstance(value, str):
            container[key] = decrypter.text(value)
        elif isinstance(value, dict | list) and depth < MAX_JSON_DEPTH + 1:
            for child in (list(value) if isinstance(value, dict) else range(len(value))):
                stack.append((value, child, depth + 1))
    return root[0]
