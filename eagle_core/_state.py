"""The pure fold over the feedback log: global ratings, costs, match counts and per-query matches.

:class:`RatingState` does no I/O and takes no locks: the engine feeds it the events of a Chroma log,
and an in-memory replay (e.g. a numpy twin of an online benchmark) can feed it events it builds
itself. Replaying the same events in ``(ts, writer, seq)`` order always gives the same state.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from types import MappingProxyType
from typing import Any

from eagle_core._config import EagleConfig
from eagle_core._costs import CostSpec, cost_from_dict
from eagle_core._elo import Pair, replay
from eagle_core._event import Event, RawPair
from eagle_core._feedback import split_scores
from eagle_core._glicko import LABEL, PAR, Dispersion, Evidence
from eagle_core._sources import SourceLedger, SourcesView, anchored

__all__ = ["CONTROL_KINDS", "GradedRatings", "RatingState", "Snapshot", "View", "compile_pairs",
           "fold_pairwise", "fold_rated"]

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
    graded: GradedRatings | None = None
    dispersion: Dispersion | None = None


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
    dispersion: float = 1.0
    """A rated answer's weight is divided by this (:class:`~eagle_core._glicko.Dispersion`)."""

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


def fold_rated(ratings: dict[str, float], evidence: Evidence, pairs: Sequence[Pair], par: float,
               now: int, clip: Callable[[str, float], float] | None,
               dispersion: float = 1.0) -> list[Pair]:
    """Rated answers (matches against :data:`~eagle_core._glicko.PAR`) by the Glicko step, each
    on its model only, with weight w / ``dispersion``; ``clip(model, step)``: a stranger's bound
    (``None``: the operator's, all of it). Returns the answers folded (those on known models).
    One fold for both global tracks."""
    folded = []
    for a, b, s, w in pairs:
        if a not in ratings:
            continue
        evidence.rate(ratings, a, s, par, w / dispersion, now,
                      None if clip is None else partial(clip, a))
        folded.append((a, b, s, w))
    return folded


def fold_pairwise(ratings: dict[str, float], evidence: Evidence, pairs: Sequence[Pair], k: float,
                  now: int) -> list[Pair]:
    """Pairwise matches by sequential ELO at ``k``, each evidence for both models (a model's share
    of the field). Returns the matches folded (those between known models)."""
    replay(ratings, pairs, k)
    share = 1.0 / max(1, len(ratings) - 1)
    folded = [p for p in pairs if p[0] in ratings and p[1] in ratings]
    for a, b, _s, w in folded:
        evidence.pair(a, b, w * share, now)
    return folded


class GradedRatings:
    """The global ratings and evidence with score sets read as grades (``EagleConfig.graded_scores``).

    The same fold as :meth:`RatingState.apply_global` (rated answers by the Glicko step, pairwise
    matches by ELO at the global K), except that a score set of grades counts as one rated answer
    per model against :data:`~eagle_core._glicko.PAR` instead of its pairwise matches: a model
    that scored g on a labelled query is moved towards ``SCALE * logit(g)`` above par and gains
    that answer's information, exactly as if its served answer had been rated g. Routing reads
    these once rated answers anchor the log (:func:`~eagle_core._sources.anchored`); without
    score sets they equal the pairwise fold's ratings step for step. A stranger's rated answers
    here are clipped by the same per-model movement bound (``global_k * source_budget`` points)
    as in the pairwise fold, on a ledger of their own.
    """

    def __init__(self, config: EagleConfig) -> None:
        self.config = config
        self.ratings: dict[str, float] = {}
        self.evidence = Evidence(config.rd_initial, config.half_life)
        self.moved: dict[tuple[str, str], float] = {}

    def copy(self) -> GradedRatings:
        other = GradedRatings(self.config)
        other.ratings, other.evidence = dict(self.ratings), self.evidence.copy()
        other.moved = dict(self.moved)
        return other

    def add_model(self, name: str) -> None:
        self.ratings[name] = self.config.initial_rating

    def remove_model(self, name: str) -> None:
        self.ratings.pop(name, None)
        self.evidence.forget(name)

    def rate(self, pairs: Sequence[Pair], now: int, clip: Callable[[str, float], float] | None,
             dispersion: float = 1.0) -> None:
        """Rated answers (matches against PAR): the Glicko step (:func:`fold_rated`)."""
        fold_rated(self.ratings, self.evidence, pairs, self.config.initial_rating, now, clip, dispersion)

    def follow(self, pairs: Sequence[Pair], now: int, clip: Callable[[str, float], float] | None,
               dispersion: float = 1.0) -> None:
        """Any other feedback, folded as :meth:`RatingState.apply_global` folds it."""
        if any(b == PAR for _a, b, _s, _w in pairs):
            self.rate(pairs, now, clip, dispersion)
            return
        fold_pairwise(self.ratings, self.evidence, pairs, self.config.effective_global_k, now)


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
        self.graded: GradedRatings | None = GradedRatings(config) if config.graded_scores else None
        """Global ratings with score sets read as grades (routing's once rated answers anchor the
        log); None with ``graded_scores=False``."""
        self.dispersion = Dispersion(config.grade_dispersion)
        """How much less graded answers vary than thumbs (their weight is divided by it)."""

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
            if self.graded is not None:
                self.graded.remove_model(payload["model"])
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
            raw, grades = split_scores(event.pairs) if kind == "scores" else (event.pairs, [])
            pairs = self.compile(raw)
            if self.graded is not None and grades:  # kept for the graded local replay
                pairs += [(a, LABEL, s, w) for a, _b, s, w in self.compile(grades)]
            now = self.clock
            self.by_query[event.qkey] = self.by_query.get(event.qkey, ()) + tuple(pairs)
            self.born[event.qkey] = self.born.get(event.qkey, ()) + (now,) * len(pairs)
            self.clock += 1
            weighted = ledger.weigh_global(event.source, event.qkey, pairs)
            phi = self.dispersion.value  # this event's answers are folded with the estimate before it
            self.observe_grades(weighted)
            labelled = [p for p in weighted if p[1] == LABEL]
            if labelled:
                weighted = [p for p in weighted if p[1] != LABEL]
            self.apply_global(weighted, now, event.source, phi)
            if self.graded is not None:  # a stranger's steps: bounded on the graded track's own moves
                clip = None if event.source is None or not ledger.active else partial(
                    ledger.clip, event.source, moved=self.graded.moved)
                if labelled:  # a score set of grades: one rated answer per model
                    self.graded.rate(labelled, now, clip, phi)
                else:
                    self.graded.follow(weighted, now, clip, phi)

    def observe_grades(self, pairs: Sequence[Pair]) -> None:
        """Feed the rated answers and labelled grades in ``pairs`` (budget-weighted) to the
        dispersion estimate, each against the rating of the track that folds it."""
        par = self.config.initial_rating
        for a, b, s, w in pairs:
            if b == PAR and a in self.ratings:
                self.dispersion.observe(s, self.ratings[a], par, w)
            elif b == LABEL and self.graded is not None and a in self.graded.ratings:
                self.dispersion.observe(s, self.graded.ratings[a], par, w)

    def add_model(self, name: str, cost: CostSpec) -> None:
        self.ratings[name] = self.config.initial_rating
        self.costs[name] = cost
        self.stats[name] = [0, 0, 0, 0]
        if self.graded is not None:
            self.graded.add_model(name)

    def compile(self, raw: Sequence[RawPair]) -> list[Pair]:
        return compile_pairs(raw, self.config.draw_score)

    def apply_global(self, pairs: list[Pair], now: int = 0, source: str | None = None,
                     dispersion: float = 1.0) -> None:
        """Sequential ELO with the global K, and the win / loss / draw counts. A rated answer (a
        match against :data:`~eagle_core._glicko.PAR`) moves only the rated model, by the Glicko step
        (:class:`~eagle_core._glicko.Evidence`; a stranger's is clipped to what is left of its
        movement bound, :meth:`SourceLedger.clip`); a pairwise match is evidence for both models."""
        ratings, stats = self.ratings, self.stats
        if any(b == PAR for _a, b, _s, _w in pairs):
            clip = None if source is None else partial(self.sources.clip, source)
            for a, _b, s, _w in fold_rated(ratings, self.evidence, pairs, self.config.initial_rating,
                                           now, clip, dispersion):
                self.n_rated += 1
                self.graders.add(source)
                self.n_matches += 1
                sa = stats[a]
                sa[0] += 1
                sa[1 if s > 0.5 else 2 if s < 0.5 else 3] += 1
            return
        for a, b, s, _w in fold_pairwise(ratings, self.evidence, pairs, self.config.effective_global_k,
                                         now):
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

    @property
    def reads_grades(self) -> bool:
        """Whether routing reads score sets as grades: ``graded_scores`` and the log is anchored."""
        return self.graded is not None and anchored(frozenset(self.graders), self.config)

    def routed(self) -> tuple[dict[str, float], Evidence]:
        """The global ratings and evidence routing reads: the graded ones (:class:`GradedRatings`)
        once rated answers anchor the log, else the pairwise fold's."""
        if self.graded is not None and self.reads_grades:
            return self.graded.ratings, self.graded.evidence
        return self.ratings, self.evidence

    def view(self) -> View:
        """An immutable copy of the global state (sharing the grow-only per-query index)."""
        ratings, evidence = self.routed()
        return View(MappingProxyType(dict(ratings)), MappingProxyType(dict(self.costs)),
                    MappingProxyType({m: tuple(s) for m, s in self.stats.items()}),
                    MappingProxyType(self.by_query), self.n_events, self.n_matches, self.sources.view(),
                    MappingProxyType({m: evidence.rd2(m, self.clock) for m in ratings}),
                    MappingProxyType(self.born), frozenset(self.newcomers), self.clock, self.n_rated,
                    frozenset(self.graders), self.dispersion.value)

    # -- snapshots -------------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        return Snapshot(self.last_key, dict(self.ratings), dict(self.costs),
                        {m: tuple(s) for m, s in self.stats.items()}, self.n_events, self.n_matches,
                        self.sources.snapshot(), self.evidence.copy(), frozenset(self.newcomers),
                        self.clock, self.n_rated, frozenset(self.graders),
                        None if self.graded is None else self.graded.copy(), self.dispersion.copy())

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
        self.graded = None if snap.graded is None else snap.graded.copy()  # same config: both or neither
        if snap.dispersion is not None:
            self.dispersion = snap.dispersion.copy()
