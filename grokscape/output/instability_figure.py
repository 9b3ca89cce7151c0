"""The figure of one parent's instability analysis (`results/instability/seed{S}.pdf`), from its tables:
Frankle et al.'s barriers between the children against the spawn epoch, and the children's grokking epochs
against it, the parent's points 1 and 2 marked. Every child is drawn: one that never grokked appears as an
open triangle at its last epoch."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from grokscape.output.plotting import Style, save

POINT_STYLE = {"grok": ("o", "-", "at their points 2"), "mem": ("s", ":", "at their points 1")}


def instability_figure(
    children: pd.DataFrame, pairs: pd.DataFrame, parent: Mapping[str, Any], path: str, style: Style
) -> None:
    """Three panels against the spawn epoch: error barriers, cross-entropy barrier and distance, grokking
    epochs (`parent`: seed, memorized, grokked)."""
    fig, (errors, loss, epochs) = plt.subplots(1, 3, figsize=(16, 4.6))
    for at, (marker, line, where) in POINT_STYLE.items():
        compared = pairs[pairs["at"] == at].sort_values("spawn_epoch")
        for column, color, what in (
            ("train_error_barrier", style.train_color, "train error"),
            ("val_error_barrier", style.val_color, "validation error"),
        ):
            _barrier(errors, compared, column, color, marker, line, f"{what}, {where}")
        _barrier(loss, compared, "loss_barrier", "k", marker, line, f"cross-entropy, {where}")
    distance = loss.twinx()
    grokked = pairs[pairs["at"] == "grok"].sort_values("spawn_epoch")
    distance.plot(grokked["spawn_epoch"], grokked["distance"], "d--", color="grey", ms=4, lw=1, label="‖w_a − w_b‖")
    distance.set_ylabel("‖w_a − w_b‖ at points 2", color="grey")
    errors.set(ylabel="barrier (max − mean of ends)", title="error barrier between children")
    loss.set(ylabel="barrier (max − mean of ends)", title="cross-entropy barrier and distance")
    _grokking_epochs(epochs, children, parent)
    for ax in (errors, loss, epochs):
        for key, dash, label in (("memorized", ":", "parent's point 1"), ("grokked", "--", "parent's point 2")):
            if parent.get(key) is not None:
                ax.axvline(parent[key], color="k", ls=dash, lw=1, alpha=0.6, label=label)
        ax.set_xlabel("spawn epoch k")
    (handles, labels), (more_handles, more_labels) = (ax.get_legend_handles_labels() for ax in (loss, distance))
    loss.legend(handles + more_handles, labels + more_labels, fontsize=7)  # the distance (own axis) in one legend
    errors.legend(fontsize=7)
    epochs.legend(fontsize=7)
    fig.suptitle(f"seed {parent['seed']}: children spawned at epoch k with other minibatch orders")
    fig.tight_layout()
    save(fig, path, style)


def _barrier(ax: plt.Axes, pairs: pd.DataFrame, column: str, color: str, marker: str, line: str, label: str) -> None:
    """Every pair's barrier (markers) and the mean over pairs of each spawn epoch (line)."""
    if pairs[column].notna().any():
        ax.plot(pairs["spawn_epoch"], pairs[column], marker, color=color, mfc="none", ms=5)
        means = pairs.groupby("spawn_epoch")[column].mean()
        ax.plot(means.index, means.values, line, color=color, lw=1.3, label=label)


def _grokking_epochs(ax: plt.Axes, children: pd.DataFrame, parent: Mapping[str, Any]) -> None:
    """Each child's grokking epoch against its spawn epoch, the spread (min to max) of each spawn epoch's
    children as a bar, the parent's grokking epoch as a line; the replay child as a cross."""
    ordinary, replay = children[~children["replay"]], children[children["replay"]]
    done = ordinary[ordinary["grokked"].notna()]
    ax.plot(done["spawn_epoch"], done["grokked"].astype(float), "o", color="C2", ms=5, label="children")
    spread = done.groupby("spawn_epoch")["grokked"].agg(["min", "max"]).astype(float)
    ax.vlines(spread.index, spread["min"], spread["max"], color="C2", lw=2, alpha=0.5, label="spread")
    if len(replay):
        ax.plot(replay["spawn_epoch"], replay["grokked"].astype(float), "x", color="k", ms=7, label="replay child")
    never = children[children["grokked"].isna()]
    if len(never):
        ax.plot(never["spawn_epoch"], never["last_epoch"], "^", mfc="none", color="C3", ms=7, label="never grokked")
    if parent.get("grokked") is not None:  # the parent's own grokking epoch, the children's reference (I2)
        ax.axhline(parent["grokked"], color="C2", ls="--", lw=1, alpha=0.6, label="parent's grokking epoch")
    ax.set(ylabel="child's grokking epoch (point 2)", title="when the children grok")
