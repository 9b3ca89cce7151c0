"""The companion papers' sweeps (Power et al.; Omnigrok) planned as training runs keyed by their settings.

Every grid point × seed is one training run whose files live under `results/sweeps/runs/{key}/`, `key`
a hash of everything that shapes the run: two sweeps whose points coincide share the run, and a changed
grid adds only its new runs. Deliberately free of torch: Snakemake plans the sweeps at start-up.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from grokscape.errors import ConfigError
from grokscape.planning.configuration import describe_error, inert_keys, problem_errors, without_keys
from grokscape.planning.points import THRESHOLD_KEYS

SWEEPS = ("train_fraction", "weight_decay", "init_scale", "weight_norm", "interventions")
RUN_SECTIONS = ("task", "model", "train", "points", "device")
PROBLEM = ("task", "model", "train")  # the sections a swept problem sets
KEY_LENGTH = 12
KEY_PATTERN = f"[0-9a-f]{{{KEY_LENGTH}}}"


@dataclass
class SweepPlan:
    """The runs of every sweep: `points[sweep]` lists (grid value, seed, key); `runs[key]` is a run's settings."""

    seeds: list[int]
    points: dict[str, list[tuple[Any, int, str]]] = field(default_factory=dict)
    runs: dict[str, dict] = field(default_factory=dict)

    def settings(self, key: str) -> dict:
        if key not in self.runs:
            raise ConfigError(f"config error: sweeps: no configured sweep point has the run key {key}")
        return self.runs[key]

    def run_files(self, sweep: str, name: str) -> list[str]:
        """`history.h5` or `points.json` of every run of `sweep`, in the order of `points[sweep]`."""
        return [f"results/sweeps/runs/{key}/seed{seed}/{name}" for _, seed, key in self.points[sweep]]


def run_key(settings: Mapping) -> str:
    """Short hash of a run's settings (sorted keys): equal settings, equal key, whichever sweep asks."""
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:KEY_LENGTH]


def base_settings(config: Mapping) -> dict:
    """The problem the sweeps vary, `sweeps.problem`: the main task, model and train settings, with `sweeps.tiny`
    over them for the tiny problem, then `sweeps.overrides`; trained for `sweeps.max_epochs`, with the main
    run's point thresholds and device."""
    sweeps = config["sweeps"]
    layers = ([sweeps["tiny"]] if sweeps["problem"] == "tiny" else []) + [sweeps["overrides"]]
    main = {**config, "train": {k: v for k, v in config["train"].items() if k not in ("seeds", "seeds_per_job")}}
    base = {section: _layered(main[section], [layer.get(section, {}) for layer in layers]) for section in PROBLEM}
    base["train"]["max_epochs"] = sweeps["max_epochs"]
    return {**base, "points": {key: config["points"][key] for key in THRESHOLD_KEYS}, "device": config["device"]}


def _layered(section: Mapping, layers: list[Mapping]) -> dict:
    """`section` with each of `layers` over it, key by key."""
    merged = dict(section)
    for layer in layers:
        merged.update(layer)
    return merged


def point_settings(base: Mapping, sweep: str, value: Any) -> dict:
    """The settings of one grid point: the base problem with the one setting the sweep varies.

    The weight-norm sweep holds ‖w‖ fixed, so weight decay (which only shrinks ‖w‖) is off, and it trains
    for all `max_epochs`, so that its final losses compare at one epoch."""
    settings = {section: dict(values) if isinstance(values, dict) else values for section, values in base.items()}
    train = settings["train"]
    if sweep == "train_fraction":
        settings["task"]["train_fraction"] = value
    elif sweep in ("weight_decay", "init_scale"):
        train[sweep] = value
    elif sweep == "weight_norm":
        train.update(weight_norm=value, weight_decay=0.0, epochs_after_grok=train["max_epochs"])
    elif sweep == "interventions":
        train.update(value["train"])
    else:
        raise ValueError(f"unknown sweep {sweep!r}; known: {', '.join(SWEEPS)}")
    return settings


def plan_sweeps(config: Mapping, schema: Mapping) -> SweepPlan:
    """Every sweep's runs, each point's settings checked against the main sections' schema
    (one ConfigError naming the sweep key on a bad value)."""
    sweeps = config["sweeps"]
    if sweeps["problem"] == "tiny":  # a bad value is named where it was written
        _check(base_settings({**config, "sweeps": {**sweeps, "overrides": {}}}), schema, "sweeps.tiny")
    base = base_settings(config)
    _check(base, schema, "sweeps.overrides")
    plan = SweepPlan(list(sweeps["seeds"]))
    for sweep in SWEEPS:
        plan.points[sweep] = []
        for index, value in enumerate(sweeps[sweep]):
            settings = _typed(point_settings(base, sweep, value), schema)
            _check(settings, schema, f"sweeps.{sweep}[{index}]")
            settings = without_keys(settings, inert_keys(settings))  # a momentum without SGD makes no other run
            key = run_key(settings)
            plan.runs[key] = settings
            label = value["name"] if sweep == "interventions" else value
            plan.points[sweep] += [(label, seed, key) for seed in plan.seeds]
    names = [item["name"] for item in sweeps["interventions"]]
    if len(set(names)) < len(names):
        raise ConfigError(f"config error: sweeps.interventions: names must differ, got {names}")
    return plan


def _check(settings: Mapping, schema: Mapping, where: str) -> None:
    for section in RUN_SECTIONS:
        validator = jsonschema.Draft202012Validator(schema["properties"][section])
        for error in validator.iter_errors(settings[section]):
            key = ".".join(str(part) for part in (section, *error.absolute_path))
            raise ConfigError(f"config error: {where}: {key}: {describe_error(error)}")
    for key, message in problem_errors(settings):
        raise ConfigError(f"config error: {where}: {key}: {message}")


def _typed(settings: Mapping, schema: Mapping) -> dict:
    """Keys sorted and whole numbers given where the schema wants any number made floats (`init_scale: [1, 2]`
    means 1.0, 2.0): the same setting then gives the same key and the same params however it was written."""
    typed = {}
    for section in sorted(settings):
        values, properties = settings[section], schema["properties"][section].get("properties", {})
        if isinstance(values, dict):
            values = {k: _as_number(values[k], properties.get(k, {})) for k in sorted(values)}
        typed[section] = values
    return typed


def _as_number(value: Any, entry: Mapping) -> Any:
    types = entry.get("type", [])
    types = [types] if isinstance(types, str) else types
    if "number" in types and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value
