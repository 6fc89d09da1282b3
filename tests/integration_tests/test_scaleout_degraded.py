"""Degraded mode: the Chroma server goes away; routing falls back to global ratings, writes fail loudly."""

from __future__ import annotations

import logging
import signal

import pytest
from scaleout_support import CODE, POETRY, PROBES, ChromaServer

from eagle_core import Eagle, EagleConfig, StoreUnavailableError

pytestmark = [pytest.mark.server, pytest.mark.timeout(120)]

MODELS = {"alpha": 0.01, "beta": 0.01}


def test_server_down_routes_on_global_ratings_and_refuses_feedback(
    table_embedder, tmp_path, caplog
) -> None:
    table, _ = table_embedder
    server = ChromaServer(tmp_path / "db").start()
    try:
        eagle = Eagle(MODELS, client=server.client(), collection="degraded", embedder=table,
                      config=EagleConfig(p=0.2, n_neighbors=4, sync_interval=0.0)).open()
        for q in CODE[:4]:
            eagle.record_comparison(q, winner="beta", loser="alpha")
        for q in POETRY[:6]:
            eagle.record_comparison(q, winner="alpha", loser="beta")
        healthy = eagle.route(PROBES[0])
        assert not healthy.degraded and healthy.n_neighbors == 4
        assert healthy.model == "beta"  # local (4 code neighbours, weight 0.8) beats the global lead of alpha
        before = (eagle.ratings, eagle.n_feedback, eagle.n_comparisons)

        server.stop(signal.SIGKILL)
        with caplog.at_level(logging.WARNING, logger="eagle_core"):
            down = eagle.route(PROBES[0])
        assert down.degraded and down.n_neighbors == 0
        assert any("global ratings" in r.getMessage() for r in caplog.records)
        assert all(s.local_rating == s.global_rating for s in down.ranking)
        assert down.model == "alpha"  # the global leader
        with pytest.raises(StoreUnavailableError, match="not recorded"):
            eagle.record_comparison(CODE[0], winner="beta", loser="alpha")
        with pytest.raises(StoreUnavailableError, match="not recorded"):
            eagle.record_scores(CODE[1], {"alpha": 0.0, "beta": 1.0})
        with pytest.raises(StoreUnavailableError, match="not recorded"):
            eagle.record_feedback(down.decision_id, better="beta")
        with pytest.raises(StoreUnavailableError):
            eagle.record_many([{"query": CODE[2], "winner": "beta", "loser": "alpha"}], progress=False)
        with pytest.raises(StoreUnavailableError):
            eagle.sync()
        assert (eagle.ratings, eagle.n_feedback, eagle.n_comparisons) == before  # nothing half-applied

        server.start()  # same path and port: the engine carries on without being reopened
        assert not eagle.route(PROBES[0]).degraded
        eagle.record_comparison(CODE[0], winner="beta", loser="alpha")
        assert eagle.n_feedback == before[1] + 1
        reopened = Eagle(None, client=server.client(), collection="degraded", embedder=table).open()
        assert reopened.ratings == eagle.ratings and reopened.n_feedback == eagle.n_feedback
    finally:
        server.stop()
