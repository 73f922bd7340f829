"""Guarded loading: a model is handed to its framework only after every check passed.

Order: (1) the signature is verified and the trust policy evaluated (on the bytes as stored), (2) an encrypted
file is decrypted in memory, (3) the plaintext is scanned with the model scanner, (4) the framework's loader is
called with its safest options (``weights_only=True``, ``safe_mode=True``, ``allow_pickle=False`` ...). Any failed
check raises ``ModelRefusedError`` naming the check; nothing is deserialized before the scan passed.

The framework libraries are imported here lazily, only to load what passed; a missing one is a
``MissingExtraError``. This module never loads a file that it has not scanned in the same call.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mlwarden.core.errors import InputError, MissingExtraError, MlwardenError, UsageError
from mlwarden.core.findings import Finding, Severity

Framework = Literal["torch", "safetensors", "numpy", "onnx", "keras", "joblib", "pickle"]
Check = Literal["signature", "policy", "decryption", "scan", "framework"]

# Largest file loaded through the guard into memory (decrypted models, scanned bytes handed to the loader).
MAX_IN_MEMORY_BYTES = 16 * 1024**3


class ModelRefusedError(MlwardenError):
    """The model failed a check and was not loaded. ``check`` names it; ``findings`` say why."""

    def __init__(self, path: str | os.PathLike[str], check: Check, reason: str,
                 findings: Sequence[Finding] = ()) -> None:
        super().__init__(f"refused to load {os.fspath(path)}: {check} check failed: {reason}")
        self.path = os.fspath(path)
        self.check = check
        self.reason = reason
        self.findings = tuple(findings)


@dataclass(frozen=True, slots=True)
class ScanGate:
    """What the scan must not find: any active finding at or above ``fail_on`` refuses the model."""

    fail_on: Severity = Severity.HIGH
    trusted_callables: frozenset[str] = frozenset()


DEFAULT_GATE = ScanGate()


def scan_bytes(data: bytes, *, name: str, gate: ScanGate = DEFAULT_GATE) -> list[Finding]:
    """Scan in-memory model bytes (a decrypted model, a file object's content) with the model scanner."""
    from mlwarden.scanning.context import ScanContext, ScanOptions
    from mlwarden.scanning.dispatch import scan_stream

    ctx = ScanContext(path=name, size=len(data), name=os.path.basename(name),
                      options=ScanOptions(trusted_callables=gate.trusted_callables, scanners=frozenset({"models"})))
    scan_stream(io.BytesIO(data), ctx)
    return ctx.findings


def scan_path(path: Path, *, gate: ScanGate = DEFAULT_GATE) -> list[Finding]:
    """Scan a model file or folder on disk (models only)."""
    from mlwarden.core.policy import Config, ConfigModel
    from mlwarden.scanning.engine import scan_paths

    config = Config(ConfigModel(trusted_callables=tuple(sorted(gate.trusted_callables))))
    return scan_paths([path], config=config, jobs=1, scanners=["models"], use_baseline=False).findings


def refuse_if_unsafe(path: str | os.PathLike[str], findings: Sequence[Finding], gate: ScanGate) -> None:
    blocking = [f for f in findings if f.severity.rank >= gate.fail_on.rank]
    if blocking:
        worst = max(blocking, key=lambda f: f.severity.rank)
        raise ModelRefusedError(path, "scan", f"{len(blocking)} finding(s) at or above {gate.fail_on.value}, "
                                f"e.g. {worst.rule_id} {worst.title}: {worst.evidence or worst.message}",
                                blocking)


# --- framework loaders: each called only with bytes or a path that passed the scan ------------------------

def _require(module: str, extra: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(f"loading {module} models", extra) from None


def _load_torch(data: bytes, options: Mapping[str, Any]) -> Any:
    torch = _require("torch", "torch")
    kwargs = {"map_location": "cpu", **options, "weights_only": True}  # never overridable
    return torch.load(io.BytesIO(data), **kwargs)


def _load_safetensors(data: bytes, options: Mapping[str, Any]) -> Any:
    numpy_api = _require("safetensors.numpy", "safetensors")
    return numpy_api.load(data, **options)


def _load_numpy(data: bytes, options: Mapping[str, Any]) -> Any:
    numpy = _require("numpy", "numpy")
    return numpy.load(io.BytesIO(data), **{**options, "allow_pickle": False})


def _load_onnx(data: bytes, options: Mapping[str, Any]) -> Any:
    onnx = _require("onnx", "onnx")
    # From bytes there is no base folder, so external-data paths in the model are not followed.
    return onnx.load_from_string(data, **options)


def _load_keras(data: bytes, options: Mapping[str, Any]) -> Any:
    keras = _require("keras", "keras")
    import tempfile

    # Keras reads archives from a path only; the scanned bytes go to a private temporary file, removed after.
    with tempfile.TemporaryDirectory(prefix="mlwarden-load-") as folder:
        target = Path(folder) / "model.keras"
        target.write_bytes(data)
        return keras.models.load_model(target, **{**options, "safe_mode": True})


def _load_joblib(data: bytes, options: Mapping[str, Any]) -> Any:
    joblib = _require("joblib", "joblib")
    return joblib.load(io.BytesIO(data), **options)


def _load_pickle(data: bytes, options: Mapping[str, Any]) -> Any:
    import pickle

    return pickle.loads(data, **options)  # noqa: S301 - only after the scan found nothing at or above the gate


LOADERS: dict[str, Callable[[bytes, Mapping[str, Any]], Any]] = {
    "torch": _load_torch,
    "safetensors": _load_safetensors,
    "numpy": _load_numpy,
    "onnx": _load_onnx,
    "keras": _load_keras,
    "joblib": _load_joblib,
    "pickle": _load_pickle,
}

# Formats the scanner identifies -> the framework that loads them when the caller does not say. Plain pickles
# (and joblib) are never guessed: a caller must ask for framework="pickle"/"joblib" explicitly.
_FRAMEWORK_BY_FORMAT = {"zip": "torch", "torch-legacy": "torch", "safetensors": "safetensors", "npy": "numpy",
                        "onnx": "onnx"}


def guess_framework(data: bytes, name: str) -> str:
    from mlwarden.scanning.identify import identify

    fmt = identify(data[:4096], name=os.path.basename(name), size=len(data))
    framework = _FRAMEWORK_BY_FORMAT.get(fmt or "")
    if framework is None:
        raise UsageError(f"cannot tell which framework loads {name} (format {fmt or 'unknown'}); pass "
                         f"framework= one of {', '.join(LOADERS)}")
    if name.endswith(".keras"):
        return "keras"
    return framework


def read_bounded(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_IN_MEMORY_BYTES:
            raise InputError(f"{path} is {size} bytes, more than the {MAX_IN_MEMORY_BYTES} guarded loading holds "
                             "in memory")
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"model {path} does not exist; check the path") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a folder; guarded loading takes one model file") from None


# --- the guarded loader ------------------------------------------------------------------------------------

def load(
    path: str | os.PathLike[str],
    *,
    framework: Framework | None = None,
    signature: str | os.PathLike[str] | None = None,
    signed_root: str | os.PathLike[str] | None = None,
    public_key: Any = None,
    ca_roots: Sequence[Any] = (),
    policy: Any = None,
    identities: Sequence[Any] = (),
    registry: Any = None,
    allow_unsigned_model: bool = False,
    gate: ScanGate = DEFAULT_GATE,
    **options: Any,
) -> Any:
    """Load one model file only after its signature, the trust policy, decryption and the scan all passed.

    ``signed_root`` is what the signature covers (default: the file itself; give the folder for a signed model
    folder), ``signature`` its OMS signature (default: ``model.sig`` beside it, as ``mlwarden sign`` writes).
    ``public_key`` (a key object or a PEM path) or ``ca_roots`` (certificates or PEM paths) verify it; ``policy``
    (a ``TrustPolicy`` or a policy file) then decides whether the signer, algorithm, age and any unsigned files
    are acceptable. ``identities`` open an encrypted file (``mlwarden.crypto.recipients``: key file, passphrase,
    X25519 or hybrid identity); it is decrypted in memory. ``registry`` (a ``SigningRegistry`` or its file)
    supplies signing times for a policy's maximum age. ``allow_unsigned_model=True`` skips the signature
    (the scan still runs). ``options`` go to the framework loader; its safety options cannot be overridden.
    Raises ``ModelRefusedError`` naming the failed check.
    """
    target = Path(path)
    root = Path(signed_root) if signed_root is not None else target
    manifest = None
    if not allow_unsigned_model:
        name = _signed_name(target, root)
        manifest = _check_signature(target, root, Path(signature) if signature is not None else None, public_key,
                                    ca_roots, policy, registry)
    stored = read_bounded(target)
    if manifest is not None:
        from mlwarden.integrity.hashing import bytes_match_manifest

        # The bytes about to be loaded are the ones that were signed: a file swapped after verification fails.
        if not bytes_match_manifest(stored, manifest, name):
            raise ModelRefusedError(target, "signature", "the file changed after its signature was verified, or "
                                    "the signature does not cover it")
    data = _plaintext(target, stored, identities)
    refuse_if_unsafe(target, scan_bytes(data, name=str(target), gate=gate), gate)
    chosen = framework or guess_framework(data, target.name)
    if chosen not in LOADERS:
        raise UsageError(f"unknown framework '{chosen}': use one of {', '.join(LOADERS)}")
    return LOADERS[chosen](data, options)


def _check_signature(target: Path, root: Path, signature: Path | None, public_key: Any, ca_roots: Sequence[Any],
                     policy: Any, registry: Any) -> Any:
    """Verify (signature, trust policy, provenance) through the same workflow as ``mlwarden verify``; return the
    signed manifest. Raises ModelRefusedError."""
    from mlwarden.integrity.workflow import verify

    if public_key is None and not ca_roots:
        raise UsageError("guarded loading verifies the signature: give public_key= or ca_roots= (or, knowingly, "
                         "allow_unsigned_model=True)")
    if signature is not None and not signature.is_file():
        raise ModelRefusedError(target, "signature", f"no signature at {signature}")
    from mlwarden.integrity.sign import default_signature_path

    sig = signature if signature is not None else default_signature_path(root)
    if not sig.is_file():
        raise ModelRefusedError(target, "signature", f"no signature at {sig}; sign the model with 'mlwarden sign' "
                                "or pass signature=")
    outcome = verify(root, signature=sig, public_key=public_key, ca_roots=ca_roots, policy=policy,
                     registry=registry)
    if not outcome.allowed:
        denied_by_policy = outcome.decision is not None and outcome.verdict.verified
        reasons = ([*outcome.decision.reasons] if denied_by_policy and outcome.decision is not None else
                   [*outcome.problems, *(f"{d.kind} {d.path}" for d in outcome.differences)])
        raise ModelRefusedError(target, "policy" if denied_by_policy else "signature",
                                "; ".join(reasons) or "the signature does not verify", outcome.findings)
    return outcome.verdict.manifest


def _signed_name(target: Path, root: Path) -> str:
    """How the manifest names ``target``: ``"."`` when the model is the file itself (as OMS does)."""
    if target.resolve() == root.resolve():
        return "."
    try:
        return target.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        raise UsageError(f"{target} is not inside the signed model {root}; give signed_root= the folder the "
                         "signature covers") from None


def _plaintext(target: Path, stored: bytes, identities: Sequence[Any]) -> bytes:
    """The model's bytes: ``stored`` itself, or its decryption (in memory, from the same verified bytes)."""
    import tempfile

    from mlwarden.crypto.files import decrypt_to_memory
    from mlwarden.crypto.stream import MAGIC, DecryptionError

    if not stored.startswith(MAGIC):
        return stored
    if not identities:
        raise ModelRefusedError(target, "decryption", "the file is encrypted; pass identities= (a key file, "
                                "passphrase or private key that opens it)")
    # decrypt_to_memory reads a path; the verified bytes go to a private temporary file (ciphertext only).
    with tempfile.TemporaryDirectory(prefix="mlwarden-load-") as folder:
        copy = Path(folder) / "model.mlwenc"
        copy.write_bytes(stored)
        try:
            return decrypt_to_memory(copy, identities=identities, max_bytes=MAX_IN_MEMORY_BYTES)
        except DecryptionError as exc:
            raise ModelRefusedError(target, "decryption", str(exc).replace(str(copy), str(target))) from None
