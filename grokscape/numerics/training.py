"""Training seeds until they grok, with exact point checkpoints and resumable state.

A group of seeds trains as one stacked model: every weight carries a leading seed dimension,
each seed keeps its own initialisation, minibatch order, gradient clipping and stopping epoch,
and the seeds never mix (the loss is a sum of per-seed losses, the optimizers act elementwise).
One seed is a group of one. Stacking fills a GPU that one small model leaves idle.

After every epoch the whole train and validation sets are evaluated (one forward pass over
the table), so points 1 and 2 are exact epochs and their weights are saved exactly. On a GPU that
evaluation is the epoch's one read-back to the host (metrics and weight norms of every seed in one
transfer); the steps within an epoch never wait for the host. Initial weights and every seed's
minibatch order are drawn on the CPU from CPU generators, so they are the same on every device.

A run may also start from saved weights instead of an initialisation (`Fork`): the children of one
snapshot, each with its own minibatch order, for the instability analysis (docs/instability.md).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from grokscape.errors import ConfigError
from grokscape.numerics.clipping import clip_each_model
from grokscape.numerics.data import Dataset
from grokscape.numerics.model import (
    ModelShape,
    Params,
    forward,
    forward_from_tables,
    init_params,
    squared_norm,
    token_tables,
)
from grokscape.numerics.resume import LoopState, digest, fingerprint
from grokscape.planning.configuration import section_values
from grokscape.planning.points import Thresholds, reached

log = logging.getLogger(__name__)

HISTORY_COLUMNS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "weight_norm")
# How an epoch visits the training examples (`train.sampling`): each once in a random order, cut into
# minibatches of `batch_size` (the last one smaller); the same without that last partial minibatch; or
# as many random draws with replacement as there are examples, cut the same way.
SAMPLINGS = ("shuffle", "drop_last", "replacement")


@dataclass(frozen=True)
class TrainSettings:
    optimizer: str
    lr: float
    weight_decay: float
    batch_size: int
    max_epochs: int
    epochs_after_grok: int
    snapshot_every: int
    momentum: float | None  # SGD's; None where the optimizer has none (left out of the settings as unused)
    grad_clip: float | None
    init_scale: float
    weight_norm: float | None
    init: str  # `train.init`: model.INITS
    sampling: str  # `train.sampling`: SAMPLINGS

    @classmethod
    def from_config(cls, settings: Mapping) -> TrainSettings:
        """From the checked configuration's `train` section (or a rule's settings), less the seeds."""
        return cls(**section_values(settings, "train", cls.__dataclass_fields__))


@dataclass(frozen=True)
class Fork:
    """Where a stacked run starts other than at its initialisation: one model's weights saved at `epoch`,
    copied to every member. Member m draws its minibatch orders from a CPU generator seeded `s`
    after discarding the `d` permutations already drawn, `orders[m] = (s, d)`: (the parent's seed, the
    spawn epoch) continues the parent's own order, (another seed, 0) starts a new one. The optimizer starts
    afresh, which continues the parent exactly only for a stateless one (SGD without momentum)."""

    epoch: int
    weights: Params
    orders: Mapping[int, tuple[int, int]]

    def stamp(self) -> dict:
        """What identifies the fork in a resume state's fingerprint."""
        orders = {str(member): list(order) for member, order in self.orders.items()}
        return {"epoch": self.epoch, "weights": digest(self.weights), "orders": orders}


@dataclass
class TrainResult:
    """One seed's run: its history (columns as in HISTORY_COLUMNS), saved weights and points."""

    history: dict[str, np.ndarray]
    snapshots: dict[int, Params]
    memorized: int | None
    grokked: int | None
    diverged: int | None = None


@dataclass
class _SeedRun:
    """What the loop keeps per seed while it trains (the weights live in the stacked model)."""

    history: dict[str, list[float]] = field(default_factory=lambda: {name: [] for name in HISTORY_COLUMNS})
    snapshots: dict[int, Params] = field(default_factory=dict)
    memorized: int | None = None
    grokked: int | None = None
    diverged: int | None = None

    def done(self, epoch: int, settings: TrainSettings) -> bool:
        after_grok = self.grokked is not None and epoch >= self.grokked + settings.epochs_after_grok
        return self.diverged is not None or epoch >= settings.max_epochs or after_grok

    def result(self) -> TrainResult:
        history = {k: np.asarray(v) for k, v in self.history.items()}
        return TrainResult(history, self.snapshots, self.memorized, self.grokked, self.diverged)


# The optimizers by `train.optimizer` (the schema's enum; tests/test_vocabulary.py checks they agree).
OPTIMIZERS = {
    "sgd": lambda params, s: torch.optim.SGD(
        params, lr=s.lr, weight_decay=s.weight_decay, momentum=s.momentum, foreach=True
    ),
    "adamw": lambda params, s: torch.optim.AdamW(params, lr=s.lr, weight_decay=s.weight_decay, foreach=True),
}


def make_optimizer(params: list[torch.Tensor], settings: TrainSettings) -> torch.optim.Optimizer:
    return OPTIMIZERS[settings.optimizer](params, settings)


class FullEvaluator:
    """Loss and accuracy on the whole train and validation sets in one pass over the table.

    It reads the weights and never changes them, so it may use token tables (equal to
    `forward` up to float32 rounding): built once per call, then applied in chunks of `rows`
    examples, which keep the MLP activations in cache. Weights with leading dimensions (stacked
    seeds) are evaluated together.
    """

    def __init__(self, dataset: Dataset, n_heads: int, rows: int = 2048):
        index = torch.cat([dataset.train_index, dataset.val_index])
        self.chunks = list(zip(*(x.split(rows) for x in dataset.subset(index)), strict=True))
        self.n_train = dataset.train_index.numel()
        self.n_heads = n_heads

    def __call__(self, params: Params) -> np.ndarray:
        """(train loss, train accuracy, validation loss, validation accuracy): shape (4, *lead)."""
        return self.on_device(params).cpu().numpy()

    @torch.no_grad()
    def on_device(self, params: Params) -> torch.Tensor:
        """What `__call__` returns, as a float64 tensor left on the weights' device (no read-back)."""
        tables = token_tables(params, self.n_heads)
        losses, hits = [], []
        for a, b, c in self.chunks:
            logits = forward_from_tables(params, tables, a, b)  # (*lead, N, p)
            target = c.expand(logits.shape[:-1])
            ce = F.cross_entropy(logits.flatten(0, -2), target.flatten(), reduction="none")
            losses.append(ce.view(target.shape))
            hits.append(logits.argmax(-1) == target)
        loss, correct = torch.cat(losses, -1), torch.cat(hits, -1).float()
        n = self.n_train
        parts = (loss[..., :n], correct[..., :n], loss[..., n:], correct[..., n:])
        return torch.stack([part.mean(-1) for part in parts]).double()


def initial_params(shape: ModelShape, settings: TrainSettings, seed: int) -> Params:
    """`init_params` multiplied by `init_scale` (Omnigrok's α, which delays or removes grokking), then put on
    the sphere ‖w‖ = `weight_norm` when the norm is held fixed. α = 1 multiplies by 1.0: bit for bit the same."""
    params = {k: v * settings.init_scale for k, v in init_params(shape, seed, settings.init).items()}
    if settings.weight_norm is not None:
        project_to_sphere(params, settings.weight_norm)
    return params


@torch.no_grad()
def project_to_sphere(params: Params, radius: float) -> None:
    """Rescale the whole weight vector in place to ‖w‖₂ = `radius` (Omnigrok's training at fixed norm),
    each stacked model's on its own."""
    scale = radius / squared_norm(params).sqrt()  # (*lead,)
    for value in params.values():
        value.mul_(scale.view(*scale.shape, *[1] * (value.dim() - scale.dim())))


def epoch_order(n_train: int, generator: torch.Generator, sampling: str) -> torch.Tensor:
    """The training examples (indices) one epoch visits, in order, drawn from `generator` (`SAMPLINGS`)."""
    if sampling == "replacement":
        return torch.randint(n_train, (n_train,), generator=generator, device="cpu")
    return torch.randperm(n_train, generator=generator, device="cpu")


def minibatches(order: torch.Tensor, batch_size: int, sampling: str) -> tuple[torch.Tensor, ...]:
    """`order` (S, N) cut into minibatches along its last dimension; `drop_last` leaves out a smaller last one."""
    batches = order.split(batch_size, dim=1)
    if sampling == "drop_last" and batches[-1].shape[1] < batch_size:
        return batches[:-1]
    return batches


def train_epoch(
    params: Params,
    optimizer: torch.optim.Optimizer,
    train: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    orders: torch.Tensor,
    settings: TrainSettings,
    n_heads: int,
) -> None:
    """One pass over the training examples `train` = (a, b, c) by every stacked model, model s taking
    minibatches in the order `orders[s]` (orders: (S, n_train), params: (S, *shape))."""
    train_a, train_b, train_c = train
    for batch in minibatches(orders, settings.batch_size, settings.sampling):
        logits = forward(params, train_a[batch], train_b[batch], n_heads)  # (S, B, p)
        per_example = F.cross_entropy(logits.flatten(0, 1), train_c[batch].flatten(), reduction="none")
        loss = per_example.view(batch.shape).mean(-1).sum()  # each seed's own mean loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if settings.grad_clip:
            clip_each_model(list(params.values()), settings.grad_clip)
        optimizer.step()
        if settings.weight_norm is not None:
            project_to_sphere(params, settings.weight_norm)


def order_generator(seed: int, drawn: int, n_train: int, sampling: str) -> torch.Generator:
    """The minibatch-order generator of a run seeded `seed` after `drawn` epochs: a run draws one epoch's
    order of its `n_train` training examples per epoch (`epoch_order`)."""
    generator = torch.Generator(device="cpu").manual_seed(seed)
    for _ in range(drawn):
        epoch_order(n_train, generator, sampling)
    return generator


def train_seed(
    dataset: Dataset,
    shape: ModelShape,
    settings: TrainSettings,
    thresholds: Thresholds,
    seed: int,
    device: torch.device,
    resume_path: str | Path | None = None,
) -> TrainResult:
    """Train one seed: a group of one (see `train_seeds`)."""
    return train_seeds(dataset, shape, settings, thresholds, [seed], device, resume_path)[seed]


def train_seeds(
    dataset: Dataset,
    shape: ModelShape,
    settings: TrainSettings,
    thresholds: Thresholds,
    seeds: Sequence[int],
    device: torch.device,
    resume_path: str | Path | None = None,
    fork: Fork | None = None,
) -> dict[int, TrainResult]:
    """Train `seeds` together as one stacked model (or resume an identical earlier attempt).

    A seed that has grokked (plus `epochs_after_grok`), diverged or reached `max_epochs` leaves the
    stack, so the others go on at the cost of the seeds still training. With a `fork`, `seeds` are its
    members, which start from its weights at its epoch (the first row of their histories) and count
    epochs on from there; a point already reached there is reached at that epoch.
    """
    seeds = list(seeds)
    dataset = dataset.to(device)
    evaluate = FullEvaluator(dataset, shape.n_heads)
    train = dataset.subset(dataset.train_index)
    n_train = dataset.train_index.numel()
    if settings.sampling == "drop_last" and n_train < settings.batch_size:
        raise ConfigError(
            f"train.sampling: drop_last with train.batch_size {settings.batch_size} above the {n_train} training "
            "examples leaves no minibatch; lower train.batch_size or use shuffle"
        )
    order_of = fork.orders if fork else {seed: (seed, 0) for seed in seeds}
    word = "child" if fork else "seed"  # what the log calls a member
    generators = {seed: order_generator(*order_of[seed], n_train, settings.sampling) for seed in seeds}
    # How long to train does not change the trajectory, so a longer run may resume a shorter one.
    trajectory = {k: v for k, v in asdict(settings).items() if k not in ("max_epochs", "epochs_after_grok")}
    stamp = fingerprint(
        {
            "shape": asdict(shape),
            "train": trajectory,
            "thresholds": asdict(thresholds),
            "seeds": seeds,
            "split": dataset.train_index.tolist(),
            "device": device.type,
            **({"fork": fork.stamp()} if fork else {}),
        }
    )
    runs = {seed: _SeedRun() for seed in seeds}
    resume = LoopState(resume_path, stamp)
    state = resume.load()
    if state is None:
        epoch, alive = fork.epoch if fork else 0, seeds
        inits = [fork.weights if fork else initial_params(shape, settings, seed) for seed in seeds]
        stacked = {name: torch.stack([init[name] for init in inits]) for name in shape.shapes()}
    else:
        tensors, meta = state
        epoch, alive = meta["epoch"], meta["alive"]
        stacked = {name: tensors[f"params/{name}"] for name in shape.shapes()}
        for seed in seeds:
            runs[seed] = _run_from(tensors, meta["points"][str(seed)], seed)
        log.info("resuming seeds %s from epoch %d (%s)", seeds, epoch, resume_path)
    params = {k: v.to(device).requires_grad_() for k, v in stacked.items()}
    optimizer = make_optimizer(list(params.values()), settings)
    if state is None:
        metrics = _epoch_metrics(evaluate, params)
        _record(runs, alive, epoch, metrics)
        for index, seed in enumerate(alive):
            _update_points(runs[seed], (word, seed), epoch, metrics[:, index], settings, thresholds)
        _snapshot(runs, alive, epoch, params, list(range(len(alive))))  # where it starts, whatever it reaches there
        params, optimizer, alive = _drop_finished(runs, alive, epoch, params, optimizer, settings)
    else:
        resume.restore(tensors, optimizer, [generators[seed] for seed in alive])

    started, start_epoch = time.perf_counter(), epoch
    while alive:
        epoch += 1
        orders = [epoch_order(n_train, generators[seed], settings.sampling) for seed in alive]
        train_epoch(params, optimizer, train, torch.stack(orders).to(device), settings, shape.n_heads)
        metrics = _epoch_metrics(evaluate, params)
        _record(runs, alive, epoch, metrics)
        saved = [
            index
            for index, seed in enumerate(alive)
            if _update_points(runs[seed], (word, seed), epoch, metrics[:, index], settings, thresholds)
        ]
        _snapshot(runs, alive, epoch, params, saved)
        if epoch % settings.snapshot_every == 0:
            rate = (epoch - start_epoch) / (time.perf_counter() - started)
            _log_progress(word, alive, epoch, metrics, rate, settings, runs)
        params, optimizer, alive = _drop_finished(runs, alive, epoch, params, optimizer, settings)
        if epoch % settings.snapshot_every == 0 and alive:
            points = {str(seed): _points_of(run) for seed, run in runs.items()}
            resume.save(
                _loop_tensors(params, runs),
                {"epoch": epoch, "alive": alive, "points": points},
                optimizer,
                [generators[seed] for seed in alive],
            )
    return {seed: run.result() for seed, run in runs.items()}


def _update_points(
    run: _SeedRun,
    member: tuple[str, int],
    epoch: int,
    metrics: np.ndarray,
    settings: TrainSettings,
    thresholds: Thresholds,
) -> bool:
    """After an epoch: divergence and points 1 and 2 of one seed (`member`, as the log names it: ("seed", 3) or
    ("child", 1)); whether this epoch's weights are one of its snapshots (a point, a multiple of
    `snapshot_every`, or its last epoch)."""
    if not math.isfinite(metrics[0]):
        log.error(
            "%s %d diverged (non-finite training loss) at epoch %d: lower train.lr or train.grad_clip", *member, epoch
        )
        run.diverged = epoch
        return False
    new_point = False
    if run.memorized is None and reached(metrics[1], thresholds.train_acc):
        run.memorized, new_point = epoch, True
        log.info("%s %d memorised the training set at epoch %d", *member, epoch)
    if run.grokked is None and reached(metrics[3], thresholds.val_acc):
        run.grokked, new_point = epoch, True
        log.info("%s %d generalised (grokked) at epoch %d", *member, epoch)
    return new_point or epoch % settings.snapshot_every == 0 or run.done(epoch, settings)


def _epoch_metrics(evaluate: FullEvaluator, params: Params) -> np.ndarray:
    """The stacked models' four metrics (`FullEvaluator`) and weight norms ‖w‖ as rows of a (5, S) array,
    read back to the host in one transfer."""
    with torch.no_grad():
        norms = squared_norm(params).sqrt().double()
    return torch.cat([evaluate.on_device(params), norms.unsqueeze(0)]).cpu().numpy()


def _record(runs: dict[int, _SeedRun], alive: list[int], epoch: int, metrics: np.ndarray) -> None:
    """Append one epoch's metrics and weight norms (`_epoch_metrics`, (5, S)) to the stacked seeds' histories."""
    for index, seed in enumerate(alive):
        for name, value in zip(HISTORY_COLUMNS, (epoch, *metrics[:, index]), strict=True):
            runs[seed].history[name].append(float(value))


def _snapshot(runs: dict[int, _SeedRun], alive: list[int], epoch: int, params: Params, indices: list[int]) -> None:
    """Save the weights of the stacked models `indices` as their seeds' snapshots of `epoch`, on the host: one
    gather and one transfer per parameter, however many seeds."""
    if not indices:
        return
    with torch.no_grad():
        chosen = {name: value.detach()[indices].to("cpu") for name, value in params.items()}  # indexing copies
    for position, index in enumerate(indices):
        runs[alive[index]].snapshots[epoch] = {name: value[position] for name, value in chosen.items()}


def _drop_finished(
    runs: dict[int, _SeedRun],
    alive: list[int],
    epoch: int,
    params: Params,
    optimizer: torch.optim.Optimizer,
    settings: TrainSettings,
) -> tuple[Params, torch.optim.Optimizer, list[int]]:
    """The stack without the seeds that are done after `epoch`: weights, optimizer and the seeds left."""
    keep = [index for index, seed in enumerate(alive) if not runs[seed].done(epoch, settings)]
    if len(keep) == len(alive):
        return params, optimizer, alive
    params, optimizer = _keep_models(params, optimizer, keep, settings)
    return params, optimizer, [alive[index] for index in keep]


def _keep_models(
    params: Params, optimizer: torch.optim.Optimizer, keep: list[int], settings: TrainSettings
) -> tuple[Params, torch.optim.Optimizer]:
    """The stacked weights and optimizer state of the models `keep` only (the others have finished)."""
    kept = {name: value.detach()[keep].clone().requires_grad_() for name, value in params.items()}
    new_optimizer = make_optimizer(list(kept.values()), settings)
    for old, new in zip(params.values(), kept.values(), strict=True):
        if old in optimizer.state:
            new_optimizer.state[new] = {
                key: value[keep].clone() if torch.is_tensor(value) and value.dim() > 0 else value
                for key, value in optimizer.state[old].items()
            }
    return kept, new_optimizer


def _log_progress(word: str, alive: list[int], epoch: int, metrics: np.ndarray, rate: float, settings, runs) -> None:
    """One line per seed (`word`: or child) still training (one line in all for a large group)."""
    if len(alive) > 8:
        grokked = sum(runs[seed].grokked is not None for seed in alive)
        log.info(
            "epoch %d: %d %ss training, %d of them grokked | %.1f epochs/s", epoch, len(alive), word, grokked, rate
        )
        return
    for index, seed in enumerate(alive):
        grokked = runs[seed].grokked
        end = settings.max_epochs if grokked is None else min(settings.max_epochs, grokked + settings.epochs_after_grok)
        eta = (end - epoch) / rate if rate > 0 else float("nan")
        train_loss, train_acc, val_loss, val_acc = metrics[:4, index]
        log.info(
            "%s %d epoch %d: train acc %.4f loss %.4f | val acc %.4f loss %.4f | %.1f epochs/s | ETA%s %.0f s",
            word,
            seed,
            epoch,
            train_acc,
            train_loss,
            val_acc,
            val_loss,
            rate,
            "" if grokked is not None else " at most",
            eta,
        )


def _points_of(run: _SeedRun) -> dict:
    return {"memorized": run.memorized, "grokked": run.grokked, "diverged": run.diverged}


def _loop_tensors(params: Params, runs: dict[int, _SeedRun]) -> dict:
    """What a training run's resume state holds besides the optimizer and the shuffle generators."""
    tensors: dict[str, object] = {f"params/{k}": v for k, v in params.items()}
    for seed, run in runs.items():
        for name, value in run.history.items():
            tensors[f"history/{seed}/{name}"] = np.asarray(value)
        for snap_epoch, snap in run.snapshots.items():
            for name, value in snap.items():
                tensors[f"snapshots/{seed}/{snap_epoch}/{name}"] = value
    return tensors


def _run_from(tensors: dict[str, torch.Tensor], points: dict, seed: int) -> _SeedRun:
    """One seed's loop state from a resume state's tensors and its points."""
    run = _SeedRun(**points)
    run.history = {name: tensors[f"history/{seed}/{name}"].tolist() for name in HISTORY_COLUMNS}
    prefix = f"snapshots/{seed}/"
    for name, value in tensors.items():
        if name.startswith(prefix):
            epoch, param = name[len(prefix) :].split("/")
            run.snapshots.setdefault(int(epoch), {})[param] = value
    return run
