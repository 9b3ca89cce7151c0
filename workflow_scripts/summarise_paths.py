"""Snakemake step: one row per evaluated path with its barriers, gradient norms and the distance
between its endpoints: `distance` between the seeds' own weights, `aligned_distance` between the
endpoints as evaluated where one of them is aligned (`@`), empty otherwise. A path the default run
would evaluate but whose seed never reached a point it needs gets a row too, empty but for
`not_evaluated`: why (a column only such runs have)."""

import pandas as pd

from grokscape.numerics.landscape import summary_row
from grokscape.output.pathfiles import read_path
from grokscape.planning.endpoints import Endpoint
from grokscape.planning.path_names import FITTED_KINDS, parse_path
from grokscape.planning.plan import left_out_reason
from grokscape.planning.points import seed_of
from grokscape.scripting import job
from grokscape.storage import atomic_write, read_json

with job(snakemake) as log:
    inputs, params = snakemake.input, snakemake.params
    rows = []
    for path in inputs.paths:
        columns, attrs = read_path(path)
        identity = {key: attrs[key] for key in ("kind", "start", "end", "start_epoch", "end_epoch")}
        aligned = any(Endpoint.parse(attrs[end]).aligned_to for end in ("start", "end"))
        distances = {
            "distance": attrs["distance_unaligned"],
            "aligned_distance": attrs["distance"] if aligned else None,
        }
        rows.append({**identity, **summary_row(columns, params.zero_error), **distances})
        if attrs["kind"] in FITTED_KINDS and not rows[-1]["connects"]:
            short = rows[-1]["max_train_error"] - params.zero_error
            log.warning(
                "%s %s__%s did not connect: max train error %.4f along the curve, above claims.zero_error = %g by %.4f;"
                " its verdicts stay undecided (fit longer, or see docs/fitting.md)",
                attrs["kind"],
                attrs["start"],
                attrs["end"],
                rows[-1]["max_train_error"],
                params.zero_error,
                short,
            )
    records = {seed_of(p): read_json(p) for p in inputs.points}
    for path in (p for p in params.planned if p not in inputs.paths):
        kind, start, end = parse_path(path)
        rows.append({"kind": kind, "start": start, "end": end, "not_evaluated": left_out_reason(path, records)})
    with atomic_write(snakemake.output[0]) as tmp:
        pd.DataFrame(rows).to_csv(tmp, index=False, float_format="%.6g")
    log.info("summarised %d paths, %d left out", len(inputs.paths), len(rows) - len(inputs.paths))
