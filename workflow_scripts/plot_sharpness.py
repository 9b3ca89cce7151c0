"""Snakemake step: top Hessian eigenvalue and trace against epoch, with 2/lr and points 1 and 2."""

from grokscape.output.plotting import Style, sharpness_figure
from grokscape.scripting import job
from grokscape.storage import read_attrs, read_table

with job(snakemake):
    seeds = [(read_table(p), read_attrs(p)) for p in snakemake.input]
    sharpness_figure(seeds, snakemake.output[0], Style.from_config(snakemake.params.settings))
