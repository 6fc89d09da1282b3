"""The engine's online algorithm: one rated answer, exploration, forgetting, newcomers, pacing.

Mechanisms are driven through the in-memory twin (``EagleOnlineRouter``: the engine's own fold and
routing step with an exact neighbour search) on small synthetic streams; the public-API behaviour
(``explore=False``, ``decision.explored``, ``target_cost_per_request``, untried models unmoved) on
the real engine (Chroma EphemeralClient, bundled MiniLM).
"""

from __future__ import annotations

import numpy as np
import pytest

from eagle_core import ConfigError, EagleConfig
from eagle_core._explore import explore_share, rival_evidence
from eagle_core._glicko import DISPERSION_FLOOR, Dispersion, Evidence, population_prior
from eagle_core._pacing import BudgetPacer
from eagle_core.replay import EagleOnlineRouter

MODELS = ["weak", "mid", "strong"]


def _stream(n: int, seed: int = 0, dim: int = 8) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, dim)).astype(np.float32)
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def _run(router: EagleOnlineRouter, X: np.ndarray, p_good, *, seed: int = 0,
         costs=(0.001, 0.002, 0.004), wtp=None, target=None, on_step=None) -> np.ndarray:
    """Serve X; the served model's answer is good with probability p_good(t)[model]."""
    rng = np.random.default_rng(seed + 1)
    router.start(MODELS, np.array(costs), wtp=wtp, target_cost=target, seed=seed)
    chosen = []
    for t, x in enumerate(X):
        if on_step is not None:
            on_step(t, router)
        k = router.choose(x, f"prompt {t}")
        chosen.append(k)
        grade = float(rng.random() < p_good(t)[k])
        router.learn(x, f"prompt {t}", k, grade, costs[k] if k < len(costs) else 0.0)
    return np.array(chosen)


def test_deviation_shrinks_with_evidence_and_grows_back_when_stale() -> None:
    ev = Evidence(rd_initial=350.0, half_life=100.0)
    ratings = {"a": 1500.0, "b": 1500.0}
    before = ev.rd2("a", 0)
    for t in range(50):
        ev.rate(ratings, "a", 1.0, 1500.0, 1.0, t)
    fresh = ev.rd2("a", 50)
    assert fresh < before / 10
    assert ev.rd2("a", 250) > 3 * fresh  # 200 events without a rating: two half-lives
    assert ev.rd2("b", 50) == before and ratings["b"] == 1500.0  # never rated: unmoved, unknown


def test_an_untried_model_is_routed_at_the_population_mean_not_par() -> None:
    ev = Evidence(rd_initial=200.0, half_life=None)
    ratings = {"poor": 1500.0, "fair": 1500.0, "untried": 1500.0}
    for t in range(30):  # most answers are poor: both tried models end below par
        ev.rate(ratings, "poor", 0.0 if t % 5 else 1.0, 1500.0, 1.0, t)
        ev.rate(ratings, "fair", 0.0 if t % 3 else 1.0, 1500.0, 1.0, t)
    rd2 = {m: ev.rd2(m, 30) for m in ratings}
    prior = population_prior(ratings, rd2, par=1500.0, rd_initial=200.0)
    assert ratings["poor"] < ratings["fair"] < 1500.0 == ratings["untried"]  # par outranks both
    assert prior["poor"] < prior["untried"] < prior["fair"]  # at their mean: the best tried leads
    shift = prior["untried"] - 1500.0  # all of it for no evidence, rd2/RD0^2 of it for 30 ratings
    assert prior["fair"] - ratings["fair"] == pytest.approx(shift * rd2["fair"] / 200.0**2)
    assert abs(prior["fair"] - ratings["fair"]) < 0.15 * abs(shift)
    assert population_prior({"a": 1500.0, "b": 1500.0}, {"a": 4e4, "b": 4e4}, par=1500.0,
                            rd_initial=200.0) == {"a": 1500.0, "b": 1500.0}  # nothing known yet


def test_with_a_price_prior_an_untried_model_starts_at_what_its_price_has_earned() -> None:
    """Tried models where dearer ones grade better: an untried dear model is routed above the
    population mean, an untried cheap one below it; without prices (or with one) nothing moves."""
    ev = Evidence(rd_initial=200.0, half_life=None)
    ratings = dict.fromkeys(["cheap", "mid", "dear", "new_cheap", "new_dear"], 1500.0)
    for t in range(40):
        ev.rate(ratings, "cheap", float(t % 4 == 0), 1500.0, 1.0, t)
        ev.rate(ratings, "mid", float(t % 2 == 0), 1500.0, 1.0, t)
        ev.rate(ratings, "dear", float(t % 4 != 0), 1500.0, 1.0, t)
    rd2 = {m: ev.rd2(m, 40) for m in ratings}
    log_price = {"cheap": -8.0, "mid": -6.0, "dear": -4.0, "new_cheap": -8.0, "new_dear": -4.0}
    flat = population_prior(ratings, rd2, par=1500.0, rd_initial=200.0)
    priced = population_prior(ratings, rd2, par=1500.0, rd_initial=200.0, covariate=log_price)
    assert flat["new_cheap"] == flat["new_dear"]  # the population mean, whatever the price
    assert priced["new_cheap"] < flat["new_dear"] < priced["new_dear"] < ratings["dear"] + 50
    assert abs(priced["mid"] - flat["mid"]) < 0.1 * abs(priced["new_dear"] - flat["new_dear"])
    assert population_prior(ratings, rd2, par=1500.0, rd_initial=200.0,
                            covariate={"mid": -6.0}) == flat  # one price: no line to fit


def test_untried_models_do_not_win_routes_where_most_answers_are_poor() -> None:
    router = EagleOnlineRouter(explore=False)
    chosen = _run(router, _stream(200), lambda t: (0.1, 0.35, 0.0), seed=3,
                  costs=(0.001, 0.002, 0.004), wtp=1.0)
    ranking_leader = np.bincount(chosen[100:], minlength=3).argmax()
    assert ranking_leader == 1  # the best model tried, not whichever sat at par untried


def test_exploration_fades_as_evidence_accumulates() -> None:
    router = EagleOnlineRouter(EagleConfig(explore_share=1.0, max_explore_share=1.0,
                                           explore_scale=1.0))  # no cap
    explored_at = []

    def track(t, r) -> None:
        explored_at.append(r.n_explored if t else 0)

    _run(router, _stream(900), lambda t: (0.2, 0.5, 0.9), on_step=track)
    per_third = np.diff([0, explored_at[300], explored_at[600], router.n_explored])
    assert per_third[0] >= 8
    assert per_third[2] <= per_third[0] / 2


def test_explore_false_serves_the_ranking_choice_every_time() -> None:
    greedy = EagleOnlineRouter(explore=False)
    a = _run(greedy, _stream(300), lambda t: (0.2, 0.5, 0.9), seed=1)
    b = _run(EagleOnlineRouter(explore=False), _stream(300), lambda t: (0.2, 0.5, 0.9), seed=1)
    assert greedy.n_explored == 0
    np.testing.assert_array_equal(a, b)
    explorer = EagleOnlineRouter(EagleConfig(explore_scale=1.0))
    _run(explorer, _stream(300), lambda t: (0.2, 0.5, 0.9), seed=1)
    assert explorer.n_explored > 0


def test_exploration_share_is_bounded() -> None:
    router = EagleOnlineRouter(EagleConfig(max_explore_share=0.05, explore_scale=5.0))
    _run(router, _stream(400), lambda t: (0.5, 0.5, 0.5))
    assert 0 < router.n_explored <= 0.05 * 400 + 1


def test_exploration_share_widens_with_sparse_feedback_within_the_bound() -> None:
    cfg = EagleConfig(explore_share=0.2, max_explore_share=0.35)
    assert explore_share(cfg, 1.0) == pytest.approx(0.2)  # every answer rated: the base share
    assert explore_share(cfg, 0.8) == pytest.approx(0.25)  # explore_share / rate
    assert explore_share(cfg, 0.1) == explore_share(cfg, 0.0) == pytest.approx(0.35)  # the bound
    assert explore_share(EagleConfig(max_explore_share=0.1), 0.1) == pytest.approx(0.1)
    assert explore_share(cfg, 0.1, 0.5) == pytest.approx(0.175)  # the rivals' evidence scales it

    def sparse(rate: float) -> EagleOnlineRouter:  # a share `rate` of the answers is ever rated
        router = EagleOnlineRouter(EagleConfig(explore_scale=5.0))
        rng = np.random.default_rng(4)
        learn = router.learn
        router.learn = lambda *a: learn(*a) if rng.random() < rate else None  # type: ignore[method-assign]
        _run(router, _stream(400), lambda t: (0.5, 0.5, 0.5))
        return router

    full, tenth = sparse(1.0), sparse(0.1)
    assert full.n_explored <= 0.2 * 400 + 1
    assert 0.2 * 400 + 1 < tenth.n_explored <= 0.35 * 400 + 1


def test_the_share_fades_with_the_evidence_on_the_leaders_rivals() -> None:
    cfg = EagleConfig(explore_fade=True)
    pool = ["weak", "mid", "strong"]

    def utilities(r):  # quality-only cost rule: utility = rating
        return dict(r)

    wide = {"weak": 200.0, "mid": 200.0, "strong": 200.0}
    assert rival_evidence("strong", {m: 1500.0 for m in pool}, wide, pool, cfg, utilities) == 1.0
    narrow = {"weak": 30.0, "mid": 40.0, "strong": 30.0}
    ratings = {"weak": 1300.0, "mid": 1480.0, "strong": 1520.0}  # weak is ruled out, mid is not
    assert rival_evidence("strong", ratings, narrow, pool, cfg, utilities) == pytest.approx(40 / 200)
    settled = {"weak": 1300.0, "mid": 1400.0, "strong": 1600.0}
    assert rival_evidence("strong", settled, narrow, pool, cfg, utilities) == 0.0
    off = EagleConfig(explore_fade=False)
    assert rival_evidence("strong", settled, narrow, pool, off, utilities) == 1.0
    # on a stream where the strong model is soon settled, far fewer routes are explored
    faded = EagleOnlineRouter(EagleConfig(explore_scale=2.0, explore_fade=True))
    flat = EagleOnlineRouter(EagleConfig(explore_scale=2.0))
    for router in (faded, flat):
        _run(router, _stream(900), lambda t: (0.2, 0.5, 0.9))
    assert faded.n_explored < flat.n_explored / 2


def test_a_degraded_model_loses_traffic_and_wins_it_back() -> None:
    def p_good(t):
        return (0.3, 0.6, 0.2 if 400 <= t < 800 else 0.9)

    chosen = _run(EagleOnlineRouter(), _stream(1200), p_good, seed=2)

    def share(a, b):
        return float((chosen[a:b] == 2).mean())

    assert share(300, 400) > 0.6
    assert share(600, 800) < share(300, 400) - 0.3
    assert share(1100, 1200) > share(600, 800) + 0.3


def test_pacing_keeps_average_cost_at_or_below_target() -> None:
    costs = (0.001, 0.002, 0.004)
    router = EagleOnlineRouter()
    chosen = _run(router, _stream(600), lambda t: (0.2, 0.5, 0.9), costs=costs, target=0.002)
    spent = np.array(costs)[chosen].mean()
    assert spent <= 0.002 + 1e-12
    assert spent > 0.0015  # the target is used, not just respected
    quality = np.array([0.2, 0.5, 0.9])[chosen].mean()
    assert quality >= 0.45  # about the best single model affordable (mid, 0.5 at the target)


def test_pacer_prices_quality_by_spending_pressure() -> None:
    over, under = BudgetPacer(target=1.0, rate=0.1), BudgetPacer(target=1.0, rate=0.1)
    for _ in range(20):
        over.observe(2.0)
        under.observe(0.5)
    assert over.willingness_to_pay(10.0, [1.0]) < 10.0 * 0.2  # overspending: quality dearer
    assert under.willingness_to_pay(10.0, [1.0]) == 10.0  # a target never raises a caller's price
    assert under.willingness_to_pay(None, [1.0, 3.0]) > 3.0  # quality-only: base = dearest cost
    assert over.allowance() == 21.0 - 40.0  # the next request must be free to stay on target


def test_newcomer_gets_a_bounded_burn_in_then_is_adopted() -> None:
    def add(t, r) -> None:
        if t == 200:
            r.add_model("new", 0.002)

    router = EagleOnlineRouter()
    chosen = _run(router, _stream(700), lambda t: (0.2, 0.5, 0.6, 0.95), costs=(0.001, 0.002, 0.004),
                  on_step=add)
    forced = router.forced_tries.get("new", 0)
    assert 0 < forced <= EagleConfig().burn_in
    assert (chosen[200:220] == 3).sum() >= 15  # tried at once
    assert (chosen[500:] == 3).mean() > 0.6  # adopted on evidence


def test_a_weak_newcomer_is_dropped_after_burn_in() -> None:
    def add(t, r) -> None:
        if t == 200:
            r.add_model("bad", 0.002)

    chosen = _run(EagleOnlineRouter(), _stream(600), lambda t: (0.2, 0.5, 0.9, 0.05),
                  on_step=add)
    assert (chosen[500:] == 3).mean() < 0.05


def test_thumbs_keep_the_bernoulli_reading_and_graded_answers_count_more() -> None:
    """0/1 grades leave the dispersion at exactly 1 (same ratings as ``grade_dispersion=1.0``);
    grades in between (a judge's marks) lower it, so each one moves the served model further."""
    X = _stream(120)

    def p_good(t):
        return [0.2, 0.5, 0.8]

    ratings = {}
    for fixed in (None, 1.0):
        router = EagleOnlineRouter(EagleConfig(grade_dispersion=fixed))
        _run(router, X, p_good)
        ratings[fixed] = dict(router.state.ratings)
        assert router.state.dispersion.value == 1.0
    assert ratings[None] == ratings[1.0]

    phi = Dispersion(None)
    for s in (0.3, 0.6, 0.8, 0.5, 0.7) * 20:  # judge-like marks: about half a thumb's variance
        phi.observe(s, 1500.0, 1500.0, 1.0)
    assert 0.2 < phi.value < 0.9
    for _ in range(1000):
        phi.observe(0.5, 1500.0, 1500.0, 1.0)  # a flood of 0.5s cannot push it below the floor
    assert phi.value == DISPERSION_FLOOR
    graded, thumb = Evidence(200.0, None), Evidence(200.0, None)
    r_graded, r_thumb = {"m": 1500.0}, {"m": 1500.0}
    graded.rate(r_graded, "m", 0.9, 1500.0, 1.0 / 0.5, 0)
    thumb.rate(r_thumb, "m", 0.9, 1500.0, 1.0, 0)
    assert r_graded["m"] > r_thumb["m"] and graded.rd2("m", 0) < thumb.rd2("m", 0)


def test_bad_online_settings_are_clear_errors() -> None:
    with pytest.raises(ConfigError, match="max_explore_share"):
        EagleConfig(max_explore_share=1.5)
    with pytest.raises(ConfigError, match="explore_share"):
        EagleConfig(explore_share=-0.1)
    with pytest.raises(ConfigError, match="explore_fade"):
        EagleConfig(explore_fade="yes")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="half_life"):
        EagleConfig(half_life=0)
    with pytest.raises(ConfigError, match="burn_in"):
        EagleConfig(burn_in=-1)
    with pytest.raises(ConfigError, match="exploration"):
        EagleConfig(exploration="greedy")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="price_prior"):
        EagleConfig(price_prior=1)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="grade_dispersion"):
        EagleConfig(grade_dispersion=0.0)


# -- the real engine --------------------------------------------------------------------------


def test_a_rating_moves_only_the_served_model(make_eagle) -> None:
    eagle = make_eagle({"a": 0.001, "b": 0.002, "c": 0.003}, config=EagleConfig(seed=0))
    d = eagle.route("What is the capital of France?", explore=False)
    eagle.record_feedback(d.decision_id, score=1.0)
    after = eagle.ratings
    assert after[d.model] > 1500.0
    assert all(after[m] == 1500.0 for m in after if m != d.model)
    eagle.record_feedback(d.decision_id, thumbs=False)
    again = eagle.ratings
    assert again[d.model] < after[d.model]
    assert all(again[m] == 1500.0 for m in again if m != d.model)


def test_route_explore_switch_and_decision_flag(make_eagle) -> None:
    eagle = make_eagle({"a": 0.001, "b": 0.002, "c": 0.003},
                       config=EagleConfig(seed=3, explore_scale=5.0, explore_share=1.0,
                                         max_explore_share=1.0))
    for i in range(12):
        d = eagle.route(f"question number {i} about geography", explore=False)
        assert not d.explored and d.model == d.ranking[0].model
        eagle.record_feedback(d.decision_id, score=1.0 if d.model == "a" else 0.0)
    served = [eagle.route(f"question number {i} about geography") for i in range(30)]
    assert any(d.explored and d.model != d.ranking[0].model for d in served)
    assert all(d.model == d.ranking[0].model for d in served if not d.explored)
    with pytest.raises(ConfigError, match="explore"):
        eagle.route("q", explore="yes")  # type: ignore[arg-type]


def test_engine_target_cost_is_paced(make_eagle) -> None:
    eagle = make_eagle({"cheap": 0.001, "dear": 0.01}, config=EagleConfig(seed=0),
                       target_cost_per_request=0.003)
    eagle.record_thumbs("please solve a warm-up task", "dear", True)  # known to be the better one
    spent = []
    for i in range(25):
        d = eagle.route(f"please solve task {i}")
        spent.append(d.chosen.cost)
        eagle.record_feedback(d.decision_id, score=1.0 if d.model == "dear" else 0.2)
    assert np.mean(spent) <= 0.003 + 1e-12
    assert 0.01 in spent  # the dear model is served whenever the running average allows it
    with pytest.raises(ConfigError, match="target_cost_per_request"):
        make_eagle({"a": 0.1}, target_cost_per_request=-1.0)


@pytest.mark.parametrize(("graded", "price_prior"), [(False, False), (True, False), (True, True)])
def test_twin_and_engine_serve_identically_with_real_minilm(make_eagle, graded: bool,
                                                            price_prior: bool) -> None:
    """The replay twin (exact numpy neighbours) and the engine (Chroma EphemeralClient, bundled
    MiniLM) serve the same model at every step: exploration draws, burn-in and ratings included;
    ``graded``: scores between 0 and 1, so the estimated grade dispersion is below 1 too;
    ``price_prior``: the population mean read as a line in the log price."""
    topics = ["Sort a list of numbers in Python", "Write a haiku about the sea",
              "What is the derivative of x^{n}", "Translate 'good morning' into French",
              "Explain how a hash map works", "Summarise the causes of World War I"]
    texts = [f"{topics[i % len(topics)]} (variant {i})" for i in range(48)]
    costs = {"cheap": 0.001, "mid": 0.003, "dear": 0.01}
    eagle = make_eagle(costs, config=EagleConfig(seed=7, price_prior=price_prior))
    twin = EagleOnlineRouter(EagleConfig(price_prior=price_prior))
    twin.start(list(costs), np.array(list(costs.values())), wtp=0.05, target_cost=None, seed=7)
    X = eagle.embed(texts)
    models = list(costs)
    served = []
    for t, text in enumerate(texts):
        if t == 24:
            eagle.add_model("new", 0.002)
            twin.add_model("new", 0.002)
            models.append("new")
        d = eagle.route(text, willingness_to_pay=0.05)
        k = twin.choose(X[t], text)
        assert models[k] == d.model, f"step {t}"
        served.append(d.model)
        grade = float((t * 7 + len(d.model)) % 3 != 0) if d.model != "cheap" else float(t % 4 == 0)
        grade = 0.3 + 0.6 * grade if graded else grade
        eagle.record_feedback(d.decision_id, score=grade)
        twin.learn(X[t], text, k, grade, costs.get(d.model, 0.002))
    assert twin.n_explored > 0 and "new" in served and len(set(served)) >= 3
    assert twin.state.ratings == pytest.approx(eagle.ratings)
    assert (twin.state.dispersion.value < 1.0) == graded
