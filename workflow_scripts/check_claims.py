"""Snakemake step: decide the paper's claims C1-C6 from the tables; write JSON, Markdown, CSV."""

import pandas as pd

from grokscape.claims import ClaimThresholds, claims_markdown, evaluate_claims
from grokscape.pathfiles import read_path
from grokscape.scripting import job
from grokscape.storage import atomic_write, read_json, write_json

with job(snakemake) as log:
    inputs, output = snakemake.input, snakemake.output
    points = {int(p.split("seed")[-1].split("/")[0]): read_json(p) for p in inputs.points}
    given = dict(inputs.items())  # C5 and C6 tables exist only with two seeds
    optional = {name: read_path(given[name])[0] for name in ("across_memorised", "across_grokked") if name in given}
    claims = evaluate_claims(
        points,
        read_path(inputs.segment)[0],
        read_path(inputs.chain)[0],
        read_path(inputs.polyline)[0],
        ClaimThresholds(**snakemake.params.settings["claims"]),
        **optional,
    )
    write_json(output.json, claims)
    with atomic_write(output.markdown) as tmp:
        tmp.write_text("# The paper's claims, checked on this run\n\n" + claims_markdown(claims))
    with atomic_write(output.table) as tmp:
        rows = [{k: c[k] for k in ("claim", "statement", "verdict")} | {"measured": c["quantities"]} for c in claims]
        pd.DataFrame(rows).to_csv(tmp, index=False)
    for claim in claims:
        log.info("%s %s", claim["claim"], claim["verdict"])
