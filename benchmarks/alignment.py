"""What symmetry-aware connectivity (Git Re-Basin's weight matching) adds to the default pipeline, on the paper's model.

Run from the repository root (about 2 minutes; run nothing else meanwhile):

    .venv/bin/python benchmarks/alignment.py

It times, with one torch thread (each path job has one):
a. `alignment.align` (weight matching) and `alignment.align_activations` (activation matching on the
   training half of the table, `align.method: activations`) of one random initialisation to another,
   and of a scrambled copy to its original (p = 97, d_model 128, 4 heads, MLP 512), side by side: the
   `align` job's work (`--align-only` stops here);
b. the metrics of one segment at `paths.n_points` = 61 points (`landscape.path_metrics`): an
   aligned segment job;
c. a few epochs of the polyline fit (`fitting.fit_curve`, the default recipe), extrapolated to
   `polyline.epochs` = 600: an aligned polyline job.
The default run adds 2 aligns, 2 segments and 2 polylines for two seeds; the script prints their
path work as a fraction of the default run's path jobs before them, timed in the same run (a chain
costs one segment evaluation per segment), which scales the measured path stage of the default run (docs/speed.md).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import torch  # noqa: E402
from bench import PAPER, interleaved_medians, machine, median_seconds  # noqa: E402

from grokscape.numerics.alignment import Symmetry, align, align_activations, apply_symmetry  # noqa: E402
from grokscape.numerics.curves import coefficients, initial_controls  # noqa: E402
from grokscape.numerics.data import make_dataset  # noqa: E402
from grokscape.numerics.fitting import FitSettings, fit_curve  # noqa: E402
from grokscape.numerics.landscape import Objective, path_metrics  # noqa: E402
from grokscape.numerics.model import ModelShape, init_params  # noqa: E402

SHAPE = ModelShape.from_config(PAPER)
OBJECTIVE = Objective(SHAPE.n_heads, 0.001, 512, True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit-epochs", type=int, default=5, help="polyline fit epochs timed (then extrapolated)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--align-only", action="store_true", help="time the two alignment methods only (a)")
    parser.add_argument(
        "--chain-segments", type=int, default=22 + 27, help="segments of two default chains (the first reproduction's)"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    dataset = make_dataset("mul", 97, 0.5, 0)
    a, b = init_params(SHAPE, 0), init_params(SHAPE, 1)
    scrambled = {
        k: v.float() for k, v in apply_symmetry(a, Symmetry.random(SHAPE, torch.Generator(device="cpu")), 4).items()
    }

    train = dataset.a[dataset.train_index], dataset.b[dataset.train_index]

    print(machine())
    for label, (ref, moved) in (("two initialisations", (a, b)), ("scrambled copy", (a, scrambled))):
        _, record = align(ref, moved, SHAPE, max_iterations=200)
        _, by_activations = align_activations(ref, moved, SHAPE, train)
        seconds = interleaved_medians(  # side by side, so that a change in machine load hits both alike
            {
                "weights": lambda ref=ref, moved=moved: align(ref, moved, SHAPE, max_iterations=200),
                "activations": lambda ref=ref, moved=moved: align_activations(ref, moved, SHAPE, train),
            },
            args.repeats,
            warmup=0,
        )
        print(
            f"align, {label}: {seconds['weights']:.2f} s ({record.iterations} sweeps, converged {record.converged}; "
            f"distance {record.distance_before:.2f} -> {record.distance_after:.3g})"
        )
        before, after = by_activations.activation_distances
        print(
            f"align_activations, {label}: {seconds['activations']:.2f} s = "
            f"{seconds['activations'] / seconds['weights']:.2f} × weight matching (distance "
            f"{by_activations.distance_before:.2f} -> {by_activations.distance_after:.3g}; activation distance "
            f"{before:.1f} -> {after:.3g}; {by_activations.inactive_units} units inactive)"
        )
    if args.align_only:
        return

    t = torch.linspace(0, 1, 61, dtype=torch.float64, device="cpu")
    controls = initial_controls(a, b, 2)
    segment = median_seconds(
        lambda: path_metrics(controls, coefficients("segment", t, 2), dataset, OBJECTIVE), args.repeats
    )
    print(f"segment metrics at 61 points: {segment:.1f} s")

    settings = replace(FitSettings.from_config(PAPER, "polyline"), epochs=args.fit_epochs)  # l2 auto: 0.001
    started = time.perf_counter()
    fit_curve("polyline", 3, a, b, dataset, OBJECTIVE, settings, torch.device("cpu"))
    per_epoch = (time.perf_counter() - started) / args.fit_epochs
    controls = initial_controls(a, b, 3)
    evaluation = median_seconds(lambda: path_metrics(controls, coefficients("polyline", t, 3), dataset, OBJECTIVE), 1)
    polyline = 600 * per_epoch + evaluation
    print(f"polyline fit: {per_epoch:.3f} s/epoch -> 600 epochs + evaluation ≈ {polyline:.0f} s")
    total = 2 * (segment + polyline)
    # the default run's path jobs before: 4 polylines and a Bézier curve (fitted alike), 4 segments, 2 chains
    before = 5 * polyline + 4 * segment + args.chain_segments * segment
    print(
        f"added path work for two seeds (2 segments, 2 polylines, one core each): ≈ {total:.0f} s of CPU; "
        f"the default path jobs before it, timed alike: ≈ {before:.0f} s; added / before = {total / before:.2f}"
    )


if __name__ == "__main__":
    main()
