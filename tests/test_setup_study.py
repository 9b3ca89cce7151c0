"""The setup study (docs/results/setup_study.md): its committed table is what the script computes from the
committed per-run files, covers every setting with at least two seeds, and the script reads a run directory
the way the workflow does (points, collapses), finished or still training."""

import json
from io import StringIO

import pandas as pd
import pytest
import torch
from conftest import paper, tiny_config

from grokscape.numerics.data import make_dataset
from grokscape.numerics.model import ModelShape
from grokscape.numerics.training import TrainSettings, train_seeds
from grokscape.output import setup_study
from grokscape.planning.points import Thresholds

COLUMNS = {"lr", "grad_clip", "variant", "seed", "memorized", "grokked", "collapses", "deepest_collapse"}
COLUMNS |= {"diverged", "last_epoch", "best_train_acc", "best_val_acc", "init", "sampling", "finished"}


def test_the_committed_table_is_the_one_its_committed_runs_give():
    committed = pd.read_csv(setup_study.TABLE)
    assert set(committed.columns) >= COLUMNS
    seeds = committed.groupby("variant")["seed"].nunique()
    assert (seeds >= 2).all(), seeds  # every setting with at least two seeds
    # the default (PyTorch's init, clipping at 5), Nanda's init with and without clipping, the text's learning rate
    expected = {"default", "init=nanda", "grad_clip=None, init=nanda", "lr=0.01, grad_clip=None"}
    assert expected <= set(seeds.index)
    assert any("sampling=" in v for v in seeds.index)
    regenerated = setup_study.table()  # from docs/results/setup_study/{run}/seed{S}/, as read back from CSV
    pd.testing.assert_frame_equal(committed, pd.read_csv(StringIO(regenerated.to_csv(index=False))))
    assert setup_study.markdown(regenerated) in setup_study.PAGE.read_text()  # the page shows the same table


@pytest.mark.workflow
def test_a_finished_run_is_read_as_the_workflow_records_it(built_workflow, tmp_path):
    setup_study.collect(built_workflow, "tiny", "test", folder=tmp_path)
    frame = setup_study.table(tmp_path)
    assert list(frame["seed"]) == [0, 1] and frame["finished"].all()
    tiny = tiny_config()["train"]
    assert set(frame["variant"]) == {f"optimizer=adamw, lr={tiny['lr']}, weight_decay={tiny['weight_decay']}"}
    for row in frame.itertuples():
        run = built_workflow / f"results/seed{row.seed}"
        points = json.loads((run / "points.json").read_text())
        collapses = json.loads((run / "collapses.json").read_text())
        assert (row.memorized, row.grokked, row.last_epoch) == (
            points["memorized"],
            points["grokked"],
            points["last_epoch"],
        )
        assert row.collapses == len(collapses["collapses"])
        assert row.deepest_collapse == pytest.approx(collapses["deepest_collapse"], abs=1e-8)
        assert row.best_val_acc == pytest.approx(points["best"]["val_acc"], abs=1e-8)


def test_a_seed_still_training_is_read_from_its_resume_state(tmp_path):
    """A run stopped while training (here: its last saved state, at epoch 15 of 20) gives the history so far."""
    run = tmp_path / "run"
    state = run / "results/.resume/train/seeds0.h5"
    state.parent.mkdir(parents=True)
    settings = paper(TrainSettings, optimizer="adamw", lr=0.03, weight_decay=1.0, max_epochs=20, snapshot_every=5)
    data, shape = make_dataset("mul", 23, 0.7, 0), ModelShape(23, 32, 4, 128)
    done = train_seeds(data, shape, settings, Thresholds(1.0, 1.0), [0], torch.device("cpu"), state)
    setup_study.collect(run, "stopped", "test", {"lr": 0.03}, folder=tmp_path / "study")
    row = setup_study.table(tmp_path / "study").iloc[0]
    assert row["last_epoch"] == 15 and not row["finished"] and row["lr"] == 0.03
    history = pd.read_csv(tmp_path / "study/stopped/seed0/history.csv")
    assert history["train_acc"].tolist() == pytest.approx(done[0].history["train_acc"][:16].tolist(), abs=1e-8)
