"""Weight and activation matching through the model's symmetries: function and norm kept, a scrambled copy
recovered, each activation step optimal."""

from __future__ import annotations

import re

import pytest
import torch
from conftest import paper

from grokscape.errors import ConfigError
from grokscape.numerics.alignment import (
    Symmetry,
    activation_blocks,
    activation_distance,
    align,
    align_activations,
    apply_symmetry,
    distance,
)
from grokscape.numerics.data import make_dataset
from grokscape.numerics.model import ModelShape, Params, forward, init_params, squared_norm
from grokscape.numerics.training import TrainSettings, train_seed
from grokscape.planning.endpoints import NAME_PATTERN, Endpoint
from grokscape.planning.points import Thresholds

SHAPE = ModelShape(23, 32, 4, 64)
DATASET = make_dataset("mul", 23, 0.7, 0)
TRAIN = DATASET.a[DATASET.train_index], DATASET.b[DATASET.train_index]  # activation matching's examples


def trained(seed: int, epochs: int = 30) -> Params:
    """Weights after a few epochs of AdamW on the tiny task: no longer the initialisation's statistics."""
    settings = paper(
        TrainSettings, optimizer="adamw", lr=0.01, weight_decay=1.0, batch_size=128, max_epochs=epochs, init="pytorch"
    )
    return train_seed(DATASET, SHAPE, settings, Thresholds(1.0, 1.0), seed, torch.device("cpu")).snapshots[epochs]


def weights(kind: str, seed: int) -> Params:
    return init_params(SHAPE, seed) if kind == "random" else trained(seed)


def logits(params: Params) -> torch.Tensor:
    """The logits on the whole operation table."""
    return forward(params, DATASET.a, DATASET.b, SHAPE.n_heads)


@pytest.mark.parametrize("kind", ["random", "trained"])
def test_aligned_network_computes_the_same_function_with_the_same_norm(kind):
    reference, moved = weights(kind, 0), weights(kind, 1)
    aligned, record = align(reference, moved, SHAPE)
    assert all(aligned[k].dtype == torch.float32 and aligned[k].shape == moved[k].shape for k in moved)
    torch.testing.assert_close(logits(aligned), logits(moved), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(squared_norm(aligned), squared_norm(moved), rtol=1e-6, atol=0)
    assert record.converged and record.distance_after < 0.8 * record.distance_before
    assert record.distance_after == pytest.approx(distance(reference, aligned), rel=1e-5)


@pytest.mark.parametrize("kind", ["random", "trained"])
def test_aligning_a_scrambled_copy_recovers_the_original(kind):
    original = weights(kind, 0)
    symmetry = Symmetry.random(SHAPE, torch.Generator().manual_seed(7))
    scrambled = {k: v.float() for k, v in apply_symmetry(original, symmetry, SHAPE.n_heads).items()}
    torch.testing.assert_close(logits(scrambled), logits(original), rtol=1e-5, atol=1e-5)
    assert distance(original, scrambled) > 0.5 * squared_norm(original).sqrt()  # scrambled: far apart
    recovered, record = align(original, scrambled, SHAPE)
    assert record.converged
    assert record.distance_after < 1e-6 * squared_norm(original).sqrt()
    for name in original:
        torch.testing.assert_close(recovered[name], original[name], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", ["random", "trained"])
def test_distance_never_increases_over_the_sweeps(kind):
    _, record = align(weights(kind, 0), weights(kind, 2), SHAPE, max_iterations=30, tolerance=0)
    steps = torch.tensor(record.distances, dtype=torch.float64).diff()
    assert record.iterations >= 10 and len(record.distances) == record.iterations + 1  # tolerance 0: sweeps go on
    assert bool((steps <= 1e-12 * record.distance_before).all()), steps  # float64 rounding at most


def test_each_symmetry_alone_keeps_the_function():
    params, full = init_params(SHAPE, 3), Symmetry.random(SHAPE, torch.Generator().manual_seed(1))
    identity = Symmetry.identity(SHAPE)
    for part in ("rotation", "mlp", "heads", "qk", "vo"):
        one = Symmetry(**{name: getattr(full if name == part else identity, name) for name in vars(identity)})
        changed = {k: v.float() for k, v in apply_symmetry(params, one, SHAPE.n_heads).items()}
        assert distance(params, changed) > 1.0, part  # it does change the weights
        torch.testing.assert_close(logits(changed), logits(params), rtol=1e-5, atol=1e-5, msg=part)


def test_aligned_checkpoint_names_read_naturally_and_round_trip():
    name = Endpoint.parse("seed1-grok@seed0-grok")
    assert (name.seed, name.point, name.aligned_to) == (1, "grok", Endpoint(0, "grok"))
    assert str(name) == "seed1-grok@seed0-grok" and name.unaligned == Endpoint(1, "grok")
    assert re.fullmatch(NAME_PATTERN, "seed1-e300@seed0-mem") and not re.fullmatch(NAME_PATTERN, "seed1-grok@")
    for bad in ("seed1-grok@seed0-grok@seed2-grok", "seed1-grok@seed0", "seed1@seed0-grok"):
        with pytest.raises(ValueError, match="aligned to another as <name>@<name>"):
            Endpoint.parse(bad)
    with pytest.raises(ConfigError, match="checkpoint seed0-e75: epoch 75 is not a snapshot"):
        Endpoint.parse("seed1-grok@seed0-e75").check_snapshot(50, 3000)  # the reference is checked too


@pytest.mark.parametrize("kind", ["random", "trained"])
def test_activation_matched_network_computes_the_same_function_with_the_same_norm(kind):
    reference, moved = weights(kind, 0), weights(kind, 1)
    aligned, record = align_activations(reference, moved, SHAPE, TRAIN)
    assert all(aligned[k].dtype == torch.float32 and aligned[k].shape == moved[k].shape for k in moved)
    torch.testing.assert_close(logits(aligned), logits(moved), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(squared_norm(aligned), squared_norm(moved), rtol=1e-6, atol=0)
    assert record.method == "activations" and record.converged and record.iterations == 1
    assert record.distance_after == pytest.approx(distance(reference, aligned), rel=1e-5)
    assert record.distance_after < 0.8 * record.distance_before  # closer in weights too, though not its aim
    before, after = record.activation_distances
    assert after < 0.8 * before
    assert after == pytest.approx(blocks_distance(reference, aligned), rel=1e-5)


def blocks(params: Params) -> dict[str, torch.Tensor]:
    return activation_blocks({k: v.double() for k, v in params.items()}, SHAPE, TRAIN)


def blocks_distance(a: Params, b: Params) -> float:
    return activation_distance(blocks(a), blocks(b))


def turned(x: dict[str, torch.Tensor], symmetry: Symmetry) -> dict[str, torch.Tensor]:
    """Activation blocks turned by a symmetry, each by its own part alone (what the docstring claims)."""
    return {
        "residual": x["residual"] @ symmetry.rotation,
        "mlp": x["mlp"][:, symmetry.mlp],
        "qk": x["qk"][symmetry.heads] @ symmetry.qk,
        "vo": x["vo"][symmetry.heads] @ symmetry.vo,
    }


def test_each_block_of_activations_changes_under_its_own_symmetry_only():
    """Why one pass is exact: the activation distance is a sum of independent per-block terms."""
    params = trained(0)
    symmetry = Symmetry.random(SHAPE, torch.Generator().manual_seed(3))
    moved = blocks(apply_symmetry(params, symmetry, SHAPE.n_heads))
    for name, expected in turned(blocks(params), symmetry).items():
        torch.testing.assert_close(moved[name], expected, rtol=1e-9, atol=1e-9, msg=name)
    assert not torch.allclose(moved["residual"], blocks(params)["residual"])


@pytest.mark.parametrize("kind", ["random", "trained"])
def test_activation_matching_recovers_a_scrambled_copy(kind):
    original = weights(kind, 0)
    symmetry = Symmetry.random(SHAPE, torch.Generator().manual_seed(7))
    scrambled = {k: v.float() for k, v in apply_symmetry(original, symmetry, SHAPE.n_heads).items()}
    recovered, record = align_activations(original, scrambled, SHAPE, TRAIN)
    assert record.distance_before > 0.5 * squared_norm(original).sqrt()
    assert record.distance_after < 1e-6 * squared_norm(original).sqrt()
    assert record.activation_distances[1] < 1e-6 * record.activation_distances[0]
    for name in original:
        torch.testing.assert_close(recovered[name], original[name], rtol=1e-5, atol=1e-5)


def test_units_no_example_switches_on_are_matched_by_their_weights():
    """Their activations are all zero, so activation matching alone leaves their order free."""
    original = init_params(SHAPE, 0)
    original["b_in"][:5] = -100.0  # five units off on every example (and a few that are so at random)
    assert not blocks(original)["mlp"][:, :5].any()
    scrambled = apply_symmetry(original, Symmetry.random(SHAPE, torch.Generator().manual_seed(2)), SHAPE.n_heads)
    recovered, record = align_activations(original, scrambled, SHAPE, TRAIN)
    assert record.inactive_units >= 5
    torch.testing.assert_close(recovered["W_in"], original["W_in"].double(), rtol=1e-6, atol=1e-6)


def nearby(generator: torch.Generator, scale: float) -> Symmetry:
    """A symmetry close to the identity: two MLP units and two heads swapped, small rotations."""

    def small(*size: int) -> torch.Tensor:
        x = torch.randn(*size, size[-1], generator=generator, dtype=torch.float64) * scale
        return torch.linalg.matrix_exp(x - x.transpose(-1, -2))

    def swapped(n: int) -> torch.Tensor:
        order, (i, j) = torch.arange(n), torch.randperm(n, generator=generator)[:2].tolist()
        order[[i, j]] = order[[j, i]]
        return order

    n, d = SHAPE.n_heads, SHAPE.d_head
    return Symmetry(small(SHAPE.d_model), swapped(SHAPE.d_mlp), swapped(n), small(n, d), small(n, d))


def test_each_activation_step_is_optimal_on_trained_networks():
    """No other element of each block's group, near or far, brings the activations closer."""
    reference, moved = trained(0), trained(1)
    aligned, record = align_activations(reference, moved, SHAPE, TRAIN)
    a, b = blocks(reference), blocks(aligned)
    assert record.activation_distances[1] < record.activation_distances[0]  # better than the identity
    best = {name: (a[name] - b[name]).norm() for name in a}
    generator = torch.Generator().manual_seed(0)
    candidates = [Symmetry.random(SHAPE, generator) for _ in range(10)]
    candidates += [nearby(generator, scale) for scale in (1e-3, 1e-2) for _ in range(10)]
    for other in candidates:
        for name, x in turned(b, other).items():
            assert (a[name] - x).norm() >= best[name] * (1 - 1e-12), name
