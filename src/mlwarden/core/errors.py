"""The error hierarchy of mlwarden.

Every error a user can cause (a missing path, a bad flag, a broken configuration) is an ``MlwardenError``
whose message names the problem and the fix in one line. The CLI prints that line and exits 2; it never shows a
traceback for these. Problems inside one scanned file are never raised: they become findings.
"""

from __future__ import annotations


class MlwardenError(Exception):
    """Base class: a problem the user can act on. ``str(error)`` is the one-line message."""

    exit_code: int = 2


class UsageError(MlwardenError):
    """Arguments that cannot be used as given (unknown format, bad level, conflicting options)."""


class InputError(MlwardenError):
    """An input path that is missing, unreadable or of the wrong kind."""


class ConfigError(MlwardenError):
    """A configuration file (``mlwarden.toml``, ``[tool.mlwarden]``, a baseline) that cannot be used."""


class MissingExtraError(MlwardenError):
    """An optional capability whose extra is not installed."""

    def __init__(self, feature: str, extra: str) -> None:
        super().__init__(f"{feature} needs the optional extra '{extra}': pip install 'mlwarden[{extra}]'")
        self.extra = extra
