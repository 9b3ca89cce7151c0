"""The binary-operation table `a ∘ b = c` (mod p, or in S5) and its train/validation split.

The split depends on `data_seed` only, so runs with different model seeds see the same
cells: that is what makes point 1 of one seed comparable with point 1' of another. The table and
its split are built on the CPU (a CPU generator draws the split, so it is the same whatever device
a job uses); a job moves them to its device with `Dataset.to`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch

from grokscape.planning.tasks import S5_ORDER, is_prime
from grokscape.storage import read_attrs, read_table, write_table

OPERATIONS = ("mul", "add", "sub", "div", "s5")


def operation_table(operation: str, p: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """All equations a ∘ b = c as three int64 vectors: a ∈ [0, p−1], b ∈ [1, p−1] mod p, all pairs in S5."""
    if operation == "s5":
        return s5_table(p)
    a, b = torch.meshgrid(torch.arange(p, device="cpu"), torch.arange(1, p, device="cpu"), indexing="ij")
    a, b = a.reshape(-1), b.reshape(-1)
    if operation == "mul":
        c = a * b % p
    elif operation == "add":
        c = (a + b) % p
    elif operation == "sub":
        c = (a - b) % p
    elif operation == "div":
        if not is_prime(p):
            raise ValueError(f"task.operation=div needs a prime task.p, got {p}")
        inverse = torch.tensor([pow(int(x), -1, p) for x in b], device="cpu")
        c = a * inverse % p
    else:
        raise ValueError(f"task.operation must be one of {', '.join(OPERATIONS)}, got {operation!r}")
    return a, b, c


def s5_table(p: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Composition in S5 (Power et al.): token k is the k-th permutation of 0..4 in lexicographic
    order (token 0 is the identity), and c = a ∘ b is the permutation x ↦ a(b(x))."""
    if p != S5_ORDER:
        raise ValueError(f"task.operation=s5 needs task.p={S5_ORDER} (the order of S5), got {p}")
    perms = list(itertools.permutations(range(5)))
    index = {perm: k for k, perm in enumerate(perms)}
    a, b = torch.meshgrid(torch.arange(p, device="cpu"), torch.arange(p, device="cpu"), indexing="ij")
    a, b = a.reshape(-1), b.reshape(-1)
    compose = [index[tuple(perms[x][y] for y in perms[z])] for x, z in zip(a.tolist(), b.tolist(), strict=True)]
    c = torch.tensor(compose, device="cpu")
    return a, b, c


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
    n_train = round(train_fraction * n)
    if not 0 < n_train < n:
        raise ValueError(f"task.train_fraction={train_fraction} leaves an empty train or validation set")
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
