"""Snakemake step: fit the free control points of a batch of curves of one kind (none for segments),
all together, then evaluate them together; one table per curve in the batch's folder."""

from pathlib import Path

import torch

from grokscape import curve_settings as cfg
from grokscape.fit_settings import fit_settings
from grokscape.numerics.alignment import distance
from grokscape.numerics.curves import coefficients
from grokscape.numerics.data import load_dataset
from grokscape.numerics.devices import resolve_device
from grokscape.numerics.fitting import fit_curves
from grokscape.numerics.landscape import paths_metrics
from grokscape.numerics.sharpness import SharpnessSettings, along_curves
from grokscape.output.checkpoints import load_checkpoint
from grokscape.output.pathfiles import path_attrs, write_path
from grokscape.planning.endpoints import Endpoint
from grokscape.scripting import job, job_settings
from grokscape.storage import read_attrs, read_json


def load_ends(member: dict) -> dict:
    """A curve's endpoints (for `B@A` names the aligned weights), their epochs, and the seeds' own
    weights behind aligned names (for the distance before alignment) with the alignment records."""
    ends = {"epochs": [], "weights": [], "unaligned": [], "alignments": []}
    for end, name in (("start", member["a"]), ("end", member["b"])):
        files = member["files"]
        epoch = Endpoint.parse(name).epoch(read_json(files[f"{end}_points"]))
        given, own = files[f"{end}_checkpoints"], files[f"{end}_unaligned"]
        weights = load_checkpoint(given, epoch)
        ends["epochs"].append(epoch)
        ends["weights"].append(weights)
        ends["unaligned"].append(weights if given == own else load_checkpoint(own, epoch))
        if given != own:
            ends["alignments"].append(read_attrs(given)["alignment"])
    return ends


with job(snakemake) as log:
    config = job_settings(snakemake.params.settings, snakemake.config)  # plus knobs such as t_chunk
    kind, members = snakemake.wildcards.curve, snakemake.params.members
    device = resolve_device(config["device"])
    log.info(
        "%s: %d curve(s) %s on %s with %d threads",
        kind,
        len(members),
        [m["name"] for m in members],
        device,
        snakemake.threads,
    )
    ends = [load_ends(member) for member in members]
    dataset, objective = load_dataset(snakemake.input.dataset).to(device), cfg.objective(config)
    n_controls = cfg.n_controls(config, kind)
    fits = fit_curves(
        kind,
        n_controls,
        [tuple(e["weights"]) for e in ends],
        dataset,
        objective,
        fit_settings(config, kind),
        device,
        resume_path=snakemake.params.resume,
    )
    t = torch.linspace(0, 1, config["paths"]["n_points"], dtype=torch.float64)
    curves = [{k: v.to(device) for k, v in fit.controls.items()} for fit in fits]
    metrics = paths_metrics(curves, coefficients(kind, t, n_controls), dataset, objective, config["paths"]["t_chunk"])
    curvatures = [{} for _ in members]
    if config["paths"]["sharpness_points"]:
        settings = SharpnessSettings.from_config(config)
        curvatures = along_curves(
            kind,
            curves,
            config["paths"]["sharpness_points"],
            dataset,
            objective,
            settings,
            config["sharpness"]["t_chunk"],
        )
    folder = Path(snakemake.output[0])
    folder.mkdir(parents=True, exist_ok=True)
    zero_error = snakemake.config["claims"]["zero_error"]  # read, not a param: it only decides the warning
    for member, end, fit, columns, curvature in zip(members, ends, fits, metrics, curvatures, strict=True):
        max_train_error = float(columns["train_error"].max())
        attrs = path_attrs(
            kind,
            member["a"],
            member["b"],
            tuple(end["epochs"]),
            snakemake.params.settings,
            n_controls=n_controls,
            max_train_error=max_train_error,
            l2_in_loss=objective.l2_in_loss,
            distance=distance(*end["weights"]),
            distance_unaligned=distance(*end["unaligned"]),
            alignments=end["alignments"],
        )
        write_path(
            folder / f"{member['name']}.h5",
            {"t": t.numpy(), **columns, "fit_loss": fit.epoch_loss, **curvature},
            attrs,
            controls=fit.controls if n_controls > 2 else None,
        )
        grad_norm = columns["grad_norm"]
        log.info(
            "%s: train error max %.4f, grad norm %.4f -> %.4f",
            member["name"],
            max_train_error,
            grad_norm[0],
            grad_norm[-1],
        )
        if curvature:
            converged = curvature["eigenvalue_converged"]
            log.info(
                "%s: top Hessian eigenvalue %s at t = %s; %d of %d converged within %d Lanczos steps",
                member["name"],
                curvature["top_eigenvalue"].round(4).tolist(),
                curvature["sharpness_t"].round(3).tolist(),
                converged.sum(),
                converged.size,
                settings.max_iterations,
            )
        if n_controls > 2 and max_train_error > zero_error:
            log.warning(
                "%s %s did not connect: max train error %.4f along the curve, above claims.zero_error = %g by %.4f; "
                "its verdicts stay undecided (fit longer, or see docs/fitting.md)",
                kind,
                member["name"],
                max_train_error,
                zero_error,
                max_train_error - zero_error,
            )
    Path(snakemake.params.resume).unlink(missing_ok=True)
