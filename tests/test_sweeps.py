"""The sweeps: planning (keys, shared runs, checks), the tables against the runs' histories, a real run."""

from __future__ import annotations

import copy
import json
import math
import re
import shutil

import h5py
import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO, jobs_planned, new_workdir, snakemake, tiny_config

from grokscape.errors import ConfigError
from grokscape.output.sweep_tables import loglog_fit
from grokscape.planning.sweeps import SWEEPS, base_settings, plan_sweeps

SCHEMA = yaml.safe_load((REPO / "schemas" / "config.schema.yaml").read_text())
# Two points per grid, two seeds, short runs; the first point of every grid is the base problem itself.
SMALL = {
    "seeds": [0, 1],
    "problem": "tiny",  # the sweeps' own tiny problem (p = 23, sweeps.tiny), which these grids suit
    "max_epochs": 300,
    "train_fraction": [0.7, 0.5],
    "weight_decay": [1.0, 2.0],
    "init_scale": [1, 2],  # whole numbers: the same run as 1.0
    "weight_norm": [10.0, 20.0],
    "interventions": [
        {"name": "adamw", "train": {}},
        {"name": "sgd", "train": {"optimizer": "sgd", "lr": 1.0, "weight_decay": 0.001}},
    ],
}
DISTINCT_POINTS = 1 + 1 + 1 + 1 + 2 + 1  # base, fraction 0.5, decay 2, scale 2, two radii, sgd


def small_config(**sweeps) -> dict:
    config = tiny_config()
    config["sweeps"] = {**config["sweeps"], **copy.deepcopy(SMALL), **sweeps}
    return config


def test_points_that_coincide_share_one_run_and_each_sweep_varies_one_setting():
    plan = plan_sweeps(small_config(), SCHEMA)
    assert len(plan.runs) == DISTINCT_POINTS
    first_keys = {plan.points[sweep][0][2] for sweep in SWEEPS if sweep != "weight_norm"}
    assert len(first_keys) == 1  # fraction 0.7, decay 1.0, scale 1, adamw: the base problem, one run
    base = plan.runs[first_keys.pop()]
    assert base["task"]["p"] == 23 and base["train"]["max_epochs"] == 300 and "seeds" not in base["train"]
    assert "momentum" not in base["train"]  # AdamW: the main run's SGD momentum shapes nothing here
    sgd = plan.runs[plan.points["interventions"][-1][2]]["train"]
    assert sgd["optimizer"] == "sgd" and sgd["momentum"] == 0.0
    for (value, _, key), sweep, section in (
        (plan.points["train_fraction"][2], "train_fraction", "task"),
        (plan.points["weight_decay"][2], "weight_decay", "train"),
        (plan.points["init_scale"][2], "init_scale", "train"),
    ):
        changed = {k for k, v in plan.runs[key][section].items() if v != base[section][k]}
        assert changed == {sweep} and plan.runs[key][section][sweep] == value
    radius = plan.runs[plan.points["weight_norm"][0][2]]["train"]
    assert radius["weight_norm"] == 10.0 and radius["weight_decay"] == 0.0 and radius["epochs_after_grok"] == 300
    assert [seed for _, seed, _ in plan.points["interventions"]] == [0, 1, 0, 1]


def test_a_setting_written_as_a_whole_number_keys_the_same_run():
    ints = plan_sweeps(small_config(init_scale=[1, 2]), SCHEMA)
    floats = plan_sweeps(small_config(init_scale=[1.0, 2.0]), SCHEMA)
    assert ints.points["init_scale"] == floats.points["init_scale"]
    assert isinstance(ints.runs[ints.points["init_scale"][2][2]]["train"]["init_scale"], float)


@pytest.mark.parametrize(
    ("sweeps", "message"),
    [
        (
            {"overrides": {"train": {"lr": -1}}},
            "config error: sweeps.overrides: train.lr: -1 is less than or equal to the minimum",
        ),
        (
            {"problem": "tiny", "tiny": {"model": {"n_heads": 0}}},
            "config error: sweeps.tiny: model.n_heads: 0 is less than the minimum of 1",
        ),
        (
            {"interventions": [{"name": "x", "train": {"optimizer": "lbfgs"}}]},
            "sweeps.interventions[0]: train.optimizer",
        ),
        ({"interventions": [{"name": "x", "train": {}}, {"name": "x", "train": {}}]}, "names must differ"),
    ],
)
def test_a_bad_sweep_setting_is_one_line_naming_it(sweeps, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        plan_sweeps(small_config(**sweeps), SCHEMA)


def test_loglog_fit_recovers_a_power_law_and_declines_without_data():
    decay = [0.1, 0.1, 0.3, 1.0, 3.0]
    fit = loglog_fit(decay, [1000 / d * (1.01 if i % 2 else 0.99) for i, d in enumerate(decay)])
    assert fit["slope"] == pytest.approx(-1, abs=0.02) and fit["stderr"] < 0.02 and fit["n"] == 5
    assert fit["ci95"][0] < fit["slope"] < fit["ci95"][1]
    assert loglog_fit([0.1, 1.0, 3.0], [100, None, float("nan")])["slope"] is None  # one run reached it


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    workdir = new_workdir(tmp_path_factory.mktemp("sweeps"), {"sweeps": copy.deepcopy(SMALL)})
    planned = jobs_planned(workdir, "sweeps")
    snakemake(workdir, "sweeps")
    return workdir, planned


def _history(workdir, run, seed):
    with h5py.File(workdir / f"results/sweeps/runs/{run}/seed{seed}/history.h5") as f:
        return {k: f[k][()] for k in f}, json.loads(f.attrs["settings"])


def test_a_shared_grid_point_trains_once_per_seed(swept):
    workdir, planned = swept
    # on a CPU (seeds_per_job auto) one seed a job, each filed under its own name
    assert planned["sweep_train"] == planned["sweep_run"] == DISTINCT_POINTS * 2
    assert planned["sweep_table"] == len(SWEEPS)
    runs = sorted((workdir / "results/sweeps/runs").glob("*/seed*/history.h5"))
    assert len(runs) == DISTINCT_POINTS * 2
    assert not list((workdir / "results/groups/sweeps").glob("*/*"))  # the jobs' folders are temporary
    assert "Nothing to be done" in snakemake(workdir, "-n", "sweeps").stdout


def test_the_seeds_of_a_grid_point_trained_together_follow_their_runs_alone(swept, tmp_path):
    """`sweeps.seeds_per_job: 2` trains both seeds of a point in one stacked job: every run is retrained
    (a new grouping), each seed starts where it started alone and follows its own trajectory, and its files
    keep their names."""
    workdir = tmp_path / "grouped"
    shutil.copytree(swept[0], workdir, symlinks=True)
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["sweeps"]["seeds_per_job"] = 2
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    planned = jobs_planned(workdir, "sweeps")
    assert planned == {"sweep_train": DISTINCT_POINTS, "sweep_run": 2 * DISTINCT_POINTS, "sweep_table": 5, "sweeps": 1}
    # Stacking changes float rounding only (a logit moves by 1 ulp), so the runs agree closely for tens of
    # epochs and then drift apart where the training is unstable (this problem spikes near epoch 100).
    _, _, key = plan_sweeps(small_config(), SCHEMA).points["interventions"][0]  # the base problem
    alone = {seed: _history(swept[0], key, seed)[0] for seed in SMALL["seeds"]}
    snakemake(workdir, *(f"results/sweeps/runs/{key}/seed{seed}/history.h5" for seed in SMALL["seeds"]))
    assert "seeds [0, 1]" in (workdir / f"results/logs/sweeps/{key}/seeds0-1.log").read_text()
    for seed in SMALL["seeds"]:
        together, settings = _history(workdir, key, seed)
        assert settings == _history(swept[0], key, seed)[1]
        assert together.keys() == alone[seed].keys()
        for name, values in alone[seed].items():
            assert together[name][0] == values[0], f"seed {seed}: {name} at initialisation"
            np.testing.assert_allclose(together[name][:21], values[:21], rtol=1e-5, err_msg=f"seed {seed}: {name}")


@pytest.mark.parametrize("sweep", SWEEPS)
def test_every_table_row_is_read_from_its_runs_history(swept, sweep):
    workdir, _ = swept
    table = pd.read_csv(workdir / f"results/sweeps/{sweep}.csv")
    column = "intervention" if sweep == "interventions" else sweep
    grid = [item["name"] for item in SMALL[sweep]] if sweep == "interventions" else [float(v) for v in SMALL[sweep]]
    assert list(table[column]) == [value for value in grid for _ in SMALL["seeds"]]  # every run, none dropped
    assert list(table["seed"]) == SMALL["seeds"] * len(grid)
    for row in table.itertuples():
        history, settings = _history(workdir, row.run, row.seed)
        points = json.loads((workdir / f"results/sweeps/runs/{row.run}/seed{row.seed}/points.json").read_text())
        reached = np.flatnonzero(history["val_acc"] >= 0.99)
        expected = int(history["epoch"][reached[0]]) if reached.size else None
        assert (None if math.isnan(row.epoch_to_val_acc) else int(row.epoch_to_val_acc)) == expected
        assert row.reached_val_acc == (expected is not None)
        for key in ("memorized", "grokked"):
            value = getattr(row, key)
            assert (None if math.isnan(value) else int(value)) == points[key]
        assert row.last_epoch == history["epoch"][-1] and row.last_epoch <= SMALL["max_epochs"]
        assert row.final_val_loss == pytest.approx(history["val_loss"][-1])
        assert row.final_train_acc == pytest.approx(history["train_acc"][-1])
        if sweep != "interventions":
            section = "task" if sweep == "train_fraction" else "train"
            assert settings[section][sweep] == getattr(row, sweep)
        if sweep == "weight_norm":
            np.testing.assert_allclose(history["weight_norm"], row.weight_norm, rtol=1e-5)
            assert row.last_epoch == SMALL["max_epochs"]  # the whole run, whether or not it generalised
    pdf = (workdir / f"results/sweeps/{sweep}.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 5000


def test_runs_that_never_generalise_are_kept_and_the_summary_counts_them(swept):
    workdir, _ = swept
    table = pd.read_csv(workdir / "results/sweeps/interventions.csv")
    never = table[~table["reached_val_acc"]]
    assert len(never) and never["epoch_to_val_acc"].isna().all() and (never["last_epoch"] == 300).all()
    summary = json.loads((workdir / "results/sweeps/interventions.json").read_text())
    for entry in summary["points"]:
        group = table[table["intervention"] == entry["intervention"]]
        assert entry["runs"] == len(group) and entry["never_reached_val_acc"] == int((~group["reached_val_acc"]).sum())
        reached = group["epoch_to_val_acc"].dropna()
        assert entry["epoch_to_val_acc"]["n"] == len(reached)
        if len(reached):
            assert entry["epoch_to_val_acc"]["median"] == pytest.approx(reached.median())


def test_the_weight_decay_fit_uses_exactly_the_runs_that_generalised(swept):
    workdir, _ = swept
    table = pd.read_csv(workdir / "results/sweeps/weight_decay.csv")
    fit = json.loads((workdir / "results/sweeps/weight_decay.json").read_text())["fit"]
    assert fit == loglog_fit(table["weight_decay"].tolist(), table["epoch_to_val_acc"].tolist())
    assert fit["n"] == int(table["reached_val_acc"].sum())


def test_a_new_grid_value_trains_only_its_own_runs(swept):
    workdir, _ = swept
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["sweeps"]["weight_decay"] = [1.0, 2.0, 3.0]
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    try:
        assert jobs_planned(workdir, "sweeps") == {"sweep_train": 2, "sweep_run": 2, "sweep_table": 1, "sweeps": 1}
    finally:
        config["sweeps"]["weight_decay"] = SMALL["weight_decay"]
        (workdir / "config.yaml").write_text(yaml.safe_dump(config))


def test_reordered_configuration_keys_give_the_same_params():
    config = small_config()
    shuffled = {section: dict(reversed(list(v.items()))) if isinstance(v, dict) else v for section, v in config.items()}
    plan, other = plan_sweeps(config, SCHEMA), plan_sweeps(shuffled, SCHEMA)
    assert [json.dumps(plan.runs[key]) for key in plan.runs] == [json.dumps(other.runs[key]) for key in plan.runs]


def test_the_default_sweeps_share_the_base_problem_between_grids():
    plan = plan_sweeps(tiny_config(), SCHEMA)  # config.yaml's sweeps: the count of runs docs/sweeps.md gives
    points = sum(len(plan.points[sweep]) for sweep in SWEEPS) // len(plan.seeds)
    assert (points, len(plan.runs), len(plan.seeds)) == (20, 17, 3)


def test_the_swept_problem_is_chosen_by_name_and_the_overrides_go_over_it():
    config = small_config(tiny={"model": {"d_model": 16}}, overrides={"train": {"lr": 0.01}})
    main = base_settings({**config, "sweeps": {**config["sweeps"], "problem": "main"}})
    assert {s: main[s] for s in ("task", "model")} == {s: config[s] for s in ("task", "model")}
    assert main["train"]["lr"] == 0.01 and main["train"]["max_epochs"] == 300  # the overrides, and sweeps' epochs
    tiny = base_settings({**config, "sweeps": {**config["sweeps"], "problem": "tiny"}})
    assert tiny["model"] == {**config["model"], "d_model": 16} and tiny["train"]["lr"] == 0.01


@pytest.mark.parametrize("how", ["configfile", "config"])
def test_sweeping_the_main_problem_is_a_choice_a_configfile_and_the_command_line_can_make(tmp_path, how):
    """Both merge key by key into config.yaml, whose sweeps.tiny holds the tiny problem: a name chooses."""
    workdir = new_workdir(tmp_path)
    expected = tiny_config()
    if how == "configfile":
        other = tmp_path / "subtraction.yaml"
        other.write_text("task: {operation: sub, p: 31}\nsweeps: {problem: main}\n")
        args = ["--configfile", str(other)]
        expected["task"].update(operation="sub", p=31)
    else:
        args = ["--config", "sweeps={problem: main}", "model={d_model: 16, n_heads: 4, d_mlp: 64}"]
        expected["model"] = {"d_model": 16, "n_heads": 4, "d_mlp": 64}
    expected["sweeps"]["problem"] = "main"
    wanted = plan_sweeps(expected, SCHEMA)
    out = snakemake(workdir, "-n", "results/sweeps/weight_decay.csv", *args).stdout
    planned = set(re.findall(r"results/sweeps/runs/([0-9a-f]{12})/", out))
    assert planned == {key for _, _, key in wanted.points["weight_decay"]}
    run = wanted.runs[wanted.points["weight_decay"][0][2]]
    assert (run["task"]["p"], run["model"]["d_model"]) == (expected["task"]["p"], expected["model"]["d_model"])
    tiny = plan_sweeps(tiny_config(), SCHEMA)  # what was swept before the choice: none of it
    assert planned.isdisjoint(key for _, _, key in tiny.points["weight_decay"])
