"""Snakemake step: the results table the README shows (results/readme_results.md)."""

import pandas as pd

from grokscape.output.results_table import results_markdown
from grokscape.planning.points import seed_of
from grokscape.scripting import job
from grokscape.storage import atomic_write, read_json

with job(snakemake):
    inputs = snakemake.input
    points = {seed_of(p): read_json(p) for p in inputs.points}
    markdown = results_markdown(points, pd.read_csv(inputs.summary), read_json(inputs.claims))
    with atomic_write(snakemake.output[0]) as tmp:
        tmp.write_text("# Results of this run\n\n" + markdown)
