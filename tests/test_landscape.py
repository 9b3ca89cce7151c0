import numpy as np
import pytest
import torch
import yaml
from conftest import REPO, tiny_config
from reference import point_metrics

from grokscape.numerics.curves import coefficients, initial_controls, weights_at
from grokscape.numerics.data import make_dataset
from grokscape.numerics.landscape import Objective, forward_metrics, path_metrics, paths_metrics, summary_row
from grokscape.numerics.model import ModelShape, init_params

SHAPE = ModelShape(13, 16, 2, 32)
OBJECTIVE = Objective(n_heads=2, weight_decay=0.01, batch_size=40, l2_in_loss=True)


@pytest.fixture(scope="module")
def setting():
    dataset = make_dataset("mul", 13, 0.6, 0)
    controls = initial_controls(init_params(SHAPE, 0), init_params(SHAPE, 1), 3)
    controls = {
        k: v + 0.3 * torch.randn_like(v) * torch.tensor([0.0, 1.0, 0.0]).view(-1, *[1] * (v.dim() - 1))
        for k, v in controls.items()
    }
    return dataset, controls


def test_metrics_at_t0_equal_evaluating_the_checkpoint_directly(setting):
    dataset, controls = setting
    t = torch.linspace(0, 1, 5, dtype=torch.float64)
    segment = {k: v[[0, 2]] for k, v in controls.items()}
    metrics = path_metrics(segment, coefficients("segment", t, 2), dataset, OBJECTIVE)
    direct = point_metrics({k: v[0] for k, v in segment.items()}, dataset, OBJECTIVE)
    for name, value in direct.items():
        assert metrics[name][0] == pytest.approx(value, rel=1e-5, abs=1e-6), name


@pytest.mark.parametrize("t_chunk", [1, 4, 16])
def test_batched_evaluation_equals_a_per_t_loop(setting, t_chunk):
    dataset, controls = setting
    t = torch.linspace(0, 1, 7, dtype=torch.float64)
    coeffs = coefficients("polyline", t, 3)
    batched = path_metrics(controls, coeffs, dataset, OBJECTIVE, t_chunk=t_chunk)
    weights = weights_at(coeffs, controls)
    for i in range(len(t)):
        plain = point_metrics({k: v[i] for k, v in weights.items()}, dataset, OBJECTIVE)
        for name, value in plain.items():
            assert batched[name][i] == pytest.approx(value, rel=1e-4, abs=1e-5), (name, i)
    assert all(np.all(np.isfinite(v)) for v in batched.values())


def test_curves_evaluated_together_give_what_each_gives_alone(setting):
    """Points of three curves share passes (chunks of 4 straddle the curves' 7 points each)."""
    dataset, controls = setting
    curves = [controls, {k: v.flip(0) for k, v in controls.items()}, {k: 0.5 * v for k, v in controls.items()}]
    coeffs = coefficients("polyline", torch.linspace(0, 1, 7, dtype=torch.float64), 3)
    together = paths_metrics(curves, coeffs, dataset, OBJECTIVE, t_chunk=4)
    assert len(together) == 3
    for curve, measured in zip(curves, together, strict=True):
        alone = path_metrics(curve, coeffs, dataset, OBJECTIVE, t_chunk=4)
        for name, values in alone.items():
            np.testing.assert_allclose(measured[name], values, rtol=1e-5, atol=1e-6, err_msg=name)
    assert not np.allclose(together[0]["train_loss"], together[2]["train_loss"])


def test_summary_row_leaves_the_peak_empty_without_a_barrier():
    t = np.linspace(0, 1, 5)
    table = {"t": t, "train_loss": 1 - t, "train_error": np.array([0, 0.3, 0.1, 0, 0.0]), "val_error": 1 - t}
    row = summary_row({**table, "grad_norm": t}, zero_error=0.01)
    assert np.isnan(row["train_loss_peak_at"]) and row["train_loss_barrier"] == 0
    assert row["train_error_peak_at"] == 0.25 and row["train_error_barrier"] == pytest.approx(0.3)
    assert row["connects"] is False and row["max_train_error"] == pytest.approx(0.3)
    assert summary_row({**table, "grad_norm": t}, zero_error=0.3)["connects"] is True


def test_losses_are_stored_in_parts_that_add_up(setting):
    dataset, controls = setting
    parts = path_metrics(controls, coefficients("polyline", torch.linspace(0, 1, 3), 3), dataset, OBJECTIVE)
    for split in ("train", "val"):
        np.testing.assert_allclose(parts[f"{split}_loss"], parts[f"{split}_ce"] + parts["l2"], rtol=1e-12)
    assert np.all(parts["l2"] > 0) and np.all(parts["train_ce"] > 0)


def test_the_loss_is_the_training_objective_l2_only_where_the_decay_is_coupled(setting):
    """SGD's decay is a loss term: loss = CE + l2 and the gradient holds decay·w. AdamW's is decoupled:
    loss = CE exactly, the gradient is CE's alone, and l2 is still reported as a column of its own."""
    dataset, controls = setting
    decoupled = Objective(n_heads=2, weight_decay=0.01, batch_size=40, l2_in_loss=False)
    coeffs = coefficients("polyline", torch.linspace(0, 1, 5, dtype=torch.float64), 3)
    sgd, adamw = (path_metrics(controls, coeffs, dataset, o) for o in (OBJECTIVE, decoupled))
    for split in ("train", "val"):
        np.testing.assert_allclose(sgd[f"{split}_loss"], sgd[f"{split}_ce"] + sgd["l2"], rtol=1e-12)
        assert np.array_equal(adamw[f"{split}_loss"], adamw[f"{split}_ce"])
        np.testing.assert_array_equal(adamw[f"{split}_ce"], sgd[f"{split}_ce"])
    np.testing.assert_array_equal(adamw["l2"], sgd["l2"])
    assert np.all(adamw["l2"] > 0.01)  # a term large enough that leaving it out shows
    weights = weights_at(coeffs, controls)
    for i in range(5):
        plain = point_metrics({k: v[i] for k, v in weights.items()}, dataset, decoupled)
        assert adamw["grad_norm"][i] == pytest.approx(plain["grad_norm"], rel=1e-4), i
    assert not np.allclose(adamw["grad_norm"], sgd["grad_norm"], rtol=1e-3)
    grid = forward_metrics(weights, dataset, decoupled)  # the planes' forward-only metrics follow it too
    assert torch.equal(grid["train_loss"], grid["train_ce"]) and torch.equal(grid["val_loss"], grid["val_ce"])


def test_the_papers_configuration_measures_sgds_objective_and_the_tiny_one_adamws():
    paper = Objective.from_config(yaml.safe_load((REPO / "config.yaml").read_text()))
    assert paper.l2_in_loss and paper.l2_coefficient == paper.weight_decay == 0.001
    tiny = Objective.from_config(tiny_config())
    assert not tiny.l2_in_loss and tiny.l2_coefficient == 0.0 and tiny.weight_decay == 1.0
