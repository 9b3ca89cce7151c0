"""Snakemake step: top Hessian eigenvalue and trace of the training objective at every saved epoch of a seed."""

from grokscape.numerics.curves import stack_controls
from grokscape.numerics.data import load_dataset
from grokscape.numerics.devices import resolve_device
from grokscape.numerics.landscape import Objective
from grokscape.numerics.sharpness import SharpnessSettings, sharpness
from grokscape.output.checkpoints import load_checkpoint, saved_epochs
from grokscape.scripting import job, job_settings
from grokscape.storage import read_attrs, write_table

with job(snakemake) as log:
    config = job_settings(snakemake)  # its settings plus its knob sharpness.t_chunk
    inputs = snakemake.input
    device = resolve_device(config["device"])
    epochs = saved_epochs(inputs.checkpoints)
    log.info("sharpness of seed %s at %d saved epochs on %s", snakemake.wildcards.seed, len(epochs), device)
    weights = stack_controls([load_checkpoint(inputs.checkpoints, e) for e in epochs])
    settings = SharpnessSettings.from_config(config)
    found = sharpness(
        {k: v.to(device) for k, v in weights.items()},
        load_dataset(inputs.dataset).to(device),
        Objective.from_config(config),
        settings,
        config["sharpness"]["t_chunk"],
    )
    trained = read_attrs(inputs.checkpoints)
    attrs = {k: trained[k] for k in ("seed", "memorized", "grokked")}
    write_table(
        snakemake.output[0],
        {"epoch": epochs, **found},
        {**attrs, "lr": config["train"]["lr"], "optimizer": config["train"]["optimizer"], "settings": config},
    )
    unconverged = [e for e, ok in zip(epochs, found["eigenvalue_converged"], strict=True) if not ok]
    log.info(
        "top eigenvalue %.4g -> %.4g; unconverged at epochs %s",
        found["top_eigenvalue"][0],
        found["top_eigenvalue"][-1],
        unconverged,
    )
