"""The workflow on SLURM through snakemake-executor-plugin-slurm, proven on a real one-node cluster.

`test_slurm_run_matches_local_run` installs and starts SLURM on this machine
(tests/cluster/setup_slurm.sh: needs root and apt-get) and runs the tiny configuration with
`--profile profiles/slurm`. It overrides only what a GPU-less test node needs (the GPU request,
the status command) and, in both runs, the thread count (see THREADS_PER_JOB). It checks that
every job went through sbatch with the profile's partition and the rule's CPUs, memory and time,
and that the results equal, bit for bit, those of a plain `snakemake --cores 2` run.
`test_profile_requests_gpus_for_training_and_curves` is a dry run of the real profile; it needs
only the plugin installed.

Run: `GROKSCAPE_TEST_SLURM=1 pytest tests/cluster` (2-3 minutes, most of it the plugin's status
polling), as .ci/run does on CI's throwaway machine. Without that variable the SLURM test is skipped
with its reason, so the README's test command never installs packages, writes system configuration
or starts daemons; and it never touches a slurm.conf that setup_slurm.sh did not write.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.cluster

REPO = Path(__file__).resolve().parents[2]
SETUP = Path(__file__).with_name("setup_slurm.sh")
CONF = Path("/etc/slurm/slurm.conf")
MARK = "# Written by tests/cluster/setup_slurm.sh"
PROFILE = REPO / "profiles" / "slurm"
TINY = REPO / "tests" / "tiny.yaml"
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
TARGETS = ["results/fig1.pdf", "results/fig2.pdf"]
SEGMENT = "results/paths/segment/seed0-mem__seed0-grok.h5"  # what fig2 draws, from seed 0 of tiny.yaml
GPU_RULES = ("train", "curves")
GPU_KEYS = ("gpu", "gpus", "gpu_model", "gres", "cpus_per_gpu", "tasks_per_gpu")
RUN_LIMIT = 900  # seconds; a normal run takes 1-3 minutes
# One thread per training and curve job in both runs (the rules' own default, set explicitly so
# that the comparison does not depend on it): same threads => bit-identical CPU results. It also
# lets both seeds train side by side on the 2-CPU test node.
THREADS_PER_JOB = 1
SET_THREADS = ["--set-threads", f"train={THREADS_PER_JOB}", f"curves={THREADS_PER_JOB}"]
SUBMITTED = re.compile(r"has been submitted with SLURM jobid (\d+) \(log: (\S+)\)")
THREADS = re.compile(r"training seeds \[(\d+)\] on (\w+) with (\d+) threads")


def profile() -> dict:
    return yaml.safe_load((PROFILE / "config.yaml").read_text())


def partitions(settings: dict) -> list[str]:
    """The partitions the profile names, its default one first."""
    names = [settings["default-resources"]["slurm_partition"]]
    names += [r["slurm_partition"] for r in settings.get("set-resources", {}).values() if "slurm_partition" in r]
    return list(dict.fromkeys(names))


def partition_of(settings: dict, rule: str) -> str:
    return settings.get("set-resources", {}).get(rule, {}).get("slurm_partition", partitions(settings)[0])


def without_gpus(settings: dict) -> list[str]:
    """The profile's set-resources, GPU requests replaced by gpu=0 (a command-line
    --set-resources replaces the profile's whole list, so everything else is repeated)."""
    overrides = []
    for rule, resources in settings.get("set-resources", {}).items():
        overrides += [f"{rule}:{key}={value}" for key, value in resources.items() if key not in GPU_KEYS]
        if any(key in GPU_KEYS for key in resources):
            overrides.append(f"{rule}:gpu=0")
    return overrides


def workdir(path: Path) -> Path:
    """A working directory with the repository's config.yaml (the Snakefile reads it relative to -d)."""
    path.mkdir(parents=True)
    shutil.copy(REPO / "config.yaml", path / "config.yaml")
    return path


def snakemake(work: Path, targets: list[str], *args: str, limit: int = RUN_LIMIT) -> str:
    """Make `targets` with the repository's Snakefile in `work` and tiny.yaml; return the output."""
    command = ["timeout", "-k", "10", str(limit), SNAKEMAKE, "-s", str(REPO / "Snakefile"), "-d", str(work)]
    # targets first: options such as --set-threads take several values and would swallow them
    command += [*targets, "--configfile", str(TINY), *args]
    # timeout -k: Snakemake traps SIGTERM and would keep waiting for its jobs.
    result = subprocess.run(command, cwd=work, capture_output=True, text=True)
    output = result.stdout + result.stderr
    if result.returncode != 0:
        logs = "".join(
            f"\n--- {log}\n{log.read_text()[-3000:]}" for log in sorted(work.glob(".snakemake/slurm_logs/**/*.log"))
        )
        timed_out = " (timed out)" if result.returncode in (124, 137) else ""
        pytest.fail(f"snakemake {' '.join(args)} failed{timed_out}, rc={result.returncode}:\n{output[-6000:]}{logs}")
    return output


def seeds() -> list[int]:
    return yaml.safe_load(TINY.read_text())["train"]["seeds"]


def h5_contents(path: Path) -> dict:
    """Every dataset and every attribute of an HDF5 file, by name."""
    import h5py

    contents = {}
    with h5py.File(path, "r") as handle:
        contents["/attrs"] = dict(handle.attrs)

        def visit(name, item):
            contents[f"{name}/attrs"] = dict(item.attrs)
            if isinstance(item, h5py.Dataset):
                contents[name] = item[()]

        handle.visititems(visit)
    return contents


def assert_same_h5(path: Path, reference: Path) -> None:
    import numpy as np

    got, want = h5_contents(path), h5_contents(reference)
    assert sorted(got) == sorted(want), f"{path}: other datasets than the local run's"
    for name, value in want.items():
        if isinstance(value, dict):
            assert sorted(got[name]) == sorted(value), f"{path}:{name}: other attributes"
            for key in value:
                assert np.array_equal(got[name][key], value[key]), f"{path}:{name} attribute {key} differs"
        else:
            assert np.array_equal(got[name], value), f"{path}:{name} differs from the local run"


def threads_used(work: Path) -> dict[int, tuple[str, int]]:
    """seed -> (device, threads) from the train logs' 'training seeds [N] on D with T threads' (one seed a job)."""
    used = {}
    for seed in seeds():
        match = THREADS.search((work / f"results/logs/train/seeds{seed}.log").read_text())
        assert match, f"no 'training seeds [{seed}] on ... with ... threads' line in {work}/results/logs/train"
        used[seed] = (match[2], int(match[3]))
    return used


def squeue_records() -> dict[str, dict[str, str]]:
    """SLURM job id -> partition, state, CPUs, memory, time limit, comment (finished jobs included)."""
    fields = "%i|%P|%T|%C|%m|%l|%k"
    out = subprocess.run(
        ["squeue", "--states=all", "-h", "-o", fields], capture_output=True, text=True, check=True
    ).stdout
    keys = ("id", "partition", "state", "cpus", "memory", "limit", "comment")
    return {line.split("|")[0]: dict(zip(keys, line.split("|"), strict=True)) for line in out.splitlines()}


@pytest.fixture(scope="module")
def slurm(request):
    """A running one-node SLURM; stopped afterwards if this test started it."""
    if os.environ.get("GROKSCAPE_TEST_SLURM") != "1":
        pytest.skip("installs SLURM and writes /etc/slurm/slurm.conf: runs only where CI asks (GROKSCAPE_TEST_SLURM=1)")
    if CONF.exists() and not CONF.read_text().startswith(MARK):
        pytest.skip(f"{CONF} was not written by tests/cluster/setup_slurm.sh: an existing SLURM is left alone")
    if os.geteuid() != 0:
        pytest.skip("the SLURM test needs root: it installs and starts munge, slurmctld and slurmd")
    if shutil.which("apt-get") is None and shutil.which("slurmctld") is None:
        pytest.skip("the SLURM test needs apt-get (Debian/Ubuntu) to install SLURM, or SLURM installed")
    pytest.importorskip("snakemake_executor_plugin_slurm", reason="pip install snakemake-executor-plugin-slurm")
    was_running = subprocess.run(["bash", str(SETUP), "status"], capture_output=True).returncode == 0
    env = {**os.environ, "SLURM_PARTITIONS": " ".join(partitions(profile()))}
    start = subprocess.run(["bash", str(SETUP), "start"], capture_output=True, text=True, env=env, timeout=600)
    if start.returncode != 0:
        pytest.fail(f"setup_slurm.sh start failed (rc={start.returncode}):\n{start.stdout}\n{start.stderr}")
    yield
    if not was_running:
        subprocess.run(["scancel", "--me"], capture_output=True)  # nothing left queued on the cluster it started
        subprocess.run(["bash", str(SETUP), "stop"], capture_output=True)


def test_slurm_run_matches_local_run(slurm, tmp_path):
    settings = profile()
    local, cluster = workdir(tmp_path / "local"), workdir(tmp_path / "slurm")
    compared = [f"results/seed{seed}/{name}" for seed in seeds() for name in ("history.h5", "checkpoints.h5")]
    compared += ["results/dataset.h5", SEGMENT]
    points = [f"results/seed{seed}/points.json" for seed in seeds()]

    snakemake(local, compared + points, "--cores", "2", *SET_THREADS)
    output = snakemake(
        cluster,
        TARGETS,
        *SET_THREADS,
        "--profile",
        str(PROFILE),
        "--set-resources",
        *without_gpus(settings),
        "--slurm-status-command",
        "squeue",  # this test cluster has no slurmdbd, so no sacct
        "--slurm-init-seconds-before-status-checks",
        "2",
        "--slurm-keep-successful-logs",
    )

    # (a) Every heavy job went through sbatch, each with its own SLURM job and log; the cheap
    # localrules (dataset, figures) ran in Snakemake's own process, queueing nothing.
    submitted = {jobid: Path(log) for jobid, log in SUBMITTED.findall(output)}
    rules = sorted(log.relative_to(cluster / ".snakemake/slurm_logs").parts[0] for log in submitted.values())
    assert rules == sorted(["rule_curves"] + ["rule_train"] * len(seeds())), (
        f"SLURM jobs submitted: {rules}\n{output[-3000:]}"
    )
    for log in submitted.values():
        assert log.is_file(), f"SLURM log {log} missing"
    for seed in seeds():
        (log,) = [log for log in submitted.values() if log.parent.name == f"seeds{seed}" and "rule_train" in log.parts]
        wanted = f"training seeds [{seed}] on cpu with {THREADS_PER_JOB} threads"
        assert wanted in log.read_text(), f"{log}: not the training job"
    records = squeue_records()
    for jobid, log in submitted.items():
        rule = log.relative_to(cluster / ".snakemake/slurm_logs").parts[0].removeprefix("rule_")
        record = records.get(jobid)
        assert record, f"SLURM job {jobid} ({rule}) unknown to squeue --states=all"
        assert record["state"] == "COMPLETED", f"SLURM job {jobid} ({rule}): {record}"
        assert record["comment"].startswith(f"rule_{rule}"), f"SLURM job {jobid}: {record}"
        assert record["partition"] == partition_of(settings, rule), f"SLURM job {jobid} ({rule}): {record}"
        if rule == "train":  # its threads and the rule's mem_mb=2000, runtime=240 reached sbatch
            wanted = (str(THREADS_PER_JOB), "2000M", "4:00:00")
            assert (record["cpus"], record["memory"], record["limit"]) == wanted, f"train job {jobid}: {record}"
    for target in TARGETS:
        assert (cluster / target).stat().st_size > 0, f"{target} missing"

    # (b) The same results as the local run: same threads, so bit-identical CPU training.
    assert threads_used(cluster) == threads_used(local) == {seed: ("cpu", THREADS_PER_JOB) for seed in seeds()}
    for name in compared:
        assert_same_h5(cluster / name, local / name)
    for name in points:
        assert json.loads((cluster / name).read_text()) == json.loads((local / name).read_text()), name


def planned_resources(output: str) -> dict[str, list[dict[str, str]]]:
    """The resources of every job a dry run lists, by rule."""
    resources: dict[str, list[dict[str, str]]] = {}
    for block in re.split(r"\n(?=(?:local)?(?:rule|checkpoint) \w+:)", output):
        rule = re.match(r"(?:local)?(?:rule|checkpoint) (\w+):", block)
        line = re.search(r"^\s+resources: (.*)$", block, re.MULTILINE)
        if rule and line:
            items = dict(item.split("=", 1) for item in line[1].split(", "))
            resources.setdefault(rule[1], []).append(items)
    return resources


def test_profile_requests_gpus_for_training_and_curves(tmp_path):
    """A dry run of the real profile, no overrides: GPUs for train and curves (the fitting jobs) only, and
    groups sized for them. The curves are planned from what training reached (the checkpoint `seed_run`),
    so a dry run shows them once the seeds are trained: before, it shows the training."""
    pytest.importorskip("snakemake_executor_plugin_slurm", reason="pip install snakemake-executor-plugin-slurm")
    fresh, trained = workdir(tmp_path / "fresh"), workdir(tmp_path / "trained")
    points = [f"results/seed{seed}/points.json" for seed in seeds()]
    snakemake(trained, points, "--cores", "2")  # trained here, without the profile
    resources = planned_resources(snakemake(fresh, TARGETS, "-n", "--profile", str(PROFILE), limit=300))
    assert sorted(resources) == ["collapses", "dataset", "fig1", "path_figure", "seed_run", "train"], resources
    assert len(resources["train"]) == len(seeds())  # the tiny run's device is the CPU: one seed a job
    after = planned_resources(snakemake(trained, TARGETS, "-n", "--profile", str(PROFILE), limit=300))
    assert sorted(after) == ["collapses", "curve", "curves", "fig1", "path_figure"], after
    for rule, jobs in {**resources, **after}.items():
        for items in jobs:
            if rule in GPU_RULES:
                assert items.get("gpu") == "1", f"{rule} asks for no GPU: {items}"
                assert items.get("cpus_per_gpu") == "1", f"{rule}: {items}"
                assert items["slurm_partition"] == partition_of(profile(), rule)
            else:
                assert not set(items) & set(GPU_KEYS), f"{rule} should be a CPU job: {items}"
                assert items["slurm_partition"] == partitions(profile())[0]
    # With `device: auto` the profile's GPUs size the groups, although the machine that plans has no GPU:
    # every seed in one training job, the segments in one batch (of the trained seeds' points: the device
    # changes the training's params, which `--rerun-triggers mtime` sets aside for this plan).
    auto = ["-n", "--profile", str(PROFILE), "--config", "device=auto"]
    output = snakemake(fresh, TARGETS, *auto)
    assert len(re.findall(r"^rule train:", output, re.MULTILINE)) == 1, output[-3000:]
    assert f"wildcards: group=seeds{seeds()[0]}-{seeds()[-1]}\n" in output, output[-3000:]
    output = snakemake(trained, TARGETS, "--rerun-triggers", "mtime", *auto)
    batches = re.findall(r"wildcards: curve=segment, batch=(\S+)$", output, re.MULTILINE)
    assert batches == ["batch0-5"], output[-3000:]  # the 6 segments of two seeds (docs: paths by figure)
