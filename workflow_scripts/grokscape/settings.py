"""The typed settings objects the library takes, built from the (checked) configuration."""

from __future__ import annotations

from collections.abc import Mapping

from grokscape.errors import ConfigError
from grokscape.fitting import FitSettings
from grokscape.landscape import Objective
from grokscape.model import ModelShape
from grokscape.points import Thresholds
from grokscape.training import TrainSettings

FIT_KINDS = ("polyline", "bezier")


def model_shape(config: Mapping) -> ModelShape:
    model = config["model"]
    return ModelShape(config["task"]["p"], model["d_model"], model["n_heads"], model["d_mlp"])


def train_settings(config: Mapping) -> TrainSettings:
    train = config["train"]
    return TrainSettings(**{k: v for k, v in train.items() if k != "seeds"})


def thresholds(config: Mapping) -> Thresholds:
    return Thresholds(**config["points"])


def objective(config: Mapping) -> Objective:
    train = config["train"]
    return Objective(config["model"]["n_heads"], train["weight_decay"], train["batch_size"])


def n_controls(config: Mapping, kind: str) -> int:
    """Control points of a curve kind, endpoints included."""
    if kind == "segment":
        return 2
    if kind == "polyline":
        return config["polyline"]["bends"] + 2
    if kind == "bezier":
        return config["bezier"]["degree"] + 1
    raise ConfigError(f"curve kind must be segment, polyline or bezier, got {kind!r}")


def fit_settings(config: Mapping, kind: str) -> FitSettings:
    if kind not in FIT_KINDS:
        return FitSettings(epochs=0)
    section = config[kind]
    return FitSettings(
        section["epochs"],
        section["lr"],
        section["momentum"],
        section["seed"],
        checkpoint_every=section["checkpoint_every"],
        grad_clip=section["grad_clip"],
    )
