rule fig1:
    input:
        dataset="results/dataset.h5",
        histories=expand("results/seed{seed}/history.h5", seed=SEEDS),
    output:
        "results/fig1.pdf",
    params:
        settings=settings("plot"),
        code=library_code("plotting"),
    log:
        "results/logs/figures/fig1.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../workflow_scripts/plot_fig1.py"


rule fig3:
    input:
        histories=expand("results/seed{seed}/history.h5", seed=SEEDS),
        points=expand("results/seed{seed}/points.json", seed=SEEDS),
        checkpoints=expand("results/seed{seed}/checkpoints.h5", seed=SEEDS),
    output:
        "results/fig3.pdf",
    params:
        settings=settings("plot"),
        code=library_code("plotting"),
    log:
        "results/logs/figures/fig3.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../workflow_scripts/plot_fig3.py"


rule fig4:
    input:
        path_file("chain", f"{FIRST}-mem", f"{FIRST}-grok"),
    output:
        "results/fig4.pdf",
    params:
        settings=settings("plot"),
        code=library_code("plotting", "pathfiles"),
    log:
        "results/logs/figures/fig4.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../workflow_scripts/plot_chain.py"


rule path_figure:
    input:
        lambda wildcards: figure_paths(f"fig{wildcards.n}"),
    output:
        "results/fig{n}.pdf",
    wildcard_constraints:
        n="2|5|6|7",
    params:
        settings=settings("plot"),
        code=library_code("plotting", "pathfiles"),
    log:
        "results/logs/figures/fig{n}.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../workflow_scripts/plot_paths.py"
