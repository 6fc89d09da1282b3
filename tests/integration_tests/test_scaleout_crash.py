"""A router process killed with SIGKILL in the middle of ingestion loses no acknowledged feedback."""

from __future__ import annotations

import os
import signal

import pytest
from scaleout_support import (
    CODE,
    POETRY,
    PROBES,
    raw_log,
    read_lines,
    reference_ratings,
    run_worker,
    wait_for,
)

from eagle_core import Eagle, EagleConfig
from eagle_core._store import query_key

pytestmark = pytest.mark.server

MODELS = {"alpha": 0.01, "beta": 0.002, "gamma": 0.0005}


def _items(n: int) -> list[dict]:
    """Mixed feedback kinds over the code and poetry queries (more than the worker gets to send)."""
    queries = CODE + POETRY
    names = list(MODELS)
    items: list[dict] = []
    for i in range(n):
        q, a, b = queries[i % len(queries)], names[i % 3], names[(i + 1) % 3]
        kind = i % 4
        if kind == 0:
            items.append({"query": q, "winner": a, "loser": b})
        elif kind == 1:
            items.append({"query": q, "scores": {a: 1.0, b: 0.0, names[(i + 2) % 3]: 1.0}})
        elif kind == 2:
            items.append({"query": q, "model": b, "thumbs": i % 8 == 2})
        else:
            items.append({"query": q, "winner": a, "loser": b, "tie": True})
    return items


def test_sigkill_during_ingestion_loses_no_acknowledged_feedback(
    chroma_server, collection, table_embedder, tmp_path
) -> None:
    table, vectors = table_embedder
    Eagle(MODELS, client=chroma_server.client(), collection=collection, embedder=table).open()
    acks = tmp_path / "acks"
    spec = {"host": chroma_server.host, "port": chroma_server.port, "collection": collection,
            "vectors": str(vectors), "models": None, "role": "record", "items": _items(5000),
            "acks": str(acks)}
    proc = run_worker(spec, tmp_path / "ingest.json")
    try:
        wait_for(lambda: len(read_lines(acks)) >= 40, 90, "the worker to acknowledge 40 events")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL  # killed mid-ingestion, not finished
    acked = read_lines(acks)

    client = chroma_server.client()
    log = {row["id"]: row for row in raw_log(client, collection)}
    missing = [event_id for event_id in acked if event_id not in log]
    assert not missing, f"{len(missing)} acknowledged events lost, e.g. {missing[:3]}"
    feedback = [row for row in log.values() if row["kind"] != "models"]
    assert len(acked) <= len(feedback) <= len(acked) + 1  # at most the one in flight, unacknowledged

    reopened = Eagle(None, client=client, collection=collection, embedder=table,
                     config=EagleConfig()).open()
    assert reopened.n_feedback == len(feedback)
    assert reopened.ratings == reference_ratings(client, collection)
    # the neighbour index holds every query of the log (repaired if the kill fell between the writes)
    keys = {row["qkey"] for row in feedback}
    assert set(client.get_collection(f"{collection}_queries").get(ids=sorted(keys))["ids"]) == keys
    assert keys <= {query_key(q) for q in CODE + POETRY}
    decision = reopened.route(PROBES[0])
    assert not decision.degraded and decision.n_neighbors == min(20, len(keys))
