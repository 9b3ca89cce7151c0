# Shared helpers: configuration check, checkpoint names, the paths the figures need.
import functools
import sys
from pathlib import Path

# The library, `grokscape/` beside the Snakefile: Snakemake puts the Snakefile's folder first on the
# path here, and the jobs import the same package installed from this checkout (`pip install -e .`).
import grokscape.planning.codehash
from grokscape.planning.endpoints import Endpoint, NAME_PATTERN, PLAIN_PATTERN
from grokscape.errors import ConfigError
from grokscape.planning.configuration import check_config, load_schema, shaping_settings
from grokscape.planning.sweeps import KEY_PATTERN, SWEEPS, plan_sweeps
from grokscape.planning.job_groups import (
    BATCH_PATTERN,
    GROUP_PATTERN,
    curve_batches,
    gpu_requested,
    gpu_visible,
    group_members,
    names_in_batch,
    per_job,
    seed_groups,
)

SCHEMA_FILE = Path(workflow.basedir) / "schemas" / "config.schema.yaml"
SCHEMA = load_schema(SCHEMA_FILE)
try:
    check_config(config, SCHEMA_FILE)
    for extra in config["paths"]["extra"]:
        for name in Path(extra).name.split("__"):
            Endpoint.parse(name).check_snapshot(config["train"]["snapshot_every"], config["train"]["max_epochs"])
except ConfigError as error:
    sys.exit(f"grokscape: {error}")


wildcard_constraints:
    seed="[0-9]+",
    kind="segment|chain|polyline|bezier",
    curve="segment|polyline|bezier",
    a=NAME_PATTERN,
    b=NAME_PATTERN,
    group=GROUP_PATTERN,
    batch=rf"{BATCH_PATTERN}|{NAME_PATTERN}__{NAME_PATTERN}",


SEEDS = config["train"]["seeds"]
FIRST = f"seed{SEEDS[0]}"
SECOND = f"seed{SEEDS[1]}" if len(SEEDS) > 1 else None
PAPER_FIGURES = [f"results/fig{n}.pdf" for n in range(1, 8)]


def gpu_for(rule):
    """Whether `rule`'s jobs will have a GPU, for `auto` group sizes: this machine shows one, or the profile
    or --set-resources give the rule one (a cluster plans on a login node that has none)."""
    resources = workflow.resource_settings.overwrite_resources.get(rule, {})
    return gpu_visible() or gpu_requested({name: getattr(value, "raw", value) for name, value in resources.items()})


# Seeds trained together as one stacked model, by group label (`seeds0-31`), and each seed's group.
SEED_GROUPS = seed_groups(
    SEEDS, per_job(config["train"]["seeds_per_job"], config["device"], len(SEEDS), gpu_for("train"))
)


def seed_group(seed, groups, setting):
    """(label, seeds) of the planned group that trains seed `seed` (`groups` as `seed_groups` plans the
    seeds of `setting`), for the rules that file a seed's outputs (`seed_run`, `sweep_run`)."""
    for label, members in groups.items():
        if int(seed) in members:
            return label, members
    configured = [s for members in groups.values() for s in members]
    raise ConfigError(f"config error: {setting}: seed {seed} asked for, configured {configured}")


def script_code(script):
    """Hash of what a rule's script (in workflow_scripts/) and the library modules it imports mean;
    as a param, it reruns exactly the rules whose code changed (comments and docstrings do not count)."""
    return grokscape.planning.codehash.script_code(
        Path(workflow.basedir) / "workflow_scripts" / script, workflow.basedir
    )


def canonical(value):
    """Dicts with sorted keys, so reordering config.yaml does not look like a changed setting."""
    if isinstance(value, dict):
        return {key: canonical(value[key]) for key in sorted(value)}
    return value


# What can change a result: the configuration less its speed and memory knobs (schema: x-changes-results)
# and the keys the rest of it leaves unused (a momentum without SGD; configuration.inert_keys).
SHAPING = shaping_settings(config, SCHEMA)


def settings(*sections, leave_out=()):
    """The config sections a rule's output depends on (less knobs and `leave_out`, as "section.key"),
    passed as params so that changing them reruns exactly that rule."""
    chosen = {
        section: (
            {k: v for k, v in SHAPING[section].items() if f"{section}.{k}" not in leave_out}
            if isinstance(SHAPING[section], dict)
            else SHAPING[section]
        )
        for section in sections
    }
    return canonical(chosen)


def training_settings():
    """Everything that shapes one seed's training run (not the list of seeds, nor the grouping, which
    the training rules take as their own params)."""
    leave_out = ("train.seeds", "train.seeds_per_job", "points.collapse_margin")  # the margin reads the history
    return settings("task", "model", "points", "device", "train", leave_out=leave_out)


def path_settings(kind=None):
    """What shapes a path's evaluation (and fitting): the objective, the t grid, the curve's section, the
    sharpness settings when a curve measures sharpness; not `paths.extra`, the list of other paths to
    evaluate. Chains (kind None) measure no sharpness: their nodes are the snapshots of sharpness.h5."""
    train = {k: SHAPING["train"][k] for k in ("optimizer", "weight_decay", "batch_size")}
    sections = [kind] if kind in ("polyline", "bezier") else []
    leave_out = ["paths.extra", "paths.per_job"]  # the batch a curve is fitted in is the rules' own param
    if kind is None:
        leave_out.append("paths.sharpness_points")
    elif config["paths"]["sharpness_points"]:
        sections.append("sharpness")
    return canonical({**settings("model", "paths", "device", *sections, leave_out=leave_out), "train": train})


def sharpness_settings():
    """What shapes a seed's sharpness through training: the objective (and lr, for the 2/lr line), the settings."""
    train = {k: SHAPING["train"][k] for k in ("optimizer", "lr", "weight_decay", "batch_size")}
    return canonical({**settings("model", "device", "sharpness"), "train": train})


def seed_files(name):
    """The files behind a checkpoint name: its checkpoints (for `{moved}@{reference}`, the aligned
    file the rule `align` writes) and the points of its seed."""
    endpoint = Endpoint.parse(name)
    endpoint.check_snapshot(config["train"]["snapshot_every"], config["train"]["max_epochs"])
    for seed in (endpoint.seed, *([endpoint.aligned_to.seed] if endpoint.aligned_to else [])):
        if seed not in SEEDS:
            raise ConfigError(f"config error: train.seeds: checkpoint {name} needs seed {seed}, configured {SEEDS}")
    seed = endpoint.seed
    return {
        "checkpoints": f"results/aligned/{name}.h5" if endpoint.aligned_to else f"results/seed{seed}/checkpoints.h5",
        "points": f"results/seed{seed}/points.json",
    }


def endpoint_files(a, b):
    """Dataset plus both endpoints' checkpoints and points, for the path A→B; `*_unaligned` are the seeds'
    own checkpoints behind aligned names (the same files otherwise), for the distance before alignment."""
    inputs = {"dataset": "results/dataset.h5"}
    for end, name in (("start", a), ("end", b)):
        files = seed_files(name)
        inputs |= {f"{end}_checkpoints": files["checkpoints"], f"{end}_points": files["points"]}
        inputs[f"{end}_unaligned"] = seed_files(str(Endpoint.parse(name).unaligned))["checkpoints"]
    return inputs


def endpoint_inputs(wildcards):
    return endpoint_files(wildcards.a, wildcards.b)


def two_seeds(figure):
    if SECOND is None:
        raise ConfigError(f"config error: train.seeds: {figure} compares two seeds, configured only {SEEDS}")
    return SECOND


def path_file(kind, a, b):
    return f"results/paths/{kind}/{a}__{b}.h5"


# Paths each figure draws, as (kind, start, end); figures 6 and 7 need a second seed.
PATH_FIGURES = {
    "fig2": lambda: [("segment", f"{FIRST}-mem", f"{FIRST}-grok")],
    "fig5": lambda: [
        ("polyline", f"{FIRST}-mem", f"{FIRST}-grok"),
        ("segment", f"{FIRST}-mem", f"{FIRST}-grok"),
    ],
    "fig6": lambda: [
        ("polyline", f"{FIRST}-mem", f"{two_seeds('fig6')}-mem"),
        ("segment", f"{FIRST}-mem", f"{two_seeds('fig6')}-mem"),
    ],
    "fig7": lambda: [
        ("polyline", f"{FIRST}-grok", f"{two_seeds('fig7')}-grok"),
        ("segment", f"{FIRST}-grok", f"{two_seeds('fig7')}-grok"),
    ],
}


def figure_paths(figure):
    return [path_file(*path) for path in PATH_FIGURES[figure]()]


def claim_paths():
    """(input name, path) of every table claims C2-C6 rest on: segment, chain and polyline 1→2 of every
    seed (C2-C4), polylines 1→1′ and 2→2′ of every pair of consecutive seeds (C5, C6)."""
    named = []
    for seed in SEEDS:
        mem, grok = f"seed{seed}-mem", f"seed{seed}-grok"
        named += [(f"{kind}__{seed}", path_file(kind, mem, grok)) for kind in ("segment", "chain", "polyline")]
    for a, b in zip(SEEDS, SEEDS[1:]):
        named.append((f"across_memorised__{a}__{b}", path_file("polyline", f"seed{a}-mem", f"seed{b}-mem")))
        named.append((f"across_grokked__{a}__{b}", path_file("polyline", f"seed{a}-grok", f"seed{b}-grok")))
        grok, moved = f"seed{a}-grok", f"seed{b}-grok"  # A1: segment 2→2′, raw and aligned
        named.append((f"grokked_segment__{a}__{b}", path_file("segment", grok, moved)))
        named.append((f"aligned_grokked_segment__{a}__{b}", path_file("segment", grok, f"{moved}@{grok}")))
    return named


def alignment_paths():
    """Segments and polylines 1→1′ and 2→2′ of every pair of consecutive seeds, between the seeds' own
    weights and with the second aligned to the first (`B@A`, see rules/alignment.smk)."""
    return [
        path_file(kind, f"seed{a}-{point}", end)
        for a, b in zip(SEEDS, SEEDS[1:])
        for point in ("mem", "grok")
        for kind in ("segment", "polyline")
        for end in (f"seed{b}-{point}", f"seed{b}-{point}@seed{a}-{point}")
    ]


def alignment_figure_paths():
    """Figure 8: the segments 1→1′ and 2→2′ of the first two seeds, raw and aligned."""
    second = two_seeds("fig8")
    return [
        path_file("segment", f"{FIRST}-{point}", end)
        for point in ("mem", "grok")
        for end in (f"{second}-{point}", f"{second}-{point}@{FIRST}-{point}")
    ]


def summary_paths():
    """Every path the paper's figures and claims use, plus `paths.extra`, each once."""
    paths = [path_file("bezier", f"{FIRST}-mem", f"{FIRST}-grok")]
    for figure in PATH_FIGURES:
        if figure in ("fig6", "fig7") and SECOND is None:
            continue
        paths += figure_paths(figure)
    paths += [path for _, path in claim_paths()]
    paths += alignment_paths()
    paths += [f"results/paths/{extra}.h5" for extra in config["paths"]["extra"]]
    return list(dict.fromkeys(paths))


def fitted_paths():
    """The fitted curves among the summarised paths (figure `fits` draws their convergence)."""
    return [path for path in summary_paths() if Path(path).parent.name in ("polyline", "bezier")]


def chain_inputs(wildcards):
    """A chain runs through one seed's snapshots, so both ends must come from that seed."""
    start, end = Endpoint.parse(wildcards.a), Endpoint.parse(wildcards.b)
    if start.aligned_to or end.aligned_to:
        raise ConfigError(
            f"chain {wildcards.a}__{wildcards.b}: a chain runs through one seed's own snapshots; aligned checkpoints (@) have none"
        )
    if start.seed != end.seed:
        raise ConfigError(
            f"chain {wildcards.a}__{wildcards.b}: a chain joins two checkpoints of one seed (got seeds {start.seed} and {end.seed})"
        )
    return endpoint_inputs(wildcards)


def claims_inputs(wildcards):
    """The tables that decide claims C1-C6 (see claim_paths); C5 and C6 need a second seed."""
    seeds = {name: expand(f"results/seed{{seed}}/{name}.json", seed=SEEDS) for name in ("points", "collapses")}
    return {**seeds, **dict(claim_paths())}


CURVE_KINDS = ("segment", "polyline", "bezier")


@functools.cache
def planned_curve_names():
    """The curves the run plans (`summary_paths`), `{A}__{B}` by kind, in order."""
    names = {kind: [] for kind in CURVE_KINDS}
    for path in summary_paths():
        if Path(path).parent.name in names:
            names[Path(path).parent.name].append(Path(path).stem)
    return names


@functools.cache
def planned_curve_batches():
    """The planned curves in batches fitted and evaluated together, by kind and label (`paths.per_job`;
    auto: all of a kind in one job on a GPU, one curve a job on a CPU)."""
    return {
        kind: curve_batches(names, per_job(config["paths"]["per_job"], config["device"], len(names), gpu_for("curves")))
        for kind, names in planned_curve_names().items()
    }


@functools.cache
def planned_batch_of():
    """(kind, `{A}__{B}`) -> the label of the planned batch that holds the curve."""
    return {
        (kind, name): label
        for kind, batches in planned_curve_batches().items()
        for label, names in batches.items()
        for name in names
    }


def curve_batch(wildcards):
    """The batch of the curve {curve}/{a}__{b}: a planned one, or the curve alone (a path asked for by name)."""
    name = f"{wildcards.a}__{wildcards.b}"
    return planned_batch_of().get((wildcards.curve, name), name)


def curve_batch_folder(wildcards):
    """The batch job's folder that holds a curve's table (rule `curve` files it)."""
    return f"results/groups/paths/{wildcards.curve}/{curve_batch(wildcards)}"


def batch_names(curve, batch):
    """The curves (`{A}__{B}`) of a batch, read from its label (whatever batch size this process planned);
    a label that is no batch is one curve's own name."""
    return names_in_batch(batch, planned_curve_names()[curve], curve)


def batch_members(wildcards):
    """Each curve of a batch: its name, its endpoints and the files behind them (`endpoint_files`)."""
    members = []
    for name in batch_names(wildcards.curve, wildcards.batch):
        a, b = name.split("__")
        members.append({"name": name, "a": a, "b": b, "files": endpoint_files(a, b)})
    return members


def batch_endpoint_files(wildcards):
    """Every checkpoint and points file the curves of a batch start or end at."""
    files = {path for member in batch_members(wildcards) for path in member["files"].values()}
    return sorted(files - {"results/dataset.h5"})


# The sweeps' runs (rules/sweeps.smk), planned once, and the seeds of a grid point trained together.
try:
    SWEEP_PLAN = plan_sweeps(config, SCHEMA)
except ConfigError as error:
    sys.exit(f"grokscape: {error}")
SWEEP_GROUPS = seed_groups(
    SWEEP_PLAN.seeds,
    per_job(config["sweeps"]["seeds_per_job"], config["device"], len(SWEEP_PLAN.seeds), gpu_for("sweep_train")),
)
