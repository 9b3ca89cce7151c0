"""What every Snakemake `script:` does around its work: log to the rule's log file, use the
rule's threads, set torch's default device when `GROKSCAPE_DEFAULT_DEVICE` asks for one (a testing
aid, `grokscape.numerics.devices`), and turn an expected failure into one clear line instead of a
traceback; and the settings a job reads (`job_settings`)."""

from __future__ import annotations

import copy
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

from grokscape.errors import GrokscapeError
from grokscape.numerics.devices import DEFAULT_DEVICE_VARIABLE, default_device_from_environment

EXPECTED_FAILURES = (GrokscapeError, FileNotFoundError)


@contextmanager
def job(snakemake: Any) -> Iterator[logging.Logger]:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if snakemake.log:
        handlers.append(logging.FileHandler(snakemake.log[0], mode="w"))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", handlers=handlers, force=True)
    torch.set_num_threads(max(1, snakemake.threads))
    torch.set_flush_denormal(True)  # weight decay drives weights towards denormals, which are ~10x slower
    log = logging.getLogger(f"grokscape.{snakemake.rule}")
    default_device = None
    try:
        default_device = default_device_from_environment()
        if default_device is not None:
            torch.set_default_device(default_device)
            log.info("tensors made without a device go to %s (%s)", default_device, DEFAULT_DEVICE_VARIABLE)
        yield log
    except EXPECTED_FAILURES as error:
        message = str(error).strip("'\"")
        log.error("%s failed: %s", snakemake.rule, message)
        raise SystemExit(f"grokscape: {message}") from None
    finally:
        if default_device is not None:
            torch.set_default_device(None)


def job_settings(snakemake: Any) -> dict:
    """A job's settings: its `settings` param (what shapes its output) plus the speed and memory knobs its
    `knobs` param names ("section.key", `RuleSettings.knobs`), read from the configuration, so that changing
    a knob reruns nothing. Nothing else of the configuration reaches the job; a knob that is among the
    settings would be a key that shapes the output passed where it reruns nothing, and is refused."""
    settings = copy.deepcopy(dict(snakemake.params.settings))
    for name in snakemake.params.knobs:
        section, key = name.split(".")
        if key in settings.get(section, {}):
            raise ValueError(f"{name} is a setting of this job's output, not a knob: it must rerun the job")
        settings.setdefault(section, {})[key] = snakemake.config[section][key]
    return settings
