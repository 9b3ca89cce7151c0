"""Segments between the children of one snapshot (docs/instability.md): loss, error and gradient norm
along each, evaluated together in batched passes (`paths_metrics`), and their barriers as Frankle et al.
(2020) define them for instability analysis.

Frankle et al.'s barrier is the maximum along t minus the MEAN of the two ends. It differs from the barrier
of `results/paths/summary.csv` and the claims (the maximum minus the LARGER end): between two children that
ended at different errors, the mean counts the worse child's excess as part of the barrier.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from grokscape.numerics.curves import polyline_coefficients, stack_controls
from grokscape.numerics.data import Dataset
from grokscape.numerics.landscape import Objective, paths_metrics
from grokscape.numerics.model import Params

# The barriers of a segment between two children, and the column each one is taken over: train error,
# validation error, and the training set's cross-entropy (the loss without its L2 term).
BARRIERS = {"train_error_barrier": "train_error", "val_error_barrier": "val_error", "loss_barrier": "train_ce"}


def barrier_over_mean_of_ends(values: np.ndarray) -> float:
    """max over t − (value at t = 0 + value at t = 1) / 2 (Frankle et al.). Never negative (the ends lie on the
    path); between unequal ends it counts half their gap even along a straight rise."""
    values = np.asarray(values, dtype=np.float64)
    return float(values.max() - (values[0] + values[-1]) / 2)


def barriers(table: dict[str, np.ndarray]) -> dict[str, float]:
    """The barriers of one evaluated segment, by the names of `BARRIERS`."""
    return {name: barrier_over_mean_of_ends(table[column]) for name, column in BARRIERS.items()}


def segment_tables(
    ends: Sequence[tuple[Params, Params]],
    n_points: int,
    dataset: Dataset,
    objective: Objective,
    device: torch.device,
    t_chunk: int,
) -> list[dict[str, np.ndarray]]:
    """The segments between each pair of weights in `ends`, at `n_points` evenly spaced t: `t` and the
    metrics of `paths_metrics`, shape (n_points,), one table per segment, all evaluated together."""
    if not ends:
        return []
    t = torch.linspace(0, 1, n_points, dtype=torch.float64)
    curves = [{k: v.to(device) for k, v in stack_controls([a, b]).items()} for a, b in ends]
    tables = paths_metrics(curves, polyline_coefficients(t, 2), dataset.to(device), objective, t_chunk)
    return [{"t": t.numpy(), **table} for table in tables]
