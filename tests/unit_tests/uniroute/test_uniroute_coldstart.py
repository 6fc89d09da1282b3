"""ColdStartEstimator + evidence blend: what the engine uses to route a model with no feedback."""

from __future__ import annotations

import numpy as np
import pytest

from eagle_core import ConfigError, InvalidFeedbackError, UnknownModelError
from eagle_core.uniroute import ColdStartEstimator, evidence_weight

CODE = [
    "Python: def reverse(head): fix this linked list function, it raises AttributeError on None.",
    "Python: for i in range(len(arr)): arr[i+1] raises IndexError, fix the loop.",
    "Python: sort a dict by value, sorted(d.items(), key=...) returns a list of tuples.",
    "Python: my list comprehension [x*2 for x in xs if x] skips zeros, why?",
    "Python: write a function that parses a CSV file with the csv module.",
    "Python: TypeError: 'NoneType' object is not subscriptable in my function.",
    "Python: how do I write a unit test with pytest for this function?",
    "Python: implement binary search def bsearch(a, x) returning the index.",
]
COOKING = [
    "Recipe: how long to boil an egg for a runny yolk?",
    "Recipe: simple tomato pasta sauce with garlic and basil.",
    "Recipe: buttermilk substitute for fluffy pancakes.",
    "Recipe: roast a whole chicken with lemon and thyme.",
    "Recipe: vegetarian lentil and spinach curry for dinner.",
    "Recipe: why did my bread dough not rise overnight?",
    "Recipe: crispy pan-fried salmon with butter sauce.",
    "Recipe: chocolate chip cookies that stay chewy.",
]
QUERIES = [
    "Python: write a function that merges two sorted lists.",
    "Recipe: caramelised onions for a burger.",
]

K = 2  # the two topics


@pytest.fixture(scope="module")
def texts_and_vectors(embedder) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Real MiniLM embeddings of code and cooking prompts (labels: 1 = code)."""
    vecs = embedder.embed(CODE + COOKING)
    is_code = np.array([1] * len(CODE) + [0] * len(COOKING))
    return vecs, is_code, embedder.embed(QUERIES)


def test_evidence_weight_hands_over_to_feedback() -> None:
    assert evidence_weight(0, 20) == 0.0
    assert evidence_weight(20, 20) == pytest.approx(0.5)
    assert evidence_weight(980, 20) == pytest.approx(0.98)
    assert evidence_weight(0, 0) == 1.0  # no prior weight: feedback only
    for bad in (-1, float("nan"), float("inf")):
        with pytest.raises(ConfigError, match="n"):
            evidence_weight(bad, 20)
    with pytest.raises(ConfigError, match="prior_evidence"):
        evidence_weight(1, -5)


def test_new_model_is_preferred_on_the_cluster_where_it_is_strong(texts_and_vectors) -> None:
    vecs, is_code, queries = texts_and_vectors
    est = ColdStartEstimator(n_clusters=K, smoothing=0.0)
    est.fit(vecs)
    est.add_model("coder-llm", vecs, is_code * 0.9 + 0.05)  # 0.95 on code, 0.05 on cooking
    est.add_model("generalist", vecs, np.full(len(vecs), 0.6))  # an existing model: the anchor
    ratings = {"coder-llm": 1500.0, "generalist": 1500.0}  # the new model has no feedback yet
    code_q, cook_q = queries
    q_code = est.predict_quality(code_q)["coder-llm"]
    assert q_code == pytest.approx(0.95)
    assert est.predict_quality(cook_q)["coder-llm"] == pytest.approx(0.05)
    evidence = {"coder-llm": 0, "generalist": 10**9}  # the existing model has lots of feedback
    on_code = est.blend_ratings(code_q, ratings, evidence)
    on_cook = est.blend_ratings(cook_q, ratings, evidence)
    assert on_code["coder-llm"] > on_code["generalist"]
    assert on_cook["coder-llm"] < on_cook["generalist"]
    # anchored on the generalist: expected score E = 0.5 + 0.5 * (q_code - 0.6)
    e = 0.5 + 0.5 * (q_code - 0.6)
    expected = 1500.0 + 400.0 * np.log10(e / (1 - e))
    assert on_code["coder-llm"] == pytest.approx(expected)
    assert on_code["generalist"] == pytest.approx(1500.0)  # its own feedback outweighs its prior


def test_blend_moves_from_prior_to_feedback_with_evidence(texts_and_vectors) -> None:
    vecs, is_code, queries = texts_and_vectors
    est = ColdStartEstimator(n_clusters=K, smoothing=0.0, prior_evidence=20.0)
    est.add_model("coder-llm", vecs, is_code * 0.9 + 0.05)  # fits on its own labelled prompts
    est.add_model("generalist", vecs, np.full(len(vecs), 0.6))
    ratings = {"coder-llm": 1400.0, "generalist": 1500.0, "no-labels": 1550.0}
    prior = est.prior_ratings(queries[0], ratings)["coder-llm"]
    at = {n: est.blend_ratings(queries[0], ratings, {"coder-llm": n, "generalist": 10**6})
          for n in (0, 20, 10**6)}
    assert at[0]["coder-llm"] == pytest.approx(prior)
    assert at[20]["coder-llm"] == pytest.approx((prior + 1400.0) / 2)
    assert at[10**6]["coder-llm"] == pytest.approx(1400.0, abs=0.1)
    assert all(a["no-labels"] == 1550.0 for a in at.values())  # unregistered: untouched


def test_without_anchor_prior_sits_at_field_mean_shifted_by_own_strengths(texts_and_vectors) -> None:
    vecs, is_code, queries = texts_and_vectors
    est = ColdStartEstimator(n_clusters=K, smoothing=0.0)
    est.add_model("coder-llm", vecs, is_code * 0.9 + 0.05)  # own mean 0.5
    ratings = {"coder-llm": 1500.0, "a": 1600.0, "b": 1400.0}
    for query, sign in ((queries[0], 1), (queries[1], -1)):
        q = est.predict_quality(query)["coder-llm"]
        e = 0.5 + 0.5 * (q - 0.5)  # against its own average, at the others' mean rating
        prior = est.prior_ratings(query, ratings)["coder-llm"]
        assert prior == pytest.approx(1500.0 + 400.0 * np.log10(e / (1 - e)))
        assert sign * (prior - 1500.0) > 100.0


def test_refit_keeps_registered_models(texts_and_vectors) -> None:
    vecs, is_code, queries = texts_and_vectors
    est = ColdStartEstimator(n_clusters=K, smoothing=0.0).fit(vecs[:K])
    est.add_model("coder-llm", vecs, is_code.astype(float))
    est.fit(vecs)  # the store grew: new clusters, same labelled data
    assert est.models == ("coder-llm",)
    assert est.predict_quality(queries[0])["coder-llm"] == pytest.approx(1.0)


def test_bad_input_leaves_the_estimator_unchanged(texts_and_vectors) -> None:
    vecs, is_code, queries = texts_and_vectors
    est = ColdStartEstimator(n_clusters=K)
    assert est.predict_quality(queries[0]) == {}  # nothing registered: no opinion
    est.add_model("coder-llm", vecs, is_code.astype(float))
    with pytest.raises(InvalidFeedbackError, match=r"\[0, 1\]"):
        est.add_model("other", vecs, is_code * 5.0)
    with pytest.raises(ConfigError, match="columns"):
        est.add_model("other", vecs[:, :10], is_code.astype(float))
    with pytest.raises(UnknownModelError, match="other"):
        est.remove_model("other")
    assert est.models == ("coder-llm",)
    with pytest.raises(UnknownModelError, match="ghost"):
        est.prior_ratings(queries[0], {"ghost": 1500.0, "coder-llm": 1500.0}, targets=["ghost"])
    est.remove_model("coder-llm")
    assert est.models == () and est.predict_quality(queries[0]) == {}
