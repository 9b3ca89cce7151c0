"""Snakemake step: the fits figure, each fitted curve's objective against epoch and whether it connects."""

from grokscape.output.pathfiles import read_path
from grokscape.output.plotting import Style, fits_figure
from grokscape.scripting import job

with job(snakemake):
    fits = [(columns["fit_loss"], attrs) for columns, attrs in map(read_path, snakemake.input)]
    style = Style.from_config(snakemake.params.settings)
    fits_figure(fits, snakemake.params.zero_error, snakemake.output[0], style)
