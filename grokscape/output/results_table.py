"""The results table the README shows, written by the workflow from its own outputs (points.json,
summary.csv, claims.json), so that the README's numbers come from a run of the code as it stands.
Columns and claims that other rules add are carried along."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

POINT_FIELDS = ("memorized", "grokked", "last_epoch", "diverged")
BEST_FIELDS = ("train_acc", "val_acc")
FIRST_PATH_COLUMNS = ("kind", "start", "end", "start_epoch", "end_epoch")


def results_markdown(points: Mapping[int, Mapping], summary: pd.DataFrame, claims: Sequence[Mapping]) -> str:
    """Points per seed, every evaluated path's summary row, and the claims' verdicts, as Markdown."""
    seeds = points_frame(points)
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
            markdown_table(seeds),
            "## Paths (results/paths/summary.csv)\n",
            markdown_table(summary[columns]),
            "## Claims (results/claims.md)\n",
            markdown_table(verdicts),
        ]
    )


def points_frame(points: Mapping[int, Mapping], best: bool = False) -> pd.DataFrame:
    """One row per seed: its points' epochs, last epoch, divergence and, with `best`, its best accuracies."""
    rows = []
    for seed, record in sorted(points.items()):
        row = {"seed": seed, **{k: record.get(k) for k in POINT_FIELDS}}
        rows.append(row | ({f"best_{k}": record["best"][k] for k in BEST_FIELDS} if best else {}))
    return pd.DataFrame(rows)


def seeds_markdown(points: Mapping[int, Mapping]) -> str:
    """What each seed's training reached, when some seed missed a point: the claims count those seeds as not
    reached, and this table says how far they got."""
    if all(record["memorized"] is not None and record["grokked"] is not None for record in points.values()):
        return ""
    return "\n## What each seed reached (results/seed*/points.json)\n\n" + markdown_table(
        points_frame(points, best=True)
    )


def _asker(claim: Mapping) -> str:
    """A question grokscape asks, not a claim of the paper, says so."""
    source = claim.get("source", "paper")
    return "" if source == "paper" else f" ({source}'s question, not the paper's)"


def markdown_table(frame: pd.DataFrame) -> str:
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
