"""The plan of the instability analysis (docs/instability.md): which parent seeds fork, at which of
their saved epochs, into which children, trained in which jobs. Free of torch: Snakemake plans with it.

A parent's children at one spawn epoch are numbered: child 1, 2, … each draws its minibatch orders from
its own seed, `instability.order_seed + c` (the same seeds at every spawn epoch and for every parent, so
that spawn epochs differ by their weights, not by a new draw of orders); child 0, only with
`instability.replay`, is the replay child, which continues the parent's own order. A spawn epoch is named
as a checkpoint is: `e{EPOCH}` (a snapshot), `mem` (point 1) or `grok` (point 2).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

from grokscape.errors import ConfigError
from grokscape.planning.children import Child
from grokscape.planning.job_groups import group_members, seed_groups

SPAWN_PATTERN = r"mem|grok|e[0-9]+"
CHILDREN_PATTERN = r"child[0-9]+|children[0-9]+-[0-9]+"
POINT_NAMES = ("mem", "grok")


@dataclass(frozen=True)
class InstabilityPlan:
    parents: list[int]
    spawns: list[str]  # e{EPOCH}, mem or grok
    n_children: int  # children 1 … n_children, besides the replay child 0
    order_seed: int
    replay: bool
    group_size: int  # children trained together in one job, as one stacked model

    def children(self, parent: int) -> list[Child]:
        """The children of every spawn epoch of `parent`, the replay child (if any) first."""
        replay = [Child(0, parent, replay=True)] if self.replay else []
        return replay + [Child(c, self.order_seed + c) for c in range(1, self.n_children + 1)]

    @property
    def indices(self) -> list[int]:
        return [0] * self.replay + list(range(1, self.n_children + 1))

    @property
    def groups(self) -> dict[str, list[int]]:
        """Job label -> the children it trains: `child2` alone, `children0-2` together."""
        return {_label(label): members for label, members in seed_groups(self.indices, self.group_size).items()}

    def group_of(self, child: int) -> tuple[str, list[int]]:
        """(label, children) of the job that trains child `child`."""
        return next((label, members) for label, members in self.groups.items() if child in members)

    def members(self, label: str, parent: int) -> list[Child]:
        """The children of the job `label`, read from the label (a cluster job plans again on its own node)."""
        seeds_label = f"seeds{label.removeprefix('children').removeprefix('child')}"
        indices = group_members(seeds_label, self.indices, "instability.children")
        return [child for child in self.children(parent) if child.index in indices]

    def child_files(self, parent: int, name: str) -> list[str]:
        """File `name` (history.h5, checkpoints.h5, points.json) of every child of `parent`, spawn by spawn."""
        return [f"results/instability/seed{parent}/{s}/child{c}/{name}" for s in self.spawns for c in self.indices]

    def outputs(self) -> list[str]:
        """What the target `instability` asks for."""
        tables = [f"seed{p}{suffix}" for p in self.parents for suffix in (".csv", "_pairs.csv", ".h5", ".pdf")]
        return [f"results/instability/{name}" for name in (*tables, "claims.json", "claims.md")]


def _label(seeds_label: str) -> str:
    """A `seed_groups` label for children: seeds2 -> child2, seeds0-2 -> children0-2."""
    members = seeds_label.removeprefix("seeds")
    return f"children{members}" if "-" in members else f"child{members}"


def spawn_name(epoch: int | str) -> str:
    """`instability.spawn_epochs` entry as a name: 300 -> e300; mem and grok stay."""
    return epoch if epoch in POINT_NAMES else f"e{int(epoch)}"


def plan_instability(config: Mapping, group_size: int) -> InstabilityPlan:
    """The plan from the (schema-checked) configuration, children in jobs of `group_size`; a spawn epoch that
    is no snapshot or a parent that is no trained seed is one ConfigError line."""
    section, train = config["instability"], config["train"]
    parents = section["parents"] if section["parents"] is not None else train["seeds"][:1]
    strangers = [seed for seed in parents if seed not in train["seeds"]]
    if strangers:
        raise ConfigError(
            f"config error: instability.parents: seed {strangers[0]} is not trained (train.seeds is {train['seeds']})"
        )
    for epoch in section["spawn_epochs"]:
        if epoch not in POINT_NAMES and (epoch % train["snapshot_every"] or epoch > train["max_epochs"]):
            raise ConfigError(
                f"config error: instability.spawn_epochs: {epoch} is not a saved epoch; snapshots are saved at "
                f"multiples of train.snapshot_every={train['snapshot_every']} up to "
                f"train.max_epochs={train['max_epochs']} (or use mem, grok)"
            )
    spawns = [spawn_name(epoch) for epoch in section["spawn_epochs"]]
    return InstabilityPlan(
        list(parents), spawns, section["children"], section["order_seed"], section["replay"], group_size
    )


def child_records(children: Sequence[Child]) -> list[dict]:
    """Children as plain records: a job's params, and the attributes of its files."""
    return [asdict(child) for child in children]
