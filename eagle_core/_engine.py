"""The Eagle router: a thin facade wiring the Chroma feedback log (behind deadlines, :mod:`._guard`),
the embedding cache, this process's replica of the log (:mod:`._replica`: the fold of
:mod:`._state`, the re-ordering of :mod:`._timeline`), UniRoute priors (:mod:`._priors`) and the
choice (:mod:`._choice`).

Routes read the replica's published :class:`~eagle_core._state.View` and never take the lock that
writers hold during Chroma writes; periodic syncs run in a background thread."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from eagle_core import _choice as choice
from eagle_core import _feedback as fb
from eagle_core import _inputs as inputs
from eagle_core._async import AsyncTwins
from eagle_core._audit import Audit, build_audit
from eagle_core._config import EagleConfig
from eagle_core._connect import connect, release
from eagle_core._costs import CostSpec, cost_to_dict, parse_cost
from eagle_core._decision import RouteDecision
from eagle_core._decisions import Decisions
from eagle_core._embeddings import Embedder, EmbeddingCache
from eagle_core._errors import ConfigError, EngineClosedError, InvalidFeedbackError
from eagle_core._event import RawPair
from eagle_core._guard import Circuit
from eagle_core._leaderboard import Leaderboard, leaderboard_of
from eagle_core._priors import Priors
from eagle_core._replica import Replica
from eagle_core._serving import Server
from eagle_core._sources import check_source, search
from eagle_core._state import View
from eagle_core._store import FeedbackStore

__all__ = ["Eagle"]

logger = logging.getLogger(__name__)

class Eagle(AsyncTwins):
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
        target_cost_per_request: USD; keep the average (estimated) cost of routed requests at or
            below it by pacing the willingness to pay online (:mod:`eagle_core._pacing`).
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
        target_cost_per_request: float | None = None,
    ) -> None:
        self.path = path
        self.client = client
        self.collection = collection
        self.embedder = embedder
        self.config = config
        self.target_cost_per_request = target_cost_per_request
        self._initial_costs = inputs.check_models(models)
        inputs.check_store_args(path, client, collection, config)
        inputs.check_target(target_cost_per_request)
        self._cfg = config or EagleConfig()
        self._server = Server(self._cfg, target_cost_per_request)  # sampler, pacer, decisions
        self._lock = threading.RLock()  # writers and sync; never taken by routes
        self._open = False
        self._closed = False
        self._circuit: Circuit | None = None
        self._store: FeedbackStore | None = None
        self._cache: EmbeddingCache | None = None
        self._replica: Replica | None = None
        self._writer = uuid.uuid4().hex[:12]
        self._priors: Priors | None = None
        self._decisions = Decisions(self._cfg)

    # ------------------------------------------------------------------ state ----------------------
    def _opened(self) -> Replica:
        self.open()
        replica = self._replica
        if replica is None:  # closed by another thread meanwhile
            raise EngineClosedError(self._closed_message())
        return replica

    @property
    def _view(self) -> View:
        return self._opened().view

    @property
    def models(self) -> tuple[str, ...]:
        """The models this engine routes among, in the order they were added: the store's models
        except those left out of ``models=`` when it was opened (``ratings`` lists them all)."""
        return self._routable(self._view)

    def _routable(self, view: View) -> tuple[str, ...]:
        hidden = self._opened().hidden
        return tuple(m for m in view.models if m not in hidden)

    @property
    def declared_models(self) -> tuple[str, ...] | None:
        """The names given as ``models=`` (read without opening anything: for checks at build time),
        or ``None`` when the engine adopts the stored set. :attr:`models` is the live set."""
        return None if self._initial_costs is None else tuple(self._initial_costs)

    @property
    def costs(self) -> dict[str, CostSpec]:
        """Current cost spec per model."""
        return dict(self._view.costs)

    @property
    def ratings(self) -> dict[str, float]:
        """Current global ELO ratings, as routing reads them (once rated answers anchor the log and
        ``EagleConfig.graded_scores`` is on: with score sets read as grades, see docs/METHOD.md)."""
        return dict(self._view.ratings)

    @property
    def n_feedback(self) -> int:
        """Number of feedback events (comparisons, score sets, thumbs) in the log."""
        return self._view.n_events

    @property
    def n_comparisons(self) -> int:
        """Number of pairwise matches applied to the global ratings."""
        return self._view.n_matches

    @property
    def n_queries(self) -> int:
        """Number of distinct queries with feedback."""
        return len(self._view.by_query)

    @property
    def degraded(self) -> bool:
        """True while the store is treated as down after a timeout (see ``store_timeout``)."""
        return self._circuit is not None and self._circuit.is_open

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
            if self._closed:
                raise EngineClosedError(self._closed_message())
            if self._open:
                return self
            self._cache, self._store, self._circuit, self._priors, self._replica = connect(
                self.embedder, self.path, self.client, self.collection, self._cfg, self._lock,
                self._writer, self._initial_costs, self._server.on_event)
            self._open = True
        return self

    def _closed_message(self) -> str:
        return (f"this engine (collection {self.collection!r}) was closed; create a new Eagle(...) "
                "to use the store again")

    # ------------------------------------------------------------------ routing --------------------
    def route(self, query: str, *, willingness_to_pay: float | None = None,
              cost_weight: float | None = None, budget: float | None = None,
              candidates: Sequence[str] | None = None, force: str | None = None,
              explore: bool | None = None) -> RouteDecision:
        """Pick a model for ``query``.

        The choice maximises, over the candidates within ``budget`` (USD per call):
        ``q * willingness_to_pay - cost`` (RouterBench's rule), or ``q - cost_weight * cost``
        (the same rule with cost_weight = 1/willingness_to_pay), or plain ``q`` when neither is given.
        ``q`` is the combined Eagle score normalised to [0, 1]. ``force`` picks a model regardless
        (the ranking is still computed, e.g. for logging).

        ``explore`` (default ``EagleConfig.explore``, on): sometimes serve a model whose rating near
        this query is uncertain instead of ``ranking[0]``, so the router learns from the feedback
        on it; ``decision.explored`` says so. ``explore=False`` always serves ``ranking[0]``
        (evaluation). With ``target_cost_per_request`` the willingness to pay is paced.
        """
        decision, _, _ = self._route(query, willingness_to_pay, cost_weight, budget, candidates, force,
                                     explore, serving=True)
        self._decisions.remember(decision, self._store)  # the store's copy is written behind
        return decision

    def _route(self, query: str, willingness_to_pay: float | None, cost_weight: float | None,
               budget: float | None, candidates: Sequence[str] | None, force: str | None,
               explore: bool | None, *, serving: bool
               ) -> tuple[RouteDecision, View, list[tuple[str, float]]]:
        """The decision and the view and neighbours it was made from; ``serving=False`` (an audit)
        leaves the budget pacer untouched."""
        view = self._view  # one consistent state for the whole route, whatever writers do
        query = fb.check_query(query)
        choice.check_rule(willingness_to_pay, cost_weight, budget)
        explore = inputs.check_explore(explore, self._cfg.explore)
        routable = self._routable(view)
        pool = inputs.check_candidates(candidates, routable)
        if force is not None:
            fb.check_model(force, routable, "force")
        replica = self._replica
        if replica is not None and not self.degraded:
            replica.maybe_sync()  # in a background thread: this route does not wait for it
        embedding = self._cache.embed_one(query)  # type: ignore[union-attr]
        neighbours, degraded = search(self._store.nearest, embedding, view, self._cfg,  # type: ignore[union-attr]
                                      self.degraded)
        coldstart = self._priors.estimator if self._priors is not None else None
        decision = self._server.route(query, embedding, view, neighbours, pool, explore=explore,
                                      paced=serving, coldstart=coldstart, force=force,
                                      wtp=willingness_to_pay, cost_weight=cost_weight, budget=budget,
                                      degraded=degraded)
        return decision, view, neighbours

    def decision(self, decision_id: str) -> RouteDecision:
        """A decision by id: one of this engine's last ``max_decisions``, or one any worker on the
        same store routed within ``decision_retention`` seconds (waiting up to ``decision_wait``
        seconds for one the routing worker has not written yet: it writes decisions behind)."""
        self._opened()
        return self._decisions.find(decision_id, self._store)

    # ------------------------------------------------------------------ feedback -------------------
    def record_comparison(self, query: str, winner: str, loser: str, *, tie: bool = False,
                          source: str | None = None, idempotency_key: str | None = None) -> str:
        """``winner``'s answer to ``query`` beat ``loser``'s (or they drew, ``tie=True``); returns the
        event id once the feedback is durably stored. Every ``record_*`` also takes:

        ``source``: who gave it (user / tenant / API key id): its influence is bounded
        (``EagleConfig.source_defence``); None = your own feedback, counted in full.
        ``idempotency_key``: a string unique to this piece of feedback, e.g. a request id. Calls
        with the same key are stored and counted once, so a call that raised (or whose answer was
        lost) can be retried safely, from any worker."""
        self.open()
        query = fb.check_query(query)
        pairs = fb.comparison_pairs(winner, loser, tie, self.models)
        return self._record("comparison", query, pairs, source=source, key=idempotency_key)

    def record_scores(self, query: str, scores: Mapping[str, float], *, source: str | None = None,
                      idempotency_key: str | None = None) -> str:
        """Per-model scores for one query: every pair of models becomes one match."""
        self.open()
        query = fb.check_query(query)
        return self._record("scores", query, fb.score_pairs(scores, self.models), source=source,
                            key=idempotency_key)

    def record_thumbs(self, query: str, model: str, up: bool | float = True, *,
                      source: str | None = None, idempotency_key: str | None = None) -> str:
        """A thumb up/down (or a score in [0, 1]) on ``model``'s answer; see module docs for the maths."""
        self.open()
        query = fb.check_query(query)
        pairs = fb.thumbs_pairs(model, up, self.models)
        return self._record("thumbs", query, pairs, source=source, key=idempotency_key)

    def record_feedback(self, decision_id: str, *, thumbs: bool | str | None = None,
                        score: float | None = None, better: str | None = None,
                        worse: str | None = None, tie: str | None = None,
                        scores: Mapping[str, float] | None = None, source: str | None = None,
                        idempotency_key: str | None = None, cost: float | None = None) -> str:
        """Feedback on an earlier decision, without resending the text. Give exactly one of:
        ``thumbs`` (True/False or "up"/"down") or ``score`` in [0, 1] on the chosen model;
        ``better="x"`` (x's answer beat the chosen one), ``worse="x"`` (the chosen beat x),
        ``tie="x"``; or ``scores`` for several models. ``cost``: what the served answer actually
        cost, USD (:meth:`record_cost`)."""
        given = inputs.one_feedback(thumbs=thumbs, score=score, better=better, worse=worse, tie=tie,
                             scores=scores)
        spent = None if cost is None else inputs.check_spent(cost)
        decision = self.decision(decision_id)
        models, chosen = self.models, decision.model
        kind, pairs = inputs.decision_pairs(given, chosen, models)
        event = self._record(kind, decision.query, pairs, decision_id=decision.decision_id,
                             source=source, key=idempotency_key)
        if spent is not None:
            self.record_cost(decision.decision_id, spent)
        return event

    def record_cost(self, decision_id: str, cost: float) -> None:
        """What the served answer of an earlier decision actually cost, USD (e.g. from the
        provider's token usage). The budget pacer (``target_cost_per_request``) charges it in place
        of the estimate it charged when routing; reporting again replaces, never adds. The worker
        that routed the decision paces it: from another worker the cost goes through the log."""
        spent = inputs.check_spent(cost)
        self._opened()
        if self._server.settle(decision_id, spent) or self._decisions.is_local(decision_id):
            return  # charged here, or routed here without a pacer or too long ago: nothing to pace
        self._decisions.find(decision_id, self._store)  # UnknownDecisionError if nobody routed it
        self._circuit.check()  # type: ignore[union-attr]
        self._opened().commit_control("cost", {"decision": decision_id, "usd": spent})

    def record_many(self, items: Iterable[Mapping[str, Any]], *, batch_size: int = 256,
                    progress: bool = True) -> int:
        """Bulk import: every item is validated first (nothing is written if one is bad), then
        texts are embedded and stored batch by batch. Returns how many items are stored. If the
        store fails, the :class:`StoreUnavailableError` says in ``n_stored`` how many were stored
        (and applied) before it: retry ``items[n_stored:]``, or all of them if every item has an
        ``"idempotency_key"`` (an item whose key is stored already is counted once)."""
        parsed = inputs.parse_items(items, self.models, batch_size)
        self._circuit.check()  # type: ignore[union-attr]
        return self._opened().commit_many(parsed, self._cache.embed_many,  # type: ignore[union-attr]
                                          batch_size, progress)

    def _record(self, kind: str, query: str, pairs: tuple[RawPair, ...], *, decision_id: str = "",
                source: str | None = None, key: str | None = None) -> str:
        source, key = check_source(source), inputs.check_key(key)
        self._circuit.check()  # type: ignore[union-attr]  # degraded: refuse at once
        embedding = self._cache.embed_one(query)  # type: ignore[union-attr]
        item = (kind, query, pairs, decision_id, key, source)
        return self._opened().commit([item], embedding[None, :])[0]

    # ------------------------------------------------------------------ models at run time ---------
    def add_model(self, name: str, cost: Any = None, *,
                  labelled: Mapping[str, float] | Sequence[tuple[str, float]] | None = None) -> None:
        """Add a model; it starts at ``initial_rating`` (recorded in the log, so reopening agrees).

        ``labelled``: the new model's scores in [0, 1] on some prompts (prompt text -> score). UniRoute
        (K-means over the labelled prompts' embeddings, per-cluster mean error) then gives the model a
        per-query prior rating at once, so it is routed to on the clusters where it is strong before
        any feedback; the prior's weight fades as its own matches n accumulate (n0 / (n + n0),
        n0 = 20). See docs/METHOD.md.

        Idempotent: adding a model that exists with the same cost does nothing (its ratings and
        feedback are kept; so do two workers adding it at once); another cost raises
        :class:`ConfigError`.
        """
        replica = self._opened()
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"model name must be a non-empty string, got {name!r}")
        spec = parse_cost(name, cost)
        payload: dict[str, Any] = {"model": name, "cost": cost_to_dict(spec)}
        if inputs.model_exists(name, payload["cost"], self._view.costs, labelled):
            return
        if labelled is not None:
            texts, scores = inputs.check_labelled(labelled)  # validates before anything is stored
            self._priors.prepare(name, texts, scores)  # type: ignore[union-attr]  # embed + cluster now
            payload["labelled"] = [[t, s] for t, s in zip(texts, scores, strict=True)]
        replica.commit_control("add_model", payload)
        self._priors.drain()  # type: ignore[union-attr]  # installs what prepare() computed

    def remove_model(self, name: str) -> None:
        """Remove a model from routing. Its past matches stay in the log (and in the other models'
        ratings); re-adding it later starts it afresh at ``initial_rating``."""
        fb.check_model(name, self.models)
        if len(self.models) == 1:
            raise ConfigError(f"cannot remove {name!r}: it is the only model; add another one first")
        self._opened().commit_control("remove_model", {"model": name})

    # ------------------------------------------------------------------ feedback sources -----------
    def audit(self, query: str) -> Audit:
        """Route ``query`` (``explore=False``) and explain the ranking's choice: the neighbours
        replayed, who gave their feedback, and each source's push on the local ratings (leave-it-out),
        most influential first. The audit is not a served request: the budget pacer is left as it is
        and no decision is remembered."""
        decision, view, neighbours = self._route(query, None, None, None, None, None, False,
                                                 serving=False)
        with self._lock:  # the budgets spent are read from the live ledger
            return build_audit(decision, neighbours, view, self._opened().state.sources, self._cfg)

    def remove_source(self, source: str) -> None:
        """Ignore all feedback from ``source``, past and future (logged, so every worker and every
        reopen agree; the log is replayed without it). Its events stay in the log."""
        if check_source(source) is None:
            raise InvalidFeedbackError("source must name a feedback source to remove, got None")
        self._opened().commit_control("remove_source", {"source": source})

    @property
    def removed_sources(self) -> tuple[str, ...]:
        """Sources removed with :meth:`remove_source`, sorted."""
        return tuple(sorted(self._view.sources.removed))

    # ------------------------------------------------------------------ several processes ----------
    def sync(self) -> int:
        """Fold in feedback written by other processes sharing the store; returns how many events
        were new. Late events (ordered before ones already applied) are slotted in by rolling back to
        the last in-memory snapshot before them and re-applying what follows (a full replay of the
        log only when they are older than the snapshots kept), so every process ends with the
        ratings of the log replayed in (ts, writer, seq) order."""
        return self._opened().sync_now()

    # ------------------------------------------------------------------ reporting ------------------
    def leaderboard(self) -> Leaderboard:
        """Global ratings, best first, with match counts."""
        return leaderboard_of(self._view)

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
        """Load the embedder and open the store (replaying the log) now instead of at the first
        call, which otherwise pays for both (loading MiniLM takes seconds on a cold machine)."""
        self.open()
        self._cache.embedder.embed(["warm up"])  # type: ignore[union-attr]
        return self

    def close(self) -> None:
        """Close the engine: later calls raise :class:`EngineClosedError`. An in-memory engine's
        collections are deleted (its feedback is gone); a persistent or shared store is kept."""
        timeout = self._cfg.store_timeout
        locked = self._lock.acquire(timeout=-1 if timeout is None else timeout)
        try:
            self._closed, self._open = True, False
            store, self._store, self._replica = self._store, None, None
            if self._circuit is not None:
                self._circuit.shut()
        finally:
            if locked:
                self._lock.release()
        if store is not None:
            release(store, self.path is None and self.client is None, timeout)

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    def __enter__(self) -> Eagle:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = f"path={str(self.path)!r}" if self.path is not None else (
            "client=..." if self.client is not None else "in-memory")
        return f"Eagle({where}, collection={self.collection!r}, config={self._cfg!r})"


