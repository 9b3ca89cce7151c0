"""Hand-made tables for which each claim must hold, and a change that must flip its verdict."""

import numpy as np
import pytest

from grokscape.output import claims as C

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
    assert C.c1_grokking({"memorized": 300, "grokked": 2400}, TH)["holds"]
    assert C.c1_grokking({"memorized": 300, "grokked": 400}, TH)["verdict"] == "does not hold"
    never = C.c1_grokking({"memorized": 300, "grokked": None}, TH)
    assert never["verdict"] == "undecided" and "never generalised" in never["reason"]


def test_c2_barrier_monotone_validation_and_falling_gradient():
    segment = path(bump(0.35, 0.4) * (T > 0.02) * (T < 0.98), 1 - T, 0.75 * (1 - T) + 0.01)
    claim = C.c2_segment(segment, TH)
    assert claim["holds"] and claim["quantities"]["barrier_peak_t"] == pytest.approx(0.35)
    assert not C.c2_segment({**segment, "train_error": np.zeros_like(T)}, TH)["holds"]  # no barrier
    wiggly = (1 - T) + bump(0.5, 0.3, 0.05)
    assert not C.c2_segment({**segment, "val_error": wiggly}, TH)["holds"]  # not monotone
    assert not C.c2_segment({**segment, "grad_norm": np.full_like(T, 0.75)}, TH)["holds"]  # no drop
    half = 0.75 * (1 - T / 2)  # ends at half of point 1's norm: not ~0
    assert not C.c2_segment({**segment, "grad_norm": half}, TH)["holds"]
    hump = C.c2_segment({**segment, "grad_norm": segment["grad_norm"] + bump(0.4, 2.0)}, TH)["quantities"]
    assert hump["grad_norm_max_between"] > 2 and hump["grad_norm_max_at_t"] == pytest.approx(0.4)


FIRST, LAST = np.linspace(1.0, 0.5, 21), np.linspace(0.11, 0.10, 21)
QUIET_CHAIN = {  # two segments: the first changes loss and gradient norm a lot, the last hardly
    "t": np.stack([T, T]),
    "train_error": np.zeros((2, 21)),
    "train_loss": np.stack([FIRST, LAST]),
    "grad_norm": np.stack([FIRST, LAST]),
    "node_epochs": np.array([300, 400, 2400]),
}


CALM = {"level": 0.95, "collapses": []}  # collapses.json of a run whose train accuracy never dipped


def test_c3_chain_with_zero_train_error_and_a_quiet_last_segment():
    chain, first = QUIET_CHAIN, FIRST
    assert C.c3_chain(chain, CALM, TH)["holds"]
    assert not C.c3_chain({**chain, "train_error": np.full((2, 21), 0.2)}, CALM, TH)["holds"]
    assert not C.c3_chain({**chain, "train_loss": np.stack([first, first])}, CALM, TH)["holds"]


def test_c3_fails_when_the_trajectory_collapses_between_snapshots_of_a_clean_chain():
    """The chain 300 → 400 → 2400 is clean, but train accuracy fell to 0.5 at epoch 1,234, between two
    snapshots: the run did not drift along the zero-loss manifold, whatever the snapshots show."""
    dipped = {"level": 0.95, "collapses": [{"epoch": 1234, "train_acc": 0.5}]}
    claim = C.c3_chain(QUIET_CHAIN, dipped, TH)
    assert claim["verdict"] == "does not hold"
    q = claim["quantities"]
    assert q["chain_keeps_zero_error"] is True and q["trajectory_keeps_zero_error"] is False
    assert q["collapses_between_points"] == 1 and q["lowest_collapse_between_points"] == 0.5
    after_point_2 = {"level": 0.95, "collapses": [{"epoch": 2500, "train_acc": 0.5}]}
    assert C.c3_chain(QUIET_CHAIN, after_point_2, TH)["holds"]  # outside the chain's span: not C3's business
    text = C.claims_markdown([C.decide(C.CLAIMS["C3"], {"seed0": claim}, TH)])
    assert "chain_keeps_zero_error = True" in text and "trajectory_keeps_zero_error = False" in text


def test_c4_polyline_generalises_earlier_than_the_segment():
    segment = path(bump(0.35, 0.4), np.clip(1.2 - 1.2 * T, 0, 1), np.ones_like(T))
    polyline = path(np.zeros_like(T), np.clip(1.6 - 2.2 * T, 0, 1), np.ones_like(T))
    claim = C.c4_polyline(polyline, segment, TH)
    assert claim["holds"] and claim["quantities"]["polyline_good_val_from_t"] < 0.9
    late = path(np.zeros_like(T), np.clip(1.2 - 1.2 * T, 0, 1), np.ones_like(T))
    assert C.c4_polyline(late, segment, TH)["verdict"] == "does not hold"


def test_claims_on_a_curve_that_did_not_connect_are_undecided_never_refuted():
    barrier = path(bump(0.5, 0.2), 0.9 - bump(0.5, 0.6), 0.8 - bump(0.5, 0.5))
    for claim in (
        C.c4_polyline(barrier, barrier, TH),
        C.c5_two_memorisations(barrier, TH),
        C.c6_two_generalisations(barrier, TH),
    ):
        assert claim["verdict"] == "undecided" and claim["holds"] is None
        assert "did not connect" in claim["reason"] and "0.2" in claim["reason"]
        assert claim["quantities"]["max_train_error"] == pytest.approx(0.2)


def test_c5_wide_region_between_two_memorisations():
    polyline = path(np.zeros_like(T), 0.9 - bump(0.5, 0.6), 0.8 - bump(0.5, 0.5))
    assert C.c5_two_memorisations(polyline, TH)["holds"]
    assert not C.c5_two_memorisations({**polyline, "val_error": np.full_like(T, 0.9)}, TH)["holds"]
    sharp = {**polyline, "grad_norm": 0.8 + bump(0.5, 0.5)}  # generalises but is not wide
    assert C.c5_two_memorisations(sharp, TH)["verdict"] == "does not hold"


def test_c6_flat_path_with_two_symmetric_gradient_hills():
    polyline = path(np.zeros_like(T), np.full_like(T, 0.01), 0.1 + bump(0.25, 0.3) + bump(0.75, 0.3))
    claim = C.c6_two_generalisations(polyline, TH)
    assert claim["holds"] and claim["quantities"]["hills_at_t"] == pytest.approx([0.25, 0.75])
    three = 0.1 + bump(0.2, 0.3, 0.05) + bump(0.5, 0.3, 0.05) + bump(0.8, 0.3, 0.05)
    assert C.c6_two_generalisations({**polyline, "grad_norm": three}, TH)["quantities"]["grad_norm_hills"] == 3
    assert not C.c6_two_generalisations({**polyline, "grad_norm": three}, TH)["holds"]
    ripple = polyline["grad_norm"] + 0.001 * np.sin(40 * T)  # ripples far below the prominence are no hills
    assert C.c6_two_generalisations({**polyline, "grad_norm": ripple}, TH)["holds"]
    lopsided = 0.1 + bump(0.2, 0.3) + bump(0.45, 0.3, 0.05)
    assert not C.c6_two_generalisations({**polyline, "grad_norm": lopsided}, TH)["holds"]
    assert not C.c6_two_generalisations({**polyline, "val_error": bump(0.5, 0.5)}, TH)["holds"]


def _seed(barrier_height: float) -> C.SeedTables:
    segment = path(bump(0.35, 0.4) * (T > 0.02) * (T < 0.98), 1 - T, 0.75 * (1 - T) + 0.01)
    polyline = path(bump(0.5, barrier_height), np.clip(1.6 - 2.2 * T, 0, 1), np.ones_like(T))
    return C.SeedTables(segment, QUIET_CHAIN, polyline, CALM)


def test_claims_over_seeds_count_verdicts_and_give_the_spread():
    points = {0: {"memorized": 300, "grokked": 2400}, 1: {"memorized": 280, "grokked": 400}}
    flat = path(np.zeros_like(T), np.full_like(T, 0.01), 0.1 + bump(0.25, 0.3) + bump(0.75, 0.3))
    wide = path(np.zeros_like(T), 0.9 - bump(0.5, 0.6), 0.8 - bump(0.5, 0.5))
    claims = C.evaluate_claims(points, {0: _seed(0.0), 1: _seed(0.3)}, {(0, 1): C.PairTables(wide, flat)}, TH)
    by_name = {c["claim"]: c for c in claims}
    assert list(by_name) == ["C1", "C2", "C3", "C4", "C5", "C6", "S1"]
    assert by_name["S1"]["source"] == "grokscape" and by_name["C1"]["source"] == "paper"
    assert by_name["S1"]["verdict"] == "undecided"  # these segments hold no sharpness
    assert by_name["C1"]["verdict"] == "holds for 1 of 2" and by_name["C1"]["counts"]["does not hold"] == 1
    assert by_name["C1"]["spread"]["memorized"] == {"min": 280, "median": 290, "max": 300}
    assert by_name["C2"]["verdict"] == "holds" and set(by_name["C2"]["units"]) == {"seed0", "seed1"}
    assert by_name["C4"]["verdict"] == "holds for 1 of 2, undecided for 1"  # seed 1's polyline has a barrier
    assert by_name["C4"]["units"]["seed1"]["verdict"] == "undecided" and by_name["C4"]["reasons"]
    assert by_name["C5"]["units"].keys() == {"seed0-seed1"} and by_name["C6"]["verdict"] == "holds"
    text = C.claims_markdown(claims)
    assert text.count("\n| C") == 6 and "**holds for 1 of 2**" in text and "### C4" in text
    assert "Undecided because the polyline 1→2 did not connect" in text and "| seed1 | undecided |" in text
    assert "*(grokscape's question)*" in text.split("| S1 |")[1].split("\n")[0]


def _sharpness(point1: float, point2: float, converged=(True, True)) -> dict:
    return {
        "top_eigenvalue": np.array([point1, (point1 + point2) / 2, point2]),
        "eigenvalue_converged": np.array([converged[0], True, converged[1]]),
        "lanczos_iterations": np.array([9, 8, 30 if not converged[1] else 7]),
    }


def test_s1_compares_the_top_eigenvalues_at_points_1_and_2_and_needs_them_converged():
    flatter = C.s1_sharpness(_sharpness(15.0, 3.0), TH)
    assert flatter["verdict"] == "holds" and flatter["quantities"]["ratio"] == pytest.approx(0.2)
    assert C.s1_sharpness(_sharpness(15.0, 14.0), TH)["verdict"] == "does not hold"  # above 0.9 of point 1's
    assert C.s1_sharpness(_sharpness(15.0, 14.0), C.ClaimThresholds(sharpness_ratio=1.0))["verdict"] == "holds"
    unconverged = C.s1_sharpness(_sharpness(15.0, 3.0, converged=(True, False)), TH)
    assert unconverged["verdict"] == "undecided" and "did not converge" in unconverged["reason"]
    assert unconverged["quantities"]["lanczos_iterations"] == [9, 30]


def test_a1_no_barrier_after_alignment_holds_and_an_unfinished_alignment_decides_nothing():
    raw = path(bump(0.5, 0.9), bump(0.5, 0.9), np.ones_like(T))
    flat = {**path(np.zeros_like(T), np.zeros_like(T), np.ones_like(T)), "distance": 10.0, "distance_unaligned": 30.0}
    claim = C.a1_aligned_generalisations(raw, {**flat, "alignments": [{"converged": True, "iterations": 9}]}, TH)
    assert claim["holds"] and claim["quantities"]["train_error_barrier_raw"] == pytest.approx(0.9, abs=1e-3)
    assert claim["quantities"]["train_error_barrier_aligned"] == 0 and claim["quantities"]["distance_raw"] == 30.0
    still = {**flat, "train_error": bump(0.5, 0.2)}  # the barrier survives alignment: that is the result
    assert C.a1_aligned_generalisations(raw, still, TH)["verdict"] == "does not hold"
    unfinished = {**flat, "alignments": [{"converged": False, "iterations": 200}]}
    claim = C.a1_aligned_generalisations(raw, unfinished, TH)
    assert claim["verdict"] == "undecided" and "align.max_iterations" in claim["reason"]
    assert C.CLAIMS["A1"].source == "grokscape"
