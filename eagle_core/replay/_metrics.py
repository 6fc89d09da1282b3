"""Scoring a replay: utility, regret against the per-step oracle, headroom captured, budget
overshoot, traffic shares and the drift / newcomer reaction times.

The references are computed from the full grade matrix after the run (no router sees it): the
**oracle** serves, at each step, the available model of highest utility (under a budget: the
hindsight Lagrangian policy whose average cost meets the target); the **best fixed** model is the
single model, available for the whole stream, of highest total utility (under a budget: of
highest mean grade among those whose mean cost meets the target).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from eagle_core.replay._harness import Trace
from eagle_core.replay._scenarios import Prepared, utility_matrix

__all__ = ["References", "budget_oracle", "references", "score_trace", "thirds_share"]


@dataclass(frozen=True)
class References:
    """Per-step utility of the oracle and of the best fixed model, and their choices."""

    oracle_choice: np.ndarray
    oracle_utility: np.ndarray
    fixed_model: int
    fixed_utility: np.ndarray


def budget_oracle(grades: np.ndarray, costs: np.ndarray, avail: np.ndarray, target: float,
                  iters: int = 60) -> np.ndarray:  # fmt: skip
    """Per-step choices maximising mean grade subject to mean cost <= ``target``, by bisection on
    the price mu of ``argmax(grade - mu * cost)`` (the hindsight Lagrangian policy)."""

    def pick(mu: float) -> np.ndarray:
        return np.where(avail, grades - mu * costs, -np.inf).argmax(axis=1)

    rows = np.arange(len(grades))
    if costs[rows, pick(0.0)].mean() <= target:
        return pick(0.0)
    lo, hi = 0.0, 1.0
    while costs[rows, pick(hi)].mean() > target and hi < 1e12:
        hi *= 10.0
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if costs[rows, pick(mid)].mean() > target else (lo, mid)
    return pick(hi)


def references(prep: Prepared) -> References:
    s = prep.stream
    rows = np.arange(len(s))
    always = s.available.all(axis=0)
    if prep.target_cost is not None:
        choice = budget_oracle(s.grades, s.costs, s.available, prep.target_cost)
        affordable = always & (s.costs.mean(axis=0) <= prep.target_cost)
        pool = affordable if affordable.any() else always
        means = np.where(pool, s.grades.mean(axis=0), -np.inf)
        fixed = int(np.argmax(means))
        return References(choice, s.grades[rows, choice], fixed, s.grades[:, fixed])
    u = utility_matrix(s.grades, s.costs, prep.wtp)
    choice = np.where(s.available, u, -np.inf).argmax(axis=1)
    fixed = int(np.argmax(np.where(always, u.sum(axis=0), -np.inf)))
    return References(choice, u[rows, choice], fixed, u[:, fixed])


def thirds_share(chosen: np.ndarray, m: int) -> np.ndarray:
    """``(3, m)`` traffic share of each stream column in each third of the stream."""
    return np.stack([np.bincount(part, minlength=m) / max(len(part), 1)
                     for part in np.array_split(chosen, 3)])  # fmt: skip


def _window(values: np.ndarray, start: int, end: int) -> float:
    start, end = max(start, 0), min(end, len(values))
    return float(values[start:end].mean()) if end > start else float("nan")


def score_trace(trace: Trace, prep: Prepared, ref: References) -> dict:
    """Every metric of one (router, seed) run; curves are per step."""
    s = prep.stream
    m = len(s.models)
    u = trace.grade if prep.wtp is None else trace.grade * prep.wtp - trace.cost
    regret = np.cumsum(ref.oracle_utility - u)
    gap = ref.oracle_utility.mean() - ref.fixed_utility.mean()
    out = {
        "utility": float(u.mean()),
        "grade": float(trace.grade.mean()),
        "cost": float(trace.cost.mean()),
        "regret": float(regret[-1]),
        "headroom": float((u.mean() - ref.fixed_utility.mean()) / gap) if gap > 0 else float("nan"),
        "choose_ms_p50": 1e3 * float(np.median(trace.choose_seconds)),
        "step_ms_p50": 1e3 * float(np.median(trace.choose_seconds + trace.learn_seconds)),
        "share_thirds": thirds_share(trace.chosen, m).tolist(),
        "n_explored": trace.n_explored,
        "regret_curve": regret,
    }
    if prep.target_cost is not None:
        out["overshoot"] = max(0.0, float(trace.cost.mean() / prep.target_cost - 1.0))
    if prep.scenario.drift and prep.special is not None:
        out.update(_drift_metrics(trace, prep, u, ref))
    if prep.scenario.newcomer and prep.special is not None:
        out.update(_newcomer_metrics(trace, prep))
    return out


def _drift_metrics(trace: Trace, prep: Prepared, u: np.ndarray, ref: References) -> dict:
    """Share of the degraded model in the ``w`` steps before the drop and in the ``w`` steps ending
    ``2w`` after it (w = min(150, T/12)); utility relative to the oracle in the same windows
    around the repair."""
    drop, repair = prep.events
    w = max(min(150, len(u) // 12), 1)
    served = (trace.chosen == prep.special).astype(float)
    rel = u - ref.oracle_utility  # <= 0; 0 = as good as the oracle
    return {
        "drift_share_before": _window(served, drop - w, drop),
        "drift_share_after": _window(served, drop + w, drop + 2 * w),
        "drift_regret_before": -_window(rel, drop - 2 * w, drop),
        "drift_regret_after_repair": -_window(rel, repair + w, repair + 2 * w),
    }


def _newcomer_metrics(trace: Trace, prep: Prepared) -> dict:
    """Steps after joining until the newcomer's rolling (50-step) share first reaches 80 % of its
    share over the last third; how often it was served in its first 20 steps."""
    (join,) = prep.events
    served = (trace.chosen == prep.special).astype(float)
    final = float(served[-(len(served) // 3):].mean())
    after = served[join:]
    roll = np.convolve(after, np.ones(50) / 50, mode="valid") if len(after) >= 50 else after
    hit = np.flatnonzero(roll >= 0.8 * final) if final > 0 else np.array([], dtype=int)
    return {
        "newcomer_final_share": final,
        "newcomer_steps_to_80pct": int(hit[0] + 50) if len(hit) else None,
        "newcomer_tries_first_20": int(after[:20].sum()),
    }
