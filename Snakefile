# grokscape: paths through the loss landscape of a grokking transformer.
# Reproduces "On the loss landscape in grokking: mode connectivity" figure by figure.


configfile: "config.yaml"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/training.smk"
include: "rules/paths.smk"
include: "rules/figures.smk"


rule all:
    input:
        PAPER_FIGURES,
        "results/paths/summary.csv",
    default_target: True
