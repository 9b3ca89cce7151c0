"""Snakemake step: decide grokscape's instability questions I1 and I2 over the parent seeds; write JSON and Markdown."""

import pandas as pd

from grokscape.output.claims_markdown import claims_markdown
from grokscape.output.instability_claims import InstabilityThresholds, evaluate_instability_claims
from grokscape.scripting import job
from grokscape.storage import atomic_write, read_json, write_json

with job(snakemake) as log:
    inputs = snakemake.input
    parents = [int(path.split("seed")[-1].split("/")[0]) for path in inputs.parent_points]
    tables = {
        seed: (pd.read_csv(children), pd.read_csv(pairs))
        for seed, children, pairs in zip(parents, inputs.children, inputs.pairs, strict=True)
    }
    points = {seed: read_json(path) for seed, path in zip(parents, inputs.parent_points, strict=True)}
    claims = evaluate_instability_claims(tables, points, InstabilityThresholds(**snakemake.params.settings))
    write_json(snakemake.output.json, claims)
    with atomic_write(snakemake.output.markdown) as tmp:
        title = "# grokscape's instability questions, decided on this run (not claims of the paper)\n\n"
        tmp.write_text(title + claims_markdown(claims))
    for claim in claims:
        log.info("%s %s", claim["claim"], claim["verdict"])
