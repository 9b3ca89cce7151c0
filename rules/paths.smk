rule curve:
    input:
        unpack(endpoint_inputs),
    output:
        "results/paths/{curve}/{a}__{b}.h5",
    params:
        settings=lambda wildcards: settings(
            "model", "train", "paths", "device", *([wildcards.curve] if wildcards.curve != "segment" else [])
        ),
        resume="results/.resume/paths/{curve}/{a}__{b}.h5",
        code=library_code("fitting", "landscape", "endpoints", "pathfiles", "devices"),
    log:
        "results/logs/paths/{curve}/{a}__{b}.log",
    threads: 2
    resources:
        mem_mb=4000,
        runtime=120,
    script:
        "../workflow_scripts/evaluate_curve.py"


rule chain:
    input:
        unpack(chain_inputs),
    output:
        "results/paths/chain/{a}__{b}.h5",
    params:
        settings=settings("model", "train", "paths", "device"),
        code=library_code("landscape", "endpoints", "pathfiles", "devices"),
    log:
        "results/logs/paths/chain/{a}__{b}.log",
    threads: 2
    resources:
        mem_mb=4000,
        runtime=120,
    script:
        "../workflow_scripts/evaluate_chain.py"


rule path_summary:
    input:
        summary_paths(),
    output:
        "results/paths/summary.csv",
    params:
        code=library_code("landscape", "pathfiles"),
    log:
        "results/logs/paths/summary.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../workflow_scripts/summarise_paths.py"
