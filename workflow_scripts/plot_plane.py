"""Snakemake step: the contour figure of a curve's plane."""

from grokscape.numerics.planes import read_plane
from grokscape.output.plane_figure import plane_figure
from grokscape.output.plotting import Style
from grokscape.scripting import job

with job(snakemake):
    _, columns, attrs = read_plane(snakemake.input[0])
    plane_figure(columns, attrs, snakemake.output[0], Style.from_config(snakemake.params.settings))
