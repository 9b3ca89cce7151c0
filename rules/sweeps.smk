# The companion papers as sweeps (docs/science.md): not part of `all`; ask for `snakemake sweeps` or one
# results/sweeps/{sweep}.pdf. Every grid point × seed is one training run under results/sweeps/runs/{key}/,
# key a hash of its settings (grokscape/planning/sweeps.py), shared by every sweep that needs it. The seeds of a
# grid point train together as one stacked model, `sweeps.seeds_per_job` of them a job (auto: all on a GPU);
# the plan (grokscape/planning/sweeps.py) and the groups are made in common.smk.
localrules:
    sweep_run,
    sweep_table,
    sweeps,


rule sweeps:
    input:
        expand("results/sweeps/{sweep}.{ext}", sweep=SWEEPS, ext=("csv", "json", "pdf")),


rule sweep_train:
    output:
        # the seeds of one grid point trained together (sweeps.seeds_per_job), filed per seed by `sweep_run`
        temp(directory("results/groups/sweeps/{key}/{group}")),
    log:
        "results/logs/sweeps/{key}/{group}.log",
    benchmark:
        "results/benchmarks/sweeps/{key}/{group}.tsv"
    wildcard_constraints:
        key=KEY_PATTERN,
    conda:
        "../envs/grokscape.yaml"
    # Many small runs: one thread each, side by side.
    threads: 1
    resources:
        mem_mb=lambda wildcards: 1500 + 500 * len(group_members(wildcards.group, SWEEP_PLAN.seeds, "sweeps.seeds")),
        runtime=240,
    params:
        settings=lambda wildcards: SWEEP_PLAN.settings(wildcards.key),
        seeds=lambda wildcards: group_members(wildcards.group, SWEEP_PLAN.seeds, "sweeps.seeds"),
        resume="results/.resume/sweeps/{key}/{group}.h5",
        code=script_code("train_sweep_seeds.py"),
    script:
        "../workflow_scripts/train_sweep_seeds.py"


rule sweep_run:
    input:
        lambda wildcards: (
            f"results/groups/sweeps/{wildcards.key}/{group_of(wildcards.seed, SWEEP_GROUPS, 'sweeps.seeds')[0]}"
        ),
    output:
        history="results/sweeps/runs/{key}/seed{seed}/history.h5",
        points="results/sweeps/runs/{key}/seed{seed}/points.json",
    log:
        "results/logs/sweep_run/{key}/seed{seed}.log",
    wildcard_constraints:
        key=KEY_PATTERN,
    conda:
        "../envs/grokscape.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        # what made the files (the group folder itself is temporary): a change reruns the training
        settings=lambda wildcards: SWEEP_PLAN.settings(wildcards.key),
        group=lambda wildcards: group_of(wildcards.seed, SWEEP_GROUPS, "sweeps.seeds")[1],
        member="seed{seed}",
        code=[script_code("train_sweep_seeds.py"), script_code("file_member.py")],
    script:
        "../workflow_scripts/file_member.py"


rule sweep_table:
    input:
        histories=lambda wildcards: SWEEP_PLAN.run_files(wildcards.sweep, "history.h5"),
        points=lambda wildcards: SWEEP_PLAN.run_files(wildcards.sweep, "points.json"),
    output:
        csv=report("results/sweeps/{sweep}.csv", caption="../report/sweeps.rst", category="Sweeps"),
        summary="results/sweeps/{sweep}.json",
        pdf=report("results/sweeps/{sweep}.pdf", caption="../report/sweeps.rst", category="Sweeps"),
    log:
        "results/logs/sweeps/{sweep}.log",
    wildcard_constraints:
        sweep="|".join(SWEEPS),
    conda:
        "../envs/grokscape.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        settings=lambda wildcards: {
            "runs": SWEEP_PLAN.points[wildcards.sweep],
            "val_acc": config["sweeps"]["val_acc"],
            **SETTINGS.sections("plot"),
        },
        code=script_code("sweep_table.py"),
    script:
        "../workflow_scripts/sweep_table.py"
