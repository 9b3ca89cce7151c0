"""The workflow's configuration checked at start-up: schema validation with defaults and the
checks a schema cannot express. Every failure is one `ConfigError` line naming the key and
what it allows. Deliberately free of torch, so that Snakemake starts fast.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from grokscape.errors import ConfigError
from grokscape.planning.endpoints import Endpoint
from grokscape.planning.path_names import parse_path

S5_ORDER = 120  # |S5|: composition in S5 has 120 tokens


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


def load_schema(schema_path: str | Path) -> dict:
    return yaml.safe_load(Path(schema_path).read_text())


def parse_overrides(config: Any, schema: dict) -> Any:
    """Strings where the schema wants no string are parsed as YAML: Snakemake hands the values of
    `--config plot='{dpi: 100}'` over as text, and they should mean what they mean in config.yaml."""
    if isinstance(config, dict):
        properties = schema.get("properties", {})
        return {key: parse_overrides(value, properties.get(key, {})) for key, value in config.items()}
    if isinstance(config, list):
        return [parse_overrides(item, schema.get("items", {})) for item in config]
    if isinstance(config, str) and _wants_no_such_string(schema, config):
        try:
            return yaml.safe_load(config)
        except yaml.YAMLError:
            return config
    return config


def _wants_no_such_string(schema: dict, value: str) -> bool:
    """Whether the schema (or every alternative of its oneOf) rejects `value` as a string."""
    alternatives = schema.get("oneOf", [schema])
    for alternative in alternatives:
        types = alternative.get("type", [])
        types = [types] if isinstance(types, str) else types
        if "string" in types or value == alternative.get("const") or value in alternative.get("enum", []):
            return False
    return any("type" in alternative for alternative in alternatives)


def check_config(config: dict, schema_path: str | Path) -> dict:
    """Validate `config` in place against the schema, filling defaults; raise one-line ConfigError."""
    schema = load_schema(schema_path)
    parsed = parse_overrides(config, schema)
    config.clear()
    config.update(parsed)
    validator = _with_defaults(jsonschema.Draft202012Validator)(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        key = ".".join(str(part) for part in error.absolute_path) or "(top level)"
        raise ConfigError(f"config error: {key}: {describe_error(error)}")
    for key, message in problem_errors(config):
        raise ConfigError(f"config error: {key}: {message}")
    train = config["train"]
    for extra in config["paths"]["extra"]:
        for name in parse_path(extra)[1:]:
            Endpoint.parse(name).check_snapshot(train["snapshot_every"], train["max_epochs"])
    return config


def problem_errors(settings: Mapping) -> Iterator[tuple[str, str]]:
    """(key, what is wrong) for every check of a problem (task, model) a schema cannot express; the start-up
    check and every sweep point run them, so that no job meets a problem it cannot build."""
    task, model = settings["task"], settings["model"]
    if task["operation"] == "div" and not is_prime(task["p"]):
        yield "task.p", f"div needs a prime modulus, got {task['p']}"
    if task["operation"] == "s5" and task["p"] != S5_ORDER:
        yield "task.p", f"s5 needs {S5_ORDER} (the order of S5), got {task['p']}"
    n, fraction = table_size(task["operation"], task["p"]), task["train_fraction"]
    if not 0 < train_count(fraction, n) < n:
        yield "task.train_fraction", f"{fraction} leaves an empty train or validation set of {n} equations"
    if model["d_model"] % model["n_heads"]:
        yield "model.n_heads", f"must divide model.d_model={model['d_model']}, got {model['n_heads']}"


def is_prime(n: int) -> bool:
    """Division mod p needs every nonzero residue invertible: p prime."""
    return n >= 2 and all(n % k for k in range(2, int(n**0.5) + 1))


def table_size(operation: str, p: int) -> int:
    """Equations in the table: every a ∘ b with b ≠ 0 mod p, every pair of permutations in S5."""
    return p * p if operation == "s5" else p * (p - 1)


def train_count(train_fraction: float, n: int) -> int:
    """How many of the `n` equations the split puts in the training set."""
    return round(train_fraction * n)


def load_config(config_path: str | Path, schema_path: str | Path) -> dict:
    """A configuration file as the workflow sees it: checked, its defaults filled from the schema."""
    return check_config(yaml.safe_load(Path(config_path).read_text()), schema_path)


def describe_error(error: jsonschema.ValidationError) -> str:
    if error.validator == "enum":
        return f"{error.instance!r} is not allowed; allowed values: {', '.join(map(str, error.validator_value))}"
    if error.validator == "oneOf":
        allowed = [_alternative(alternative) for alternative in error.validator_value]
        return f"{error.instance!r} is not allowed; allowed: {' or '.join(allowed)}"
    if error.validator == "additionalProperties":
        allowed = ", ".join(sorted(error.schema.get("properties", {})))
        return f"{error.message}; allowed keys: {allowed}"
    return error.message


def _alternative(schema: dict) -> str:
    """One alternative of a oneOf in words: a constant, or a type with its lower bound."""
    if "const" in schema:
        return repr(schema["const"])
    bound = f" >= {schema['minimum']}" if "minimum" in schema else ""
    return f"{schema.get('type', 'any value')}{bound}"


def knobs(schema: dict) -> set[tuple[str, str]]:
    """(section, key) of the speed and memory knobs: schema keys marked `x-changes-results: false`."""
    return {
        (section, key)
        for section, part in schema["properties"].items()
        for key, entry in part.get("properties", {}).items()
        if entry.get("x-changes-results") is False
    }


# (section, key) used only where a setting of its section has a value: a momentum is SGD's, the stopping rule
# weight matching's (a missing setting has that value).
USED_ONLY_WITH = {
    ("train", "momentum"): ("optimizer", "sgd"),
    ("polyline", "momentum"): ("optimizer", "sgd"),
    ("bezier", "momentum"): ("optimizer", "sgd"),
    ("align", "max_iterations"): ("method", "weights"),
    ("align", "tolerance"): ("method", "weights"),
}


def inert_keys(config: Mapping) -> set[tuple[str, str]]:
    """(section, key) that the rest of `config` leaves unused: a momentum without SGD, weight matching's
    stopping rule under activation matching. Changing one changes no result."""
    return {
        (section, key)
        for (section, key), (setting, value) in USED_ONLY_WITH.items()
        if section in config and config[section].get(setting, value) != value
    }


def section_values(settings: Mapping, section: str, names: Iterable[str]) -> dict:
    """The keys `names` of a section of the checked configuration (or of a rule's settings), for a settings
    dataclass; a key the rest of the configuration may leave unused (`inert_keys`) can be missing from a
    rule's settings, and is then None: a momentum without SGD is no setting at all."""
    values = settings[section]
    return {key: values.get(key) if (section, key) in USED_ONLY_WITH else values[key] for key in names}


def shaping_settings(config: dict, schema: dict) -> dict:
    """The configuration less its knobs and inert keys: what can change a result, and so what rules take as
    params (a job gets its knobs through `job_settings`)."""
    return without_keys(config, knobs(schema) | inert_keys(config))


def without_keys(config: Mapping, skip: set[tuple[str, str]]) -> dict:
    return {
        section: {k: v for k, v in values.items() if (section, k) not in skip} if isinstance(values, dict) else values
        for section, values in config.items()
    }
