"""Snakemake step: figure 4, the chain of segments through the snapshots."""

from grokscape.output.pathfiles import read_path
from grokscape.output.plotting import Style, figure4
from grokscape.scripting import job

with job(snakemake) as log:
    note = snakemake.params.note  # why it draws other seeds than the first, if it does
    log.info("drawing %s%s", ", ".join(snakemake.input), f"; {note}" if note else "")
    columns, attrs = read_path(snakemake.input[0])
    figure4(columns, attrs, snakemake.output[0], Style.from_config(snakemake.params.settings), note)
