"""The plane of a curve: its basis, its grid's metrics, the projected curve, and the workflow's plane files."""

import h5py
import numpy as np
import pytest
import torch

from grokscape.errors import DamagedFileError
from grokscape.numerics.curves import coefficients, stack_controls, weights_at
from grokscape.numerics.data import make_dataset
from grokscape.numerics.landscape import METRICS, Objective, path_metrics
from grokscape.numerics.model import ModelShape, init_params
from grokscape.numerics.planes import (
    GRID_METRICS,
    DegeneratePlaneError,
    grid_axes,
    plane_metrics,
    plane_through,
    read_plane,
    write_plane,
)
from grokscape.output.pathfiles import read_controls, write_path

SHAPE = ModelShape(13, 16, 2, 32)
OBJECTIVE = Objective(n_heads=2, weight_decay=0.01, batch_size=40, l2_in_loss=True)


def flat(params, index=None):
    return torch.cat([(v if index is None else v[index]).double().flatten() for v in params.values()])


@pytest.fixture(scope="module")
def setting():
    """w_A, θ, w_B: θ half-way along the segment in x, off it in y, so a 7-point grid with margin 0.25 holds
    all three points exactly (x and y at -0.25, 0, 0.25, ..., 1.25 of the points' extents)."""
    start, end, offset = (init_params(SHAPE, seed) for seed in range(3))
    along = {k: (end[k] - start[k]).double() for k in start}
    share = sum((offset[k].double() * along[k]).sum() for k in start) / sum(a.pow(2).sum() for a in along.values())
    bend = {k: ((start[k] + end[k]).double() / 2 + 0.5 * (offset[k] - share * along[k])).float() for k in start}
    return make_dataset("mul", 13, 0.6, 0), stack_controls([start, bend, end])


def coordinates_of_controls(plane, controls):
    return torch.stack([plane.coordinates({k: v[i : i + 1] for k, v in controls.items()})[0] for i in range(3)])


def test_basis_is_orthonormal_and_the_control_points_lie_on_the_plane(setting):
    _, controls = setting
    plane = plane_through(controls)
    u, v = flat(plane.u), flat(plane.v)
    assert u.dot(u).item() == pytest.approx(1, abs=1e-12) and v.dot(v).item() == pytest.approx(1, abs=1e-12)
    assert abs(u.dot(v).item()) < 1e-12
    xy = coordinates_of_controls(plane, controls)
    # w_A at the origin, w_B on the x axis at distance ‖w_B − w_A‖, θ above the axis
    length = (flat(controls, 2) - flat(controls, 0)).norm().item()
    assert xy[0].tolist() == pytest.approx([0, 0], abs=1e-9)
    assert xy[2].tolist() == pytest.approx([length, 0], abs=1e-9)
    assert xy[1, 1] > 0
    rebuilt = plane.weights(xy, torch.float64)
    for i in range(3):
        assert torch.allclose(flat(rebuilt, i), flat(controls, i), rtol=0, atol=1e-6)  # float32 control points


def test_collinear_or_too_many_control_points_span_no_plane(setting):
    _, controls = setting
    on_segment = {k: torch.stack([v[0], (v[0] + v[2]) / 2, v[2]]) for k, v in controls.items()}
    with pytest.raises(DegeneratePlaneError, match="lies on the segment"):
        plane_through(on_segment)
    with pytest.raises(DegeneratePlaneError, match="three control points"):
        plane_through({k: torch.cat([v, v[:1]]) for k, v in controls.items()})


def test_grid_metrics_equal_path_metrics_at_the_three_control_points(setting):
    dataset, controls = setting
    plane = plane_through(controls)
    xy = coordinates_of_controls(plane, controls)
    x, y = grid_axes(xy, 7, 0.25)
    assert x[0] < xy[:, 0].min() and x[-1] > xy[:, 0].max() and y[0] < 0 < xy[1, 1] < y[-1]
    grid = plane_metrics(plane, x, y, dataset, OBJECTIVE, torch.float32, chunk=10)
    assert all(grid[name].shape == (7, 7) for name in GRID_METRICS)
    exact = path_metrics(controls, torch.eye(3, dtype=torch.float64), dataset, OBJECTIVE)
    one_example = 1 / min(dataset.train_index.numel(), dataset.val_index.numel())
    for k, (i, j) in enumerate([(1, 1), (5, 3), (1, 5)]):  # (row along y, column along x) of w_A, θ, w_B
        assert (x[j].item(), y[i].item()) == pytest.approx(xy[k].tolist(), abs=1e-5)  # θ rounded to float32
        for name in GRID_METRICS:
            tolerance = one_example if "error" in name else 1e-5 * abs(exact[name][k])
            assert grid[name][i, j] == pytest.approx(exact[name][k], abs=tolerance), (k, name)
    # the landscape varies over the plane: a grid of one repeated value would pass the checks above
    assert np.ptp(grid["train_loss"]) > 0.1


def test_chunk_size_changes_nothing_but_rounding(setting):
    dataset, controls = setting
    plane = plane_through(controls)
    x, y = grid_axes(coordinates_of_controls(plane, controls), 4, 0.1)
    one, many = (plane_metrics(plane, x, y, dataset, OBJECTIVE, torch.float32, chunk=c) for c in (1, 16))
    for name in GRID_METRICS:
        np.testing.assert_allclose(one[name], many[name], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["polyline", "bezier"])
def test_projected_curve_reconstructs_the_curve(setting, kind):
    _, controls = setting
    plane = plane_through(controls)
    curve = weights_at(coefficients(kind, torch.linspace(0, 1, 11, dtype=torch.float64), 3), controls)
    xy = plane.coordinates(curve)
    rebuilt = plane.weights(xy, torch.float64)
    for name in curve:
        assert torch.allclose(rebuilt[name], curve[name].double(), rtol=0, atol=1e-6), name
    # the polyline's bend is the control point θ itself: t = 0.5 lands on θ's coordinates
    if kind == "polyline":
        assert xy[5].tolist() == pytest.approx(coordinates_of_controls(plane, controls)[1].tolist(), abs=1e-9)


def test_plane_file_round_trips(setting, tmp_path):
    dataset, controls = setting
    plane = plane_through(controls)
    x, y = grid_axes(coordinates_of_controls(plane, controls), 3, 0.2)
    grid = plane_metrics(plane, x, y, dataset, OBJECTIVE, torch.float32, chunk=4)
    columns = {"x": x, "y": y, **grid, "t": np.zeros(2), "curve": np.zeros((2, 2)), "controls": np.zeros((3, 2))}
    write_plane(tmp_path / "p.h5", plane, columns, {"kind": "polyline", "settings": {"planes": {"grid": 3}}})
    read, stored, attrs = read_plane(tmp_path / "p.h5")
    assert torch.equal(read.u["W_in"], plane.u["W_in"]) and attrs["settings"] == {"planes": {"grid": 3}}
    np.testing.assert_array_equal(stored["train_loss"], grid["train_loss"])


@pytest.mark.workflow
def test_workflow_planes_hold_the_fitted_curve(built_workflow):
    """The default run's planes: polylines 1→2 and 1→1′; the file's curve is the path file's curve."""
    for end in ("seed0-grok", "seed1-mem"):
        name = f"polyline/seed0-mem__{end}"
        plane, columns, attrs = read_plane(built_workflow / f"results/planes/{name}.h5")
        assert attrs["kind"] == "polyline" and attrs["end"] == end
        grid = attrs["settings"]["planes"]["grid"]
        assert columns["train_loss"].shape == (grid, grid) == (len(columns["y"]), len(columns["x"]))
        with h5py.File(built_workflow / f"results/paths/{name}.h5") as f:
            controls = stack_controls(
                [{k: torch.from_numpy(v[()]) for k, v in f[f"controls/{i}"].items()} for i in "012"]
            )
            t = f["t"][()]
            assert attrs["max_train_error"] == f.attrs["max_train_error"] == f["train_error"][()].max()
        np.testing.assert_array_equal(columns["t"], t)
        np.testing.assert_allclose(columns["controls"], coordinates_of_controls(plane, controls).numpy(), atol=1e-9)
        curve = weights_at(coefficients("polyline", torch.from_numpy(t), 3), controls)
        rebuilt = plane.weights(torch.from_numpy(columns["curve"]), torch.float64)
        assert all(torch.allclose(rebuilt[k], curve[k].double(), atol=1e-5) for k in curve)
        # the grid spans the three points with room to spare, and the landscape on it is not flat
        assert columns["x"][0] < columns["controls"][:, 0].min() and columns["y"][-1] > columns["controls"][:, 1].max()
        assert np.ptp(columns["train_loss"]) > 0
        pdf = (built_workflow / f"results/planes/{name}.pdf").read_bytes()
        assert pdf.startswith(b"%PDF") and len(pdf) > 5000


def test_control_points_come_back_from_the_path_file_and_a_file_without_them_is_named(setting, tmp_path):
    _, controls = setting
    columns = {"t": np.zeros(2), **{name: np.zeros(2) for name in METRICS}}
    write_path(tmp_path / "curve.h5", columns, {"kind": "polyline"}, controls=controls)
    assert all(torch.equal(v, controls[k]) for k, v in read_controls(tmp_path / "curve.h5").items())
    write_path(tmp_path / "segment.h5", columns, {"kind": "segment"})
    with pytest.raises(DamagedFileError, match=r"segment\.h5 is damaged \(it holds no control points"):
        read_controls(tmp_path / "segment.h5")
