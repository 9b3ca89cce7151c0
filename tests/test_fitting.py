import itertools
from dataclasses import replace

import numpy as np
import pytest
import torch
from conftest import tiny_problem

from grokscape.fit_settings import fit_l2
from grokscape.numerics import resume
from grokscape.numerics.curves import coefficients
from grokscape.numerics.fitting import FitSettings, fit_curve, fit_curves, lr_factor
from grokscape.numerics.landscape import Objective, path_metrics
from grokscape.numerics.training import train_seed

DATA, SHAPE, SETTINGS, THRESHOLDS = tiny_problem()  # its seeds grok on every CPU (tests/tiny.yaml)
OBJECTIVE = Objective(4, 1.0, 512)
CPU = torch.device("cpu")


def _endpoints():
    run = train_seed(DATA, SHAPE, replace(SETTINGS, epochs_after_grok=0), THRESHOLDS, 1, CPU)
    return run.snapshots[run.memorized], run.snapshots[run.grokked]


def test_fitted_polyline_has_lower_mean_cross_entropy_than_the_segment(tmp_path):
    start, end = _endpoints()
    fit = fit_curve("polyline", 3, start, end, DATA, OBJECTIVE, FitSettings(epochs=40, lr=0.02), CPU)
    for k in start:  # endpoints never move
        assert torch.equal(fit.controls[k][0], start[k]) and torch.equal(fit.controls[k][2], end[k])
    t = torch.linspace(0, 1, 11, dtype=torch.float64)
    segment = path_metrics(
        {k: torch.stack([start[k], end[k]]) for k in start}, coefficients("segment", t, 2), DATA, OBJECTIVE
    )
    polyline = path_metrics(fit.controls, coefficients("polyline", t, 3), DATA, OBJECTIVE)
    assert polyline["train_ce"].mean() < segment["train_ce"].mean()  # l2 = 0: the fit minimises cross-entropy
    assert fit.epoch_loss[-1] < fit.epoch_loss[0]


def test_longer_constant_rate_fit_resumes_a_shorter_one_to_the_same_curve(tmp_path, caplog):
    start, end = _endpoints()
    state = tmp_path / "fit.h5"
    six, three = (FitSettings(epochs=n, checkpoint_every=3, schedule="constant") for n in (6, 3))
    whole = fit_curve("bezier", 3, start, end, DATA, OBJECTIVE, six, CPU)
    fit_curve("bezier", 3, start, end, DATA, OBJECTIVE, three, CPU, state)
    assert state.exists()
    caplog.set_level("INFO")
    resumed = fit_curve("bezier", 3, start, end, DATA, OBJECTIVE, six, CPU, state)
    assert "resuming bezier fit of 1 curve(s) from epoch 3" in caplog.text
    np.testing.assert_array_equal(resumed.epoch_loss, whole.epoch_loss)
    assert all(torch.equal(resumed.controls[k], whole.controls[k]) for k in whole.controls)


def test_curves_fitted_together_follow_the_fits_each_would_make_alone(tmp_path, caplog):
    """In float64, so that the order of the sums (stacked against alone) is far below what is checked;
    the second curve runs backwards, so the two fits differ. Resuming a batch is exact, too."""
    start, end = ({k: v.double() for k, v in point.items()} for point in _endpoints())
    ends = [(start, end), (end, start)]
    settings = FitSettings(epochs=6, checkpoint_every=3, lr=0.05, l2=0.01, t_per_batch=2, schedule="constant")
    together = fit_curves("polyline", 3, ends, DATA, OBJECTIVE, settings, CPU)
    for (a, b), fit in zip(ends, together, strict=True):
        alone = fit_curve("polyline", 3, a, b, DATA, OBJECTIVE, settings, CPU)
        np.testing.assert_allclose(fit.epoch_loss, alone.epoch_loss, rtol=1e-10)
        for k in alone.controls:
            assert torch.allclose(fit.controls[k], alone.controls[k], rtol=0, atol=1e-10), k
    assert not torch.allclose(together[0].controls["W_in"][1], together[1].controls["W_in"][1])
    state = tmp_path / "batch.h5"
    fit_curves("polyline", 3, ends, DATA, OBJECTIVE, replace(settings, epochs=3), CPU, state)
    caplog.set_level("INFO")
    resumed = fit_curves("polyline", 3, ends, DATA, OBJECTIVE, settings, CPU, state)
    assert "resuming polyline fit of 2 curve(s) from epoch 3" in caplog.text
    for fit, again in zip(together, resumed, strict=True):
        np.testing.assert_array_equal(again.epoch_loss, fit.epoch_loss)
        assert all(torch.equal(again.controls[k], fit.controls[k]) for k in fit.controls)


def test_garipov_schedule_is_flat_then_linear_down_to_one_percent_then_flat():
    factors = [lr_factor("garipov", e, 100) for e in range(100)]
    assert factors[0] == factors[50] == 1.0
    assert factors[70] == pytest.approx(1 - 0.99 * 0.5)
    assert factors[90] == pytest.approx(0.01) and factors[99] == pytest.approx(0.01)
    assert all(a >= b for a, b in itertools.pairwise(factors))
    assert lr_factor("cosine", 0, 10) == 1.0 and lr_factor("cosine", 5, 10) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="schedule"):
        lr_factor("step", 0, 10)


def test_fit_l2_auto_follows_the_training_optimizer():
    config = {"polyline": {"l2": "auto"}, "train": {"optimizer": "sgd", "weight_decay": 0.001}}
    assert fit_l2(config, "polyline") == 0.001
    config["train"]["optimizer"] = "adamw"
    assert fit_l2(config, "polyline") == 0.0
    config["polyline"]["l2"] = 0.5
    assert fit_l2(config, "polyline") == 0.5


class _Killed(Exception):
    pass


RECIPES = [FitSettings(), FitSettings(optimizer="adam", lr=1e-3, schedule="cosine"), FitSettings(t_per_batch=3)]


@pytest.mark.parametrize("recipe", RECIPES, ids=["garipov", "adam-cosine", "three-t"])
def test_every_recipe_resumes_bit_identically_after_a_kill(tmp_path, monkeypatch, recipe):
    start, end = _endpoints()
    settings = replace(recipe, epochs=4, checkpoint_every=2)
    whole = fit_curve("polyline", 3, start, end, DATA, OBJECTIVE, settings, CPU)
    state, save_state = tmp_path / "fit.h5", resume.save_state

    def save_then_die(*args, **kwargs):  # the job is killed right after its first resume state
        save_state(*args, **kwargs)
        raise _Killed

    monkeypatch.setattr(resume, "save_state", save_then_die)
    with pytest.raises(_Killed):
        fit_curve("polyline", 3, start, end, DATA, OBJECTIVE, settings, CPU, state)
    monkeypatch.setattr(resume, "save_state", save_state)
    resumed = fit_curve("polyline", 3, start, end, DATA, OBJECTIVE, settings, CPU, state)
    np.testing.assert_array_equal(resumed.epoch_loss, whole.epoch_loss)
    assert all(torch.equal(resumed.controls[k], whole.controls[k]) for k in whole.controls)
