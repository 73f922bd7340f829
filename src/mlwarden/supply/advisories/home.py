"""Where mlwarden keeps its data (the advisory database): the platform's cache folder, or ``MLWARDEN_HOME``.

The advisory database can always be rebuilt from its source (``mlwarden db update`` / ``db import``), so it
belongs in a cache folder, not in a config or data folder. This module only computes paths: it never creates
folders or touches files (the writers do that, when they write).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

HOME_ENV_VAR = "MLWARDEN_HOME"
DB_FILE_NAME = "advisories.sqlite3"
_APP = "mlwarden"


def data_home(*, environ: Mapping[str, str] | None = None, platform: str | None = None) -> Path:
    """The folder for mlwarden's data: ``$MLWARDEN_HOME`` when set, else the platform's per-user cache folder.

    Linux and other Unixes follow the XDG base directory spec (``$XDG_CACHE_HOME`` when it is an absolute path,
    else ``~/.cache``); macOS uses ``~/Library/Caches``; Windows ``%LOCALAPPDATA%\\mlwarden\\Cache`` (the layout
    platformdirs uses, without depending on it). ``environ`` and ``platform`` exist for tests.
    """
    env = os.environ if environ is None else environ
    system = sys.platform if platform is None else platform
    override = env.get(HOME_ENV_VAR, "").strip()
    if override:
        return Path(override).expanduser()
    if system == "darwin":
        return Path.home() / "Library" / "Caches" / _APP
    if system.startswith("win"):
        local = env.get("LOCALAPPDATA", "").strip()
        base = Path(local) if local else Path.home() / "AppData" / "Local"
        return base / _APP / "Cache"
    xdg = env.get("XDG_CACHE_HOME", "").strip()
    # The XDG spec says relative values are invalid and must be ignored.
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / _APP


def default_db_path(*, environ: Mapping[str, str] | None = None, platform: str | None = None) -> Path:
    """The advisory database used when no ``--db`` is given: ``data_home() / "advisories.sqlite3"``."""
    return data_home(environ=environ, platform=platform) / DB_FILE_NAME
