"""Snakemake step: figure 1, accuracy vs epoch and the operation table."""

from grokscape.numerics.data import load_dataset
from grokscape.output.plotting import Style, figure1
from grokscape.scripting import job
from grokscape.storage import read_attrs, read_table

with job(snakemake):
    histories = {read_attrs(p)["seed"]: read_table(p) for p in snakemake.input.histories}
    dataset = load_dataset(snakemake.input.dataset)
    figure1(histories, dataset, snakemake.output[0], Style.from_config(snakemake.params.settings))
