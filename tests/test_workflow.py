"""Real Snakemake runs of the tiny configuration: outputs, reruns and start-up checks."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import h5py
import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import (
    REPO,
    SNAKEMAKE,
    assert_path_endpoints_match_training,
    edited_source,
    jobs_planned,
    local_environment,
    new_workdir,
    snakemake,
    tiny_config,
)

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
        train_acc, val_acc = (tiny_config()["points"][k] for k in ("train_acc", "val_acc"))
        assert 0 < mem < grok  # memorises long before it generalises
        assert history["train_acc"][mem] >= train_acc and np.all(history["train_acc"][:mem] < train_acc)
        assert history["val_acc"][grok] >= val_acc and np.all(history["val_acc"][:grok] < val_acc)
        with h5py.File(run / "checkpoints.h5") as c:
            saved = sorted(int(e) for e in c["epochs"])
            assert {0, 50, mem, grok} <= set(saved)
            model = tiny_config()["model"]
            assert c["epochs"][str(mem)]["W_in"].shape == (model["d_model"], model["d_mlp"])
            norm = np.sqrt(sum(np.sum(c["epochs"][str(grok)][k][()].astype(np.float64) ** 2) for k in c["epochs/0"]))
        assert norm == pytest.approx(history["weight_norm"][grok], rel=1e-5)


def test_collapses_are_read_from_the_history_after_point_1(built_workflow):
    for seed in (0, 1):
        run = built_workflow / "results" / f"seed{seed}"
        record = json.loads((run / "collapses.json").read_text())
        memorized = json.loads((run / "points.json").read_text())["memorized"]
        with h5py.File(run / "history.h5") as h:
            train_acc = h["train_acc"][()]
        assert record["memorized"] == memorized and record["level"] == pytest.approx(0.95)
        assert record["deepest_collapse"] == pytest.approx(train_acc[memorized + 1 :].min())
        below = np.flatnonzero(train_acc[memorized + 1 :] < record["level"]) + memorized + 1
        assert [d["epoch"] for d in record["collapses"]] == sorted(d["epoch"] for d in record["collapses"])
        assert {d["epoch"] for d in record["collapses"]} <= set(below.tolist())
        assert len(record["collapses"]) == (len(below) > 0) + int(np.sum(np.diff(below) > 1))  # one per dip


def test_an_adamw_runs_path_loss_is_the_cross_entropy_with_l2_reported_apart(built_workflow):
    """The tiny run trains with AdamW, whose decay is decoupled: no L2 term in its objective."""
    with h5py.File(built_workflow / "results/paths/segment/seed0-mem__seed0-grok.h5") as f:
        assert not f.attrs["l2_in_loss"]
        for split in ("train", "val"):
            np.testing.assert_array_equal(f[f"{split}_loss"][()], f[f"{split}_ce"][()])
        assert np.all(f["l2"][()] > 1.0)  # (1.0/2)·‖w‖², reported as a column of its own
    with h5py.File(built_workflow / "results/planes/polyline/seed0-mem__seed0-grok.h5") as f:
        assert not f.attrs["l2_in_loss"]
        np.testing.assert_array_equal(f["train_loss"][()], f["train_ce"][()])


def test_an_sgd_runs_path_loss_adds_the_l2_term_of_its_coupled_decay(tmp_path):
    train = {"optimizer": "sgd", "lr": 0.1, "weight_decay": 0.01, "max_epochs": 20, "snapshot_every": 10, "seeds": [0]}
    workdir = new_workdir(tmp_path, {"train": train, "paths": {"n_points": 5, "sharpness_points": 0}})
    target = "results/paths/segment/seed0-e0__seed0-e20.h5"
    snakemake(workdir, target)
    with h5py.File(workdir / target) as f:
        assert f.attrs["l2_in_loss"]
        l2 = f["l2"][()]
        assert np.all(l2 > 1.0)  # (0.01/2)·‖w‖²: large enough to tell the two objectives apart
        for split in ("train", "val"):
            np.testing.assert_allclose(f[f"{split}_loss"][()], f[f"{split}_ce"][()] + l2, rtol=1e-12)


def test_path_tables_follow_the_documented_layout(built_workflow):
    paths = built_workflow / "results" / "paths"
    points = json.loads((built_workflow / "results/seed0/points.json").read_text())
    with h5py.File(paths / "segment" / "seed0-mem__seed0-grok.h5") as f:
        assert all(f[name].shape == (9,) for name in PATH_COLUMNS)
        assert (f.attrs["start_epoch"], f.attrs["end_epoch"]) == (points["memorized"], points["grokked"])
        assert f["train_error"][0] == 0.0  # point 1 has memorised the training set
        assert f["val_error"][-1] <= 1 - tiny_config()["points"]["val_acc"]  # point 2 generalises
    with h5py.File(paths / "polyline" / "seed0-mem__seed1-mem.h5") as f:
        assert sorted(f["controls"]) == ["0", "1", "2"] and f.attrs["end_seed"] == 1
        assert len(f["fit_loss"]) == tiny_config()["polyline"]["epochs"]
    with h5py.File(paths / "chain" / "seed0-mem__seed0-grok.h5") as f:
        nodes = f["node_epochs"][()]
        assert nodes[0] == points["memorized"] and nodes[-1] == points["grokked"]
        assert all(e % 50 == 0 for e in nodes[1:-1]) and np.all(np.diff(nodes) > 0)
        assert all(f[name].shape == (len(nodes) - 1, 9) for name in PATH_COLUMNS)
    with h5py.File(paths / "chain" / "seed0-mem__seed0-grok.h5") as f:
        assert "top_eigenvalue" not in f  # chains measure no sharpness: their nodes are in sharpness.h5
    summary = pd.read_csv(paths / "summary.csv")
    assert len(summary) == 15 and set(summary["kind"]) == {"segment", "chain", "polyline", "bezier"}
    assert (summary["train_error_barrier"] >= 0).all() and (summary["mean_grad_norm"] > 0).all()


SHARPNESS_COLUMNS = ("top_eigenvalue", "eigenvalue_residual", "lanczos_iterations", "eigenvalue_converged")


def test_sharpness_along_curves_and_through_training_agree_where_they_meet(built_workflow):
    """The segment 1→2 at t = 0 and 1 holds the weights of points 1 and 2, so its sharpness there is the one
    sharpness.h5 measured at those epochs (same start vector and probes; other batches, so float rounding)."""
    results = built_workflow / "results"
    with h5py.File(results / "seed0/sharpness.h5") as f:
        through = {k: f[k][()] for k in ("epoch", "hessian_trace", *SHARPNESS_COLUMNS)}
        memorized, grokked, lr = f.attrs["memorized"], f.attrs["grokked"], f.attrs["lr"]
    with h5py.File(results / "seed0/checkpoints.h5") as f:
        assert list(through["epoch"]) == sorted(int(e) for e in f["epochs"])
    assert lr == tiny_config()["train"]["lr"] and through["eigenvalue_converged"].all()
    assert np.all(through["lanczos_iterations"] <= 30) and np.all(through["eigenvalue_residual"] >= 0)
    with h5py.File(results / "paths/segment/seed0-mem__seed0-grok.h5") as f:
        along = {k: f[k][()] for k in ("sharpness_t", "hessian_trace", *SHARPNESS_COLUMNS)}
        assert f["hessian_trace_stderr"].shape == (5,)
    assert np.allclose(along["sharpness_t"], np.linspace(0, 1, 5))
    for index, epoch in ((0, memorized), (-1, grokked)):
        at = int(np.flatnonzero(through["epoch"] == epoch)[0])
        assert along["top_eigenvalue"][index] == pytest.approx(through["top_eigenvalue"][at], rel=1e-3)
        assert along["hessian_trace"][index] == pytest.approx(through["hessian_trace"][at], rel=1e-3)
    pdf = (results / "sharpness.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 5000


def test_every_path_starts_and_ends_where_training_measured_its_endpoints(built_workflow):
    assert_path_endpoints_match_training(built_workflow)


def test_every_figure_is_a_real_pdf(built_workflow):
    for n in range(1, 9):
        pdf = (built_workflow / "results" / f"fig{n}.pdf").read_bytes()
        assert pdf.startswith(b"%PDF") and len(pdf) > 5000, n


def test_second_run_does_nothing(built_workflow):
    assert "Nothing to be done" in snakemake(built_workflow, "-n").stdout


# What a dry run plans after one edit: rules whose params (settings or code) changed, and what is downstream.
FIGURES = {"fig1", "fig3", "fig4", "path_figure", "fits", "sharpness_figure", "fig8", "plane_figure", "all"}
PLANES = {"plane", "plane_figure", "all"}  # the planes of the polylines 1→2 and 1→1′
PATH_RULES = PLANES | {
    "curves",
    "curve",
    "chain",
    "path_summary",
    "claims",
    "fig4",
    "path_figure",
    "fits",
    "fig8",
}
CURVE_RULES = PLANES | {
    "curves",
    "curve",
    "path_summary",
    "claims",
    "path_figure",
    "fits",
    "fig8",
}  # not chains
FITTED_RULES = CURVE_RULES - {"fig8"}  # polylines and Bézier curves only: figure 8 draws segments
SHARPNESS = {"sharpness", "sharpness_figure", "all"}  # through training, results/seed{S}/sharpness.h5
AFTER_TRAINING = PATH_RULES | FIGURES | SHARPNESS | {"train", "seed_run", "align", "collapses"}
# What a dry run shows when training reruns: the rule `seed_run` is a checkpoint, whose points decide the paths
# planned, so the path jobs appear once training has filed them (test_changed_training_reruns_all_after_it).
THROUGH_TRAINING = AFTER_TRAINING - {"curves", "curve", "chain", "align", "fig4", "path_figure", "fig8"} - PLANES
THROUGH_TRAINING |= {"all"}
COLLAPSES = {"collapses", "fig1", "fig3", "claims", "all"}  # what reads results/seed{S}/collapses.json
ALIGNED = {
    "align",
    "curves",
    "curve",
    "path_summary",
    "claims",
    "fits",
    "fig8",
    "all",
}  # aligned paths only
CONFIG_TABLE = {"configuration_table"}  # the report's record of the settings changes with any setting

CONFIG_EDITS = {  # (section, key, new value): rules planned
    ("task", "data_seed", 1): THROUGH_TRAINING | {"dataset"} | CONFIG_TABLE,
    ("model", "d_mlp", 64): THROUGH_TRAINING | CONFIG_TABLE,
    ("train", "lr", 0.02): THROUGH_TRAINING | CONFIG_TABLE,
    ("train", "snapshot_every", 25): THROUGH_TRAINING | CONFIG_TABLE,
    ("points", "val_acc", 0.98): THROUGH_TRAINING | CONFIG_TABLE,
    ("device", None, "auto"): THROUGH_TRAINING | CONFIG_TABLE,
    ("paths", "n_points", 5): PATH_RULES | CONFIG_TABLE,
    ("polyline", "epochs", 20): FITTED_RULES | CONFIG_TABLE,
    ("paths", "sharpness_points", 3): CURVE_RULES | CONFIG_TABLE,
    ("sharpness", "max_iterations", 10): CURVE_RULES | SHARPNESS | CONFIG_TABLE,
    ("claims", "sharpness_ratio", 0.5): {"claims", "all"} | CONFIG_TABLE,
    ("bezier", "lr", 0.02): {"curves", "curve", "path_summary", "fits", "all"} | CONFIG_TABLE,
    ("plot", "dpi", 90): FIGURES | CONFIG_TABLE,
    ("claims", "barrier", 0.1): {"claims", "all"} | CONFIG_TABLE,
    # a fitted curve connects by zero_error, and one that does not goes on in another round: every fit reruns
    ("claims", "zero_error", 0.02): FITTED_RULES | CONFIG_TABLE,
    ("polyline", "max_rounds", 2): FITTED_RULES | CONFIG_TABLE,
    ("bezier", "max_rounds", 1): {"curves", "curve", "path_summary", "fits", "all"} | CONFIG_TABLE,
    ("align", "max_iterations", 3): ALIGNED | CONFIG_TABLE,
    ("align", "tolerance", 1e-7): ALIGNED | CONFIG_TABLE,
    ("align", "method", "activations"): ALIGNED | CONFIG_TABLE,
    ("train", "momentum", 0.9): set(),  # the tiny run trains with AdamW: a momentum is SGD's, unused
    ("polyline", "momentum", 0.5): FITTED_RULES | CONFIG_TABLE,  # the fits use SGD
    ("planes", "grid", 5): PLANES | CONFIG_TABLE,
    ("planes", "margin", 0.5): PLANES | CONFIG_TABLE,
    ("paths", "per_job", 20): CURVE_RULES | CONFIG_TABLE,  # every curve refitted in its batch
    ("train", "init_scale", 2.0): THROUGH_TRAINING | CONFIG_TABLE,
    ("train", "init", "nanda"): THROUGH_TRAINING | CONFIG_TABLE,
    ("train", "sampling", "replacement"): THROUGH_TRAINING | CONFIG_TABLE,
    ("task", "train_fraction", 0.5): THROUGH_TRAINING | {"dataset"} | CONFIG_TABLE,
    ("model", "n_heads", 2): THROUGH_TRAINING | CONFIG_TABLE,
    ("train", "weight_decay", 0.5): THROUGH_TRAINING | CONFIG_TABLE,
    ("train", "batch_size", 256): THROUGH_TRAINING | CONFIG_TABLE,
    ("train", "epochs_after_grok", 30): THROUGH_TRAINING | CONFIG_TABLE,
    ("train", "seeds_per_job", 2): THROUGH_TRAINING | CONFIG_TABLE,  # both seeds in one job: retrained
    ("points", "train_acc", 0.99): THROUGH_TRAINING | CONFIG_TABLE,
    ("points", "collapse_margin", 0.2): COLLAPSES | CONFIG_TABLE,  # read from the history: no retraining
    ("polyline", "seed", 1): FITTED_RULES | CONFIG_TABLE,
    ("bezier", "degree", 3): {"curves", "curve", "path_summary", "fits", "all"} | CONFIG_TABLE,
    ("sharpness", "seed", 1): CURVE_RULES | SHARPNESS | CONFIG_TABLE,
    ("sharpness", "trace_samples", 2): CURVE_RULES | SHARPNESS | CONFIG_TABLE,
    ("plot", "train_color", "#000000"): FIGURES | CONFIG_TABLE,
    ("claims", "grok_ratio", 3.0): {"claims", "all"} | CONFIG_TABLE,
    ("claims", "middle_val_error_fraction", 0.5): {"claims", "all"} | CONFIG_TABLE,
    ("claims", "memorised_val_acc", 0.5): {"claims", "all"} | CONFIG_TABLE,
    ("claims", "hill_prominence", 0.2): {"claims", "all"} | CONFIG_TABLE,
    ("train", "weight_norm", 20.0): THROUGH_TRAINING | CONFIG_TABLE,
    # the sweeps are not part of the default run: their settings rerun nothing of it
    ("sweeps", "max_epochs", 10): set(),
    ("sweeps", "val_acc", 0.9): set(),
    ("sweeps", "seeds_per_job", 2): set(),
    # nor is the instability analysis (tests/test_instability_workflow.py holds what its settings rerun of it)
    ("instability", "children", 3): set(),
    ("instability", "spawn_epochs", (0,)): set(),  # lists as tuples here, to be keys
    ("instability", "replay", True): set(),
    ("instability", "order_seed", 1): set(),
    ("instability", "grok_tolerance", 0.5): set(),
    ("instability", "parents", (1,)): set(),
    # speed and memory knobs (schema: x-changes-results: false) rerun nothing
    ("paths", "t_chunk", 4): set(),
    ("polyline", "checkpoint_every", 10): set(),
    ("bezier", "checkpoint_every", 10): set(),
    ("sharpness", "t_chunk", 1): set(),
    ("planes", "chunk", 7): set(),
}


@pytest.mark.parametrize(("section", "key", "value"), list(CONFIG_EDITS), ids=lambda v: str(v))
def test_changed_setting_reruns_exactly_what_depends_on_it(workflow_copy, section, key, value):
    config = yaml.safe_load((workflow_copy / "config.yaml").read_text())
    if key is None:
        config[section] = value
    else:
        config[section][key] = list(value) if isinstance(value, tuple) else value
    (workflow_copy / "config.yaml").write_text(yaml.safe_dump(config))
    assert set(jobs_planned(workflow_copy)) == CONFIG_EDITS[section, key, value]


def test_changed_training_reruns_all_after_it_once_training_has_filed_its_points(workflow_copy):
    """A dry run cannot see past the checkpoint `seed_run` while training must rerun; once it has filed the new
    points (`--until seed_run`), every rule after training is planned again."""
    config = yaml.safe_load((workflow_copy / "config.yaml").read_text())
    config["train"]["snapshot_every"] = 25  # the same trajectory and points, more snapshots
    (workflow_copy / "config.yaml").write_text(yaml.safe_dump(config))
    assert set(jobs_planned(workflow_copy)) == THROUGH_TRAINING | CONFIG_TABLE
    snakemake(workflow_copy, "--until", "seed_run")
    assert set(jobs_planned(workflow_copy)) == AFTER_TRAINING - {"train", "seed_run"} | CONFIG_TABLE


def test_changed_sweep_grids_and_base_rerun_nothing_of_the_default_run(workflow_copy):
    config = yaml.safe_load((workflow_copy / "config.yaml").read_text())
    config["sweeps"].update(seeds=[7], weight_decay=[0.1], interventions=[], overrides={"train": {"lr": 0.01}})
    (workflow_copy / "config.yaml").write_text(yaml.safe_dump(config))
    assert jobs_planned(workflow_copy) == {}


def test_added_extra_path_runs_one_new_job(workflow_copy):
    config = yaml.safe_load((workflow_copy / "config.yaml").read_text())
    config["paths"]["extra"] = ["segment/seed0-e50__seed1-grok"]
    (workflow_copy / "config.yaml").write_text(yaml.safe_dump(config))
    planned = jobs_planned(workflow_copy)
    assert planned == {
        "curves": 1,
        "curve": 1,
        "path_summary": 1,
        "configuration_table": 1,
        "all": 1,
    }, planned


def test_added_seed_trains_only_that_seed(workflow_copy):
    config = yaml.safe_load((workflow_copy / "config.yaml").read_text())
    config["train"]["seeds"] = [0, 1, 2]
    (workflow_copy / "config.yaml").write_text(yaml.safe_dump(config))
    assert jobs_planned(workflow_copy, "results/seed2/points.json") == {"train": 1, "seed_run": 1}
    snakemake(workflow_copy, "results/seed2/points.json")  # the paths it adds are planned from its points
    planned = jobs_planned(workflow_copy)
    # its own segment, chain and polyline 1→2 and the pair (1, 2)'s polylines: no earlier path reruns
    # ... and its segments and polylines 1→1′, 2→2′ raw and aligned (6 more, 2 aligns)
    assert "train" not in planned and planned["chain"] == 1 and planned["curve"] == planned["curves"] == 10, planned
    assert planned["align"] == 2, planned
    outputs = [line for line in snakemake(workflow_copy, "-n").stdout.splitlines() if "output:" in line]
    assert len([o for o in outputs if "results/paths/" in o]) == 12  # 11 paths + summary
    assert not any("results/paths/" in o and "seed0-" in o for o in outputs), "a path of seed 0 was planned again"


def test_curves_fitted_in_one_batch_job_are_filed_as_if_each_ran_alone(workflow_copy, built_workflow):
    """`paths.per_job` (auto: all on a GPU) puts the curves of a kind in one job; each still gets its own
    table, segments the very numbers they get alone, and a lost table, asked for, reruns its batch (the same
    numbers again) and is filed alone."""
    config = yaml.safe_load((workflow_copy / "config.yaml").read_text())
    config["paths"]["per_job"] = 20
    config["polyline"].update(epochs=100, max_rounds=1)  # short fits: what is checked here is the filing, not the fit
    (workflow_copy / "config.yaml").write_text(yaml.safe_dump(config))
    target = "results/paths/summary.csv"
    planned = jobs_planned(workflow_copy, target)
    assert planned["curves"] == 2 and planned["curve"] == 12, planned  # 6 segments, 6 polylines (the one Bézier
    # curve is a batch of one, as it was: nothing to redo)
    snakemake(workflow_copy, target)
    logs = sorted(p.name for p in (workflow_copy / "results/logs/paths/polyline").glob("batch*.log"))
    assert (
        len(logs) == 1
        and "polyline: 6 curve(s)" in (workflow_copy / "results/logs/paths/polyline" / logs[0]).read_text()
    )
    assert not list((workflow_copy / "results/groups/paths").glob("*/*"))  # batch folders are temporary
    for path in sorted((built_workflow / "results/paths/segment").glob("*.h5")):
        with h5py.File(path) as alone, h5py.File(workflow_copy / "results/paths/segment" / path.name) as batched:
            for name in PATH_COLUMNS:
                np.testing.assert_allclose(batched[name][()], alone[name][()], rtol=1e-6, atol=1e-7, err_msg=name)
    for path in (workflow_copy / "results/paths/polyline").glob("*.h5"):
        with h5py.File(path) as f:
            assert len(f["fit_loss"]) == 100 and sorted(f["controls"]) == ["0", "1", "2"]
    assert_path_endpoints_match_training(workflow_copy)
    assert "Nothing to be done" in snakemake(workflow_copy, "-n", target).stdout
    lost = workflow_copy / "results/paths/polyline/seed0-mem__seed1-mem.h5"
    kept = workflow_copy / "results/paths/polyline/seed0-mem__seed0-grok.h5"
    shutil.copyfile(lost, workflow_copy / "lost.h5")
    lost.unlink()
    before = kept.stat().st_mtime_ns
    target = str(lost.relative_to(workflow_copy))
    assert jobs_planned(workflow_copy, target) == {"curves": 1, "curve": 1}
    snakemake(workflow_copy, target)
    assert kept.stat().st_mtime_ns == before  # the other curves of the batch are not filed again
    with h5py.File(lost) as again, h5py.File(workflow_copy / "lost.h5") as first:
        assert all(np.array_equal(again[name][()], first[name][()]) for name in (*PATH_COLUMNS, "fit_loss"))


def test_a_job_finds_its_members_in_its_label_whatever_its_own_plan(workflow_copy, built_workflow):
    """A cluster job plans the workflow again on its own node, which may see a GPU where the planning
    machine saw none, and `auto` then sizes the groups otherwise. Asked for a group and a batch that its
    own plan (one seed and one curve a job, on this CPU) does not have, it reads their members from the
    labels: the first two seeds, the first two segments planned."""
    group, batch = "results/groups/seeds0-1", "results/groups/paths/segment/batch0-1"
    snakemake(workflow_copy, "--notemp", group, batch)
    assert "training seeds [0, 1]" in (workflow_copy / "results/logs/train/seeds0-1.log").read_text()
    for seed in (0, 1):  # the same training as alone, up to the rounding of the stacked forward pass
        with h5py.File(workflow_copy / group / f"seed{seed}/history.h5") as f:
            grouped = f["train_loss"][:21]
        with h5py.File(built_workflow / f"results/seed{seed}/history.h5") as f:
            np.testing.assert_allclose(grouped, f["train_loss"][:21], rtol=1e-5)
    first_two = ["seed0-mem__seed0-grok.h5", "seed0-mem__seed1-mem.h5"]  # summary_paths' order of segments
    assert sorted(p.name for p in (workflow_copy / batch).glob("*.h5")) == first_two
    for name in first_two:
        alone = built_workflow / "results/paths/segment" / name
        with h5py.File(workflow_copy / batch / name) as f, h5py.File(alone) as g:
            np.testing.assert_allclose(f["train_loss"][()], g["train_loss"][()], rtol=1e-6, atol=1e-7)


# (library module, or script under workflow_scripts/; edit): rules planned. An edit to a definition reruns the
# rules whose scripts reach it through the names they use (grokscape/planning/codehash.py), not every rule
# importing its module: the rows marked "finer" rerun less than their module's importers.
CODE_EDITS = {
    ("grokscape/numerics/model.py", "comment"): set(),
    ("grokscape/output/plotting.py", "comment"): set(),
    ("train_seeds.py", "comment"): set(),
    ("find_collapses.py", "code"): COLLAPSES,
    ("grokscape/numerics/planes.py", "comment"): set(),
    ("file_member.py", "code"): THROUGH_TRAINING,  # re-filed from the group folders, which are temporary: recomputed
    ("plot_fig1.py", "code"): {"fig1", "all"},
    ("align_checkpoint.py", "code"): ALIGNED,
    ("grokscape/output/plotting.py", "save"): FIGURES,
    ("grokscape/output/plotting.py", "figure1"): {"fig1", "all"},  # finer
    ("grokscape/output/claims.py", "c5_two_memorisations"): {"claims", "all"},
    ("grokscape/output/pathfiles.py", "write_path"): PATH_RULES,
    ("grokscape/numerics/data.py", "make_dataset"): THROUGH_TRAINING | {"dataset"},
    ("grokscape/numerics/training.py", "train_seeds"): THROUGH_TRAINING,
    ("grokscape/numerics/fitting.py", "fit_curves"): PATH_RULES - {"chain", "fig4"},  # chains fit nothing
    ("grokscape/numerics/landscape.py", "cross_entropy"): PATH_RULES | SHARPNESS,
    ("grokscape/numerics/landscape.py", "summary_row"): {"path_summary", "all"},  # finer
    ("grokscape/numerics/landscape.py", "forward_metrics"): PLANES,  # finer: the planes' grid only
    ("grokscape/numerics/sharpness.py", "lanczos_top"): CURVE_RULES | SHARPNESS,
    ("grokscape/numerics/sharpness.py", "along_curves"): CURVE_RULES,  # finer: not sharpness through training
    ("grokscape/numerics/alignment.py", "distance"): PATH_RULES | {"align"},  # path jobs measure distances with it
    ("grokscape/numerics/alignment.py", "align_activations"): ALIGNED,  # finer: no path job aligns
    ("grokscape/planning/endpoints.py", "Endpoint"): PATH_RULES | {"align"},
    ("grokscape/numerics/planes.py", "plane_metrics"): PLANES,
    ("grokscape/numerics/planes.py", "read_plane"): {"plane_figure", "all"},  # finer
    ("grokscape/output/plane_figure.py", "plane_figure"): {"plane_figure", "all"},
    ("grokscape/planning/sweeps.py", "plan_sweeps"): set(),  # the sweeps' code: nothing of the default run
    # the start-up check and the plan: what they decide reaches the jobs through their params and inputs
    ("grokscape/planning/configuration.py", "check_config"): set(),  # finer: the dataset job imports the module
    ("grokscape/planning/configuration.py", "train_count"): THROUGH_TRAINING | {"dataset"},  # ... for this
    ("grokscape/planning/plan.py", "Plan"): set(),
    ("grokscape/planning/plan.py", "left_out_reason"): {"path_summary", "all"},
    ("grokscape/output/sweep_tables.py", "sweep_table"): set(),
    ("grokscape/child_jobs.py", "train_children"): set(),  # the instability analysis' code: nothing of the default run
    ("grokscape/numerics/instability.py", "segment_tables"): set(),
}


@pytest.mark.parametrize(("module", "edit"), list(CODE_EDITS), ids=lambda v: str(v))
def test_edited_code_reruns_exactly_the_rules_that_reach_it(workflow_copy, tmp_path, module, edit):
    repo = tmp_path / "repo"
    shutil.copytree(
        REPO, repo, ignore=shutil.ignore_patterns(".venv", ".git", "results", "runs", ".snakemake", "tests")
    )
    path = repo / module if module.startswith("grokscape/") else repo / "workflow_scripts" / module
    path.write_text(edited_source(path.read_text(), edit))
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
    # tiny seed 0 memorises near epoch 110 and groks after 500 on every CPU (tests/tiny.yaml): 250 is between
    workdir = new_workdir(tmp_path, {"train": {"max_epochs": 250, "seeds": [0]}})
    snakemake(workdir, "results/fig1.pdf", "results/fig3.pdf")
    points = json.loads((workdir / "results/seed0/points.json").read_text())
    assert points["grokked"] is None and points["memorized"] and points["last_epoch"] == 250
    result = snakemake(workdir, "results/fig2.pdf", check=False)
    assert result.returncode != 0
    best = points["best"]["val_acc"]
    threshold = tiny_config()["points"]["val_acc"]
    assert f"seed 0 never reached val_acc >= {threshold} (points.val_acc); best val_acc was {best:.4f}" in result.stdout


def test_s5_composition_trains_through_the_workflow(tmp_path):
    train = {"lr": 0.01, "weight_decay": 0.1, "max_epochs": 50, "seeds": [0], "snapshot_every": 10}
    # the sweeps' tiny problem (p = 23) is no S5 task: the sweeps take this one as it is, to keep the check whole
    sweeps = {"problem": "main"}
    workdir = new_workdir(tmp_path, {"task": {"operation": "s5", "p": 120}, "train": train, "sweeps": sweeps})
    snakemake(workdir, "results/fig1.pdf")
    with h5py.File(workdir / "results/dataset.h5") as f:
        a, b, c = f["a"][()], f["b"][()], f["c"][()]
    assert a.size == 120 * 120 and np.array_equal(c[a == 0], b[a == 0])  # token 0 is the identity
    with h5py.File(workdir / "results/seed0/checkpoints.h5") as f:
        width = tiny_config()["model"]["d_model"]
        assert f["epochs/0/embed"].shape == (120, width) and f["epochs/0/unembed"].shape == (width, 120)
    with h5py.File(workdir / "results/seed0/history.h5") as f:
        train_acc = f["train_acc"][()]
    assert train_acc[0] < 0.05 and train_acc[-1] > 0.5  # the tiny model learns S5: from chance (1/120) to most


def test_claims_are_decided_from_the_run(built_workflow):
    claims = json.loads((built_workflow / "results/claims.json").read_text())
    assert [c["claim"] for c in claims] == ["C1", "C2", "C3", "C4", "C5", "C6", "S1", "A1"]
    verdict = re.compile(
        r"(holds|does not hold|undecided|shown|not shown|(holds|shown) for [0-2] of 2(, undecided for 1)?)"
    )
    assert all(verdict.fullmatch(c["verdict"]) and c["quantities"] for c in claims), [c["verdict"] for c in claims]
    assert claims[-1]["verdict"] in ("shown", "not shown", "undecided")  # A1 is shown or not, never refuted
    for seed in (0, 1):  # C1-C4 are decided for every seed, C5 and C6 for the pair
        points = json.loads((built_workflow / f"results/seed{seed}/points.json").read_text())
        assert claims[0]["units"][f"seed{seed}"]["quantities"]["grokked"] == points["grokked"]
        with h5py.File(built_workflow / f"results/paths/segment/seed{seed}-mem__seed{seed}-grok.h5") as f:
            grad_norm_point1 = claims[1]["units"][f"seed{seed}"]["quantities"]["grad_norm_point1"]
            assert grad_norm_point1 == pytest.approx(f["grad_norm"][0])
    assert set(claims[4]["units"]) == {"seed0-seed1"}
    markdown = (built_workflow / "results/claims.md").read_text()
    assert markdown.count("\n| seed0 | ") == 5  # C1-C4 and S1 per seed
    for claim in claims:  # every threshold's range for every unit, and the flip nearest it
        for name, value in claim["thresholds"].items():
            assert f"| {claim['claim']} | {name} | {value} |" in markdown
            assert set(claim["units"]) == {unit for unit, u in claim["units"].items() if name in u["ranges"]}


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
    subprocess.run(
        [*command, "results/configuration.csv"], cwd=clone, check=True, capture_output=True, env=local_environment()
    )
    table = pd.read_csv(clone / "runs/tiny/results/configuration.csv")
    value = {(row.section, row.key): str(row.value) for row in table.itertuples()}
    tiny = yaml.safe_load((REPO / "tests/tiny.yaml").read_text())
    assert value["model", "d_model"] == str(tiny["model"]["d_model"]) != "128"  # tiny.yaml over config.yaml...
    assert value["plot", "dpi"] == "77"  # ...over the directory's own config.yaml
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


@pytest.mark.parametrize(("seeds", "threads"), [([0], 2), ([0, 1], 1), ([0, 1, 2], 1)])
def test_training_shares_the_cores_out_over_the_seeds(tmp_path, seeds, threads):
    workdir = new_workdir(tmp_path, {"train": {"seeds": seeds}})
    out = snakemake(workdir, "-n", "results/seed0/points.json").stdout
    train_job = out.split("rule train:")[1].split("rule ")[0]
    shown = f"threads: {threads}" if threads > 1 else "threads:"  # Snakemake prints no "threads: 1"
    assert (shown in train_job) == (threads > 1), train_job


def test_aligned_paths_keep_the_function_and_shorten_the_distance(built_workflow):
    paths = built_workflow / "results/paths"
    summary = pd.read_csv(paths / "summary.csv")
    aligned = summary[summary["end"].str.contains("@")]
    assert set(aligned["end"]) == {"seed1-mem@seed0-mem", "seed1-grok@seed0-grok"} and len(aligned) == 4
    assert set(aligned["kind"]) == {"segment", "polyline"}
    assert (aligned["aligned_distance"] < aligned["distance"]).all() and summary["distance"].gt(0).all()
    for row in aligned.itertuples():  # each aligned row sits beside its raw twin, at the same distance
        twin = (summary["kind"] == row.kind) & (summary["start"] == row.start)
        raw = summary[twin & (summary["end"] == row.end.split("@")[0])]
        assert raw["distance"].item() == pytest.approx(row.distance) and raw["aligned_distance"].isna().all()
    with h5py.File(built_workflow / "results/aligned/seed1-grok@seed0-grok.h5") as f:
        record = json.loads(f.attrs["alignment"])
        grokked = json.loads((built_workflow / "results/seed1/points.json").read_text())["grokked"]
        assert list(f["epochs"]) == [str(grokked)] and f.attrs["aligned_to"] == "seed0-grok"
    assert record["converged"] and record["max_logit_change"] < 1e-3
    assert np.all(np.diff(record["distances"]) <= 1e-9 * record["distance_before"])
    a1 = json.loads((built_workflow / "results/claims.json").read_text())[-1]
    assert a1["claim"] == "A1" and a1["source"] == "grokscape" and set(a1["units"]) == {"seed0-seed1"}
    with h5py.File(paths / "segment/seed0-grok__seed1-grok.h5") as f:
        raw_barrier = f["train_error"][()].max() - max(f["train_error"][0], f["train_error"][-1])
    assert a1["quantities"]["train_error_barrier_raw"] == pytest.approx(raw_barrier)
    assert "grokscape's question" in (built_workflow / "results/claims.md").read_text()


def test_activation_matching_is_asked_for_by_align_method(workflow_copy):
    config = yaml.safe_load((workflow_copy / "config.yaml").read_text())
    config["align"]["method"] = "activations"
    (workflow_copy / "config.yaml").write_text(yaml.safe_dump(config))
    target = "results/aligned/seed1-grok@seed0-grok.h5"
    assert jobs_planned(workflow_copy, target) == {"align": 1}
    snakemake(workflow_copy, target)
    with h5py.File(workflow_copy / target) as f:
        record = json.loads(f.attrs["alignment"])
    assert record["method"] == "activations" and record["settings"]["method"] == "activations"
    assert record["converged"] and record["iterations"] == 1 and record["max_logit_change"] < 1e-3
    before, after = record["activation_distances"]
    assert after < before and record["distance_after"] < record["distance_before"]
    config["align"].update(max_iterations=3, tolerance=1e-3)  # weight matching's stopping rule: unused here
    (workflow_copy / "config.yaml").write_text(yaml.safe_dump(config))
    assert jobs_planned(workflow_copy, target) == {}
    config["align"]["method"] = "weights"
    (workflow_copy / "config.yaml").write_text(yaml.safe_dump(config))
    assert jobs_planned(workflow_copy, target) == {"align": 1}


def test_aligned_checkpoint_by_name_runs_one_align_and_one_path(workflow_copy):
    target = "results/paths/bezier/seed0-e50__seed1-e100@seed0-e50.h5"
    planned = jobs_planned(workflow_copy, target)
    assert planned == {"align": 1, "curves": 1, "curve": 1}, planned
    result = snakemake(workflow_copy, "-n", "results/paths/chain/seed0-mem__seed0-grok@seed1-grok.h5", check=False)
    assert result.returncode != 0 and "aligned checkpoints (@) have none" in result.stdout


def test_a_seed_that_never_reaches_its_points_is_counted_not_a_crash(tmp_path):
    """Seed 0 trains for two epochs (its files kept while seeds 1 and 2 train for the configured epochs: a
    run of mixed settings, `--rerun-triggers mtime`), far too few to memorise, let alone grok. The default
    run plans around it: its paths are left out and said so, the figures draw the first seeds that reached
    their points and say so, and every claim counts it."""
    short = {"polyline": {"epochs": 50}, "bezier": {"epochs": 50}, "planes": {"grid": 5}}
    workdir = new_workdir(tmp_path, {"train": {"seeds": [0], "max_epochs": 2}, **short})
    snakemake(workdir, "results/seed0/points.json")
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["train"].update(seeds=[0, 1, 2], max_epochs=3000)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    snakemake(workdir, "--rerun-triggers", "mtime")
    results = workdir / "results"
    points = {seed: json.loads((results / f"seed{seed}/points.json").read_text()) for seed in (0, 1, 2)}
    assert points[0]["memorized"] is None and points[0]["last_epoch"] == 2
    assert all(points[seed]["grokked"] for seed in (1, 2))
    why = "never memorised within 2 epochs"
    claims = {c["claim"]: c for c in json.loads((results / "claims.json").read_text())}
    for name in ("C2", "C3", "C4", "S1"):  # per seed
        assert claims[name]["verdict"].endswith(", not grokked for 1") and claims[name]["counts"]["units"] == 3
        unit = claims[name]["units"]["seed0"]
        assert (unit["state"], unit["verdict"], unit["holds"], unit["quantities"]) == ("not grokked", why, None, {})
        assert claims[name]["units"]["seed1"]["state"] != "not grokked"
    assert claims["C5"]["units"]["seed0-seed1"]["verdict"] == f"seed0 {why}"
    assert claims["C6"]["units"]["seed0-seed1"]["state"] == "not grokked"
    assert claims["C5"]["units"]["seed1-seed2"]["state"] != "not grokked" and claims["C6"]["counts"]["units"] == 2
    assert claims["C1"]["units"]["seed0"]["state"] == "undecided"  # C1 reads the points themselves
    markdown = (results / "claims.md").read_text()
    assert f"| seed0 | {why} |" in markdown
    assert "| 0 |  |  | 2 |  |" in markdown.split("## What each seed reached")[1]
    summary = pd.read_csv(results / "paths/summary.csv")
    left_out = summary[summary["not_evaluated"].notna()]
    assert set(left_out["start"]) == {"seed0-mem", "seed0-grok"} and left_out["train_loss_barrier"].isna().all()
    assert left_out["not_evaluated"].str.startswith("seed 0 never ").all()
    evaluated = summary[summary["not_evaluated"].isna()]
    assert not evaluated["start"].str.startswith("seed0").any() and len(evaluated) == 15
    note = "seed 0 never memorised within 2 epochs: drawn seed 1 instead"
    assert f"seed1-mem__seed1-grok.h5; {note}" in (results / "logs/figures/fig2.log").read_text()
    assert "seed1-mem__seed2-mem.h5; seed 0" in (results / "logs/figures/fig6.log").read_text()
    assert sorted(p.name for p in (results / "planes/polyline").glob("*.pdf")) == [
        "seed1-mem__seed1-grok.pdf",
        "seed1-mem__seed2-mem.pdf",
    ]
    result = snakemake(
        workdir, "results/paths/chain/seed0-mem__seed0-grok.h5", "--rerun-triggers", "mtime", check=False
    )
    assert result.returncode != 0 and "seed 0 never reached train_acc >= 1.0 (points.train_acc)" in result.stdout
    assert not (results / "paths/chain/seed0-mem__seed0-grok.h5").exists()
