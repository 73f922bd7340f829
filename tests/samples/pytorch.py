"""Generate real PyTorch files (torch.save, legacy format, torch.jit.save) and hostile variants of them.

Payloads are harmless (``os.system("true")``) and never run: malicious pickles are hand-written opcodes or
objects whose ``__reduce__`` names the callable; nothing here loads what it writes.
"""

from __future__ import annotations

import io
import os
import pickle
import struct
import tarfile
import zipfile

import torch

from tests.samples.archives import rebuild_zip


def malicious_pickle(command: str = "true", protocol: int = 2) -> bytes:
    """A pickle that calls os.system(command) when loaded, written opcode by opcode."""
    arg = command.encode()
    body = b"cos\nsystem\n" + b"X" + struct.pack("<I", len(arg)) + arg + b"\x85R."
    return (b"\x80" + bytes([protocol]) if protocol >= 2 else b"") + body


class SystemCall:
    """An object that pickles as a call to os.system (its __reduce__ is never run by these samples)."""

    def __init__(self, command: str = "true") -> None:
        self.command = command

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (self.command,))


def benign_state_dict(elements: int = 12) -> dict[str, torch.Tensor]:
    return {"layer.weight": torch.arange(elements, dtype=torch.float32).reshape(-1, 3),
            "layer.bias": torch.ones(3), "steps": torch.tensor(7, dtype=torch.int64)}


def torch_zip_checkpoint(obj: object | None = None) -> bytes:
    buffer = io.BytesIO()
    torch.save(benign_state_dict() if obj is None else obj, buffer)
    return buffer.getvalue()


def large_checkpoint(megabytes: int = 50) -> bytes:
    """A benign checkpoint whose storages make up nearly all of its size."""
    return torch_zip_checkpoint({"big": torch.zeros(megabytes * 1024 * 1024 // 4), "small": torch.ones(2)})


def torch_legacy_checkpoint(obj: object | None = None) -> bytes:
    buffer = io.BytesIO()
    torch.save(benign_state_dict() if obj is None else obj, buffer, _use_new_zipfile_serialization=False)
    return buffer.getvalue()


def legacy_with_payload_in_main_object() -> bytes:
    return torch_legacy_checkpoint({"weights": torch.ones(2), "hook": SystemCall()})


def legacy_with_pickle_in_storage_bytes() -> bytes:
    """Storage bytes that happen to be a malicious pickle: torch reads them raw, so they are not a payload."""
    payload = malicious_pickle()
    tensor = torch.tensor(list(payload), dtype=torch.uint8)
    return torch_legacy_checkpoint({"blob": tensor})


class SmallNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if bool(x.sum() > 0):
            return self.linear(x).relu()
        return x[:, :2] * 2


class FileTouchingNet(torch.nn.Module):
    """TorchScript that writes and reads files when run (aten::save, aten::from_file)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        torch.save(x, "/tmp/mlwarden-sample-never-run.pt")
        data = torch.from_file("/etc/hostname", size=4, dtype=torch.uint8)
        return x + data.float().sum()


def torchscript_archive(module: torch.nn.Module | None = None) -> bytes:
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(module if module is not None else SmallNet()), buffer)
    return buffer.getvalue()


def torchscript_with_file_ops() -> bytes:
    return torchscript_archive(FileTouchingNet())


def torchscript_with_edited_code(snippet: str = "    _x = __import__(\"os\").system(\"true\")\n") -> bytes:
    """A TorchScript archive whose code was edited by hand after torch.jit.save."""
    original = torchscript_archive()

    marker = "    x: Tensor) -> Tensor:\n"

    def edit(name: str, data: bytes) -> bytes:
        if "/code/" in name and name.endswith(".py") and marker.encode() in data:
            return data.decode().replace(marker, marker + snippet, 1).encode()
        return data

    return rebuild_zip(original, transform=edit)


def checkpoint_with_extra_pickle() -> bytes:
    """A real checkpoint plus ``<prefix>/extra.pkl`` holding a payload (data.pkl itself is clean)."""
    original = torch_zip_checkpoint()
    prefix = zipfile.ZipFile(io.BytesIO(original)).namelist()[0].split("/")[0]
    return rebuild_zip(original, extra={f"{prefix}/extra.pkl": malicious_pickle()})


def checkpoint_with_malicious_data_pkl() -> bytes:
    original = torch_zip_checkpoint()
    return rebuild_zip(original, transform=lambda name, data: malicious_pickle() if name.endswith("/data.pkl")
                       else data)


def checkpoint_with_storage_named_pickle() -> bytes:
    """A storage member whose bytes are a pickle: torch never unpickles storages, so it is not read at all."""
    original = torch_zip_checkpoint()
    return rebuild_zip(original, transform=lambda name, data: malicious_pickle() if name.endswith("/data/0")
                       else data)


# A legacy storage header (key, location, storage type) that also calls os.system("true") while it is loaded.
MALICIOUS_STORAGE_HEADER = (b"\x80\x02(X\x01\x00\x00\x000X\x03\x00\x00\x00cpuctorch\nFloatStorage\n"
                            b"cos\nsystem\nX\x04\x00\x00\x00true\x85Rt.")
MALICIOUS_TENSOR_HEADER = (b"\x80\x02(X\x01\x00\x00\x001X\x01\x00\x00\x000cos\nsystem\n"
                           b"X\x04\x00\x00\x00true\x85Rt.")


def _pickle_bytes(value: object) -> bytes:
    return pickle.dumps(value, protocol=2)


def legacy_tar_checkpoint(*, main: bytes | None = None, storage_header: bytes | None = None,
                          tensor_header: bytes | None = None) -> bytes:
    """The torch < 0.4 tar layout (torch/serialization.py legacy_load): sys_info, pickle, storages, tensors.

    One FloatStorage of 3 elements and one tensor viewing it. ``main``, ``storage_header`` and ``tensor_header``
    replace the corresponding pickles (e.g. with a payload).
    """
    storage_args = storage_header or (
        b"\x80\x02(X\x01\x00\x00\x000X\x03\x00\x00\x00cpuctorch\nFloatStorage\ntq\x00.")
    storages = (_pickle_bytes(1) + storage_args + struct.pack("<q", 3) + struct.pack("<3f", 1.0, 2.0, 3.0)
                + _pickle_bytes([]))
    tensor_args = tensor_header or (
        b"\x80\x02(X\x01\x00\x00\x001X\x01\x00\x00\x000ctorch\nFloatTensor\ntq\x00.")
    tensors = (_pickle_bytes(1) + tensor_args + struct.pack("<ii", 1, 0) + struct.pack("<q", 3)
               + struct.pack("<q", 1) + struct.pack("<q", 0))
    main_pickle = main or b"\x80\x02}X\x01\x00\x00\x00wX\x01\x00\x00\x001Qs."  # {"w": persistent_load("1")}
    sys_info = _pickle_bytes({"protocol_version": 1001, "little_endian": True,
                              "type_sizes": {"short": 2, "int": 4, "long": 4}})
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, data in (("sys_info", sys_info), ("pickle", main_pickle), ("storages", storages),
                           ("tensors", tensors)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
