"""Snakemake step: one sweep run (a grid point's settings, one seed); write its history and points."""

from pathlib import Path

from grokscape import settings as cfg
from grokscape.data import make_dataset
from grokscape.devices import resolve_device
from grokscape.points import points_record
from grokscape.scripting import job
from grokscape.storage import write_json, write_table
from grokscape.training import train_seed

with job(snakemake) as log:
    config, output = snakemake.params.settings, snakemake.output
    seed, task = int(snakemake.wildcards.seed), config["task"]
    device = resolve_device(config["device"])
    log.info("sweep run %s, seed %d on %s: %s", snakemake.wildcards.key, seed, device, config)
    thresholds = cfg.thresholds(config)
    dataset = make_dataset(task["operation"], task["p"], task["train_fraction"], task["data_seed"])
    settings = cfg.train_settings(config)
    result = train_seed(
        dataset, cfg.model_shape(config), settings, thresholds, seed, device, resume_path=snakemake.params.resume
    )
    h = result.history
    points = {**points_record(h["epoch"], h["train_acc"], h["val_acc"], thresholds), "diverged": result.diverged}
    write_table(output.history, h, {"seed": seed, "settings": config, "key": snakemake.wildcards.key})
    write_json(output.points, points)
    Path(snakemake.params.resume).unlink(missing_ok=True)
    log.info("seed %d: memorised at epoch %s, grokked at epoch %s", seed, points["memorized"], points["grokked"])
