"""Train tiny seeds under whatever kernel dispatch this process was started with, and print one JSON line
per seed: the dispatch PyTorch chose, point 1, point 2 at the tiny configuration's threshold and at the
stricter 100 % (trained until that is reached). Run by test_dispatch.py in a fresh process, because
PyTorch reads ATEN_CPU_CAPABILITY (and MKL its MKL_ENABLE_INSTRUCTIONS) once, at start-up."""

import json
import sys
from dataclasses import replace

import torch
from conftest import tiny_problem

from grokscape.numerics.training import train_seed
from grokscape.planning.points import first_epoch_reaching

torch.set_num_threads(1)
dataset, shape, settings, thresholds = tiny_problem()
for seed in map(int, sys.argv[1:]):
    result = train_seed(dataset, shape, settings, replace(thresholds, val_acc=1.0), seed, torch.device("cpu"))
    history = result.history
    record = {
        "dispatch": torch.backends.cpu.get_cpu_capability(),
        "seed": seed,
        "memorized": result.memorized,
        "grokked": first_epoch_reaching(history["epoch"], history["val_acc"], thresholds.val_acc),
        "grokked_at_100": result.grokked,
    }
    print(json.dumps(record), flush=True)
