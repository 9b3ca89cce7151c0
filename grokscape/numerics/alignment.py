"""Align network B to network A through the symmetries of this model (weight or activation matching, "Git Re-Basin").

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

Activation matching (Ainsworth et al. 2023, §3.1) instead brings B's activations on the training
examples closest to A's (least squares), block by block, with the same solvers: the rotation by
Procrustes on every residual-stream vector (both positions before attention, the last one after
attention and after the MLP), the MLP units by assignment on the hidden units after the ReLU, the
heads jointly with S and U on the per-head queries and keys (S) and values (U). Each block's
activations change under its own symmetry only: the residual stream turns by R alone (heads and
MLP units, permuted or turned, add the same outputs to it), the hidden units are permuted alone
(they read the residual stream through Rᵀ·W_in), and queries, keys and values turn with their own
head's permutation and S or U alone (they too read through Rᵀ). The squared activation distance is
thus a sum of one term per block, each minimised by its own step: one pass is exact, no sweeps.

Both run on the CPU in float64 whatever the job's device: the problems are small (SVDs of d_model ×
d_model and per-head blocks, assignments of d_mlp units), the assignments are SciPy's, and the result
is then the same on every machine's device. Every tensor here is made on, or moved to, the CPU.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import torch
from scipy.optimize import linear_sum_assignment

from grokscape.numerics.model import ModelShape, Params, activations, token_tables

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
        eye = torch.eye(shape.d_head, dtype=torch.float64, device="cpu").expand(shape.n_heads, -1, -1)
        return cls(
            torch.eye(shape.d_model, dtype=torch.float64, device="cpu"),
            torch.arange(shape.d_mlp, device="cpu"),
            torch.arange(shape.n_heads, device="cpu"),
            eye,
            eye,
        )

    @classmethod
    def random(cls, shape: ModelShape, generator: torch.Generator) -> Symmetry:
        """A random element (Haar-distributed rotations): for tests and for scrambling a network."""

        def orthogonal(*size: int) -> torch.Tensor:
            q, r = torch.linalg.qr(torch.randn(*size, size[-1], generator=generator, dtype=torch.float64, device="cpu"))
            return q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1)).unsqueeze(-2)

        return cls(
            orthogonal(shape.d_model),
            torch.randperm(shape.d_mlp, generator=generator, device="cpu"),
            torch.randperm(shape.n_heads, generator=generator, device="cpu"),
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
    _, order = linear_sum_assignment(_unit_similarity(a, b).numpy(), maximize=True)
    return replace(Symmetry.identity(shape), mlp=torch.as_tensor(order, device="cpu"))


def _unit_similarity(a: Params, b: Params) -> torch.Tensor:
    """[i, j]: the inner product of the weights of MLP unit i of A and unit j of B (W_in, b_in, W_out)."""
    return a["W_in"].T @ b["W_in"] + torch.outer(a["b_in"], b["b_in"]) + a["W_out"] @ b["W_out"].T


def _head_step(a: Params, b: Params, shape: ModelShape) -> Symmetry:
    """The best head permutation together with each head's QK and VO rotations (`_solve_heads`), from
    ⟨Q_Ai, Q_Bj·S⟩ + ⟨K_Ai, K_Bj·S⟩ and ⟨V_Ai, V_Bj·U⟩ + ⟨O_Ai, Uᵀ·O_Bj⟩."""
    n = shape.n_heads
    qa, ka, va = (_by_head(a[name], n) for name in ("W_Q", "W_K", "W_V"))
    qb, kb, vb = (_by_head(b[name], n) for name in ("W_Q", "W_K", "W_V"))
    oa, ob = a["W_O"].unflatten(0, (n, -1)), b["W_O"].unflatten(0, (n, -1))
    m_vo = _cross(vb, va) + torch.einsum("jkd,ild->ijkl", ob, oa)  # + O_Bj O_Aiᵀ
    return _solve_heads(_cross(qb, qa) + _cross(kb, ka), m_vo, shape)


def _cross(x_b: torch.Tensor, x_a: torch.Tensor) -> torch.Tensor:
    """Per pair of heads, [i, j] = x_b[j]ᵀ x_a[i] (d_head × d_head), for x of shape (heads, rows, d_head)."""
    return torch.einsum("jdk,idl->ijkl", x_b, x_a)


def _solve_heads(m_qk: torch.Tensor, m_vo: torch.Tensor, shape: ModelShape) -> Symmetry:
    """The head permutation and per-head rotations S, U maximising Σ_i ⟨m_qk[i, π(i)], S_i⟩ + ⟨m_vo[i, π(i)], U_i⟩.

    For a pair (i, j) the best S reaches the nuclear norm ‖m_qk[i, j]‖_*, likewise U: the assignment
    maximises the sum of both, then Procrustes gives S and U of the chosen pairs."""
    gain = torch.linalg.svdvals(m_qk).sum(-1) + torch.linalg.svdvals(m_vo).sum(-1)
    _, order = linear_sum_assignment(gain.numpy(), maximize=True)
    rows, order = torch.arange(shape.n_heads, device="cpu"), torch.as_tensor(order, device="cpu")
    qk, vo = _procrustes(m_qk[rows, order]), _procrustes(m_vo[rows, order])
    return replace(Symmetry.identity(shape), heads=order, qk=qk, vo=vo)


STEPS: tuple[Callable[[Params, Params, ModelShape], Symmetry], ...] = (_rotation_step, _mlp_step, _head_step)


@dataclass
class AlignmentRecord:
    """How the alignment went: the distance ‖w_A − w_B‖ before, after each sweep, and whether it stopped
    because the distance stopped improving (converged) or at `max_iterations`. Activation matching makes
    one exact pass (converged) and records the activation distance before and after it too."""

    distance_before: float
    distance_after: float = float("nan")
    distances: list[float] = field(default_factory=list)  # after 0, 1, 2, ... sweeps
    iterations: int = 0
    converged: bool = False
    seconds: float = 0.0
    method: str = "weights"  # or "activations"
    activation_distances: list[float] = field(default_factory=list)  # activations: before, after
    inactive_units: int = 0  # activations: A's MLP units no example switches on, matched by their weights


Tokens = tuple[torch.Tensor, torch.Tensor]  # examples (a, b): their first and last tokens, (N,) each


def align(
    reference: Params, moved: Params, shape: ModelShape, max_iterations: int = 100, tolerance: float = 1e-9
) -> tuple[Params, AlignmentRecord]:
    """`moved` turned by the symmetry that brings it closest to `reference` (weight matching), in the
    dtype of `moved`, and the record. A sweep solves the rotation, the MLP units and the heads in turn;
    the sweeps stop when one improves the distance by at most `tolerance` × the starting distance."""
    started = time.perf_counter()
    a, b = _float64(reference), _float64(moved)
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
    return _like(b, moved), record


def activation_blocks(params: Params, shape: ModelShape, tokens: Tokens) -> dict[str, torch.Tensor]:
    """The activations on the examples `tokens` = (a, b) that each symmetry block acts on, from the forward pass:
    "residual" (4N, d_model), every residual-stream vector, turned by R on the right; "mlp" (N, d_mlp), the
    hidden units after the ReLU, permuted; "qk" (heads, 3N, d_head), per head the queries and the keys of
    both positions, and "vo" (heads, 2N, d_head), the values of both positions, permuted and turned by S, U."""
    with torch.no_grad():
        x = activations(params, token_tables(params, shape.n_heads), *tokens)
    return {
        "residual": torch.cat([x.per_example("first"), x.last, x.attended, x.final]),
        "mlp": x.hidden,
        "qk": _by_head(torch.cat([x.per_example(name) for name in ("q", "k0", "k1")]), shape.n_heads),
        "vo": _by_head(torch.cat([x.per_example(name) for name in ("v0", "v1")]), shape.n_heads),
    }


def activation_distance(blocks_a: dict[str, torch.Tensor], blocks_b: dict[str, torch.Tensor]) -> float:
    """‖X_A − X_B‖ over all blocks of `activation_blocks` (Frobenius), in float64: what activation matching shortens."""
    return float(sum((blocks_a[k].double() - blocks_b[k].double()).pow(2).sum() for k in blocks_a) ** 0.5)


def align_activations(
    reference: Params, moved: Params, shape: ModelShape, tokens: Tokens
) -> tuple[Params, AlignmentRecord]:
    """`moved` turned by the symmetry that brings its activations on the examples `tokens` closest to
    `reference`'s (activation matching), in the dtype of `moved`, and the record. One pass of exact block
    steps: the blocks' activations are independent (module docstring), so sweeps would change nothing."""
    started = time.perf_counter()
    ref, mov = _float64(reference), _float64(moved)
    tokens = (tokens[0].cpu(), tokens[1].cpu())
    xa, xb = activation_blocks(ref, shape, tokens), activation_blocks(mov, shape, tokens)
    rotation = replace(Symmetry.identity(shape), rotation=_procrustes(xb["residual"].T @ xa["residual"]))
    turned = apply_symmetry(mov, rotation, shape.n_heads)  # the frame in which B's unit weights meet A's
    heads = _solve_heads(_cross(xb["qk"], xa["qk"]), _cross(xb["vo"], xa["vo"]), shape)
    units, inactive = _match_units(xa["mlp"], xb["mlp"], _unit_similarity(ref, turned))
    aligned = apply_symmetry(turned, replace(heads, mlp=units), shape.n_heads)
    before, after = distance(ref, mov), distance(ref, aligned)
    record = AlignmentRecord(before, after, [before, after], iterations=1, converged=True, method="activations")
    xc = activation_blocks(aligned, shape, tokens)
    record.activation_distances = [activation_distance(xa, xb), activation_distance(xa, xc)]
    record.inactive_units = inactive
    record.seconds = time.perf_counter() - started
    return _like(aligned, moved), record


def _match_units(hidden_a: torch.Tensor, hidden_b: torch.Tensor, weights: torch.Tensor) -> tuple[torch.Tensor, int]:
    """The permutation of B's MLP units whose hidden activations (N, d_mlp) come closest to A's, and the
    number of A's units that no example switches on. Their activations are zero, so every partner is
    as good as any other: among the partners the assignment gave them, they are matched by their unit
    weights' similarity `weights` instead (which keeps the activation distance and recovers a scrambled
    copy exactly)."""
    _, order = linear_sum_assignment((hidden_a.T @ hidden_b).numpy(), maximize=True)
    order = torch.as_tensor(order, device="cpu")
    inactive = torch.nonzero(~hidden_a.any(0)).flatten()
    partners = order[inactive]
    _, among = linear_sum_assignment(weights[inactive][:, partners].numpy(), maximize=True)
    order[inactive] = partners[torch.as_tensor(among, device="cpu")]
    return order, len(inactive)


def _float64(params: Params) -> Params:
    return {name: value.detach().cpu().double() for name, value in params.items()}


def _like(params: Params, model: Params) -> Params:
    """`params` in the dtype of `model`."""
    dtype = next(iter(model.values())).dtype
    return {name: value.to(dtype) for name, value in params.items()}
