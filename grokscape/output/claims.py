"""The paper's claims C1–C6 (docs/science.md), decided from the HDF5 tables with stated thresholds, and
grokscape's own questions (S1 sharpness, A1 symmetry-aware connectivity), marked as such.

Each claim is decided per unit — every seed, or every pair of consecutive seeds for the claims that
compare two runs — and reported as "holds for k of N" with the spread of every measured quantity and,
for every threshold, the range over which each unit's verdict stays as it is (`claim_ranges`). A unit's
verdict is "holds", "does not hold", "undecided" or "not grokked within N epochs": a claim that rests on a
fitted curve is undecided, with the reason and the measured max train error, when that curve did not
connect its endpoints (an unconverged instrument refutes nothing); a seed that never generalised has no
point 2, so nothing that needs one is decided for it, and it never counts as holding. Why each threshold
is what it is: docs/claims.md.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import partial

import numpy as np
from scipy.signal import find_peaks, peak_prominences

from grokscape.output.claim_ranges import verdict_range
from grokscape.planning.path_names import connects
from grokscape.planning.points import missed

Table = Mapping[str, np.ndarray]
HOLDS, FAILS, UNDECIDED, NOT_GROKKED = "holds", "fails", "undecided", "not grokked"  # a unit's state


@dataclass(frozen=True)
class ClaimThresholds:
    grok_ratio: float = 2.0  # C1: grokking epoch / memorisation epoch must be at least this
    memorised_val_acc: float = 0.1  # C1: validation accuracy at point 1 at most this (near chance, 1/p)
    barrier: float = 0.05  # C2, A1: train-error barrier height that counts as a barrier
    monotone_tolerance: float = 0.02  # C2: largest rise of validation error still called monotone
    grad_drop: float = 0.2  # C2: grad norm at point 2 at most this fraction of point 1's counts as ~0
    zero_error: float = 0.01  # C3–C6: train error at most this counts as zero (a curve "connects")
    change_ratio: float = 3.0  # C3: first segment changes loss and grad norm this many times more than the last
    good_val_error: float = 0.1  # C4: validation error counted as good
    middle_val_error_fraction: float = 0.25  # C5: validation error near t=0.5 at most this fraction of the ends'
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
    thresholds: tuple[str, ...]  # the ClaimThresholds it reads
    fixed: str = ""  # what its definition fixes besides the thresholds
    source: str = "paper"  # or "grokscape": a question grokscape asks, not a claim of the paper
    words: tuple[str, str] = ("holds", "does not hold")  # a unit that holds, one that does not
    note: str = ""  # what every reader of its verdict must know


def _unit(state: str, quantities: dict, reason: str = "", critical: Mapping | None = None) -> dict:
    """One unit's verdict; `critical` lists, per threshold, the measured values where it can flip."""
    return {
        "state": state,
        "holds": {HOLDS: True, FAILS: False}.get(state),
        "reason": reason,
        "quantities": {k: _plain(v) for k, v in quantities.items()},
        "critical": {k: [float(v) for v in values] for k, values in (critical or {}).items()},
    }


def unit_verdict(holds: bool | None, quantities: dict, reason: str = "", critical: Mapping | None = None) -> dict:
    state = UNDECIDED if holds is None else HOLDS if holds else FAILS
    return _unit(state, quantities, reason, critical)


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, with x / 0 = ∞ (and 0 / 0 = 0): a measured ratio a threshold compares to."""
    if denominator:
        return float(numerator / denominator)
    return 0.0 if numerator == 0 else float("inf")


def not_grokked(records: Mapping[int, Mapping]) -> dict:
    """The unit of seeds (one, or a pair) of which some never generalised: there is no point 2 to decide on.
    Its verdict names them and why (`points.missed`): "never grokked within 3,000 epochs", or for a pair
    "seed1 never memorised within 2 epochs"."""
    missing = [
        ("" if len(records) == 1 else f"seed{seed} ") + missed(record, "mem" if record["memorized"] is None else "grok")
        for seed, record in records.items()
        if record["grokked"] is None
    ]
    return _unit(NOT_GROKKED, {}, "; ".join(missing))


def _unconnected(curve: Table, th: ClaimThresholds, what: str) -> str:
    """The reason a claim resting on `curve` cannot be decided, or "" when the curve connects."""
    worst = float(np.max(curve["train_error"]))
    if connects(worst, th.zero_error):
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


def c1_grokking(record: Mapping, history: Table, th: ClaimThresholds) -> dict:
    """Memorised long before generalising, and near chance on validation when it memorised."""
    mem, grok = record["memorized"], record["grokked"]
    if mem is None:
        reason = f"the run never memorised within {record['last_epoch']} epochs"
        return unit_verdict(None, {"memorized": None, "grokked": grok}, reason)
    epochs = np.asarray(history["epoch"])
    val_acc = float(np.asarray(history["val_acc"])[np.flatnonzero(epochs == mem)[0]])
    quantities = {"memorized": mem, "grokked": grok, "val_acc_at_memorisation": val_acc}
    if grok is None:
        return {**not_grokked({-1: record}), "quantities": quantities}
    ratio = _ratio(grok, mem)
    critical = {"grok_ratio": [ratio], "memorised_val_acc": [val_acc]}
    holds = ratio >= th.grok_ratio and val_acc <= th.memorised_val_acc
    return unit_verdict(holds, {**quantities, "ratio": ratio}, critical=critical)


def barrier(values: np.ndarray) -> float:
    """How far a path rises above the larger of its two ends (0 without a barrier)."""
    values = np.asarray(values)
    return float(values.max() - max(values[0], values[-1]))


def c2_segment(segment: Table, th: ClaimThresholds) -> dict:
    t, train_error, val_error, grad = (np.asarray(segment[k]) for k in ("t", "train_error", "val_error", "grad_norm"))
    height = barrier(train_error)
    # how far from monotone: the largest rise of validation error above its running minimum
    largest_rise = float(np.max(val_error - np.minimum.accumulate(val_error)))
    fraction = _ratio(grad[-1], grad[0])
    quantities = {
        "train_error_barrier": height,
        "barrier_peak_t": float(t[train_error.argmax()]) if height > 0 else None,
        # the paper's definition 2 writes the segment t·w₁ + (1 − t)·w₂, with point 2 at t = 0: its t is 1 − ours
        "barrier_peak_t_paper_orientation": float(1 - t[train_error.argmax()]) if height > 0 else None,
        "val_error_largest_rise": largest_rise,
        "grad_norm_point1": float(grad[0]),
        "grad_norm_point2": float(grad[-1]),
        "grad_norm_point2_fraction": fraction,
        "grad_norm_max_between": float(grad.max()),
        "grad_norm_max_at_t": float(t[grad.argmax()]),
    }
    holds = height >= th.barrier and largest_rise <= th.monotone_tolerance and fraction <= th.grad_drop
    critical = {"barrier": [height], "monotone_tolerance": [largest_rise], "grad_drop": [fraction]}
    return unit_verdict(holds, quantities, critical=critical)


def c3_chain(chain: Table, trajectory: Mapping, th: ClaimThresholds) -> dict:
    """Zero train error along the chain through the snapshots AND along the trajectory itself, read every
    epoch (`trajectory`: the seed's collapses.json): snapshots 100 epochs apart miss a collapse between them,
    so a clean chain alone does not show the drift along the zero-loss manifold the paper pictures."""
    train_error, loss, grad = (np.asarray(chain[k]) for k in ("train_error", "train_loss", "grad_norm"))
    nodes = np.asarray(chain["node_epochs"])
    between = [dip for dip in trajectory["collapses"] if nodes[0] < dip["epoch"] <= nodes[-1]]
    chain_clean = connects(train_error.max(), th.zero_error)

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
    critical = {
        "zero_error": [train_error.max()],
        "change_ratio": [_ratio(first_loss, last_loss), _ratio(first_grad, last_grad)],
    }
    return unit_verdict(holds, quantities, critical=critical)


def c4_polyline(polyline: Table, segment: Table, th: ClaimThresholds) -> dict:
    poly_val, seg_val = np.asarray(polyline["val_error"]), np.asarray(segment["val_error"])
    t_poly = first_t_below(np.asarray(polyline["t"]), poly_val, th.good_val_error)
    t_seg = first_t_below(np.asarray(segment["t"]), seg_val, th.good_val_error)
    worst = float(np.max(polyline["train_error"]))
    quantities = {"max_train_error": worst, "polyline_good_val_from_t": t_poly, "segment_good_val_from_t": t_seg}
    # where good_val_error passes a validation error of either path, where a first t can move
    critical = {"zero_error": [worst], "good_val_error": [*np.unique(poly_val), *np.unique(seg_val)]}
    reason = _unconnected(polyline, th, "polyline 1→2")
    if reason:
        return unit_verdict(None, quantities, reason, critical)
    return unit_verdict(t_poly is not None and (t_seg is None or t_poly < t_seg), quantities, critical=critical)


NEAR_HALF = 0.1  # C5: "near t = 0.5" is t within 0.5 ± this


def c5_two_memorisations(polyline: Table, th: ClaimThresholds) -> dict:
    """Near t = 0.5 the point of lowest validation error generalises much better than both ends, and is
    wider than both: a smaller gradient norm there (the paper's measure of width) than at either end."""
    t, val_error, grad = (np.asarray(polyline[k]) for k in ("t", "val_error", "grad_norm"))
    near = np.flatnonzero(np.abs(t - 0.5) <= NEAR_HALF + 1e-9)
    best = near[val_error[near].argmin()]  # the lowest validation error near t = 0.5, and its gradient norm
    ends = min(val_error[0], val_error[-1])
    fraction = _ratio(val_error[best], ends)
    worst = float(np.max(polyline["train_error"]))
    quantities = {
        "t_near_half": float(t[best]),
        "val_error_near_half": float(val_error[best]),
        "val_error_endpoints": [float(val_error[0]), float(val_error[-1])],
        "val_error_fraction_of_ends": fraction,
        "grad_norm_near_half": float(grad[best]),
        "grad_norm_endpoints": [float(grad[0]), float(grad[-1])],
        "max_train_error": worst,
    }
    critical = {"zero_error": [worst], "middle_val_error_fraction": [fraction]}
    reason = _unconnected(polyline, th, "polyline 1→1′")
    if reason:
        return unit_verdict(None, quantities, reason, critical)
    generalising = fraction <= th.middle_val_error_fraction
    wide = grad[best] < min(grad[0], grad[-1])
    return unit_verdict(generalising and wide, quantities, critical=critical)


def hills(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the interior local maxima and their prominences as fractions of the largest value (how far
    each rises above its surroundings, scipy.signal.peak_prominences)."""
    peaks = find_peaks(values)[0]
    return peaks, peak_prominences(values, peaks)[0] / float(values.max())


def c6_two_generalisations(polyline: Table, th: ClaimThresholds) -> dict:
    t, grad = np.asarray(polyline["t"]), np.asarray(polyline["grad_norm"])
    spreads = {f"{k}_spread": float(np.ptp(polyline[k])) for k in ("train_error", "val_error")}
    peaks, prominences = hills(grad)
    kept = peaks[prominences >= th.hill_prominence]
    left, right = (float(t[i]) for i in kept) if len(kept) == 2 else (None, None)
    asymmetry = abs(left + right - 1) if left is not None else None
    worst = float(np.max(polyline["train_error"]))
    quantities = {
        **spreads,
        "grad_norm_hills": len(kept),
        "hills_at_t": [float(t[i]) for i in kept],
        "hill_asymmetry": asymmetry,
    }
    critical = {
        "zero_error": [worst],
        "flat_spread": list(spreads.values()),
        "hill_prominence": list(prominences),
        "hill_symmetry": [] if asymmetry is None else [asymmetry],
    }
    reason = _unconnected(polyline, th, "polyline 2→2′")
    if reason:
        return unit_verdict(None, {**quantities, "max_train_error": worst}, reason, critical)
    symmetric = asymmetry is not None and left < 0.5 < right and asymmetry <= th.hill_symmetry
    return unit_verdict(all(v <= th.flat_spread for v in spreads.values()) and symmetric, quantities, critical=critical)


def s1_sharpness(segment: Table, th: ClaimThresholds) -> dict:
    """Point 2 sits in a flatter minimum than point 1 by the Hessian's top eigenvalue (the segment's ends)."""
    if "top_eigenvalue" not in segment:
        return unit_verdict(None, {}, "the segment 1→2 holds no sharpness (paths.sharpness_points is 0)")
    value, converged = np.asarray(segment["top_eigenvalue"]), np.asarray(segment["eigenvalue_converged"], dtype=bool)
    ratio = _ratio(value[-1], value[0])
    quantities = {
        "top_eigenvalue_point1": float(value[0]),
        "top_eigenvalue_point2": float(value[-1]),
        "ratio": ratio,
        "lanczos_iterations": [int(segment["lanczos_iterations"][0]), int(segment["lanczos_iterations"][-1])],
    }
    if not (converged[0] and converged[-1]):
        reason = "the Lanczos iteration for the top Hessian eigenvalue at point 1 or 2 did not converge (sharpness.*)"
        return unit_verdict(None, quantities, reason)
    return unit_verdict(value[0] > 0 and ratio <= th.sharpness_ratio, quantities, critical={"sharpness_ratio": [ratio]})


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
        return unit_verdict(None, quantities, reason)
    height = quantities["train_error_barrier_aligned"]
    return unit_verdict(height < th.barrier, quantities, critical={"barrier": [height]})


CLAIMS = {
    "C1": Claim(
        "C1",
        "train accuracy reaches 100% long before validation accuracy does, which stays near chance until then",
        "memorised at epoch 585, grokked at 2402 (ratio 4.1); validation accuracy near random when memorised",
        ("grok_ratio", "memorised_val_acc"),
    ),
    "C2": Claim(
        "C2",
        "the segment 1→2 has a train-error barrier, validation error falls monotonically, and the gradient norm "
        "at point 2 is ~0, a small fraction of its value at point 1 (its rise over the barrier is reported)",
        "barrier peaking near t=0.35; gradient norm 0.75 → ~0",
        ("barrier", "monotone_tolerance", "grad_drop"),
    ),
    "C3": Claim(
        "C3",
        "the chain through the snapshots keeps train error at zero, and so does the trajectory between them "
        "(no collapse below points.train_acc − points.collapse_margin from point 1 to point 2); the chain's first "
        "segment changes loss and gradient norm much more than its last",
        "train error zero along 585→700→…→2300→2402",
        ("zero_error", "change_ratio"),
    ),
    "C4": Claim(
        "C4",
        "the polyline 1→2 keeps train error ≈ 0 and reaches good validation error earlier than the segment",
        "good validation error from t ≈ 0.6",
        ("zero_error", "good_val_error"),
    ),
    "C5": Claim(
        "C5",
        "the polyline 1→1′ passes a wide (smaller gradient norm than both ends), well-generalising region near "
        "t = 0.5: at its lowest validation error there, a small fraction of the ends', and at the same t",
        "low validation error and small gradient norm near t = 0.5",
        ("zero_error", "middle_val_error_fraction"),
        fixed=f"near t = 0.5: t within 0.5 ± {NEAR_HALF}",
    ),
    "C6": Claim(
        "C6",
        "the polyline 2→2′ changes the metrics little; its gradient norm shows two symmetric hills",
        "flat metrics, two symmetric gradient-norm hills",
        ("zero_error", "flat_spread", "hill_symmetry", "hill_prominence"),
    ),
    "S1": Claim(
        "S1",
        "the top Hessian eigenvalue of the training objective is smaller at point 2 than at point 1",
        "not in the paper, which measures width by the gradient norm alone",
        ("sharpness_ratio",),
        source="grokscape",
    ),
    "A1": Claim(
        "A1",
        "after alignment (through the model's symmetries by align.method, point 2′ aligned to point 2) the "
        "segment 2→2′ has no train-error barrier: the raw segment's barrier is a relabelling of units",
        "not in the paper; the question of Git Re-Basin (Ainsworth et al. 2023) asked of grokking",
        ("barrier",),
        source="grokscape",
        words=("shown", "not shown"),
        note=(
            "Alignment finds a local optimum of its objective, not the best relabelling: a barrier that "
            "alignment removes shows it was a relabelling, but one that survives does not show it is more than "
            'one. So A1 can be shown, never refuted: not shown is not "does not hold".'
        ),
    ),
}


def decide(claim: Claim, units: Mapping[str, Callable[[ClaimThresholds], dict]], th: ClaimThresholds) -> dict:
    """A claim over its units (each a function of the thresholds): every unit's verdict and the range of each
    threshold that keeps it, and the claim's verdict, the common one or "holds for k of N"."""
    decided = {name: _decided(claim, decide_unit, th) for name, decide_unit in units.items()}
    counts = {state: sum(u["state"] == state for u in decided.values()) for state in (HOLDS, FAILS, UNDECIDED)}
    counts[NOT_GROKKED] = sum(u["state"] == NOT_GROKKED for u in decided.values())
    n = len(decided)
    common = next((state for state, k in counts.items() if k == n), None) if n else None
    if common is not None:
        verdict = state_word(_words(claim), common)
    else:
        verdict = f"{claim.words[0]} for {counts[HOLDS]} of {n}"
        verdict += f", undecided for {counts[UNDECIDED]}" if counts[UNDECIDED] else ""
        verdict += f", not grokked for {counts[NOT_GROKKED]}" if counts[NOT_GROKKED] else ""
    first = next((u for u in decided.values() if u["quantities"]), {"quantities": {}})
    return {
        "claim": claim.name,
        "statement": claim.statement,
        "source": claim.source,
        "words": _words(claim),
        "verdict": verdict,
        "holds": counts[HOLDS] == n > 0,
        "counts": {**counts, "units": n},
        "reasons": sorted({u["reason"] for u in decided.values() if u["state"] == UNDECIDED}),
        "quantities": first["quantities"],
        "spread": spread({name: u["quantities"] for name, u in decided.items()}),
        "units": decided,
        "thresholds": {name: getattr(th, name) for name in claim.thresholds},
        "fixed": claim.fixed,
        "note": claim.note,
        "paper": claim.paper,
    }


def _decided(claim: Claim, decide_unit: Callable[[ClaimThresholds], dict], th: ClaimThresholds) -> dict:
    """A unit's verdict in the claim's words, and for each threshold the range that keeps it."""
    unit = decide_unit(th)
    critical = unit.pop("critical")

    def state_at(name: str, value: float) -> str:
        return decide_unit(replace(th, **{name: value}))["state"]

    ranges = {
        name: verdict_range(partial(state_at, name), getattr(th, name), critical.get(name, ()))
        for name in claim.thresholds
    }
    verdict = unit["reason"] if unit["state"] == NOT_GROKKED else state_word(_words(claim), unit["state"])
    return {"verdict": verdict, **unit, "ranges": ranges}


def state_word(words: Mapping[str, str], state: str) -> str:
    """A unit's state in its claim's `words` (claims.json's "words": "does not hold", A1's "not shown")."""
    return words.get(state, state)


def _words(claim: Claim) -> dict[str, str]:
    return {HOLDS: claim.words[0], FAILS: claim.words[1]}


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
    """The tables of one seed that C2–C4 and S1 rest on (a seed that generalised has them all)."""

    segment: Table
    chain: Table
    polyline: Table


@dataclass(frozen=True)
class PairTables:
    """The paths between two seeds that C5, C6 and A1 rest on; None where there is none (a seed that never
    generalised has no point 2, so no path 2→2′)."""

    across_memorised: Table | None = None
    across_grokked: Table | None = None
    grokked_segment: Table | None = None  # A1: the segment 2→2′ as trained ...
    aligned_grokked_segment: Table | None = None  # ... and with 2′ aligned to 2


def evaluate_claims(
    points: Mapping[int, Mapping],
    histories: Mapping[int, Table],
    collapses: Mapping[int, Mapping],
    seeds: Mapping[int, SeedTables],
    pairs: Mapping[tuple[int, int], PairTables],
    th: ClaimThresholds,
) -> list[dict]:
    """C1–C4 and S1 for every seed of `points` (with its history, for C1, and its collapses.json, for C3),
    C5, C6 and A1 for every pair of consecutive seeds (when there are two). A seed without tables must be one
    that never generalised: it is listed as not grokked."""
    units: dict[str, dict[str, Callable[[ClaimThresholds], dict]]] = {name: {} for name in CLAIMS}
    for seed, record in sorted(points.items()):
        name = f"seed{seed}"
        units["C1"][name] = partial(c1_grokking, record, histories[seed])
        tables = seeds.get(seed)
        if tables is None:
            for claim in ("C2", "C3", "C4", "S1"):
                units[claim][name] = _without_tables({seed: record}, claim, name)
        else:
            units["C2"][name] = partial(c2_segment, tables.segment)
            units["C3"][name] = partial(c3_chain, tables.chain, collapses[seed])
            units["C4"][name] = partial(c4_polyline, tables.polyline, tables.segment)
            units["S1"][name] = partial(s1_sharpness, tables.segment)
    for a, b in itertools.pairwise(sorted(points)):
        name, tables, records = f"seed{a}-seed{b}", pairs.get((a, b), PairTables()), {a: points[a], b: points[b]}
        for claim, table, decide_unit in (
            ("C5", tables.across_memorised, c5_two_memorisations),
            ("C6", tables.across_grokked, c6_two_generalisations),
        ):
            units[claim][name] = (
                partial(decide_unit, table) if table is not None else _without_tables(records, claim, name)
            )
        if tables.aligned_grokked_segment is not None:  # A1 is asked where the aligned segment was evaluated
            units["A1"][name] = partial(
                a1_aligned_generalisations, tables.grokked_segment, tables.aligned_grokked_segment
            )
        elif any(record["grokked"] is None for record in records.values()):
            units["A1"][name] = _without_tables(records, "A1", name)
    return [decide(CLAIMS[name], decided, th) for name, decided in units.items() if decided]


def _without_tables(records: Mapping[int, Mapping], claim: str, unit: str) -> Callable[[ClaimThresholds], dict]:
    """The unit of seeds that lack a claim's tables because some never generalised; for seeds that all
    generalised a missing table is a mistake of the caller."""
    if all(record["grokked"] is not None for record in records.values()):
        raise ValueError(f"claim {claim}: no table for {unit}, whose seeds all generalised")
    unit_verdict = not_grokked(records)
    return lambda th: {**unit_verdict, "critical": {}}
