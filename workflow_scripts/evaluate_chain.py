"""Snakemake step: evaluate the chain of segments through a seed's snapshots from A to B."""

import numpy as np
import torch

from grokscape.numerics.alignment import distance
from grokscape.numerics.curves import chain_coefficients, stack_controls
from grokscape.numerics.data import load_dataset
from grokscape.numerics.devices import resolve_device
from grokscape.numerics.landscape import Objective, path_metrics
from grokscape.output.checkpoints import load_checkpoint, saved_epochs
from grokscape.output.pathfiles import path_attrs, write_path
from grokscape.planning.endpoints import Endpoint
from grokscape.scripting import job, job_settings
from grokscape.storage import read_json

with job(snakemake) as log:
    config = job_settings(snakemake)  # its settings plus its knob paths.t_chunk
    inputs, wildcards = snakemake.input, snakemake.wildcards
    start, end = Endpoint.parse(wildcards.a), Endpoint.parse(wildcards.b)
    first, last = start.epoch(read_json(inputs.start_points)), end.epoch(read_json(inputs.end_points))
    nodes = [first, *(e for e in saved_epochs(inputs.start_checkpoints) if first < e < last), last]
    device = resolve_device(config["device"])
    log.info("chain of seed %d through epochs %s on %s", start.seed, nodes, device)
    weights = [load_checkpoint(inputs.start_checkpoints, e) for e in nodes]
    controls = stack_controls(weights)
    n_points, n_segments = config["paths"]["n_points"], len(nodes) - 1
    objective = Objective.from_config(config)
    metrics = path_metrics(
        {k: v.to(device) for k, v in controls.items()},
        chain_coefficients(n_segments, n_points),
        load_dataset(inputs.dataset).to(device),
        objective,
        config["paths"]["t_chunk"],
    )
    t = torch.linspace(0, 1, n_points, dtype=torch.float64, device="cpu").numpy()
    columns = {"t": np.tile(t, (n_segments, 1)), **{k: v.reshape(n_segments, n_points) for k, v in metrics.items()}}
    columns["node_epochs"] = np.asarray(nodes)
    write_path(
        snakemake.output[0],
        columns,
        path_attrs(
            "chain",
            wildcards.a,
            wildcards.b,
            (first, last),
            snakemake.params.settings,
            distance=distance(weights[0], weights[-1]),
            distance_unaligned=distance(weights[0], weights[-1]),
            l2_in_loss=objective.l2_in_loss,
        ),
    )
    log.info("%d segments; max train error along the chain %.4f", n_segments, metrics["train_error"].max())
