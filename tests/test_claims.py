"""Hand-made tables for which each claim must hold, and a change that must flip its verdict."""

import numpy as np
import pytest

from grokscape import claims as C

TH = C.ClaimThresholds()
T = np.linspace(0, 1, 21)


def path(train_error, val_error, grad_norm, train_loss=None):
    train_loss = np.asarray(train_error) + 0.01 if train_loss is None else train_loss
    return {
        "t": T,
        "train_error": np.asarray(train_error, float),
        "val_error": np.asarray(val_error, float),
        "grad_norm": np.asarray(grad_norm, float),
        "train_loss": np.asarray(train_loss, float),
        "val_loss": np.asarray(val_error, float) + 0.01,
    }


def bump(center, height, width=0.1):
    return height * np.exp(-((T - center) ** 2) / (2 * width**2))


def test_c1_grokking_holds_when_generalisation_comes_much_later():
    points = {0: {"memorized": 300, "grokked": 2400}, 1: {"memorized": 280, "grokked": 2600}}
    assert C.c1_grokking(points, TH)["holds"]
    points[1]["grokked"] = 400
    assert not C.c1_grokking(points, TH)["holds"]
    points[1]["grokked"] = None
    assert not C.c1_grokking(points, TH)["holds"]


def test_c2_barrier_monotone_validation_and_falling_gradient():
    segment = path(bump(0.35, 0.4) * (T > 0.02) * (T < 0.98), 1 - T, 0.75 * (1 - T) + 0.01)
    claim = C.c2_segment(segment, TH)
    assert claim["holds"] and claim["quantities"]["barrier_peak_t"] == pytest.approx(0.35)
    assert not C.c2_segment({**segment, "train_error": np.zeros_like(T)}, TH)["holds"]  # no barrier
    wiggly = (1 - T) + bump(0.5, 0.3, 0.05)
    assert not C.c2_segment({**segment, "val_error": wiggly}, TH)["holds"]  # not monotone
    assert not C.c2_segment({**segment, "grad_norm": np.full_like(T, 0.75)}, TH)["holds"]  # no drop


def test_c3_chain_with_zero_train_error_and_a_quiet_last_segment():
    first, last = np.linspace(1.0, 0.5, 21), np.linspace(0.11, 0.10, 21)
    chain = {
        "t": np.stack([T, T]),
        "train_error": np.zeros((2, 21)),
        "train_loss": np.stack([first, last]),
        "grad_norm": np.stack([first, last]),
        "node_epochs": np.array([300, 400, 2400]),
    }
    assert C.c3_chain(chain, TH)["holds"]
    assert not C.c3_chain({**chain, "train_error": np.full((2, 21), 0.2)}, TH)["holds"]
    assert not C.c3_chain({**chain, "train_loss": np.stack([first, first])}, TH)["holds"]


def test_c4_polyline_generalises_earlier_than_the_segment():
    segment = path(bump(0.35, 0.4), np.clip(1.2 - 1.2 * T, 0, 1), np.ones_like(T))
    polyline = path(np.zeros_like(T), np.clip(1.6 - 2.2 * T, 0, 1), np.ones_like(T))
    claim = C.c4_polyline(polyline, segment, TH)
    assert claim["holds"] and claim["quantities"]["polyline_good_val_from_t"] < 0.9
    assert not C.c4_polyline(segment, segment, TH)["holds"]


def test_c5_wide_region_between_two_memorisations():
    polyline = path(np.zeros_like(T), 0.9 - bump(0.5, 0.6), 0.8 - bump(0.5, 0.5))
    assert C.c5_two_memorisations(polyline, TH)["holds"]
    assert not C.c5_two_memorisations({**polyline, "val_error": np.full_like(T, 0.9)}, TH)["holds"]


def test_c6_flat_path_with_two_symmetric_gradient_hills():
    polyline = path(np.zeros_like(T), np.full_like(T, 0.01), 0.1 + bump(0.25, 0.3) + bump(0.75, 0.3))
    claim = C.c6_two_generalisations(polyline, TH)
    assert claim["holds"] and claim["quantities"]["two_highest_hills_at_t"] == pytest.approx([0.25, 0.75])
    lopsided = 0.1 + bump(0.2, 0.3) + bump(0.45, 0.3, 0.05)
    assert not C.c6_two_generalisations({**polyline, "grad_norm": lopsided}, TH)["holds"]
    assert not C.c6_two_generalisations({**polyline, "val_error": bump(0.5, 0.5)}, TH)["holds"]


def test_markdown_table_has_a_row_per_claim_with_its_verdict():
    points = {0: {"memorized": 300, "grokked": 2400}}
    text = C.claims_markdown([C.c1_grokking(points, TH)])
    assert "| C1 |" in text and "**holds**" in text and "ratio: 8" in text
