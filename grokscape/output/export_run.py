"""A finished run's small results, copied into a folder that can be committed (no checkpoints, no path
tables: kilobytes), from which `report_tables` renders the README's Results.

    python -m grokscape.output.export_run results docs/results/default_run --command "snakemake --cores 2" \
        --wall-time 1163
    python -m grokscape.output.export_run results docs/results/instability --instability \
        --command "snakemake --cores 2 instability" --wall-time 2400

The folder holds, per seed, `seed{S}/points.json` and `seed{S}/history.csv` (the training history, one
row per epoch); `summary.csv` (every evaluated path), `claims.json` and `claims.md`, `configuration.csv`;
and `run.json`: the commit, the machine, the command and its wall time. With `--instability`, the
instability analysis instead: per parent its children's and pairs' tables, the segments between the pairs
(`seed{S}_segments.csv`, one row per pair and t: a reader recomputes every barrier from it) and the
parent's `seed{S}/points.json`; its claims; and `run.json`, with the children's optimizer state. An existing
folder is replaced only with `--replace`, so a committed run is never overwritten by mistake.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import h5py
import pandas as pd
import torch

from grokscape.errors import GrokscapeError
from grokscape.storage import read_table, write_json

COPIED = ("paths/summary.csv", "claims.json", "claims.md", "configuration.csv")
INSTABILITY_COPIED = ("instability/claims.json", "instability/claims.md")


def export_run(results: str | Path, folder: str | Path, run: dict, replace: bool = False) -> list[Path]:
    """Copy the small results of the run in `results` to `folder`, with `run` as run.json; the files written."""
    results, folder = Path(results), Path(folder)
    missing = [name for name in COPIED if not (results / name).exists()]
    seeds = sorted(results.glob("seed*/points.json"))
    if missing or not seeds:
        raise GrokscapeError(f"{results} holds no finished run: missing {missing or 'seed*/points.json'}")
    _empty(folder, replace)
    written = []
    for points in seeds:
        target = folder / points.parent.name
        target.mkdir(parents=True)
        shutil.copyfile(points, target / "points.json")
        history = read_table(points.parent / "history.h5")
        pd.DataFrame(history).to_csv(target / "history.csv", index=False, float_format="%.8g")
        written += [target / "points.json", target / "history.csv"]
    written += _copy_flat(results, COPIED, folder)
    write_json(folder / "run.json", run)
    return [*written, folder / "run.json"]


def export_instability(results: str | Path, folder: str | Path, run: dict, replace: bool = False) -> list[Path]:
    """Copy the instability analysis of the run in `results` to `folder`, with `run` (plus the children's
    optimizer state) as run.json; the files written."""
    results, folder = Path(results), Path(folder)
    tables = sorted((results / "instability").glob("seed*.h5"))
    missing = [name for name in INSTABILITY_COPIED if not (results / name).exists()]
    if missing or not tables:
        needed = missing or "instability/seed*.h5"
        raise GrokscapeError(f"{results} holds no finished instability analysis: missing {needed}")
    _empty(folder, replace)
    folder.mkdir(parents=True)
    written, states = [], set()
    for table in tables:
        parent = table.stem
        for name in (f"{parent}.csv", f"{parent}_pairs.csv"):
            shutil.copyfile(table.parent / name, folder / name)
            written.append(folder / name)
        (folder / parent).mkdir()
        shutil.copyfile(results / parent / "points.json", folder / parent / "points.json")
        with h5py.File(table) as handle:
            states.add(str(handle.attrs["optimizer_state"]))
            segments = _segments(handle)
        segments.to_csv(folder / f"{parent}_segments.csv", index=False, float_format="%.8g")
        written += [folder / parent / "points.json", folder / f"{parent}_segments.csv"]
    written += _copy_flat(results, INSTABILITY_COPIED, folder)
    write_json(folder / "run.json", run | {"optimizer_state": ", ".join(sorted(states))})
    return [*written, folder / "run.json"]


def _segments(handle: h5py.File) -> pd.DataFrame:
    """The segments between the pairs, one row per pair and t (`pair`: the row of the pairs' table), with
    what each pair compares; unmeasured pairs left out."""
    pairs = pd.DataFrame({name: handle["pairs"][name][()] for name in ("spawn_epoch", "child_a", "child_b", "at")})
    pairs["at"] = pairs["at"].str.decode("utf-8")
    group = handle["segments"]
    if "t" not in group:
        return pd.DataFrame(columns=["pair", *pairs.columns, "t"])
    t = group["t"][()]
    metrics = {name: group[name][()] for name in group if name != "t"}
    rows = [
        {"pair": i, **pairs.iloc[i].to_dict(), "t": t[j], **{name: values[i, j] for name, values in metrics.items()}}
        for i in range(len(pairs))
        for j in range(len(t))
        if not all(pd.isna(values[i, j]) for values in metrics.values())
    ]
    return pd.DataFrame(rows)


def _copy_flat(results: Path, names: Sequence[str], folder: Path) -> list[Path]:
    """Copy each of `names` (paths under `results`) into `folder` under its own file name; the copies."""
    copies = [folder / Path(name).name for name in names]
    for name, copy in zip(names, copies, strict=True):
        shutil.copyfile(results / name, copy)
    return copies


def _empty(folder: Path, replace: bool) -> None:
    """Clear `folder` for an export; a folder with files in it only when `replace` says so."""
    if folder.exists() and any(folder.iterdir()) and not replace:
        raise GrokscapeError(f"{folder} exists and is not empty; pass --replace to overwrite it")
    if folder.exists():
        shutil.rmtree(folder)


def this_machine() -> str:
    """The CPU (model, cores, the kernels torch picks), and the GPU if torch sees one."""
    model = next(
        (line.split(":", 1)[1].strip() for line in _cpuinfo() if line.startswith("model name")), platform.processor()
    )
    cpu = f"{model}, {os.cpu_count()} cores ({torch.backends.cpu.get_cpu_capability()})"
    return f"{cpu}, {torch.cuda.get_device_name()}" if torch.cuda.is_available() else cpu


def _cpuinfo() -> list[str]:
    path = Path("/proc/cpuinfo")
    return path.read_text().splitlines() if path.exists() else []


def head_commit() -> str:
    """The checkout's commit (short), marked when its tracked files differ from it."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True)
    return commit.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else "")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Copy a finished run's small results into a folder to commit.")
    parser.add_argument("results", help="the run's results/ folder")
    parser.add_argument("folder", help="where to write them, e.g. docs/results/default_run")
    parser.add_argument("--command", required=True, help="the command that made the run")
    parser.add_argument("--wall-time", type=float, required=True, help="its wall time, in seconds")
    parser.add_argument("--commit", help="the commit the run was made at (default: this checkout's)")
    parser.add_argument("--machine", help="where it ran (default: this machine)")
    parser.add_argument("--replace", action="store_true", help="replace an existing folder")
    parser.add_argument("--instability", action="store_true", help="export the instability analysis instead")
    args = parser.parse_args(argv)
    try:
        run = {
            "commit": args.commit or head_commit(),
            "machine": args.machine or this_machine(),
            "command": args.command,
            "wall_time_s": args.wall_time,
        }
        export = export_instability if args.instability else export_run
        for path in export(args.results, args.folder, run, args.replace):
            print(path)
    except (GrokscapeError, FileNotFoundError, subprocess.CalledProcessError) as error:
        raise SystemExit(f"grokscape: {error}") from None


if __name__ == "__main__":
    main()
