"""Snakemake step: one sweep's table (a row per run), its summary over seeds (and fit) and its figure."""

from grokscape.output.plotting import Style
from grokscape.output.sweep_plots import sweep_figure
from grokscape.output.sweep_tables import loglog_fit, summary, sweep_table
from grokscape.scripting import job
from grokscape.storage import atomic_write, read_attrs, read_json, read_table, write_json

with job(snakemake) as log:
    sweep, params = snakemake.wildcards.sweep, snakemake.params.settings
    runs, val_acc = [tuple(run) for run in params["runs"]], params["val_acc"]
    histories = [read_table(path) for path in snakemake.input.histories]
    settings = [read_attrs(path)["settings"] for path in snakemake.input.histories]
    points = [read_json(path) for path in snakemake.input.points]
    table = sweep_table(sweep, runs, histories, points, settings, val_acc)
    fit = loglog_fit(table["weight_decay"], table["epoch_to_val_acc"]) if sweep == "weight_decay" else None
    with atomic_write(snakemake.output.csv) as tmp:
        table.to_csv(tmp, index=False)
    write_json(
        snakemake.output.summary, {"sweep": sweep, "val_acc": val_acc, "points": summary(table, sweep), "fit": fit}
    )
    sweep_figure(sweep, table, fit, histories, val_acc, snakemake.output.pdf, Style.from_config(params))
    log.info(
        "%s: %d runs, %d never reached validation accuracy %s",
        sweep,
        len(table),
        int((~table["reached_val_acc"]).sum()),
        val_acc,
    )
