"""Exploration: which model to *serve* when the best estimate might be wrong.

The deterministic ranking (``RouteDecision.ranking``) orders models by their combined rating. For
serving, each model's combined rating has a deviation (:mod:`eagle_core._glicko`: how much evidence
its global rating and this query's neighbourhood hold); Thompson sampling draws a plausible rating
from N(combined, (scale * deviation)^2) per model and applies the same cost rule to the draws (UCB
adds ``scale * deviation`` instead). A model that is rarely tried near this query has a wide
deviation, so it is sometimes served where it might win; as evidence accumulates the draws agree
with the ranking and exploration fades. Bounds: at most ``max_explore_share`` of the routes may
differ from the ranking's choice, and the draws see only the candidates the budget allows.

The share explored is paced by the feedback that comes back (:func:`explore_share`): with every
served answer rated at once, at most ``explore_share`` of the routes; when only a share rho of the
routes has brought a rating back (sparse ratings, or ratings still on their way), at most
``explore_share / rho``, never more than ``max_explore_share``. An explored answer that is never
rated buys nothing, so it takes 1/rho explored routes to buy what one buys with full feedback;
while the posterior stays wide for lack of ratings, a fixed share would ration exactly the
exploration Thompson sampling asks for (docs/METHOD.md, "Exploration under sparse feedback").

Optionally the share also fades with the evidence (``explore_fade``, off by default;
:func:`rival_evidence`): on each route it is multiplied by the mean deviation, over
``rd_initial``, of the leader's plausible rivals near the query, the models that could still beat
it. With many models Thompson's draws nearly always put *some* model above the leader, so without
this the bound, not the posterior, sets how much is explored; scaled, the bound tightens as the
rivals are rated or ruled out, and reaches 0 where none is left.

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
        self.start: int | None = None  # the feedback clock at this sampler's first route

    def feedback_rate(self, clock: int) -> float:
        """Feedback events folded since this sampler's first route per route served before this
        one, at most 1 (1 before the first route: nothing is pending yet). ``clock``: the fold's
        :attr:`~eagle_core._state.View.clock`. Feedback other workers give counts too, so with
        several workers the rate is over-estimated: the share falls back towards
        ``explore_share``, the cautious side."""
        if self.start is None:
            self.start = clock
        if self.routes == 0:
            return 1.0
        return min(1.0, max(0, clock - self.start) / self.routes)

    @property
    def share(self) -> float:
        """Share of explore-enabled routes that served something other than the ranking's choice."""
        return self.explored / self.routes if self.routes else 0.0


def explore(greedy: str, combined: Mapping[str, float], deviation: Mapping[str, float],
            pool: Sequence[str], config: EagleConfig, state: Exploration, *,
            decide: Callable[[Mapping[str, float]], str],
            utilities: Callable[[Mapping[str, float]], Mapping[str, float]] | None = None,
            newcomers: Mapping[str, int], has_prior: Callable[[str], bool],
            clock: int | None = None) -> tuple[str, bool]:
    """The model to serve and whether it was explored.

    ``greedy``: the ranking's choice among ``pool``; ``decide(ratings)`` applies the cost rule to
    other ratings; ``utilities(ratings)``: each model's utility under the cost rule at those
    ratings (for :func:`rival_evidence`; ``None``: the share does not fade);
    ``newcomers``: models added at run time -> their rated answers so far;
    ``clock``: feedback events folded so far (``None``: pace as if every answer were rated).
    """
    z = state.rng.standard_normal(len(pool))  # drawn on every route: one sequence per seed
    rate = 1.0 if clock is None else state.feedback_rate(clock)
    state.routes += 1
    forced = _burn_in(greedy, combined, deviation, pool, config, state, newcomers, has_prior)
    if forced is not None:
        state.forced[forced] = state.forced.get(forced, 0) + 1
        state.explored += 1
        return forced, True
    evidence = rival_evidence(greedy, combined, deviation, pool, config, utilities)
    if state.explored + 1 > explore_share(config, rate, evidence) * state.routes:
        return greedy, False
    scale = config.explore_scale
    if config.exploration == "ucb":
        drawn = {m: combined[m] + scale * deviation[m] for m in pool}
    else:
        drawn = {m: combined[m] + scale * deviation[m] * float(zi) for m, zi in zip(pool, z, strict=True)}
    choice = decide(drawn)
    if choice == greedy:
        return greedy, False
    state.explored += 1
    return choice, True


def rival_evidence(greedy: str, combined: Mapping[str, float], deviation: Mapping[str, float],
                   pool: Sequence[str], config: EagleConfig,
                   utilities: Callable[[Mapping[str, float]], Mapping[str, float]] | None) -> float:
    """How little is known about the models that could still beat the leader here, in [0, 1]:
    the mean deviation of its plausible rivals over ``rd_initial`` (1 with ``explore_fade`` off
    or no ``utilities``). A rival is plausible if its utility under the cost rule at rating +
    deviation reaches the leader's at rating - deviation (one call of the cost rule with the leader
    low and every other model high); with none left the leader is settled and the factor is 0."""
    if not config.explore_fade or utilities is None:
        return 1.0
    u = utilities({m: combined[m] + (-1.0 if m == greedy else 1.0) * deviation[m] for m in pool})
    rivals = [deviation[m] for m in pool if m != greedy and u[m] >= u[greedy]]
    if not rivals:
        return 0.0
    return min(1.0, float(np.mean(rivals)) / config.rd_initial)


def explore_share(config: EagleConfig, rate: float, evidence: float = 1.0) -> float:
    """Largest share of routes that may be explored, the one formula of the bound::

        share = evidence * min(max_explore_share, explore_share / rate)

    (``max_explore_share`` alone when it is the smaller of the two settings). ``rate``: the share
    of routes that has brought a rating back; ``evidence``: :func:`rival_evidence` (1 = nothing
    known about the leader's rivals). Both only shrink or widen the same running share, and the
    result never exceeds ``max_explore_share``.

    Why 1/rate: exploration buys ratings, and with a share rho of answers rated an explored route
    buys rho of one. In the explore-then-commit analysis of a K-armed bandit with gap Delta, the
    tries that make the right choice likely number ~ log(.)/Delta^2 *ratings* per model, i.e.
    ~ 1/(rho Delta^2) routes: the share of routes worth exploring grows as 1/rho. A rating that
    is late counts as missing until it arrives, so the first routes of a deployment whose
    ratings lag get the wider share too, and it narrows as the ratings come back.

    Why the rivals' deviation: what is left to learn here is how the plausible rivals compare
    with the leader; their deviation shrinks as 1/sqrt(ratings), so the share falls as their
    evidence grows and reaches 0 once none of them can plausibly win (forgetting regrows the
    deviations, and with them the share, when evidence ages)."""
    base, bound = config.explore_share, config.max_explore_share
    paced = bound if base >= bound or rate * bound <= base else base / rate
    return evidence * paced


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
