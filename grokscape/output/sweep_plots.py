"""The sweeps' figures, drawn from their tables (and, for the initial scale, the runs' histories).

Every run is drawn: one that never reaches a criterion appears as an open triangle at the last epoch
it was watched, labelled as such, so that a grid value where nothing generalises is visible, not missing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from grokscape.output.plotting import Style, save
from grokscape.output.sweep_tables import value_column

MEM_COLOR = "#7f7f7f"


def _epochs(ax: plt.Axes, table: pd.DataFrame, x: str, column: str, color: str, label: str) -> None:
    """Every run's epoch (dots), the median over seeds of each grid value (line), runs that never got
    there (open triangles at their last epoch). `x` may hold names (categorical axis) or numbers."""
    done = table[table[column].notna()]
    ax.plot(done[x], done[column].astype(float), "o", color=color, alpha=0.6, ms=4, label=f"{label}, each seed")
    medians = done.groupby(x, sort=False)[column].median()
    ax.plot(medians.index, medians.astype(float).values, "-", color=color, lw=1.5, label=f"{label}, median")
    never = table[table[column].isna()]
    if len(never):
        ax.plot(
            never[x],
            never["last_epoch"],
            "^",
            mfc="none",
            color=color,
            ms=7,
            label=f"{label}: not within max_epochs (at last epoch)",
        )


def _finish(ax: plt.Axes, xlabel: str, title: str, log_x: bool = True, ticks: Sequence[float] = ()) -> None:
    ax.set_yscale("log")
    if log_x:
        ax.set_xscale("log")
    _value_ticks(ax, ticks)
    ax.set(xlabel=xlabel, ylabel="epoch", title=title)
    ax.legend(fontsize=7)


def _value_ticks(ax: plt.Axes, values: Sequence[float]) -> None:
    """Ticks at the grid values, written plainly (a log axis would write 2 as 2×10⁰)."""
    if len(values):
        grid = sorted({float(v) for v in values})
        ax.set_xticks(grid, [f"{v:g}" for v in grid])
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())


def train_fraction_figure(table: pd.DataFrame, val_acc: float, path: str, style: Style) -> None:
    """Power et al.'s data-efficiency picture: epochs to memorise and to generalise against the fraction."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    _epochs(ax, table, "train_fraction", "memorized", MEM_COLOR, "memorised (points.train_acc)")
    _epochs(ax, table, "train_fraction", "grokked", style.val_color, "generalised (points.val_acc)")
    _epochs(ax, table, "train_fraction", "epoch_to_val_acc", style.train_color, f"validation accuracy ≥ {val_acc}")
    _finish(
        ax,
        "fraction of the table used for training",
        "epochs against training fraction",
        False,
        table["train_fraction"],
    )
    save(fig, path, style)


def weight_decay_figure(table: pd.DataFrame, fit: Mapping, val_acc: float, path: str, style: Style) -> None:
    """Omnigrok's time to generalise against weight decay on log-log axes, with the fitted power law."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    _epochs(ax, table, "weight_decay", "epoch_to_val_acc", style.val_color, f"validation accuracy ≥ {val_acc}")
    decays = np.sort(table["weight_decay"].unique().astype(float))
    if fit["slope"] is not None:
        low, high = fit["ci95"]
        ax.plot(
            decays,
            10 ** (fit["intercept"] + fit["slope"] * np.log10(decays)),
            "k--",
            lw=1,
            label=f"fit: slope {fit['slope']:.2f} ± {fit['stderr']:.2f} (95 %: {low:.2f} … {high:.2f}), n = {fit['n']}",
        )
        ax.set_title("epochs to generalise against weight decay (Omnigrok: slope ≈ −1)")
    else:
        ax.set_title(f"no fit: {fit['reason']}")
    _finish(ax, "weight decay", ax.get_title(), ticks=decays)
    save(fig, path, style)


def init_scale_figure(
    table: pd.DataFrame, histories: Mapping[float, Mapping[str, np.ndarray]], val_acc: float, path: str, style: Style
) -> None:
    """Left: train (dashed) and validation (solid) accuracy against epoch for each α (one seed). Right:
    epochs to memorise and to generalise against α."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.5))
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(histories)))
    for color, (scale, history) in zip(colors, sorted(histories.items()), strict=True):
        epochs = np.maximum(history["epoch"], 1)
        left.plot(epochs, history["train_acc"], "--", color=color, lw=1)
        left.plot(epochs, history["val_acc"], "-", color=color, lw=1.5, label=f"α = {scale:g}")
    left.set(xscale="log", xlabel="epoch", ylabel="accuracy (dashed: train, solid: validation)", ylim=(-0.02, 1.02))
    left.set_title(f"accuracy per initial scale α (seed {int(table['seed'].iloc[0])})")
    left.legend(fontsize=7)
    _epochs(right, table, "init_scale", "memorized", MEM_COLOR, "memorised (points.train_acc)")
    _epochs(right, table, "init_scale", "epoch_to_val_acc", style.val_color, f"validation accuracy ≥ {val_acc}")
    _finish(right, "initial scale α", "epochs against the initial scale", ticks=table["init_scale"])
    save(fig, path, style)


def weight_norm_figure(table: pd.DataFrame, path: str, style: Style) -> None:
    """The LU picture: final train and validation loss (and accuracy) at each fixed ‖w‖."""
    fig, (loss, accuracy) = plt.subplots(1, 2, figsize=(12, 4.5))
    for split, color, name in (("train", style.train_color, "train"), ("val", style.val_color, "validation")):
        for ax, metric in ((loss, "loss"), (accuracy, "acc")):
            column = f"final_{split}_{metric}"
            ax.plot(table["weight_norm"], table[column], "o", color=color, alpha=0.6, ms=4)
            medians = table.groupby("weight_norm")[column].median()
            ax.plot(medians.index, medians.values, "-", color=color, label=f"{name}, median over seeds")
    loss.set(xscale="log", yscale="log", xlabel="fixed ‖w‖₂", ylabel="final cross-entropy")
    loss.set_title("final loss at fixed weight norm (Omnigrok: train L, validation U)")
    accuracy.set(xscale="log", xlabel="fixed ‖w‖₂", ylabel="final accuracy", ylim=(-0.02, 1.02))
    accuracy.set_title(f"after {int(table['last_epoch'].max())} epochs, weight decay 0")
    for ax in (loss, accuracy):
        _value_ticks(ax, table["weight_norm"])
        ax.legend(fontsize=7)
    save(fig, path, style)


def interventions_figure(table: pd.DataFrame, val_acc: float, path: str, style: Style) -> None:
    """Power et al.'s comparison: epochs to the validation criterion per optimizer and regularisation."""
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * table["intervention"].nunique()), 4.5))
    _epochs(ax, table, "intervention", "epoch_to_val_acc", style.val_color, f"validation accuracy ≥ {val_acc}")
    _finish(ax, "", f"epochs to validation accuracy ≥ {val_acc}", log_x=False)
    ax.tick_params(axis="x", labelsize=8)
    save(fig, path, style)


def sweep_figure(
    sweep: str,
    table: pd.DataFrame,
    fit: Mapping | None,
    histories: Sequence[Mapping[str, np.ndarray]],
    val_acc: float,
    path: str,
    style: Style,
) -> None:
    """The figure of `sweep` (histories in the table's row order; the initial-scale curves use the first seed)."""
    if sweep == "train_fraction":
        train_fraction_figure(table, val_acc, path, style)
    elif sweep == "weight_decay":
        weight_decay_figure(table, fit, val_acc, path, style)
    elif sweep == "init_scale":
        first = table["seed"] == table["seed"].iloc[0]
        chosen = {float(table[value_column(sweep)][i]): histories[i] for i in np.flatnonzero(first)}
        init_scale_figure(table, chosen, val_acc, path, style)
    elif sweep == "weight_norm":
        weight_norm_figure(table, path, style)
    else:
        interventions_figure(table, val_acc, path, style)
