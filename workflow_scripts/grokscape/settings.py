"""The workflow's configuration: schema validation with defaults, checks a schema cannot
express, and the typed settings objects the library takes.

Every failure is one `ConfigError` line naming the key and what it allows.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from grokscape.data import is_prime
from grokscape.errors import ConfigError
from grokscape.fitting import FitSettings
from grokscape.landscape import Objective
from grokscape.model import ModelShape
from grokscape.points import Thresholds
from grokscape.training import TrainSettings

FIT_KINDS = ("polyline", "bezier")


def _with_defaults(validator_class: type) -> type:
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema:
                    instance.setdefault(name, _copy(subschema["default"]))
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


def _copy(value: Any) -> Any:
    return yaml.safe_load(yaml.safe_dump(value))


def check_config(config: dict, schema_path: str | Path) -> dict:
    """Validate `config` in place against the schema, filling defaults; raise one-line ConfigError."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = _with_defaults(jsonschema.Draft202012Validator)(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        key = ".".join(str(part) for part in error.absolute_path) or "(top level)"
        raise ConfigError(f"config error: {key}: {_describe(error)}")
    task, model = config["task"], config["model"]
    if task["operation"] == "div" and not is_prime(task["p"]):
        raise ConfigError(f"config error: task.p: div needs a prime modulus, got {task['p']}")
    if model["d_model"] % model["n_heads"]:
        raise ConfigError(
            f"config error: model.n_heads: must divide model.d_model={model['d_model']}, got {model['n_heads']}"
        )
    return config


def _describe(error: jsonschema.ValidationError) -> str:
    if error.validator == "enum":
        return f"{error.instance!r} is not allowed; allowed values: {', '.join(map(str, error.validator_value))}"
    if error.validator == "additionalProperties":
        allowed = ", ".join(sorted(error.schema.get("properties", {})))
        return f"{error.message}; allowed keys: {allowed}"
    return error.message


def model_shape(config: Mapping) -> ModelShape:
    model = config["model"]
    return ModelShape(config["task"]["p"], model["d_model"], model["n_heads"], model["d_mlp"])


def train_settings(config: Mapping) -> TrainSettings:
    train = config["train"]
    return TrainSettings(**{k: v for k, v in train.items() if k != "seeds"})


def thresholds(config: Mapping) -> Thresholds:
    return Thresholds(**config["points"])


def objective(config: Mapping) -> Objective:
    train = config["train"]
    return Objective(config["model"]["n_heads"], train["weight_decay"], train["batch_size"])


def n_controls(config: Mapping, kind: str) -> int:
    """Control points of a curve kind, endpoints included."""
    if kind == "segment":
        return 2
    if kind == "polyline":
        return config["polyline"]["bends"] + 2
    if kind == "bezier":
        return config["bezier"]["degree"] + 1
    raise ConfigError(f"curve kind must be segment, polyline or bezier, got {kind!r}")


def fit_settings(config: Mapping, kind: str) -> FitSettings:
    if kind not in FIT_KINDS:
        return FitSettings(epochs=0)
    section = config[kind]
    return FitSettings(
        section["epochs"],
        section["lr"],
        section["momentum"],
        section["seed"],
        checkpoint_every=section["checkpoint_every"],
        grad_clip=section["grad_clip"],
    )
