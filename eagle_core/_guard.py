"""Deadlines and a circuit breaker for every Chroma request.

chromadb's clients have no request timeout: a server that accepts connections and never answers
(paused, overloaded, a half-open TCP connection) would hold the caller forever. Each request of a
guarded client runs in a daemon worker thread and the caller waits at most ``timeout`` seconds.
A request that times out *opens* the circuit: the engine is degraded (routes skip the neighbour
search, writes raise :class:`StoreUnavailableError` at once, without waiting on a store known to be
down) and a background probe asks the store every ``retry_interval`` seconds; its first answer
closes the circuit again. Errors other than timeouts pass through unchanged (the store layer turns
them into typed errors) and leave the circuit as it is.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from eagle_core._errors import StoreUnavailableError

__all__ = ["Circuit", "GuardedClient"]

logger = logging.getLogger(__name__)

_probing = threading.local()
"""Set in a probe's thread: its requests go straight to the store (the circuit is open)."""

_COLLECTION_CALLS = frozenset({"add", "upsert", "update", "get", "query", "count", "delete", "peek",
                               "modify"})
_MAX_PROBES = 8
"""Probes waiting on a store that does not answer, at most (each holds a daemon thread)."""
_CLIENT_COLLECTION_CALLS = frozenset({"get_or_create_collection", "get_collection", "create_collection"})


class _Call:
    """One request run by a pool worker (it may outlive a caller that stopped waiting)."""

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None
        self._job = (fn, args, kwargs)
        _WORKERS.submit(self)

    def run(self) -> None:
        fn, args, kwargs = self._job
        try:
            self.result = fn(*args, **kwargs)
        except BaseException as exc:  # handed to the waiting caller
            self.error = exc
        finally:
            self.done.set()

    def outcome(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.result


class _Workers:
    """Daemon threads that run requests; a new one starts whenever none is idle, so a request stuck
    on a hung store never delays another (starting a thread per request costs ~0.2 ms)."""

    def __init__(self) -> None:
        self._tasks: queue.SimpleQueue[_Call] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0

    def submit(self, call: _Call) -> None:
        with self._lock:
            start = self._idle == 0
            if not start:
                self._idle -= 1
        if start:
            threading.Thread(target=self._work, daemon=True, name="eagle-store-call").start()
        self._tasks.put(call)

    def _work(self) -> None:
        while True:
            self._tasks.get().run()
            with self._lock:
                self._idle += 1


_WORKERS = _Workers()


class Circuit:
    """Deadline per request plus the open / closed state of one store.

    Args:
        timeout: seconds a request may take (``None``: no deadline, the circuit never opens).
        retry_interval: seconds between probes while the circuit is open.
        what: the store's name, for messages.
    """

    def __init__(self, timeout: float | None, retry_interval: float, what: str) -> None:
        self.timeout = timeout
        self.retry_interval = retry_interval
        self.what = what
        self._lock = threading.Lock()
        self._opened_at: float | None = None
        self._probe: Callable[[], Any] | None = None
        self._on_recover: Callable[[], Any] | None = None
        self._closed_for_good = False

    @property
    def is_open(self) -> bool:
        """True while the store is considered down (the engine is degraded)."""
        return self._opened_at is not None

    def set_probe(self, probe: Callable[[], Any], on_recover: Callable[[], Any] | None = None) -> None:
        """The cheap request the background probe sends while the circuit is open, and what to run
        once the store answers again (e.g. a sync: a write that timed out may have landed)."""
        self._probe, self._on_recover = probe, on_recover

    def shut(self) -> None:
        """The engine was closed: stop probing."""
        self._closed_for_good = True

    def check(self) -> None:
        """Raise :class:`StoreUnavailableError` at once while the circuit is open."""
        opened = self._opened_at
        if opened is not None:
            raise StoreUnavailableError(
                f"not recorded: the Chroma store {self.what!r} did not answer within "
                f"{self.timeout:g} s {time.monotonic() - opened:.0f} s ago and is treated as down "
                f"(a probe retries every {self.retry_interval:g} s); retry later"
            )

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` within the deadline; refused at once while the circuit is open."""
        if getattr(_probing, "active", False):
            return fn(*args, **kwargs)  # the probe's own thread waits for it, with its deadline
        self.check()
        if self.timeout is None:
            return fn(*args, **kwargs)
        call = _Call(fn, args, kwargs)
        if not call.done.wait(self.timeout):
            self._trip(getattr(fn, "__name__", "request"))
            raise StoreUnavailableError(
                f"the Chroma store {self.what!r} did not answer a {getattr(fn, '__name__', 'request')} "
                f"request within {self.timeout:g} s (EagleConfig.store_timeout); the engine is degraded "
                "until it answers again; a write may or may not have been stored, retry later"
            )
        return call.outcome()

    def _trip(self, name: str) -> None:
        with self._lock:
            if self._opened_at is not None:
                return
            self._opened_at = time.monotonic()
        logger.warning("Chroma store %r did not answer a %s request within %g s: degraded mode "
                       "(routing on the last ratings without neighbours; writes refused) until it "
                       "answers again", self.what, name, self.timeout)
        threading.Thread(target=self._probe_loop, daemon=True, name="eagle-store-probe").start()

    def _run_probe(self) -> Any:
        _probing.active = True
        assert self._probe is not None
        return self._probe()

    def _probe_loop(self) -> None:
        """Ask the store every ``retry_interval`` s until it answers, then close the circuit. A probe
        still waiting is kept (a paused server answers it on resuming); a new one is sent beside it
        (a request lost on the way never answers), at most ``_MAX_PROBES`` at a time."""
        pending: list[_Call] = []
        while not self._closed_for_good and self._probe is not None:
            pending = [p for p in pending if not p.done.is_set() or p.error is None]
            if any(p.done.is_set() for p in pending):
                break  # one answered
            if len(pending) < _MAX_PROBES:
                pending.append(_Call(self._run_probe, (), {}))
            next_try = time.monotonic() + self.retry_interval
            if pending[-1].done.wait(self.retry_interval) and pending[-1].error is None:
                break
            time.sleep(max(0.0, next_try - time.monotonic()))  # a refused probe fails at once
        with self._lock:
            self._opened_at = None
        if not self._closed_for_good:
            logger.warning("Chroma store %r answers again: degraded mode ended", self.what)
            if self._on_recover is not None:
                try:
                    self._on_recover()
                except Exception as exc:  # the next sync retries
                    logger.warning("could not re-read the store after it recovered (%s)", exc)


class _GuardedCollection:
    """A chromadb collection whose requests go through a :class:`Circuit`."""

    def __init__(self, collection: Any, circuit: Circuit) -> None:
        self._collection = collection
        self._circuit = circuit

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._collection, name)
        if name in _COLLECTION_CALLS:
            return lambda *args, **kwargs: self._circuit.call(value, *args, **kwargs)
        return value


class GuardedClient:
    """A chromadb client whose requests (and its collections' requests) go through a circuit."""

    def __init__(self, client: Any, circuit: Circuit) -> None:
        self._client = client
        self._circuit = circuit

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._client, name)
        if not callable(value):
            return value
        circuit = self._circuit

        def guarded(*args: Any, **kwargs: Any) -> Any:
            result = circuit.call(value, *args, **kwargs)
            return _GuardedCollection(result, circuit) if name in _CLIENT_COLLECTION_CALLS else result

        return guarded
