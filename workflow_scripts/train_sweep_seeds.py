"""Snakemake step: the seeds of one sweep point (its settings as `params.settings`) trained as one stacked
model; each seed's history and points written into the job's folder (the rule `sweep_run` files them)."""

from grokscape.numerics.data import make_dataset
from grokscape.numerics.devices import resolve_device
from grokscape.scripting import job
from grokscape.seed_jobs import train_group

with job(snakemake) as log:
    config, seeds, key = snakemake.params.settings, snakemake.params.seeds, snakemake.wildcards.key
    task, device = config["task"], resolve_device(config["device"])
    log.info("sweep point %s, seeds %s on %s: %s", key, seeds, device, config)
    dataset = make_dataset(task["operation"], task["p"], task["train_fraction"], task["data_seed"])
    attrs = {"settings": config, "key": key}
    train_group(dataset, config, seeds, device, snakemake.output[0], snakemake.params.resume, attrs, keep_weights=False)
