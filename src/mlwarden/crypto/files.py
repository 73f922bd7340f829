"""Encrypt, decrypt and rekey files and folders on disk, and open encrypted models for reading in memory.

A folder is encrypted file by file into an output folder of the same layout, each file ``name`` becoming
``name.mlwenc`` (empty folders are kept): every file keeps streaming and random access, a damaged file costs
only that file, and ``rekey`` touches only headers. File names and sizes stay visible; docs/encryption.md
discusses that trade-off against a single archive.

Output is never partial: a file is written to a temporary file next to its destination and renamed only after
the last chunk was written (encrypt) or authenticated (decrypt); a folder is built in a temporary folder that is
renamed into place when every file succeeded, and removed otherwise. The input is never overwritten, an
existing output only with ``overwrite=True`` (files only). Folders are walked without following symlinks; a
symlink or a special file inside a folder is an error, not something silently skipped.

This module must never leave plaintext behind after a failure, never follow a symlink inside a folder, and
never hold more than a few chunks of a file in memory (except ``decrypt_to_memory``, bounded by ``max_bytes``).
"""

from __future__ import annotations

import io
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from mlwarden.core.errors import InputError, UsageError
from mlwarden.crypto.recipients import Identity, Recipient, Stanza, StanzaMatcher
from mlwarden.crypto.stream import (
    DEFAULT_CHUNK_SIZE,
    MAGIC,
    DecryptingReader,
    Header,
    PayloadLayout,
    decrypt_payload,
    encrypt_stream,
    read_header,
    rewrap_header,
    unlock,
)

ENCRYPTED_SUFFIX = ".mlwenc"
# decrypt_to_memory refuses plaintexts above this unless the caller raises it: a model read into memory.
DEFAULT_MAX_DECRYPTED_BYTES = 4 * 1024 ** 3
_COPY_BUFFER = 8 * 1024 * 1024

Operation = Literal["encrypt", "decrypt", "rekey"]


@dataclass(frozen=True, slots=True)
class FileOutcome:
    source: Path
    output: Path
    plaintext_bytes: int


@dataclass(frozen=True, slots=True)
class CryptSummary:
    """What one encrypt / decrypt / rekey call did: the top-level paths and every file written."""

    operation: Operation
    source: Path
    output: Path
    files: tuple[FileOutcome, ...]

    @property
    def total_bytes(self) -> int:
        return sum(f.plaintext_bytes for f in self.files)


@dataclass(frozen=True, slots=True)
class StanzaInfo:
    kind: str
    recipient_id: str  # hex; zeros for passphrases


@dataclass(frozen=True, slots=True)
class EncryptedFileInfo:
    """What the header of an encrypted file says, read without any key (nothing here is secret)."""

    path: Path
    version: int
    chunk_size: int
    stanzas: tuple[StanzaInfo, ...]
    plaintext_size: int


# --- small helpers ----------------------------------------------------------------------------------------

def is_encrypted(path: Path) -> bool:
    """True when ``path`` is a regular file that starts with the MLWENC magic (nothing else is checked)."""
    try:
        with Path(path).open("rb") as handle:
            return handle.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


def default_encrypted_path(path: Path) -> Path:
    return path.with_name(path.name + ENCRYPTED_SUFFIX)


def default_decrypted_path(path: Path) -> Path:
    if not path.name.endswith(ENCRYPTED_SUFFIX) or path.name == ENCRYPTED_SUFFIX:
        raise UsageError(f"cannot choose an output name for {path} (it does not end in {ENCRYPTED_SUFFIX}); "
                         "pass --output")
    return path.with_name(path.name[:-len(ENCRYPTED_SUFFIX)])


def _input(path: Path) -> os.stat_result:
    try:
        return path.stat()
    except FileNotFoundError:
        raise InputError(f"{path} does not exist; check the path") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None


def _check_output(source: Path, output: Path, *, overwrite: bool, folder: bool) -> None:
    parent = output.parent if str(output.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"cannot write {output}: folder {parent} does not exist; create it first")
    source_real, output_real = source.resolve(), output.resolve()
    if source_real == output_real or (output.exists() and os.path.samefile(source, output)):
        raise UsageError(f"the output {output} is the input; choose another --output")
    if folder and output_real.is_relative_to(source_real):
        raise UsageError(f"the output {output} is inside the input folder {source}; choose another --output")
    if output.exists() or output.is_symlink():
        if folder or output.is_dir():
            raise InputError(f"{output} already exists; choose another --output or remove it first")
        if not overwrite:
            raise InputError(f"{output} already exists; choose another --output or pass --force")


@contextmanager
def _temporary_file_for(output: Path) -> Iterator[tuple[BinaryIO, Path]]:
    """A new temporary file (mode 0600) next to ``output``; removed unless the caller renamed it."""
    parent = output.parent if str(output.parent) else Path(".")
    fd, name = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb", buffering=0) as handle:
            yield handle, tmp
    finally:
        tmp.unlink(missing_ok=True)


def _open_input(path: Path) -> BinaryIO:
    try:
        return path.open("rb", buffering=0)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None


def _walk(folder: Path) -> tuple[list[Path], list[Path]]:
    """Regular files and sub-folders under ``folder`` (relative, sorted), without following symlinks."""
    files: list[Path] = []
    folders: list[Path] = []
    pending = [Path()]
    while pending:
        relative = pending.pop()
        try:
            entries = sorted(os.scandir(folder / relative), key=lambda e: e.name)
        except OSError as exc:
            raise InputError(f"cannot list {folder / relative}: {exc.strerror}") from None
        for entry in entries:
            child = relative / entry.name
            if entry.is_symlink():
                raise InputError(f"{folder / child} is a symlink; mlwarden does not follow symlinks inside a "
                                 "folder: replace it with the file it points to, or move it out")
            if entry.is_dir(follow_symlinks=False):
                folders.append(child)
                pending.append(child)
            elif entry.is_file(follow_symlinks=False):
                files.append(child)
            else:
                raise InputError(f"{folder / child} is not a regular file (device, socket or pipe); move it out "
                                 "of the folder")
    return sorted(files), sorted(folders)


def _build_folder(source: Path, output: Path, operation: Operation,
                  convert: Callable[[Path, Path], int], rename: Callable[[Path], Path]) -> CryptSummary:
    """Convert every file of ``source`` into a temporary folder, then rename it to ``output``."""
    files, folders = _walk(source)
    parent = output.parent if str(output.parent) else Path(".")
    with _io_errors(f"create a folder next to {output}"):
        staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".tmp", dir=parent))
    try:
        with _io_errors(f"write {output}"):
            for sub in folders:
                (staging / sub).mkdir(parents=True, exist_ok=True)
        outcomes = []
        for relative in files:
            target_relative = relative.with_name(rename(relative).name)
            plaintext = convert(source / relative, staging / target_relative)
            outcomes.append(FileOutcome(source / relative, output / target_relative, plaintext))
        if output.exists() or output.is_symlink():
            raise InputError(f"{output} appeared while mlwarden was writing it; remove it and run again")
        with _io_errors(f"write {output}"):
            os.rename(staging, output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return CryptSummary(operation, source, output, tuple(outcomes))


# --- encrypt ----------------------------------------------------------------------------------------------

@contextmanager
def _io_errors(action: str) -> Iterator[None]:
    """Turn an operating-system error (disk full, permission, a file that vanished) into one actionable line."""
    try:
        yield
    except OSError as exc:
        raise InputError(f"cannot {action}: {exc.strerror or exc}") from None


def _encrypt_file(source: Path, output: Path, recipients: Sequence[Recipient], chunk_size: int) -> int:
    with _io_errors(f"encrypt {source} to {output}"), _open_input(source) as src, \
            _temporary_file_for(output) as (dst, tmp):
        total = encrypt_stream(src, dst, recipients=recipients, chunk_size=chunk_size)
        dst.close()
        os.replace(tmp, output)
    return total


def encrypt_path(path: Path, output: Path | None = None, *, recipients: Sequence[Recipient],
                 chunk_size: int = DEFAULT_CHUNK_SIZE, overwrite: bool = False) -> CryptSummary:
    """Encrypt a file to ``output`` (default ``PATH.mlwenc``) or a folder to an output folder of the same
    layout (default ``PATH.mlwenc``), every file for every recipient."""
    path = Path(path)
    info = _input(path)
    output = Path(output) if output is not None else default_encrypted_path(path)
    if not recipients:
        raise UsageError("no recipients: encrypt to at least one key file, passphrase or public key")
    if stat.S_ISDIR(info.st_mode):
        _check_output(path, output, overwrite=False, folder=True)
        return _build_folder(path, output, "encrypt",
                             lambda s, o: _encrypt_file(s, o, recipients, chunk_size),
                             default_encrypted_path)
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{path} is not a regular file or folder; name a file or a folder")
    _check_output(path, output, overwrite=overwrite, folder=False)
    total = _encrypt_file(path, output, recipients, chunk_size)
    return CryptSummary("encrypt", path, output, (FileOutcome(path, output, total),))


# --- decrypt ----------------------------------------------------------------------------------------------

def _decrypt_file(source: Path, output: Path, identities: Sequence[Identity]) -> int:
    name = str(source)
    with _io_errors(f"decrypt {source} to {output}"), _open_input(source) as src:
        header = read_header(src, name=name)
        data_key = unlock(header, identities, name=name)
        with _temporary_file_for(output) as (dst, tmp):
            total = decrypt_payload(src, dst, header, data_key, name=name)
            dst.close()
            os.replace(tmp, output)  # only now: every chunk, the last included, authenticated
    return total


def _encrypted_name(relative: Path, source: Path) -> Path:
    if not relative.name.endswith(ENCRYPTED_SUFFIX) or relative.name == ENCRYPTED_SUFFIX:
        raise InputError(f"{source / relative} is not an encrypted file (no {ENCRYPTED_SUFFIX} suffix); a folder "
                         "to decrypt must hold only files written by 'mlwarden encrypt'")
    return relative.with_name(relative.name[:-len(ENCRYPTED_SUFFIX)])


def decrypt_path(path: Path, output: Path | None = None, *, identities: Sequence[Identity],
                 overwrite: bool = False) -> CryptSummary:
    """Decrypt a file (default output: the name without ``.mlwenc``) or a folder written by ``encrypt_path``.
    Every chunk is authenticated before the output appears; on any failure no output is left behind."""
    path = Path(path)
    info = _input(path)
    output = Path(output) if output is not None else default_decrypted_path(path)
    if not identities:
        raise UsageError(f"no key to decrypt {path}: give a private key, key file or passphrase")
    if stat.S_ISDIR(info.st_mode):
        _check_output(path, output, overwrite=False, folder=True)
        return _build_folder(path, output, "decrypt",
                             lambda s, o: _decrypt_file(s, o, identities),
                             lambda relative: _encrypted_name(relative, path))
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{path} is not a regular file or folder; name a file or a folder")
    _check_output(path, output, overwrite=overwrite, folder=False)
    total = _decrypt_file(path, output, identities)
    return CryptSummary("decrypt", path, output, (FileOutcome(path, output, total),))


def _open_reader(path: Path, identities: Sequence[Identity]) -> DecryptingReader:
    path = Path(path)
    info = _input(path)
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{path} is not a regular file; name an encrypted file")
    raw = _open_input(path)
    try:
        name = str(path)
        header = read_header(raw, name=name)
        data_key = unlock(header, identities, name=name)
        size = os.fstat(raw.fileno()).st_size
        return DecryptingReader(raw, header, data_key, payload_offset=header.size,
                                payload_size=size - header.size, name=name)
    except BaseException:
        raw.close()
        raise


def open_decrypted(path: Path, *, identities: Sequence[Identity]) -> BinaryIO:
    """A seekable binary stream of the plaintext, decrypted chunk by chunk in memory (nothing is written to
    disk). Every byte returned was authenticated; a damaged or truncated chunk raises DecryptionError from the
    read that reaches it, so a loader must read what it uses through this stream."""
    return io.BufferedReader(_open_reader(path, identities), buffer_size=64 * 1024)


def decrypt_to_memory(path: Path, *, identities: Sequence[Identity],
                      max_bytes: int = DEFAULT_MAX_DECRYPTED_BYTES) -> bytes:
    """The whole plaintext, every chunk authenticated. Refuses (before decrypting) files whose plaintext is
    larger than ``max_bytes``."""
    with _open_reader(path, identities) as reader:
        if reader.plaintext_size > max_bytes:
            raise InputError(f"{path} decrypts to {reader.plaintext_size} bytes, more than the limit of "
                             f"{max_bytes}; raise max_bytes or use open_decrypted to stream it")
        return reader.readall()


def inspect_encrypted(path: Path) -> EncryptedFileInfo:
    """Read the header of an encrypted file without a key: format version, chunk size, recipient stanzas and
    plaintext size. The header MAC is not checked (that needs a key)."""
    path = Path(path)
    _input(path)
    with _open_input(path) as raw:
        header = read_header(raw, name=str(path))
        size = os.fstat(raw.fileno()).st_size
    layout = PayloadLayout.of(header.chunk_size, size - header.size, name=str(path))
    return EncryptedFileInfo(path, header.version, header.chunk_size,
                             tuple(StanzaInfo(s.kind, s.recipient_id.hex()) for s in header.stanzas),
                             layout.plaintext_size)


# --- rekey ------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Rekeyed:
    source: Path
    output: Path
    header: Header  # the new, sealed header
    payload_offset: int
    plaintext_bytes: int


def _plan_rekey(source: Path, output: Path, identities: Sequence[Identity], add: Sequence[Recipient],
                remove: Sequence[StanzaMatcher]) -> _Rekeyed:
    name = str(source)
    with _open_input(source) as raw:
        header = read_header(raw, name=name)
        data_key = unlock(header, identities, name=name)
        size = os.fstat(raw.fileno()).st_size
    layout = PayloadLayout.of(header.chunk_size, size - header.size, name=name)
    for recipient in remove:
        if not any(recipient.owns(s) for s in header.stanzas):
            raise UsageError(f"{name} is not encrypted to {recipient.describe()}; nothing to remove")
    keep: list[Stanza] = [s for s in header.stanzas if not any(r.owns(s) for r in remove)]
    for recipient in add:
        if recipient.kind != "passphrase" and any(recipient.owns(s) for s in keep):
            raise UsageError(f"{name} is already encrypted to {recipient.describe()}; nothing to add")
    if not keep and not add:
        raise UsageError(f"rekeying {name} this way would leave it with no recipient; add one "
                         "(--add-recipient, --add-key-file, --add-passphrase-env)")
    new_header = rewrap_header(header, data_key, keep=keep, add=add)
    return _Rekeyed(source, output, new_header, header.size, layout.plaintext_size)


def _write_rekeyed(plan: _Rekeyed) -> None:
    """New header + the payload bytes copied unchanged, through a temporary file and a rename (fsync first:
    in place, the file being replaced is the only copy)."""
    with _io_errors(f"rekey {plan.source}"), _open_input(plan.source) as src, \
            _temporary_file_for(plan.output) as (dst, tmp):
        mode = stat.S_IMODE(os.fstat(src.fileno()).st_mode)
        dst.write(plan.header.to_bytes())
        src.seek(plan.payload_offset)
        shutil.copyfileobj(src, dst, _COPY_BUFFER)
        os.fchmod(dst.fileno(), mode)
        os.fsync(dst.fileno())
        dst.close()
        os.replace(tmp, plan.output)


def rekey_path(path: Path, *, identities: Sequence[Identity], add: Sequence[Recipient] = (),
               remove: Sequence[StanzaMatcher] = (), output: Path | None = None,
               overwrite: bool = False) -> CryptSummary:
    """Re-wrap the data key of an encrypted file (or every file of an encrypted folder, in place): remove the
    stanzas of ``remove`` (every passphrase stanza for a passphrase), then add one per ``add``. The payload is
    copied byte for byte, not re-encrypted. Every file is unlocked and checked before any is rewritten.

    A removed recipient who kept the data key (or an old copy of the file) can still read the payload:
    rekeying rotates who can open the file from now on; re-encrypt to rotate the data key itself."""
    path = Path(path)
    info = _input(path)
    if not add and not remove:
        raise UsageError("rekey needs a change: add a recipient or remove one")
    if stat.S_ISDIR(info.st_mode):
        if output is not None:
            raise UsageError("a folder is rekeyed in place; drop --output (copy the folder first to keep the "
                             "old version)")
        files, _ = _walk(path)
        for relative in files:
            _encrypted_name(relative, path)  # every file must be one of ours before any is touched
        plans = [_plan_rekey(path / rel, path / rel, identities, add, remove) for rel in files]
    else:
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"{path} is not a regular file or folder; name a file or a folder")
        target = path
        if output is not None:
            target = Path(output)
            _check_output(path, target, overwrite=overwrite, folder=False)
        plans = [_plan_rekey(path, target, identities, add, remove)]
    for plan in plans:
        _write_rekeyed(plan)
    return CryptSummary("rekey", path, Path(output) if output is not None else path,
                        tuple(FileOutcome(p.source, p.output, p.plaintext_bytes) for p in plans))

