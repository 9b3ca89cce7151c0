"""Training one seed until it groks, with exact point checkpoints and resumable state.

After every epoch the whole train and validation sets are evaluated (one forward pass over
the table), so points 1 and 2 are exact epochs and their weights are saved exactly.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from grokscape.data import Dataset
from grokscape.model import ModelShape, Params, forward, forward_from_tables, init_params, squared_norm, token_tables
from grokscape.points import Thresholds, reached
from grokscape.resume import LoopState, fingerprint

log = logging.getLogger(__name__)

HISTORY_COLUMNS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "weight_norm")
OPTIMIZERS = ("sgd", "adamw")


@dataclass(frozen=True)
class TrainSettings:
    optimizer: str = "sgd"
    lr: float = 0.1
    weight_decay: float = 0.001
    batch_size: int = 512
    max_epochs: int = 20000
    epochs_after_grok: int = 200
    snapshot_every: int = 100
    momentum: float = 0.0
    grad_clip: float | None = 5.0
    init_scale: float = 1.0
    weight_norm: float | None = None


@dataclass
class TrainResult:
    history: dict[str, np.ndarray]
    snapshots: dict[int, Params]
    memorized: int | None
    grokked: int | None
    diverged: int | None = None


def make_optimizer(params: list[torch.Tensor], settings: TrainSettings) -> torch.optim.Optimizer:
    if settings.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=settings.lr, weight_decay=settings.weight_decay, momentum=settings.momentum, foreach=True
        )
    if settings.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=settings.lr, weight_decay=settings.weight_decay, foreach=True)
    raise ValueError(f"train.optimizer must be one of {', '.join(OPTIMIZERS)}, got {settings.optimizer!r}")


class FullEvaluator:
    """Loss and accuracy on the whole train and validation sets in one pass over the table.

    It reads the weights and never changes them, so it may use token tables (equal to
    `forward` up to float32 rounding): built once per call, then applied in chunks of `rows`
    examples, which keep the MLP activations in cache.
    """

    def __init__(self, dataset: Dataset, n_heads: int, rows: int = 2048):
        index = torch.cat([dataset.train_index, dataset.val_index])
        self.chunks = list(zip(*(x.split(rows) for x in dataset.subset(index)), strict=True))
        self.n_train = dataset.train_index.numel()
        self.n_heads = n_heads

    @torch.no_grad()
    def __call__(self, params: Params) -> tuple[float, float, float, float]:
        tables = token_tables(params, self.n_heads)
        losses, hits = [], []
        for a, b, c in self.chunks:
            logits = forward_from_tables(params, tables, a, b)
            losses.append(F.cross_entropy(logits, c, reduction="none"))
            hits.append(logits.argmax(-1) == c)
        loss, correct = torch.cat(losses), torch.cat(hits).float()
        n = self.n_train
        return (
            loss[:n].mean().item(),
            correct[:n].mean().item(),
            loss[n:].mean().item(),
            correct[n:].mean().item(),
        )


def initial_params(shape: ModelShape, settings: TrainSettings, seed: int) -> Params:
    """`init_params` multiplied by `init_scale` (Omnigrok's α, which delays or removes grokking), then put on
    the sphere ‖w‖ = `weight_norm` when the norm is held fixed. α = 1 multiplies by 1.0: bit for bit the same."""
    params = {k: v * settings.init_scale for k, v in init_params(shape, seed).items()}
    if settings.weight_norm is not None:
        project_to_sphere(params, settings.weight_norm)
    return params


@torch.no_grad()
def project_to_sphere(params: Params, radius: float) -> None:
    """Rescale the whole weight vector in place to ‖w‖₂ = `radius` (Omnigrok's training at fixed norm)."""
    scale = radius / squared_norm(params).sqrt()
    for value in params.values():
        value.mul_(scale)


def train_epoch(
    params: Params,
    optimizer: torch.optim.Optimizer,
    train: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    order: torch.Tensor,
    settings: TrainSettings,
    n_heads: int,
) -> None:
    """One pass over the training examples `train` = (a, b, c), in minibatches taken in `order`."""
    train_a, train_b, train_c = train
    for batch in order.split(settings.batch_size):
        loss = F.cross_entropy(forward(params, train_a[batch], train_b[batch], n_heads), train_c[batch])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if settings.grad_clip:
            torch.nn.utils.clip_grad_norm_(params.values(), settings.grad_clip, foreach=True)
        optimizer.step()
        if settings.weight_norm is not None:
            project_to_sphere(params, settings.weight_norm)


def train_seed(
    dataset: Dataset,
    shape: ModelShape,
    settings: TrainSettings,
    thresholds: Thresholds,
    seed: int,
    device: torch.device,
    resume_path: str | Path | None = None,
) -> TrainResult:
    """Train from `seed` (or from the resume state of an identical earlier attempt)."""
    dataset = dataset.to(device)
    params = {k: v.to(device).requires_grad_() for k, v in initial_params(shape, settings, seed).items()}
    optimizer = make_optimizer(list(params.values()), settings)
    shuffle = torch.Generator().manual_seed(seed)
    evaluate = FullEvaluator(dataset, shape.n_heads)
    train = dataset.subset(dataset.train_index)
    n_train = dataset.train_index.numel()

    # How long to train does not change the trajectory, so a longer run may resume a shorter one.
    trajectory = {k: v for k, v in asdict(settings).items() if k not in ("max_epochs", "epochs_after_grok")}
    stamp = fingerprint(
        {
            "shape": asdict(shape),
            "train": trajectory,
            "thresholds": asdict(thresholds),
            "seed": seed,
            "split": dataset.train_index.tolist(),
            "device": device.type,
        }
    )
    history: dict[str, list[float]] = {name: [] for name in HISTORY_COLUMNS}
    snapshots: dict[int, Params] = {}
    memorized = grokked = diverged = None
    epoch = 0
    resume = LoopState(resume_path, stamp, optimizer, shuffle)
    state = resume.restore()
    if state is not None:
        tensors, meta = state
        epoch, memorized, grokked = meta["epoch"], meta["memorized"], meta["grokked"]
        with torch.no_grad():
            for name, value in params.items():
                value.copy_(tensors[f"params/{name}"])
        history = {name: tensors[f"history/{name}"].tolist() for name in HISTORY_COLUMNS}
        snapshots = _snapshots_from(tensors)
        log.info("resuming seed %d from epoch %d (%s)", seed, epoch, resume_path)
    else:
        _record(history, 0, evaluate(params), params)
        snapshots[0] = _copy(params)

    started, start_epoch = time.perf_counter(), epoch
    while epoch < settings.max_epochs and not (grokked is not None and epoch >= grokked + settings.epochs_after_grok):
        epoch += 1
        order = torch.randperm(n_train, generator=shuffle).to(device)
        train_epoch(params, optimizer, train, order, settings, shape.n_heads)
        metrics = _record(history, epoch, evaluate(params), params)
        if not math.isfinite(metrics[0]):
            log.error(
                "seed %d diverged (non-finite training loss) at epoch %d: lower train.lr or train.grad_clip",
                seed,
                epoch,
            )
            diverged = epoch
            break
        new_point = False
        if memorized is None and reached(metrics[1], thresholds.train_acc):
            memorized, new_point = epoch, True
            log.info("seed %d memorised the training set at epoch %d", seed, epoch)
        if grokked is None and reached(metrics[3], thresholds.val_acc):
            grokked, new_point = epoch, True
            log.info("seed %d generalised (grokked) at epoch %d", seed, epoch)
        if new_point or epoch % settings.snapshot_every == 0:
            snapshots[epoch] = _copy(params)
        if epoch % settings.snapshot_every == 0:
            _log_progress(
                seed, epoch, metrics, (epoch - start_epoch) / (time.perf_counter() - started), settings, grokked
            )
            resume.save(
                _loop_tensors(params, history, snapshots), {"epoch": epoch, "memorized": memorized, "grokked": grokked}
            )
    if diverged is None:
        snapshots.setdefault(epoch, _copy(params))
    return TrainResult({k: np.asarray(v) for k, v in history.items()}, snapshots, memorized, grokked, diverged)


def _record(history: dict[str, list[float]], epoch: int, metrics: tuple[float, ...], params: Params) -> tuple:
    weight_norm = squared_norm({k: v.detach() for k, v in params.items()}).sqrt().item()
    for name, value in zip(HISTORY_COLUMNS, (epoch, *metrics, weight_norm), strict=True):
        history[name].append(value)
    return metrics


def _copy(params: Params) -> Params:
    return {k: v.detach().to("cpu", copy=True) for k, v in params.items()}


def _log_progress(seed, epoch, metrics, rate, settings, grokked) -> None:
    end = settings.max_epochs if grokked is None else min(settings.max_epochs, grokked + settings.epochs_after_grok)
    eta = (end - epoch) / rate if rate > 0 else float("nan")
    bound = "" if grokked is not None else " at most"
    log.info(
        "seed %d epoch %d: train acc %.4f loss %.4f | val acc %.4f loss %.4f | %.1f epochs/s | ETA%s %.0f s",
        seed,
        epoch,
        metrics[1],
        metrics[0],
        metrics[3],
        metrics[2],
        rate,
        bound,
        eta,
    )


def _loop_tensors(params: Params, history: dict[str, list[float]], snapshots: dict[int, Params]) -> dict:
    """What a training run's resume state holds besides the optimizer and the shuffle generator."""
    tensors: dict[str, object] = {f"params/{k}": v for k, v in params.items()}
    for name, value in history.items():
        tensors[f"history/{name}"] = np.asarray(value)
    for snap_epoch, snap in snapshots.items():
        for name, value in snap.items():
            tensors[f"snapshots/{snap_epoch}/{name}"] = value
    return tensors


def _snapshots_from(tensors: dict[str, torch.Tensor]) -> dict[int, Params]:
    snapshots: dict[int, Params] = {}
    for name, value in tensors.items():
        if name.startswith("snapshots/"):
            _, epoch, param = name.split("/")
            snapshots.setdefault(int(epoch), {})[param] = value
    return snapshots
