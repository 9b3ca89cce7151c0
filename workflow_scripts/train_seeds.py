"""Snakemake step: train a group of seeds as one stacked model until each groks; write every seed's
history, checkpoints and points into the group's folder (the rule `seed_run` files them per seed)."""

from pathlib import Path

from grokscape import settings as cfg
from grokscape.checkpoints import write_checkpoints
from grokscape.data import load_dataset
from grokscape.devices import resolve_device
from grokscape.points import points_record
from grokscape.scripting import job
from grokscape.storage import write_json, write_table
from grokscape.training import train_seeds

with job(snakemake) as log:
    config, seeds = snakemake.params.settings, snakemake.params.seeds
    device = resolve_device(config["device"])
    log.info("training seeds %s on %s with %d threads", seeds, device, snakemake.threads)
    shape, thresholds = cfg.model_shape(config), cfg.thresholds(config)
    results = train_seeds(
        load_dataset(snakemake.input.dataset),
        shape,
        cfg.train_settings(config),
        thresholds,
        seeds,
        device,
        resume_path=snakemake.params.resume,
    )
    for seed, result in results.items():
        folder = Path(snakemake.output[0]) / f"seed{seed}"
        folder.mkdir(parents=True, exist_ok=True)
        h = result.history
        points = {**points_record(h["epoch"], h["train_acc"], h["val_acc"], thresholds), "diverged": result.diverged}
        attrs = {"seed": seed, "settings": config, "memorized": points["memorized"], "grokked": points["grokked"]}
        write_table(folder / "history.h5", h, attrs)
        write_checkpoints(folder / "checkpoints.h5", result.snapshots, {**attrs, **vars(shape)})
        write_json(folder / "points.json", points)
        log.info("seed %d: memorised at epoch %s, grokked at epoch %s", seed, points["memorized"], points["grokked"])
    Path(snakemake.params.resume).unlink(missing_ok=True)
