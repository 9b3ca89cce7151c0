"""C4 beside the paper (docs/results/fit_recipes.md): from which t validation error stays good along the
polyline 1→2 fitted with today's recipe (Garipov et al.'s SGD with momentum 0.9 and a decaying rate) and
with the paper's plain SGD (no momentum, a constant rate), beside the segment 1→2; and where the segment's
train-error barrier peaks, at grokscape's t (point 1 at t = 0) and at the paper's (its definition 2 puts
point 2 at t = 0: 1 − t).

`collect` copies the columns of a run directory's segments and polylines 1→2 (seed{S}-mem → seed{S}-grok) as
CSV, with their attributes, under `docs/results/fit_recipes/{name}/`; `table` builds
`docs/results/fit_recipes.csv` from those copies alone.

    python -m grokscape.output.fit_recipes collect RUN_DIR --name NAME --commit SHA
    python -m grokscape.output.fit_recipes table
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from grokscape.numerics.landscape import summary_row
from grokscape.output.claims import first_t_below
from grokscape.output.pathfiles import read_path
from grokscape.output.setup_study import REPO, machine, markdown_table, publish
from grokscape.planning.configuration import load_schema
from grokscape.storage import atomic_write, read_json, write_json

FOLDER = REPO / "docs" / "results" / "fit_recipes"
TABLE = REPO / "docs" / "results" / "fit_recipes.csv"
PAGE = REPO / "docs" / "results" / "fit_recipes.md"
COLUMNS = ("t", "train_error", "val_error", "train_loss", "val_loss", "train_ce", "val_ce", "grad_norm")
FIT = ("optimizer", "lr", "momentum", "schedule", "epochs", "l2")


def collect(run: Path, name: str, commit: str, folder: Path = FOLDER) -> list[Path]:
    """Every segment and polyline point 1 → point 2 of one seed in `run`, as `{kind}_seed{S}.csv` and `.json`."""
    written = []
    for path in sorted((run / "results" / "paths").glob("*/seed*-mem__seed*-grok.h5")):
        start, end = path.stem.split("__")
        if start.split("-")[0] != end.split("-")[0] or path.parent.name not in ("segment", "polyline"):
            continue
        columns, attrs = read_path(path)
        stem = folder / name / f"{path.parent.name}_{start.split('-')[0]}"
        stem.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(stem.with_suffix(".csv")) as tmp:
            pd.DataFrame({k: columns[k] for k in COLUMNS}).to_csv(tmp, index=False, float_format="%.8g")
        keep = ("kind", "start", "end", "start_epoch", "end_epoch", "l2_in_loss", "settings")
        write_json(stem.with_suffix(".json"), {**{k: attrs[k] for k in keep}, "commit": commit, **machine()})
        written.append(stem)
    return written


def table(folder: Path = FOLDER) -> pd.DataFrame:
    """One row per run and seed: the polyline's fit, whether it connects and from which t it generalises,
    beside the segment's t and its barrier's peak in both orientations."""
    claims = {
        k: v["default"]
        for k, v in load_schema(REPO / "schemas/config.schema.yaml")["properties"]["claims"]["properties"].items()
    }
    rows = []
    for polyline in sorted(folder.glob("*/polyline_seed*.csv")):
        run, seed = polyline.parent.name, polyline.stem.split("_seed")[1]
        curve, fit = pd.read_csv(polyline), read_json(polyline.with_suffix(".json"))
        segment = pd.read_csv(polyline.with_name(f"segment_seed{seed}.csv"))
        summary = summary_row({k: segment[k].to_numpy() for k in segment}, claims["zero_error"])
        peak = summary["train_error_peak_at"]
        good = claims["good_val_error"]
        rows.append(
            {
                "run": run,
                "seed": int(seed),
                **{f"fit_{k}": fit["settings"]["polyline"][k] for k in FIT},
                "epochs_1_to_2": f"{fit['start_epoch']}→{fit['end_epoch']}",
                "polyline_max_train_error": float(curve["train_error"].max()),
                "polyline_connects": bool(curve["train_error"].max() <= claims["zero_error"]),
                "polyline_good_val_from_t": first_t_below(curve["t"].to_numpy(), curve["val_error"].to_numpy(), good),
                "segment_good_val_from_t": first_t_below(
                    segment["t"].to_numpy(), segment["val_error"].to_numpy(), good
                ),
                "segment_train_error_barrier": summary["train_error_barrier"],
                "segment_barrier_peak_t": peak,
                "segment_barrier_peak_t_paper_orientation": 1 - peak if np.isfinite(peak) else np.nan,
                "commit": fit["commit"],
                "cpu": f"{fit['cpu']} ({fit['vector_extension']})",
            }
        )
    return pd.DataFrame(rows)


def markdown(frame: pd.DataFrame) -> str:
    """The comparison as the page shows it: one row per fit recipe and seed."""
    columns = ["run", "seed", "fit_momentum", "fit_schedule", "epochs_1_to_2", "polyline_max_train_error"]
    columns += ["polyline_good_val_from_t", "segment_good_val_from_t", "segment_train_error_barrier"]
    columns += ["segment_barrier_peak_t", "segment_barrier_peak_t_paper_orientation"]
    return markdown_table(frame, columns)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    steps = parser.add_subparsers(dest="step", required=True)
    take = steps.add_parser("collect", help="copy a run directory's segments and polylines 1→2 as CSV")
    take.add_argument("run", type=Path)
    take.add_argument("--name", required=True)
    take.add_argument("--commit", required=True, help="the commit of the code the paths were evaluated with")
    take.add_argument("--folder", type=Path, default=FOLDER)
    make = steps.add_parser("table", help="docs/results/fit_recipes.csv from the copies")
    make.add_argument("--folder", type=Path, default=FOLDER)
    make.add_argument("--out", type=Path, default=TABLE)
    make.add_argument("--page", type=Path, default=PAGE)
    args = parser.parse_args(argv)
    if args.step == "collect":
        for stem in collect(args.run, args.name, args.commit, args.folder):
            print(stem)
    else:
        publish(table(args.folder), args.out, args.page, "grokscape.output.fit_recipes", markdown)


if __name__ == "__main__":
    main()
