"""Snakemake step: figures 2, 5, 6, 7, a path's loss, error and gradient norm vs t."""

from grokscape.output.pathfiles import read_path
from grokscape.output.plotting import Style, path_figure
from grokscape.scripting import job

with job(snakemake) as log:
    note = snakemake.params.note  # why it draws other seeds than the first, if it does
    log.info("drawing %s%s", ", ".join(snakemake.input), f"; {note}" if note else "")
    paths = [read_path(p) for p in snakemake.input]
    path_figure(paths, snakemake.output[0], Style.from_config(snakemake.params.settings), note)
