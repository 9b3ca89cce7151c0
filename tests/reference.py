"""Plain, unoptimised implementations kept as ground truth for tests and benchmarks.

`textbook_forward` runs the full causal transformer over both positions with explicit
per-head attention; `point_metrics` evaluates one weight vector the naive way (full passes
over train and validation, then one backward pass per minibatch). The fast code in
`model` and `landscape` must agree with these.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from grokscape.numerics.data import Dataset
from grokscape.numerics.landscape import Objective
from grokscape.numerics.model import Params, forward, squared_norm


def textbook_forward(params: Params, a: torch.Tensor, b: torch.Tensor, n_heads: int) -> torch.Tensor:
    """Logits at the last position, computed for the whole two-token sequence."""
    tokens = torch.stack([a, b], dim=1)  # (N, 2)
    x = params["embed"][tokens] + params["pos"]  # (N, 2, d)
    d_head = params["W_Q"].shape[1] // n_heads
    heads = []
    for h in range(n_heads):
        cols = slice(h * d_head, (h + 1) * d_head)
        q, k, v = (x @ params[w][:, cols] for w in ("W_Q", "W_K", "W_V"))  # (N, 2, d_head)
        scores = q @ k.transpose(1, 2) / math.sqrt(d_head)  # (N, 2, 2)
        causal = torch.triu(torch.ones(2, 2, dtype=torch.bool), diagonal=1)
        heads.append(torch.softmax(scores.masked_fill(causal, float("-inf")), dim=-1) @ v)
    x = x + torch.cat(heads, dim=-1) @ params["W_O"]
    x = x + torch.relu(x @ params["W_in"] + params["b_in"]) @ params["W_out"] + params["b_out"]
    return (x @ params["unembed"])[:, -1]


Forward = Callable[[Params, torch.Tensor, torch.Tensor, int], torch.Tensor]


def point_metrics(params: Params, dataset: Dataset, objective: Objective, model: Forward = forward) -> dict[str, float]:
    """All path metrics at one weight vector, computed the straightforward way by `model`."""
    l2 = objective.weight_decay / 2 * squared_norm(params).item()
    out = {"l2": l2}
    with torch.no_grad():
        for split, index in (("train", dataset.train_index), ("val", dataset.val_index)):
            a, b, c = dataset.subset(index)
            logits = model(params, a, b, objective.n_heads)
            out[f"{split}_ce"] = F.cross_entropy(logits, c).item()
            out[f"{split}_loss"] = out[f"{split}_ce"] + (l2 if objective.l2_in_loss else 0.0)
            out[f"{split}_error"] = 1 - (logits.argmax(-1) == c).float().mean().item()
    norms = []
    for batch in dataset.train_index.split(objective.batch_size):
        weights = {k: v.detach().clone().requires_grad_() for k, v in params.items()}
        a, b, c = dataset.subset(batch)
        penalty = objective.l2_coefficient / 2 * squared_norm(weights)
        loss = F.cross_entropy(model(weights, a, b, objective.n_heads), c) + penalty
        grads = torch.autograd.grad(loss, list(weights.values()))
        norms.append(torch.sqrt(sum(g.pow(2).sum() for g in grads)).item())
    out["grad_norm"] = sum(norms) / len(norms)
    return out
