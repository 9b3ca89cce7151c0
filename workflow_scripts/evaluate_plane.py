"""Snakemake step: the plane through a fitted curve's three control points, its grid of train loss and
train and validation error, and the curve drawn in it (Garipov et al. 2018, figures 1-2)."""

import torch

from grokscape.numerics.curves import coefficients, weights_at
from grokscape.numerics.data import load_dataset
from grokscape.numerics.devices import resolve_device
from grokscape.numerics.landscape import Objective
from grokscape.numerics.planes import grid_axes, plane_metrics, plane_through, write_plane
from grokscape.output.pathfiles import read_controls, read_path
from grokscape.scripting import job, job_settings

with job(snakemake) as log:
    config = job_settings(snakemake)  # its settings plus its knob planes.chunk
    planes, inputs = config["planes"], snakemake.input
    device = resolve_device(config["device"])
    columns, path_attrs = read_path(inputs.path)
    controls = read_controls(inputs.path)
    kind = path_attrs["kind"]
    plane = plane_through(controls)
    corners = plane.coordinates(controls)  # w_A, θ, w_B
    t = torch.from_numpy(columns["t"])
    curve = plane.coordinates(weights_at(coefficients(kind, t, 3), controls))
    x, y = grid_axes(corners, planes["grid"], planes["margin"])
    log.info(
        "%s %s -> %s: plane %dx%d on %s, bend at (%.3f, %.3f), endpoints %.3f apart",
        kind,
        path_attrs["start"],
        path_attrs["end"],
        len(x),
        len(y),
        device,
        *corners[1].tolist(),
        corners[2, 0].item(),
    )
    dtype, objective = next(iter(controls.values())).dtype, Objective.from_config(config)
    grid = plane_metrics(plane, x, y, load_dataset(inputs.dataset), objective, dtype, planes["chunk"], device)
    keep = ("kind", "start", "end", "start_seed", "end_seed", "start_epoch", "end_epoch", "max_train_error")
    attrs = {key: path_attrs[key] for key in keep} | {
        "l2_in_loss": objective.l2_in_loss,
        "settings": snakemake.params.settings,
    }
    write_plane(
        snakemake.output[0],
        plane,
        {"x": x, "y": y, **grid, "t": t, "curve": curve, "controls": corners},
        attrs,
    )
    log.info(
        "train loss %.4g to %.4g, train error %.3f to %.3f over the grid",
        grid["train_loss"].min(),
        grid["train_loss"].max(),
        grid["train_error"].min(),
        grid["train_error"].max(),
    )
