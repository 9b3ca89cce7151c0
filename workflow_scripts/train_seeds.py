"""Snakemake step: train a group of seeds as one stacked model until each groks; write every seed's
history, checkpoints and points into the group's folder (the rule `seed_run` files them per seed)."""

from grokscape.numerics.data import load_dataset
from grokscape.numerics.devices import resolve_device
from grokscape.scripting import job
from grokscape.seed_jobs import train_group

with job(snakemake) as log:
    config, seeds = snakemake.params.settings, snakemake.params.seeds
    device = resolve_device(config["device"])
    log.info("training seeds %s on %s with %d threads", seeds, device, snakemake.threads)
    dataset = load_dataset(snakemake.input.dataset)
    attrs = {"settings": config}
    train_group(dataset, config, seeds, device, snakemake.output[0], snakemake.params.resume, attrs, keep_weights=True)
