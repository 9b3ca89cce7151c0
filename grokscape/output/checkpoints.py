"""A seed's checkpoints: one HDF5 file, one group of named weight arrays per saved epoch.

Layout of `results/seed{S}/checkpoints.h5`::

    /                 attrs: seed, p, d_model, n_heads, d_mlp, memorized, grokked
    /epochs/{E}/{name}  float32 arrays, `name` as in `grokscape.numerics.model.ModelShape.shapes()`

Readable with h5py alone; loading executes no code.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py

from grokscape.errors import DamagedFileError, MissingCheckpointError
from grokscape.numerics.model import ModelShape, Params
from grokscape.storage import atomic_write, open_h5, read_params, set_attrs, write_params


def write_checkpoints(path: str | Path, snapshots: Mapping[int, Params], attrs: Mapping[str, Any]) -> None:
    with atomic_write(path) as tmp, h5py.File(tmp, "w") as handle:
        set_attrs(handle, attrs)
        epochs = handle.create_group("epochs")
        for epoch in sorted(snapshots):
            write_params(epochs.create_group(str(epoch)), snapshots[epoch])


def saved_epochs(path: str | Path) -> list[int]:
    with open_h5(path) as handle:
        return sorted(int(e) for e in handle["epochs"])


def load_checkpoint(path: str | Path, epoch: int) -> Params:
    with open_h5(path) as handle:
        have = sorted(int(e) for e in handle["epochs"])
        params = read_params(handle["epochs"][str(epoch)]) if epoch in have else None
    if params is None:
        raise MissingCheckpointError(f"{path} has no checkpoint at epoch {epoch}; saved epochs: {have}")
    expected = checkpoint_shape(path).shapes()
    if {k: tuple(v.shape) for k, v in params.items()} != expected:
        raise DamagedFileError(path, f"epoch {epoch} does not hold the weights of the model in its attributes")
    return params


def checkpoint_shape(path: str | Path) -> ModelShape:
    """The shape of the model whose weights a checkpoint file holds (its attributes)."""
    with open_h5(path) as handle:
        attrs = handle.attrs
        return ModelShape(int(attrs["p"]), int(attrs["d_model"]), int(attrs["n_heads"]), int(attrs["d_mlp"]))
