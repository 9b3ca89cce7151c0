"""The paper's figures, drawn from the HDF5 tables (never from anything hard-coded)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from grokscape.numerics.data import Dataset
from grokscape.planning.path_names import connects
from grokscape.storage import atomic_write


def loss_label(attrs: Mapping) -> str:
    """The name of a table's `*_loss` columns, from its `l2_in_loss` attribute: the training objective is
    cross-entropy + (weight_decay/2)·‖w‖² under SGD's coupled decay, the cross-entropy alone under AdamW's."""
    return "loss (CE + L2)" if attrs["l2_in_loss"] else "loss (CE; decoupled decay, no L2 term)"


def panels(attrs: Mapping) -> tuple[tuple[str, str], ...]:
    """(column stem, axis label) of the three panels of a path: loss, error, gradient norm."""
    return (("loss", loss_label(attrs)), ("error", "error (1 − accuracy)"), ("grad_norm", "mean stochastic grad norm"))


@dataclass(frozen=True)
class Style:
    train_color: str
    val_color: str
    dpi: int

    @classmethod
    def from_config(cls, settings: Mapping) -> Style:
        """From the checked configuration's `plot` section (or a rule's settings)."""
        return cls(**settings["plot"])


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


def mark_collapses(ax: plt.Axes, record: Mapping, label: str, marker: str = "v") -> None:
    """The collapses of one seed (its collapses.json): a marker at each dip's deepest epoch, and the level."""
    ax.axhline(record["level"], color="k", lw=0.6, ls=":")
    dips = record["collapses"]
    epochs = [max(dip["epoch"], 1) for dip in dips]
    ax.plot(epochs, [dip["train_acc"] for dip in dips], marker, color="k", mfc="none", ms=6, ls="none", label=label)


def collapse_label(record: Mapping) -> str:
    """How many dips below the level, and the lowest train accuracy after point 1."""
    deepest = record["deepest_collapse"]
    lowest = "" if deepest is None else f", lowest {deepest:.3g}"
    return f"{len(record['collapses'])} collapses below {record['level']:.3g}{lowest}"


def figure1(
    histories: Mapping[int, Mapping[str, np.ndarray]],
    collapses: Mapping[int, Mapping],
    dataset: Dataset,
    path: str,
    style: Style,
) -> None:
    """Left: accuracy vs epoch for every seed, with the collapses after point 1 (train accuracy dipping below
    the level of `points.collapse_margin`) marked. Right: the operation table, train vs validation cells."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for index, (seed, history) in enumerate(sorted(histories.items())):
        epochs = np.maximum(history["epoch"], 1)
        dash = ("-", "--", ":", "-.")[index % 4]
        left.plot(epochs, history["train_acc"], dash, color=style.train_color, label=f"train, seed {seed}")
        left.plot(epochs, history["val_acc"], dash, color=style.val_color, label=f"validation, seed {seed}")
        marker = ("v", "^", "s", "D")[index % 4]
        mark_collapses(left, collapses[seed], f"seed {seed}: {collapse_label(collapses[seed])}", marker)
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
    collapses: Mapping[int, Mapping],
    snapshots: Mapping[int, Sequence[int]],
    path: str,
    style: Style,
) -> None:
    """Accuracy vs epoch with the saved snapshots as red circles, points 1 and 2 and the collapses (black
    triangles) marked, per seed: what the chain through the snapshots sees, and what happens between them."""
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
                x = max(points[seed][key], 1)
                ax.axvline(x, color="k", ls=":", lw=1)
                # written along the line, left of it, so it never runs into the next panel
                ax.text(
                    x,
                    0.5,
                    f"{label} (epoch {points[seed][key]}) ",
                    rotation=90,
                    ha="right",
                    va="center",
                    fontsize=8,
                    transform=ax.get_xaxis_transform(),
                )
        mark_collapses(ax, collapses[seed], collapse_label(collapses[seed]))
        ax.set_title(f"seed {seed}: snapshots (red circles), collapses (triangles)")
        ax.legend(fontsize=8, loc="lower right")
    save(fig, path, style)


def _panel_values(columns: Mapping[str, np.ndarray], panel: str, split: str) -> np.ndarray:
    return columns[f"{split}_{panel}"] if panel != "grad_norm" else columns["grad_norm"]


def path_panels(axes: Sequence[plt.Axes], columns: Mapping[str, np.ndarray], attrs: Mapping, style: Style) -> None:
    """Loss (the objective; where it holds the L2 term, cross-entropy alone dashed), error and gradient norm vs t."""
    t = columns["t"]
    for ax, (panel, ylabel) in zip(axes, panels(attrs), strict=True):
        splits = ("train",) if panel == "grad_norm" else ("train", "val")
        for split in splits:
            color = style.train_color if split == "train" else style.val_color
            name = "train" if split == "train" else "validation"
            if panel == "grad_norm":
                name = "train minibatches"
            ax.plot(t, _panel_values(columns, panel, split), color=color, lw=1.8, label=name)
            if panel == "loss" and attrs["l2_in_loss"]:
                ax.plot(t, columns[f"{split}_ce"], color=color, lw=1, ls="--", label=f"{name} cross-entropy only")
        ax.set(xlabel="t", ylabel=ylabel)
    axes[0].set_yscale("log")


def _path_title(attrs: Mapping) -> str:
    return (
        f"{attrs['kind']}: {attrs['start']} (epoch {attrs['start_epoch']}, t=0) → {attrs['end']} "
        f"(epoch {attrs['end_epoch']}, t=1)"
    )


def path_figure(paths: Sequence[tuple[Mapping[str, np.ndarray], Mapping]], path: str, style: Style, note: str) -> None:
    """Figures 2, 5, 6, 7: one row per path, each on its own scales, so a comparison segment with a
    large barrier never flattens the curve the figure is about; one legend below all panels; `note`, when
    not empty, says why the figure draws other seeds than the first (`Plan.figure_note`)."""
    curvature = any("sharpness_t" in columns for columns, _ in paths)  # a fourth panel: sharpness
    n_panels = 4 if curvature else 3
    fig, axes = plt.subplots(len(paths), n_panels, figsize=(4.7 * n_panels, 3.6 * len(paths)), squeeze=False)
    for row, (columns, attrs) in zip(axes, paths, strict=True):
        path_panels(row[:3], columns, attrs, style)
        if curvature and "sharpness_t" in columns:
            sharpness_panel(row[3], columns["sharpness_t"], columns)
            row[3].set_xlabel("t")
        elif curvature:
            row[3].axis("off")
        row[1].set_title(_path_title(attrs), fontsize=10)
    legend = {label: h for ax in axes[0] for h, label in zip(*ax.get_legend_handles_labels(), strict=True)}
    if note:
        fig.suptitle(note, fontsize=10)
    fig.tight_layout(rect=(0, 0.06 / len(paths), 1, 1))
    fig.legend(legend.values(), legend.keys(), loc="lower center", ncol=len(legend), fontsize=8, frameon=False)
    save(fig, path, style)


def sharpness_panel(
    ax: plt.Axes, x: np.ndarray, columns: Mapping[str, np.ndarray], color: str = "k", label: str = "top eigenvalue"
) -> None:
    """Top Hessian eigenvalue against x: converged points filled, unconverged ones as red crosses
    (an unconverged Lanczos value is only a lower bound of the top eigenvalue)."""
    value, ok = np.asarray(columns["top_eigenvalue"]), np.asarray(columns["eigenvalue_converged"], dtype=bool)
    ax.plot(x, value, "-", color=color, lw=1)
    ax.plot(x[ok], value[ok], "o", color=color, ms=4, label=label)
    if not ok.all():
        ax.plot(x[~ok], value[~ok], "x", color="red", ms=7, mew=2, label="Lanczos did not converge")
    ax.set_ylabel("top Hessian eigenvalue")


def sharpness_figure(seeds: Sequence[tuple[Mapping[str, np.ndarray], Mapping]], path: str, style: Style) -> None:
    """Sharpness through training: top eigenvalue (with 2/lr, the edge of stability of (S)GD) and Hutchinson's
    trace (± one standard error) against epoch, one colour per seed, points 1 and 2 marked."""
    fig, (top, trace) = plt.subplots(1, 2, figsize=(13, 4.5))
    for index, (columns, attrs) in enumerate(seeds):
        epoch, color, label = np.asarray(columns["epoch"]), f"C{index}", f"seed {attrs['seed']}"
        sharpness_panel(top, epoch, columns, color, label)
        trace.errorbar(
            epoch,
            columns["hessian_trace"],
            yerr=columns["hessian_trace_stderr"],
            fmt="-o",
            color=color,
            ms=3,
            lw=1,
            capsize=2,
            label=label,
        )
        for key, dash in (("memorized", ":"), ("grokked", "--")):
            if attrs.get(key) is not None:
                for ax in (top, trace):
                    ax.axvline(attrs[key], color=color, ls=dash, lw=1)
    lr = seeds[0][1]["lr"]
    top.axhline(2 / lr, color="grey", ls="-.", lw=1.2, label=f"2/lr = {2 / lr:.3g}, edge of stability of (S)GD")
    top.set(xlabel="epoch", title="top Hessian eigenvalue of the training objective")
    trace.set(xlabel="epoch", ylabel="Hessian trace (Hutchinson ± 1 s.e.)", title="Hessian trace")
    handles = {label: h for ax in (top, trace) for h, label in zip(*ax.get_legend_handles_labels(), strict=True)}
    for dash, label in ((":", "point 1 (memorised)"), ("--", "point 2 (generalised)")):
        handles[label] = matplotlib.lines.Line2D([], [], color="k", ls=dash, lw=1)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    fig.legend(handles.values(), handles.keys(), loc="lower center", ncol=3, fontsize=8, frameon=False)
    save(fig, path, style)


def fits_figure(fits: Sequence[tuple[np.ndarray, Mapping]], zero_error: float, path: str, style: Style) -> None:
    """The fit objective against epoch (over all its rounds) for every fitted curve, and whether it connects:
    convergence at a glance."""
    fig, ax = plt.subplots(figsize=(9, 5))
    for fit_loss, attrs in fits:
        worst = attrs["max_train_error"]
        verdict = "connects" if connects(worst, zero_error) else "does NOT connect"
        rounds = f"{attrs['fit_rounds']} round(s) of {attrs['fit_epochs'] // max(attrs['fit_rounds'], 1)} epochs"
        label = f"{attrs['kind']} {attrs['start']} → {attrs['end']}: {rounds}, max train error {worst:.3g}, {verdict}"
        epochs = np.arange(1, len(fit_loss) + 1)
        (line,) = ax.plot(epochs, fit_loss, lw=0.5, alpha=0.3)
        window = max(1, len(fit_loss) // 50)  # the epoch-to-epoch noise of one t per minibatch, averaged out
        smooth = np.convolve(fit_loss, np.ones(window) / window, mode="valid")
        ax.plot(epochs[window - 1 :], smooth, color=line.get_color(), lw=1.6, label=label)
    ax.set(xlabel="fit epoch", ylabel="fit objective per epoch (bold: running mean)", yscale="log")
    ax.set_title("convergence of the fitted curves")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=1, frameon=False)
    save(fig, path, style)


def figure4(columns: Mapping[str, np.ndarray], attrs: Mapping, path: str, style: Style, note: str) -> None:
    """Chain: first and last segment as rows of three panels, then loss, error and gradient norm along
    the whole chain (what C3 compares); `note` as in `path_figure`."""
    nodes = np.asarray(columns["node_epochs"])
    fig = plt.figure(figsize=(14, 11))
    grid = fig.add_gridspec(3, 3, height_ratios=(1, 1, 1.1))
    n_segments = len(nodes) - 1
    for row, segment in enumerate((0, n_segments - 1)):
        axes = [fig.add_subplot(grid[row, i]) for i in range(3)]
        path_panels(axes, {k: v[segment] for k, v in columns.items() if k != "node_epochs"}, attrs, style)
        axes[0].set_title(f"segment {segment + 1}/{n_segments}: epoch {nodes[segment]} → {nodes[segment + 1]}")
        axes[1].legend(fontsize=7)
    position = (columns["t"] + np.arange(n_segments)[:, None]).reshape(-1)
    strips = [fig.add_subplot(grid[2, i]) for i in range(3)]
    for ax, (panel, ylabel) in zip(strips, panels(attrs), strict=True):
        for split in ("train",) if panel == "grad_norm" else ("train", "val"):
            color = style.train_color if split == "train" else style.val_color
            ax.plot(position, _panel_values(columns, panel, split).reshape(-1), color=color, lw=1)
        ax.set_xticks(np.arange(n_segments + 1), [str(e) for e in nodes], rotation=90, fontsize=6)
        ax.set(xlabel="chain node (epoch)", ylabel=ylabel, title=f"{ylabel} along the whole chain")
    strips[0].set_yscale("log")
    fig.suptitle(f"chain of segments through the snapshots of {attrs['start']} → {attrs['end']}" + _line(note))
    fig.tight_layout()
    save(fig, path, style)


def alignment_figure(
    paths: Sequence[tuple[Mapping[str, np.ndarray], Mapping]], path: str, style: Style, note: str
) -> None:
    """Figure 8: train error, validation error and train loss along segments between two seeds, each drawn
    dashed between the seeds' own weights and solid with the second aligned to the first (`B@A`); `note` as
    in `path_figure`."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    colors = {}
    for columns, attrs in paths:
        aligned = "@" in attrs["end"]
        pair = f"{attrs['start']} → {attrs['end'].split('@')[0]}"
        color = colors.setdefault(pair, f"C{len(colors)}")
        label = f"{pair}, {'aligned' if aligned else 'raw'}"
        for ax, metric in zip(axes, ("train_error", "val_error", "train_loss"), strict=True):
            ax.plot(columns["t"], columns[metric], color=color, ls="-" if aligned else "--", lw=1.6, label=label)
    labels = ("train error", "validation error", f"train {loss_label(paths[0][1])}")
    for ax, ylabel in zip(axes, labels, strict=True):
        ax.set(xlabel="t", ylabel=ylabel)
    axes[2].set_yscale("log")
    fig.suptitle(
        "segments between two seeds: raw (dashed) and after aligning the second to the first (solid)" + _line(note)
    )
    handles, labels = axes[0].get_legend_handles_labels()
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8, frameon=False)
    save(fig, path, style)


def _line(note: str) -> str:
    """`note` on a line of its own below a title, or nothing."""
    return f"\n{note}" if note else ""
