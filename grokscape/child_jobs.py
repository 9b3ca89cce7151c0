"""What an instability training job does (docs/instability.md): train some children of one snapshot of a
parent seed as one stacked model and leave each child's files in the job's folder, `{folder}/child{c}/`
(history.h5 from the spawn epoch on, points.json, and checkpoints.h5 holding the spawn epoch, the child's
points 1 and 2 and its last epoch), where the rule `instability_child` files them."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from grokscape.errors import ConfigError
from grokscape.numerics.data import Dataset
from grokscape.numerics.model import ModelShape, Params
from grokscape.numerics.training import Fork, TrainResult, TrainSettings, train_seeds
from grokscape.planning.children import Child, optimizer_state
from grokscape.planning.endpoints import Endpoint
from grokscape.planning.points import Thresholds
from grokscape.seed_jobs import write_run_files

log = logging.getLogger(__name__)


def spawn_epoch(parent: int, spawn: str, points: Mapping[str, Any]) -> int:
    """The epoch a spawn name (`e{EPOCH}`, `mem`, `grok`) stands for in the parent's run (`points`, its
    points.json), or one clear line naming the setting when the run never got there."""
    epoch = Endpoint.parse(f"seed{parent}-{spawn}").epoch(points)  # names an unreached point itself
    if epoch > points["last_epoch"]:
        raise ConfigError(
            f"config error: instability.spawn_epochs: {epoch} is after the end of seed {parent}'s run "
            f"(its last epoch is {points['last_epoch']}): spawn at a saved epoch of the run, or mem, grok"
        )
    return epoch


def train_children(
    dataset: Dataset,
    config: Mapping[str, Any],
    fork_at: tuple[int, str, int],
    weights: Params,
    children: Sequence[Child],
    device: torch.device,
    folder: str | Path,
    resume_path: str | Path,
) -> None:
    """Train `children` of the parent's `weights` saved at its epoch, `fork_at` = (parent seed, spawn name,
    epoch), under the parent's `config` (task, model, train, points), resuming from `resume_path`; write
    their files into `folder`, then drop the resume state."""
    parent, spawn, epoch = fork_at
    shape, thresholds = ModelShape.from_config(config), Thresholds.from_config(config)
    fork = Fork(epoch, weights, {child.index: (child.order_seed, child.draws_before(epoch)) for child in children})
    members = [child.index for child in children]
    settings = TrainSettings.from_config(config)
    results = train_seeds(dataset, shape, settings, thresholds, members, device, resume_path, fork)
    attrs = {
        "parent": parent,
        "spawn": spawn,
        "spawn_epoch": epoch,
        "optimizer_state": optimizer_state(config["train"]),
    }
    for child in children:
        result = _kept_weights(results[child.index], epoch)
        child_attrs = {**attrs, "child": child.index, "order_seed": child.order_seed, "replay": child.replay}
        write_run_files(
            Path(folder) / f"child{child.index}", result, thresholds, {**child_attrs, "settings": config}, shape
        )
        log.info(
            "seed %d %s child %d: memorised at epoch %s, grokked at epoch %s",
            parent,
            spawn,
            child.index,
            result.memorized,
            result.grokked,
        )
    Path(resume_path).unlink(missing_ok=True)


def _kept_weights(result: TrainResult, epoch: int) -> TrainResult:
    """The run with the weights a child keeps: at the spawn epoch, its points 1 and 2 and its last epoch
    (the snapshots in between are the parent's business, and would cost a megabyte each at the paper's size)."""
    kept = {epoch, result.memorized, result.grokked, max(result.snapshots)}
    return replace(result, snapshots={e: w for e, w in result.snapshots.items() if e in kept})
