"""What rules take as params (the configuration less its knobs and the keys the rest of it leaves unused), and
the one way a job gets its settings: dataclasses built from the checked configuration, knobs apart."""

import copy
from dataclasses import MISSING, fields
from types import SimpleNamespace

import pytest
import yaml
from conftest import REPO, paper_config

from grokscape.numerics.fitting import FitSettings
from grokscape.numerics.landscape import Objective
from grokscape.numerics.model import ModelShape
from grokscape.numerics.sharpness import SharpnessSettings
from grokscape.numerics.training import TrainSettings
from grokscape.output.plotting import Style
from grokscape.planning.configuration import check_config, inert_keys, knobs, shaping_settings
from grokscape.planning.points import Thresholds
from grokscape.scripting import job_settings

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


SETTINGS_CLASSES = {  # every settings dataclass, and its constructor's extra arguments
    ModelShape: (),
    TrainSettings: (),
    Thresholds: (),
    Objective: (),
    FitSettings: ("polyline",),
    SharpnessSettings: (),
    Style: (),
}


@pytest.mark.parametrize("cls", SETTINGS_CLASSES, ids=lambda cls: cls.__name__)
def test_settings_dataclasses_take_every_value_from_the_configuration(cls):
    """Defaults live in the schema only: a dataclass default could disagree with it unseen."""
    assert all(f.default is MISSING and f.default_factory is MISSING for f in fields(cls)), cls
    built = cls.from_config(paper_config(), *SETTINGS_CLASSES[cls])
    optional = ("weight_norm", "grad_clip")  # None is a value of theirs: no fixed norm, no clipping
    assert all(getattr(built, f.name) is not None or f.name in optional for f in fields(cls))


def test_settings_built_from_the_schema_defaults_are_the_schemas():
    config = check_config({}, REPO / "schemas" / "config.schema.yaml")  # nothing set: every default
    properties = SCHEMA["properties"]
    assert (
        FitSettings.from_config(config, "bezier").checkpoint_every
        == properties["bezier"]["properties"]["checkpoint_every"]["default"]
    )
    assert (
        SharpnessSettings.from_config(config).trace_samples
        == properties["sharpness"]["properties"]["trace_samples"]["default"]
    )
    assert ModelShape.from_config(config) == ModelShape(97, 128, 4, 512)
    assert set(config) == set(properties)  # every section has its defaults, even where none is written


def test_a_job_reads_its_settings_and_the_knobs_named_for_it_and_nothing_else():
    config = copy.deepcopy(CONFIG)
    settings = {"paths": {"n_points": 61}, "model": {"d_model": 128}}
    job = SimpleNamespace(params=SimpleNamespace(settings=settings, knobs=["paths.t_chunk"]), config=config)
    assert job_settings(job) == {"paths": {"n_points": 61, "t_chunk": 16}, "model": {"d_model": 128}}
    assert settings == {"paths": {"n_points": 61}, "model": {"d_model": 128}}  # the params are untouched
    job.params.knobs = ["paths.n_points"]  # a setting passed as a knob would rerun nothing when changed
    with pytest.raises(ValueError, match=r"paths\.n_points is a setting of this job's output"):
        job_settings(job)


def test_no_script_reads_the_configuration_but_through_its_knobs():
    for script in (REPO / "workflow_scripts").glob("*.py"):
        assert "snakemake.config" not in script.read_text(), script.name
