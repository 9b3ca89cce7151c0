"""Real Snakemake runs of the tiny configuration: outputs, reruns and start-up checks."""

from __future__ import annotations

import json
import shutil
import subprocess

import h5py
import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO, SNAKEMAKE, assert_path_endpoints_match_training, jobs_planned, new_workdir, snakemake

pytestmark = pytest.mark.workflow

PATH_COLUMNS = ("t", "train_loss", "train_error", "val_loss", "val_error", "grad_norm")


def test_history_points_and_checkpoints_agree(built_workflow):
    for seed in (0, 1):
        run = built_workflow / "results" / f"seed{seed}"
        with h5py.File(run / "history.h5") as h:
            history = {k: h[k][()] for k in ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "weight_norm")}
        points = json.loads((run / "points.json").read_text())
        assert np.array_equal(history["epoch"], np.arange(len(history["epoch"])))
        mem, grok = points["memorized"], points["grokked"]
        assert 0 < mem < grok  # memorises long before it generalises
        assert history["train_acc"][mem] == 1.0 and np.all(history["train_acc"][:mem] < 1.0)
        assert history["val_acc"][grok] == 1.0 and np.all(history["val_acc"][:grok] < 1.0)
        with h5py.File(run / "checkpoints.h5") as c:
            saved = sorted(int(e) for e in c["epochs"])
            assert {0, 50, mem, grok} <= set(saved)
            assert c["epochs"][str(mem)]["W_in"].shape == (32, 128)
            norm = np.sqrt(sum(np.sum(c["epochs"][str(grok)][k][()].astype(np.float64) ** 2) for k in c["epochs/0"]))
        assert norm == pytest.approx(history["weight_norm"][grok], rel=1e-5)


def test_path_tables_follow_the_documented_layout(built_workflow):
    paths = built_workflow / "results" / "paths"
    points = json.loads((built_workflow / "results/seed0/points.json").read_text())
    with h5py.File(paths / "segment" / "seed0-mem__seed0-grok.h5") as f:
        assert all(f[name].shape == (9,) for name in PATH_COLUMNS)
        assert (f.attrs["start_epoch"], f.attrs["end_epoch"]) == (points["memorized"], points["grokked"])
        assert f["train_error"][0] == 0.0  # point 1 has memorised the training set
        assert f["val_error"][-1] == 0.0  # point 2 generalises
    with h5py.File(paths / "polyline" / "seed0-mem__seed1-mem.h5") as f:
        assert sorted(f["controls"]) == ["0", "1", "2"] and f.attrs["end_seed"] == 1
        assert len(f["fit_loss"]) == 2000
    with h5py.File(paths / "chain" / "seed0-mem__seed0-grok.h5") as f:
        nodes = f["node_epochs"][()]
        assert nodes[0] == points["memorized"] and nodes[-1] == points["grokked"]
        assert all(e % 50 == 0 for e in nodes[1:-1]) and np.all(np.diff(nodes) > 0)
        assert all(f[name].shape == (len(nodes) - 1, 9) for name in PATH_COLUMNS)
    summary = pd.read_csv(paths / "summary.csv")
    assert len(summary) == 11 and set(summary["kind"]) == {"segment", "chain", "polyline", "bezier"}
    assert (summary["train_error_barrier"] >= 0).all() and (summary["mean_grad_norm"] > 0).all()


def test_every_path_starts_and_ends_where_training_measured_its_endpoints(built_workflow):
    assert_path_endpoints_match_training(built_workflow)


def test_every_figure_is_a_real_pdf(built_workflow):
    for n in range(1, 8):
        pdf = (built_workflow / "results" / f"fig{n}.pdf").read_bytes()
        assert pdf.startswith(b"%PDF") and len(pdf) > 5000, n


def test_second_run_does_nothing(built_workflow):
    assert "Nothing to be done" in snakemake(built_workflow, "-n").stdout


# What a dry run plans after one edit: rules whose params (settings or code) changed, and what is downstream.
FIGURES = {"fig1", "fig3", "fig4", "path_figure", "fits", "all"}
PATH_RULES = {"curve", "chain", "path_summary", "claims", "results_table", "fig4", "path_figure", "fits", "all"}
AFTER_TRAINING = PATH_RULES | FIGURES | {"train"}
CONFIG_TABLE = {"configuration_table"}  # the report's record of the settings changes with any setting

CONFIG_EDITS = {  # (section, key, new value): rules planned
    ("task", "data_seed", 1): AFTER_TRAINING | {"dataset"} | CONFIG_TABLE,
    ("model", "d_mlp", 64): AFTER_TRAINING | CONFIG_TABLE,
    ("train", "lr", 0.02): AFTER_TRAINING | CONFIG_TABLE,
    ("train", "snapshot_every", 25): AFTER_TRAINING | CONFIG_TABLE,
    ("points", "val_acc", 0.99): AFTER_TRAINING | CONFIG_TABLE,
    ("device", None, "auto"): AFTER_TRAINING | CONFIG_TABLE,
    ("paths", "n_points", 5): PATH_RULES | CONFIG_TABLE,
    ("polyline", "epochs", 20): {"curve", "path_summary", "claims", "results_table", "path_figure", "fits", "all"}
    | CONFIG_TABLE,
    ("bezier", "lr", 0.02): {"curve", "path_summary", "results_table", "fits", "all"} | CONFIG_TABLE,
    ("plot", "dpi", 90): FIGURES | CONFIG_TABLE,
    ("claims", "barrier", 0.1): {"claims", "results_table", "all"} | CONFIG_TABLE,
    ("claims", "zero_error", 0.02): {"claims", "path_summary", "results_table", "fits", "all"} | CONFIG_TABLE,
    ("train", "init_scale", 2.0): AFTER_TRAINING | CONFIG_TABLE,
    ("train", "weight_norm", 20.0): AFTER_TRAINING | CONFIG_TABLE,
    # the sweeps are not part of the default run: their settings rerun nothing of it
    ("sweeps", "max_epochs", 10): set(),
    ("sweeps", "val_acc", 0.9): set(),
    # speed and memory knobs (schema: x-changes-results: false) rerun nothing
    ("paths", "t_chunk", 4): set(),
    ("polyline", "checkpoint_every", 10): set(),
    ("bezier", "checkpoint_every", 10): set(),
}


@pytest.mark.parametrize(("section", "key", "value"), list(CONFIG_EDITS), ids=lambda v: str(v))
def test_changed_setting_reruns_exactly_what_depends_on_it(workflow_copy, section, key, value):
    config = yaml.safe_load((workflow_copy / "config.yaml").read_text())
    if key is None:
        config[section] = value
    else:
        config[section][key] = value
    (workflow_copy / "config.yaml").write_text(yaml.safe_dump(config))
    assert set(jobs_planned(workflow_copy)) == CONFIG_EDITS[section, key, value]


def test_changed_sweep_grids_and_base_rerun_nothing_of_the_default_run(workflow_copy):
    config = yaml.safe_load((workflow_copy / "config.yaml").read_text())
    config["sweeps"].update(seeds=[7], weight_decay=[0.1], interventions=[], base={"train": {"lr": 0.01}})
    (workflow_copy / "config.yaml").write_text(yaml.safe_dump(config))
    assert jobs_planned(workflow_copy) == {}


def test_added_extra_path_runs_one_new_job(workflow_copy):
    config = yaml.safe_load((workflow_copy / "config.yaml").read_text())
    config["paths"]["extra"] = ["segment/seed0-e50__seed1-grok"]
    (workflow_copy / "config.yaml").write_text(yaml.safe_dump(config))
    planned = jobs_planned(workflow_copy)
    assert planned == {"curve": 1, "path_summary": 1, "results_table": 1, "configuration_table": 1, "all": 1}, planned


def test_added_seed_trains_only_that_seed(workflow_copy):
    config = yaml.safe_load((workflow_copy / "config.yaml").read_text())
    config["train"]["seeds"] = [0, 1, 2]
    (workflow_copy / "config.yaml").write_text(yaml.safe_dump(config))
    planned = jobs_planned(workflow_copy)
    # its own segment, chain and polyline 1→2 and the pair (1, 2)'s polylines: no earlier path reruns
    assert planned["train"] == 1 and planned["chain"] == 1 and planned["curve"] == 4, planned
    outputs = [line for line in snakemake(workflow_copy, "-n").stdout.splitlines() if "output:" in line]
    assert len([o for o in outputs if "results/paths/" in o]) == 6  # 5 paths + summary
    assert not any("results/paths/" in o and "seed0-" in o for o in outputs), "a path of seed 0 was planned again"


def _comment_docstring_and_layout(source: str) -> str:
    body = source.split('"""', 2)[2]  # a new module docstring, a comment, blank lines
    return '"""Reworded."""\n\n# an added comment\n' + body.replace("\n\n", "\n\n\n") + "\n# another\n"


def _new_function(source: str) -> str:
    return source + "\n\ndef edited() -> int:\n    return 1\n"


CODE_EDITS = {  # (file under workflow_scripts/, edit): rules planned
    ("grokscape/model.py", "comment"): set(),
    ("grokscape/plotting.py", "comment"): set(),
    ("train_seed.py", "comment"): set(),
    ("grokscape/plotting.py", "code"): FIGURES,
    ("plot_fig1.py", "code"): {"fig1", "all"},
    ("grokscape/claims.py", "code"): {"claims", "results_table", "all"},
    ("grokscape/pathfiles.py", "code"): PATH_RULES,
    ("grokscape/data.py", "code"): AFTER_TRAINING | {"dataset"},
    ("grokscape/training.py", "code"): AFTER_TRAINING,
    ("grokscape/fitting.py", "code"): PATH_RULES - {"chain", "fig4"},  # chains fit nothing
    ("grokscape/landscape.py", "code"): PATH_RULES,
    ("grokscape/settings.py", "code"): AFTER_TRAINING,
    ("grokscape/curve_settings.py", "code"): PATH_RULES,
    ("grokscape/fit_settings.py", "code"): PATH_RULES - {"chain", "fig4"},
    ("grokscape/sweeps.py", "code"): set(),  # the sweeps' code: nothing of the default run
    ("grokscape/sweep_tables.py", "code"): set(),
}


@pytest.mark.parametrize(("module", "edit"), list(CODE_EDITS), ids=lambda v: str(v))
def test_edited_code_reruns_exactly_the_rules_that_reach_it(workflow_copy, tmp_path, module, edit):
    repo = tmp_path / "repo"
    shutil.copytree(
        REPO, repo, ignore=shutil.ignore_patterns(".venv", ".git", "results", "runs", ".snakemake", "tests")
    )
    path = repo / "workflow_scripts" / module
    path.write_text((_comment_docstring_and_layout if edit == "comment" else _new_function)(path.read_text()))
    assert set(jobs_planned(workflow_copy, "-s", str(repo / "Snakefile"))) == CODE_EDITS[module, edit]


def test_dry_run_gives_a_reason_for_every_job(tmp_path):
    out = snakemake(new_workdir(tmp_path), "-n").stdout
    assert out.count("reason:") == out.count("jobid:") > 10


def test_figure_needing_two_seeds_fails_at_start_up_with_one_seed(tmp_path):
    workdir = new_workdir(tmp_path, {"train": {"seeds": [3]}})
    result = snakemake(workdir, "-n", "results/fig6.pdf", check=False)
    assert result.returncode != 0
    assert "fig6 compares two seeds" in result.stdout and "train.seeds" in result.stdout
    assert not (workdir / "results").exists()
    assert "seed3" in snakemake(workdir, "-n", "results/fig2.pdf").stdout


def test_run_that_never_groks_still_draws_figures_1_and_3_and_names_the_problem(tmp_path):
    workdir = new_workdir(tmp_path, {"train": {"max_epochs": 100, "seeds": [0]}})
    snakemake(workdir, "results/fig1.pdf", "results/fig3.pdf")
    points = json.loads((workdir / "results/seed0/points.json").read_text())
    assert points["grokked"] is None and points["memorized"] and points["last_epoch"] == 100
    result = snakemake(workdir, "results/fig2.pdf", check=False)
    assert result.returncode != 0
    best = points["best"]["val_acc"]
    assert f"seed 0 never reached val_acc >= 1.0 (points.val_acc); best val_acc was {best:.4f}" in result.stdout


def test_s5_composition_trains_through_the_workflow(tmp_path):
    train = {"lr": 0.01, "weight_decay": 0.1, "max_epochs": 50, "seeds": [0], "snapshot_every": 10}
    workdir = new_workdir(tmp_path, {"task": {"operation": "s5", "p": 120}, "train": train})
    snakemake(workdir, "results/fig1.pdf")
    with h5py.File(workdir / "results/dataset.h5") as f:
        a, b, c = f["a"][()], f["b"][()], f["c"][()]
    assert a.size == 120 * 120 and np.array_equal(c[a == 0], b[a == 0])  # token 0 is the identity
    with h5py.File(workdir / "results/seed0/checkpoints.h5") as f:
        assert f["epochs/0/embed"].shape == (120, 32) and f["epochs/0/unembed"].shape == (32, 120)
    points = json.loads((workdir / "results/seed0/points.json").read_text())
    assert points["memorized"] is not None  # the tiny model learns the 10,080 training equations


def test_claims_are_decided_from_the_run(built_workflow):
    claims = json.loads((built_workflow / "results/claims.json").read_text())
    assert [c["claim"] for c in claims] == ["C1", "C2", "C3", "C4", "C5", "C6"]
    verdicts = ("holds", "does not hold", "undecided", "holds for 1 of 2", "holds for 0 of 2, undecided for 1")
    assert all(c["verdict"] in verdicts and c["quantities"] for c in claims)
    for seed in (0, 1):  # C1-C4 are decided for every seed, C5 and C6 for the pair
        points = json.loads((built_workflow / f"results/seed{seed}/points.json").read_text())
        assert claims[0]["units"][f"seed{seed}"]["quantities"]["grokked"] == points["grokked"]
        with h5py.File(built_workflow / f"results/paths/segment/seed{seed}-mem__seed{seed}-grok.h5") as f:
            grad_norm_point1 = claims[1]["units"][f"seed{seed}"]["quantities"]["grad_norm_point1"]
            assert grad_norm_point1 == pytest.approx(f["grad_norm"][0])
    assert set(claims[4]["units"]) == {"seed0-seed1"}
    markdown = (built_workflow / "results/claims.md").read_text()
    assert markdown.count("\n| C") == 6 and markdown.count("| seed0 |") == 4


def test_html_report_holds_figures_captions_claims_and_configuration(workflow_copy):
    snakemake(workflow_copy, "--report", "report.html")
    html = (workflow_copy / "report.html").read_text(errors="replace")
    assert "fig6.pdf" in html and "claims.csv" in html and "configuration.csv" in html
    assert "Figure 1." in html and "snapshots saved every" in html


def test_tiny_run_in_its_own_directory_keeps_the_repository_config_and_results_apart(tmp_path):
    clone = tmp_path / "clone"
    shutil.copytree(REPO, clone, ignore=shutil.ignore_patterns(".venv", ".git", "results", "runs", ".snakemake"))
    config = yaml.safe_load((clone / "config.yaml").read_text())
    config["plot"]["dpi"] = 77
    (clone / "config.yaml").write_text(yaml.safe_dump(config))
    command = [SNAKEMAKE, "--cores", "1", "--configfile", "tests/tiny.yaml", "--directory", "runs/tiny"]
    subprocess.run([*command, "results/configuration.csv"], cwd=clone, check=True, capture_output=True)
    table = pd.read_csv(clone / "runs/tiny/results/configuration.csv")
    value = {(row.section, row.key): str(row.value) for row in table.itertuples()}
    assert value["model", "d_model"] == "32" and value["plot", "dpi"] == "77"  # tiny.yaml over config.yaml
    assert not (clone / "results").exists()


def test_nested_command_line_overrides_mean_what_they_mean_in_config_yaml(tmp_path):
    workdir = new_workdir(tmp_path)
    assert snakemake(workdir, "-n", "--config", "plot={dpi: 100}", "paths={n_points: 5}").returncode == 0
    result = snakemake(workdir, "-n", "--config", "train={lr: -0.1}", check=False)
    assert (
        result.returncode != 0 and "config error: train.lr: -0.1 is less than or equal to the minimum" in result.stdout
    )


@pytest.mark.parametrize(
    "how",
    [("results/paths/segment/seed0-e75__seed0-grok.h5",), ("--config", "paths={extra: [chain/seed0-e75__seed0-grok]}")],
)
def test_checkpoint_name_that_is_no_snapshot_fails_before_any_job(tmp_path, how):
    workdir = new_workdir(tmp_path)  # tiny: snapshots every 50 epochs
    result = snakemake(workdir, "-n", *how, check=False)
    assert result.returncode != 0 and "checkpoint seed0-e75: epoch 75 is not a snapshot" in result.stdout
    assert "train.snapshot_every=50" in result.stdout and not (workdir / "results").exists()


def test_readme_results_table_is_read_from_the_run(built_workflow):
    table = (built_workflow / "results/readme_results.md").read_text()
    points = json.loads((built_workflow / "results/seed1/points.json").read_text())
    assert f"| 1 | {points['memorized']} | {points['grokked']} |" in table
    summary = pd.read_csv(built_workflow / "results/paths/summary.csv")
    chain = summary[summary["kind"] == "chain"].iloc[0]
    assert f"| chain | seed0-mem | seed0-grok | {chain['start_epoch']} | {chain['end_epoch']} |" in table
    for claim in json.loads((built_workflow / "results/claims.json").read_text()):
        assert f"| {claim['claim']} | {claim['verdict']} |" in table


@pytest.mark.parametrize(("seeds", "threads"), [([0], 2), ([0, 1], 1), ([0, 1, 2], 1)])
def test_training_shares_the_cores_out_over_the_seeds(tmp_path, seeds, threads):
    workdir = new_workdir(tmp_path, {"train": {"seeds": seeds}})
    out = snakemake(workdir, "-n", "results/seed0/points.json").stdout
    train_job = out.split("rule train:")[1].split("rule ")[0]
    shown = f"threads: {threads}" if threads > 1 else "threads:"  # Snakemake prints no "threads: 1"
    assert (shown in train_job) == (threads > 1), train_job
