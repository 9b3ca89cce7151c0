"""Files users open: HDF5 tables and checkpoints, JSON summaries; all written atomically.

Every writer goes through `atomic_write`, so an interrupted job never leaves a file that
looks complete. Every reader turns a damaged file into one `DamagedFileError` line naming
the file and the command that rebuilds it. Nothing here unpickles anything.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch

from grokscape.errors import DamagedFileError


@contextmanager
def atomic_write(path: str | Path) -> Iterator[Path]:
    """Yield a temporary sibling of `path`; rename it into place only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def open_h5(path: str | Path) -> Iterator[h5py.File]:
    """Open an HDF5 file for reading; h5py failing to open or read it names the file (`DamagedFileError`).
    What the caller's own code raises inside the `with` block passes as it is."""
    if not Path(path).exists():
        raise FileNotFoundError(f"{path} does not exist")
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise DamagedFileError(path, _reason(error)) from error
    try:
        yield handle
    except (OSError, KeyError, ValueError, TypeError) as error:
        if not _raised_in_h5py(error):
            raise
        raise DamagedFileError(path, _reason(error)) from error
    finally:
        handle.close()


def _raised_in_h5py(error: BaseException) -> bool:
    """Whether `error` comes from h5py's own code (its innermost frame lies in h5py, Python or Cython)."""
    frame = error.__traceback__
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next
    return frame is not None and "h5py" in Path(frame.tb_frame.f_code.co_filename).parts


def _reason(error: BaseException) -> str:
    reason = f"{type(error).__name__}: {error}".splitlines()[0]
    if "filter returned failure" in reason:  # HDF5's words for a failed Fletcher-32 check
        return "checksum mismatch: its data were corrupted"
    return reason


def write_json(path: str | Path, content: Any) -> None:
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(content, indent=2, sort_keys=True) + "\n")


def read_json(path: str | Path) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DamagedFileError(path, f"not valid JSON: {error}") from error


def write_table(path: str | Path, columns: Mapping[str, Any], attrs: Mapping[str, Any] | None = None) -> None:
    """Write named arrays as HDF5 datasets; `attrs` go on the root (dicts as JSON strings)."""
    with atomic_write(path) as tmp, h5py.File(tmp, "w") as handle:
        for name, values in columns.items():
            write_array(handle, name, values)
        set_attrs(handle, attrs or {})


def read_table(path: str | Path, names: list[str] | None = None) -> dict[str, np.ndarray]:
    """Read datasets (all top-level ones by default) into numpy arrays."""
    with open_h5(path) as handle:
        names = names if names is not None else [k for k, v in handle.items() if isinstance(v, h5py.Dataset)]
        missing = [n for n in names if n not in handle]
        if missing:
            raise DamagedFileError(path, f"datasets {missing} missing")
        return {name: handle[name][()] for name in names}


def read_attrs(path: str | Path) -> dict[str, Any]:
    with open_h5(path) as handle:
        return {key: attr_value(value) for key, value in handle.attrs.items()}


def write_params(group: h5py.Group, params: Mapping[str, torch.Tensor]) -> None:
    for name, value in params.items():
        write_array(group, name, value)


def read_params(group: h5py.Group) -> dict[str, torch.Tensor]:
    return {name: torch.from_numpy(group[name][()]) for name in group}


def write_array(group: h5py.Group, name: str, values: Any) -> None:
    """One dataset, with a Fletcher-32 checksum so that corrupted bytes fail on reading
    instead of turning into silently wrong numbers (scalars and empty arrays cannot carry one)."""
    array = _numpy(values)
    group.create_dataset(name, data=array, fletcher32=array.ndim > 0 and array.size > 0)


def _numpy(values: Any) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().numpy()
    return np.asarray(values)


def set_attrs(obj: h5py.HLObject, attrs: Mapping[str, Any]) -> None:
    for key, value in attrs.items():
        obj.attrs[key] = json.dumps(value) if isinstance(value, (dict, list)) or value is None else value


def attr_value(value: Any) -> Any:
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str) and value[:1] in "{[n":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    if isinstance(value, np.generic):
        return value.item()
    return value
