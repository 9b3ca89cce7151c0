"""Snakemake step: fit the free control points of a batch of curves of one kind (none for segments),
all together, in rounds until each connects or its budget is spent, evaluating them together after each
round; one table per curve in the batch's folder, with the rounds and epochs its fit took."""

from pathlib import Path

import torch

from grokscape.numerics.alignment import distance
from grokscape.numerics.curves import coefficients, n_controls
from grokscape.numerics.data import load_dataset
from grokscape.numerics.devices import resolve_device
from grokscape.numerics.fitting import FitSettings, fit_curves
from grokscape.numerics.landscape import Objective, paths_metrics
from grokscape.numerics.sharpness import SharpnessSettings, along_curves
from grokscape.output.checkpoints import load_checkpoint
from grokscape.output.pathfiles import path_attrs, write_path
from grokscape.planning.endpoints import Endpoint
from grokscape.planning.path_names import FITTED_KINDS
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
    config = job_settings(snakemake)  # its settings plus its knobs, such as paths.t_chunk
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
    dataset, objective = load_dataset(snakemake.input.dataset).to(device), Objective.from_config(config)
    control_count = n_controls(kind, config)
    t = torch.linspace(0, 1, config["paths"]["n_points"], dtype=torch.float64, device="cpu")  # stored with the table
    coeffs = coefficients(kind, t, control_count)

    def evaluate(curves: list) -> list:
        """The curves' tables on the t grid: what each file holds, and what tells a fit whether it connected."""
        on_device = [{k: v.to(device) for k, v in curve.items()} for curve in curves]
        return paths_metrics(on_device, coeffs, dataset, objective, config["paths"]["t_chunk"])

    recipe = FitSettings.from_config(config, kind) if kind in FITTED_KINDS else None
    fits = fit_curves(
        kind,
        control_count,
        [tuple(e["weights"]) for e in ends],
        dataset,
        objective,
        recipe,
        device,
        resume_path=snakemake.params.resume,
        evaluate=evaluate,
    )
    curves = [{k: v.to(device) for k, v in fit.controls.items()} for fit in fits]
    metrics = [fit.metrics for fit in fits]
    curvatures = [{} for _ in members]
    sharpness = SharpnessSettings.from_config(config) if config["paths"]["sharpness_points"] else None
    if sharpness:
        curvatures = along_curves(
            kind,
            curves,
            config["paths"]["sharpness_points"],
            dataset,
            objective,
            sharpness,
            config["sharpness"]["t_chunk"],
        )
    folder = Path(snakemake.output[0])
    folder.mkdir(parents=True, exist_ok=True)
    fitted = control_count > 2
    for member, end, fit, columns, curvature in zip(members, ends, fits, metrics, curvatures, strict=True):
        max_train_error = float(columns["train_error"].max())
        rounds = {"fit_rounds": fit.rounds, "fit_epochs": len(fit.epoch_loss), "connected": fit.connected}
        attrs = path_attrs(
            kind,
            member["a"],
            member["b"],
            tuple(end["epochs"]),
            snakemake.params.settings,
            n_controls=control_count,
            max_train_error=max_train_error,
            l2_in_loss=objective.l2_in_loss,
            distance=distance(*end["weights"]),
            distance_unaligned=distance(*end["unaligned"]),
            alignments=end["alignments"],
            **(rounds if fitted else {}),
        )
        write_path(
            folder / f"{member['name']}.h5",
            {"t": t.numpy(), **columns, "fit_loss": fit.epoch_loss, **curvature},
            attrs,
            controls=fit.controls if fitted else None,
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
                sharpness.max_iterations,
            )
        if fitted:
            log.info("%s: fitted in %d round(s), %d epochs", member["name"], fit.rounds, len(fit.epoch_loss))
        if fitted and not fit.connected:
            log.warning(
                "%s %s did not connect after %d round(s) of %d epoch(s): max train error %.4f along the curve, above "
                "claims.zero_error = %g by %.4f; its verdicts stay undecided (raise %s.max_rounds or %s.epochs, or "
                "see docs/fitting.md)",
                kind,
                member["name"],
                fit.rounds,
                recipe.epochs,
                max_train_error,
                recipe.connect_error,
                max_train_error - recipe.connect_error,
                kind,
                kind,
            )
    Path(snakemake.params.resume).unlink(missing_ok=True)
