"""The promises of docs/guarantees.md, each proven by carrying out the fault on the tiny configuration."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml
from conftest import REPO, SNAKEMAKE, assert_same_h5, local_environment, new_workdir, snakemake

pytestmark = pytest.mark.workflow


def _job_pid(root: int, script: str) -> int | None:
    """The process running `script` among the descendants of `root` (never anyone else's job)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    todo = list(children.get(root, []))
    while todo:
        pid = todo.pop()
        try:
            if script in (Path("/proc") / str(pid) / "cmdline").read_bytes().decode(errors="replace"):
                return pid
        except OSError:
            continue
        todo += children.get(pid, [])
    return None


def kill_job_when(workdir: Path, script: str, marker: Path, *args: str) -> subprocess.CompletedProcess:
    """Start Snakemake, SIGKILL the job running `script` once `marker` exists, return the failed run."""
    command = [SNAKEMAKE, "-s", str(REPO / "Snakefile"), "-d", str(workdir), "--cores", "2", *args]
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=workdir, env=local_environment()
    )
    deadline = time.monotonic() + 300
    while not marker.exists():
        assert proc.poll() is None, "the job finished before it could be killed"
        assert time.monotonic() < deadline, "the resume state never appeared"
        time.sleep(0.02)
    pid = _job_pid(proc.pid, script)
    assert pid is not None, f"no running process for {script}"
    os.kill(pid, signal.SIGKILL)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode != 0
    return subprocess.CompletedProcess(command, proc.returncode, out)


def set_config(workdir: Path, section: str, **values) -> None:
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config[section].update(values)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))


def test_killed_training_resumes_and_equals_an_uninterrupted_run(built_workflow, tmp_path):
    workdir = new_workdir(tmp_path)
    target = "results/seed0/points.json"
    kill_job_when(workdir, "train_seeds.py", workdir / "results/.resume/train/seeds0.h5", target)
    assert not (workdir / "results/seed0/history.h5").exists()  # no half-written output
    snakemake(workdir, target)
    log = (workdir / "results/logs/train/seeds0.log").read_text()
    assert re.search(r"resuming seeds \[0\] from epoch [1-9]", log), log
    reference = built_workflow / "results/seed0"
    for name in ("history.h5", "checkpoints.h5"):
        assert_same_h5(workdir / "results/seed0" / name, reference / name)
    assert json.loads((workdir / target).read_text()) == json.loads((reference / "points.json").read_text())
    assert not (workdir / "results/.resume/train/seeds0.h5").exists()  # cleaned up after success


def test_killed_curve_fit_resumes_and_equals_an_uninterrupted_fit(workflow_copy, tmp_path):
    target = "results/paths/polyline/seed0-mem__seed0-grok.h5"
    # one round here; a kill in a later round resumes as exactly (tests/test_fitting.py)
    set_config(workflow_copy, "polyline", epochs=240, checkpoint_every=20, max_rounds=1)
    reference = tmp_path / "reference"
    subprocess.run(["cp", "-a", str(workflow_copy), str(reference)], check=True)
    snakemake(reference, target)
    kill_job_when(
        workflow_copy,
        "evaluate_curves.py",
        workflow_copy / "results/.resume/paths/polyline" / "seed0-mem__seed0-grok.h5",
        target,
    )
    # the killed batch filed nothing; the table of the old settings stays until the refit replaces it
    snakemake(workflow_copy, target)
    log = (workflow_copy / "results/logs/paths/polyline/seed0-mem__seed0-grok.log").read_text()
    assert re.search(r"resuming polyline fit of 1 curve\(s\) from round 1, epoch [1-9]", log), log
    assert_same_h5(workflow_copy / target, reference / target)


def test_same_config_and_seed_give_identical_outputs_and_seeds_share_the_split(built_workflow, tmp_path):
    workdir = new_workdir(tmp_path)
    snakemake(workdir, "results/seed1/checkpoints.h5")
    for name in ("history.h5", "checkpoints.h5"):
        assert_same_h5(workdir / "results/seed1" / name, built_workflow / "results/seed1" / name)
    assert_same_h5(workdir / "results/dataset.h5", built_workflow / "results/dataset.h5")
    with (
        h5py.File(built_workflow / "results/seed0/checkpoints.h5") as a,
        h5py.File(built_workflow / "results/seed1/checkpoints.h5") as b,
    ):
        assert not np.array_equal(a["epochs/0/W_in"][()], b["epochs/0/W_in"][()])


BAD_VALUES = [
    ("task", "operation", "pow", "task.operation: 'pow' is not allowed; allowed values: mul, add, sub, div"),
    ("train", "optimizer", "adam", "train.optimizer: 'adam' is not allowed; allowed values: sgd, adamw"),
    ("task", "p", 2, "task.p: 2 is less than the minimum of 3"),
    ("task", "train_fraction", 1.0, "task.train_fraction: 1.0 is greater than or equal to the maximum of 1"),
    ("task", "train_fraction", 0, "task.train_fraction: 0 is less than or equal to the minimum of 0"),
    ("train", "lr", 0, "train.lr: 0 is less than or equal to the minimum of 0"),
    ("train", "batch_size", 0, "train.batch_size: 0 is less than the minimum of 1"),
    ("train", "max_epochs", -5, "train.max_epochs: -5 is less than the minimum of 1"),
    ("polyline", "epochs", -1, "polyline.epochs: -1 is less than the minimum of 0"),
    ("train", "seeds", [0, 0], "train.seeds: [0, 0] has non-unique elements"),
    ("points", "val_acc", 1.5, "points.val_acc: 1.5 is greater than the maximum of 1"),
    ("points", "train_acc", 0, "points.train_acc: 0 is less than or equal to the minimum of 0"),
    ("align", "method", "acts", "align.method: 'acts' is not allowed; allowed values: weights, activations"),
    ("train", "lrr", 0.1, "train: Additional properties are not allowed ('lrr' was unexpected); allowed keys:"),
]


@pytest.mark.parametrize(("section", "key", "value", "message"), BAD_VALUES)
def test_bad_configuration_fails_before_any_job_with_one_line(tmp_path, section, key, value, message):
    workdir = new_workdir(tmp_path, {section: {key: value}})
    result = snakemake(workdir, check=False)
    assert result.returncode != 0
    lines = [line for line in result.stdout.splitlines() if "config error" in line]
    assert len(lines) == 1 and message in lines[0], result.stdout
    assert "Traceback" not in result.stdout
    assert not (workdir / "results").exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"task": {"operation": "div", "p": 21}}, "task.p: div needs a prime modulus, got 21"),
        ({"task": {"operation": "s5"}}, "task.p: s5 needs 120 (the order of S5), got 31"),
        ({"device": "tpu"}, "device: 'tpu' is not allowed; allowed values: auto, cpu, cuda"),
        ({"model": {"n_heads": 5}}, "model.n_heads: must divide model.d_model=64, got 5"),
    ],
)
def test_settings_that_a_schema_cannot_check_also_fail_early(tmp_path, overrides, message):
    workdir = new_workdir(tmp_path, overrides)
    result = snakemake(workdir, "-n", check=False)
    assert result.returncode != 0 and message in result.stdout, result.stdout
    assert not (workdir / "results").exists()


def _corrupt_dataset(path: Path, dataset: str) -> None:
    with h5py.File(path) as handle:
        offset = handle[dataset].id.get_chunk_info(0).byte_offset
    with open(path, "r+b") as raw:
        raw.seek(offset)
        raw.write(b"\xff" * 16)


def test_truncated_checkpoint_is_named_with_the_command_to_rebuild_it(workflow_copy):
    checkpoints = workflow_copy / "results/seed0/checkpoints.h5"
    checkpoints.write_bytes(checkpoints.read_bytes()[: checkpoints.stat().st_size // 2])
    before = (workflow_copy / "results/fig2.pdf").read_bytes()
    result = snakemake(workflow_copy, "results/fig2.pdf", check=False)
    assert result.returncode != 0
    assert "grokscape: results/seed0/checkpoints.h5 is damaged" in result.stdout
    assert "snakemake --cores 1 --forcerun results/seed0/checkpoints.h5" in result.stdout
    assert (workflow_copy / "results/fig2.pdf").read_bytes() == before  # the old figure was not replaced


def test_corrupted_history_is_detected_not_plotted(workflow_copy):
    history = workflow_copy / "results/seed1/history.h5"
    _corrupt_dataset(history, "train_acc")
    result = snakemake(workflow_copy, "results/fig1.pdf", check=False)
    assert result.returncode != 0
    assert "grokscape: results/seed1/history.h5 is damaged" in result.stdout
    assert "checksum" in result.stdout.lower()


def test_corrupted_path_table_stops_its_figure(workflow_copy):
    table = workflow_copy / "results/paths/segment/seed0-mem__seed0-grok.h5"
    _corrupt_dataset(table, "grad_norm")
    result = snakemake(workflow_copy, "results/fig2.pdf", check=False)
    assert result.returncode != 0
    assert "paths/segment/seed0-mem__seed0-grok.h5 is damaged" in result.stdout


def test_nothing_loads_with_pickle():
    """Checkpoints, fitted curves and tables are HDF5 read by h5py: no code runs on loading."""
    sources = [*REPO.glob("grokscape/**/*.py"), *REPO.glob("workflow_scripts/*.py"), *REPO.glob("benchmarks/*.py")]
    for source in sources:
        text = source.read_text()
        assert not re.search(r"\bpickle\b|torch\.load\(|allow_pickle=True", text), source
