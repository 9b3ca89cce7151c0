"""Which torch device a job runs on."""

from __future__ import annotations

import torch

from grokscape.errors import ConfigError


def resolve_device(name: str) -> torch.device:
    """`device` (auto, cpu or cuda, as the schema allows) as a torch device: auto takes CUDA where it is."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "config error: device: cuda was requested but no CUDA GPU is available (use device: auto or cpu)"
        )
    return torch.device(name)
