"""UniRouteKMeans / UniRouteKNN at estimator level, on synthetic blobs (fast, exact expectations)."""

from __future__ import annotations

import numpy as np
import pytest

from eagle_core import ConfigError, InvalidFeedbackError, UnknownModelError
from eagle_core.evaluation import deferral_area
from eagle_core.evaluation._metrics import choose_min_error as route
from eagle_core.uniroute import UniRouteKMeans, UniRouteKNN

DIM = 8


def blobs(n_per: int, n_blobs: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Points around n_blobs orthogonal directions; returns (embeddings, blob label)."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(n_blobs), n_per)
    x = np.eye(DIM)[labels] * 5.0 + rng.normal(scale=0.3, size=(len(labels), DIM))
    return x, labels


def test_add_model_represents_a_model_by_its_per_cluster_error() -> None:
    x, lab = blobs(40)
    router = UniRouteKMeans(n_clusters=3).fit(x)
    vx, vlab = blobs(20, seed=1)
    # "coder" is right on blob 0 only, "chatter" on blobs 1 and 2 only
    router.add_model("coder", vx, (vlab == 0).astype(float))
    router.add_model("chatter", vx, (vlab != 0).astype(float))
    assert router.models == ("coder", "chatter")
    qx, qlab = blobs(5, seed=2)
    err = router.predict_error(qx)
    assert err.shape == (15, 2)
    np.testing.assert_allclose(err[qlab == 0], [[0.0, 1.0]] * 5)
    np.testing.assert_allclose(err[qlab != 0], [[1.0, 0.0]] * 10)
    # routed to where it is strong, at equal cost
    picks = route(err, np.zeros(2), 0.0)
    assert (picks[qlab == 0] == 0).all() and (picks[qlab != 0] == 1).all()
    np.testing.assert_allclose(router.predict_quality(qx), 1.0 - err)


def test_cost_weight_trades_quality_for_cost() -> None:
    x, _ = blobs(30)
    router = UniRouteKMeans(n_clusters=3).fit(x)
    vx, vlab = blobs(10, seed=1)
    router.add_model("big", vx, np.full(len(vx), 0.9))
    router.add_model("small", vx, np.where(vlab == 0, 0.85, 0.2))
    err = router.predict_error(blobs(3, seed=3)[0])
    costs = np.array([1.0, 0.0])
    assert (route(err, costs, 0.0) == 0).all()  # quality only: the big model everywhere
    cheap_enough = route(err, costs, 0.1)  # 0.05 error gap on blob 0 is worth 0.1 cost
    assert list(cheap_enough) == [1, 1, 1, 0, 0, 0, 0, 0, 0]


def test_empty_cluster_falls_back_to_overall_error() -> None:
    x, _ = blobs(30)
    router = UniRouteKMeans(n_clusters=3, n_clusterings=1).fit(x)
    vx, vlab = blobs(10, seed=1)
    keep = vlab != 2  # no labelled prompt in blob 2
    scores = np.where(vlab[keep] == 0, 1.0, 0.5)
    router.add_model("m", vx[keep], scores)
    counts = router.cluster_counts("m")
    assert sorted(counts.tolist()) == [0, 10, 10]
    psi = router.psi("m")
    empty = int(np.flatnonzero(counts == 0)[0])
    assert psi[empty] == pytest.approx(1.0 - scores.mean())  # 0.25, not NaN or 0
    q = router.predict_error(blobs(2, seed=5)[0][4:])  # two prompts of blob 2
    np.testing.assert_allclose(q[:, 0], 0.25)


def test_smoothing_pulls_small_clusters_towards_overall_error() -> None:
    x, _ = blobs(30)
    vx, vlab = blobs(10, seed=1)
    scores = (vlab == 0).astype(float)
    plain = UniRouteKMeans(n_clusters=3, smoothing=0.0, n_clusterings=1).fit(x)
    plain.add_model("m", vx, scores)
    smooth = UniRouteKMeans(n_clusters=3, smoothing=10.0, n_clusterings=1).fit(x)
    smooth.add_model("m", vx, scores)
    overall = 1.0 - scores.mean()
    assert sorted(plain.psi("m").tolist()) == [0.0, 1.0, 1.0]
    # (sum + 10 * overall) / (10 + 10): halfway to the overall error
    np.testing.assert_allclose(sorted(smooth.psi("m")), sorted((plain.psi("m") + overall) / 2))


def test_fit_chooses_k_on_validation_among_training_models() -> None:
    x, lab = blobs(60)
    # three training models, each right on one blob only: K=3 separates them, K=1 cannot
    errors = (lab[:, None] != np.arange(3)[None, :]).astype(float)
    vx, vlab = blobs(20, seed=1)
    val_errors = (vlab[:, None] != np.arange(3)[None, :]).astype(float)
    router = UniRouteKMeans(n_clusters=[1, 3], n_clusterings=2).fit(
        x, errors, costs=[1.0, 2.0, 3.0], val_embeddings=vx, val_errors=val_errors
    )
    assert router.n_clusters_ == 3
    assert set(router.selection_scores) == {1, 3}
    assert router.selection_scores[3] > router.selection_scores[1]
    assert router.centroids.shape == (2 * 3, DIM)  # two clusterings of K=3, stacked


def test_fit_without_validation_set_carves_one_from_training() -> None:
    x, lab = blobs(60)
    errors = (lab[:, None] != np.arange(3)[None, :]).astype(float)
    router = UniRouteKMeans(n_clusters=[1, 3]).fit(x, errors)  # criterion: Brier score
    assert router.n_clusters_ == 3
    assert router.selection_scores[3] == pytest.approx(0.0)


def test_refit_clears_added_models() -> None:
    x, _ = blobs(20)
    router = UniRouteKMeans(n_clusters=3).fit(x).add_model("m", x, np.ones(len(x)))
    router.fit(x)
    assert router.models == ()


def test_bad_input_raises_typed_errors_and_keeps_state() -> None:
    x, _ = blobs(20)
    router = UniRouteKMeans(n_clusters=3)
    with pytest.raises(ConfigError, match="not fitted"):
        router.add_model("m", x, np.ones(len(x)))
    router.fit(x)
    router.add_model("m", x, np.ones(len(x)))
    before = router.psi("m")
    with pytest.raises(InvalidFeedbackError, match=r"in \[0, 1\]"):
        router.add_model("m", x, np.full(len(x), 2.0))
    with pytest.raises(InvalidFeedbackError, match="shape"):
        router.add_model("m", x, np.ones(3))
    with pytest.raises(ConfigError, match="8 columns"):
        router.add_model("m", x[:, :4], np.ones(len(x)))
    with pytest.raises(ConfigError, match="finite"):
        router.predict_error(np.full((1, DIM), np.nan))
    with pytest.raises(ConfigError, match="model name"):
        router.add_model("", x, np.ones(len(x)))
    with pytest.raises(UnknownModelError, match="nope"):
        router.remove_model("nope")
    with pytest.raises(ConfigError, match="n_clusters"):
        UniRouteKMeans(n_clusters=0).fit(x)
    assert router.models == ("m",)
    np.testing.assert_array_equal(router.psi("m"), before)


def test_constructor_only_stores() -> None:
    router = UniRouteKMeans(n_clusters=[3, 5], smoothing=2.0, random_state=7)
    assert router.n_clusters == [3, 5] and router.smoothing == 2.0 and router.random_state == 7
    assert not router.is_fitted


def test_knn_predicts_mean_error_of_nearest_labelled_prompts() -> None:
    vx, vlab = blobs(10)
    knn = UniRouteKNN(n_neighbors=5)
    knn.add_model("coder", vx, (vlab == 0).astype(float))
    knn.add_model("chatter", vx, (vlab != 0).astype(float))
    qx, qlab = blobs(4, seed=3)
    err = knn.predict_error(qx)
    np.testing.assert_allclose(err[qlab == 0], [[0.0, 1.0]] * 4)
    np.testing.assert_allclose(err[qlab == 1], [[1.0, 0.0]] * 4)
    knn.remove_model("coder")
    assert knn.models == ("chatter",)
    with pytest.raises(UnknownModelError):
        knn.remove_model("coder")


def test_knn_fit_chooses_k_among_candidates() -> None:
    x, lab = blobs(40)
    rng = np.random.default_rng(0)
    # noisy labels: a single neighbour is a coin flip, 25 neighbours average the noise out
    errors = ((lab[:, None] != np.arange(3)[None, :]) ^ (rng.random((len(lab), 3)) < 0.3)).astype(float)
    knn = UniRouteKNN(n_neighbors=[1, 25]).fit(x, errors)
    assert knn.n_neighbors_ == 25
    assert knn.selection_scores[25] > knn.selection_scores[1]


def test_deferral_area_is_mean_quality_over_normalised_cost() -> None:
    # cheapest model 0.5 at cost 1, best 0.9 at cost 3: the straight mix averages 0.7
    assert deferral_area(np.array([1.0, 3.0]), np.array([0.5, 0.9]), 1.0, 3.0) == pytest.approx(0.7)
    # a router reaching 0.9 already at half the budget
    xs, ys = np.array([1.0, 2.0, 3.0]), np.array([0.5, 0.9, 0.9])
    assert deferral_area(xs, ys, 1.0, 3.0) == pytest.approx(0.8)
    # up to half the budget: the mean quality over [0, 0.5] (0.5 rising to 0.9)
    assert deferral_area(xs, ys, 1.0, 3.0, upto=0.5) == pytest.approx(0.7)
    # several points at one cost: the best counts, whatever their order
    assert deferral_area(np.array([1.0, 1.0, 3.0]), np.array([0.9, 0.5, 0.9]), 1.0, 3.0) == \
        pytest.approx(0.9)


def test_auto_smoothing_trusts_clear_clusters_and_pools_noise() -> None:
    x, _ = blobs(30)
    vx, vlab = blobs(40, seed=1)
    router = UniRouteKMeans(n_clusters=3, smoothing="auto", n_clusterings=1).fit(x)
    router.add_model("clear", vx, (vlab == 0).astype(float))  # clusters really differ
    coin = (np.random.default_rng(0).random(len(vx)) < 0.5).astype(float)
    router.add_model("noise", vx, coin)  # clusters do not differ: only sampling noise
    plain = UniRouteKMeans(n_clusters=3, smoothing=0.0, n_clusterings=1).fit(x)
    plain.add_model("noise", vx, coin)
    assert sorted(router.psi("clear").tolist()) == pytest.approx([0.0, 1.0, 1.0], abs=0.02)
    raw, shrunk = plain.psi("noise"), router.psi("noise")
    # pulled towards the overall error (same weighted mean), spread cut by more than half
    assert np.ptp(shrunk) < 0.5 * np.ptp(raw)
    assert np.mean(shrunk) == pytest.approx(np.mean(raw), abs=0.02)
    with pytest.raises(ConfigError, match="smoothing"):
        UniRouteKMeans(n_clusters=3, smoothing=-1.0).fit(x)
    with pytest.raises(ConfigError, match="smoothing"):
        UniRouteKMeans(n_clusters=3, smoothing="yes").fit(x)


def test_cluster_on_train_val_lets_unlabelled_validation_prompts_shape_clusters() -> None:
    x, lab = blobs(30)
    train = lab != 2  # no training prompt in blob 2; the validation prompts are all there
    errors = np.zeros((int(train.sum()), 2))
    vx = blobs(30, seed=1)[0][60:]
    val_errors = np.zeros((len(vx), 2))
    kw = dict(costs=[1.0, 2.0], val_embeddings=vx, val_errors=val_errors)
    only_train = UniRouteKMeans(n_clusters=3).fit(x[train], errors, **kw)
    with_val = UniRouteKMeans(n_clusters=3, cluster_on="train+val").fit(x[train], errors, **kw)
    blob2 = np.eye(DIM)[2]
    assert np.max(with_val.centroids @ blob2) > 0.9  # a centre of the validation prompts
    assert np.max(only_train.centroids @ blob2) < 0.5  # train only: blobs 0 and 1 split in 3
    with pytest.raises(ConfigError, match=r"cluster_on must be 'train' or 'train\+val', got 'val'"):
        UniRouteKMeans(cluster_on="val").fit(x[train], errors, **kw)


def test_default_procedure_is_paper_k_range_averaged_over_ten_clusterings() -> None:
    """Chosen on held-out pseudo splits (benchmarks/select_uniroute.py); n_clusterings=1 = the paper."""
    x, lab = blobs(60)
    errors = (lab[:, None] != np.arange(3)[None, :]).astype(float)
    for n_val, ks in ((100, {3}), (200, {3, 4}), (250, {3, 4, 5})):
        vx, vlab = blobs(n_val // 3 + 1, seed=1)
        vx, vlab = vx[:n_val], vlab[:n_val]
        val_errors = (vlab[:, None] != np.arange(3)[None, :]).astype(float)
        router = UniRouteKMeans().fit(
            x, errors, costs=[1.0, 2.0, 3.0], val_embeddings=vx, val_errors=val_errors
        )
        assert set(router.selection_scores) == ks  # K in 3..max(3, N_val // 50)
        assert len(router.centroids) == 10 * router.n_clusters_  # ten clusterings
    default = UniRouteKMeans()
    assert (default.smoothing, default.n_clusterings) == (0.0, 10)
    # plain per-cluster means (Eq. 13): on clean blobs every clustering finds the same 3 clusters
    vx, vlab = blobs(20, seed=1)
    router = UniRouteKMeans(n_clusters=3).fit(x).add_model("m", vx, (vlab == 0).astype(float))
    assert sorted(router.psi("m").tolist()) == [0.0] * 10 + [1.0] * 20


def test_n_clusterings_averages_the_per_clustering_estimates() -> None:
    """Φ(x)ᵀΨ(h) over B stacked clusterings = the mean of B one-clustering routers (seeds r+b)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, DIM))  # no blob structure: each seed cuts the cloud differently
    vx, qx = rng.normal(size=(60, DIM)), rng.normal(size=(25, DIM))
    scores = (vx[:, 0] > 0).astype(float)
    ensemble = UniRouteKMeans(n_clusters=4, n_clusterings=3, random_state=5).fit(x)
    ensemble.add_model("m", vx, scores)
    singles = [
        UniRouteKMeans(n_clusters=4, n_clusterings=1, random_state=5 + b).fit(x).add_model("m", vx, scores)
        for b in range(3)
    ]
    expected = np.mean([r.predict_error(qx) for r in singles], axis=0)
    np.testing.assert_allclose(ensemble.predict_error(qx), expected)
    assert len({tuple(np.round(r.predict_error(qx)[:, 0], 6)) for r in singles}) > 1  # they differ
    np.testing.assert_allclose(ensemble.psi("m"), np.concatenate([r.psi("m") for r in singles]))
    assert ensemble.centroids.shape == (12, DIM)
    assert ensemble.cluster_counts("m").reshape(3, 4).sum(axis=1).tolist() == [60, 60, 60]
    with pytest.raises(ConfigError, match="n_clusterings must be an int >= 1.*got 0"):
        UniRouteKMeans(n_clusters=4, n_clusterings=0).fit(x)
