"""Encryption-at-rest throughput: ``mlwarden encrypt`` / ``decrypt`` on a 2 GiB file against AES-256-GCM in
memory (the ceiling: the same primitive with no I/O and no format around it).

The plaintext is written once to ``benchmarks/.work/encryption/plain-2gib.bin`` (pseudo-random bytes, so no
filesystem shortcut applies) and read once into the page cache before timing. Each measurement is the median of
3 runs. For every run we record wall time and the process CPU time (user + system, all threads), and report

- GB/s (wall): bytes / wall seconds,
- GB/s per core: bytes / CPU seconds, i.e. the throughput one core sustains (the tool is single-threaded, so
  the two agree unless the run waits on the disk).

Rows: AES-GCM in memory (``AESGCM.encrypt_into`` over one reused buffer), a plain copy of the file with the
same buffer size (the I/O floor: what writing 2 GiB costs here without any crypto), encrypt and decrypt file
to file (what the CLI does: temporary file + rename; dirty pages are flushed, untimed, before each run), the same into ``/dev/null`` (the format and the crypto without the
disk's write speed), and ``open_decrypted`` read to the end (the in-memory path of the guarded loader).
GB = 10**9 bytes.

Run ``python benchmarks/encryption_throughput.py`` (``--size-mib 256`` for a quick run). Prints JSON, then a
markdown table; writes nothing outside ``benchmarks/.work/``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
WORK = BENCH_DIR / ".work" / "encryption"
MiB = 1024 * 1024
RUNS = 3

sys.path.insert(0, str(BENCH_DIR.parent / "src"))

from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402

from mlwarden.crypto.files import decrypt_path, encrypt_path, open_decrypted  # noqa: E402
from mlwarden.crypto.recipients import SymmetricKey  # noqa: E402
from mlwarden.crypto.stream import DEFAULT_CHUNK_SIZE, TAG_SIZE, decrypt_stream, encrypt_stream  # noqa: E402


def ensure_plaintext(size: int) -> Path:
    """Write (once) ``size`` pseudo-random bytes: one random 4 MiB block, each copy with a different counter."""
    path = WORK / f"plain-{size // MiB}mib.bin"
    if path.is_file() and path.stat().st_size == size:
        return path
    WORK.mkdir(parents=True, exist_ok=True)
    block = bytearray(os.urandom(4 * MiB))
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as handle:
        written = 0
        counter = 0
        while written < size:
            block[:8] = counter.to_bytes(8, "little")
            piece = memoryview(block)[:min(len(block), size - written)]
            handle.write(piece)
            written += len(piece)
            counter += 1
    tmp.replace(path)
    return path


def warm(path: Path) -> None:
    buffer = bytearray(16 * MiB)
    with path.open("rb", buffering=0) as handle:
        while handle.readinto(buffer):
            pass


def timed(action: Callable[[], None], before: Callable[[], None] | None = None) -> tuple[float, float]:
    """Median (wall seconds, CPU seconds) of RUNS runs; ``before`` runs untimed before each run."""
    walls, cpus = [], []
    for _ in range(RUNS):
        if before is not None:
            before()
        cpu, wall = time.process_time(), time.perf_counter()
        action()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def aes_in_memory(size: int, chunk_size: int) -> None:
    aead = AESGCM(AESGCM.generate_key(256))
    data = memoryview(bytearray(os.urandom(chunk_size)))
    out = memoryview(bytearray(chunk_size + TAG_SIZE))
    aad = bytes(41)
    for index in range(size // chunk_size):
        aead.encrypt_into(index.to_bytes(12, "big"), data, aad, out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=2048, help="plaintext size (default 2048 = 2 GiB)")
    parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE, help="chunk size in bytes")
    args = parser.parse_args()
    size = args.size_mib * MiB
    chunk = args.chunk_size
    plain = ensure_plaintext(size)
    encrypted = WORK / (plain.name + ".mlwenc")
    restored = WORK / "restored.bin"
    key = SymmetricKey.generate()
    warm(plain)

    def remove_outputs() -> None:
        encrypted.unlink(missing_ok=True)
        restored.unlink(missing_ok=True)
        copied.unlink(missing_ok=True)
        # Flush the previous run's dirty pages, untimed, so that no run pays for another's write-back.
        os.sync()

    copied = WORK / "copy.bin"

    def plain_copy() -> None:
        with plain.open("rb", buffering=0) as src, copied.open("wb", buffering=0) as dst:
            shutil.copyfileobj(src, dst, chunk)

    results: dict[str, tuple[float, float]] = {}
    results["AES-256-GCM in memory (encrypt_into)"] = timed(lambda: aes_in_memory(size, chunk))

    def encrypt_to_file() -> None:
        encrypt_path(plain, encrypted, recipients=[key], chunk_size=chunk)

    results["plain copy file -> file, single thread, no crypto (the I/O floor)"] = timed(plain_copy, remove_outputs)
    results["encrypt file -> file"] = timed(encrypt_to_file, remove_outputs)
    if not encrypted.exists():
        encrypt_to_file()
    warm(encrypted)
    def remove_restored() -> None:
        restored.unlink(missing_ok=True)
        os.sync()

    results["decrypt file -> file"] = timed(lambda: decrypt_path(encrypted, restored, identities=[key]),
                                            remove_restored)
    if restored.stat().st_size != size:
        raise SystemExit("decrypted size differs from the plaintext")
    restored.unlink()

    def encrypt_to_null() -> None:
        with plain.open("rb", buffering=0) as src, open(os.devnull, "wb", buffering=0) as dst:
            encrypt_stream(src, dst, recipients=[key], chunk_size=chunk)

    def decrypt_to_null() -> None:
        with encrypted.open("rb", buffering=0) as src, open(os.devnull, "wb", buffering=0) as dst:
            decrypt_stream(src, dst, identities=[key])

    def read_through_open_decrypted() -> None:
        buffer = memoryview(bytearray(16 * MiB))
        with open_decrypted(encrypted, identities=[key]) as stream:
            while stream.readinto(buffer):  # type: ignore[attr-defined]
                pass

    results["encrypt file -> /dev/null"] = timed(encrypt_to_null, os.sync)
    results["decrypt file -> /dev/null"] = timed(decrypt_to_null, os.sync)
    results["open_decrypted, read to the end"] = timed(read_through_open_decrypted, os.sync)
    encrypted.unlink()

    rows = []
    for name, (wall, cpu) in results.items():
        rows.append({"measurement": name, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
                     "gb_per_s_wall": round(size / wall / 1e9, 2), "gb_per_s_per_core": round(size / cpu / 1e9, 2)})
    document = {"bytes": size, "chunk_size": chunk, "runs": RUNS, "statistic": "median",
                "cpu_count": os.cpu_count(), "python": platform.python_version(),
                "cryptography": __import__("cryptography").__version__, "results": rows}
    print(json.dumps(document, indent=2))
    print()
    print(f"Plaintext {size / 1e9:.2f} GB ({args.size_mib} MiB), chunk {chunk // 1024} KiB, median of {RUNS}, "
          f"{os.cpu_count()} cores\n")
    print("| measurement | wall s | CPU s | GB/s (wall) | GB/s per core |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['measurement']} | {row['wall_s']} | {row['cpu_s']} | {row['gb_per_s_wall']} | "
              f"{row['gb_per_s_per_core']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
