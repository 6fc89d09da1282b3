from __future__ import annotations

import numpy as np
import pytest

from eagle_core.evaluation import (
    KNNRouter,
    LinearSVRRouter,
    MLPRouter,
    RandomRouter,
    SingleRouter,
)


@pytest.fixture
def clusters() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two embedding clusters; model 0 is right on cluster A, model 1 on cluster B."""
    rng = np.random.RandomState(0)
    centers = np.eye(8)[:2] * 3
    labels = np.repeat([0, 1], 60)
    X = centers[labels] + rng.normal(scale=0.3, size=(120, 8))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    scores = np.stack([labels == 0, labels == 1], axis=1).astype(float)
    return X, scores, labels


@pytest.mark.parametrize("router", [KNNRouter(10), MLPRouter(), LinearSVRRouter()])
def test_predictive_baselines_learn_which_model_suits_which_cluster(router, clusters) -> None:
    X, scores, labels = clusters
    router.fit(X[::2], scores[::2], [""] * 60)
    q = router.predict(X[1::2], [""] * 60)
    assert q.shape == (60, 2)
    assert (q.argmax(axis=1) == 1 - labels[1::2]).mean() < 0.1  # not the wrong model
    assert (q.argmax(axis=1) == labels[1::2]).mean() > 0.9


def test_knn_predicts_mean_of_neighbours_scores(clusters) -> None:
    X, scores, _ = clusters
    q = KNNRouter(40).fit(X, scores, [""] * 120).predict(X[:1], [""])
    assert q[0].tolist() == pytest.approx([1.0, 0.0])


def test_single_predicts_training_means_everywhere(clusters) -> None:
    X, scores, _ = clusters
    scores = scores.copy()
    scores[:10, 1] = 1.0
    q = SingleRouter().fit(X, scores, [""] * 120).predict(X[:3], [""] * 3)
    assert q.tolist() == [[0.5, 70 / 120]] * 3


def test_constant_target_column_is_predicted_as_constant(clusters) -> None:
    X, scores, _ = clusters
    scores = np.column_stack([scores, np.ones(120)])
    q = LinearSVRRouter().fit(X, scores, [""] * 120).predict(X[:5], [""] * 5)
    assert q[:, 2].tolist() == [1.0] * 5


def test_random_router_choices_are_seeded_and_ignore_lambda(clusters) -> None:
    X, scores, _ = clusters
    r = RandomRouter(seed=3).fit(X, scores, [""] * 120)
    a, b = r.fixed_choices(50), RandomRouter(seed=3).fit(X, scores, []).fixed_choices(50)
    assert a.tolist() == b.tolist() and set(a.tolist()) == {0, 1}
