# Sharpness through training: the Hessian's top eigenvalue and trace at every saved epoch of a seed.
rule sharpness:
    input:
        dataset="results/dataset.h5",
        checkpoints="results/seed{seed}/checkpoints.h5",
    output:
        "results/seed{seed}/sharpness.h5",
    log:
        "results/logs/sharpness/seed{seed}.log",
    benchmark:
        "results/benchmarks/sharpness/seed{seed}.tsv"
    conda:
        "../envs/grokscape.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        settings=SETTINGS.sharpness(),
        knobs=SETTINGS.knobs(SETTINGS.sharpness()),
        code=script_code("measure_sharpness.py"),
    script:
        "../workflow_scripts/measure_sharpness.py"


localrules:
    sharpness_figure,


rule sharpness_figure:
    input:
        expand("results/seed{seed}/sharpness.h5", seed=SEEDS),
    output:
        report("results/sharpness.pdf", caption="../report/sharpness.rst", category="Figures"),
    log:
        "results/logs/figures/sharpness.log",
    conda:
        "../envs/grokscape.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        settings=SETTINGS.sections("plot"),
        code=script_code("plot_sharpness.py"),
    script:
        "../workflow_scripts/plot_sharpness.py"
