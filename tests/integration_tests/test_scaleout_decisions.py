"""Feedback by decision id arrives at another worker than the one that routed (issue 15): the
decision is stored with the feedback log, so any process on the same ``chroma run`` server can
take the thumb."""

from __future__ import annotations

import json

import pytest
from scaleout_support import CODE, finish, raw_log, read_lines, run_worker, wait_for

from eagle_core import Eagle, EagleConfig, UnknownDecisionError

pytestmark = pytest.mark.server

MODELS = {"alpha": 0.01, "beta": 0.002}


def test_a_decision_routed_in_one_process_takes_feedback_in_another(
    chroma_server, collection, table_embedder, tmp_path
) -> None:
    table, vectors = table_embedder
    client = chroma_server.client()
    rater = Eagle(MODELS, client=client, collection=collection, embedder=table,
                  config=EagleConfig(decision_wait=5.0)).open()
    out, stop, spec_path = tmp_path / "decisions.jsonl", tmp_path / "stop", tmp_path / "router.json"
    spec = {"role": "route", "host": chroma_server.host, "port": chroma_server.port,
            "collection": collection, "vectors": str(vectors), "models": None,
            "queries": CODE[:3], "out": str(out), "stop": str(stop)}
    proc = run_worker(spec, spec_path)
    try:
        wait_for(lambda: len(read_lines(out)) == 3, 120, "the router process's three decisions")
        routed = [json.loads(line) for line in read_lines(out)]
        # the thumbs arrive at once: the router may not have written the decision yet (written
        # behind its route); the rater waits for it
        ids = [rater.record_feedback(d["decision_id"], thumbs=True) for d in routed]
        with pytest.raises(UnknownDecisionError, match="decision_retention"):
            rater.record_feedback("never-routed", thumbs=True)
    finally:
        stop.touch()
        finish(proc, spec_path)
    assert rater.n_feedback == 3
    feedback = {row["id"]: row for row in raw_log(client, collection) if row["kind"] != "models"}
    assert set(feedback) == set(ids)
    assert sorted(row["decision"] for row in feedback.values()) == sorted(d["decision_id"] for d in routed)
    for d in routed:  # each thumb went to the model the other process chose
        assert rater.decision(d["decision_id"]).model == d["model"]
    rater.close()
