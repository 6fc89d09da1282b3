"""This process's replica of the shared feedback log: the store, the fold over its events and the
timeline of what was seen, plus stamping and committing new events.

Every event goes through :meth:`Replica.commit` (durably to the store first, then folded in) or
arrives from another process through :meth:`Replica.sync`; either way the state equals the log
replayed in ``(ts, writer, seq)`` order. Writers take the lock (a writer stuck on a hung store holds it
at most ``store_timeout``: its request then fails and the circuit refuses the next ones at once);
readers only read :attr:`view`, replaced whole after each applied event or batch, so they never
wait on a writer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from eagle_core._config import EagleConfig
from eagle_core._costs import CostSpec, cost_to_dict
from eagle_core._errors import ConfigError, StoreMismatchError, StoreUnavailableError
from eagle_core._state import RatingState, View
from eagle_core._store import Event, FeedbackStore, RawPair, event_id, query_key
from eagle_core._timeline import SYNC_WINDOW_NS, Timeline

__all__ = ["Replica"]

logger = logging.getLogger(__name__)

Item = tuple[str, str, tuple[RawPair, ...], str, "str | None"]
"""One feedback event to commit: (kind, query text, matches, decision id, idempotency key, source)."""

_REPAIR_GRACE_NS = 10 * 10**9
"""A query another worker logged this long ago must be in the neighbour index by now (its worker
writes it right behind the log); :meth:`Replica.sync` re-indexes it from the log if not."""


class Replica:
    """The folded state of one store, kept in step with it.

    Args:
        store: the opened Chroma feedback log.
        config: hyper-parameters of the fold.
        lock: the engine's lock; held while the state changes.
        writer: this process's writer id (stamped on the events it writes).
        caller_costs: the costs given to the engine (they win over stored ones); None = stored ones.
        on_apply: called with every event after it is folded in (the engine's model hooks).
        on_sync: called after a sync, outside the lock (e.g. to fold new labelled sets).
        embed: the engine's embedder (re-indexes queries whose index record was lost).
    """

    def __init__(self, store: FeedbackStore, config: EagleConfig, *, lock: threading.RLock,
                 writer: str, caller_costs: dict[str, CostSpec] | None,
                 on_apply: Callable[[Event], None], on_sync: Callable[[], None],
                 embed: Callable[[list[str]], np.ndarray]) -> None:
        self.store = store
        self.config = config
        self.lock = lock
        self.writer = writer
        self.caller_costs = caller_costs
        self.on_apply = on_apply
        self.on_sync = on_sync
        self.embed = embed
        self.hidden: frozenset[str] = frozenset()
        """Stored models left out of the engine's ``models=``: kept in the store, not routed to."""
        self._unchecked: dict[str, tuple[str, int]] = {}  # other workers' new queries (see sync)
        self._sync_running = threading.Lock()
        self.reset()
        self.view: View = self.state.view()
        """The state as of the last applied event or batch (what routes read)."""

    def publish(self) -> None:
        self.view = self.state.view()

    def reset(self) -> None:
        self.state = RatingState(self.config)
        self.timeline = Timeline(self.state)
        self.seq = 0
        self.last_sync = time.monotonic()

    # -- replay ----------------------------------------------------------------------------------
    def load(self, *, reopen: bool = False) -> None:
        """Replay the whole log. ``reopen``: a re-read by :meth:`sync` on a store already open here
        (models added or removed by other processes are expected; no repair of the index)."""
        events = self.store.load()
        self.reset()
        # a removed source is ignored in the whole log, also before its removal (see _sources)
        self.state.sources.removed.update(e.payload["source"] for e in events if e.kind == "remove_source")
        for event in events:
            self.apply(event)
        given, state, name = self.caller_costs, self.state, self.store.name
        if reopen:  # costly on a large log: worth knowing when it happens (OPERATIONS.md)
            logger.info("re-read the whole log of store %r (%d events): a source was removed, or "
                        "events arrived older than the snapshots kept", name, len(events))
            self.apply_caller_costs()
            self.publish()
            return
        if not events:
            if not given:
                raise ConfigError(
                    f"models must name at least one model to create the new store {name!r}, "
                    f"got {given!r}"
                )
            self.commit_control("models", {"models": {m: cost_to_dict(c) for m, c in given.items()}})
        elif given is not None:
            unknown = sorted(set(given) - set(state.ratings))
            if unknown:
                raise StoreMismatchError(
                    f"store {name!r} holds models {sorted(state.ratings)}, but models= also names "
                    f"{unknown}; add them with eagle.add_model(name, cost) (or pass models=None to "
                    "use the stored ones)"
                )
            state.costs.update(given)  # prices change: the caller's current costs win
            self.hidden = frozenset(state.ratings) - frozenset(given)
            if self.hidden:
                logger.info("store %r also holds models %s; routing among %s only",
                            name, sorted(self.hidden), list(given))
        texts = {e.qkey: e.text for e in events if e.qkey}
        self.store.repair_index(texts, self.embed, complete=True)
        self.publish()
        self.timeline.sync_from = max(0, state.last_ts - SYNC_WINDOW_NS)
        logger.info("opened store %r: %d events, %d queries, models %s",
                    name, state.n_events, len(state.by_query), list(state.ratings))

    def repair_others(self, new: list[Event], now: int) -> None:
        """Index the queries of other workers' events still missing from the neighbour index well
        after they were logged (that worker died before its write behind the log)."""
        waiting = self._unchecked
        waiting.update({e.qkey: (e.text, e.ts) for e in new if e.qkey and e.writer != self.writer})
        due = {k: text for k, (text, ts) in waiting.items() if now - ts > _REPAIR_GRACE_NS}
        if due:
            self.store.repair_index(due, self.embed)
            for key in due:
                del waiting[key]

    def apply(self, event: Event) -> None:
        """Fold one log event into the state."""
        self.timeline.track(event, self.state)
        if event.writer == self.writer:
            self.seq = max(self.seq, event.seq)
        self.state.apply(event)
        self.on_apply(event)

    def reorder(self, new: list[Event]) -> bool:
        """Apply ``new`` events (sorted) of which some order before events already applied: roll back
        to the last snapshot before them and re-apply everything after it in (ts, writer, seq) order.
        Returns False when no snapshot is old enough (the caller then replays the whole log)."""
        tail = self.timeline.rollback(self.state, new[0].order_key)
        if tail is None:
            return False
        for event in sorted(tail + new, key=lambda e: e.order_key):
            self.apply(event)
        self.apply_caller_costs()
        return True

    def apply_caller_costs(self) -> None:
        """Prices change: the costs given to this engine win over the stored ones (as at open)."""
        if self.caller_costs is not None:
            state = self.state
            state.costs.update({m: c for m, c in self.caller_costs.items() if m in state.ratings})

    def sync(self) -> int:
        """Fold in events written by other processes; returns how many were new (see Eagle.sync)."""
        started = time.time_ns()
        with self.lock:
            timeline = self.timeline
            new = self.store.load_new(timeline.sync_from, timeline.seen)
            self.last_sync = time.monotonic()
            if new:
                if any(e.kind == "remove_source" for e in new):
                    self.load(reopen=True)
                elif new[0].order_key < self.state.last_key:
                    if not self.reorder(new):
                        self.load(reopen=True)
                else:
                    for event in new:
                        self.apply(event)
                self.publish()
            self.timeline.sync_from = max(0, min(started, self.state.last_ts) - SYNC_WINDOW_NS)
        self.repair_others(new, started)
        return len(new)

    def sync_now(self) -> int:
        """A sync plus its follow-up, in the calling thread; returns how many events were new."""
        new = self.sync()
        self.on_sync()
        return new

    def maybe_sync(self) -> None:
        """When a sync is due (``sync_interval``), start one in a background thread."""
        interval = self.config.sync_interval
        if interval is None or time.monotonic() - self.last_sync < interval:
            return
        if self._sync_running.acquire(blocking=False):  # else one is running already
            threading.Thread(target=self._background_sync, daemon=True, name="eagle-sync").start()

    def _background_sync(self) -> None:
        try:
            self.sync_now()
        except Exception as exc:
            logger.warning("could not read new feedback from the store (%s)", exc)
            self.last_sync = time.monotonic()
        finally:
            self._sync_running.release()

    # -- writing ---------------------------------------------------------------------------------
    def commit(self, items: list[Item], embeddings: np.ndarray, *, bulk: bool = False) -> list[str]:
        """Stamp, store (durably: the log write is the commit) and then apply a batch of events,
        under the lock so the log order is the order in which they were applied. Returns the event
        id of each item. Events whose id was applied already (an idempotency key seen before) are
        skipped. If the store fails, the events it stored before failing are applied (they are in
        the log), the others' sequence numbers are handed out again (a retry lands on the same
        records) and the error's ``n_stored`` says how many were stored. ``bulk``: index new queries
        right away (a bulk load would otherwise leave a long queue behind it)."""
        with self.lock:
            events, vecs, new_queries, ids, batch, fresh = [], [], [], [], set(), set()
            seq0, seen = self.seq, self.timeline.seen
            for (kind, query, pairs, decision_id, ikey, source), vec in zip(items, embeddings, strict=True):
                qkey = query_key(query)
                event = self.stamp(kind, qkey, pairs, {}, decision_id, ikey, query, source)
                ids.append(event.id)
                if event.id in seen or event.id in batch:
                    self.seq -= 1  # stored already: counted once
                    continue
                batch.add(event.id)
                events.append(event)
                vecs.append(vec)
                if qkey not in self.state.by_query and qkey not in fresh:
                    fresh.add(qkey)
                    new_queries.append((qkey, vec, query))
            if not events:
                return ids
            try:
                self.store.append(events, np.stack(vecs), [e.text for e in events], new_queries,
                                  index_now=bulk)
            except StoreUnavailableError as exc:
                self.seq = seq0 + exc.n_stored
                for event in events[: exc.n_stored]:
                    self.apply(event)
                self.publish()
                raise
            for event in events:
                self.apply(event)
            self.publish()
        return ids

    def commit_many(self, items: list[Item], embed: Callable[..., np.ndarray], batch_size: int,
                    progress: bool) -> int:
        """:meth:`commit` ``items`` batch by batch (texts embedded per batch, not cached), with a
        progress bar; returns how many items are stored, or raises :class:`StoreUnavailableError`
        whose ``n_stored`` counts all batches."""
        stored = 0
        with tqdm(total=len(items), desc="recording feedback", unit="item", disable=not progress) as bar:
            for start in range(0, len(items), batch_size):
                batch = items[start : start + batch_size]
                try:
                    self.commit(batch, embed([b[1] for b in batch], remember=False), bulk=True)
                except StoreUnavailableError as exc:
                    done = stored + exc.n_stored
                    raise StoreUnavailableError(
                        f"stored {done} of {len(items)} items, then: {exc}", n_stored=done
                    ) from exc
                stored += len(batch)
                bar.update(len(batch))
        return stored

    def commit_control(self, kind: str, payload: dict[str, Any]) -> Event:
        """Store and apply a change to the model set, or the removal of a source (which replays
        the whole log: the source's earlier feedback is already folded into the ratings)."""
        with self.lock:
            event = self.stamp(kind, "", (), payload, "")
            try:
                self.store.append([event], self.store.unit_vector()[None, :], [""])
            except StoreUnavailableError:
                self.seq -= 1
                raise
            if kind == "remove_source":
                self.load(reopen=True)  # publishes the replayed state
                self.timeline.sync_from = max(0, self.state.last_ts - SYNC_WINDOW_NS)
            else:
                self.apply(event)
                self.publish()
        return event

    def stamp(self, kind: str, key: str, pairs: tuple[RawPair, ...], payload: dict[str, Any],
              decision_id: str, idempotency_key: str | None = None, text: str = "",
              source: str | None = None) -> Event:
        ts = max(time.time_ns(), self.state.last_ts + 1)
        self.state.last_ts = ts
        self.seq += 1
        return Event(id=event_id(self.writer, self.seq, idempotency_key), ts=ts, writer=self.writer,
                     seq=self.seq, kind=kind, qkey=key, pairs=pairs, payload=payload,
                     decision_id=decision_id, text=text, source=source)
