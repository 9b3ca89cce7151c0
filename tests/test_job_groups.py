"""Which seeds train together and which curves are evaluated together: sizes, labels, the `auto` choice."""

import pytest

from grokscape.job_groups import curve_batches, group_label, group_of, per_job, seed_groups


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
    labels = group_of(seed_groups([0, 1, 2, 7, 9], 2))
    assert labels == {0: "seeds0-1", 1: "seeds0-1", 2: "seeds2-7", 7: "seeds2-7", 9: "seeds9"}


def test_a_seed_added_at_the_end_leaves_the_earlier_groups_alone():
    before, after = seed_groups([0, 1, 2], 2), seed_groups([0, 1, 2, 3], 2)
    assert after["seeds0-1"] == before["seeds0-1"] and "seeds2-3" in after


def test_a_curve_alone_keeps_its_name_and_a_batch_is_named_by_its_members():
    names = ["seed0-mem__seed0-grok", "seed1-mem__seed1-grok", "seed0-mem__seed1-mem"]
    alone = curve_batches(names, 1)
    assert alone == {name: [name] for name in names}
    batches = curve_batches(names, 2)
    assert list(batches.values()) == [names[:2], names[2:]]
    label = next(iter(batches))
    assert label.startswith("batch2-") and len(label) == len("batch2-") + 8
    assert next(iter(curve_batches(names[::-1][1:], 2))) != label  # other members, another job
    assert curve_batches(names, 2) == batches  # the same plan, the same labels
