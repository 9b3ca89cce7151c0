# What must touch Snakemake's own objects (config, workflow, checkpoints): the configuration check, the
# wildcards, the plan of the run (grokscape/planning/plan.py) given what training reached, the settings each
# rule depends on (grokscape/planning/rule_settings.py), the job groups and the code hash of each script.
import sys
from pathlib import Path

import grokscape.planning.codehash
from grokscape.errors import ConfigError
from grokscape.planning.instability import CHILDREN_PATTERN, SPAWN_PATTERN, child_records, plan_instability
from grokscape.planning.configuration import check_config, load_schema
from grokscape.planning.endpoints import NAME_PATTERN, PLAIN_PATTERN
from grokscape.planning.job_groups import (
    BATCH_PATTERN,
    GROUP_PATTERN,
    gpu_requested,
    gpu_visible,
    group_members,
    group_of,
    job_size,
    per_job,
    seed_groups,
)
from grokscape.planning.path_names import CURVE_KINDS, FITTED_KINDS, PATH_KINDS, alternatives
from grokscape.planning.plan import Plan
from grokscape.planning.points import points_file, read_record
from grokscape.planning.rule_settings import RuleSettings
from grokscape.planning.sweeps import KEY_PATTERN, SWEEPS, plan_sweeps

SCHEMA_FILE = Path(workflow.basedir) / "schemas" / "config.schema.yaml"
SCHEMA = load_schema(SCHEMA_FILE)
try:
    check_config(config, SCHEMA_FILE)
except ConfigError as error:
    sys.exit(f"grokscape: {error}")


wildcard_constraints:
    seed="[0-9]+",
    kind=alternatives(PATH_KINDS),
    curve=alternatives(CURVE_KINDS),
    a=NAME_PATTERN,
    b=NAME_PATTERN,
    group=GROUP_PATTERN,
    batch=rf"{BATCH_PATTERN}|{NAME_PATTERN}__{NAME_PATTERN}",


SEEDS = config["train"]["seeds"]
POINTS = [points_file(seed) for seed in SEEDS]
PATH_FIGURES = ("fig2", "fig4", "fig5", "fig6", "fig7", "fig8")
SETTINGS = RuleSettings(config, SCHEMA)
# What the run would evaluate were every seed to reach every point: the summary's list of paths.
FULL_PLAN = Plan(config)


def points_record(seed):
    """Seed `seed`'s points.json, once the checkpoint `seed_run` has filed it: until then Snakemake trains the
    seed first and plans again (the rules that need every seed's record also take POINTS as plain inputs, so
    that all seeds train side by side)."""
    return read_record(checkpoints.seed_run.get(seed=seed).output.points)


def plan():
    """The plan of the run given what training reached. Made afresh for each question (records are cached by
    file): a plan kept from before the checkpoint resolved would keep planning paths no seed can have."""
    return Plan(config, points_record)


def gpu_for(rule):
    """Whether `rule`'s jobs will have a GPU, for `auto` group sizes: this machine shows one, or the profile
    or --set-resources give the rule one (a cluster plans on a login node that has none)."""
    resources = workflow.resource_settings.overwrite_resources.get(rule, {})
    return gpu_visible() or gpu_requested({name: getattr(value, "raw", value) for name, value in resources.items()})


# Seeds trained together as one stacked model, by group label (`seeds0-31`), and each seed's group.
SEED_GROUPS = seed_groups(
    SEEDS, per_job(config["train"]["seeds_per_job"], config["device"], len(SEEDS), gpu_for("train"))
)
# Curves of one kind fitted and evaluated together (`paths.per_job`; auto: all of a kind on a GPU).
CURVES_PER_JOB = job_size(config["paths"]["per_job"], config["device"], gpu_for("curves"))


def script_code(script):
    """Hash of what a rule's script (in workflow_scripts/) and the library code it reaches mean; as a param,
    it reruns exactly the rules whose code changed (comments and docstrings do not count)."""
    return grokscape.planning.codehash.script_code(
        Path(workflow.basedir) / "workflow_scripts" / script, workflow.basedir
    )


def curve_batch(wildcards):
    """The batch of the curve {curve}/{a}__{b}: a planned one, or the curve alone (a path asked for by name)."""
    return plan().batch_of(wildcards.curve, f"{wildcards.a}__{wildcards.b}", CURVES_PER_JOB)


# The sweeps' runs (rules/sweeps.smk), planned once, and the seeds of a grid point trained together.
try:
    SWEEP_PLAN = plan_sweeps(config, SCHEMA)
except ConfigError as error:
    sys.exit(f"grokscape: {error}")
SWEEP_GROUPS = seed_groups(
    SWEEP_PLAN.seeds,
    per_job(config["sweeps"]["seeds_per_job"], config["device"], len(SWEEP_PLAN.seeds), gpu_for("sweep_train")),
)


def instability_plan():
    """The analysis' plan, made only where one of its rules is planned: a setting of it that cannot be planned
    (a spawn epoch the run does not save) fails `snakemake instability`, never a run that does not ask for it."""
    group_size = per_job(
        config["train"]["seeds_per_job"],
        config["device"],
        config["instability"]["children"] + config["instability"]["replay"],
        gpu_for("instability_train"),
    )
    return plan_instability(config, group_size)
