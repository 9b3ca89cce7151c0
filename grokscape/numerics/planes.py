"""The plane through a curve's three control points w_A, θ, w_B (Garipov et al. 2018, figures 1-2).

A one-bend polyline or a degree-2 Bézier curve lies entirely in the plane through its control
points (every point is an affine combination of them), so a grid of train loss and error over
that plane shows the curve together with the landscape it avoids: the barrier on the straight
segment w_A → w_B and the low-loss valley the curve bends through.

The basis is Gram-Schmidt on the control points, as in Garipov et al.: u along w_B − w_A,
v along the part of θ − w_A orthogonal to u. A point (x, y) of the plane is w_A + x·u + y·v,
so x and y are distances in weight space; w_A sits at (0, 0), w_B at (‖w_B − w_A‖, 0).
The basis is kept in float64 (its orthogonality is then exact to ~1e-16) on the host, with the grid;
the weights at a grid point are cast to the control points' dtype and moved to the job's device before
the model sees them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch

from grokscape.errors import DamagedFileError, GrokscapeError
from grokscape.numerics.curves import stack_controls, weights_at
from grokscape.numerics.data import Dataset
from grokscape.numerics.landscape import METRICS, Objective, forward_metrics
from grokscape.numerics.model import Params
from grokscape.storage import atomic_write, open_h5, read_attrs, read_params, set_attrs, write_array, write_params

# Every path metric but the gradient norm: a grid of hundreds of points is evaluated forward only.
GRID_METRICS = tuple(name for name in METRICS if name != "grad_norm")
BASIS = ("origin", "u", "v")


class DegeneratePlaneError(GrokscapeError):
    """The three control points are (nearly) collinear, so they span no plane."""


@dataclass(frozen=True)
class Plane:
    """w_A + x·u + y·v: an origin and two orthonormal directions, float64, shaped like the parameters."""

    origin: Params
    u: Params
    v: Params

    def coordinates(self, weights: Params) -> torch.Tensor:
        """(⟨w − w_A, u⟩, ⟨w − w_A, v⟩) of weights with a leading dimension T: shape (T, 2), float64."""
        xy = 0
        for name, w in weights.items():
            offset = w.double().flatten(1) - self.origin[name].flatten()
            xy = xy + offset @ torch.stack([self.u[name].flatten(), self.v[name].flatten()], dim=1)
        return xy

    def weights(self, xy: torch.Tensor, dtype: torch.dtype) -> Params:
        """w_A + x·u + y·v at each row (x, y) of `xy` (T, 2), in `dtype`: shape (T, *param_shape)."""
        coeffs = torch.cat([torch.ones(len(xy), 1, dtype=torch.float64, device="cpu"), xy.double().cpu()], dim=1)
        basis = stack_controls([self.origin, self.u, self.v])
        return {name: w.to(dtype) for name, w in weights_at(coeffs, basis).items()}


def plane_through(controls: Params) -> Plane:
    """The plane through the three stacked control points (w_A, θ, w_B), by Gram-Schmidt."""
    n_controls = next(iter(controls.values())).shape[0]
    if n_controls != 3:
        raise DegeneratePlaneError(
            f"a plane needs a curve of three control points (polyline.bends: 1 or bezier.degree: 2), got {n_controls}"
        )
    start, bend, end = ({name: v[k].double() for name, v in controls.items()} for k in range(3))
    along = {name: end[name] - start[name] for name in start}
    length = _norm(along)
    if length == 0:
        raise DegeneratePlaneError("the curve's endpoints coincide: they span no plane")
    u = {name: d / length for name, d in along.items()}
    towards = {name: bend[name] - start[name] for name in start}
    projection = _dot(towards, u)
    across = {name: d - projection * u[name] for name, d in towards.items()}
    height = _norm(across)
    if height <= 1e-5 * max(length, _norm(towards)):  # float32 rounding of a bend that never left the segment
        raise DegeneratePlaneError(
            f"the bend lies on the segment between the endpoints (distance {height:.3g} from it): they span no plane"
        )
    return Plane(start, u, {name: d / height for name, d in across.items()})


def _dot(a: Params, b: Params) -> float:
    return float(sum((a[name] * b[name]).sum() for name in a))


def _norm(a: Params) -> float:
    return _dot(a, a) ** 0.5


def grid_axes(points: torch.Tensor, size: int, margin: float) -> tuple[torch.Tensor, torch.Tensor]:
    """`size` evenly spaced x and y covering the points' (N, 2) bounding box, widened on every side by
    `margin` times its extent along that axis (Garipov et al.'s margins, relative to the plane's size)."""
    low, high = points.min(0).values, points.max(0).values
    pad = margin * (high - low)
    ends = zip(low - pad, high + pad, strict=True)
    axes = [torch.linspace(lo, hi, size, dtype=torch.float64, device="cpu") for lo, hi in ends]
    return axes[0], axes[1]


def plane_metrics(
    plane: Plane,
    x: torch.Tensor,
    y: torch.Tensor,
    dataset: Dataset,
    objective: Objective,
    dtype: torch.dtype,
    chunk: int,
    device: torch.device | str = "cpu",
) -> dict[str, np.ndarray]:
    """GRID_METRICS at every grid point (x_j, y_i), `chunk` points per batched forward pass:
    arrays of shape (len(y), len(x)), rows along y (as matplotlib's contour draws them)."""
    yx = torch.cartesian_prod(y, x)  # rows (y_i, x_j), x fastest: reshapes to (len(y), len(x))
    dataset = dataset.to(device)
    chunks = []
    for rows in yx.split(chunk):
        weights = {name: w.to(device) for name, w in plane.weights(rows.flip(1), dtype).items()}
        chunks.append(forward_metrics(weights, dataset, objective))
    shape = (len(y), len(x))
    return {name: torch.cat([c[name] for c in chunks]).reshape(shape).numpy() for name in GRID_METRICS}


def write_plane(path: str | Path, plane: Plane, columns: Mapping[str, Any], attrs: Mapping[str, Any]) -> None:
    """The plane file: basis groups `origin`, `u`, `v` (float64, one dataset per parameter), and `columns`
    (grid axes `x`, `y`, the metric grids, the curve's `t` and projected `curve`, the `controls`' coordinates)."""
    with atomic_write(path) as tmp, h5py.File(tmp, "w") as handle:
        for name in BASIS:
            write_params(handle.create_group(name), getattr(plane, name))
        for name, values in columns.items():
            write_array(handle, name, values)
        set_attrs(handle, attrs)


def read_plane(path: str | Path) -> tuple[Plane, dict[str, np.ndarray], dict[str, Any]]:
    with open_h5(path) as handle:
        missing = [name for name in (*BASIS, "x", "y", "curve", "controls", *GRID_METRICS) if name not in handle]
        if missing:
            raise DamagedFileError(path, f"it lacks {missing}")
        plane = Plane(*(read_params(handle[name]) for name in BASIS))
        columns = {name: obj[()] for name, obj in handle.items() if isinstance(obj, h5py.Dataset)}
    return plane, columns, read_attrs(path)
