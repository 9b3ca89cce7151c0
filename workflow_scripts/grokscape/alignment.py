"""Align network B to network A through the symmetries of this model (weight matching, "Git Re-Basin").

Two seeds can compute the same function with their units in another order and their bases turned,
so a straight segment between them may cross a barrier that is only a relabelling. Without LayerNorm,
each of these changes of B leaves its function and ‖w‖ exactly as they are:

- a rotation R (orthogonal, d_model × d_model) of the residual stream, x ↦ x·R: everything that
  writes to it is multiplied by R on the right (embed, pos, W_O, W_out, b_out), everything that reads
  it by Rᵀ on the left (W_Q, W_K, W_V, W_in, unembed);
- a permutation of the MLP's hidden units (columns of W_in, entries of b_in, rows of W_out);
- a permutation of the heads (their blocks of d_head columns of W_Q, W_K, W_V and rows of W_O);
- per head, an orthogonal change of basis S of the query/key space (W_Q·S, W_K·S keep q·k) and U
  of the value/output space (W_V·U, Uᵀ·W_O keep the head's output).

Weight matching maximises ⟨w_A, T(w_B)⟩ over these symmetries T, which (‖T(w_B)‖ being ‖w_B‖)
minimises ‖w_A − T(w_B)‖, by block coordinate ascent: each step solves one block exactly with the
others fixed, so the distance can never increase. The rotation is orthogonal Procrustes (one SVD);
the MLP units are a linear assignment (SciPy); the heads are a linear assignment whose cost of
pairing head i of A with head j of B is the best that the two per-head rotations can reach, the sum
of two nuclear norms, so that heads, S and U are solved jointly.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import torch
from scipy.optimize import linear_sum_assignment

from grokscape.model import ModelShape, Params

WRITES = ("embed", "pos", "W_O", "W_out")  # rows are residual-stream vectors: multiplied by R on the right
READS = ("W_Q", "W_K", "W_V", "W_in", "unembed")  # columns read the residual stream: Rᵀ on the left


@dataclass(frozen=True)
class Symmetry:
    """One element of the symmetry group: result unit/head i is unit/head `mlp[i]`/`heads[i]` of the input."""

    rotation: torch.Tensor  # (d_model, d_model), orthogonal
    mlp: torch.Tensor  # (d_mlp,) permutation
    heads: torch.Tensor  # (n_heads,) permutation
    qk: torch.Tensor  # (n_heads, d_head, d_head), orthogonal per head (after the permutation)
    vo: torch.Tensor  # (n_heads, d_head, d_head)

    @classmethod
    def identity(cls, shape: ModelShape) -> Symmetry:
        eye = torch.eye(shape.d_head, dtype=torch.float64).expand(shape.n_heads, -1, -1)
        return cls(
            torch.eye(shape.d_model, dtype=torch.float64),
            torch.arange(shape.d_mlp),
            torch.arange(shape.n_heads),
            eye,
            eye,
        )

    @classmethod
    def random(cls, shape: ModelShape, generator: torch.Generator) -> Symmetry:
        """A random element (Haar-distributed rotations): for tests and for scrambling a network."""

        def orthogonal(*size: int) -> torch.Tensor:
            q, r = torch.linalg.qr(torch.randn(*size, size[-1], generator=generator, dtype=torch.float64))
            return q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1)).unsqueeze(-2)

        return cls(
            orthogonal(shape.d_model),
            torch.randperm(shape.d_mlp, generator=generator),
            torch.randperm(shape.n_heads, generator=generator),
            orthogonal(shape.n_heads, shape.d_head),
            orthogonal(shape.n_heads, shape.d_head),
        )


def apply_symmetry(params: Params, symmetry: Symmetry, n_heads: int) -> Params:
    """The same network with its units permuted and its bases turned by `symmetry` (float64)."""
    w = {name: value.double() for name, value in params.items()}
    rotation = symmetry.rotation
    out = {name: w[name] @ rotation for name in WRITES}
    out |= {name: rotation.T @ w[name] for name in READS}
    out["b_out"] = w["b_out"] @ rotation
    out["b_in"] = w["b_in"][symmetry.mlp]
    out["W_in"] = out["W_in"][:, symmetry.mlp]
    out["W_out"] = out["W_out"][symmetry.mlp]
    q, k, v = (_by_head(out[name], n_heads)[symmetry.heads] for name in ("W_Q", "W_K", "W_V"))
    o = out["W_O"].unflatten(0, (n_heads, -1))[symmetry.heads]  # (heads, d_head, d_model)
    out["W_Q"], out["W_K"] = _from_heads(q @ symmetry.qk), _from_heads(k @ symmetry.qk)
    out["W_V"], out["W_O"] = _from_heads(v @ symmetry.vo), (symmetry.vo.transpose(-1, -2) @ o).flatten(0, 1)
    return {name: out[name] for name in params}


def _by_head(weight: torch.Tensor, n_heads: int) -> torch.Tensor:
    """(d_model, heads·d_head) -> (heads, d_model, d_head)."""
    return weight.unflatten(1, (n_heads, -1)).transpose(0, 1)


def _from_heads(weight: torch.Tensor) -> torch.Tensor:
    """(heads, d_model, d_head) -> (d_model, heads·d_head)."""
    return weight.transpose(0, 1).flatten(1)


def distance(a: Params, b: Params) -> float:
    """‖w_a − w_b‖₂ over all parameters, in float64."""
    return float(sum((a[name].double() - b[name].double()).pow(2).sum() for name in a) ** 0.5)


def _procrustes(m: torch.Tensor) -> torch.Tensor:
    """The orthogonal R maximising ⟨R, m⟩ (batched over leading dimensions): U·Vᵀ of m's SVD."""
    u, _, vh = torch.linalg.svd(m)
    return u @ vh


def _rotation_step(a: Params, b: Params, shape: ModelShape) -> Symmetry:
    """The best residual rotation with everything else fixed: ⟨A, B·R⟩ = ⟨BᵀA, R⟩, ⟨A, RᵀB⟩ = ⟨B·Aᵀ, R⟩."""
    m = sum(b[name].T @ a[name] for name in WRITES) + torch.outer(b["b_out"], a["b_out"])
    m = m + sum(b[name] @ a[name].T for name in READS)
    return replace(Symmetry.identity(shape), rotation=_procrustes(m))


def _mlp_step(a: Params, b: Params, shape: ModelShape) -> Symmetry:
    """The best permutation of B's MLP units: similarity of unit i of A with unit j of B, maximised."""
    similarity = a["W_in"].T @ b["W_in"] + torch.outer(a["b_in"], b["b_in"]) + a["W_out"] @ b["W_out"].T
    _, order = linear_sum_assignment(similarity.numpy(), maximize=True)
    return replace(Symmetry.identity(shape), mlp=torch.as_tensor(order))


def _head_step(a: Params, b: Params, shape: ModelShape) -> Symmetry:
    """The best head permutation together with each head's QK and VO rotations.

    For head i of A and head j of B, the best S gives ⟨Q_Ai, Q_Bj·S⟩ + ⟨K_Ai, K_Bj·S⟩ = ‖Q_BjᵀQ_Ai + K_BjᵀK_Ai‖_*
    (the nuclear norm), likewise U for V and O; the assignment maximises the sum of both."""
    n = shape.n_heads
    qa, ka, va = (_by_head(a[name], n) for name in ("W_Q", "W_K", "W_V"))
    qb, kb, vb = (_by_head(b[name], n) for name in ("W_Q", "W_K", "W_V"))
    oa, ob = a["W_O"].unflatten(0, (n, -1)), b["W_O"].unflatten(0, (n, -1))

    def cross(x_b: torch.Tensor, x_a: torch.Tensor) -> torch.Tensor:  # [i, j] = x_b[j]ᵀ x_a[i]
        return torch.einsum("jdk,idl->ijkl", x_b, x_a)

    m_qk = cross(qb, qa) + cross(kb, ka)
    m_vo = cross(vb, va) + torch.einsum("jkd,ild->ijkl", ob, oa)  # + O_Bj O_Aiᵀ
    gain = torch.linalg.svdvals(m_qk).sum(-1) + torch.linalg.svdvals(m_vo).sum(-1)
    _, order = linear_sum_assignment(gain.numpy(), maximize=True)
    rows, order = torch.arange(n), torch.as_tensor(order)
    qk, vo = _procrustes(m_qk[rows, order]), _procrustes(m_vo[rows, order])
    return replace(Symmetry.identity(shape), heads=order, qk=qk, vo=vo)


STEPS: tuple[Callable[[Params, Params, ModelShape], Symmetry], ...] = (_rotation_step, _mlp_step, _head_step)


@dataclass
class AlignmentRecord:
    """How the alignment went: the distance ‖w_A − w_B‖ before, after each sweep, and whether it stopped
    because the distance stopped improving (converged) or at `max_iterations`."""

    distance_before: float
    distance_after: float = float("nan")
    distances: list[float] = field(default_factory=list)  # after 0, 1, 2, ... sweeps
    iterations: int = 0
    converged: bool = False
    seconds: float = 0.0


def align(
    reference: Params, moved: Params, shape: ModelShape, max_iterations: int = 100, tolerance: float = 1e-9
) -> tuple[Params, AlignmentRecord]:
    """`moved` turned by the symmetry that brings it closest to `reference` (weight matching), in the
    dtype of `moved`, and the record. A sweep solves the rotation, the MLP units and the heads in turn;
    the sweeps stop when one improves the distance by at most `tolerance` × the starting distance."""
    started = time.perf_counter()
    a = {name: value.detach().cpu().double() for name, value in reference.items()}
    b = {name: value.detach().cpu().double() for name, value in moved.items()}
    record = AlignmentRecord(distance(a, b))
    record.distances.append(record.distance_before)
    for _ in range(max_iterations):
        for step in STEPS:
            b = apply_symmetry(b, step(a, b, shape), shape.n_heads)
        record.distances.append(distance(a, b))
        record.iterations += 1
        if record.distances[-2] - record.distances[-1] <= tolerance * record.distance_before:
            record.converged = True
            break
    record.distance_after = record.distances[-1]
    record.seconds = time.perf_counter() - started
    dtype = next(iter(moved.values())).dtype
    return {name: value.to(dtype) for name, value in b.items()}, record
