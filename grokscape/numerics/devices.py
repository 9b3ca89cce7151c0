"""Which torch device a job runs on, and the default device of tensors that name none.

Every tensor the library makes names its device: the job's, or the CPU where the CPU is meant (a
CPU generator's draws, host-side bookkeeping). `GROKSCAPE_DEFAULT_DEVICE` is a testing aid that
proves it without a GPU: set to `meta`, every tensor made without a device is a meta tensor (no
data), and the first operation that mixes it with the job's tensors fails, where on a GPU it would
have met the GPU's (docs/devices.md).
"""

from __future__ import annotations

import os

import torch

from grokscape.errors import ConfigError

DEFAULT_DEVICE_VARIABLE = "GROKSCAPE_DEFAULT_DEVICE"
DEFAULT_DEVICE_TYPES = ("meta", "cpu", "cuda")


def resolve_device(name: str) -> torch.device:
    """`device` (auto, cpu or cuda, as the schema allows) as a torch device: auto takes CUDA where it is."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "config error: device: cuda was requested but no CUDA GPU is available (use device: auto or cpu)"
        )
    return torch.device(name)


def default_device_from_environment() -> torch.device | None:
    """The device `GROKSCAPE_DEFAULT_DEVICE` names for tensors made without one, or None where it is unset or empty."""
    value = os.environ.get(DEFAULT_DEVICE_VARIABLE, "").strip()
    if not value:
        return None
    try:
        device = torch.device(value)
    except RuntimeError:
        device = None
    if device is None or device.type not in DEFAULT_DEVICE_TYPES:
        raise ConfigError(
            f"{DEFAULT_DEVICE_VARIABLE}={value!r} is not a device for tensors made without one: "
            f"use one of {', '.join(DEFAULT_DEVICE_TYPES)} (or cuda:N), or leave it unset"
        )
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"{DEFAULT_DEVICE_VARIABLE}={value!r} names a CUDA GPU, and this machine has none")
    return device
