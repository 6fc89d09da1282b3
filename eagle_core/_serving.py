"""One routing step, shared by the engine and its in-memory replay twin (pure; no I/O).

:func:`serve` reads a published :class:`~eagle_core._state.View` of the folded log and computes the
deterministic ranking (local ratings, combined score, cost rule) and then
which model to *serve*: the ranking's choice, or an exploration draw, a newcomer's burn-in try, all
within what the budget pacer allows. The engine finds the neighbours in Chroma; the twin
(:mod:`eagle_core.replay._eagle_online`) with an exact numpy search; both then call :func:`serve`.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from eagle_core._choice import combine, decide
from eagle_core._config import EagleConfig
from eagle_core._costs import estimate_cost
from eagle_core._decision import RouteDecision
from eagle_core._elo import Pair
from eagle_core._explore import Exploration, explore
from eagle_core._glicko import local_posterior, population_prior
from eagle_core._pacing import BudgetPacer
from eagle_core._sources import anchored, neighbourhood

if TYPE_CHECKING:
    from eagle_core._state import View
    from eagle_core._store import Event
    from eagle_core._uniroute import ColdStartEstimator

__all__ = ["Server", "global_scores", "local_scores", "serve"]


def global_scores(view: View, config: EagleConfig) -> tuple[dict[str, float], dict[str, float]]:
    """Global ratings as routing reads them, and their squared deviations. Once the log holds rated
    answers, a model's prior is the population's mean rating, not par
    (:func:`~eagle_core._glicko.population_prior`); a pairwise-only log is read as folded."""
    rd2 = {m: view.rd2.get(m, config.rd_initial**2) for m in view.ratings}
    if not anchored(view.graders, config):
        return dict(view.ratings), rd2
    return population_prior(view.ratings, rd2, par=config.initial_rating, rd_initial=config.rd_initial,
                            covariate=_log_prices(view) if config.price_prior else None), rd2


def _log_prices(view: View) -> dict[str, float]:
    """Each model's log price per call, without the prompt (per-call part and expected answer
    tokens); models of unknown or zero price are left out."""
    prices = {m: estimate_cost(view.costs.get(m), "") for m in view.ratings}
    return {m: math.log(c) for m, c in prices.items() if c is not None and c > 0}


def local_scores(view: View, histories: Sequence[Sequence[Pair] | None],
                 stamps: Sequence[Sequence[int] | None], config: EagleConfig,
                 owners: Sequence[Sequence[str | None] | None] | None = None,
                 ) -> tuple[dict[str, float], dict[str, float], dict[str, float], dict[str, float]]:
    """Local ratings and their squared deviations for one query from its neighbours' (budgeted,
    :func:`~eagle_core._sources.neighbourhood`) match lists, each match weighted by its age
    (``view.clock`` minus its stamp); and the global ratings and squared deviations they started
    from (:func:`global_scores`, so a route computes them once). ``owners``: who gave each
    match; with the defence on, one source's rated answers move a local rating by at most
    ``k * source_local_budget`` points (the bound its comparisons have)."""
    now = view.clock
    ages = [None if born is None else [now - b for b in born] for born in stamps]
    ratings, rd2 = global_scores(view, config)
    local, dev = local_posterior(
        ratings, rd2, histories, ages, k=config.k, par=config.initial_rating,
        rd_local=config.rd_local, half_life=config.half_life,
        pair_weight=1.0 / max(1, len(view.ratings) - 1),
        farthest_first=config.local_order == "farthest_first", owners=owners,
        source_cap=config.k * config.source_local_budget if config.source_defence else None,
        graded=config.graded_scores and anchored(view.graders, config), dispersion=view.dispersion,
    )
    return local, dev, ratings, rd2


def serve(query: str, embedding: np.ndarray | None, view: View,
          candidates: Sequence[tuple[str, float]], costs: Mapping[str, float | None],
          pool: Sequence[str], config: EagleConfig, *,
          exploration: Exploration | None = None, pacer: BudgetPacer | None = None,
          coldstart: ColdStartEstimator | None = None, force: str | None = None,
          wtp: float | None = None, cost_weight: float | None = None, budget: float | None = None,
          degraded: bool = False, lock: Any = None) -> RouteDecision:
    """Rank ``pool`` for the query whose nearest past queries are ``candidates`` ((key, distance),
    nearest first) and pick the model to serve.

    The neighbours replayed are those :func:`~eagle_core._sources.neighbourhood` keeps (one
    feedback source holds a bounded share of the slots and carries a bounded weight).
    ``exploration=None`` serves the ranking's choice. With a
    ``pacer`` the willingness to pay is the paced one and the candidates are those whose cost keeps
    the running average within the target (the cheapest if none). ``lock`` guards the sampler and
    the pacer (the engine's lock; ``None`` for the single-threaded twin).
    """
    chosen, histories, stamps, owners = neighbourhood(candidates, view, config)
    keys = [key for key, _ in chosen]
    local, dev, ratings, rd2 = local_scores(view, histories, stamps, config, owners)
    with_prior = coldstart is not None and bool(coldstart.models)
    evidence = view.evidence() if with_prior or view.newcomers else {}  # read by priors, burn-ins
    combined = combine(ratings, local, config, coldstart, embedding, evidence)
    normalization = config.normalization
    if normalization == "auto":  # grades anchor ratings to par: q is then the predicted grade
        normalization = "expected" if anchored(view.graders, config) else "minmax"
    guard = contextlib.nullcontext() if lock is None else lock
    with guard:
        if pacer is not None and force is None:
            if cost_weight is not None:
                wtp, cost_weight = (1.0 / cost_weight if cost_weight > 0 else None), None
            wtp = pacer.willingness_to_pay(wtp, [costs[m] for m in pool])
            pool = _affordable(pool, costs, pacer.allowance())
        decision = decide(query, ratings, local, combined, costs, pool,
                          normalization=normalization, force=force, wtp=wtp,
                          cost_weight=cost_weight, budget=budget,
                          n_neighbors=len(keys), degraded=degraded, par=config.initial_rating)
        if exploration is not None and force is None:
            p = config.p
            deviation = {m: p * math.sqrt(rd2[m]) + (1 - p) * math.sqrt(dev[m]) for m in pool}
            choice, explored = explore(
                decision.model, combined, deviation, pool, config, exploration,
                decide=lambda drawn: decide(
                    query, drawn, drawn, drawn, costs, pool, normalization=normalization,
                    wtp=wtp, cost_weight=cost_weight, budget=budget, par=config.initial_rating).model,
                utilities=lambda rated: {
                    sc.model: sc.utility if sc.within_budget else -math.inf for sc in decide(
                        query, rated, rated, rated, costs, pool, normalization=normalization,
                        wtp=wtp, cost_weight=cost_weight, budget=budget,
                        par=config.initial_rating).ranking},
                newcomers={m: evidence.get(m, 0) for m in view.newcomers if m in view.ratings},
                has_prior=lambda m: coldstart is not None and m in coldstart.models,
                clock=view.clock,
            )
            if explored:
                decision = replace(decision, model=choice, explored=True)
        if pacer is not None:
            spent = costs.get(decision.model)
            pacer.observe(0.0 if spent is None else spent, decision.decision_id)
    return decision


def _affordable(pool: Sequence[str], costs: Mapping[str, float | None], allowance: float) -> list[str]:
    known = [m for m in pool if costs[m] is not None]
    within = [m for m in known if costs[m] <= allowance]  # type: ignore[operator]
    if within:
        return within
    return [min(known, key=lambda m: (costs[m], m))] if known else list(pool)


class Server:
    """This process's serving state: the exploration sampler and the budget pacer (behind one short
    lock). Per worker, not in the log (the decisions themselves are kept by :mod:`._decisions`).

    Args:
        config: the engine's settings.
        target_cost_per_request: USD; pace the willingness to pay to keep the average below it.
    """

    def __init__(self, config: EagleConfig, target_cost_per_request: float | None) -> None:
        self.config = config
        self.target_cost_per_request = target_cost_per_request
        self.exploration = Exploration(config.seed)
        self.pacer = (None if target_cost_per_request is None
                      else BudgetPacer(float(target_cost_per_request), config.pacing_rate))
        self._lock = threading.Lock()  # the sampler and the pacer (a few microseconds)

    def route(self, query: str, embedding: np.ndarray | None, view: View,
              candidates: Sequence[tuple[str, float]], pool: Sequence[str], *, explore: bool,
              paced: bool = True, **rule: Any) -> RouteDecision:
        """:func:`serve` with this process's sampler and (``paced``) pacer.
        ``rule``: ``coldstart``, ``force``, ``wtp``, ``cost_weight``, ``budget``, ``degraded``."""
        costs = {m: estimate_cost(view.costs[m], query) for m in view.ratings}
        decision = serve(query, embedding, view, candidates, costs, pool, self.config,
                         exploration=self.exploration if explore else None,
                         pacer=self.pacer if paced else None,
                         lock=self._lock, **rule)
        return decision

    def settle(self, decision_id: str, cost: float) -> bool:
        """Charge the pacer ``cost`` (USD, what the answer actually cost) for one of this process's
        decisions instead of its estimate; False without a pacer or for another worker's decision."""
        if self.pacer is None:
            return False
        with self._lock:
            return self.pacer.settle(decision_id, cost)

    def on_event(self, event: Event) -> None:
        """Fold hook: a ``cost`` event another worker logged settles the decision here if this
        process routed it (settling replaces the charge, so a re-applied event changes nothing)."""
        if event.kind == "cost":
            self.settle(event.payload["decision"], float(event.payload["usd"]))
