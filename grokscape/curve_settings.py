"""The typed settings of path evaluation (objective, number of control points), built from the
(checked) configuration. The fit recipe has its own module (`fit_settings`): chains fit nothing."""

from __future__ import annotations

from collections.abc import Mapping

from grokscape.errors import ConfigError
from grokscape.numerics.landscape import Objective


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
