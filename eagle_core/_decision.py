"""What ``Eagle.route`` returns: the choice, the full ranking and an id for later feedback."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

__all__ = ["ModelScore", "RouteDecision"]


@dataclass(frozen=True)
class ModelScore:
    """One model's scores for one query."""

    model: str
    global_rating: float
    """Global ELO rating (all feedback so far)."""
    local_rating: float
    """Rating after replaying the nearest past queries' comparisons on top of the global ratings."""
    combined: float
    """P * global + (1 - P) * local."""
    normalized: float
    """Combined score mapped to [0, 1] (see ``EagleConfig.normalization``): the q of the cost rule."""
    cost: float | None
    """Estimated USD for this prompt (``None`` = unknown cost)."""
    utility: float
    """What the choice maximised: q*lambda - cost, q - w*cost, or q (no cost rule)."""
    within_budget: bool
    """False when a budget was given and this model's cost exceeds it (or is unknown)."""


@dataclass(frozen=True)
class RouteDecision:
    """The routing decision for one query."""

    model: str
    """The chosen model."""
    decision_id: str
    """Pass to ``Eagle.record_feedback`` to give feedback without resending the text."""
    query: str
    ranking: tuple[ModelScore, ...]
    """Every candidate, best first."""
    n_neighbors: int
    """How many past queries the local rating used."""
    willingness_to_pay: float | None = None
    cost_weight: float | None = None
    budget: float | None = None
    forced: bool = False
    """True when the caller forced the model."""
    degraded: bool = False
    """True when the store could not be searched and only global ratings were used."""
    explored: bool = False
    """True when ``model`` was served to learn (an exploration draw or a newcomer's burn-in try)
    rather than as ``ranking[0]``, the deterministic best."""

    @property
    def scores(self) -> dict[str, ModelScore]:
        return {s.model: s for s in self.ranking}

    @property
    def chosen(self) -> ModelScore:
        return self.scores[self.model]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form, e.g. for run metadata in tracing. Every field is a scalar or the
        ranking, so a shallow read per field gives what ``dataclasses.asdict`` gives, ~10x faster."""
        data = {name: getattr(self, name) for name in _DECISION_FIELDS}
        data["ranking"] = [{name: getattr(s, name) for name in _SCORE_FIELDS} for s in self.ranking]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RouteDecision:
        """The inverse of :meth:`to_dict` (decisions stored for feedback from another worker)."""
        ranking = tuple(ModelScore(**s) for s in data["ranking"])
        return cls(**{**data, "ranking": ranking})


_SCORE_FIELDS = tuple(f.name for f in fields(ModelScore))
_DECISION_FIELDS = tuple(f.name for f in fields(RouteDecision))
