"""The HDF5 file of one evaluated path: `results/paths/{kind}/{A}__{B}.h5`.

Datasets `t`, `train_loss`, `train_error`, `val_loss`, `val_error`, `grad_norm`, `train_ce`,
`val_ce`, `l2` (1-D over t; for chains, shape (segments, n_points), plus `node_epochs`). The losses:
`*_ce` is the cross-entropy, `l2` = (weight_decay/2)·‖w‖², and `*_loss` the training objective,
`*_ce + l2` where the weight decay is a loss term (SGD's coupled decay, the paper's) and `*_ce`
alone where it is decoupled from the gradient (AdamW); the root attribute `l2_in_loss` says which.
`grad_norm` and the sharpness are of that same objective. Fitted curves also hold
`controls/{k}/{param}` (the control points, endpoints included) and `fit_loss` (per epoch, over all
rounds), and the attributes `fit_rounds`, `fit_epochs` and `connected` (docs/fitting.md).
Segments and fitted curves measured with `paths.sharpness_points` > 0 also hold, 1-D over
`sharpness_t` (evenly spaced, 0 and 1 included), `top_eigenvalue`, `eigenvalue_residual`,
`lanczos_iterations`, `eigenvalue_converged`, `hessian_trace` and `hessian_trace_stderr`
(`grokscape.numerics.sharpness`); chains hold none.
Root attributes name the endpoints (seed, epoch) and the settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from grokscape.errors import DamagedFileError
from grokscape.numerics.curves import stack_controls
from grokscape.numerics.landscape import METRICS
from grokscape.numerics.model import Params
from grokscape.planning.endpoints import Endpoint
from grokscape.storage import atomic_write, open_h5, read_attrs, read_params, set_attrs, write_array, write_params

COLUMNS = ("t", *METRICS)


def path_attrs(kind: str, start: str, end: str, epochs: tuple[int, int], settings: Mapping, **extra: Any) -> dict:
    """The root attributes of a path file: what it is, its endpoints (name, seed, epoch), its settings."""
    return {
        "kind": kind,
        "start": start,
        "end": end,
        "start_seed": Endpoint.parse(start).seed,
        "end_seed": Endpoint.parse(end).seed,
        "start_epoch": epochs[0],
        "end_epoch": epochs[1],
        "settings": settings,
        **extra,
    }


def write_path(
    path: str | Path, columns: Mapping[str, Any], attrs: Mapping[str, Any], controls: Params | None = None
) -> None:
    with atomic_write(path) as tmp, h5py.File(tmp, "w") as handle:
        for name, values in columns.items():
            write_array(handle, name, values)
        if controls is not None:
            group = handle.create_group("controls")
            n_controls = next(iter(controls.values())).shape[0]
            for k in range(n_controls):
                write_params(group.create_group(str(k)), {name: v[k] for name, v in controls.items()})
        set_attrs(handle, attrs)


def read_path(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The path's columns and attributes; a file without the expected columns is damaged."""
    with open_h5(path) as handle:
        missing = [name for name in COLUMNS if name not in handle]
        if missing:
            raise DamagedFileError(path, f"it lacks datasets {missing}")
        columns = {name: handle[name][()] for name, obj in handle.items() if isinstance(obj, h5py.Dataset)}
    for name in METRICS:
        if not np.all(np.isfinite(columns[name])):
            raise DamagedFileError(path, f"{name} holds non-finite values")
    return columns, read_attrs(path)


def read_controls(path: str | Path) -> Params:
    """A fitted curve's control points, endpoints included, stacked: shape (K, *param_shape)."""
    with open_h5(path) as handle:
        if "controls" not in handle:
            raise DamagedFileError(path, "it holds no control points (`controls/`), as every fitted curve does")
        group = handle["controls"]
        return stack_controls([read_params(group[str(k)]) for k in range(len(group))])
