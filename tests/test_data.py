import pytest
import torch
from conftest import SCHEMA, tiny_config

from grokscape.errors import ConfigError
from grokscape.numerics.data import make_dataset, operation_table
from grokscape.planning.configuration import check_config, table_size, train_count


@pytest.mark.parametrize(
    ("operation", "expected"),
    [("mul", lambda a, b, p: a * b % p), ("add", lambda a, b, p: (a + b) % p), ("sub", lambda a, b, p: (a - b) % p)],
)
def test_operation_tables_match_modular_arithmetic(operation, expected):
    a, b, c = operation_table(operation, 7)
    assert a.numel() == 7 * 6  # a in [0, 6], b in [1, 6]
    assert int(b.min()) == 1 and int(a.min()) == 0 and int(a.max()) == 6
    for x, y, z in zip(a.tolist(), b.tolist(), c.tolist(), strict=True):
        assert z == expected(x, y, 7)


def test_division_inverts_multiplication():
    a, b, c = operation_table("div", 11)
    assert torch.equal(c * b % 11, a)


def test_paper_table_has_9312_equations_and_half_train():
    data = make_dataset("mul", 97, 0.5, 0)
    assert data.a.numel() == 9312
    assert data.train_index.numel() == 4656 and data.val_index.numel() == 4656
    assert int(data.is_train.sum()) == 4656
    assert set(data.train_index.tolist()).isdisjoint(data.val_index.tolist())


def test_split_depends_on_data_seed_only():
    first, again, other = (
        make_dataset("mul", 23, 0.5, 0),
        make_dataset("mul", 23, 0.5, 0),
        make_dataset("mul", 23, 0.5, 1),
    )
    assert torch.equal(first.train_index, again.train_index)
    assert not torch.equal(first.is_train, other.is_train)


def test_s5_table_is_the_composition_of_permutations():
    a, b, c = operation_table("s5", 120)
    assert a.numel() == 120 * 120 and int(c.min()) == 0 and int(c.max()) == 119
    table = torch.empty(120, 120, dtype=torch.long)
    table[a, b] = c
    identity = torch.arange(120)
    assert torch.equal(table[0], identity) and torch.equal(table[:, 0], identity)  # token 0 is the identity
    assert all(sorted(row.tolist()) == identity.tolist() for row in table)  # each row a permutation (Latin square)
    x, y, z = torch.randint(0, 120, (3, 500), generator=torch.Generator().manual_seed(0))
    assert torch.equal(table[table[x, y], z], table[x, table[y, z]])  # associative
    assert not torch.equal(table, table.T)  # and, unlike arithmetic mod p, not commutative


@pytest.mark.parametrize(("operation", "p"), [("mul", 7), ("div", 11), ("s5", 120)])
def test_the_configuration_check_knows_the_size_of_every_table(operation, p):
    """`table_size` and `train_count` decide at start-up that a split leaves neither set empty."""
    assert operation_table(operation, p)[0].numel() == table_size(operation, p)
    data = make_dataset(operation, p, 0.3, 0)
    assert data.train_index.numel() == train_count(0.3, table_size(operation, p))


@pytest.mark.parametrize(
    ("task", "message"),
    [
        ({"operation": "div", "p": 12}, "task.p: div needs a prime modulus, got 12"),
        ({"operation": "s5", "p": 97}, "task.p: s5 needs 120"),
        ({"p": 3, "train_fraction": 0.01}, "task.train_fraction: 0.01 leaves an empty train or validation set of 6"),
    ],
)
def test_a_problem_no_table_can_give_is_a_configuration_error(task, message):
    config = tiny_config()
    config["task"].update(task)
    with pytest.raises(ConfigError, match=message):
        check_config(config, SCHEMA)
