"""Which seeds train together in one job (one stacked model), decided when the workflow is planned.

A one-layer model at batch 512 leaves a GPU idle, so on a GPU all seeds train in one job; on a
2-core CPU one seed per job, jobs side by side, is the fastest (benchmarks/README.md). Deliberately
free of torch, so that Snakemake starts fast: a GPU is "visible" when the NVIDIA driver lists one.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

GROUP_PATTERN = r"seeds[0-9]+(?:-[0-9]+)?"


def gpu_visible() -> bool:
    """Whether this machine has an NVIDIA GPU that CUDA would show (without importing torch)."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    gpus = Path("/proc/driver/nvidia/gpus")
    return gpus.is_dir() and any(gpus.iterdir())


def seeds_per_job(setting: int | str, device: str, n_seeds: int, gpu: bool) -> int:
    """`train.seeds_per_job` resolved: `auto` means every seed in one job on a GPU, one seed a job on a CPU."""
    if setting != "auto":
        return int(setting)
    on_gpu = device == "cuda" or (device == "auto" and gpu)
    return n_seeds if on_gpu else 1


def group_label(seeds: Sequence[int]) -> str:
    """`seeds3` for one seed, `seeds0-31` for a group (its first and last seed)."""
    return f"seeds{seeds[0]}" if len(seeds) == 1 else f"seeds{seeds[0]}-{seeds[-1]}"


def seed_groups(seeds: Sequence[int], size: int) -> dict[str, list[int]]:
    """The configured seeds in consecutive groups of `size`, by label; adding a seed at the end of
    the list leaves the earlier groups (and their results) as they are."""
    groups = [list(seeds[i : i + size]) for i in range(0, len(seeds), size)]
    return {group_label(group): group for group in groups}
