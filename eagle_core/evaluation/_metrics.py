"""Metrics of the Eagle-paper protocol (RouterBench λ rule, unit-spaced AUC) and the UniRoute view.

``q`` is a router's (n_prompts, n_models) predicted quality in [0, 1]; ``cost`` the per-model
mean *training* cost used by the rule; ``scores``/``test_costs`` the true test outcomes.
Models with an unknown (NaN) cost are excluded from every cost-aware choice, never treated as free.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "LAMBDAS",
    "Curve",
    "auc",
    "DEFERRAL_LAMBDAS",
    "choose",
    "choose_min_error",
    "curve",
    "deferral_area",
    "deferral_curve",
    "qnc",
]

LAMBDAS: tuple[float, ...] = (
    1e-10, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 0.005, 0.01, 0.1, 0.5, 1.0, 1.5, 2.0, 10.0,
)  # fmt: skip
"""The first 16 willingness-to-pay values of RouterBench (the points of Eagle's Fig 2a)."""

DENSE_LAMBDAS: tuple[float, ...] = (0.0, *np.logspace(-7, 3, 121).tolist())
"""A dense sweep used for the UniRoute view of the Eagle protocol (so it spans cheapest..best)."""

DEFERRAL_LAMBDAS = np.concatenate([[0.0], np.logspace(-4, 4, 161), [1e9]])
"""Cost weights swept for :func:`deferral_curve`, on min-max-normalised costs (errors are in [0, 1])."""


def choose(q: np.ndarray, cost: np.ndarray, lam: float) -> np.ndarray:
    """RouterBench's rule argmax_m(q_m·λ − cost_m) per row; NaN-cost models are never chosen.

    Ties go to the cheaper model (then to the lower column index), so λ→0 picks the cheapest.
    """
    q = np.asarray(q, dtype=float)
    cost = np.asarray(cost, dtype=float)
    utility = q * lam - cost[None, :]
    utility = np.where(np.isnan(cost)[None, :] | np.isnan(utility), -np.inf, utility)
    best = utility.max(axis=1, keepdims=True)
    # among (near-)ties prefer the cheapest model
    tied = utility >= best - 1e-15 * np.maximum(1.0, np.abs(best))
    masked_cost = np.where(tied, np.nan_to_num(cost, nan=np.inf)[None, :], np.inf)
    return masked_cost.argmin(axis=1)


@dataclass(frozen=True)
class Curve:
    """Performance and actual mean cost of a router's choices at each λ."""

    lambdas: tuple[float, ...]
    quality: np.ndarray  # (L,) mean test score of the chosen models
    cost: np.ndarray  # (L,) mean actual test cost of the chosen models (USD / prompt)

    @property
    def auc(self) -> float:
        return auc(self.quality)


def curve(
    choices_per_lambda: list[np.ndarray],
    scores: np.ndarray,
    test_costs: np.ndarray,
    lambdas: tuple[float, ...] = LAMBDAS,
) -> Curve:
    """Mean test score and mean test cost of the given choice vectors (one per λ)."""
    rows = np.arange(len(scores))
    quality = np.array([float(np.mean(scores[rows, c])) for c in choices_per_lambda])
    cost = np.array([float(np.nanmean(test_costs[rows, c])) for c in choices_per_lambda])
    return Curve(tuple(lambdas), quality, cost)


def auc(quality: np.ndarray) -> float:
    """Eagle's AUC: trapezoid over the λ points with unit spacing (reproduces its Fig 2b scale)."""
    y = np.asarray(quality, dtype=float)
    return float(np.sum((y[1:] + y[:-1]) / 2.0))


def deferral_area(
    cost: np.ndarray,
    quality: np.ndarray,
    c_min: float,
    c_max: float,
    upto: float = 1.0,
    start_quality: float | None = None,
) -> float:
    """UniRoute's area under quality vs normalised cost on [0, ``upto``], divided by ``upto``.

    Cost is min-max normalised by the cheapest and most expensive model's mean cost, so the area is
    the mean reachable quality over that budget range (``upto=0.5``: over the lower half, the
    paper's Area(50%)). The curve starts at (0, ``start_quality``) when given (the cheapest model
    for every prompt, always available), then follows the sweep points in order of cost with the
    quality made non-decreasing (a bigger budget may always be underspent; of several points at one
    cost the best counts), joined linearly (mixing two operating points is achievable, which is how
    ZeroRouter is defined too), and is flat before the first and after the last point.
    """
    span = c_max - c_min
    x = np.zeros(len(cost)) if span <= 0 else (np.asarray(cost, dtype=float) - c_min) / span
    y = np.asarray(quality, dtype=float)
    if start_quality is not None:
        x, y = np.concatenate([[0.0], x]), np.concatenate([[start_quality], y])
    order = np.argsort(x, kind="stable")
    x, y = np.clip(x[order], 0.0, 1.0), np.maximum.accumulate(y[order])
    last = np.r_[x[1:] != x[:-1], True]  # one point per cost: the best (the last after the max)
    x, y = x[last], y[last]
    grid = np.linspace(0.0, upto, 2001)
    return float(np.trapezoid(np.interp(grid, x, y), grid) / upto)


def choose_min_error(errors: np.ndarray, costs: np.ndarray, cost_weight: float) -> np.ndarray:
    """UniRoute's rule (Eq. 9): column chosen per row, ``argmin_h errors[:, h] + cost_weight*costs[h]``."""
    return np.argmin(np.asarray(errors) + cost_weight * np.asarray(costs)[None, :], axis=1)


def _minmax(costs: np.ndarray) -> np.ndarray:
    span = float(np.max(costs) - np.min(costs))
    return (costs - np.min(costs)) / span if span > 0 else np.zeros_like(costs)


def deferral_curve(
    pred_errors: np.ndarray,
    route_costs: np.ndarray,
    quality: np.ndarray,
    cost: np.ndarray,
    lambdas: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(mean cost, mean quality) of routing by ``pred_errors`` (:func:`choose_min_error`) at every
    cost weight, sorted by cost.

    ``route_costs`` (m,) are the per-model costs the router knows (min-max normalised here so one
    lambda grid fits every pool); ``quality`` and ``cost`` (n, m) are what each choice really
    yields on the evaluated prompts.
    """
    lam = DEFERRAL_LAMBDAS if lambdas is None else np.asarray(lambdas, dtype=np.float64)
    rc = _minmax(np.asarray(route_costs, dtype=np.float64))
    rows = np.arange(len(pred_errors))
    xs, ys = [], []
    for weight in lam:
        pick = choose_min_error(pred_errors, rc, float(weight))
        xs.append(cost[rows, pick].mean())
        ys.append(quality[rows, pick].mean())
    order = np.argsort(xs, kind="stable")
    return np.asarray(xs)[order], np.asarray(ys)[order]


def qnc(cost: np.ndarray, quality: np.ndarray, target_quality: float, ref_cost: float) -> float:
    """Quality-neutral cost: least mean cost (relative to ``ref_cost``, the most accurate model's
    cost) at which the router matches ``target_quality``; ``inf`` if it never does."""
    ok = np.asarray(quality) >= target_quality - 1e-12
    if not ok.any() or ref_cost <= 0:
        return float("inf")
    return float(np.min(np.asarray(cost)[ok]) / ref_cost)
