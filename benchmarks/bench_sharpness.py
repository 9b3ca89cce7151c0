"""Benchmark the Hessian-vector products behind sharpness, on the paper's model.

Run from the repository root:

    .venv/bin/python benchmarks/bench_sharpness.py            # about 5 minutes on 2 busy cores
    .venv/bin/python benchmarks/bench_sharpness.py --threads 2

It times, per point and per Hessian-vector product of the training objective (cross-entropy over
the whole training set + (weight_decay/2)·‖w‖²), side by side in one run:

a. grokscape: `sharpness.hessian_product`, the gradient's graph built once for a batch of T points
   and reused by every product (double backward), for T in --batches;
b. torch.func: `jvp(grad(f))` over the same batch (forward-over-reverse, no graph reused);
c. the baseline: a per-t loop of `torch.autograd.functional.hvp`, one point at a time;

and then one whole `sharpness.sharpness` call at the workflow's default settings (Lanczos steps
and Hutchinson probes), to give the cost of one point (on trained weights with --checkpoints:
Lanczos converges in fewer steps there than at random weights). Before timing it checks that (a), (b) and
(c) give the same products. Weights: `init_params` of the paper's model shape for seeds 0..T-1, data
`make_dataset("mul", 97, 0.5, 0)`. Times are CPU seconds of this process, robust to a shared machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import torch  # noqa: E402
import yaml  # noqa: E402
from bench import PAPER, machine  # noqa: E402

from grokscape.numerics.curves import stack_controls  # noqa: E402
from grokscape.numerics.data import make_dataset  # noqa: E402
from grokscape.numerics.landscape import Objective  # noqa: E402
from grokscape.numerics.model import ModelShape, Params, init_params  # noqa: E402
from grokscape.numerics.sharpness import SharpnessSettings, hessian_product, objective_value, sharpness  # noqa: E402
from grokscape.output.checkpoints import load_checkpoint, saved_epochs  # noqa: E402

SHAPE = ModelShape.from_config(PAPER)
OBJECTIVE = Objective(n_heads=4, weight_decay=0.001, batch_size=512, l2_in_loss=True)
DATASET = make_dataset("mul", 97, 0.5, 0)


def points(n: int) -> Params:
    return stack_controls([init_params(SHAPE, seed) for seed in range(n)])


def flat(tree: Params | tuple, n_t: int) -> torch.Tensor:
    values = tree.values() if isinstance(tree, dict) else tree
    return torch.cat([v.reshape(n_t, -1) for v in values], dim=1)


def unflat(vectors: torch.Tensor, like: Params) -> Params:
    sizes = [v[0].numel() for v in like.values()]
    return {k: part.view_as(v) for (k, v), part in zip(like.items(), vectors.split(sizes, dim=1), strict=True)}


def func_product(weights: Params) -> Callable[[torch.Tensor], torch.Tensor]:
    gradient = torch.func.grad(lambda w: objective_value(w, DATASET, OBJECTIVE).sum())
    n_t = weights["b_in"].shape[0]
    return lambda v: flat(torch.func.jvp(gradient, (weights,), (unflat(v, weights),))[1], n_t)


def loop_product(weights: Params) -> Callable[[torch.Tensor], torch.Tensor]:
    names = list(weights)

    def f(*tensors: torch.Tensor) -> torch.Tensor:
        return objective_value({k: t.unsqueeze(0) for k, t in zip(names, tensors, strict=True)}, DATASET, OBJECTIVE)[0]

    def product(v: torch.Tensor) -> torch.Tensor:
        rows = []
        for i in range(v.shape[0]):
            point = tuple(weights[k][i] for k in names)
            tangent = tuple(x[i] for x in unflat(v, weights).values())
            rows.append(torch.cat([h.reshape(-1) for h in torch.autograd.functional.hvp(f, point, tangent)[1]]))
        return torch.stack(rows)

    return product


def seconds(product: Callable[[torch.Tensor], torch.Tensor], v: torch.Tensor) -> float:
    """CPU seconds of this process (wall time on a shared machine counts the other processes' load too)."""
    start = time.process_time()
    product(v)
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4, 13])
    parser.add_argument(
        "--checkpoints", help="a trained seed's checkpoints.h5: time the whole call on its saved epochs, not at random"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    print(machine())

    check = points(2)
    v = torch.randn(2, SHAPE.n_params(), generator=torch.Generator(device="cpu").manual_seed(0), device="cpu")
    ours = hessian_product(check, DATASET, OBJECTIVE)(v)
    for name, other in (("torch.func jvp(grad)", func_product(check)), ("autograd hvp loop", loop_product(check))):
        error = float((other(v) - ours).norm() / ours.norm())
        print(f"check: {name} vs grokscape, relative difference {error:.1e}")
        if error > 1e-4:
            sys.exit("products differ: not timing")

    print("\nCPU seconds per point per Hessian-vector product (median of repeats):")
    print("| T | grokscape (graph reused) | torch.func jvp(grad) | per-t autograd hvp loop | loop / grokscape |")
    print("|---:|---:|---:|---:|---:|")
    for n_t in args.batches:
        weights = points(n_t)
        v = torch.randn(n_t, SHAPE.n_params(), generator=torch.Generator(device="cpu").manual_seed(1), device="cpu")
        build = time.process_time()
        ours = hessian_product(weights, DATASET, OBJECTIVE)
        build = time.process_time() - build
        ours(v)  # warm-up
        func, loop = func_product(weights), loop_product(weights)
        timed = {name: [] for name in ("ours", "func", "loop")}
        for _ in range(args.repeats):  # interleaved, so that a change in machine load hits all alike
            for name, product in (("ours", ours), ("func", func), ("loop", loop)):
                timed[name].append(seconds(product, v) / n_t)
        ours_s, func_s, loop_s = (statistics.median(timed[k]) for k in ("ours", "func", "loop"))
        once = f"(+ {build / n_t:.3f} once)"
        print(f"| {n_t} | {ours_s:.3f} {once} | {func_s:.3f} | {loop_s:.3f} | {loop_s / ours_s:.2f}× |")

    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    settings, t_chunk = SharpnessSettings.from_config(config), config["sharpness"]["t_chunk"]
    n_points = config["paths"]["sharpness_points"]
    if args.checkpoints:
        saved = saved_epochs(args.checkpoints)
        chosen = [saved[round(i)] for i in torch.linspace(0, len(saved) - 1, n_points, device="cpu").tolist()]
        weights = stack_controls([load_checkpoint(args.checkpoints, e) for e in chosen])
        print(f"\nweights of {args.checkpoints} at epochs {chosen}")
    else:
        weights = points(n_points)
    start = time.process_time()
    found = sharpness(weights, DATASET, OBJECTIVE, settings, t_chunk)
    elapsed = time.process_time() - start
    steps = found["lanczos_iterations"]
    print(
        f"\nsharpness() at the defaults ({settings}, t_chunk {t_chunk}), {n_points} points: {elapsed:.1f} CPU s, "
        f"{elapsed / n_points:.2f} CPU s per point; Lanczos steps {steps.min()}-{steps.max()}, "
        f"converged {int(found['eigenvalue_converged'].sum())}/{n_points}"
    )


if __name__ == "__main__":
    main()
