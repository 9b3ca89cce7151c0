"""Snakemake step: the configuration as a table, for the report."""

import pandas as pd

from grokscape.scripting import job
from grokscape.storage import atomic_write

with job(snakemake):
    rows = [
        {"section": section, "key": key, "value": value}
        for section, values in snakemake.params.settings.items()
        for key, value in (values.items() if isinstance(values, dict) else [("", values)])
    ]
    with atomic_write(snakemake.output[0]) as tmp:
        pd.DataFrame(rows).to_csv(tmp, index=False)
