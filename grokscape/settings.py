"""The typed training settings the library takes, built from the (checked) configuration.

Paths have their own module (`curve_settings`), so that a change to fitting or path evaluation
never reruns training."""

from __future__ import annotations

from collections.abc import Mapping

from grokscape.numerics.model import ModelShape
from grokscape.numerics.training import TrainSettings
from grokscape.planning.points import THRESHOLD_KEYS, Thresholds


def model_shape(config: Mapping) -> ModelShape:
    model = config["model"]
    return ModelShape(config["task"]["p"], model["d_model"], model["n_heads"], model["d_mlp"])


def train_settings(config: Mapping) -> TrainSettings:
    train = config["train"]
    return TrainSettings(**{k: v for k, v in train.items() if k not in ("seeds", "seeds_per_job")})


def thresholds(config: Mapping) -> Thresholds:
    return Thresholds(**{key: config["points"][key] for key in THRESHOLD_KEYS})
