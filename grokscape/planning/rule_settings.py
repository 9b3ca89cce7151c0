"""What shapes each rule's output: the configuration keys a rule takes as its `settings` param, so that
changing one reruns exactly the rules it shapes. Speed and memory knobs (schema: `x-changes-results:
false`) and keys the rest of the configuration leaves unused (`configuration.inert_keys`) are never among
them: changing those reruns nothing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from grokscape.planning.configuration import knobs, shaping_settings
from grokscape.planning.path_names import CHAIN, FITTED_KINDS

TRAINING_SECTIONS = ("task", "model", "points", "device", "train")
# the seeds of a run and their grouping: the training rules take them as params of their own
SEED_KEYS = ("train.seeds", "train.seeds_per_job")
# read from the history after training (rule collapses), so it shapes no training run
HISTORY_KEYS = ("points.collapse_margin",)
# the objective that path evaluation, sharpness and planes measure: its weight decay and minibatches
OBJECTIVE_KEYS = ("weight_decay", "batch_size")


def canonical(value: Any) -> Any:
    """Dicts with sorted keys, so reordering config.yaml does not look like a changed setting."""
    if isinstance(value, dict):
        return {key: canonical(value[key]) for key in sorted(value)}
    return value


class RuleSettings:
    def __init__(self, config: Mapping, schema: Mapping):
        self.config = config
        self.shaping = shaping_settings(config, schema)
        self.knob_keys = knobs(schema)

    def sections(self, *sections: str, leave_out: Iterable[str] = ()) -> dict:
        """The shaping keys of `sections`, less `leave_out` ("section.key")."""
        leave_out = set(leave_out)
        chosen = {
            section: (
                {k: v for k, v in self.shaping[section].items() if f"{section}.{k}" not in leave_out}
                if isinstance(self.shaping[section], dict)
                else self.shaping[section]
            )
            for section in sections
        }
        return canonical(chosen)

    def _with_train(self, settings: dict, keys: Iterable[str]) -> dict:
        """`settings` plus the training keys `keys` (the objective a rule measures)."""
        return canonical({**settings, "train": {k: self.shaping["train"][k] for k in keys}})

    def training(self) -> dict:
        """Everything that shapes one seed's training run (not the list of seeds, nor their grouping)."""
        return self.sections(*TRAINING_SECTIONS, leave_out=SEED_KEYS + HISTORY_KEYS)

    def path(self, kind: str) -> dict:
        """What shapes a path's evaluation (and fitting): the objective, the t grid, the curve's section, the
        sharpness settings when a curve measures sharpness; not `paths.extra`, the list of other paths to
        evaluate, nor `paths.per_job` (the batch a curve is fitted in is the rules' own param). Chains
        measure no sharpness: their nodes are the snapshots of sharpness.h5. A fitted curve also takes
        `claims.zero_error`: a fit goes on in further rounds until its curve connects by it."""
        sections = [kind] if kind in FITTED_KINDS else []
        leave_out = ["paths.extra", "paths.per_job"]
        if kind == CHAIN:
            leave_out.append("paths.sharpness_points")
        elif self.config["paths"]["sharpness_points"]:
            sections.append("sharpness")
        settings = self.sections("model", "paths", "device", *sections, leave_out=leave_out)
        if kind in FITTED_KINDS:
            settings["claims"] = {"zero_error": self.shaping["claims"]["zero_error"]}
        return self._with_train(settings, ("optimizer", *OBJECTIVE_KEYS))

    def sharpness(self) -> dict:
        """What shapes a seed's sharpness through training: the objective (and lr, for the 2/lr line), the settings."""
        return self._with_train(self.sections("model", "device", "sharpness"), ("optimizer", "lr", *OBJECTIVE_KEYS))

    def plane(self) -> dict:
        """What shapes a plane: its grid, the objective (the optimizer says whether the decay is in the loss)
        and the device; the curve itself arrives as the input path file, so a refitted curve reruns its plane."""
        return self._with_train(self.sections("model", "device", "planes"), ("optimizer", *OBJECTIVE_KEYS))

    def knobs(self, settings: Mapping) -> list[str]:
        """The speed and memory knobs ("section.key") of the sections of `settings`: a job reads them from the
        configuration (`scripting.job_settings`), apart from its settings, so that they rerun nothing."""
        return sorted(f"{section}.{key}" for section, key in self.knob_keys if section in settings)

    def run_record(self) -> dict:
        """The default run's settings, for the configuration table: the sweeps and the instability analysis (not
        part of it) rerun nothing there."""
        return self.sections(*(section for section in self.shaping if section not in ("sweeps", "instability")))
