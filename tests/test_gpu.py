"""The workflow on a CUDA GPU, end to end. Skipped, with the reason, on a machine without one.

Every path's metrics at its endpoints must equal what training measured at those epochs (cross-entropy
and accuracy of the whole train and validation sets), to 1e-5: the path jobs read the right weights,
on the right device, and compute what training computed.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import assert_path_endpoints_match_training, new_workdir, paper, snakemake

from grokscape.numerics.curves import coefficients
from grokscape.numerics.data import make_dataset
from grokscape.numerics.fitting import FitSettings, fit_curve, fit_curves
from grokscape.numerics.landscape import Objective, path_metrics
from grokscape.numerics.model import ModelShape, init_params

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (none on this machine)"),
]


def test_path_metrics_and_fits_run_on_the_gpu_and_agree_with_the_cpu():
    shape, objective = ModelShape(13, 16, 2, 32), Objective(2, 0.01, 40, True)
    dataset = make_dataset("mul", 13, 0.6, 0)
    start, end = init_params(shape, 0), init_params(shape, 1)
    cuda = torch.device("cuda")
    fit = fit_curve("polyline", 3, start, end, dataset, objective, paper(FitSettings, "polyline", epochs=3), cuda)
    t = torch.linspace(0, 1, 5, dtype=torch.float64)
    on_cpu = path_metrics(fit.controls, coefficients("polyline", t, 3), dataset, objective)
    on_gpu = path_metrics(
        {k: v.to(cuda) for k, v in fit.controls.items()}, coefficients("polyline", t, 3), dataset.to(cuda), objective
    )
    for name, values in on_cpu.items():
        np.testing.assert_allclose(on_gpu[name], values, rtol=1e-4, atol=1e-5, err_msg=name)
    batch = fit_curves(
        "polyline", 3, [(start, end), (end, start)], dataset, objective, paper(FitSettings, "polyline", epochs=3), cuda
    )
    assert torch.allclose(batch[0].controls["W_in"], fit.controls["W_in"], atol=1e-4)  # as the curve alone


@pytest.mark.workflow
def test_tiny_workflow_end_to_end_on_the_gpu(tmp_path):
    workdir = new_workdir(tmp_path, {"device": "cuda"})
    snakemake(workdir)
    train_logs = list((workdir / "results/logs/train").glob("seeds*.log"))
    assert len(train_logs) == 1, train_logs  # on a GPU, every seed trains in one stacked job
    assert "training seeds [0, 1] on cuda" in train_logs[0].read_text()
    for kind, n_curves in (("segment", 6), ("polyline", 6)):  # on a GPU, the curves of a kind fit in one job
        (log,) = (workdir / "results/logs/paths" / kind).glob("batch*.log")
        assert f"{kind}: {n_curves} curve(s)" in log.read_text() and " on cuda" in log.read_text()
    assert_path_endpoints_match_training(workdir)
    assert json.loads((workdir / "results/claims.json").read_text())


@pytest.mark.workflow
def test_sweep_points_train_their_seeds_in_one_job_on_the_gpu(tmp_path):
    workdir = new_workdir(tmp_path, {"device": "cuda", "sweeps": {"seeds": [0, 1], "max_epochs": 100}})
    snakemake(workdir, "results/sweeps/interventions.csv")
    logs = sorted((workdir / "results/logs/sweeps").glob("*/seeds*.log"))
    points = {run.parent.parent.name for run in (workdir / "results/sweeps/runs").glob("*/seed*/points.json")}
    assert len(logs) == len(points) == 4, logs  # one job per grid point, both seeds in it
    assert all(log.name == "seeds0-1.log" and "seeds [0, 1] on cuda" in log.read_text() for log in logs)
