"""What the default run makes, decided from the checked configuration and from what each seed's training
reached (its points.json record): the paths each figure draws, the tables the claims rest on, the paths
between seeds, the curves evaluated together, and the files behind a checkpoint name.

A path that needs a point its seed never reached is left out of the plan, not planned to fail: the
summary and the claims say what is missing and why. Asked for by name, such a path fails at once with
the reason (`PointNotReachedError`). Without records (before training) every seed is taken to reach
every point. Records are asked for lazily, seed by seed in the configured order, so that Snakemake,
whose records arrive as the checkpoint `seed_run` files them, waits only for the seeds a question needs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from grokscape.errors import ConfigError, PointNotReachedError
from grokscape.planning.claim_inputs import Role, consecutive_pairs, input_name, units
from grokscape.planning.endpoints import Endpoint
from grokscape.planning.job_groups import BATCH_PATTERN, curve_batches, names_in_batch
from grokscape.planning.path_names import (
    BEZIER,
    CHAIN,
    CURVE_KINDS,
    FITTED_KINDS,
    PATHS,
    POLYLINE,
    SEGMENT,
    parse_path,
    path_file,
)
from grokscape.planning.points import POINT_KEYS, has_point, missed, point_epoch, points_file

Records = Callable[[int], Mapping]  # a seed's points.json record (may raise while it is not filed yet)


@dataclass(frozen=True)
class Drawing:
    """Paths drawn over the first `seeds` configured seeds that reached `points`: (kind, start, end), the
    names written over those seeds as `{0}`, `{1}`."""

    points: tuple[str, ...]
    seeds: int
    paths: tuple[tuple[str, str, str], ...]


BOTH = ("mem", "grok")
DRAWINGS = {
    "fig2": Drawing(BOTH, 1, ((SEGMENT, "{0}-mem", "{0}-grok"),)),
    "fig4": Drawing(BOTH, 1, ((CHAIN, "{0}-mem", "{0}-grok"),)),
    "fig5": Drawing(BOTH, 1, ((POLYLINE, "{0}-mem", "{0}-grok"), (SEGMENT, "{0}-mem", "{0}-grok"))),
    "fig6": Drawing(("mem",), 2, ((POLYLINE, "{0}-mem", "{1}-mem"), (SEGMENT, "{0}-mem", "{1}-mem"))),
    "fig7": Drawing(("grok",), 2, ((POLYLINE, "{0}-grok", "{1}-grok"), (SEGMENT, "{0}-grok", "{1}-grok"))),
    "fig8": Drawing(  # the segments 1→1′ and 2→2′, raw and with the second seed aligned to the first
        BOTH,
        2,
        tuple(
            (SEGMENT, f"{{0}}-{point}", end)
            for point in BOTH
            for end in (f"{{1}}-{point}", f"{{1}}-{point}@{{0}}-{point}")
        ),
    ),
    "bezier": Drawing(BOTH, 1, ((BEZIER, "{0}-mem", "{0}-grok"),)),
    # the planes of the polylines 1→2 and 1→1′ (the latter with a second seed)
    "plane_mem_grok": Drawing(BOTH, 1, ((POLYLINE, "{0}-mem", "{0}-grok"),)),
    "plane_mem_mem": Drawing(("mem",), 2, ((POLYLINE, "{0}-mem", "{1}-mem"),)),
}
SUMMARY_FIGURES = ("fig2", "fig5", "fig6", "fig7")  # their paths come first in the summary, in this order
PLANES = ("plane_mem_grok", "plane_mem_mem")


class Plan:
    def __init__(self, config: Mapping, records: Records | None = None):
        self.seeds: list[int] = list(config["train"]["seeds"])
        self.extra: list[str] = list(config["paths"]["extra"])
        self.snapshot_every, self.max_epochs = config["train"]["snapshot_every"], config["train"]["max_epochs"]
        self._records = records
        self._asked: dict[int, Mapping] = {}

    # what training reached

    def record(self, seed: int) -> Mapping:
        """Seed `seed`'s points record, asked for once in this plan's life."""
        if seed not in self._asked:
            self._asked[seed] = self._records(seed)
        return self._asked[seed]

    def reached(self, seed: int, point: str) -> bool:
        return self._records is None or has_point(self.record(seed), point)

    def _check_reached(self, seed: int, point: str) -> None:
        if not self.reached(seed, point):
            point_epoch(self.record(seed), point, seed)  # raises PointNotReachedError, naming the reason

    def missed(self, seed: int, points: tuple[str, ...]) -> str:
        """Why `seed` lacks one of `points`, in a few words ("" when it reached them all)."""
        point = next((p for p in points if not self.reached(seed, p)), None)
        return "" if point is None else missed(self.record(seed), point)

    # figures

    def drawn(self, drawing: str) -> list[int]:
        """The seeds `drawing` draws: the first configured ones that reached its points. Too few configured is a
        configuration error; too few that reached them, the reason of the first seed that did not."""
        spec = DRAWINGS[drawing]
        if len(self.seeds) < spec.seeds:
            raise ConfigError(f"config error: train.seeds: {drawing} compares two seeds, configured only {self.seeds}")
        chosen = self._choose(spec)
        if len(chosen) < spec.seeds:
            first = next(s for s in self.seeds if s not in chosen)
            try:
                for point in spec.points:
                    self._check_reached(first, point)
            except PointNotReachedError as error:
                wanted = f"{spec.seeds} seeds" if spec.seeds > 1 else "a seed"
                message = f"{drawing} draws {wanted} that reached points {spec.points}: {error}"
                raise PointNotReachedError(message) from None
        return chosen

    def _choose(self, spec: Drawing) -> list[int]:
        chosen = []
        for seed in self.seeds:
            if len(chosen) < spec.seeds and all(self.reached(seed, p) for p in spec.points):
                chosen.append(seed)
        return chosen

    def drawable(self, drawing: str) -> bool:
        """Whether enough seeds are configured and reached the points for `drawing`."""
        spec = DRAWINGS[drawing]
        return len(self.seeds) >= spec.seeds and len(self._choose(spec)) == spec.seeds

    def figure_paths(self, drawing: str) -> list[str]:
        names = [f"seed{seed}" for seed in self.drawn(drawing)]
        return [path_file(kind, a.format(*names), b.format(*names)) for kind, a, b in DRAWINGS[drawing].paths]

    def figure_note(self, drawing: str) -> str:
        """What a figure says when it does not draw the first configured seeds: which it skipped and why."""
        chosen = self.drawn(drawing)
        skipped = [seed for seed in self.seeds[: self.seeds.index(chosen[-1])] if seed not in chosen]
        if not skipped:
            return ""
        points = DRAWINGS[drawing].points
        reasons = "; ".join(f"seed {seed} {self.missed(seed, points)}" for seed in skipped)
        return f"{reasons}: drawn {', '.join(f'seed {seed}' for seed in chosen)} instead"

    def plane_files(self) -> list[str]:
        """The planes the default run draws (of polylines 1→2 and 1→1′), as figure files."""
        return [
            path.replace(f"{PATHS}/", "results/planes/").removesuffix(".h5") + ".pdf"
            for drawing in PLANES
            if self.drawable(drawing)
            for path in self.figure_paths(drawing)
        ]

    # claims and the paths between seeds

    def claim_tables(self) -> dict[str, str]:
        """Input name -> path of every table the claims rest on whose seeds reached its points: segment, chain
        and polyline 1→2 of every seed (C2–C4, S1), then per pair of consecutive seeds the polylines 1→1′ and
        2→2′ (C5, C6) and the segment 2→2′ raw and aligned (A1)."""
        return {
            input_name(name, seeds): role.path(seeds)
            for seeds, roles in units(self.seeds)
            for name, role in roles.items()
            if self._unit_reached(seeds, role)
        }

    def _unit_reached(self, seeds: tuple[int, ...], role: Role) -> bool:
        return all(self.reached(seed, point) for seed in seeds for point in role.points)

    def alignment_paths(self) -> list[str]:
        """Segments and polylines 1→1′ and 2→2′ of every pair of consecutive seeds that reached the point,
        between the seeds' own weights and with the second aligned to the first (`B@A`)."""
        return [
            path_file(kind, f"seed{a}-{point}", end)
            for a, b in consecutive_pairs(self.seeds)
            for point in POINT_KEYS
            if self.reached(a, point) and self.reached(b, point)
            for kind in (SEGMENT, POLYLINE)
            for end in (f"seed{b}-{point}", f"seed{b}-{point}@seed{a}-{point}")
        ]

    def extra_paths(self) -> list[str]:
        """`paths.extra` whose endpoints' points were reached, as files."""
        return [f"{PATHS}/{extra}.h5" for extra in self.extra if self._extra_reached(extra)]

    def _extra_reached(self, extra: str) -> bool:
        _, start, end = parse_path(extra)
        return all(self.reached(s, p) for name in (start, end) for s, p in Endpoint.parse(name).named_points)

    def summary_paths(self) -> list[str]:
        """Every path the figures and claims use, plus `paths.extra`, each once, in a fixed order."""
        drawings = ["bezier", *SUMMARY_FIGURES]
        paths = [path for drawing in drawings if self.drawable(drawing) for path in self.figure_paths(drawing)]
        paths += [*self.claim_tables().values(), *self.alignment_paths(), *self.extra_paths()]
        # figures 4 and 8 draw paths the claims and the alignment already hold, unless they drew other seeds
        paths += [path for drawing in ("fig4", "fig8") if self.drawable(drawing) for path in self.figure_paths(drawing)]
        return list(dict.fromkeys(paths))

    def fitted_paths(self) -> list[str]:
        """The fitted curves among the summarised paths (figure `fits` draws their convergence)."""
        return [path for path in self.summary_paths() if parse_path(path)[0] in FITTED_KINDS]

    # curves evaluated together

    def curve_names(self) -> dict[str, list[str]]:
        """The curves the run plans (`summary_paths`), `{A}__{B}` by kind, in order."""
        names: dict[str, list[str]] = {kind: [] for kind in CURVE_KINDS}
        for path in self.summary_paths():
            kind, start, end = parse_path(path)
            if kind in names:
                names[kind].append(f"{start}__{end}")
        return names

    def curve_batches(self, size: int | None) -> dict[str, dict[str, list[str]]]:
        """The planned curves in batches of `size` (None: all of a kind), by kind and label (see
        `job_groups.curve_batches`)."""
        return {kind: curve_batches(names, size or max(len(names), 1)) for kind, names in self.curve_names().items()}

    def batch_of(self, kind: str, name: str, size: int | None) -> str:
        """The label of the batch that holds the curve `{kind}/{name}`: a planned batch, or the curve alone (a
        path asked for by name, or one curve a job)."""
        if size == 1:
            return name
        batches = self.curve_batches(size)[kind]
        return next((label for label, names in batches.items() if name in names), name)

    def batch_names(self, kind: str, label: str) -> list[str]:
        """The curves (`{A}__{B}`) of a batch, read from its label (whatever batch size this process planned)."""
        if not re.fullmatch(BATCH_PATTERN, label):  # a curve's own name: no plan needed
            return [label]
        return names_in_batch(label, self.curve_names()[kind], kind)

    # files

    def seed_files(self, name: str) -> dict[str, str]:
        """The files behind a checkpoint name: its checkpoints (for `{moved}@{reference}`, the aligned file the
        rule `align` writes) and the points of its seed; the name's seeds must be configured, its epoch a
        snapshot, and its named points reached."""
        endpoint = Endpoint.parse(name)
        endpoint.check_snapshot(self.snapshot_every, self.max_epochs)
        for seed in (endpoint.seed, *([endpoint.aligned_to.seed] if endpoint.aligned_to else [])):
            if seed not in self.seeds:
                raise ConfigError(
                    f"config error: train.seeds: checkpoint {name} needs seed {seed}, configured {self.seeds}"
                )
        for seed, point in endpoint.named_points:
            self._check_reached(seed, point)
        return {
            "checkpoints": f"results/aligned/{name}.h5"
            if endpoint.aligned_to
            else f"results/seed{endpoint.seed}/checkpoints.h5",
            "points": points_file(endpoint.seed),
        }

    def endpoint_files(self, a: str, b: str) -> dict[str, str]:
        """Dataset plus both endpoints' checkpoints and points, for the path A→B; `*_unaligned` are the seeds'
        own checkpoints behind aligned names (the same files otherwise), for the distance before alignment."""
        inputs = {"dataset": "results/dataset.h5"}
        for end, name in (("start", a), ("end", b)):
            files = self.seed_files(name)
            inputs |= {f"{end}_checkpoints": files["checkpoints"], f"{end}_points": files["points"]}
            inputs[f"{end}_unaligned"] = self.seed_files(str(Endpoint.parse(name).unaligned))["checkpoints"]
        return inputs

    def chain_files(self, a: str, b: str) -> dict[str, str]:
        """`endpoint_files` of a chain, which runs through one seed's own snapshots from A to B."""
        start, end = Endpoint.parse(a), Endpoint.parse(b)
        if start.aligned_to or end.aligned_to:
            raise ConfigError(
                f"chain {a}__{b}: a chain runs through one seed's own snapshots; aligned checkpoints (@) have none"
            )
        if start.seed != end.seed:
            raise ConfigError(
                f"chain {a}__{b}: a chain joins two checkpoints of one seed (got seeds {start.seed} and {end.seed})"
            )
        return self.endpoint_files(a, b)

    def batch_members(self, kind: str, label: str) -> list[dict]:
        """Each curve of a batch: its name, its endpoints and the files behind them (`endpoint_files`)."""
        members = []
        for name in self.batch_names(kind, label):
            a, b = name.split("__")
            members.append({"name": name, "a": a, "b": b, "files": self.endpoint_files(a, b)})
        return members

    def batch_endpoint_files(self, kind: str, label: str) -> list[str]:
        """Every checkpoint and points file the curves of a batch start or end at."""
        files = {path for member in self.batch_members(kind, label) for path in member["files"].values()}
        return sorted(files - {"results/dataset.h5"})


def left_out_reason(path: str, records: Mapping[int, Mapping]) -> str:
    """Why a plan with these records leaves the path `path` out: the first of its endpoints' named points that
    was not reached ("seed 0 never grokked within 100 epochs (best val_acc 0.8312)"); "" when none is missing."""
    _, start, end = parse_path(path)
    for name in (start, end):
        for seed, point in Endpoint.parse(name).named_points:
            if not has_point(records[seed], point):
                return f"seed {seed} {missed(records[seed], point, best=True)}"
    return ""
