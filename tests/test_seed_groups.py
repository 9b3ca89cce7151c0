"""Which seeds train together: group sizes, labels and the `auto` choice by device."""

import pytest

from grokscape.seed_groups import group_label, seed_groups, seeds_per_job


@pytest.mark.parametrize(
    ("setting", "device", "gpu", "size"),
    [
        ("auto", "cpu", True, 1),
        ("auto", "auto", False, 1),
        ("auto", "auto", True, 5),
        ("auto", "cuda", False, 5),
        (2, "cuda", True, 2),
    ],
)
def test_auto_puts_every_seed_in_one_job_on_a_gpu_and_one_per_job_on_a_cpu(setting, device, gpu, size):
    assert seeds_per_job(setting, device, 5, gpu) == size


def test_groups_are_consecutive_chunks_named_by_their_first_and_last_seed():
    assert seed_groups([0, 1, 2, 7, 9], 2) == {"seeds0-1": [0, 1], "seeds2-7": [2, 7], "seeds9": [9]}
    assert group_label([4]) == "seeds4"


def test_a_seed_added_at_the_end_leaves_the_earlier_groups_alone():
    before, after = seed_groups([0, 1, 2], 2), seed_groups([0, 1, 2, 3], 2)
    assert after["seeds0-1"] == before["seeds0-1"] and "seeds2-3" in after
