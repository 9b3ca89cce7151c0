"""What a path is called: its kind, and its file `results/paths/{kind}/{A}__{B}.h5` between two checkpoint
names (`grokscape.planning.endpoints`); and when it connects its endpoints.

Written here once: the rules' wildcards, the schema's pattern for `paths.extra` (checked by
tests/test_vocabulary.py), the scripts and the claims take the words from here."""

from __future__ import annotations

import re

from grokscape.planning.endpoints import NAME_PATTERN

SEGMENT, CHAIN, POLYLINE, BEZIER = "segment", "chain", "polyline", "bezier"
PATH_KINDS = (SEGMENT, CHAIN, POLYLINE, BEZIER)
CURVE_KINDS = (SEGMENT, POLYLINE, BEZIER)  # curves: control points and coefficients (a chain is many segments)
FITTED_KINDS = (POLYLINE, BEZIER)  # curves with free control points, each fitted by the recipe of its own section

PATHS = "results/paths"
PATH_NAME_PATTERN = rf"(?:{'|'.join(PATH_KINDS)})/{NAME_PATTERN}__{NAME_PATTERN}"  # `paths.extra` entries
_PATH_NAME = re.compile(rf"(?:{PATHS}/)?({'|'.join(PATH_KINDS)})/({NAME_PATTERN})__({NAME_PATTERN})(?:\.h5)?")


def alternatives(words: tuple[str, ...]) -> str:
    """A regular expression matching exactly one of `words` (for wildcard constraints)."""
    return "|".join(words)


def path_file(kind: str, start: str, end: str) -> str:
    return f"{PATHS}/{kind}/{start}__{end}.h5"


def parse_path(path: str) -> tuple[str, str, str]:
    """(kind, start, end) of a path's file or of its `{kind}/{A}__{B}` name."""
    match = _PATH_NAME.fullmatch(path)
    if match is None:
        raise ValueError(f"{path!r} names no path: {{kind}}/{{A}}__{{B}} with kind one of {', '.join(PATH_KINDS)}")
    kind, start, end = match.groups()
    return kind, start, end


def connects(max_train_error: float, zero_error: float) -> bool:
    """A path connects its endpoints when its train error stays at most `zero_error` along all of it."""
    return bool(max_train_error <= zero_error)
