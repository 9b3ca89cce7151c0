"""A path is coefficients over control points: φ(t) = Σ_k c_k(t)·w_k (Garipov et al.'s idea).

A segment is a polyline with no bend; a one-bend polyline has three control points with a
trainable middle one θ; a Bezier curve of degree K−1 has K control points; a chain through
snapshots is a set of segments sharing nodes. Evaluation and fitting see only `coefficients`
and the stacked control points, never which kind of curve it is. Coefficients are made on the device
of their t (the host, in the workflow) and `weights_at` takes them to the control points' device.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch

from grokscape.numerics.model import Params
from grokscape.planning.path_names import BEZIER, POLYLINE, SEGMENT


def polyline_coefficients(t: torch.Tensor, n_controls: int) -> torch.Tensor:
    """Hat functions on evenly spaced knots: piecewise-linear interpolation, shape (T, K)."""
    knots = torch.arange(n_controls, dtype=t.dtype, device=t.device)
    return torch.clamp(1 - (t.unsqueeze(-1) * (n_controls - 1) - knots).abs(), min=0)


def bezier_coefficients(t: torch.Tensor, n_controls: int) -> torch.Tensor:
    """Bernstein polynomials of degree K−1, shape (T, K)."""
    degree = n_controls - 1
    k = torch.arange(n_controls, dtype=t.dtype, device=t.device)
    binomial = torch.tensor([math.comb(degree, int(i)) for i in k], dtype=t.dtype, device=t.device)
    t = t.unsqueeze(-1)
    return binomial * t.pow(k) * (1 - t).pow(degree - k)


COEFFICIENTS = {SEGMENT: polyline_coefficients, POLYLINE: polyline_coefficients, BEZIER: bezier_coefficients}


def coefficients(kind: str, t: torch.Tensor, n_controls: int) -> torch.Tensor:
    """φ's coefficients over the control points of a curve of `kind` (one of `path_names.CURVE_KINDS`)."""
    return COEFFICIENTS[kind](t, n_controls)


def n_controls(kind: str, settings: Mapping) -> int:
    """Control points of a curve of `kind`, endpoints included: a segment's two, a polyline's bends + 2, a
    Bézier curve's degree + 1 (from the checked configuration, or a rule's settings)."""
    if kind == POLYLINE:
        return settings[POLYLINE]["bends"] + 2
    if kind == BEZIER:
        return settings[BEZIER]["degree"] + 1
    return 2


def chain_coefficients(n_segments: int, n_points: int) -> torch.Tensor:
    """Each segment s of a chain sampled at n_points t's: rows (s, t) over nodes, shape (S·T, S+1), on the host."""
    t = torch.linspace(0, 1, n_points, dtype=torch.float64, device="cpu")
    rows = torch.zeros(n_segments, n_points, n_segments + 1, dtype=torch.float64, device="cpu")
    for s in range(n_segments):
        rows[s, :, s], rows[s, :, s + 1] = 1 - t, t
    return rows.reshape(n_segments * n_points, n_segments + 1)


def stack_controls(points: list[Params]) -> Params:
    """Control points as one tensor per parameter, shape (K, *param_shape)."""
    return {name: torch.stack([point[name] for point in points]) for name in points[0]}


def initial_controls(start: Params, end: Params, n_controls: int) -> Params:
    """Control points evenly spaced on the segment: the bend of a polyline starts at the midpoint."""
    device = next(iter(start.values())).device
    fractions = torch.linspace(0, 1, n_controls, dtype=torch.float64, device=device)
    return stack_controls([{k: ((1 - f) * start[k] + f * end[k]).to(start[k].dtype) for k in start} for f in fractions])


def weights_at(coeffs: torch.Tensor, controls: Params, stacked: bool = False) -> Params:
    """φ at each row of `coeffs` (T, K): one set of weights per t, shape (T, *param_shape). With
    `stacked`, the control points of P curves of one kind, (P, K, *param_shape), give (P·T, *param_shape),
    curve by curve: one product per parameter, however many curves (a fitting batch)."""
    lead = 1 if stacked else 0
    out = {}
    for name, points in controls.items():
        c = coeffs.to(device=points.device, dtype=points.dtype)
        out[name] = (c @ points.flatten(lead + 1)).flatten(0, lead).unflatten(1, points.shape[lead + 1 :])
    return out
