"""The online replay harness on small synthetic streams: what a router is shown, when, and how
the run is scored (no embedder needed: the embeddings are synthetic unit vectors)."""

from __future__ import annotations

import numpy as np
import pytest

from eagle_core.datasets import RoutingDataset
from eagle_core.replay import (
    SCENARIOS,
    DualPacer,
    EagleGreedyRouter,
    EagleOnlineRouter,
    ReplayError,
    Scenario,
    ThompsonRouter,
    budget_oracle,
    build_stream,
    drift_grades,
    prepare,
    references,
    replay,
    score_trace,
)


def _dataset(n: int = 600, m: int = 4, seed: int = 0) -> tuple[RoutingDataset, np.ndarray]:
    rng = np.random.default_rng(seed)
    scores = (rng.random((n, m)) < np.linspace(0.3, 0.9, m)).astype(float)
    costs = np.tile(np.linspace(0.001, 0.01, m), (n, 1)) * rng.uniform(0.8, 1.2, (n, 1))
    ds = RoutingDataset(
        name="toy", path=None, prompt_ids=tuple(f"p{i}" for i in range(n)),
        prompts=tuple(f"prompt {i}" for i in range(n)), subsets=np.array(["s"] * n),
        models=tuple(f"m{j}" for j in range(m)), scores=scores, costs=costs,
    )  # fmt: skip
    X = rng.normal(size=(n, 8)).astype(np.float32)
    return ds, X / np.linalg.norm(X, axis=1, keepdims=True)


class Spy:
    """Serves a scripted model and records every call the harness makes."""

    name = "spy"

    def __init__(self, pick=lambda t, m: t % m) -> None:
        self.pick = pick

    def start(self, models, costs, *, wtp, target_cost, seed) -> None:
        self.models, self.costs, self.wtp, self.target = list(models), costs, wtp, target_cost
        self.t = 0
        self.chosen: list[int] = []
        self.seen: dict[bytes, int] = {}
        self.learned: list[tuple[int, int, int, float]] = []  # (step served, at step, model, grade)
        self.full: list[int] = []
        self.added: list[tuple[int, str]] = []
        self.duels: list[tuple[int, int, int, float]] = []

    def choose(self, x, text) -> int:
        self.seen[x.tobytes()] = self.t
        k = self.pick(self.t, len(self.models))
        self.chosen.append(k)
        self.t += 1
        return k

    def learn(self, x, text, model, grade, cost) -> None:
        self.learned.append((self.seen[x.tobytes()], self.t, model, grade))

    def learn_duel(self, x, text, model, other, outcome) -> None:
        self.duels.append((self.seen[x.tobytes()], model, other, outcome))

    def learn_full(self, x, text, grades) -> None:
        self.full.append(self.seen[x.tobytes()])

    def add_model(self, name, cost) -> None:
        self.added.append((self.t, name))
        self.models.append(name)


def _prep(scenario: str | Scenario, n: int = 600, wtp: float | None = 0.02, seed: int = 0):
    ds, X = _dataset(n)
    sc = SCENARIOS[scenario] if isinstance(scenario, str) else scenario
    return prepare(build_stream(ds, X, seed=seed), sc, wtp=wtp)


def test_only_the_served_answers_grade_is_revealed() -> None:
    prep = _prep("cold")
    spy = Spy()
    trace = replay(spy, prep, seed=0)
    s = prep.stream
    assert len(spy.learned) == len(s) and not spy.full and not spy.duels
    for step, at, model, grade in spy.learned:
        assert at == step + 1  # delivered right after serving, before the next query
        assert model == spy.chosen[step]
        assert grade == s.grades[step, model]
    np.testing.assert_array_equal(trace.grade, s.grades[np.arange(len(s)), spy.chosen])


def test_a_router_cannot_beat_the_best_fixed_model_by_peeking() -> None:
    """What a router is told about step t arrives only after it served t: a router that serves, at
    each step, the model that did best on the last revealed step is no oracle."""
    prep = _prep("cold")
    ref = references(prep)

    class Peeker(Spy):
        def choose(self, x, text) -> int:
            super().choose(x, text)
            return self.chosen[-1]

        def learn(self, x, text, model, grade, cost) -> None:
            super().learn(x, text, model, grade, cost)
            self.pick = lambda t, m, g=grade, k=model: k if g > 0 else (k + 1) % m

    m = score_trace(replay(Peeker(), prep, seed=0), prep, ref)
    gap = ref.oracle_utility.mean() - ref.fixed_utility.mean()
    assert m["utility"] < ref.oracle_utility.mean() - 0.2 * gap


def test_sparse_feedback_is_thinned_and_delivered_late() -> None:
    prep = _prep("sparse", n=2000)
    spy = Spy()
    replay(spy, prep, seed=3)
    assert 150 <= len(spy.learned) <= 250  # 10 % of 2000 steps, minus those due after the end
    assert all(at == step + 50 for step, at, _, _ in spy.learned)  # before step t+50 is routed
    assert all(step < 2000 - 50 for step, *_ in spy.learned)
    again = Spy(pick=lambda t, m: 0)
    replay(again, prep, seed=3)  # the rated steps do not depend on what the router served
    assert [s for s, *_ in again.learned] == [s for s, *_ in spy.learned]


def test_warm_start_gives_full_grades_then_partial() -> None:
    prep = _prep("warm")
    spy = Spy()
    replay(spy, prep, seed=0)
    assert spy.full == list(range(100))
    assert [s for s, *_ in spy.learned] == list(range(100, len(prep.stream)))


def test_duel_feedback_is_one_verdict_against_another_model() -> None:
    prep = _prep("duel")
    spy = Spy()
    replay(spy, prep, seed=0)
    assert len(spy.duels) == len(prep.stream) and not spy.learned
    g = prep.stream.grades
    for step, model, other, outcome in spy.duels:
        assert model == spy.chosen[step] and other != model
        a, b = g[step, model], g[step, other]
        assert outcome == (1.0 if a > b else 0.0 if a < b else 0.5)


def test_drift_turns_a_share_of_correct_answers_wrong_in_the_window_only() -> None:
    grades = np.ones((3000, 3))
    out = drift_grades(grades, 1, 1000, 2000, 0.3, seed=0)
    assert np.array_equal(out[:1000], grades[:1000]) and np.array_equal(out[2000:], grades[2000:])
    assert np.array_equal(out[:, [0, 2]], grades[:, [0, 2]])
    assert 0.25 < 1 - out[1000:2000, 1].mean() < 0.35
    prep = _prep("drift", n=600)
    assert prep.events == (300, 500)
    changed = np.flatnonzero((prep.stream.grades != build_stream(*_dataset(600), seed=0).grades).any(axis=0))
    assert list(changed) == [prep.special]


def test_newcomer_joins_after_a_third_with_the_next_index() -> None:
    prep = _prep("newcomer", n=600)
    new = prep.special
    spy = Spy(pick=lambda t, m: m - 1)  # always the last model: the newcomer once it joined
    trace = replay(spy, prep, seed=0)
    assert spy.added == [(200, prep.stream.models[new])]
    assert prep.stream.models[new] not in spy.models[:-1]
    assert (trace.chosen[200:] == new).all() and (trace.chosen[:200] != new).all()
    m = score_trace(trace, prep, references(prep))
    assert m["newcomer_final_share"] == 1.0 and m["newcomer_tries_first_20"] == 20


def test_metrics_on_a_toy_stream_with_known_answers() -> None:
    # 2 models, 4 steps; wtp 1: model 0 costs 0.1, model 1 costs 0.5
    ds = RoutingDataset(
        name="t", path=None, prompt_ids=("a", "b", "c", "d"), prompts=("a", "b", "c", "d"),
        subsets=np.array(["s"] * 4), models=("cheap", "dear"),
        scores=np.array([[1.0, 1.0], [0.0, 1.0], [1.0, 1.0], [0.0, 1.0]]),
        costs=np.array([[0.1, 0.5]] * 4),
    )  # fmt: skip
    X = np.eye(4, dtype=np.float32)
    prep = prepare(build_stream(ds, X, seed=0), SCENARIOS["cold"], wtp=1.0)
    ref = references(prep)
    # utilities: cheap 0.9/-0.1, dear 0.5 every step; oracle = 0.9, 0.5, 0.9, 0.5 in some order
    assert ref.oracle_utility.sum() == pytest.approx(2.8)
    assert ref.fixed_model == 1 and ref.fixed_utility.sum() == pytest.approx(2.0)  # dear 2.0 > cheap 1.6
    m = score_trace(replay(Spy(pick=lambda t, m: 0), prep, seed=0), prep, ref)
    assert m["utility"] == pytest.approx(0.4)
    assert m["regret"] == pytest.approx(2.8 - 1.6)
    assert m["headroom"] == pytest.approx((0.4 - 0.5) / (0.7 - 0.5))
    assert m["share_thirds"][0] == [1.0, 0.0]
    assert m["regret_curve"][-1] == pytest.approx(m["regret"])


def test_budget_oracle_meets_the_target_at_the_best_quality() -> None:
    grades = np.array([[1.0, 1.0], [0.0, 1.0], [0.0, 1.0], [1.0, 1.0]])
    costs = np.array([[1.0, 3.0]] * 4)
    choice = budget_oracle(grades, costs, np.ones_like(grades, dtype=bool), target=2.0)
    assert costs[np.arange(4), choice].mean() <= 2.0
    assert grades[np.arange(4), choice].mean() == 1.0  # dear only where cheap is wrong
    prep = _prep("budget", wtp=0.02)
    assert prep.wtp is None and prep.target_cost == pytest.approx(0.25 * prep.stream.mean_costs[-1])


def test_pacer_keeps_average_spend_near_target() -> None:
    pacer = DualPacer(target=0.25)
    spent = []
    costs, grades = np.array([0.1, 1.0]), np.array([0.5, 0.9])
    for _ in range(3000):
        wtp = pacer.wtp(None)
        k = int(np.argmax(grades if wtp is None else grades * wtp - costs))
        pacer.observe(costs[k])
        spent.append(costs[k])
    assert np.mean(spent[500:]) <= 0.25 * 1.1


def test_bad_choice_and_bad_settings_are_clear_errors() -> None:
    prep = _prep("cold", n=50)
    with pytest.raises(ReplayError, match=r"index in \[0, 4\)"):
        replay(Spy(pick=lambda t, m: m), prep, seed=0)
    ds, X = _dataset(10)
    with pytest.raises(ReplayError, match="one row per prompt"):
        build_stream(ds, X[:5], seed=0)
    with pytest.raises(ReplayError, match="length"):
        build_stream(ds, X, seed=0, length=0)


@pytest.mark.parametrize("router", [EagleOnlineRouter(), EagleOnlineRouter(explore=False),
                                    EagleOnlineRouter(full_information=True), EagleGreedyRouter(),
                                    ThompsonRouter()])  # fmt: skip
def test_routers_run_every_scenario_deterministically(router) -> None:
    for name in SCENARIOS:
        prep = _prep(name, n=240)
        a = replay(router, prep, seed=1).chosen
        b = replay(router, prep, seed=1).chosen
        assert np.array_equal(a, b), name


@pytest.mark.parametrize("scenario", ["cold", "warm", "sparse", "newcomer", "budget", "duel"])
def test_pip_bandits_run_through_the_harness(scenario: str) -> None:
    pytest.importorskip("pareto_bandit")
    pytest.importorskip("mabwiser")
    from eagle_core.replay import LinUCBRouter, ParetoBanditRouter, pca_basis

    prep = _prep(scenario, n=200)
    basis = pca_basis(prep.stream.X, 4)
    for router in (ParetoBanditRouter(basis), LinUCBRouter(basis)):
        trace = replay(router, prep, seed=0)
        assert len(set(trace.chosen.tolist())) > 1  # they explore
        if scenario == "budget":
            assert trace.cost.mean() < prep.stream.mean_costs.max()


@pytest.mark.parametrize("scenario", ["cold", "warm", "duel", "newcomer", "budget"])
def test_in_memory_twin_and_engine_make_identical_choices(scenario: str) -> None:
    """EagleOnlineRouter (numpy, used for fast replays) and the Chroma-backed engine through its
    public API (exploration on, same seed) choose the same model at every step of a short stream."""
    from eagle_core.replay import EngineRouter

    prep = _prep(scenario, n=120)
    twin = EagleOnlineRouter()
    chosen = replay(twin, prep, seed=5).chosen
    engine = EngineRouter()
    assert len(set(chosen.tolist())) > 1
    np.testing.assert_array_equal(chosen, replay(engine, prep, seed=5).chosen)
    assert twin.n_explored == engine.n_explored > 0
