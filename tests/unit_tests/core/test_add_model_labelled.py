"""add_model(..., labelled=...): a new model is routed to at once where its labelled results are strong."""

from __future__ import annotations

import pytest

from eagle_core import ConfigError, InvalidFeedbackError

MODELS = {"a": 0.01, "b": 0.01}
CODE = [
    "How do I reverse a list in Python?", "What is a Python dictionary comprehension?",
    "How to read a CSV file with Python?", "Explain Python decorators.",
    "How do I sort tuples in Python by the second element?", "What does yield do in Python?",
    "How do I merge two dicts in Python?", "What is a lambda function in Python?",
]
POEMS = [
    "Write a sonnet about the autumn sea.", "Compose a haiku about falling snow.",
    "Write a love poem in the style of Neruda.", "Give me a limerick about a cat who sails.",
    "Write a short poem about the moon.", "Compose free verse about a summer storm.",
    "Write an ode to a nightingale.", "Write a ballad about a lonely lighthouse.",
]
# the newcomer is excellent at code, poor at poetry
LABELLED = {**{q: 1.0 for q in CODE}, **{q: 0.0 for q in POEMS}}


def test_new_model_is_routed_to_on_its_strong_cluster_only(make_eagle) -> None:
    eagle = make_eagle(MODELS)
    eagle.add_model("coder", 0.01, labelled=LABELLED)
    assert eagle.route("How can I flatten a nested list in Python?").model == "coder"
    poem = eagle.route("Write a poem about a winter forest.")
    assert poem.model != "coder"
    assert poem.scores["coder"].combined < poem.scores["a"].combined


def test_the_prior_fades_as_feedback_accumulates(make_eagle) -> None:
    eagle = make_eagle(MODELS)
    eagle.add_model("coder", 0.01, labelled=LABELLED)
    query = "How can I flatten a nested list in Python?"
    before = eagle.route(query).scores["coder"].combined
    # lots of feedback saying the newcomer loses on code after all
    eagle.record_many([{"query": q, "winner": "a", "loser": "coder"} for q in CODE * 20], progress=False)
    after = eagle.route(query)
    assert after.scores["coder"].combined < before
    assert after.model == "a"


def test_labelled_model_survives_reopen(tmp_path, make_eagle) -> None:
    first = make_eagle(MODELS, path=tmp_path / "s")
    first.add_model("coder", 0.01, labelled=LABELLED)
    query = "How can I flatten a nested list in Python?"
    before = first.route(query)
    first.close()
    again = make_eagle(None, path=tmp_path / "s")
    after = again.route(query)
    assert after.model == before.model == "coder"
    assert after.scores["coder"].combined == pytest.approx(before.scores["coder"].combined)


@pytest.mark.parametrize(
    ("labelled", "error", "named"),
    [({}, ConfigError, "non-empty"), ({"q": 1.5}, InvalidFeedbackError, "1.5"),
     ([("q",)], ConfigError, "pairs"), ("text", ConfigError, "text")],
)
def test_bad_labelled_sets_change_nothing(make_eagle, store_counts, tmp_path, labelled, error,
                                          named) -> None:
    eagle = make_eagle(MODELS, path=tmp_path / "store")
    with pytest.raises(error, match=named):
        eagle.add_model("coder", 0.01, labelled=labelled)
    assert eagle.models == ("a", "b")
    assert store_counts(eagle)["log"] == 1  # the store's first event (its models), nothing more
