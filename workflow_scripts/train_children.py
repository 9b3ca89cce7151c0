"""Snakemake step: train some children of one snapshot of a parent seed as one stacked model until each
groks (instability analysis); write every child's files into the job's folder (`instability_child` files them)."""

from grokscape.child_jobs import spawn_epoch, train_children
from grokscape.numerics.data import load_dataset
from grokscape.numerics.devices import resolve_device
from grokscape.output.checkpoints import load_checkpoint
from grokscape.planning.children import Child
from grokscape.scripting import job
from grokscape.storage import read_json

with job(snakemake) as log:
    config, parent, spawn = snakemake.params.settings, int(snakemake.wildcards.seed), snakemake.wildcards.spawn
    epoch = spawn_epoch(parent, spawn, read_json(snakemake.input.points))
    children = [Child(**record) for record in snakemake.params.children]
    device = resolve_device(config["device"])
    log.info("seed %d at %s (epoch %d): children %s on %s", parent, spawn, epoch, [c.index for c in children], device)
    weights = load_checkpoint(snakemake.input.checkpoints, epoch)
    dataset = load_dataset(snakemake.input.dataset)
    folder, resume = snakemake.output[0], snakemake.params.resume
    train_children(dataset, config, (parent, spawn, epoch), weights, children, device, folder, resume)
