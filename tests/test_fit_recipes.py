"""C4 beside the paper (docs/results/fit_recipes.md): the comparison reads a run's segments and polylines 1→2
as the workflow's claims and summary do, and gives the segment's barrier peak in both orientations."""

import json

import pandas as pd
import pytest

from grokscape.output import fit_recipes

pytestmark = pytest.mark.workflow


def test_the_comparison_reads_what_the_claims_and_the_summary_read(built_workflow, tmp_path):
    fit_recipes.collect(built_workflow, "recipe", "test", folder=tmp_path)
    frame = fit_recipes.table(tmp_path)
    assert list(frame["seed"]) == [0, 1] and set(frame["run"]) == {"recipe"}
    assert set(frame["fit_momentum"]) == {0.9} and set(frame["fit_schedule"]) == {"garipov"}
    claims = {c["claim"]: c for c in json.loads((built_workflow / "results/claims.json").read_text())}
    summary = pd.read_csv(built_workflow / "results/paths/summary.csv")
    for row in frame.itertuples():
        c4 = claims["C4"]["units"][f"seed{row.seed}"]["quantities"]
        assert row.polyline_good_val_from_t == c4["polyline_good_val_from_t"]
        assert row.segment_good_val_from_t == c4["segment_good_val_from_t"]
        assert row.polyline_max_train_error == pytest.approx(c4["max_train_error"])
        name = (summary["kind"] == "segment") & (summary["start"] == f"seed{row.seed}-mem")
        segment = summary[name & (summary["end"] == f"seed{row.seed}-grok")].iloc[0]
        assert row.segment_barrier_peak_t == pytest.approx(segment["train_error_peak_at"], abs=1e-6, nan_ok=True)
        assert row.segment_barrier_peak_t + row.segment_barrier_peak_t_paper_orientation == pytest.approx(1)
