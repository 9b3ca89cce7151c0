"""Point 1 (memorisation) and point 2 (generalisation): first epochs reaching an accuracy, and what a
seed's training reached, as its points.json record says."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from grokscape.errors import PointNotReachedError

# The named points of a seed: its record's key, the accuracy that defines it, and the verb for a seed missing it.
POINT_KEYS = {"mem": ("memorized", "train_acc"), "grok": ("grokked", "val_acc")}
POINT_VERBS = {"mem": "memorised", "grok": "grokked"}
POINTS_FILE = "results/seed{seed}/points.json"  # what a seed's training reached, filed by the rule `seed_run`


@dataclass(frozen=True)
class Thresholds:
    train_acc: float
    val_acc: float

    @classmethod
    def from_config(cls, settings: Mapping) -> Thresholds:
        return cls(settings["points"]["train_acc"], settings["points"]["val_acc"])


# The `points` settings that define points 1 and 2 (and so shape training); `points.collapse_margin`
# only reads the history afterwards.
THRESHOLD_KEYS = ("train_acc", "val_acc")


def reached(accuracy: float, threshold: float) -> bool:
    return accuracy >= threshold


def first_epoch_reaching(epochs: Sequence[int], accuracy: Sequence[float], threshold: float) -> int | None:
    return next((int(e) for e, acc in zip(epochs, accuracy, strict=True) if reached(acc, threshold)), None)


def points_record(
    epochs: Sequence[int], train_acc: Sequence[float], val_acc: Sequence[float], thresholds: Thresholds
) -> dict:
    """The content of points.json: the two epochs plus what is needed to explain a missing one."""
    return {
        "memorized": first_epoch_reaching(epochs, train_acc, thresholds.train_acc),
        "grokked": first_epoch_reaching(epochs, val_acc, thresholds.val_acc),
        "thresholds": {"train_acc": thresholds.train_acc, "val_acc": thresholds.val_acc},
        "best": {"train_acc": float(max(train_acc)), "val_acc": float(max(val_acc))},
        "last_epoch": int(epochs[-1]),
    }


def has_point(record: dict, point: str) -> bool:
    """Whether the seed of `record` reached the named point `mem` or `grok`."""
    return record[POINT_KEYS[point][0]] is not None


def point_epoch(record: dict, point: str, seed: int) -> int:
    """The epoch of point `mem` or `grok`, or one clear error naming seed, threshold and best accuracy."""
    key, metric = POINT_KEYS[point]
    epoch = record[key]
    if epoch is None:
        raise PointNotReachedError(
            f"seed {seed} never reached {metric} >= {record['thresholds'][metric]} (points.{metric}); "
            f"best {metric} was {record['best'][metric]:.4f} by epoch {record['last_epoch']}: "
            f"train longer (train.max_epochs) or lower points.{metric}"
            + (f"; the run diverged at epoch {record['diverged']}" if record.get("diverged") else "")
        )
    return int(epoch)


def missed(record: dict, point: str, best: bool = False) -> str:
    """Why a seed has no point `point`, in a few words: "never grokked within 4,000 epochs", with `best` its best
    accuracy too ("(best val_acc 0.8312)")."""
    if record.get("diverged"):
        why = f"diverged at epoch {record['diverged']:,} before it {POINT_VERBS[point]}"
    else:
        why = f"never {POINT_VERBS[point]} within {record['last_epoch']:,} epochs"
    metric = POINT_KEYS[point][1]
    return f"{why} (best {metric} {record['best'][metric]:.4f})" if best else why


def points_file(seed: int) -> str:
    return POINTS_FILE.format(seed=seed)


def seed_of(path: str | Path) -> int:
    """The seed whose run file `path` is (its points.json, history.h5, …)."""
    match = re.search(r"seed([0-9]+)/[^/]+$", str(path))
    if match is None:
        raise ValueError(f"{path} is no file of a seed's run (results/seed<S>/<file>)")
    return int(match.group(1))


def read_record(path: str | Path) -> dict:
    """A points.json record, read once per version of the file (planning asks for it many times)."""
    stat = Path(path).stat()
    return _read_record(str(path), stat.st_mtime_ns, stat.st_size)


@cache
def _read_record(path: str, mtime_ns: int, size: int) -> dict:
    return json.loads(Path(path).read_text())


def collapses(epochs: Sequence[int], train_acc: Sequence[float], memorized: int | None, level: float) -> list[dict]:
    """Every dip of train accuracy below `level` after point 1 (epoch `memorized`), as {"epoch", "train_acc"}
    at its deepest epoch (the first of equally deep ones): consecutive epochs below `level` are one dip."""
    if memorized is None:
        return []
    found, dip = [], None
    for epoch, accuracy in zip(epochs, train_acc, strict=True):
        if epoch <= memorized or accuracy >= level:
            dip = None
            continue
        if dip is None:
            dip = {"epoch": int(epoch), "train_acc": float(accuracy)}
            found.append(dip)
        elif accuracy < dip["train_acc"]:
            dip.update(epoch=int(epoch), train_acc=float(accuracy))
    return found


def collapse_record(
    epochs: Sequence[int], train_acc: Sequence[float], memorized: int | None, margin: float, threshold: float
) -> dict:
    """The content of collapses.json: the dips of train accuracy below `threshold` − `margin` after point 1
    (`collapses`), and `deepest_collapse`, the lowest train accuracy after point 1 (None without a point 1
    or any epoch after it), whether or not it dips below the level."""
    level = threshold - margin
    after = [
        float(acc) for epoch, acc in zip(epochs, train_acc, strict=True) if memorized is not None and epoch > memorized
    ]
    return {
        "memorized": memorized,
        "margin": margin,
        "level": level,
        "collapses": collapses(epochs, train_acc, memorized, level),
        "deepest_collapse": min(after) if after else None,
    }
