"""Threads routing, recording and syncing at once in one process: no exceptions, no lost updates."""

from __future__ import annotations

import threading
import time

import pytest
from scaleout_support import CODE, POETRY, PROBES, raw_log, reference_ratings

from eagle_core import Eagle, EagleConfig

pytestmark = [pytest.mark.server, pytest.mark.timeout(180)]

MODELS = {"alpha": 0.01, "beta": 0.002, "gamma": 0.0005}
QUERIES = CODE + POETRY
PER_RECORDER = 25


def _recorder(eagle: Eagle, offset: int, ids: list[str]) -> None:
    names = list(MODELS)
    for i in range(PER_RECORDER):
        q = QUERIES[(i + offset) % len(QUERIES)]
        a, b = names[(i + offset) % 3], names[(i + offset + 1) % 3]
        kind = i % 4
        if kind == 0:
            ids.append(eagle.record_comparison(q, winner=a, loser=b))
        elif kind == 1:
            ids.append(eagle.record_scores(q, {a: 1.0, b: 0.0}))
        elif kind == 2:
            ids.append(eagle.record_thumbs(q, a, up=i % 8 == 2))
        else:
            decision = eagle.route(q)
            other = next(m for m in names if m != decision.model)
            ids.append(eagle.record_feedback(decision.decision_id, worse=other))


def test_concurrent_route_record_and_sync_lose_nothing(chroma_server, collection, table_embedder) -> None:
    table, _ = table_embedder
    client = chroma_server.client()
    eagle = Eagle(MODELS, client=client, collection=collection, embedder=table,
                  config=EagleConfig(sync_interval=0.05)).open()
    # A second engine on the same store (another writer id, like another process): its events arrive
    # late at `eagle`, so `eagle` keeps re-replaying the log while its other threads route and record.
    other = Eagle(None, client=chroma_server.client(), collection=collection, embedder=table).open()
    errors: list[BaseException] = []
    ids: dict[str, list[str]] = {"r0": [], "r1": [], "other": []}
    stop = threading.Event()
    routed = [0]

    def guard(fn, *args) -> None:
        try:
            fn(*args)
        except BaseException as exc:  # noqa: BLE001 - the test reports every failure
            errors.append(exc)
            stop.set()

    def router() -> None:
        deadline = time.monotonic() + 60
        i = 0
        while not stop.is_set() and i < 400 and time.monotonic() < deadline:
            decision = eagle.route((QUERIES + PROBES)[i % (len(QUERIES) + 2)])
            assert decision.model in MODELS and len(decision.ranking) == len(MODELS)
            assert not decision.degraded
            routed[0] += 1
            i += 1

    def syncer() -> None:
        deadline = time.monotonic() + 60
        while not stop.is_set() and time.monotonic() < deadline:
            eagle.sync()
            time.sleep(0.01)

    writers = [
        threading.Thread(target=guard, args=(_recorder, eagle, 0, ids["r0"])),
        threading.Thread(target=guard, args=(_recorder, eagle, 7, ids["r1"])),
        threading.Thread(target=guard, args=(_recorder, other, 3, ids["other"])),
    ]
    background = [threading.Thread(target=guard, args=(fn,)) for fn in (router, router, syncer)]
    for t in writers + background:
        t.start()
    for t in writers:
        t.join(timeout=120)
    stop.set()
    for t in background:
        t.join(timeout=60)
    assert not errors, errors
    assert routed[0] > 0

    eagle.sync()
    every = [i for batch in ids.values() for i in batch]
    assert len(every) == len(set(every)) == 3 * PER_RECORDER
    log = [row for row in raw_log(client, collection) if row["kind"] != "models"]
    assert {row["id"] for row in log} == set(every)
    assert eagle.n_feedback == len(log) == 3 * PER_RECORDER
    # a score set's stored grades (matches against par) feed the graded ratings, not the count
    assert eagle.n_comparisons == sum(len(row["pairs"]) for row in log) - sum(
        1 for row in log if row["kind"] == "scores" for p in row["pairs"] if p[1] == "")
    reference = reference_ratings(client, collection)
    assert eagle.ratings == reference
    assert other.sync() > 0 and other.ratings == reference
    reopened = Eagle(None, client=client, collection=collection, embedder=table).open()
    assert reopened.ratings == reference and reopened.n_feedback == len(log)
