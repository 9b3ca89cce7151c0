import pytest

from grokscape.errors import PointNotReachedError
from grokscape.planning.points import Thresholds, first_epoch_reaching, point_epoch, points_record


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
