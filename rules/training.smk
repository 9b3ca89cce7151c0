rule train:
    input:
        dataset="results/dataset.h5",
    output:
        history="results/seed{seed}/history.h5",
        checkpoints="results/seed{seed}/checkpoints.h5",
        points="results/seed{seed}/points.json",
    params:
        settings=training_settings(),
        resume="results/.resume/train/seed{seed}.h5",
        code=library_code("training", "checkpoints", "devices"),
    log:
        "results/logs/train/seed{seed}.log",
    threads: 2
    resources:
        mem_mb=2000,
        runtime=240,
    script:
        "../workflow_scripts/train_seed.py"
