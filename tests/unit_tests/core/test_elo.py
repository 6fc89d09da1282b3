"""ELO maths against hand-computed values."""

from __future__ import annotations

import pytest

from eagle_core._elo import expected_score, normalize, replay, update


def test_expected_score_hand_values() -> None:
    assert expected_score(1500, 1500) == pytest.approx(0.5)
    # 1 / (1 + 10^(-100/400)) = 1 / (1 + 0.562341) = 0.640065
    assert expected_score(1600, 1500) == pytest.approx(0.640065, abs=1e-6)
    assert expected_score(1500, 1600) == pytest.approx(0.359935, abs=1e-6)


def test_update_is_symmetric_and_matches_hand_computation() -> None:
    ratings = {"a": 1500.0, "b": 1500.0}
    delta = update(ratings, "a", "b", 1.0, 32)
    assert delta == pytest.approx(16.0)
    assert ratings == {"a": pytest.approx(1516.0), "b": pytest.approx(1484.0)}
    # second win: E = 1/(1+10^(-32/400)) = 0.545922; delta = 32 * (1 - 0.545922) = 14.530
    update(ratings, "a", "b", 1.0, 32)
    assert ratings["a"] == pytest.approx(1530.530, abs=1e-3)
    assert ratings["b"] == pytest.approx(1469.470, abs=1e-3)
    assert ratings["a"] + ratings["b"] == pytest.approx(3000.0)


def test_draw_between_unequal_players_moves_them_together() -> None:
    ratings = {"a": 1600.0, "b": 1500.0}
    update(ratings, "a", "b", 0.5, 32)
    # delta = 32 * (0.5 - 0.640065) = -4.482
    assert ratings["a"] == pytest.approx(1595.518, abs=1e-3)
    assert ratings["b"] == pytest.approx(1504.482, abs=1e-3)


def test_replay_weights_k_and_skips_unknown_models() -> None:
    ratings = {"a": 1500.0, "b": 1500.0}
    replay(ratings, [("a", "b", 1.0, 0.5), ("a", "gone", 1.0, 1.0)], 32)
    assert ratings == {"a": pytest.approx(1508.0), "b": pytest.approx(1492.0)}


def test_normalizations() -> None:
    scores = {"a": 1600.0, "b": 1500.0, "c": 1400.0}
    win = normalize(scores, "winprob")
    assert win["b"] == pytest.approx(0.5)
    assert win["a"] == pytest.approx((0.640065 + 0.759747) / 2, abs=1e-5)
    assert normalize(scores, "minmax") == {"a": 1.0, "b": 0.5, "c": 0.0}
    assert normalize(scores, "max")["c"] == pytest.approx(1400 / 1600)
    assert normalize({"a": 1.0}, "winprob") == {"a": 1.0}
