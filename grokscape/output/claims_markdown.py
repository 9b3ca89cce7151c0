"""The claims of a run as Markdown (results/claims.md): verdicts, measured numbers, and how close each
verdict is to flipping, threshold by threshold and unit by unit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from grokscape.output.claim_ranges import closest_flip, range_text
from grokscape.output.claims import state_word


def claims_markdown(claims: Sequence[Mapping]) -> str:
    """One row per claim (verdict, the spread of the deciding numbers, thresholds, the paper's numbers), the
    flip nearest each threshold, then per claim every unit's verdict and numbers and the range of each
    threshold over which that verdict stays."""
    lines = [
        "| claim | statement | verdict | measured (min / median / max over units) | thresholds | paper |",
        "|---|---|---|---|---|---|",
    ]
    for c in claims:
        measured = "; ".join(f"{k} = {_range(v)}" for k, v in c["spread"].items())
        thresholds = "; ".join([*(f"{k} = {v}" for k, v in c["thresholds"].items()), *filter(None, [c["fixed"]])])
        source = "" if c["source"] == "paper" else f" *({c['source']}'s question)*"
        statement = f"{c['statement']}{source}"
        lines.append(f"| {c['claim']} | {statement} | **{c['verdict']}** | {measured} | {thresholds} | {c['paper']} |")
    lines += ["", "## How close each verdict is to flipping", ""]
    lines += [
        "Each claim is a conjunction of comparisons of measured numbers with thresholds, so a verdict can flip "
        "only where a threshold meets a measured number. For every threshold, the flip nearest its configured "
        "value over all units (the tables below give each unit's whole range):",
        "",
        "| claim | threshold | configured | nearest flip (unit: its verdict beyond the flip) |",
        "|---|---|---|---|",
    ]
    for c in claims:
        for name, value in c["thresholds"].items():
            nearest = closest_flip(value, {unit: u["ranges"][name] for unit, u in c["units"].items()})
            flip = "none: no value of it alone flips a verdict"
            if nearest is not None:
                unit, _, beyond, values = nearest
                flip = f"{unit}: {state_word(c['words'], beyond)} at {name} {values}"
            lines.append(f"| {c['claim']} | {name} | {value} | {flip} |")
    for c in claims:
        lines += ["", f"### {c['claim']}: {c['verdict']}", ""]
        lines += [c["note"], ""] if c["note"] else []
        lines += [*(f"Undecided because {reason}." for reason in c["reasons"]), ""] if c["reasons"] else []
        lines += ["| unit | verdict | measured |", "|---|---|---|"]
        for unit, decided in c["units"].items():
            measured = "; ".join(f"{k} = {_fmt(v)}" for k, v in decided["quantities"].items())
            lines.append(f"| {unit} | {decided['verdict']} | {measured} |")
        lines += ["", "Each unit's verdict stays as it is while the threshold lies in:", ""]
        lines += ["| threshold (configured) | " + " | ".join(c["units"]) + " |", "|---" * (len(c["units"]) + 1) + "|"]
        for name, value in c["thresholds"].items():
            cells = " | ".join(range_text(u["ranges"][name]) for u in c["units"].values())
            lines.append(f"| {name} ({value}) | {cells} |")
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


def seeds_markdown(points: Mapping[int, Mapping]) -> str:
    """What each seed's training reached, when some seed missed a point: the claims count those seeds as not
    grokked, and this table says how far they got ("" when every seed reached both points)."""
    if all(record["memorized"] is not None and record["grokked"] is not None for record in points.values()):
        return ""
    lines = [
        "\n## What each seed reached (results/seed*/points.json)\n",
        "| seed | memorized | grokked | last epoch | diverged | best train_acc | best val_acc |",
        "|---|---|---|---|---|---|---|",
    ]
    for seed, r in sorted(points.items()):
        cells = [seed, r["memorized"], r["grokked"], r["last_epoch"], r.get("diverged")]
        cells += [f"{r['best'][k]:.4f}" for k in ("train_acc", "val_acc")]
        lines.append("| " + " | ".join("" if v is None else str(v) for v in cells) + " |")
    return "\n".join(lines) + "\n"
