"""Real Snakemake runs of the instability analysis (`snakemake instability`) on tiny configurations: the fork
proven exact, children that never grok, children spawned at point 2, what each setting and edit reruns."""

from __future__ import annotations

import json
import shutil

import h5py
import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO, edited_source, files_under, jobs_planned, new_workdir, snakemake

from grokscape.errors import GrokscapeError
from grokscape.output.export_run import export_instability
from grokscape.output.report_tables import blocks, render_instability

pytestmark = pytest.mark.workflow

# SGD without momentum (stateless, so the fork is exact), six minibatches an epoch (the order matters), and
# too few epochs to grok: the replay child must retrace the parent, and no child groks.
SGD = {
    "optimizer": "sgd",
    "lr": 0.3,
    "weight_decay": 0.003,
    "momentum": 0.0,
    "batch_size": 64,
    "max_epochs": 60,
    "epochs_after_grok": 0,
    "snapshot_every": 20,
    "seeds": [0],
}
INSTABILITY_RULES = {
    "instability_train",
    "instability_child",
    "instability_tables",
    "instability_figure",
    "instability_claims",
    "instability",
}


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory):
    instability = {"spawn_epochs": [0, 40], "replay": True, "children": 2}
    workdir = new_workdir(tmp_path_factory.mktemp("replayed"), {"train": SGD, "instability": instability})
    snakemake(workdir, "instability")
    return workdir


@pytest.fixture(scope="module")
def spawned_at_point_2(tmp_path_factory: pytest.TempPathFactory):
    """The tiny run (AdamW) with children spawned at its point 2 and no epochs after grokking."""
    overrides = {"train": {"epochs_after_grok": 0, "seeds": [0]}, "instability": {"spawn_epochs": ["grok"]}}
    workdir = new_workdir(tmp_path_factory.mktemp("grokked"), overrides)
    snakemake(workdir, "instability")
    return workdir


@pytest.fixture
def spawned_copy(spawned_at_point_2, tmp_path):
    target = tmp_path / "run"
    shutil.copytree(spawned_at_point_2, target, symlinks=True)
    return target


def _history(path):
    with h5py.File(path) as f:
        return {k: f[k][()] for k in f}, dict(f.attrs)


@pytest.mark.parametrize("spawn", [0, 40])
def test_replay_child_retraces_its_parent_bit_for_bit(replayed, spawn):
    parent, _ = _history(replayed / "results/seed0/history.h5")
    child, attrs = _history(replayed / f"results/instability/seed0/e{spawn}/child0/history.h5")
    assert attrs["replay"] and attrs["order_seed"] == 0 and attrs["optimizer_state"] == "none"
    assert child["epoch"][0] == spawn and child["epoch"][-1] == SGD["max_epochs"]
    for name, values in child.items():
        np.testing.assert_array_equal(values, parent[name][spawn:], err_msg=name)
    last = str(SGD["max_epochs"])
    with (
        h5py.File(replayed / "results/seed0/checkpoints.h5") as p,
        h5py.File(replayed / f"results/instability/seed0/e{spawn}/child0/checkpoints.h5") as c,
    ):
        points = json.loads((replayed / f"results/instability/seed0/e{spawn}/child0/points.json").read_text())
        reached = {points[k] for k in ("memorized", "grokked") if points[k] is not None and points[k] > spawn}
        assert sorted(int(e) for e in c["epochs"]) == sorted({spawn, SGD["max_epochs"], *reached})
        for epoch in (*map(str, reached), last):  # the weights at its points and its end are the parent's
            assert all(np.array_equal(c["epochs"][epoch][k][()], p["epochs"][epoch][k][()]) for k in p["epochs"][epoch])


def test_children_with_their_own_order_seeds_differ_from_epoch_0_on(replayed):
    table = pd.read_csv(replayed / "results/instability/seed0.csv")
    assert list(table["order_seed"][table["spawn"] == "e0"]) == [0, 1001, 1002]
    assert list(table["replay"][table["spawn"] == "e0"]) == [True, False, False]
    first, second = (_history(replayed / f"results/instability/seed0/e0/child{c}/history.h5")[0] for c in (1, 2))
    assert first["train_loss"][0] == second["train_loss"][0]  # one start ...
    assert first["train_loss"][1] != second["train_loss"][1]  # ... and other minibatches from the first epoch


def test_children_that_never_grok_are_rows_without_a_point_2_and_leave_the_claims_undecided(replayed):
    table = pd.read_csv(replayed / "results/instability/seed0.csv")
    assert len(table) == 6 and table["grokked"].isna().all() and (table["last_epoch"] == SGD["max_epochs"]).all()
    pairs = pd.read_csv(replayed / "results/instability/seed0_pairs.csv")
    assert set(pairs["at"]) >= {"grok"} and pairs.loc[pairs["at"] == "grok", "train_error_barrier"].isna().all()
    claims = json.loads((replayed / "results/instability/claims.json").read_text())
    assert [c["claim"] for c in claims] == ["I1", "I2"] and all(c["source"] == "grokscape" for c in claims)
    assert [c["verdict"] for c in claims] == ["undecided", "undecided"]


def test_children_spawned_at_point_2_start_grokked_and_stop_at_once(spawned_at_point_2):
    results = spawned_at_point_2 / "results"
    grokked = json.loads((results / "seed0/points.json").read_text())["grokked"]
    table = pd.read_csv(results / "instability/seed0.csv")
    assert (table["spawn_epoch"] == grokked).all() and (table["grokked"] == grokked).all()
    assert (table["last_epoch"] == grokked).all() and list(table["child"]) == [1, 2]
    pairs = pd.read_csv(results / "instability/seed0_pairs.csv")
    assert len(pairs) == 1 and pairs["at"].item() == "grok"
    assert pairs[["train_error_barrier", "val_error_barrier", "loss_barrier", "distance"]].eq(0).all(axis=None)
    with h5py.File(results / "instability/seed0.h5") as f:
        assert f["segments/train_error"].shape == (1, 9) and f.attrs["optimizer_state"] == "restarted"
        assert list(f["children/spawn"][()]) == [b"grok", b"grok"] and f.attrs["grokked"] == grokked
    claims = json.loads((results / "instability/claims.json").read_text())
    assert claims[0]["verdict"] == "holds"  # I1: one pair, spawned at point 2, no barrier
    assert "add mem to instability.spawn_epochs" in claims[1]["reasons"][0]  # I2 needs children of point 1
    assert (results / "instability/seed0.pdf").read_bytes().startswith(b"%PDF")


RUN = {"commit": "abc1234", "machine": "a test machine", "command": "snakemake instability", "wall_time_s": 75.0}


def test_the_analysis_exports_its_small_tables_and_a_reader_recomputes_each_barrier(spawned_at_point_2, tmp_path):
    folder = tmp_path / "instability"
    export_instability(spawned_at_point_2 / "results", folder, RUN)
    assert files_under(folder) == [
        "claims.json",
        "claims.md",
        "run.json",
        "seed0.csv",
        "seed0/points.json",
        "seed0_pairs.csv",
        "seed0_segments.csv",
    ]
    assert json.loads((folder / "run.json").read_text()) == RUN | {"optimizer_state": "restarted"}
    pairs, segments = pd.read_csv(folder / "seed0_pairs.csv"), pd.read_csv(folder / "seed0_segments.csv")
    with h5py.File(spawned_at_point_2 / "results/instability/seed0.h5") as f:
        assert len(segments) == f["segments/t"].size  # one measured pair, every t
        np.testing.assert_allclose(segments["val_error"], f["segments/val_error"][0], rtol=1e-7)
    for i, pair in pairs.iterrows():
        error = segments.loc[segments["pair"] == i].sort_values("t")["train_error"].to_numpy()
        recomputed = error.max() - (error[0] + error[-1]) / 2  # Frankle et al.'s barrier, from the CSV alone
        assert recomputed == pytest.approx(pair["train_error_barrier"], abs=1e-7)
        assert segments.loc[segments["pair"] == i, "at"].eq(pair["at"]).all()
    with pytest.raises(GrokscapeError, match="exists and is not empty; pass --replace"):
        export_instability(spawned_at_point_2 / "results", folder, RUN)
    with pytest.raises(GrokscapeError, match="holds no finished instability analysis"):
        export_instability(spawned_at_point_2 / "nowhere", tmp_path / "other", RUN)


def test_the_rendered_tables_show_each_child_and_pair(replayed, spawned_at_point_2, tmp_path):
    """Never-reached points and the replay child (replayed), measured pairs (spawned at point 2)."""
    export_instability(replayed / "results", tmp_path / "replayed", RUN)
    text = render_instability(tmp_path / "replayed")
    assert text.startswith("Measured at commit `abc1234` on a test machine: `snakemake instability`, 1 min 15 s")
    assert "the children's optimizer state: none" in text
    assert "| 0 | points 2 | never (r), never, never | — | — | — | — | — |" in text  # nothing to compare
    assert "| I1 |" in text and "| I2 |" in text and text.count("**undecided**") == 2
    export_instability(spawned_at_point_2 / "results", tmp_path / "grokked", RUN)
    grokked = json.loads((spawned_at_point_2 / "results/seed0/points.json").read_text())["grokked"]
    row = f"| grok ({grokked}) | points 2 | {grokked}, {grokked} | 0 | 0 | 0 | 0 | 0 |"
    assert row in render_instability(tmp_path / "grokked")
    assert blocks(tmp_path / "grokked") == {"instability": render_instability(tmp_path / "grokked")}


# What a dry run of `snakemake instability` plans after one edit.
INSTABILITY_EDITS = {
    ("instability", "children", 3): INSTABILITY_RULES,
    ("instability", "order_seed", 7): INSTABILITY_RULES,
    ("instability", "replay", True): INSTABILITY_RULES,
    ("instability", "spawn_epochs", ("grok", 0)): INSTABILITY_RULES,  # lists as tuples here, to be keys
    ("instability", "grok_tolerance", 0.5): {"instability_claims", "instability"},
    ("instability", "parents", (0,)): set(),  # the default, named
    ("train", "seeds_per_job", 2): INSTABILITY_RULES,  # both children in one job: retrained
    ("train", "lr", 0.02): INSTABILITY_RULES | {"train", "seed_run"},
    ("claims", "zero_error", 0.02): {"instability_claims", "instability"},
    ("claims", "barrier", 0.2): set(),
    ("plot", "dpi", 90): {"instability_figure", "instability"},
    ("paths", "n_points", 5): INSTABILITY_RULES - {"instability_train", "instability_child"},
    ("paths", "t_chunk", 3): set(),
    ("polyline", "epochs", 20): set(),
}


@pytest.mark.parametrize(("section", "key", "value"), list(INSTABILITY_EDITS), ids=lambda v: str(v))
def test_changed_setting_reruns_exactly_the_instability_rules_it_shapes(spawned_copy, section, key, value):
    config = yaml.safe_load((spawned_copy / "config.yaml").read_text())
    config[section][key] = list(value) if isinstance(value, tuple) else value
    (spawned_copy / "config.yaml").write_text(yaml.safe_dump(config))
    assert set(jobs_planned(spawned_copy, "instability")) == INSTABILITY_EDITS[section, key, value]


def test_a_new_child_or_a_new_grouping_trains_only_what_it_changes(spawned_copy):
    config = yaml.safe_load((spawned_copy / "config.yaml").read_text())
    config["instability"]["children"] = 3
    (spawned_copy / "config.yaml").write_text(yaml.safe_dump(config))
    planned = jobs_planned(spawned_copy, "instability")
    assert planned["instability_train"] == planned["instability_child"] == 1, planned  # child 3 alone
    config["instability"]["children"], config["train"]["seeds_per_job"] = 2, 2
    (spawned_copy / "config.yaml").write_text(yaml.safe_dump(config))
    planned = jobs_planned(spawned_copy, "instability")
    assert planned["instability_train"] == 1 and planned["instability_child"] == 2, planned  # one stacked job
    assert "results/groups/instability/seed0/grok/children1-2" in snakemake(spawned_copy, "-n", "instability").stdout


# (library module, definition): rules `snakemake instability` plans after an edit to that definition (a new first
# statement in its body); the rules whose scripts reach it through the names they use rerun, and no other.
CODE_EDITS = {
    ("grokscape/output/instability_figure.py", "instability_figure"): {"instability_figure", "instability"},
    ("grokscape/output/instability_claims.py", "i1_connected"): {"instability_claims", "instability"},
    ("grokscape/output/instability_tables.py", "pair_row"): {
        "instability_tables",
        "instability_figure",
        "instability_claims",
        "instability",
    },
    ("grokscape/child_jobs.py", "train_children"): INSTABILITY_RULES,
    ("grokscape/planning/instability.py", "plan_instability"): set(),  # the plan reaches the jobs through their params
    ("grokscape/numerics/training.py", "train_seeds"): INSTABILITY_RULES | {"train", "seed_run"},
}


@pytest.mark.parametrize(("module", "edit"), list(CODE_EDITS), ids=lambda v: str(v))
def test_edited_code_reruns_exactly_the_instability_rules_that_reach_it(spawned_copy, tmp_path, module, edit):
    repo = tmp_path / "repo"
    shutil.copytree(
        REPO, repo, ignore=shutil.ignore_patterns(".venv", ".git", "results", "runs", ".snakemake", "tests")
    )
    path = repo / module
    path.write_text(edited_source(path.read_text(), edit))
    assert set(jobs_planned(spawned_copy, "instability", "-s", str(repo / "Snakefile"))) == CODE_EDITS[module, edit]


def test_spawn_epoch_after_the_end_of_the_parents_run_fails_in_one_line_and_keeps_what_was_computed(spawned_copy):
    kept = spawned_copy / "results/instability/seed0/grok/child1/history.h5"
    before = kept.stat().st_mtime_ns
    result = snakemake(spawned_copy, "instability", "--config", "instability={spawn_epochs: [grok, 2950]}", check=False)
    assert result.returncode != 0
    assert "instability.spawn_epochs: 2950 is after the end of seed 0's run" in result.stdout
    assert kept.stat().st_mtime_ns == before


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("instability={spawn_epochs: [0, 75]}", "config error: instability.spawn_epochs: 75 is not a saved epoch"),
        ("instability={parents: [5]}", "config error: instability.parents: seed 5 is not trained"),
    ],
)
def test_instability_setting_that_cannot_be_planned_fails_before_any_job(tmp_path, override, message):
    workdir = new_workdir(tmp_path)
    result = snakemake(workdir, "-n", "instability", "--config", override, check=False)
    assert result.returncode != 0 and message in result.stdout and not (workdir / "results").exists()


def test_html_report_holds_the_instability_outputs(spawned_copy):
    snakemake(spawned_copy, "--report", "report.html", "instability")
    html = (spawned_copy / "report.html").read_text(errors="replace")
    assert "seed0_pairs.csv" in html and "seed0.pdf" in html and "claims.md" in html
