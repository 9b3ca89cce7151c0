"""Failures a user can fix, each reported as one line naming the setting or file at fault."""

from __future__ import annotations

from pathlib import Path


class GrokscapeError(Exception):
    """Base class: expected, user-fixable failures (scripts print them without a traceback)."""


class ConfigError(GrokscapeError, ValueError):
    """A configuration value is not allowed."""


class DamagedFileError(GrokscapeError):
    """An input file exists but cannot be read as what it should be."""

    def __init__(self, path: str | Path, reason: str):
        super().__init__(
            f"{path} is damaged ({reason}); rebuild it with: snakemake --cores 1 --forcerun {path} <your target>"
        )


class PointNotReachedError(GrokscapeError):
    """A path needs a point that its training run never reached."""


class MissingCheckpointError(GrokscapeError, LookupError):
    """A path names an epoch that has no saved checkpoint."""
