"""The pure fold over log events: driven directly with in-memory events (no Chroma, no engine)."""

from __future__ import annotations

import pytest

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


def test_ignored_feedback_adds_no_match_ages_and_a_rollback_trims_ages_with_the_matches() -> None:
    state = RatingState(EagleConfig())
    timeline = Timeline(state)
    vote = (("a", "b", 1.0, 1.0, False),)
    events = [MODELS,
              _event(1, "comparison", qkey="q1", pairs=vote, source="s"),
              _event(2, "comparison", qkey="q1", pairs=vote, source="s"),  # a duplicate: ignored
              _event(3, "thumbs", qkey="q1", pairs=(("c", "", 1.0, 1.0, False),)),
              _event(4, "comparison", qkey="q2", pairs=vote)]
    for e in events:
        timeline.track(e, state)
        state.apply(e)
    assert (state.n_events, state.clock) == (4, 3)  # the duplicate is logged but does not age the rest
    assert len(state.by_query["q1"]) == len(state.born["q1"]) == 2 and state.born["q1"] == (0, 1)
    view = state.view()
    tail = timeline.rollback(state, events[2].order_key)
    assert state.by_query.get("q1", ()) == state.born.get("q1", ()) == ()  # trimmed by the same count
    assert view.born["q1"] == (0, 1)  # the published view keeps its own
    for e in tail:
        timeline.track(e, state)
        state.apply(e)
    assert state.born == dict(view.born) and state.by_query == dict(view.by_query)
    assert state.clock == view.clock == 3


def test_routing_caps_one_sources_weight_in_the_local_ratings() -> None:
    """The online local step (Glicko ratings against par) replays the neighbourhood with each
    stranger's matches scaled to ``source_local_budget`` units, as the pairwise replay did."""
    from eagle_core._serving import local_scores, serve

    def local_weak(defence: bool) -> tuple[float, float, float]:
        config = EagleConfig(source_defence=defence)
        state, seq = RatingState(config), 0
        state.apply(_event(seq, "models", payload={"models": {"strong": 0.01, "weak": 0.01}}))
        for q in range(10):
            for model, up in (("strong", 1.0), ("weak", 0.0)):
                seq += 1
                state.apply(_event(seq, "thumbs", qkey=f"q{q}", pairs=((model, "", up, 1.0, False),)))
            for i in range(6):  # a stranger: six different thumbs-up on "weak" on every query
                seq += 1
                state.apply(_event(seq, "thumbs", qkey=f"q{q}", source="mallory",
                                   pairs=(("weak", "", 1.0 - i / 100, 1.0, False),)))
        view = state.view()
        keys = [f"q{q}" for q in range(10)]  # each query's feedback has two givers: no slot cap
        decision = serve("x", None, view, [(k, 0.1) for k in keys], {"strong": 0.01, "weak": 0.01},
                         ["strong", "weak"], config)
        assert decision.n_neighbors == 10
        served = next(s.local_rating for s in decision.ranking if s.model == "weak")
        unbudgeted = local_scores(view, [view.by_query[k] for k in keys], [view.born[k] for k in keys],
                                  config)[0]["weak"]
        return served, unbudgeted, view.ratings["weak"]

    served, unbudgeted, _ = local_weak(defence=False)
    assert served == unbudgeted
    served, unbudgeted, global_weak = local_weak(defence=True)
    assert unbudgeted - global_weak > 100  # 60 units of thumbs-up would lift "weak" here...
    assert served < global_weak < unbudgeted  # ...but count as 10: the operator's thumbs-down win


def test_a_sources_rated_answers_are_clipped_globally_and_locally() -> None:
    from eagle_core._glicko import PAR, local_posterior

    config = EagleConfig()
    bound = config.effective_global_k * config.source_budget
    up = [_event(i, "thumbs", qkey=f"t{i}", pairs=(("b", PAR, 1.0, 1.0, False),), source="mallory")
          for i in range(1, 301)]
    mine = _event(301, "thumbs", qkey="op", pairs=(("b", PAR, 0.0, 1.0, False),))
    state = RatingState(config)
    for e in [MODELS, *up]:
        state.apply(e)
    assert 1500.0 < state.ratings["b"] <= 1500.0 + bound + 1e-9  # 300 thumbs-up, unrated model
    assert state.sources.moved[("mallory", "b")] <= bound + 1e-9
    state.apply(mine)  # the operator's own thumb is not limited
    assert state.ratings["b"] < 1500.0 - 5 * bound
    # locally: one source's rated answers move a model by at most the cap, the operator's in full
    history = [[("b", PAR, 1.0, 1.0)] * 40]
    kw = dict(k=2.0, par=1500.0, rd_local=100.0, half_life=None, pair_weight=0.5, farthest_first=True,
              source_cap=20.0)
    ratings, rd2 = {"a": 1500.0, "b": 1500.0}, {"a": 350.0**2, "b": 350.0**2}
    capped, _ = local_posterior(ratings, rd2, history, [None], owners=[["mallory"] * 40], **kw)
    free, _ = local_posterior(ratings, rd2, history, [None], owners=[[None] * 40], **kw)
    assert capped["b"] == pytest.approx(1520.0) and free["b"] > 1600.0 and capped["a"] == 1500.0


def _graded_log(thumbs: bool) -> list[Event]:
    from eagle_core import _feedback as fb

    names = ["a", "b", "c"]
    events = [_event(0, "models", payload={"models": {m: 0.0 for m in names}})]
    grades = [{"a": 1.0, "b": 0.0, "c": 1.0}, {"a": 1.0, "b": 1.0, "c": 0.0}, {"a": 1.0, "b": 0.0, "c": 0.0}]
    for i, g in enumerate(grades * 5):
        events.append(_event(len(events), "scores", qkey=f"s{i}", pairs=fb.score_pairs(g, names)))
    if thumbs:
        events.append(_event(len(events), "thumbs", qkey="t", pairs=fb.thumbs_pairs("a", 1.0, names)))
    return events


def test_score_sets_of_grades_store_each_grade_and_are_read_pairwise_until_rated_answers_anchor() -> None:
    from eagle_core import _feedback as fb
    from eagle_core._glicko import LABEL, PAR, SCALE

    stored = fb.score_pairs({"a": 1.0, "b": 0.0}, ["a", "b"])
    assert stored == (("a", "b", 1.0, 1.0, False), ("a", PAR, 1.0, 1.0, False), ("b", PAR, 0.0, 1.0, False))
    assert fb.score_pairs({"a": 3.0, "b": 7.0}, ["a", "b"]) == (("a", "b", 0.0, 1.0, False),)  # not grades

    on, off = RatingState(EagleConfig()), RatingState(EagleConfig(graded_scores=False))
    for e in _graded_log(thumbs=False):
        on.apply(e)
        off.apply(e)
    assert on.view().ratings == off.view().ratings and on.view().rd2 == off.view().rd2  # offline: as before
    assert on.n_matches == off.n_matches and on.view().evidence() == off.view().evidence()
    assert [p for p in on.by_query["s0"] if p[1] != LABEL] == list(off.by_query["s0"])
    assert [p for p in on.by_query["s0"] if p[1] == LABEL] == [("a", LABEL, 1.0, 1.0), ("b", LABEL, 0.0, 1.0),
                                                               ("c", LABEL, 1.0, 1.0)]

    on, off = RatingState(EagleConfig()), RatingState(EagleConfig(graded_scores=False))
    for e in _graded_log(thumbs=True):
        on.apply(e)
        off.apply(e)
    graded, pairwise = on.view().ratings, off.view().ratings
    # a graded 15/15, b 5/15, c 5/15: the graded ratings sit on the log-odds scale of the grades
    assert graded["a"] > graded["b"] == pytest.approx(graded["c"], abs=1.0)
    assert graded["b"] == pytest.approx(1500 + SCALE * (-0.69), abs=60)  # logit(1/3) = -0.69
    assert graded["a"] - graded["b"] > 2 * (pairwise["a"] - pairwise["b"])
    assert all(on.view().rd2[m] < off.view().rd2[m] for m in "bc")  # 15 rated answers each
    assert on.ratings == off.ratings  # the pairwise fold itself is unchanged


def test_graded_scores_must_be_a_bool() -> None:
    from eagle_core._errors import ConfigError

    with pytest.raises(ConfigError, match="graded_scores must be True or False"):
        EagleConfig(graded_scores=1)  # type: ignore[arg-type]


def test_labelled_grades_move_local_ratings_as_rated_answers_only_in_the_graded_replay() -> None:
    from eagle_core._glicko import LABEL, PAR, local_posterior

    ratings, rd2 = {"a": 1600.0, "b": 1550.0}, {"a": 50.0**2, "b": 50.0**2}
    kw = dict(k=2.0, par=1500.0, rd_local=100.0, half_life=300.0, pair_weight=1.0, farthest_first=True)
    pair = [("a", "b", 1.0, 1.0)]
    plain = local_posterior(ratings, rd2, [pair], [[3]], **kw)
    labelled = [*pair, ("a", LABEL, 1.0, 1.0), ("b", LABEL, 0.0, 1.0)]
    assert local_posterior(ratings, rd2, [labelled], [[3, 3, 3]], **kw) == plain  # skipped
    graded = local_posterior(ratings, rd2, [labelled], [[3, 3, 3]], graded=True, **kw)
    as_rated = local_posterior(ratings, rd2, [[*pair, ("a", PAR, 1.0, 1.0), ("b", PAR, 0.0, 1.0)]],
                               [[3, 3, 3]], **kw)
    assert graded == as_rated and graded[0]["b"] < plain[0]["b"] - 20
