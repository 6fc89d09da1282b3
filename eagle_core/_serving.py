"""One routing step, shared by the engine and its in-memory replay twin (pure; no I/O).

:func:`gather` copies what a route needs out of the folded state (under the engine's lock);
:func:`serve` computes the deterministic ranking (local ratings, combined score, cost rule) and then
which model to *serve*: the ranking's choice, or an exploration draw, a newcomer's burn-in try, all
within what the budget pacer allows. The engine finds the neighbours in Chroma; the twin
(:mod:`eagle_core.replay._eagle`) with an exact numpy search; both then call these two functions.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from eagle_core._choice import combine, decide
from eagle_core._config import EagleConfig
from eagle_core._decision import RouteDecision
from eagle_core._elo import Pair
from eagle_core._explore import Exploration, explore
from eagle_core._glicko import local_posterior
from eagle_core._pacing import BudgetPacer

if TYPE_CHECKING:
    from eagle_core._state import RatingState
    from eagle_core._uniroute import ColdStartEstimator

__all__ = ["View", "gather", "serve"]


@dataclass(frozen=True)
class View:
    """A consistent copy of the state one route reads."""

    ratings: dict[str, float]
    rd2: dict[str, float]
    histories: list[list[Pair] | None]
    ages: list[list[int] | None]
    evidence: dict[str, int]
    """Matches (pairwise or rated answers) per model."""
    newcomers: dict[str, int]
    """Models added at run time -> their matches so far."""


def gather(state: RatingState, keys: Sequence[str]) -> View:
    """Copy the global ratings, deviations and the neighbours' matches (``keys`` nearest first)."""
    now = state.n_events
    ages = []
    for key in keys:
        born = state.ages.get(key)
        ages.append(None if born is None else [now - b for b in born])
    evidence = state.evidence_counts(state.ratings)
    return View(
        ratings=dict(state.ratings),
        rd2={m: state.evidence.rd2(m, now) for m in state.ratings},
        histories=[state.by_query.get(key) for key in keys],
        ages=ages,
        evidence=evidence,
        newcomers={m: evidence.get(m, 0) for m in state.newcomers if m in state.ratings},
    )


def serve(query: str, embedding: np.ndarray | None, view: View, costs: Mapping[str, float | None],
          pool: Sequence[str], config: EagleConfig, *, exploration: Exploration | None = None,
          pacer: BudgetPacer | None = None, coldstart: ColdStartEstimator | None = None,
          force: str | None = None, wtp: float | None = None, cost_weight: float | None = None,
          budget: float | None = None, degraded: bool = False,
          lock: Any = None) -> RouteDecision:
    """Rank ``pool`` and pick the model to serve.

    ``exploration=None`` (or ``config.explore`` false) serves the ranking's choice. With a
    ``pacer`` the willingness to pay is the paced one and the candidates are those whose cost keeps
    the running average within the target (the cheapest if none). ``lock`` guards the sampler and
    the pacer (the engine's lock; ``None`` for the single-threaded twin).
    """
    n_models = len(view.ratings)
    local, dev = local_posterior(
        view.ratings, view.rd2, view.histories, view.ages, k=config.k, par=config.initial_rating,
        rd_local=config.rd_local, half_life=config.half_life,
        pair_weight=1.0 / max(1, n_models - 1), farthest_first=config.local_order == "farthest_first",
    )
    combined = combine(view.ratings, local, config, coldstart, embedding, view.evidence)
    guard = contextlib.nullcontext() if lock is None else lock
    with guard:
        if pacer is not None and force is None:
            if cost_weight is not None:
                wtp, cost_weight = (1.0 / cost_weight if cost_weight > 0 else None), None
            wtp = pacer.willingness_to_pay(wtp, [costs[m] for m in pool])
            pool = _affordable(pool, costs, pacer.allowance())
        decision = decide(query, view.ratings, local, combined, costs, pool,
                          normalization=config.normalization, force=force, wtp=wtp,
                          cost_weight=cost_weight, budget=budget,
                          n_neighbors=len(view.histories), degraded=degraded)
        if exploration is not None and config.explore and force is None:
            p = config.p
            deviation = {m: p * math.sqrt(view.rd2[m]) + (1 - p) * math.sqrt(dev[m]) for m in pool}
            choice, explored = explore(
                decision.model, combined, deviation, pool, config, exploration,
                decide=lambda drawn: decide(
                    query, drawn, drawn, drawn, costs, pool, normalization=config.normalization,
                    wtp=wtp, cost_weight=cost_weight, budget=budget).model,
                newcomers=view.newcomers,
                has_prior=lambda m: coldstart is not None and m in coldstart.models,
            )
            if explored:
                decision = replace(decision, model=choice, explored=True)
        if pacer is not None:
            spent = costs.get(decision.model)
            pacer.observe(0.0 if spent is None else spent)
    return decision


def _affordable(pool: Sequence[str], costs: Mapping[str, float | None], allowance: float) -> list[str]:
    known = [m for m in pool if costs[m] is not None]
    within = [m for m in known if costs[m] <= allowance]  # type: ignore[operator]
    if within:
        return within
    return [min(known, key=lambda m: (costs[m], m))] if known else list(pool)
