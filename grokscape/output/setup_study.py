"""The setup study (docs/results/setup_study.md): runs of the paper's task that differ from the default
configuration in one training setting (learning rate, clipping, initialisation, minibatch sampling),
each a real workflow run in its own run directory, summarised in one table row per seed.

Two steps, so that the table can be regenerated and checked from what the repository holds:
`collect` copies what one run directory's training left (per seed: points.json, the history as CSV,
the training settings, where and on what it ran) into `docs/results/setup_study/{run}/seed{S}/`; a
seed still training contributes the history so far, read from its resume state. `table` builds the
table from those copies alone: points 1 and 2, divergence, the collapses after point 1, the best and
the final accuracies.

    python -m grokscape.output.setup_study collect RUN_DIR --name NAME --commit SHA [--train YAML]
    python -m grokscape.output.setup_study table [--folder docs/results/setup_study] [--out ....csv]
"""

from __future__ import annotations

import argparse
import json
import math
import platform
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd
import yaml

from grokscape.planning.configuration import load_schema
from grokscape.planning.points import THRESHOLD_KEYS, Thresholds, collapse_record, points_record
from grokscape.storage import atomic_write, read_attrs, read_json, read_table, write_json

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "schemas" / "config.schema.yaml"
FOLDER = REPO / "docs" / "results" / "setup_study"
TABLE = REPO / "docs" / "results" / "setup_study.csv"
PAGE = REPO / "docs" / "results" / "setup_study.md"
END = "<!-- end -->"
HISTORY = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "weight_norm")
# Training settings that shape the trajectory; a run's variant names those that differ from the schema's
# defaults (max_epochs only caps a run, and the seeds are the table's rows).
VARIED = (
    "optimizer",
    "lr",
    "weight_decay",
    "momentum",
    "batch_size",
    "grad_clip",
    "init_scale",
    "weight_norm",
    "init",
    "sampling",
)


# A run recorded before a setting existed trained as that setting's first value: PyTorch's initialisation and
# a shuffled epoch were all grokscape had until `train.init` and `train.sampling` came (bit for bit the same).
BEFORE_SETTING = {"init": "pytorch", "sampling": "shuffle"}


def machine() -> dict[str, Any]:
    """The CPU the runs were made on, as `lscpu` names it, and its widest vector extension (float rounding,
    hence grokking epochs, differ between AVX2 and AVX-512 kernels)."""
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "")
    flags = next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), [])
    vectors = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "neither AVX2 nor AVX-512"
    return {"cpu": model or platform.processor(), "vector_extension": vectors, "cores": info.count("processor\t:")}


def collect(
    run: Path, name: str, commit: str, train_override: Mapping | None = None, folder: Path = FOLDER
) -> list[Path]:
    """Copy the training files of every seed of run directory `run` under `folder`/`name`/seed{S}/; a seed with
    no history.h5 yet is read from its resume state (its settings then from `train_override` over the
    repository's config.yaml, as the run was started with `--config train=...`)."""
    written = []
    results = run / "results"
    seeds = sorted({int(p.name[4:]) for p in results.glob("seed*") if p.name[4:].isdigit()})
    seeds += sorted(_resumed_seeds(results) - set(seeds))
    for seed in seeds:
        out = folder / name / f"seed{seed}"
        history_file = results / f"seed{seed}" / "history.h5"
        if history_file.exists():
            history, settings = read_table(history_file, list(HISTORY)), read_attrs(history_file)["settings"]
            points, finished = read_json(results / f"seed{seed}" / "points.json"), True
        else:
            history, meta = _resume_history(results, seed)
            settings = _configured(train_override or {})
            thresholds = Thresholds(**{k: settings["points"][k] for k in THRESHOLD_KEYS})
            points = points_record(history["epoch"], history["train_acc"], history["val_acc"], thresholds)
            points["diverged"], finished = meta.get("diverged"), False
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "points.json", points)
        write_json(out / "run.json", {"settings": settings, "finished": finished, "commit": commit, **machine()})
        with atomic_write(out / "history.csv") as tmp:
            pd.DataFrame(history)[list(HISTORY)].to_csv(tmp, index=False, float_format="%.8g")
        written.append(out)
    return written


def _resumed_seeds(results: Path) -> set[int]:
    seeds = set()
    for state in (results / ".resume" / "train").glob("*.h5"):
        with h5py.File(state, "r") as handle:
            seeds |= {int(seed) for seed in handle["history"]}
    return seeds


def _resume_history(results: Path, seed: int) -> tuple[dict[str, np.ndarray], dict]:
    """The history so far of a seed still training, and its points as the loop keeps them."""
    for state in sorted((results / ".resume" / "train").glob("*.h5")):
        with h5py.File(state, "r") as handle:
            if str(seed) in handle["history"]:
                history = {name: handle[f"history/{seed}/{name}"][()] for name in HISTORY}
                return history, json.loads(handle.attrs["points"])[str(seed)]
    raise FileNotFoundError(f"{results}: seed {seed} has neither a history.h5 nor a resume state")


def _configured(train_override: Mapping) -> dict:
    """The training settings of a run started with `--config train=...`: the repository's config.yaml,
    the schema's defaults for keys it lacks, then the override."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    defaults = _defaults()
    sections = {s: {**defaults[s], **config.get(s, {})} for s in ("task", "model", "train", "points")}
    sections["train"] |= dict(train_override)
    return sections


def _defaults() -> dict[str, dict]:
    properties = load_schema(SCHEMA)["properties"]
    return {
        section: {key: spec.get("default") for key, spec in properties[section]["properties"].items()}
        for section in ("task", "model", "train", "points")
    }


def table(folder: Path = FOLDER) -> pd.DataFrame:
    """One row per run and seed, from the files `collect` wrote."""
    defaults = _defaults()
    margin = defaults["points"]["collapse_margin"]
    rows = []
    for seed_folder in sorted(folder.glob("*/seed*")):
        run, points = read_json(seed_folder / "run.json"), read_json(seed_folder / "points.json")
        history = pd.read_csv(seed_folder / "history.csv")
        train = {**defaults["train"], **BEFORE_SETTING, **run["settings"]["train"]}
        rows.append(
            {
                "run": seed_folder.parent.name,
                "commit": run["commit"],
                "cpu": f"{run['cpu']} ({run['vector_extension']})",
                "variant": _variant(train, defaults["train"]),
                **{key: train[key] for key in ("lr", "grad_clip", "init", "sampling")},
                "seed": int(seed_folder.name[4:]),
                **_row(history, points, margin, run["finished"], train["max_epochs"]),
            }
        )
    return pd.DataFrame(rows)


def _variant(train: Mapping, defaults: Mapping) -> str:
    """The settings in which a run differs from the default configuration, or "default"."""
    changed = [f"{key}={train[key]}" for key in VARIED if train[key] != defaults[key]]
    return ", ".join(changed) or "default"


def _row(history: pd.DataFrame, points: Mapping, margin: float, finished: bool, max_epochs: int) -> dict:
    epochs, train_acc = history["epoch"].to_numpy(), history["train_acc"].to_numpy()
    memorized, grokked = points["memorized"], points["grokked"]
    record = collapse_record(epochs, train_acc, memorized, margin, points["thresholds"]["train_acc"])
    dips = record["collapses"]
    before_grok = [d for d in dips if grokked is None or d["epoch"] <= grokked]
    non_finite = np.flatnonzero(~np.isfinite(history["train_loss"].to_numpy()))
    diverged = points.get("diverged") or (int(epochs[non_finite[0]]) if len(non_finite) else None)
    at_point_1 = history.loc[history["epoch"] == memorized, "val_acc"]
    return {
        "memorized": memorized,
        # near chance (1/p) where the run groks as the paper shows it; high where it generalised while memorising
        "val_acc_at_memorisation": float(at_point_1.iloc[0]) if len(at_point_1) else None,
        "grokked": grokked,
        "diverged": diverged,
        "collapses": len(dips),
        "collapses_before_grokking": len(before_grok),
        "deepest_collapse": record["deepest_collapse"],
        "deepest_collapse_epoch": min(dips, key=lambda d: d["train_acc"])["epoch"] if dips else None,
        "last_epoch": int(epochs[-1]),
        "max_epochs": max_epochs,
        "finished": finished,
        "best_train_acc": float(history["train_acc"].max()),
        "best_val_acc": float(history["val_acc"].max()),
        "final_train_acc": float(train_acc[-1]),
        "final_val_acc": float(history["val_acc"].iloc[-1]),
    }


def markdown(frame: pd.DataFrame) -> str:
    """Where each run was made (commit, CPU), then the table, one row per run and seed."""
    runs = frame.drop_duplicates("run")
    parts = [markdown_table(runs, ["run", "variant", "commit", "cpu"])]
    columns = ["run", "seed", "memorized", "val_acc_at_memorisation", "grokked", "diverged", "collapses"]
    columns += ["collapses_before_grokking"]
    columns += ["deepest_collapse", "deepest_collapse_epoch", "last_epoch", "finished", "best_val_acc"]
    parts.append(markdown_table(frame, columns))
    return "\n".join(parts)


def markdown_table(frame: pd.DataFrame, columns: list[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in frame[columns].itertuples(index=False):
        lines.append("| " + " | ".join(_cell(value) for value in row) + " |")
    return "\n".join(lines) + "\n"


def write_block(page: Path, module: str, block: str) -> None:
    """Put `block` into `page` between the markers of the tool `module` (`python -m {module} table`); the
    text around them is the page's own."""
    begin = f"<!-- written by python -m {module} table -->"
    text = page.read_text()
    if begin not in text or END not in text.split(begin, 1)[1]:
        raise ValueError(f"{page} lacks the markers {begin} ... {END}")
    head, rest = text.split(begin, 1)
    with atomic_write(page) as tmp:
        tmp.write_text(f"{head}{begin}\n{block}{END}{rest.split(END, 1)[1]}")


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def publish(frame: pd.DataFrame, out: Path, page: Path, writer: str, render) -> None:
    """A study's table as CSV at `out` and, rendered by `render`, between the markers of its `page`."""
    with atomic_write(out) as tmp:
        frame.to_csv(tmp, index=False)
    write_block(page, writer, render(frame))
    print(render(frame))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    steps = parser.add_subparsers(dest="step", required=True)
    take = steps.add_parser("collect", help="copy one run directory's training files under docs/results/")
    take.add_argument("run", type=Path)
    take.add_argument("--name", required=True, help="the run's folder name under docs/results/setup_study/")
    take.add_argument("--commit", required=True, help="the commit of the code the run trained with")
    take.add_argument("--train", default="{}", help="the run's --config train=... (YAML), for seeds still training")
    take.add_argument("--folder", type=Path, default=FOLDER)
    make = steps.add_parser("table", help="docs/results/setup_study.csv and the table in setup_study.md")
    make.add_argument("--folder", type=Path, default=FOLDER)
    make.add_argument("--out", type=Path, default=TABLE)
    make.add_argument("--page", type=Path, default=PAGE)
    args = parser.parse_args(argv)
    if args.step == "collect":
        for out in collect(args.run, args.name, args.commit, yaml.safe_load(args.train), args.folder):
            print(out)
    else:
        publish(table(args.folder), args.out, args.page, "grokscape.output.setup_study", markdown)


if __name__ == "__main__":
    main()
