"""Hand-made tables for which each claim must hold, a change that must flip its verdict, and the range of
each threshold over which a verdict stays, flipping exactly where the reported range ends."""

from dataclasses import replace
from functools import partial

import numpy as np
import pytest

from grokscape.output import claims as C
from grokscape.output.claim_ranges import range_text, verdict_range
from grokscape.output.claims_markdown import claims_markdown

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


def history(memorized: int, val_acc_there: float) -> dict:
    """Validation accuracy near chance until memorisation, then `val_acc_there` at it."""
    epochs = np.arange(memorized + 10)
    val_acc = np.full(len(epochs), 0.01)
    val_acc[memorized] = val_acc_there
    return {"epoch": epochs, "val_acc": val_acc}


def test_c1_grokking_holds_when_generalisation_comes_much_later_from_near_chance():
    points = {"memorized": 300, "grokked": 2400, "last_epoch": 2600}
    claim = C.c1_grokking(points, history(300, 0.02), TH)
    assert claim["holds"] and claim["quantities"]["val_acc_at_memorisation"] == pytest.approx(0.02)
    soon = {**points, "grokked": 400}
    assert C.c1_grokking(soon, history(300, 0.02), TH)["state"] == C.FAILS
    assert C.c1_grokking(points, history(300, 0.6), TH)["state"] == C.FAILS  # it generalised while memorising
    never = C.c1_grokking({**points, "grokked": None, "last_epoch": 3000}, history(300, 0.02), TH)
    assert never["state"] == C.NOT_GROKKED and never["reason"] == "never grokked within 3,000 epochs"
    assert never["holds"] is None and never["quantities"]["memorized"] == 300


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
    assert claim["state"] == C.FAILS
    q = claim["quantities"]
    assert q["chain_keeps_zero_error"] is True and q["trajectory_keeps_zero_error"] is False
    assert q["collapses_between_points"] == 1 and q["lowest_collapse_between_points"] == 0.5
    after_point_2 = {"level": 0.95, "collapses": [{"epoch": 2500, "train_acc": 0.5}]}
    assert C.c3_chain(QUIET_CHAIN, after_point_2, TH)["holds"]  # outside the chain's span: not C3's business
    text = claims_markdown([C.decide(C.CLAIMS["C3"], {"seed0": partial(C.c3_chain, QUIET_CHAIN, dipped)}, TH)])
    assert "chain_keeps_zero_error = True" in text and "trajectory_keeps_zero_error = False" in text


def test_c4_polyline_generalises_earlier_than_the_segment():
    segment = path(bump(0.35, 0.4), np.clip(1.2 - 1.2 * T, 0, 1), np.ones_like(T))
    polyline = path(np.zeros_like(T), np.clip(1.6 - 2.2 * T, 0, 1), np.ones_like(T))
    claim = C.c4_polyline(polyline, segment, TH)
    assert claim["holds"] and claim["quantities"]["polyline_good_val_from_t"] < 0.9
    late = path(np.zeros_like(T), np.clip(1.2 - 1.2 * T, 0, 1), np.ones_like(T))
    assert C.c4_polyline(late, segment, TH)["state"] == C.FAILS


def test_claims_on_a_curve_that_did_not_connect_are_undecided_never_refuted():
    barrier = path(bump(0.5, 0.2), 0.9 - bump(0.5, 0.6), 0.8 - bump(0.5, 0.5))
    for claim in (
        C.c4_polyline(barrier, barrier, TH),
        C.c5_two_memorisations(barrier, TH),
        C.c6_two_generalisations(barrier, TH),
    ):
        assert claim["state"] == C.UNDECIDED and claim["holds"] is None
        assert "did not connect" in claim["reason"] and "0.2" in claim["reason"]
        assert claim["quantities"]["max_train_error"] == pytest.approx(0.2)


def test_c5_wide_region_between_two_memorisations():
    polyline = path(np.zeros_like(T), 0.9 - bump(0.5, 0.8), 0.8 - bump(0.5, 0.5))
    claim = C.c5_two_memorisations(polyline, TH)
    assert claim["holds"] and claim["quantities"]["t_near_half"] == pytest.approx(0.5)
    assert not C.c5_two_memorisations({**polyline, "val_error": np.full_like(T, 0.9)}, TH)["holds"]
    sharp = {**polyline, "grad_norm": 0.8 + bump(0.5, 0.5)}  # generalises but is not wide
    assert C.c5_two_memorisations(sharp, TH)["state"] == C.FAILS


def test_c5_asks_much_lower_validation_error_than_the_ends_and_reads_the_gradient_norm_at_the_same_t():
    barely = path(np.zeros_like(T), 0.98 - bump(0.5, 0.1), 0.8 - bump(0.5, 0.5))  # 0.88 between ends at 0.98
    claim = C.c5_two_memorisations(barely, TH)
    assert claim["state"] == C.FAILS and claim["quantities"]["val_error_fraction_of_ends"] == pytest.approx(0.88 / 0.98)
    # lowest validation error at t = 0.4, where the gradient norm is at its highest; its minimum is at t = 0.6
    val_error = np.where(np.isclose(T, 0.4), 0.1, 0.9)
    grad_norm = 0.8 + bump(0.4, 0.5, 0.02) - bump(0.6, 0.5, 0.02)
    elsewhere = C.c5_two_memorisations(path(np.zeros_like(T), val_error, grad_norm), TH)
    assert elsewhere["quantities"]["t_near_half"] == pytest.approx(0.4)
    assert elsewhere["quantities"]["grad_norm_near_half"] == pytest.approx(1.3)
    assert elsewhere["state"] == C.FAILS  # generalising at t = 0.4, but not wide there


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


def _sharpness(point1: float, point2: float, converged=(True, True)) -> dict:
    return {
        "top_eigenvalue": np.array([point1, (point1 + point2) / 2, point2]),
        "eigenvalue_converged": np.array([converged[0], True, converged[1]]),
        "lanczos_iterations": np.array([9, 8, 30 if not converged[1] else 7]),
    }


def test_s1_compares_the_top_eigenvalues_at_points_1_and_2_and_needs_them_converged():
    flatter = C.s1_sharpness(_sharpness(15.0, 3.0), TH)
    assert flatter["state"] == C.HOLDS and flatter["quantities"]["ratio"] == pytest.approx(0.2)
    assert C.s1_sharpness(_sharpness(15.0, 14.0), TH)["state"] == C.FAILS  # above 0.9 of point 1's
    assert C.s1_sharpness(_sharpness(15.0, 14.0), C.ClaimThresholds(sharpness_ratio=1.0))["state"] == C.HOLDS
    unconverged = C.s1_sharpness(_sharpness(15.0, 3.0, converged=(True, False)), TH)
    assert unconverged["state"] == C.UNDECIDED and "did not converge" in unconverged["reason"]
    assert unconverged["quantities"]["lanczos_iterations"] == [9, 30]


RAW = path(bump(0.5, 0.9), bump(0.5, 0.9), np.ones_like(T))
ALIGNED = {
    **path(np.zeros_like(T), np.zeros_like(T), np.ones_like(T)),
    "distance": 10.0,
    "distance_unaligned": 30.0,
    "alignments": [{"converged": True, "iterations": 9}],
}


def test_a1_is_shown_when_alignment_removes_the_barrier_and_not_shown_never_refuted_when_it_survives():
    claim = C.a1_aligned_generalisations(RAW, ALIGNED, TH)
    assert claim["holds"] and claim["quantities"]["train_error_barrier_raw"] == pytest.approx(0.9, abs=1e-3)
    assert claim["quantities"]["train_error_barrier_aligned"] == 0 and claim["quantities"]["distance_raw"] == 30.0
    surviving = {**ALIGNED, "train_error": bump(0.5, 0.2)}  # a barrier that alignment leaves
    a1 = C.decide(C.CLAIMS["A1"], {"seed0-seed1": lambda th: C.a1_aligned_generalisations(RAW, surviving, th)}, TH)
    assert a1["verdict"] == "not shown" and a1["units"]["seed0-seed1"]["verdict"] == "not shown"
    assert a1["units"]["seed0-seed1"]["state"] == C.FAILS and a1["counts"][C.FAILS] == 1  # counted, in its words
    text = claims_markdown([a1])
    assert "### A1: not shown" in text and "local optimum" in text and "never refuted" in text
    unfinished = {**ALIGNED, "alignments": [{"converged": False, "iterations": 200}]}
    claim = C.a1_aligned_generalisations(RAW, unfinished, TH)
    assert claim["state"] == C.UNDECIDED and "align.max_iterations" in claim["reason"]
    assert C.CLAIMS["A1"].source == "grokscape"


def _seed(barrier_height: float) -> C.SeedTables:
    segment = path(bump(0.35, 0.4) * (T > 0.02) * (T < 0.98), 1 - T, 0.75 * (1 - T) + 0.01)
    polyline = path(bump(0.5, barrier_height), np.clip(1.6 - 2.2 * T, 0, 1), np.ones_like(T))
    return C.SeedTables(segment, QUIET_CHAIN, polyline)


FLAT = path(np.zeros_like(T), np.full_like(T, 0.01), 0.1 + bump(0.25, 0.3) + bump(0.75, 0.3))
WIDE = path(np.zeros_like(T), 0.9 - bump(0.5, 0.8), 0.8 - bump(0.5, 0.5))


def test_claims_over_seeds_count_verdicts_and_give_the_spread():
    points = {0: {"memorized": 300, "grokked": 2400}, 1: {"memorized": 280, "grokked": 400}}
    histories = {0: history(300, 0.02), 1: history(280, 0.02)}
    pairs = {(0, 1): C.PairTables(WIDE, FLAT)}
    calm = dict.fromkeys(points, CALM)
    claims = C.evaluate_claims(points, histories, calm, {0: _seed(0.0), 1: _seed(0.3)}, pairs, TH)
    by_name = {c["claim"]: c for c in claims}
    assert list(by_name) == ["C1", "C2", "C3", "C4", "C5", "C6", "S1"]
    assert by_name["S1"]["source"] == "grokscape" and by_name["C1"]["source"] == "paper"
    assert by_name["S1"]["verdict"] == "undecided"  # these segments hold no sharpness
    assert by_name["C1"]["verdict"] == "holds for 1 of 2" and by_name["C1"]["counts"][C.FAILS] == 1
    assert by_name["C1"]["spread"]["memorized"] == {"min": 280, "median": 290, "max": 300}
    assert by_name["C2"]["verdict"] == "holds" and set(by_name["C2"]["units"]) == {"seed0", "seed1"}
    assert by_name["C4"]["verdict"] == "holds for 1 of 2, undecided for 1"  # seed 1's polyline has a barrier
    assert by_name["C4"]["units"]["seed1"]["verdict"] == "undecided" and by_name["C4"]["reasons"]
    assert by_name["C5"]["units"].keys() == {"seed0-seed1"} and by_name["C6"]["verdict"] == "holds"
    text = claims_markdown(claims)
    assert text.count("\n| C") == 6 + 15  # the summary rows, then one per threshold of C1-C6
    assert "**holds for 1 of 2**" in text and "### C4" in text
    assert "Undecided because the polyline 1→2 did not connect" in text and "| seed1 | undecided |" in text
    assert "*(grokscape's question)*" in text.split("| S1 |")[1].split("\n")[0]
    # seed 1 grokked 400 / 280 = 1.43 times later than it memorised: C1 would hold from grok_ratio 10/7 down
    assert "| grok_ratio (2.0) | (−∞, 8] | (1.429, ∞) |" in text
    assert "| C1 | grok_ratio | 2.0 | seed1: holds at grok_ratio ≤ 1.429 |" in text


def test_a_seed_that_never_generalised_is_listed_as_not_grokked_and_never_holds():
    points = {
        0: {"memorized": 300, "grokked": 2400, "last_epoch": 2600},
        1: {"memorized": 280, "grokked": None, "last_epoch": 3000},
        2: {"memorized": 290, "grokked": 2000, "last_epoch": 2200},
    }
    histories = {seed: history(p["memorized"], 0.02) for seed, p in points.items()}
    pairs = {(0, 1): C.PairTables(across_memorised=WIDE), (1, 2): C.PairTables(across_memorised=WIDE)}
    calm = dict.fromkeys(points, CALM)
    claims = C.evaluate_claims(points, histories, calm, {0: _seed(0.0), 2: _seed(0.0)}, pairs, TH)
    by_name = {c["claim"]: c for c in claims}
    for name in ("C1", "C2", "C3", "C4", "S1"):
        unit = by_name[name]["units"]["seed1"]
        assert unit["verdict"] == "never grokked within 3,000 epochs" and unit["holds"] is None, name
        assert by_name[name]["counts"][C.NOT_GROKKED] == 1 and not by_name[name]["holds"], name
    assert by_name["C2"]["verdict"] == "holds for 2 of 3, not grokked for 1"
    assert by_name["C5"]["verdict"] == "holds"  # 1 → 1′ needs no point 2
    for pair in ("seed0-seed1", "seed1-seed2"):
        assert by_name["C6"]["units"][pair]["verdict"] == "seed1 never grokked within 3,000 epochs"
        assert by_name["A1"]["units"][pair]["state"] == C.NOT_GROKKED
    assert by_name["C6"]["verdict"] == by_name["A1"]["verdict"] == "not grokked"
    assert "| seed1 | never grokked within 3,000 epochs |" in claims_markdown(claims)
    with pytest.raises(ValueError, match="C2: no table for seed2, whose seeds all generalised"):
        C.evaluate_claims(points, histories, calm, {0: _seed(0.0)}, pairs, TH)


# Every claim on a unit of hand-made tables, and every threshold it reads.
UNITS = {
    "C1": lambda th: C.c1_grokking({"memorized": 300, "grokked": 2400}, history(300, 0.03), th),
    "C2": lambda th: C.c2_segment(_seed(0.0).segment, th),
    "C3": lambda th: C.c3_chain(QUIET_CHAIN, CALM, th),
    "C4": lambda th: C.c4_polyline(_seed(0.0).polyline, _seed(0.0).segment, th),
    "C5": lambda th: C.c5_two_memorisations(WIDE, th),
    "C6": lambda th: C.c6_two_generalisations(FLAT, th),
    "S1": lambda th: C.s1_sharpness(_sharpness(15.0, 3.0), th),
    "A1": lambda th: C.a1_aligned_generalisations(RAW, {**ALIGNED, "train_error": bump(0.5, 0.03)}, th),
}
CASES = [(claim, name) for claim in UNITS for name in C.CLAIMS[claim].thresholds]


@pytest.mark.parametrize(("claim", "name"), CASES, ids=[f"{c}-{n}" for c, n in CASES])
def test_each_threshold_keeps_the_verdict_over_its_range_and_flips_exactly_where_it_ends(claim, name):
    """Just inside an end of the reported range the verdict is the configured one; just outside, the next
    float beyond the measured value where it ends, it is another: the ranges are exact, not sampled."""
    decided = C.decide(C.CLAIMS[claim], {"unit": UNITS[claim]}, TH)["units"]["unit"]
    stay, state = decided["ranges"][name], decided["state"]

    def state_at(value: float) -> str:
        return UNITS[claim](replace(TH, **{name: value}))["state"]

    assert state_at(getattr(TH, name)) == state
    ends = [(stay["low"], stay["low_included"], -np.inf), (stay["high"], stay["high_included"], np.inf)]
    for end, included, outwards in ends:
        if end is None:
            continue
        inside, outside = (end, np.nextafter(end, outwards)) if included else (np.nextafter(end, -outwards), end)
        assert state_at(inside) == state and state_at(outside) != state, (end, included)
    assert any(end is not None for end, _, _ in ends), "on these tables every threshold alone can flip the verdict"


def test_a_verdict_range_ends_where_the_measured_number_is():
    grok_ratio = C.decide(C.CLAIMS["C1"], {"seed0": UNITS["C1"]}, TH)["units"]["seed0"]["ranges"]["grok_ratio"]
    assert grok_ratio == {  # 2400 / 300
        "low": None,
        "low_included": False,
        "below": None,
        "high": 8.0,
        "high_included": True,
        "above": C.FAILS,
    }
    assert range_text(grok_ratio) == "(−∞, 8]"
    unbounded = verdict_range(lambda x: "same", 0.3, [0.1, 0.5])
    assert (unbounded["low"], unbounded["high"], range_text(unbounded)) == (None, None, "any value")
    assert range_text(verdict_range(lambda x: "a" if x > 0.25 else "b", 0.3, [0.25])) == "(0.25, ∞)"
