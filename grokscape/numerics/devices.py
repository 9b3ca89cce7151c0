"""Which torch device a job runs on."""

from __future__ import annotations

import torch

from grokscape.errors import ConfigError

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "config error: device: cuda was requested but no CUDA GPU is available (use device: auto or cpu)"
        )
    if name not in DEVICES:
        raise ConfigError(f"config error: device: must be one of {', '.join(DEVICES)}, got {name!r}")
    return torch.device(name)
