"""``Eagle.audit``: which neighbours and which feedback sources moved a routing decision.

Each source's influence is measured by leaving it out: the local ratings are computed again, as
routing does (:func:`~eagle_core._serving.local_scores`), without that source's matches (budgets
applied as in routing), and the difference per model is its
push. The global part is what the source spent of its global budget (``EagleConfig.source_budget``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eagle_core._config import EagleConfig
from eagle_core._decision import RouteDecision
from eagle_core._serving import local_scores
from eagle_core._sources import SourceLedger, local_histories, neighbourhood
from eagle_core._state import View

__all__ = ["Audit", "AuditNeighbour", "SourceInfluence", "build_audit"]


@dataclass(frozen=True)
class AuditNeighbour:
    """One past query replayed for the audited query."""

    query_key: str
    distance: float
    sources: tuple[str | None, ...]
    """Who gave feedback on it (None = the operator's own feedback)."""
    n_matches: int


@dataclass(frozen=True)
class SourceInfluence:
    """What one source did to the audited decision."""

    source: str | None
    neighbours: int
    """How many of the replayed neighbours it gave feedback on."""
    local_delta: dict[str, float]
    """model -> local rating with this source's matches minus without them (ELO points)."""
    global_units: float | None
    """Units of its feedback counted in the global ratings (None for the operator's own: all)."""
    given_units: float | None
    """Units of feedback it gave; beyond its budget they stay in the log but do not count globally."""

    @property
    def push(self) -> float:
        """The largest move it made to one model's local rating (absolute ELO points)."""
        return max((abs(v) for v in self.local_delta.values()), default=0.0)


@dataclass(frozen=True)
class Audit:
    """Why a query is routed where it is: the decision, the neighbours replayed and the sources
    that moved it, most influential first."""

    query: str
    decision: RouteDecision
    neighbours: tuple[AuditNeighbour, ...]
    sources: tuple[SourceInfluence, ...]
    removed_sources: tuple[str, ...]


def build_audit(decision: RouteDecision, candidates: Sequence[tuple[str, float]], view: View,
                ledger: SourceLedger, config: EagleConfig) -> Audit:
    """The audit of ``decision`` from the neighbour candidates of its query, on the published
    ``view``; ``ledger`` (read under the engine's lock) gives each source's budget spent."""
    chosen, histories, stamps, owners = neighbourhood(candidates, view, config)
    segments = view.sources.segments
    keys = [k for k, _ in chosen]
    neighbours = []
    count: dict[str | None, int] = {}
    for key, dist in chosen:
        who = tuple(dict.fromkeys(src for src, n, _ in segments.get(key, ()) if n))
        neighbours.append(AuditNeighbour(key, float(dist), who, len(view.by_query.get(key) or ())))
        for src in who:
            count[src] = count.get(src, 0) + 1
    with_all = local_scores(view, histories, stamps, config, owners)[0]
    influences = []
    for src, n in count.items():
        without, born, who = local_histories(keys, view.by_query, segments, config, without=src,
                                             born=view.born)
        rest = local_scores(view, without, born, config, who)[0]
        delta = {m: with_all[m] - rest[m] for m in view.ratings}
        given = None if src is None else ledger.given.get(src, 0.0)
        counted = ledger.spent.get(src, 0.0) if config.source_defence and src is not None else given
        influences.append(SourceInfluence(src, n, delta, counted, given))
    influences.sort(key=lambda i: (-i.push, str(i.source)))
    return Audit(decision.query, decision, tuple(neighbours), tuple(influences),
                 tuple(sorted(view.sources.removed)))
