"""Bounding what one feedback source (a user, tenant or API key) can do to the ratings.

Feedback recorded with ``source=None`` is the operator's own and counts in full, as it always did.
Feedback with a source is a stranger's, and the defence (``EagleConfig.source_defence``) bounds it:

* **Units.** An event's weight in *units* is the most it can move any one model: the largest total
  match weight that involves one model (a comparison or a thumb = 1, a score set over M models =
  M - 1). So "worst beats best" 1,000 times and 100 score sets "worst 1, everyone else 0" cost the
  attacker the same budget per unit of push.
* **Global budget.** A source's events count in the global ratings until it has spent
  ``source_budget`` units; later ones are scaled down to what is left, then to zero. One source's
  pairwise matches thus move any global rating by at most ``global_k * source_budget`` ELO points,
  whatever it sends and however it varies the text.
* **Global movement bound.** A rated answer (a thumb or score against par) moves a model by the
  Glicko step (:mod:`eagle_core._glicko`), which can be hundreds of points while the model is
  uncertain, so a units budget alone does not bound it. Each source therefore also has
  ``global_k * source_budget`` points per model to move it by: its rated answers' global steps
  are clipped to what is left (in absolute points, whatever their sign). Its rated answers and its
  comparisons thus share one bound per model. Both budgets are spent in log order, so every
  replay agrees.
* **Local budget.** In one route's local replay, each source's matches together carry at most
  ``source_local_budget`` units (its matches are scaled by ``budget / its units there``), and one
  source fills at most ``source_neighbor_share`` of the N neighbour slots (when it holds more of the
  N nearest, the search is repeated for ``OVERFETCH`` x N candidates, so a flood of texts near one
  topic cannot crowd the other neighbours out). A removed source's queries hold no slots. Its
  rated answers move a model's local rating by at most ``k * source_local_budget`` points in one
  replay (:func:`~eagle_core._glicko.local_posterior` clips them, as :meth:`SourceLedger.clip` does
  globally), the bound its pairwise matches have.
* **Duplicates.** The same feedback (same source, text, kind and matches) counts once.
* **Removal.** ``remove_source`` logs an event; every replay then ignores all of that source's
  feedback, before and after the removal.

Everything here is a pure function of the events folded so far, so reopening the store or syncing
from another worker reproduces it exactly.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from eagle_core._config import EagleConfig
from eagle_core._elo import Pair
from eagle_core._errors import InvalidFeedbackError
from eagle_core._glicko import LABEL, clip_step

__all__ = [
    "MAX_SOURCE_LENGTH",
    "OVERFETCH",
    "Neighbourhood",
    "Segment",
    "SourceLedger",
    "SourcesView",
    "anchored",
    "cap_neighbours",
    "check_source",
    "crowded",
    "event_units",
    "local_histories",
    "neighbourhood",
    "search",
]

logger = logging.getLogger(__name__)

MAX_SOURCE_LENGTH = 256
OVERFETCH = 4
"""When one source crowds the N nearest (:func:`crowded`), the search is repeated for this many times
N candidates, so :func:`cap_neighbours` can skip its extra queries and still fill N slots."""
MIN_GRADERS = 3
"""Strangers (distinct sources) whose rated answers make the log count as graded when the operator
has rated none (:func:`anchored`)."""
Segment = tuple[str | None, int, float]
"""A run of one event's matches in a query's match list: (source, number of matches, units)."""


@dataclass(frozen=True)
class SourcesView:
    """What routing reads of the ledger, published with the state's view (never waits on a writer).
    ``segments`` is shared with the ledger but only grows by replacing a query's tuple."""

    segments: Mapping[str, tuple[Segment, ...]]
    strangers: bool
    """Whether any feedback with a source is stored (if not, nothing is capped)."""
    removed: frozenset[str]


def check_source(source: Any) -> str | None:
    """``source=`` of a ``record_*`` call: None (the operator's own feedback) or a non-empty id."""
    if source is None:
        return None
    if not isinstance(source, str) or not source.strip() or len(source) > MAX_SOURCE_LENGTH:
        raise InvalidFeedbackError(
            f"source must be None (your own, trusted feedback) or a non-empty string of at most "
            f"{MAX_SOURCE_LENGTH} characters naming the user, tenant or API key that gave it; "
            f"got {type(source).__name__} {source!r}"
        )
    return source


def event_units(pairs: Iterable[Pair]) -> float:
    """The most one event can move any one model: max over models of its total match weight (a
    score set's labelled grades, matches against :data:`~eagle_core._glicko.LABEL`, restate its
    pairwise matches and add nothing)."""
    load: dict[str, float] = {}
    for a, b, _s, w in pairs:
        if b == LABEL:
            continue
        load[a] = load.get(a, 0.0) + w
        load[b] = load.get(b, 0.0) + w
    return max(load.values(), default=0.0)


def scaled(pairs: Sequence[Pair], factor: float) -> list[Pair]:
    if factor >= 1.0:
        return list(pairs)
    return [(a, b, s, w * factor) for a, b, s, w in pairs]


def fingerprint(source: str, qkey: str, kind: str, raw: Any) -> str:
    return hashlib.sha256(repr((source, qkey, kind, raw)).encode("utf-8")).hexdigest()[:32]


class SourceLedger:
    """Per-source accounting folded with the log (see the module docs).

    ``removed`` must be filled (from the log's ``remove_source`` events) before the feedback is
    folded; the engine re-folds the whole log when a removal arrives.
    """

    def __init__(self, config: EagleConfig) -> None:
        self.config = config
        self.removed: set[str] = set()
        self.spent: dict[str, float] = {}
        """source -> units counted in the global ratings so far."""
        self.given: dict[str, float] = {}
        """source -> units of (non-duplicate) feedback given so far."""
        self.moved: dict[tuple[str, str], float] = {}
        """(source, model) -> points its rated answers moved the model's global rating (absolute)."""
        self.first_seen: dict[str, tuple[int, str, int]] = {}
        """fingerprint -> order key of its first event (a rollback never needs to undo it)."""
        self.segments: dict[str, tuple[Segment, ...]] = {}
        """query key -> who gave its matches, in the order of the query's match list (a query's
        tuple is replaced, never changed: published views share this dict)."""

    @property
    def active(self) -> bool:
        return self.config.source_defence

    def admit(self, source: str | None, qkey: str, kind: str, raw: Any,
              order_key: tuple[int, str, int]) -> bool:
        """False if the event is to be ignored: its source was removed, or it repeats earlier feedback."""
        if source is None:
            return True
        if source in self.removed:
            return False
        if not self.active:
            return True
        fp = fingerprint(source, qkey, kind, raw)
        first = self.first_seen.get(fp)
        if first is None or order_key <= first:
            self.first_seen[fp] = order_key
            return True
        return False

    def weigh_global(self, source: str | None, qkey: str, pairs: list[Pair]) -> list[Pair]:
        """Record who gave ``pairs`` (for local replays) and return them as they count globally."""
        units = event_units(pairs)
        self.segments[qkey] = self.segments.get(qkey, ()) + ((source, len(pairs), units),)
        if source is None:
            return pairs
        self.given[source] = self.given.get(source, 0.0) + units
        if not self.active:
            return pairs
        spent = self.spent.get(source, 0.0)
        left = max(0.0, self.config.source_budget - spent)
        factor = 1.0 if units <= left else (left / units if units > 0 else 1.0)
        self.spent[source] = spent + units * factor
        return scaled(pairs, factor)

    def clip(self, source: str | None, model: str, step: float,
             moved: dict[tuple[str, str], float] | None = None) -> float:
        """The part of a rated answer's global ``step`` on ``model`` that ``source`` may still make:
        at most ``global_k * source_budget`` points per model in all (the operator's: all of it).
        ``moved``: the ledger of moves to spend from (default this ledger's; the graded global
        track keeps its own, :class:`~eagle_core._state.GradedRatings`)."""
        if source is None or not self.active:
            return step
        cap = self.config.effective_global_k * self.config.source_budget
        return clip_step(self.moved if moved is None else moved, (source, model), step, cap)

    def ignore(self, source: str | None, qkey: str) -> None:
        """An event that adds no matches (see :meth:`admit`) still holds its place for rolling back."""
        self.segments[qkey] = self.segments.get(qkey, ()) + ((source, 0, 0.0),)

    def forget_last(self, qkey: str) -> int:
        """Undo the last segment of ``qkey`` (rolling back an event); returns its match count.
        Call :meth:`detach` first so a published view is not changed."""
        segs = self.segments[qkey]
        self.segments[qkey] = segs[:-1]
        return segs[-1][1]

    def detach(self) -> None:
        """Own a copy of the segments index (before rolling back: published views keep theirs)."""
        self.segments = dict(self.segments)

    def view(self) -> SourcesView:
        return SourcesView(MappingProxyType(self.segments), bool(self.given), frozenset(self.removed))

    def snapshot(self) -> tuple[dict[str, float], dict[str, float], dict[tuple[str, str], float]]:
        return dict(self.spent), dict(self.given), dict(self.moved)

    def restore(self, snap: tuple[dict[str, float], dict[str, float], dict[tuple[str, str], float]] | None
                ) -> None:
        spent, given, moved = snap if snap is not None else ({}, {}, {})
        self.spent, self.given, self.moved = dict(spent), dict(given), dict(moved)


def anchored(graders: frozenset[str | None], config: EagleConfig) -> bool:
    """Whether rated answers anchor the ratings to grades (``normalization="auto"`` then scores by
    the predicted grade instead of min-max). The switch changes every route, so with the defence on
    one stranger cannot flip it: it takes the operator's rated answers or :data:`MIN_GRADERS`
    distinct sources."""
    if not config.source_defence:
        return bool(graders)
    return None in graders or len(graders) >= MIN_GRADERS


def owner(segments: Sequence[Segment]) -> str | None:
    """The one source that gave all of a query's feedback, or None (the operator's, or several)."""
    owners = {src for src, _, _ in segments}
    return next(iter(owners)) if len(owners) == 1 else None


def crowded(candidates: Sequence[tuple[str, float]], sources: SourcesView, config: EagleConfig) -> bool:
    """True when one source holds more than its share of these neighbour slots (or a removed source
    holds any): the search then fetches more candidates so :func:`cap_neighbours` can still fill N
    slots with other queries."""
    return len(cap_neighbours(candidates, sources, config.n_neighbors, config)) < len(candidates)


def search(nearest: Callable[[Any, int], list[tuple[str, float]]], embedding: Any, view: Any,
           config: EagleConfig, down: bool) -> tuple[list[tuple[str, float]], bool]:
    """The ``n_neighbors`` nearest past queries by ``nearest(embedding, k)`` (nearest first), or
    ``OVERFETCH`` times more when one source holds more than its share of them (:func:`crowded`);
    and whether the store is down. A store known to be ``down`` is not asked, and one that fails
    gives no neighbours (the route falls back to global ratings) instead of failing the route."""
    n, known = config.n_neighbors, len(view.by_query)
    if n == 0 or not known:
        return [], False
    if down:  # no waiting on a store known to be down (the warning was logged once)
        return [], True
    try:
        found = nearest(embedding, min(n, known))
        if len(found) < known and crowded(found, view.sources, config):
            found = nearest(embedding, min(n * OVERFETCH, known))
    except Exception as exc:  # degraded mode: never fail a route because the store is down
        logger.warning("neighbour search failed (%s); routing on global ratings only", exc)
        return [], True
    return found, False


def cap_neighbours(candidates: Sequence[tuple[str, float]], sources: SourcesView, n: int,
                   config: EagleConfig) -> list[tuple[str, float]]:
    """The ``n`` nearest of ``candidates`` (nearest first), skipping queries whose feedback all comes
    from a removed source, and with at most ``source_neighbor_share * n`` slots held by queries whose
    feedback all comes from one source (when the defence is on)."""
    if not sources.strangers and not sources.removed:  # only the operator's feedback: nothing to cap
        return list(candidates[:n])
    slots = max(1, int(config.source_neighbor_share * n)) if config.source_defence else n
    held: dict[str, int] = {}
    out = []
    for key, dist in candidates:
        src = owner(sources.segments.get(key, ()))
        if src is not None:
            if src in sources.removed or held.get(src, 0) >= slots:
                continue
            held[src] = held.get(src, 0) + 1
        out.append((key, dist))
        if len(out) == n:
            break
    return out


_EVERYONE: Any = object()
Histories = tuple[list[Sequence[Pair]], list[Sequence[int] | None], list[Sequence[str | None] | None]]
"""(match lists, each match's clock reading, each match's source), as :func:`local_histories`
returns them."""


def local_histories(keys: Sequence[str], by_query: Mapping[str, Sequence[Pair]],
                    segments: Mapping[str, Sequence[Segment]], config: EagleConfig,
                    without: str | None = _EVERYONE,
                    born: Mapping[str, Sequence[int]] | None = None,
                    ) -> Histories:
    """The neighbours' match lists (nearest first) with every source's total capped at
    ``source_local_budget`` units in this neighbourhood, (from ``born``) the clock reading of
    each of those matches, for forgetting (None where unknown), and who gave each match (None
    where all of a list is the operator's), so the local replay can bound each source's moves.
    ``without``: leave one source out (audit)."""
    born = born or {}
    rows = [(by_query.get(k) or (), segments.get(k) or (), born.get(k)) for k in keys]
    factor: dict[str | None, float] = {}
    if config.source_defence:
        units: dict[str, float] = {}
        for _, segs, _b in rows:
            for src, _, u in segs:
                if src is not None:
                    units[src] = units.get(src, 0.0) + u
        budget = config.source_local_budget
        factor = {s: budget / u for s, u in units.items() if u > budget}
    out: list[Sequence[Pair]] = []
    stamps: list[Sequence[int] | None] = []
    owners: list[Sequence[str | None] | None] = []
    for pairs, segs, when in rows:
        who: list[str | None] = []
        if not factor and without is _EVERYONE:
            out.append(pairs)
            stamps.append(when)
            for src, n, _ in segs:
                who.extend([src] * n)
            owners.append(who if any(who) else None)
            continue
        hist: list[Pair] = []
        kept: list[int] = []
        pos = 0
        for src, n, _ in segs:
            chunk = pairs[pos : pos + n]
            if src != without:
                hist.extend(scaled(chunk, factor.get(src, 1.0)))
                who.extend([src] * n)
                if when is not None:
                    kept.extend(when[pos : pos + n])
            pos += n
        out.append(hist)
        stamps.append(kept if when is not None else None)
        owners.append(who if any(who) else None)
    return out, stamps, owners


Neighbourhood = tuple[list[tuple[str, float]], list[Sequence[Pair]], list[Sequence[int] | None],
                      list[Sequence[str | None] | None]]
"""(neighbours replayed, their budgeted match lists, each match's clock reading, each match's
source), as :func:`neighbourhood` returns it."""


def neighbourhood(candidates: Sequence[tuple[str, float]], view: Any, config: EagleConfig) -> Neighbourhood:
    """The neighbours a route replays (:func:`cap_neighbours`), their budgeted match lists, each
    match's clock reading (:func:`local_histories`) and its source, from a published
    :class:`~eagle_core._state.View` of the state."""
    sources = view.sources
    chosen = cap_neighbours(candidates, sources, config.n_neighbors, config)
    keys = [k for k, _ in chosen]
    if not sources.strangers:  # only the operator's feedback: nothing to budget
        return (chosen, [view.by_query.get(k) or () for k in keys], [view.born.get(k) for k in keys],
                [None] * len(keys))
    histories, born, owners = local_histories(keys, view.by_query, sources.segments, config, born=view.born)
    return chosen, histories, born, owners
