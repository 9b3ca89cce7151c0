"""The README's Results tables, rendered from a folder of a run's small results (`export_run` writes it):
the numbers a reader sees are regenerated from committed files, never typed in.

    python -m grokscape.output.report_tables docs/results/four_seeds        # one run's tables, to stdout
    python -m grokscape.output.report_tables docs/results --readme README.md  # the README's blocks
    python -m grokscape.output.report_tables docs/results/instability --readme docs/instability.md

A page holds each block between its pair of marker lines (`markers`): the README `readme_block` between
`<!-- results:begin -->` and `<!-- results:end -->`, and the instability analysis (`render_instability`)
between `<!-- instability:begin -->` and `<!-- instability:end -->`; tests/test_results.py renders them again
and fails when a page differs.
"""

from __future__ import annotations

import argparse
import itertools
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from grokscape.errors import GrokscapeError
from grokscape.output.claim_ranges import closest_flip, nearest_flip
from grokscape.output.claims import state_word
from grokscape.planning.points import POINT_KEYS
from grokscape.storage import read_json

INSTABILITY = "instability"  # the instability analysis's folder under docs/results/, and its markers' name


def markers(name: str) -> tuple[str, str]:
    """The lines around block `name` in a page."""
    return f"<!-- {name}:begin -->", f"<!-- {name}:end -->"


RESULTS_BEGIN, RESULTS_END = markers("results")


# The rows per seed and per pair of consecutive seeds: what the paper reports, and the unit's numbers, each
# {claim.quantity} a quantity of that claim's unit in claims.json, {points.…} the seed's own files.
SEED_ROWS = (
    ("memorisation (point 1), epoch", "585", "{points.memorized}"),
    ("generalisation (point 2), epoch", "2402", "{points.grokked}"),
    ("validation accuracy at point 1", "near chance", "{points.val_acc_at_memorisation}"),
    (
        "segment 1→2: train-error barrier, peak at t",
        "present, t ≈ 0.35",
        "{C2.train_error_barrier}, t = {C2.barrier_peak_t}",
    ),
    (
        "the same peak in the paper's orientation (its definition 2 puts point 2 at t = 0: 1 − t)",
        "t ≈ 0.35",
        "t = {C2.barrier_peak_t_paper_orientation}",
    ),
    ("segment 1→2: gradient norm at t = 0 → t = 1", "0.75 → ~0", "{C2.grad_norm_point1} → {C2.grad_norm_point2}"),
    ("chain 1→2: max train error (segments)", "0", "{C3.max_train_error} ({C3.segments})"),
    (
        "polyline 1→2: max train error; good validation error from t (segment: from t)",
        "≈ 0; t ≈ 0.6",
        "{C4.max_train_error}; {C4.polyline_good_val_from_t} ({C4.segment_good_val_from_t})",
    ),
    (
        "top Hessian eigenvalue at point 1 → point 2",
        "(not measured)",
        "{S1.top_eigenvalue_point1} → {S1.top_eigenvalue_point2}",
    ),
)
PAIR_ROWS = (
    (
        "polyline 1→1′: max train error; lowest validation error near t = 0.5 (ends)",
        "≈ 0; low",
        "{C5.max_train_error}; {C5.val_error_near_half} ({C5.val_error_endpoints})",
    ),
    (
        "polyline 2→2′: spread of validation error; gradient-norm hills at t",
        "small; two symmetric hills",
        "{C6.val_error_spread}; {C6.hills_at_t}",
    ),
    (
        "segment 2→2′: train-error barrier, raw → aligned; ‖w_A − w_B‖, raw → aligned",
        "(not asked)",
        "{A1.train_error_barrier_raw} → {A1.train_error_barrier_aligned}; {A1.distance_raw} → {A1.distance_aligned}",
    ),
)
FIELD = re.compile(r"\{(\w+)\.(\w+)\}")
# What the claims table shows of each claim's measured numbers (min–max over units).
MEASURED = {
    "C1": ("ratio", "val_acc_at_memorisation"),
    "C2": ("train_error_barrier", "grad_norm_point2_fraction"),
    "C3": ("max_train_error", "first_segment_loss_change", "last_segment_loss_change"),
    "C4": ("polyline_good_val_from_t", "segment_good_val_from_t"),
    "C5": ("val_error_near_half", "val_error_fraction_of_ends", "grad_norm_near_half"),
    "C6": ("val_error_spread", "hill_asymmetry"),
    "S1": ("ratio",),
    "A1": ("train_error_barrier_raw", "train_error_barrier_aligned"),
    "I1": ("max_train_error_barrier", "max_val_error_barrier", "max_distance", "connected_from_spawn_epoch"),
    "I2": ("largest_delay", "largest_delay_fraction", "sealed_from_spawn_epoch"),
}


def render(folder: str | Path) -> str:
    """The Results block (Markdown) of the run whose small results are in `folder`."""
    folder = Path(folder)
    run = read_json(folder / "run.json")
    claims = read_json(folder / "claims.json")
    summary = pd.read_csv(folder / "summary.csv")
    seeds = sorted(int(p.name.removeprefix("seed")) for p in folder.glob("seed*") if p.is_dir())
    units = {c["claim"]: {name: u["quantities"] for name, u in c["units"].items()} for c in claims}
    units["points"] = {f"seed{seed}": seed_points(folder / f"seed{seed}") for seed in seeds}
    fitted = summary[summary["kind"].isin(["polyline", "bezier"])]
    lines = [
        f"{_measured(run)}. Fitted curves that connect: {int(fitted['connects'].sum())} "
        f"of {len(fitted)}. Every number below is rendered from the run's exported results by "
        "`python -m grokscape.output.report_tables`.",
        "",
        _table(
            ["quantity", "paper", *(f"seed {s}" for s in seeds)],
            [
                [label, paper, *(_cell(template, units, f"seed{s}") for s in seeds)]
                for label, paper, template in SEED_ROWS
            ],
        ),
    ]
    pairs = [f"seed{a}-seed{b}" for a, b in itertools.pairwise(seeds)]
    if pairs:
        rows = [
            [label, paper, *(_cell(template, units, pair) for pair in pairs)] for label, paper, template in PAIR_ROWS
        ]
        lines += ["", _table(["quantity", "paper", *(p.replace("-", " – ") for p in pairs)], rows)]
    lines += ["", _claims_table(claims)]
    return "\n".join(lines) + "\n"


# The README shows the four-seed run (or, before there is one, the two-seed default run), then the default
# command's run beside its rerun under PyTorch's AVX2 kernels: folders under docs/results/.
README_RUNS = ("four_seeds", "default_run")
README_RERUNS = ("default_run", "default_run_avx2")


def readme_block(results: str | Path) -> str:
    """The README's Results block from the committed runs under `results` (docs/results/)."""
    results = Path(results)
    run = next((results / name for name in README_RUNS if (results / name / "run.json").exists()), None)
    if run is None:
        raise GrokscapeError(f"{results} holds none of the runs {', '.join(README_RUNS)}")
    block = render(run)
    reruns = [results / name for name in README_RERUNS if (results / name / "run.json").exists()]
    return block + ("\n" + _comparison(reruns) + "\n" if len(reruns) > 1 else "")


def _comparison(folders: Sequence[Path]) -> str:
    """Runs of one configuration made elsewhere (other CPU kernels): the command, where each ran, its wall
    time, each seed's points and each claim's verdict, side by side."""
    runs = [read_json(folder / "run.json") for folder in folders]
    verdicts = [{c["claim"]: c["verdict"] for c in read_json(folder / "claims.json")} for folder in folders]
    seeds = sorted(int(p.name.removeprefix("seed")) for p in folders[0].glob("seed*") if p.is_dir())
    points = [{s: seed_points(folder / f"seed{s}") for s in seeds} for folder in folders]
    rows = [["machine (kernels)", *(run["machine"] for run in runs)]]
    rows.append(["wall time", *(_duration(run["wall_time_s"]) for run in runs)])
    rows += [
        [f"seed {s}: points 1 / 2", *(f"{_n(p[s]['memorized'])} / {_n(p[s]['grokked'])}" for p in points)]
        for s in seeds
    ]
    rows += [[claim, *(v.get(claim, "—") for v in verdicts)] for claim in verdicts[0]]
    header = ["", *(folder.name for folder in folders)]
    rows.insert(0, ["command", *(f"`{run['command']}`" for run in runs)])
    return _table(header, rows)


def render_instability(folder: str | Path) -> str:
    """The instability analysis's block (Markdown) from its exported folder (`export_run --instability`):
    per parent, each spawn epoch's children (their points) and the barriers and distance between them at
    their points 2 and 1, then the claims I1 and I2."""
    folder = Path(folder)
    run = read_json(folder / "run.json")
    lines = [
        f"{_measured(run)}; the children's optimizer state: {run['optimizer_state']}. "
        "Rendered from the exported tables by `python -m grokscape.output.report_tables`."
    ]
    for table in sorted(folder.glob("seed*_pairs.csv")):
        parent = table.name.removesuffix("_pairs.csv")
        points = read_json(folder / parent / "points.json")
        children = pd.read_csv(folder / f"{parent}.csv")
        lines += [
            "",
            f"Parent: seed {parent.removeprefix('seed')}, point 1 at epoch {_n(points['memorized'])}, "
            f"point 2 at epoch {_n(points['grokked'])}.",
            "",
            _spawn_table(children, pd.read_csv(table)),
        ]
    lines += ["", _claims_table(read_json(folder / "claims.json"))]
    return "\n".join(lines) + "\n"


def _measured(run: Mapping) -> str:
    """Where and how a committed run was made: commit, machine, command, wall time (its run.json)."""
    return (
        f"Measured at commit `{run['commit']}` on {run['machine']}: `{run['command']}`, "
        f"{_duration(run['wall_time_s'])} of wall time"
    )


def _spawn_table(children: pd.DataFrame, pairs: pd.DataFrame) -> str:
    """One row per spawn epoch and point the children are compared at (point 1 only for spawn epochs before
    the parent's): the children's epochs of that point (the replay child's marked r), their spread, and the
    barriers (max − mean of ends) and distance over the pairs (min–max where there are several)."""
    rows = []
    for (spawn, epoch), siblings in children.groupby(["spawn", "spawn_epoch"], sort=False):
        for at, (point, _) in POINT_KEYS.items():
            compared = pairs[(pairs["spawn"] == spawn) & (pairs["at"] == at)]
            if at == "mem" and compared.empty:
                continue
            reached = siblings.loc[~siblings["replay"], point].dropna()
            rows.append(
                [
                    f"{spawn} ({epoch})" if spawn != f"e{epoch}" else str(epoch),
                    POINT_NAMES[at],
                    _children(siblings, point),
                    _n(int(reached.max() - reached.min())) if len(reached) > 1 else "—",
                    *(
                        _span(list(values)) if len(values := compared[column].dropna()) else "—"
                        for column in ("train_error_barrier", "val_error_barrier", "loss_barrier", "distance")
                    ),
                ]
            )
    header = ["spawn epoch k", "compared at", "children's epochs there", "spread"]
    measures = ["train-error barrier", "validation-error barrier", "train cross-entropy barrier", "‖w_a − w_b‖"]
    return _table([*header, *measures], rows)


POINT_NAMES = {"mem": "points 1", "grok": "points 2"}


def _children(siblings: pd.DataFrame, point: str) -> str:
    """The children's epochs of one point, in child order ("never": not reached by the child's last epoch)."""
    return ", ".join(
        ("never" if pd.isna(epoch) else str(int(epoch))) + (" (r)" if replay else "")
        for epoch, replay in zip(siblings[point], siblings["replay"], strict=True)
    )


def seed_points(folder: Path) -> dict:
    """A seed's points 1 and 2 and its validation accuracy at point 1, from its points.json and history."""
    points = read_json(folder / "points.json")
    history = pd.read_csv(folder / "history.csv")
    at_point_1 = history.loc[history["epoch"] == points["memorized"], "val_acc"]
    val_acc = float(at_point_1.iloc[0]) if len(at_point_1) else None
    return {"memorized": points["memorized"], "grokked": points["grokked"], "val_acc_at_memorisation": val_acc}


def _claims_table(claims: Sequence[Mapping]) -> str:
    rows = []
    for c in claims:
        asker = "" if c["source"] == "paper" else f" *({c['source']}'s question)*"
        counts = c["counts"]
        verdict = f"**{c['verdict']}**" + (f" ({counts['holds']} of {counts['units']})" if c["holds"] else "")
        measured = "; ".join(
            f"{name} {_span(values)}"
            for name in MEASURED.get(c["claim"], ())
            if (values := [u["quantities"][name] for u in c["units"].values() if _number(u["quantities"].get(name))])
        )
        rows.append(
            [c["claim"], c["statement"] + asker, verdict, measured, _exceptions(c), _nearest(c), c["paper"] or ""]
        )
    header = ["claim", "statement", "verdict", "measured (over units)", "where it does not hold", "nearest flip"]
    return _table([*header, "paper"], rows)


def _exceptions(claim: Mapping) -> str:
    """Each unit that does not hold, and the threshold that alone would make it hold, if one would."""
    out = []
    for name, unit in claim["units"].items():
        if unit["state"] == "holds":
            continue
        if unit["state"] in ("undecided", "not grokked"):
            out.append(f"{name}: {unit['verdict']}" + (f" ({unit['reason'].split(':')[0]})" if unit["reason"] else ""))
            continue
        flips = [
            f"{state_word(claim['words'], 'holds')} at {threshold} {flip[2]} (is {claim['thresholds'][threshold]})"
            for threshold, stay in unit["ranges"].items()
            if (flip := nearest_flip(claim["thresholds"][threshold], stay)) is not None and flip[1] == "holds"
        ]
        out.append(f"{name}: " + ("; ".join(flips) if flips else "no single threshold makes it hold"))
    return "; ".join(out) or "—"


def _nearest(claim: Mapping) -> str:
    """The threshold whose flip lies nearest its configured value, relative to that value, over all units."""
    flips = []
    for threshold, value in claim["thresholds"].items():
        found = closest_flip(value, {name: unit["ranges"][threshold] for name, unit in claim["units"].items()})
        if found is not None:
            flips.append((abs(found[1] - value) / max(abs(value), 1e-12), threshold, value, *found))
    if not flips:
        return "none"
    _, threshold, value, unit, _, beyond, values = min(flips)
    return f"{threshold} = {value}: {unit} {state_word(claim['words'], beyond)} at {values}"


def _cell(template: str, units: Mapping[str, Mapping[str, Mapping]], unit: str) -> str:
    """A row's template filled with one unit's quantities ("—" where its claim or quantity is missing)."""
    return FIELD.sub(lambda match: _n(units.get(match[1], {}).get(unit, {}).get(match[2])), template)


def _span(values: Sequence[float]) -> str:
    low, high = min(values), max(values)
    return _n(low) if _n(low) == _n(high) else f"{_n(low)}–{_n(high)}"


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _n(value) -> str:
    """A number as the tables show it: integers whole, others to 3 significant digits; '—' for none."""
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(map(_n, value))
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) >= 1):
        return str(int(value))
    return f"{value:.3g}"


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def marked_block(text: str, source: str, name: str = "results") -> str:
    """What a page holds between the markers of block `name` (one line each); an error naming `source`
    without."""
    begin, end = markers(name)
    lines = text.splitlines(keepends=True)
    try:
        first, last = lines.index(begin + "\n"), lines.index(end + "\n")
    except ValueError:
        raise GrokscapeError(f"{source} has no lines {begin} and {end} around its {name}") from None
    return "".join(lines[first + 1 : last])


def with_block(text: str, block: str, source: str, name: str = "results") -> str:
    """`text` with the block `name` between its markers replaced by `block`."""
    begin, end = markers(name)
    old = marked_block(text, source, name)
    head, tail = text.split(begin + "\n" + old + end, 1)
    return head + begin + "\n" + block + end + tail


def blocks(folder: Path) -> dict[str, str]:
    """The blocks `folder` renders to, by name: one exported run's (its results or its instability analysis),
    or docs/results/'s (the README's results and, once committed, the instability analysis)."""
    if (folder / "run.json").exists():
        return {INSTABILITY: render_instability(folder)} if _is_instability(folder) else {"results": render(folder)}
    rendered = {"results": readme_block(folder)}
    if (folder / INSTABILITY / "run.json").exists():
        rendered[INSTABILITY] = render_instability(folder / INSTABILITY)
    return rendered


def _is_instability(folder: Path) -> bool:
    return any(folder.glob("seed*_pairs.csv"))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Render the README's Results tables from a run's small results.")
    parser.add_argument(
        "folder",
        help="a run's small results (python -m grokscape.output.export_run writes one), or docs/results for the "
        "README's block (its runs README_RUNS and reruns README_RERUNS)",
    )
    parser.add_argument("--readme", help="write the tables into this page, between the markers of each block it has")
    args = parser.parse_args(argv)
    try:
        rendered = blocks(Path(args.folder))
        if args.readme:
            page = Path(args.readme)
            text = page.read_text()
            names = [name for name in rendered if markers(name)[0] + "\n" in text]
            if not names:
                raise GrokscapeError(f"{page} has none of the markers {', '.join(markers(n)[0] for n in rendered)}")
            for name in names:
                text = with_block(text, rendered[name], args.readme, name)
            page.write_text(text)
        else:
            sys.stdout.write("\n".join(rendered.values()))
    except (GrokscapeError, FileNotFoundError) as error:
        raise SystemExit(f"grokscape: {error}") from None


if __name__ == "__main__":
    main()
