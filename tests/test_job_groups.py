"""Which seeds train together and which curves are evaluated together: sizes, labels, the `auto` choice."""

import pytest

from grokscape.errors import ConfigError
from grokscape.planning.job_groups import (
    curve_batches,
    gpu_requested,
    group_label,
    group_members,
    names_in_batch,
    per_job,
    seed_groups,
)


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
def test_auto_puts_every_item_in_one_job_on_a_gpu_and_one_per_job_on_a_cpu(setting, device, gpu, size):
    assert per_job(setting, device, 5, gpu) == size


def test_groups_are_consecutive_chunks_named_by_their_first_and_last_seed():
    assert seed_groups([0, 1, 2, 7, 9], 2) == {"seeds0-1": [0, 1], "seeds2-7": [2, 7], "seeds9": [9]}
    assert group_label([4]) == "seeds4"


def test_a_seed_added_at_the_end_leaves_the_earlier_groups_alone():
    before, after = seed_groups([0, 1, 2], 2), seed_groups([0, 1, 2, 3], 2)
    assert after["seeds0-1"] == before["seeds0-1"] and "seeds2-3" in after


def test_a_curve_alone_keeps_its_name_and_a_batch_is_named_by_its_places():
    names = ["seed0-mem__seed0-grok", "seed1-mem__seed1-grok", "seed0-mem__seed1-mem"]
    alone = curve_batches(names, 1)
    assert alone == {name: [name] for name in names}
    batches = curve_batches(names, 2)
    assert batches == {"batch0-1": names[:2], names[2]: names[2:]}  # the last one alone: its own name
    assert curve_batches(names, 3) == {"batch0-2": names}


@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_a_label_names_its_members_whatever_size_was_planned(size):
    seeds = [0, 1, 2, 7, 9]
    for label, group in seed_groups(seeds, size).items():
        assert group_members(label, seeds, "train.seeds") == group
    names = [f"seed{i}-mem__seed{i}-grok" for i in range(5)]
    for label, batch in curve_batches(names, size).items():
        assert names_in_batch(label, names, "segment") == batch
    # a cluster job that planned other sizes on its own node still finds the members of its label
    assert group_members("seeds2-7", seeds, "train.seeds") == [2, 7] and group_members("seeds9", seeds, "") == [9]
    assert names_in_batch("batch1-3", names, "segment") == names[1:4]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: group_members("seeds5", [0, 1], "train.seeds"), "train.seeds: group seeds5 asked for"),
        (lambda: group_members("seeds1-0", [0, 1], "sweeps.seeds"), "sweeps.seeds: group seeds1-0"),
        (lambda: names_in_batch("batch1-3", ["a__b", "c__d"], "bezier"), "bezier batch batch1-3 asked for; 2"),
    ],
)
def test_a_label_that_names_no_members_is_one_line_naming_the_setting(call, message):
    with pytest.raises(ConfigError, match=message):
        call()


@pytest.mark.parametrize(
    ("resources", "gpu"),
    [
        ({"gpu": 1, "cpus_per_gpu": 1}, True),
        ({"gpu": 0}, False),
        ({"gpus": "a100:2"}, True),
        ({"gres": "gpu:a100:1"}, True),
        ({"slurm_partition": "gpu"}, False),  # a partition's name asks for no GPU
        ({}, False),
    ],
)
def test_a_gpu_is_requested_as_the_profile_and_set_resources_write_it(resources, gpu):
    assert gpu_requested(resources) == gpu
