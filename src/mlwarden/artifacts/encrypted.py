"""mlwarden's own encrypted files (MLWENC): reported as not scannable, with what the header says.

Reads only the fixed-size preamble; never tries to decrypt (the scanner holds no keys).
"""

from __future__ import annotations

import struct
from typing import BinaryIO

from mlwarden.scanning.context import ScanContext

# MAGIC (6 bytes), version (1 byte), log2 of the chunk size (1 byte): mlwarden.crypto.stream's preamble.
_PREAMBLE = struct.Struct(">6sBB")


class EncryptedScanner:
    name = "encrypted"

    def scan(self, stream: BinaryIO, ctx: ScanContext) -> None:
        head = stream.read(_PREAMBLE.size)
        if len(head) < _PREAMBLE.size:
            ctx.report("MW-FMT-004", "file starts like an mlwarden encrypted file but its header is cut off",
                       evidence="MLWENC (truncated)")
            return
        _, version, _chunk_log2 = _PREAMBLE.unpack(head)
        ctx.report("MW-FMT-004", f"encrypted with mlwarden (format version {version}, {ctx.size} bytes): the "
                   "model inside was not scanned", evidence=f"MLWENC v{version}")
