"""The tables of one parent's instability analysis (docs/instability.md): one row per child, one row per
pair of children at each spawn epoch and each point they are compared at, and the segments between them.

- `results/instability/seed{S}.csv`: the children (`CHILD_COLUMNS`); an empty `memorized` or `grokked` is a
  point the child did not reach by its last epoch.
- `results/instability/seed{S}_pairs.csv`: the pairs (`PAIR_COLUMNS`), barriers as Frankle et al. define them
  (`grokscape.numerics.instability`); empty where a child of the pair did not reach the point.
- `results/instability/seed{S}.h5`: both tables (groups `children`, `pairs`; a missing epoch or measure is
  NaN) and `segments/{t, metric}`, each metric of shape (pairs, n_points), NaN rows for unmeasured pairs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd

from grokscape.numerics.instability import BARRIERS
from grokscape.planning.points import POINT_KEYS
from grokscape.storage import atomic_write, set_attrs, write_array

CHILD_COLUMNS = (
    "spawn",
    "spawn_epoch",
    "child",
    "order_seed",
    "replay",
    "memorized",
    "grokked",
    "diverged",
    "last_epoch",
    "final_train_acc",
    "final_val_acc",
)
MEASURES = (*BARRIERS, "distance")
EPOCH_COLUMNS = ("memorized", "grokked", "diverged", "epoch_a", "epoch_b")  # may be missing: never reached


def child_row(history: Mapping[str, np.ndarray], attrs: Mapping[str, Any], points: Mapping[str, Any]) -> dict:
    """A child's row from its history (and the attributes its training job gave it) and its points.json."""
    row = {name: attrs[name] for name in ("spawn", "spawn_epoch", "child", "order_seed", "replay")}
    row |= {name: points[name] for name in ("memorized", "grokked", "diverged", "last_epoch")}
    return row | {"final_train_acc": float(history["train_acc"][-1]), "final_val_acc": float(history["val_acc"][-1])}


@dataclass(frozen=True)
class Pair:
    """Two children of one spawn epoch compared at point `at` (mem or grok), each at its own epoch of that
    point (None: that child never reached it, and the pair is not measured)."""

    spawn: str
    spawn_epoch: int
    child_a: int
    child_b: int
    at: str
    epoch_a: int | None
    epoch_b: int | None

    @property
    def measured(self) -> bool:
        return self.epoch_a is not None and self.epoch_b is not None

    @property
    def ends(self) -> tuple[tuple[int, int | None], tuple[int, int | None]]:
        """(child, epoch) of the segment's start and end."""
        return (self.child_a, self.epoch_a), (self.child_b, self.epoch_b)


PAIR_COLUMNS = (*Pair.__dataclass_fields__, *MEASURES)


def planned_pairs(children: Sequence[Mapping[str, Any]], parent_memorized: int | None) -> list[Pair]:
    """Every pair of children (the replay child left out) of each spawn epoch, compared at point 2 and, for a
    spawn epoch before the parent's point 1 (or a parent that never memorised), at point 1 as well."""
    spawns: dict[tuple[str, int], list[Mapping[str, Any]]] = {}
    for child in children:
        if not child["replay"]:
            spawns.setdefault((child["spawn"], child["spawn_epoch"]), []).append(child)
    pairs = []
    for (spawn, epoch), siblings in spawns.items():
        points = ["mem"] if parent_memorized is None or epoch < parent_memorized else []
        for a, b in combinations(siblings, 2):
            for at in [*points, "grok"]:
                key = POINT_KEYS[at][0]
                pairs.append(Pair(spawn, epoch, a["child"], b["child"], at, a[key], b[key]))
    return pairs


def pair_row(pair: Pair, measures: Mapping[str, float] | None) -> dict:
    """A pair's row: what it compares and, when measured, its barriers and distance."""
    return asdict(pair) | {name: (measures or {}).get(name, np.nan) for name in MEASURES}


def write_instability(
    paths: Mapping[str, str | Path],
    children: Sequence[Mapping[str, Any]],
    pairs: Sequence[Mapping[str, Any]],
    segments: Sequence[Mapping[str, np.ndarray] | None],
    attrs: Mapping[str, Any],
) -> None:
    """The CSV tables (`paths["children"]`, `paths["pairs"]`) and the HDF5 file (`paths["tables"]`) of one
    parent; `segments[i]` is pair i's segment table, None where the pair was not measured."""
    frames = {
        "children": _frame(children, CHILD_COLUMNS),
        "pairs": _frame(pairs, PAIR_COLUMNS),
    }
    for name, frame in frames.items():
        with atomic_write(paths[name]) as tmp:
            frame.to_csv(tmp, index=False)
    with atomic_write(paths["tables"]) as tmp, h5py.File(tmp, "w") as handle:
        for name, frame in frames.items():
            group = handle.create_group(name)
            for column in frame:
                write_array(group, column, _h5_column(frame[column]))
        group = handle.create_group("segments")
        measured = [table for table in segments if table is not None]
        if measured:
            write_array(group, "t", measured[0]["t"])
            for metric in (k for k in measured[0] if k != "t"):
                rows = [
                    table[metric] if table is not None else np.full(len(measured[0]["t"]), np.nan) for table in segments
                ]
                write_array(group, metric, np.stack(rows))
        set_attrs(handle, attrs)


def _frame(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=list(columns))
    for column in set(EPOCH_COLUMNS) & set(columns):
        frame[column] = frame[column].astype("Int64")  # an epoch never reached stays empty
    return frame


def _h5_column(column: pd.Series) -> np.ndarray:
    """A table column as HDF5 stores it: text as UTF-8 bytes, an epoch that may be missing as float (NaN)."""
    if pd.api.types.is_string_dtype(column):
        return np.asarray([str(value).encode() for value in column])
    if isinstance(column.dtype, pd.Int64Dtype):
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    return column.to_numpy()
