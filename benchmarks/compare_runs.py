"""Compare two runs of the workflow that differ only in the device (or the kernels) they ran on.

    python benchmarks/compare_runs.py REFERENCE OTHER [--title TEXT] [--report FILE]

REFERENCE and OTHER are run directories (each holding `results/`): e.g. the tiny configuration run on the
CPU, and a copy of it whose planes, sharpness, chains and curves were computed again on a GPU from the
same checkpoints, or a run that only trained the same seeds on a GPU (`benchmarks/gpu_check.sh` makes
them). OTHER may hold fewer results than REFERENCE, never others. Every check is a row of a Markdown
table, of one of three kinds:

- **exact**: what both runs compute on the CPU or copy (the dataset, every seed's initial weights): any
  difference is a bug, not rounding.
- **close**: the same computation from the same weights on other kernels, whose float32 rounding differs
  (other summation orders, fused operations, atomics): equal within the tolerances below.
- **reported**: what rounding can move arbitrarily far: the epochs at which a seed trained on each side
  memorises and groks, the interior of a curve fitted again on each side (thousands of steps along which
  rounding grows), the verdicts of claims near their thresholds; shown side by side, not judged.

The tolerances (docs/devices.md has the measurements behind them):

- `EVALUATION`, for anything computed from the same weights (every point of a segment or chain, the
  endpoints of a fitted curve, a plane's grid, the Hessian trace from the same probes): 1e-4 relative
  (float32 sums over ≤ 512 examples round at ~1e-6), and 1e-5 absolute below 0.1: a cross-entropy near
  zero is the difference of two numbers of the logits' size, so its rounding is absolute. Train and
  validation errors may differ by `FLIPPED` examples: one whose top two logits tie to within rounding
  may flip.
- `EIGENVALUE`: a converged top eigenvalue is within the Lanczos tolerance (1e-3 by default) of the true
  one on each side, so the two may differ by twice that; points unconverged on a side are reported.
- `EARLY`, for the first `EARLY_EPOCHS` epochs of training from the same initial weights and minibatches,
  before rounding has grown: 1e-3 relative.

Exit status 1 when an exact or close check fails.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np


@dataclass(frozen=True)
class Tolerance:
    relative: float
    floor: float  # below this size, differences are measured in absolute terms

    def difference(self, reference: np.ndarray, other: np.ndarray) -> float:
        """The largest difference, relative to the reference value where that exceeds `floor`, in units of the
        tolerance: at most 1 passes."""
        reference, other = np.asarray(reference, dtype=float), np.asarray(other, dtype=float)
        if reference.shape != other.shape:
            return float("inf")
        scale = np.maximum(np.abs(reference), self.floor)
        return float(np.max(np.abs(other - reference) / scale, initial=0.0)) / self.relative

    def __str__(self) -> str:
        return f"{self.relative:g} relative (absolute below {self.floor:g})"


EVALUATION = Tolerance(1e-4, 0.1)
EARLY = Tolerance(1e-3, 1e-4)
EIGENVALUE = Tolerance(2e-3, 1e-3)
EARLY_EPOCHS = 10
DRAWN = Tolerance(1e-5, 1.0)  # N(0, 1) draws by another CPU's kernels (CPU smoke test only; measured ≤ 1.8e-6)
FLIPPED = 2  # examples of a split whose prediction may flip
LOSSES = ("train_loss", "val_loss", "train_ce", "val_ce", "l2", "grad_norm")
ERRORS = ("train_error", "val_error")
COMPARED = (".h5", ".json", ".csv")


@dataclass
class Row:
    kind: str  # exact | close | reported
    what: str
    measured: str
    tolerance: str
    ok: bool | None  # None: reported, not judged

    def markdown(self) -> str:
        verdict = {True: "ok", False: "**FAILS**", None: "—"}[self.ok]
        return f"| {self.kind} | {self.what} | {self.measured} | {self.tolerance} | {verdict} |"


class Comparison:
    def __init__(self, reference: Path, other: Path, other_cpu_kernels: bool = False):
        self.reference, self.other = reference / "results", other / "results"
        self.other_cpu_kernels = other_cpu_kernels
        self.rows: list[Row] = []
        with h5py.File(self.reference / "dataset.h5") as f:
            self.n = {"train_error": len(f["train_index"]), "val_error": len(f["val_index"])}

    def exact(self, what: str, equal: bool, measured: str = "") -> None:
        self.rows.append(Row("exact", what, measured or ("equal" if equal else "differ"), "bit for bit", equal))

    def close(self, what: str, tolerance: Tolerance, reference: np.ndarray, other: np.ndarray) -> None:
        units = tolerance.difference(reference, other)
        measured = f"{units * tolerance.relative:.2g}" if np.isfinite(units) else "other shapes"
        self.rows.append(Row("close", what, measured, str(tolerance), units <= 1))

    def errors(self, what: str, name: str, reference: np.ndarray, other: np.ndarray) -> None:
        flipped = float(np.max(np.abs(np.asarray(other) - np.asarray(reference)), initial=0.0)) * self.n[name]
        self.rows.append(Row("close", f"{what}: {name}", f"{flipped:.0f} examples", f"≤ {FLIPPED}", flipped <= FLIPPED))

    def reported(self, what: str, reference: object, other: object) -> None:
        self.rows.append(Row("reported", what, f"{reference} / {other}", "not judged", None))

    def both(self, pattern: str) -> Iterator[tuple[str, Path, Path]]:
        for path in sorted(self.reference.glob(pattern)):
            name = str(path.relative_to(self.reference))
            if (self.other / name).exists():
                yield name, path, self.other / name

    def run(self) -> None:
        self.files()
        self.dataset_and_initial_weights()
        self.training()
        for name, ref, oth in self.both("paths/*/*.h5"):
            self.path_table(name, ref, oth)
        for name, ref, oth in self.both("seed*/sharpness.h5"):
            if self.same_checkpoints(name.split("/")[0]):
                self.curvature(name, read(ref), read(oth))
        for name, ref, oth in self.both("planes/*/*.h5"):
            self.plane(name, ref, oth)
        for name, ref, oth in self.both("claims.json"):
            verdicts = [{c["claim"]: c["verdict"] for c in json.loads(p.read_text())} for p in (ref, oth)]
            for claim, verdict in verdicts[0].items():
                self.reported(f"{name}: {claim}", verdict, verdicts[1].get(claim))

    def files(self) -> None:
        """OTHER may hold fewer results (a run of training only), never others."""

        def listed(root: Path) -> set[str]:
            return {
                str(p.relative_to(root))
                for p in root.rglob("*")
                if p.suffix in COMPARED and p.is_file() and p.relative_to(root).parts[0] not in ("logs", "benchmarks")
            }

        mine, theirs = listed(self.reference), listed(self.other)
        extra = sorted(theirs - mine)
        self.exact(
            "no result files the reference lacks", not extra, f"{len(theirs)} files" + (f": {extra}" if extra else "")
        )
        if mine - theirs:
            self.reported("result files of the reference only", len(mine - theirs), 0)

    def dataset_and_initial_weights(self) -> None:
        self.exact(
            "dataset.h5 (built on the CPU)",
            bitwise_equal(read(self.reference / "dataset.h5"), read(self.other / "dataset.h5")),
        )
        for name, ref, oth in self.both("seed*/checkpoints.h5"):
            initial = read(ref, "epochs/0"), read(oth, "epochs/0")
            if not self.other_cpu_kernels:
                self.exact(f"{name}: initial weights (drawn on the CPU)", bitwise_equal(*initial))
                continue
            # another CPU's kernels draw normal numbers with other roundings (1-2 ulp)
            for param in initial[0]:
                self.close(f"{name}: initial {param} (CPU kernels differ)", DRAWN, initial[0][param], initial[1][param])

    def same_checkpoints(self, seed: str) -> bool:
        paths = [root / seed / "checkpoints.h5" for root in (self.reference, self.other)]
        return all(p.exists() for p in paths) and bitwise_equal(read(paths[0]), read(paths[1]))

    def training(self) -> None:
        for name, ref, oth in self.both("seed*/history.h5"):
            seed = name.split("/")[0]
            if self.same_checkpoints(seed):
                continue  # one training run, copied: the path checks below compare evaluations on each device
            histories = read(ref), read(oth)
            for column in ("train_loss", "val_loss"):
                early = [h[column][1 : EARLY_EPOCHS + 1] for h in histories]
                self.close(f"{seed}: {column}, epochs 1-{EARLY_EPOCHS}", EARLY, *early)
            points = [json.loads((root / seed / "points.json").read_text()) for root in (self.reference, self.other)]
            for point in ("memorized", "grokked"):
                self.reported(f"{seed}: epoch of {point}", points[0][point], points[1][point])

    def path_table(self, name: str, ref: Path, oth: Path) -> None:
        """A segment or chain is evaluated from the same weights on both sides: every point is compared. A fitted
        curve was fitted again on each side, and rounding grows along a fit: only its fixed endpoints are the
        same weights on both sides (compared); its interior is reported."""
        tables, attrs = (read(ref), read(oth)), (read_attrs(ref), read_attrs(oth))
        ends = [(a["start_epoch"], a["end_epoch"]) for a in attrs]
        if ends[0] != ends[1]:
            self.reported(f"{name}: endpoint epochs (training differed)", ends[0], ends[1])
            return
        fitted = attrs[0]["kind"] in ("polyline", "bezier")
        where, points = ("its endpoints", lambda v: v[..., [0, -1]]) if fitted else ("every point", lambda v: v)
        for column in LOSSES:
            self.close(f"{name}: {column} at {where}", EVALUATION, points(tables[0][column]), points(tables[1][column]))
        for column in ERRORS:
            self.errors(f"{name} at {where}", column, points(tables[0][column]), points(tables[1][column]))
        if fitted:
            worst = [f"{np.max(t['train_error']):.4f}" for t in tables]
            self.reported(f"{name}: largest train error along the curve, each fitted on its side", *worst)
        if "top_eigenvalue" in tables[0]:
            self.curvature(f"{name} at {where}", *({k: points(v) for k, v in t.items()} for t in tables))

    def curvature(self, name: str, ref: dict, oth: dict) -> None:
        """Curvature from the same weights, start vector and probes on both sides."""
        converged = ref["eigenvalue_converged"].astype(bool) & oth["eigenvalue_converged"].astype(bool)
        eigen = [t["top_eigenvalue"][converged] for t in (ref, oth)]
        self.close(f"{name}: top eigenvalue ({converged.sum()} points converged on both sides)", EIGENVALUE, *eigen)
        if not converged.all():
            self.reported(f"{name}: points unconverged on a side", int((~converged).sum()), "")
        self.close(f"{name}: Hessian trace", EVALUATION, ref["hessian_trace"], oth["hessian_trace"])

    def plane(self, name: str, ref: Path, oth: Path) -> None:
        """A plane's grid from the same basis (the plane of the reference's curve) on both sides."""
        tables = read(ref), read(oth)
        same_grid = all(np.allclose(tables[0][axis], tables[1][axis], rtol=1e-9, atol=0) for axis in ("x", "y"))
        if not same_grid:  # (float64 from the same control points: equal but for the CPU kernels' rounding)
            self.reported(f"{name}: another plane (its curve was fitted again)", "", "")
            return
        for column in ("train_loss", "val_loss", "train_ce", "val_ce"):
            self.close(f"{name}: {column} over the grid", EVALUATION, tables[0][column], tables[1][column])
        for column in ERRORS:
            self.errors(f"{name} over the grid", column, tables[0][column], tables[1][column])

    def markdown(self, title: str) -> str:
        failed = sum(row.ok is False for row in self.rows)
        judged = sum(row.ok is not None for row in self.rows)
        lines = [
            f"### {title}",
            "",
            f"{judged - failed} of {judged} checks pass; {len(self.rows) - judged} reported only.",
            "",
            "| kind | what | measured | tolerance | verdict |",
            "|---|---|---|---|---|",
            *(row.markdown() for row in self.rows),
        ]
        return "\n".join(lines) + "\n"


def read(path: Path, group: str = "/") -> dict[str, np.ndarray]:
    """Every dataset under `group` of an HDF5 file, by name."""
    out: dict[str, np.ndarray] = {}
    with h5py.File(path) as handle:
        handle[group].visititems(
            lambda name, obj: out.update({name: np.asarray(obj[()])}) if isinstance(obj, h5py.Dataset) else None
        )
    return out


def bitwise_equal(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    """The same datasets with the same dtypes, shapes and bytes (a NaN equals the same NaN)."""
    return a.keys() == b.keys() and all(
        a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and a[k].tobytes() == b[k].tobytes() for k in a
    )


def read_attrs(path: Path) -> dict:
    with h5py.File(path) as handle:
        return dict(handle.attrs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("reference", type=Path)
    parser.add_argument("other", type=Path)
    parser.add_argument("--title", default=None)
    parser.add_argument("--report", type=Path, default=None, help="append the table to this Markdown file")
    parser.add_argument(
        "--other-cpu-kernels",
        action="store_true",
        help="OTHER ran on other CPU kernels (ATEN_CPU_CAPABILITY): what is drawn on the CPU may differ by rounding",
    )
    args = parser.parse_args()
    comparison = Comparison(args.reference, args.other, args.other_cpu_kernels)
    comparison.run()
    text = comparison.markdown(args.title or f"{args.other} against {args.reference}")
    print(text)
    if args.report:
        with args.report.open("a") as report:
            report.write(text + "\n")
    sys.exit(1 if any(row.ok is False for row in comparison.rows) else 0)


if __name__ == "__main__":
    main()
