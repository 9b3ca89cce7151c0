"""Top Hessian eigenvalue and trace, checked against a dense Hessian on a model small enough to build one."""

import numpy as np
import pytest
import torch
from conftest import paper

from grokscape.numerics.curves import coefficients, initial_controls, weights_at
from grokscape.numerics.data import make_dataset
from grokscape.numerics.landscape import Objective
from grokscape.numerics.model import ModelShape, init_params
from grokscape.numerics.sharpness import (
    SharpnessSettings,
    along_curves,
    hessian_product,
    hutchinson_trace,
    lanczos_top,
    objective_value,
    sharpness,
)

SHAPE = ModelShape(p=7, d_model=8, n_heads=2, d_mlp=16)  # 664 weights: a dense Hessian is cheap
OBJECTIVE = Objective(n_heads=2, weight_decay=0.01, batch_size=10, l2_in_loss=True)
EXACT = paper(SharpnessSettings, max_iterations=400, tolerance=1e-8, trace_samples=2000)


@pytest.fixture(scope="module")
def setting():
    """Three float64 points on the segment between two initialisations, and each point's dense Hessian."""
    dataset = make_dataset("mul", 7, 0.6, 0)
    start, end = ({k: v.double() for k, v in init_params(SHAPE, s).items()} for s in (0, 1))
    weights = weights_at(coefficients("segment", torch.tensor([0.0, 0.4, 1.0]), 2), initial_controls(start, end, 2))
    return dataset, weights, [_dense_hessian({k: v[i] for k, v in weights.items()}, dataset) for i in range(3)]


def _dense_hessian(point, dataset) -> np.ndarray:
    names, shapes = list(point), [v.shape for v in point.values()]
    sizes = [v.numel() for v in point.values()]

    def f(flat):
        parts = {n: p.view(1, *s) for n, p, s in zip(names, flat.split(sizes), shapes, strict=True)}
        return objective_value(parts, dataset, OBJECTIVE)[0]

    flat = torch.cat([v.reshape(-1) for v in point.values()])
    return torch.autograd.functional.hessian(f, flat).numpy()


def test_top_eigenvalue_and_trace_match_the_dense_hessian(setting):
    dataset, weights, dense = setting
    found = sharpness(weights, dataset, OBJECTIVE, EXACT)
    for i, hessian in enumerate(dense):
        assert np.allclose(hessian, hessian.T, atol=1e-10)
        eigenvalues = np.linalg.eigvalsh(hessian)
        assert found["eigenvalue_converged"][i] and found["lanczos_iterations"][i] < 400
        assert found["top_eigenvalue"][i] == pytest.approx(eigenvalues[-1], rel=1e-6)
        assert found["eigenvalue_residual"][i] <= 1e-8 * abs(eigenvalues[-1])
        # Hutchinson is unbiased: the exact trace lies within a few standard errors of the estimate
        trace, stderr = found["hessian_trace"][i], found["hessian_trace_stderr"][i]
        assert 0 < stderr < 0.1 * abs(np.trace(hessian))
        assert abs(trace - np.trace(hessian)) <= 4 * stderr


def test_hutchinson_averages_exactly_the_quadratic_forms_of_its_probes(setting):
    dataset, weights, dense = setting
    settings = paper(SharpnessSettings, trace_samples=5, seed=3)
    product = hessian_product(weights, dataset, OBJECTIVE)
    like = torch.zeros(3, dense[0].shape[0], dtype=torch.float64)
    found = hutchinson_trace(product, like, settings)
    generator = torch.Generator().manual_seed(3)
    probes = [(torch.randint(0, 2, (like.shape[1],), generator=generator) * 2 - 1).double().numpy() for _ in range(5)]
    for i, hessian in enumerate(dense):
        forms = [v @ hessian @ v for v in probes]
        assert set(np.unique(probes)) == {-1.0, 1.0}
        assert found["hessian_trace"][i] == pytest.approx(np.mean(forms), rel=1e-9)
        assert found["hessian_trace_stderr"][i] == pytest.approx(np.std(forms, ddof=1) / np.sqrt(5), rel=1e-9)


def test_hessian_products_of_a_batch_equal_each_point_alone(setting):
    dataset, weights, dense = setting
    v = torch.randn(3, dense[0].shape[0], dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    batched = hessian_product(weights, dataset, OBJECTIVE)(v)
    for i, hessian in enumerate(dense):
        assert np.allclose(batched[i].numpy(), hessian @ v[i].numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("t_chunk", [1, 2])
def test_batching_over_t_gives_what_one_point_at_a_time_gives(setting, t_chunk):
    dataset, weights, _ = setting
    settings = paper(SharpnessSettings, max_iterations=40, tolerance=1e-6, trace_samples=4)
    together = sharpness(weights, dataset, OBJECTIVE, settings, t_chunk=3)
    chunked = sharpness(weights, dataset, OBJECTIVE, settings, t_chunk=t_chunk)
    alone = [sharpness({k: v[i : i + 1] for k, v in weights.items()}, dataset, OBJECTIVE, settings) for i in range(3)]
    for name, values in together.items():
        assert np.allclose(values, chunked[name], rtol=1e-9), name
        assert np.allclose(values, np.concatenate([a[name] for a in alone]), rtol=1e-9), name


def test_an_iteration_cap_below_convergence_is_reported_as_unconverged(setting):
    dataset, weights, dense = setting
    capped = sharpness(weights, dataset, OBJECTIVE, paper(SharpnessSettings, max_iterations=1, trace_samples=2))
    assert not capped["eigenvalue_converged"].any() and (capped["lanczos_iterations"] == 1).all()
    exact = [np.linalg.eigvalsh(h)[-1] for h in dense]
    # one step gives the Rayleigh quotient of the start vector: a lower bound, and its residual bound is honest
    assert np.all(capped["top_eigenvalue"] <= np.asarray(exact) + 1e-9)
    assert np.all(capped["eigenvalue_residual"] > 1e-3 * np.abs(capped["top_eigenvalue"]))


def test_lanczos_finds_a_known_spectrum_and_stops_when_converged():
    diagonal = torch.linspace(-3.0, 5.0, 200, dtype=torch.float64).repeat(2, 1)
    diagonal[1] *= 2  # two points with different spectra, in one batch
    start = torch.ones(2, 200, dtype=torch.float64)
    found = lanczos_top(lambda v: diagonal * v, start, paper(SharpnessSettings, max_iterations=200, tolerance=1e-10))
    assert found["top_eigenvalue"] == pytest.approx([5.0, 10.0], rel=1e-9)
    assert found["eigenvalue_converged"].all() and (found["lanczos_iterations"] < 200).all()


def test_curves_measured_together_give_what_each_curve_gives_alone(setting):
    dataset, _, _ = setting
    settings = paper(SharpnessSettings, max_iterations=40, tolerance=1e-6, trace_samples=4)
    curves = [
        initial_controls(*({k: v.double() for k, v in init_params(SHAPE, s).items()} for s in pair), 3)
        for pair in ((0, 1), (2, 3))
    ]
    together = along_curves("polyline", curves, 3, dataset, OBJECTIVE, settings, t_chunk=4)
    for curve, measured in zip(curves, together, strict=True):
        (alone,) = along_curves("polyline", [curve], 3, dataset, OBJECTIVE, settings, t_chunk=1)
        assert measured.keys() == alone.keys()
        for name, values in alone.items():
            assert np.allclose(measured[name], values, rtol=1e-9), name
    assert not np.allclose(together[0]["top_eigenvalue"], together[1]["top_eigenvalue"])


def test_without_the_l2_term_the_hessian_loses_exactly_weight_decay_times_the_identity(setting):
    """AdamW's objective is the cross-entropy alone: its Hessian is SGD's minus decay·I, so the top eigenvalue
    is lower by the decay and the trace by decay × the number of weights (same start vector and probes)."""
    dataset, weights, _ = setting
    decoupled = Objective(n_heads=2, weight_decay=0.01, batch_size=10, l2_in_loss=False)
    settings = SharpnessSettings(max_iterations=400, tolerance=1e-10, trace_samples=3, seed=0)
    coupled, alone = (sharpness(weights, dataset, o, settings) for o in (OBJECTIVE, decoupled))
    assert coupled["eigenvalue_converged"].all() and alone["eigenvalue_converged"].all()
    np.testing.assert_allclose(coupled["top_eigenvalue"] - alone["top_eigenvalue"], 0.01, rtol=1e-4)
    np.testing.assert_allclose(coupled["hessian_trace"] - alone["hessian_trace"], 0.01 * SHAPE.n_params(), rtol=1e-6)
