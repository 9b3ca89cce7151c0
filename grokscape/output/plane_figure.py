"""The contour figure of a curve's plane: train loss, train error and validation error over the grid,
with the curve and its three control points drawn in (Garipov et al. 2018, figures 1-2)."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm
from mpl_toolkits.axes_grid1 import make_axes_locatable

from grokscape.output.plotting import Style, loss_label, save

LABELS = ("A", "θ", "B")


def plane_figure(columns: Mapping[str, np.ndarray], attrs: Mapping, path: str, style: Style) -> None:
    """Three panels of filled contours over plane coordinates (distances in weight space from w_A)."""
    x, y, curve, controls = columns["x"], columns["y"], columns["curve"], columns["controls"]
    height = 4.6 * (y[-1] - y[0]) / (x[-1] - x[0])  # panels drawn to scale, 4.6 inches wide
    fig, axes = plt.subplots(1, 3, figsize=(16, min(max(height, 2.5), 6) + 0.8))
    titles = (f"train {loss_label(attrs)}, log scale", "train error", "validation error")
    for ax, name, title in zip(axes, ("train_loss", "train_error", "val_error"), titles, strict=True):
        values = columns[name]
        if name == "train_loss":  # spans orders of magnitude from the valley to the barrier
            levels = np.geomspace(values.min(), values.max(), 25)
            filled = ax.contourf(x, y, values, levels=levels, norm=LogNorm(), cmap="viridis")
        else:
            levels = np.linspace(0, 1, 21)
            filled = ax.contourf(x, y, values, levels=levels, cmap="viridis")
        ax.set_aspect("equal")  # x and y are both distances in weight space
        bar = make_axes_locatable(ax).append_axes("right", size="4%", pad=0.08)
        fig.colorbar(filled, cax=bar, ticks=levels[::4], format="%.3g")
        ax.plot(curve[:, 0], curve[:, 1], color="white", lw=2, label=f"fitted {attrs['kind']}")
        ax.plot(controls[[0, 2], 0], controls[[0, 2], 1], color="white", lw=1, ls="--", label="segment A → B")
        ax.plot(controls[:, 0], controls[:, 1], "o", color="white", mec="black", ms=7)
        for (cx, cy), label in zip(controls, LABELS, strict=True):
            ax.annotate(label, (cx, cy), textcoords="offset points", xytext=(6, -14), color="white", fontsize=11)
        ax.set(title=title, xlabel="along w_B − w_A", ylabel="across, towards θ")
    fig.suptitle(
        f"plane of the {attrs['kind']} A = {attrs['start']} (epoch {attrs['start_epoch']}) → "
        f"B = {attrs['end']} (epoch {attrs['end_epoch']}), bend θ; "
        f"max train error along the curve {attrs['max_train_error']:.3g}"
    )
    axes[1].legend(loc="upper right", fontsize=8, facecolor="0.35", labelcolor="white", framealpha=0.8)
    fig.tight_layout()
    save(fig, path, style)
