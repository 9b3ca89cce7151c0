"""A sweep's table (one row per run, read from its history and points) and its summary over seeds.

A run that never reaches a criterion within its epochs keeps its row, with the epoch empty and
`last_epoch` saying how long it was watched: leaving it out would bias every spread and fit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from grokscape.planning.points import first_epoch_reaching

EPOCH_COLUMNS = ("memorized", "grokked", "epoch_to_val_acc")
FINAL_COLUMNS = ("final_train_loss", "final_val_loss", "final_train_acc", "final_val_acc", "final_weight_norm")
SETTING_COLUMNS = {  # table column: (section, key) of the run's settings
    "train_fraction": ("task", "train_fraction"),
    "optimizer": ("train", "optimizer"),
    "lr": ("train", "lr"),
    "weight_decay": ("train", "weight_decay"),
    "init_scale": ("train", "init_scale"),
    "weight_norm": ("train", "weight_norm"),
}


def value_column(sweep: str) -> str:
    """The column holding the grid value: the sweep's name (`intervention` for the interventions)."""
    return "intervention" if sweep == "interventions" else sweep


def run_row(history: Mapping[str, np.ndarray], points: Mapping, settings: Mapping, val_acc: float) -> dict:
    """What one run contributes: its points, the epoch reaching `val_acc`, its final metrics, its settings."""
    reached = first_epoch_reaching(history["epoch"], history["val_acc"], val_acc)
    row: dict[str, Any] = {
        "memorized": points["memorized"],
        "grokked": points["grokked"],
        "epoch_to_val_acc": reached,
        "reached_val_acc": reached is not None,
        "last_epoch": int(history["epoch"][-1]),
        "diverged": points.get("diverged"),
        "initial_weight_norm": float(history["weight_norm"][0]),
    }
    for column in FINAL_COLUMNS:
        row[column] = float(history[column.removeprefix("final_")][-1])
    for column, (section, key) in SETTING_COLUMNS.items():
        row[column] = settings[section][key]
    return row


def sweep_table(
    sweep: str,
    runs: Sequence[tuple[Any, int, str]],
    histories: Sequence[Mapping[str, np.ndarray]],
    points: Sequence[Mapping],
    settings: Sequence[Mapping],
    val_acc: float,
) -> pd.DataFrame:
    """One row per (grid value, seed, run key) of `runs`, in that order; epochs never reached stay empty."""
    rows = [
        {value_column(sweep): value, "seed": seed, "run": key, **run_row(h, p, s, val_acc)}
        for (value, seed, key), h, p, s in zip(runs, histories, points, settings, strict=True)
    ]
    table = pd.DataFrame(rows)
    for column in (*EPOCH_COLUMNS, "diverged"):
        table[column] = table[column].astype("Int64")  # integers with empty cells, not floats
    return table


def seed_spread(values: Sequence[float]) -> dict:
    """Median, min and max over seeds of the values that exist, and how many exist."""
    present = np.asarray([v for v in values if v is not None and not pd.isna(v)], dtype=float)
    if present.size == 0:
        return {"n": 0, "median": None, "min": None, "max": None}
    return {
        "n": int(present.size),
        "median": float(np.median(present)),
        "min": float(present.min()),
        "max": float(present.max()),
    }


def summary(table: pd.DataFrame, sweep: str) -> list[dict]:
    """Per grid value: number of runs, and the spread over seeds of every epoch and final metric."""
    column = value_column(sweep)
    result = []
    for value, group in table.groupby(column, sort=False):
        entry = {column: value, "runs": len(group), "never_reached_val_acc": int((~group["reached_val_acc"]).sum())}
        entry.update({name: seed_spread(group[name].tolist()) for name in (*EPOCH_COLUMNS, *FINAL_COLUMNS)})
        result.append(entry)
    return result


def loglog_fit(x: Sequence[float], y: Sequence[float]) -> dict:
    """Least-squares line through (log10 x, log10 y), one point per run that reached the criterion:
    the slope with its standard error and 95 % interval, or why there is none."""
    pairs = [(a, b) for a, b in zip(x, y, strict=True) if b is not None and not pd.isna(b) and b > 0]
    if len(pairs) < 3 or len({a for a, _ in pairs}) < 2:
        return {"slope": None, "n": len(pairs), "reason": "fewer than 3 runs reached it, or all at one value"}
    lx, ly = np.log10([a for a, _ in pairs]), np.log10([b for _, b in pairs])
    fit = stats.linregress(lx, ly)
    half = float(stats.t.ppf(0.975, len(pairs) - 2) * fit.stderr)
    return {
        "slope": float(fit.slope),
        "stderr": float(fit.stderr),
        "ci95": [float(fit.slope) - half, float(fit.slope) + half],
        "intercept": float(fit.intercept),
        "r": float(fit.rvalue) if math.isfinite(fit.rvalue) else None,
        "n": len(pairs),
    }
