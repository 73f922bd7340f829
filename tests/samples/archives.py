"""Generate zip, tar and compressed samples, including the structural tricks used against scanners: bad CRCs,
encryption flag bits, traversal names, links, overlapping members, missing central directories, bombs.

Zips are written with ``zipfile`` and then patched byte by byte where zipfile cannot express the trick.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import io
import lzma
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator


class CountingReader(io.BytesIO):
    """A stream that counts the bytes handed out, to prove what a scanner did not read."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.bytes_read += len(data)
        return data

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def, override]
        count = super().readinto(buffer)
        self.bytes_read += count
        return count


_CENTRAL = struct.Struct("<4sHHHHHHIIIHHHHHII")
_LOCAL = struct.Struct("<4sHHHHHIIIHH")


def zip_of(members: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def rebuild_zip(original: bytes, *, transform: Callable[[str, bytes], bytes] | None = None,
                extra: dict[str, bytes] | None = None) -> bytes:
    """Copy a (trusted, self-made) zip member by member, optionally changing members or adding new ones."""
    source = zipfile.ZipFile(io.BytesIO(original))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for info in source.infolist():
            data = source.read(info.filename)
            if transform is not None:
                data = transform(info.filename, data)
            archive.writestr(zipfile.ZipInfo(info.filename, date_time=info.date_time), data,
                             compress_type=info.compress_type)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def central_entries(data: bytes) -> Iterator[tuple[int, str, int]]:
    """(offset of the central directory entry, member name, local header offset) for each member."""
    end = data.rfind(b"PK\x05\x06")
    cd_size, cd_offset = struct.unpack_from("<II", data, end + 12)
    pos = cd_offset
    while pos < cd_offset + cd_size:
        fields = _CENTRAL.unpack_from(data, pos)
        name = data[pos + 46:pos + 46 + fields[10]].decode()
        yield pos, name, fields[16]
        pos += 46 + fields[10] + fields[11] + fields[12]


def patch_member(data: bytes, name: str, *, crc_xor: int = 0, flags_or: int = 0, local_only: bool = False) -> bytes:
    """Flip CRC bits and/or set general-purpose flag bits of ``name`` in both its headers (or the local one)."""
    out = bytearray(data)
    for central, member, local in central_entries(data):
        if member != name:
            continue
        headers = ((local + 6, local + 14),) if local_only else ((central + 8, central + 16), (local + 6, local + 14))
        for flags_at, crc_at in headers:
            struct.pack_into("<H", out, flags_at, struct.unpack_from("<H", out, flags_at)[0] | flags_or)
            struct.pack_into("<I", out, crc_at, struct.unpack_from("<I", out, crc_at)[0] ^ crc_xor)
    return bytes(out)


def with_bad_crc(data: bytes, name: str) -> bytes:
    return patch_member(data, name, crc_xor=0xDEADBEEF)


def with_encryption_flag(data: bytes, name: str, *, local_only: bool = False) -> bytes:
    """Set the "encrypted" bit without encrypting. torch.load ignores the bit in the local header (published
    scanner bypass: zipfile-based scanners give up) and refuses it in the central directory."""
    return patch_member(data, name, flags_or=0x1, local_only=local_only)


def without_central_directory(data: bytes) -> bytes:
    """Only the local headers and data remain (a truncated download, or a file made for streaming readers)."""
    first_central = min(offset for offset, _, _ in central_entries(data))
    return data[:first_central]


def with_prepended_data(data: bytes, prefix: bytes = b"#!/bin/sh\necho not a model\n") -> bytes:
    return prefix + data


def traversal_zip(payload: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../evil.pkl", payload)
        archive.writestr("ok/readme.txt", b"just text\n")
        link = zipfile.ZipInfo("ok/link")
        link.create_system = 3
        link.external_attr = 0o120777 << 16
        archive.writestr(link, b"/etc/passwd")
    return buffer.getvalue()


def backslash_traversal_zip() -> bytes:
    return zip_of({"..\\..\\evil.txt": b"x", "C:/Windows/evil.txt": b"x", "/abs/evil.txt": b"x",
                   "dir\\plain.txt": b"x"})


def overlapping_zip(payload: bytes) -> bytes:
    """Two central directory entries pointing at the same local header (the overlap behind non-recursive bombs)."""
    single = zip_of({"a.pkl": payload}, compression=zipfile.ZIP_STORED)
    (central, _, _), = list(central_entries(single))
    end = single.rfind(b"PK\x05\x06")
    entry = single[central:end]
    second = entry.replace(b"a.pkl", b"b.pkl")
    cd_offset = central
    new_cd = entry + second
    end_record = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 2, 2, len(new_cd), cd_offset, 0)
    return single[:central] + new_cd + end_record


def duplicate_names_zip(first: bytes, second: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive, contextlib.suppress(UserWarning):
        archive.writestr("model.pkl", first)
        archive.writestr("model.pkl", second)
    return buffer.getvalue()


def hidden_member_zip(payload: bytes) -> bytes:
    """A member whose local header exists but which the central directory does not list."""
    visible = zip_of({"a.txt": b"hello"}, compression=zipfile.ZIP_STORED)
    hidden = zip_of({"hidden.pkl": payload}, compression=zipfile.ZIP_STORED)
    (central_v, _, _), = list(central_entries(visible))
    (central_h, _, _), = list(central_entries(hidden))
    local_part = visible[:central_v] + hidden[:central_h]
    cd = visible[central_v:visible.rfind(b"PK\x05\x06")]
    end_record = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 1, 1, len(cd), len(local_part), 0)
    return local_part + cd + end_record


@contextlib.contextmanager
def _force_zip64() -> Iterator[None]:
    """Make zipfile write ZIP64 extras and end records for a small archive."""
    saved = zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT
    zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = 0, 0
    try:
        yield
    finally:
        zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = saved


def zip64_of(members: dict[str, bytes]) -> bytes:
    with _force_zip64():
        return zip_of(members)


def nested_zip(inner: bytes, *, levels: int = 1, name: str = "inner.zip") -> bytes:
    data = inner
    for _ in range(levels):
        data = zip_of({name: data})
    return data


def zip_bomb(megabytes: int = 32) -> bytes:
    """One member of zeros: ``megabytes`` MiB deflated to a few dozen KiB."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive, \
            archive.open("zeros.bin", "w", force_zip64=True) as member:
        block = bytes(1024 * 1024)
        for _ in range(megabytes):
            member.write(block)
    return buffer.getvalue()


def lying_size_bomb(megabytes: int = 8) -> bytes:
    """A bomb member whose central directory claims a tiny uncompressed size."""
    data = zip_bomb(megabytes)
    out = bytearray(data)
    for central, _, local in central_entries(data):
        struct.pack_into("<I", out, central + 24, 1000)
    return bytes(out)


def zip_with_methods(payload: bytes) -> dict[str, bytes]:
    return {method: zip_of({"p.pkl": payload}, compression=code)
            for method, code in (("stored", zipfile.ZIP_STORED), ("deflate", zipfile.ZIP_DEFLATED),
                                 ("bzip2", zipfile.ZIP_BZIP2), ("lzma", zipfile.ZIP_LZMA))}


# --- tar -------------------------------------------------------------------------------------------------------


def tar_of(members: dict[str, bytes], *, fmt: int = tarfile.PAX_FORMAT) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def hostile_tar(payload: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, data in (("../../evil.pkl", payload), ("/etc/cron.d/evil", b"* * * * * true\n")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("model/link")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        archive.addfile(link)
        hard = tarfile.TarInfo("model/hard")
        hard.type = tarfile.LNKTYPE
        hard.linkname = "../outside"
        archive.addfile(hard)
        device = tarfile.TarInfo("model/dev")
        device.type = tarfile.CHRTYPE
        archive.addfile(device)
    return buffer.getvalue()


# --- single-stream compression ---------------------------------------------------------------------------------


def compressed(payload: bytes) -> dict[str, bytes]:
    return {
        "gzip": gzip.compress(payload),
        "bz2": bz2.compress(payload),
        "xz": lzma.compress(payload),
        "lzma": lzma.compress(payload, format=lzma.FORMAT_ALONE),
        "zlib": zlib.compress(payload),
    }


def multi_member_gzip(payload: bytes) -> bytes:
    """The payload split over two concatenated gzip members: readers that stop after one member miss it."""
    half = len(payload) // 2
    return gzip.compress(payload[:half]) + gzip.compress(payload[half:])


def compression_bomb(megabytes: int = 32) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1024 * 1024)
    return b"".join([compressor.compress(block) for _ in range(megabytes)] + [compressor.flush()])
