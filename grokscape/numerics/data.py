"""The binary-operation table `a ∘ b = c` (mod p, or in S5) and its train/validation split.

The split depends on `data_seed` only, so runs with different model seeds see the same
cells: that is what makes point 1 of one seed comparable with point 1' of another. The table and
its split are built on the CPU (a CPU generator draws the split, so it is the same whatever device
a job uses); a job moves them to its device with `Dataset.to`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import torch

from grokscape.planning.configuration import train_count
from grokscape.storage import read_attrs, read_table, write_table

Table = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def _modular(result: Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]) -> Callable[[int], Table]:
    """The table of a ∘ b = `result(a, b, p)` mod p over a ∈ [0, p−1], b ∈ [1, p−1]."""

    def table(p: int) -> Table:
        a, b = torch.meshgrid(torch.arange(p, device="cpu"), torch.arange(1, p, device="cpu"), indexing="ij")
        a, b = a.reshape(-1), b.reshape(-1)
        return a, b, result(a, b, p)

    return table


def _inverses(b: torch.Tensor, p: int) -> torch.Tensor:
    return torch.tensor([pow(int(x), -1, p) for x in b], device="cpu")


def s5_table(p: int) -> Table:
    """Composition in S5 (Power et al.): token k is the k-th permutation of 0..4 in lexicographic
    order (token 0 is the identity), and c = a ∘ b is the permutation x ↦ a(b(x)); `p` is 120."""
    perms = list(itertools.permutations(range(5)))
    index = {perm: k for k, perm in enumerate(perms)}
    a, b = torch.meshgrid(torch.arange(p, device="cpu"), torch.arange(p, device="cpu"), indexing="ij")
    a, b = a.reshape(-1), b.reshape(-1)
    compose = [index[tuple(perms[x][y] for y in perms[z])] for x, z in zip(a.tolist(), b.tolist(), strict=True)]
    c = torch.tensor(compose, device="cpu")
    return a, b, c


# The tables by `task.operation` (the schema's enum; tests/test_vocabulary.py checks they agree).
TABLES: dict[str, Callable[[int], Table]] = {
    "mul": _modular(lambda a, b, p: a * b % p),
    "add": _modular(lambda a, b, p: (a + b) % p),
    "sub": _modular(lambda a, b, p: (a - b) % p),
    "div": _modular(lambda a, b, p: a * _inverses(b, p) % p),  # p prime: checked with the configuration
    "s5": s5_table,
}


def operation_table(operation: str, p: int) -> Table:
    """All equations a ∘ b = c as three int64 vectors."""
    return TABLES[operation](p)


@dataclass(frozen=True)
class Dataset:
    """The whole table plus a boolean train mask; `train_index` keeps the split's random order."""

    a: torch.Tensor
    b: torch.Tensor
    c: torch.Tensor
    is_train: torch.Tensor
    train_index: torch.Tensor
    val_index: torch.Tensor
    p: int

    def subset(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.a[index], self.b[index], self.c[index]

    def to(self, device: torch.device | str) -> Dataset:
        return Dataset(
            *(x.to(device) for x in (self.a, self.b, self.c, self.is_train, self.train_index, self.val_index)),
            p=self.p,
        )


def make_dataset(operation: str, p: int, train_fraction: float, data_seed: int) -> Dataset:
    a, b, c = operation_table(operation, p)
    n = a.numel()
    n_train = train_count(train_fraction, n)  # neither set empty: checked with the configuration
    order = torch.randperm(n, generator=torch.Generator(device="cpu").manual_seed(data_seed), device="cpu")
    train_index, val_index = order[:n_train], order[n_train:]
    is_train = torch.zeros(n, dtype=torch.bool, device="cpu")
    is_train[train_index] = True
    return Dataset(a, b, c, is_train, train_index, val_index, p)


DATASET_COLUMNS = ("a", "b", "c", "is_train", "train_index", "val_index")


def save_dataset(path: str, dataset: Dataset, attrs: dict) -> None:
    write_table(path, {name: getattr(dataset, name) for name in DATASET_COLUMNS}, {**attrs, "p": dataset.p})


def load_dataset(path: str) -> Dataset:
    columns = read_table(path, list(DATASET_COLUMNS))
    return Dataset(**{k: torch.from_numpy(v) for k, v in columns.items()}, p=int(read_attrs(path)["p"]))
