rule train:
    input:
        dataset="results/dataset.h5",
    output:
        history="results/seed{seed}/history.h5",
        checkpoints="results/seed{seed}/checkpoints.h5",
        points="results/seed{seed}/points.json",
    log:
        "results/logs/train/seed{seed}.log",
    conda:
        "../envs/grokscape.yaml"
    threads: 2
    resources:
        mem_mb=2000,
        runtime=240,
    params:
        settings=training_settings(),
        resume="results/.resume/train/seed{seed}.h5",
        code=library_code("training", "checkpoints", "devices"),
    script:
        "../workflow_scripts/train_seed.py"
