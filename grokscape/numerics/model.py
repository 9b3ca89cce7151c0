"""One-layer decoder-only transformer without LayerNorm, as explicit weight tensors.

Inputs are the two tokens `a, b`; the prediction is read at the last position. With one
layer, nothing reads the first position's MLP or unembedding, so only the last position's
residual stream is computed: the output equals the full causal model's last-position logits
(`tests/test_model.py` checks this against a textbook implementation).

Parameters are a plain ``dict[str, Tensor]``. Any parameter may carry extra leading
dimensions (one set of weights per point of a path, or per seed): the forward pass then
evaluates all of them at once and returns logits of shape ``(*lead, N, p)``.

Two forward passes give the same logits up to float32 rounding: `forward` projects each
example's tokens (the training step, whose trajectory reproduces bit for bit), and
`forward_from_tables` gathers per-token tables (`token_tables`), a third fewer FLOPs, for
everything that only reads the weights or fits a curve. The latter goes through `activations`,
which returns every intermediate of the pass (residual streams, queries, keys, values, the MLP's
hidden units) for whoever compares networks by what they compute (`alignment.py`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

import torch

Params = dict[str, torch.Tensor]


@dataclass(frozen=True)
class ModelShape:
    p: int
    d_model: int
    n_heads: int
    d_mlp: int

    @classmethod
    def from_config(cls, settings: Mapping) -> ModelShape:
        """From the checked configuration (or a rule's settings): `task.p` and the `model` section."""
        model = settings["model"]
        return cls(settings["task"]["p"], model["d_model"], model["n_heads"], model["d_mlp"])

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Every parameter's shape; the order is the order of the flat weight vector."""
        d, h, m, p = self.d_model, self.n_heads * self.d_head, self.d_mlp, self.p
        return {
            "embed": (p, d),
            "pos": (2, d),
            "W_Q": (d, h),
            "W_K": (d, h),
            "W_V": (d, h),
            "W_O": (h, d),
            "W_in": (d, m),
            "b_in": (m,),
            "W_out": (m, d),
            "b_out": (d,),
            "unembed": (d, p),
        }

    def n_params(self) -> int:
        return sum(math.prod(s) for s in self.shapes().values())


INITS = ("pytorch", "nanda")


def init_params(shape: ModelShape, seed: int, scheme: str = "pytorch") -> Params:
    """The initial weights under `scheme` (`train.init`); they depend on `seed` only.

    `pytorch`: PyTorch's layer defaults (as nn.Embedding / nn.Linear would): embeddings N(0, 1), weights
    and biases U(±1/√fan_in). With it, the paper's settings memorise near epoch 300 and grok near 2,400.
    `nanda`: the explicit initialisation of the one-layer transformer of Nanda et al.'s "progress measures"
    work, which Omnigrok and the paper build on: every matrix reading or writing the residual stream
    (embeddings, positions, queries, keys, values, the attention output, both MLP layers) normal with
    variance 1/d_model, the unembedding with variance 1/p, the biases zero. Its ‖w‖ is about a third of
    PyTorch's at the paper's size (the N(0, 1) embedding dominates the latter). Drawn on the CPU from a CPU
    generator, so a seed starts from the same weights on every device; the caller moves them to its own.
    """
    if scheme == "pytorch":
        return _pytorch_init(shape, torch.Generator(device="cpu").manual_seed(seed))
    if scheme == "nanda":
        return _nanda_init(shape, torch.Generator(device="cpu").manual_seed(seed))
    raise ValueError(f"train.init must be one of {', '.join(INITS)}, got {scheme!r}")


def _pytorch_init(shape: ModelShape, generator: torch.Generator) -> Params:
    fan_in = {
        "W_Q": shape.d_model,
        "W_K": shape.d_model,
        "W_V": shape.d_model,
        "W_O": shape.d_model,
        "W_in": shape.d_model,
        "b_in": shape.d_model,
        "W_out": shape.d_mlp,
        "b_out": shape.d_mlp,
        "unembed": shape.d_model,
    }
    params = {}
    for name, size in shape.shapes().items():
        if name in ("embed", "pos"):
            params[name] = torch.randn(size, generator=generator, device="cpu")
        else:
            bound = 1 / math.sqrt(fan_in[name])
            params[name] = (torch.rand(size, generator=generator, device="cpu") * 2 - 1) * bound
    return params


def _nanda_init(shape: ModelShape, generator: torch.Generator) -> Params:
    params = {}
    for name, size in shape.shapes().items():
        if name in ("b_in", "b_out"):
            params[name] = torch.zeros(size, device="cpu")
        else:
            width = shape.p if name == "unembed" else shape.d_model
            params[name] = torch.randn(size, generator=generator, device="cpu") / math.sqrt(width)
    return params


def _linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """x @ W (+ b), fused into one BLAS call where the shapes allow it."""
    if bias is None:
        return x @ weight
    if x.dim() == 2:
        return torch.addmm(bias, x, weight)
    if x.dim() == 3 and weight.dim() == 3:
        return torch.baddbmm(bias.unsqueeze(-2), x, weight)
    return x @ weight + bias.unsqueeze(-2)


def embed_tokens(embed: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """Rows of `embed` (*lead, p, d) for `tokens`: (N,) shared by every leading index, or
    (*lead, N), one row of tokens per model (stacked seeds each drawing their own minibatch)."""
    if tokens.dim() == 1:
        return embed.index_select(-2, tokens)
    return embed.gather(-2, tokens.unsqueeze(-1).expand(*tokens.shape, embed.shape[-1]))


def forward(params: Params, a: torch.Tensor, b: torch.Tensor, n_heads: int) -> torch.Tensor:
    """Logits at the last position for token pairs (a, b): shape (*lead, N, p). The tokens are (N,),
    or (*lead, N) when each model of the leading dimensions reads its own examples."""
    embed, pos = params["embed"], params["pos"]
    x0 = embed_tokens(embed, a) + pos[..., 0:1, :]  # (*lead, N, d) first position
    x1 = embed_tokens(embed, b) + pos[..., 1:2, :]  # (*lead, N, d) last position
    d_attn = params["W_Q"].shape[-1]
    d_head = d_attn // n_heads
    w_qkv, w_kv = _projections(params)
    q, k1, v1 = _linear(x1, w_qkv).split(d_attn, dim=-1)
    k0, v0 = _linear(x0, w_kv).split(d_attn, dim=-1)
    # Causal attention from the last position: two keys, so softmax is a sigmoid of the score gap.
    gap = ((q * (k1 - k0)).unflatten(-1, (n_heads, d_head))).sum(-1) / math.sqrt(d_head)
    weight_last = torch.sigmoid(gap).unsqueeze(-1)  # (*lead, N, heads, 1)
    v0 = v0.unflatten(-1, (n_heads, d_head))
    z = torch.addcmul(v0, weight_last, v1.unflatten(-1, (n_heads, d_head)) - v0).flatten(-2)
    return _linear(_after_attention(params, x1, z).final, params["unembed"])


class TokenTables(NamedTuple):
    """What the attention needs, tabulated per vocabulary token (see `token_tables`); heads are
    blocks of d_head columns of the h = heads·d_head columns."""

    last: torch.Tensor  # (*lead, p, d): each token's residual stream at the last position
    gap: torch.Tensor  # (*lead, heads, p·p): score gap q(b)·(k1(b) − k0(a))/√d_head at b·p + a
    v0: torch.Tensor  # (*lead, p, h): values at the first position
    v1: torch.Tensor  # (*lead, p, h): values at the last position
    first: torch.Tensor  # (*lead, p, d): each token's residual stream at the first position
    q: torch.Tensor  # (*lead, p, h): queries at the last position (the only one whose query is read)
    k0: torch.Tensor  # (*lead, p, h): keys at the first position
    k1: torch.Tensor  # (*lead, p, h): keys at the last position

    FIRST_POSITION = ("first", "k0", "v0")  # tables of the first token a; the others are of b


def token_tables(params: Params, n_heads: int) -> TokenTables:
    """Queries, keys and values depend on one token each, the score gap on the pair: tabulate them once.

    This removes the per-example Q/K/V projections (a third of the FLOPs) when a batch holds
    many more than p examples, and one set of tables serves every batch drawn with these weights.
    """
    embed, pos = params["embed"], params["pos"]
    d_attn = params["W_Q"].shape[-1]
    d_head = d_attn // n_heads
    first = embed + pos[..., 0:1, :]  # (*lead, p, d): the residual stream of each token at position 0
    last = embed + pos[..., 1:2, :]  # ... and at position 1
    w_qkv, w_kv = _projections(params)
    k0, v0 = _linear(first, w_kv).split(d_attn, dim=-1)
    q, k1, v1 = _linear(last, w_qkv).split(d_attn, dim=-1)

    def by_head(x: torch.Tensor) -> torch.Tensor:  # (*lead, p, h) -> (*lead, heads, p, d_head)
        return x.unflatten(-1, (n_heads, d_head)).transpose(-3, -2)

    scaled = by_head(q) / math.sqrt(d_head)
    own = (scaled * by_head(k1)).sum(-1, keepdim=True)  # (*lead, heads, p, 1): q(b)·k1(b)
    cross = scaled @ by_head(k0).transpose(-1, -2)  # (*lead, heads, p, p): q(b)·k0(a)
    # q, k0, k1 share storage with v0, v1 (views of the same products): keeping them costs nothing
    return TokenTables(last, (own - cross).flatten(-2), v0, v1, first, q, k0, k1)


class Activations(NamedTuple):
    """Every intermediate of the forward pass for the examples (a, b), from `activations`.

    The residual stream at the last position and the MLP are per example, (*lead, N, ·); the
    first position's residual stream, the queries, keys and values depend on one token each and
    stay in `tables` (`per_example` reads them for each example)."""

    tables: TokenTables
    a: torch.Tensor  # (N,) first tokens
    b: torch.Tensor  # (N,) last tokens
    last: torch.Tensor  # residual stream at the last position before attention (embedding + position)
    attended: torch.Tensor  # ... after adding the attention's output
    hidden: torch.Tensor  # (*lead, N, d_mlp): the MLP's hidden units after the ReLU
    final: torch.Tensor  # ... after adding the MLP's output: logits = final @ unembed

    def per_example(self, table: str) -> torch.Tensor:
        """Table `table` of `tables` (e.g. "q", "k0", "first") at each example's token: (*lead, N, ·)."""
        tokens = self.a if table in TokenTables.FIRST_POSITION else self.b
        return getattr(self.tables, table).index_select(-2, tokens)


def activations(params: Params, tables: TokenTables, a: torch.Tensor, b: torch.Tensor) -> Activations:
    """The forward pass of examples (a, b) from token tables, kept step by step (see `Activations`)."""
    p, n_heads = tables.last.shape[-2], tables.gap.shape[-2]
    weight_last = torch.sigmoid(tables.gap.index_select(-1, b * p + a)).transpose(-1, -2).unsqueeze(-1)
    v0 = tables.v0.index_select(-2, a).unflatten(-1, (n_heads, -1))  # (*lead, N, heads, d_head)
    v1 = tables.v1.index_select(-2, b).unflatten(-1, (n_heads, -1))
    z = torch.addcmul(v0, weight_last, v1 - v0).flatten(-2)
    last = tables.last.index_select(-2, b)
    return Activations(tables, a, b, last, *_after_attention(params, last, z))


def forward_from_tables(params: Params, tables: TokenTables, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """`forward` from precomputed token tables: the same logits up to float32 rounding.

    The sums run in another order than in `forward`, so training, whose trajectory must
    reproduce bit for bit, uses `forward`; evaluation (which never changes the weights) and
    curve fitting use the tables.
    """
    return _linear(activations(params, tables, a, b).final, params["unembed"])


def forward_by_token(params: Params, a: torch.Tensor, b: torch.Tensor, n_heads: int) -> torch.Tensor:
    """`forward` through token tables built for this one call."""
    return forward_from_tables(params, token_tables(params, n_heads), a, b)


def _projections(params: Params) -> tuple[torch.Tensor, torch.Tensor]:
    """[W_Q | W_K | W_V] for the last position and [W_K | W_V] for the first: one product each."""
    w_kv = torch.cat([params["W_K"], params["W_V"]], dim=-1)
    return torch.cat([params["W_Q"], w_kv], dim=-1), w_kv


class _Residual(NamedTuple):
    attended: torch.Tensor
    hidden: torch.Tensor
    final: torch.Tensor


def _after_attention(params: Params, x1: torch.Tensor, z: torch.Tensor) -> _Residual:
    """From the last position's residual stream x1 and attention mix z (*lead, N, h) to the residual
    stream after attention, the MLP's hidden units and the final residual stream."""
    attended = x1 + _linear(z, params["W_O"])
    hidden = _linear(attended, params["W_in"], params["b_in"]).relu_()  # in place: nothing reads the pre-activation
    return _Residual(attended, hidden, attended + _linear(hidden, params["W_out"], params["b_out"]))


def lead_shape(params: Params) -> torch.Size:
    """The leading (batch-of-models) dimensions shared by all parameters."""
    return params["b_in"].shape[:-1]


def squared_norm(params: Params) -> torch.Tensor:
    """‖w‖² summed over all parameters, per leading index: shape (*lead,)."""
    n_lead = len(lead_shape(params))
    return sum(value.pow(2).flatten(n_lead).sum(-1) for value in params.values())
