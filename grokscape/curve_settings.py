"""The typed settings of path evaluation (objective, number of control points), built from the
(checked) configuration. The fit recipe has its own module (`fit_settings`): chains fit nothing."""

from __future__ import annotations

from collections.abc import Mapping

from grokscape.errors import ConfigError
from grokscape.numerics.landscape import Objective


def objective(config: Mapping) -> Objective:
    train = config["train"]
    return Objective(config["model"]["n_heads"], train["weight_decay"], train["batch_size"], l2_in_loss(train))


def l2_in_loss(train: Mapping) -> bool:
    """Whether the training's weight decay is a term of its loss: SGD's is (coupled: its gradient is added
    to the loss gradient), AdamW's is not (decoupled: the weights shrink apart from the gradient step)."""
    return train["optimizer"] == "sgd"


def n_controls(config: Mapping, kind: str) -> int:
    """Control points of a curve kind, endpoints included."""
    if kind == "segment":
        return 2
    if kind == "polyline":
        return config["polyline"]["bends"] + 2
    if kind == "bezier":
        return config["bezier"]["degree"] + 1
    raise ConfigError(f"curve kind must be segment, polyline or bezier, got {kind!r}")
