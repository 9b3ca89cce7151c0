"""Snakemake step: figure 8, segments 1→1′ and 2→2′ with and without aligning the second seed to the first."""

from grokscape.output.pathfiles import read_path
from grokscape.output.plotting import Style, alignment_figure
from grokscape.scripting import job

with job(snakemake) as log:
    note = snakemake.params.note  # why it draws other seeds than the first, if it does
    log.info("drawing %s%s", ", ".join(snakemake.input), f"; {note}" if note else "")
    paths = [read_path(p) for p in snakemake.input]
    alignment_figure(paths, snakemake.output[0], Style.from_config(snakemake.params.settings), note)
