"""The routing maths, as pure functions: local ratings, the combined score and the cost-aware choice.

Eagle (arXiv 2409.15518): the local rating starts from the global ratings and replays the matches of
the nearest past queries; the score is ``P*global + (1-P)*local``; models added with a labelled set
get UniRoute's prior blended in (:meth:`ColdStartEstimator.blend_ratings`). The choice then
maximises ``q*willingness_to_pay - cost``, ``q - cost_weight*cost`` or plain ``q`` over the
candidates within budget, where q is the combined score normalised to [0, 1].
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from eagle_core._config import EagleConfig
from eagle_core._decision import ModelScore, RouteDecision
from eagle_core._elo import normalize
from eagle_core._errors import ConfigError
from eagle_core._numbers import is_finite_number

if TYPE_CHECKING:
    from eagle_core.uniroute import ColdStartEstimator

__all__ = ["check_one_rule", "check_rule", "combine", "decide"]

logger = logging.getLogger(__name__)


def combine(global_ratings: Mapping[str, float], local: Mapping[str, float], config: EagleConfig,
            coldstart: ColdStartEstimator | None = None, embedding: np.ndarray | None = None,
            evidence: Mapping[str, int] | None = None) -> dict[str, float]:
    """P*global + (1-P)*local; models added with labelled prompts get UniRoute's prior rating for
    this query blended in, weighted by their own evidence (matches n: weight n / (n + n0))."""
    p = config.p
    combined = {m: p * global_ratings[m] + (1 - p) * local[m] for m in global_ratings}
    if coldstart is not None and coldstart.models and embedding is not None:
        combined = coldstart.blend_ratings(embedding, combined, dict(evidence or {}))
    return combined


def check_rule(wtp: Any, cost_weight: Any, budget: Any) -> None:
    """Validate the cost rule's arguments (finite, >= 0, not both wtp and cost_weight)."""
    for label, value in (("willingness_to_pay", wtp), ("cost_weight", cost_weight), ("budget", budget)):
        if value is None:
            continue
        if not is_finite_number(value) or value < 0:
            raise ConfigError(f"{label} must be a finite number >= 0, got {value!r}")
    check_one_rule(cost_weight, wtp)


def check_one_rule(cost_weight: Any, willingness_to_pay: Any) -> None:
    """The two cost rules are one rule in two scales: at most one may be given."""
    if cost_weight is not None and willingness_to_pay is not None:
        raise ConfigError(
            "give cost_weight or willingness_to_pay, not both (cost_weight = 1 / "
            f"willingness_to_pay); got {cost_weight!r} and {willingness_to_pay!r}"
        )


def decide(query: str, global_ratings: Mapping[str, float], local: Mapping[str, float],
           combined: Mapping[str, float], costs: Mapping[str, float | None], pool: Sequence[str],
           *, normalization: str, force: str | None = None, wtp: float | None = None,
           cost_weight: float | None = None, budget: float | None = None, n_neighbors: int = 0,
           degraded: bool = False, par: float = 1500.0) -> RouteDecision:
    """Rank ``pool`` by the cost rule and pick the best (or ``force``; or, when nothing is within
    ``budget``, the cheapest model of known cost)."""
    q = normalize(combined, normalization, par)
    cost_aware = wtp is not None or cost_weight is not None or budget is not None
    scores = []
    for m in pool:
        cost = costs[m]
        if wtp is not None:
            utility = -math.inf if cost is None else q[m] * wtp - cost
        elif cost_weight is not None:
            utility = -math.inf if cost is None else q[m] - cost_weight * cost
        else:
            utility = q[m]
        within = budget is None or (cost is not None and cost <= budget)
        scores.append(ModelScore(m, global_ratings[m], local[m], combined[m], q[m], cost,
                                 utility, within))
    if cost_aware:
        unknown = [s.model for s in scores if s.cost is None]
        if unknown:
            logger.warning("models %s have an unknown cost and are skipped by the cost rule", unknown)
        if len(unknown) == len(scores):
            raise ConfigError(
                f"every candidate {list(pool)} has an unknown cost, so willingness_to_pay / "
                "cost_weight / budget cannot be applied; give the models costs or route without a "
                "cost rule"
            )
    ranking = sorted(scores, key=_rank_key)
    chosen = force or ranking[0].model
    if budget is not None and not ranking[0].within_budget and force is None:
        cheapest = min((s for s in scores if s.cost is not None), key=lambda s: (s.cost, s.model))
        logger.warning("no model costs <= budget %g; using the cheapest, %s", budget, cheapest.model)
        chosen = cheapest.model
    return RouteDecision(
        model=chosen, decision_id=uuid.uuid4().hex, query=query, ranking=tuple(ranking),
        n_neighbors=n_neighbors, willingness_to_pay=wtp, cost_weight=cost_weight, budget=budget,
        forced=force is not None, degraded=degraded,
    )


def _rank_key(score: ModelScore) -> tuple[Any, ...]:
    cost = math.inf if score.cost is None else score.cost
    return (not score.within_budget, -score.utility, cost, score.model)
