"""Snakemake step: one row per evaluated path with its barriers and gradient norms."""

import pandas as pd

from grokscape.landscape import summary_row
from grokscape.pathfiles import read_path
from grokscape.scripting import job
from grokscape.storage import atomic_write

with job(snakemake) as log:
    rows = []
    for path in snakemake.input:
        columns, attrs = read_path(path)
        identity = {key: attrs[key] for key in ("kind", "start", "end", "start_epoch", "end_epoch")}
        rows.append({**identity, **summary_row(columns, snakemake.params.zero_error)})
    with atomic_write(snakemake.output[0]) as tmp:
        pd.DataFrame(rows).to_csv(tmp, index=False, float_format="%.6g")
    log.info("summarised %d paths", len(rows))
