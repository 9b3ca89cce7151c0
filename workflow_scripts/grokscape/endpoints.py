"""Names of checkpoints used as path endpoints: `seed{S}-mem`, `seed{S}-grok`, `seed{S}-e{EPOCH}`."""

from __future__ import annotations

import re
from dataclasses import dataclass

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

    def epoch(self, points: dict) -> int:
        """The epoch this name stands for, given the seed's points.json record."""
        if self.point.startswith("e"):
            return int(self.point[1:])
        return point_epoch(points, self.point, self.seed)
