"""Where this process stands in the shared log: which events it has seen, and how to slot in late ones.

Several processes append to one log; :meth:`eagle_core.Eagle.sync` reads what the others wrote. An
event may arrive *late* (stamped before events already applied here). :class:`Timeline` keeps the
recent events and, every ``CHECKPOINT_EVERY`` events, a :class:`~eagle_core._state.Snapshot` of the
state before them, so a late event is handled by rolling back to the last snapshot before it and
re-applying what follows in ``(ts, writer, seq)`` order, without re-reading the store.
"""

from __future__ import annotations

from eagle_core._event import Event
from eagle_core._state import RatingState, Snapshot

__all__ = ["CHECKPOINT_EVERY", "MAX_RECENT", "REORDER_HORIZON_NS", "SYNC_WINDOW_NS", "Timeline"]

SYNC_WINDOW_NS = 30 * 10**9
"""Re-read window of a sync: events stamped up to this long before the last sync are fetched again,
so a slow writer in another process is not missed."""
CHECKPOINT_EVERY = 256
"""Applied events between two snapshots of the global state."""
REORDER_HORIZON_NS = 2 * SYNC_WINDOW_NS
"""How far back (in event time) snapshots and events are kept for re-ordering late events in memory;
a later-arriving event older than that makes a sync re-read the whole log instead."""
MAX_RECENT = 20_000
"""At most about this many recent events are kept for that (bounds memory under heavy writing)."""


class Timeline:
    """Seen event ids, recent events and snapshots of the state before them."""

    def __init__(self, state: RatingState) -> None:
        self.seen: set[str] = set()
        self.recent: list[Event] = []
        self.checkpoints: list[tuple[int, Snapshot]] = [(0, state.snapshot())]
        self.sync_from = 0
        """Event time from which the next sync re-reads the log."""

    def track(self, event: Event, state: RatingState) -> None:
        """Remember ``event`` (called before applying it to ``state``), and every ``CHECKPOINT_EVERY``
        events take a snapshot of ``state`` first; old snapshots and events are dropped."""
        self.seen.add(event.id)
        if len(self.recent) - self.checkpoints[-1][0] >= CHECKPOINT_EVERY:
            self.checkpoints.append((len(self.recent), state.snapshot()))
            horizon = event.ts - REORDER_HORIZON_NS
            drop = 0
            cps = self.checkpoints
            while drop + 1 < len(cps) and (cps[drop + 1][1].last_key[0] < horizon
                                           or len(self.recent) - cps[drop][0] > MAX_RECENT):
                drop += 1
            if drop:
                cut = self.checkpoints[drop][0]
                del self.recent[:cut]
                self.checkpoints = [(i - cut, snap) for i, snap in self.checkpoints[drop:]]
        self.recent.append(event)

    def rollback(self, state: RatingState, before: tuple[int, str, int]) -> list[Event] | None:
        """Restore ``state`` to the last snapshot ordered before ``before`` and return the events
        applied since (to re-apply, merged with the late ones), or None when no snapshot is old
        enough (the caller then replays the whole log)."""
        pos = len(self.checkpoints) - 1
        while pos >= 0 and not self.checkpoints[pos][1].last_key < before:
            pos -= 1
        if pos < 0:
            return None
        idx, snap = self.checkpoints[pos]
        tail = self.recent[idx:]
        state.detach_queries()
        for event in reversed(tail):  # undo the per-query match lists, newest first
            state.unapply_matches(event)
        state.restore(snap)
        del self.recent[idx:]
        del self.checkpoints[pos + 1 :]
        return tail
