"""Budget pacing on actual costs: ``record_cost`` / ``record_feedback(..., cost=)`` replace the
estimate the pacer charged at route time, once, on the worker that routed the decision (through the
log when the cost is reported elsewhere). Real engine on Chroma (EphemeralClient / PersistentClient
in a tmp dir) with the bundled MiniLM; the pacer and the replay twin on synthetic streams."""

from __future__ import annotations

import numpy as np
import pytest

from eagle_core import EagleConfig, InvalidCostError, UnknownDecisionError
from eagle_core._pacing import BudgetPacer
from eagle_core.replay import EagleOnlineRouter

COSTS = {"cheap": 0.001, "dear": 0.01}


def test_pacer_charges_the_actual_cost_in_place_of_the_estimate_once() -> None:
    pacer = BudgetPacer(target=1.0, rate=0.1)
    pacer.observe(1.0, "a")
    pacer.observe(1.0, "b")
    assert pacer.settle("a", 3.0)
    assert pacer.average_cost == 2.0
    assert pacer.settle("a", 3.0)  # a repeated (or re-delivered) report replaces, never adds
    assert pacer.average_cost == 2.0 and pacer.n_settled == 1
    assert pacer.settle("a", 2.0)  # a corrected report replaces the first one
    assert pacer.average_cost == 1.5
    assert not pacer.settle("unknown", 5.0)  # another worker's decision: not charged here
    assert pacer.average_cost == 1.5
    # the guard holds back the worst underestimate seen (2.0 - 1.0) for the next request
    assert pacer.reserve == 2.0
    assert pacer.allowance() == pytest.approx(3 * 1.0 - 3.0 - 2.0)
    settled_dual = pacer.multiplier
    fresh = BudgetPacer(target=1.0, rate=0.1)
    fresh.observe(2.0)
    fresh.observe(1.0)
    assert settled_dual == pytest.approx(fresh.multiplier)  # as if the actual cost had been charged


def test_twin_paces_the_actual_costs_the_answers_report() -> None:
    """Answers of the dear model cost 1.6x its listed price: pacing on the estimates overspends the
    target by about that much; the actual costs fed back keep the stream's spend at the target."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 8)).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    listed, actual, target = np.array([0.001, 0.01]), np.array([0.001, 0.016]), 0.004

    def spend(report: bool) -> float:
        router = EagleOnlineRouter()
        router.start(["cheap", "dear"], listed, wtp=None, target_cost=target, seed=0)
        paid = []
        for t, x in enumerate(X):
            k = router.choose(x, f"prompt {t}")
            paid.append(actual[k])
            if report:  # the replay harness's hook: the served answer's actual cost
                router.paid(x, f"prompt {t}", k, actual[k])
            router.learn(x, f"prompt {t}", k, float(rng.random() < (0.3, 0.9)[k]), actual[k])
        return float(np.mean(paid))

    assert spend(report=False) > target * 1.2
    paced = spend(report=True)
    assert target * 0.9 < paced <= target * 1.005


def test_engine_record_cost_keeps_the_actual_spend_on_target(make_eagle) -> None:
    eagle = make_eagle(COSTS, config=EagleConfig(seed=0), target_cost_per_request=0.003)
    paid = []
    for i in range(30):
        d = eagle.route(f"please solve task {i}")
        cost = 0.02 if d.model == "dear" else 0.001  # the dear model's answers run twice as long
        paid.append(cost)
        if i % 2:
            eagle.record_feedback(d.decision_id, score=1.0 if d.model == "dear" else 0.2, cost=cost)
        else:
            eagle.record_feedback(d.decision_id, score=1.0 if d.model == "dear" else 0.2)
            eagle.record_cost(d.decision_id, cost)
            eagle.record_cost(d.decision_id, cost)  # a retry counts once
    assert 0.02 in paid  # the dear model is served whenever the running average allows it
    assert np.mean(paid) <= 0.003 * 1.005  # estimates alone (0.01) would allow ~2x the dear answers


def test_bad_cost_is_a_clear_error_and_stores_nothing(make_eagle) -> None:
    eagle = make_eagle(COSTS, target_cost_per_request=0.003)
    d = eagle.route("What is 2 + 2?")
    before = eagle.n_feedback
    for bad in (-0.01, float("nan"), float("inf"), "0.1", True):
        with pytest.raises(InvalidCostError, match="cost must be what the answer actually cost"):
            eagle.record_feedback(d.decision_id, score=1.0, cost=bad)
        with pytest.raises(ValueError, match=r"finite number of USD >= 0, got"):
            eagle.record_cost(d.decision_id, bad)
    assert eagle.n_feedback == before  # the feedback was refused with its cost
    with pytest.raises(UnknownDecisionError):
        eagle.record_cost("no-such-decision", 0.01)


def _after_a_dear_answer(make_eagle, path, report: float | None) -> list[str]:
    """Route on one worker until the dear model is served; a second worker (e.g. a billing job)
    reports that answer's actual cost (``report``); the routing worker syncs and routes 12 more."""
    config = EagleConfig(seed=0, explore=False)
    router = make_eagle(COSTS, path=path, config=config, target_cost_per_request=0.004)
    billing = make_eagle(None, path=path, config=config)
    for i in range(40):
        d = router.route(f"explain topic {i} in detail")
        router.record_feedback(d.decision_id, score=1.0 if d.model == "dear" else 0.0)
        if d.model == "dear":
            break
    assert d.model == "dear"
    ratings, n = dict(router.ratings), router.n_feedback
    if report is not None:
        billing.record_cost(d.decision_id, report)
        billing.record_cost(d.decision_id, report)  # retried: still charged once
    router.sync()
    assert router.ratings == ratings and router.n_feedback == n  # a cost is no feedback
    return [router.route(f"more questions {i}").model for i in range(12)]


def test_cost_reported_on_another_worker_is_paced_by_the_routing_worker(make_eagle, tmp_path) -> None:
    assert "dear" in _after_a_dear_answer(make_eagle, tmp_path / "estimate", None)
    # that answer cost 0.1 USD, 10x its estimate: 25 requests' budget must be saved first
    assert _after_a_dear_answer(make_eagle, tmp_path / "actual", 0.1) == ["cheap"] * 12


def test_async_record_cost_charges_the_pacer(make_eagle) -> None:
    import asyncio

    def served(report: bool) -> list[str]:
        eagle = make_eagle(COSTS, config=EagleConfig(seed=0, explore=False),
                           target_cost_per_request=0.004)
        for i in range(4):
            eagle.record_comparison(f"a question {i}", "dear", "cheap")  # dear is the better one
        first = eagle.route("a first question")
        if report:
            asyncio.run(eagle.arecord_cost(first.decision_id, 0.1))  # 25 requests' budget at once
        return [eagle.route(f"question {i}").model for i in range(10)]

    assert "dear" in served(report=False)
    assert served(report=True) == ["cheap"] * 10
