"""The children of the instability analysis (docs/instability.md), as their training jobs see them: a
module of its own, free of torch and of the job planning, so that editing how jobs are planned retrains no
child (a child's files depend on these facts, not on which job trained it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Child:
    """One child of every spawn epoch: its number, the seed of its minibatch orders, whether it replays
    the parent (order seed = the parent's seed, its generator advanced as the parent's was)."""

    index: int
    order_seed: int
    replay: bool = False

    def draws_before(self, spawn_epoch: int) -> int:
        """Permutations its order generator has drawn before the spawn epoch's first step (one per epoch)."""
        return spawn_epoch if self.replay else 0


def optimizer_state(train: Mapping) -> str:
    """What a child's optimizer starts from at the spawn epoch: "none" for a stateless optimizer (SGD without
    momentum, the paper's), so the fork continues the parent exactly; otherwise "restarted", since the
    momentum or Adam's moments are not saved with the parent's snapshots."""
    return "none" if train["optimizer"] == "sgd" and not train["momentum"] else "restarted"
