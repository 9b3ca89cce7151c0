"""The plan of a run, without Snakemake: which paths each figure and claim needs, given the configuration and
what each seed's training reached; the batches; the files behind a checkpoint name; what shapes each rule."""

from __future__ import annotations

import copy

import pytest
import yaml
from conftest import REPO, tiny_config

from grokscape.errors import ConfigError, PointNotReachedError
from grokscape.planning.job_groups import group_of, seed_groups
from grokscape.planning.plan import Plan
from grokscape.planning.rule_settings import RuleSettings

SCHEMA = yaml.safe_load((REPO / "schemas" / "config.schema.yaml").read_text())


def config(seeds=(0, 1), **paths) -> dict:
    settings = copy.deepcopy(tiny_config())
    settings["train"]["seeds"] = list(seeds)
    settings["paths"].update(paths)
    return settings


def record(memorized: int | None, grokked: int | None, last_epoch: int = 3000) -> dict:
    """A points.json record (as `points_record` writes it) of a seed that reached what is given."""
    return {
        "memorized": memorized,
        "grokked": grokked,
        "thresholds": {"train_acc": 1.0, "val_acc": 1.0},
        "best": {"train_acc": 1.0 if memorized else 0.9, "val_acc": 1.0 if grokked else 0.8312},
        "last_epoch": last_epoch,
    }


def asking(records: dict[int, dict]):
    """A records function that answers for the seeds in `records` and fails for any other (a pending seed)."""

    def answer(seed: int) -> dict:
        if seed not in records:
            raise LookupError(f"seed {seed} was asked for")
        return records[seed]

    return answer


def p(kind: str, a: str, b: str) -> str:
    return f"results/paths/{kind}/{a}__{b}.h5"


PAPER_RUN = [  # what the default run evaluates with two seeds that reached both points, in order
    p("bezier", "seed0-mem", "seed0-grok"),
    p("segment", "seed0-mem", "seed0-grok"),
    p("polyline", "seed0-mem", "seed0-grok"),
    p("polyline", "seed0-mem", "seed1-mem"),
    p("segment", "seed0-mem", "seed1-mem"),
    p("polyline", "seed0-grok", "seed1-grok"),
    p("segment", "seed0-grok", "seed1-grok"),
    p("chain", "seed0-mem", "seed0-grok"),
    p("segment", "seed1-mem", "seed1-grok"),
    p("chain", "seed1-mem", "seed1-grok"),
    p("polyline", "seed1-mem", "seed1-grok"),
    p("segment", "seed0-grok", "seed1-grok@seed0-grok"),
    p("segment", "seed0-mem", "seed1-mem@seed0-mem"),
    p("polyline", "seed0-mem", "seed1-mem@seed0-mem"),
    p("polyline", "seed0-grok", "seed1-grok@seed0-grok"),
]


def test_the_default_run_evaluates_every_path_of_the_figures_and_claims_once_in_a_fixed_order():
    plan = Plan(config())
    assert plan.summary_paths() == PAPER_RUN
    assert plan.fitted_paths() == [path for path in PAPER_RUN if "/polyline/" in path or "/bezier/" in path]
    assert plan.figure_paths("fig8") == [
        p("segment", "seed0-mem", "seed1-mem"),
        p("segment", "seed0-mem", "seed1-mem@seed0-mem"),
        p("segment", "seed0-grok", "seed1-grok"),
        p("segment", "seed0-grok", "seed1-grok@seed0-grok"),
    ]
    assert plan.plane_files() == [
        "results/planes/polyline/seed0-mem__seed0-grok.pdf",
        "results/planes/polyline/seed0-mem__seed1-mem.pdf",
    ]
    tables = plan.claim_tables()
    assert tables["chain__1"] == p("chain", "seed1-mem", "seed1-grok")
    assert tables["aligned_grokked_segment__0__1"] == p("segment", "seed0-grok", "seed1-grok@seed0-grok")
    assert len(tables) == 3 * 2 + 4 and all(path in PAPER_RUN for path in tables.values())
    assert plan.figure_note("fig2") == "" and plan.figure_note("fig7") == ""


def test_extra_paths_join_the_plan_once():
    extra = ["segment/seed0-e50__seed1-grok", "polyline/seed0-mem__seed1-mem"]  # the second is planned anyway
    plan = Plan(config(extra=extra))
    assert plan.summary_paths() == [*PAPER_RUN, p("segment", "seed0-e50", "seed1-grok")]


def test_one_seed_plans_no_figure_comparing_two_and_a_figure_asked_for_says_why():
    plan = Plan(config(seeds=[3]))
    assert plan.summary_paths()[:2] == [p("bezier", "seed3-mem", "seed3-grok"), p("segment", "seed3-mem", "seed3-grok")]
    assert not any("seed0" in path for path in plan.summary_paths()) and len(plan.plane_files()) == 1
    with pytest.raises(ConfigError, match=r"train.seeds: fig6 compares two seeds, configured only \[3\]"):
        plan.figure_paths("fig6")


def test_a_seed_that_never_grokked_keeps_the_paths_of_its_memorisation_and_loses_the_others():
    records = {0: record(40, None, last_epoch=100), 1: record(30, 220), 2: record(42, 330)}
    plan = Plan(config(seeds=(0, 1, 2)), asking(records))
    paths = plan.summary_paths()
    assert not any("seed0-grok" in path for path in paths)  # nothing needs seed 0's point 2
    assert p("polyline", "seed0-mem", "seed1-mem") in paths  # ... while its point 1 is compared with seed 1's
    assert p("segment", "seed0-mem", "seed1-mem@seed0-mem") in paths
    tables = plan.claim_tables()
    assert "segment__0" not in tables and "across_memorised__0__1" in tables and "across_grokked__0__1" not in tables
    assert {"segment__1", "across_grokked__1__2", "aligned_grokked_segment__1__2"} <= set(tables)
    # the figures of one seed's points draw the first seed that reached them, and say so
    assert plan.figure_paths("fig2") == [p("segment", "seed1-mem", "seed1-grok")]
    assert plan.figure_note("fig2") == "seed 0 never grokked within 100 epochs: drawn seed 1 instead"
    assert plan.figure_paths("fig6") == [p(kind, "seed0-mem", "seed1-mem") for kind in ("polyline", "segment")]
    assert plan.figure_note("fig6") == ""
    assert plan.figure_paths("fig7")[0] == p("polyline", "seed1-grok", "seed2-grok")
    assert plan.plane_files() == [
        "results/planes/polyline/seed1-mem__seed1-grok.pdf",
        "results/planes/polyline/seed0-mem__seed1-mem.pdf",
    ]


def test_a_figure_that_no_seed_can_draw_is_left_out_and_asked_for_names_the_reason():
    plan = Plan(config(seeds=(0, 1)), asking({0: record(40, None, last_epoch=100), 1: record(None, None, 100)}))
    assert not plan.drawable("fig2") and not plan.drawable("fig6") and plan.plane_files() == []
    assert plan.summary_paths() == []
    with pytest.raises(PointNotReachedError, match=r"fig2 draws a seed that reached points .*seed 0 never reached val"):
        plan.figure_paths("fig2")


def test_a_path_asked_for_by_name_that_needs_a_missing_point_fails_at_once_naming_it():
    plan = Plan(config(), asking({0: record(40, None, last_epoch=100), 1: record(30, 220)}))
    with pytest.raises(PointNotReachedError, match=r"seed 0 never reached val_acc >= 1\.0 .* by epoch 100"):
        plan.endpoint_files("seed1-grok", "seed1-grok@seed0-grok")  # the aligned name needs seed 0's point 2 too
    files = plan.endpoint_files("seed0-e50", "seed1-grok")  # a saved epoch needs no point
    assert files["start_checkpoints"] == "results/seed0/checkpoints.h5"
    assert files["end_points"] == "results/seed1/points.json"
    assert plan.seed_files("seed1-mem@seed0-mem")["checkpoints"] == "results/aligned/seed1-mem@seed0-mem.h5"


def test_records_are_asked_for_only_as_far_as_a_question_needs():
    plan = Plan(config(seeds=(0, 1, 2)), asking({0: record(40, 300)}))  # seeds 1 and 2 are still training
    assert plan.figure_paths("fig2") == [p("segment", "seed0-mem", "seed0-grok")]
    assert plan.batch_of("segment", "seed0-mem__seed0-grok", 1) == "seed0-mem__seed0-grok"  # one curve a job
    assert plan.batch_names("segment", "seed2-mem__seed2-grok") == ["seed2-mem__seed2-grok"]
    with pytest.raises(LookupError, match="seed 1 was asked for"):
        plan.summary_paths()


def test_batches_are_named_by_their_places_among_the_planned_curves_of_a_kind():
    plan = Plan(config())
    segments = plan.curve_names()["segment"]
    assert segments[:2] == ["seed0-mem__seed0-grok", "seed0-mem__seed1-mem"] and len(segments) == 6
    assert plan.curve_batches(None)["segment"] == {"batch0-5": segments}  # auto on a GPU: all of a kind
    assert plan.curve_batches(None)["bezier"] == {"seed0-mem__seed0-grok": ["seed0-mem__seed0-grok"]}
    assert plan.batch_of("segment", segments[3], 2) == "batch2-3"
    assert plan.batch_names("segment", "batch2-3") == segments[2:4]
    assert plan.batch_of("segment", "seed0-e50__seed1-grok", 2) == "seed0-e50__seed1-grok"  # not planned: alone
    members = plan.batch_members("segment", "batch0-1")
    assert [m["name"] for m in members] == segments[:2] and members[1]["b"] == "seed1-mem"
    assert plan.batch_endpoint_files("segment", "batch0-1") == [
        "results/seed0/checkpoints.h5",
        "results/seed0/points.json",
        "results/seed1/checkpoints.h5",
        "results/seed1/points.json",
    ]


@pytest.mark.parametrize(
    ("a", "b", "message"),
    [
        ("seed0-mem", "seed1-grok", "a chain joins two checkpoints of one seed"),
        ("seed0-mem", "seed0-grok@seed1-grok", "aligned checkpoints"),
    ],
)
def test_a_chain_runs_through_one_seeds_own_snapshots(a, b, message):
    with pytest.raises(ConfigError, match=message):
        Plan(config()).chain_files(a, b)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("seed5-mem", r"train.seeds: checkpoint seed5-mem needs seed 5, configured \[0, 1\]"),
        ("seed0-e75", "epoch 75 is not a snapshot"),
        ("seed0-mem@seed0-e75", "epoch 75 is not a snapshot"),
    ],
)
def test_a_checkpoint_name_the_configuration_cannot_give_is_a_configuration_error(name, message):
    with pytest.raises(ConfigError, match=message):
        Plan(config()).seed_files(name)


def test_each_rule_depends_on_the_settings_that_shape_it_and_on_no_knob():
    settings = RuleSettings(config(), SCHEMA)
    assert "seeds" not in settings.training()["train"] and "seeds_per_job" not in settings.training()["train"]
    chain, polyline = settings.path("chain"), settings.path("polyline")
    assert "sharpness_points" not in chain["paths"] and "sharpness" not in chain and "polyline" not in chain
    assert polyline["paths"]["sharpness_points"] == 5 and polyline["sharpness"]["max_iterations"] == 30
    assert "checkpoint_every" not in polyline["polyline"] and "t_chunk" not in polyline["paths"]  # knobs
    assert "extra" not in polyline["paths"] and "per_job" not in polyline["paths"]
    train = tiny_config()["train"]
    assert polyline["train"] == {k: train[k] for k in ("batch_size", "optimizer", "weight_decay")}
    assert settings.sharpness()["train"]["lr"] == train["lr"] and "t_chunk" not in settings.sharpness()["sharpness"]
    assert settings.plane()["train"] == {k: train[k] for k in ("batch_size", "optimizer", "weight_decay")}
    assert "sweeps" not in settings.run_record() and list(settings.path("segment")) == sorted(settings.path("segment"))


def test_a_seed_is_filed_from_the_group_that_trained_it():
    groups = seed_groups([0, 1, 2], 2)
    assert group_of(2, groups, "train.seeds") == ("seeds2", [2])
    with pytest.raises(ConfigError, match=r"train.seeds: seed 7 asked for, configured \[0, 1, 2\]"):
        group_of(7, groups, "train.seeds")
