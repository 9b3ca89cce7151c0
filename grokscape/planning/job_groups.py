"""Which seeds train together, and which curves are evaluated together, in one job; decided when the
workflow is planned.

A one-layer model at batch 512 leaves a GPU idle, so on a GPU all seeds train in one job (one stacked
model) and all curves of a kind are fitted and evaluated in one job; on a 2-core CPU one seed or one
curve per job, jobs side by side, is the fastest (benchmarks/README.md). Deliberately free of torch,
so that Snakemake starts fast: a GPU is "visible" when the NVIDIA driver lists one.

A job's label names its members by themselves (`seeds0-31`: the configured seeds from 0 to 31;
`batch0-14`: the first 15 curves of a kind), whatever group size was chosen. A cluster job re-reads the
workflow on its own node, which may see a GPU where the planning machine saw none: it must find the same
members, and so it reads them from its label, not from a plan of its own.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from grokscape.errors import ConfigError

GROUP_PATTERN = r"seeds[0-9]+(?:-[0-9]+)?"
BATCH_PATTERN = r"batch[0-9]+-[0-9]+"


def gpu_visible() -> bool:
    """Whether this machine has an NVIDIA GPU that CUDA would show (without importing torch)."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    gpus = Path("/proc/driver/nvidia/gpus")
    return gpus.is_dir() and any(gpus.iterdir())


def gpu_requested(resources: Mapping[str, object]) -> bool:
    """Whether a rule's Snakemake resources give its jobs a GPU: `gpu` or `gpus` above 0 (a count, or
    `a100:2`) or a `gres` naming one (`gpu:a100:1`), as the SLURM profile and --set-resources write them."""
    for name in ("gpu", "gpus"):
        count = str(resources.get(name) or 0).rsplit(":", 1)[-1]
        if count.isdigit() and int(count) > 0:
            return True
    return "gpu" in str(resources.get("gres") or "")


def per_job(setting: int | str, device: str, n_items: int, gpu: bool) -> int:
    """`train.seeds_per_job`, `paths.per_job` or `sweeps.seeds_per_job` for `n_items` items (see `job_size`)."""
    size = job_size(setting, device, gpu)
    return max(n_items, 1) if size is None else size


def job_size(setting: int | str, device: str, gpu: bool) -> int | None:
    """Items per job: `auto` means every item in one job (None) where the jobs have a GPU (`gpu`), one item a
    job on a CPU."""
    if setting != "auto":
        return int(setting)
    on_gpu = device == "cuda" or (device == "auto" and gpu)
    return None if on_gpu else 1


def group_label(seeds: Sequence[int]) -> str:
    """`seeds3` for one seed, `seeds0-31` for a group (its first and last seed)."""
    return f"seeds{seeds[0]}" if len(seeds) == 1 else f"seeds{seeds[0]}-{seeds[-1]}"


def seed_groups(seeds: Sequence[int], size: int) -> dict[str, list[int]]:
    """The configured seeds in consecutive groups of `size`, by label; adding a seed at the end of
    the list leaves the earlier groups (and their results) as they are."""
    return {group_label(group): group for group in _consecutive(seeds, size)}


def group_members(label: str, seeds: Sequence[int], setting: str) -> list[int]:
    """The seeds of the group `label`: the configured `seeds` from its first to its last (`setting`, the
    configuration key of the seeds, names them in the error)."""
    first, _, last = label.removeprefix("seeds").partition("-")
    ends = [int(first), int(last or first)]
    members = list(seeds[seeds.index(ends[0]) : seeds.index(ends[1]) + 1]) if set(ends) <= set(seeds) else []
    if not members:
        raise ConfigError(f"config error: {setting}: group {label} asked for; configured seeds {list(seeds)}")
    return members


def group_of(seed: int, groups: Mapping[str, Sequence[int]], setting: str) -> tuple[str, list[int]]:
    """(label, seeds) of the planned group (`seed_groups`) that trains `seed`, for the rules that file a seed's
    outputs (`seed_run`, `sweep_run`); `setting`, the configuration key of the seeds, names them in the error."""
    for label, members in groups.items():
        if int(seed) in members:
            return label, list(members)
    configured = [s for members in groups.values() for s in members]
    raise ConfigError(f"config error: {setting}: seed {seed} asked for, configured {configured}")


def curve_batches(names: Sequence[str], size: int) -> dict[str, list[str]]:
    """Curves of one kind (`{A}__{B}` names, in the order planned) in consecutive batches of `size`, by
    label: a curve alone keeps its own name (`seed0-mem__seed0-grok`), a batch is `batch{i}-{j}`, its
    first and last curve's places in `names`."""
    chunks = _consecutive(range(len(names)), size)
    return {names[c[0]] if len(c) == 1 else f"batch{c[0]}-{c[-1]}": [names[i] for i in c] for c in chunks}


def names_in_batch(label: str, names: Sequence[str], kind: str) -> list[str]:
    """The curves of the batch `label` among a kind's planned `names`; a label that is no batch is the name
    of one curve, alone (a path asked for by name)."""
    if not re.fullmatch(BATCH_PATTERN, label):
        return [label]
    first, last = (int(place) for place in label.removeprefix("batch").split("-"))
    if not first < last < len(names):
        raise ConfigError(f"config error: paths: {kind} batch {label} asked for; {len(names)} {kind} curves planned")
    return list(names[first : last + 1])


def _consecutive(items: Sequence, size: int) -> list[list]:
    """`items` in consecutive chunks of `size`, the last one shorter if need be."""
    return [list(items[i : i + size]) for i in range(0, len(items), size)]
