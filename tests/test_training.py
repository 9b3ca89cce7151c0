from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import paper, tiny_problem

from grokscape.errors import ConfigError
from grokscape.numerics import training
from grokscape.numerics.clipping import clip_each_model
from grokscape.numerics.data import make_dataset
from grokscape.numerics.model import ModelShape, forward, init_params, squared_norm
from grokscape.numerics.training import (
    FullEvaluator,
    TrainSettings,
    epoch_order,
    initial_params,
    minibatches,
    train_seed,
    train_seeds,
)
from grokscape.planning.points import Thresholds

# A small problem for the mechanics of training (stacking, resuming, clipping), which need no grokking...
SHAPE = ModelShape(23, 32, 4, 128)
DATA = make_dataset("mul", 23, 0.7, 0)
CPU = torch.device("cpu")
EXACT = Thresholds(1.0, 1.0)


def adamw(max_epochs: int, epochs_after_grok: int, snapshot_every: int, **changes) -> TrainSettings:
    """The tiny problem's training (AdamW, lr 0.03, weight decay 1), the paper's settings otherwise."""
    tiny = {"optimizer": "adamw", "lr": 0.03, "weight_decay": 1.0}
    steps = {"max_epochs": max_epochs, "epochs_after_grok": epochs_after_grok, "snapshot_every": snapshot_every}
    return paper(TrainSettings, **{**tiny, **steps, **changes})


# ...and the tiny configuration's problem where a run must grok: it does so on every CPU (tests/tiny.yaml).
TINY_DATA, TINY_SHAPE, TINY_SETTINGS, TINY_THRESHOLDS = tiny_problem()


@pytest.fixture(scope="module")
def uninterrupted():
    return train_seed(TINY_DATA, TINY_SHAPE, TINY_SETTINGS, TINY_THRESHOLDS, 1, CPU)


def test_tiny_run_memorises_then_groks_with_exact_point_checkpoints(uninterrupted):
    result, thresholds = uninterrupted, TINY_THRESHOLDS
    h = result.history
    assert h["epoch"][0] == 0 and np.all(np.diff(h["epoch"]) == 1)
    assert 0 < result.memorized < result.grokked  # C1 in miniature
    assert h["train_acc"][result.memorized] >= thresholds.train_acc > h["train_acc"][result.memorized - 1]
    assert h["val_acc"][result.grokked] >= thresholds.val_acc > h["val_acc"][result.grokked - 1]
    assert h["epoch"][-1] == result.grokked + TINY_SETTINGS.epochs_after_grok
    assert {result.memorized, result.grokked, 0, 50} <= set(result.snapshots)
    assert np.all(h["weight_norm"] > 0)


def test_full_evaluation_in_chunks_equals_the_loss_and_accuracy_of_each_split():
    params = init_params(SHAPE, 2)
    expected = []
    for index in (DATA.train_index, DATA.val_index):
        a, b, c = DATA.subset(index)
        logits = forward(params, a, b, SHAPE.n_heads)
        expected += [F.cross_entropy(logits, c).item(), (logits.argmax(-1) == c).float().mean().item()]
    measured = FullEvaluator(DATA, SHAPE.n_heads, rows=37)(params)  # chunks straddle the train/val border
    np.testing.assert_allclose(measured, expected, rtol=1e-5)
    assert 0 < measured[1] < 1 and 0 < measured[3] < 1  # an untrained model gets some, not all, right


def test_run_that_never_groks_finishes_with_its_history():
    settings = adamw(15, 20, 5)
    result = train_seed(DATA, SHAPE, settings, EXACT, 1, CPU)
    assert result.grokked is None and len(result.history["epoch"]) == 16


def test_resumed_run_equals_uninterrupted_run(uninterrupted, tmp_path, caplog):
    state = tmp_path / "state.h5"
    stopped = replace(TINY_SETTINGS, max_epochs=120)
    partial = train_seed(TINY_DATA, TINY_SHAPE, stopped, TINY_THRESHOLDS, 1, CPU, resume_path=state)
    assert state.exists() and partial.history["epoch"][-1] == 120
    caplog.set_level("INFO")
    resumed = train_seed(TINY_DATA, TINY_SHAPE, TINY_SETTINGS, TINY_THRESHOLDS, 1, CPU, resume_path=state)
    assert "resuming seeds [1] from epoch 100" in caplog.text
    for name, values in uninterrupted.history.items():
        np.testing.assert_array_equal(resumed.history[name], values, err_msg=name)
    assert resumed.snapshots.keys() == uninterrupted.snapshots.keys()
    for epoch, params in uninterrupted.snapshots.items():
        assert all(torch.equal(resumed.snapshots[epoch][k], v) for k, v in params.items())


def test_resume_state_of_other_settings_is_ignored(tmp_path):
    state = tmp_path / "state.h5"
    train_seed(DATA, SHAPE, adamw(10, 20, 5), EXACT, 1, CPU, state)
    other = adamw(10, 20, 5, lr=0.02)
    fresh = train_seed(DATA, SHAPE, other, EXACT, 1, CPU)
    resumed = train_seed(DATA, SHAPE, other, EXACT, 1, CPU, state)
    np.testing.assert_array_equal(resumed.history["train_loss"], fresh.history["train_loss"])


def test_sgd_with_the_papers_settings_learns():
    settings = paper(TrainSettings, max_epochs=30, snapshot_every=10)
    result = train_seed(DATA, SHAPE, settings, EXACT, 0, CPU)
    assert result.history["train_loss"][-1] < result.history["train_loss"][0]


def _in_float64(monkeypatch: pytest.MonkeyPatch) -> None:
    """Train in float64: float32 rounding, which differs between a stacked and a lone model, is
    amplified by grokking's dynamics within a few hundred epochs (and can move the grokking epoch);
    in float64 the same mechanism must give the same trajectory to ~1e-12."""
    monkeypatch.setattr(training, "init_params", lambda *args: {k: v.double() for k, v in init_params(*args).items()})


def test_a_seed_in_a_group_follows_the_trajectory_it_follows_alone(monkeypatch):
    _in_float64(monkeypatch)
    settings = adamw(160, 3, 50)
    thresholds = Thresholds(train_acc=1.0, val_acc=0.2)  # reached at different epochs: seeds leave the stack
    group = train_seeds(DATA, SHAPE, settings, thresholds, [0, 1, 2], CPU)
    stops = {seed: int(result.history["epoch"][-1]) for seed, result in group.items()}
    assert len(set(stops.values())) > 1, stops  # the stack shrank while the others trained on
    for seed, in_group in group.items():
        alone = train_seed(DATA, SHAPE, settings, thresholds, seed, CPU)
        assert (in_group.memorized, in_group.grokked) == (alone.memorized, alone.grokked), seed
        for name, values in alone.history.items():
            np.testing.assert_allclose(in_group.history[name], values, rtol=1e-9, atol=1e-12, err_msg=name)
        assert in_group.snapshots.keys() == alone.snapshots.keys()
        last = max(alone.snapshots)
        for name, value in alone.snapshots[last].items():
            torch.testing.assert_close(in_group.snapshots[last][name], value, rtol=1e-9, atol=1e-12)


def test_resumed_group_equals_uninterrupted_group_after_a_seed_left_the_stack(tmp_path):
    settings = adamw(300, 20, 25)
    thresholds = Thresholds(train_acc=1.0, val_acc=0.5)
    uninterrupted = train_seeds(DATA, SHAPE, settings, thresholds, [0, 1], CPU)
    first_stop = min(int(r.history["epoch"][-1]) for r in uninterrupted.values())
    assert first_stop < 275  # one seed leaves the stack before the state saved at the interruption
    state = tmp_path / "state.h5"
    stopped = replace(settings, max_epochs=290)
    train_seeds(DATA, SHAPE, stopped, thresholds, [0, 1], CPU, resume_path=state)
    resumed = train_seeds(DATA, SHAPE, settings, thresholds, [0, 1], CPU, resume_path=state)
    for seed, result in uninterrupted.items():
        for name, values in result.history.items():
            np.testing.assert_array_equal(resumed[seed].history[name], values, err_msg=f"seed {seed} {name}")
        assert resumed[seed].snapshots.keys() == result.snapshots.keys()
        for epoch, params in result.snapshots.items():
            assert all(torch.equal(resumed[seed].snapshots[epoch][k], v) for k, v in params.items())


def test_each_stacked_model_is_clipped_on_its_own_norm():
    params = [torch.zeros(3, 4, 5, requires_grad=True), torch.zeros(3, 5, requires_grad=True)]
    scales = torch.tensor([0.1, 1.0, 100.0])
    for p in params:
        p.grad = torch.ones_like(p) * scales.view(-1, *[1] * (p.dim() - 1))
    norms_before = torch.sqrt(sum(p.grad.pow(2).flatten(1).sum(1) for p in params))
    clip_each_model(params, 5.0)
    norms_after = torch.sqrt(sum(p.grad.pow(2).flatten(1).sum(1) for p in params))
    torch.testing.assert_close(norms_after[:2], norms_before[:2])  # below the limit: untouched
    torch.testing.assert_close(norms_after[2], torch.tensor(5.0), rtol=1e-5, atol=0)


def test_init_scale_multiplies_every_initial_weight_and_one_changes_nothing():
    plain = init_params(SHAPE, 3, paper(TrainSettings).init)  # the paper run's initialisation
    for scale in (1.0, 2.5):
        scaled = initial_params(SHAPE, paper(TrainSettings, init_scale=scale), 3)
        assert all(torch.equal(scaled[k], v * scale) for k, v in plain.items())
    unscaled = initial_params(SHAPE, paper(TrainSettings), 3)
    assert all(torch.equal(unscaled[k], v) for k, v in plain.items())  # bit for bit: the paper run is unchanged
    run = train_seed(DATA, SHAPE, adamw(2, 20, 5, init_scale=3.0), EXACT, 3, CPU)  # the same initialisation
    assert run.history["weight_norm"][0] == pytest.approx(3 * squared_norm(plain).sqrt().item(), rel=1e-6)


def test_fixed_weight_norm_holds_the_whole_weight_vector_on_the_sphere_while_it_learns():
    params = initial_params(SHAPE, paper(TrainSettings, init_scale=2.0, weight_norm=7.0), 4)
    assert squared_norm(params).sqrt().item() == pytest.approx(7.0, rel=1e-6)
    plain = init_params(SHAPE, 4, paper(TrainSettings).init)  # projected, not turned: every weight scaled alike
    ratio = params["W_in"][0, 0] / plain["W_in"][0, 0]
    assert all(torch.allclose(params[k], v * ratio, rtol=1e-5) for k, v in plain.items())
    settings = adamw(5, 20, 5, weight_decay=0.0, batch_size=64, weight_norm=20.0)  # several steps per epoch
    result = train_seed(DATA, SHAPE, settings, EXACT, 4, CPU)
    np.testing.assert_allclose(result.history["weight_norm"], 20.0, rtol=1e-5)
    free = train_seed(DATA, SHAPE, adamw(5, 20, 5, weight_decay=0.0, batch_size=64), EXACT, 4, CPU)
    assert abs(free.history["weight_norm"][-1] - free.history["weight_norm"][0]) > 0.5  # without it the norm moves
    assert result.history["train_loss"][-1] < result.history["train_loss"][0]  # and it still learns
    last = result.snapshots[5]
    assert squared_norm(last).sqrt().item() == pytest.approx(20.0, rel=1e-5)


def test_an_epoch_visits_every_example_once_by_default_and_the_variants_as_documented():
    """shuffle is the minibatch order training always had (one randperm per epoch, a smaller last
    minibatch); drop_last leaves that minibatch out; replacement draws examples with replacement."""
    draw = torch.Generator().manual_seed(5)
    order = epoch_order(4656, draw, "shuffle")
    assert torch.equal(order, torch.randperm(4656, generator=torch.Generator().manual_seed(5)))
    sizes = [len(b[0]) for b in minibatches(order.unsqueeze(0), 512, "shuffle")]
    assert sizes == [512] * 9 + [48]  # the paper's training half: 4,656 examples
    assert [len(b[0]) for b in minibatches(order.unsqueeze(0), 512, "drop_last")] == [512] * 9
    assert [len(b[0]) for b in minibatches(order[:1024].unsqueeze(0), 512, "drop_last")] == [512, 512]
    drawn = epoch_order(4656, torch.Generator().manual_seed(5), "replacement")
    assert len(drawn) == 4656 and drawn.min() >= 0 and drawn.max() < 4656
    assert len(drawn.unique()) < 4656  # with replacement, some examples twice (about 37 % never)
    assert [len(b[0]) for b in minibatches(drawn.unsqueeze(0), 512, "replacement")] == sizes


def test_sampling_variants_train_other_trajectories_and_drop_last_needs_a_full_minibatch():
    settings = adamw(3, 20, 5, batch_size=128)  # 370 examples: 2 of 128 and one of 114
    runs = {
        sampling: train_seed(DATA, SHAPE, replace(settings, sampling=sampling), EXACT, 1, CPU)
        for sampling in ("shuffle", "drop_last", "replacement")
    }
    assert runs["shuffle"].history["train_loss"][1] != runs["drop_last"].history["train_loss"][1]
    assert runs["shuffle"].history["train_loss"][1] != runs["replacement"].history["train_loss"][1]
    for run in runs.values():
        assert run.history["train_loss"][-1] < run.history["train_loss"][0]  # each learns
    too_large = adamw(3, 20, 5, sampling="drop_last")
    with pytest.raises(ConfigError, match=r"train\.sampling"):
        train_seed(DATA, SHAPE, too_large, EXACT, 1, CPU)


def test_nanda_initialisation_reaches_training_and_init_scale_scales_it():
    settings = adamw(2, 20, 5, init="nanda", init_scale=2.0)
    run = train_seed(DATA, SHAPE, settings, EXACT, 3, CPU)
    start = squared_norm(init_params(SHAPE, 3, "nanda")).sqrt().item()
    assert run.history["weight_norm"][0] == pytest.approx(2 * start, rel=1e-6)
