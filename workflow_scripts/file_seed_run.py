"""Snakemake step: file one seed's training outputs from its group's folder under results/seed{S}/.

Hard links, so a group of many seeds costs no copy (a copy where the file system has no links)."""

import os
import shutil
from pathlib import Path

from grokscape.scripting import job

with job(snakemake) as log:
    seed = snakemake.wildcards.seed
    for target in snakemake.output:
        source = Path(snakemake.input[0]) / f"seed{seed}" / Path(target).name
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)
    log.info("seed %s: filed %s from %s", seed, ", ".join(snakemake.output.keys()), snakemake.input[0])
