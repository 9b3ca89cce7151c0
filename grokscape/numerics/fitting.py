"""Training the free control points of a curve between two fixed endpoints (Garipov et al. 2018).

Minimises E_{t~U[0,1]} Loss(φθ(t)): `t_per_batch` values of t are drawn per minibatch, the fit
objective (cross-entropy plus the fit's own L2 term) is evaluated at each φθ(t), batched over t,
and backpropagated through the coefficients to the free control points. The endpoints never move.

The default recipe is Garipov et al.'s: SGD with momentum 0.9, the learning rate constant for the
first half of the epochs, then falling linearly to 1 % of it by 90 %, then constant. Without
momentum and the decay, a fit between two memorising seeds stopped with a train-error barrier on the
paper's task; with them it connects (docs/fitting.md). A fit that has not connected after its epochs
goes on in further rounds, up to a budget (`fit_curves`). Progress is resumable, mid-round too.

The minibatch orders and the t are drawn on the CPU from one CPU generator, so a fit sees the same draws
on every device; an epoch's t and their coefficients go to the device in one transfer, before its steps.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
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
from grokscape.planning.path_names import connects

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
    max_rounds: int  # rounds of `epochs` a curve gets at most to connect
    connect_error: float  # a curve connects when its train error stays at most this (claims.zero_error)

    @classmethod
    def from_config(cls, settings: Mapping, kind: str) -> FitSettings:
        """The recipe of a fitted curve kind (its section, `polyline:` or `bezier:`, with its knob
        `checkpoint_every`); `l2: auto` is the training's weight decay when it was a loss term (SGD's coupled
        decay), none for AdamW, whose decoupled decay is not part of any loss. A curve connects by
        `claims.zero_error`, the definition summary.csv and the claims use."""
        fields = [name for name in cls.__dataclass_fields__ if name != "connect_error"]
        values, train = section_values(settings, kind, fields), settings["train"]
        auto = float(train["weight_decay"]) if train["optimizer"] == "sgd" else 0.0
        l2 = auto if values["l2"] == "auto" else float(values["l2"])
        return cls(**{**values, "l2": l2, "connect_error": settings["claims"]["zero_error"]})


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


Evaluate = Callable[[list[Params]], list[dict[str, np.ndarray]]]


@dataclass
class FitResult:
    controls: Params  # (K, *shape), endpoints included
    epoch_loss: np.ndarray  # mean minibatch objective per epoch, over every round the curve was fitted
    metrics: dict[str, np.ndarray] | None = None  # `evaluate` of the curve after its last round
    rounds: int = 1  # rounds of the schedule it was fitted for (0: nothing to fit)
    connected: bool | None = None  # its train error stayed at most `connect_error` (None: not evaluated)


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
    evaluate: Evaluate | None = None,
) -> FitResult:
    """Fit one curve's interior control points: a batch of one (see `fit_curves`)."""
    return fit_curves(kind, n_controls, [(start, end)], dataset, objective, settings, device, resume_path, evaluate)[0]


def fit_curves(
    kind: str,
    n_controls: int,
    ends: Sequence[tuple[Params, Params]],
    dataset: Dataset,
    objective: Objective,
    settings: FitSettings | None,
    device: torch.device,
    resume_path: str | Path | None = None,
    evaluate: Evaluate | None = None,
) -> list[FitResult]:
    """Fit the interior control points of curves of one kind between each pair of `ends`, together.

    The curves are one stacked problem: every curve sees the t and minibatches it would see alone
    (one sampler seeded with `settings.seed`), its own mean loss, its own gradient clipping; they share
    only the passes through the model, so a batch of many curves costs about one curve's kernel launches
    on a GPU. With two control points (segments, which have no recipe: `settings` None) nothing is free.

    With `evaluate` (the metrics of curves given their control points, on the job's t grid), each round of
    `settings.epochs` epochs ends with an evaluation of the curves still being fitted: a curve whose train
    error stays at most `settings.connect_error` (the definition of `path_names.connects`) is done and never
    changes again; the others go on, alone in a smaller batch, for another round that restarts the schedule
    (and a fresh optimizer) from their current control points, the sampler drawing on, until
    `settings.max_rounds` rounds. Without `evaluate` the fit is one round."""
    if settings is not None and settings.max_rounds > 1 and evaluate is None:
        raise ValueError("fitting in more than one round needs `evaluate` to tell which curves connected")
    controls = [initial_controls(start, end, n_controls) for start, end in ends]
    if n_controls <= 2 or settings is None or settings.epochs == 0:
        metrics = evaluate(controls) if evaluate else [None] * len(controls)
        return [_result(curve, np.zeros(0), table, 0, settings) for curve, table in zip(controls, metrics, strict=True)]
    return _BatchFit(kind, n_controls, ends, controls, dataset.to(device), objective, settings, device).run(
        resume_path, evaluate
    )


def _result(controls: Params, epoch_loss: np.ndarray, metrics, rounds: int, settings: FitSettings | None) -> FitResult:
    connected = (
        None
        if metrics is None or settings is None
        else connects(float(metrics["train_error"].max()), settings.connect_error)
    )
    return FitResult(controls, epoch_loss, metrics, rounds, connected)


class _BatchFit:
    """The stacked control points of a batch of curves and the bookkeeping of their rounds: which curves
    are done (with their metrics), how many rounds each took, the objective per epoch (NaN where a curve
    was done), all resumable mid-round."""

    def __init__(
        self,
        kind: str,
        n_controls: int,
        ends: Sequence[tuple[Params, Params]],
        controls: list[Params],
        dataset: Dataset,
        objective: Objective,
        settings: FitSettings,
        device: torch.device,
    ):
        self.kind, self.n_controls, self.settings, self.device = kind, n_controls, settings, device
        self.dataset, self.objective = dataset, objective
        self.n_curves = len(ends)
        stacked = {k: torch.stack([curve[k] for curve in controls]).to(device) for k in controls[0]}  # (P, K, ...)
        self.first, self.last = {k: v[:, :1] for k, v in stacked.items()}, {k: v[:, -1:] for k, v in stacked.items()}
        self.free = {k: v[:, 1:-1].clone() for k, v in stacked.items()}  # every curve's free points, as they stand
        self.sampler = torch.Generator(device="cpu").manual_seed(settings.seed)
        self.round, self.epoch = 1, 0  # the round under way and its epochs done
        self.epoch_loss: list[np.ndarray] = []  # (P,) per epoch, NaN for curves already done
        self.rounds = np.zeros(self.n_curves, dtype=np.int64)
        self.done: dict[int, dict[str, np.ndarray]] = {}  # curve -> its metrics after its last round
        # With a constant rate and one round the number of epochs does not change the trajectory, so a
        # longer fit may resume a shorter one; a decaying schedule or a second round depends on it.
        longer_resumes = settings.schedule == "constant" and settings.max_rounds == 1
        ignored = ("checkpoint_every", "epochs") if longer_resumes else ("checkpoint_every",)
        self.stamp = fingerprint(
            {
                "kind": kind,
                "n_controls": n_controls,
                "fit": {k: v for k, v in asdict(settings).items() if k not in ignored},
                "objective": asdict(objective),
                "ends": [[digest(start), digest(end)] for start, end in ends],
                "device": device.type,
            }
        )

    def run(self, resume_path: str | Path | None, evaluate: Evaluate | None) -> list[FitResult]:
        resume = LoopState(resume_path, self.stamp)
        state = resume.load()
        if state is not None:
            self._restore(*state)
            log.info(
                "resuming %s fit of %d curve(s) from round %d, epoch %d (%s)",
                self.kind,
                self.n_curves,
                self.round,
                self.epoch,
                resume_path,
            )
        while True:
            active = [i for i in range(self.n_curves) if i not in self.done]
            self._fit_round(active, resume, state[0] if state is not None else None)
            state = None
            self.rounds[active] = self.round
            if evaluate is None:
                break
            for i, metrics in zip(active, evaluate([self.controls(i) for i in active]), strict=True):
                if (
                    connects(float(metrics["train_error"].max()), self.settings.connect_error)
                    or self.round == self.settings.max_rounds
                ):
                    self.done[i] = metrics
            if len(self.done) == self.n_curves:
                break
            self.round, self.epoch = self.round + 1, 0
            log.info(
                "%s fit: %d curve(s) not connected, round %d", self.kind, self.n_curves - len(self.done), self.round
            )
        losses = np.asarray(self.epoch_loss).reshape(-1, self.n_curves)  # (epochs, P)
        return [
            _result(
                {k: v.cpu() for k, v in self.controls(i).items()},
                losses[: self.rounds[i] * self.settings.epochs, i],
                self.done.get(i),
                int(self.rounds[i]),
                self.settings,
            )
            for i in range(self.n_curves)
        ]

    def controls(self, curve: int) -> Params:
        """A curve's control points as they stand, endpoints included, on the device."""
        return {k: torch.cat([self.first[k][curve], self.free[k][curve], self.last[k][curve]]) for k in self.free}

    def _fit_round(self, active: list[int], resume: LoopState, saved: dict | None) -> None:
        """The rest of this round's epochs for the curves in `active`, saving the state as it goes."""
        settings, objective = self.settings, self.objective
        index = torch.tensor(active, device=self.device)
        free = {k: v[index].clone().requires_grad_() for k, v in self.free.items()}
        first, last = ({k: v[index] for k, v in ends.items()} for ends in (self.first, self.last))
        optimizer = make_fit_optimizer(list(free.values()), settings)
        if saved is not None:
            resume.restore(saved, optimizer, [self.sampler])
        train_a, train_b, train_c = self.dataset.subset(self.dataset.train_index)
        n_curves, started, start_epoch = len(active), time.perf_counter(), self.epoch
        while self.epoch < settings.epochs:
            self.epoch += 1
            order = torch.randperm(train_a.numel(), generator=self.sampler, device="cpu").to(self.device)
            for group in optimizer.param_groups:
                group["lr"] = settings.lr * lr_factor(settings.schedule, self.epoch - 1, settings.epochs)
            total = torch.zeros(n_curves, dtype=torch.float64, device=self.device)
            batches = order.split(objective.batch_size)
            # the t of every minibatch at once (the same draws as one minibatch at a time), their coefficients
            # minibatch by minibatch (the same kernels, so the same bits), sent to the device in one transfer
            t = torch.rand(
                len(batches), settings.t_per_batch, generator=self.sampler, dtype=torch.float64, device="cpu"
            )
            epoch_coeffs = torch.stack([coefficients(self.kind, row, self.n_controls) for row in t]).to(self.device)
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
            row = np.full(self.n_curves, np.nan)
            row[active] = (total / len(batches)).cpu().numpy()
            self.epoch_loss.append(row)
            if self.epoch % settings.checkpoint_every == 0 or self.epoch == settings.epochs:
                rate = (self.epoch - start_epoch) / (time.perf_counter() - started)
                log.info(
                    "%s fit round %d, epoch %d/%d: mean loss along the curve(s) %s | %.1f epochs/s | ETA %.0f s",
                    self.kind,
                    self.round,
                    self.epoch,
                    settings.epochs,
                    np.array2string(row[active], precision=4, threshold=8),
                    rate,
                    (settings.epochs - self.epoch) / rate,
                )
                with torch.no_grad():
                    for k, value in free.items():
                        self.free[k][index] = value
                resume.save(self._tensors(), {"round": self.round, "epoch": self.epoch}, optimizer, [self.sampler])
        with torch.no_grad():
            for k, value in free.items():
                self.free[k][index] = value

    def _tensors(self) -> dict:
        """What a resume state holds besides the optimizer and sampler."""
        metrics = {f"metrics/{i}/{name}": values for i, table in self.done.items() for name, values in table.items()}
        return {
            **{f"free/{k}": v for k, v in self.free.items()},
            "epoch_loss": np.asarray(self.epoch_loss),
            "rounds": self.rounds,
            **metrics,
        }

    def _restore(self, tensors: dict[str, torch.Tensor], meta: dict) -> None:
        self.round, self.epoch = meta["round"], meta["epoch"]
        self.epoch_loss = list(tensors["epoch_loss"].numpy().reshape(-1, self.n_curves))
        self.rounds = tensors["rounds"].numpy().copy()
        with torch.no_grad():
            for name, value in self.free.items():
                value.copy_(tensors[f"free/{name}"])
        for name, value in tensors.items():
            if name.startswith("metrics/"):
                _, curve, metric = name.split("/")
                self.done.setdefault(int(curve), {})[metric] = value.numpy()
