rule curve:
    input:
        unpack(endpoint_inputs),
    output:
        "results/paths/{curve}/{a}__{b}.h5",
    log:
        "results/logs/paths/{curve}/{a}__{b}.log",
    conda:
        "../envs/grokscape.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        settings=lambda wildcards: path_settings(wildcards.curve),
        resume="results/.resume/paths/{curve}/{a}__{b}.h5",
        code=library_code("fitting", "landscape", "endpoints", "pathfiles", "devices"),
    script:
        "../workflow_scripts/evaluate_curve.py"


rule chain:
    input:
        unpack(chain_inputs),
    output:
        "results/paths/chain/{a}__{b}.h5",
    log:
        "results/logs/paths/chain/{a}__{b}.log",
    conda:
        "../envs/grokscape.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        settings=path_settings(),
        code=library_code("landscape", "endpoints", "pathfiles", "devices"),
    script:
        "../workflow_scripts/evaluate_chain.py"


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
        code=library_code("landscape", "pathfiles"),
    script:
        "../workflow_scripts/summarise_paths.py"
