"""The pure fold over the feedback log: global ratings, costs, match counts and per-query matches.

:class:`RatingState` does no I/O and takes no locks: the engine feeds it the events of a Chroma log,
and an in-memory replay (e.g. a numpy twin of an online benchmark) can feed it events it builds
itself. Replaying the same events in ``(ts, writer, seq)`` order always gives the same state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from types import MappingProxyType
from typing import Any

from eagle_core._config import EagleConfig
from eagle_core._costs import CostSpec, cost_from_dict
from eagle_core._elo import Pair, replay
from eagle_core._glicko import PAR, Evidence
from eagle_core._sources import SourceLedger, SourcesView
from eagle_core._store import Event, RawPair

__all__ = ["CONTROL_KINDS", "RatingState", "Snapshot", "View", "compile_pairs"]

CONTROL_KINDS = frozenset({"models", "add_model", "remove_model", "remove_source", "cost"})
"""Events that change the model set (or the sources heard) rather than carry feedback."""


@dataclass(frozen=True)
class Snapshot:
    """A copy of the global part of a :class:`RatingState` (everything but the per-query lists)."""

    last_key: tuple[int, str, int]
    ratings: dict[str, float]
    costs: dict[str, CostSpec]
    stats: dict[str, tuple[int, int, int, int]]
    n_events: int
    n_matches: int
    sources: Any = None
    """The :class:`SourceLedger`'s budgets spent (see :meth:`SourceLedger.snapshot`)."""
    evidence: Evidence | None = None
    newcomers: frozenset[str] = frozenset()
    clock: int = 0
    n_rated: int = 0
    graders: frozenset[str | None] = frozenset()


@dataclass(frozen=True)
class View:
    """What routing and the read-only properties see: the state after the last applied event or
    batch, published whole (one attribute swap), so a reader never waits on a writer.

    ``by_query`` is shared with the live state but only ever grows by replacing a query's tuple of
    matches (a rollback works on a copy), so a reader sees each query's list whole.
    """

    ratings: Mapping[str, float]
    costs: Mapping[str, CostSpec]
    stats: Mapping[str, tuple[int, int, int, int]]
    by_query: Mapping[str, tuple[Pair, ...]]
    n_events: int
    n_matches: int
    sources: SourcesView
    """Who gave each query's matches, whether any stranger gave feedback, and removed sources."""
    rd2: Mapping[str, float] = field(default_factory=dict)
    """Squared deviation of each model's global rating (:mod:`eagle_core._glicko`)."""
    born: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    """Per query, the :attr:`clock` reading when each of its matches was recorded (their age,
    for forgetting)."""
    newcomers: frozenset[str] = frozenset()
    """Models added at run time (they get a burn-in, :mod:`eagle_core._explore`)."""
    clock: int = 0
    """Feedback events that count (``n_events`` less ignored ones): the time forgetting runs on."""
    n_rated: int = 0
    """Rated answers (matches against the virtual opponent) folded so far."""
    graders: frozenset[str | None] = frozenset()
    """The sources that gave those rated answers (``None``: the operator); see
    :func:`~eagle_core._sources.anchored`."""

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(self.ratings)

    def evidence(self) -> dict[str, int]:
        """Matches played per model (the weight of a model's own ratings against a prior)."""
        return {m: s[0] for m, s in self.stats.items() if m in self.ratings}


def compile_pairs(raw: Sequence[RawPair], draw_score: float | None) -> list[Pair]:
    """Stored matches -> matches to apply: draws get ``draw_score``, or are dropped when it is None."""
    out: list[Pair] = []
    for a, b, s, w, is_draw in raw:
        if is_draw:
            if draw_score is None:
                continue
            s = draw_score
        out.append((a, b, s, w))
    return out


class RatingState:
    """Global ELO ratings and counters folded from log events, plus each query's match list.

    Args:
        config: the hyper-parameters used (initial rating, global K, draw score).
    """

    def __init__(self, config: EagleConfig) -> None:
        self.config = config
        self.ratings: dict[str, float] = {}
        self.costs: dict[str, CostSpec] = {}
        self.stats: dict[str, list[int]] = {}
        """model -> [matches, wins, losses, draws]."""
        self.by_query: dict[str, tuple[Pair, ...]] = {}
        self.born: dict[str, tuple[int, ...]] = {}
        """Per query, the :attr:`clock` before the event that added each match."""
        self.evidence = Evidence(config.rd_initial, config.half_life)
        self.newcomers: set[str] = set()
        self.n_rated = 0
        self.graders: set[str | None] = set()
        self.last_key: tuple[int, str, int] = (0, "", 0)
        self.last_ts = 0
        self.n_events = 0
        self.clock = 0
        """Feedback events that count (ignored ones, see :meth:`SourceLedger.admit`, do not age the
        others): the time forgetting (``half_life``) runs on."""
        self.n_matches = 0
        self.sources = SourceLedger(config)
        """Who gave which matches, and how much of each source's budget is spent."""

    # -- folding ---------------------------------------------------------------------------------
    def apply(self, event: Event) -> None:
        """Fold one event (feedback or a change to the model set) into the state."""
        self.last_key = max(self.last_key, event.order_key)
        self.last_ts = max(self.last_ts, event.ts)
        kind, payload = event.kind, event.payload
        if kind == "models":
            for name, cost in payload["models"].items():
                if name not in self.ratings:  # a second process creating the same store: no reset
                    self.add_model(name, cost_from_dict(cost))
        elif kind == "add_model":
            if payload["model"] not in self.ratings:  # a second add (another worker's): no reset
                if self.ratings:
                    self.newcomers.add(payload["model"])
                self.add_model(payload["model"], cost_from_dict(payload.get("cost")))
        elif kind == "remove_model":
            self.ratings.pop(payload["model"], None)
            self.costs.pop(payload["model"], None)
            self.evidence.forget(payload["model"])
            self.newcomers.discard(payload["model"])
        elif kind == "remove_source":
            self.sources.removed.add(payload["source"])  # the engine then replays the whole log
        elif kind == "cost":
            pass  # an answer's actual cost: the routing worker's budget pacer's (Server.on_event)
        else:
            self.n_events += 1
            ledger = self.sources
            if not ledger.admit(event.source, event.qkey, kind, event.pairs, event.order_key):
                ledger.ignore(event.source, event.qkey)  # a removed source, or feedback it already gave
                return
            pairs = self.compile(event.pairs)
            now = self.clock
            self.by_query[event.qkey] = self.by_query.get(event.qkey, ()) + tuple(pairs)
            self.born[event.qkey] = self.born.get(event.qkey, ()) + (now,) * len(pairs)
            self.clock += 1
            self.apply_global(ledger.weigh_global(event.source, event.qkey, pairs), now, event.source)

    def add_model(self, name: str, cost: CostSpec) -> None:
        self.ratings[name] = self.config.initial_rating
        self.costs[name] = cost
        self.stats[name] = [0, 0, 0, 0]

    def compile(self, raw: Sequence[RawPair]) -> list[Pair]:
        return compile_pairs(raw, self.config.draw_score)

    def apply_global(self, pairs: list[Pair], now: int = 0, source: str | None = None) -> None:
        """Sequential ELO with the global K, and the win / loss / draw counts. A rated answer (a
        match against :data:`~eagle_core._glicko.PAR`) moves only the rated model, by the Glicko step
        (:class:`~eagle_core._glicko.Evidence`; a stranger's is clipped to what is left of its
        movement bound, :meth:`SourceLedger.clip`); a pairwise match is evidence for both models."""
        ratings, stats = self.ratings, self.stats
        if any(b == PAR for _a, b, _s, _w in pairs):
            for a, _b, s, w in pairs:
                if a not in ratings:
                    continue
                limit = None if source is None else partial(self.sources.clip, source, a)
                self.evidence.rate(ratings, a, s, self.config.initial_rating, w, now, limit)
                self.n_rated += 1
                self.graders.add(source)
                self.n_matches += 1
                sa = stats[a]
                sa[0] += 1
                sa[1 if s > 0.5 else 2 if s < 0.5 else 3] += 1
            return
        replay(ratings, pairs, self.config.effective_global_k)
        share = 1.0 / max(1, len(ratings) - 1)
        for a, b, s, w in pairs:
            if a not in ratings or b not in ratings:
                continue
            self.evidence.pair(a, b, w * share, now)
            self.n_matches += 1
            sa, sb = stats[a], stats[b]
            sa[0] += 1
            sb[0] += 1
            if s > 0.5:
                sa[1] += 1
                sb[2] += 1
            elif s < 0.5:
                sa[2] += 1
                sb[1] += 1
            else:
                sa[3] += 1
                sb[3] += 1

    def unapply_matches(self, event: Event) -> None:
        """Remove ``event``'s matches from its query's list (the newest ones; see rolling back).
        Call :meth:`detach_queries` first so a published :class:`View` is not changed."""
        if event.kind in CONTROL_KINDS:
            return
        n = self.sources.forget_last(event.qkey)
        if n:
            matches, born = self.by_query[event.qkey], self.born[event.qkey]
            self.by_query[event.qkey], self.born[event.qkey] = matches[:-n], born[:-n]

    def detach_queries(self) -> None:
        """Give the state its own copy of the per-query index (before anything is removed)."""
        self.by_query = dict(self.by_query)
        self.born = dict(self.born)
        self.sources.detach()

    def view(self) -> View:
        """An immutable copy of the global state (sharing the grow-only per-query index)."""
        return View(MappingProxyType(dict(self.ratings)), MappingProxyType(dict(self.costs)),
                    MappingProxyType({m: tuple(s) for m, s in self.stats.items()}),
                    MappingProxyType(self.by_query), self.n_events, self.n_matches, self.sources.view(),
                    MappingProxyType({m: self.evidence.rd2(m, self.clock) for m in self.ratings}),
                    MappingProxyType(self.born), frozenset(self.newcomers), self.clock, self.n_rated,
                    frozenset(self.graders))

    # -- snapshots -------------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        return Snapshot(self.last_key, dict(self.ratings), dict(self.costs),
                        {m: tuple(s) for m, s in self.stats.items()}, self.n_events, self.n_matches,
                        self.sources.snapshot(), self.evidence.copy(), frozenset(self.newcomers),
                        self.clock, self.n_rated, frozenset(self.graders))

    def restore(self, snap: Snapshot) -> None:
        """Go back to ``snap`` for everything but the per-query lists (see :meth:`unapply_matches`)."""
        self.ratings, self.costs = dict(snap.ratings), dict(snap.costs)
        self.stats = {m: list(s) for m, s in snap.stats.items()}
        self.n_events, self.n_matches, self.last_key = snap.n_events, snap.n_matches, snap.last_key
        self.sources.restore(snap.sources)
        if snap.evidence is not None:
            self.evidence = snap.evidence.copy()
        self.newcomers = set(snap.newcomers)
        self.clock, self.n_rated = snap.clock, snap.n_rated
        self.graders = set(snap.graders)
