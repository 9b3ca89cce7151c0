"""Epochs per second against the number of seeds (or curves) one job trains (or fits) together.

Run from the repository root:

    .venv/bin/python benchmarks/per_job.py                      # seeds, CPU: 1 and 2 threads
    .venv/bin/python benchmarks/per_job.py --curves             # polyline fits, CPU
    .venv/bin/python benchmarks/per_job.py --device cuda --sizes 1 32 128 512

For seeds, one "epoch" is what `grokscape.numerics.training.train_seeds` does per epoch: a pass over the
training set in minibatches of 512 (each seed its own order) and a full evaluation of the table,
with the paper's model and settings (p = 97, d_model 128, SGD lr 0.1, weight decay 0.001,
clipping 5). For curves (`--curves`), it is an epoch of `grokscape.numerics.fitting.fit_curves` fitting
one-bend polylines between pairs of initialisations with the default recipe (one t per minibatch),
setup included. On a CPU it also runs `--side-by-side` one-item, one-thread jobs at once (separate
processes, as Snakemake runs one job per seed or curve), to compare with one stacked job using the
same cores.
"""

from __future__ import annotations

import argparse
import datetime
import multiprocessing
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import torch  # noqa: E402
from bench import PAPER, machine  # noqa: E402

from grokscape.numerics.data import make_dataset  # noqa: E402
from grokscape.numerics.fitting import FitSettings, fit_curves  # noqa: E402
from grokscape.numerics.landscape import Objective  # noqa: E402
from grokscape.numerics.model import ModelShape, init_params  # noqa: E402
from grokscape.numerics.training import FullEvaluator, TrainSettings, make_optimizer, train_epoch  # noqa: E402

SHAPE = ModelShape.from_config(PAPER)
SETTINGS = TrainSettings.from_config(PAPER)
OBJECTIVE = Objective(SHAPE.n_heads, SETTINGS.weight_decay, SETTINGS.batch_size, SETTINGS.optimizer == "sgd")
FIT_EPOCHS = 3  # per timed call of `fit_curves`


def seconds_per_epoch(n_seeds: int, device: torch.device, repeats: int) -> float:
    """Median wall time of one stacked epoch of `n_seeds` seeds (after one warm-up epoch)."""
    dataset = make_dataset("mul", SHAPE.p, 0.5, 0).to(device)
    train, n_train = dataset.subset(dataset.train_index), dataset.train_index.numel()
    stacked = {k: torch.stack([init_params(SHAPE, s)[k] for s in range(n_seeds)]) for k in SHAPE.shapes()}
    params = {k: v.to(device).requires_grad_() for k, v in stacked.items()}
    optimizer = make_optimizer(list(params.values()), SETTINGS)
    evaluate = FullEvaluator(dataset, SHAPE.n_heads)
    generators = [torch.Generator(device="cpu").manual_seed(s) for s in range(n_seeds)]  # as train_seeds draws
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        orders = torch.stack([torch.randperm(n_train, generator=g, device="cpu") for g in generators]).to(device)
        train_epoch(params, optimizer, train, orders, SETTINGS, SHAPE.n_heads)
        evaluate(params)
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def curve_seconds_per_epoch(n_curves: int, device: torch.device, repeats: int) -> float:
    """Median wall time of one epoch of fitting `n_curves` polylines together (after one warm-up call)."""
    dataset = make_dataset("mul", SHAPE.p, 0.5, 0)
    ends = [(init_params(SHAPE, 2 * i), init_params(SHAPE, 2 * i + 1)) for i in range(n_curves)]
    recipe = FitSettings.from_config(PAPER, "polyline")
    settings = replace(recipe, epochs=FIT_EPOCHS, checkpoint_every=FIT_EPOCHS, l2=0.0)
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        fit_curves("polyline", 3, ends, dataset, OBJECTIVE, settings, device)
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append((time.perf_counter() - start) / FIT_EPOCHS)
    return statistics.median(times[1:])


def one_item_one_thread(curves: bool, repeats: int) -> float:
    """Seconds per epoch of a one-seed (or one-curve) job on one thread (run in a process of its own)."""
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    return (curve_seconds_per_epoch if curves else seconds_per_epoch)(1, torch.device("cpu"), repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--curves", action="store_true", help="polyline fits instead of training seeds")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 2, 4, 8], help="seeds or curves per job")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="CPU threads to try")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--side-by-side", type=int, default=2, help="one-item CPU jobs run at once (0: none)")
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.set_flush_denormal(True)
    threads = args.threads if device.type == "cpu" else [torch.get_num_threads()]
    measure, item = (curve_seconds_per_epoch, "curve") if args.curves else (seconds_per_epoch, "seed")
    rows = []
    for n_threads in threads:
        torch.set_num_threads(n_threads)
        for size in args.sizes:
            seconds = measure(size, device, args.repeats)
            rows.append((n_threads, size, seconds, size / seconds))
            print(f"  {size} {item}s, {n_threads} threads: {seconds:.3f} s/epoch", flush=True)
    one = next(rate for t, n, _, rate in rows if n == min(args.sizes) and t == min(threads))
    side_by_side = []
    if device.type == "cpu" and args.side_by_side:
        with multiprocessing.get_context("spawn").Pool(args.side_by_side) as pool:
            side_by_side = pool.starmap(one_item_one_thread, [(args.curves, args.repeats)] * args.side_by_side)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else machine()
    print(f"\n_{name}; {datetime.date.today()}_\n")
    print(f"| threads | {item}s in one job | s per epoch (all) | {item}-epochs/s | vs one {item}, one thread |")
    print("|---:|---:|---:|---:|---:|")
    for n_threads, size, seconds, rate in rows:
        print(f"| {n_threads} | {size} | {seconds:.3f} | {rate:.2f} | {rate / one:.2f}× |")
    if side_by_side:
        rate = sum(1 / seconds for seconds in side_by_side)
        jobs = len(side_by_side)
        print(
            f"| 1 each | 1 each, {jobs} jobs side by side | {max(side_by_side):.3f} | {rate:.2f} | {rate / one:.2f}× |"
        )


if __name__ == "__main__":
    main()
