"""mlwarden: security for machine-learning models. Public API only; implementations load lazily.

    >>> import mlwarden
    >>> report = mlwarden.scan("models/")
    >>> report.passed, [f.rule_id for f in report.findings]
    >>> mlwarden.sign("models/bert", key="signing.pem")            # writes models/bert/model.sig
    >>> mlwarden.verify("models/bert", public_key="signing.pub").allowed
    >>> model = mlwarden.load("model.safetensors", public_key="signing.pub")

Importing this package imports nothing heavy: each function imports its implementation when called. Nothing here
prints, and nothing writes the signing registry unless a ``registry`` is passed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

__version__ = "0.1.0"  # before the imports below: modules they load may read it

# Light modules: their heavy dependencies (cryptography, frameworks) load inside the functions.
from mlwarden.integrity.workflow import SignedModel, Verification, sign, verify  # noqa: E402
from mlwarden.loading import load  # noqa: E402

if TYPE_CHECKING:
    from mlwarden.core.policy import Config
    from mlwarden.core.report import Report

__all__ = ["SignedModel", "Verification", "__version__", "load", "scan", "sign", "verify"]


def scan(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    config: Config | None = None,
    jobs: int | None = None,
    baseline: str | os.PathLike[str] | None = None,
    scanners: Sequence[str] | None = None,
    environment: bool = False,
    python: str | os.PathLike[str] | None = None,
    db: str | os.PathLike[str] | None = None,
) -> Report:
    """Scan a project (model artifacts without loading them, dependencies, code, notebooks, secrets) and
    return a ``Report``.

    ``config`` defaults to built-in defaults (pass ``mlwarden.core.policy.load_config()`` to use the project's
    configuration). ``scanners`` picks from models, deps, code, notebooks, secrets (default: all).
    ``environment=True`` / ``python=PATH`` add an installed environment to the dependency audit; ``db`` names the
    advisory database (default: the cache folder, ``MLWARDEN_HOME``). Problems inside files are findings; a
    missing path raises ``mlwarden.core.errors.InputError``.
    """
    from mlwarden.scanning.engine import scan_paths

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    return scan_paths(list(paths), config=config, jobs=jobs, baseline=Path(baseline) if baseline else None,
                      scanners=scanners, environment=environment, python=Path(python) if python else None,
                      db_path=Path(db) if db else None)
