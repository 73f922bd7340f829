"""Hash a model (one file or a folder) the way OMS v1.0 and the reference ``model_signing`` do, and compare.

What it does:

* ``hash_model`` / ``inspect_model`` walk the model, hash every file (``files``) or every fixed-size byte range of
  every file (``shards``) with SHA-256, BLAKE2b or BLAKE3 in one bounded thread pool, and return a ``Manifest``
  whose resources are named and ordered exactly as ``model_signing`` 1.1.1 names and orders them, so that a
  signature made by either tool verifies with the other.
* ``subject_digest`` computes the in-toto subject digest (always SHA-256 over the concatenated raw resource
  digests, as the reference does whatever the resource algorithm).
* ``parse_serialization`` / ``parse_resources`` read the hashing settings and the resource list of a signature
  (untrusted input: every problem is an ``InputError`` with one line); ``serialization_dict`` writes ours.
* ``compare_manifests`` names what changed: modified, added, removed, renamed or moved, swapped, symlink.

What it must never do: follow a symbolic link out of the model root, follow one at all unless the settings
allow symlinks, open anything but a regular file (a FIFO would hang the walk), memory-map a file (a file
truncated while mapped kills the process with SIGBUS), or grow without bound on a huge tree or a tiny shard size.
It never writes anything.

Facts taken from the reference (``model_signing`` 1.1.1, read and checked against its output):

* a folder's resources are sorted like ``pathlib.PurePosixPath`` sorts: component by component (``a/b`` before
  ``a.bin``), shards by (path, start, end) with integer offsets;
* a single-file model has one resource named ``"."`` (the file relative to itself), or ``".:0:N"`` shards;
* shard resources carry the algorithm ``"<hash>-sharded-<shard_size>"`` while ``hash_type`` stays ``"<hash>"``;
* empty files have no shard at all (their ``files`` digest is the digest of no bytes);
* ``shard_size`` comes back as a float (``8.0``) because the predicate travels as a protobuf ``Struct``;
* ``ignore_paths`` are POSIX paths relative to the model root, matched on whole leading components, in any
  order (the reference writes a set).
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import stat
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any, Literal, Protocol

from mlwarden.core.errors import InputError, MissingExtraError, UsageError
from mlwarden.integrity.model import (
    Difference,
    DifferenceKind,
    HashAlgorithm,
    HashSettings,
    Manifest,
    ResourceDigest,
    SerializationMethod,
)

# The reference's default shard size (``model_signing.hashing``: 1 GB, decimal).
DEFAULT_SHARD_SIZE = 1_000_000_000
# The in-toto subject digest is SHA-256 in the reference, whatever algorithm hashed the resources.
SUBJECT_ALGORITHM = "sha256"
# One read per call. Measured on this project's 2-core machine (1 GiB file, page cache warm): SHA-256 runs at
# 1.60 GB/s with 128 KiB to 1 MiB reads and 1.53 GB/s with 8 MiB ones (the buffer no longer fits in L2);
# BLAKE3 is fastest with 1 MiB. mmap is only 3% faster for SHA-256 and is not used (see the module docstring).
READ_BUFFER_BYTES = 1024 * 1024
# Threads only pay off for long GIL-free stretches. Measured on this project's 2-core VM: two threads hash a
# folder of 1 MiB files about twice as fast as one, 64-256 KiB files up to 1.7x faster in runs of 8 MiB, and
# files under 64 KiB no faster (0-10% slower, much slower when another process holds a core): every read and
# hash call hands the GIL over, which costs about as much as hashing a few KiB. So each file or shard of at
# least _PARALLEL_MIN_BYTES is a pool task of its own, medium ones go in runs of about _SMALL_UNIT_BYTES, and
# all files under _TINY_FILE_BYTES make one task: a thousand small files cost one task, not a thousand.
_PARALLEL_MIN_BYTES = READ_BUFFER_BYTES
_SMALL_UNIT_BYTES = 8 * READ_BUFFER_BYTES
_TINY_FILE_BYTES = 64 * 1024

HASH_ALGORITHMS: tuple[HashAlgorithm, ...] = ("sha256", "blake2b", "blake3")
SERIALIZATION_METHODS: tuple[SerializationMethod, ...] = ("files", "shards")
# The keys an OMS v1.0 ``serialization`` object may hold (predicate.schema.json: additionalProperties false).
_SERIALIZATION_KEYS = frozenset({"method", "hash_type", "shard_size", "allow_symlinks", "ignore_paths"})
# JSON numbers above 2**53 are not exact as the floats the reference writes them as.
_MAX_SHARD_SIZE = 2**53


@dataclass(frozen=True, slots=True)
class HashingLimits:
    """Bounds on what one model may make us do; a model or signature beyond one is refused with InputError.

    Chosen so that real models fit: the largest public checkpoints have tens of thousands of files, and a
    1 TB model in 1 GB shards is a thousand resources.
    """

    # Files plus shards listed in one manifest (a signature of a million resources is already ~150 MB).
    max_resources: int = 1_000_000
    # Directory entries looked at while walking (ignored subtrees are not entered).
    max_walk_entries: int = 2_000_000
    # Characters in one resource name, and folders nested under the root.
    max_path_chars: int = 4096
    max_depth: int = 256
    # Entries in a signature's ignore_paths.
    max_ignore_paths: int = 10_000


DEFAULT_HASHING_LIMITS = HashingLimits()


# --- hash algorithms: one table, one small protocol -------------------------------------------------------


class _Hasher(Protocol):
    def update(self, data: memoryview, /) -> object: ...

    def hexdigest(self) -> str: ...


@dataclass(frozen=True, slots=True)
class _Algorithm:
    name: HashAlgorithm
    digest_size: int  # bytes
    new: Callable[[], _Hasher]


def _new_blake3() -> _Hasher:
    try:
        import blake3
    except ImportError as error:
        raise MissingExtraError("BLAKE3 hashing", "blake3") from error
    hasher: _Hasher = blake3.blake3()
    return hasher


# hashlib and blake3 release the GIL while hashing buffers of more than a few KiB, so threads hash in parallel.
_ALGORITHMS: Mapping[str, _Algorithm] = {
    "sha256": _Algorithm("sha256", 32, hashlib.sha256),
    "blake2b": _Algorithm("blake2b", 64, hashlib.blake2b),  # default 64-byte digest, as the reference
    "blake3": _Algorithm("blake3", 32, _new_blake3),
}


def _algorithm(name: str) -> _Algorithm:
    algorithm = _ALGORITHMS.get(name)
    if algorithm is None:
        raise UsageError(f"unknown hash algorithm {_show(name)}: use one of {', '.join(HASH_ALGORITHMS)}")
    return algorithm


def _require_available(algorithm: _Algorithm) -> None:
    # Fail before walking a large tree, not in the middle of the pool.
    algorithm.new()


# --- settings: checking ours, reading a signature's, writing ours -----------------------------------------


def effective_shard_size(settings: HashSettings) -> int:
    """The shard size in bytes a ``shards`` setting hashes with (the reference's default when unset)."""
    return settings.shard_size if settings.shard_size is not None else DEFAULT_SHARD_SIZE


def check_settings(settings: HashSettings) -> HashSettings:
    """Return ``settings`` with normalized ignore paths and an explicit shard size, or raise UsageError for a combination that makes no
    sense (an unknown algorithm, a shard size with ``files``, a non-positive shard size, an ignore path that
    is absolute, climbs out with ``..`` or would ignore the whole model)."""
    if settings.method not in SERIALIZATION_METHODS:
        raise UsageError(f"unknown serialization method '{settings.method}': use 'files' or 'shards'")
    _algorithm(settings.hash_type)
    if settings.method == "files" and settings.shard_size is not None:
        raise UsageError("a shard size applies only to the 'shards' method: drop it or choose 'shards'")
    if settings.method == "shards":
        size = effective_shard_size(settings)
        if isinstance(size, bool) or not isinstance(size, int) or not 0 < size <= _MAX_SHARD_SIZE:
            raise UsageError(f"shard size must be a whole number of bytes between 1 and 2**53, got {size!r}")
    try:
        ignore = tuple(sorted({_normalize_relative_path(path) for path in settings.ignore_paths}))
    except ValueError as error:
        raise UsageError(f"ignore path: {error}") from error
    shard_size = effective_shard_size(settings) if settings.method == "shards" else None
    if ignore == settings.ignore_paths and shard_size == settings.shard_size:
        return settings
    return replace(settings, shard_size=shard_size, ignore_paths=ignore)


def resource_algorithm_name(settings: HashSettings) -> str:
    """The ``algorithm`` written on each resource, as the reference writes it: the hash name for ``files``,
    ``"<hash>-sharded-<shard_size>"`` for ``shards``. (OMS's predicate.schema.json lists only the bare hash
    names; the reference's sharded names are what its verifier compares, so interoperability needs them.)"""
    if settings.method == "shards":
        return f"{settings.hash_type}-sharded-{effective_shard_size(settings)}"
    return settings.hash_type


def accepted_resource_algorithms(settings: HashSettings) -> frozenset[str]:
    """The resource ``algorithm`` names a signature with these settings may carry: the reference's name and,
    for shards, the bare hash name the OMS schema lists."""
    return frozenset({settings.hash_type, resource_algorithm_name(settings)})


def serialization_dict(settings: HashSettings) -> dict[str, Any]:
    """The ``predicate.serialization`` object our signer writes (valid against OMS predicate.schema.json):
    the keys the reference writes, ``shard_size`` only for shards, ``ignore_paths`` only when there are some
    (sorted, so that the same settings always give the same bytes)."""
    settings = check_settings(settings)
    result: dict[str, Any] = {"method": settings.method, "hash_type": settings.hash_type}
    if settings.method == "shards":
        result["shard_size"] = effective_shard_size(settings)
    result["allow_symlinks"] = settings.allow_symlinks
    if settings.ignore_paths:
        result["ignore_paths"] = list(settings.ignore_paths)
    return result


def parse_serialization(
    predicate_serialization: object, *, limits: HashingLimits = DEFAULT_HASHING_LIMITS
) -> HashSettings:
    """Read a signature's ``predicate.serialization`` into HashSettings; every problem is an InputError.

    Tolerates what the reference writes: ``shard_size`` as a whole float (``8.0``), ``ignore_paths`` in any
    order, with a trailing ``/`` or a leading ``./``; missing ``method``, ``hash_type`` and ``allow_symlinks``
    take OMS's defaults (files, sha256, no symlinks) and a ``shards`` object without ``shard_size`` the
    reference's default. Refuses unknown keys (a setting we do not understand may change what was hashed),
    unknown algorithms and methods, and ignore paths that would leave the model root or ignore all of it.
    """
    if not isinstance(predicate_serialization, dict):
        raise InputError(
            "the signature's serialization settings are not a JSON object; the signature is corrupted"
        )
    unknown = sorted(_show(key) for key in predicate_serialization if key not in _SERIALIZATION_KEYS)
    if unknown:
        shown = ", ".join(unknown[:3]) + (" ..." if len(unknown) > 3 else "")
        raise InputError(
            f"the signature's serialization has unknown setting(s) {shown}; "
            "it was made by a newer or non-OMS tool: verify it with that tool"
        )
    method = predicate_serialization.get("method", "files")
    if method not in SERIALIZATION_METHODS:
        raise InputError(
            f"the signature uses serialization method {_show(method)}, which mlwarden does not support "
            "(supported: files, shards)"
        )
    hash_type = predicate_serialization.get("hash_type", "sha256")
    if hash_type not in HASH_ALGORITHMS:
        raise InputError(
            f"the signature uses hash algorithm {_show(hash_type)}, which mlwarden does not support "
            f"(supported: {', '.join(HASH_ALGORITHMS)})"
        )
    allow_symlinks = predicate_serialization.get("allow_symlinks", False)
    if not isinstance(allow_symlinks, bool):
        raise InputError(f"the signature's allow_symlinks is {_show(allow_symlinks)}, not true or false")
    shard_size: int | None = None
    raw_shard_size = predicate_serialization.get("shard_size")
    if method == "shards":
        shard_size = DEFAULT_SHARD_SIZE if raw_shard_size is None else _parse_shard_size(raw_shard_size)
    elif raw_shard_size is not None:
        raise InputError(
            "the signature gives a shard_size for the 'files' method; the signature is inconsistent"
        )
    ignore_paths = _parse_ignore_paths(predicate_serialization.get("ignore_paths", []), limits)
    return HashSettings(
        method=method,
        hash_type=hash_type,
        shard_size=shard_size,
        ignore_paths=ignore_paths,
        allow_symlinks=allow_symlinks,
    )


def _parse_shard_size(value: object) -> int:
    # JSON numbers arrive as int or float; the reference's arrive as float (protobuf Struct).
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"the signature's shard_size is {_show(value)}, not a number of bytes")
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        raise InputError(f"the signature's shard_size is {_show(value)}, not a whole number of bytes")
    size = int(value)
    if not 0 < size <= _MAX_SHARD_SIZE:
        raise InputError(f"the signature's shard_size {size} is out of range (1 to 2**53 bytes)")
    return size


def _parse_ignore_paths(value: object, limits: HashingLimits) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise InputError("the signature's ignore_paths is not a list of paths; the signature is corrupted")
    if len(value) > limits.max_ignore_paths:
        raise InputError(
            f"the signature lists {len(value)} ignore paths, more than the limit of {limits.max_ignore_paths}"
        )
    paths: set[str] = set()
    for item in value:
        if not isinstance(item, str) or len(item) > limits.max_path_chars:
            raise InputError(f"the signature's ignore_paths holds {_show(item)}, not a path")
        try:
            paths.add(_normalize_relative_path(item))
        except ValueError as error:
            raise InputError(f"the signature's ignore_paths holds an unusable path: {error}") from error
    return tuple(sorted(paths))


def _normalize_relative_path(path: str) -> str:
    """``./a//b/`` -> ``a/b``; ValueError for what cannot be a path inside the model root."""
    if "\x00" in path:
        raise ValueError(f"{_show(path)} contains a NUL character")
    pure = PurePosixPath(path)
    if pure.is_absolute():
        raise ValueError(f"{_show(path)} is absolute; paths are relative to the model root")
    if ".." in pure.parts:
        raise ValueError(f"{_show(path)} leaves the model root with '..'")
    if not pure.parts:
        raise ValueError(f"{_show(path)} names the model root itself, which would leave nothing signed")
    return pure.as_posix()


def _quote(path: object) -> str:
    """A file name for an error message: quoted as is when printable, escaped otherwise (one line, always)."""
    text = os.fspath(path) if isinstance(path, os.PathLike) else str(path)
    if text.isprintable() and len(text) <= 200:
        return f"'{text}'"
    return _show(text)


def _show(value: object) -> str:
    """A short, printable rendering of an untrusted value for an error message."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# --- resources: names, order, the subject digest ----------------------------------------------------------


def split_shard_name(name: str) -> tuple[str, int, int] | None:
    """``"path:start:end"`` -> (path, start, end), or None when ``name`` is not a shard name. The path may
    itself contain ``:`` (split from the right)."""
    parts = name.rsplit(":", 2)
    if len(parts) != 3 or not parts[0]:
        return None
    start_text, end_text = parts[1], parts[2]
    # Plain decimal digits only: int() would also take "+1", " 1" or "1_0", which the reference never writes.
    if not (start_text.isascii() and start_text.isdigit() and end_text.isascii() and end_text.isdigit()):
        return None
    if len(start_text) > 20 or len(end_text) > 20:
        return None
    return parts[0], int(start_text), int(end_text)


def resource_sort_key(name: str, method: SerializationMethod) -> tuple[Any, ...]:
    """The order the reference lists resources in: POSIX path components, then shard offsets as integers."""
    if method == "shards":
        shard = split_shard_name(name)
        if shard is not None:
            path, start, end = shard
            return (tuple(path.split("/")), start, end)
        return (tuple(name.split("/")), -1, -1)
    return (tuple(name.split("/")),)


def sort_resources(
    resources: Iterable[ResourceDigest], method: SerializationMethod
) -> tuple[ResourceDigest, ...]:
    return tuple(sorted(resources, key=lambda resource: resource_sort_key(resource.name, method)))


def subject_digest(
    resources: Iterable[ResourceDigest],
    *,
    method: SerializationMethod,
    order: Literal["canonical", "listed"] = "canonical",
) -> str:
    """The in-toto subject digest over ``resources``: SHA-256 over the concatenation of their raw digests.

    OMS v1.0 and the reference hash every resource digest in the order the predicate lists them, and the
    reference lists them in canonical order (``resource_sort_key``). ``order="canonical"`` sorts first (what a
    signer does); ``order="listed"`` keeps the given order (what a verifier recomputes from a signed list). The
    subject algorithm is SHA-256 whatever algorithm hashed the resources. InputError when a digest is not hex.
    """
    items = sort_resources(resources, method) if order == "canonical" else tuple(resources)
    hasher = hashlib.sha256()
    for resource in items:
        try:
            hasher.update(bytes.fromhex(resource.digest))
        except ValueError as error:
            raise InputError(
                f"the digest of resource {_show(resource.name)} is not hexadecimal; the signature is corrupted"
            ) from error
    return hasher.hexdigest()


def parse_resources(
    predicate_resources: object,
    settings: HashSettings,
    *,
    limits: HashingLimits = DEFAULT_HASHING_LIMITS,
) -> tuple[ResourceDigest, ...]:
    """Read a signature's ``predicate.resources`` (in the listed order), checking each entry against the
    signature's settings: a usable relative name (``path:start:end`` for shards, with a range no longer than
    the shard size), an algorithm that matches ``hash_type``, a lowercase hex digest of that algorithm's size,
    and no name listed twice. Extra keys on an entry are allowed (in-toto ResourceDescriptor). InputError on
    anything else."""
    if not isinstance(predicate_resources, list):
        raise InputError("the signature's resources are not a list; the signature is corrupted")
    if len(predicate_resources) > limits.max_resources:
        raise InputError(
            f"the signature lists {len(predicate_resources)} resources, more than the limit of "
            f"{limits.max_resources}"
        )
    accepted = accepted_resource_algorithms(settings)
    hex_length = 2 * _ALGORITHMS[settings.hash_type].digest_size
    shard_size = effective_shard_size(settings)
    seen: set[str] = set()
    result: list[ResourceDigest] = []
    for entry in predicate_resources:
        if not isinstance(entry, dict):
            raise InputError("a resource in the signature is not a JSON object; the signature is corrupted")
        name, algorithm, digest = entry.get("name"), entry.get("algorithm"), entry.get("digest")
        if not isinstance(name, str) or not name or len(name) > limits.max_path_chars + 48:
            raise InputError(f"a resource in the signature has no usable name ({_show(name)})")
        if settings.method == "shards":
            shard = split_shard_name(name)
            if shard is None:
                raise InputError(f"shard resource {_show(name)} is not named 'path:start:end'")
            path, start, end = shard
            if not start < end or end - start > shard_size:
                raise InputError(
                    f"shard resource {_show(name)} has a byte range that does not fit the shard size"
                )
        else:
            path = name
        if path != "." and not _is_clean_relative_path(path):
            raise InputError(f"resource {_show(name)} is not a relative path inside the model")
        if not isinstance(algorithm, str) or algorithm not in accepted:
            raise InputError(
                f"resource {_show(name)} uses algorithm {_show(algorithm)}, but the signature's settings say "
                f"{resource_algorithm_name(settings)}"
            )
        if (
            not isinstance(digest, str)
            or len(digest) != hex_length
            or not all(ch in "0123456789abcdef" for ch in digest)
        ):
            raise InputError(
                f"resource {_show(name)} has a digest that is not {hex_length} lowercase hex digits "
                f"({settings.hash_type}); the signature is corrupted"
            )
        if name in seen:
            raise InputError(f"resource {_show(name)} is listed twice; the signature is corrupted")
        seen.add(name)
        result.append(ResourceDigest(name=name, algorithm=algorithm, digest=digest))
    return tuple(result)


def _is_clean_relative_path(path: str) -> bool:
    # Exactly what our walk produces: no empty, "." or ".." component, no leading "/", no NUL.
    if "\x00" in path:
        return False
    return all(part not in ("", ".", "..") for part in path.split("/"))


# --- walking the model ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModelSnapshot:
    """A hashed model plus what the hashing refused to look at.

    ``symlinks`` lists (sorted) the symbolic links found where the settings do not allow them: they are not
    followed nor hashed; verification reports each as a ``symlink`` difference (``compare_manifests``).
    """

    manifest: Manifest
    symlinks: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _FileToHash:
    path: str  # absolute filesystem path to open
    name: str  # POSIX name relative to the root ("." for a single-file model)
    size: int  # at walk time; a different size while hashing means the file changed under us


@dataclass(frozen=True, slots=True)
class _Task:
    file: _FileToHash
    start: int
    end: int | None  # None: the whole file, to its end
    resource_name: str


def inspect_model(
    root: Path,
    settings: HashSettings,
    *,
    model_name: str | None = None,
    workers: int | None = None,
    limits: HashingLimits = DEFAULT_HASHING_LIMITS,
) -> ModelSnapshot:
    """Hash the model at ``root`` (a folder, or a single file) with ``settings``; symlinks that the settings do
    not allow are listed in the snapshot instead of raising. See ``hash_model``."""
    return _snapshot(root, settings, model_name, workers, limits, refuse_symlinks=False)


def _snapshot(
    root: Path,
    settings: HashSettings,
    model_name: str | None,
    workers: int | None,
    limits: HashingLimits,
    *,
    refuse_symlinks: bool,
) -> ModelSnapshot:
    settings = check_settings(settings)
    algorithm = _algorithm(settings.hash_type)
    _require_available(algorithm)
    worker_count = _worker_count(workers)
    root = Path(root)
    files, symlinks = _walk(root, settings, limits)
    if symlinks and refuse_symlinks:
        # Before hashing anything: a signer should not wait for a large model only to be refused.
        ordered = sorted(symlinks, key=lambda link: link.split("/"))
        shown = ", ".join(_quote(link) for link in ordered[:3]) + (" ..." if len(ordered) > 3 else "")
        raise InputError(
            f"the model contains symbolic link(s) ({shown}); replace them with the files they point to, "
            "or allow symlinks explicitly"
        )
    tasks = _tasks(files, settings, limits)
    digests = _hash_tasks(tasks, algorithm, worker_count, follow_symlinks=settings.allow_symlinks)
    resource_algorithm = resource_algorithm_name(settings)
    resources = sort_resources(
        (
            ResourceDigest(name=task.resource_name, algorithm=resource_algorithm, digest=digest)
            for task, digest in zip(tasks, digests)
        ),
        settings.method,
    )
    manifest = Manifest(
        model_name=model_name if model_name is not None else _default_model_name(root),
        settings=settings,
        resources=resources,
        subject_digest=subject_digest(resources, method=settings.method, order="listed"),
        subject_algorithm=SUBJECT_ALGORITHM,
    )
    return ModelSnapshot(manifest=manifest, symlinks=tuple(sorted(symlinks, key=lambda s: s.split("/"))))


def hash_model(
    root: Path,
    settings: HashSettings,
    *,
    model_name: str | None = None,
    workers: int | None = None,
    limits: HashingLimits = DEFAULT_HASHING_LIMITS,
) -> Manifest:
    """Hash the model at ``root`` into a Manifest, as OMS v1.0 / ``model_signing`` 1.1.1 would.

    ``root`` is a folder (resource names are POSIX paths relative to it) or a single file (one resource named
    ``"."``, as the reference names it). Paths in ``settings.ignore_paths`` (relative to the root, matched on
    whole leading components; pass the signature file here when it lies inside the model) are skipped and
    never entered. Symbolic links are refused with InputError unless ``settings.allow_symlinks``; when allowed,
    a link to a file is hashed as that file's content under the link's name, a link to a folder is not
    entered (as the reference on Python 3.11), and a link that leads out of the root is refused. Anything but
    regular files and folders (FIFOs, sockets, devices) is refused. Files are hashed in parallel in one
    thread pool of ``workers`` threads (default: the CPU count). ``model_name`` defaults to the root's name.
    """
    return _snapshot(root, settings, model_name, workers, limits, refuse_symlinks=True).manifest


def _worker_count(workers: int | None) -> int:
    if workers is None:
        return max(1, os.cpu_count() or 1)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise UsageError(f"workers must be a positive number of threads, got {workers!r}")
    return workers


def _default_model_name(root: Path) -> str:
    # As the reference: the last component, or the resolved folder's name for "." and "..".
    name = root.name
    if not name or name == "..":
        name = os.path.basename(os.path.realpath(root))
    return name


def _walk(root: Path, settings: HashSettings, limits: HashingLimits) -> tuple[list[_FileToHash], list[str]]:
    """Every regular file to hash and every refused symlink, without following links unless allowed."""
    try:
        root_stat = os.lstat(root)
    except FileNotFoundError:
        raise InputError(f"model path {_quote(root)} does not exist; check the path") from None
    except OSError as error:
        raise InputError(
            f"cannot read model path {_quote(root)}: {error.strerror}; check its permissions"
        ) from None
    if stat.S_ISLNK(root_stat.st_mode):
        if not settings.allow_symlinks:
            raise InputError(
                f"model path {_quote(root)} is a symbolic link; pass the path it points to "
                f"('{os.path.realpath(root)}') or allow symlinks explicitly"
            )
        root = Path(os.path.realpath(root))
        try:
            root_stat = os.stat(root)
        except OSError:
            raise InputError(f"model path {_quote(root)} is a broken symbolic link; check the path") from None
    if stat.S_ISREG(root_stat.st_mode):
        # A single-file model: its only resource is named ".", and ignore paths cannot apply (as the reference).
        return [_FileToHash(path=os.fspath(root), name=".", size=root_stat.st_size)], []
    if not stat.S_ISDIR(root_stat.st_mode):
        raise InputError(
            f"model path {_quote(root)} is neither a regular file nor a folder; pass a model file or folder"
        )

    ignore = frozenset(tuple(path.split("/")) for path in settings.ignore_paths)
    real_root = os.path.realpath(root)
    files: list[_FileToHash] = []
    symlinks: list[str] = []
    entries_seen = 0
    # Explicit stack instead of recursion: a deep tree cannot exhaust Python's recursion limit.
    stack: list[tuple[str, tuple[str, ...]]] = [(os.fspath(root), ())]
    while stack:
        directory, parts = stack.pop()
        if len(parts) > limits.max_depth:
            raise InputError(
                f"the model nests folders deeper than {limits.max_depth} levels at '{'/'.join(parts)}'; "
                "flatten it or ignore that path"
            )
        try:
            with os.scandir(directory) as iterator:
                entries = list(iterator)
        except OSError as error:
            shown = "/".join(parts) or "."
            raise InputError(
                f"cannot list folder {_quote(shown)} of the model: {error.strerror}; check permissions"
            ) from None
        entries_seen += len(entries)
        if entries_seen > limits.max_walk_entries:
            raise InputError(
                f"the model has more than {limits.max_walk_entries} files and folders; ignore the paths that "
                "are not part of the model"
            )
        for entry in entries:
            entry_parts = (*parts, entry.name)
            if _is_ignored(entry_parts, ignore):
                continue
            name = _resource_path(entry_parts, limits)
            try:
                is_link = entry.is_symlink()
                is_dir = not is_link and entry.is_dir(follow_symlinks=False)
                is_file = not is_link and entry.is_file(follow_symlinks=False)
            except OSError as error:
                raise InputError(
                    f"cannot read {_quote(name)} in the model: {error.strerror}; check permissions"
                ) from None
            if is_link:
                if not settings.allow_symlinks:
                    symlinks.append(name)
                    continue
                target = _allowed_symlink_target(entry.path, name, real_root)
                if target is None:
                    continue  # a link to a folder: not entered, as the reference
                files.append(_FileToHash(path=entry.path, name=name, size=target.st_size))
            elif is_dir:
                stack.append((entry.path, entry_parts))
            elif is_file:
                try:
                    size = entry.stat(follow_symlinks=False).st_size
                except OSError as error:
                    raise InputError(f"cannot read {_quote(name)} in the model: {error.strerror}") from None
                files.append(_FileToHash(path=entry.path, name=name, size=size))
            else:
                raise InputError(
                    f"{_quote(name)} in the model is not a regular file or folder (a FIFO, socket or device); "
                    "remove it or ignore its path"
                )
    return files, symlinks


def _is_ignored(parts: tuple[str, ...], ignore: frozenset[tuple[str, ...]]) -> bool:
    if not ignore:
        return False
    return any(parts[:length] in ignore for length in range(1, len(parts) + 1))


def _resource_path(parts: tuple[str, ...], limits: HashingLimits) -> str:
    name = "/".join(parts)
    if len(name) > limits.max_path_chars:
        raise InputError(
            f"a path in the model is longer than {limits.max_path_chars} characters ({_quote(name[:60] + '...')}); "
            "shorten it or ignore it"
        )
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        shown = name.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")
        raise InputError(
            f"the file name '{shown}' in the model is not valid UTF-8 and cannot be written into a signature; "
            "rename it"
        ) from None
    return name


def _allowed_symlink_target(link: str, name: str, real_root: str) -> os.stat_result | None:
    """The stat of an allowed symlink's target when it is a regular file inside the root; None for a folder."""
    target = os.path.realpath(link)
    if os.path.commonpath([real_root, target]) != real_root:
        raise InputError(
            f"symbolic link {_quote(name)} points outside the model folder; replace it with the file it points to"
        )
    try:
        target_stat = os.stat(target)
    except OSError:
        raise InputError(
            f"symbolic link {_quote(name)} in the model is broken; remove it or fix its target"
        ) from None
    if stat.S_ISDIR(target_stat.st_mode):
        return None
    if not stat.S_ISREG(target_stat.st_mode):
        raise InputError(
            f"symbolic link {_quote(name)} points to something that is not a regular file; remove it"
        )
    return target_stat


# --- hashing ----------------------------------------------------------------------------------------------


def _tasks(files: Sequence[_FileToHash], settings: HashSettings, limits: HashingLimits) -> list[_Task]:
    tasks: list[_Task] = []
    if settings.method == "files":
        if len(files) > limits.max_resources:
            raise _too_many_resources(len(files), limits)
        return [_Task(file=file, start=0, end=None, resource_name=file.name) for file in files]
    shard_size = effective_shard_size(settings)
    total = sum(-(-file.size // shard_size) for file in files)  # empty files have no shard (as the reference)
    if total > limits.max_resources:
        raise _too_many_resources(total, limits)
    for file in files:
        for start in range(0, file.size, shard_size):
            end = min(start + shard_size, file.size)
            tasks.append(_Task(file=file, start=start, end=end, resource_name=f"{file.name}:{start}:{end}"))
    return tasks


def _too_many_resources(count: int, limits: HashingLimits) -> InputError:
    return InputError(
        f"hashing this model would list {count} resources, more than the limit of {limits.max_resources}; "
        "use a larger shard size or the 'files' method"
    )


def _task_length(task: _Task) -> int:
    return (task.end if task.end is not None else task.file.size) - task.start


def _work_units(tasks: Sequence[_Task]) -> list[list[int]]:
    """Task indices grouped into the units the pool runs: each large file or shard alone, largest first (so
    that the longest job starts first), then medium ones in runs of about _SMALL_UNIT_BYTES, then all tiny
    ones as a single unit (one thread hashes them fastest)."""
    large = sorted(
        (index for index, task in enumerate(tasks) if _task_length(task) >= _PARALLEL_MIN_BYTES),
        key=lambda index: -_task_length(tasks[index]),
    )
    units: list[list[int]] = [[index] for index in large]
    tiny: list[int] = []
    current: list[int] = []
    current_bytes = 0
    for index, task in enumerate(tasks):
        length = _task_length(task)
        if length >= _PARALLEL_MIN_BYTES:
            continue
        if length < _TINY_FILE_BYTES:
            tiny.append(index)
            continue
        current.append(index)
        current_bytes += length
        if current_bytes >= _SMALL_UNIT_BYTES:
            units.append(current)
            current, current_bytes = [], 0
    units.extend(unit for unit in (current, tiny) if unit)
    return units


def _hash_tasks(
    tasks: Sequence[_Task], algorithm: _Algorithm, workers: int, *, follow_symlinks: bool
) -> list[str]:
    digests: list[str] = [""] * len(tasks)
    buffers = threading.local()  # one reusable read buffer per thread: memory is workers x READ_BUFFER_BYTES

    def run(unit: list[int]) -> None:
        buffer = getattr(buffers, "buffer", None)
        if buffer is None:
            buffer = buffers.buffer = memoryview(bytearray(READ_BUFFER_BYTES))
        for index in unit:
            digests[index] = _hash_range(tasks[index], algorithm, buffer, follow_symlinks=follow_symlinks)

    units = _work_units(tasks)
    if workers == 1 or len(units) <= 1:
        for unit in units:
            run(unit)
        return digests
    with ThreadPoolExecutor(max_workers=min(workers, len(units)), thread_name_prefix="mlwarden-hash") as pool:
        futures: list[Future[None]] = [pool.submit(run, unit) for unit in units]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        failed = next(
            (future for future in futures if future in done and future.exception() is not None), None
        )
        if failed is not None:
            # Stop queued work now rather than hashing the rest of a model we will not use.
            pool.shutdown(wait=True, cancel_futures=True)
            failed.result()  # raises the worker's error here
        for future in futures:
            future.result()
    return digests


_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
# O_NONBLOCK: a file swapped for a FIFO after the walk must not block the open.
_OPEN_FLAGS |= getattr(os, "O_NONBLOCK", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def _hash_range(task: _Task, algorithm: _Algorithm, buffer: memoryview, *, follow_symlinks: bool) -> str:
    """Hash one file, or one byte range of it, reading into ``buffer``; InputError when it cannot be read or
    changed since the walk."""
    name = task.file.name
    flags = _OPEN_FLAGS if follow_symlinks else _OPEN_FLAGS | _NOFOLLOW
    try:
        fd = os.open(task.file.path, flags)
    except OSError as error:
        raise InputError(
            f"cannot open {_quote(name)} in the model: {error.strerror}; check it and its permissions"
        ) from None
    try:
        with io.FileIO(fd, "rb", closefd=True) as stream:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise InputError(
                    f"{_quote(name)} in the model is no longer a regular file; it changed during hashing"
                )
            if info.st_size != task.file.size:
                raise _changed(name)
            hasher = algorithm.new()
            if task.start:
                stream.seek(task.start)
            remaining = _task_length(task)
            # For a whole file, ask for one byte more than expected: getting it means the file grew since the
            # walk, and a short read at the expected size proves the end without one more read call (each
            # call hands the GIL over, which is what small files cost).
            extra = 1 if task.end is None else 0
            while True:
                wanted = min(remaining + extra, len(buffer))
                if not wanted:
                    break
                count = stream.readinto(buffer[:wanted])
                if not count:
                    break
                if count > remaining:
                    raise _changed(name)
                hasher.update(buffer[:count])
                remaining -= count
                if not remaining and count < wanted:
                    break
            if remaining:  # shorter than at the walk
                raise _changed(name)
            return hasher.hexdigest()
    except OSError as error:
        raise InputError(f"cannot read {_quote(name)} in the model: {error.strerror}") from None


def _changed(name: str) -> InputError:
    return InputError(
        f"{_quote(name)} changed while it was being hashed; hash the model again once nothing writes to it"
    )


# --- comparing a signed manifest with the model on disk ---------------------------------------------------

_KIND_ORDER: Mapping[DifferenceKind, int] = {
    "symlink": 0,
    "modified": 1,
    "swapped": 2,
    "renamed": 3,
    "removed": 4,
    "added": 5,
}


def compare_manifests(
    signed: Manifest, actual: Manifest, *, symlinks: Iterable[str] = ()
) -> tuple[Difference, ...]:
    """Every way ``actual`` (hashed from disk with the signed settings) differs from ``signed``.

    Files are compared by content (for shards: the list of (range, digest) of each file, so a file is one
    unit whatever its shard count). A name in both with other content is ``modified``, unless two such files
    hold each other's signed content: ``swapped`` (both named, each detail naming the other). A signed name
    that is gone plus a new name holding its exact content is ``renamed`` (detail "renamed from X"; also for a
    move to another folder). Other signed names are ``removed``, other new names ``added``. ``symlinks`` (from
    ``ModelSnapshot.symlinks``) become ``symlink`` differences; a symlink standing where signed files were
    replaces their ``removed``. The order is deterministic: by path as the manifest sorts, then kind.
    """
    if signed.settings.method != actual.settings.method:
        raise UsageError("hash the model with the signature's own settings before comparing manifests")
    method = signed.settings.method
    signed_files = _file_contents(signed.resources, method)
    actual_files = _file_contents(actual.resources, method)
    differences: list[Difference] = []

    covered: set[str] = set()  # signed names explained by a symlink that stands in their place
    for link in sorted(set(symlinks), key=lambda s: s.split("/")):
        replaced = [name for name in signed_files if name == link or name.startswith(link + "/")]
        covered.update(replaced)
        if not replaced:
            detail = "symbolic link, not allowed by the signature"
        elif replaced == [link]:
            detail = "symbolic link in place of a signed file"
        else:
            plural = "s" if len(replaced) > 1 else ""
            detail = f"symbolic link in place of {len(replaced)} signed file{plural}"
        differences.append(Difference(kind="symlink", path=link, detail=detail))

    changed = sorted(
        (
            name
            for name in signed_files.keys() & actual_files.keys()
            if signed_files[name] != actual_files[name]
        ),
        key=lambda s: s.split("/"),
    )
    # Files whose new content is another changed file's signed content and vice versa: swapped pairs.
    by_exchange: dict[tuple[Any, Any], list[str]] = defaultdict(list)
    for name in changed:
        by_exchange[(signed_files[name], actual_files[name])].append(name)
    swapped: dict[str, str] = {}
    for name in changed:
        if name in swapped:
            continue
        partners = by_exchange.get((actual_files[name], signed_files[name]), [])
        partner = next((other for other in partners if other != name and other not in swapped), None)
        if partner is not None:
            swapped[name], swapped[partner] = partner, name
    signed_by_content: dict[Any, list[str]] = defaultdict(list)
    for name in sorted(signed_files, key=lambda s: s.split("/")):
        signed_by_content[signed_files[name]].append(name)
    for name in changed:
        if name in swapped:
            differences.append(Difference(kind="swapped", path=name, detail=f"content of {swapped[name]}"))
            continue
        sources = [other for other in signed_by_content.get(actual_files[name], []) if other != name]
        detail = (
            f"now holds the signed content of {sources[0]}"
            if sources
            else _modified_detail(signed_files[name], actual_files[name], method)
        )
        differences.append(Difference(kind="modified", path=name, detail=detail))

    gone = [name for name in signed_files if name not in actual_files and name not in covered]
    new = [name for name in actual_files if name not in signed_files]
    gone_by_content: dict[Any, list[str]] = defaultdict(list)
    for name in sorted(gone, key=lambda s: s.split("/")):
        gone_by_content[signed_files[name]].append(name)
    renamed_from: dict[str, str] = {}
    for name in sorted(new, key=lambda s: s.split("/")):
        candidates = gone_by_content.get(actual_files[name])
        if candidates:
            renamed_from[name] = candidates.pop(0)
    sources_used = set(renamed_from.values())
    for name in new:
        if name in renamed_from:
            differences.append(
                Difference(kind="renamed", path=name, detail=f"renamed from {renamed_from[name]}")
            )
        else:
            differences.append(Difference(kind="added", path=name, detail="not in the signature"))
    for name in gone:
        if name not in sources_used:
            differences.append(Difference(kind="removed", path=name, detail="signed but missing"))

    return tuple(sorted(differences, key=lambda d: (d.path.split("/"), _KIND_ORDER[d.kind], d.detail)))


def _file_contents(resources: Iterable[ResourceDigest], method: SerializationMethod) -> dict[str, Any]:
    """File name -> a comparable content fingerprint: the digest for files, the sorted (start, end, digest)
    tuple of its shards for shards."""
    if method == "files":
        return {resource.name: resource.digest for resource in resources}
    shards: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    for resource in resources:
        parsed = split_shard_name(resource.name)
        if parsed is None:
            # Not a shard name (only an unvalidated manifest has one): the whole name stands for the file.
            shards[resource.name].append((-1, -1, resource.digest))
            continue
        path, start, end = parsed
        shards[path].append((start, end, resource.digest))
    return {path: tuple(sorted(items)) for path, items in shards.items()}


def _modified_detail(signed: Any, actual: Any, method: SerializationMethod) -> str:
    if method == "files":
        return "content differs from the signed digest"
    signed_ranges = {(start, end): digest for start, end, digest in signed}
    actual_ranges = {(start, end): digest for start, end, digest in actual}
    if signed_ranges.keys() != actual_ranges.keys():
        signed_size = max((end for _, end in signed_ranges), default=0)
        actual_size = max((end for _, end in actual_ranges), default=0)
        return f"size changed from {signed_size} to {actual_size} bytes"
    differing = sorted(key for key in signed_ranges if signed_ranges[key] != actual_ranges[key])
    shown = ", ".join(f"{start}:{end}" for start, end in differing[:5])
    more = f" and {len(differing) - 5} more" if len(differing) > 5 else ""
    return f"byte range(s) {shown}{more} differ"


def digest_bytes(data: bytes | memoryview, hash_type: str) -> str:
    """The hex digest of in-memory bytes with one of the signature's hash algorithms."""
    hasher = _algorithm(hash_type).new()
    hasher.update(memoryview(data))
    return hasher.hexdigest()


def bytes_match_manifest(data: bytes, manifest: Manifest, name: str) -> bool:
    """Whether ``data`` is exactly what ``manifest`` signed for the resource ``name`` (a file name as the
    manifest names it: ``"."`` for a single-file model): for the guarded loader, which verifies a file on disk
    and then loads the bytes it read, so a file swapped in between is caught."""
    settings = manifest.settings
    if settings.method == "files":
        signed = [r for r in manifest.resources if r.name == name]
        return len(signed) == 1 and digest_bytes(data, settings.hash_type) == signed[0].digest
    shards = []
    for resource in manifest.resources:
        parts = split_shard_name(resource.name)
        if parts is not None and parts[0] == name:
            shards.append((parts[1], parts[2], resource.digest))
    shards.sort()
    covered = 0
    for start, end, digest in shards:
        if start != covered or end > len(data):
            return False
        if digest_bytes(memoryview(data)[start:end], settings.hash_type) != digest:
            return False
        covered = end
    return covered == len(data) and (bool(shards) or not data)
