"""Resume state for long loops (training, curve fitting), kept outside Snakemake's outputs.

Snakemake deletes the outputs of a failed job, so the state lives in `results/.resume/`.
It is stamped with a fingerprint of every setting that shapes the computation; a state with
another fingerprint is ignored and later overwritten, so changed settings start afresh.
`LoopState` is what both loops use: it restores and saves the optimizer and the random
generator itself, the loop adds its own tensors (weights, history) and metadata (epoch).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch

from grokscape.errors import DamagedFileError
from grokscape.storage import atomic_write, attr_value, open_h5, set_attrs, write_array

log = logging.getLogger(__name__)


def fingerprint(settings: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def digest(params: Mapping[str, torch.Tensor]) -> str:
    """A hash of weight values, so a state is tied to the exact endpoints it was made for."""
    h = hashlib.sha256()
    for name in sorted(params):
        h.update(name.encode())
        h.update(params[name].detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def save_state(path: str | Path, stamp: str, tensors: Mapping[str, Any], meta: Mapping[str, Any]) -> None:
    """Write tensors under slash-separated names plus JSON-able metadata, atomically."""
    with atomic_write(path) as tmp, h5py.File(tmp, "w") as handle:
        for name, value in tensors.items():
            write_array(handle, name, value)
        set_attrs(handle, {**meta, "fingerprint": stamp})


def load_state(path: str | Path, stamp: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]] | None:
    """The saved state if it exists, is readable and has this fingerprint; else None."""
    if not Path(path).exists():
        return None
    try:
        with open_h5(path) as handle:
            meta = {key: attr_value(value) for key, value in handle.attrs.items()}
            if meta.get("fingerprint") != stamp:
                log.info("ignoring resume state %s: it was made with other settings", path)
                return None
            names: list[str] = []
            handle.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
            tensors = {name: torch.from_numpy(np.asarray(handle[name][()])) for name in names}
    except DamagedFileError as error:
        log.warning("ignoring unreadable resume state: %s", error)
        return None
    return tensors, meta


def optimizer_tensors(optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """The optimizer's per-parameter state as `optimizer/{index}/{key}` entries for `save_state`."""
    return {
        f"optimizer/{index}/{key}": value
        for index, entry in optimizer.state_dict()["state"].items()
        for key, value in entry.items()
    }


def restore_optimizer(optimizer: torch.optim.Optimizer, tensors: Mapping[str, torch.Tensor]) -> None:
    state: dict[int, dict[str, torch.Tensor]] = {}
    for name, value in tensors.items():
        if name.startswith("optimizer/"):
            _, index, key = name.split("/")
            state.setdefault(int(index), {})[key] = value
    optimizer.load_state_dict({"state": state, "param_groups": optimizer.state_dict()["param_groups"]})


@dataclass
class LoopState:
    """The resume state of one loop: where it lives and its fingerprint. It carries the optimizer's and
    the random generators' state besides the loop's own tensors (weights, history) and metadata (epoch).
    Without a path it neither loads nor saves anything."""

    path: str | Path | None
    stamp: str

    def load(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]] | None:
        """The loop's saved tensors and metadata if a state with this fingerprint exists; else None."""
        state = load_state(self.path, self.stamp) if self.path else None
        if state is not None and "generators/0" not in state[0]:
            log.info("ignoring resume state %s: an older layout", self.path)
            return None
        return state

    @staticmethod
    def restore(
        tensors: Mapping[str, torch.Tensor], optimizer: torch.optim.Optimizer, generators: list[torch.Generator]
    ) -> None:
        """Put a loaded state's optimizer and generator state back (after the loop rebuilt its parameters)."""
        restore_optimizer(optimizer, tensors)
        for index, generator in enumerate(generators):
            generator.set_state(tensors[f"generators/{index}"])

    def save(
        self,
        tensors: Mapping[str, Any],
        meta: Mapping[str, Any],
        optimizer: torch.optim.Optimizer,
        generators: list[torch.Generator],
    ) -> None:
        if self.path:
            states = {f"generators/{index}": generator.get_state() for index, generator in enumerate(generators)}
            save_state(self.path, self.stamp, {**tensors, **optimizer_tensors(optimizer), **states}, meta)
