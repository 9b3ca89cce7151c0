"""Shared fixtures: the repository, the tiny configuration, and real Snakemake runs on it."""

from __future__ import annotations

import ast
import dataclasses
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
import yaml

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "schemas" / "config.schema.yaml"
TINY = REPO / "tests" / "tiny.yaml"
# Snakemake beside this Python (a virtual environment's), else the one on PATH (installed with
# `pip install --target`, as benchmarks/gpu_check.sh does on a machine without a virtual environment).
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
if not Path(SNAKEMAKE).exists():
    SNAKEMAKE = shutil.which("snakemake") or SNAKEMAKE

torch.set_num_threads(1)


@functools.cache
def paper_config() -> dict:
    """config.yaml as the workflow checks it: the paper's settings (read only: shared by every caller)."""
    from grokscape.planning.configuration import load_config

    return load_config(REPO / "config.yaml", SCHEMA)


def paper(settings_class, *args, **changes):
    """A settings dataclass as its one constructor builds it from the paper's configuration, with `changes`."""
    return dataclasses.replace(settings_class.from_config(paper_config(), *args), **changes)


def tiny_config() -> dict:
    """The full configuration a tiny workflow run sees: config.yaml overridden by tiny.yaml."""
    from grokscape.planning.configuration import check_config

    base = yaml.safe_load((REPO / "config.yaml").read_text())
    for section, values in yaml.safe_load(TINY.read_text()).items():
        base[section] = {**base[section], **values} if isinstance(values, dict) else values
    return check_config(base, SCHEMA)


@functools.cache
def tiny_problem() -> tuple:
    """The tiny configuration's dataset, model shape, training settings and point thresholds, for tests that
    train without Snakemake: one source, so they grok exactly when the workflow's tiny runs do."""
    from grokscape.numerics.data import make_dataset
    from grokscape.numerics.model import ModelShape
    from grokscape.numerics.training import TrainSettings
    from grokscape.planning.points import Thresholds

    config = tiny_config()
    task = config["task"]
    dataset = make_dataset(task["operation"], task["p"], task["train_fraction"], task["data_seed"])
    return dataset, *(cls.from_config(config) for cls in (ModelShape, TrainSettings, Thresholds))


def new_workdir(path: Path, overrides: dict | None = None) -> Path:
    """A working directory holding config.yaml (the tiny one, plus `overrides` per section)."""
    path.mkdir(parents=True, exist_ok=True)
    config = tiny_config()
    for section, values in (overrides or {}).items():
        config[section] = {**config[section], **values} if isinstance(values, dict) else values
    (path / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@functools.cache
def local_environment() -> dict[str, str]:
    """The environment of local Snakemake runs: SLURM's `scontrol` replaced by one that fails at once.

    Snakemake loads every installed executor plugin at start-up, and the SLURM plugin then asks
    `scontrol show config`, which waits 10 s for a controller where SLURM is installed but not running
    (as after the cluster test stops the one it started). Local runs never use SLURM."""
    shim = Path(tempfile.mkdtemp(prefix="grokscape-local-"))
    (shim / "scontrol").write_text("#!/bin/sh\nexit 1\n")
    (shim / "scontrol").chmod(0o755)
    return {**os.environ, "PATH": f"{shim}{os.pathsep}{os.environ.get('PATH', '')}"}


def snakemake(
    workdir: Path, *args: str, check: bool = True, timeout: int = 1800, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run real Snakemake on the repository's Snakefile in `workdir` (with `env` added to its environment);
    stdout holds stderr too."""
    command = [SNAKEMAKE, "-s", str(REPO / "Snakefile"), "-d", str(workdir), "--cores", "2", *args]
    result = subprocess.run(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        cwd=workdir,
        env={**local_environment(), **(env or {})},
    )
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{result.stdout[-6000:]}")
    return result


def jobs_planned(workdir: Path, *args: str) -> dict[str, int]:
    """Rule name -> number of jobs that a dry run would execute."""
    out = snakemake(workdir, "-n", *args, "--quiet", "rules").stdout  # targets before --quiet, which takes values
    counts = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit() and parts[0] not in ("total", "job"):
            counts[parts[0]] = int(parts[1])
    return counts


@pytest.fixture(scope="session")
def built_workflow(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One complete tiny run of every figure and table, shared by the workflow tests (read-only)."""
    workdir = new_workdir(tmp_path_factory.mktemp("built"))
    snakemake(workdir)
    return workdir


@pytest.fixture
def workflow_copy(built_workflow: Path, tmp_path: Path) -> Path:
    """A private copy of the complete run, for tests that change or damage it."""
    target = tmp_path / "run"
    shutil.copytree(built_workflow, target, symlinks=True)
    return target


def files_under(folder: Path) -> list[str]:
    """Every file under `folder`, as sorted paths relative to it."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def h5_contents(path: Path) -> dict[str, tuple[str, tuple[int, ...], bytes]]:
    """Every dataset and attribute of an HDF5 file, by name (`{object}@{attribute}` for attributes), as
    (dtype, shape, bytes): equal contents are equal bit for bit."""

    def raw(value: object) -> tuple[str, tuple[int, ...], bytes]:
        array = np.asarray(value)
        return array.dtype.str, array.shape, array.tobytes()

    out: dict[str, tuple[str, tuple[int, ...], bytes]] = {}
    with h5py.File(path) as handle:

        def keep(name: str, obj: h5py.HLObject) -> None:
            out.update({f"{name}@{key}": raw(value) for key, value in obj.attrs.items()})
            if isinstance(obj, h5py.Dataset):
                out[name] = raw(obj[()])

        keep("", handle)
        handle.visititems(keep)
    return out


def assert_same_h5(a: Path, b: Path) -> None:
    """Two HDF5 files hold the same datasets and attributes, bit for bit."""
    left, right = h5_contents(a), h5_contents(b)
    assert left.keys() == right.keys(), f"{a.name}: other datasets or attributes"
    for name, value in left.items():
        assert value == right[name], f"{a.name}:{name} differs"


def assert_path_endpoints_match_training(workdir: Path) -> None:
    """Every path's cross-entropy and error at its two ends equal what training measured at those epochs
    (to 1e-5): path jobs read the right weights, on the right device, and compute what training did."""
    histories = {}
    for seed in (0, 1):
        with h5py.File(workdir / f"results/seed{seed}/history.h5") as f:
            histories[seed] = {k: f[k][()] for k in f}
    paths = sorted((workdir / "results/paths").glob("*/*.h5"))
    assert paths
    for path in paths:
        with h5py.File(path) as f:
            columns = {k: f[k][()] for k in ("train_ce", "val_ce", "train_error", "val_error")}
            attrs = dict(f.attrs)
        for end, index in (("start", 0), ("end", -1)):
            history, epoch = histories[int(attrs[f"{end}_seed"])], int(attrs[f"{end}_epoch"])
            at = {k: np.reshape(v, -1)[index] for k, v in columns.items()}
            where = (path.name, end)
            assert at["train_ce"] == pytest.approx(history["train_loss"][epoch], abs=1e-5), where
            assert at["val_ce"] == pytest.approx(history["val_loss"][epoch], abs=1e-5), where
            assert at["train_error"] == pytest.approx(1 - history["train_acc"][epoch], abs=1e-5), where
            assert at["val_error"] == pytest.approx(1 - history["val_acc"][epoch], abs=1e-5), where


def edited_source(source: str, edit: str) -> str:
    """`source` with a comment, docstring and layout edit ("comment"), a new statement at its end ("code", for a
    script), or a new first statement in the body of its top-level definition named `edit`."""
    if edit == "comment":
        body = source.split('"""', 2)[2]  # a new module docstring, a comment, blank lines
        return '"""Reworded."""\n\n# an added comment\n' + body.replace("\n\n", "\n\n\n") + "\n# another\n"
    if edit == "code":
        return source + "\n_edited = True\n"
    definition = next(node for node in ast.parse(source).body if getattr(node, "name", None) == edit)
    first = definition.body[0]
    documented = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
    lines = source.splitlines(keepends=True)
    lines.insert(first.end_lineno if documented else first.lineno - 1, " " * first.col_offset + "_edited = True\n")
    return "".join(lines)
