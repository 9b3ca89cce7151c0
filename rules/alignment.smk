# Symmetry-aware connectivity: checkpoints aligned to others ({moved}@{reference}), paths to them, figure 8.
localrules:
    align,
    fig8,


rule align:
    input:
        dataset="results/dataset.h5",
        moved_checkpoints=lambda wildcards: plan().seed_files(wildcards.moved)["checkpoints"],
        moved_points=lambda wildcards: plan().seed_files(wildcards.moved)["points"],
        target_checkpoints=lambda wildcards: plan().seed_files(wildcards.target)["checkpoints"],
        target_points=lambda wildcards: plan().seed_files(wildcards.target)["points"],
    output:
        "results/aligned/{moved}@{target}.h5",
    log:
        "results/logs/aligned/{moved}@{target}.log",
    wildcard_constraints:
        moved=PLAIN_PATTERN,
        target=PLAIN_PATTERN,
    conda:
        "../envs/grokscape.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        settings=SETTINGS.sections("align"),
        code=script_code("align_checkpoint.py"),
    script:
        "../workflow_scripts/align_checkpoint.py"


rule fig8:
    input:
        lambda wildcards: plan().figure_paths("fig8"),
    output:
        report("results/fig8.pdf", caption="../report/fig8.rst", category="Figures"),
    log:
        "results/logs/figures/fig8.log",
    conda:
        "../envs/grokscape.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        settings=SETTINGS.sections("plot"),
        note=lambda wildcards: plan().figure_note("fig8"),
        code=script_code("plot_fig8.py"),
    script:
        "../workflow_scripts/plot_fig8.py"
