"""Snakemake step: decide the paper's claims C1-C6 and grokscape's A1 from the tables; write JSON, Markdown, CSV.

The tables are those the plan made: a seed that never reached a point its paths need has none, and counts
as not reached (the points files of every seed say why)."""

import pandas as pd

from grokscape.output.claims import ClaimThresholds, PairTables, SeedTables, claims_markdown, evaluate_claims
from grokscape.output.pathfiles import read_path
from grokscape.output.results_table import seeds_markdown
from grokscape.planning.claim_inputs import parse_input_name, unit_gaps
from grokscape.planning.points import seed_of
from grokscape.scripting import job
from grokscape.storage import atomic_write, read_json, write_json

with job(snakemake) as log:
    inputs, output = snakemake.input, snakemake.output
    points = {seed_of(p): read_json(p) for p in inputs.points}
    tables: dict[tuple[int, ...], dict] = {}
    for name, path in inputs.items():
        if name != "points":
            role, seeds = parse_input_name(name)
            columns, attrs = read_path(path)  # plus the endpoint distances and alignment records (A1)
            scalars = {k: attrs[k] for k in ("distance", "distance_unaligned", "alignments") if k in attrs}
            tables.setdefault(seeds, {})[role] = {**columns, **scalars}
    per_seed = {seeds[0]: SeedTables(**t) for seeds, t in tables.items() if len(seeds) == 1}
    pairs = {seeds: PairTables(**t) for seeds, t in tables.items() if len(seeds) == 2}
    thresholds = ClaimThresholds(**snakemake.params.settings["claims"])
    claims = evaluate_claims(points, per_seed, pairs, thresholds, unit_gaps(list(points), points))
    write_json(output.json, claims)
    with atomic_write(output.markdown) as tmp:
        title = "# The paper's claims, checked on this run\n\n"
        tmp.write_text(title + claims_markdown(claims) + seeds_markdown(points))
    with atomic_write(output.table) as tmp:
        columns = ("claim", "statement", "verdict", "reasons")
        rows = [{k: c[k] for k in columns} | {"measured": c["spread"]} for c in claims]
        pd.DataFrame(rows).to_csv(tmp, index=False)
    for claim in claims:
        log.info("%s %s", claim["claim"], claim["verdict"])
