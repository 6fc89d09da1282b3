"""Late events from another writer are slotted in at their (ts, writer, seq) place.

Two engines on one persistent Chroma store (two writers, like two processes). Every event the other
writes while this one is writing arrives "late" at the next sync; the result must equal a full replay
of the log: same global ratings, counters and per-query match lists (so the same local ratings).
"""

from __future__ import annotations

import logging

import chromadb
import pytest
from chromadb.config import Settings
from scaleout_support import CODE, POETRY, PROBES

import eagle_core._timeline as timeline_module
from eagle_core import Eagle, EagleConfig

MODELS = {"alpha": 0.01, "beta": 0.002, "gamma": 0.0005}
QUERIES = CODE + POETRY
CONFIG = EagleConfig(draw_score=None)  # dropped draws: events with no match at all must survive too


def _write(eagle: Eagle, i: int) -> None:
    q, names = QUERIES[i % len(QUERIES)], list(eagle.models)
    a, b = names[i % len(names)], names[(i + 1) % len(names)]
    kind = i % 4
    if kind == 0:
        eagle.record_comparison(q, winner=a, loser=b)
    elif kind == 1:
        eagle.record_comparison(q, winner=a, loser=b, tie=True)
    elif kind == 2:
        eagle.record_scores(q, {a: 0.2, b: 0.9})
    else:
        eagle.record_thumbs(q, b, up=i % 8 == 3)


def _pair(tmp_path, table) -> tuple[Eagle, Eagle, chromadb.ClientAPI]:
    client = chromadb.PersistentClient(str(tmp_path / "store"), settings=Settings(anonymized_telemetry=False))
    mine = Eagle(MODELS, client=client, collection="sync", embedder=table, config=CONFIG).open()
    other = Eagle(None, client=client, collection="sync", embedder=table, config=CONFIG).open()
    return mine, other, client


def _full_replays(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The re-reads of the whole log logged so far (an engine logs each one at INFO)."""
    return [r.getMessage() for r in caplog.records if "re-read the whole log" in r.getMessage()]


def _assert_same_as_full_replay(eagle: Eagle, client, table) -> None:
    fresh = Eagle(None, client=client, collection="sync", embedder=table, config=CONFIG).open()
    assert eagle.ratings == fresh.ratings
    assert eagle.models == fresh.models
    assert (eagle.n_feedback, eagle.n_comparisons, eagle.n_queries) == (
        fresh.n_feedback, fresh.n_comparisons, fresh.n_queries)
    assert eagle.leaderboard() == fresh.leaderboard()
    for q in PROBES + QUERIES[:3]:
        # n_neighbors (80) > the stored queries: every route replays every query's matches, so its
        # local ratings (in the ranking) and the audit's match count per query pin each match list
        assert eagle.route(q).ranking == fresh.route(q).ranking
        assert _matches_per_query(eagle, q) == _matches_per_query(fresh, q)


def _matches_per_query(eagle: Eagle, query: str) -> list[tuple[str, int]]:
    """(query key, matches stored for it) of the neighbours ``query`` replays, nearest first (not the
    distances: this process's newest queries are searched in memory until written behind)."""
    return [(n.query_key, n.n_matches) for n in eagle.audit(query).neighbours]


def _race_initial_models(client, table) -> None:
    """What a worker that also found the store empty writes, stamped now: its ``models`` event. It
    is written by a real engine opening an empty collection of its own, and copied into the shared
    log with Chroma's client (no public call writes it into a store that already has events)."""
    Eagle(MODELS, client=client, collection="racer", embedder=table, config=CONFIG).open().close()
    written = client.get_collection("racer_log").get(include=["embeddings", "metadatas"])
    assert len(written["ids"]) == 1
    client.get_collection("sync_log").upsert(ids=written["ids"], embeddings=written["embeddings"],
                                             metadatas=written["metadatas"])


@pytest.fixture(autouse=True)
def small_snapshot_interval(monkeypatch) -> None:
    monkeypatch.setattr(timeline_module, "CHECKPOINT_EVERY", 8)  # a few dozen events cross several


def test_late_events_are_reordered_in_memory(tmp_path, table_embedder, caplog) -> None:
    table, _ = table_embedder
    mine, other, client = _pair(tmp_path, table)
    caplog.set_level(logging.INFO)
    for i in range(30):  # past a few snapshots, so the rollback starts from one in the middle
        _write(mine, i)
    assert mine.sync() == 0
    for i in range(30, 70):  # interleaved: every event of `other` orders before `mine`'s next one
        _write(other if i % 2 else mine, i)
        if i == 40:
            other.add_model("delta", 0.001)  # control events in the re-ordered stretch too
        if i == 60:
            other.remove_model("gamma")
    assert mine.sync() == 22
    assert _full_replays(caplog) == []  # no re-read of the whole log
    assert "delta" in mine.models and "gamma" not in mine.models
    _assert_same_as_full_replay(mine, client, table)
    other.sync()
    assert other.ratings == mine.ratings


def test_late_events_older_than_the_snapshots_fall_back_to_a_full_replay(
    tmp_path, table_embedder, monkeypatch, caplog
) -> None:
    monkeypatch.setattr(timeline_module, "REORDER_HORIZON_NS", 0)  # keep only the newest snapshot
    table, _ = table_embedder
    mine, other, client = _pair(tmp_path, table)
    caplog.set_level(logging.INFO)
    _write(other, 0)
    other.add_model("delta", 0.001)  # another process changed the model set: not a mismatch here
    for i in range(1, 30):
        _write(mine, i)
    assert mine.sync() == 2
    assert len(_full_replays(caplog)) == 1
    _assert_same_as_full_replay(mine, client, table)


def test_a_late_event_creating_a_new_query_is_undone_and_redone(tmp_path, table_embedder) -> None:
    table, _ = table_embedder
    mine, other, client = _pair(tmp_path, table)
    for i, q in enumerate(PROBES * 3):  # queries only `other` asks: new entries, created late at `mine`
        other.record_comparison(q, winner="alpha", loser="beta")
        mine.record_comparison(CODE[i], winner="gamma", loser="alpha")
    mine.sync()
    _assert_same_as_full_replay(mine, client, table)


def test_a_second_process_creating_the_same_store_does_not_reset_ratings(tmp_path, table_embedder) -> None:
    """Two workers opening an empty store at once both write the initial ``models`` event; the later
    one may land after the first feedback and must not reset the ratings on replay."""
    table, _ = table_embedder
    mine, _, client = _pair(tmp_path, table)
    mine.record_comparison(CODE[0], winner="alpha", loser="beta")
    ratings = mine.ratings
    assert ratings["alpha"] > 1500.0
    _race_initial_models(client, table)  # what the racing worker wrote, stamped later
    assert mine.sync() == 1
    assert mine.ratings == ratings
    _assert_same_as_full_replay(mine, client, table)
