rule train:
    input:
        dataset="results/dataset.h5",
    output:
        # every seed of the group, filed per seed by `seed_run` (then removed)
        temp(directory("results/groups/{group}")),
    log:
        "results/logs/train/{group}.log",
    benchmark:
        "results/benchmarks/train/{group}.tsv"
    conda:
        "../envs/grokscape.yaml"
    # The cores shared out over the jobs: one thread each when there are at least as many groups as
    # cores (jobs side by side finish sooner than one 2-thread job after another,
    # benchmarks/README.md), more when fewer train. On a cluster: --set-threads train=N.
    threads: min(4, max(1, workflow.cores // len(SEED_GROUPS)))
    resources:
        mem_mb=lambda wildcards: 1500 + 500 * len(group_members(wildcards.group, SEEDS, "train.seeds")),
        runtime=240,
    params:
        settings=SETTINGS.training(),
        # read from the label: a cluster job plans again on its own node (grokscape/planning/job_groups.py)
        seeds=lambda wildcards: group_members(wildcards.group, SEEDS, "train.seeds"),
        resume="results/.resume/train/{group}.h5",
        code=script_code("train_seeds.py"),
    script:
        "../workflow_scripts/train_seeds.py"


# Cheap: hard links, run where Snakemake runs. A checkpoint: what the seed reached (points.json) decides
# which paths the run plans (grokscape/planning/plan.py).
localrules:
    seed_run,


checkpoint seed_run:
    input:
        lambda wildcards: f"results/groups/{group_of(wildcards.seed, SEED_GROUPS, 'train.seeds')[0]}",
    output:
        history="results/seed{seed}/history.h5",
        checkpoints="results/seed{seed}/checkpoints.h5",
        points="results/seed{seed}/points.json",
    log:
        "results/logs/seed_run/seed{seed}.log",
    conda:
        "../envs/grokscape.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        # what made the files (the group folder itself is temporary): a change reruns the training
        settings=SETTINGS.training(),
        group=lambda wildcards: group_of(wildcards.seed, SEED_GROUPS, "train.seeds")[1],
        member="seed{seed}",
        code=[script_code("train_seeds.py"), script_code("file_member.py")],
    script:
        "../workflow_scripts/file_member.py"


# Cheap: reads a seed's history after training.
localrules:
    collapses,


rule collapses:
    input:
        history="results/seed{seed}/history.h5",
        points="results/seed{seed}/points.json",
    output:
        "results/seed{seed}/collapses.json",
    log:
        "results/logs/collapses/seed{seed}.log",
    conda:
        "../envs/grokscape.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        settings=SETTINGS.sections("points"),
        code=script_code("find_collapses.py"),
    script:
        "../workflow_scripts/find_collapses.py"
