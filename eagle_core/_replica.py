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
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np

from eagle_core._config import EagleConfig
from eagle_core._costs import CostSpec, cost_to_dict
from eagle_core._errors import ConfigError, StoreMismatchError
from eagle_core._state import RatingState, View
from eagle_core._store import Event, FeedbackStore, RawPair, query_key
from eagle_core._timeline import SYNC_WINDOW_NS, Timeline

__all__ = ["Replica"]

logger = logging.getLogger(__name__)

Item = tuple[str, str, tuple[RawPair, ...], str]
"""One feedback event to commit: (kind, query text, matches, decision id)."""


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
    """

    def __init__(self, store: FeedbackStore, config: EagleConfig, *, lock: threading.RLock,
                 writer: str, caller_costs: dict[str, CostSpec] | None,
                 on_apply: Callable[[Event], None], on_sync: Callable[[], None]) -> None:
        self.store = store
        self.config = config
        self.lock = lock
        self.writer = writer
        self.caller_costs = caller_costs
        self.on_apply = on_apply
        self.on_sync = on_sync
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
        for event in events:
            self.apply(event)
        given, state, name = self.caller_costs, self.state, self.store.name
        if reopen:
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
            if set(given) != set(state.ratings):
                raise StoreMismatchError(
                    f"store {name!r} holds models {sorted(state.ratings)}, but models= names "
                    f"{sorted(given)}; pass the same models, models=None to use the stored ones, or "
                    "change the set with add_model() / remove_model()"
                )
            state.costs.update(given)  # prices change: the caller's current costs win
        self.repair_index()
        self.publish()
        self.timeline.sync_from = max(0, state.last_ts - SYNC_WINDOW_NS)
        logger.info("opened store %r: %d events, %d queries, models %s",
                    name, state.n_events, len(state.by_query), list(state.ratings))

    def repair_index(self) -> None:
        """A crash between the log write and the neighbour-index write leaves queries unindexed."""
        if self.store.count_queries() < len(self.state.by_query):
            missing = self.store.ensure_queries(self.state.by_query)
            logger.warning("re-indexing %d queries missing from the neighbour index", len(missing))
            self.store.repair_queries(missing)

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
                if new[0].order_key < self.state.last_key:
                    if not self.reorder(new):
                        self.load(reopen=True)
                else:
                    for event in new:
                        self.apply(event)
                self.publish()
            self.timeline.sync_from = max(0, min(started, self.state.last_ts) - SYNC_WINDOW_NS)
        return len(new)

    def sync_now(self) -> None:
        """A sync plus its follow-up, in the calling thread."""
        self.sync()
        self.on_sync()

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
    def commit(self, items: list[Item], embeddings: np.ndarray) -> list[str]:
        """Stamp, store (durably, log first) and then apply a batch of events, under the lock so the
        log order is the order in which they were applied."""
        with self.lock:
            events, new_queries, seen = [], [], set()
            for (kind, query, pairs, decision_id), vec in zip(items, embeddings, strict=True):
                key = query_key(query)
                events.append(self.stamp(kind, key, pairs, {}, decision_id))
                if key not in self.state.by_query and key not in seen:
                    seen.add(key)
                    new_queries.append((key, vec, query))
            self.store.append(events, embeddings, [q for _, q, _, _ in items], new_queries)
            for event in events:
                self.apply(event)
            self.publish()
        return [e.id for e in events]

    def commit_control(self, kind: str, payload: dict[str, Any]) -> Event:
        """Store and apply a change to the model set."""
        with self.lock:
            event = self.stamp(kind, "", (), payload, "")
            self.store.append([event], self.store.unit_vector()[None, :], [""])
            self.apply(event)
            self.publish()
        return event

    def stamp(self, kind: str, key: str, pairs: tuple[RawPair, ...], payload: dict[str, Any],
              decision_id: str) -> Event:
        ts = max(time.time_ns(), self.state.last_ts + 1)
        self.state.last_ts = ts
        self.seq += 1
        return Event(id=uuid.uuid4().hex, ts=ts, writer=self.writer, seq=self.seq, kind=kind,
                     qkey=key, pairs=pairs, payload=payload, decision_id=decision_id)
