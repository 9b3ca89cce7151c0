"""Training the free control points of a curve between two fixed endpoints (Garipov et al. 2018).

Minimises E_{t~U[0,1]} Loss(φθ(t)) by SGD: one t is drawn per minibatch, the loss (with the
L2 term) is evaluated at φθ(t) and backpropagated through the coefficients to the free
control points. The endpoints never move. Progress is resumable like training.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from grokscape.curves import coefficients, initial_controls, weights_at
from grokscape.data import Dataset
from grokscape.landscape import Objective
from grokscape.model import Params, forward_by_token, squared_norm
from grokscape.resume import digest, fingerprint, load_state, optimizer_tensors, restore_optimizer, save_state

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FitSettings:
    epochs: int = 1000
    lr: float = 0.05
    momentum: float = 0.0
    seed: int = 0
    checkpoint_every: int = 100
    grad_clip: float | None = 5.0


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
    """Fit the interior control points; with two control points (a segment) nothing is free."""
    controls = {k: v.to(device) for k, v in initial_controls(start, end, n_controls).items()}
    if n_controls <= 2 or settings.epochs == 0:
        return FitResult({k: v.cpu() for k, v in controls.items()}, np.zeros(0))
    dataset = dataset.to(device)
    free = {k: v[1:-1].clone().requires_grad_() for k, v in controls.items()}
    optimizer = torch.optim.SGD(list(free.values()), lr=settings.lr, momentum=settings.momentum)
    sampler = torch.Generator().manual_seed(settings.seed)
    train_a, train_b, train_c = dataset.subset(dataset.train_index)
    # The number of epochs does not change the trajectory, so a longer fit may resume a shorter one.
    trajectory = {k: v for k, v in asdict(settings).items() if k not in ("epochs", "checkpoint_every")}
    stamp = fingerprint(
        {
            "kind": kind,
            "n_controls": n_controls,
            "fit": trajectory,
            "objective": asdict(objective),
            "ends": [digest(start), digest(end)],
            "device": device.type,
        }
    )
    epoch, epoch_loss = 0, []
    state = load_state(resume_path, stamp) if resume_path else None
    if state is not None:
        tensors, meta = state
        epoch, epoch_loss = meta["epoch"], tensors["epoch_loss"].tolist()
        with torch.no_grad():
            for name, value in free.items():
                value.copy_(tensors[f"free/{name}"])
        restore_optimizer(optimizer, tensors)
        sampler.set_state(tensors["sampler"])
        log.info("resuming %s fit from epoch %d (%s)", kind, epoch, resume_path)

    started, start_epoch = time.perf_counter(), epoch
    while epoch < settings.epochs:
        epoch += 1
        order = torch.randperm(train_a.numel(), generator=sampler).to(device)
        total = 0.0
        batches = order.split(objective.batch_size)
        for batch in batches:
            t = torch.rand(1, generator=sampler, dtype=torch.float64)
            coeffs = coefficients(kind, t, n_controls).to(device)
            stacked = {k: torch.cat([controls[k][:1], free[k], controls[k][-1:]]) for k in free}
            weights = {k: v[0] for k, v in weights_at(coeffs, stacked).items()}
            logits = forward_by_token(weights, train_a[batch], train_b[batch], objective.n_heads)
            loss = F.cross_entropy(logits, train_c[batch]) + objective.weight_decay / 2 * squared_norm(weights)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if settings.grad_clip:
                torch.nn.utils.clip_grad_norm_(free.values(), settings.grad_clip, foreach=True)
            optimizer.step()
            total += loss.item()
        epoch_loss.append(total / len(batches))
        if epoch % settings.checkpoint_every == 0 or epoch == settings.epochs:
            rate = (epoch - start_epoch) / (time.perf_counter() - started)
            log.info(
                "%s fit epoch %d/%d: mean loss along the curve %.4f | %.1f epochs/s | ETA %.0f s",
                kind,
                epoch,
                settings.epochs,
                epoch_loss[-1],
                rate,
                (settings.epochs - epoch) / rate,
            )
            if resume_path:
                tensors = {f"free/{k}": v for k, v in free.items()}
                tensors.update(optimizer_tensors(optimizer))
                tensors["sampler"] = sampler.get_state()
                tensors["epoch_loss"] = np.asarray(epoch_loss)
                save_state(resume_path, stamp, tensors, {"epoch": epoch})
    fitted = {k: torch.cat([controls[k][:1], free[k].detach(), controls[k][-1:]]).cpu() for k in free}
    return FitResult(fitted, np.asarray(epoch_loss))
