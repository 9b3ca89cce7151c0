# Shared helpers: configuration check, checkpoint names, the paths the figures need.
import hashlib
import sys
from pathlib import Path

LIBRARY = Path(workflow.basedir) / "workflow_scripts"
sys.path.insert(0, str(LIBRARY))

from grokscape.endpoints import Endpoint, NAME_PATTERN
from grokscape.errors import ConfigError
from grokscape.configuration import check_config

try:
    check_config(config, Path(workflow.basedir) / "schemas" / "config.schema.yaml")
except ConfigError as error:
    sys.exit(f"grokscape: {error}")


wildcard_constraints:
    seed="[0-9]+",
    kind="segment|chain|polyline|bezier",
    curve="segment|polyline|bezier",
    a=NAME_PATTERN,
    b=NAME_PATTERN,


SEEDS = config["train"]["seeds"]
FIRST = f"seed{SEEDS[0]}"
SECOND = f"seed{SEEDS[1]}" if len(SEEDS) > 1 else None
PAPER_FIGURES = [f"results/fig{n}.pdf" for n in range(1, 8)]


def library_code(*modules):
    """Content hash of library modules and what they import, so edits rerun the rules using them."""
    seen, todo = set(), list(modules)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        source = (LIBRARY / "grokscape" / f"{name}.py").read_text()
        todo += [line.split()[1].split(".")[1] for line in source.splitlines() if line.startswith("from grokscape.")]
    digest = hashlib.sha256()
    for name in sorted(seen):
        digest.update((LIBRARY / "grokscape" / f"{name}.py").read_bytes())
    return digest.hexdigest()[:16]


def canonical(value):
    """Dicts with sorted keys, so reordering config.yaml does not look like a changed setting."""
    if isinstance(value, dict):
        return {key: canonical(value[key]) for key in sorted(value)}
    return value


def settings(*sections):
    """The config sections a rule depends on, passed as params so edits rerun exactly it."""
    return canonical({section: config[section] for section in sections})


def training_settings():
    """Everything that shapes one seed's training run (not the list of seeds)."""
    train = {k: v for k, v in config["train"].items() if k != "seeds"}
    return canonical({**settings("task", "model", "points", "device"), "train": train})


def path_settings(kind=None):
    """What shapes a path's evaluation (and fitting): the objective, the t grid, the curve's section."""
    train = {k: config["train"][k] for k in ("weight_decay", "batch_size")}
    sections = [kind] if kind in ("polyline", "bezier") else []
    return canonical({**settings("model", "paths", "device", *sections), "train": train})


def seed_files(name):
    """The training outputs of the seed behind a checkpoint name."""
    seed = Endpoint.parse(name).seed
    if seed not in SEEDS:
        raise ConfigError(f"config error: train.seeds: checkpoint {name} needs seed {seed}, configured {SEEDS}")
    return {
        "checkpoints": f"results/seed{seed}/checkpoints.h5",
        "points": f"results/seed{seed}/points.json",
    }


def endpoint_inputs(wildcards):
    """Dataset plus both endpoints' checkpoints and points, for a path job."""
    start, end = seed_files(wildcards.a), seed_files(wildcards.b)
    return {
        "dataset": "results/dataset.h5",
        "start_checkpoints": start["checkpoints"],
        "start_points": start["points"],
        "end_checkpoints": end["checkpoints"],
        "end_points": end["points"],
    }


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


def summary_paths():
    """Every path the paper's figures use, plus `paths.extra`, each once."""
    paths = [path_file("chain", f"{FIRST}-mem", f"{FIRST}-grok")]
    paths.append(path_file("bezier", f"{FIRST}-mem", f"{FIRST}-grok"))
    for figure in PATH_FIGURES:
        if figure in ("fig6", "fig7") and SECOND is None:
            continue
        paths += figure_paths(figure)
    paths += [f"results/paths/{extra}.h5" for extra in config["paths"]["extra"]]
    return list(dict.fromkeys(paths))


def chain_inputs(wildcards):
    """A chain runs through one seed's snapshots, so both ends must come from that seed."""
    start, end = Endpoint.parse(wildcards.a), Endpoint.parse(wildcards.b)
    if start.seed != end.seed:
        raise ConfigError(
            f"chain {wildcards.a}__{wildcards.b}: a chain joins two checkpoints of one seed (got seeds {start.seed} and {end.seed})"
        )
    return endpoint_inputs(wildcards)


def claims_inputs(wildcards):
    """The tables that decide claims C1-C6; C5 and C6 need a second seed."""
    mem, grok = f"{FIRST}-mem", f"{FIRST}-grok"
    inputs = {
        "points": expand("results/seed{seed}/points.json", seed=SEEDS),
        "segment": path_file("segment", mem, grok),
        "chain": path_file("chain", mem, grok),
        "polyline": path_file("polyline", mem, grok),
    }
    if SECOND is not None:
        inputs["across_memorised"] = path_file("polyline", mem, f"{SECOND}-mem")
        inputs["across_grokked"] = path_file("polyline", grok, f"{SECOND}-grok")
    return inputs
