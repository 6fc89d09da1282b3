"""The engine on real Chroma and the real MiniLM embedder."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math

import pytest

from eagle_core import Eagle, EagleConfig, RouteDecision, TokenCost
from eagle_core._elo import replay

MODELS = {"big": 0.01, "small": 0.0005}

PYTHON = [
    "How do I reverse a list in Python?",
    "What is a Python dictionary comprehension?",
    "How to read a CSV file with Python's csv module?",
    "Explain Python decorators with an example.",
    "How do I sort a list of tuples in Python by the second element?",
    "What does the yield keyword do in Python?",
]
POETRY = [
    "Write a sonnet about the autumn sea.",
    "Compose a haiku about falling snow.",
    "Write a love poem in the style of Neruda.",
    "Give me a limerick about a cat who sails.",
    "Write a short poem about the moon over the ocean.",
    "Compose free verse about a summer storm.",
]


def test_constructor_only_stores(embedder, in_memory_collections, tmp_path) -> None:
    before = in_memory_collections()
    eagle = Eagle(MODELS, embedder=embedder, config=EagleConfig.paper())
    persistent = Eagle(MODELS, path=tmp_path / "store", embedder=embedder)
    assert in_memory_collections() == before and not (tmp_path / "store").exists()  # no store opened
    assert eagle.collection == "eagle" and eagle.path is None and not eagle.closed
    eagle.open()
    assert len(in_memory_collections() - before) == 3  # what opening does (the check above can fail)
    persistent.close()
    eagle.close()


def test_route_before_feedback_uses_initial_ratings(make_eagle) -> None:
    eagle = make_eagle(MODELS)
    d = eagle.route("hello there")
    assert {s.model for s in d.ranking} == set(MODELS)
    assert all(s.global_rating == 1500.0 and s.normalized == 1.0 for s in d.ranking)  # all equal
    # equal quality: the cost rule picks the cheaper model
    assert eagle.route("hello", willingness_to_pay=1.0).model == "small"


def test_global_ratings_follow_hand_computed_elo(make_eagle) -> None:
    eagle = make_eagle(MODELS, config=EagleConfig.paper())
    eagle.record_comparison("q1", winner="big", loser="small")
    eagle.record_comparison("q2", winner="big", loser="small")
    eagle.record_comparison("q3", winner="small", loser="big", tie=True)
    expected = {"big": 1500.0, "small": 1500.0}
    replay(expected, [("big", "small", 1.0, 1.0), ("big", "small", 1.0, 1.0),
                      ("small", "big", 0.5, 1.0)], 32)
    assert eagle.ratings == pytest.approx(expected)
    assert eagle.ratings["big"] == pytest.approx(1530.530 - 32 * (0.5 - 0.412), abs=0.1)
    board = eagle.leaderboard()
    assert [r.model for r in board] == ["big", "small"]
    assert board.rows[0].wins == 2 and board.rows[0].draws == 1 and board.rows[0].matches == 3
    assert "big" in str(board) and "rating" in str(board)


def test_record_scores_makes_all_pairs_with_draws(make_eagle) -> None:
    eagle = make_eagle({"a": 1.0, "b": 1.0, "c": 1.0}, config=EagleConfig.paper())
    eagle.record_scores("q", {"a": 1.0, "b": 0.0, "c": 1.0})
    expected = {"a": 1500.0, "b": 1500.0, "c": 1500.0}
    replay(expected, [("a", "b", 1.0, 1.0), ("a", "c", 0.5, 1.0), ("b", "c", 0.0, 1.0)], 32)
    assert eagle.ratings == pytest.approx(expected)
    assert eagle.n_comparisons == 3 and eagle.n_feedback == 1


def test_draws_can_be_dropped(make_eagle) -> None:
    eagle = make_eagle({"a": 1.0, "b": 1.0}, config=EagleConfig(draw_score=None))
    eagle.record_scores("q", {"a": 1.0, "b": 1.0})
    assert eagle.ratings == {"a": 1500.0, "b": 1500.0}
    assert eagle.n_comparisons == 0


def test_a_thumb_is_a_glicko_match_against_par_that_moves_only_the_rated_model(make_eagle) -> None:
    config = EagleConfig.paper()
    eagle = make_eagle({"a": 1.0, "b": 1.0, "c": 1.0}, config=config)
    eagle.record_thumbs("q", "a", up=True)
    # E = 0.5 against par (1500), RD0: RD'^2 = 1/(1/RD0^2 + 0.25/s^2), step RD'^2/s * (1 - 0.5)
    s = 400 / math.log(10)
    rd2 = 1 / (1 / config.rd_initial**2 + 0.25 / s**2)
    assert eagle.ratings["a"] == pytest.approx(1500 + rd2 / s * 0.5)
    assert eagle.ratings["b"] == eagle.ratings["c"] == 1500.0
    eagle.record_thumbs("q", "c", up=False)
    assert eagle.ratings["c"] < 1500 and eagle.ratings["b"] == 1500.0


def test_replay_equals_incremental(make_eagle) -> None:
    items = [{"query": q, "scores": {"big": float(i % 3 == 0), "small": float(i % 2 == 0)}}
             for i, q in enumerate(PYTHON + POETRY)]
    items.append({"query": "extra", "winner": "small", "loser": "big"})
    items.append({"query": "thumb", "model": "big", "thumbs": False})
    one_by_one = make_eagle(MODELS)
    for item in items:
        if "scores" in item:
            one_by_one.record_scores(item["query"], item["scores"])
        elif "winner" in item:
            one_by_one.record_comparison(item["query"], item["winner"], item["loser"])
        else:
            one_by_one.record_thumbs(item["query"], item["model"], item["thumbs"])
    bulk = make_eagle(MODELS)
    assert bulk.record_many(items, batch_size=5, progress=False) == len(items)
    assert bulk.ratings == pytest.approx(one_by_one.ratings)
    query = "How do I reverse a string in Python?"
    assert [s.combined for s in bulk.route(query).ranking] == pytest.approx(
        [s.combined for s in one_by_one.route(query).ranking])


def _train_topics(eagle: Eagle) -> None:
    items = []
    for code, poem in zip(PYTHON, POETRY, strict=True):  # interleaved: globally a tie
        items.append({"query": code, "winner": "small", "loser": "big"})
        items.append({"query": poem, "winner": "big", "loser": "small"})
    eagle.record_many(items, progress=False)


def test_local_ratings_follow_the_topic_of_a_new_query(make_eagle) -> None:
    eagle = make_eagle(MODELS, config=EagleConfig(n_neighbors=4))
    _train_topics(eagle)
    # globally the two models are tied; locally each topic prefers its own model
    assert abs(eagle.ratings["big"] - eagle.ratings["small"]) < 35
    code = eagle.route("How can I merge two dictionaries in Python?")
    poem = eagle.route("Write a poem about waves on the shore.")
    assert code.model == "small" and code.n_neighbors == 4
    assert poem.model == "big"
    assert code.scores["small"].local_rating > code.scores["small"].global_rating
    assert poem.scores["big"].local_rating > poem.scores["big"].global_rating


def test_no_neighbours_means_global_only(make_eagle) -> None:
    eagle = make_eagle(MODELS, config=EagleConfig(n_neighbors=0))
    _train_topics(eagle)
    d = eagle.route("How can I merge two dictionaries in Python?")
    assert all(s.local_rating == s.global_rating for s in d.ranking)


def test_persistence_round_trip(tmp_path, make_eagle) -> None:
    first = make_eagle(MODELS, path=tmp_path / "store")
    _train_topics(first)
    first.add_model("mid", 0.002)
    first.record_comparison("What is a Python generator?", winner="mid", loser="big")
    query = "How can I merge two dictionaries in Python?"
    before = first.route(query)
    ratings = first.ratings
    first.close()
    again = make_eagle(None, path=tmp_path / "store")  # models=None: use the stored set
    assert again.models == ("big", "small", "mid")
    assert again.ratings == ratings
    after = again.route(query)
    assert after.model == before.model
    assert [(s.model, s.combined) for s in after.ranking] == [(s.model, s.combined) for s in before.ranking]
    assert again.n_feedback == 13


def test_feedback_by_decision_id(make_eagle) -> None:
    eagle = make_eagle(MODELS)
    d = eagle.route("Explain recursion.")
    eagle.record_feedback(d.decision_id, thumbs="down")
    assert eagle.ratings[d.model] < 1500
    assert all(r == 1500 for m, r in eagle.ratings.items() if m != d.model)  # not rated: unmoved
    d2 = eagle.route("Explain recursion.")
    assert d2.model != d.model  # the thumb down changed the choice
    before = eagle.ratings
    eagle.record_feedback(d2.decision_id, better=d.model)
    assert eagle.ratings[d.model] > before[d.model] and eagle.ratings[d2.model] < before[d2.model]
    assert eagle.decision(d2.decision_id) is d2
    assert eagle.n_feedback == 2


def test_decision_to_dict_is_the_dataclass_form_and_round_trips(make_eagle) -> None:
    eagle = make_eagle({"big": 0.01, "small": None})
    d = eagle.route("Explain recursion.", budget=0.05)
    data = d.to_dict()
    expected = dataclasses.asdict(d)
    expected["ranking"] = [dataclasses.asdict(s) for s in d.ranking]
    assert data == expected and list(data) == list(expected)
    assert RouteDecision.from_dict(json.loads(json.dumps(data))) == d


def test_cost_rule_budget_and_token_costs(make_eagle) -> None:
    # the ranking's choice under each rule (exploration off: eight routes with no rating back may
    # explore up to max_explore_share of them, EagleConfig.explore_share)
    eagle = make_eagle({"big": 0.01, "small": TokenCost(input=1e-6, output=2e-6, output_tokens=100)},
                       config=EagleConfig(seed=0, explore=False))
    for q in PYTHON:
        eagle.record_comparison(q, winner="big", loser="small")
    q = "How do I reverse a list in Python?"
    d = eagle.route(q)
    assert d.model == "big"
    assert d.scores["small"].cost == pytest.approx(1e-6 * 9 + 2e-6 * 100)  # 34 chars -> 9 tokens
    assert eagle.route(q, willingness_to_pay=1e-4).model == "small"  # quality worth little
    assert eagle.route(q, willingness_to_pay=100.0).model == "big"
    assert eagle.route(q, cost_weight=1e4).model == "small"
    budgeted = eagle.route(q, budget=0.001)
    assert budgeted.model == "small" and not budgeted.scores["big"].within_budget
    assert eagle.route(q, budget=1e-9).model == "small"  # nothing fits: cheapest, with a warning
    assert eagle.route(q, force="small").forced


def test_unknown_cost_is_skipped_by_the_cost_rule(make_eagle) -> None:
    eagle = make_eagle({"big": 0.01, "mystery": None})
    for q in PYTHON:
        eagle.record_comparison(q, winner="mystery", loser="big")
    q = "How do I reverse a list in Python?"
    assert eagle.route(q).model == "mystery"
    assert eagle.route(q, willingness_to_pay=1.0).model == "big"


def test_add_and_remove_models(make_eagle) -> None:
    eagle = make_eagle(MODELS)
    eagle.record_comparison("q", winner="big", loser="small")
    eagle.add_model("new", 0.001)
    assert eagle.ratings["new"] == 1500.0
    assert "new" in {s.model for s in eagle.route("q").ranking}
    eagle.remove_model("small")
    assert eagle.models == ("big", "new")
    eagle.record_comparison("q2", winner="new", loser="big")
    assert eagle.ratings["new"] > 1500


def test_candidates_restrict_the_choice(make_eagle) -> None:
    eagle = make_eagle({"a": 1.0, "b": 1.0, "c": 1.0})
    eagle.record_comparison("q", winner="a", loser="b")
    d = eagle.route("q", candidates=["b", "c"])
    assert d.model in {"b", "c"} and len(d.ranking) == 2


def test_embedder_variants(make_eagle) -> None:
    import numpy as np

    def tiny(texts: list[str]) -> np.ndarray:
        return np.array([[len(t), t.count("a") + 1.0, 1.0] for t in texts])

    class LangChainStyle:
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return tiny(texts).tolist()

    for emb in (tiny, LangChainStyle()):
        eagle = Eagle(MODELS, embedder=emb)
        eagle.record_comparison("abc", winner="big", loser="small")
        assert eagle.route("abd").n_neighbors == 1
        assert eagle.embed(["x"]).shape == (1, 3)


def test_async_twins(make_eagle) -> None:
    eagle = make_eagle(MODELS)

    async def scenario() -> None:
        d = await eagle.aroute("Explain recursion.")
        await eagle.arecord_feedback(d.decision_id, thumbs=True)
        await eagle.arecord_comparison("q", winner="big", loser="small")
        await eagle.arecord_scores("q", {"big": 1, "small": 0})
        await eagle.arecord_thumbs("q", "small", False)
        assert await eagle.arecord_many([{"query": "z", "winner": "big", "loser": "small"}],
                                        progress=False) == 1

    asyncio.run(scenario())
    assert eagle.n_feedback == 5


def test_paper_config_is_one_option_away() -> None:
    cfg = EagleConfig.paper()
    values = (cfg.p, cfg.n_neighbors, cfg.k, cfg.effective_global_k, cfg.draw_score)
    assert values == (0.5, 20, 32.0, 32.0, 0.5)
