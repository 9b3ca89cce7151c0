"""Weight matching through the model's symmetries: function and norm kept, a scrambled copy recovered."""

from __future__ import annotations

import re

import pytest
import torch

from grokscape.alignment import Symmetry, align, apply_symmetry, distance
from grokscape.data import make_dataset
from grokscape.endpoints import NAME_PATTERN, Endpoint
from grokscape.errors import ConfigError
from grokscape.model import ModelShape, Params, forward, init_params, squared_norm
from grokscape.points import Thresholds
from grokscape.training import TrainSettings, train_seed

SHAPE = ModelShape(23, 32, 4, 64)
DATASET = make_dataset("mul", 23, 0.7, 0)


def trained(seed: int, epochs: int = 30) -> Params:
    """Weights after a few epochs of AdamW on the tiny task: no longer the initialisation's statistics."""
    settings = TrainSettings("adamw", lr=0.01, weight_decay=1.0, batch_size=128, max_epochs=epochs)
    return train_seed(DATASET, SHAPE, settings, Thresholds(), seed, torch.device("cpu")).snapshots[epochs]


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
