"""Small PyTorch modules that the corpus scripts with torch.jit (TorchScript needs their source on disk).

Imported only by corpus.py while it WRITES samples. ``FileReader.forward`` would read a local file if someone
ran the scripted model; the corpus only compiles and saves it, never runs or loads it.
"""

from __future__ import annotations

import torch
from torch import nn


class TinyNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Linear(8, 16)
        self.head = nn.Linear(16, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.encoder(x)))


class FileReader(nn.Module):
    """What a TorchScript exfiltration payload looks like: forward() maps a local file into a tensor."""

    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        leaked = torch.from_file("/etc/hostname", False, 8, dtype=torch.uint8)
        return self.head(x) + leaked.sum().float()
