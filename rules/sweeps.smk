# The companion papers as sweeps (docs/science.md): not part of `all`; ask for `snakemake sweeps` or one
# results/sweeps/{sweep}.pdf. Every grid point × seed is one training run under results/sweeps/runs/{key}/,
# key a hash of its settings (grokscape/sweeps.py), shared by every sweep that needs it.
from grokscape.sweeps import SWEEPS, plan_sweeps

try:
    SWEEP_PLAN = plan_sweeps(config, SCHEMA)
except ConfigError as error:
    sys.exit(f"grokscape: {error}")


localrules:
    sweep_table,
    sweeps,


rule sweeps:
    input:
        expand("results/sweeps/{sweep}.{ext}", sweep=SWEEPS, ext=("csv", "json", "pdf")),


rule sweep_run:
    output:
        history="results/sweeps/runs/{key}/seed{seed}/history.h5",
        points="results/sweeps/runs/{key}/seed{seed}/points.json",
    log:
        "results/logs/sweeps/{key}/seed{seed}.log",
    benchmark:
        "results/benchmarks/sweeps/{key}/seed{seed}.tsv"
    wildcard_constraints:
        key="[0-9a-f]{12}",
    conda:
        "../envs/grokscape.yaml"
    # Many small runs: one thread each, side by side.
    threads: 1
    resources:
        mem_mb=2000,
        runtime=240,
    params:
        settings=lambda wildcards: SWEEP_PLAN.settings(wildcards.key),
        resume="results/.resume/sweeps/{key}/seed{seed}.h5",
        code=script_code("train_sweep_run.py"),
    script:
        "../workflow_scripts/train_sweep_run.py"


rule sweep_table:
    input:
        histories=lambda wildcards: SWEEP_PLAN.run_files(wildcards.sweep, "history.h5"),
        points=lambda wildcards: SWEEP_PLAN.run_files(wildcards.sweep, "points.json"),
    output:
        csv=report("results/sweeps/{sweep}.csv", caption="../report/sweeps.rst", category="Sweeps"),
        summary="results/sweeps/{sweep}.json",
        pdf=report("results/sweeps/{sweep}.pdf", caption="../report/sweeps.rst", category="Sweeps"),
    log:
        "results/logs/sweeps/{sweep}.log",
    wildcard_constraints:
        sweep="|".join(SWEEPS),
    conda:
        "../envs/grokscape.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        settings=lambda wildcards: {
            "runs": SWEEP_PLAN.points[wildcards.sweep],
            "val_acc": config["sweeps"]["val_acc"],
            **settings("plot"),
        },
        code=script_code("sweep_table.py"),
    script:
        "../workflow_scripts/sweep_table.py"
