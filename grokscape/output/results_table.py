"""The results table the README shows, written by the workflow from its own outputs (points.json,
summary.csv, claims.json), so that the README's numbers come from a run of the code as it stands.
Columns and claims that other rules add are carried along."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

POINT_FIELDS = ("memorized", "grokked", "last_epoch", "diverged")
FIRST_PATH_COLUMNS = ("kind", "start", "end", "start_epoch", "end_epoch")


def results_markdown(points: Mapping[int, Mapping], summary: pd.DataFrame, claims: Sequence[Mapping]) -> str:
    """Points per seed, every evaluated path's summary row, and the claims' verdicts, as Markdown."""
    seeds = pd.DataFrame([{"seed": seed, **{k: p.get(k) for k in POINT_FIELDS}} for seed, p in sorted(points.items())])
    columns = [c for c in FIRST_PATH_COLUMNS if c in summary] + [c for c in summary if c not in FIRST_PATH_COLUMNS]
    verdicts = pd.DataFrame(
        [
            {"claim": c.get("claim"), "verdict": c.get("verdict"), "statement": c.get("statement") + _asker(c)}
            | {"measured": c.get("quantities")}
            for c in claims
        ]
    )
    return "\n".join(
        [
            "## Points per seed (results/seed*/points.json)\n",
            _table(seeds),
            "## Paths (results/paths/summary.csv)\n",
            _table(summary[columns]),
            "## Segment 1→2: where its train-error barrier peaks, in both orientations\n",
            "Here t = 0 is point 1; the paper's definition of the segment puts point 2 at t = 0, so its t is 1 − t.\n",
            _table(barrier_peaks(summary)),
            "## Claims (results/claims.md)\n",
            _table(verdicts),
        ]
    )


def barrier_peaks(summary: pd.DataFrame) -> pd.DataFrame:
    """Each seed's segment point 1 → point 2: the train-error barrier and the t of its peak, ours (t = 0 at
    point 1) and in the paper's orientation (its definition 2, φ(t) = t·w₁ + (1 − t)·w₂, has w₂ at t = 0)."""
    start_seed, end_seed = (summary[end].str.extract(r"^seed(\d+)-(mem|grok)$") for end in ("start", "end"))
    rows = summary[
        (summary["kind"] == "segment")
        & (start_seed[1] == "mem")
        & (end_seed[1] == "grok")
        & (start_seed[0] == end_seed[0])
    ]
    peak = rows["train_error_peak_at"]
    return pd.DataFrame(
        {
            "segment": rows["start"] + " → " + rows["end"],
            "train_error_barrier": rows["train_error_barrier"],
            "peak t (t = 0 at point 1)": peak,
            "peak t in the paper's orientation (1 − t)": 1 - peak,
        }
    )


def _asker(claim: Mapping) -> str:
    """A question grokscape asks, not a claim of the paper, says so."""
    source = claim.get("source", "paper")
    return "" if source == "paper" else f" ({source}'s question, not the paper's)"


def _table(frame: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, Mapping):
        return "; ".join(f"{k} = {_cell(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_cell(v) for v in value) + "]"
    return str(value).replace("|", "\\|")
