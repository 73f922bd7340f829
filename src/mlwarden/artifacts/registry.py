"""The one table that maps a format id (see ``mlwarden.scanning.identify``) to the scanner that handles it.

Entries are "module:Class" strings so that a scan imports only the scanners it needs.
"""

from __future__ import annotations

import importlib
from functools import cache

from mlwarden.scanning.context import Scanner

SCANNERS: dict[str, str] = {
    "pickle": "mlwarden.artifacts.pickle.scanner:PickleScanner",
    "torch-legacy": "mlwarden.artifacts.pytorch:TorchLegacyScanner",
    "zip": "mlwarden.artifacts.archives:ZipScanner",
    "tar": "mlwarden.artifacts.archives:TarScanner",
    "compressed": "mlwarden.artifacts.archives:CompressedScanner",
    "npy": "mlwarden.artifacts.numpy_format:NpyScanner",
    "hdf5": "mlwarden.artifacts.keras:Hdf5Scanner",
    "keras-config": "mlwarden.artifacts.keras:KerasConfigScanner",
    "keras-metadata": "mlwarden.artifacts.keras:KerasMetadataScanner",
    "tf-savedmodel": "mlwarden.artifacts.tensorflow:SavedModelScanner",
    "onnx": "mlwarden.artifacts.onnx:OnnxScanner",
    "gguf": "mlwarden.artifacts.gguf:GgufScanner",
    "safetensors": "mlwarden.artifacts.safetensors:SafetensorsScanner",
    "hf-config": "mlwarden.artifacts.huggingface:HfConfigScanner",
    "hf-code": "mlwarden.artifacts.huggingface:HfCodeScanner",
    "hf-chat-template": "mlwarden.artifacts.huggingface:HfChatTemplateScanner",
    "mlwarden-encrypted": "mlwarden.artifacts.encrypted:EncryptedScanner",
}


@cache
def scanner_for(format_id: str) -> Scanner | None:
    target = SCANNERS.get(format_id)
    if target is None:
        return None
    module_name, _, class_name = target.partition(":")
    module = importlib.import_module(module_name)
    scanner: Scanner = getattr(module, class_name)()
    return scanner
