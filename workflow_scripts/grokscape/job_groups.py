"""Which seeds train together, and which curves are evaluated together, in one job; decided when the
workflow is planned.

A one-layer model at batch 512 leaves a GPU idle, so on a GPU all seeds train in one job (one stacked
model) and all curves of a kind are fitted and evaluated in one job; on a 2-core CPU one seed or one
curve per job, jobs side by side, is the fastest (benchmarks/README.md). Deliberately free of torch,
so that Snakemake starts fast: a GPU is "visible" when the NVIDIA driver lists one.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

GROUP_PATTERN = r"seeds[0-9]+(?:-[0-9]+)?"
BATCH_PATTERN = r"batch[0-9]+-[0-9a-f]{8}"


def gpu_visible() -> bool:
    """Whether this machine has an NVIDIA GPU that CUDA would show (without importing torch)."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    gpus = Path("/proc/driver/nvidia/gpus")
    return gpus.is_dir() and any(gpus.iterdir())


def per_job(setting: int | str, device: str, n_items: int, gpu: bool) -> int:
    """`train.seeds_per_job` or `paths.per_job` resolved: `auto` means every item in one job on a GPU,
    one item a job on a CPU."""
    if setting != "auto":
        return int(setting)
    on_gpu = device == "cuda" or (device == "auto" and gpu)
    return max(n_items, 1) if on_gpu else 1


def group_label(seeds: Sequence[int]) -> str:
    """`seeds3` for one seed, `seeds0-31` for a group (its first and last seed)."""
    return f"seeds{seeds[0]}" if len(seeds) == 1 else f"seeds{seeds[0]}-{seeds[-1]}"


def seed_groups(seeds: Sequence[int], size: int) -> dict[str, list[int]]:
    """The configured seeds in consecutive groups of `size`, by label; adding a seed at the end of
    the list leaves the earlier groups (and their results) as they are."""
    return {group_label(group): group for group in _consecutive(seeds, size)}


def group_of(groups: dict[str, list[int]]) -> dict[int, str]:
    """Each seed's group label, from `seed_groups`' groups."""
    return {seed: label for label, group in groups.items() for seed in group}


def batch_label(names: Sequence[str]) -> str:
    """A curve alone keeps its own name (`seed0-mem__seed0-grok`); a batch is `batch{n}-{hash}`, the hash
    of its members, so that another membership is another job."""
    if len(names) == 1:
        return names[0]
    return f"batch{len(names)}-{hashlib.sha256(chr(10).join(names).encode()).hexdigest()[:8]}"


def curve_batches(names: Sequence[str], size: int) -> dict[str, list[str]]:
    """Curves of one kind (`{A}__{B}` names, in the order planned) in consecutive batches of `size`, by label."""
    return {batch_label(batch): batch for batch in _consecutive(names, size)}


def _consecutive(items: Sequence, size: int) -> list[list]:
    """`items` in consecutive chunks of `size`, the last one shorter if need be."""
    return [list(items[i : i + size]) for i in range(0, len(items), size)]
