rule dataset:
    output:
        "results/dataset.h5",
    params:
        settings=settings("task"),
        code=library_code("data"),
    log:
        "results/logs/dataset.log",
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../workflow_scripts/make_dataset.py"
