"""Exploration: which model to *serve* when the best estimate might be wrong.

The deterministic ranking (``RouteDecision.ranking``) orders models by their combined rating. For
serving, each model's combined rating has a deviation (:mod:`eagle_core._glicko`: how much evidence
its global rating and this query's neighbourhood hold); Thompson sampling draws a plausible rating
from N(combined, (scale * deviation)^2) per model and applies the same cost rule to the draws (UCB
adds ``scale * deviation`` instead). A model that is rarely tried near this query has a wide
deviation, so it is sometimes served where it might win; as evidence accumulates the draws agree
with the ranking and exploration fades. Bounds: at most ``max_explore_share`` of the routes may
differ from the ranking's choice, not counting first tries (a draw may serve a model nobody has
rated yet, up to ``burn_in`` routes to that model), and the draws see only the candidates the
budget allows.

Newcomers (models added at run time) get a burn-in: up to ``burn_in`` forced tries until they have
that many rated answers. With a UniRoute prior (a labelled set) a try is only forced where the
prior leaves the newcomer a chance to win (its prior rating is within ``rd_local`` of the leader's).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from eagle_core._config import EagleConfig

__all__ = ["Exploration", "explore"]


class Exploration:
    """The serving side's random state and counters (in memory, per engine; not in the log).

    Args:
        seed: seed of the sampler (``None`` = fresh entropy).
    """

    def __init__(self, seed: int | None) -> None:
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.routes = 0
        self.explored = 0
        self.forced: dict[str, int] = {}
        self.served: dict[str, int] = {}
        self.first_tries = 0

    @property
    def share(self) -> float:
        """Share of explore-enabled routes that served something other than the ranking's choice."""
        return self.explored / self.routes if self.routes else 0.0


def explore(greedy: str, combined: Mapping[str, float], deviation: Mapping[str, float],
            pool: Sequence[str], config: EagleConfig, state: Exploration, *,
            decide: Callable[[Mapping[str, float]], str],
            newcomers: Mapping[str, int], has_prior: Callable[[str], bool],
            evidence: Mapping[str, int] | None = None) -> tuple[str, bool]:
    """The model to serve and whether it was explored.

    ``greedy``: the ranking's choice among ``pool``; ``decide(ratings)`` applies the cost rule to
    other ratings; ``newcomers``: models added at run time -> their rated answers so far;
    ``evidence``: matches per model (a draw may serve a model with none past the share bound,
    :func:`_unrated`).
    """
    z = state.rng.standard_normal(len(pool))  # drawn on every route: one sequence per seed
    state.routes += 1
    forced = _burn_in(greedy, combined, deviation, pool, config, state, newcomers, has_prior)
    if forced is not None:
        state.forced[forced] = state.forced.get(forced, 0) + 1
        state.explored += 1
        return _served(state, forced), True
    capped = state.explored - state.first_tries + 1 > config.max_explore_share * state.routes
    if capped and evidence is None:
        return _served(state, greedy), False
    scale = config.explore_scale
    if config.exploration == "ucb":
        drawn = {m: combined[m] + scale * deviation[m] for m in pool}
    else:
        drawn = {m: combined[m] + scale * deviation[m] * float(zi) for m, zi in zip(pool, z, strict=True)}
    choice = decide(drawn)
    first_try = choice != greedy and _unrated(choice, evidence, state, config)
    if choice == greedy or (capped and not first_try):
        return _served(state, greedy), False
    state.first_tries += first_try
    state.explored += 1
    return _served(state, choice), True


def _served(state: Exploration, model: str) -> str:
    state.served[model] = state.served.get(model, 0) + 1
    return model


def _unrated(model: str, evidence: Mapping[str, int] | None, state: Exploration,
             config: EagleConfig) -> bool:
    """Whether a draw may serve ``model`` outside the share bound (a *first try*, not counted in
    the share): nobody has rated it yet and this worker has served it fewer than ``burn_in`` times.
    The share bound keeps exploration among models with evidence cheap; a model with none cannot
    be judged until it is tried (the reason a newcomer gets a burn-in). Its routes count whether
    or not their ratings have come back, as delayed-feedback bandits count pending pulls: with
    sparse, late ratings a model is not served dozens of times before its first rating lands."""
    if evidence is None or evidence.get(model, 0) > 0:
        return False
    return state.served.get(model, 0) < config.burn_in


def _burn_in(greedy: str, combined: Mapping[str, float], deviation: Mapping[str, float],
             pool: Sequence[str], config: EagleConfig, state: Exploration,
             newcomers: Mapping[str, int], has_prior: Callable[[str], bool]) -> str | None:
    for model, rated in newcomers.items():
        if model not in pool or model == greedy:
            continue
        if rated >= config.burn_in or state.forced.get(model, 0) >= config.burn_in:
            continue
        if has_prior(model) and combined[model] + config.rd_local < combined[greedy]:
            continue
        return model
    return None
