"""One vocabulary: each word the configuration, the rules and the scripts share is defined once in Python,
and the schema's enums and patterns are checked to be those definitions."""

import re
from dataclasses import fields

import pytest
import yaml
from conftest import SCHEMA

from grokscape.numerics.curves import COEFFICIENTS
from grokscape.numerics.data import TABLES
from grokscape.numerics.fitting import FIT_OPTIMIZERS, SCHEDULES
from grokscape.numerics.model import INITS
from grokscape.numerics.training import OPTIMIZERS, SAMPLINGS
from grokscape.output.claims import PairTables, SeedTables
from grokscape.planning.claim_inputs import PAIR_ROLES, SEED_ROLES, input_name, parse_input_name
from grokscape.planning.endpoints import NAME_PATTERN, Endpoint
from grokscape.planning.path_names import CURVE_KINDS, FITTED_KINDS, PATH_KINDS, PATH_NAME_PATTERN, parse_path

PROPERTIES = yaml.safe_load(SCHEMA.read_text())["properties"]


def enum(section: str, key: str | None = None) -> list:
    entry = PROPERTIES[section] if key is None else PROPERTIES[section]["properties"][key]
    return entry["enum"]


@pytest.mark.parametrize(
    ("words", "allowed"),
    [
        (TABLES, enum("task", "operation")),
        (OPTIMIZERS, enum("train", "optimizer")),
        (INITS, enum("train", "init")),
        (SAMPLINGS, enum("train", "sampling")),
        (FIT_OPTIMIZERS, enum("polyline", "optimizer")),
        (FIT_OPTIMIZERS, enum("bezier", "optimizer")),
        (SCHEDULES, enum("polyline", "schedule")),
        (SCHEDULES, enum("bezier", "schedule")),
    ],
)
def test_every_value_the_schema_allows_has_its_code_and_no_other(words, allowed):
    assert list(words) == allowed


def test_the_schemas_path_names_are_the_grammar_of_the_code():
    assert PROPERTIES["paths"]["properties"]["extra"]["items"]["pattern"] == f"^{PATH_NAME_PATTERN}$"
    assert set(FITTED_KINDS) <= set(PROPERTIES) and set(CURVE_KINDS) == set(COEFFICIENTS)
    assert set(CURVE_KINDS) <= set(PATH_KINDS) and set(FITTED_KINDS) <= set(CURVE_KINDS)


@pytest.mark.parametrize(
    "name", ["seed0-mem", "seed12-grok", "seed3-e400", "seed1-grok@seed0-grok", "seed1-e50@seed0-mem"]
)
def test_every_checkpoint_name_the_grammar_allows_parses_back_to_itself(name):
    assert re.fullmatch(NAME_PATTERN, name) and str(Endpoint.parse(name)) == name
    assert parse_path(f"segment/{name}__seed0-mem") == ("segment", name, "seed0-mem")
    assert parse_path(f"results/paths/bezier/seed0-mem__{name}.h5") == ("bezier", "seed0-mem", name)


def test_claim_roles_are_the_tables_the_claims_take_and_their_names_parse_back():
    assert list(SEED_ROLES) == [f.name for f in fields(SeedTables)]
    assert list(PAIR_ROLES) == [f.name for f in fields(PairTables)]
    assert parse_input_name(input_name("across_grokked", (3, 4))) == ("across_grokked", (3, 4))
    assert parse_input_name(input_name("chain", (12,))) == ("chain", (12,))
    with pytest.raises(ValueError, match="no claim input"):
        parse_input_name("chain__1__2")  # a seed's role with a pair
