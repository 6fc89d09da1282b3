"""close() closes, and add_model is idempotent (also across workers and on replay)."""

from __future__ import annotations

import chromadb
import pytest
from chromadb.config import Settings

from eagle_core import ConfigError, Eagle, EagleConfig, EagleError, EngineClosedError

MODELS = {"big": 0.01, "small": 0.0005}
CODE = ["How do I reverse a list in Python?", "What does the yield keyword do in Python?"]


def test_a_closed_engine_raises_a_typed_error(make_eagle) -> None:
    eagle = make_eagle(MODELS)
    decision = eagle.route(CODE[0])
    eagle.close()
    assert eagle.closed
    calls = {
        "route": lambda: eagle.route(CODE[0]),
        "record_comparison": lambda: eagle.record_comparison(CODE[0], winner="big", loser="small"),
        "record_feedback": lambda: eagle.record_feedback(decision.decision_id, thumbs=True),
        "ratings": lambda: eagle.ratings,
        "models": lambda: eagle.models,
        "add_model": lambda: eagle.add_model("mid", 0.001),
        "sync": lambda: eagle.sync(),
        "leaderboard": lambda: eagle.leaderboard(),
        "open": lambda: eagle.open(),
    }
    for call in calls.values():
        with pytest.raises(EngineClosedError, match="closed; create a new Eagle") as info:
            call()
        assert isinstance(info.value, EagleError) and isinstance(info.value, RuntimeError)
    eagle.close()  # closing twice is fine


def test_an_in_memory_engine_deletes_its_collections_on_close(embedder, in_memory_collections) -> None:
    before = in_memory_collections()
    eagle = Eagle(MODELS, embedder=embedder)
    eagle.record_comparison(CODE[0], winner="big", loser="small")
    assert len(in_memory_collections() - before) == 3  # <name>_log, <name>_queries, <name>_decisions
    eagle.close()
    assert in_memory_collections() == before


def test_a_persistent_store_survives_close(tmp_path, make_eagle) -> None:
    eagle = make_eagle(MODELS, path=tmp_path / "s")
    eagle.record_comparison(CODE[0], winner="big", loser="small")
    ratings = eagle.ratings
    eagle.close()
    assert make_eagle(None, path=tmp_path / "s").ratings == ratings


def test_engines_opened_one_after_another_on_a_relative_path_use_their_own_directory(
        tmp_path, monkeypatch, make_eagle) -> None:
    """One process, one engine after another on ``path="store"``, each from its own working
    directory (as a script run twice, or a test suite, does). chromadb keeps one embedded store per
    path *string*: the second engine used to reach the first directory's store, the third failed
    with "Error in compaction ... Failed to get segments"."""
    counts = []
    for where in ("a", "b", "c"):
        (tmp_path / where).mkdir()
        monkeypatch.chdir(tmp_path / where)
        eagle = make_eagle(MODELS, path="store")
        for question in CODE:
            eagle.record_comparison(f"{question} ({where})", winner="big", loser="small")
        decision = eagle.route(f"{CODE[0]} again ({where})")
        eagle.record_feedback(decision.decision_id, thumbs=True)
        counts.append(eagle.n_feedback)
        eagle.close()
        assert (tmp_path / where / "store" / "chroma.sqlite3").is_file()
    assert counts == [3, 3, 3]
    # the same directory spelt another way is the same store
    again = make_eagle(None, path=tmp_path / "b" / ".." / "b" / "store")
    assert again.n_feedback == 3
    again.record_comparison(CODE[1], winner="small", loser="big")
    again.close()
    assert make_eagle(None, path=tmp_path / "b" / "store").n_feedback == 4


def test_adding_an_existing_model_with_the_same_cost_is_a_no_op(make_eagle) -> None:
    eagle = make_eagle(MODELS)
    eagle.add_model("mid", 0.002)
    eagle.record_comparison(CODE[0], winner="mid", loser="big")
    before = (eagle.ratings, eagle.models, eagle.n_feedback, eagle.leaderboard())
    eagle.add_model("mid", 0.002)
    assert (eagle.ratings, eagle.models, eagle.n_feedback, eagle.leaderboard()) == before
    assert eagle.ratings["mid"] > 1500.0


def test_adding_an_existing_model_with_another_cost_names_the_fix(tmp_path, make_eagle) -> None:
    eagle = make_eagle(MODELS, path=tmp_path / "s")
    ratings = eagle.ratings
    with pytest.raises(ConfigError, match=r"'big' already exists with cost 0.01, got 0.02.*remove_model"):
        eagle.add_model("big", 0.02)
    assert eagle.ratings == ratings and eagle.costs["big"] == 0.01
    eagle.close()
    assert make_eagle(None, path=tmp_path / "s").costs["big"] == 0.01  # nothing was stored


def test_two_workers_adding_the_same_model_keep_its_ratings(tmp_path, embedder) -> None:
    client = chromadb.PersistentClient(str(tmp_path / "s"), settings=Settings(anonymized_telemetry=False))
    first = Eagle(MODELS, client=client, collection="race", embedder=embedder).open()
    second = Eagle(None, client=client, collection="race", embedder=embedder).open()
    first.add_model("mid", 0.002)
    for q in CODE:
        first.record_comparison(q, winner="mid", loser="big")
    second.add_model("mid", 0.002)  # has not synced: it does not know "mid" yet, and adds it too
    rating = first.ratings["mid"]
    assert rating > 1500.0
    first.sync()  # replays the second add: a no-op
    second.sync()
    assert first.ratings["mid"] == second.ratings["mid"] == rating
    fresh = Eagle(None, client=client, collection="race", embedder=embedder)
    assert fresh.ratings == first.ratings and fresh.models == ("big", "small", "mid")
    assert fresh.leaderboard() == first.leaderboard()


def test_routes_and_reads_never_wait_on_a_writer(make_eagle, monkeypatch) -> None:
    """A writer stuck in its log write (as on a hung store) blocks no reader."""
    import threading

    from chromadb.api.models.Collection import Collection

    eagle = make_eagle(MODELS, config=EagleConfig(store_timeout=None))  # stuck until released
    eagle.record_comparison(CODE[0], winner="big", loser="small")
    eagle.route(CODE[1])  # warm: the reader below only waits if it waits on the writer
    held, release = threading.Event(), threading.Event()
    real = Collection.upsert

    def hung(self: Collection, *args, **kwargs):
        if self.name.endswith("_log"):
            held.set()
            release.wait(30)  # a store that does not answer the log write
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Collection, "upsert", hung)
    w = threading.Thread(target=lambda: eagle.record_comparison(CODE[1], winner="small", loser="big"))
    w.start()
    assert held.wait(10)
    results: dict[str, object] = {}

    def reader() -> None:
        results["route"] = eagle.route(CODE[1])
        results["reads"] = (eagle.models, eagle.ratings, eagle.costs, eagle.n_feedback,
                            eagle.leaderboard())

    try:
        r = threading.Thread(target=reader)
        r.start()
        r.join(10)
        assert not r.is_alive(), "a route or a read waited on the writer"
    finally:
        release.set()
        w.join()
    assert results["route"].model in MODELS  # type: ignore[attr-defined]
    assert eagle.n_feedback == 2  # the write went through once the store answered
