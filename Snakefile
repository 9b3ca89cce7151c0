# grokscape: paths through the loss landscape of a grokking transformer.
# Reproduces "On the loss landscape in grokking: mode connectivity" figure by figure.
from pathlib import Path


# A run directory (`--directory runs/tiny`) may hold its own config.yaml; otherwise the repository's is used.
configfile: "config.yaml" if Path("config.yaml").exists() else f"{workflow.basedir}/config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/training.smk"
include: "rules/paths.smk"
include: "rules/figures.smk"
include: "rules/planes.smk"
include: "rules/report.smk"
include: "rules/sharpness.smk"
include: "rules/alignment.smk"
include: "rules/sweeps.smk"
include: "rules/instability.smk"


localrules:
    all,


rule all:
    default_target: True
    input:
        "results/fig1.pdf",
        "results/fig3.pdf",
        # the figures of paths that some seeds' points allow (figures 6-8 compare two seeds)
        lambda wildcards: [f"results/{figure}.pdf" for figure in PATH_FIGURES if plan().drawable(figure)],
        "results/paths/summary.csv",
        "results/fits.pdf",
        "results/claims.json",
        "results/configuration.csv",
        "results/sharpness.pdf",
        lambda wildcards: plan().plane_files(),
