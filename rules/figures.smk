# Cheap: run where Snakemake runs, never queued as cluster jobs.
localrules:
    fig1,
    fig3,
    fig4,
    path_figure,
    fits,


rule fig1:
    input:
        dataset="results/dataset.h5",
        histories=expand("results/seed{seed}/history.h5", seed=SEEDS),
        collapses=expand("results/seed{seed}/collapses.json", seed=SEEDS),
    output:
        report("results/fig1.pdf", caption="../report/fig1.rst", category="Figures"),
    log:
        "results/logs/figures/fig1.log",
    conda:
        "../envs/grokscape.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        settings=SETTINGS.sections("plot"),
        code=script_code("plot_fig1.py"),
    script:
        "../workflow_scripts/plot_fig1.py"


rule fig3:
    input:
        histories=expand("results/seed{seed}/history.h5", seed=SEEDS),
        points=POINTS,
        collapses=expand("results/seed{seed}/collapses.json", seed=SEEDS),
        checkpoints=expand("results/seed{seed}/checkpoints.h5", seed=SEEDS),
    output:
        report("results/fig3.pdf", caption="../report/fig3.rst", category="Figures"),
    log:
        "results/logs/figures/fig3.log",
    conda:
        "../envs/grokscape.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        settings=SETTINGS.sections("plot"),
        code=script_code("plot_fig3.py"),
    script:
        "../workflow_scripts/plot_fig3.py"


rule fig4:
    input:
        lambda wildcards: plan().figure_paths("fig4"),
    output:
        report("results/fig4.pdf", caption="../report/fig4.rst", category="Figures"),
    log:
        "results/logs/figures/fig4.log",
    conda:
        "../envs/grokscape.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        settings=SETTINGS.sections("plot"),
        note=lambda wildcards: plan().figure_note("fig4"),
        code=script_code("plot_chain.py"),
    script:
        "../workflow_scripts/plot_chain.py"


rule path_figure:
    input:
        lambda wildcards: plan().figure_paths(f"fig{wildcards.n}"),
    output:
        report("results/fig{n}.pdf", caption="../report/path_figure.rst", category="Figures"),
    log:
        "results/logs/figures/fig{n}.log",
    wildcard_constraints:
        n="2|5|6|7",
    conda:
        "../envs/grokscape.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        settings=SETTINGS.sections("plot"),
        note=lambda wildcards: plan().figure_note(f"fig{wildcards.n}"),
        code=script_code("plot_paths.py"),
    script:
        "../workflow_scripts/plot_paths.py"


rule fits:
    input:
        lambda wildcards: plan().fitted_paths(),
    output:
        report("results/fits.pdf", caption="../report/fits.rst", category="Figures"),
    log:
        "results/logs/figures/fits.log",
    conda:
        "../envs/grokscape.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        settings=SETTINGS.sections("plot"),
        zero_error=config["claims"]["zero_error"],
        code=script_code("plot_fits.py"),
    script:
        "../workflow_scripts/plot_fits.py"
