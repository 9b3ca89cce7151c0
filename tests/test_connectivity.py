"""Fitted curves connect with the default recipe, fit quality is reported, and a curve
that does not connect decides nothing. Real Snakemake runs of the tiny configuration (AdamW with
decoupled weight decay 1.0, the case where an L2 term in the fit objective used to stop every curve)."""

from __future__ import annotations

import json

import h5py
import pandas as pd
import pytest
import yaml
from conftest import snakemake, tiny_config

pytestmark = pytest.mark.workflow

ACROSS = "seed0-mem__seed1-mem"


def _row(summary: pd.DataFrame, kind: str, name: str) -> pd.Series:
    start, end = name.split("__")
    return summary[(summary.kind == kind) & (summary.start == start) & (summary.end == end)].iloc[0]


def _configure(workdir, **sections) -> None:
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    for section, values in sections.items():
        config[section].update(values)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))


def test_default_fit_connects_two_seeds_memorisations_where_the_segment_does_not(built_workflow):
    summary = pd.read_csv(built_workflow / "results/paths/summary.csv")
    polyline, segment = _row(summary, "polyline", ACROSS), _row(summary, "segment", ACROSS)
    assert bool(polyline.connects) and polyline.max_train_error <= 0.01
    assert not bool(segment.connects) and segment.max_train_error > 0.3  # a real barrier on the segment
    with h5py.File(built_workflow / f"results/paths/polyline/{ACROSS}.h5") as f:
        assert f.attrs["max_train_error"] == pytest.approx(f["train_error"][()].max())
        assert len(f["fit_loss"]) == f.attrs["fit_rounds"] * tiny_config()["polyline"]["epochs"]
        assert f["fit_loss"][-1] < f["fit_loss"][0]
        assert not f.attrs["l2_in_loss"]  # AdamW: the decay is decoupled, so the loss is the cross-entropy
        assert f["train_loss"][()] == pytest.approx(f["train_ce"][()])
    assert (summary.connects == (summary.max_train_error <= 0.01)).all()
    assert (built_workflow / "results/fits.pdf").read_bytes().startswith(b"%PDF")


def test_every_fit_records_its_rounds_and_whether_it_connected(built_workflow):
    config = tiny_config()
    for path in sorted((built_workflow / "results/paths").glob("[pb]*/*.h5")):  # polylines and Bézier curves
        kind = path.parent.name
        with h5py.File(path) as f:
            rounds, epochs, connected = (f.attrs[k] for k in ("fit_rounds", "fit_epochs", "connected"))
            assert epochs == len(f["fit_loss"]) == rounds * config[kind]["epochs"], path.name
            assert connected == (f["train_error"][()].max() <= config["claims"]["zero_error"]), path.name
            assert connected or rounds == config[kind]["max_rounds"], path.name  # unconnected only when spent
    with h5py.File(built_workflow / f"results/paths/segment/{ACROSS}.h5") as f:
        assert "fit_rounds" not in f.attrs  # a segment fits nothing


def test_l2_of_a_decoupled_decay_in_the_fit_objective_stops_the_curve_auto_leaves_it_out(workflow_copy):
    # the run's AdamW weight decay, as an L2 term; one round: what is shown here is the fit objective's effect
    _configure(workflow_copy, polyline={"l2": 1.0, "max_rounds": 1})
    snakemake(workflow_copy, f"results/paths/polyline/{ACROSS}.h5")
    with h5py.File(workflow_copy / f"results/paths/polyline/{ACROSS}.h5") as f:
        assert f.attrs["max_train_error"] > 0.1
    log = (workflow_copy / f"results/logs/paths/polyline/{ACROSS}.log").read_text()
    epochs = tiny_config()["polyline"]["epochs"]
    assert f"polyline {ACROSS} did not connect after 1 round(s) of {epochs} epoch(s): max train error" in log


def test_a_fit_cut_too_short_goes_on_in_rounds_then_leaves_the_claims_on_it_undecided(workflow_copy):
    """One epoch a round, two rounds: two steps of SGD cannot bend a polyline between two seeds' memorisation
    points (train error about 0.9 at the midpoint) into a connecting one, however the floats round."""
    _configure(workflow_copy, polyline={"epochs": 1, "max_rounds": 2})
    snakemake(workflow_copy, "results/claims.json")
    with h5py.File(workflow_copy / f"results/paths/polyline/{ACROSS}.h5") as f:
        assert (f.attrs["fit_rounds"], f.attrs["fit_epochs"], bool(f.attrs["connected"])) == (2, 2, False)
        assert len(f["fit_loss"]) == 2 and f.attrs["max_train_error"] > 0.01
    log = (workflow_copy / f"results/logs/paths/polyline/{ACROSS}.log").read_text()
    assert "1 curve(s) not connected, round 2" in log and "did not connect after 2 round(s) of 1 epoch(s)" in log
    claims = {c["claim"]: c for c in json.loads((workflow_copy / "results/claims.json").read_text())}
    c5 = claims["C5"]
    assert c5["verdict"] == "undecided" and c5["holds"] is False
    assert "polyline 1→1′ did not connect its endpoints (max train error" in c5["reasons"][0]
    assert c5["units"]["seed0-seed1"]["quantities"]["max_train_error"] > 0.01
    markdown = (workflow_copy / "results/claims.md").read_text()
    assert "| C5 |" in markdown and "**undecided**" in markdown
    assert "Undecided because the polyline 1→1′ did not connect its endpoints" in markdown
