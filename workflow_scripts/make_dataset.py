"""Snakemake step: write the operation table and its train/validation split."""

from grokscape.numerics.data import make_dataset, save_dataset
from grokscape.scripting import job

with job(snakemake) as log:
    task = snakemake.params.settings["task"]
    dataset = make_dataset(task["operation"], task["p"], task["train_fraction"], task["data_seed"])
    save_dataset(snakemake.output[0], dataset, task)
    log.info("%d equations, %d for training", dataset.a.numel(), dataset.train_index.numel())
