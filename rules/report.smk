# Cheap: run where Snakemake runs, never queued as cluster jobs.
localrules:
    claims,
    configuration_table,


rule claims:
    input:
        # the tables the plan made, given what every seed reached (its points file says why a table is missing)
        unpack(lambda wildcards: plan().claim_tables()),
        points=POINTS,
        histories=expand("results/seed{seed}/history.h5", seed=SEEDS),  # C1: validation accuracy at point 1
        collapses=expand("results/seed{seed}/collapses.json", seed=SEEDS),  # C3: the trajectory between points
    output:
        json="results/claims.json",
        markdown="results/claims.md",
        table=report(
            "results/claims.csv",
            caption="../report/claims.rst",
            category="Claims",
        ),
    log:
        "results/logs/claims.log",
    conda:
        "../envs/grokscape.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        settings=SETTINGS.sections("claims"),
        code=script_code("check_claims.py"),
    script:
        "../workflow_scripts/check_claims.py"


rule configuration_table:
    output:
        report(
            "results/configuration.csv",
            caption="../report/configuration.rst",
            category="Configuration",
        ),
    log:
        "results/logs/configuration.log",
    conda:
        "../envs/grokscape.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        # the default run's settings: the sweeps and the instability analysis (not part of it) rerun nothing here
        settings=SETTINGS.run_record(),
        code=script_code("write_configuration.py"),
    script:
        "../workflow_scripts/write_configuration.py"
