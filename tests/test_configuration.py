"""What rules take as params: the configuration less its knobs and the keys the rest of it leaves unused."""

import copy

import yaml
from conftest import REPO

from grokscape.planning.configuration import inert_keys, knobs, shaping_settings

SCHEMA = yaml.safe_load((REPO / "schemas" / "config.schema.yaml").read_text())
CONFIG = yaml.safe_load((REPO / "config.yaml").read_text())


def test_the_paper_configuration_keeps_every_momentum_and_the_weight_matching_stop():
    shaping = shaping_settings(CONFIG, SCHEMA)
    assert inert_keys(CONFIG) == set()  # SGD everywhere, weight matching
    assert shaping["train"]["momentum"] == CONFIG["train"]["momentum"]
    assert shaping["polyline"]["momentum"] == 0.9 and shaping["align"]["max_iterations"] == 200
    assert "t_chunk" not in shaping["paths"] and ("paths", "t_chunk") in knobs(SCHEMA)  # a knob


def test_a_momentum_without_sgd_and_the_stop_of_a_one_pass_method_are_left_out():
    config = copy.deepcopy(CONFIG)
    config["train"]["optimizer"], config["polyline"]["optimizer"] = "adamw", "adam"
    config["align"]["method"] = "activations"
    shaping = shaping_settings(config, SCHEMA)
    assert "momentum" not in shaping["train"] and "momentum" not in shaping["polyline"]
    assert shaping["bezier"]["momentum"] == 0.9  # still SGD
    assert shaping["align"] == {"method": "activations"}
    for section, key in inert_keys(config):  # named as the schema names them: a typo would leave out nothing
        assert key in SCHEMA["properties"][section]["properties"], (section, key)
    assert config["train"]["momentum"] == CONFIG["train"]["momentum"]  # the configuration itself is untouched
