"""Device-correctness without a GPU: every tensor a job makes names its device.

A tensor made without naming its device lands on torch's default device, the CPU, and a GPU job then
mixes it with its GPU tensors and crashes. `GROKSCAPE_DEFAULT_DEVICE=meta` makes every such tensor a
meta tensor (no data), so a CPU run fails, or changes its results, exactly where a GPU run would mix
devices: the whole pipeline run under it must give the same files, bit for bit, as without it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import pytest
import torch
import yaml
from conftest import REPO, assert_same_h5, new_workdir, snakemake

from grokscape.errors import ConfigError
from grokscape.numerics.devices import DEFAULT_DEVICE_VARIABLE, default_device_from_environment, resolve_device
from grokscape.planning.sweeps import plan_sweeps


def test_cuda_without_a_gpu_is_one_clear_configuration_error():
    assert resolve_device("cpu").type == "cpu"
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert resolve_device("auto").type == "cpu"
    with pytest.raises(ConfigError, match="device: cuda was requested but no CUDA GPU is available"):
        resolve_device("cuda")


@pytest.mark.parametrize(("value", "device"), [("", None), ("meta", "meta"), (" cpu ", "cpu")])
def test_the_variable_names_the_default_device(monkeypatch, value, device):
    monkeypatch.setenv(DEFAULT_DEVICE_VARIABLE, value)
    assert default_device_from_environment() == (torch.device(device) if device else None)
    monkeypatch.delenv(DEFAULT_DEVICE_VARIABLE)
    assert default_device_from_environment() is None


@pytest.mark.parametrize("value", ["gpu", "cuda:x", "mps"])
def test_a_bad_default_device_is_one_line_naming_the_variable(monkeypatch, value):
    monkeypatch.setenv(DEFAULT_DEVICE_VARIABLE, value)
    with pytest.raises(ConfigError, match=f"^{DEFAULT_DEVICE_VARIABLE}='{value}' is not a device") as error:
        default_device_from_environment()
    assert "\n" not in str(error.value)


# A job script in miniature: a library-like function with the bug (a factory call naming no device) and
# its fixed twin, called inside `job()` as every workflow script calls its work.
PROBE = """
import types
import torch
from grokscape.scripting import job

def positions_unnamed(x):
    return x * torch.arange(x.shape[-1])

def positions_named(x):
    return x * torch.arange(x.shape[-1], device=x.device)

x = torch.ones(3, device="cpu")
with job(types.SimpleNamespace(log=[], threads=1, rule="probe")):
    print("default", torch.get_default_device())
    print("named", positions_named(x).tolist())
    try:
        print("unnamed", positions_unnamed(x).tolist())
    except RuntimeError as error:
        print("unnamed failed:", error)
print("after the job", positions_unnamed(x).tolist())
"""


def run_probe(variable: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != DEFAULT_DEVICE_VARIABLE}
    if variable is not None:
        env[DEFAULT_DEVICE_VARIABLE] = variable
    return subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=120)


def test_a_tensor_made_without_a_device_fails_in_a_job_under_the_meta_default():
    """The harness can fail: under `meta`, job() makes the device-less tensor a meta tensor and the product
    with a CPU tensor raises; the named twin is unaffected; leaving the job restores the CPU default."""
    result = run_probe("meta")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "default meta"
    assert lines[1] == "named [0.0, 1.0, 2.0]"
    assert lines[2] == "unnamed failed: Tensor on device meta is not on the expected device cpu!"
    assert lines[3] == "after the job [0.0, 1.0, 2.0]"
    assert f"tensors made without a device go to meta ({DEFAULT_DEVICE_VARIABLE})" in result.stderr


def test_without_the_variable_a_job_keeps_the_cpu_default():
    result = run_probe(None)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:3] == ["default cpu", "named [0.0, 1.0, 2.0]", "unnamed [0.0, 1.0, 2.0]"]


def test_a_job_stops_on_a_bad_default_device_with_one_line():
    result = run_probe("gpu")
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        f"grokscape: {DEFAULT_DEVICE_VARIABLE}='gpu' is not a device for tensors made without one: "
        "use one of meta, cpu, cuda (or cuda:N), or leave it unset"
    )
    assert "default" not in result.stdout  # the work never started


# The whole default pipeline with stacked seeds and curves in batches (Bézier curves too: a second one),
# shorter fits (connecting is not the point here), sweep runs of two stacked seeds, and point 2 at 90 %
# validation accuracy, reached early whatever the rounding (the tiny configuration's 99 % was measured
# robust for seeds trained alone; a stack rounds otherwise).
STACKED = {
    "points": {"val_acc": 0.9},
    "train": {"seeds_per_job": 2},
    "paths": {"per_job": 3, "extra": ["bezier/seed1-mem__seed1-grok"]},
    "polyline": {"epochs": 200},
    "bezier": {"epochs": 200},
    "sweeps": {"seeds": [0, 1], "seeds_per_job": 2, "max_epochs": 200},
}
# A segment to a checkpoint aligned by activation matching (the default run aligns by weight matching).
ACTIVATIONS = "results/paths/segment/seed0-mem__seed1-grok@seed0-mem.h5"
COMPARED = (".h5", ".json", ".csv")


def run_everything(workdir: Path, default_device: str) -> None:
    """The default target and one point of the weight-norm sweep, then the segment aligned by activations."""
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    _, seed, key = plan_sweeps(config, yaml.safe_load((REPO / "schemas/config.schema.yaml").read_text())).points[
        "weight_norm"
    ][0]
    # One thread per job: a 2-thread job on a busy 2-core machine waits for its descheduled thread.
    one_thread = ("--set-threads", "train=1")
    sweep_point = f"results/sweeps/runs/{key}/seed{seed}/points.json"
    env = {DEFAULT_DEVICE_VARIABLE: default_device}  # empty: none, whatever the caller's environment holds
    snakemake(workdir, "all", sweep_point, *one_thread, env=env)
    snakemake(workdir, ACTIVATIONS, *one_thread, "--config", "align={method: activations}", env=env)


def results(workdir: Path) -> dict[str, Path]:
    root = workdir / "results"
    return {str(p.relative_to(root)): p for p in sorted(root.rglob("*")) if p.suffix in COMPARED and p.is_file()}


@pytest.mark.workflow
def test_the_pipeline_under_the_meta_default_device_gives_the_same_results_bit_for_bit(tmp_path):
    plain, meta = new_workdir(tmp_path / "plain", STACKED), new_workdir(tmp_path / "meta", STACKED)
    run_everything(plain, "")
    run_everything(meta, "meta")

    logs = sorted((meta / "results/logs").rglob("*.log"))
    assert len(logs) > 40
    for log in logs:  # every job of the meta run ran under the meta default
        assert "tensors made without a device go to meta" in log.read_text(), log
    stacked = [
        "train/seeds0-1.log",
        "paths/segment/batch0-2.log",
        "paths/polyline/batch3-5.log",
        "paths/bezier/batch0-1.log",
        "paths/segment/seed0-mem__seed1-grok@seed0-mem.log",
        "planes/polyline/seed0-mem__seed1-mem.log",
    ]
    for name in stacked:
        assert (meta / "results/logs" / name).exists(), name
    assert len(list((meta / "results/logs/sweeps").glob("*/seeds0-1.log"))) == 1

    files, reference = results(meta), results(plain)
    assert files.keys() == reference.keys()
    expected = {
        "claims.json",
        "paths/summary.csv",
        "seed1/checkpoints.h5",
        "seed1/sharpness.h5",
        "paths/bezier/seed1-mem__seed1-grok.h5",
        "planes/polyline/seed0-mem__seed1-mem.h5",
        "aligned/seed1-grok@seed0-grok.h5",  # by weight matching
        "aligned/seed1-grok@seed0-mem.h5",  # by activation matching
    }
    assert expected <= files.keys()
    with h5py.File(files["aligned/seed1-grok@seed0-mem.h5"]) as f:
        assert json.loads(f.attrs["alignment"])["method"] == "activations"
    assert len([name for name in files if name.startswith("sweeps/runs/")]) == 2  # history and points
    for name, path in files.items():
        if path.suffix == ".h5":
            assert_same_h5(path, reference[name])
        else:
            assert path.read_bytes() == reference[name].read_bytes(), name
