"""The paper's claims C1–C6 (docs/science.md), decided from the HDF5 tables with stated thresholds, and
grokscape's own questions (S1 sharpness, A1 symmetry-aware connectivity), marked as such.

Each claim is decided per unit — every seed, or every pair of consecutive seeds for the claims that
compare two runs — and reported as "holds for k of N" with the spread of every measured quantity.
A unit's verdict is "holds", "does not hold" or "undecided": a claim that rests on a fitted curve
is undecided, with the reason and the measured max train error, when that curve did not connect
its endpoints (an unconverged instrument refutes nothing).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.signal import find_peaks

Table = Mapping[str, np.ndarray]
HOLDS, FAILS, UNDECIDED = "holds", "does not hold", "undecided"


@dataclass(frozen=True)
class ClaimThresholds:
    grok_ratio: float = 2.0  # C1: grokking epoch / memorisation epoch must be at least this
    barrier: float = 0.05  # C2: train-error barrier height that counts as a barrier
    monotone_tolerance: float = 0.02  # C2: largest rise of validation error still called monotone
    grad_drop: float = 0.2  # C2: grad norm at point 2 at most this fraction of point 1's counts as ~0
    zero_error: float = 0.01  # C3–C6: train error at most this counts as zero (a curve "connects")
    change_ratio: float = 3.0  # C3: first segment changes loss and grad norm this many times more than the last
    good_val_error: float = 0.1  # C4: validation error counted as good
    wide_margin: float = 0.1  # C5: validation error near t=0.5 this much below both endpoints
    flat_spread: float = 0.1  # C6: spread of train/validation error along 2→2' at most this
    hill_symmetry: float = 0.15  # C6: |t_left + t_right − 1| of the two grad-norm hills at most this
    hill_prominence: float = 0.1  # C6: a hill rises at least this fraction of the curve's max above its surroundings
    sharpness_ratio: float = 0.9  # S1: point 2's top Hessian eigenvalue at most this fraction of point 1's


@dataclass(frozen=True)
class Claim:
    """What a claim says and how it is decided on one unit (a seed, or a pair of seeds)."""

    name: str
    statement: str
    paper: str
    thresholds: Callable[[ClaimThresholds], dict]
    source: str = "paper"  # or "grokscape": a question grokscape asks, not a claim of the paper


def _verdict(holds: bool | None, quantities: dict, reason: str = "") -> dict:
    holds = None if holds is None else bool(holds)
    verdict = UNDECIDED if holds is None else HOLDS if holds else FAILS
    return {
        "verdict": verdict,
        "holds": holds,
        "reason": reason,
        "quantities": {k: _plain(v) for k, v in quantities.items()},
    }


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _unconnected(curve: Table, th: ClaimThresholds, what: str) -> str:
    """The reason a claim resting on `curve` cannot be decided, or "" when the curve connects."""
    worst = float(np.max(curve["train_error"]))
    if worst <= th.zero_error:
        return ""
    return (
        f"the {what} did not connect its endpoints (max train error {worst:.4g} > zero_error {th.zero_error}): "
        "an unconverged fit decides nothing; fit longer or change the fit recipe"
    )


def first_t_below(t: np.ndarray, values: np.ndarray, level: float) -> float | None:
    """The first t from which `values` stay at or below `level` to the end of the path."""
    above = np.nonzero(values > level)[0]
    if len(above) == 0:
        return float(t[0])
    return float(t[above[-1] + 1]) if above[-1] + 1 < len(t) else None


def c1_grokking(record: Mapping, th: ClaimThresholds) -> dict:
    mem, grok = record["memorized"], record["grokked"]
    ratio = grok / mem if mem and grok else None
    quantities = {"memorized": mem, "grokked": grok, "ratio": ratio}
    if ratio is None:
        missing = "memorised" if not mem else "generalised"
        return _verdict(None, quantities, f"the run never {missing} within train.max_epochs")
    return _verdict(ratio >= th.grok_ratio, quantities)


def barrier(values: np.ndarray) -> float:
    """How far a path rises above the larger of its two ends (0 without a barrier)."""
    values = np.asarray(values)
    return float(values.max() - max(values[0], values[-1]))


def c2_segment(segment: Table, th: ClaimThresholds) -> dict:
    t, train_error, val_error, grad = (np.asarray(segment[k]) for k in ("t", "train_error", "val_error", "grad_norm"))
    height = barrier(train_error)
    # how far from monotone: the largest rise of validation error above its running minimum
    largest_rise = float(np.max(val_error - np.minimum.accumulate(val_error)))
    quantities = {
        "train_error_barrier": height,
        "barrier_peak_t": float(t[train_error.argmax()]) if height > 0 else None,
        "val_error_largest_rise": largest_rise,
        "grad_norm_point1": float(grad[0]),
        "grad_norm_point2": float(grad[-1]),
        "grad_norm_point2_fraction": float(grad[-1] / grad[0]),
        "grad_norm_max_between": float(grad.max()),
        "grad_norm_max_at_t": float(t[grad.argmax()]),
    }
    holds = height >= th.barrier and largest_rise <= th.monotone_tolerance and grad[-1] <= th.grad_drop * grad[0]
    return _verdict(holds, quantities)


def c3_chain(chain: Table, trajectory: Mapping, th: ClaimThresholds) -> dict:
    """Zero train error along the chain through the snapshots AND along the trajectory itself, read every
    epoch (`trajectory`: the seed's collapses.json): snapshots 100 epochs apart miss a collapse between them,
    so a clean chain alone does not show the drift along the zero-loss manifold the paper pictures."""
    train_error, loss, grad = (np.asarray(chain[k]) for k in ("train_error", "train_loss", "grad_norm"))
    nodes = np.asarray(chain["node_epochs"])
    between = [dip for dip in trajectory["collapses"] if nodes[0] < dip["epoch"] <= nodes[-1]]
    chain_clean = bool(train_error.max() <= th.zero_error)

    def change(values: np.ndarray, segment: int) -> float:
        return float(np.ptp(values[segment]))

    first_loss, last_loss = change(loss, 0), change(loss, -1)
    first_grad, last_grad = change(grad, 0), change(grad, -1)
    quantities = {
        "chain_keeps_zero_error": chain_clean,
        "trajectory_keeps_zero_error": not between,
        "max_train_error": float(train_error.max()),
        "collapses_between_points": len(between),
        "lowest_collapse_between_points": min((dip["train_acc"] for dip in between), default=None),
        "collapse_level": trajectory["level"],
        "segments": len(nodes) - 1,
        "first_segment": [int(nodes[0]), int(nodes[1])],
        "last_segment": [int(nodes[-2]), int(nodes[-1])],
        "first_segment_loss_change": first_loss,
        "last_segment_loss_change": last_loss,
        "first_segment_grad_norm_change": first_grad,
        "last_segment_grad_norm_change": last_grad,
    }
    holds = (
        chain_clean
        and not between
        and first_loss >= th.change_ratio * last_loss
        and first_grad >= th.change_ratio * last_grad
    )
    return _verdict(holds, quantities)


def c4_polyline(polyline: Table, segment: Table, th: ClaimThresholds) -> dict:
    t_poly = first_t_below(np.asarray(polyline["t"]), np.asarray(polyline["val_error"]), th.good_val_error)
    t_seg = first_t_below(np.asarray(segment["t"]), np.asarray(segment["val_error"]), th.good_val_error)
    quantities = {
        "max_train_error": float(np.max(polyline["train_error"])),
        "polyline_good_val_from_t": t_poly,
        "segment_good_val_from_t": t_seg,
    }
    reason = _unconnected(polyline, th, "polyline 1→2")
    if reason:
        return _verdict(None, quantities, reason)
    return _verdict(t_poly is not None and (t_seg is None or t_poly < t_seg), quantities)


def _middle(t: np.ndarray, width: float = 0.1) -> np.ndarray:
    return np.abs(t - 0.5) <= width + 1e-9


def c5_two_memorisations(polyline: Table, th: ClaimThresholds) -> dict:
    t, val_error, grad = (np.asarray(polyline[k]) for k in ("t", "val_error", "grad_norm"))
    middle, middle_grad = float(val_error[_middle(t)].min()), float(grad[_middle(t)].min())
    quantities = {
        "val_error_near_half": middle,
        "val_error_endpoints": [float(val_error[0]), float(val_error[-1])],
        "grad_norm_near_half": middle_grad,
        "grad_norm_endpoints": [float(grad[0]), float(grad[-1])],
        "max_train_error": float(np.max(polyline["train_error"])),
    }
    reason = _unconnected(polyline, th, "polyline 1→1′")
    if reason:
        return _verdict(None, quantities, reason)
    generalising = middle <= min(val_error[0], val_error[-1]) - th.wide_margin
    wide = middle_grad < min(grad[0], grad[-1])  # the paper's measure of width: a smaller gradient norm
    return _verdict(generalising and wide, quantities)


def hills(values: np.ndarray, prominence: float) -> np.ndarray:
    """Indices of interior local maxima that rise at least `prominence` above their surroundings."""
    return find_peaks(values, prominence=prominence)[0]


def c6_two_generalisations(polyline: Table, th: ClaimThresholds) -> dict:
    t, grad = np.asarray(polyline["t"]), np.asarray(polyline["grad_norm"])
    spreads = {f"{k}_spread": float(np.ptp(polyline[k])) for k in ("train_error", "val_error")}
    peaks = hills(grad, th.hill_prominence * float(grad.max()))
    left, right = (float(t[i]) for i in peaks) if len(peaks) == 2 else (None, None)
    quantities = {**spreads, "grad_norm_hills": len(peaks), "hills_at_t": [float(t[i]) for i in peaks]}
    reason = _unconnected(polyline, th, "polyline 2→2′")
    if reason:
        return _verdict(None, {**quantities, "max_train_error": float(np.max(polyline["train_error"]))}, reason)
    symmetric = left is not None and left < 0.5 < right and abs(left + right - 1) <= th.hill_symmetry
    return _verdict(all(v <= th.flat_spread for v in spreads.values()) and symmetric, quantities)


def s1_sharpness(segment: Table, th: ClaimThresholds) -> dict:
    """Point 2 sits in a flatter minimum than point 1 by the Hessian's top eigenvalue (the segment's ends)."""
    if "top_eigenvalue" not in segment:
        return _verdict(None, {}, "the segment 1→2 holds no sharpness (paths.sharpness_points is 0)")
    value, converged = np.asarray(segment["top_eigenvalue"]), np.asarray(segment["eigenvalue_converged"], dtype=bool)
    quantities = {
        "top_eigenvalue_point1": float(value[0]),
        "top_eigenvalue_point2": float(value[-1]),
        "ratio": float(value[-1] / value[0]),
        "lanczos_iterations": [int(segment["lanczos_iterations"][0]), int(segment["lanczos_iterations"][-1])],
    }
    if not (converged[0] and converged[-1]):
        reason = "the Lanczos iteration for the top Hessian eigenvalue at point 1 or 2 did not converge (sharpness.*)"
        return _verdict(None, quantities, reason)
    return _verdict(value[0] > 0 and value[-1] <= th.sharpness_ratio * value[0], quantities)


def a1_aligned_generalisations(segment: Table, aligned: Table, th: ClaimThresholds) -> dict:
    """grokscape's question: is the barrier on the segment 2→2′ a relabelling (gone after alignment)?"""
    quantities = {
        f"{metric}_barrier_{which}": barrier(table[metric])
        for metric in ("train_error", "val_error", "train_loss")
        for which, table in (("raw", segment), ("aligned", aligned))
    }
    quantities |= {"distance_raw": aligned.get("distance_unaligned"), "distance_aligned": aligned.get("distance")}
    unconverged = [a for a in aligned.get("alignments", []) if not a["converged"]]
    if unconverged:
        reason = (
            f"the alignment stopped at align.max_iterations = {unconverged[0]['iterations']} sweeps while still "
            "shortening the distance: an unfinished alignment decides nothing; raise align.max_iterations"
        )
        return _verdict(None, quantities, reason)
    return _verdict(quantities["train_error_barrier_aligned"] < th.barrier, quantities)


CLAIMS = {
    "C1": Claim(
        "C1",
        "train accuracy reaches 100% long before validation accuracy does",
        "memorised at epoch 585, grokked at 2402 (ratio 4.1)",
        lambda th: {"grok_ratio": th.grok_ratio},
    ),
    "C2": Claim(
        "C2",
        "the segment 1→2 has a train-error barrier, validation error falls monotonically, and the gradient norm "
        "at point 2 is ~0, a small fraction of its value at point 1 (its rise over the barrier is reported)",
        "barrier peaking near t=0.35; gradient norm 0.75 → ~0",
        lambda th: {"barrier": th.barrier, "monotone_tolerance": th.monotone_tolerance, "grad_drop": th.grad_drop},
    ),
    "C3": Claim(
        "C3",
        "the chain through the snapshots keeps train error at zero, and so does the trajectory between them "
        "(no collapse below points.train_acc − points.collapse_margin from point 1 to point 2); the chain's first "
        "segment changes loss and gradient norm much more than its last",
        "train error zero along 585→700→…→2300→2402",
        lambda th: {"zero_error": th.zero_error, "change_ratio": th.change_ratio},
    ),
    "C4": Claim(
        "C4",
        "the polyline 1→2 keeps train error ≈ 0 and reaches good validation error earlier than the segment",
        "good validation error from t ≈ 0.6",
        lambda th: {"zero_error": th.zero_error, "good_val_error": th.good_val_error},
    ),
    "C5": Claim(
        "C5",
        "the polyline 1→1′ passes a wide (smaller gradient norm than both ends), well-generalising region near t = 0.5",
        "low validation error and small gradient norm near t = 0.5",
        lambda th: {"zero_error": th.zero_error, "wide_margin": th.wide_margin, "near_half": "t within 0.5 ± 0.1"},
    ),
    "C6": Claim(
        "C6",
        "the polyline 2→2′ changes the metrics little; its gradient norm shows two symmetric hills",
        "flat metrics, two symmetric gradient-norm hills",
        lambda th: {
            "zero_error": th.zero_error,
            "flat_spread": th.flat_spread,
            "hill_symmetry": th.hill_symmetry,
            "hill_prominence": th.hill_prominence,
        },
    ),
    "S1": Claim(
        "S1",
        "the top Hessian eigenvalue of the training objective is smaller at point 2 than at point 1",
        "not in the paper, which measures width by the gradient norm alone",
        lambda th: {"sharpness_ratio": th.sharpness_ratio},
        source="grokscape",
    ),
    "A1": Claim(
        "A1",
        "after alignment (through the model's symmetries by align.method, point 2′ aligned to point 2) the "
        "segment 2→2′ has no train-error barrier: the raw segment's barrier is a relabelling of units",
        "not in the paper; the question of Git Re-Basin (Ainsworth et al. 2023) asked of grokking",
        lambda th: {"barrier": th.barrier},
        source="grokscape",
    ),
}


def decide(claim: Claim, units: Mapping[str, dict], th: ClaimThresholds) -> dict:
    """A claim over its units: "holds" / "does not hold" / "undecided" when all agree, else "holds for k of N"."""
    counts = {verdict: sum(u["verdict"] == verdict for u in units.values()) for verdict in (HOLDS, FAILS, UNDECIDED)}
    n = len(units)
    if n and max(counts.values()) == n:
        verdict = next(v for v, k in counts.items() if k == n)
    else:
        verdict = f"holds for {counts[HOLDS]} of {n}" + (
            f", undecided for {counts[UNDECIDED]}" if counts[UNDECIDED] else ""
        )
    first = next(iter(units.values()), {"quantities": {}})
    return {
        "claim": claim.name,
        "statement": claim.statement,
        "source": claim.source,
        "verdict": verdict,
        "holds": counts[HOLDS] == n > 0,
        "counts": {**counts, "units": n},
        "reasons": sorted({u["reason"] for u in units.values() if u["reason"]}),
        "quantities": first["quantities"],
        "spread": spread({name: u["quantities"] for name, u in units.items()}),
        "units": units,
        "thresholds": claim.thresholds(th),
        "paper": claim.paper,
    }


def spread(per_unit: Mapping[str, Mapping]) -> dict:
    """Min, median and max over units of every scalar quantity."""
    names = dict.fromkeys(k for q in per_unit.values() for k, v in q.items() if _is_number(v))
    out = {}
    for name in names:
        values = [q[name] for q in per_unit.values() if _is_number(q.get(name))]
        out[name] = {"min": float(np.min(values)), "median": float(np.median(values)), "max": float(np.max(values))}
    return out


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True)
class SeedTables:
    """The tables of one seed that C2–C4 rest on, and its collapses (collapses.json) that C3 reads."""

    segment: Table
    chain: Table
    polyline: Table
    collapses: Mapping


@dataclass(frozen=True)
class PairTables:
    """The polylines between two seeds that C5 and C6 rest on."""

    across_memorised: Table
    across_grokked: Table
    grokked_segment: Table | None = None  # A1: the segment 2→2′ as trained ...
    aligned_grokked_segment: Table | None = None  # ... and with 2′ aligned to 2


def evaluate_claims(
    points: Mapping[int, Mapping],
    seeds: Mapping[int, SeedTables],
    pairs: Mapping[tuple[int, int], PairTables],
    th: ClaimThresholds,
) -> list[dict]:
    """C1–C4 for every seed, C5, C6 and A1 for every pair of consecutive seeds (when there are two)."""
    per_seed = {f"seed{s}": tables for s, tables in sorted(seeds.items())}
    per_pair = {f"seed{a}-seed{b}": tables for (a, b), tables in sorted(pairs.items())}
    units = {
        "C1": {f"seed{s}": c1_grokking(record, th) for s, record in sorted(points.items())},
        "C2": {name: c2_segment(t.segment, th) for name, t in per_seed.items()},
        "C3": {name: c3_chain(t.chain, t.collapses, th) for name, t in per_seed.items()},
        "C4": {name: c4_polyline(t.polyline, t.segment, th) for name, t in per_seed.items()},
        "C5": {name: c5_two_memorisations(t.across_memorised, th) for name, t in per_pair.items()},
        "C6": {name: c6_two_generalisations(t.across_grokked, th) for name, t in per_pair.items()},
        "S1": {name: s1_sharpness(t.segment, th) for name, t in per_seed.items()},
        "A1": {
            name: a1_aligned_generalisations(t.grokked_segment, t.aligned_grokked_segment, th)
            for name, t in per_pair.items()
            if t.aligned_grokked_segment is not None
        },
    }
    return [decide(CLAIMS[name], decided, th) for name, decided in units.items() if decided]


def claims_markdown(claims: Sequence[dict]) -> str:
    """One row per claim (verdict, the spread of the deciding numbers, thresholds, the paper's numbers),
    then a table per claim with every unit's verdict and numbers."""
    lines = [
        "| claim | statement | verdict | measured (min / median / max over units) | thresholds | paper |",
        "|---|---|---|---|---|---|",
    ]
    for c in claims:
        measured = "; ".join(f"{k} = {_range(v)}" for k, v in c["spread"].items())
        thresholds = "; ".join(f"{k} = {v}" for k, v in c["thresholds"].items())
        source = "" if c.get("source", "paper") == "paper" else f" *({c['source']}'s question)*"
        statement = f"{c['statement']}{source}"
        lines.append(f"| {c['claim']} | {statement} | **{c['verdict']}** | {measured} | {thresholds} | {c['paper']} |")
    for c in claims:
        lines += ["", f"### {c['claim']}: {c['verdict']}", ""]
        lines += [f"Undecided because {reason}." for reason in c["reasons"]]
        lines += ["| unit | verdict | measured |", "|---|---|---|"]
        for unit, decided in c["units"].items():
            measured = "; ".join(f"{k} = {_fmt(v)}" for k, v in decided["quantities"].items())
            lines.append(f"| {unit} | {decided['verdict']} | {measured} |")
    return "\n".join(lines) + "\n"


def _range(stats: Mapping[str, float]) -> str:
    if stats["min"] == stats["max"]:
        return _fmt(stats["min"])
    return f"{_fmt(stats['min'])} / {_fmt(stats['median'])} / {_fmt(stats['max'])}"


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return str(value)
