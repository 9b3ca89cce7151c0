"""Snakemake step: file one member's outputs (a seed's training files, a curve's table) from the
temporary folder of the job that computed its group, under their own names (`params.member` is the
member's subfolder there).

Hard links, so a group of many members costs no copy (a copy where the file system has no links)."""

import os
import shutil
from pathlib import Path

from grokscape.scripting import job

with job(snakemake) as log:
    folder = Path(snakemake.input[0]) / snakemake.params.member
    for target in snakemake.output:
        source = folder / Path(target).name
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)
    log.info("filed %s from %s", ", ".join(snakemake.output), folder)
