"""The paper's figures, drawn from the HDF5 tables (never from anything hard-coded)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from grokscape.data import Dataset
from grokscape.storage import atomic_write

PANELS = (("loss", "loss (CE + L2)"), ("error", "error (1 − accuracy)"), ("grad_norm", "mean stochastic grad norm"))


@dataclass(frozen=True)
class Style:
    train_color: str = "#1f77b4"
    val_color: str = "#d62728"
    dpi: int = 150


def save(fig: plt.Figure, path: str | Path, style: Style) -> None:
    """Write the figure atomically (a temporary name, then rename)."""
    with atomic_write(path) as tmp:
        fig.savefig(tmp, format=Path(path).suffix.lstrip(".") or "pdf", dpi=style.dpi, bbox_inches="tight")
    plt.close(fig)


def _accuracy_axes(ax: plt.Axes, history: Mapping[str, np.ndarray], style: Style, label: str = "") -> None:
    epochs = np.maximum(history["epoch"], 1)  # epoch 0 drawn at 1 on the log axis
    ax.plot(epochs, history["train_acc"], color=style.train_color, label=f"train{label}")
    ax.plot(epochs, history["val_acc"], color=style.val_color, label=f"validation{label}")
    ax.set_xscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.set_ylim(-0.02, 1.02)


def figure1(histories: Mapping[int, Mapping[str, np.ndarray]], dataset: Dataset, path: str, style: Style) -> None:
    """Left: accuracy vs epoch for every seed. Right: the operation table, train vs validation cells."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for index, (seed, history) in enumerate(sorted(histories.items())):
        epochs = np.maximum(history["epoch"], 1)
        dash = ("-", "--", ":", "-.")[index % 4]
        left.plot(epochs, history["train_acc"], dash, color=style.train_color, label=f"train, seed {seed}")
        left.plot(epochs, history["val_acc"], dash, color=style.val_color, label=f"validation, seed {seed}")
    left.set_xscale("log")
    left.set(xlabel="epoch", ylabel="accuracy", ylim=(-0.02, 1.02), title="accuracy")
    left.legend(fontsize=8)
    p = dataset.p
    table = np.full((p, p), np.nan)  # cells without an equation (b = 0 mod p) stay blank
    table[dataset.a.numpy(), dataset.b.numpy()] = dataset.is_train.numpy()
    cmap = matplotlib.colors.ListedColormap([style.val_color, style.train_color])
    right.imshow(table, cmap=cmap, vmin=0, vmax=1, interpolation="nearest", extent=(-0.5, p - 0.5, p - 0.5, -0.5))
    right.set(xlabel="b", ylabel="a", title=f"a ∘ b, {p} tokens: train (blue) / validation (red)")
    save(fig, path, style)


def figure3(
    histories: Mapping[int, Mapping[str, np.ndarray]],
    points: Mapping[int, Mapping],
    snapshots: Mapping[int, Sequence[int]],
    path: str,
    style: Style,
) -> None:
    """Accuracy vs epoch with the saved snapshots as red circles and points 1 and 2 marked, per seed."""
    seeds = sorted(histories)
    fig, axes = plt.subplots(1, len(seeds), figsize=(5.5 * len(seeds), 4), squeeze=False)
    for ax, seed in zip(axes[0], seeds, strict=True):
        history = histories[seed]
        _accuracy_axes(ax, history, style)
        epochs = np.asarray(history["epoch"])
        marked = np.isin(epochs, snapshots[seed]) & (epochs > 0)
        for column in ("train_acc", "val_acc"):
            ax.plot(epochs[marked], np.asarray(history[column])[marked], "o", mfc="none", color="red", ms=5)
        for key, label in (("memorized", "point 1"), ("grokked", "point 2")):
            if points[seed][key] is not None:
                ax.axvline(max(points[seed][key], 1), color="k", ls=":", lw=1)
                ax.annotate(f"{label}\n(epoch {points[seed][key]})", (max(points[seed][key], 1), 0.5), fontsize=8)
        ax.set_title(f"seed {seed}: snapshots (red circles)")
        ax.legend(fontsize=8, loc="lower right")
    save(fig, path, style)


def _panel_values(columns: Mapping[str, np.ndarray], panel: str, split: str) -> np.ndarray:
    return columns[f"{split}_{panel}"] if panel != "grad_norm" else columns["grad_norm"]


def path_panels(
    axes: Sequence[plt.Axes], columns: Mapping[str, np.ndarray], style: Style, faint: bool = False, label: str = ""
) -> None:
    """Loss, error and gradient norm vs t on three axes; `faint` draws a comparison path."""
    t = columns["t"]
    kw = {"alpha": 0.35, "ls": "--", "lw": 1} if faint else {"lw": 1.8}
    for ax, (panel, ylabel) in zip(axes, PANELS, strict=True):
        splits = ("train",) if panel == "grad_norm" else ("train", "val")
        for split in splits:
            color = style.train_color if split == "train" else style.val_color
            name = "train" if split == "train" else "validation"
            if panel == "grad_norm":
                name = "train minibatches"
            ax.plot(t, _panel_values(columns, panel, split), color=color, label=f"{name}{label}", **kw)
        ax.set(xlabel="t", ylabel=ylabel)
    axes[0].set_yscale("log")


def path_figure(paths: Sequence[tuple[Mapping[str, np.ndarray], Mapping]], path: str, style: Style) -> None:
    """Figures 2, 5, 6, 7: the first path bold, any further ones faint for comparison."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    for index, (columns, attrs) in enumerate(paths):
        path_panels(axes, columns, style, faint=index > 0, label=f" ({attrs['kind']})")
    main = paths[0][1]
    fig.suptitle(
        f"{main['kind']}: {main['start']} (epoch {main['start_epoch']}, t=0) → {main['end']} "
        f"(epoch {main['end_epoch']}, t=1)"
    )
    for ax in axes:
        ax.legend(fontsize=7)
    save(fig, path, style)


def figure4(columns: Mapping[str, np.ndarray], attrs: Mapping, path: str, style: Style) -> None:
    """Chain: first and last segment as rows of three panels, and train/validation error along it all."""
    nodes = np.asarray(columns["node_epochs"])
    fig = plt.figure(figsize=(14, 9))
    grid = fig.add_gridspec(3, 3, height_ratios=(1, 1, 0.8))
    n_segments = len(nodes) - 1
    for row, segment in enumerate((0, n_segments - 1)):
        axes = [fig.add_subplot(grid[row, i]) for i in range(3)]
        path_panels(axes, {k: v[segment] for k, v in columns.items() if k != "node_epochs"}, style)
        axes[0].set_title(f"segment {segment + 1}/{n_segments}: epoch {nodes[segment]} → {nodes[segment + 1]}")
        axes[1].legend(fontsize=7)
    strip = fig.add_subplot(grid[2, :])
    position = (columns["t"] + np.arange(n_segments)[:, None]).reshape(-1)
    strip.plot(position, columns["train_error"].reshape(-1), color=style.train_color, label="train error")
    strip.plot(position, columns["val_error"].reshape(-1), color=style.val_color, label="validation error")
    strip.set_xticks(np.arange(n_segments + 1), [str(e) for e in nodes], rotation=90, fontsize=7)
    strip.set(xlabel="chain node (epoch)", ylabel="error", title="error along the whole chain")
    strip.legend(fontsize=8)
    fig.suptitle(f"chain of segments through the snapshots of {attrs['start']} → {attrs['end']}")
    fig.tight_layout()
    save(fig, path, style)
