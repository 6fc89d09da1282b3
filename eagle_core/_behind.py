"""Write-behind: store writes that nobody should wait for, done by a background thread.

The neighbour-index record of a new query and the record of a routing decision are both derived
data (the first can be rebuilt from the log, the second only serves feedback by decision id), so
``record_*`` and ``route`` hand them to a :class:`WriteBehind` and return. The thread writes what
has queued up in batches (a group commit: it lingers a moment after the first item so that items
queued meanwhile share one write, which keeps the store's write load below one write per route),
keeps items whose write failed and retries them with
backoff, and forgets the oldest items beyond ``max_items`` (with a warning) while the store is down.
Until an item is written it stays readable through :meth:`WriteBehind.pending`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Generic, TypeVar

__all__ = ["WriteBehind"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

_BACKOFF_S = (0.1, 0.5, 2.0, 5.0)


class WriteBehind(Generic[T]):
    """A keyed queue drained by one daemon thread, started at the first :meth:`put`.

    Args:
        name: what is written (for log messages and the thread name).
        write: writes a batch of items; raises if the store failed (the batch is then retried).
        max_items: at most this many items wait; the oldest are dropped beyond it.
        batch: at most this many items per ``write`` call.
        linger: seconds to wait after the first queued item before writing (unless flushed).
    """

    def __init__(self, name: str, write: Callable[[Sequence[T]], Any], *, max_items: int = 100_000,
                 batch: int = 256, linger: float = 0.0) -> None:
        self.name = name
        self.write = write
        self.max_items = max_items
        self.batch = batch
        self.linger = linger
        self._hurry = 0  # flushes waiting: write without lingering
        self._items: OrderedDict[Hashable, T] = OrderedDict()
        self._cond = threading.Condition()
        self._busy = 0
        self._closed = False
        self._thread: threading.Thread | None = None
        self._dropped = 0

    def put(self, key: Hashable, item: T) -> None:
        """Queue ``item`` (replacing a queued item with the same key); never blocks on I/O."""
        with self._cond:
            if self._closed:
                raise RuntimeError(f"write-behind queue {self.name!r} is closed")
            self._items[key] = item
            self._items.move_to_end(key)
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)
                self._dropped += 1
                if self._dropped in (1, 10, 100) or self._dropped % 1000 == 0:
                    logger.warning("the store is not taking %s writes; dropped %d queued ones",
                                   self.name, self._dropped)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=f"eagle-{self.name}",
                                                daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def pending(self) -> list[tuple[Hashable, T]]:
        """Queued items not yet written (including the batch being written)."""
        with self._cond:
            return list(self._items.items())

    def get(self, key: Hashable) -> T | None:
        with self._cond:
            return self._items.get(key)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued item is written; False if that took longer than ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            self._hurry += 1
            self._cond.notify_all()
            try:
                while self._items or self._busy:
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        return False
                    self._cond.wait(left)
            finally:
                self._hurry -= 1
        return True

    def close(self, timeout: float = 5.0) -> bool:
        """Write what is queued (waiting at most ``timeout`` s), then stop the thread."""
        done = self.flush(timeout)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=1.0)
        if not done:
            logger.warning("closing with %d %s writes not done", len(self._items), self.name)
        return done

    def _run(self) -> None:
        failures = 0
        while True:
            with self._cond:
                while not self._items and not self._closed:
                    self._cond.wait()
                if self._closed and (not self._items or failures):
                    self._cond.notify_all()
                    return
                until = time.monotonic() + self.linger
                while not (self._closed or self._hurry or len(self._items) >= self.batch):
                    left = until - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
                batch = list(self._items.items())[: self.batch]
                self._busy = 1
            try:
                self.write([item for _, item in batch])
            except Exception as exc:  # keep the items; retry after a pause
                failures += 1
                logger.warning("could not write %d %s records (%s); retrying", len(batch), self.name, exc)
                with self._cond:
                    self._busy = 0
                    self._cond.notify_all()
                    self._cond.wait(_BACKOFF_S[min(failures, len(_BACKOFF_S)) - 1])
                continue
            failures = 0
            with self._cond:
                for key, item in batch:
                    if self._items.get(key) is item:  # not replaced meanwhile
                        del self._items[key]
                self._busy = 0
                self._cond.notify_all()
