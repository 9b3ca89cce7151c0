import math

import pytest
import torch
from conftest import paper_config
from reference import textbook_forward

from grokscape.numerics.model import (
    ModelShape,
    activations,
    forward,
    forward_by_token,
    forward_from_tables,
    init_params,
    squared_norm,
    token_tables,
)


def test_paper_model_has_about_2_2e5_parameters():
    assert 2.1e5 < ModelShape.from_config(paper_config()).n_params() < 2.3e5


def test_last_position_forward_equals_full_causal_transformer():
    shape = ModelShape(23, 32, 4, 64)
    params = init_params(shape, 3)
    a, b = torch.randint(0, 23, (50,)), torch.randint(1, 23, (50,))
    fast, full = forward(params, a, b, shape.n_heads), textbook_forward(params, a, b, shape.n_heads)
    assert fast.shape == (50, 23)
    torch.testing.assert_close(fast, full, rtol=1e-5, atol=1e-5)


def test_batched_weights_equal_one_forward_per_weight_set():
    shape = ModelShape(23, 32, 4, 64)
    sets = [init_params(shape, seed) for seed in range(3)]
    stacked = {k: torch.stack([s[k] for s in sets]) for k in sets[0]}
    a, b = torch.randint(0, 23, (40,)), torch.randint(1, 23, (40,))
    batched = forward(stacked, a, b, shape.n_heads)
    assert batched.shape == (3, 40, 23)
    for i, params in enumerate(sets):
        torch.testing.assert_close(batched[i], forward(params, a, b, shape.n_heads), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(squared_norm(stacked), torch.stack([squared_norm(s) for s in sets]))


def test_token_tables_give_the_per_example_logits_for_any_batch_of_weights():
    shape = ModelShape(23, 32, 4, 64)
    stacked = {k: torch.stack([init_params(shape, seed)[k] for seed in range(3)]) for k in shape.shapes()}
    a, b = torch.randint(0, 23, (60,)), torch.randint(1, 23, (60,))
    torch.testing.assert_close(forward_by_token(stacked, a, b, 4), forward(stacked, a, b, 4), rtol=1e-5, atol=1e-5)
    one = init_params(shape, 4)
    tables = token_tables(one, 4)
    for half in (slice(0, 30), slice(30, 60)):  # one set of tables serves every batch
        torch.testing.assert_close(
            forward_from_tables(one, tables, a[half], b[half]), forward(one, a[half], b[half], 4), rtol=1e-5, atol=1e-5
        )


def test_activations_are_the_forward_pass_step_by_step():
    """The final residual stream read out by the unembedding is forward's logits, for one or many weight sets."""
    shape = ModelShape(23, 32, 4, 64)
    stacked = {k: torch.stack([init_params(shape, seed)[k] for seed in range(2)]) for k in shape.shapes()}
    a, b = torch.randint(0, 23, (60,)), torch.randint(1, 23, (60,))
    tables = token_tables(stacked, 4)
    x = activations(stacked, tables, a, b)
    torch.testing.assert_close(x.final @ stacked["unembed"], forward(stacked, a, b, 4), rtol=1e-5, atol=1e-5)
    assert torch.equal(x.final @ stacked["unembed"], forward_from_tables(stacked, tables, a, b))
    assert x.hidden.shape == (2, 60, 64) and bool((x.hidden >= 0).all())
    torch.testing.assert_close(x.per_example("first"), stacked["embed"][:, a] + stacked["pos"][:, :1])
    torch.testing.assert_close(x.per_example("q"), x.last @ stacked["W_Q"])  # the last token's query
    torch.testing.assert_close(x.per_example("v0"), x.per_example("first") @ stacked["W_V"])


def test_initialisation_depends_on_seed_only():
    shape = ModelShape(23, 32, 4, 64)
    same, again, other = init_params(shape, 0), init_params(shape, 0), init_params(shape, 1)
    assert all(torch.equal(same[k], again[k]) for k in same)
    assert not torch.equal(same["W_in"], other["W_in"])
    assert {k: tuple(v.shape) for k, v in same.items()} == shape.shapes()


def test_nanda_initialisation_has_the_stated_scales_and_zero_biases():
    """Nanda et al.'s init: residual-stream matrices N(0, 1/d_model), the unembedding N(0, 1/p), biases 0."""
    shape = ModelShape(97, 128, 4, 512)
    params, again = init_params(shape, 0, "nanda"), init_params(shape, 0, "nanda")
    assert all(torch.equal(params[k], again[k]) for k in params)  # seeded
    assert {k: tuple(v.shape) for k, v in params.items()} == shape.shapes()
    assert not params["b_in"].any() and not params["b_out"].any()
    for name, value in params.items():
        if name not in ("b_in", "b_out", "pos"):  # pos has 256 entries: too few for a 10 % check
            expected = 1 / math.sqrt(shape.p if name == "unembed" else shape.d_model)
            assert value.std().item() == pytest.approx(expected, rel=0.1), name
    pytorch = init_params(shape, 0, "pytorch")
    assert all(torch.equal(pytorch[k], v) for k, v in init_params(shape, 0).items())  # the default scheme
    assert squared_norm(params).sqrt() < 0.5 * squared_norm(pytorch).sqrt()  # N(0, 1) embeddings dominate PyTorch's
    with pytest.raises(ValueError, match=r"train\.init"):
        init_params(shape, 0, "xavier")
