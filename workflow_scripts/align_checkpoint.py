"""Snakemake step: align one checkpoint to another (weight or activation matching); write it as a checkpoint file."""

import torch

from grokscape.numerics.alignment import align, align_activations
from grokscape.numerics.data import load_dataset
from grokscape.numerics.model import forward_by_token
from grokscape.output.checkpoints import checkpoint_shape, load_checkpoint, write_checkpoints
from grokscape.planning.endpoints import Endpoint
from grokscape.scripting import job
from grokscape.storage import read_attrs, read_json

with job(snakemake) as log:
    inputs, wildcards, settings = snakemake.input, snakemake.wildcards, snakemake.params.settings["align"]
    moved, target = Endpoint.parse(wildcards.moved), Endpoint.parse(wildcards.target)
    moved_epoch, target_epoch = (
        moved.epoch(read_json(inputs.moved_points)),
        target.epoch(read_json(inputs.target_points)),
    )
    shape = checkpoint_shape(inputs.moved_checkpoints)
    weights, reference = (
        load_checkpoint(inputs.moved_checkpoints, moved_epoch),
        load_checkpoint(inputs.target_checkpoints, target_epoch),
    )
    dataset = load_dataset(inputs.dataset)
    if settings["method"] == "activations":  # on the training examples
        aligned, record = align_activations(reference, weights, shape, dataset.subset(dataset.train_index)[:2])
    else:
        aligned, record = align(reference, weights, shape, settings["max_iterations"], settings["tolerance"])
    with torch.no_grad():  # the proof that the function is kept: logits on the whole table
        before, after = (forward_by_token(w, dataset.a, dataset.b, shape.n_heads) for w in (weights, aligned))
    change = float((after - before).abs().max())
    log.info(
        "%s aligned to %s (method: %s) in %.2f s, %d sweeps%s: distance %.4f -> %.4f; largest logit change %.2e",
        moved,
        target,
        record.method,
        record.seconds,
        record.iterations,
        "" if record.converged else " (max_iterations reached, still improving)",
        record.distance_before,
        record.distance_after,
        change,
    )
    attrs = {
        **read_attrs(inputs.moved_checkpoints),
        "aligned_to": str(target),
        "aligned_to_seed": target.seed,
        "aligned_to_epoch": target_epoch,
        # the seconds go to the log only, so that the same inputs give the same file
        "alignment": {k: v for k, v in vars(record).items() if k != "seconds"}
        | {"max_logit_change": change, "settings": settings},
    }
    write_checkpoints(snakemake.output[0], {moved_epoch: aligned}, attrs)
