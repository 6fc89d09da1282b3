"""Every error case: a typed error naming the value and the fix; the store is left unchanged."""

from __future__ import annotations

import math

import numpy as np
import pytest

from eagle_core import (
    ConfigError,
    Eagle,
    EagleConfig,
    EagleError,
    InvalidCostError,
    InvalidFeedbackError,
    InvalidQueryError,
    StoreMismatchError,
    UnknownDecisionError,
    UnknownModelError,
)

MODELS = {"big": 0.01, "small": 0.0005}


@pytest.fixture
def eagle(make_eagle, tmp_path):
    eagle = make_eagle(MODELS, path=tmp_path / "store")  # persistent: Chroma's own client counts it
    eagle.record_comparison("seed query", winner="big", loser="small")
    return eagle


def _snapshot(eagle: Eagle, store_counts):
    return (eagle.ratings, eagle.n_feedback, store_counts(eagle))


BAD_CALLS = [
    ("route empty", lambda e: e.route(""), InvalidQueryError, "query"),
    ("route blank", lambda e: e.route("   "), InvalidQueryError, "query"),
    ("route non-str", lambda e: e.route(42), InvalidQueryError, "42"),
    ("route None", lambda e: e.route(None), InvalidQueryError, "None"),
    ("route negative wtp", lambda e: e.route("q", willingness_to_pay=-1), ConfigError, "-1"),
    ("route NaN budget", lambda e: e.route("q", budget=math.nan), ConfigError, "nan"),
    ("route both rules", lambda e: e.route("q", willingness_to_pay=1, cost_weight=1), ConfigError,
     "not both"),
    ("route unknown force", lambda e: e.route("q", force="gpt-9"), UnknownModelError, "gpt-9"),
    ("route bad candidates", lambda e: e.route("q", candidates="big"), ConfigError, "candidates"),
    ("unknown winner", lambda e: e.record_comparison("q", winner="gpt-9", loser="big"),
     UnknownModelError, "gpt-9"),
    ("unknown loser", lambda e: e.record_comparison("q", winner="big", loser="x"), UnknownModelError, "'x'"),
    ("self match", lambda e: e.record_comparison("q", winner="big", loser="big"), InvalidFeedbackError,
     "big"),
    ("tie not bool", lambda e: e.record_comparison("q", winner="big", loser="small", tie="yes"),
     InvalidFeedbackError, "yes"),
    ("empty query feedback", lambda e: e.record_comparison("", winner="big", loser="small"),
     InvalidQueryError, "query"),
    ("scores NaN", lambda e: e.record_scores("q", {"big": math.nan, "small": 1}), InvalidFeedbackError,
     "nan"),
    ("scores one model", lambda e: e.record_scores("q", {"big": 1}), InvalidFeedbackError, "two"),
    ("scores not mapping", lambda e: e.record_scores("q", [1, 0]), InvalidFeedbackError, "mapping"),
    ("scores unknown", lambda e: e.record_scores("q", {"big": 1, "zz": 0}), UnknownModelError, "zz"),
    ("thumb score > 1", lambda e: e.record_thumbs("q", "big", 1.5), InvalidFeedbackError, "1.5"),
    ("unknown decision", lambda e: e.record_feedback("nope", thumbs=True), UnknownDecisionError, "nope"),
    ("two feedback kinds", lambda e: e.record_feedback(e.route("q").decision_id, thumbs=True, score=1.0),
     InvalidFeedbackError, "exactly one"),
    ("bad thumbs value", lambda e: e.record_feedback(e.route("q").decision_id, thumbs="meh"),
     InvalidFeedbackError, "meh"),
    ("better is chosen", lambda e: (lambda d: e.record_feedback(d.decision_id, better=d.model))(e.route("q")),
     InvalidFeedbackError, "names the model"),
    ("record_many bad item", lambda e: e.record_many([{"query": "a", "winner": "big", "loser": "small"},
                                                      {"query": "b", "winner": "big", "loser": "nope"}],
                                                     progress=False), UnknownModelError, "item 1"),
    ("record_many not dict", lambda e: e.record_many(["x"], progress=False), InvalidFeedbackError, "'x'"),
    ("record_many bad batch", lambda e: e.record_many([], batch_size=0), ConfigError, "batch_size"),
    ("add existing", lambda e: e.add_model("big", 0.1), ConfigError, "already exists"),
    ("add NaN cost", lambda e: e.add_model("new", math.nan), InvalidCostError, "nan"),
    ("add negative cost", lambda e: e.add_model("new", -1), InvalidCostError, "-1"),
    ("remove unknown", lambda e: e.remove_model("zz"), UnknownModelError, "zz"),
]


@pytest.mark.parametrize(("label", "call", "error", "named"), BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
def test_bad_input_raises_typed_error_and_leaves_store_unchanged(eagle, store_counts, label, call, error,
                                                                 named) -> None:
    before = _snapshot(eagle, store_counts)
    with pytest.raises(error) as info:
        call(eagle)
    assert isinstance(info.value, EagleError)
    assert named.lower() in str(info.value).lower()
    assert _snapshot(eagle, store_counts) == before


@pytest.mark.parametrize(
    ("models", "error", "named"),
    [
        ({"a": math.nan}, InvalidCostError, "nan"),
        ({"a": -0.1}, InvalidCostError, "-0.1"),
        ({"a": "cheap"}, InvalidCostError, "cheap"),
        ({"a": {"input": 1e-6}}, InvalidCostError, "output"),
        ({"a": {"input": -1, "output": 1}}, InvalidCostError, "-1"),
        ({"": 1.0}, ConfigError, "''"),
        ({}, ConfigError, "at least one"),
        (["a", "b"], ConfigError, "mapping"),
    ],
)
def test_bad_models_at_construction(models, error, named) -> None:
    with pytest.raises(error) as info:
        Eagle(models)
    assert named in str(info.value)


def test_bad_constructor_arguments(tmp_path) -> None:
    with pytest.raises(ConfigError, match="not both"):
        Eagle(MODELS, path=tmp_path, client=object())
    with pytest.raises(ConfigError, match="collection"):
        Eagle(MODELS, collection="a b")
    with pytest.raises(ConfigError, match="EagleConfig"):
        Eagle(MODELS, config={"p": 0.5})
    with pytest.raises(ConfigError, match="p must be in"):
        EagleConfig(p=1.5)
    with pytest.raises(ConfigError, match="n_neighbors"):
        EagleConfig(n_neighbors=-1)
    with pytest.raises(ConfigError, match="normalization"):
        EagleConfig(normalization="softmax")
    with pytest.raises(ConfigError, match="embedder"):
        Eagle(MODELS, embedder=42).open()


def test_errors_subclass_the_builtins_they_refine() -> None:
    assert issubclass(UnknownModelError, KeyError)
    assert issubclass(InvalidQueryError, ValueError)
    assert issubclass(StoreMismatchError, ValueError)


def test_reopening_with_another_model_set_or_dimension_fails(tmp_path, make_eagle) -> None:
    path = tmp_path / "store"
    first = make_eagle(MODELS, path=path)
    first.record_comparison("q", winner="big", loser="small")
    ratings = first.ratings
    first.close()
    with pytest.raises(StoreMismatchError, match="add_model"):
        make_eagle({"big": 0.01, "other": 0.1}, path=path).open()
    with pytest.raises(StoreMismatchError, match="384-d"):
        Eagle(MODELS, path=path, embedder=lambda texts: np.ones((len(texts), 8))).open()
    with pytest.raises(ConfigError, match="models must name"):
        make_eagle(None, path=tmp_path / "fresh").open()
    again = make_eagle(MODELS, path=path)
    assert again.ratings == ratings and again.n_feedback == 1
