"""The paper's claims C1–C6 (SPEC.md), decided from the HDF5 tables with stated thresholds.

Each claim reports the quantities that decide it, the thresholds used and a verdict. A
refuted claim is a result: the verdict says so, with the numbers that refute it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

Table = Mapping[str, np.ndarray]


@dataclass(frozen=True)
class ClaimThresholds:
    grok_ratio: float = 2.0  # C1: grokking epoch / memorisation epoch must be at least this
    barrier: float = 0.05  # C2: train-error barrier height that counts as a barrier
    monotone_tolerance: float = 0.02  # C2: largest rise of validation error still called monotone
    grad_drop: float = 0.5  # C2: grad norm at point 2 below this fraction of point 1's
    zero_error: float = 0.01  # C3, C4: train error at most this counts as zero
    change_ratio: float = 3.0  # C3: first segment changes loss and grad norm this many times more than the last
    good_val_error: float = 0.1  # C4: validation error counted as good
    wide_margin: float = 0.1  # C5: validation error near t=0.5 this much below both endpoints
    flat_spread: float = 0.1  # C6: spread of train/validation error along 2→2' at most this
    hill_symmetry: float = 0.15  # C6: |t_left + t_right − 1| of the two grad-norm hills at most this


def _claim(name: str, statement: str, holds: bool, quantities: dict, thresholds: dict, paper: str) -> dict:
    return {
        "claim": name,
        "statement": statement,
        "verdict": "holds" if holds else "does not hold",
        "holds": bool(holds),
        "quantities": {k: _plain(v) for k, v in quantities.items()},
        "thresholds": thresholds,
        "paper": paper,
    }


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def first_t_below(t: np.ndarray, values: np.ndarray, level: float) -> float | None:
    """The first t from which `values` stay at or below `level` to the end of the path."""
    above = np.nonzero(values > level)[0]
    if len(above) == 0:
        return float(t[0])
    return float(t[above[-1] + 1]) if above[-1] + 1 < len(t) else None


def c1_grokking(points: Mapping[int, Mapping], th: ClaimThresholds) -> dict:
    per_seed = {}
    for seed, record in sorted(points.items()):
        mem, grok = record["memorized"], record["grokked"]
        ratio = grok / mem if mem and grok else None
        per_seed[f"seed{seed}"] = {"memorized": mem, "grokked": grok, "ratio": ratio}
    holds = all(s["ratio"] is not None and s["ratio"] >= th.grok_ratio for s in per_seed.values())
    return _claim(
        "C1",
        "train accuracy reaches 100% long before validation accuracy does",
        holds,
        per_seed,
        {"grok_ratio": th.grok_ratio},
        "memorised at epoch 585, grokked at 2402 (ratio 4.1)",
    )


def c2_segment(segment: Table, th: ClaimThresholds) -> dict:
    t, train_error, val_error, grad = (np.asarray(segment[k]) for k in ("t", "train_error", "val_error", "grad_norm"))
    barrier = float(train_error.max() - max(train_error[0], train_error[-1]))
    # how far from monotone: the largest rise of validation error above its running minimum
    largest_rise = float(np.max(val_error - np.minimum.accumulate(val_error)))
    quantities = {
        "train_error_barrier": barrier,
        "barrier_peak_t": float(t[train_error.argmax()]),
        "val_error_largest_rise": largest_rise,
        "grad_norm_point1": float(grad[0]),
        "grad_norm_point2": float(grad[-1]),
    }
    holds = barrier >= th.barrier and largest_rise <= th.monotone_tolerance and grad[-1] <= th.grad_drop * grad[0]
    return _claim(
        "C2",
        "the segment 1→2 has a train-error barrier, validation error falls monotonically, "
        "and the gradient norm falls from point 1 to ~0 at point 2",
        holds,
        quantities,
        {"barrier": th.barrier, "monotone_tolerance": th.monotone_tolerance, "grad_drop": th.grad_drop},
        "barrier peaking near t=0.35; gradient norm 0.75 → ~0",
    )


def c3_chain(chain: Table, th: ClaimThresholds) -> dict:
    train_error, loss, grad = (np.asarray(chain[k]) for k in ("train_error", "train_loss", "grad_norm"))
    nodes = np.asarray(chain["node_epochs"])

    def change(values: np.ndarray, segment: int) -> float:
        return float(np.ptp(values[segment]))

    first_loss, last_loss = change(loss, 0), change(loss, -1)
    first_grad, last_grad = change(grad, 0), change(grad, -1)
    quantities = {
        "max_train_error": float(train_error.max()),
        "segments": len(nodes) - 1,
        "first_segment": [int(nodes[0]), int(nodes[1])],
        "last_segment": [int(nodes[-2]), int(nodes[-1])],
        "first_segment_loss_change": first_loss,
        "last_segment_loss_change": last_loss,
        "first_segment_grad_norm_change": first_grad,
        "last_segment_grad_norm_change": last_grad,
    }
    holds = (
        train_error.max() <= th.zero_error
        and first_loss >= th.change_ratio * last_loss
        and first_grad >= th.change_ratio * last_grad
    )
    return _claim(
        "C3",
        "the chain through the snapshots keeps train error at zero; its first segment changes loss and "
        "gradient norm much more than its last",
        holds,
        quantities,
        {"zero_error": th.zero_error, "change_ratio": th.change_ratio},
        "train error zero along 585→700→…→2300→2402",
    )


def c4_polyline(polyline: Table, segment: Table, th: ClaimThresholds) -> dict:
    t_poly = first_t_below(np.asarray(polyline["t"]), np.asarray(polyline["val_error"]), th.good_val_error)
    t_seg = first_t_below(np.asarray(segment["t"]), np.asarray(segment["val_error"]), th.good_val_error)
    max_train_error = float(np.max(polyline["train_error"]))
    quantities = {
        "max_train_error": max_train_error,
        "polyline_good_val_from_t": t_poly,
        "segment_good_val_from_t": t_seg,
    }
    earlier = t_poly is not None and (t_seg is None or t_poly < t_seg)
    holds = max_train_error <= th.zero_error and earlier
    return _claim(
        "C4",
        "the polyline 1→2 keeps train error ≈ 0 and reaches good validation error earlier than the segment",
        holds,
        quantities,
        {"zero_error": th.zero_error, "good_val_error": th.good_val_error},
        "good validation error from t ≈ 0.6",
    )


def _middle(t: np.ndarray, width: float = 0.1) -> np.ndarray:
    return np.abs(t - 0.5) <= width + 1e-9


def c5_two_memorisations(polyline: Table, th: ClaimThresholds) -> dict:
    t, val_error, grad = (np.asarray(polyline[k]) for k in ("t", "val_error", "grad_norm"))
    middle = float(val_error[_middle(t)].min())
    ends = float(min(val_error[0], val_error[-1]))
    quantities = {
        "val_error_near_half": middle,
        "val_error_endpoints": [float(val_error[0]), float(val_error[-1])],
        "grad_norm_near_half": float(grad[_middle(t)].min()),
        "grad_norm_endpoints": [float(grad[0]), float(grad[-1])],
        "max_train_error": float(np.max(polyline["train_error"])),
    }
    return _claim(
        "C5",
        "the polyline 1→1′ passes a wide, well-generalising region near t = 0.5",
        middle <= ends - th.wide_margin,
        quantities,
        {"wide_margin": th.wide_margin, "near_half": "t within 0.5 ± 0.1"},
        "low validation error and small gradient norm near t = 0.5",
    )


def hills(values: np.ndarray) -> list[int]:
    """Indices of interior local maxima."""
    return [i for i in range(1, len(values) - 1) if values[i] > values[i - 1] and values[i] >= values[i + 1]]


def c6_two_generalisations(polyline: Table, th: ClaimThresholds) -> dict:
    t, grad = np.asarray(polyline["t"]), np.asarray(polyline["grad_norm"])
    spreads = {f"{k}_spread": float(np.ptp(polyline[k])) for k in ("train_error", "val_error")}
    peaks = sorted(hills(grad), key=lambda i: grad[i], reverse=True)[:2]
    left, right = sorted(float(t[i]) for i in peaks) if len(peaks) == 2 else (None, None)
    symmetric = left is not None and left < 0.5 < right and abs(left + right - 1) <= th.hill_symmetry
    quantities = {**spreads, "grad_norm_hills": len(hills(grad)), "two_highest_hills_at_t": [left, right]}
    holds = all(v <= th.flat_spread for v in spreads.values()) and symmetric
    return _claim(
        "C6",
        "the polyline 2→2′ changes the metrics little; its gradient norm shows two symmetric hills",
        holds,
        quantities,
        {"flat_spread": th.flat_spread, "hill_symmetry": th.hill_symmetry},
        "flat metrics, two symmetric gradient-norm hills",
    )


def evaluate_claims(
    points: Mapping[int, Mapping],
    segment: Table,
    chain: Table,
    polyline: Table,
    th: ClaimThresholds,
    across_memorised: Table | None = None,
    across_grokked: Table | None = None,
) -> list[dict]:
    claims = [c1_grokking(points, th), c2_segment(segment, th), c3_chain(chain, th), c4_polyline(polyline, segment, th)]
    if across_memorised is not None:
        claims.append(c5_two_memorisations(across_memorised, th))
    if across_grokked is not None:
        claims.append(c6_two_generalisations(across_grokked, th))
    return claims


def claims_markdown(claims: Sequence[dict]) -> str:
    """A table a reader can check: claim, verdict, the deciding numbers, thresholds, the paper's numbers."""
    lines = [
        "| claim | statement | verdict | measured | thresholds | paper |",
        "|---|---|---|---|---|---|",
    ]
    for c in claims:
        measured = "; ".join(f"{k} = {_fmt(v)}" for k, v in c["quantities"].items())
        thresholds = "; ".join(f"{k} = {v}" for k, v in c["thresholds"].items())
        lines.append(
            f"| {c['claim']} | {c['statement']} | **{c['verdict']}** | {measured} | {thresholds} | {c['paper']} |"
        )
    return "\n".join(lines) + "\n"


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return str(value)
