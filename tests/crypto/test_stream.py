"""The MLWENC stream format: round trips, header layout, and every way a ciphertext can be tampered with."""

from __future__ import annotations

import io
import os
import struct
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlwarden.core.errors import InputError, MlwardenError, UsageError
from mlwarden.crypto.recipients import Stanza, SymmetricKey
from mlwarden.crypto.stream import (
    DEFAULT_CHUNK_SIZE,
    FORMAT_VERSION,
    MAC_SIZE,
    MAGIC,
    PREAMBLE_SIZE,
    TAG_SIZE,
    DecryptingReader,
    DecryptionError,
    Header,
    _ChunkCipher,
    decrypt_payload,
    encrypt_stream,
    new_header,
    parse_header,
    read_header,
    unlock,
)
from tests.crypto.conftest import SMALL_CHUNK, decrypt_bytes, encrypt_bytes

CHUNK = SMALL_CHUNK
SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 7]


def payload_data(size: int) -> bytes:
    return bytes((i * 7 + 3) % 251 for i in range(size))


def split(blob: bytes) -> tuple[Header, bytes]:
    header = parse_header(blob)
    return header, blob[header.size:]


def chunks_of(blob: bytes) -> tuple[bytes, list[bytes]]:
    header, payload = split(blob)
    full = header.chunk_size + TAG_SIZE
    return blob[:header.size], [payload[i:i + full] for i in range(0, len(payload), full)]


def decrypt_error(blob: bytes, key: SymmetricKey) -> str:
    with pytest.raises(DecryptionError) as info:
        decrypt_bytes(blob, [key])
    return str(info.value)


# --- round trips and layout -------------------------------------------------------------------------------

@pytest.mark.parametrize("size", SIZES)
def test_round_trip(size, symmetric_key):
    data = payload_data(size)
    blob = encrypt_bytes(data, [symmetric_key])
    assert decrypt_bytes(blob, [symmetric_key]) == data
    header, payload = split(blob)
    chunk_count = max(1, -(-size // CHUNK))
    assert len(payload) == size + chunk_count * TAG_SIZE
    assert data[:16] not in payload or size < 16


def test_default_chunk_size_round_trip(symmetric_key):
    data = os.urandom(DEFAULT_CHUNK_SIZE + 5)
    out = io.BytesIO()
    assert encrypt_stream(io.BytesIO(data), out, recipients=[symmetric_key]) == len(data)
    assert parse_header(out.getvalue()).chunk_size == DEFAULT_CHUNK_SIZE
    assert decrypt_bytes(out.getvalue(), [symmetric_key]) == data


def test_header_layout(symmetric_key):
    blob = encrypt_bytes(b"hello", [symmetric_key])
    magic, version, exponent, nonce = struct.unpack_from(">6sBB16s", blob)
    assert (magic, version, 1 << exponent) == (MAGIC, FORMAT_VERSION, CHUNK)
    count, block_length = struct.unpack_from(">HI", blob, PREAMBLE_SIZE)
    assert count == 1
    header = parse_header(blob)
    assert header.size == PREAMBLE_SIZE + 6 + block_length + MAC_SIZE
    assert header.file_nonce == nonce and header.stanzas[0].kind == "keyfile"
    assert header.to_bytes() == blob[:header.size]


def test_two_encryptions_differ(symmetric_key):
    # A fresh data key and file nonce every time: equal plaintexts never give equal ciphertexts.
    assert encrypt_bytes(b"same", [symmetric_key]) != encrypt_bytes(b"same", [symmetric_key])


def test_reads_from_a_trickling_stream(symmetric_key):
    class Trickle(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self.data = memoryview(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            count = min(len(buffer), 7, len(self.data))
            buffer[:count] = self.data[:count]
            self.data = self.data[count:]
            return count

    data = payload_data(3 * CHUNK + 5)
    out = io.BytesIO()
    encrypt_stream(Trickle(data), out, recipients=[symmetric_key], chunk_size=CHUNK)
    plain = io.BytesIO()
    decrypt_stream_from = Trickle(out.getvalue())
    header = read_header(decrypt_stream_from, name="t")
    decrypt_payload(decrypt_stream_from, plain, header, unlock(header, [symmetric_key], name="t"), name="t")
    assert plain.getvalue() == data


@pytest.mark.parametrize("chunk_size", [0, 1000, 512, 1 << 25])
def test_chunk_size_must_be_a_supported_power_of_two(chunk_size, symmetric_key):
    with pytest.raises(UsageError, match="power of two"):
        encrypt_bytes(b"x", [symmetric_key], chunk_size=chunk_size)


def test_no_recipient_is_refused():
    with pytest.raises(UsageError, match="no recipients"):
        encrypt_bytes(b"x", [])


def test_constant_memory_for_a_large_stream(symmetric_key, tmp_path):
    class Zeros(io.RawIOBase):
        def __init__(self, size: int) -> None:
            self.left = size

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            count = min(len(buffer), self.left)
            buffer[:count] = bytes(count)
            self.left -= count
            return count

    size = 48 * 1024 * 1024
    chunk = 1024 * 1024
    target = tmp_path / "big.mlwenc"
    tracemalloc.start()
    try:
        with target.open("wb", buffering=0) as out:
            encrypt_stream(Zeros(size), out, recipients=[symmetric_key], chunk_size=chunk)
        _, peak_encrypt = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()

        class Discard(io.RawIOBase):
            def writable(self) -> bool:
                return True

            def write(self, data) -> int:
                return len(data)

        with target.open("rb", buffering=0) as src:
            header = read_header(src, name="big")
            assert decrypt_payload(src, Discard(), header, unlock(header, [symmetric_key], name="big"),
                                   name="big") == size
        _, peak_decrypt = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Two read buffers and a ring of three write buffers plus small change, whatever the size of the stream.
    assert peak_encrypt < 7 * chunk and peak_decrypt < 7 * chunk


class FailingSink(io.RawIOBase):
    """Accepts ``good`` writes, then fails like a full disk."""

    def __init__(self, good: int) -> None:
        self.good = good
        self.writes = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.writes += 1
        if self.writes > self.good:
            raise OSError(28, "No space left on device")
        return len(data)


@pytest.mark.parametrize("good", [0, 1, 3])
def test_write_errors_reach_the_caller_and_the_writer_thread_stops(good, symmetric_key):
    import threading

    before = threading.active_count()
    with pytest.raises(OSError, match="No space left"):
        encrypt_stream(io.BytesIO(payload_data(8 * CHUNK)), FailingSink(good), recipients=[symmetric_key],
                       chunk_size=CHUNK)
    blob = encrypt_bytes(payload_data(8 * CHUNK), [symmetric_key])
    src = io.BytesIO(blob)
    header = read_header(src, name="x")
    with pytest.raises(OSError, match="No space left"):
        decrypt_payload(src, FailingSink(good), header, unlock(header, [symmetric_key], name="x"), name="x")
    assert threading.active_count() == before


def test_a_failing_chunk_stops_the_writer_thread(symmetric_key):
    import threading

    before = threading.active_count()
    blob = bytearray(encrypt_bytes(payload_data(8 * CHUNK), [symmetric_key]))
    blob[-1] ^= 1
    with pytest.raises(DecryptionError, match="chunk 7"):
        decrypt_bytes(bytes(blob), [symmetric_key])
    assert threading.active_count() == before


# --- tampering --------------------------------------------------------------------------------------------

def test_every_header_byte_is_protected(symmetric_key):
    blob = encrypt_bytes(payload_data(2 * CHUNK + 1), [symmetric_key])
    header_size = parse_header(blob).size
    for position in range(header_size):
        damaged = bytearray(blob)
        damaged[position] ^= 0x01
        with pytest.raises(DecryptionError):
            decrypt_bytes(bytes(damaged), [symmetric_key])


def test_flipped_header_mac_or_recipient_id_names_the_header(symmetric_key):
    blob = encrypt_bytes(b"data", [symmetric_key])
    header = parse_header(blob)
    for position in (header.size - 1, PREAMBLE_SIZE + 6 + 1):  # last MAC byte, first recipient id byte
        damaged = bytearray(blob)
        damaged[position] ^= 0x80
        assert "header failed authentication" in decrypt_error(bytes(damaged), symmetric_key)


@pytest.mark.parametrize("where", ["first", "middle", "tag"])
def test_flipped_byte_in_any_chunk(where, symmetric_key):
    data = payload_data(3 * CHUNK + 9)
    blob = encrypt_bytes(data, [symmetric_key])
    head, chunks = chunks_of(blob)
    for index, chunk in enumerate(chunks):
        offset = {"first": 0, "middle": len(chunk) // 2, "tag": len(chunk) - 1}[where]
        damaged = bytearray(chunk)
        damaged[offset] ^= 0x04
        edited = head + b"".join(chunks[:index]) + bytes(damaged) + b"".join(chunks[index + 1:])
        message = decrypt_error(edited, symmetric_key)
        assert f"chunk {index} failed authentication" in message


def test_truncation_at_every_chunk_boundary(symmetric_key):
    blob = encrypt_bytes(payload_data(4 * CHUNK + 3), [symmetric_key])
    head, chunks = chunks_of(blob)
    for kept in range(len(chunks)):
        message = decrypt_error(head + b"".join(chunks[:kept]), symmetric_key)
        assert "is truncated: the last chunk is missing" in message


def test_truncation_mid_chunk_and_inside_the_header(symmetric_key):
    blob = encrypt_bytes(payload_data(3 * CHUNK + 3), [symmetric_key])
    header_size = parse_header(blob).size
    for cut in (header_size + 1, header_size + TAG_SIZE - 1, header_size + CHUNK, len(blob) - 1,
                len(blob) - TAG_SIZE - 1):
        with pytest.raises(DecryptionError):
            decrypt_bytes(blob[:cut], [symmetric_key])
    for cut in (0, 3, PREAMBLE_SIZE - 1, PREAMBLE_SIZE + 3, header_size - 1):
        with pytest.raises(DecryptionError):
            decrypt_bytes(blob[:cut], [symmetric_key])


def test_empty_file_truncated_to_its_header(symmetric_key):
    blob = encrypt_bytes(b"", [symmetric_key])
    assert "the last chunk is missing (no chunk follows the header)" in decrypt_error(
        blob[:parse_header(blob).size], symmetric_key)


def test_reordered_chunks(symmetric_key):
    blob = encrypt_bytes(payload_data(3 * CHUNK), [symmetric_key])
    head, chunks = chunks_of(blob)
    swapped = head + chunks[1] + chunks[0] + chunks[2]
    assert "chunk 0 failed authentication" in decrypt_error(swapped, symmetric_key)
    duplicated = head + chunks[0] + chunks[0] + chunks[2]
    assert "chunk 1 failed authentication" in decrypt_error(duplicated, symmetric_key)


def test_chunk_from_another_file_with_the_same_key(symmetric_key):
    data = payload_data(3 * CHUNK)
    head_a, chunks_a = chunks_of(encrypt_bytes(data, [symmetric_key]))
    _, chunks_b = chunks_of(encrypt_bytes(data, [symmetric_key]))
    # Same recipient, same plaintext, same position: still a different data key per file.
    mixed = head_a + chunks_a[0] + chunks_b[1] + chunks_a[2]
    assert "chunk 1 failed authentication" in decrypt_error(mixed, symmetric_key)


def test_header_from_another_file_with_the_same_key(symmetric_key):
    data = payload_data(2 * CHUNK)
    head_a, _ = chunks_of(encrypt_bytes(data, [symmetric_key]))
    _, chunks_b = chunks_of(encrypt_bytes(data, [symmetric_key]))
    assert "chunk 0 failed authentication" in decrypt_error(head_a + b"".join(chunks_b), symmetric_key)


def test_appended_data(symmetric_key):
    blob = encrypt_bytes(payload_data(2 * CHUNK), [symmetric_key])  # ends with a full chunk
    head, chunks = chunks_of(blob)
    assert "unexpected data after the last chunk" in decrypt_error(blob + chunks[0], symmetric_key)
    assert "unexpected data after the last chunk" in decrypt_error(blob + b"\x00", symmetric_key)
    short = encrypt_bytes(payload_data(CHUNK + 5), [symmetric_key])  # ends with a short chunk
    with pytest.raises(DecryptionError):
        decrypt_bytes(short + b"appended", [symmetric_key])


def _forge(blob: bytes, key: SymmetricKey, plan: list[tuple[int, bytes, bool]]) -> bytes:
    """Re-seal chunks with the real payload key (white box): what a writer that gets the last flag wrong, or
    an attacker holding the key, could produce. ``plan`` is (index, plaintext, last) per chunk."""
    header = parse_header(blob)
    cipher = _ChunkCipher(header, unlock(header, [key], name="forge"))
    parts = [blob[:header.size]]
    for index, plaintext, last in plan:
        out = bytearray(len(plaintext) + TAG_SIZE)
        cipher.seal_into(index, last, memoryview(plaintext), memoryview(out))
        parts.append(bytes(out))
    return b"".join(parts)


def test_last_flag_is_enforced(symmetric_key):
    blob = encrypt_bytes(payload_data(10), [symmetric_key])
    full = bytes(CHUNK)
    # A chunk flagged last in the middle of the file.
    early_last = _forge(blob, symmetric_key, [(0, full, False), (1, full, True), (2, b"tail", True)])
    assert "unexpected data after the last chunk (chunk 1)" in decrypt_error(early_last, symmetric_key)
    # A file whose final chunk is not flagged last.
    never_last = _forge(blob, symmetric_key, [(0, full, False), (1, b"tail", False)])
    assert "truncated: the last chunk is missing" in decrypt_error(never_last, symmetric_key)
    # An empty final chunk after data: never written by mlwarden.
    empty_last = _forge(blob, symmetric_key, [(0, full, False), (1, b"", True)])
    assert "chunk 1 is empty" in decrypt_error(empty_last, symmetric_key)
    # A short chunk that is not the last one.
    short_middle = _forge(blob, symmetric_key, [(0, b"short", False), (1, b"tail", True)])
    with pytest.raises(DecryptionError):
        decrypt_bytes(short_middle, [symmetric_key])
    # The forger's own well-formed file decrypts: the checks above are about flags, not the key.
    good = _forge(blob, symmetric_key, [(0, full, False), (1, b"tail", True)])
    assert decrypt_bytes(good, [symmetric_key]) == full + b"tail"


def test_wrong_key(symmetric_key):
    blob = encrypt_bytes(b"secret model", [symmetric_key])
    other = SymmetricKey.generate()
    message = decrypt_error(blob, other)
    assert "wrong key or passphrase (no recipient stanza opens it" in message
    assert "keyfile" in message and other.key.hex() not in message and symmetric_key.key.hex() not in message


def test_not_an_encrypted_file_and_unknown_version(symmetric_key):
    assert "not an mlwarden encrypted file" in decrypt_error(b"PK\x03\x04 a zip file", symmetric_key)
    assert "not an mlwarden encrypted file" in decrypt_error(b"", symmetric_key)
    blob = bytearray(encrypt_bytes(b"x", [symmetric_key]))
    blob[6] = 2
    assert "format version 2" in decrypt_error(bytes(blob), symmetric_key)
    blob[6] = FORMAT_VERSION
    blob[7] = 40
    assert "chunk size 2**40" in decrypt_error(bytes(blob), symmetric_key)


def test_hostile_header_counts_are_bounded(symmetric_key):
    blob = encrypt_bytes(b"x", [symmetric_key])
    for count, length in ((0, 75), (65, 75), (1, 2 ** 32 - 1), (1, 10), (2, 75)):
        edited = blob[:PREAMBLE_SIZE] + struct.pack(">HI", count, length) + blob[PREAMBLE_SIZE + 6:]
        with pytest.raises(DecryptionError, match="damaged header|truncated"):
            decrypt_bytes(edited, [symmetric_key])
    unknown_type = bytearray(blob)
    unknown_type[PREAMBLE_SIZE + 6] = 99
    assert "unknown recipient type 99" in decrypt_error(bytes(unknown_type), symmetric_key)


def test_decrypt_payload_writes_only_authenticated_chunks(symmetric_key):
    data = payload_data(4 * CHUNK)
    blob = bytearray(encrypt_bytes(data, [symmetric_key]))
    header = parse_header(bytes(blob))
    blob[header.size + 2 * (CHUNK + TAG_SIZE) + 5] ^= 1  # damage chunk 2
    src = io.BytesIO(bytes(blob))
    read_header(src, name="x")
    sink = io.BytesIO()
    with pytest.raises(DecryptionError, match="chunk 2"):
        decrypt_payload(src, sink, header, unlock(header, [symmetric_key], name="x"), name="x")
    # Whole authenticated chunks only (chunks still queued for the writer thread may be dropped).
    written = sink.getvalue()
    assert len(written) % CHUNK == 0 and len(written) <= 2 * CHUNK and data.startswith(written)


def test_no_key_material_in_reprs(symmetric_key):
    header, data_key = new_header([symmetric_key], chunk_size=CHUNK)
    cipher = _ChunkCipher(header, data_key)
    for text in (repr(cipher), repr(symmetric_key), repr(header)):
        assert data_key.hex() not in text and symmetric_key.key.hex() not in text
        assert repr(data_key) not in text and repr(symmetric_key.key) not in text


# --- random access ----------------------------------------------------------------------------------------

def open_reader(blob: bytes, key: SymmetricKey) -> DecryptingReader:
    raw = io.BytesIO(blob)
    header = read_header(raw, name="r")
    return DecryptingReader(raw, header, unlock(header, [key], name="r"), payload_offset=header.size,
                            payload_size=len(blob) - header.size, name="r")


def test_reader_random_access(symmetric_key):
    data = payload_data(5 * CHUNK + 77)
    reader = open_reader(encrypt_bytes(data, [symmetric_key]), symmetric_key)
    assert reader.plaintext_size == len(data) and reader.seekable()
    for position, size in ((0, 10), (CHUNK - 3, 10), (3 * CHUNK, CHUNK + 5), (len(data) - 4, 100),
                           (len(data) + 10, 5)):
        reader.seek(position)
        assert reader.read(size) == data[position:position + size]
    assert reader.seek(-10, os.SEEK_END) == len(data) - 10
    assert reader.read() == data[-10:]
    reader.seek(CHUNK + 1)
    assert reader.readall() == data[CHUNK + 1:]
    reader.seek(2 * CHUNK)
    assert reader.readall() == data[2 * CHUNK:]
    with pytest.raises(ValueError):
        reader.seek(-1)
    reader.close()
    with pytest.raises(ValueError):
        reader.read(1)


def test_reader_reports_damage_when_it_reaches_it(symmetric_key):
    data = payload_data(3 * CHUNK + 1)
    blob = bytearray(encrypt_bytes(data, [symmetric_key]))
    blob[parse_header(bytes(blob)).size + 2 * (CHUNK + TAG_SIZE)] ^= 1
    reader = open_reader(bytes(blob), symmetric_key)
    assert reader.read(CHUNK) == data[:CHUNK]
    reader.seek(2 * CHUNK)
    with pytest.raises(DecryptionError, match="chunk 2 failed authentication"):
        reader.read(1)


def test_reader_detects_truncation(symmetric_key):
    blob = encrypt_bytes(payload_data(3 * CHUNK), [symmetric_key])
    reader = open_reader(blob[:-(CHUNK + TAG_SIZE)], symmetric_key)
    with pytest.raises(DecryptionError, match="the last chunk is missing"):
        reader.readall()
    with pytest.raises(DecryptionError, match="cut short"):
        open_reader(blob[:-(CHUNK + 1)], symmetric_key)


# --- hostile input, generated -----------------------------------------------------------------------------

_SAMPLE_KEY = SymmetricKey(bytes(range(32)))
_SAMPLE = encrypt_bytes(payload_data(2 * CHUNK + 100), [_SAMPLE_KEY])


@st.composite
def mutations(draw) -> bytes:
    blob = bytearray(_SAMPLE)
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate"]))
        if not blob:
            break
        position = draw(st.integers(0, max(0, len(blob) - 1)))
        if action == "flip":
            blob[position] ^= draw(st.integers(1, 255))
        elif action == "set":
            blob[position] = draw(st.integers(0, 255))
        elif action == "insert":
            blob[position:position] = draw(st.binary(min_size=1, max_size=40))
        elif action == "delete":
            del blob[position:position + draw(st.integers(1, 40))]
        else:
            del blob[position:]
    return bytes(blob)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutations())
def test_mutated_ciphertext_never_decrypts_and_never_crashes(blob):
    if blob == _SAMPLE:
        return
    with pytest.raises(DecryptionError):
        decrypt_bytes(blob, [_SAMPLE_KEY])
    try:
        reader = open_reader(blob, _SAMPLE_KEY)
    except DecryptionError:
        return
    with pytest.raises(DecryptionError):
        reader.readall()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_header_bytes_give_a_clean_error(tail):
    for prefix in (b"", MAGIC, MAGIC + bytes([FORMAT_VERSION, 10]) + bytes(16)):
        try:
            header = parse_header(prefix + tail)
        except DecryptionError:
            continue
        assert 1 <= len(header.stanzas) and all(isinstance(s, Stanza) for s in header.stanzas)
        with pytest.raises(MlwardenError):
            unlock(header, [_SAMPLE_KEY], name="fuzz")


def test_decryption_error_is_an_input_error():
    assert issubclass(DecryptionError, InputError)
