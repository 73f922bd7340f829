"""Build Jupyter notebooks (nbformat 4 JSON bytes) from simple dicts, for notebook and secret tests.

A cell is a dict with one of the keys ``code``, ``markdown`` or ``raw`` holding its source (a string), and for
code cells optionally ``outputs`` (a list made with ``stream``, ``result``, ``display`` or ``error``)::

    make_notebook([
        {"code": "!pip install torch==2.3\\nimport torch", "outputs": [stream("Successfully installed\\n")]},
        {"markdown": "# Notes"},
    ])

Sources and texts are stored the way Jupyter writes them: lists of lines that keep their ``\\n`` (pass
``lines=False`` to store plain strings instead).
"""

from __future__ import annotations

import json
from typing import Any

_CELL_TYPES = ("code", "markdown", "raw")


def as_lines(text: str) -> list[str]:
    """nbformat's multiline string: each line keeps its newline (the last one may have none)."""
    return text.splitlines(keepends=True)


def stream(text: str, *, name: str = "stdout") -> dict[str, Any]:
    return {"output_type": "stream", "name": name, "text": as_lines(text)}


def result(data: dict[str, Any], *, count: int = 1) -> dict[str, Any]:
    """An ``execute_result``; ``data`` maps MIME types to text (str) or, for JSON types, to JSON values."""
    return {"output_type": "execute_result", "execution_count": count, "metadata": {}, "data": _bundle(data)}


def display(data: dict[str, Any]) -> dict[str, Any]:
    return {"output_type": "display_data", "metadata": {}, "data": _bundle(data)}


def error(ename: str, evalue: str, traceback: list[str]) -> dict[str, Any]:
    return {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": traceback}


def _bundle(data: dict[str, Any]) -> dict[str, Any]:
    return {mime: as_lines(value) if isinstance(value, str) and not mime.endswith("json") else value
            for mime, value in data.items()}


def make_cell(spec: dict[str, Any], *, lines: bool = True) -> dict[str, Any]:
    kind = next(key for key in _CELL_TYPES if key in spec)
    source = spec[kind]
    cell: dict[str, Any] = {"cell_type": kind, "metadata": {}, "source": as_lines(source) if lines else source}
    if kind == "code":
        cell["execution_count"] = None
        cell["outputs"] = list(spec.get("outputs", []))
    return cell


def make_notebook_dict(cells: list[dict[str, Any]], *, language: str = "python",
                       metadata: dict[str, Any] | None = None, lines: bool = True) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "kernelspec": {"display_name": language, "language": language, "name": language},
        "language_info": {"name": language},
    }
    meta.update(metadata or {})
    return {"cells": [make_cell(spec, lines=lines) for spec in cells], "metadata": meta, "nbformat": 4,
            "nbformat_minor": 5}


def make_notebook(cells: list[dict[str, Any]], *, language: str = "python", metadata: dict[str, Any] | None = None,
                  lines: bool = True) -> bytes:
    """The ``.ipynb`` bytes of a notebook with these cells (see the module docstring for the cell dicts)."""
    document = make_notebook_dict(cells, language=language, metadata=metadata, lines=lines)
    return json.dumps(document, indent=1, ensure_ascii=False).encode("utf-8")
