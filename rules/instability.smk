# Instability analysis (grokscape's, docs/instability.md): children of a parent seed's snapshots, trained with
# other minibatch orders, and the barriers between them. Not part of `all`: ask for `snakemake instability`.
# The children of one spawn epoch train together as one stacked model where a GPU is used (the grouping
# rule of train.seeds_per_job); the plan is grokscape/planning/instability.py's.
localrules:
    instability,
    instability_child,


rule instability:
    input:
        lambda wildcards: instability_plan().outputs(),


rule instability_train:
    input:
        dataset="results/dataset.h5",
        checkpoints="results/seed{seed}/checkpoints.h5",
        points="results/seed{seed}/points.json",
    output:
        # the children of the group, filed per child by `instability_child` (then removed)
        temp(directory("results/groups/instability/seed{seed}/{spawn}/{children}")),
    log:
        "results/logs/instability/train/seed{seed}/{spawn}/{children}.log",
    benchmark:
        "results/benchmarks/instability/seed{seed}/{spawn}/{children}.tsv"
    wildcard_constraints:
        spawn=SPAWN_PATTERN,
        children=CHILDREN_PATTERN,
    conda:
        "../envs/grokscape.yaml"
    # Many jobs side by side, one thread each (as rule train's with more groups than cores).
    threads: 1
    resources:
        mem_mb=lambda wildcards: 1500 + 500 * len(instability_plan().members(wildcards.children, int(wildcards.seed))),
        runtime=240,
    params:
        settings=SETTINGS.training(),
        # read from the label: a cluster job plans again on its own node (grokscape/planning/job_groups.py)
        children=lambda wildcards: child_records(instability_plan().members(wildcards.children, int(wildcards.seed))),
        resume="results/.resume/instability/seed{seed}/{spawn}/{children}.h5",
        code=script_code("train_children.py"),
    script:
        "../workflow_scripts/train_children.py"


# Cheap: hard links, run where Snakemake runs.
rule instability_child:
    input:
        lambda wildcards: (
            f"results/groups/instability/seed{wildcards.seed}/{wildcards.spawn}/"
            f"{instability_plan().group_of(int(wildcards.child))[0]}"
        ),
    output:
        history="results/instability/seed{seed}/{spawn}/child{child}/history.h5",
        checkpoints="results/instability/seed{seed}/{spawn}/child{child}/checkpoints.h5",
        points="results/instability/seed{seed}/{spawn}/child{child}/points.json",
    log:
        "results/logs/instability/child/seed{seed}/{spawn}/child{child}.log",
    wildcard_constraints:
        spawn=SPAWN_PATTERN,
        child="[0-9]+",
    conda:
        "../envs/grokscape.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        # what made the files (the group folder itself is temporary): a change reruns the training
        settings=SETTINGS.training(),
        children=lambda wildcards: child_records(
            instability_plan().members(instability_plan().group_of(int(wildcards.child))[0], int(wildcards.seed))
        ),
        member="child{child}",
        code=[script_code("train_children.py"), script_code("file_member.py")],
    script:
        "../workflow_scripts/file_member.py"


rule instability_tables:
    input:
        dataset="results/dataset.h5",
        parent_points="results/seed{seed}/points.json",
        histories=lambda wildcards: instability_plan().child_files(int(wildcards.seed), "history.h5"),
        points=lambda wildcards: instability_plan().child_files(int(wildcards.seed), "points.json"),
        checkpoints=lambda wildcards: instability_plan().child_files(int(wildcards.seed), "checkpoints.h5"),
    output:
        children=report(
            "results/instability/seed{seed}.csv", caption="../report/instability.rst", category="Instability"
        ),
        pairs=report(
            "results/instability/seed{seed}_pairs.csv", caption="../report/instability.rst", category="Instability"
        ),
        tables="results/instability/seed{seed}.h5",
    log:
        "results/logs/instability/tables/seed{seed}.log",
    benchmark:
        "results/benchmarks/instability/tables/seed{seed}.tsv"
    conda:
        "../envs/grokscape.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        # the segments' evaluation, as a chain's (no sharpness)
        settings=SETTINGS.path("chain"),
        knobs=SETTINGS.knobs(SETTINGS.path("chain")),
        code=script_code("measure_instability.py"),
    script:
        "../workflow_scripts/measure_instability.py"


localrules:
    instability_figure,
    instability_claims,


rule instability_figure:
    input:
        children="results/instability/seed{seed}.csv",
        pairs="results/instability/seed{seed}_pairs.csv",
        parent_points="results/seed{seed}/points.json",
    output:
        report("results/instability/seed{seed}.pdf", caption="../report/instability.rst", category="Instability"),
    log:
        "results/logs/instability/figure/seed{seed}.log",
    conda:
        "../envs/grokscape.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        settings=SETTINGS.sections("plot"),
        code=script_code("plot_instability.py"),
    script:
        "../workflow_scripts/plot_instability.py"


rule instability_claims:
    input:
        children=lambda wildcards: expand("results/instability/seed{seed}.csv", seed=instability_plan().parents),
        pairs=lambda wildcards: expand("results/instability/seed{seed}_pairs.csv", seed=instability_plan().parents),
        parent_points=lambda wildcards: expand("results/seed{seed}/points.json", seed=instability_plan().parents),
    output:
        json="results/instability/claims.json",
        markdown=report(
            "results/instability/claims.md", caption="../report/instability_claims.rst", category="Instability"
        ),
    log:
        "results/logs/instability/claims.log",
    conda:
        "../envs/grokscape.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        settings={
            "zero_error": config["claims"]["zero_error"],
            "grok_tolerance": config["instability"]["grok_tolerance"],
        },
        code=script_code("check_instability_claims.py"),
    script:
        "../workflow_scripts/check_instability_claims.py"
