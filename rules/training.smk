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
    # One thread per job: a seed's small matrix products use a second core poorly, so jobs
    # side by side finish sooner (benchmarks/README.md). One job alone: --set-threads train=2.
    threads: 1
    resources:
        mem_mb=2000,
        runtime=240,
    params:
        settings=training_settings(),
        resume="results/.resume/train/seed{seed}.h5",
        code=script_code("train_seed.py"),
    script:
        "../workflow_scripts/train_seed.py"
