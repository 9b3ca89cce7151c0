"""Benchmark grokscape's two hot loops against plain PyTorch.

Run from the repository root:

    .venv/bin/python benchmarks/bench.py              # training epoch + path evaluation
    .venv/bin/python benchmarks/bench.py --pipeline   # also time the whole default workflow (~15 min more)

With the paper's settings (p = 97, 50 % split, d_model 128, 4 heads, MLP 512, batch 512,
SGD lr 0.1, weight decay 0.001, gradient clipping 5, train + validation accuracy after
every epoch) it times

a. one training epoch of `grokscape.numerics.training` (`train_epoch` + `FullEvaluator`, the inner
   loop of `train_seeds`) against a plain `nn.Module` transformer trained with
   `torch.optim.SGD` and evaluated on the whole table after the epoch;
b. the metrics of one path at 61 points (`grokscape.numerics.landscape.path_metrics`) against a loop
   that evaluates the model point by point (`grokscape.reference.point_metrics`), once with
   the plain model of (a) and once with grokscape's own per-example `forward`.

Before timing, it checks that each pair computes the same numbers (float32 tolerance) and
stops if not. Timings are medians over repetitions, after warm-up, with fast and plain
runs interleaved so that a change in machine load hits both alike.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # reference.py: the plain per-t loop checked against, kept with the tests

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from reference import point_metrics  # noqa: E402
from torch import nn  # noqa: E402

from grokscape.numerics.curves import coefficients, initial_controls, weights_at  # noqa: E402
from grokscape.numerics.data import Dataset, make_dataset  # noqa: E402
from grokscape.numerics.landscape import METRICS, Objective, path_metrics  # noqa: E402
from grokscape.numerics.model import ModelShape, Params, forward, init_params  # noqa: E402
from grokscape.numerics.training import FullEvaluator, TrainSettings, make_optimizer, train_epoch  # noqa: E402
from grokscape.planning.configuration import load_config  # noqa: E402

PAPER = load_config(ROOT / "config.yaml", ROOT / "schemas" / "config.schema.yaml")  # the paper's settings
SHAPE = ModelShape.from_config(PAPER)  # p 97, d_model 128, 4 heads, MLP 512
SETTINGS = TrainSettings.from_config(PAPER)  # SGD, lr 0.1, weight decay 0.001, batch 512, grad clip 5
N_POINTS = 61


def flops_per_example(shape: ModelShape) -> int:
    """FLOPs of one forward pass for one example, counting what the last-position prediction needs.

    A multiply-add is 2 FLOPs; d = d_model, h = n_heads·d_head, m = d_mlp, p = vocabulary:
      Q, K, V at the last position   2·d·3h
      K, V at the first position     2·d·2h
      scores and mixing (2 keys)     2·2h + 2·2h
      output projection W_O          2·h·d
      MLP in and out                 2·d·m + 2·m·d
      unembedding (last position)    2·d·p
    Element-wise work (embedding sums, softmax, ReLU, biases, cross-entropy) is not counted.
    For the paper's shape this is 484,608 FLOPs.
    """
    d, h, m, p = shape.d_model, shape.n_heads * shape.d_head, shape.d_mlp, shape.p
    return 2 * d * 3 * h + 2 * d * 2 * h + 8 * h + 2 * h * d + 4 * d * m + 2 * d * p


def epoch_flops(shape: ModelShape, n_train: int, n_total: int) -> int:
    """Forward + backward (backward = 2 × forward) over the training set, forward over the whole table."""
    return flops_per_example(shape) * (3 * n_train + n_total)


def path_flops(shape: ModelShape, n_train: int, n_val: int, n_points: int) -> int:
    """Per point: forward + backward over the training set (gradient norms), forward over validation."""
    return n_points * flops_per_example(shape) * (3 * n_train + n_val)


# --- the plain PyTorch baseline -------------------------------------------------------------


class PlainTransformer(nn.Module):
    """A textbook one-layer decoder-only transformer without LayerNorm over the sequence (a, b)."""

    def __init__(self, shape: ModelShape):
        super().__init__()
        d, p = shape.d_model, shape.p
        self.n_heads = shape.n_heads
        self.embed = nn.Embedding(p, d)
        self.pos = nn.Parameter(torch.randn(2, d, device="cpu"))
        self.qkv = nn.Linear(d, 3 * d, bias=False)
        self.attn_out = nn.Linear(d, d, bias=False)
        self.mlp_in = nn.Linear(d, shape.d_mlp)
        self.mlp_out = nn.Linear(shape.d_mlp, d)
        self.unembed = nn.Linear(d, p, bias=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits at the last position for `tokens` of shape (N, 2)."""
        n, seq = tokens.shape
        x = self.embed(tokens) + self.pos
        q, k, v = self.qkv(x).view(n, seq, 3, self.n_heads, -1).permute(2, 0, 3, 1, 4)  # each (N, heads, seq, d_head)
        mixed = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.attn_out(mixed.transpose(1, 2).reshape(n, seq, -1))
        x = x + self.mlp_out(torch.relu(self.mlp_in(x)))
        return self.unembed(x[:, -1])

    @torch.no_grad()
    def load_grokscape(self, params: Params) -> None:
        self.load_state_dict(module_weights(params))


def module_weights(params: Params) -> dict[str, torch.Tensor]:
    """grokscape weights (x @ W convention) as PlainTransformer's state (nn.Linear computes x @ W.T)."""
    return {
        "pos": params["pos"],
        "embed.weight": params["embed"],
        "qkv.weight": torch.cat([params["W_Q"], params["W_K"], params["W_V"]], dim=1).T,
        "attn_out.weight": params["W_O"].T,
        "mlp_in.weight": params["W_in"].T,
        "mlp_in.bias": params["b_in"],
        "mlp_out.weight": params["W_out"].T,
        "mlp_out.bias": params["b_out"],
        "unembed.weight": params["unembed"].T,
    }


PLAIN_MODEL = PlainTransformer(SHAPE)


def plain_forward(params: Params, a: torch.Tensor, b: torch.Tensor, n_heads: int) -> torch.Tensor:
    """The plain model run on grokscape weights (differentiable in them), for the per-t loop."""
    return torch.func.functional_call(PLAIN_MODEL, module_weights(params), (torch.stack([a, b], 1),))


# The per-t loops that path evaluation is compared with: the plain model, and grokscape's own
# per-example `forward` (which isolates what batching over t and the token tables gain).
PER_T_MODELS = {"plain": plain_forward, "grokscape forward": forward}


class PlainTrainer:
    """The standard loop: shuffle, minibatch SGD steps with clipping, then evaluate the whole table."""

    def __init__(self, dataset: Dataset, params: Params):
        self.model = PlainTransformer(SHAPE)
        self.model.load_grokscape(params)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=SETTINGS.lr, weight_decay=SETTINGS.weight_decay)
        self.train_tokens = torch.stack([dataset.a, dataset.b], 1)[dataset.train_index]
        self.train_labels = dataset.c[dataset.train_index]
        self.tokens, self.labels, self.is_train = torch.stack([dataset.a, dataset.b], 1), dataset.c, dataset.is_train

    def step(self, batch: torch.Tensor) -> None:
        loss = F.cross_entropy(self.model(self.train_tokens[batch]), self.train_labels[batch])
        self.optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), SETTINGS.grad_clip)
        self.optimizer.step()

    @torch.no_grad()
    def evaluate(self) -> tuple[float, float, float, float]:
        logits = self.model(self.tokens)
        loss = F.cross_entropy(logits, self.labels, reduction="none")
        correct = (logits.argmax(-1) == self.labels).float()
        t, v = self.is_train, ~self.is_train
        return loss[t].mean().item(), correct[t].mean().item(), loss[v].mean().item(), correct[v].mean().item()

    def epoch(self, generator: torch.Generator) -> None:
        for batch in torch.randperm(self.train_labels.numel(), generator=generator, device="cpu").split(
            SETTINGS.batch_size
        ):
            self.step(batch)
        self.evaluate()


class FastTrainer:
    """grokscape's epoch exactly as `train_seeds` runs it for one seed (a stack of one model)."""

    def __init__(self, dataset: Dataset, params: Params):
        self.params = {k: v.unsqueeze(0).clone().requires_grad_() for k, v in params.items()}
        self.optimizer = make_optimizer(list(self.params.values()), SETTINGS)
        self.train = dataset.subset(dataset.train_index)
        self.evaluate = FullEvaluator(dataset, SHAPE.n_heads)

    def epoch(self, generator: torch.Generator) -> None:
        order = torch.randperm(self.train[0].numel(), generator=generator, device="cpu").unsqueeze(0)
        train_epoch(self.params, self.optimizer, self.train, order, SETTINGS, SHAPE.n_heads)
        self.evaluate(self.params)


# --- checks ---------------------------------------------------------------------------------


def close(name: str, fast: object, plain: object, rtol: float, atol: float) -> None:
    """Stop the benchmark unless `fast` and `plain` (tensors, arrays or tuples of floats) agree."""
    fast, plain = (
        torch.as_tensor(np.asarray(torch.as_tensor(x, device="cpu").detach(), dtype=np.float64), device="cpu")
        for x in (fast, plain)
    )
    worst = (fast - plain).abs().max().item()
    if not torch.allclose(fast, plain, rtol=rtol, atol=atol):
        sys.exit(f"bench: {name} differ between the fast and the plain version (max |diff| {worst:.3g}): not timing")
    print(f"  ok  {name:<48} max |diff| {worst:.2g}")


def check_training(dataset: Dataset, params: Params) -> None:
    fast, plain = FastTrainer(dataset, params), PlainTrainer(dataset, params)
    tokens = torch.stack([dataset.a, dataset.b], 1)
    logits = forward(fast.params, dataset.a, dataset.b, SHAPE.n_heads)[0]
    close("logits on the whole table", logits, plain.model(tokens), 1e-4, 1e-4)
    close("full evaluation", fast.evaluate(fast.params)[:, 0], plain.evaluate(), 1e-5, 1e-5)
    order = torch.randperm(
        dataset.train_index.numel(), generator=torch.Generator(device="cpu").manual_seed(0), device="cpu"
    )
    one_batch = order[: SETTINGS.batch_size]
    train_epoch(fast.params, fast.optimizer, fast.train, one_batch.unsqueeze(0), SETTINGS, SHAPE.n_heads)
    plain.step(one_batch)
    stepped = PlainTransformer(SHAPE)
    stepped.load_grokscape({k: v.detach()[0] for k, v in fast.params.items()})
    for (name, fast_value), plain_value in zip(
        stepped.state_dict().items(), plain.model.state_dict().values(), strict=True
    ):
        close(f"weights after one SGD step: {name}", fast_value, plain_value, 1e-5, 1e-6)


def check_path(dataset: Dataset, controls: Params, coeffs: torch.Tensor, objective: Objective) -> None:
    fast = path_metrics(controls, coeffs, dataset, objective)
    weights = weights_at(coeffs, controls)
    for i in (0, len(coeffs) // 3, len(coeffs) - 1):
        point = {k: v[i] for k, v in weights.items()}
        for label, model in PER_T_MODELS.items():
            plain = point_metrics(point, dataset, objective, model)
            for name in METRICS:
                close(f"path {name} at t index {i} ({label})", fast[name][i], plain[name], 1e-4, 1e-5)


# --- timing ---------------------------------------------------------------------------------


def interleaved_medians(runs: dict[str, Callable[[], None]], repeats: int, warmup: int) -> dict[str, float]:
    """Median wall time of each run, alternating between them; `warmup` untimed rounds first."""
    for _ in range(warmup):
        for run in runs.values():
            run()
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def median_seconds(run: Callable[[], object], repeats: int) -> float:
    """Median wall time of `run` over `repeats` calls (no warm-up)."""
    return interleaved_medians({"run": run}, repeats, warmup=0)["run"]


def matmul_peak(n: int = 2048, repeats: int = 7) -> float:
    """Float32 GFLOP/s of a large square torch.mm: the practical peak of this machine."""
    x, y = torch.randn(n, n, device="cpu"), torch.randn(n, n, device="cpu")
    for _ in range(2):
        torch.mm(x, y)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(x, y)
        times.append(time.perf_counter() - start)
    return 2 * n**3 / statistics.median(times) / 1e9


def time_pipeline(threads: int) -> float:
    """Wall time of the whole default workflow, run by Snakemake into a scratch directory."""
    with tempfile.TemporaryDirectory(prefix="grokscape-bench-") as workdir:
        command = [
            str(ROOT / ".venv/bin/snakemake"),
            "--snakefile",
            str(ROOT / "Snakefile"),
            "--directory",
            workdir,
            "--cores",
            str(threads),
        ]
        start = time.perf_counter()
        subprocess.run(command, check=True, cwd=ROOT)
        return time.perf_counter() - start


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    vector = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    load = os.getloadavg()[0]
    threads = torch.get_num_threads()
    return (
        f"{cpu} ({vector}), nproc {os.cpu_count()}, torch {torch.__version__}, {threads} threads, "
        f"load average {load:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2, help="torch threads (the workflow's jobs use 2)")
    parser.add_argument("--repeats", type=int, default=7, help="timed repetitions (median is reported)")
    parser.add_argument("--epochs", type=int, default=5, help="training epochs per repetition")
    parser.add_argument("--pipeline", action="store_true", help="also time the whole default workflow (~15 min)")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)  # as every workflow job does (grokscape.scripting)
    torch.manual_seed(0)
    dataset = make_dataset("mul", SHAPE.p, 0.5, 0)
    n_train, n_val, n_total = dataset.train_index.numel(), dataset.val_index.numel(), dataset.c.numel()
    params = init_params(SHAPE, 0)
    objective = Objective(SHAPE.n_heads, SETTINGS.weight_decay, SETTINGS.batch_size, SETTINGS.optimizer == "sgd")
    # The paper's main curve: a one-bend polyline between two seeds' weights, bend off the midpoint.
    controls = initial_controls(init_params(SHAPE, 0), init_params(SHAPE, 1), 3)
    controls = {k: v.clone() for k, v in controls.items()}
    for value in controls.values():
        value[1] += 0.1 * torch.randn_like(value[1])
    coeffs = coefficients("polyline", torch.linspace(0, 1, N_POINTS, dtype=torch.float64, device="cpu"), 3)

    print(f"# {machine()}")
    print("checking that the fast and plain versions agree ...")
    check_training(dataset, params)
    check_path(dataset, controls, coeffs, objective)

    print("timing ...")
    peak = matmul_peak()
    fast, plain = FastTrainer(dataset, params), PlainTrainer(dataset, params)
    generators = {name: torch.Generator(device="cpu").manual_seed(0) for name in ("fast", "plain")}
    epochs = interleaved_medians(
        {
            "fast": lambda: [fast.epoch(generators["fast"]) for _ in range(args.epochs)],
            "plain": lambda: [plain.epoch(generators["plain"]) for _ in range(args.epochs)],
        },
        args.repeats,
        warmup=1,
    )
    epochs = {name: seconds / args.epochs for name, seconds in epochs.items()}
    weights = weights_at(coeffs, controls)
    points = [{k: v[i] for k, v in weights.items()} for i in range(N_POINTS)]
    paths = interleaved_medians(
        {
            "fast": lambda: path_metrics(controls, coeffs, dataset, objective),
            **{
                label: lambda model=model: [point_metrics(point, dataset, objective, model) for point in points]
                for label, model in PER_T_MODELS.items()
            },
        },
        max(1, args.repeats // 2),
        warmup=0,  # check_path ran them all already
    )
    pipeline = time_pipeline(args.threads) if args.pipeline else None

    header = ["task", "plain PyTorch", "grokscape", "speed-up", "plain GFLOP/s", "grokscape GFLOP/s", "GFLOP"]
    rows = [header, ["---"] + ["---:"] * (len(header) - 1)]
    path_work = path_flops(SHAPE, n_train, n_val, N_POINTS)
    for task, times, flops in (
        ("training epoch (s/epoch)", epochs, epoch_flops(SHAPE, n_train, n_total)),
        (f"path metrics, {N_POINTS} points (s); per-t loop, plain model", paths, path_work),
        (
            f"path metrics, {N_POINTS} points (s); per-t loop, grokscape's `forward`",
            {"fast": paths["fast"], "plain": paths["grokscape forward"]},
            path_work,
        ),
    ):
        rate = {name: flops / seconds / 1e9 for name, seconds in times.items()}
        rows.append(
            [
                task,
                f"{times['plain']:.3f}",
                f"{times['fast']:.3f}",
                f"**{times['plain'] / times['fast']:.2f}×**",
                f"{rate['plain']:.1f} ({rate['plain'] / peak:.0%} of peak)",
                f"{rate['fast']:.1f} ({rate['fast'] / peak:.0%} of peak)",
                f"{flops / 1e9:.2f}",
            ]
        )
    if pipeline is not None:
        rows.append(["whole default pipeline (s)", "", f"{pipeline:.0f}", "", "", "", ""])
    print()
    print(f"_{machine()}; float32 matmul peak {peak:.1f} GFLOP/s (2048² torch.mm); {datetime.date.today()}_")
    print()
    print("\n".join("| " + " | ".join(row) + " |" for row in rows))
    print()
    print(f"FLOPs per example (forward) {flops_per_example(SHAPE):,}; medians of {args.repeats} repetitions.")


if __name__ == "__main__":
    main()
