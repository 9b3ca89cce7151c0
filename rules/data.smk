# Cheap: runs where Snakemake runs, never queued as a cluster job.
localrules:
    dataset,


rule dataset:
    output:
        "results/dataset.h5",
    log:
        "results/logs/dataset.log",
    conda:
        "../envs/grokscape.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        settings=SETTINGS.sections("task"),
        code=script_code("make_dataset.py"),
    script:
        "../workflow_scripts/make_dataset.py"
