"""A finished run's small results, copied into a folder that can be committed (no checkpoints, no path
tables: kilobytes), from which `report_tables` renders the README's Results.

    python -m grokscape.output.export_run results docs/results/default_run --command "snakemake --cores 2" \
        --wall-time 1163

The folder holds, per seed, `seed{S}/points.json` and `seed{S}/history.csv` (the training history, one
row per epoch); `summary.csv` (every evaluated path), `claims.json` and `claims.md`, `configuration.csv`;
and `run.json`: the commit, the machine, the command and its wall time. An existing folder is replaced only
with `--replace`, so a committed run is never overwritten by mistake.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import torch

from grokscape.errors import GrokscapeError
from grokscape.storage import read_table, write_json

COPIED = ("paths/summary.csv", "claims.json", "claims.md", "configuration.csv")


def export_run(results: str | Path, folder: str | Path, run: dict, replace: bool = False) -> list[Path]:
    """Copy the small results of the run in `results` to `folder`, with `run` as run.json; the files written."""
    results, folder = Path(results), Path(folder)
    missing = [name for name in COPIED if not (results / name).exists()]
    seeds = sorted(results.glob("seed*/points.json"))
    if missing or not seeds:
        raise GrokscapeError(f"{results} holds no finished run: missing {missing or 'seed*/points.json'}")
    if folder.exists() and any(folder.iterdir()) and not replace:
        raise GrokscapeError(f"{folder} exists and is not empty; pass --replace to overwrite it")
    if folder.exists():
        shutil.rmtree(folder)
    written = []
    for points in seeds:
        target = folder / points.parent.name
        target.mkdir(parents=True)
        shutil.copyfile(points, target / "points.json")
        history = read_table(points.parent / "history.h5")
        pd.DataFrame(history).to_csv(target / "history.csv", index=False, float_format="%.8g")
        written += [target / "points.json", target / "history.csv"]
    for name in COPIED:
        shutil.copyfile(results / name, folder / Path(name).name)
        written.append(folder / Path(name).name)
    write_json(folder / "run.json", run)
    return [*written, folder / "run.json"]


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
    args = parser.parse_args(argv)
    try:
        run = {
            "commit": args.commit or head_commit(),
            "machine": args.machine or this_machine(),
            "command": args.command,
            "wall_time_s": args.wall_time,
        }
        for path in export_run(args.results, args.folder, run, args.replace):
            print(path)
    except (GrokscapeError, FileNotFoundError, subprocess.CalledProcessError) as error:
        raise SystemExit(f"grokscape: {error}") from None


if __name__ == "__main__":
    main()
