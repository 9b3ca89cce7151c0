"""Snakemake step: decide the paper's claims C1-C6 and grokscape's S1 and A1 from the tables; write JSON,
Markdown, CSV."""

import pandas as pd

from grokscape.output.claims import ClaimThresholds, PairTables, SeedTables, evaluate_claims
from grokscape.output.claims_markdown import claims_markdown, seeds_markdown
from grokscape.output.pathfiles import read_path
from grokscape.planning.claim_inputs import parse_input_name
from grokscape.planning.points import seed_of
from grokscape.scripting import job
from grokscape.storage import atomic_write, read_json, read_table, write_json

with job(snakemake) as log:
    inputs, output = snakemake.input, snakemake.output
    points = {seed_of(p): read_json(p) for p in inputs.points}
    histories = {seed_of(p): read_table(p, ["epoch", "val_acc"]) for p in inputs.histories}
    collapses = {seed_of(p): read_json(p) for p in inputs.collapses}
    tables: dict[tuple[int, ...], dict] = {}
    for name, path in inputs.items():
        if name not in ("points", "histories", "collapses"):
            role, seeds = parse_input_name(name)
            columns, attrs = read_path(path)  # plus the endpoint distances and alignment records (A1)
            scalars = {k: attrs[k] for k in ("distance", "distance_unaligned", "alignments") if k in attrs}
            tables.setdefault(seeds, {})[role] = {**columns, **scalars}
    per_seed = {seeds[0]: SeedTables(**t) for seeds, t in tables.items() if len(seeds) == 1}
    pairs = {seeds: PairTables(**t) for seeds, t in tables.items() if len(seeds) == 2}
    thresholds = ClaimThresholds(**snakemake.params.settings["claims"])
    claims = evaluate_claims(points, histories, collapses, per_seed, pairs, thresholds)
    write_json(output.json, claims)
    with atomic_write(output.markdown) as tmp:
        tmp.write_text(
            "# The paper's claims, checked on this run\n\n" + claims_markdown(claims) + seeds_markdown(points)
        )
    with atomic_write(output.table) as tmp:
        columns = ("claim", "statement", "verdict", "reasons")
        rows = [{k: c[k] for k in columns} | {"measured": c["spread"]} for c in claims]
        pd.DataFrame(rows).to_csv(tmp, index=False)
    for claim in claims:
        log.info("%s %s", claim["claim"], claim["verdict"])
