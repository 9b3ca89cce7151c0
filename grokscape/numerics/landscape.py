"""Loss, error and stochastic gradient norm at many points of a path, batched over t.

All points of a chunk of t go through the model together: the weights carry a leading t
dimension (see `grokscape.numerics.model`), so one forward/backward pass serves every t. The
minibatch pass that yields the gradient norms also yields the training loss and accuracy,
so the training set is traversed once per point, the validation set once (without grad). The sums
accumulate in float64 on the weights' device and are read back to the host once per chunk.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from grokscape.numerics.curves import weights_at
from grokscape.numerics.data import Dataset
from grokscape.numerics.model import Params, TokenTables, forward_from_tables, squared_norm, token_tables
from grokscape.planning.path_names import connects

# Losses are stored in parts as well as summed: cross-entropy (`*_ce`), the L2 term `l2` =
# (weight_decay/2)·‖w‖², and `*_loss`, the training objective: cross-entropy + l2 where the decay is a
# loss term (SGD, the paper's), the cross-entropy alone where it is decoupled (AdamW; `Objective`).
METRICS = ("train_loss", "train_error", "val_loss", "val_error", "grad_norm", "train_ce", "val_ce", "l2")


@dataclass(frozen=True)
class Objective:
    """The objective the training minimised, whose loss, gradient norm and Hessian paths measure:
    cross-entropy on minibatches of `batch_size`, plus (weight_decay/2)·‖w‖² when `l2_in_loss`.

    SGD's weight decay adds weight_decay·w to the gradient, which is the gradient of that L2 term: the
    term is part of what SGD descends (the paper's objective). AdamW decays the weights apart from the
    gradient (decoupled): no loss has that term, so its objective is the cross-entropy alone. The term
    itself, (weight_decay/2)·‖w‖², is reported either way (`l2`).
    """

    n_heads: int
    weight_decay: float
    batch_size: int
    l2_in_loss: bool  # SGD's coupled decay is a loss term, AdamW's decoupled decay is not

    @property
    def l2_coefficient(self) -> float:
        """c of the objective's (c/2)·‖w‖² term: the weight decay when it is a loss term, else 0."""
        return self.weight_decay if self.l2_in_loss else 0.0

    def loss(self, cross_entropy: torch.Tensor, l2: torch.Tensor) -> torch.Tensor:
        """The objective from its parts: cross-entropy, plus the L2 term `l2` when it is in the loss."""
        return cross_entropy + l2 if self.l2_in_loss else cross_entropy

    @classmethod
    def from_config(cls, settings: Mapping) -> Objective:
        """The objective training minimised: the model's heads, the training's weight decay and minibatches;
        the decay is a term of the loss for SGD (coupled: its gradient is added to the loss gradient), not for
        AdamW (decoupled: the weights shrink apart from the gradient step)."""
        train = settings["train"]
        return cls(
            settings["model"]["n_heads"], train["weight_decay"], train["batch_size"], train["optimizer"] == "sgd"
        )


def path_metrics(
    controls: Params, coeffs: torch.Tensor, dataset: Dataset, objective: Objective, t_chunk: int = 16
) -> dict[str, np.ndarray]:
    """Metrics at φ = coeffs @ controls for every row of `coeffs` (T, K); arrays of shape (T,)."""
    return paths_metrics([controls], coeffs, dataset, objective, t_chunk)[0]


def paths_metrics(
    curves: Sequence[Params], coeffs: torch.Tensor, dataset: Dataset, objective: Objective, t_chunk: int = 16
) -> list[dict[str, np.ndarray]]:
    """`path_metrics` of several curves sharing `coeffs` (one kind, one t grid): their points run through
    the model together, `t_chunk` at a time across curves, so many short paths fill a pass as one long one
    does. A curve's chunks are the ones it would have alone only when it is alone; otherwise float rounding."""
    n_t = coeffs.shape[0]
    n_rows, chunks = len(curves) * n_t, []
    for first in range(0, n_rows, t_chunk):  # rows c·T … c·T+T−1 are curve c's points
        last = min(first + t_chunk, n_rows)
        parts = [
            weights_at(coeffs[max(first - c * n_t, 0) : min(last - c * n_t, n_t)], curves[c])
            for c in range(first // n_t, (last - 1) // n_t + 1)
        ]
        weights = {k: torch.cat([part[k] for part in parts]) for k in parts[0]}
        chunks.append(_on_host(_chunk_metrics(weights, dataset, objective)))
    flat = {name: torch.cat([chunk[name] for chunk in chunks]).numpy() for name in METRICS}
    return [{name: values[c * n_t : (c + 1) * n_t] for name, values in flat.items()} for c in range(len(curves))]


def _on_host(metrics: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {name: values.cpu() for name, values in metrics.items()}


def _chunk_metrics(weights: Params, dataset: Dataset, objective: Objective) -> dict[str, torch.Tensor]:
    """The metrics of `path_metrics` at a batch of weights (leading dimension T), left on their device."""
    weights = {k: v.detach().requires_grad_() for k, v in weights.items()}
    n_t, device = weights["b_in"].shape[0], weights["b_in"].device
    decay = objective.l2_coefficient
    with torch.no_grad():
        l2 = (objective.weight_decay / 2 * squared_norm(weights)).double()
    # One set of token tables serves every minibatch: built once, backpropagated through per minibatch.
    tables = token_tables(weights, objective.n_heads)

    grad_norm_sum = torch.zeros(n_t, dtype=torch.float64, device=device)
    train_sums = torch.zeros(2, n_t, dtype=torch.float64, device=device)  # cross-entropy, correct
    batches = dataset.train_index.split(objective.batch_size)
    for batch in batches:
        ce, correct = cross_entropy(weights, tables, dataset, batch)
        grads = torch.autograd.grad(ce.mean(-1).sum(), list(weights.values()), retain_graph=True)
        with torch.no_grad():  # the L2 term's gradient is decay·w: added here, not through autograd
            squares = sum(
                torch.linalg.vector_norm((g.add_(w, alpha=decay) if decay else g).flatten(1), dim=-1).square()
                for g, w in zip(grads, weights.values(), strict=True)
            )
        grad_norm_sum += squares.sqrt().double()
        train_sums += torch.stack([ce.detach().sum(-1), correct.sum(-1)]).double()

    tables = TokenTables(*(table.detach() for table in tables))
    val_sums = _forward_sums(weights, tables, dataset, dataset.val_index, objective.batch_size)

    n_train, n_val = dataset.train_index.numel(), dataset.val_index.numel()
    train_ce, val_ce = train_sums[0] / n_train, val_sums[0] / n_val
    return {
        "train_loss": objective.loss(train_ce, l2),
        "train_error": 1 - train_sums[1] / n_train,
        "val_loss": objective.loss(val_ce, l2),
        "val_error": 1 - val_sums[1] / n_val,
        "grad_norm": grad_norm_sum / len(batches),
        "train_ce": train_ce,
        "val_ce": val_ce,
        "l2": l2,
    }


def forward_metrics(weights: Params, dataset: Dataset, objective: Objective) -> dict[str, torch.Tensor]:
    """Loss (the objective, and in parts) and error on both sets at a batch of weights (leading dimension T),
    forward only: no gradient norm, so many points (a plane's grid) cost a fraction of `path_metrics`. Shapes
    (T,), on the host."""
    with torch.no_grad():
        l2 = (objective.weight_decay / 2 * squared_norm(weights)).double()
        tables = token_tables(weights, objective.n_heads)
        sums = {
            split: _forward_sums(weights, tables, dataset, index, objective.batch_size)
            for split, index in (("train", dataset.train_index), ("val", dataset.val_index))
        }
    out = {"l2": l2}
    for split, (ce_sum, correct) in sums.items():
        n = dataset.train_index.numel() if split == "train" else dataset.val_index.numel()
        out[f"{split}_ce"] = ce_sum / n
        out[f"{split}_loss"] = objective.loss(ce_sum / n, l2)
        out[f"{split}_error"] = 1 - correct / n
    return _on_host(out)


def _forward_sums(
    weights: Params, tables: TokenTables, dataset: Dataset, index: torch.Tensor, batch_size: int
) -> torch.Tensor:
    """Summed cross-entropy and number correct over `index`, per leading weight index: shape (2, T), on the
    weights' device."""
    sums = torch.zeros(2, tables.last.shape[0], dtype=torch.float64, device=tables.last.device)
    with torch.no_grad():
        for batch in index.split(batch_size):
            ce, correct = cross_entropy(weights, tables, dataset, batch)
            sums += torch.stack([ce.sum(-1), correct.sum(-1)]).double()
    return sums


def cross_entropy(
    weights: Params, tables: TokenTables, dataset: Dataset, batch: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-example cross-entropy and correctness for every t: shapes (T, B)."""
    a, b, c = dataset.subset(batch)
    logits = forward_from_tables(weights, tables, a, b)  # (T, B, p)
    n_t = logits.shape[0]
    ce = F.cross_entropy(logits.flatten(0, 1), c.repeat(n_t), reduction="none").view(n_t, -1)
    return ce, (logits.argmax(-1) == c).float()


def summary_row(table: dict[str, np.ndarray], zero_error: float) -> dict[str, float]:
    """Whether the path connects (train error ≤ `zero_error` everywhere), its max train error,
    barrier heights (max along the path above the larger endpoint) and where they peak,
    the worst validation error and the mean gradient norm. For a chain (2-D columns) the
    position is `segment index + t`, so it runs from 0 to the number of segments; a path without
    a barrier has no peak (NaN)."""
    t = np.asarray(table["t"], dtype=float)
    position = (t + np.arange(t.shape[0])[:, None] if t.ndim == 2 else t).reshape(-1)
    worst = float(np.max(table["train_error"]))
    row = {"connects": connects(worst, zero_error), "max_train_error": worst}
    for metric in ("train_loss", "train_error"):
        values = np.asarray(table[metric]).reshape(-1)
        row[f"{metric}_barrier"] = float(values.max() - max(values[0], values[-1]))
        has_peak = row[f"{metric}_barrier"] > 0  # no barrier, no peak: left empty
        row[f"{metric}_peak_at"] = float(position[values.argmax()]) if has_peak else float("nan")
    row["max_val_error"] = float(np.max(table["val_error"]))
    row["grad_norm_start"] = float(np.reshape(table["grad_norm"], -1)[0])
    row["grad_norm_end"] = float(np.reshape(table["grad_norm"], -1)[-1])
    row["mean_grad_norm"] = float(np.mean(table["grad_norm"]))
    return row
