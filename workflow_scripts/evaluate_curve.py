"""Snakemake step: fit a curve's free control points (none for a segment), then evaluate it."""

from pathlib import Path

import torch

from grokscape import curve_settings as cfg
from grokscape.alignment import distance
from grokscape.checkpoints import load_checkpoint
from grokscape.configuration import job_settings
from grokscape.curves import coefficients
from grokscape.data import load_dataset
from grokscape.devices import resolve_device
from grokscape.endpoints import Endpoint
from grokscape.fit_settings import fit_settings
from grokscape.fitting import fit_curve
from grokscape.landscape import path_metrics
from grokscape.pathfiles import path_attrs, write_path
from grokscape.scripting import job
from grokscape.sharpness import SharpnessSettings, along_curve
from grokscape.storage import read_attrs, read_json

with job(snakemake) as log:
    config = job_settings(snakemake.params.settings, snakemake.config)  # plus knobs such as t_chunk
    inputs, wildcards = snakemake.input, snakemake.wildcards
    kind = wildcards.curve
    device = resolve_device(config["device"])
    log.info("%s %s -> %s on %s with %d threads", kind, wildcards.a, wildcards.b, device, snakemake.threads)
    start_epoch = Endpoint.parse(wildcards.a).epoch(read_json(inputs.start_points))
    end_epoch = Endpoint.parse(wildcards.b).epoch(read_json(inputs.end_points))
    start = load_checkpoint(inputs.start_checkpoints, start_epoch)
    end = load_checkpoint(inputs.end_checkpoints, end_epoch)
    ends = (  # weights, their file, the seed's own checkpoints (another file for aligned names), epoch
        (start, inputs.start_checkpoints, inputs.start_unaligned, start_epoch),
        (end, inputs.end_checkpoints, inputs.end_unaligned, end_epoch),
    )
    unaligned = [weights if given == own else load_checkpoint(own, epoch) for weights, given, own, epoch in ends]
    aligned_files = [given for _, given, own, _ in ends if given != own]
    dataset, objective = load_dataset(inputs.dataset), cfg.objective(config)
    n_controls = cfg.n_controls(config, kind)
    fit = fit_curve(
        kind,
        n_controls,
        start,
        end,
        dataset,
        objective,
        fit_settings(config, kind),
        device,
        resume_path=snakemake.params.resume,
    )
    t = torch.linspace(0, 1, config["paths"]["n_points"], dtype=torch.float64)
    controls = {k: v.to(device) for k, v in fit.controls.items()}
    metrics = path_metrics(
        controls, coefficients(kind, t, n_controls), dataset.to(device), objective, config["paths"]["t_chunk"]
    )
    max_train_error = float(metrics["train_error"].max())
    curvature = {}
    if config["paths"]["sharpness_points"]:
        settings = SharpnessSettings.from_config(config)
        curvature = along_curve(
            kind,
            controls,
            config["paths"]["sharpness_points"],
            dataset.to(device),
            objective,
            settings,
            config["sharpness"]["t_chunk"],
        )
        converged = curvature["eigenvalue_converged"]
        log.info(
            "top Hessian eigenvalue %s at t = %s; %d of %d converged within %d Lanczos steps",
            curvature["top_eigenvalue"].round(4).tolist(),
            curvature["sharpness_t"].round(3).tolist(),
            converged.sum(),
            converged.size,
            settings.max_iterations,
        )
    attrs = path_attrs(
        kind,
        wildcards.a,
        wildcards.b,
        (start_epoch, end_epoch),
        snakemake.params.settings,
        n_controls=n_controls,
        max_train_error=max_train_error,
        distance=distance(start, end),
        distance_unaligned=distance(*unaligned),
        alignments=[read_attrs(path)["alignment"] for path in aligned_files],
    )
    write_path(
        snakemake.output[0],
        {"t": t.numpy(), **metrics, "fit_loss": fit.epoch_loss, **curvature},
        attrs,
        controls=fit.controls if n_controls > 2 else None,
    )
    Path(snakemake.params.resume).unlink(missing_ok=True)
    grad_norm = metrics["grad_norm"]
    log.info("train error max %.4f, grad norm %.4f -> %.4f", max_train_error, grad_norm[0], grad_norm[-1])
    zero_error = snakemake.config["claims"]["zero_error"]  # read, not a param: it only decides the warning
    if n_controls > 2 and max_train_error > zero_error:
        log.warning(
            "%s %s__%s did not connect: max train error %.4f along the curve, above claims.zero_error = %g by %.4f; "
            "its verdicts stay undecided (fit longer, or see docs/fitting.md)",
            kind,
            wildcards.a,
            wildcards.b,
            max_train_error,
            zero_error,
            max_train_error - zero_error,
        )
