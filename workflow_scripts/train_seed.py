"""Snakemake step: train one seed until it groks; write history, checkpoints and points."""

from pathlib import Path

from grokscape import settings as cfg
from grokscape.checkpoints import write_checkpoints
from grokscape.data import load_dataset
from grokscape.devices import resolve_device
from grokscape.points import points_record
from grokscape.scripting import job
from grokscape.storage import write_json, write_table
from grokscape.training import train_seed

with job(snakemake) as log:
    config, output = snakemake.params.settings, snakemake.output
    seed = int(snakemake.wildcards.seed)
    device = resolve_device(config["device"])
    log.info("training seed %d on %s with %d threads", seed, device, snakemake.threads)
    shape, thresholds = cfg.model_shape(config), cfg.thresholds(config)
    result = train_seed(
        load_dataset(snakemake.input.dataset),
        shape,
        cfg.train_settings(config),
        thresholds,
        seed,
        device,
        resume_path=snakemake.params.resume,
    )
    h = result.history
    points = {**points_record(h["epoch"], h["train_acc"], h["val_acc"], thresholds), "diverged": result.diverged}
    attrs = {"seed": seed, "settings": config, "memorized": points["memorized"], "grokked": points["grokked"]}
    write_table(output.history, h, attrs)
    write_checkpoints(output.checkpoints, result.snapshots, {**attrs, **vars(shape)})
    write_json(output.points, points)
    Path(snakemake.params.resume).unlink(missing_ok=True)
    log.info("seed %d: memorised at epoch %s, grokked at epoch %s", seed, points["memorized"], points["grokked"])
