import pytest

from grokscape.errors import PointNotReachedError
from grokscape.planning.points import (
    Thresholds,
    collapse_record,
    collapses,
    first_epoch_reaching,
    point_epoch,
    points_record,
)


def test_points_are_first_epochs_reaching_each_threshold():
    epochs = [0, 1, 2, 3, 4, 5]
    train = [0.1, 0.9, 1.0, 1.0, 0.99, 1.0]
    val = [0.0, 0.1, 0.2, 0.95, 1.0, 1.0]
    record = points_record(epochs, train, val, Thresholds(1.0, 1.0))
    assert (record["memorized"], record["grokked"]) == (2, 4)
    assert first_epoch_reaching(epochs, val, 0.9) == 3


def test_missing_point_error_names_seed_threshold_and_best_accuracy():
    record = points_record([0, 1, 2], [0.5, 1.0, 1.0], [0.1, 0.42, 0.3], Thresholds(1.0, 0.9))
    assert record["grokked"] is None
    assert point_epoch(record, "mem", 7) == 1
    with pytest.raises(PointNotReachedError) as error:
        point_epoch(record, "grok", 7)
    message = str(error.value)
    assert "seed 7" in message and "0.9" in message and "0.4200" in message and "\n" not in message


# memorised at epoch 2; dips: 0.97 (within a 0.05 margin, ignored), 0.6 → 0.5 → 0.8 (one dip, deepest at 7),
# then 0.9 (another dip, epoch 11); the 0.7 at epoch 1 comes before point 1.
EPOCHS = list(range(13))
TRAIN = [0.1, 0.7, 1.0, 1.0, 0.97, 1.0, 0.6, 0.5, 0.8, 1.0, 1.0, 0.9, 1.0]


def test_collapses_merge_consecutive_epochs_into_one_dip_at_its_deepest_epoch():
    found = collapses(EPOCHS, TRAIN, memorized=2, level=0.95)
    assert found == [{"epoch": 7, "train_acc": 0.5}, {"epoch": 11, "train_acc": 0.9}]
    assert collapses(EPOCHS, TRAIN, memorized=2, level=0.99) == [
        {"epoch": 4, "train_acc": 0.97},  # a margin of 0.01 counts the shallow dip too
        {"epoch": 7, "train_acc": 0.5},
        {"epoch": 11, "train_acc": 0.9},
    ]
    assert collapses(EPOCHS, TRAIN, memorized=None, level=0.95) == []  # no point 1: nothing after it


def test_collapse_record_names_the_level_and_the_lowest_train_accuracy_after_point_1():
    record = collapse_record(EPOCHS, TRAIN, memorized=2, margin=0.05, threshold=1.0)
    assert record["level"] == 0.95 and record["memorized"] == 2 and len(record["collapses"]) == 2
    assert record["deepest_collapse"] == 0.5
    calm = collapse_record(EPOCHS, [0.1, 0.7, 1.0, 1.0, 0.97, *[1.0] * 8], memorized=2, margin=0.05, threshold=1.0)
    assert calm["collapses"] == [] and calm["deepest_collapse"] == 0.97  # the lowest, even within the margin
    never = collapse_record(EPOCHS, [0.5] * 13, memorized=None, margin=0.05, threshold=1.0)
    assert never["collapses"] == [] and never["deepest_collapse"] is None
