"""Snakemake step: figure 1, accuracy vs epoch (collapses marked) and the operation table."""

from grokscape.numerics.data import load_dataset
from grokscape.output.plotting import Style, figure1
from grokscape.scripting import job
from grokscape.storage import read_attrs, read_json, read_table

with job(snakemake):
    inputs = snakemake.input
    seeds = [read_attrs(p)["seed"] for p in inputs.histories]
    histories = {s: read_table(p) for s, p in zip(seeds, inputs.histories, strict=True)}
    collapses = {s: read_json(p) for s, p in zip(seeds, inputs.collapses, strict=True)}
    dataset = load_dataset(inputs.dataset)
    figure1(histories, collapses, dataset, snakemake.output[0], Style.from_config(snakemake.params.settings))
