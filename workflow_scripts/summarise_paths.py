"""Snakemake step: one row per evaluated path with its barriers, gradient norms and the distance
between its endpoints: `distance` between the seeds' own weights, `aligned_distance` between the
endpoints as evaluated where one of them is aligned (`@`), empty otherwise."""

import pandas as pd

from grokscape.numerics.landscape import summary_row
from grokscape.output.pathfiles import read_path
from grokscape.planning.endpoints import Endpoint
from grokscape.scripting import job
from grokscape.storage import atomic_write

with job(snakemake) as log:
    rows = []
    for path in snakemake.input:
        columns, attrs = read_path(path)
        identity = {key: attrs[key] for key in ("kind", "start", "end", "start_epoch", "end_epoch")}
        aligned = any(Endpoint.parse(attrs[end]).aligned_to for end in ("start", "end"))
        distances = {
            "distance": attrs["distance_unaligned"],
            "aligned_distance": attrs["distance"] if aligned else None,
        }
        rows.append({**identity, **summary_row(columns, snakemake.params.zero_error), **distances})
    with atomic_write(snakemake.output[0]) as tmp:
        pd.DataFrame(rows).to_csv(tmp, index=False, float_format="%.6g")
    log.info("summarised %d paths", len(rows))
