"""Routes never wait on a store that does not answer; writes fail fast and typed, then recover.

Two real faults, each while threads route and write: a ``chroma run`` server paused with SIGSTOP
(it accepts connections and never answers until SIGCONT), and a loopback TCP server in front of
Chroma that accepts and reads requests but never answers. With ``store_timeout=1`` the first route
after the hang waits at most about the timeout (the issue's bound is 20 s), later routes skip the
store (circuit open), writes raise ``StoreUnavailableError`` within the timeout, and once the store
answers again writes succeed (within a minute; here within a few probe intervals).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable

import pytest
from scaleout_support import CODE, POETRY, PROBES, ChromaServer, SilentProxy

from eagle_core import Eagle, EagleConfig, EagleError, StoreUnavailableError

pytestmark = [pytest.mark.server, pytest.mark.timeout(240)]

MODELS = {"alpha": 0.01, "beta": 0.01}
TIMEOUT = 1.0
CONFIG = EagleConfig(n_neighbors=4, store_timeout=TIMEOUT, store_retry_interval=0.5, sync_interval=0.2)
FIRST_ROUTE_LIMIT = min(20.0, TIMEOUT + 3.0)
"""Slack over the timeout for a loaded 2-core machine; the issue asks for <= 20 s."""
DEGRADED_ROUTE_LIMIT = 1.0
"""A route while the circuit is open does no store call at all (normally a few ms here)."""


class Traffic:
    """Two router threads and one writer thread running until stopped, recording what happened."""

    def __init__(self, eagle: Eagle) -> None:
        self.eagle = eagle
        self.stop = threading.Event()
        self.route_s: list[tuple[float, float]] = []  # (start time, seconds)
        self.write_errors: list[tuple[float, BaseException]] = []
        self.unexpected: list[BaseException] = []
        self.threads = [threading.Thread(target=self._route, args=(i,)) for i in range(2)]
        self.threads.append(threading.Thread(target=self._write))

    def __enter__(self) -> Traffic:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(60)

    def _route(self, i: int) -> None:
        j = 0
        while not self.stop.is_set():
            t0 = time.monotonic()
            try:
                self.eagle.route(PROBES[(i + j) % 2])
            except BaseException as exc:
                self.unexpected.append(exc)
            self.route_s.append((t0, time.monotonic() - t0))
            j += 1
            time.sleep(0.01)

    def _write(self) -> None:
        j = 0
        while not self.stop.is_set():
            t0 = time.monotonic()
            try:
                self.eagle.record_comparison(CODE[j % 4], winner="beta", loser="alpha")
            except EagleError as exc:
                self.write_errors.append((time.monotonic() - t0, exc))
            except BaseException as exc:
                self.unexpected.append(exc)
            j += 1
            time.sleep(0.05)


def _timed(call: Callable[[], object]) -> tuple[object, float]:
    t0 = time.monotonic()
    out = call()
    return out, time.monotonic() - t0


def _exercise(eagle: Eagle, hang: Callable[[], None], resume: Callable[[], None]) -> None:
    for q in CODE[:4]:
        eagle.record_comparison(q, winner="beta", loser="alpha")
    for q in POETRY[:4]:
        eagle.record_comparison(q, winner="alpha", loser="beta")
    assert not eagle.route(PROBES[0]).degraded
    with Traffic(eagle) as traffic:
        time.sleep(0.3)
        hang()
        hung_at = time.monotonic()
        try:
            time.sleep(0.2)  # the writer thread (one write per 50 ms) is now stuck on the store
            # read-only calls never wait on a writer stuck on the store
            _, read_s = _timed(lambda: (eagle.models, eagle.ratings, eagle.leaderboard()))
            assert read_s < DEGRADED_ROUTE_LIMIT
            first, first_s = _timed(lambda: eagle.route(PROBES[0]))
            assert first_s <= FIRST_ROUTE_LIMIT
            deadline = time.monotonic() + 3 * TIMEOUT + 5
            while not eagle.degraded and time.monotonic() < deadline:
                time.sleep(0.05)
            assert eagle.degraded
            later = [_timed(lambda: eagle.route(PROBES[1])) for _ in range(5)]
            assert all(d.degraded and d.n_neighbors == 0 for d, _ in later)  # type: ignore[attr-defined]
            assert max(s for _, s in later) < DEGRADED_ROUTE_LIMIT
            with pytest.raises(StoreUnavailableError, match="not recorded"):
                t0 = time.monotonic()
                eagle.record_comparison(CODE[0], winner="beta", loser="alpha")
            assert time.monotonic() - t0 < DEGRADED_ROUTE_LIMIT  # refused at once, circuit open
            time.sleep(TIMEOUT)  # the threads keep routing and writing against the hung store
        finally:
            resume()
        resumed_at = time.monotonic()
        deadline = resumed_at + 60
        while True:
            try:
                eagle.record_comparison(CODE[1], winner="beta", loser="alpha")
                break
            except StoreUnavailableError:
                assert time.monotonic() < deadline, "writes did not recover within a minute"
                time.sleep(0.2)
        time.sleep(0.3)
    assert not traffic.unexpected, traffic.unexpected[:3]
    during = [s for t0, s in traffic.route_s if hung_at - 0.5 <= t0 <= resumed_at]
    assert during and max(during) <= FIRST_ROUTE_LIMIT  # no route of any thread waited longer
    assert traffic.write_errors and all(isinstance(e, StoreUnavailableError)
                                        for _, e in traffic.write_errors)
    assert max(s for s, _ in traffic.write_errors) <= FIRST_ROUTE_LIMIT
    assert not eagle.route(PROBES[0]).degraded


def _converges(eagle: Eagle, client: object, collection: str, table: object) -> None:
    """A write that timed out may still have landed: a sync folds it in, like a fresh replay."""
    eagle.sync()
    fresh = Eagle(None, client=client, collection=collection, embedder=table)
    assert fresh.ratings == eagle.ratings and fresh.n_feedback == eagle.n_feedback
    fresh.close()


def test_paused_chroma_server(table_embedder, tmp_path) -> None:
    table, _ = table_embedder
    server = ChromaServer(tmp_path / "db").start()
    assert server.proc is not None
    pid = server.proc.pid
    try:
        eagle = Eagle(MODELS, client=server.client(), collection="paused", embedder=table,
                      config=CONFIG).open()
        _exercise(eagle, lambda: os.kill(pid, signal.SIGSTOP), lambda: os.kill(pid, signal.SIGCONT))
        _converges(eagle, server.client(), "paused", table)
        eagle.close()
    finally:
        os.kill(pid, signal.SIGCONT)
        server.stop()


def test_tcp_server_that_never_answers(table_embedder, tmp_path) -> None:
    table, _ = table_embedder
    server = ChromaServer(tmp_path / "db").start()
    proxy = SilentProxy(server.host, server.port)
    try:
        eagle = Eagle(MODELS, client=proxy.client(), collection="silent", embedder=table,
                      config=CONFIG).open()
        _exercise(eagle, proxy.go_silent, proxy.resume)
        _converges(eagle, server.client(), "silent", table)
        eagle.close()
    finally:
        proxy.close()
        server.stop()
