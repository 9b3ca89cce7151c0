rule train:
    input:
        dataset="results/dataset.h5",
    output:
        history="results/seed{seed}/history.h5",
        checkpoints="results/seed{seed}/checkpoints.h5",
        points="results/seed{seed}/points.json",
    log:
        "results/logs/train/seed{seed}.log",
    benchmark:
        "results/benchmarks/train/seed{seed}.tsv"
    conda:
        "../envs/grokscape.yaml"
    # The cores shared out over the seeds: one thread each when there are at least as many seeds
    # as cores (jobs side by side finish sooner than one 2-thread job after another,
    # benchmarks/README.md), more when fewer seeds train. On a cluster: --set-threads train=N.
    threads: min(4, max(1, workflow.cores // len(SEEDS)))
    resources:
        mem_mb=2000,
        runtime=240,
    params:
        settings=training_settings(),
        resume="results/.resume/train/seed{seed}.h5",
        code=script_code("train_seed.py"),
    script:
        "../workflow_scripts/train_seed.py"
