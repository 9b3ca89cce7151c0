"""Snakemake step: figure 3, accuracy vs epoch with snapshots, points 1, 2 and the collapses marked."""

from grokscape.output.checkpoints import saved_epochs
from grokscape.output.plotting import Style, figure3
from grokscape.scripting import job
from grokscape.storage import read_attrs, read_json, read_table

with job(snakemake):
    inputs = snakemake.input
    seeds = [read_attrs(p)["seed"] for p in inputs.histories]
    histories = {s: read_table(p) for s, p in zip(seeds, inputs.histories, strict=True)}
    points = {s: read_json(p) for s, p in zip(seeds, inputs.points, strict=True)}
    collapses = {s: read_json(p) for s, p in zip(seeds, inputs.collapses, strict=True)}
    snapshots = {s: saved_epochs(p) for s, p in zip(seeds, inputs.checkpoints, strict=True)}
    style = Style.from_config(snakemake.params.settings)
    figure3(histories, points, collapses, snapshots, snakemake.output[0], style)
