"""The pure fold over log events: driven directly with in-memory events (no Chroma, no engine)."""

from __future__ import annotations

from eagle_core import EagleConfig
from eagle_core._elo import replay
from eagle_core._state import RatingState
from eagle_core._store import Event
from eagle_core._timeline import Timeline


def _event(seq: int, kind: str, **kw) -> Event:
    return Event(id=f"e{seq}", ts=1000 + seq, writer="w", seq=seq, kind=kind, **kw)


MODELS = _event(0, "models", payload={"models": {"a": 0.01, "b": 0.001, "c": None}})
FEEDBACK = [
    _event(1, "scores", qkey="q1", pairs=(("a", "b", 1.0, 1.0, False), ("a", "c", 0.5, 1.0, True))),
    _event(2, "comparison", qkey="q2", pairs=(("c", "b", 1.0, 1.0, False),)),
    _event(3, "thumbs", qkey="q1", pairs=(("b", "a", 1.0, 0.5, False), ("b", "c", 1.0, 0.5, False))),
]


def test_fold_equals_sequential_elo_and_drops_draws_by_default() -> None:
    config = EagleConfig()
    state = RatingState(config)
    for e in [MODELS, *FEEDBACK]:
        state.apply(e)
    expected = {"a": 1500.0, "b": 1500.0, "c": 1500.0}
    replay(expected, [("a", "b", 1.0, 1.0), ("c", "b", 1.0, 1.0), ("b", "a", 1.0, 0.5), ("b", "c", 1.0, 0.5)],
           config.effective_global_k)
    assert state.ratings == expected
    assert (state.n_events, state.n_matches) == (3, 4)
    assert state.by_query["q1"] == (("a", "b", 1.0, 1.0), ("b", "a", 1.0, 0.5), ("b", "c", 1.0, 0.5))
    view = state.view()
    assert view.models == ("a", "b", "c") and view.evidence() == {"a": 2, "b": 4, "c": 2}


def test_a_second_add_of_an_existing_model_is_a_no_op() -> None:
    state = RatingState(EagleConfig())
    for e in [MODELS, *FEEDBACK]:
        state.apply(e)
    before = (dict(state.ratings), {m: list(s) for m, s in state.stats.items()})
    state.apply(_event(4, "add_model", payload={"model": "a", "cost": 0.01}))
    assert (state.ratings, state.stats) == before


def test_rolling_back_leaves_a_published_view_unchanged_and_replays_to_the_same_state() -> None:
    config = EagleConfig(draw_score=0.5)
    state = RatingState(config)
    timeline = Timeline(state)
    for e in [MODELS, *FEEDBACK]:
        timeline.track(e, state)
        state.apply(e)
    view = state.view()
    tail = timeline.rollback(state, FEEDBACK[1].order_key)  # the only checkpoint is the empty state
    assert tail == [MODELS, *FEEDBACK]
    assert view.ratings != state.ratings and view.by_query["q1"] != state.by_query["q1"]
    for e in tail:
        timeline.track(e, state)
        state.apply(e)
    assert state.ratings == dict(view.ratings) and state.by_query == dict(view.by_query)
