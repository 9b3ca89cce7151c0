"""grokscape's two questions about instability (docs/instability.md), not claims of the paper, decided per
parent seed from its instability tables and reported as the paper's claims are ("holds for k of N").

- I1: children spawned at point 1 or later end, at their points 2, in one linearly connected region: on
  every segment between two of them, the train-error and validation-error barriers (Frankle et al.'s, max
  minus the mean of the ends) are at most `claims.zero_error`, the threshold below which a path connects
  everywhere else in grokscape.
- I2: the grokking epoch is sealed by point 1: every child spawned at the parent's point 1 groks within
  `instability.grok_tolerance` × (the parent's epochs from point 1 to point 2) of the parent's own point 2.

A pair or child that did not reach point 2 by its last epoch leaves its question open: the unit is
undecided unless a measured pair or child already refutes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from grokscape.output.claims import Claim, decide, unit_verdict


@dataclass(frozen=True)
class InstabilityThresholds:
    zero_error: float  # I1: barriers at most this count as none (claims.zero_error)
    grok_tolerance: float  # I2: fraction of the parent's epochs from point 1 to point 2 (instability.grok_tolerance)


CLAIMS = {
    "I1": Claim(
        "I1",
        "children spawned at point 1 or later end, at their points 2, in one linearly connected region "
        "(no train- or validation-error barrier between any two)",
        "not in the paper; Frankle et al. (2020)'s instability analysis asked of grokking",
        ("zero_error",),
        source="grokscape",
    ),
    "I2": Claim(
        "I2",
        "the grokking epoch is sealed by point 1: children spawned there grok within grok_tolerance of the "
        "parent's time from point 1 to point 2 of the parent's own grokking epoch",
        "not in the paper; float rounding alone can move a tiny run's grokking epoch by hundreds of epochs",
        ("grok_tolerance",),
        source="grokscape",
    ),
}


def onset(ok: pd.Series) -> int | None:
    """The earliest spawn epoch (the index of `ok`, one flag per spawn epoch) from which every later one is
    ok too: when the outcome stops depending on the minibatch order. None when the last one is not ok."""
    start = None
    for epoch, flag in ok.sort_index(ascending=False).items():
        if not flag:
            break
        start = int(epoch)
    return start


def i1_connected(pairs: pd.DataFrame, parent: Mapping[str, Any], th: InstabilityThresholds) -> dict:
    """I1 for one parent (`parent`: its points.json), from its pairs table."""
    at_grok = pairs[pairs["at"] == "grok"]
    connected = _no_barrier(at_grok, th.zero_error).groupby(at_grok["spawn_epoch"]).all()
    memorized = parent["memorized"]
    late = at_grok[at_grok["spawn_epoch"] >= memorized] if memorized is not None else at_grok.iloc[:0]
    measured = late[late["train_error_barrier"].notna()]
    quantities = {
        "spawn_epochs": sorted(int(k) for k in late["spawn_epoch"].unique()),
        "pairs": len(late),
        "max_train_error_barrier": _max(measured["train_error_barrier"]),
        "max_val_error_barrier": _max(measured["val_error_barrier"]),
        "max_distance": _max(measured["distance"]),
        "connected_from_spawn_epoch": onset(connected),
    }
    critical = {"zero_error": [*measured["train_error_barrier"], *measured["val_error_barrier"]]}
    if late.empty:
        reason = (
            "no children spawned at or after the parent's point 1 (instability.spawn_epochs; or it never memorised)"
        )
        return unit_verdict(None, quantities, reason)
    if not _no_barrier(measured, th.zero_error).all():
        return unit_verdict(False, quantities, critical=critical)
    if len(measured) < len(late):
        missing = late[late["train_error_barrier"].isna()].iloc[0]
        reason = (
            f"a child spawned at epoch {missing['spawn_epoch']} (pair {missing['child_a']}-{missing['child_b']}) "
            "did not grok by its last epoch (train.max_epochs), so its pair's barrier at point 2 is unknown"
        )
        return unit_verdict(None, quantities, reason, critical)
    return unit_verdict(True, quantities, critical=critical)


def i2_time_sealed(children: pd.DataFrame, parent: Mapping[str, Any], th: InstabilityThresholds) -> dict:
    """I2 for one parent (`parent`: its points.json), from its children table."""
    memorized, grokked = parent["memorized"], parent["grokked"]
    if memorized is None or grokked is None:
        return unit_verdict(None, {}, "the parent never memorised or never grokked within train.max_epochs")
    allowed = th.grok_tolerance * (grokked - memorized)
    ordinary = children[~children["replay"]]
    delay = (ordinary["grokked"] - grokked).abs()
    spawned = ordinary[ordinary["spawn_epoch"] == memorized]
    quantities = {
        "parent_memorized": memorized,
        "parent_grokked": grokked,
        "allowed_delay": float(allowed),
        "children_grokked": [None if pd.isna(g) else int(g) for g in spawned["grokked"]],
        "largest_delay": _max(delay[spawned.index]),
        "largest_delay_fraction": _max(delay[spawned.index] / (grokked - memorized)),
        "sealed_from_spawn_epoch": onset((delay <= allowed).groupby(ordinary["spawn_epoch"]).all()),
    }
    critical = {"grok_tolerance": list((delay[spawned.index] / (grokked - memorized)).dropna())}
    if spawned.empty:
        return unit_verdict(
            None, quantities, "no children spawned at the parent's point 1 (add mem to instability.spawn_epochs)"
        )
    if (delay[spawned.index] > allowed).any():
        return unit_verdict(False, quantities, critical=critical)
    if spawned["grokked"].isna().any():
        late = spawned[spawned["grokked"].isna()].iloc[0]
        reason = f"child {late['child']} spawned at point 1 did not grok by its last epoch {late['last_epoch']}"
        return unit_verdict(None, quantities, reason, critical)
    return unit_verdict(True, quantities, critical=critical)


def _no_barrier(pairs: pd.DataFrame, threshold: float) -> pd.Series:
    """Per pair: both error barriers at most `threshold` (False where unmeasured)."""
    return (pairs["train_error_barrier"] <= threshold) & (pairs["val_error_barrier"] <= threshold)


def _max(values: pd.Series) -> float | None:
    return None if values.dropna().empty else float(np.max(values.dropna()))


def evaluate_instability_claims(
    tables: Mapping[int, tuple[pd.DataFrame, pd.DataFrame]],
    parents: Mapping[int, Mapping[str, Any]],
    th: InstabilityThresholds,
) -> list[dict]:
    """I1 and I2 over the parents: `tables[seed]` = (children, pairs), `parents[seed]` its points.json."""
    units = {
        "I1": {f"seed{s}": partial(i1_connected, pairs, parents[s]) for s, (_, pairs) in sorted(tables.items())},
        "I2": {
            f"seed{s}": partial(i2_time_sealed, children, parents[s]) for s, (children, _) in sorted(tables.items())
        },
    }
    return [decide(CLAIMS[name], decided, th) for name, decided in units.items()]
