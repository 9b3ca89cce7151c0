"""The workflow's configuration checked at start-up: schema validation with defaults and the
checks a schema cannot express. Every failure is one `ConfigError` line naming the key and
what it allows. Deliberately free of torch, so that Snakemake starts fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import yaml

from grokscape.errors import ConfigError

S5_ORDER = 120


def is_prime(n: int) -> bool:
    return n >= 2 and all(n % k for k in range(2, int(n**0.5) + 1))


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
    if task["operation"] == "s5" and task["p"] != S5_ORDER:
        raise ConfigError(f"config error: task.p: s5 needs {S5_ORDER} (the order of S5), got {task['p']}")
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
