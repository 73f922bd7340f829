"""The ML bill of materials: a CycloneDX 1.6 JSON document of what a project is made of.

Libraries come from the dependency sources (requirements, lock files, an installed environment), model artifacts
and datasets from an inventory of the scanned folders (identified by content, hashed with SHA-256), and
vulnerabilities from the dependency audit's MW-DEP-001 findings.

``build_bom`` is pure (values in, a JSON-ready dict out; deterministic when ``serial`` and ``timestamp`` are
given). ``inventory_artifacts`` reads files: at most the first 4 KiB to identify one, then the whole file in
1 MiB chunks to hash it. Nothing here imports, unpickles or runs what it reads, and the package never reads the
CycloneDX schema at run time (tests validate against it).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from packaging.version import InvalidVersion, Version

from mlwarden.core.findings import Finding, Location, Severity
from mlwarden.core.limits import DEFAULT_LIMITS
from mlwarden.scanning.engine import collect_files
from mlwarden.scanning.identify import COMPRESSED, TAR, ZIP, compression_of, extension_of, identify
from mlwarden.supply.deps.model import Dependency, normalize_name, pypi_purl

__all__ = [
    "ArtifactKind",
    "ArtifactRecord",
    "ProjectFile",
    "build_bom",
    "classify_artifact",
    "inventory_artifacts",
    "inventory_files",
    "licence_choice",
    "model_card_hints",
    "project_files",
]

SPEC_VERSION = "1.6"
SCHEMA_URL = "http://cyclonedx.org/schema/bom-1.6.schema.json"
PROPERTY_PREFIX = "mlwarden:"
VULNERABILITY_RULE = "MW-DEP-001"

ArtifactKind = Literal["model", "data"]

# --- artifact classification tables ----------------------------------------------------------------------

# Format ids of ``mlwarden.scanning.identify`` that are model artifacts whatever their name. Zip, tar and
# compressed streams are decided below (a zip is a model only when it is a PyTorch/Keras/NumPy archive).
MODEL_FORMATS = frozenset({"pickle", "torch-legacy", "npy", "hdf5", "gguf", "safetensors", "onnx",
                           "tf-savedmodel"})
# Extensions that make a zip, tar or compressed stream a model artifact (torch.save zips, Keras v3, np.savez,
# TorchServe .mar and NeMo archives; joblib and pickles compressed by joblib keep their own extension).
MODEL_ARCHIVE_EXTENSIONS: dict[str, str] = {
    ".pt": "pytorch", ".pth": "pytorch", ".ckpt": "pytorch", ".bin": "zip", ".mar": "torchserve",
    ".nemo": "nemo", ".keras": "keras", ".npz": "npz",
}
COMPRESSED_MODEL_EXTENSIONS = frozenset({".pkl", ".pickle", ".joblib", ".pt", ".pth", ".ckpt", ".npy", ".h5",
                                         ".safetensors", ".gguf", ".onnx"})
# Dataset containers recognised by their leading magic bytes (Apache Parquet "PAR1", Arrow IPC file "ARROW1",
# Feather v1 "FEA1", Avro object container "Obj\x01"), from each format's specification.
DATASET_MAGICS: tuple[tuple[bytes, str], ...] = (
    (b"PAR1", "parquet"),
    (b"ARROW1", "arrow"),
    (b"FEA1", "feather"),
    (b"Obj\x01", "avro"),
)
# Datasets without magic (text tables, JSON Lines, TFRecord, Arrow streams as Hugging Face `datasets` writes
# them) are recognised by name.
DATASET_EXTENSIONS: dict[str, str] = {
    ".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".arrow": "arrow", ".feather": "feather",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".tfrecord": "tfrecord", ".tfrecords": "tfrecord", ".avro": "avro",
    ".orc": "orc",
}
# Sharded TFRecord files (TensorFlow Datasets: "mnist-train.tfrecord-00000-of-00001").
_TFRECORD_SHARD = re.compile(r"\.tfrecords?-\d+-of-\d+$", re.IGNORECASE)
# TensorFlow checkpoint shards (also a SavedModel's variables/variables.data-00000-of-00001).
_TF_CHECKPOINT_SHARD = re.compile(r"\.data-\d{5}-of-\d{5}$")
COMPRESSION_SUFFIXES = frozenset({".gz", ".bz2", ".xz", ".zst", ".lz4", ".lzma", ".z"})
# A Hugging Face `datasets` folder (Dataset.save_to_disk) holds dataset_info.json; its metadata files are not data.
HF_DATASET_MARKER = "dataset_info.json"
HF_DATASET_METADATA = frozenset({"dataset_info.json", "state.json", "dataset_dict.json"})
# Installed packages are not the project's own files: their libraries are listed from the environment on
# request (--environment / --python), so the walk skips package folders (globs as in ``skip``) and any folder
# that is a virtual environment (pyvenv.cfg, PEP 405) or a conda environment (conda-meta/).
ENVIRONMENT_GLOBS: tuple[str, ...] = ("**/site-packages", "**/dist-packages", "**/node_modules", "**/__pycache__")
ENVIRONMENT_MARKERS: tuple[str, ...] = ("pyvenv.cfg", "conda-meta/history")
# Hugging Face model configs are small; anything larger is not read for the model card.
MAX_MODEL_CONFIG_BYTES = 1024 * 1024
HASH_CHUNK_BYTES = 1024 * 1024

# --- licences --------------------------------------------------------------------------------------------

# Common SPDX licence ids (spdx.org/licenses, the list CycloneDX's spdx.schema.json enumerates; a test checks
# each entry against that schema). Texts that are one of these become {"license": {"id": ...}}; others a name.
SPDX_IDS: tuple[str, ...] = (
    "0BSD", "AFL-3.0", "AGPL-3.0", "AGPL-3.0-only", "AGPL-3.0-or-later", "Apache-1.1", "Apache-2.0",
    "Artistic-2.0", "BlueOak-1.0.0", "BSD-2-Clause", "BSD-3-Clause", "BSD-3-Clause-LBNL", "BSD-4-Clause",
    "BSL-1.0", "BUSL-1.1", "CC-BY-3.0", "CC-BY-4.0", "CC-BY-NC-4.0", "CC-BY-NC-SA-4.0", "CC-BY-SA-4.0",
    "CC0-1.0", "CDDL-1.0", "CDLA-Permissive-2.0", "CDLA-Sharing-1.0", "Elastic-2.0", "EPL-1.0", "EPL-2.0",
    "EUPL-1.2", "GPL-2.0", "GPL-2.0-only", "GPL-2.0-or-later", "GPL-3.0", "GPL-3.0-only", "GPL-3.0-or-later",
    "HPND", "ISC", "LGPL-2.0-or-later", "LGPL-2.1", "LGPL-2.1-only", "LGPL-2.1-or-later", "LGPL-3.0",
    "LGPL-3.0-only", "LGPL-3.0-or-later", "MIT", "MIT-0", "MIT-CMU", "MPL-2.0", "MS-PL", "NCSA", "ODbL-1.0",
    "OFL-1.1", "OpenSSL", "PostgreSQL", "PSF-2.0", "Python-2.0", "SSPL-1.0", "Unicode-3.0", "Unicode-DFS-2016",
    "Unlicense", "WTFPL", "X11", "Zlib", "ZPL-2.1",
)
# Exceptions allowed after WITH in an SPDX expression (same source, same test).
SPDX_EXCEPTIONS: tuple[str, ...] = ("LLVM-exception", "Classpath-exception-2.0", "GCC-exception-3.1")
# Licence names as packages write them (License metadata, Trove classifiers) that mean exactly one SPDX id.
# Ambiguous names ("BSD", "GPL", "Apache Software License" without a version) are kept as names.
LICENCE_ALIASES: dict[str, str] = {
    "mit license": "MIT", "the mit license": "MIT", "mit licence": "MIT", "expat": "MIT",
    "apache 2.0": "Apache-2.0", "apache 2": "Apache-2.0", "apache-2": "Apache-2.0", "apache2": "Apache-2.0",
    "apache license 2.0": "Apache-2.0", "apache license, version 2.0": "Apache-2.0",
    "apache license version 2.0": "Apache-2.0", "apache software license 2.0": "Apache-2.0",
    "apache software license, version 2.0": "Apache-2.0",
    "bsd-3": "BSD-3-Clause", "3-clause bsd": "BSD-3-Clause", "bsd 3-clause": "BSD-3-Clause",
    "new bsd": "BSD-3-Clause", "new bsd license": "BSD-3-Clause", "modified bsd": "BSD-3-Clause",
    "bsd-2": "BSD-2-Clause", "2-clause bsd": "BSD-2-Clause", "bsd 2-clause": "BSD-2-Clause",
    "simplified bsd": "BSD-2-Clause", "freebsd": "BSD-2-Clause",
    "isc license": "ISC", "isc license (iscl)": "ISC",
    "mozilla public license 2.0 (mpl 2.0)": "MPL-2.0", "mozilla public license 2.0": "MPL-2.0", "mpl 2.0": "MPL-2.0",
    "python software foundation license": "PSF-2.0", "psf": "PSF-2.0", "psf license": "PSF-2.0",
    "the unlicense (unlicense)": "Unlicense", "the unlicense": "Unlicense",
    "boost software license 1.0 (bsl-1.0)": "BSL-1.0", "zlib license": "Zlib",
    # Trove's "GPLv3" classifiers do not say "only" or "or later"; only the "+" ones name one SPDX id.
    "gnu general public license v3 or later (gplv3+)": "GPL-3.0-or-later",
    "gnu general public license v2 or later (gplv2+)": "GPL-2.0-or-later",
    "gnu lesser general public license v3 or later (lgplv3+)": "LGPL-3.0-or-later",
    "gnu lesser general public license v2 or later (lgplv2+)": "LGPL-2.0-or-later",
    "gnu affero general public license v3 or later (agplv3+)": "AGPL-3.0-or-later",
    "cc0 1.0 universal (cc0 1.0) public domain dedication": "CC0-1.0", "cc0": "CC0-1.0",
}
# Licence names longer than this (whole licence texts pasted into metadata) are cut to their first line.
MAX_LICENCE_NAME = 120

_SPDX_BY_LOWER = {spdx.lower(): spdx for spdx in SPDX_IDS}
_EXCEPTION_BY_LOWER = {spdx.lower(): spdx for spdx in SPDX_EXCEPTIONS}
_SPDX_TOKEN = re.compile(r"\(|\)|[^\s()]+")

# --- vulnerability id sources ----------------------------------------------------------------------------

# Where each advisory id scheme is published (prefix -> source name, URL template). OSV serves every id.
ADVISORY_SOURCES: tuple[tuple[str, str, str], ...] = (
    ("CVE-", "NVD", "https://nvd.nist.gov/vuln/detail/{id}"),
    ("GHSA-", "GitHub Advisories", "https://github.com/advisories/{id}"),
    ("PYSEC-", "PyPA Advisory Database", "https://osv.dev/vulnerability/{id}"),
)
OSV_SOURCE = ("OSV", "https://osv.dev/vulnerability/{id}")


@dataclass(frozen=True, slots=True)
class ArtifactRecord:
    """A model artifact or dataset file found under the scanned paths.

    ``path`` is relative to the scanned folder (POSIX separators); ``format`` a format id (``pickle``,
    ``pytorch``, ``safetensors``, ``parquet``...). ``model_type``/``architecture`` come from a Hugging Face
    config.json beside a model; ``dataset`` names the Hugging Face `datasets` folder a data file belongs to.
    """

    path: str
    sha256: str
    size: int
    format: str
    kind: ArtifactKind
    model_type: str | None = None
    architecture: str | None = None
    dataset: str | None = None


# --- classification (pure) -------------------------------------------------------------------------------

def _first_zip_member(head: bytes) -> str:
    """Name of the first local file header's member, when it lies within ``head`` (PKZIP APPNOTE 4.3.7)."""
    if not head.startswith(b"PK\x03\x04") or len(head) < 30:
        return ""
    name_length = int.from_bytes(head[26:28], "little")
    return head[30:30 + name_length].decode("utf-8", errors="replace")


def _zip_format(head: bytes, ext: str) -> str | None:
    member = _first_zip_member(head)
    # torch.save writes "<archive>/data.pkl" (or ".../byteorder", ".../version" in newer releases) first.
    leaf = member.rsplit("/", 1)[-1]
    if "/" in member and leaf in ("data.pkl", "version", "byteorder", ".format_version"):
        return "pytorch"
    if member.endswith(".npy") and ext in ("", ".npz", ".bin"):
        return "npz"
    return MODEL_ARCHIVE_EXTENSIONS.get(ext)


def _has_control_bytes(head: bytes) -> bool:
    """True when the head holds C0 control bytes other than tab, newline and carriage return (binary data)."""
    return any(byte < 0x09 or 0x0E <= byte < 0x20 for byte in head[:64])


def _dataset_by_name(base: str) -> str | None:
    ext = extension_of(base)
    if ext in DATASET_EXTENSIONS:
        return DATASET_EXTENSIONS[ext]
    if _TFRECORD_SHARD.search(base):
        return "tfrecord"
    return None


def classify_artifact(head: bytes, *, name: str, size: int, dataset_folder: bool = False
                      ) -> tuple[ArtifactKind, str] | None:
    """Decide whether a file is a model artifact or a dataset, from its first bytes and its name.

    Returns ``(kind, format)`` or None for files that are neither (code, configuration, documents). Content
    decides first: a pickle named ``train.csv`` is a model artifact (a pickle), not a table. ``dataset_folder``
    says the file lies in a Hugging Face `datasets` folder, where every non-metadata file is data.
    """
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    ext = extension_of(base)
    for magic, fmt in DATASET_MAGICS:
        # Binary bytes must follow the magic unless the name agrees: a text file may start with "PAR1".
        if head.startswith(magic) and (DATASET_EXTENSIONS.get(ext) == fmt or _has_control_bytes(head)):
            return "data", fmt
    found = identify(head[:DEFAULT_LIMITS.sniff_bytes], name=base, size=size)
    if found in MODEL_FORMATS:
        return "model", found
    if found == ZIP:
        archive = _zip_format(head, ext)
        return ("model", archive) if archive else None
    if found == TAR:
        return ("model", "tar") if ext in MODEL_ARCHIVE_EXTENSIONS else None
    if found == COMPRESSED:
        inner = base[: -len(ext)] if ext in COMPRESSION_SUFFIXES else base
        dataset = _dataset_by_name(inner)
        if dataset is not None:
            return "data", f"{dataset}+{compression_of(head) or 'compressed'}"
        return ("model", "compressed") if extension_of(inner) in COMPRESSED_MODEL_EXTENSIONS else None
    dataset = _dataset_by_name(base)
    if dataset is not None:
        return "data", dataset
    if _TF_CHECKPOINT_SHARD.search(base):
        return "model", "tf-checkpoint"
    if dataset_folder and base not in HF_DATASET_METADATA:
        return "data", ext.lstrip(".") or "data"
    return None


def model_card_hints(text: str) -> tuple[str | None, str | None]:
    """``(model_type, architecture)`` from a Hugging Face config.json's text; ``(None, None)`` when absent.

    Parses JSON only; malformed, deeply nested or non-object text gives no hints.
    """
    try:
        config = json.loads(text)
    except (ValueError, RecursionError):
        return None, None
    if not isinstance(config, dict):
        return None, None
    model_type = config.get("model_type")
    architectures = config.get("architectures")
    architecture = architectures[0] if isinstance(architectures, list) and architectures else None
    return (_short_text(model_type), _short_text(architecture))


def _short_text(value: object, limit: int = 200) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()[:limit]


# --- inventory (reads files) -----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ProjectFile:
    """A regular file under the scanned paths: ``path`` on disk, ``rel`` as the BOM names it (relative to the
    scanned folder, prefixed with that folder's name when several paths are given), ``root`` the folder that
    includes may not leave (for a file given directly: its folder)."""

    path: str
    rel: str
    root: str


def project_files(paths: Sequence[str | os.PathLike[str]], *, skip: Sequence[str] = ()) -> list[ProjectFile]:
    """Walk ``paths`` like the scan engine (links not followed, ``skip`` globs honoured), once for every use."""
    files: list[ProjectFile] = []
    seen: set[str] = set()
    several = len(paths) > 1
    for given in paths:
        root = os.fspath(given)
        tasks = collect_files([root], [*skip, *ENVIRONMENT_GLOBS])
        is_folder = os.path.isdir(root)
        prefix = Path(os.path.abspath(root)).name if several and is_folder else ""
        folder = root if is_folder else os.path.dirname(os.path.abspath(root))
        environments = _environment_folders([t.path for t in tasks], root) if is_folder else ()
        for task in tasks:
            if environments and task.path.startswith(environments):
                continue
            rel = os.path.relpath(task.path, root).replace(os.sep, "/") if is_folder else os.path.basename(task.path)
            rel = _printable(f"{prefix}/{rel}" if prefix else rel)
            if rel not in seen:  # the same file reached through two of the given paths counts once
                seen.add(rel)
                files.append(ProjectFile(task.path, rel, folder))
    return files


def _environment_folders(files: Sequence[str], root: str) -> tuple[str, ...]:
    """Folders below ``root`` (with a trailing separator) that are Python or conda environments, judged by
    their markers. ``root`` itself is never one: a folder given on purpose is described whatever it is."""
    found: set[str] = set()
    top = os.path.normpath(root)
    for path in files:
        for marker in ENVIRONMENT_MARKERS:
            if path.replace(os.sep, "/").endswith("/" + marker):
                folder = path[: -len(marker)]
                if os.path.normpath(folder) != top:
                    found.add(folder)
    return tuple(sorted(found))


def _printable(name: str) -> str:
    """A file name as UTF-8 text: bytes that are not UTF-8 (kept by the OS as surrogates) become U+FFFD."""
    for errors in ("strict", "surrogateescape"):
        try:
            return name.encode("utf-8", errors).decode("utf-8", "replace")
        except UnicodeEncodeError:
            continue
    return name.encode("utf-8", "replace").decode("utf-8")


def _sha256_of(handle: Any, head: bytes) -> tuple[str, int]:
    """Hash ``head`` and the rest of the open file in bounded chunks; returns (hex digest, bytes hashed)."""
    digest = hashlib.sha256(head)
    size = len(head)
    while chunk := handle.read(HASH_CHUNK_BYTES):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def _read_model_config(folder: str, cache: dict[str, tuple[str | None, str | None]]
                       ) -> tuple[str | None, str | None]:
    if folder in cache:
        return cache[folder]
    hints: tuple[str | None, str | None] = (None, None)
    config = os.path.join(folder, "config.json")
    try:
        if os.path.isfile(config) and not os.path.islink(config):
            with open(config, "rb") as handle:
                raw = handle.read(MAX_MODEL_CONFIG_BYTES + 1)
            if len(raw) <= MAX_MODEL_CONFIG_BYTES:
                hints = model_card_hints(raw.decode("utf-8", errors="replace"))
    except OSError:
        pass  # no hints: the model is still listed with its hash
    cache[folder] = hints
    return hints


def inventory_artifacts(paths: Sequence[str | os.PathLike[str]], *, skip: Sequence[str] = ()
                        ) -> list[ArtifactRecord]:
    """Find the model artifacts and datasets under ``paths`` and hash them (SHA-256, streamed).

    Paths in the records are relative to each scanned folder (prefixed with the folder's name when several
    paths are given). Unreadable files are left out. A missing path raises ``InputError`` (via collect_files).
    """
    records, _ = inventory_files(project_files(paths, skip=skip))
    return records


def inventory_files(files: Sequence[ProjectFile]) -> tuple[list[ArtifactRecord], list[str]]:
    """The artifact records of ``files``, plus one line per file that could not be read."""
    records: list[ArtifactRecord] = []
    problems: list[str] = []
    configs: dict[str, tuple[str | None, str | None]] = {}
    dataset_folders = {os.path.dirname(f.path) for f in files if os.path.basename(f.path) == HF_DATASET_MARKER}
    for file in files:
        try:
            record = _inventory_file(file, os.path.dirname(file.path) in dataset_folders, configs)
        except OSError as exc:
            problems.append(f"{file.rel}: cannot read file: {exc.strerror or exc}")
            continue
        if record is not None:
            records.append(record)
    return records, problems


def _inventory_file(file: ProjectFile, dataset_folder: bool,
                    configs: dict[str, tuple[str | None, str | None]]) -> ArtifactRecord | None:
    with open(file.path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        head = handle.read(DEFAULT_LIMITS.sniff_bytes)
        verdict = classify_artifact(head, name=os.path.basename(file.path), size=size,
                                    dataset_folder=dataset_folder)
        if verdict is None:
            return None
        kind, fmt = verdict
        digest, hashed = _sha256_of(handle, head)
    folder = os.path.dirname(file.path)
    if kind == "model":
        model_type, architecture = _read_model_config(folder, configs)
        return ArtifactRecord(file.rel, digest, hashed, fmt, kind, model_type=model_type, architecture=architecture)
    dataset = Path(folder).name if dataset_folder else None
    return ArtifactRecord(file.rel, digest, hashed, fmt, kind, dataset=dataset)


# --- licences (pure) -------------------------------------------------------------------------------------

def _spdx_expression(text: str) -> str | None:
    """``text`` in canonical case when it is an SPDX expression of known ids (AND / OR / WITH, parentheses)."""
    if len(text) > MAX_LICENCE_NAME * 4:  # a pasted licence text, not an expression
        return None
    words = _SPDX_TOKEN.findall(text)
    if len(words) < 3 or len(words) > 64:
        return None
    out: list[str] = []
    depth = 0
    expect_operand = True
    after_with = False
    for word in words:
        upper = word.upper()
        if word == "(" and expect_operand:
            depth += 1
            out.append(word)
        elif word == ")" and not expect_operand and depth > 0:
            depth -= 1
            out.append(word)
        elif upper in ("AND", "OR", "WITH") and not expect_operand:
            after_with = upper == "WITH"
            expect_operand = True
            out.append(upper)
        elif expect_operand and after_with and word.lower() in _EXCEPTION_BY_LOWER:
            out.append(_EXCEPTION_BY_LOWER[word.lower()])
            expect_operand = after_with = False
        elif expect_operand and not after_with and (word.lower() in _SPDX_BY_LOWER
                                                      or word.startswith("LicenseRef-")):
            out.append(_SPDX_BY_LOWER.get(word.lower(), word))
            expect_operand = False
        else:
            return None
    if expect_operand or depth:
        return None
    return " ".join(out).replace("( ", "(").replace(" )", ")")


def licence_choice(text: str | None) -> list[dict[str, Any]] | None:
    """The CycloneDX ``licenses`` value for a licence as a package states it, or None when it states none."""
    if text is None or not text.strip():
        return None
    cleaned = text.strip()
    if cleaned.startswith("License ::"):  # a Trove classifier: its last segment names the licence
        cleaned = cleaned.rsplit("::", 1)[-1].strip()
    lowered = cleaned.lower()
    if lowered in _SPDX_BY_LOWER:
        return [{"license": {"id": _SPDX_BY_LOWER[lowered]}}]
    if lowered in LICENCE_ALIASES:
        return [{"license": {"id": LICENCE_ALIASES[lowered]}}]
    expression = _spdx_expression(cleaned)
    if expression is not None:
        return [{"expression": expression}]
    first_line = next((line.strip() for line in cleaned.splitlines() if line.strip()), cleaned)
    if len(first_line) > MAX_LICENCE_NAME:
        first_line = first_line[:MAX_LICENCE_NAME - 3].rstrip() + "..."
    return [{"license": {"name": first_line}}]


# --- the builder (pure) ----------------------------------------------------------------------------------

def _masked_url(url: str) -> str:
    """A requirement URL without credentials: user info becomes ``***@`` and a query string (where signed URLs
    and tokens travel) ``***``. The BOM is shared; the secrets in a requirements file must not travel with it."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "<unparsable url>"
    netloc = parts.netloc
    if parts.username is not None or parts.password is not None:
        netloc = f"***@{parts.hostname or ''}" + (f":{port}" if port is not None else "")
    query = "***" if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


_DIRECT_KINDS = frozenset({"url", "path", "editable"})


@dataclass(slots=True)
class _LibraryDraft:
    """What the dependency sources say about one library (one name and version) before it becomes JSON."""

    name: str
    version: str | None
    ref: str
    purl: str | None
    kinds: set[str] = field(default_factory=set)
    specifiers: set[str] = field(default_factory=set)
    sources: set[str] = field(default_factory=set)
    groups: set[str] = field(default_factory=set)
    urls: set[str] = field(default_factory=set)
    licences: list[str] = field(default_factory=list)
    direct: bool = False
    hashed: bool = False

    def add(self, dep: Dependency) -> None:
        self.kinds.add(dep.kind)
        if dep.specifier and dep.kind != "pinned":
            self.specifiers.add(dep.specifier)
        self.sources.add(Location(dep.source, line=dep.line, cell=dep.cell).display())
        self.groups.update(dep.groups)
        if dep.url:
            self.urls.add(_masked_url(dep.url))
        if dep.licence and dep.licence.strip() and dep.licence not in self.licences:
            self.licences.append(dep.licence)
        self.direct = self.direct or dep.direct
        self.hashed = self.hashed or dep.hashed

    def component(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "library", "bom-ref": self.ref, "name": self.name}
        if self.version:
            out["version"] = self.version
        if self.purl:
            out["purl"] = self.purl
        licences = licence_choice(sorted(self.licences)[0]) if self.licences else None
        if licences:
            out["licenses"] = licences
        references = [{"type": "vcs" if url.startswith("git+") else "distribution", "url": url}
                      for url in sorted(self.urls) if "://" in url]
        if references:
            out["externalReferences"] = references
        props = [_prop("kind", kind) for kind in sorted(self.kinds)]
        props += [_prop("specifier", spec) for spec in sorted(self.specifiers)]
        props += [_prop("group", group) for group in sorted(self.groups)]
        props += [_prop("url", url) for url in sorted(self.urls)]
        props += [_prop("source", source) for source in sorted(self.sources)]
        props.append(_prop("direct", "true" if self.direct else "false"))
        if self.hashed:
            props.append(_prop("hashed", "true"))
        out["properties"] = props
        return out


def _prop(name: str, value: str) -> dict[str, str]:
    return {"name": PROPERTY_PREFIX + name, "value": value}


def _library_key(dep: Dependency) -> tuple[str, str | None, bool]:
    """Same name and version is one library; versionless declarations of a name are merged into one."""
    direct = dep.kind in _DIRECT_KINDS
    return dep.normalized, None if direct else dep.version, direct


def _libraries(dependencies: Sequence[Dependency]) -> dict[tuple[str, str | None, bool], _LibraryDraft]:
    drafts: dict[tuple[str, str | None, bool], _LibraryDraft] = {}
    for dep in dependencies:
        key = _library_key(dep)
        draft = drafts.get(key)
        if draft is None:
            name, version, direct = key
            # Packages installed from a URL, a path or in editable mode come from no index: no purl claims one.
            ref = f"external:{name}" if direct else pypi_purl(name, version)
            draft = drafts[key] = _LibraryDraft(name, version, ref, None if direct else ref)
        draft.add(dep)
    return drafts


@dataclass(slots=True)
class _VulnerabilityDraft:
    vuln_id: str
    aliases: set[str] = field(default_factory=set)
    summaries: set[str] = field(default_factory=set)
    cvss: float | None = None
    vectors: set[str] = field(default_factory=set)  # of the highest score
    severity: Severity | None = None
    fixes: dict[str, set[str]] = field(default_factory=dict)  # package -> fixed versions its findings name
    affects: set[tuple[str, str]] = field(default_factory=set)  # (bom-ref, version)
    ranges: set[str] = field(default_factory=set)

    def entry(self) -> dict[str, Any]:
        name, template = OSV_SOURCE
        out: dict[str, Any] = {"id": self.vuln_id, "source": {"name": name, "url": template.format(id=self.vuln_id)}}
        if self.aliases:
            out["references"] = [{"id": alias, "source": _advisory_source(alias)} for alias in sorted(self.aliases)]
        rating: dict[str, Any] = {"source": {"name": name, "url": template.format(id=self.vuln_id)}}
        if self.cvss is not None:
            vector = min(self.vectors) if self.vectors else None
            rating["score"] = self.cvss
            rating["method"] = _cvss_method(vector)
            if vector:
                rating["vector"] = vector
        if self.severity is not None:
            rating["severity"] = self.severity.value
        if len(rating) > 1:
            out["ratings"] = [rating]
        if self.summaries:  # findings of one vulnerability share its summary; min() keeps the choice stable
            out["description"] = min(self.summaries)
        if self.fixes:
            out["recommendation"] = "; ".join(f"Upgrade {package} to {_highest(versions)}"
                                              for package, versions in sorted(self.fixes.items()))
        out["affects"] = [
            {"ref": ref, "versions": [{"version": version, "status": "affected"}
                                      for r, version in sorted(self.affects) if r == ref]}
            for ref in sorted({ref for ref, _ in self.affects})
        ]
        if self.ranges:
            out["properties"] = [_prop("affected-range", text) for text in sorted(self.ranges)]
        return out


def _highest(versions: set[str]) -> str:
    """The fixed version to recommend when findings of one package name several: the highest fixes them all."""
    parsed: list[tuple[Version, str]] = []
    for text in versions:
        try:
            parsed.append((Version(text), text))
        except InvalidVersion:
            continue
    return max(parsed)[1] if parsed else max(versions)


def _advisory_source(advisory_id: str) -> dict[str, str]:
    for prefix, name, template in ADVISORY_SOURCES:
        if advisory_id.upper().startswith(prefix):
            return {"name": name, "url": template.format(id=advisory_id)}
    name, template = OSV_SOURCE
    return {"name": name, "url": template.format(id=advisory_id)}


def _cvss_method(vector: str | None) -> str:
    """CycloneDX score method from the CVSS vector's version prefix; a bare v3 score is taken as 3.1, the
    version nearly every advisory since 2019 uses (v2 and v4 vectors are never turned into a score)."""
    if vector and vector.upper().startswith("CVSS:3.0/"):
        return "CVSSv3"
    if vector and vector.upper().startswith("CVSS:4.0/"):
        return "CVSSv4"
    return "CVSSv31"


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _score(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        score = float(value)
    except ValueError:
        return None
    return score if 0.0 <= score <= 10.0 else None


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list | tuple):
        return [item.strip() for item in value if isinstance(item, str) and item.strip()]
    return []


def _vulnerabilities(findings: Sequence[Finding], drafts: dict[tuple[str, str | None, bool], _LibraryDraft]
                     ) -> list[_VulnerabilityDraft]:
    merged: dict[str, _VulnerabilityDraft] = {}
    added: set[tuple[str, str | None, bool]] = set()  # libraries known only from findings
    for finding in findings:
        data = finding.data
        if finding.rule_id != VULNERABILITY_RULE or not isinstance(data, Mapping):
            continue
        ids = _strings(data.get("ids"))
        vuln_id = _text(data.get("id")) or (ids[0] if ids else None)
        package = _text(data.get("package"))
        version = _text(data.get("version"))
        if vuln_id is None or package is None or version is None:
            continue
        draft = merged.setdefault(vuln_id, _VulnerabilityDraft(vuln_id))
        draft.aliases.update(alias for alias in (*ids, *_strings(data.get("aliases"))) if alias != vuln_id)
        summary = _text(data.get("summary"))
        if summary:
            draft.summaries.add(summary)
        score = _score(data.get("cvss"))
        if score is not None and (draft.cvss is None or score >= draft.cvss):
            if draft.cvss is None or score > draft.cvss:
                draft.cvss, draft.vectors = score, set()
            vector = _text(data.get("cvss_vector")) or _text(data.get("vector"))
            if vector:
                draft.vectors.add(vector)
        if draft.severity is None or finding.severity.rank > draft.severity.rank:
            draft.severity = finding.severity
        normalized = normalize_name(package)
        fixed = _text(data.get("fixed"))
        if fixed:
            draft.fixes.setdefault(normalized, set()).add(fixed)
        affected = _text(data.get("affected"))
        if affected:
            draft.ranges.add(affected)
        key: tuple[str, str | None, bool] = (normalized, version, False)
        if key not in drafts:
            # The audit found a dependency the caller did not list: it is part of the project all the same.
            ref = pypi_purl(normalized, version)
            drafts[key] = _LibraryDraft(normalized, version, ref, ref, kinds={"pinned"})
            added.add(key)
        if key in added:
            drafts[key].sources.add(_text(data.get("source")) or finding.location.display())
        draft.affects.add((drafts[key].ref, version))
    return [merged[key] for key in sorted(merged)]


def _artifact_component(record: ArtifactRecord, ref: str) -> dict[str, Any]:
    component_type = "machine-learning-model" if record.kind == "model" else "data"
    out: dict[str, Any] = {"type": component_type, "bom-ref": ref, "name": record.path}
    if re.fullmatch(r"[0-9a-fA-F]{64}", record.sha256):
        out["hashes"] = [{"alg": "SHA-256", "content": record.sha256.lower()}]
    if record.kind == "model":
        parameters: dict[str, str] = {}
        if record.model_type:
            parameters["architectureFamily"] = record.model_type
        if record.architecture:
            parameters["modelArchitecture"] = record.architecture
        if parameters:  # a model card says only what the artifact's own config says
            out["modelCard"] = {"modelParameters": parameters}
    else:
        out["data"] = [{"type": "dataset", "name": record.dataset or record.path}]
    out["properties"] = [_prop("format", record.format), _prop("path", record.path),
                         _prop("size", str(record.size))]
    return out


def _unique(ref: str, used: set[str]) -> str:
    candidate, n = ref, 1
    while candidate in used:
        n += 1
        candidate = f"{ref}#{n}"
    used.add(candidate)
    return candidate


def _serial_number(serial: str | None) -> str:
    """``urn:uuid:`` and the UUID in canonical form; raises ValueError when ``serial`` is not a UUID."""
    if serial is None:
        return uuid.uuid4().urn
    text = serial.strip()
    if text.lower().startswith("urn:uuid:"):
        text = text[len("urn:uuid:"):]
    return uuid.UUID(text).urn


def build_bom(
    *,
    subject: str,
    dependencies: Sequence[Dependency],
    artifacts: Sequence[ArtifactRecord],
    vulnerabilities: Sequence[Finding],
    tool_version: str,
    serial: str | None = None,
    timestamp: str | None = None,
) -> dict[str, Any]:
    """The CycloneDX 1.6 document (a JSON-ready dict) for a project called ``subject``.

    Libraries are deduplicated by name and version across sources; versionless declarations of one name are
    merged (their specifiers kept as ``mlwarden:specifier`` properties). ``vulnerabilities`` are audit
    findings: only MW-DEP-001 findings with structured data count, merged by their primary id. The output is
    the same for the same input when ``serial`` and ``timestamp`` are given.
    """
    drafts = _libraries(dependencies)
    vulns = _vulnerabilities(vulnerabilities, drafts)
    subject_name = subject.strip() or "project"
    subject_ref = f"application:{subject_name}"
    used = {subject_ref}
    libraries = sorted(drafts.values(), key=lambda d: (d.name, d.version or "", d.ref))
    components: list[dict[str, Any]] = []
    for draft in libraries:
        used.add(draft.ref)  # unique by construction: one draft per purl or per "external:" name
        components.append(draft.component())
    artifact_refs: list[str] = []
    for record in sorted(artifacts, key=lambda r: (r.kind, r.path, r.sha256)):
        ref = _unique(f"{record.kind}:{record.path}", used)
        artifact_refs.append(ref)
        components.append(_artifact_component(record, ref))
    depends_on = [d.ref for d in libraries if d.direct] + artifact_refs
    bom: dict[str, Any] = {
        "$schema": SCHEMA_URL,
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": _serial_number(serial),
        "version": 1,
        "metadata": {
            "timestamp": timestamp or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tools": {"components": [{"type": "application", "name": "mlwarden", "version": tool_version}]},
            "component": {"type": "application", "bom-ref": subject_ref, "name": subject_name},
        },
        "components": components,
        "dependencies": [{"ref": subject_ref, "dependsOn": depends_on}],
    }
    if vulns:
        bom["vulnerabilities"] = [v.entry() for v in vulns]
    return bom
