"""Writes are exactly-once and never half-applied; the store format is checked on open; decisions
are found by any engine on the store; a subset of the stored models can be opened (issue 15, 14).

Faults are injected into real Chroma collections by wrapping ``chromadb``'s public
``Collection.upsert`` for the collection under test.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import chromadb
import numpy as np
import pytest
from chromadb.api.models.Collection import Collection
from chromadb.config import Settings

from eagle_core import Eagle, EagleConfig, StoreMismatchError, StoreUnavailableError, UnknownDecisionError
from eagle_core._elo import replay

MODELS = {"big": 0.01, "small": 0.0005}
QUERY = "How do I reverse a list in Python?"


def _fail_upsert(monkeypatch: pytest.MonkeyPatch, suffix: str, *, times: int = 1, skip: int = 0,
                 after_write: bool = False) -> list[int]:
    """Make ``upsert`` on collections named ``*<suffix>`` raise ``times`` times, after ``skip``
    calls that succeed; ``after_write``: the write happens, then the call raises (a lost ack)."""
    real = Collection.upsert
    calls = [0]

    def upsert(self: Collection, *args: Any, **kwargs: Any) -> Any:
        if not self.name.endswith(suffix):
            return real(self, *args, **kwargs)
        calls[0] += 1
        if skip < calls[0] <= skip + times:
            if after_write:
                real(self, *args, **kwargs)
            raise ConnectionError(f"injected failure of {self.name}.upsert")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Collection, "upsert", upsert)
    return calls


def _single_application() -> dict[str, float]:
    expected = {m: EagleConfig().initial_rating for m in MODELS}
    replay(expected, [("big", "small", 1.0, 1.0)], EagleConfig().effective_global_k)
    return expected


@pytest.mark.parametrize("key", ["request-17", None], ids=["idempotency_key", "writer+seq"])
def test_retry_after_a_lost_acknowledgement_counts_once(
        tmp_path: Path, make_eagle: Callable[..., Eagle], monkeypatch: pytest.MonkeyPatch,
        key: str | None) -> None:
    eagle = make_eagle(MODELS, path=tmp_path)
    eagle.open()
    _fail_upsert(monkeypatch, "_log", after_write=True)  # stored, but the caller hears an error
    with pytest.raises(StoreUnavailableError):
        eagle.record_comparison(QUERY, winner="big", loser="small", idempotency_key=key)
    event = eagle.record_comparison(QUERY, winner="big", loser="small", idempotency_key=key)  # retry
    assert eagle.n_feedback == 1
    assert eagle.ratings == pytest.approx(_single_application())
    eagle.close()
    reopened = make_eagle(None, path=tmp_path)
    assert reopened.n_feedback == 1 and reopened.ratings == pytest.approx(_single_application())
    # the same key again (e.g. a duplicate delivery) is still one event
    if key is not None:
        assert reopened.record_comparison(QUERY, winner="big", loser="small", idempotency_key=key) == event
        assert reopened.n_feedback == 1


def test_a_failed_index_write_neither_fails_the_call_nor_counts_twice(
        tmp_path: Path, make_eagle: Callable[..., Eagle], monkeypatch: pytest.MonkeyPatch) -> None:
    """The second write (the neighbour index) fails once: the feedback is stored and applied once,
    and the index gets the query anyway (written behind, retried)."""
    eagle = make_eagle(MODELS, path=tmp_path)
    eagle.open()
    calls = _fail_upsert(monkeypatch, "_queries")
    try:
        eagle.record_comparison(QUERY, winner="big", loser="small")
    except StoreUnavailableError:  # today's code reports failure with the event in the log: retry
        eagle.record_comparison(QUERY, winner="big", loser="small")
    assert eagle.flush(timeout=30)
    assert calls[0] >= 2  # the failed write was retried
    eagle.close()
    reopened = make_eagle(None, path=tmp_path)
    assert reopened.n_feedback == 1 and reopened.ratings == pytest.approx(_single_application())
    assert reopened.route("How can I reverse a Python list?").n_neighbors == 1


def test_open_rebuilds_index_records_lost_in_a_crash(tmp_path: Path, make_eagle: Callable[..., Eagle],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    eagle = make_eagle(MODELS, path=tmp_path)
    eagle.open()
    _fail_upsert(monkeypatch, "_queries", times=10**6)  # the index write never lands ...
    eagle.record_comparison(QUERY, winner="big", loser="small")
    eagle.close()  # ... and is given up at close, as in a crash
    monkeypatch.undo()
    reopened = make_eagle(None, path=tmp_path)
    assert reopened.n_feedback == 1
    assert reopened.route("How can I reverse a Python list?").n_neighbors == 1


def test_record_many_reports_how_many_items_were_stored(make_eagle: Callable[..., Eagle],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    eagle = make_eagle(MODELS).open()
    items = [{"query": f"question {i}", "winner": "big", "loser": "small", "idempotency_key": f"k{i}"}
             for i in range(5)]
    _fail_upsert(monkeypatch, "_log", skip=1)  # batch 1 (items 0-1) stored, batch 2 fails
    with pytest.raises(StoreUnavailableError) as info:
        eagle.record_many(items, batch_size=2, progress=False)
    assert info.value.n_stored == 2 and "stored 2 of 5" in str(info.value)
    assert eagle.n_feedback == 2  # what was stored is applied: nothing half-applied
    assert eagle.record_many(items, batch_size=2, progress=False) == 5  # retry all: keys dedupe
    assert eagle.n_feedback == 5 and eagle.n_comparisons == 5


def test_record_many_resumes_from_n_stored_without_keys(
        tmp_path: Path, make_eagle: Callable[..., Eagle], monkeypatch: pytest.MonkeyPatch) -> None:
    eagle = make_eagle(MODELS, path=tmp_path).open()
    items = [{"query": f"question {i}", "winner": "big", "loser": "small"} for i in range(5)]
    _fail_upsert(monkeypatch, "_log", skip=1, after_write=True)  # batch 2 written, ack lost
    with pytest.raises(StoreUnavailableError) as info:
        eagle.record_many(items, batch_size=2, progress=False)
    done = info.value.n_stored
    assert done == 2
    assert eagle.record_many(items[done:], batch_size=2, progress=False) == 3
    eagle.close()
    assert make_eagle(None, path=tmp_path).n_feedback == 5  # the lost-ack batch was overwritten


def test_store_of_an_unknown_format_is_refused_on_open(tmp_path: Path,
                                                       make_eagle: Callable[..., Eagle]) -> None:
    make_eagle(MODELS, path=tmp_path).open().close()
    client = chromadb.PersistentClient(path=str(tmp_path), settings=Settings(anonymized_telemetry=False))
    log = client.get_collection("eagle_log")
    log.modify(metadata={**(log.metadata or {}), "eagle:format": 99})
    with pytest.raises(StoreMismatchError, match=r"format 99.*upgrade eagle-router"):
        make_eagle(MODELS, path=tmp_path).open()


def test_stores_save_their_vector_index_every_100_records(tmp_path: Path,
                                                         make_eagle: Callable[..., Eagle]) -> None:
    """A local Chroma re-reads, on every write, the records queued since the collection's vector
    index was last saved, which it does every ``sync_threshold`` records (1000 by default): a new
    store uses 100, and a store created with the default gets 100 when it is opened."""
    make_eagle(MODELS, path=tmp_path).open().close()
    client = chromadb.PersistentClient(path=str(tmp_path), settings=Settings(anonymized_telemetry=False))
    names = ("eagle_log", "eagle_queries", "eagle_decisions")

    def thresholds() -> dict[str, int]:
        return {n: client.get_collection(n).configuration_json["hnsw"]["sync_threshold"] for n in names}

    assert thresholds() == dict.fromkeys(names, 100)
    for name in names:  # as a store written before this version
        client.get_collection(name).modify(configuration={"hnsw": {"sync_threshold": 1000}})
    assert thresholds() == dict.fromkeys(names, 1000)
    eagle = make_eagle(None, path=tmp_path)
    eagle.record_comparison(QUERY, winner="big", loser="small")
    assert thresholds() == dict.fromkeys(names, 100) and eagle.n_feedback == 1


def test_a_format_1_store_is_read_and_written_in_format_1(tmp_path: Path, embedder: Any,
                                                          make_eagle: Callable[..., Eagle]) -> None:
    """A store written by eagle-router 0.1 (eight metadata fields, the embedding and the text per
    event) keeps working: its events replay, new ones are written the same way."""
    client = chromadb.PersistentClient(path=str(tmp_path), settings=Settings(anonymized_telemetry=False))
    meta = {"eagle:format": 1, "eagle:embedder": embedder.name, "eagle:dim": 384}
    log = client.create_collection("eagle_log", metadata=meta, configuration={"hnsw": {"space": "cosine"}})
    client.create_collection("eagle_queries", metadata=meta, configuration={"hnsw": {"space": "cosine"}})
    vec = embedder.embed([QUERY])
    unit = np.zeros((1, 384), dtype=np.float32)
    unit[0, 0] = 1.0
    common = {"writer": "old", "qkey": "", "decision": ""}
    log.add(ids=["e1"], embeddings=unit, documents=[""], metadatas=[{
        **common, "kind": "models", "ts": 1, "seq": 1, "pairs": "[]",
        "payload": json.dumps({"models": {"big": 0.01, "small": 0.0005}})}])
    log.add(ids=["e2"], embeddings=vec, documents=[QUERY], metadatas=[{
        **common, "kind": "comparison", "ts": 2, "seq": 2, "qkey": "x" * 32, "payload": "{}",
        "pairs": json.dumps([["big", "small", 1.0, 1.0, False]])}])
    eagle = make_eagle(None, path=tmp_path)
    assert eagle.models == ("big", "small") and eagle.n_feedback == 1
    assert eagle.ratings == pytest.approx(_single_application())
    eagle.record_comparison("Another question", winner="small", loser="big")
    eagle.close()
    got = log.get(include=["metadatas"])
    assert len(got["ids"]) == 3 and all("kind" in m for m in got["metadatas"])  # still format 1
    assert make_eagle(None, path=tmp_path).n_feedback == 2


def test_feedback_by_decision_id_from_another_engine(tmp_path: Path,
                                                     make_eagle: Callable[..., Eagle]) -> None:
    """Two engines on one store stand for two web workers: one routes, the other gets the thumb."""
    router = make_eagle(MODELS, path=tmp_path).open()
    rater = make_eagle(MODELS, path=tmp_path).open()
    decision = router.route(QUERY)
    rater.record_feedback(decision.decision_id, thumbs=True)
    assert rater.decision(decision.decision_id).model == decision.model
    assert rater.ratings[decision.model] > 1500.0
    with pytest.raises(UnknownDecisionError, match="decision_retention"):
        rater.record_feedback("no-such-decision", thumbs=True)


def test_routing_does_not_wait_for_the_decision_write(make_eagle: Callable[..., Eagle],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    eagle = make_eagle(MODELS).open()
    release = threading.Event()
    real = Collection.upsert

    def stuck(self: Collection, *args: Any, **kwargs: Any) -> Any:
        if self.name.endswith("_decisions"):
            release.wait(60)  # a store that hangs on the decision write
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Collection, "upsert", stuck)
    done = []
    worker = threading.Thread(target=lambda: done.extend(eagle.route(f"q{i}") for i in range(3)))
    worker.start()
    worker.join(timeout=30)
    routed_while_stuck = len(done) == 3 and not release.is_set()
    release.set()
    worker.join()
    assert routed_while_stuck
    assert eagle.flush(timeout=30)


def test_opening_with_a_subset_of_the_stored_models_routes_among_them(
        tmp_path: Path, make_eagle: Callable[..., Eagle]) -> None:
    three = {"big": 0.01, "mid": 0.002, "small": 0.0005}
    full = make_eagle(three, path=tmp_path)
    full.record_comparison(QUERY, winner="mid", loser="big")
    full.close()
    two = make_eagle({"big": 0.01, "small": 0.0005}, path=tmp_path)
    assert two.models == ("big", "small")
    assert {s.model for s in two.route(QUERY).ranking} == {"big", "small"}
    two.record_comparison(QUERY, winner="small", loser="big")
    two.close()
    again = make_eagle(three, path=tmp_path)
    assert again.models == ("big", "mid", "small") and again.ratings["mid"] > 1500.0
    with pytest.raises(StoreMismatchError, match=r"add_model"):
        make_eagle({"big": 0.01, "other": 0.1}, path=tmp_path).open()


def test_warmup_loads_the_embedder_and_opens_the_store(embedder: Any) -> None:
    calls: list[int] = []

    def counting(texts: list[str]) -> np.ndarray:
        calls.append(len(texts))
        return embedder.embed(texts)

    eagle = Eagle(MODELS, embedder=counting)
    assert not calls
    assert eagle.warmup() is eagle
    assert calls and eagle.models == ("big", "small")
    eagle.close()
