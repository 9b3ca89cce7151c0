import numpy as np
import torch

from grokscape.curves import coefficients
from grokscape.data import make_dataset
from grokscape.fitting import FitSettings, fit_curve
from grokscape.landscape import Objective, path_metrics
from grokscape.model import ModelShape
from grokscape.points import Thresholds
from grokscape.training import TrainSettings, train_seed

SHAPE = ModelShape(23, 32, 4, 128)
DATA = make_dataset("mul", 23, 0.7, 0)
OBJECTIVE = Objective(4, 1.0, 512)
CPU = torch.device("cpu")


def _endpoints():
    run = train_seed(DATA, SHAPE, TrainSettings("adamw", 0.03, 1.0, 512, 3000, 0, 50), Thresholds(), 1, CPU)
    return run.snapshots[run.memorized], run.snapshots[run.grokked]


def test_fitted_polyline_has_lower_mean_training_loss_than_the_segment(tmp_path):
    start, end = _endpoints()
    fit = fit_curve("polyline", 3, start, end, DATA, OBJECTIVE, FitSettings(epochs=40, lr=0.02), CPU)
    for k in start:  # endpoints never move
        assert torch.equal(fit.controls[k][0], start[k]) and torch.equal(fit.controls[k][2], end[k])
    t = torch.linspace(0, 1, 11, dtype=torch.float64)
    segment = path_metrics(
        {k: torch.stack([start[k], end[k]]) for k in start}, coefficients("segment", t, 2), DATA, OBJECTIVE
    )
    polyline = path_metrics(fit.controls, coefficients("polyline", t, 3), DATA, OBJECTIVE)
    assert polyline["train_loss"].mean() < segment["train_loss"].mean()
    assert fit.epoch_loss[-1] < fit.epoch_loss[0]


def test_interrupted_fit_resumes_to_the_same_curve(tmp_path, caplog):
    start, end = _endpoints()
    state = tmp_path / "fit.h5"
    whole = fit_curve("bezier", 3, start, end, DATA, OBJECTIVE, FitSettings(epochs=6, checkpoint_every=3), CPU)
    fit_curve("bezier", 3, start, end, DATA, OBJECTIVE, FitSettings(epochs=3, checkpoint_every=3), CPU, state)
    assert state.exists()
    caplog.set_level("INFO")
    resumed = fit_curve("bezier", 3, start, end, DATA, OBJECTIVE, FitSettings(epochs=6, checkpoint_every=3), CPU, state)
    assert "resuming bezier fit from epoch 3" in caplog.text
    np.testing.assert_array_equal(resumed.epoch_loss, whole.epoch_loss)
    assert all(torch.equal(resumed.controls[k], whole.controls[k]) for k in whole.controls)
