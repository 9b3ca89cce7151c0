"""Snakemake step: a seed's collapses, the dips of train accuracy after point 1, read from its history (a
cheap step of its own, so that `points.collapse_margin` retrains nothing)."""

from grokscape.planning.points import collapse_record
from grokscape.scripting import job
from grokscape.storage import read_json, read_table, write_json

with job(snakemake) as log:
    points = snakemake.params.settings["points"]
    history = read_table(snakemake.input.history, ["epoch", "train_acc"])
    memorized = read_json(snakemake.input.points)["memorized"]
    record = collapse_record(
        history["epoch"], history["train_acc"], memorized, points["collapse_margin"], points["train_acc"]
    )
    write_json(snakemake.output[0], record)
    log.info(
        "%d collapse(s) below train accuracy %.4g after point 1 (epoch %s); lowest train accuracy after it: %s",
        len(record["collapses"]),
        record["level"],
        memorized,
        record["deepest_collapse"],
    )
