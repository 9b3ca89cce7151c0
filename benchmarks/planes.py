"""The cost of one plane (`grokscape.numerics.planes`) on the paper's model, to choose `planes.*` defaults.

Run from the repository root:

    .venv/bin/python benchmarks/planes.py                # one thread, as the `plane` rule runs
    .venv/bin/python benchmarks/planes.py --grid 11 --chunks 16 64

It builds the plane of a one-bend polyline through three random weight vectors of the paper's
model (p = 97, d_model 128, 4 heads, MLP 512; random weights cost what trained ones cost) and
times the grid's metrics for every chunk size, after checking that they equal `path_metrics`
at the grid point w_A. In the same run it times `path_metrics` over the paper's 61-point path,
so the ratio of a plane to a path job is measured side by side.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import torch  # noqa: E402
from bench import PAPER, machine, median_seconds  # noqa: E402

from grokscape.numerics.curves import coefficients, stack_controls  # noqa: E402
from grokscape.numerics.data import make_dataset  # noqa: E402
from grokscape.numerics.landscape import Objective, path_metrics  # noqa: E402
from grokscape.numerics.model import ModelShape, init_params  # noqa: E402
from grokscape.numerics.planes import grid_axes, plane_metrics, plane_through  # noqa: E402

SHAPE = ModelShape.from_config(PAPER)
OBJECTIVE = Objective(n_heads=4, weight_decay=0.001, batch_size=512, l2_in_loss=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grid", type=int, default=21)
    parser.add_argument("--chunks", type=int, nargs="+", default=[16, 32, 64])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    dataset = make_dataset("mul", 97, 0.5, 0)
    controls = stack_controls([init_params(SHAPE, seed) for seed in range(3)])
    plane = plane_through(controls)
    xy = torch.stack([plane.coordinates({k: v[i : i + 1] for k, v in controls.items()})[0] for i in range(3)])
    x, y = grid_axes(xy, args.grid, 0.2)
    start = path_metrics({k: v[:1] for k, v in controls.items()}, torch.ones(1, 1, device="cpu"), dataset, OBJECTIVE)
    at_start = plane_metrics(
        plane, torch.zeros(1, device="cpu"), torch.zeros(1, device="cpu"), dataset, OBJECTIVE, torch.float32, 1
    )
    for name, values in at_start.items():
        assert abs(values.item() - start[name][0]) <= 1e-4 * max(1.0, abs(start[name][0])), name
    print(f"{machine()}; median of {args.repeats}")
    t = torch.linspace(0, 1, 61, dtype=torch.float64, device="cpu")
    path = median_seconds(
        lambda: path_metrics(controls, coefficients("polyline", t, 3), dataset, OBJECTIVE), args.repeats
    )
    print(f"path_metrics, 61 points (t_chunk 16): {path:.2f} s ({path / 61 * 1000:.1f} ms/point)")
    n = args.grid**2
    for chunk in args.chunks:
        seconds = median_seconds(
            lambda chunk=chunk: plane_metrics(plane, x, y, dataset, OBJECTIVE, torch.float32, chunk), args.repeats
        )
        print(
            f"plane {args.grid}x{args.grid} ({n} points), chunk {chunk}: {seconds:.2f} s "
            f"({seconds / n * 1000:.1f} ms/point; {seconds / path:.2f}x a 61-point path)"
        )


if __name__ == "__main__":
    main()
