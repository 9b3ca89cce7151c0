"""The path tables the claims rest on, by role: each seed's paths 1→2, each pair of consecutive seeds'
paths between their points. A table's input name says its role and its unit's seeds
(`segment__0`, `across_grokked__0__1`), built and parsed here only; the roles are the fields of
`grokscape.output.claims.SeedTables` and `PairTables` (tests/test_vocabulary.py checks it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from grokscape.planning.path_names import CHAIN, POLYLINE, SEGMENT, path_file


@dataclass(frozen=True)
class Role:
    """A path of a unit: its kind, from point `start` of the unit's first seed to point `end` of its last,
    the end aligned to the start when `aligned` (`B@A`)."""

    kind: str
    start: str
    end: str
    aligned: bool = False

    @property
    def points(self) -> tuple[str, ...]:
        """The named points each seed of the unit must have reached."""
        return tuple(dict.fromkeys((self.start, self.end)))

    def path(self, seeds: tuple[int, ...]) -> str:
        start, end = f"seed{seeds[0]}-{self.start}", f"seed{seeds[-1]}-{self.end}"
        return path_file(self.kind, start, f"{end}@{start}" if self.aligned else end)


SEED_ROLES = {  # C2–C4 and S1, per seed
    "segment": Role(SEGMENT, "mem", "grok"),
    "chain": Role(CHAIN, "mem", "grok"),
    "polyline": Role(POLYLINE, "mem", "grok"),
}
PAIR_ROLES = {  # C5, C6 and A1, per pair of consecutive seeds
    "across_memorised": Role(POLYLINE, "mem", "mem"),
    "across_grokked": Role(POLYLINE, "grok", "grok"),
    "grokked_segment": Role(SEGMENT, "grok", "grok"),
    "aligned_grokked_segment": Role(SEGMENT, "grok", "grok", aligned=True),
}
ROLES = {**SEED_ROLES, **PAIR_ROLES}


def input_name(role: str, seeds: tuple[int, ...]) -> str:
    return "__".join([role, *map(str, seeds)])


def parse_input_name(name: str) -> tuple[str, tuple[int, ...]]:
    """(role, seeds of its unit) of an input name."""
    role, *seeds = name.split("__")
    if role not in ROLES or len(seeds) != (1 if role in SEED_ROLES else 2):
        raise ValueError(f"{name!r} is no claim input: <role>__<seed>[__<seed>] with role one of {', '.join(ROLES)}")
    return role, tuple(map(int, seeds))


def unit_name(seeds: tuple[int, ...]) -> str:
    """How claims name a unit: `seed3` for a seed, `seed3-seed4` for a pair."""
    return "-".join(f"seed{seed}" for seed in seeds)


def consecutive_pairs(seeds: Sequence[int]) -> list[tuple[int, int]]:
    """The pairs of consecutive configured seeds, which the claims and the paths between seeds compare."""
    return list(pairwise(seeds))


def units(seeds: Sequence[int]) -> list[tuple[tuple[int, ...], dict[str, Role]]]:
    """Every unit (a seed, a pair of consecutive seeds) with the roles of its tables."""
    return [((seed,), SEED_ROLES) for seed in seeds] + [(pair, PAIR_ROLES) for pair in consecutive_pairs(seeds)]
