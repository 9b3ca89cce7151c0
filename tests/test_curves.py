import pytest
import torch

from grokscape.numerics.curves import chain_coefficients, coefficients, initial_controls, weights_at
from grokscape.numerics.model import ModelShape, init_params

SHAPE = ModelShape(13, 16, 2, 32)


@pytest.fixture
def ends():
    return init_params(SHAPE, 0), init_params(SHAPE, 1)


@pytest.mark.parametrize(("kind", "n_controls"), [("segment", 2), ("polyline", 3), ("polyline", 5), ("bezier", 3)])
def test_curves_start_and_end_exactly_at_the_endpoints(ends, kind, n_controls):
    start, end = ends
    controls = initial_controls(start, end, n_controls)
    controls = {
        k: v + torch.randn_like(v) * (torch.arange(n_controls) % (n_controls - 1) != 0).view(-1, *[1] * (v.dim() - 1))
        for k, v in controls.items()
    }  # move the interior points off the segment
    phi = weights_at(coefficients(kind, torch.tensor([0.0, 1.0], dtype=torch.float64), n_controls), controls)
    for name in start:
        assert torch.equal(phi[name][0], start[name])
        assert torch.equal(phi[name][1], end[name])


def test_coefficients_sum_to_one_and_segment_is_linear():
    t = torch.linspace(0, 1, 21, dtype=torch.float64)
    for kind, k in [("segment", 2), ("polyline", 3), ("bezier", 4)]:
        torch.testing.assert_close(coefficients(kind, t, k).sum(-1), torch.ones(21, dtype=torch.float64))
    torch.testing.assert_close(coefficients("segment", t, 2), torch.stack([1 - t, t], -1))


def test_polyline_passes_through_the_bend_at_half_and_matches_the_paper_formula(ends):
    start, end = ends
    theta = {k: torch.randn_like(v) for k, v in start.items()}
    controls = {k: torch.stack([start[k], theta[k], end[k]]) for k in start}
    t = torch.tensor([0.2, 0.5, 0.8], dtype=torch.float64)
    phi = weights_at(coefficients("polyline", t, 3), controls)
    for k in start:
        torch.testing.assert_close(phi[k][1], theta[k])
        torch.testing.assert_close(phi[k][0], 2 * (0.2 * theta[k] + (0.5 - 0.2) * start[k]))
        torch.testing.assert_close(phi[k][2], 2 * ((0.8 - 0.5) * end[k] + (1 - 0.8) * theta[k]))


@pytest.mark.parametrize(("kind", "t"), [("polyline", 0.3), ("polyline", 0.7), ("bezier", 0.4)])
def test_gradient_with_respect_to_the_bend_is_its_coefficient_times_the_weight_gradient(ends, kind, t):
    """Chain rule: dL/dθ = c_θ(t) · ∇L(φ(t))."""
    start, end = ends
    theta = {k: torch.randn_like(v).requires_grad_() for k, v in start.items()}
    coeffs = coefficients(kind, torch.tensor([t], dtype=torch.float64), 3)
    phi = {
        k: v[0] for k, v in weights_at(coeffs, {k: torch.stack([start[k], theta[k], end[k]]) for k in start}).items()
    }
    loss = sum((w.sin() * 1.7).sum() for w in phi.values())
    loss.backward()
    for k in start:
        expected = float(coeffs[0, 1]) * (phi[k].detach().cos() * 1.7)
        torch.testing.assert_close(theta[k].grad, expected, rtol=1e-5, atol=1e-6)


def test_chain_coefficients_run_each_segment_between_neighbouring_nodes():
    rows = chain_coefficients(3, 5).view(3, 5, 4)
    torch.testing.assert_close(rows.sum(-1), torch.ones(3, 5, dtype=torch.float64))
    for s in range(3):
        assert rows[s, 0, s] == 1 and rows[s, -1, s + 1] == 1
        assert torch.all(rows[s][:, [i for i in range(4) if i not in (s, s + 1)]] == 0)
