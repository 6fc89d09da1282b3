"""The Eagle router: global + local ELO over a Chroma feedback log, and a cost-aware choice."""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm.auto import tqdm

from eagle_core import _feedback as fb
from eagle_core._config import EagleConfig
from eagle_core._costs import CostSpec, cost_from_dict, cost_to_dict, estimate_cost, parse_cost
from eagle_core._decision import ModelScore, RouteDecision
from eagle_core._elo import Pair, normalize, replay
from eagle_core._embeddings import Embedder, EmbeddingCache, resolve_embedder
from eagle_core._errors import (
    ConfigError,
    EagleError,
    InvalidFeedbackError,
    StoreMismatchError,
    StoreUnavailableError,
    UnknownDecisionError,
)
from eagle_core._leaderboard import Leaderboard, LeaderboardRow
from eagle_core._store import Event, FeedbackStore, RawPair, event_id, query_key

if TYPE_CHECKING:
    from eagle_core._uniroute import ColdStartEstimator

__all__ = ["Eagle"]

_CONTROL_KINDS = frozenset({"models", "add_model", "remove_model"})

logger = logging.getLogger(__name__)

_COLLECTION_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,400}[a-zA-Z0-9]$")
_SYNC_WINDOW_NS = 30 * 10**9
"""Re-read window of :meth:`Eagle.sync`: events stamped up to this long before the last sync are
fetched again, so a slow writer in another process is not missed."""
_CHECKPOINT_EVERY = 256
"""Applied events between two snapshots of the global state (see :meth:`Eagle._reorder`)."""
_REORDER_HORIZON_NS = 2 * _SYNC_WINDOW_NS
"""How far back (in event time) snapshots and events are kept for re-ordering late events in memory;
a later-arriving event older than that makes :meth:`Eagle.sync` re-read the whole log instead."""
_REPAIR_GRACE_NS = 10 * 10**9
"""A query another worker logged this long ago must be in the neighbour index by now (its worker
writes it right behind the log); :meth:`Eagle.sync` re-indexes it from the log if not."""
_MAX_RECENT = 20_000
"""At most about this many recent events are kept for that (bounds memory under heavy writing)."""


class Eagle:
    """Training-free router (arXiv 2409.15518) that learns from pairwise feedback.

    Parameters are stored as given; nothing is opened or loaded until the first call that needs the
    store or the embedder (or :meth:`open`). All public methods are safe to call from several threads.

    Args:
        models: model name -> cost: USD per call, a :class:`TokenCost`, a dict of token prices, or
            ``None`` (unknown: such a model is skipped whenever a cost rule or budget is used).
            ``None`` reopens an existing store with the models recorded in it.
        path: directory of a persistent store (``chromadb.PersistentClient``); ``None`` and no
            ``client`` gives an in-memory store private to this engine.
        client: any chromadb client (e.g. ``chromadb.HttpClient``) instead of ``path``.
        collection: prefix of the two Chroma collections (``<collection>_log``, ``<collection>_queries``).
        embedder: see :func:`eagle_core.resolve_embedder`; ``None`` = bundled all-MiniLM-L6-v2.
        config: hyper-parameters; ``EagleConfig()`` (validated defaults) or ``EagleConfig.paper()``.
    """

    def __init__(
        self,
        models: Mapping[str, Any] | None = None,
        *,
        path: str | Path | None = None,
        client: Any = None,
        collection: str = "eagle",
        embedder: Any = None,
        config: EagleConfig | None = None,
    ) -> None:
        self.path = path
        self.client = client
        self.collection = collection
        self.embedder = embedder
        self.config = config
        self._initial_costs = _check_models(models)
        if path is not None and client is not None:
            raise ConfigError(f"give path= or client=, not both; got path={path!r} and client={client!r}")
        if not isinstance(collection, str) or not _COLLECTION_RE.match(collection):
            raise ConfigError(
                "collection must be 3-400 characters from [a-zA-Z0-9._-], starting and ending with a "
                f"letter or digit; got {collection!r}"
            )
        if config is not None and not isinstance(config, EagleConfig):
            raise ConfigError(f"config must be an EagleConfig, got {type(config).__name__} {config!r}")
        self._cfg = config or EagleConfig()
        self._lock = threading.RLock()
        self._open = False
        self._store: FeedbackStore | None = None
        self._cache: EmbeddingCache | None = None
        self._writer = uuid.uuid4().hex[:12]
        self._reset_state()
        self._decisions: OrderedDict[str, RouteDecision] = OrderedDict()
        self._hidden: frozenset[str] = frozenset()
        self._unchecked: dict[str, tuple[str, int]] = {}  # other workers' new queries (see sync)

    # ------------------------------------------------------------------ state ----------------------
    def _reset_state(self) -> None:
        self._ratings: dict[str, float] = {}
        self._costs: dict[str, CostSpec] = {}
        self._stats: dict[str, list[int]] = {}
        self._by_query: dict[str, list[Pair]] = {}
        self._seen: set[str] = set()
        self._last_key: tuple[int, str, int] = (0, "", 0)
        self._last_ts = 0
        self._seq = 0
        self._n_events = 0
        self._n_matches = 0
        self._last_sync = time.monotonic()
        self._sync_from = 0
        # recent events, and snapshots of the state before recent[idx] (see _reorder)
        self._recent: list[Event] = []
        self._checkpoints: list[tuple[int, tuple[Any, ...]]] = [(0, self._snapshot())]
        self._coldstart: ColdStartEstimator | None = None

    def _snapshot(self) -> tuple[Any, ...]:
        return (self._last_key, dict(self._ratings), dict(self._costs),
                {m: list(s) for m, s in self._stats.items()}, self._n_events, self._n_matches)

    @property
    def models(self) -> tuple[str, ...]:
        """The models this engine routes among, in the order they were added: the store's models
        except those left out of ``models=`` when it was opened."""
        self.open()
        with self._lock:  # a sync may be replaying the log (rebuilding _ratings) in another thread
            return tuple(m for m in self._ratings if m not in self._hidden)

    @property
    def costs(self) -> dict[str, CostSpec]:
        """Current cost spec per model."""
        self.open()
        with self._lock:
            return dict(self._costs)

    @property
    def ratings(self) -> dict[str, float]:
        """Current global ELO ratings."""
        self.open()
        with self._lock:
            return dict(self._ratings)

    @property
    def n_feedback(self) -> int:
        """Number of feedback events (comparisons, score sets, thumbs) in the log."""
        self.open()
        return self._n_events

    @property
    def n_comparisons(self) -> int:
        """Number of pairwise matches applied to the global ratings."""
        self.open()
        return self._n_matches

    @property
    def n_queries(self) -> int:
        """Number of distinct queries with feedback."""
        self.open()
        return len(self._by_query)

    @property
    def settings(self) -> EagleConfig:
        """The effective configuration (``config`` or the defaults)."""
        return self._cfg

    # ------------------------------------------------------------------ opening --------------------
    def open(self) -> Eagle:
        """Connect to Chroma, load the embedder and replay the log (done lazily otherwise)."""
        if self._open:
            return self
        with self._lock:
            if self._open:
                return self
            embedder = resolve_embedder(self.embedder)
            cache = EmbeddingCache(embedder, self._cfg.embedding_cache_size)
            store = FeedbackStore(self._make_client(), self._collection_name(),
                                  decision_retention=self._cfg.decision_retention)
            store.open(embedder.name, cache.dim)
            self._cache, self._store = cache, store
            self._load()
            self._open = True
        return self

    def _make_client(self) -> Any:
        if self.client is not None:
            return self.client
        import chromadb
        from chromadb.config import Settings

        settings = Settings(anonymized_telemetry=False)
        if self.path is not None:
            Path(self.path).mkdir(parents=True, exist_ok=True)
            return chromadb.PersistentClient(path=str(self.path), settings=settings)
        return chromadb.EphemeralClient(settings=settings)

    def _collection_name(self) -> str:
        if self.path is None and self.client is None:
            # In-memory clients share one process-wide state: keep each engine's store private.
            return f"{self.collection}-{uuid.uuid4().hex[:8]}"
        return self.collection

    def _load(self, *, reopen: bool = False) -> None:
        """Replay the whole log. ``reopen``: a re-read by :meth:`sync` on a store already open here
        (models added or removed by other processes are expected; no repair of the index)."""
        assert self._store is not None
        events = self._store.load()
        self._reset_state()
        for event in events:
            self._apply(event)
        given = self._initial_costs
        if reopen:
            self._apply_caller_costs()
            return
        if not events:
            if not given:
                raise ConfigError(
                    f"models must name at least one model to create the new store {self.collection!r}, "
                    f"got {given!r}"
                )
            payload = {"models": {m: cost_to_dict(c) for m, c in given.items()}}
            self._commit_control("models", payload)
        elif given is not None:
            unknown = sorted(set(given) - set(self._ratings))
            if unknown:
                raise StoreMismatchError(
                    f"store {self.collection!r} holds models {sorted(self._ratings)}, but models= also "
                    f"names {unknown}; add them with eagle.add_model(name, cost) (or pass models=None "
                    "to use the stored ones)"
                )
            self._costs.update(given)  # prices change: the caller's current costs win
            self._hidden = frozenset(self._ratings) - frozenset(given)
            if self._hidden:
                logger.info("store %r also holds models %s; routing among %s only",
                            self.collection, sorted(self._hidden), list(given))
        self._repair_index(events)
        self._sync_from = max(0, self._last_ts - _SYNC_WINDOW_NS)
        logger.info("opened store %r: %d events, %d queries, models %s",
                    self.collection, self._n_events, len(self._by_query), list(self._ratings))

    def _repair_index(self, events: Iterable[Event]) -> None:
        """A crash (or a store down) before the write behind the log leaves queries unindexed."""
        assert self._store is not None
        texts = {e.qkey: e.text for e in events if e.qkey and e.qkey in self._by_query}
        self._store.repair_index(texts, self._cache.embed_many, complete=True)  # type: ignore[union-attr]

    # ------------------------------------------------------------------ replay ---------------------
    def _apply(self, event: Event) -> None:
        """Fold one log event into the in-memory state (global ratings, per-query matches)."""
        self._track(event)
        self._seen.add(event.id)
        self._last_key = max(self._last_key, event.order_key)
        self._last_ts = max(self._last_ts, event.ts)
        if event.writer == self._writer:
            self._seq = max(self._seq, event.seq)
        kind, payload = event.kind, event.payload
        if kind == "models":
            for name, cost in payload["models"].items():
                if name not in self._ratings:  # a second process creating the same store: no reset
                    self._add_state(name, cost_from_dict(cost))
            return
        if kind == "add_model":
            self._add_state(payload["model"], cost_from_dict(payload.get("cost")))
            if payload.get("labelled"):
                texts, scores = zip(*payload["labelled"], strict=True)
                self._register_labelled(payload["model"], list(texts), list(scores))
            return
        if kind == "remove_model":
            self._ratings.pop(payload["model"], None)
            self._costs.pop(payload["model"], None)
            if self._coldstart is not None and payload["model"] in self._coldstart.models:
                self._coldstart.remove_model(payload["model"])
            return
        pairs = self._compile(event.pairs)
        self._by_query.setdefault(event.qkey, []).extend(pairs)
        self._n_events += 1
        self._apply_global(pairs)

    def _track(self, event: Event) -> None:
        """Remember ``event`` (and every ``_CHECKPOINT_EVERY`` events a snapshot of the state before
        it) so a late event from another process can be slotted in without re-reading the store."""
        if len(self._recent) - self._checkpoints[-1][0] >= _CHECKPOINT_EVERY:
            self._checkpoints.append((len(self._recent), self._snapshot()))
            horizon = event.ts - _REORDER_HORIZON_NS
            drop = 0
            cps = self._checkpoints
            while drop + 1 < len(cps) and (cps[drop + 1][1][0][0] < horizon
                                           or len(self._recent) - cps[drop][0] > _MAX_RECENT):
                drop += 1
            if drop:
                cut = self._checkpoints[drop][0]
                del self._recent[:cut]
                self._checkpoints = [(i - cut, snap) for i, snap in self._checkpoints[drop:]]
        self._recent.append(event)

    def _reorder(self, new: list[Event]) -> bool:
        """Apply ``new`` events (sorted) of which some order before events already applied: roll back
        to the last snapshot before them and re-apply everything after it in (ts, writer, seq) order.
        Returns False when no snapshot is old enough (the caller then replays the whole log)."""
        first = new[0].order_key
        pos = len(self._checkpoints) - 1
        while pos >= 0 and not self._checkpoints[pos][1][0] < first:
            pos -= 1
        if pos < 0:
            return False
        idx, (key, ratings, costs, stats, n_events, n_matches) = self._checkpoints[pos]
        tail = self._recent[idx:]
        for event in reversed(tail):  # undo the per-query match lists, newest first
            if event.kind not in _CONTROL_KINDS:
                matches = self._by_query[event.qkey]
                del matches[len(matches) - len(self._compile(event.pairs)) :]
        self._ratings, self._costs = dict(ratings), dict(costs)
        self._stats = {m: list(s) for m, s in stats.items()}
        self._n_events, self._n_matches, self._last_key = n_events, n_matches, key
        del self._recent[idx:]
        del self._checkpoints[pos + 1 :]
        for event in sorted(tail + new, key=lambda e: e.order_key):
            self._apply(event)
        self._apply_caller_costs()
        return True

    def _apply_caller_costs(self) -> None:
        """Prices change: the costs given to this engine win over the stored ones (as at open)."""
        if self._initial_costs is not None:
            self._costs.update({m: c for m, c in self._initial_costs.items() if m in self._ratings})

    def _add_state(self, name: str, cost: CostSpec) -> None:
        self._ratings[name] = self._cfg.initial_rating
        self._costs[name] = cost
        self._stats[name] = [0, 0, 0, 0]

    def _compile(self, raw: Sequence[RawPair]) -> list[Pair]:
        draw = self._cfg.draw_score
        out: list[Pair] = []
        for a, b, s, w, is_draw in raw:
            if is_draw:
                if draw is None:
                    continue
                s = draw
            out.append((a, b, s, w))
        return out

    def _apply_global(self, pairs: list[Pair]) -> None:
        replay(self._ratings, pairs, self._cfg.effective_global_k)
        stats = self._stats
        for a, b, s, _w in pairs:
            if a not in self._ratings or b not in self._ratings:
                continue
            self._n_matches += 1
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

    # ------------------------------------------------------------------ routing --------------------
    def route(
        self,
        query: str,
        *,
        willingness_to_pay: float | None = None,
        cost_weight: float | None = None,
        budget: float | None = None,
        candidates: Sequence[str] | None = None,
        force: str | None = None,
    ) -> RouteDecision:
        """Pick a model for ``query``.

        The choice maximises, over the candidates within ``budget`` (USD per call):
        ``q * willingness_to_pay - cost`` (RouterBench's rule), or ``q - cost_weight * cost``
        (the same rule with cost_weight = 1/willingness_to_pay), or plain ``q`` when neither is given.
        ``q`` is the combined Eagle score normalised to [0, 1]. ``force`` picks a model regardless
        (the ranking is still computed, e.g. for logging).
        """
        self.open()
        query = fb.check_query(query)
        _check_rule(willingness_to_pay, cost_weight, budget)
        pool = self._candidates(candidates)
        if force is not None:
            fb.check_model(force, self.models, "force")
        self._maybe_sync()
        embedding = self._cache.embed_one(query)  # type: ignore[union-attr]
        neighbours, degraded = self._neighbours(embedding)
        with self._lock:
            global_ratings = dict(self._ratings)
            costs = {m: estimate_cost(self._costs[m], query) for m in global_ratings}
            histories = [self._by_query.get(key) for key, _ in neighbours]
        local = self._local(global_ratings, histories)
        combined = self._combine(global_ratings, local, embedding)
        decision = self._decide(query, global_ratings, local, combined, costs, pool, force,
                                willingness_to_pay, cost_weight, budget, len(neighbours), degraded)
        with self._lock:
            self._decisions[decision.decision_id] = decision
            while len(self._decisions) > self._cfg.max_decisions:
                self._decisions.popitem(last=False)
        self._store.put_decision(decision.decision_id, decision.to_dict())  # type: ignore[union-attr]
        return decision

    async def aroute(self, query: str, **kwargs: Any) -> RouteDecision:
        """:meth:`route` in a worker thread (embedding and Chroma calls never block the loop)."""
        return await asyncio.to_thread(functools.partial(self.route, query, **kwargs))

    def _candidates(self, candidates: Sequence[str] | None) -> list[str]:
        models = self.models
        if candidates is None:
            return list(models)
        if isinstance(candidates, str) or not isinstance(candidates, Sequence) or not candidates:
            raise ConfigError(
                f"candidates must be a non-empty list of model names, got {candidates!r}"
            )
        return [fb.check_model(m, models, "candidate") for m in dict.fromkeys(candidates)]

    def _neighbours(self, embedding: np.ndarray) -> tuple[list[tuple[str, float]], bool]:
        n = self._cfg.n_neighbors
        with self._lock:
            known = len(self._by_query)
        if n == 0 or not known:
            return [], False
        try:
            return self._store.nearest(embedding, min(n, known)), False  # type: ignore[union-attr]
        except Exception as exc:  # degraded mode: never fail a route because the store is down
            logger.warning("neighbour search failed (%s); routing on global ratings only", exc)
            return [], True

    def _local(self, ratings: dict[str, float], histories: list[list[Pair] | None]) -> dict[str, float]:
        """Start from the global ratings and replay the neighbours' matches (see ``local_order``)."""
        local = dict(ratings)
        ordered = histories[::-1] if self._cfg.local_order == "farthest_first" else histories
        k = self._cfg.k
        for pairs in ordered:
            if pairs:
                replay(local, pairs, k)
        return local

    def _combine(self, global_ratings: dict[str, float], local: dict[str, float],
                 embedding: np.ndarray) -> dict[str, float]:
        """P*global + (1-P)*local; models added with labelled prompts get UniRoute's prior rating for
        this query blended in, weighted by their own evidence (matches n: weight n / (n + n0))."""
        p = self._cfg.p
        combined = {m: p * global_ratings[m] + (1 - p) * local[m] for m in global_ratings}
        coldstart = self._coldstart
        if coldstart is not None and coldstart.models:
            with self._lock:
                evidence = {m: self._stats[m][0] for m in combined if m in self._stats}
            combined = coldstart.blend_ratings(embedding, combined, evidence)
        return combined

    def _decide(self, query: str, global_ratings: dict[str, float], local: dict[str, float],
                combined: dict[str, float], costs: dict[str, float | None], pool: list[str],
                force: str | None, wtp: float | None, cost_weight: float | None,
                budget: float | None, n_neighbors: int, degraded: bool) -> RouteDecision:
        q = normalize(combined, self._cfg.normalization)
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
                    f"every candidate {pool} has an unknown cost, so willingness_to_pay / cost_weight / "
                    "budget cannot be applied; give the models costs or route without a cost rule"
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

    def decision(self, decision_id: str) -> RouteDecision:
        """A decision by id: one of this engine's last ``max_decisions``, or one any worker on the
        same store routed within ``decision_retention`` (waiting up to ``decision_wait`` seconds
        for a decision the routing worker has not written yet)."""
        with self._lock:
            found = self._decisions.get(decision_id) if isinstance(decision_id, str) else None
        if found is None and isinstance(decision_id, str) and self._cfg.decision_retention is not None:
            self.open()
            data = self._store.wait_decision(decision_id, self._cfg.decision_wait)  # type: ignore[union-attr]
            found = None if data is None else RouteDecision.from_dict(data)
        if found is None:
            raise UnknownDecisionError(
                f"decision_id {decision_id!r} is neither one of this engine's last "
                f"{self._cfg.max_decisions} decisions nor in the store after waiting "
                f"{self._cfg.decision_wait} s (decisions are kept {self._cfg.decision_retention} s); "
                "give feedback with record_comparison(query, ...) instead, or raise "
                "EagleConfig.decision_retention / decision_wait"
            )
        return found

    # ------------------------------------------------------------------ feedback -------------------
    def record_comparison(self, query: str, winner: str, loser: str, *, tie: bool = False,
                          idempotency_key: str | None = None) -> str:
        """``winner``'s answer to ``query`` beat ``loser``'s (or they drew, ``tie=True``); returns the
        event id once the feedback is durably stored.

        ``idempotency_key`` (any string unique to this piece of feedback, e.g. a request id): a
        call repeated with the same key is stored and counted once, so a call that raised can be
        retried safely. Every ``record_*`` takes it."""
        self.open()
        query = fb.check_query(query)
        pairs = fb.comparison_pairs(winner, loser, tie, self.models)
        return self._record("comparison", query, pairs, key=idempotency_key)

    def record_scores(self, query: str, scores: Mapping[str, float], *,
                      idempotency_key: str | None = None) -> str:
        """Per-model scores for one query: every pair of models becomes one match."""
        self.open()
        query = fb.check_query(query)
        return self._record("scores", query, fb.score_pairs(scores, self.models), key=idempotency_key)

    def record_thumbs(self, query: str, model: str, up: bool | float = True, *,
                      idempotency_key: str | None = None) -> str:
        """A thumb up/down (or a score in [0, 1]) on ``model``'s answer; see module docs for the maths."""
        self.open()
        query = fb.check_query(query)
        return self._record("thumbs", query, fb.thumbs_pairs(model, up, self.models), key=idempotency_key)

    def record_feedback(
        self,
        decision_id: str,
        *,
        thumbs: bool | str | None = None,
        score: float | None = None,
        better: str | None = None,
        worse: str | None = None,
        tie: str | None = None,
        scores: Mapping[str, float] | None = None,
        idempotency_key: str | None = None,
    ) -> str:
        """Feedback on an earlier decision, without resending the text. Give exactly one of:
        ``thumbs`` (True/False or "up"/"down") or ``score`` in [0, 1] on the chosen model;
        ``better="x"`` (x's answer beat the chosen one), ``worse="x"`` (the chosen beat x),
        ``tie="x"``; or ``scores`` for several models."""
        given = {k: v for k, v in dict(thumbs=thumbs, score=score, better=better, worse=worse,
                                       tie=tie, scores=scores).items() if v is not None}
        if len(given) != 1:
            raise InvalidFeedbackError(
                "record_feedback takes exactly one of thumbs, score, better, worse, tie, scores; "
                f"got {sorted(given) or 'none'}"
            )
        decision = self.decision(decision_id)
        models, chosen = self.models, decision.model
        kind, pairs = _decision_pairs(given, chosen, models)
        return self._record(kind, decision.query, pairs, decision_id=decision.decision_id,
                            key=idempotency_key)

    def record_many(self, items: Iterable[Mapping[str, Any]], *, batch_size: int = 256,
                    progress: bool = True) -> int:
        """Bulk import: every item is validated first (nothing is written if one is bad), then
        texts are embedded and stored batch by batch. Returns how many items are stored. If the
        store fails, the :class:`StoreUnavailableError` says in ``n_stored`` how many were stored
        (and applied) before it: retry ``items[n_stored:]``, or all of them if every item has an
        ``"idempotency_key"`` (items with a key already stored are counted once)."""
        self.open()
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"batch_size must be an int >= 1, got {batch_size!r}")
        models = self.models
        parsed = []
        for i, item in enumerate(items):
            try:
                kind, query, pairs = fb.parse_item(item, models)
                key = _check_key(item.get("idempotency_key"))
            except EagleError as exc:
                raise type(exc)(f"record_many item {i}: {exc}") from None
            parsed.append((kind, query, pairs, key))
        bar = tqdm(total=len(parsed), desc="recording feedback", unit="item", disable=not progress)
        stored = 0
        try:
            for start in range(0, len(parsed), batch_size):
                batch = parsed[start : start + batch_size]
                embeddings = self._cache.embed_many([q for _, q, _, _ in batch], remember=False)  # type: ignore[union-attr]
                try:
                    self._commit([(kind, q, pairs, "", key) for kind, q, pairs, key in batch], embeddings)
                except StoreUnavailableError as exc:
                    done = stored + exc.n_stored
                    raise StoreUnavailableError(
                        f"record_many stored {done} of {len(parsed)} items, then: {exc}", n_stored=done
                    ) from exc
                stored += len(batch)
                bar.update(len(batch))
        finally:
            bar.close()
        return stored

    async def arecord_comparison(self, query: str, winner: str, loser: str, *, tie: bool = False,
                                 idempotency_key: str | None = None) -> str:
        return await asyncio.to_thread(functools.partial(
            self.record_comparison, query, winner, loser, tie=tie, idempotency_key=idempotency_key))

    async def arecord_scores(self, query: str, scores: Mapping[str, float], *,
                             idempotency_key: str | None = None) -> str:
        return await asyncio.to_thread(functools.partial(
            self.record_scores, query, scores, idempotency_key=idempotency_key))

    async def arecord_thumbs(self, query: str, model: str, up: bool | float = True, *,
                             idempotency_key: str | None = None) -> str:
        return await asyncio.to_thread(functools.partial(
            self.record_thumbs, query, model, up, idempotency_key=idempotency_key))

    async def arecord_feedback(self, decision_id: str, **kwargs: Any) -> str:
        return await asyncio.to_thread(functools.partial(self.record_feedback, decision_id, **kwargs))

    async def arecord_many(self, items: Iterable[Mapping[str, Any]], **kwargs: Any) -> int:
        return await asyncio.to_thread(functools.partial(self.record_many, list(items), **kwargs))

    def _record(self, kind: str, query: str, pairs: tuple[RawPair, ...], *, decision_id: str = "",
                key: str | None = None) -> str:
        key = _check_key(key)
        embedding = self._cache.embed_one(query)  # type: ignore[union-attr]
        return self._commit([(kind, query, pairs, decision_id, key)], embedding[None, :])[0]

    def _commit(self, items: list[tuple[str, str, tuple[RawPair, ...], str, str | None]],
                embeddings: np.ndarray) -> list[str]:
        """Stamp, store (durably: the log write is the commit) and then apply a batch of events,
        under the lock so the log order is the order in which they were applied. Events whose id is
        already applied (an idempotency key seen before) are skipped. If the store fails, the events
        it stored before failing are applied (they are in the log) and the error says how many."""
        assert self._store is not None
        with self._lock:
            events, vecs, new_queries, ids, batch = [], [], [], [], set()
            seq0 = self._seq
            for (kind, query, pairs, decision_id, ikey), vec in zip(items, embeddings, strict=True):
                qkey = query_key(query)
                event = self._stamp(kind, qkey, pairs, {}, decision_id, ikey, query)
                ids.append(event.id)
                if event.id in self._seen or event.id in batch:
                    self._seq -= 1  # already stored: counted once
                    continue
                batch.add(event.id)
                events.append(event)
                vecs.append(vec)
                if qkey not in self._by_query and all(qkey != k for k, _, _ in new_queries):
                    new_queries.append((qkey, vec, query))
            if not events:
                return ids
            vectors = np.stack(vecs).astype(np.float32)
            try:
                self._store.append(events, vectors, [e.text for e in events], new_queries)
            except StoreUnavailableError as exc:
                for event in events[: exc.n_stored]:
                    self._apply(event)
                self._seq = seq0 + exc.n_stored  # a retry reuses the ids of what was not stored
                raise
            for event in events:
                self._apply(event)
        return ids

    def _commit_control(self, kind: str, payload: dict[str, Any]) -> Event:
        assert self._store is not None
        with self._lock:
            event = self._stamp(kind, "", (), payload, "")
            try:
                self._store.append([event], self._store.unit_vector()[None, :], [""])
            except StoreUnavailableError:
                self._seq -= 1
                raise
            self._apply(event)
        return event

    def _stamp(self, kind: str, key: str, pairs: tuple[RawPair, ...], payload: dict[str, Any],
               decision_id: str, idempotency_key: str | None = None, text: str = "") -> Event:
        ts = max(time.time_ns(), self._last_ts + 1)
        self._last_ts = ts
        self._seq += 1
        return Event(id=event_id(self._writer, self._seq, idempotency_key), ts=ts, writer=self._writer,
                     seq=self._seq, kind=kind, qkey=key, pairs=pairs, payload=payload,
                     decision_id=decision_id, text=text)

    # ------------------------------------------------------------------ models at run time ---------
    def add_model(self, name: str, cost: Any = None, *,
                  labelled: Mapping[str, float] | Sequence[tuple[str, float]] | None = None) -> None:
        """Add a model; it starts at ``initial_rating`` (recorded in the log, so reopening agrees).

        ``labelled``: the new model's scores in [0, 1] on some prompts (prompt text -> score). UniRoute
        (K-means over the labelled prompts' embeddings, per-cluster mean error) then gives the model a
        per-query prior rating at once, so it is routed to on the clusters where it is strong before
        any feedback; the prior's weight fades as its own matches n accumulate (n0 / (n + n0),
        n0 = 20). See docs/METHOD.md.
        """
        self.open()
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"model name must be a non-empty string, got {name!r}")
        if name in self._ratings:
            raise ConfigError(f"model {name!r} already exists; remove_model({name!r}) first to reset it")
        spec = parse_cost(name, cost)
        payload: dict[str, Any] = {"model": name, "cost": cost_to_dict(spec)}
        if labelled is not None:
            texts, scores = _check_labelled(labelled)  # validates before anything is stored
            self.embed(texts)  # embedder errors surface here; applying the event then hits the cache
            payload["labelled"] = [[t, s] for t, s in zip(texts, scores, strict=True)]
        self._commit_control("add_model", payload)  # applying it registers the labelled set

    def _register_labelled(self, name: str, texts: list[str], scores: list[float]) -> None:
        from eagle_core._uniroute import ColdStartEstimator

        embeddings = self._cache.embed_many(texts)  # type: ignore[union-attr]
        with self._lock:
            if self._coldstart is None:
                self._coldstart = ColdStartEstimator()
            if name in self._coldstart.models:
                self._coldstart.remove_model(name)
            self._coldstart.add_model(name, embeddings, np.asarray(scores, dtype=float))

    def remove_model(self, name: str) -> None:
        """Remove a model from routing. Its past matches stay in the log (and in the other models'
        ratings); re-adding it later starts it afresh at ``initial_rating``."""
        self.open()
        fb.check_model(name, self.models)
        if len(self._ratings) == 1:
            raise ConfigError(f"cannot remove {name!r}: it is the only model; add another one first")
        self._commit_control("remove_model", {"model": name})

    # ------------------------------------------------------------------ several processes ----------
    def sync(self) -> int:
        """Fold in feedback written by other processes sharing the store; returns how many events
        were new. Late events (ordered before ones already applied) are slotted in by rolling back to
        the last in-memory snapshot before them and re-applying what follows (a full replay of the
        log only when they are older than the snapshots kept), so every process ends with the
        ratings of the log replayed in (ts, writer, seq) order."""
        self.open()
        assert self._store is not None
        started = time.time_ns()
        with self._lock:
            new = self._store.load_new(self._sync_from, self._seen)
            self._last_sync = time.monotonic()
            if new:
                if new[0].order_key < self._last_key:
                    if not self._reorder(new):
                        self._load(reopen=True)
                else:
                    for event in new:
                        self._apply(event)
            self._sync_from = max(0, min(started, self._last_ts) - _SYNC_WINDOW_NS)
        self._repair_others(new, started)
        return len(new)

    def _repair_others(self, new: list[Event], now: int) -> None:
        """Index the queries of other workers' events that are still missing from the neighbour
        index well after they were logged (that worker died before its write behind the log)."""
        waiting = self._unchecked
        waiting.update({e.qkey: (e.text, e.ts) for e in new if e.qkey and e.writer != self._writer})
        due = {k: text for k, (text, ts) in waiting.items() if now - ts > _REPAIR_GRACE_NS}
        if due and self._store is not None:
            self._store.repair_index(due, self._cache.embed_many)  # type: ignore[union-attr]
            for key in due:
                del waiting[key]

    def _maybe_sync(self) -> None:
        interval = self._cfg.sync_interval
        if interval is not None and time.monotonic() - self._last_sync >= interval:
            try:
                self.sync()
            except Exception as exc:
                logger.warning("could not read new feedback from the store (%s)", exc)
                self._last_sync = time.monotonic()

    # ------------------------------------------------------------------ reporting ------------------
    def leaderboard(self) -> Leaderboard:
        """Global ratings, best first, with match counts."""
        self.open()
        with self._lock:
            rows = [
                LeaderboardRow(m, r, *self._stats[m], cost=self._costs[m]
                               if isinstance(self._costs[m], float) else None)
                for m, r in self._ratings.items()
            ]
        rows.sort(key=lambda row: (-row.rating, row.model))
        return Leaderboard(tuple(rows))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings of ``texts`` with this engine's embedder (unit norm, cached by text)."""
        self.open()
        return self._cache.embed_many(list(texts))  # type: ignore[union-attr]

    @property
    def embedder_(self) -> Embedder:
        self.open()
        return self._cache.embedder  # type: ignore[union-attr]

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until the records written behind (neighbour-index entries of new queries, routing
        decisions) are in the store; False if that took longer than ``timeout`` seconds."""
        store = self._store
        return True if store is None else store.flush(timeout)

    def warmup(self) -> Eagle:
        """Load the embedder and open the store now (replaying the log), instead of at the first
        call: the first route of a fresh process otherwise pays for loading the model (seconds)."""
        self.open()
        self._cache.embedder.embed(["warm up"])  # type: ignore[union-attr]
        return self

    def close(self) -> None:
        """Write what is queued behind (neighbour-index records, decisions) and forget the
        connection; the next call reopens (and replays) the store."""
        with self._lock:
            store, self._store = self._store, None
            self._open = False
        if store is not None:
            store.close()

    def __enter__(self) -> Eagle:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = f"path={str(self.path)!r}" if self.path is not None else (
            "client=..." if self.client is not None else "in-memory")
        return f"Eagle({where}, collection={self.collection!r}, config={self._cfg!r})"


def _check_labelled(labelled: Any) -> tuple[list[str], list[float]]:
    items = list(labelled.items()) if isinstance(labelled, Mapping) else labelled
    if isinstance(items, (str, bytes)) or not isinstance(items, Sequence) or not items:
        raise ConfigError(
            f"labelled must be a non-empty mapping prompt text -> score in [0, 1], got {labelled!r}"
        )
    texts, scores = [], []
    for item in items:
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise ConfigError(f"labelled entries must be (prompt text, score) pairs, got {item!r}")
        texts.append(fb.check_query(item[0]))
        scores.append(fb.unit_score(f"labelled score of {item[0]!r}", item[1]))
    return texts, scores


def _check_key(key: Any) -> str | None:
    if key is None or (isinstance(key, str) and key):
        return key
    raise ConfigError(f"idempotency_key must be a non-empty string or None, got {key!r}")


def _rank_key(score: ModelScore) -> tuple[Any, ...]:
    cost = math.inf if score.cost is None else score.cost
    return (not score.within_budget, -score.utility, cost, score.model)


def _check_models(models: Mapping[str, Any] | None) -> dict[str, CostSpec] | None:
    if models is None:
        return None
    if not isinstance(models, Mapping):
        raise ConfigError(
            f"models must be a mapping of model name -> cost, got {type(models).__name__} {models!r}"
        )
    if not models:
        raise ConfigError("models must name at least one model, got {}")
    out: dict[str, CostSpec] = {}
    for name, cost in models.items():
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"model names must be non-empty strings, got {name!r}")
        out[name] = parse_cost(name, cost)
    return out


def _check_rule(wtp: Any, cost_weight: Any, budget: Any) -> None:
    for label, value in (("willingness_to_pay", wtp), ("cost_weight", cost_weight), ("budget", budget)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or value < 0:
            raise ConfigError(f"{label} must be a finite number >= 0, got {value!r}")
    if wtp is not None and cost_weight is not None:
        raise ConfigError(
            f"give willingness_to_pay or cost_weight, not both (cost_weight = 1 / willingness_to_pay); "
            f"got {wtp!r} and {cost_weight!r}"
        )


def _decision_pairs(given: dict[str, Any], chosen: str, models: Sequence[str]
                    ) -> tuple[str, tuple[RawPair, ...]]:
    (key, value), = given.items()
    if key == "thumbs":
        if value in ("up", "down"):
            value = value == "up"
        if not isinstance(value, bool):
            raise InvalidFeedbackError(f"thumbs must be True/False or 'up'/'down', got {value!r}")
        return "thumbs", fb.thumbs_pairs(chosen, value, models)
    if key == "score":
        return "thumbs", fb.thumbs_pairs(chosen, value, models)
    if key == "scores":
        return "scores", fb.score_pairs(value, models)
    fb.check_model(value, models, key)
    if value == chosen:
        raise InvalidFeedbackError(
            f"{key}={value!r} names the model that answered; give another model to compare with"
        )
    if key == "better":
        return "comparison", fb.comparison_pairs(value, chosen, False, models)
    if key == "worse":
        return "comparison", fb.comparison_pairs(chosen, value, False, models)
    return "comparison", fb.comparison_pairs(chosen, value, True, models)
