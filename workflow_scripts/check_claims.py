"""Snakemake step: decide the paper's claims C1-C6 and grokscape's A1 from the tables; write JSON, Markdown, CSV."""

import pandas as pd

from grokscape.output.claims import ClaimThresholds, PairTables, SeedTables, claims_markdown, evaluate_claims
from grokscape.output.pathfiles import read_path
from grokscape.scripting import job
from grokscape.storage import atomic_write, read_json, write_json

with job(snakemake) as log:
    inputs, output = snakemake.input, snakemake.output
    points, collapses = (
        {int(p.split("seed")[-1].split("/")[0]): read_json(p) for p in files}
        for files in (inputs.points, inputs.collapses)
    )
    tables: dict[str, dict] = {}  # input names are "{role}__{seed}" or "{role}__{seed}__{next seed}"
    for name, path in inputs.items():
        if name not in ("points", "collapses"):
            role, *seeds = name.split("__")
            columns, attrs = read_path(path)  # plus the endpoint distances and alignment records (A1)
            scalars = {k: attrs[k] for k in ("distance", "distance_unaligned", "alignments") if k in attrs}
            tables.setdefault("__".join(seeds), {})[role] = {**columns, **scalars}
    per_seed = {int(k): SeedTables(**v, collapses=collapses[int(k)]) for k, v in tables.items() if "__" not in k}
    pairs = {tuple(map(int, k.split("__"))): PairTables(**v) for k, v in tables.items() if "__" in k}
    claims = evaluate_claims(points, per_seed, pairs, ClaimThresholds(**snakemake.params.settings["claims"]))
    write_json(output.json, claims)
    with atomic_write(output.markdown) as tmp:
        tmp.write_text("# The paper's claims, checked on this run\n\n" + claims_markdown(claims))
    with atomic_write(output.table) as tmp:
        columns = ("claim", "statement", "verdict", "reasons")
        rows = [{k: c[k] for k in columns} | {"measured": c["spread"]} for c in claims]
        pd.DataFrame(rows).to_csv(tmp, index=False)
    for claim in claims:
        log.info("%s %s", claim["claim"], claim["verdict"])
