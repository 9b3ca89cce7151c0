"""Training the free control points of a curve between two fixed endpoints (Garipov et al. 2018).

Minimises E_{t~U[0,1]} Loss(φθ(t)): `t_per_batch` values of t are drawn per minibatch, the fit
objective (cross-entropy plus the fit's own L2 term) is evaluated at each φθ(t), batched over t,
and backpropagated through the coefficients to the free control points. The endpoints never move.

The default recipe is Garipov et al.'s: SGD with momentum 0.9, the learning rate constant for the
first half of the epochs, then falling linearly to 1 % of it by 90 %, then constant. Without
momentum and the decay, a fit between two memorising seeds stopped with a train-error barrier of
0.19 on the paper's task; with them it connects (docs/fitting.md). Progress is resumable.

The minibatch orders and the t are drawn on the CPU from one CPU generator, so a fit sees the same draws
on every device; an epoch's t and their coefficients go to the device in one transfer, before its steps.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from grokscape.numerics.clipping import clip_each_model
from grokscape.numerics.curves import coefficients, initial_controls, weights_at
from grokscape.numerics.data import Dataset
from grokscape.numerics.landscape import Objective
from grokscape.numerics.model import Params, forward_by_token, squared_norm
from grokscape.numerics.resume import LoopState, digest, fingerprint
from grokscape.planning.configuration import section_values

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FitSettings:
    epochs: int
    lr: float
    momentum: float | None  # sgd only (None for adam: left out of the settings as unused)
    seed: int
    checkpoint_every: int  # a knob: how often the resume state is saved
    grad_clip: float | None
    optimizer: str
    schedule: str
    l2: float  # coefficient c of the fit objective's (c/2)·‖w‖² term
    t_per_batch: int

    @classmethod
    def from_config(cls, settings: Mapping, kind: str) -> FitSettings:
        """The recipe of a fitted curve kind (its section, `polyline:` or `bezier:`, with its knob
        `checkpoint_every`); `l2: auto` is the training's weight decay when it was a loss term (SGD's coupled
        decay), none for AdamW, whose decoupled decay is not part of any loss."""
        values, train = section_values(settings, kind, cls.__dataclass_fields__), settings["train"]
        auto = float(train["weight_decay"]) if train["optimizer"] == "sgd" else 0.0
        return cls(**{**values, "l2": auto if values["l2"] == "auto" else float(values["l2"])})


def _garipov(progress: float) -> float:
    """Garipov et al. 2018: flat for the first half, linear down to 1 % by 90 %, then flat."""
    return 1.0 if progress <= 0.5 else 1.0 - 0.99 * (min(progress, 0.9) - 0.5) / 0.4


# The learning-rate schedules by `{kind}.schedule`, as a fraction of the base rate at a fraction of the
# epochs, and the fit optimizers by `{kind}.optimizer` (the schema's enums; tests/test_vocabulary.py).
SCHEDULES = {
    "constant": lambda progress: 1.0,
    "garipov": _garipov,
    "cosine": lambda progress: 0.5 * (1 + math.cos(math.pi * progress)),
}
FIT_OPTIMIZERS = {
    "sgd": lambda params, s: torch.optim.SGD(params, lr=s.lr, momentum=s.momentum),
    "adam": lambda params, s: torch.optim.Adam(params, lr=s.lr),
}


def lr_factor(schedule: str, epoch: int, epochs: int) -> float:
    """The learning rate of `epoch` (0-based) as a fraction of the base rate."""
    return SCHEDULES[schedule](epoch / max(epochs, 1))


def make_fit_optimizer(params: list[torch.Tensor], settings: FitSettings) -> torch.optim.Optimizer:
    return FIT_OPTIMIZERS[settings.optimizer](params, settings)


@dataclass
class FitResult:
    controls: Params  # (K, *shape), endpoints included
    epoch_loss: np.ndarray  # mean minibatch objective per epoch


def fit_curve(
    kind: str,
    n_controls: int,
    start: Params,
    end: Params,
    dataset: Dataset,
    objective: Objective,
    settings: FitSettings,
    device: torch.device,
    resume_path: str | Path | None = None,
) -> FitResult:
    """Fit one curve's interior control points: a batch of one (see `fit_curves`)."""
    return fit_curves(kind, n_controls, [(start, end)], dataset, objective, settings, device, resume_path)[0]


def fit_curves(
    kind: str,
    n_controls: int,
    ends: Sequence[tuple[Params, Params]],
    dataset: Dataset,
    objective: Objective,
    settings: FitSettings | None,
    device: torch.device,
    resume_path: str | Path | None = None,
) -> list[FitResult]:
    """Fit the interior control points of curves of one kind between each pair of `ends`, together.

    The curves are one stacked problem: every curve sees the t and minibatches it would see alone
    (one sampler seeded with `settings.seed`), its own mean loss, its own gradient clipping; they share
    only the passes through the model, so a batch of many curves costs about one curve's kernel launches
    on a GPU. With two control points (segments, which have no recipe: `settings` None) nothing is free."""
    controls = [initial_controls(start, end, n_controls) for start, end in ends]
    if n_controls <= 2 or settings is None or settings.epochs == 0:
        return [FitResult(curve, np.zeros(0)) for curve in controls]
    n_curves = len(ends)
    dataset = dataset.to(device)
    stacked = {k: torch.stack([curve[k] for curve in controls]).to(device) for k in controls[0]}  # (P, K, ...)
    first, last = {k: v[:, :1] for k, v in stacked.items()}, {k: v[:, -1:] for k, v in stacked.items()}
    free = {k: v[:, 1:-1].clone().requires_grad_() for k, v in stacked.items()}
    optimizer = make_fit_optimizer(list(free.values()), settings)
    sampler = torch.Generator(device="cpu").manual_seed(settings.seed)
    train_a, train_b, train_c = dataset.subset(dataset.train_index)
    # With a constant rate the number of epochs does not change the trajectory, so a longer fit may
    # resume a shorter one; a decaying schedule depends on it.
    ignored = ("checkpoint_every", "epochs") if settings.schedule == "constant" else ("checkpoint_every",)
    trajectory = {k: v for k, v in asdict(settings).items() if k not in ignored}
    stamp = fingerprint(
        {
            "kind": kind,
            "n_controls": n_controls,
            "fit": trajectory,
            "objective": asdict(objective),
            "ends": [[digest(start), digest(end)] for start, end in ends],
            "device": device.type,
        }
    )
    resume = LoopState(resume_path, stamp)
    epoch, epoch_loss = 0, []
    state = resume.load()
    if state is not None:
        tensors, meta = state
        resume.restore(tensors, optimizer, [sampler])
        epoch, epoch_loss = meta["epoch"], list(tensors["epoch_loss"].numpy().reshape(-1, n_curves))
        with torch.no_grad():
            for name, value in free.items():
                value.copy_(tensors[f"free/{name}"])
        log.info("resuming %s fit of %d curve(s) from epoch %d (%s)", kind, n_curves, epoch, resume_path)

    started, start_epoch = time.perf_counter(), epoch
    while epoch < settings.epochs:
        epoch += 1
        order = torch.randperm(train_a.numel(), generator=sampler, device="cpu").to(device)
        for group in optimizer.param_groups:
            group["lr"] = settings.lr * lr_factor(settings.schedule, epoch - 1, settings.epochs)
        total = torch.zeros(n_curves, dtype=torch.float64, device=device)
        batches = order.split(objective.batch_size)
        # the t of every minibatch at once (the same draws as one minibatch at a time), their coefficients
        # minibatch by minibatch (the same kernels, so the same bits), sent to the device in one transfer
        t = torch.rand(len(batches), settings.t_per_batch, generator=sampler, dtype=torch.float64, device="cpu")
        epoch_coeffs = torch.stack([coefficients(kind, row, n_controls) for row in t]).to(device)  # (batches, T, K)
        for batch, coeffs in zip(batches, epoch_coeffs, strict=True):
            points = {k: torch.cat([first[k], free[k], last[k]], dim=1) for k in free}
            weights = weights_at(coeffs, points, stacked=True)  # (P·T, ...)
            logits = forward_by_token(weights, train_a[batch], train_b[batch], objective.n_heads)  # (P·T, B, p)
            target = train_c[batch].repeat(logits.shape[0])
            ce = F.cross_entropy(logits.flatten(0, 1), target, reduction="none").view(n_curves, -1).mean(-1)
            loss = ce + settings.l2 / 2 * squared_norm(weights).view(n_curves, -1).mean(-1)  # each curve's own
            optimizer.zero_grad(set_to_none=True)
            loss.sum().backward()
            if settings.grad_clip:
                clip_each_model(list(free.values()), settings.grad_clip)
            optimizer.step()
            total += loss.detach()
        epoch_loss.append((total / len(batches)).cpu().numpy())
        if epoch % settings.checkpoint_every == 0 or epoch == settings.epochs:
            rate = (epoch - start_epoch) / (time.perf_counter() - started)
            log.info(
                "%s fit epoch %d/%d: mean loss along the curve(s) %s | %.1f epochs/s | ETA %.0f s",
                kind,
                epoch,
                settings.epochs,
                np.array2string(epoch_loss[-1], precision=4, threshold=8),
                rate,
                (settings.epochs - epoch) / rate,
            )
            tensors = {f"free/{k}": v for k, v in free.items()}
            resume.save({**tensors, "epoch_loss": np.asarray(epoch_loss)}, {"epoch": epoch}, optimizer, [sampler])
    losses = np.asarray(epoch_loss).reshape(-1, n_curves)  # (epochs, P)
    return [
        FitResult({k: torch.cat([first[k][i], free[k][i].detach(), last[k][i]]).cpu() for k in free}, losses[:, i])
        for i in range(n_curves)
    ]
