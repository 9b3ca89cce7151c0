"""What to run, decided before any job starts: the configuration check, checkpoint names, job groups,
sweep plans and the code hash. Snakemake imports this layer when it plans, so it never imports torch
(tests/test_layers.py proves it)."""
