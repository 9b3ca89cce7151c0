"""Curvature of the training objective at many weight vectors at once: top Hessian eigenvalue and trace.

The objective is `landscape.Objective`'s: cross-entropy over the WHOLE training set, plus
(weight_decay/2)·‖w‖² where the decay is a loss term (SGD; not AdamW's decoupled decay). Its
Hessian (≈2·10⁵ squared at the paper's size) is never built; Lanczos and Hutchinson only need
Hessian-vector products. Weights carry a leading dimension T (one set per point, as `curves.weights_at`
makes them): the objectives of the T points are independent,
so the gradient of their sum is every point's gradient, and one backward pass through it with
one vector per point gives every point's Hessian-vector product. The gradient's graph is built
once per chunk of points and reused by every product (double backward), which costs less than
recomputing the forward and backward pass for each product (torch.func's jvp of grad;
`benchmarks/bench_sharpness.py` measures both).

An eigenvalue whose Lanczos iteration did not converge to the tolerance decides nothing: every
point carries its iteration count, its residual bound and a converged flag.

The Hessian-vector products run on the weights' device; the small tridiagonal problem and the
convergence bookkeeping on the host (each Lanczos step reads its α and β back to decide whether to go
on). The start vector and the probes are drawn on the CPU from CPU generators, so they are the same on
every device.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from grokscape.numerics.curves import coefficients, weights_at
from grokscape.numerics.data import Dataset
from grokscape.numerics.landscape import Objective, cross_entropy
from grokscape.numerics.model import Params, squared_norm, token_tables

# The datasets of one set of sharpness measurements, each of shape (T,).
COLUMNS = (
    "top_eigenvalue",
    "eigenvalue_residual",
    "lanczos_iterations",
    "eigenvalue_converged",
    "hessian_trace",
    "hessian_trace_stderr",
)


@dataclass(frozen=True)
class SharpnessSettings:
    """Lanczos stops at `max_iterations` or once the top Ritz value's residual bound is at most
    `tolerance` times its size; Hutchinson averages `trace_samples` Rademacher probes drawn from `seed`."""

    max_iterations: int
    tolerance: float
    trace_samples: int
    seed: int

    @classmethod
    def from_config(cls, config: Mapping) -> SharpnessSettings:
        """From the checked configuration's `sharpness` section (less its speed knob `t_chunk`)."""
        section = config["sharpness"]
        return cls(section["max_iterations"], section["tolerance"], section["trace_samples"], section["seed"])


def objective_value(weights: Params, dataset: Dataset, objective: Objective) -> torch.Tensor:
    """Cross-entropy over the whole training set (+ (weight_decay/2)·‖w‖² when that is in the objective), per
    leading index: shape (T,)."""
    ce, _ = cross_entropy(weights, token_tables(weights, objective.n_heads), dataset, dataset.train_index)
    return objective.loss(ce.mean(-1), objective.weight_decay / 2 * squared_norm(weights))


HessianProduct = Callable[[torch.Tensor], torch.Tensor]


def hessian_product(weights: Params, dataset: Dataset, objective: Objective) -> HessianProduct:
    """v (T, n) ↦ H_t v_t for every t, on flat vectors in the order of `weights`; one graph, many products."""
    leaves = [w.detach().requires_grad_() for w in weights.values()]
    n_t = leaves[0].shape[0]
    params = dict(zip(weights, leaves, strict=True))
    grads = torch.autograd.grad(objective_value(params, dataset, objective).sum(), leaves, create_graph=True)
    sizes = [leaf[0].numel() for leaf in leaves]

    def product(vectors: torch.Tensor) -> torch.Tensor:
        parts = [part.view_as(leaf) for part, leaf in zip(vectors.split(sizes, dim=1), leaves, strict=True)]
        out = torch.autograd.grad(grads, leaves, grad_outputs=parts, retain_graph=True)
        return torch.cat([o.reshape(n_t, -1) for o in out], dim=1)

    return product


def lanczos_top(product: HessianProduct, start: torch.Tensor, settings: SharpnessSettings) -> dict[str, np.ndarray]:
    """Largest eigenvalue of each point's Hessian by Lanczos with full reorthogonalisation, batched over T.

    After j steps the top Ritz value θ of the tridiagonal matrix lies within β_j·|s_j| of an
    eigenvalue (s: its Ritz vector, s_j its last entry); a point has converged when that bound is at
    most `tolerance`·|θ|, or exactly when the Krylov space closes (β_j = 0). Each point keeps the
    value, bound and step count of the step where it converged (or of the last step, unconverged).
    """
    n_t = start.shape[0]
    basis = [start / torch.linalg.vector_norm(start, dim=1, keepdim=True)]
    alphas, betas = [], []
    # the bookkeeping lives on the host, beside the Ritz values it is decided from
    value = torch.full((n_t,), float("nan"), dtype=torch.float64, device="cpu")
    residual = torch.full((n_t,), float("inf"), dtype=torch.float64, device="cpu")
    iterations = torch.zeros(n_t, dtype=torch.int64, device="cpu")
    converged = torch.zeros(n_t, dtype=torch.bool, device="cpu")
    for step in range(1, settings.max_iterations + 1):
        q = basis[-1]
        w = product(q)
        alphas.append((w * q).sum(1).double().cpu())
        for _ in range(2):  # full reorthogonalisation against the whole basis, twice ("twice is enough")
            stacked = torch.stack(basis, dim=1)  # (T, j, n)
            w = w - torch.einsum("tjn,tj->tn", stacked, torch.einsum("tjn,tn->tj", stacked, w))
        beta = torch.linalg.vector_norm(w, dim=1)
        betas.append(beta.double().cpu())
        theta, last = _top_ritz(alphas, betas[:-1])
        bound = betas[-1] * last.abs()
        closed = betas[-1] <= 1e-6 * theta.abs().clamp(min=1e-30)  # Krylov space invariant: exact
        newly = ~converged & ((bound <= settings.tolerance * theta.abs()) | closed)
        active = ~converged
        value[active], residual[active], iterations[active] = theta[active], bound[active], step
        converged |= newly
        if bool(converged.all()):
            break
        basis.append(torch.where(beta.unsqueeze(1) > 0, w / beta.clamp(min=1e-30).unsqueeze(1), torch.zeros_like(w)))
    return {
        "top_eigenvalue": value.numpy(),
        "eigenvalue_residual": residual.numpy(),
        "lanczos_iterations": iterations.numpy(),
        "eigenvalue_converged": converged.numpy(),
    }


def _top_ritz(alphas: list[torch.Tensor], betas: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Top eigenvalue of each point's Lanczos tridiagonal matrix and the last entry of its eigenvector."""
    tridiagonal = torch.diag_embed(torch.stack(alphas, dim=1))
    if betas:
        off = torch.diag_embed(torch.stack(betas, dim=1), offset=1)
        tridiagonal = tridiagonal + off + off.transpose(1, 2)
    values, vectors = torch.linalg.eigh(tridiagonal)
    return values[:, -1], vectors[:, -1, -1]


def hutchinson_trace(product: HessianProduct, like: torch.Tensor, settings: SharpnessSettings) -> dict[str, np.ndarray]:
    """tr H ≈ mean of vᵀHv over Rademacher probes v, with its standard error. The probes are drawn from
    `settings.seed` and shared by every point (rows of `like`, (T, n)): neighbouring points of a path see
    the same probes, and a point's estimate does not depend on which others share its batch."""
    generator = torch.Generator(device="cpu").manual_seed(settings.seed)
    samples = []
    for _ in range(settings.trace_samples):
        probe = torch.randint(0, 2, like.shape[1:], generator=generator, device="cpu") * 2 - 1
        v = probe.to(like).expand_as(like).contiguous()
        samples.append((v * product(v)).sum(1).double().cpu())
    stacked = torch.stack(samples)  # (samples, T)
    stderr = stacked.std(0) / np.sqrt(len(samples)) if len(samples) > 1 else torch.full_like(stacked[0], np.nan)
    return {"hessian_trace": stacked.mean(0).numpy(), "hessian_trace_stderr": stderr.numpy()}


def sharpness(
    weights: Params, dataset: Dataset, objective: Objective, settings: SharpnessSettings, t_chunk: int = 1
) -> dict[str, np.ndarray]:
    """Top eigenvalue (with its convergence) and trace of the objective's Hessian at every leading index of
    `weights`, `t_chunk` points per batched pass: arrays of shape (T,), named as in `COLUMNS`."""
    n_t = next(iter(weights.values())).shape[0]
    n_params = sum(w[0].numel() for w in weights.values())
    # One Lanczos start vector for every point (its own seed, apart from the probes'), as for the probes.
    start = torch.randn(n_params, generator=torch.Generator(device="cpu").manual_seed(settings.seed + 1), device="cpu")
    chunks = []
    for first in range(0, n_t, t_chunk):
        chunk = {k: v[first : first + t_chunk] for k, v in weights.items()}
        product = hessian_product(chunk, dataset, objective)
        starts = start.to(chunk["b_in"]).expand(chunk["b_in"].shape[0], -1).contiguous()
        chunks.append(lanczos_top(product, starts, settings) | hutchinson_trace(product, starts, settings))
    return {name: np.concatenate([chunk[name] for chunk in chunks]) for name in COLUMNS}


def along_curves(
    kind: str,
    curves: Sequence[Params],
    n_points: int,
    dataset: Dataset,
    objective: Objective,
    settings: SharpnessSettings,
    t_chunk: int,
) -> list[dict[str, np.ndarray]]:
    """`sharpness` at `n_points` evenly spaced t of each curve (0 and 1 included), with those t as
    `sharpness_t`. The curves' points go through `sharpness` together, `t_chunk` at a time; every point
    sees the same start vector and probes, so the others in its chunk change its values only by rounding."""
    t = torch.linspace(0, 1, n_points, dtype=torch.float64, device="cpu")  # stored; `weights_at` moves the coefficients
    n_controls = next(iter(curves[0].values())).shape[0]
    coeffs = coefficients(kind, t, n_controls)
    points = [weights_at(coeffs, controls) for controls in curves]
    values = sharpness({k: torch.cat([p[k] for p in points]) for k in points[0]}, dataset, objective, settings, t_chunk)
    return [
        {
            "sharpness_t": t.numpy(),
            **{name: column[c * n_points : (c + 1) * n_points] for name, column in values.items()},
        }
        for c in range(len(curves))
    ]
