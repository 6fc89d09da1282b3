from __future__ import annotations

import math

import numpy as np
import pytest

from eagle_core.evaluation import LAMBDAS, auc, choose, deferral_area, qnc
from eagle_core.evaluation._metrics import curve


def test_lambda_grid_is_routerbench_first_16() -> None:
    assert len(LAMBDAS) == 16 and LAMBDAS[0] == 1e-10 and LAMBDAS[-1] == 10.0
    assert LAMBDAS[7:10] == (1e-3, 0.005, 0.01)


def test_auc_is_unit_spaced_trapezoid_by_hand() -> None:
    assert auc(np.array([0.0, 1.0, 1.0])) == pytest.approx(0.5 + 1.0)
    assert auc(np.full(16, 0.6)) == pytest.approx(15 * 0.6)
    assert auc(np.array([0.2, 0.4, 0.8, 0.4])) == pytest.approx(0.3 + 0.6 + 0.6)


def test_choose_applies_willingness_to_pay_rule() -> None:
    q = np.array([[0.5, 0.9], [0.5, 0.505]])
    cost = np.array([0.001, 0.01])
    assert choose(q, cost, 1e-10).tolist() == [0, 0]  # cost dominates: cheapest
    assert choose(q, cost, 1.0).tolist() == [1, 0]  # gain 0.4 > extra cost 0.009; gain 0.005 < 0.009
    assert choose(q, cost, 100.0).tolist() == [1, 1]


def test_choose_breaks_ties_towards_cheaper_model() -> None:
    q = np.array([[0.7, 0.7, 0.7]])
    assert choose(q, np.array([0.003, 0.001, 0.002]), 10.0).tolist() == [1]


def test_choose_never_picks_unknown_cost_model() -> None:
    q = np.array([[0.1, 1.0], [0.2, 1.0]])
    cost = np.array([0.5, np.nan])
    for lam in LAMBDAS:
        assert choose(q, cost, lam).tolist() == [0, 0]


def test_curve_records_mean_score_and_cost_of_choices() -> None:
    scores = np.array([[1.0, 0.0], [0.0, 1.0]])
    costs = np.array([[1.0, 3.0], [2.0, 4.0]])
    c = curve([np.array([0, 0]), np.array([0, 1])], scores, costs, (1.0, 2.0))
    assert c.quality.tolist() == [0.5, 1.0]
    assert c.cost.tolist() == [1.5, 2.5]
    assert c.auc == pytest.approx(0.75)


def test_deferral_area_is_mean_quality_over_normalised_cost() -> None:
    # starts at the cheapest model (0, 0.5), reaches 1.0 at normalised cost 0.5, then flat
    cost, quality = np.array([5.0]), np.array([1.0])
    area = deferral_area(cost, quality, c_min=0.0, c_max=10.0, start_quality=0.5)
    assert area == pytest.approx(0.5 * 0.75 + 0.5 * 1.0, abs=1e-3)
    half = deferral_area(cost, quality, 0.0, 10.0, upto=0.5, start_quality=0.5)
    assert half == pytest.approx(0.75, abs=1e-3)
    # a dominated (costlier, worse) point never lowers the curve
    worse = deferral_area(np.array([5.0, 8.0]), np.array([1.0, 0.2]), 0.0, 10.0, start_quality=0.5)
    assert worse == pytest.approx(area, abs=1e-9)


def test_qnc_is_least_relative_cost_matching_best_model() -> None:
    cost = np.array([1.0, 2.0, 4.0])
    quality = np.array([0.5, 0.8, 0.9])
    assert qnc(cost, quality, target_quality=0.8, ref_cost=4.0) == pytest.approx(0.5)
    assert math.isinf(qnc(cost, quality, target_quality=0.95, ref_cost=4.0))
