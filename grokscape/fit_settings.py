"""The fit recipe of a curve kind (`polyline:` or `bezier:` in the configuration) as FitSettings."""

from __future__ import annotations

from collections.abc import Mapping

from grokscape.curve_settings import l2_in_loss
from grokscape.numerics.fitting import FitSettings

FIT_KINDS = ("polyline", "bezier")


def fit_settings(config: Mapping, kind: str) -> FitSettings:
    if kind not in FIT_KINDS:
        return FitSettings(epochs=0)
    section = config[kind]
    return FitSettings(
        epochs=section["epochs"],
        lr=section["lr"],
        momentum=section["momentum"],
        seed=section["seed"],
        checkpoint_every=section["checkpoint_every"],
        grad_clip=section["grad_clip"],
        optimizer=section["optimizer"],
        schedule=section["schedule"],
        l2=fit_l2(config, kind),
        t_per_batch=section["t_per_batch"],
    )


def fit_l2(config: Mapping, kind: str) -> float:
    """The fit objective's L2 coefficient. `auto`: the training's weight decay when it was a loss term
    (SGD's coupled decay), none for AdamW, whose decoupled decay is not part of any loss."""
    l2 = config[kind]["l2"]
    if l2 != "auto":
        return float(l2)
    train = config["train"]
    return float(train["weight_decay"]) if l2_in_loss(train) else 0.0
