rule curve:
    input:
        unpack(endpoint_inputs),
    output:
        "results/paths/{curve}/{a}__{b}.h5",
    log:
        "results/logs/paths/{curve}/{a}__{b}.log",
    benchmark:
        "results/benchmarks/paths/{curve}/{a}__{b}.tsv"
    conda:
        "../envs/grokscape.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        settings=lambda wildcards: path_settings(wildcards.curve),
        resume="results/.resume/paths/{curve}/{a}__{b}.h5",
        code=script_code("evaluate_curve.py"),
    script:
        "../workflow_scripts/evaluate_curve.py"


rule chain:
    input:
        unpack(chain_inputs),
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
        settings=path_settings(),
        code=script_code("evaluate_chain.py"),
    script:
        "../workflow_scripts/evaluate_chain.py"


localrules:
    path_summary,


rule path_summary:
    input:
        summary_paths(),
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
        code=script_code("summarise_paths.py"),
    script:
        "../workflow_scripts/summarise_paths.py"
