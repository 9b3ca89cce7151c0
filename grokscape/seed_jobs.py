"""What a training job does, for the main runs (`train`) and the sweeps (`sweep_train`) alike: train its
group of seeds as one stacked model and leave each seed's files in the job's folder, `{folder}/seed{S}/`
(history.h5, points.json and, for the main runs, checkpoints.h5), where `seed_run` and `sweep_run` file them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from grokscape.numerics.data import Dataset
from grokscape.numerics.model import ModelShape
from grokscape.numerics.training import TrainResult, TrainSettings, train_seeds
from grokscape.output.checkpoints import write_checkpoints
from grokscape.planning.points import Thresholds, points_record
from grokscape.storage import write_json, write_table

log = logging.getLogger(__name__)


def train_group(
    dataset: Dataset,
    config: Mapping[str, Any],
    seeds: Sequence[int],
    device: torch.device,
    folder: str | Path,
    resume_path: str | Path,
    attrs: Mapping[str, Any],
    keep_weights: bool,
) -> None:
    """Train `seeds` under `config` (task, model, train, points sections), resuming from `resume_path`,
    write their files with `attrs` on each history, then drop the resume state."""
    shape, thresholds = ModelShape.from_config(config), Thresholds.from_config(config)
    results = train_seeds(dataset, shape, TrainSettings.from_config(config), thresholds, seeds, device, resume_path)
    for seed, result in results.items():
        member = Path(folder) / f"seed{seed}"
        write_run_files(member, result, thresholds, {"seed": seed, **attrs}, shape if keep_weights else None)
        log.info("seed %d: memorised at epoch %s, grokked at epoch %s", seed, result.memorized, result.grokked)
    Path(resume_path).unlink(missing_ok=True)


def write_run_files(
    folder: Path, result: TrainResult, thresholds: Thresholds, attrs: Mapping[str, Any], shape: ModelShape | None
) -> None:
    """Write one run's history (with `attrs` and its points as attributes), its points and, given the model's
    `shape`, its saved weights into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    h = result.history
    points = {**points_record(h["epoch"], h["train_acc"], h["val_acc"], thresholds), "diverged": result.diverged}
    attrs = {**attrs, "memorized": points["memorized"], "grokked": points["grokked"]}
    write_table(folder / "history.h5", h, attrs)
    if shape is not None:
        write_checkpoints(folder / "checkpoints.h5", result.snapshots, {**attrs, **vars(shape)})
    write_json(folder / "points.json", points)
