"""Installed environments: the distributions present in a Python environment, audited only on request.

``installed_distributions()`` lists the current interpreter's environment through ``importlib.metadata`` (it
reads metadata files; it imports no distribution). ``installed_distributions(python=PATH)`` lists another one:
- a virtual environment folder (it has ``pyvenv.cfg``), a conda environment folder (``conda-meta/``) or any
  prefix with ``lib/python3.X/site-packages`` or ``Lib/site-packages``, or an interpreter inside one
  (``bin/python``, ``Scripts/python.exe``): its site-packages folders are found by their conventional paths
  (plus the base interpreter's when ``pyvenv.cfg`` says ``include-system-site-packages = true``) and every
  ``*.dist-info/METADATA``, ``*.egg-info`` (folder or file) and ``*.egg/EGG-INFO/PKG-INFO`` is read directly,
  with bounded reads of the header block only. Nothing from that environment is imported or run.
- a bare interpreter outside any environment folder (its name must start with "python" or "pypy"): it is run
  once, isolated (``-I``: no user site, no PYTHON* variables, no current folder on the path) with a one-line
  script that prints ``sys.path`` as JSON, with a 20 s timeout; the folders it names are read as above.
Anything else is an ``InputError``. Every distribution found is ``pinned`` and ``direct=True``; the first of a
name on the path wins (as at import time). ``licence`` comes from License-Expression (PEP 639), else a short
one-line License field, else the licence classifier's last part.
"""

from __future__ import annotations

import configparser
import importlib.metadata
import json
import os
import re
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path

from packaging.version import InvalidVersion, Version

from mlwarden.core.errors import InputError
from mlwarden.supply.deps.model import Dependency, SourceResult, normalize_name
from mlwarden.supply.deps.sources import ResultBuilder, clip

__all__ = ["CURRENT_ENVIRONMENT", "installed_distributions"]

CURRENT_ENVIRONMENT = "<environment>"
# Bounds for reading an environment: the header block of METADATA is a few KiB even for large projects (the long
# description comes after it and is not read); big environments hold a few thousand entries per folder.
MAX_METADATA_BYTES = 256 * 1024
MAX_HEADER_LINES = 10_000
MAX_SITE_ENTRIES = 100_000
MAX_PATH_ENTRIES = 256
MAX_PROBE_OUTPUT = 1024 * 1024
PROBE_TIMEOUT_S = 20
# Printed by the probed interpreter: its import path, nothing else.
_SYS_PATH_SCRIPT = "import json, sys; print(json.dumps(sys.path))"
# python, python3, python3.12, python3.13t (free-threaded), pythonw.exe, pypy3.10: not python3-config or the like.
_INTERPRETER_NAME = re.compile(r"(?:python|pypy)(?:\d+(?:\.\d+)?)?[tdmw]?(?:\.exe)?", re.IGNORECASE)
# Conventional site-packages folders of an environment prefix (CPython's sysconfig "posix_prefix" and "nt"
# schemes, PyPy's, and Debian's dist-packages).
_SITE_GLOBS = ("lib/python3*/site-packages", "lib64/python3*/site-packages", "lib/pypy3*/site-packages",
               "Lib/site-packages", "lib/site-packages", "lib/python3*/dist-packages", "lib/python3/dist-packages")
_NO_LICENCE = frozenset({"", "unknown", "none", "n/a"})


def _usage(python: Path) -> InputError:
    return InputError(f"{python} is not a Python interpreter or virtual environment; give the path of a venv or "
                      "its bin/python")


# ---------------------------------------------------------------------------------------------------------------
# Metadata
# ---------------------------------------------------------------------------------------------------------------
def _headers(text: str) -> dict[str, list[str]]:
    """The core-metadata header block (RFC 822 style, up to the first blank line); continuation lines joined."""
    headers: dict[str, list[str]] = {}
    last: str | None = None
    for number, line in enumerate(text.splitlines()):
        if number >= MAX_HEADER_LINES or not line.strip():
            break
        if line[0] in " \t" and last is not None:
            headers[last][-1] += "\n" + line.strip()
            continue
        key, colon, value = line.partition(":")
        if not colon:
            continue
        last = key.strip().lower()
        headers.setdefault(last, []).append(value.strip())
    return headers


def _licence(headers: Mapping[str, list[str]]) -> str | None:
    for expression in headers.get("license-expression", []):
        if expression.strip():
            return clip(expression.strip(), 200)
    for text in headers.get("license", []):
        first = text.strip().splitlines()[0].strip() if text.strip() else ""
        if first.lower() not in _NO_LICENCE and len(first) <= 100 and "\n" not in text.strip():
            return first
    for classifier in headers.get("classifier", []):
        parts = [part.strip() for part in classifier.split("::")]
        if parts[0] == "License" and len(parts) > 1 and parts[-1] != "OSI Approved":
            return parts[-1]
    return None


def _from_folder_name(folder: str) -> tuple[str | None, str | None]:
    """(name, version) from ``name-version.dist-info`` / ``name-version-py3.11.egg-info``."""
    stem = re.sub(r"\.(dist-info|egg-info|egg)$", "", folder)
    parts = stem.split("-")
    return (parts[0] or None), (parts[1] if len(parts) > 1 and parts[1] else None)


def _metadata_file(entry: os.DirEntry[str]) -> Path | None:
    name = entry.name
    path = Path(entry.path)
    if name.endswith(".dist-info"):
        return path / "METADATA"
    if name.endswith(".egg-info"):
        return path / "PKG-INFO" if entry.is_dir() else path
    if name.endswith(".egg") and entry.is_dir():
        return path / "EGG-INFO" / "PKG-INFO"
    return None


def _read_metadata(file: Path) -> str:
    """The start of a metadata file, bounded; only regular files (a FIFO named METADATA would block a read)."""
    if not file.is_file():
        raise OSError("not a regular file")
    with file.open("rb") as handle:
        return handle.read(MAX_METADATA_BYTES).decode("utf-8", errors="replace")


def _add_distribution(out: ResultBuilder, seen: set[str], *, name: str | None, version: str | None,
                      licence: str | None, where: str) -> None:
    if not name or not version:
        out.problem(f"distribution metadata at {clip(where)} names no {'name' if not name else 'version'}")
        return
    key = normalize_name(name)
    if key in seen:
        return  # shadowed by an earlier folder on the path
    seen.add(key)
    try:
        Version(version)
    except InvalidVersion:
        out.problem(f"'{clip(name, 80)}' is installed with version '{clip(version, 80)}', which is not a PEP 440 "
                    "version; it was not audited")
        return
    out.add(Dependency(name, out.path, kind="pinned", version=version, licence=licence, direct=True))


def _read_site_folder(out: ResultBuilder, seen: set[str], folder: Path) -> None:
    try:
        with os.scandir(folder) as scan:
            entries: list[os.DirEntry[str]] = []
            for entry in scan:
                if len(entries) >= MAX_SITE_ENTRIES:
                    out.problem(f"{clip(str(folder))} holds more than {MAX_SITE_ENTRIES} entries; the rest was "
                                "not read")
                    break
                entries.append(entry)
    except OSError as error:
        out.problem(f"cannot list {clip(str(folder))}: {clip(error.strerror or str(error), 120)}")
        return
    for entry in sorted(entries, key=lambda item: item.name):
        if out.full:
            return
        file = _metadata_file(entry)
        if file is None:
            continue
        try:
            headers = _headers(_read_metadata(file))
        except OSError as error:
            out.problem(f"cannot read {clip(str(file))}: {clip(error.strerror or str(error), 120)}")
            continue
        folder_name, folder_version = _from_folder_name(entry.name)
        names, versions = headers.get("name"), headers.get("version")
        name = names[0] if names else folder_name
        version = versions[0] if versions else folder_version
        _add_distribution(out, seen, name=name, version=version, licence=_licence(headers), where=str(file))


# ---------------------------------------------------------------------------------------------------------------
# Finding the environment
# ---------------------------------------------------------------------------------------------------------------
def _site_folders(prefix: Path, *, python_version: str | None = None) -> list[Path]:
    """The site-packages folders of an environment prefix; only ``python_version``'s ("3.11") when given."""
    found: list[Path] = []
    resolved: set[Path] = set()
    for pattern in _SITE_GLOBS:
        for folder in sorted(prefix.glob(pattern)):
            version_part = folder.parent.name
            if python_version and re.fullmatch(r"(?:python|pypy)3\.\d+", version_part) and \
                    not version_part.endswith(python_version):
                continue
            try:
                real = folder.resolve()
            except OSError:
                continue
            if folder.is_dir() and real not in resolved:  # lib64 is often a link to lib
                resolved.add(real)
                found.append(folder)
    return found


def _venv_config(prefix: Path) -> dict[str, str]:
    config = prefix / "pyvenv.cfg"
    if not config.is_file():
        return {}
    try:
        with config.open("rb") as handle:
            text = handle.read(64 * 1024).decode("utf-8", errors="replace")
    except OSError:
        return {}
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string("[venv]\n" + text)
    except configparser.Error:
        return {}
    return {key.lower(): value.strip() for key, value in parser.items("venv")}


def _is_environment(prefix: Path) -> bool:
    return (prefix / "pyvenv.cfg").is_file() or (prefix / "conda-meta").is_dir() or bool(_site_folders(prefix))


def _environment_folders(prefix: Path) -> list[Path]:
    config = _venv_config(prefix)
    version_match = re.match(r"(\d+\.\d+)", config.get("version_info") or config.get("version") or "")
    python_version = version_match.group(1) if version_match else None
    folders = _site_folders(prefix, python_version=python_version)
    if config.get("include-system-site-packages", "").lower() == "true" and config.get("home"):
        base = Path(config["home"])
        base_prefix = base.parent if base.name in {"bin", "Scripts"} else base
        folders += [folder for folder in _site_folders(base_prefix, python_version=python_version)
                    if folder not in folders]
    return folders


def _probe_sys_path(python: Path) -> list[Path]:
    """Run a bare interpreter once, isolated, to learn its import path."""
    try:
        completed = subprocess.run([str(python), "-I", "-c", _SYS_PATH_SCRIPT], capture_output=True,
                                   timeout=PROBE_TIMEOUT_S, stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        raise InputError(f"{python} did not report its import path within {PROBE_TIMEOUT_S} s; give the path of a "
                         "venv or its bin/python") from None
    except OSError:
        raise _usage(python) from None
    output = completed.stdout[:MAX_PROBE_OUTPUT].decode("utf-8", errors="replace")
    try:
        value = json.loads(output) if completed.returncode == 0 else None
    except (ValueError, RecursionError):
        value = None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _usage(python)
    return [Path(item) for item in value[:MAX_PATH_ENTRIES] if item]


def _folders_for(python: Path) -> list[Path]:
    if python.is_dir():
        if _is_environment(python):
            return _environment_folders(python)
        raise _usage(python)
    if not python.is_file():
        raise InputError(f"{python} does not exist; give the path of a venv or its bin/python")
    if not _INTERPRETER_NAME.fullmatch(python.name):
        raise _usage(python)
    # bin/python, Scripts/python.exe, or python.exe at the root of a Windows conda environment
    for prefix in (python.parent.parent, python.parent):
        if (prefix / "pyvenv.cfg").is_file() or (prefix / "conda-meta").is_dir():
            return _environment_folders(prefix)
    return [folder for folder in _probe_sys_path(python) if folder.is_dir()]


def _read_folders(out: ResultBuilder, folders: Iterable[Path]) -> None:
    seen: set[str] = set()
    for folder in folders:
        _read_site_folder(out, seen, folder)


def _current_environment() -> SourceResult:
    out = ResultBuilder(CURRENT_ENVIRONMENT)
    seen: set[str] = set()
    for distribution in importlib.metadata.distributions():
        if out.full:
            break
        try:
            metadata = distribution.metadata
            name = next(iter(metadata.get_all("Name") or []), None)
            version = next(iter(metadata.get_all("Version") or []), None)
            headers = {
                "license-expression": metadata.get_all("License-Expression") or [],
                "license": metadata.get_all("License") or [],
                "classifier": metadata.get_all("Classifier") or [],
            }
        except (OSError, UnicodeDecodeError, ValueError) as error:
            out.problem(f"cannot read an installed distribution's metadata: {clip(str(error), 120)}")
            continue
        where = str(getattr(distribution, "_path", "the environment"))
        _add_distribution(out, seen, name=str(name) if name else None, version=str(version) if version else None,
                          licence=_licence({key: [str(value) for value in values] for key, values in headers.items()}),
                          where=where)
    return out.result


def installed_distributions(*, python: Path | None = None) -> SourceResult:
    """The distributions installed in the current environment (``python=None``) or in the one at ``python``.

    ``python`` is a virtual/conda environment folder or an interpreter; raises ``InputError`` for anything else.
    Problems (an unreadable METADATA, a distribution without a version) are in the result.
    """
    if python is None:
        return _current_environment()
    given = python.expanduser()
    out = ResultBuilder(f"<python {python}>")
    _read_folders(out, _folders_for(given))
    return out.result
