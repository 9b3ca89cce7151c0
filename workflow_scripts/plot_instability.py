"""Snakemake step: one parent's instability figure (barriers and grokking epochs against the spawn epoch)."""

import pandas as pd

from grokscape.output.instability_figure import instability_figure
from grokscape.output.plotting import Style
from grokscape.scripting import job
from grokscape.storage import read_json

with job(snakemake):
    children, pairs = pd.read_csv(snakemake.input.children), pd.read_csv(snakemake.input.pairs)
    parent = {"seed": int(snakemake.wildcards.seed), **read_json(snakemake.input.parent_points)}
    instability_figure(children, pairs, parent, snakemake.output[0], Style(**snakemake.params.settings["plot"]))
