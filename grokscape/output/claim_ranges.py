"""How far a claim's threshold can move before a unit's verdict changes, found exactly.

A claim's verdict on one unit is a function of each threshold (the others held at their configured
values) that can change only where the threshold meets a measured number: a comparison `measured ≥
threshold` flips at `measured`. Each claim lists those numbers (its "critical values"); the verdict is
then constant between two neighbouring critical values, so evaluating the claim itself once at every
critical value and once between each neighbouring pair gives the verdict everywhere. The range around the
configured value over which the verdict stays the same is read off those pieces, its ends measured values.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping


def verdict_range(verdict_at: Callable[[float], str], value: float, critical: Iterable[float]) -> dict:
    """The interval of the threshold, around its configured `value`, over which `verdict_at` stays
    `verdict_at(value)`: {"low", "high"} (None: unbounded), whether each end belongs to it, and the verdict
    just beyond each end ("below", "above")."""
    points = sorted({float(c) for c in critical if math.isfinite(c)} | {float(value)})
    edges = [-math.inf, *points, math.inf]
    pieces = []  # (low, high, verdict); low == high for a single critical value
    for low, high in itertools.pairwise(edges):
        sample = _inside(low, high)
        if sample is not None:
            pieces.append((low, high, verdict_at(sample)))
        if math.isfinite(high):
            pieces.append((high, high, verdict_at(high)))
    here = next(i for i, (low, high, _) in enumerate(pieces) if low == high == value)
    verdict = pieces[here][2]
    first = last = here
    while first > 0 and pieces[first - 1][2] == verdict:
        first -= 1
    while last < len(pieces) - 1 and pieces[last + 1][2] == verdict:
        last += 1
    low, high = pieces[first][0], pieces[last][1]
    return {
        "low": low if math.isfinite(low) else None,
        "low_included": pieces[first][0] == pieces[first][1],
        "below": pieces[first - 1][2] if first > 0 else None,
        "high": high if math.isfinite(high) else None,
        "high_included": pieces[last][0] == pieces[last][1],
        "above": pieces[last + 1][2] if last < len(pieces) - 1 else None,
    }


def _inside(low: float, high: float) -> float | None:
    """A number strictly between `low` and `high` (either may be infinite), or None when there is none."""
    if math.isinf(low) and math.isinf(high):
        return 0.0
    if math.isinf(low):
        return high - 1 - abs(high)
    if math.isinf(high):
        return low + 1 + abs(low)
    middle = low + (high - low) / 2
    return middle if low < middle < high else None


def range_text(stay: Mapping) -> str:
    """An interval in the usual notation: [0.25, ∞), (−∞, 8.49], any value."""
    if stay["low"] is None and stay["high"] is None:
        return "any value"
    low = "(−∞" if stay["low"] is None else ("[" if stay["low_included"] else "(") + _number(stay["low"])
    high = "∞)" if stay["high"] is None else _number(stay["high"]) + ("]" if stay["high_included"] else ")")
    return f"{low}, {high}"


def nearest_flip(value: float, stay: Mapping) -> tuple[float, str, str] | None:
    """(end, the verdict beyond it, the threshold's values beyond it as text: "≥ 0.685") of the end of the
    range nearest the configured value; None when no change of this threshold alone flips the verdict."""
    ends = []
    if stay["low"] is not None:
        ends.append((stay["low"], stay["below"], ("<" if stay["low_included"] else "≤") + " " + _number(stay["low"])))
    if stay["high"] is not None:
        ends.append(
            (stay["high"], stay["above"], (">" if stay["high_included"] else "≥") + " " + _number(stay["high"]))
        )
    return min(ends, key=lambda end: abs(end[0] - value)) if ends else None


def closest_flip(value: float, stays: Mapping[str, Mapping]) -> tuple[str, float, str, str] | None:
    """Over units: (unit, *nearest_flip) of the flip nearest the configured value, or None."""
    flips = [(unit, *flip) for unit, stay in stays.items() if (flip := nearest_flip(value, stay)) is not None]
    return min(flips, key=lambda flip: abs(flip[1] - value)) if flips else None


def _number(value: float) -> str:
    return f"{value:.4g}"
