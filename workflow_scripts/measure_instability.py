"""Snakemake step: one parent's instability tables: a row per child, and the segments between the children
of every spawn epoch at their points (evaluated together), with Frankle et al.'s barriers and the distances."""

from grokscape.numerics.alignment import distance
from grokscape.numerics.data import load_dataset
from grokscape.numerics.devices import resolve_device
from grokscape.numerics.instability import barriers, segment_tables
from grokscape.numerics.landscape import Objective
from grokscape.output.checkpoints import load_checkpoint
from grokscape.output.instability_tables import MEASURES, child_row, pair_row, planned_pairs, write_instability
from grokscape.scripting import job, job_settings
from grokscape.storage import read_attrs, read_json, read_table

with job(snakemake) as log:
    config = job_settings(snakemake)  # plus the knob paths.t_chunk
    inputs, parent = snakemake.input, int(snakemake.wildcards.seed)
    parent_points = read_json(inputs.parent_points)
    children, checkpoints = [], {}
    for history, points, weights in zip(inputs.histories, inputs.points, inputs.checkpoints, strict=True):
        children.append(child_row(read_table(history), read_attrs(history), read_json(points)))
        checkpoints[children[-1]["spawn"], children[-1]["child"]] = weights
    children.sort(key=lambda row: row["spawn_epoch"])  # spawn epochs in time order, children in theirs
    pairs = planned_pairs(children, parent_points["memorized"])
    measured = [pair for pair in pairs if pair.measured]
    ends = [
        tuple(load_checkpoint(checkpoints[pair.spawn, child], epoch) for child, epoch in pair.ends) for pair in measured
    ]
    device = resolve_device(config["device"])
    log.info("seed %d: %d children, %d segments between them on %s", parent, len(children), len(ends), device)
    n_points, t_chunk = config["paths"]["n_points"], config["paths"]["t_chunk"]
    dataset, objective = load_dataset(inputs.dataset), Objective.from_config(config)
    tables = dict(zip(measured, segment_tables(ends, n_points, dataset, objective, device, t_chunk), strict=True))
    distances = {pair: distance(*end) for pair, end in zip(measured, ends, strict=True)}
    rows = [
        pair_row(pair, {**barriers(tables[pair]), "distance": distances[pair]} if pair.measured else None)
        for pair in pairs
    ]
    for row in rows:
        log.info(
            "spawned at %s: children %d and %d at %s (epochs %s, %s): barriers of train error %.4f, validation error "
            "%.4f, cross-entropy %.4f; distance %.4g",
            *(row[k] for k in ("spawn", "child_a", "child_b", "at", "epoch_a", "epoch_b", *MEASURES)),
        )
    attrs = {
        "parent": parent,
        "memorized": parent_points["memorized"],
        "grokked": parent_points["grokked"],
        "optimizer_state": read_attrs(inputs.histories[0])["optimizer_state"],
        "barrier": "max over t minus the mean of the two ends (Frankle et al. 2020)",
        "settings": snakemake.params.settings,
    }
    paths = {"children": snakemake.output.children, "pairs": snakemake.output.pairs, "tables": snakemake.output.tables}
    write_instability(paths, children, rows, [tables.get(pair) for pair in pairs], attrs)
