rule curves:
    input:
        dataset="results/dataset.h5",
        endpoints=lambda wildcards: plan().batch_endpoint_files(wildcards.curve, wildcards.batch),
    output:
        # every curve of the batch, filed per curve by rule `curve` (then removed)
        temp(directory("results/groups/paths/{curve}/{batch}")),
    log:
        "results/logs/paths/{curve}/{batch}.log",
    benchmark:
        "results/benchmarks/paths/{curve}/{batch}.tsv"
    conda:
        "../envs/grokscape.yaml"
    threads: 1
    resources:
        mem_mb=lambda wildcards: 3000 + 1000 * len(plan().batch_names(wildcards.curve, wildcards.batch)),
        runtime=120,
    params:
        settings=lambda wildcards: SETTINGS.path(wildcards.curve),
        knobs=lambda wildcards: SETTINGS.knobs(SETTINGS.path(wildcards.curve)),
        members=lambda wildcards: plan().batch_members(wildcards.curve, wildcards.batch),
        resume="results/.resume/paths/{curve}/{batch}.h5",
        code=script_code("evaluate_curves.py"),
    script:
        "../workflow_scripts/evaluate_curves.py"


# Cheap: hard links, run where Snakemake runs.
localrules:
    curve,


rule curve:
    input:
        lambda wildcards: f"results/groups/paths/{wildcards.curve}/{curve_batch(wildcards)}",
    output:
        "results/paths/{curve}/{a}__{b}.h5",
    log:
        "results/logs/file_path/{curve}/{a}__{b}.log",
    conda:
        "../envs/grokscape.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        # what made the file (the batch folder itself is temporary): a change reruns the batch
        settings=lambda wildcards: SETTINGS.path(wildcards.curve),
        batch=lambda wildcards: plan().batch_names(wildcards.curve, curve_batch(wildcards)),
        member=".",
        code=[script_code("evaluate_curves.py"), script_code("file_member.py")],
    script:
        "../workflow_scripts/file_member.py"


rule chain:
    input:
        unpack(lambda wildcards: plan().chain_files(wildcards.a, wildcards.b)),
    output:
        "results/paths/chain/{a}__{b}.h5",
    log:
        "results/logs/paths/chain/{a}__{b}.log",
    benchmark:
        "results/benchmarks/paths/chain/{a}__{b}.tsv"
    conda:
        "../envs/grokscape.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        settings=SETTINGS.path("chain"),
        knobs=SETTINGS.knobs(SETTINGS.path("chain")),
        code=script_code("evaluate_chain.py"),
    script:
        "../workflow_scripts/evaluate_chain.py"


localrules:
    path_summary,


rule path_summary:
    input:
        # the paths the plan made, given what every seed reached (its points file says why a path is missing)
        paths=lambda wildcards: plan().summary_paths(),
        points=POINTS,
    output:
        "results/paths/summary.csv",
    log:
        "results/logs/paths/summary.log",
    conda:
        "../envs/grokscape.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        zero_error=config["claims"]["zero_error"],
        planned=FULL_PLAN.summary_paths(),
        code=script_code("summarise_paths.py"),
    script:
        "../workflow_scripts/summarise_paths.py"
