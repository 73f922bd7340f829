"""Process-wide guard: after ``install()``, ``pickle.load``/``pickle.loads``, ``torch.load`` and ``joblib.load``
scan what they are given with the model scanner and refuse (``ModelRefusedError``) anything at or above the
gate, before a single byte is deserialized.

    import mlwarden.guard
    mlwarden.guard.install()          # or: with mlwarden.guard.guarded(): ...

It wraps the original functions and leaves their behaviour otherwise unchanged (arguments, return values, the
stream position after ``pickle.load``). ``uninstall()`` restores them. Frameworks that are not installed are
not patched. This module never loads anything itself; the wrapped originals do, after the scan passed.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mlwarden.loading import DEFAULT_GATE, ScanGate, read_bounded, refuse_if_unsafe, scan_bytes

_lock = threading.Lock()
# (module name, attribute) -> the original function, while installed.
_originals: dict[tuple[str, str], Callable[..., Any]] = {}


def installed() -> bool:
    return bool(_originals)


def _source_bytes(source: Any) -> tuple[bytes, str, int | None]:
    """The bytes a loader would read from ``source`` (a path or a binary file object), its name, and the
    file object's start position (None for paths)."""
    if isinstance(source, (str, os.PathLike)):
        return read_bounded(Path(source)), os.fspath(source), None
    start = source.tell() if hasattr(source, "tell") and source.seekable() else None
    data = source.read()
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("guarded loading needs a binary file object")
    return bytes(data), str(getattr(source, "name", "<stream>")), start


def install(*, gate: ScanGate = DEFAULT_GATE) -> None:
    """Patch pickle, torch and joblib loaders to scan first. Installing twice replaces the gate."""
    import pickle

    with _lock:
        _restore()
        original_loads = pickle.loads
        original_load = pickle.load

        def guarded_loads(data: bytes, /, *args: Any, **kwargs: Any) -> Any:
            refuse_if_unsafe("<bytes>", scan_bytes(bytes(data), name="<bytes>", gate=gate), gate)
            return original_loads(data, *args, **kwargs)

        def guarded_load(file: Any, /, *args: Any, **kwargs: Any) -> Any:
            data, name, start = _source_bytes(file)
            refuse_if_unsafe(name, scan_bytes(data, name=name, gate=gate), gate)
            buffer = io.BytesIO(data)
            value = original_load(buffer, *args, **kwargs)
            if start is not None:  # leave the caller's stream just after the pickle, as pickle.load would
                file.seek(start + buffer.tell())
            return value

        _patch(pickle, "pickle", "loads", guarded_loads)
        _patch(pickle, "pickle", "load", guarded_load)
        _patch_framework("torch", "load", gate)
        _patch_framework("joblib", "load", gate)


def _patch(module: Any, module_name: str, attribute: str, replacement: Callable[..., Any]) -> None:
    _originals[(module_name, attribute)] = getattr(module, attribute)
    replacement.__wrapped__ = getattr(module, attribute)  # type: ignore[attr-defined]
    setattr(module, attribute, replacement)


def _patch_framework(module_name: str, attribute: str, gate: ScanGate) -> None:
    import importlib

    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return
    original = getattr(module, attribute)

    def guarded(source: Any, /, *args: Any, **kwargs: Any) -> Any:
        data, name, _ = _source_bytes(source)
        refuse_if_unsafe(name, scan_bytes(data, name=name, gate=gate), gate)
        return original(io.BytesIO(data), *args, **kwargs)

    _patch(module, module_name, attribute, guarded)


def _restore() -> None:
    import importlib

    for (module_name, attribute), original in _originals.items():
        setattr(importlib.import_module(module_name), attribute, original)
    _originals.clear()


def uninstall() -> None:
    """Put the original loaders back."""
    with _lock:
        _restore()


@contextmanager
def guarded(*, gate: ScanGate = DEFAULT_GATE) -> Iterator[None]:
    """``install()`` for the duration of a ``with`` block."""
    install(gate=gate)
    try:
        yield
    finally:
        uninstall()
