"""Snakemake step: figure 4, the chain of segments through the snapshots."""

from grokscape.output.pathfiles import read_path
from grokscape.output.plotting import Style, figure4
from grokscape.scripting import job

with job(snakemake):
    columns, attrs = read_path(snakemake.input[0])
    figure4(columns, attrs, snakemake.output[0], Style(**snakemake.params.settings["plot"]))
