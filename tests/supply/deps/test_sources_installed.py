"""Installed environments: the current one, virtual/conda environment folders, and bare interpreters."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from mlwarden.core.errors import InputError
from mlwarden.supply.deps.sources import installed
from mlwarden.supply.deps.sources.installed import installed_distributions


def _dist_info(site: Path, name: str, version: str, *, extra: str = "", folder: str | None = None) -> None:
    info = site / (folder or f"{name.replace('-', '_')}-{version}.dist-info")
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.4\nName: {name}\nVersion: {version}\n{extra}\n"
                                   "A long description that is never read.\nName: not-a-header\n")


def _venv(root: Path, *, python_version: str = "3.11", config: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyvenv.cfg").write_text(f"home = /usr/bin\ninclude-system-site-packages = false\n"
                                     f"version = {python_version}.7\n{config}")
    site = root / "lib" / f"python{python_version}" / "site-packages"
    site.mkdir(parents=True)
    (root / "bin").mkdir()
    (root / "bin" / "python").write_text("not really an interpreter: never run when inside a venv\n")
    return site


def test_current_environment_lists_packaging() -> None:
    result = installed_distributions()
    names = {dep.normalized: dep for dep in result.dependencies}
    assert "packaging" in names and "pytest" in names
    packaging = names["packaging"]
    assert (packaging.kind, packaging.source, packaging.direct) == ("pinned", "<environment>", True)
    import packaging as packaging_module

    assert packaging.version == packaging_module.__version__


def test_fake_virtualenv_is_read_statically(tmp_path: Path) -> None:
    site = _venv(tmp_path / "venv")
    _dist_info(site, "numpy", "1.26.4", extra="License-Expression: BSD-3-Clause")
    _dist_info(site, "requests", "2.31.0", extra="License: Apache 2.0")
    _dist_info(site, "torch", "2.2.0", extra="Classifier: License :: OSI Approved :: BSD License")
    _dist_info(site, "weird", "1.0", extra="License: UNKNOWN")
    (site / "old_style-0.9-py3.11.egg-info").write_text("Metadata-Version: 1.0\nName: old-style\nVersion: 0.9\n")
    egg_folder = site / "eggy-1.1-py3.11.egg-info"
    egg_folder.mkdir()
    (egg_folder / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: eggy\nVersion: 1.1\n")
    (site / "numpy").mkdir()  # the package itself: never imported or read
    (site / "numpy" / "__init__.py").write_text("raise SystemExit('imported!')\n")
    result = installed_distributions(python=tmp_path / "venv")
    deps = {dep.name: dep for dep in result.dependencies}
    assert result.problems == []
    assert set(deps) == {"numpy", "requests", "torch", "weird", "old-style", "eggy"}
    assert deps["numpy"].licence == "BSD-3-Clause"
    assert deps["requests"].licence == "Apache 2.0"
    assert deps["torch"].licence == "BSD License"
    assert deps["weird"].licence is None
    assert all(dep.source == f"<python {tmp_path / 'venv'}>" and dep.kind == "pinned" for dep in deps.values())


def test_interpreter_inside_a_venv_is_not_run(tmp_path: Path) -> None:
    site = _venv(tmp_path / "venv")
    _dist_info(site, "flask", "3.0.0")
    result = installed_distributions(python=tmp_path / "venv" / "bin" / "python")
    assert [dep.name for dep in result.dependencies] == ["flask"]


def test_windows_layout(tmp_path: Path) -> None:
    root = tmp_path / "winvenv"
    site = root / "Lib" / "site-packages"
    site.mkdir(parents=True)
    (root / "pyvenv.cfg").write_text("home = C:\\Python311\n")
    (root / "Scripts").mkdir()
    (root / "Scripts" / "python.exe").write_bytes(b"MZ")
    _dist_info(site, "pywin32-ctypes", "0.2.2")
    result = installed_distributions(python=root / "Scripts" / "python.exe")
    assert [dep.name for dep in result.dependencies] == ["pywin32-ctypes"]


def test_conda_environment_folder(tmp_path: Path) -> None:
    root = tmp_path / "conda-env"
    (root / "conda-meta").mkdir(parents=True)
    site = root / "lib" / "python3.12" / "site-packages"
    site.mkdir(parents=True)
    _dist_info(site, "scipy", "1.11.4")
    assert [dep.name for dep in installed_distributions(python=root).dependencies] == ["scipy"]


def test_system_site_packages_are_included_when_configured(tmp_path: Path) -> None:
    base = tmp_path / "base"
    base_site = base / "lib" / "python3.11" / "site-packages"
    base_site.mkdir(parents=True)
    (base / "lib" / "python3.10" / "site-packages").mkdir(parents=True)
    _dist_info(base_site, "six", "1.16.0")
    _dist_info(base_site, "flask", "2.0.0")  # shadowed by the venv's own flask
    _dist_info(base / "lib" / "python3.10" / "site-packages", "other-python", "1.0")
    site = _venv(tmp_path / "venv", config=f"home = {base / 'bin'}\ninclude-system-site-packages = true\n")
    _dist_info(site, "flask", "3.0.0")
    deps = {dep.name: dep.version for dep in installed_distributions(python=tmp_path / "venv").dependencies}
    assert deps == {"flask": "3.0.0", "six": "1.16.0"}


def test_broken_metadata_gives_problems(tmp_path: Path) -> None:
    site = _venv(tmp_path / "venv")
    (site / "noversion-1.0.dist-info").mkdir()
    (site / "noversion-1.0.dist-info" / "METADATA").write_text("Name: noversion\n")  # version from folder name
    (site / "nometa-2.0.dist-info").mkdir()  # METADATA missing
    (site / "bad-x.dist-info").mkdir()
    (site / "bad-x.dist-info" / "METADATA").write_text("Name: bad\nVersion: not a version\n")
    (site / "empty.dist-info").mkdir()
    (site / "empty.dist-info" / "METADATA").write_bytes(b"\xff\xfe\x00binary")
    if hasattr(os, "mkfifo"):
        (site / "fifo-1.0.dist-info").mkdir()
        os.mkfifo(site / "fifo-1.0.dist-info" / "METADATA")  # reading it would block
    result = installed_distributions(python=tmp_path / "venv")
    assert [(dep.name, dep.version) for dep in result.dependencies] == [("noversion", "1.0")]
    messages = " | ".join(problem.message for problem in result.problems)
    assert "nometa-2.0.dist-info" in messages and "not a PEP 440 version" in messages
    assert "names no version" in messages
    assert all(problem.rule_id == "MW-DEP-004" for problem in result.problems)


def _fake_interpreter(folder: Path, body: str, name: str = "python3") -> Path:
    script = folder / name
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


@pytest.mark.skipif(sys.platform == "win32", reason="shell-script stand-in for an interpreter")
def test_bare_interpreter_is_probed_for_its_path(tmp_path: Path) -> None:
    site = tmp_path / "prefix" / "site"
    _dist_info(site, "attrs", "23.2.0")
    bin_folder = tmp_path / "tools"
    bin_folder.mkdir()
    python = _fake_interpreter(bin_folder, f"""echo '["", "{site}", "{tmp_path / 'missing'}"]'""",
                               name="python3.12")
    result = installed_distributions(python=python)
    assert [dep.name for dep in result.dependencies] == ["attrs"]
    assert result.dependencies[0].source == f"<python {python}>"


def test_the_running_interpreter_path() -> None:
    # a venv's interpreter is read statically; a bare one is probed: either way packaging is there
    result = installed_distributions(python=Path(sys.executable))
    assert any(dep.normalized == "packaging" for dep in result.dependencies)


@pytest.mark.skipif(sys.platform == "win32", reason="shell-script stand-in for an interpreter")
@pytest.mark.parametrize("body", ["exit 3", "echo not json", "echo '{\"a\": 1}'", "echo '[1, 2]'"])
def test_failed_probe_is_an_input_error(tmp_path: Path, body: str) -> None:
    python = _fake_interpreter(tmp_path, body)
    with pytest.raises(InputError, match="is not a Python interpreter or virtual environment"):
        installed_distributions(python=python)


@pytest.mark.skipif(sys.platform == "win32", reason="shell-script stand-in for an interpreter")
def test_probe_timeout_is_an_input_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(installed, "PROBE_TIMEOUT_S", 1)
    python = _fake_interpreter(tmp_path, "exec sleep 30")  # exec: the timeout kills the sleeper itself
    with pytest.raises(InputError, match="did not report its import path"):
        installed_distributions(python=python)


def test_not_an_environment_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("numpy\n")
    (tmp_path / "empty").mkdir()
    for given in (tmp_path / "requirements.txt", tmp_path / "empty"):
        with pytest.raises(InputError, match="give the path of a venv or its bin/python"):
            installed_distributions(python=given)
    with pytest.raises(InputError, match="does not exist"):
        installed_distributions(python=tmp_path / "nowhere")


@pytest.mark.skipif(sys.platform == "win32", reason="shell-script stand-in for an interpreter")
@pytest.mark.parametrize("name", ["evil.sh", "python-evil.sh", "python3-config"])
def test_executable_not_named_like_python_is_never_run(tmp_path: Path, name: str) -> None:
    marker = tmp_path / "ran"
    script = _fake_interpreter(tmp_path, f"touch {marker}", name=name)
    with pytest.raises(InputError):
        installed_distributions(python=script)
    assert not marker.exists()
