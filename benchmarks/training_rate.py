"""How fast a run's training job trained its group of seeds: the job's wall time (its Snakemake benchmark
file), the seed-epochs it trained (every seed's last epoch) and their rate, and when the seeds grokked.

    python benchmarks/training_rate.py RUN_DIRECTORY GROUP     # e.g. runs/paper seeds0-31

Prints Markdown list items (benchmarks/gpu_check.sh appends them to its report). A job stopped before
it finished has no benchmark file: its last progress line is printed instead.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path


def main() -> None:
    run, group = Path(sys.argv[1]) / "results", sys.argv[2]
    benchmark, log = run / f"benchmarks/train/{group}.tsv", run / f"logs/train/{group}.log"
    records = [json.loads(path.read_text()) for path in sorted(run.glob("seed*/points.json"))]
    if benchmark.exists() and records:
        seconds = float(next(csv.DictReader(benchmark.open(), delimiter="\t"))["s"])
        seed_epochs = sum(record["last_epoch"] for record in records)
        grokked = sorted(record["grokked"] for record in records if record["grokked"] is not None)
        rate = seed_epochs / seconds
        print(f"- the training job: {seconds:.0f} s for {seed_epochs} seed-epochs ({rate:.3g} per second)")
        span = f", at epochs {grokked[0]} to {grokked[-1]}" if grokked else ""
        print(f"- {len(grokked)} of {len(records)} seeds grokked{span}")
    elif log.exists():
        progress = [line.strip() for line in log.read_text().splitlines() if "epochs/s" in line]
        print(f"- unfinished; the job's last progress line: `{progress[-1] if progress else 'none'}`")
    else:
        print(f"- no training job {group} ran in {run.parent}")


if __name__ == "__main__":
    main()
