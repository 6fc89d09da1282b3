"""Feedback from strangers (issue 15): ``source=`` validation, per-source budgets, de-duplication,
``audit`` and ``remove_source``, on real Chroma with the real MiniLM embedder."""

from __future__ import annotations

import pytest

from eagle_core import EagleConfig, InvalidFeedbackError

MODELS = {"strong": 0.01, "mid": 0.005, "weak": 0.001}
TOPIC = [
    "How do I reverse a list in Python?",
    "Write a Python function that sorts a dictionary by value.",
    "How can I read a CSV file with Python?",
    "Explain Python list comprehensions with an example.",
    "How do I remove duplicates from a Python list?",
    "Write a Python function to check whether a string is a palindrome.",
    "How do I merge two dictionaries in Python?",
    "How can I count word frequencies in a text with Python?",
    "Write a Python generator that yields Fibonacci numbers.",
    "How do I open and write to a file in Python?",
    "How do I sort a list of tuples by the second element in Python?",
    "Write a Python function that flattens a nested list.",
]
QUERY = "How do I sort a Python list in descending order?"
REQUESTS = ("Please answer carefully.", "Be concise.", "Show your work.", "Keep it short.")


def flood_texts(n: int) -> list[str]:
    """Varied texts near the topic: exact-duplicate filtering alone cannot catch them."""
    return [f"{TOPIC[i % len(TOPIC)]} {REQUESTS[i % len(REQUESTS)]} (#{i})" for i in range(n)]


def honest(eagle) -> None:
    """The operator's own (trusted) feedback: 'strong' is best on this topic."""
    eagle.record_many([{"query": q, "scores": {"strong": 1.0, "mid": 0.5, "weak": 0.0}} for q in TOPIC],
                      progress=False)


def flood(eagle, n: int = 48, source: str = "mallory") -> None:
    eagle.record_many([{"query": t, "winner": "weak", "loser": "strong", "source": source}
                       for t in flood_texts(n)], progress=False)


@pytest.mark.parametrize("bad", [123, "", "   ", "x" * 300, b"user"])
def test_bad_source_is_a_typed_error_and_stores_nothing(make_eagle, bad) -> None:
    eagle = make_eagle(MODELS)
    before = eagle.n_feedback
    with pytest.raises(InvalidFeedbackError, match="source must be None") as info:
        eagle.record_comparison("q", "strong", "weak", source=bad)
    assert isinstance(info.value, ValueError) and repr(bad)[:20] in str(info.value)
    with pytest.raises(InvalidFeedbackError, match="record_many item 1: source must be"):
        eagle.record_many([{"query": "a", "winner": "strong", "loser": "weak", "source": "ok"},
                           {"query": "b", "winner": "strong", "loser": "weak", "source": bad}],
                          progress=False)
    with pytest.raises(InvalidFeedbackError):
        eagle.record_thumbs("q", "strong", True, source=bad)
    assert eagle.n_feedback == before


def test_budget_bounds_a_flood_from_one_source_in_one_neighbourhood(make_eagle) -> None:
    off = make_eagle(MODELS, config=EagleConfig(source_defence=False))
    on = make_eagle(MODELS)
    for eagle in (off, on):
        honest(eagle)
    before = on.ratings
    assert on.route(QUERY).model == "strong"
    for eagle in (off, on):
        flood(eagle)
    assert off.route(QUERY).model == "weak"  # undefended: one source rewrites the neighbourhood
    decision = on.route(QUERY)
    assert decision.model == "strong"
    cfg = on.settings
    bound = cfg.effective_global_k * cfg.source_budget
    assert abs(on.ratings["weak"] - before["weak"]) <= bound + 1e-9
    assert abs(on.ratings["strong"] - before["strong"]) <= bound + 1e-9
    # locally the source's matches count at most source_local_budget units in all
    score = {s.model: s for s in decision.ranking}
    assert score["weak"].local_rating - score["weak"].global_rating <= cfg.k * cfg.source_local_budget + 1e-9
    # and its texts fill at most 10 % of the N slots: the honest neighbours are not crowded out
    who = [n.sources for n in on.audit(QUERY).neighbours]
    assert who.count((None,)) == len(TOPIC)
    assert who.count(("mallory",)) == int(cfg.source_neighbor_share * cfg.n_neighbors)
    mallory = next(s for s in on.audit(QUERY).sources if s.source == "mallory")
    assert (mallory.given_units, mallory.global_units) == (48, cfg.source_budget)


def test_identical_feedback_from_one_source_counts_once(make_eagle) -> None:
    once, many, two = make_eagle(MODELS), make_eagle(MODELS), make_eagle(MODELS)
    once.record_comparison("Is Python fast?", "weak", "strong", source="bob")
    for _ in range(5):
        many.record_comparison("Is Python fast?", "weak", "strong", source="bob")
    assert many.n_feedback == 5  # kept in the log ...
    assert many.ratings == once.ratings  # ... but counted once
    two.record_comparison("Is Python fast?", "weak", "strong", source="bob")
    two.record_comparison("Is Python fast?", "weak", "strong", source="carol")
    assert two.ratings["weak"] > once.ratings["weak"]  # two people saying it count twice


def test_audit_names_the_source_that_moved_the_decision(make_eagle) -> None:
    eagle = make_eagle(MODELS, config=EagleConfig(source_defence=False))
    honest(eagle)
    flood(eagle)
    audit = eagle.audit(QUERY)
    assert audit.decision.model == "weak"
    top = audit.sources[0]
    assert top.source == "mallory"
    assert top.local_delta["weak"] > 0 > top.local_delta["strong"]
    assert any("mallory" in n.sources for n in audit.neighbours)
    assert {s.source for s in audit.sources} == {None, "mallory"}
    assert top.given_units == top.global_units == 48  # defence off: all 48 comparisons count


def test_remove_source_replays_on_reopen_and_on_other_workers(make_eagle, tmp_path) -> None:
    config = EagleConfig(source_defence=False)
    clean = make_eagle(MODELS, path=tmp_path / "clean", config=config)
    honest(clean)
    eagle = make_eagle(MODELS, path=tmp_path / "store", config=config)
    other = make_eagle(None, path=tmp_path / "store", config=config)
    honest(eagle)
    other.open()  # a second worker, already running when the removal is logged
    flood(eagle)
    assert eagle.route(QUERY).model == "weak"
    eagle.remove_source("mallory")
    assert eagle.removed_sources == ("mallory",)
    assert eagle.ratings == pytest.approx(clean.ratings)
    assert eagle.route(QUERY).model == "strong"
    assert eagle.audit(QUERY).neighbours and all(n.sources == (None,) for n in eagle.audit(QUERY).neighbours)
    eagle.record_comparison("Is Python fast?", "weak", "strong", source="mallory")  # still ignored
    assert eagle.ratings == pytest.approx(clean.ratings)
    other.sync()
    assert other.ratings == pytest.approx(clean.ratings)
    eagle.close()
    reopened = make_eagle(None, path=tmp_path / "store", config=config)
    assert reopened.ratings == pytest.approx(clean.ratings)
    assert reopened.removed_sources == ("mallory",)
    assert reopened.route(QUERY).model == "strong"
    with pytest.raises(InvalidFeedbackError, match="source must be"):
        reopened.remove_source("")


def test_budgets_agree_across_workers_and_reopen(make_eagle, tmp_path) -> None:
    """The budget is spent in log order: a worker that folds the other's events late (rolling back
    and re-applying) ends with the ratings of a fresh replay."""
    config = EagleConfig(source_budget=3.0)
    a = make_eagle(MODELS, path=tmp_path, config=config)
    a.open()
    b = make_eagle(None, path=tmp_path, config=config)
    b.open()
    texts = flood_texts(8)
    for i, text in enumerate(texts):  # interleaved writes from one source on two workers
        (a if i % 2 else b).record_comparison(text, "weak", "strong", source="mallory")
        (b if i % 2 else a).record_thumbs(text, "mid", True, source="trudy")  # rated answers too
    a.record_comparison(texts[0], "weak", "strong", source="mallory")  # a duplicate of b's first
    a.sync()
    b.sync()
    fresh = make_eagle(None, path=tmp_path, config=config)
    assert a.ratings == pytest.approx(fresh.ratings) and b.ratings == pytest.approx(fresh.ratings)
    bound = config.effective_global_k * config.source_budget
    for model in ("weak", "mid"):
        assert config.initial_rating < fresh.ratings[model] <= config.initial_rating + bound + 1e-9


# -- rated answers (thumbs, scores on one answer): the Glicko step is bounded per source too ------
RATED = {"thumbs": True, "score": 1.0}


@pytest.fixture(scope="module")
def flood_vectors(embedder) -> dict[str, object]:
    """The real MiniLM vectors of 1,000 varied flood texts (and the topic), embedded once."""
    texts = [*flood_texts(1000), *TOPIC, QUERY]
    return dict(zip(texts, embedder.embed(texts), strict=True))


def cached(embedder, vectors):
    """The real embedder, with the flood texts' vectors looked up instead of recomputed."""
    import numpy as np

    def embed(texts: list[str]):
        missing = [t for t in texts if t not in vectors]
        if missing:
            vectors.update(zip(missing, embedder.embed(missing), strict=True))
        return np.stack([vectors[t] for t in texts])

    return embed


def operator_rated(eagle, n: int) -> None:
    """``n`` of the operator's own rated answers on 'weak' (half good, half bad)."""
    if n:
        eagle.record_many([{"query": f"{TOPIC[i % len(TOPIC)]} (operator {i})", "model": "weak",
                            "thumbs": i % 2 == 0} for i in range(n)], progress=False)


@pytest.mark.parametrize("operator", [0, 50])
@pytest.mark.parametrize("kind", ["thumbs", "score"])
def test_a_thousand_rated_answers_from_one_source_move_a_model_by_at_most_the_bound(
        make_eagle, embedder, flood_vectors, kind, operator) -> None:
    embed = cached(embedder, flood_vectors)
    on = make_eagle(MODELS, embedder=embed)
    off = make_eagle(MODELS, embedder=embed, config=EagleConfig(source_defence=False))
    items = [{"query": t, "model": "weak", kind: RATED[kind], "source": "mallory"} for t in flood_texts(1000)]
    moved = {}
    for name, eagle in (("on", on), ("off", off)):
        operator_rated(eagle, operator)
        before = eagle.ratings
        assert eagle.record_many(items, progress=False) == 1000
        moved[name] = {m: eagle.ratings[m] - before[m] for m in MODELS}
    cfg = on.settings
    bound = cfg.effective_global_k * cfg.source_budget
    assert moved["off"]["weak"] > 5 * bound  # undefended, the Glicko step is far larger
    assert 0 < moved["on"]["weak"] <= bound + 1e-9  # defended: it still counts, within the bound
    assert moved["on"]["strong"] == moved["on"]["mid"] == 0.0  # models not rated do not move
    # the mirror attack (thumbs-down on the best model, from another source) is bounded the same way
    down = [{**item, "model": "strong", kind: False if kind == "thumbs" else 0.0, "source": "trudy"}
            for item in items]
    before = on.ratings
    on.record_many(down, progress=False)
    assert -bound - 1e-9 <= on.ratings["strong"] - before["strong"] < 0


def test_single_rated_answers_and_decision_feedback_from_one_source_are_bounded(
        make_eagle, embedder, flood_vectors) -> None:
    eagle = make_eagle(MODELS, embedder=cached(embedder, flood_vectors))
    cfg = eagle.settings
    bound = cfg.effective_global_k * cfg.source_budget
    start = eagle.ratings
    for text in flood_texts(60):  # record_thumbs: 60 distinct thumbs-up (3 x the units budget)
        eagle.record_thumbs(text, "weak", True, source="mallory")
    assert 0 < eagle.ratings["weak"] - start["weak"] <= bound + 1e-9
    for text in flood_texts(120)[60:]:  # record_feedback(decision_id, score=) on served answers
        decision = eagle.route(text, explore=False)
        eagle.record_feedback(decision.decision_id, score=0.0, source="eve")
    for model in MODELS:  # eve's scores moved each served model by at most the bound
        assert eagle.ratings[model] - start[model] >= -bound - 1e-9
    trusted = make_eagle(MODELS, embedder=cached(embedder, flood_vectors))
    for text in flood_texts(3):  # the operator's own rated answers are not limited
        trusted.record_thumbs(text, "weak", True)
    assert trusted.ratings["weak"] - start["weak"] > 5 * bound


def test_a_flood_of_thumbs_near_one_topic_cannot_rewrite_its_routes(make_eagle, embedder,
                                                                    flood_vectors) -> None:
    embed = cached(embedder, flood_vectors)
    off = make_eagle(MODELS, embedder=embed, config=EagleConfig(source_defence=False))
    on = make_eagle(MODELS, embedder=embed)
    items = [{"query": t, "model": m, "thumbs": up, "source": "mallory"}
             for t in flood_texts(200) for m, up in (("weak", True), ("strong", False))]
    trusted = [{"query": f"{q} ({r})", "scores": {"strong": 1.0, "mid": 0.5, "weak": 0.0}}
               for q in TOPIC for r in REQUESTS]  # the operator's own, 48 graded queries
    for eagle in (off, on):
        eagle.record_many(trusted, progress=False)
        assert eagle.route(QUERY, explore=False).model == "strong"
        eagle.record_many(items, progress=False)
    assert off.route(QUERY, explore=False).model == "weak"  # undefended: rewritten
    decision = on.route(QUERY, explore=False)
    assert decision.model == "strong"
    cfg = on.settings
    score = {s.model: s for s in decision.ranking}  # locally, its rated answers moved 'weak' by at
    local_push = score["weak"].local_rating - score["weak"].global_rating  # most k x local budget
    assert local_push <= cfg.k * cfg.source_local_budget + 1e-6


def minmax_scored(eagle) -> bool:
    """True when the route's q is min-max (best exactly 1, worst 0), False when it is the
    predicted grade (``normalization="auto"`` after rated answers)."""
    q = sorted(s.normalized for s in eagle.route(QUERY, explore=False).ranking)
    return q[0] == 0.0 and q[-1] == 1.0


@pytest.mark.parametrize("defence", [True, False])
def test_one_strangers_thumb_cannot_switch_how_every_route_is_scored(make_eagle, defence) -> None:
    eagle = make_eagle(MODELS, config=EagleConfig(source_defence=defence))
    honest(eagle)  # the operator's feedback is pairwise (score sets): q is min-max
    assert minmax_scored(eagle)
    eagle.record_thumbs(flood_texts(1)[0], "weak", True, source="mallory")
    assert minmax_scored(eagle) is defence  # undefended, one stranger's thumb re-scores every route
    for source, text in zip(("eve", "trent"), flood_texts(3)[1:], strict=True):
        eagle.record_thumbs(text, "strong", True, source=source)
    assert not minmax_scored(eagle)  # three distinct sources: the log counts as graded
