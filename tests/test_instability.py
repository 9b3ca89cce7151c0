"""The instability analysis' parts on their own: forks of a training run, the plan, the pairs, Frankle et al.'s
barrier and the claims I1 and I2 (the workflow itself: tests/test_instability_workflow.py)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import paper

from grokscape.errors import ConfigError
from grokscape.numerics.data import make_dataset
from grokscape.numerics.instability import barrier_over_mean_of_ends, barriers
from grokscape.numerics.model import ModelShape
from grokscape.numerics.training import Fork, TrainSettings, train_seed, train_seeds
from grokscape.output.claims import barrier as barrier_over_larger_end
from grokscape.output.instability_claims import InstabilityThresholds, i1_connected, i2_time_sealed, onset
from grokscape.output.instability_tables import PAIR_COLUMNS, pair_row, planned_pairs
from grokscape.planning.children import Child
from grokscape.planning.instability import plan_instability
from grokscape.planning.points import Thresholds

SHAPE = ModelShape(23, 32, 4, 128)
DATA = make_dataset("mul", 23, 0.7, 0)
CPU = torch.device("cpu")
# SGD without momentum, minibatches of 64 (six per epoch, so the order matters): a stateless optimizer.
SGD = paper(
    TrainSettings, lr=0.3, weight_decay=0.003, batch_size=64, max_epochs=60, epochs_after_grok=0, snapshot_every=20
)
EXACT = Thresholds(1.0, 1.0)


@pytest.fixture(scope="module")
def parent():
    return train_seed(DATA, SHAPE, SGD, EXACT, 0, CPU)


@pytest.mark.parametrize("spawn", [0, 20, 40])
def test_replay_child_retraces_its_parent_bit_for_bit(parent, spawn):
    """The fork is exact: the parent's weights at the spawn epoch, its own order seed with the generator
    advanced by the spawn epoch's permutations, and SGD without momentum (no optimizer state to lose)."""
    replay = Fork(spawn, parent.snapshots[spawn], {0: (0, spawn)})
    child = train_seeds(DATA, SHAPE, SGD, EXACT, [0], CPU, fork=replay)[0]
    assert child.history["epoch"][0] == spawn and child.history["epoch"][-1] == SGD.max_epochs
    for name, values in child.history.items():
        np.testing.assert_array_equal(values, parent.history[name][spawn:], err_msg=name)
    for name, value in parent.snapshots[SGD.max_epochs].items():
        assert torch.equal(child.snapshots[SGD.max_epochs][name], value), name


def test_children_with_other_order_seeds_part_from_their_parent_and_from_each_other(parent):
    fork = Fork(0, parent.snapshots[0], {1: (1001, 0), 2: (1002, 0)})
    children = train_seeds(DATA, SHAPE, SGD, EXACT, [1, 2], CPU, fork=fork)
    losses = [children[c].history["train_loss"] for c in (1, 2)]
    assert losses[0][0] == losses[1][0] == parent.history["train_loss"][0]  # the same start
    assert not np.array_equal(losses[0], losses[1]) and not np.array_equal(losses[0], parent.history["train_loss"])


def test_child_spawned_where_it_has_grokked_stops_at_once():
    """A point reached at the spawn epoch is reached there; with epochs_after_grok 0 a grokked child is done."""
    settings = paper(
        TrainSettings,
        optimizer="adamw",
        lr=0.03,
        weight_decay=1.0,
        max_epochs=3000,
        epochs_after_grok=0,
        snapshot_every=50,
    )
    grokked = train_seed(DATA, SHAPE, settings, Thresholds(1.0, 0.3), 0, CPU)
    fork = Fork(grokked.grokked, grokked.snapshots[grokked.grokked], {1: (1001, 0), 2: (1002, 0)})
    children = train_seeds(DATA, SHAPE, settings, Thresholds(1.0, 0.3), [1, 2], CPU, fork=fork)
    for child in children.values():
        assert child.grokked == grokked.grokked and list(child.history["epoch"]) == [grokked.grokked]
        assert list(child.snapshots) == [grokked.grokked]


def test_frankle_barrier_is_the_maximum_over_the_mean_of_the_ends():
    rising = np.array([0.1, 0.5, 0.3])
    assert barrier_over_mean_of_ends(rising) == pytest.approx(0.5 - 0.2)
    assert barrier_over_larger_end(rising) == pytest.approx(0.5 - 0.3)  # summary.csv's, which differs
    assert barrier_over_mean_of_ends(np.array([0.2, 0.25, 0.3])) == pytest.approx(0.05)  # half the ends' gap
    assert barrier_over_mean_of_ends(np.array([0.0, 0.0, 0.0])) == 0.0
    table = {"train_error": rising, "val_error": np.array([0.0, 0.1, 0.0]), "train_ce": np.array([2.0, 1.0, 4.0])}
    assert barriers(table) == pytest.approx({"train_error_barrier": 0.3, "val_error_barrier": 0.1, "loss_barrier": 1.0})


def _child(spawn_epoch, child, memorized, grokked, replay=False, spawn=None):
    spawn = spawn or f"e{spawn_epoch}"
    return {"spawn": spawn, "spawn_epoch": spawn_epoch, "child": child, "replay": replay}, {
        "memorized": memorized,
        "grokked": grokked,
    }


def _children(*rows):
    return [attrs | points for attrs, points in (_child(*row) for row in rows)]


def test_pairs_compare_children_at_point_1_only_when_spawned_before_the_parents():
    children = _children(
        (0, 0, 40, 300, True), (0, 1, 40, 310), (0, 2, 45, None), (100, 1, 100, 290), (100, 2, 100, 280)
    )
    pairs = planned_pairs(children, parent_memorized=40)
    assert [(p.spawn_epoch, p.child_a, p.child_b, p.at) for p in pairs] == [
        (0, 1, 2, "mem"),
        (0, 1, 2, "grok"),
        (100, 1, 2, "grok"),
    ]  # the replay child is in no pair
    assert [p.measured for p in pairs] == [True, False, True]  # child 2 of epoch 0 never grokked
    assert pairs[0].ends == ((1, 40), (2, 45))
    unmeasured = pair_row(pairs[1], None)
    assert list(unmeasured) == list(PAIR_COLUMNS) and np.isnan(unmeasured["distance"])


TH = InstabilityThresholds(zero_error=0.01, grok_tolerance=0.1)
PARENT = {"memorized": 100, "grokked": 1100}  # 1,000 epochs from point 1 to point 2: 10 % is 100


def _pairs(*rows):
    columns = ["spawn_epoch", "at", "child_a", "child_b", "train_error_barrier", "val_error_barrier", "distance"]
    return pd.DataFrame([(k, "grok", 1, 2, *values) for k, *values in rows], columns=columns)


def test_i1_needs_every_pair_spawned_from_point_1_on_without_barrier():
    connected = _pairs((0, 0.5, 0.6, 30.0), (100, 0.0, 0.005, 5.0), (500, 0.0, 0.0, 2.0))
    decided = i1_connected(connected, PARENT, TH)
    assert decided["state"] == "holds" and decided["quantities"]["connected_from_spawn_epoch"] == 100
    assert decided["quantities"]["spawn_epochs"] == [100, 500]  # spawn epoch 0 precedes point 1
    assert i1_connected(_pairs((100, 0.0, 0.2, 5.0), (500, 0.0, 0.0, 2.0)), PARENT, TH)["state"] == "fails"


def test_i1_is_undecided_where_a_child_did_not_grok_and_no_pair_refutes_it():
    unknown = _pairs((100, np.nan, np.nan, np.nan), (500, 0.0, 0.0, 2.0))
    decided = i1_connected(unknown, PARENT, TH)
    assert decided["state"] == "undecided" and "did not grok" in decided["reason"]
    refuted = _pairs((100, np.nan, np.nan, np.nan), (500, 0.3, 0.0, 2.0))
    assert i1_connected(refuted, PARENT, TH)["state"] == "fails"


def _grokking(*rows):
    columns = ["spawn_epoch", "child", "replay", "grokked", "last_epoch"]
    return pd.DataFrame(rows, columns=columns).astype({"grokked": float})  # never grokked: NaN, as read from CSV


def test_i2_asks_whether_children_spawned_at_point_1_grok_with_their_parent():
    sealed = _grokking(
        (0, 1, False, 1900, 2000), (100, 0, True, 1100, 1200), (100, 1, False, 1150, 1250), (100, 2, False, 1020, 1120)
    )
    decided = i2_time_sealed(sealed, PARENT, TH)
    assert decided["state"] == "holds" and decided["quantities"]["largest_delay"] == 80
    assert decided["quantities"]["sealed_from_spawn_epoch"] == 100  # spawn epoch 0's child grokked 800 later
    late = _grokking((100, 1, False, 1250, 1350), (100, 2, False, 1100, 1200))
    assert i2_time_sealed(late, PARENT, TH)["state"] == "fails"


def test_i2_is_undecided_where_a_child_spawned_at_point_1_never_grokked():
    never = _grokking((100, 1, False, None, 3000), (100, 2, False, 1100, 1200))
    decided = i2_time_sealed(never, PARENT, TH)
    assert decided["state"] == "undecided" and "child 1 spawned at point 1 did not grok" in decided["reason"]
    assert i2_time_sealed(never, {"memorized": 100, "grokked": None}, TH)["state"] == "undecided"
    elsewhere = _grokking((0, 1, False, 1100, 1200), (0, 2, False, 1100, 1200))
    assert "add mem to instability.spawn_epochs" in i2_time_sealed(elsewhere, PARENT, TH)["reason"]


def test_onset_is_the_spawn_epoch_from_which_every_later_one_is_stable():
    assert onset(pd.Series({0: True, 100: False, 200: True, 300: True})) == 200
    assert onset(pd.Series({0: True, 100: True})) == 0
    assert onset(pd.Series({0: True, 100: False})) is None


CONFIG = {
    "train": {"seeds": [3, 4], "snapshot_every": 50, "max_epochs": 1000},
    "instability": {
        "parents": None,
        "spawn_epochs": [0, "mem", 150],
        "children": 2,
        "order_seed": 1000,
        "replay": True,
    },
}


def test_plan_numbers_the_children_and_groups_them_by_job():
    plan = plan_instability(CONFIG, group_size=2)
    assert plan.parents == [3] and plan.spawns == ["e0", "mem", "e150"]  # the first seed by default
    assert plan.children(3) == [Child(0, 3, replay=True), Child(1, 1001), Child(2, 1002)]
    assert plan.children(3)[0].draws_before(150) == 150 and plan.children(3)[1].draws_before(150) == 0
    assert plan.groups == {"children0-1": [0, 1], "child2": [2]}
    assert plan.members("children0-1", 4) == [Child(0, 4, replay=True), Child(1, 1001)]  # the replay child's own seed
    assert plan_instability(CONFIG, group_size=1).groups == {"child0": [0], "child1": [1], "child2": [2]}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"spawn_epochs": [75]}, "instability.spawn_epochs: 75 is not a saved epoch"),
        ({"spawn_epochs": [1050]}, "instability.spawn_epochs: 1050 is not a saved epoch"),
        ({"parents": [5]}, "instability.parents: seed 5 is not trained (train.seeds is [3, 4])"),
    ],
)
def test_plan_names_the_setting_that_cannot_be_planned(change, message):
    config = {**CONFIG, "instability": {**CONFIG["instability"], **change}}
    with pytest.raises(ConfigError, match=re.escape(message)):
        plan_instability(config, group_size=1)
