"""Seed-epochs per second against the number of seeds trained together as one stacked model.

Run from the repository root (issue #14):

    .venv/bin/python benchmarks/seeds_per_job.py                      # CPU: 1 and 2 threads
    .venv/bin/python benchmarks/seeds_per_job.py --device cuda --seeds 1 32 128 512

One "epoch" is what `grokscape.training.train_seeds` does per epoch: a pass over the training
set in minibatches of 512 (each seed its own order) and a full evaluation of the table, with the
paper's model and settings (p = 97, d_model 128, SGD lr 0.1, weight decay 0.001, clipping 5).
On a CPU it also runs `--side-by-side` one-seed, one-thread jobs at once (separate processes, as
Snakemake runs one job per seed), to compare with one stacked job using the same cores.
"""

from __future__ import annotations

import argparse
import datetime
import multiprocessing
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow_scripts"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import torch  # noqa: E402
from bench import machine  # noqa: E402

from grokscape.data import make_dataset  # noqa: E402
from grokscape.model import ModelShape, init_params  # noqa: E402
from grokscape.training import FullEvaluator, TrainSettings, make_optimizer, train_epoch  # noqa: E402

SHAPE = ModelShape(97)
SETTINGS = TrainSettings()


def seconds_per_epoch(n_seeds: int, device: torch.device, repeats: int) -> float:
    """Median wall time of one stacked epoch of `n_seeds` seeds (after one warm-up epoch)."""
    dataset = make_dataset("mul", SHAPE.p, 0.5, 0).to(device)
    train, n_train = dataset.subset(dataset.train_index), dataset.train_index.numel()
    stacked = {k: torch.stack([init_params(SHAPE, s)[k] for s in range(n_seeds)]) for k in SHAPE.shapes()}
    params = {k: v.to(device).requires_grad_() for k, v in stacked.items()}
    optimizer = make_optimizer(list(params.values()), SETTINGS)
    evaluate = FullEvaluator(dataset, SHAPE.n_heads)
    generators = [torch.Generator().manual_seed(s) for s in range(n_seeds)]
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        orders = torch.stack([torch.randperm(n_train, generator=g) for g in generators]).to(device)
        train_epoch(params, optimizer, train, orders, SETTINGS, SHAPE.n_heads)
        evaluate(params)
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def one_seed_one_thread(repeats: int) -> float:
    """Seconds per epoch of a one-seed job on one thread (run in a process of its own)."""
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    return seconds_per_epoch(1, torch.device("cpu"), repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="CPU threads to try")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--side-by-side", type=int, default=2, help="one-seed CPU jobs run at once (0: none)")
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.set_flush_denormal(True)
    threads = args.threads if device.type == "cpu" else [torch.get_num_threads()]
    rows = []
    for n_threads in threads:
        torch.set_num_threads(n_threads)
        for n_seeds in args.seeds:
            seconds = seconds_per_epoch(n_seeds, device, args.repeats)
            rows.append((n_threads, n_seeds, seconds, n_seeds / seconds))
            print(f"  {n_seeds} seeds, {n_threads} threads: {seconds:.3f} s/epoch", flush=True)
    one = next(rate for t, n, _, rate in rows if n == min(args.seeds) and t == min(threads))
    side_by_side = []
    if device.type == "cpu" and args.side_by_side:
        with multiprocessing.get_context("spawn").Pool(args.side_by_side) as pool:
            side_by_side = pool.map(one_seed_one_thread, [args.repeats] * args.side_by_side)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else machine()
    print(f"\n_{name}; {datetime.date.today()}_\n")
    print("| threads | seeds in one job | s per epoch (all seeds) | seed-epochs/s | vs one seed, one thread |")
    print("|---:|---:|---:|---:|---:|")
    for n_threads, n_seeds, seconds, rate in rows:
        print(f"| {n_threads} | {n_seeds} | {seconds:.3f} | {rate:.2f} | {rate / one:.2f}× |")
    if side_by_side:
        rate = sum(1 / seconds for seconds in side_by_side)
        jobs = len(side_by_side)
        print(
            f"| 1 each | 1 each, {jobs} jobs side by side | {max(side_by_side):.3f} | {rate:.2f} | {rate / one:.2f}× |"
        )


if __name__ == "__main__":
    main()
