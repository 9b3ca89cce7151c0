"""Names of checkpoints used as path endpoints: `seed{S}-mem`, `seed{S}-grok`, `seed{S}-e{EPOCH}`,
and any of them aligned to another, `{moved}@{reference}` (e.g. `seed1-grok@seed0-grok`: seed 1's
point 2 turned by the symmetries of the model to lie as close as possible to seed 0's point 2; the
same function, stored in `results/aligned/seed1-grok@seed0-grok.h5`, see `grokscape.numerics.alignment`).

The grammar is written here once; the rules' wildcards, the schema's pattern for `paths.extra`
(checked by tests/test_vocabulary.py) and every parser use it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from grokscape.errors import ConfigError
from grokscape.planning.points import POINT_KEYS, point_epoch

POINT_PATTERN = "|".join([*POINT_KEYS, "e[0-9]+"])  # a named point, or a saved epoch
PLAIN_PATTERN = rf"seed[0-9]+-(?:{POINT_PATTERN})"
NAME_PATTERN = rf"{PLAIN_PATTERN}(?:@{PLAIN_PATTERN})?"
_PLAIN = re.compile(rf"seed([0-9]+)-({POINT_PATTERN})")


@dataclass(frozen=True)
class Endpoint:
    seed: int
    point: str  # "mem", "grok" or "e{EPOCH}"
    aligned_to: Endpoint | None = None  # the reference this checkpoint was aligned to, if any

    @classmethod
    def parse(cls, name: str) -> Endpoint:
        moved, _, reference = name.partition("@")
        match = _PLAIN.fullmatch(moved)
        if match is None or (reference and _PLAIN.fullmatch(reference) is None):
            raise ConfigError(
                f"config error: checkpoint name {name!r} is not seed<S>-mem, seed<S>-grok or seed<S>-e<EPOCH>, "
                "or one of them aligned to another as <name>@<name>"
            )
        return cls(int(match.group(1)), match.group(2), cls.parse(reference) if reference else None)

    @property
    def unaligned(self) -> Endpoint:
        """The seed's own checkpoint behind this name (itself when not aligned)."""
        return Endpoint(self.seed, self.point)

    @property
    def named_points(self) -> list[tuple[int, str]]:
        """(seed, point) of every named point (`mem`, `grok`) this checkpoint needs its training to have reached."""
        own = [(self.seed, self.point)] if self.point in POINT_KEYS else []
        return own + (self.aligned_to.named_points if self.aligned_to else [])

    def __str__(self) -> str:
        return f"seed{self.seed}-{self.point}" + (f"@{self.aligned_to}" if self.aligned_to else "")

    def check_snapshot(self, snapshot_every: int, max_epochs: int) -> None:
        """An `e<EPOCH>` name must be a saved snapshot, known from the config before any job runs."""
        if self.aligned_to is not None:
            self.aligned_to.check_snapshot(snapshot_every, max_epochs)
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
        """The epoch this name stands for, given the seed's points.json record (an aligned checkpoint
        keeps the epoch of the network it was made from)."""
        if self.point.startswith("e"):
            return int(self.point[1:])
        return point_epoch(points, self.point, self.seed)
