"""UniRoute with K-means prompt clusters (arXiv 2502.08773, section 5.1): a model is its vector of
per-cluster errors on a small labelled set; K is chosen on validation among the training models."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np

from eagle_core._errors import ConfigError, UnknownModelError
from eagle_core.uniroute._checks import (
    _candidates,
    _check_name,
    _check_smoothing,
    _costs,
    _matrix,
    _unit_values,
    _validation_split,
)

__all__ = ["N_CLUSTERINGS", "UniRouteKMeans"]

logger = logging.getLogger(__name__)

N_CLUSTERINGS = 10
"""Default number of averaged K-means clusterings (``benchmarks/select_uniroute.py``)."""


class UniRouteKMeans:
    """UniRoute with K-means prompt clusters (paper section 5.1).

    Parameters
    ----------
    n_clusters:
        K, or candidates for K chosen on validation in :meth:`fit`; None = the paper's range
        3..max(3, N_val // 50), N_val being the validation size (per-cluster errors from fewer than
        ~50 labelled prompts are too noisy to help).
    smoothing:
        Pseudo-count pulling each cluster's error towards the model's overall error:
        ``(sum of errors in k + smoothing * overall) / (n_k + smoothing)``. 0 (default) is the
        paper's plain per-cluster mean (Eq. 13); ``"auto"`` estimates it per model by empirical
        Bayes (within-cluster noise over between-cluster spread). Whatever its value, an *empty*
        cluster gets the model's overall labelled error (the paper leaves empty clusters open).
    cluster_on:
        ``"train"`` (default, the paper): K-means on the training prompts only; ``"train+val"``
        also clusters the validation prompts' embeddings (their labels are still only used to
        score K).
    n_clusterings:
        How many K-means clusterings (seeds ``random_state + b``) are averaged. Still UniRoute's
        ``error(x, h) = Φ(x)ᵀΨ(h)``: Φ(x) stacks x's one-hot cluster membership in each clustering
        (scaled by 1/B) and Ψ(h) the per-cluster errors of each, so the estimate is the mean over
        clusterings. One K-means run on a few hundred prompts puts its boundaries somewhere
        arbitrary; averaging B of them gives a smoother, lower-variance estimate at the same K.
        ``UniRouteKMeans(n_clusterings=1)`` is the paper's procedure.

    Why these defaults: ``benchmarks/select_uniroute.py`` compared procedures on pseudo splits
    of the training side of the unseen-model protocol (seen models and non-test prompts only, on
    RouterBench and arena_bench), with the rule fixed before each run (best mean pseudo-test area
    over both datasets). The paper's K range averaged over 10 clusterings without smoothing won:
    a clear gain on arena_bench (275 prompts, where one 3-means partition is arbitrary), level on
    RouterBench (whose three sub-datasets every seed separates alike). Wider K ranges (1..N_val/10,
    1..N_val/5), empirical-Bayes smoothing, 5 or 20 clusterings, or clusters on train+val were
    worse. See docs/BENCHMARKS.md.
    val_fraction:
        Share of the training prompts carved out for choosing K when :meth:`fit` gets no validation
        set.
    random_state, n_init:
        Passed to :class:`sklearn.cluster.KMeans` (n_init=1 is its default with k-means++
        seeding); ``random_state`` also seeds the validation carve.
    """

    def __init__(
        self,
        n_clusters: int | Sequence[int] | None = None,
        *,
        smoothing: float | str = 0.0,
        cluster_on: str = "train",
        n_clusterings: int = N_CLUSTERINGS,
        val_fraction: float = 0.2,
        random_state: int | None = 0,
        n_init: int = 1,
    ) -> None:
        self.n_clusters = n_clusters
        self.smoothing = smoothing
        self.cluster_on = cluster_on
        self.n_clusterings = n_clusterings
        self.val_fraction = val_fraction
        self.random_state = random_state
        self.n_init = n_init
        self._kms: list | None = None
        self._scores: dict[int, float] = {}
        self._psi: dict[str, np.ndarray] = {}
        self._counts: dict[str, np.ndarray] = {}

    # -- read-only learned state ----------------------------------------------------------------
    @property
    def is_fitted(self) -> bool:
        return self._kms is not None

    @property
    def n_clusters_(self) -> int:
        """The K in use (chosen on validation when several candidates were given)."""
        return int(self._fitted()[0].n_clusters)

    @property
    def centroids(self) -> np.ndarray:
        """(B*K, d) cluster centres of the B clusterings, stacked (clustering b at rows b*K...)."""
        return np.vstack([km.cluster_centers_ for km in self._fitted()])

    @property
    def selection_scores(self) -> dict[int, float]:
        """Validation criterion per candidate K (deferral area, or -Brier without costs)."""
        return dict(self._scores)

    @property
    def models(self) -> tuple[str, ...]:
        """Models added with :meth:`add_model`, in order: the columns of :meth:`predict_error`."""
        return tuple(self._psi)

    def psi(self, name: str) -> np.ndarray:
        """Ψ(h): the model's per-cluster errors (B*K,), in the order of :attr:`centroids`."""
        return self._get(self._psi, name).ravel()

    def cluster_counts(self, name: str) -> np.ndarray:
        """How many of the model's labelled prompts fell in each cluster (0 = empty, fell back),
        in the order of :attr:`centroids`."""
        return self._get(self._counts, name).ravel()

    # -- learning -------------------------------------------------------------------------------
    def fit(
        self,
        embeddings: object,
        errors: object | None = None,
        *,
        costs: object | None = None,
        val_embeddings: object | None = None,
        val_errors: object | None = None,
    ) -> UniRouteKMeans:
        """Learn the clusters from training prompts; choose K among the candidates.

        ``errors`` (n, m) are the *training* models' errors (1 - score) on those prompts; they are
        only needed to choose K. Following App. F.1, each training model's Ψ is computed on the
        training prompts and the validation prompts are routed among the training models; the K
        with the largest deferral area wins (with ``costs`` (m,) of the training models), else the
        K with the lowest Brier score of the predicted errors. Models already added keep their
        labelled data only if re-added: refitting clears them.
        """
        _check_smoothing(self.smoothing)
        if self.cluster_on not in ("train", "train+val"):
            raise ConfigError(f"cluster_on must be 'train' or 'train+val', got {self.cluster_on!r}")
        _candidates("n_clusterings", self.n_clusterings, [])
        x = _matrix("embeddings", embeddings)
        if errors is None:
            cands = _candidates("n_clusters", self.n_clusters, [max(3, len(x) // 50)])
            if len(cands) > 1:
                raise ConfigError(
                    "errors (training models' errors) are required to choose n_clusters among "
                    f"{cands}; pass errors or a single int"
                )
            self._install(self._clusterings(x, cands[0]), {})
            return self
        e = _unit_values("errors", errors, len(x), columns=True)
        c = None if costs is None else _costs(costs, e.shape[1])
        tr_x, tr_e, va_x, va_e = _validation_split(
            x, e, val_embeddings, val_errors, self.val_fraction, self.random_state
        )
        # the validation prompts' embeddings (not their labels) may shape the clusters
        cl_x = np.vstack([tr_x, va_x]) if self.cluster_on == "train+val" else tr_x
        default = list(range(3, max(3, len(va_x) // 50) + 1))
        cands = [k for k in _candidates("n_clusters", self.n_clusters, default) if k <= len(cl_x)]
        if not cands:
            raise ConfigError(f"n_clusters must be <= the {len(cl_x)} prompts clustered")
        scores: dict[int, float] = {}
        fitted = {}
        for k in cands:
            kms = self._clusterings(cl_x, k)
            labels = _labels(kms, tr_x)
            tables = [_cluster_errors(lab, tr_e, k, self.smoothing)[0] for lab in labels.T]
            scores[k] = _selection_area(_average(_labels(kms, va_x), tables), va_e, c)
            fitted[k] = kms
        best = max(cands, key=lambda k: (scores[k], -k))
        kms = fitted[best]
        if len(cl_x) < len(x):  # the carve was for choosing K only: refit on every prompt
            kms = self._clusterings(x, best)
        logger.debug("UniRouteKMeans chose K=%d from %s", best, scores)
        self._install(kms, scores)
        return self

    def add_model(self, name: str, embeddings: object, scores: object) -> UniRouteKMeans:
        """Represent a model by its labelled scores (Eq. 13); replaces an earlier entry."""
        kms = self._fitted()
        _check_smoothing(self.smoothing)
        name = _check_name(name)
        x = _matrix("embeddings", embeddings, dim=kms[0].cluster_centers_.shape[1])
        s = _unit_values("scores", scores, len(x))
        k = kms[0].n_clusters
        per = [_cluster_errors(lab, 1.0 - s[:, None], k, self.smoothing) for lab in _labels(kms, x).T]
        self._psi[name] = np.stack([psi[:, 0] for psi, _ in per])  # (B, K)
        self._counts[name] = np.stack([counts for _, counts in per])
        empty = int((self._counts[name] == 0).sum())
        if empty:
            logger.debug("%s: %d empty cluster(s) use its overall error", name, empty)
        return self

    def remove_model(self, name: str) -> None:
        self._get(self._psi, name)
        del self._psi[name], self._counts[name]

    # -- prediction -----------------------------------------------------------------------------
    def predict_error(self, embeddings: object) -> np.ndarray:
        """(n, n_models) expected error of every added model at each prompt, columns = ``models``."""
        kms = self._fitted()
        if not self._psi:
            raise ConfigError("no model added yet: call add_model(name, embeddings, scores) first")
        x = _matrix("embeddings", embeddings, dim=kms[0].cluster_centers_.shape[1])
        table = np.stack(list(self._psi.values()), axis=2)  # (B, K, n_models)
        return _average(_labels(kms, x), list(table))

    def predict_quality(self, embeddings: object) -> np.ndarray:
        """1 - :meth:`predict_error`: expected score in [0, 1]."""
        return 1.0 - self.predict_error(embeddings)

    # -- helpers --------------------------------------------------------------------------------
    def _clusterings(self, x: np.ndarray, k: int) -> list:
        """The B K-means fits of one K, seeded ``random_state + b`` (all random when None)."""
        if k > len(x):
            raise ConfigError(f"n_clusters must be <= the number of prompts ({len(x)}), got {k}")
        seed = self.random_state
        return [
            self._kmeans(x, k, None if seed is None else seed + b) for b in range(self.n_clusterings)
        ]

    def _kmeans(self, x: np.ndarray, k: int, random_state: int | None):
        from sklearn.cluster import KMeans

        return KMeans(n_clusters=k, n_init=self.n_init, random_state=random_state).fit(x)

    def _install(self, kms: list, scores: dict[int, float]) -> None:
        self._kms = kms
        self._scores = scores
        self._psi = {}
        self._counts = {}

    def _fitted(self) -> list:
        if self._kms is None:
            raise ConfigError("UniRouteKMeans is not fitted: call fit(embeddings, errors) first")
        return self._kms

    @staticmethod
    def _get(table: Mapping[str, np.ndarray], name: str) -> np.ndarray:
        if name not in table:
            raise UnknownModelError(f"unknown model {name!r}; added models: {sorted(table)}")
        return table[name]


def _labels(kms: list, x: np.ndarray) -> np.ndarray:
    """(n, B): x's nearest centre in each clustering, by one matrix product over all of them
    (what ``KMeans.predict`` computes, without its per-call overhead, which dominated a single
    route's cost with ten clusterings)."""
    centres = np.stack([km.cluster_centers_ for km in kms])  # (B, K, d)
    dist = (centres**2).sum(axis=2)[None] - 2.0 * np.einsum("nd,bkd->nbk", x, centres)
    return dist.argmin(axis=2)


def _average(labels: np.ndarray, tables: list[np.ndarray]) -> np.ndarray:
    """Φ(x)ᵀΨ: the mean over clusterings b of ``tables[b]`` (K, m) at ``labels[:, b]``."""
    return np.mean([table[labels[:, b]] for b, table in enumerate(tables)], axis=0)


def _cluster_errors(
    labels: np.ndarray, errors: np.ndarray, k: int, smoothing: float | str
) -> tuple[np.ndarray, np.ndarray]:
    """Per-cluster mean error (K, m) shrunk towards each model's overall error, and counts (K,).

    Empty clusters get the overall error whatever ``smoothing`` is.
    """
    counts = np.bincount(labels, minlength=k).astype(np.float64)
    sums = np.zeros((k, errors.shape[1]))
    np.add.at(sums, labels, errors)
    overall = errors.mean(axis=0)[None, :]
    if smoothing == "auto":
        alpha = _empirical_bayes_strength(labels, errors, counts, sums)[None, :]
    else:
        alpha = np.full((1, errors.shape[1]), float(smoothing))
    with np.errstate(invalid="ignore", divide="ignore"):
        psi = (sums + alpha * overall) / (counts[:, None] + alpha)
    psi = np.where(counts[:, None] > 0, psi, overall)
    return psi, counts.astype(int)


def _empirical_bayes_strength(
    labels: np.ndarray, errors: np.ndarray, counts: np.ndarray, sums: np.ndarray
) -> np.ndarray:
    """Pseudo-count per model: within-cluster noise / between-cluster spread (method of moments).

    A cluster mean over n_k prompts has sampling variance sigma^2 / n_k; the true cluster errors
    spread with variance tau^2 = observed spread - mean sampling variance. The posterior mean of
    a normal-normal model is the shrinkage ``(sum + a * overall) / (n_k + a)`` with
    ``a = sigma^2 / tau^2``: no shrinkage when clusters differ clearly, full when they do not.
    """
    used = counts > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts[:, None]
    resid = errors - means[labels]
    dof = max(1.0, len(labels) - float(used.sum()))
    sigma2 = (resid**2).sum(axis=0) / dof  # pooled within-cluster variance (m,)
    w = counts[used] / counts[used].sum()
    grand = (w[:, None] * means[used]).sum(axis=0)
    spread = (w[:, None] * (means[used] - grand) ** 2).sum(axis=0)
    noise = sigma2 * (w / counts[used]).sum()
    tau2 = spread - noise
    return np.where(tau2 > 1e-12, sigma2 / np.maximum(tau2, 1e-12), 1e6)


def _selection_area(
    pred_errors: np.ndarray, errors: np.ndarray, costs: np.ndarray | None
) -> float:
    """Model-selection criterion on validation: deferral area, or -Brier score without costs."""
    from eagle_core.evaluation._metrics import deferral_area, deferral_curve

    if costs is None:
        return -float(np.mean((pred_errors - errors) ** 2))
    quality = 1.0 - errors
    per_prompt = np.broadcast_to(costs[None, :], errors.shape)
    xs, ys = deferral_curve(pred_errors, costs, quality, per_prompt)
    return deferral_area(xs, ys, float(np.min(costs)), float(np.max(costs)))

