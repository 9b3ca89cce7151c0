import copy
import itertools
from dataclasses import replace

import numpy as np
import pytest
import torch
from conftest import paper, paper_config, tiny_problem

from grokscape.numerics import resume
from grokscape.numerics.curves import coefficients
from grokscape.numerics.fitting import FitSettings, fit_curve, fit_curves, lr_factor
from grokscape.numerics.landscape import Objective, path_metrics, paths_metrics
from grokscape.numerics.training import train_seed

DATA, SHAPE, SETTINGS, THRESHOLDS = tiny_problem()  # its seeds grok on every CPU (tests/tiny.yaml)
OBJECTIVE = Objective(4, 1.0, 512, False)  # AdamW's objective: no L2 term
CPU = torch.device("cpu")
# The paper's recipe for polylines with the L2 term off, a resume state every 100 epochs and one round.
RECIPE = paper(FitSettings, "polyline", l2=0.0, checkpoint_every=100, max_rounds=1)


def _endpoints():
    run = train_seed(DATA, SHAPE, replace(SETTINGS, epochs_after_grok=0), THRESHOLDS, 1, CPU)
    return run.snapshots[run.memorized], run.snapshots[run.grokked]


def test_fitted_polyline_has_lower_mean_cross_entropy_than_the_segment(tmp_path):
    start, end = _endpoints()
    fit = fit_curve("polyline", 3, start, end, DATA, OBJECTIVE, replace(RECIPE, epochs=40, lr=0.02), CPU)
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
    six, three = (replace(RECIPE, epochs=n, checkpoint_every=3, schedule="constant") for n in (6, 3))
    whole = fit_curve("bezier", 3, start, end, DATA, OBJECTIVE, six, CPU)
    fit_curve("bezier", 3, start, end, DATA, OBJECTIVE, three, CPU, state)
    assert state.exists()
    caplog.set_level("INFO")
    resumed = fit_curve("bezier", 3, start, end, DATA, OBJECTIVE, six, CPU, state)
    assert "resuming bezier fit of 1 curve(s) from round 1, epoch 3" in caplog.text
    np.testing.assert_array_equal(resumed.epoch_loss, whole.epoch_loss)
    assert all(torch.equal(resumed.controls[k], whole.controls[k]) for k in whole.controls)


def test_curves_fitted_together_follow_the_fits_each_would_make_alone(tmp_path, caplog):
    """In float64, so that the order of the sums (stacked against alone) is far below what is checked;
    the second curve runs backwards, so the two fits differ. Resuming a batch is exact, too."""
    start, end = ({k: v.double() for k, v in point.items()} for point in _endpoints())
    ends = [(start, end), (end, start)]
    settings = replace(RECIPE, epochs=6, checkpoint_every=3, lr=0.05, l2=0.01, t_per_batch=2, schedule="constant")
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
    assert "resuming polyline fit of 2 curve(s) from round 1, epoch 3" in caplog.text
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
    assert lr_factor("constant", 99, 100) == 1.0


def test_the_recipe_is_its_sections_and_l2_auto_follows_the_training_optimizer():
    config = copy.deepcopy(paper_config())
    assert FitSettings.from_config(config, "bezier") == FitSettings(
        epochs=600,
        lr=0.05,
        momentum=0.9,
        seed=0,
        checkpoint_every=50,
        grad_clip=5.0,
        optimizer="sgd",
        schedule="garipov",
        l2=0.001,  # auto: the paper trains with SGD, whose weight decay is a loss term
        t_per_batch=1,
        max_rounds=3,
        connect_error=0.01,  # claims.zero_error: the claims' definition of a connecting curve
    )
    config["train"]["optimizer"] = "adamw"
    assert FitSettings.from_config(config, "polyline").l2 == 0.0
    config["polyline"]["l2"] = 0.5
    assert FitSettings.from_config(config, "polyline").l2 == 0.5
    config["polyline"].update(optimizer="adam", momentum=None)  # a momentum without SGD is left out: None
    del config["polyline"]["momentum"]
    assert FitSettings.from_config(config, "polyline").momentum is None


class _Killed(Exception):
    pass


RECIPES = [RECIPE, replace(RECIPE, optimizer="adam", lr=1e-3, schedule="cosine"), replace(RECIPE, t_per_batch=3)]


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


def _grid_metrics(curves):
    """The curves' tables on a 5-point t grid: what tells a fit in rounds whether each connected."""
    return paths_metrics(
        curves, coefficients("polyline", torch.linspace(0, 1, 5, dtype=torch.float64), 3), DATA, OBJECTIVE
    )


def _connecting_and_not():
    """Two curves whose fates no rounding can change: from point 2 to itself (train error 0 all along) and
    from point 2 to the untrained initialisation (train error near chance, 1 − 1/p, at its end)."""
    run = train_seed(DATA, SHAPE, SETTINGS, THRESHOLDS, 1, CPU)
    grokked = run.snapshots[run.grokked]
    return [(grokked, grokked), (grokked, run.snapshots[0])]


ROUNDS = replace(RECIPE, epochs=3, checkpoint_every=2, max_rounds=3, connect_error=0.5)


def test_a_curve_that_did_not_connect_goes_on_in_rounds_and_one_that_did_stays_as_it_was():
    ends = _connecting_and_not()
    one_round = fit_curves(
        "polyline", 3, ends, DATA, OBJECTIVE, replace(ROUNDS, max_rounds=1), CPU, None, _grid_metrics
    )
    rounds = fit_curves("polyline", 3, ends, DATA, OBJECTIVE, ROUNDS, CPU, None, _grid_metrics)
    connected, stuck = rounds
    assert (connected.rounds, connected.connected, len(connected.epoch_loss)) == (1, True, 3)
    for name in connected.controls:  # left alone while the other curve went on
        assert torch.equal(connected.controls[name], one_round[0].controls[name]), name
    assert all(np.array_equal(connected.metrics[k], one_round[0].metrics[k]) for k in connected.metrics)
    assert (stuck.rounds, stuck.connected, len(stuck.epoch_loss)) == (3, False, 9)
    assert np.array_equal(stuck.epoch_loss[:3], one_round[1].epoch_loss)  # round 1 as in a fit of one round
    assert stuck.metrics["train_error"].max() > 0.5 and not np.isnan(stuck.epoch_loss).any()
    moved = [not torch.equal(stuck.controls[k][1], one_round[1].controls[k][1]) for k in stuck.controls]
    assert all(moved)  # rounds 2 and 3 moved its bend on
    with pytest.raises(ValueError, match="evaluate"):
        fit_curves("polyline", 3, ends, DATA, OBJECTIVE, ROUNDS, CPU)


def test_a_curve_in_its_later_rounds_follows_the_fit_it_would_make_alone():
    """In float64, as for one round: the curve left over after round 1 goes on in a batch of one, drawing
    the t and minibatches it draws alone."""
    ends = [tuple({k: v.double() for k, v in point.items()} for point in pair) for pair in _connecting_and_not()]
    together = fit_curves("polyline", 3, ends, DATA, OBJECTIVE, ROUNDS, CPU, None, _grid_metrics)[1]
    alone = fit_curve("polyline", 3, *ends[1], DATA, OBJECTIVE, ROUNDS, CPU, None, _grid_metrics)
    assert together.rounds == alone.rounds == 3
    np.testing.assert_allclose(together.epoch_loss, alone.epoch_loss, rtol=1e-10)
    for k in alone.controls:
        assert torch.allclose(together.controls[k], alone.controls[k], rtol=0, atol=1e-10), k


def test_a_fit_killed_in_a_later_round_resumes_bit_identically(tmp_path, monkeypatch, caplog):
    ends = _connecting_and_not()
    whole = fit_curves("polyline", 3, ends, DATA, OBJECTIVE, ROUNDS, CPU, None, _grid_metrics)
    state, save_state, saves = tmp_path / "fit.h5", resume.save_state, []

    def save_then_die_in_round_2(path, stamp, tensors, meta):
        save_state(path, stamp, tensors, meta)
        saves.append(meta)
        if meta["round"] == 2:  # epoch 2 of round 2: the curve that connected is done, the other mid-round
            raise _Killed

    monkeypatch.setattr(resume, "save_state", save_then_die_in_round_2)
    with pytest.raises(_Killed):
        fit_curves("polyline", 3, ends, DATA, OBJECTIVE, ROUNDS, CPU, state, _grid_metrics)
    assert saves[-1] == {"round": 2, "epoch": 2}
    monkeypatch.setattr(resume, "save_state", save_state)
    caplog.set_level("INFO")
    resumed = fit_curves("polyline", 3, ends, DATA, OBJECTIVE, ROUNDS, CPU, state, _grid_metrics)
    assert "from round 2, epoch 2" in caplog.text
    for fit, again in zip(whole, resumed, strict=True):
        assert (again.rounds, again.connected) == (fit.rounds, fit.connected)
        np.testing.assert_array_equal(again.epoch_loss, fit.epoch_loss)
        assert all(torch.equal(again.controls[k], fit.controls[k]) for k in fit.controls)
        assert all(np.array_equal(again.metrics[k], fit.metrics[k]) for k in fit.metrics)
