"""The mlwarden encrypted-file format (``MLWENC`` version 1): a versioned header and an AES-256-GCM payload in
authenticated chunks, written and read in constant memory.

Layout (all integers big-endian; the full specification with rationale is docs/encryption.md)::

    preamble  magic "MLWENC" (6) | version = 1 (1) | chunk size exponent k (1) | file nonce (16)
    stanzas   count n (2) | block length L (4) | n x [type (1) | recipient id (8) | body length (2) | body]
    mac       HMAC-SHA256(header key, everything above) (32)
    payload   chunk 0 | chunk 1 | ... | chunk N-1, each AES-256-GCM ciphertext || 16-byte tag

Keys: a random 32-byte data key per file, wrapped for each recipient in a stanza (``recipients.py``). From it,
HKDF-SHA256 with the file nonce as salt derives the header key ("mlwarden-enc/v1 header") and the payload key
plus a 4-byte nonce prefix ("mlwarden-enc/v1 payload"). Chunk ``i`` is encrypted with nonce = prefix || i
(8 bytes) and associated data = SHA-256(preamble) || i (8 bytes) || last (1 byte, 1 on the final chunk only).
Every chunk but the last holds exactly 2**k plaintext bytes; the last holds 1..2**k (0 only when the whole file
is empty), so truncation at a chunk boundary, reordering, swapping chunks between files, appended data and a
forged last flag all fail authentication.

The payload binds only the preamble, not the stanzas: ``rekey`` rewrites the stanzas and the header MAC and
copies the payload bytes unchanged. The stanzas are authenticated by the header MAC, whose key only a holder of
the data key has.

This module never writes a byte of plaintext that has not been authenticated, never puts key material into a
message or ``repr``, and reads hostile headers with fixed bounds (stanza count, sizes, KDF cost).
"""

from __future__ import annotations

import hashlib
import io
import os
import queue
import secrets
import struct
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from mlwarden.core.errors import InputError, UsageError
from mlwarden.crypto.recipients import (
    DATA_KEY_SIZE,
    FORMAT_BY_CODE,
    FORMAT_BY_KIND,
    Identity,
    Recipient,
    Stanza,
    unwrap_data_key,
    wrap_for_recipients,
)

MAGIC = b"MLWENC"
FORMAT_VERSION = 1
NONCE_SIZE = 16
TAG_SIZE = 16
MAC_SIZE = 32
_PREAMBLE = struct.Struct(">6sBB16s")
_COUNTS = struct.Struct(">HI")
_STANZA_HEAD = struct.Struct(">B8sH")
PREAMBLE_SIZE = _PREAMBLE.size
# Chunk sizes a file may declare: 1 KiB (small files in tests) to 16 MiB (memory stays bounded).
MIN_CHUNK_EXPONENT, MAX_CHUNK_EXPONENT = 10, 24
DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024
MAX_STANZAS = 64
# Each passphrase stanza costs a memory-hard KDF run per passphrase tried.
MAX_PASSPHRASE_STANZAS = 4
MAX_STANZA_BLOCK = MAX_STANZAS * (_STANZA_HEAD.size + max(f.body_size for f in FORMAT_BY_CODE.values()))
_MAX_CHUNKS = 2 ** 64  # the chunk counter is 8 bytes


class DecryptionError(InputError):
    """An encrypted file that cannot be decrypted: wrong key, damaged, truncated, or not one of ours."""


# --- header -----------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Header:
    """A parsed or newly built header. ``mac`` is empty until the header is sealed."""

    chunk_size: int
    file_nonce: bytes
    stanzas: tuple[Stanza, ...]
    mac: bytes = b""
    version: int = FORMAT_VERSION

    @property
    def preamble(self) -> bytes:
        return _PREAMBLE.pack(MAGIC, self.version, self.chunk_size.bit_length() - 1, self.file_nonce)

    def authenticated_bytes(self) -> bytes:
        """Everything the header MAC covers: the preamble and the stanzas."""
        parts = [_STANZA_HEAD.pack(FORMAT_BY_KIND[s.kind].code, s.recipient_id, len(s.body)) + s.body
                 for s in self.stanzas]
        block = b"".join(parts)
        return self.preamble + _COUNTS.pack(len(self.stanzas), len(block)) + block

    def to_bytes(self) -> bytes:
        if len(self.mac) != MAC_SIZE:
            raise ValueError("the header is not sealed")
        return self.authenticated_bytes() + self.mac

    @property
    def size(self) -> int:
        return len(self.authenticated_bytes()) + MAC_SIZE


@dataclass(frozen=True, slots=True)
class _FileKeys:
    """Keys derived from one file's data key; never shown."""

    payload: AESGCM = field(repr=False)
    nonce_prefix: bytes = field(repr=False)
    header_key: bytes = field(repr=False)


def _derive(data_key: bytes, file_nonce: bytes) -> _FileKeys:
    def hkdf(label: bytes, length: int) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=length, salt=file_nonce,
                    info=b"mlwarden-enc/v1 " + label).derive(data_key)

    payload = hkdf(b"payload", 36)
    return _FileKeys(AESGCM(payload[:32]), payload[32:], hkdf(b"header", 32))


def _header_mac(header_key: bytes, data: bytes) -> bytes:
    mac = hmac.HMAC(header_key, hashes.SHA256())
    mac.update(data)
    return mac.finalize()


def _seal(header: Header, data_key: bytes) -> Header:
    mac = _header_mac(_derive(data_key, header.file_nonce).header_key, header.authenticated_bytes())
    return Header(header.chunk_size, header.file_nonce, header.stanzas, mac, header.version)


def _check_chunk_size(chunk_size: int) -> int:
    exponent = chunk_size.bit_length() - 1
    if chunk_size <= 0 or chunk_size != 1 << exponent or not MIN_CHUNK_EXPONENT <= exponent <= MAX_CHUNK_EXPONENT:
        raise UsageError(f"chunk size {chunk_size} must be a power of two from {1 << MIN_CHUNK_EXPONENT} to "
                         f"{1 << MAX_CHUNK_EXPONENT} bytes")
    return chunk_size


def new_header(recipients: Sequence[Recipient], *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> tuple[Header, bytes]:
    """A sealed header for a new file and its fresh random data key (the caller must not keep it longer than
    the encryption)."""
    _check_chunk_size(chunk_size)
    _check_recipient_count(len(recipients), sum(r.kind == "passphrase" for r in recipients))
    data_key = secrets.token_bytes(DATA_KEY_SIZE)
    unsealed = Header(chunk_size, secrets.token_bytes(NONCE_SIZE), ())
    stanzas = wrap_for_recipients(data_key, recipients, unsealed.preamble)
    return _seal(Header(chunk_size, unsealed.file_nonce, stanzas), data_key), data_key


def _check_recipient_count(total: int, passphrases: int) -> None:
    if total == 0:
        raise UsageError("no recipients: encrypt to at least one key file, passphrase or public key")
    if total > MAX_STANZAS:
        raise UsageError(f"{total} recipients; a file can have at most {MAX_STANZAS}")
    if passphrases > MAX_PASSPHRASE_STANZAS:
        raise UsageError(f"{passphrases} passphrases; a file can have at most {MAX_PASSPHRASE_STANZAS}")


def rewrap_header(header: Header, data_key: bytes, *, keep: Sequence[Stanza],
                  add: Sequence[Recipient]) -> Header:
    """The same file (preamble and payload unchanged) with stanzas ``keep`` plus one new stanza per ``add``,
    sealed again with the data key."""
    new = wrap_for_recipients(data_key, add, header.preamble) if add else ()
    stanzas = (*keep, *new)
    _check_recipient_count(len(stanzas), sum(FORMAT_BY_KIND[s.kind].passphrase for s in stanzas))
    return _seal(Header(header.chunk_size, header.file_nonce, stanzas), data_key)


def _damaged(name: str, why: str) -> DecryptionError:
    return DecryptionError(f"{name} has a damaged header ({why}); restore it from a good copy")


def _read_exact(src: BinaryIO, size: int, name: str) -> bytes:
    data = bytearray()
    while len(data) < size:
        piece = src.read(size - len(data))
        if not piece:
            raise DecryptionError(f"{name} is truncated: the header ends early")
        data += piece
    return bytes(data)


def parse_preamble(data: bytes, name: str) -> tuple[int, int, bytes]:
    """Version, chunk size and file nonce from the first ``PREAMBLE_SIZE`` bytes, or a DecryptionError."""
    if len(data) < len(MAGIC) or data[:len(MAGIC)] != MAGIC:
        raise DecryptionError(f"{name} is not an mlwarden encrypted file (no {MAGIC.decode()} header); "
                              "check the path")
    if len(data) < PREAMBLE_SIZE:
        raise DecryptionError(f"{name} is truncated: the header ends early")
    _, version, exponent, file_nonce = _PREAMBLE.unpack_from(data)
    if version != FORMAT_VERSION:
        raise DecryptionError(f"{name} uses encrypted-file format version {version}, which this mlwarden "
                              f"cannot read (it reads version {FORMAT_VERSION}); upgrade mlwarden")
    if not MIN_CHUNK_EXPONENT <= exponent <= MAX_CHUNK_EXPONENT:
        raise _damaged(name, f"chunk size 2**{exponent} outside 2**{MIN_CHUNK_EXPONENT}..2**{MAX_CHUNK_EXPONENT}")
    return version, 1 << exponent, file_nonce


def read_header(src: BinaryIO, *, name: str) -> Header:
    """Read and check the structure of a header from ``src`` (positioned at its start). Bounded: at most
    ``MAX_STANZA_BLOCK`` bytes are read for the stanzas. The MAC is checked later, by ``unlock``."""
    version, chunk_size, file_nonce = parse_preamble(_read_exact_or_short(src, PREAMBLE_SIZE), name)
    count, block_length = _COUNTS.unpack(_read_exact(src, _COUNTS.size, name))
    if not 1 <= count <= MAX_STANZAS:
        raise _damaged(name, f"{count} recipient stanzas, expected 1..{MAX_STANZAS}")
    if block_length > MAX_STANZA_BLOCK:
        raise _damaged(name, f"recipient block of {block_length} bytes, more than {MAX_STANZA_BLOCK}")
    block = _read_exact(src, block_length, name)
    stanzas: list[Stanza] = []
    offset = 0
    for _ in range(count):
        if offset + _STANZA_HEAD.size > block_length:
            raise _damaged(name, "recipient block shorter than its stanzas")
        code, recipient_id, body_length = _STANZA_HEAD.unpack_from(block, offset)
        offset += _STANZA_HEAD.size
        stanza_format = FORMAT_BY_CODE.get(code)
        if stanza_format is None:
            raise _damaged(name, f"unknown recipient type {code}")
        if body_length != stanza_format.body_size or offset + body_length > block_length:
            raise _damaged(name, f"{stanza_format.kind} stanza of {body_length} bytes, expected "
                                 f"{stanza_format.body_size}")
        body = block[offset:offset + body_length]
        offset += body_length
        problem = stanza_format.check(body)
        if problem is not None:
            raise _damaged(name, problem)
        stanzas.append(Stanza(stanza_format.kind, recipient_id, body))
    if offset != block_length:
        raise _damaged(name, "extra bytes after the last recipient stanza")
    if sum(FORMAT_BY_KIND[s.kind].passphrase for s in stanzas) > MAX_PASSPHRASE_STANZAS:
        raise _damaged(name, f"more than {MAX_PASSPHRASE_STANZAS} passphrase stanzas")
    mac = _read_exact(src, MAC_SIZE, name)
    return Header(chunk_size, file_nonce, tuple(stanzas), mac, version)


def _read_exact_or_short(src: BinaryIO, size: int) -> bytes:
    """Up to ``size`` bytes (fewer at end of file): a short start is judged by ``parse_preamble``."""
    data = bytearray()
    while len(data) < size:
        piece = src.read(size - len(data))
        if not piece:
            break
        data += piece
    return bytes(data)


def parse_header(data: bytes, *, name: str = "input") -> Header:
    """A header from the start of ``data`` (the bytes after it are ignored)."""
    return read_header(io.BytesIO(data), name=name)


def unlock(header: Header, identities: Sequence[Identity], *, name: str) -> bytes:
    """The data key: open a stanza with one of ``identities`` and check the header MAC with it."""
    if not identities:
        raise UsageError(f"no key to decrypt {name}: give a private key, key file or passphrase")
    data_key = unwrap_data_key(header.stanzas, identities, header.preamble)
    if data_key is None:
        kinds = sorted({s.kind for s in header.stanzas})
        raise DecryptionError(f"cannot decrypt {name}: wrong key or passphrase (no recipient stanza opens it; "
                              f"it is encrypted to: {', '.join(kinds)})")
    header_key = _derive(data_key, header.file_nonce).header_key
    mac = hmac.HMAC(header_key, hashes.SHA256())
    mac.update(header.authenticated_bytes())
    try:
        mac.verify(header.mac)
    except InvalidSignature:
        raise DecryptionError(f"{name} is damaged: its header failed authentication (the recipient list was "
                              "altered); restore it from a good copy") from None
    return data_key


# --- payload ----------------------------------------------------------------------------------------------

class _ChunkCipher:
    """Seals and opens the chunks of one file. Holds the payload key; never printed."""

    __slots__ = ("_aead", "_header_hash", "_prefix")

    def __init__(self, header: Header, data_key: bytes) -> None:
        keys = _derive(data_key, header.file_nonce)
        self._aead = keys.payload
        self._prefix = keys.nonce_prefix
        self._header_hash = hashlib.sha256(header.preamble).digest()

    def __repr__(self) -> str:
        return "<_ChunkCipher>"

    def _nonce_and_aad(self, index: int, last: bool) -> tuple[bytes, bytes]:
        counter = index.to_bytes(8, "big")
        return self._prefix + counter, self._header_hash + counter + (b"\x01" if last else b"\x00")

    def seal_into(self, index: int, last: bool, plaintext: memoryview, out: memoryview) -> None:
        if index >= _MAX_CHUNKS:
            raise UsageError("the input is too large for one encrypted file (2**64 chunks)")
        nonce, aad = self._nonce_and_aad(index, last)
        self._aead.encrypt_into(nonce, plaintext, aad, out)

    def open_into(self, index: int, last: bool, ciphertext: memoryview, out: memoryview) -> bool:
        nonce, aad = self._nonce_and_aad(index, last)
        try:
            self._aead.decrypt_into(nonce, ciphertext, aad, out)
        except InvalidTag:
            # decrypt_into may have written unauthenticated bytes: wipe them so no caller can use them.
            out[:] = bytes(len(out))
            return False
        return True

    def failure(self, name: str, index: int, last: bool, ciphertext: memoryview, plain_size: int) -> DecryptionError:
        """Why chunk ``index`` failed: a cheap second try with the other last flag tells truncation at a chunk
        boundary and appended data apart from damage."""
        scratch = memoryview(bytearray(plain_size))
        if last and self.open_into(index, False, ciphertext, scratch):
            return DecryptionError(f"{name} is truncated: the last chunk is missing (the file ends after chunk "
                                   f"{index}); restore it from a good copy")
        if not last and self.open_into(index, True, ciphertext, scratch):
            return DecryptionError(f"{name} is damaged: unexpected data after the last chunk (chunk {index}); "
                                   "restore it from a good copy")
        return DecryptionError(f"{name} is damaged: chunk {index} failed authentication"
                               + (" (or the file is truncated)" if last else "") + "; restore it from a good copy")


def _read_full(src: BinaryIO, buffer: memoryview) -> int:
    """Fill ``buffer`` from ``src``; fewer bytes only at end of input."""
    filled = 0
    size = len(buffer)
    while filled < size:
        got = src.readinto(buffer[filled:])  # type: ignore[attr-defined]
        if not got:
            break
        filled += got
    return filled


def _write_all(dst: BinaryIO, data: memoryview) -> None:
    written = 0
    while written < len(data):
        count = dst.write(data[written:])
        if count is None:  # a non-blocking raw stream that is not ready: not something we write to
            raise OSError("the output stream would block")
        written += count


class _DirectWriter:
    """Writes each chunk before the next is prepared: for inputs of one chunk, where a thread would only cost."""

    def __init__(self, dst: BinaryIO, buffer_size: int) -> None:
        self._dst = dst
        self._buffer = memoryview(bytearray(buffer_size))

    def __enter__(self) -> _DirectWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def buffer(self) -> memoryview:
        return self._buffer

    def submit(self, buffer: memoryview, size: int) -> None:
        _write_all(self._dst, buffer[:size])


class _BackgroundWriter:
    """Writes chunks in order on a second thread while the caller reads and seals the next ones.

    After AES-GCM (which runs at memory speed with AES-NI), the largest cost is the kernel copying each chunk
    into the page cache; on a second core that copy overlaps with the crypto. Memory stays constant: a fixed
    ring of ``depth`` buffers circulates between the two threads. An error on the writer thread is raised in
    the caller at its next ``buffer()`` or on exit; an error in the caller stops the writer, which is always
    joined before the context exits, so nothing writes to ``dst`` after that.
    """

    def __init__(self, dst: BinaryIO, buffer_size: int, depth: int = 3) -> None:
        self._dst = dst
        self._free: queue.SimpleQueue[memoryview] = queue.SimpleQueue()
        self._pending: queue.SimpleQueue[tuple[memoryview, int] | None] = queue.SimpleQueue()
        for _ in range(depth):
            self._free.put(memoryview(bytearray(buffer_size)))
        self._error: BaseException | None = None
        self._cancelled = False
        self._thread = threading.Thread(target=self._run, name="mlwarden-chunk-writer", daemon=True)

    def __enter__(self) -> _BackgroundWriter:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        self._cancelled = exc_type is not None
        self._pending.put(None)
        self._thread.join()
        if exc_type is None and self._error is not None:
            raise self._error

    def _run(self) -> None:
        while True:
            item = self._pending.get()
            if item is None:
                return
            buffer, size = item
            if self._error is None and not self._cancelled:
                try:
                    _write_all(self._dst, buffer[:size])
                except BaseException as exc:  # handed to the caller's thread, never lost
                    self._error = exc
            self._free.put(buffer)

    def buffer(self) -> memoryview:
        buffer = self._free.get()
        if self._error is not None:
            self._free.put(buffer)
            raise self._error
        return buffer

    def submit(self, buffer: memoryview, size: int) -> None:
        self._pending.put((buffer, size))


def _writer_for(dst: BinaryIO, buffer_size: int, *, several_chunks: bool) -> _DirectWriter | _BackgroundWriter:
    return _BackgroundWriter(dst, buffer_size) if several_chunks else _DirectWriter(dst, buffer_size)


def encrypt_stream(src: BinaryIO, dst: BinaryIO, *, recipients: Sequence[Recipient],
                   chunk_size: int = DEFAULT_CHUNK_SIZE) -> int:
    """Encrypt everything ``src`` yields to ``dst`` (header, then chunks) in constant memory: five buffers of
    about ``chunk_size``. Returns the number of plaintext bytes."""
    header, data_key = new_header(recipients, chunk_size=chunk_size)
    cipher = _ChunkCipher(header, data_key)
    del data_key
    _write_all(dst, memoryview(header.to_bytes()))
    # Two input buffers: the one read ahead tells whether the current chunk is the last.
    current = memoryview(bytearray(chunk_size))
    ahead = memoryview(bytearray(chunk_size))
    filled = _read_full(src, current)
    filled_ahead = _read_full(src, ahead) if filled == chunk_size else 0
    index = total = 0
    with _writer_for(dst, chunk_size + TAG_SIZE, several_chunks=filled_ahead > 0) as writer:
        while True:
            last = filled_ahead == 0
            out = writer.buffer()
            cipher.seal_into(index, last, current[:filled], out[:filled + TAG_SIZE])
            writer.submit(out, filled + TAG_SIZE)
            total += filled
            if last:
                break
            index += 1
            current, ahead, filled = ahead, current, filled_ahead
            filled_ahead = _read_full(src, ahead) if filled == chunk_size else 0
    return total


def decrypt_payload(src: BinaryIO, dst: BinaryIO, header: Header, data_key: bytes, *, name: str) -> int:
    """Decrypt the chunks that follow the header in ``src`` into ``dst``; each chunk is written only after it
    authenticated. Raises DecryptionError at the first bad chunk (the caller discards ``dst``)."""
    cipher = _ChunkCipher(header, data_key)
    chunk_size = header.chunk_size
    full = chunk_size + TAG_SIZE
    current = memoryview(bytearray(full))
    ahead = memoryview(bytearray(full))
    filled = _read_full(src, current)
    filled_ahead = _read_full(src, ahead) if filled == full else 0
    index = total = 0
    with _writer_for(dst, chunk_size, several_chunks=filled_ahead > 0) as writer:
        while True:
            last = filled_ahead == 0
            if filled < TAG_SIZE:
                if filled == 0:
                    raise DecryptionError(f"{name} is truncated: the last chunk is missing (no chunk follows the "
                                          "header); restore it from a good copy")
                raise DecryptionError(f"{name} is truncated: chunk {index} is cut short; restore it from a good "
                                      "copy")
            plain_size = filled - TAG_SIZE
            if last and plain_size == 0 and index > 0:
                # The writer never ends with an empty chunk after data: this is the trace of an edit.
                raise DecryptionError(f"{name} is damaged: chunk {index} is empty; restore it from a good copy")
            out = writer.buffer()
            if not cipher.open_into(index, last, current[:filled], out[:plain_size]):
                raise cipher.failure(name, index, last, current[:filled], plain_size)
            writer.submit(out, plain_size)
            total += plain_size
            if last:
                break
            index += 1
            current, ahead, filled = ahead, current, filled_ahead
            filled_ahead = _read_full(src, ahead) if filled == full else 0
    return total


def decrypt_stream(src: BinaryIO, dst: BinaryIO, *, identities: Sequence[Identity], name: str = "input") -> int:
    """Read the header from ``src``, unlock it with ``identities`` and decrypt the payload into ``dst``."""
    header = read_header(src, name=name)
    return decrypt_payload(src, dst, header, unlock(header, identities, name=name), name=name)


# --- random access ----------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class PayloadLayout:
    """Where the chunks of a file of known size lie, computed from the sizes alone."""

    chunk_size: int
    chunk_count: int
    plaintext_size: int
    last_chunk_size: int  # ciphertext bytes of the final chunk, tag included

    @classmethod
    def of(cls, chunk_size: int, payload_size: int, *, name: str) -> PayloadLayout:
        full = chunk_size + TAG_SIZE
        if payload_size <= 0:
            raise DecryptionError(f"{name} is truncated: the last chunk is missing (no chunk follows the "
                                  "header); restore it from a good copy")
        count = -(-payload_size // full)
        last = payload_size - (count - 1) * full
        if last < TAG_SIZE:
            raise DecryptionError(f"{name} is truncated: chunk {count - 1} is cut short; restore it from a good "
                                  "copy")
        return cls(chunk_size, count, payload_size - count * TAG_SIZE, last)


class DecryptingReader(io.RawIOBase):
    """A seekable, read-only view of the plaintext of an encrypted file. Each read decrypts and authenticates
    the chunk it touches (one chunk is cached); nothing unauthenticated is ever returned. A damaged or
    truncated chunk raises DecryptionError from the read that reaches it."""

    def __init__(self, raw: BinaryIO, header: Header, data_key: bytes, *, payload_offset: int,
                 payload_size: int, name: str) -> None:
        super().__init__()
        self._raw = raw
        self._cipher = _ChunkCipher(header, data_key)
        self._layout = PayloadLayout.of(header.chunk_size, payload_size, name=name)
        self._offset = payload_offset
        self._name = name
        self._position = 0
        self._cached_index = -1
        self._cipher_buffer = memoryview(bytearray(header.chunk_size + TAG_SIZE))
        self._plain_buffer = memoryview(bytearray(header.chunk_size))
        self._plain_size = 0

    def __repr__(self) -> str:
        return f"<DecryptingReader {self._name!r} size={self._layout.plaintext_size}>"

    @property
    def plaintext_size(self) -> int:
        return self._layout.plaintext_size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_SET:
            target = offset
        elif whence == os.SEEK_CUR:
            target = self._position + offset
        elif whence == os.SEEK_END:
            target = self._layout.plaintext_size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if target < 0:
            raise ValueError("negative seek position")
        self._position = target
        return target

    def _open_chunk(self, index: int, out: memoryview) -> int:
        """Decrypt chunk ``index`` into ``out``; returns its plaintext size."""
        layout = self._layout
        full = layout.chunk_size + TAG_SIZE
        last = index == layout.chunk_count - 1
        size = layout.last_chunk_size if last else full
        self._raw.seek(self._offset + index * full)
        ciphertext = self._cipher_buffer[:size]
        if _read_full(self._raw, ciphertext) != size:
            raise DecryptionError(f"{self._name} changed while it was read (chunk {index} is cut short); "
                                  "read it again")
        plain_size = size - TAG_SIZE
        if last and plain_size == 0 and index > 0:
            raise DecryptionError(f"{self._name} is damaged: chunk {index} is empty; restore it from a good copy")
        if not self._cipher.open_into(index, last, ciphertext, out[:plain_size]):
            raise self._cipher.failure(self._name, index, last, ciphertext, plain_size)
        return plain_size

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.closed:
            raise ValueError("I/O operation on closed file")
        target = memoryview(buffer).cast("B")
        copied = 0
        # Fill the whole buffer across chunk boundaries: fewer calls, and read(n) returns n bytes before EOF.
        while copied < len(target) and self._position < self._layout.plaintext_size:
            index, within = divmod(self._position, self._layout.chunk_size)
            if index != self._cached_index:
                self._cached_index = -1
                self._plain_size = self._open_chunk(index, self._plain_buffer)
                self._cached_index = index
            count = min(len(target) - copied, self._plain_size - within)
            target[copied:copied + count] = self._plain_buffer[within:within + count]
            self._position += count
            copied += count
        return copied

    def readall(self) -> bytes:
        """The rest of the plaintext in one allocation, chunks decrypted straight into it."""
        remaining = self._layout.plaintext_size - self._position
        if remaining <= 0:
            return b""
        result = bytearray(remaining)
        view = memoryview(result)
        filled = 0
        chunk_size = self._layout.chunk_size
        while filled < remaining:
            if self._position % chunk_size == 0:
                index = self._position // chunk_size
                size = min(chunk_size, self._layout.plaintext_size - index * chunk_size)
                self._open_chunk(index, view[filled:filled + size])
                self._position += size
                filled += size
            else:  # the rest of a chunk partly read before
                filled += self.readinto(view[filled:filled + chunk_size - self._position % chunk_size])
        return bytes(result)

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
            # Drop the last decrypted chunk from memory as soon as the reader is done.
            self._plain_buffer[:] = bytes(len(self._plain_buffer))
        super().close()
