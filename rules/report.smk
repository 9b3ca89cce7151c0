# Cheap: run where Snakemake runs, never queued as cluster jobs.
localrules:
    claims,
    configuration_table,


rule claims:
    input:
        unpack(claims_inputs),
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
        settings=settings("claims"),
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
        settings=settings(*(section for section in SHAPING if section not in ("sweeps", "instability"))),
        code=script_code("write_configuration.py"),
    script:
        "../workflow_scripts/write_configuration.py"


localrules:
    results_table,


rule results_table:
    input:
        points=expand("results/seed{seed}/points.json", seed=SEEDS),
        summary="results/paths/summary.csv",
        claims="results/claims.json",
    output:
        "results/readme_results.md",
    log:
        "results/logs/readme_results.log",
    conda:
        "../envs/grokscape.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        code=script_code("write_results_table.py"),
    script:
        "../workflow_scripts/write_results_table.py"
