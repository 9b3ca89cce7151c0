"""Names of checkpoints used as path endpoints: `seed{S}-mem`, `seed{S}-grok`, `seed{S}-e{EPOCH}`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from grokscape.errors import ConfigError
from grokscape.points import point_epoch

NAME_PATTERN = r"seed[0-9]+-(?:mem|grok|e[0-9]+)"


@dataclass(frozen=True)
class Endpoint:
    seed: int
    point: str  # "mem", "grok" or "e{EPOCH}"

    @classmethod
    def parse(cls, name: str) -> Endpoint:
        match = re.fullmatch(r"seed([0-9]+)-(mem|grok|e[0-9]+)", name)
        if match is None:
            raise ValueError(f"checkpoint name {name!r} is not seed<S>-mem, seed<S>-grok or seed<S>-e<EPOCH>")
        return cls(int(match.group(1)), match.group(2))

    def check_snapshot(self, snapshot_every: int, max_epochs: int) -> None:
        """An `e<EPOCH>` name must be a saved snapshot, known from the config before any job runs."""
        if not self.point.startswith("e"):
            return
        epoch = int(self.point[1:])
        if epoch % snapshot_every or epoch > max_epochs:
            raise ConfigError(
                f"config error: checkpoint seed{self.seed}-{self.point}: epoch {epoch} is not a snapshot; "
                f"snapshots are saved at multiples of train.snapshot_every={snapshot_every} up to "
                f"train.max_epochs={max_epochs} (or use -mem, -grok)"
            )

    def epoch(self, points: dict) -> int:
        """The epoch this name stands for, given the seed's points.json record."""
        if self.point.startswith("e"):
            return int(self.point[1:])
        return point_epoch(points, self.point, self.seed)
