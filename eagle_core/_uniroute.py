"""UniRoute (Jitkrittum et al., arXiv 2502.08773): route to LLMs that have no feedback yet.

A model is represented by its *error vector over prompt clusters*, computed from its scores on a
small labelled prompt set; a query is routed by ``argmin_h error(cluster(x), h) + lambda * cost(h)``.
Adding a model is one averaging pass over its labelled prompts: no training, no feedback.

- :class:`UniRouteKMeans`: clusters come from K-means on prompts that have labels of *training*
  models (the paper's section 5.1); K is chosen on validation among the training models (App. F.1).
  Unlike the paper, the estimate is averaged over 10 K-means clusterings (``n_clusterings``, chosen
  on held-out training splits; ``n_clusterings=1`` is the paper's); per-cluster errors may also be
  shrunk towards the model's overall error (``smoothing``).
- :class:`UniRouteKNN`: the K-NN baseline (Eq. 5): a model's error at x is its mean error on the k
  labelled prompts nearest to x.
- :class:`ColdStartEstimator`, :func:`evidence_weight`: what the Eagle engine needs to make a new
  model routable at once and hand over to its own ELO ratings as feedback accumulates.

Embeddings are L2-normalised on the way in (cosine geometry, like Eagle's neighbour search), so
any embedder may be used. scikit-learn is imported lazily (K-means, nearest neighbours).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from eagle_core._errors import ConfigError, InvalidFeedbackError, UnknownModelError

__all__ = [
    "ColdStartEstimator",
    "UniRouteKMeans",
    "UniRouteKNN",
    "deferral_area",
    "deferral_curve",
    "evidence_weight",
    "route",
]

logger = logging.getLogger(__name__)

N_CLUSTERINGS = 10
"""Default number of averaged K-means clusterings (``benchmarks/select_uniroute.py``)."""
COLDSTART_CLUSTERINGS = 10
"""The same for :class:`ColdStartEstimator` (fixed K, 10 k-means++ restarts per clustering)."""

_LAMBDAS = np.concatenate([[0.0], np.logspace(-4, 4, 161), [1e9]])
"""Cost weights swept for a deferral curve, on min-max-normalised costs (errors are in [0, 1])."""


# --------------------------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------------------------
def _matrix(name: str, value: object, *, dim: int | None = None) -> np.ndarray:
    """A finite (n, d) float array with rows L2-normalised, or a ConfigError naming ``name``."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 1 and dim is not None and arr.shape[0] == dim:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise ConfigError(f"{name} must be a non-empty (n, d) array, got shape {arr.shape}")
    if dim is not None and arr.shape[1] != dim:
        raise ConfigError(
            f"{name} must have {dim} columns (the dimension seen in fit), got {arr.shape[1]}"
        )
    if not np.all(np.isfinite(arr)):
        raise ConfigError(f"{name} must be finite (no NaN/inf)")
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    return arr / np.where(norms == 0.0, 1.0, norms)


def _unit_values(name: str, value: object, n: int, *, columns: bool = False) -> np.ndarray:
    """Values in [0, 1]: shape (n,) or, with ``columns``, (n, m); InvalidFeedbackError otherwise."""
    arr = np.asarray(value, dtype=np.float64)
    ok_shape = arr.ndim == 2 and arr.shape[0] == n if columns else arr.shape == (n,)
    if not ok_shape:
        want = f"({n}, n_models)" if columns else f"({n},)"
        raise InvalidFeedbackError(f"{name} must have shape {want}, got {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0.0) or np.any(arr > 1.0):
        raise InvalidFeedbackError(f"{name} must hold finite values in [0, 1]")
    return arr


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise ConfigError(f"model name must be a non-empty string, got {name!r}")
    return name


def _candidates(name: str, value: int | Sequence[int] | None, default: list[int]) -> list[int]:
    values = default if value is None else [value] if isinstance(value, int) else list(value)
    if not values or any(not isinstance(v, int) or isinstance(v, bool) or v < 1 for v in values):
        raise ConfigError(f"{name} must be an int >= 1, a sequence of them, or None; got {value!r}")
    return sorted(set(values))


# --------------------------------------------------------------------------------------------
# routing and the deferral curve (shared by model selection and the unseen-model benchmark)
# --------------------------------------------------------------------------------------------
def route(errors: np.ndarray, costs: np.ndarray, cost_weight: float) -> np.ndarray:
    """Column index chosen per row: ``argmin_h errors[:, h] + cost_weight * costs[h]`` (Eq. 9)."""
    return np.argmin(np.asarray(errors) + cost_weight * np.asarray(costs)[None, :], axis=1)


def _minmax(costs: np.ndarray) -> np.ndarray:
    span = float(np.max(costs) - np.min(costs))
    return (costs - np.min(costs)) / span if span > 0 else np.zeros_like(costs)


def deferral_curve(
    pred_errors: np.ndarray,
    route_costs: np.ndarray,
    quality: np.ndarray,
    cost: np.ndarray,
    lambdas: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(mean cost, mean quality) of routing by ``pred_errors`` at every cost weight, sorted by cost.

    ``route_costs`` (m,) are the per-model costs the router knows (min-max normalised here so one
    lambda grid fits every pool); ``quality`` and ``cost`` (n, m) are what each choice really
    yields on the evaluated prompts.
    """
    lam = _LAMBDAS if lambdas is None else np.asarray(lambdas, dtype=np.float64)
    rc = _minmax(np.asarray(route_costs, dtype=np.float64))
    rows = np.arange(len(pred_errors))
    xs, ys = [], []
    for weight in lam:
        pick = route(pred_errors, rc, float(weight))
        xs.append(cost[rows, pick].mean())
        ys.append(quality[rows, pick].mean())
    order = np.argsort(xs, kind="stable")
    return np.asarray(xs)[order], np.asarray(ys)[order]


def deferral_area(
    xs: np.ndarray, ys: np.ndarray, low: float, high: float, *, upto: float = 1.0
) -> float:
    """Area under quality vs cost on normalised cost [0, upto], not rescaled by ``upto``.

    Cost is min-max normalised by ``(low, high)``, the mean costs of the pool's cheapest and
    costliest model, so the area is the mean reachable quality over the budget range (the
    paper's Area; ``upto=0.5`` gives its Area(50%)). Points are taken in order of cost with the
    quality made non-decreasing (a bigger budget may always be underspent) and joined linearly
    (a random mix of two operating points is always available, which is how ZeroRouter is
    defined too); the curve is flat before the first and after the last point.
    """
    span = high - low
    x = np.zeros(len(xs)) if span <= 0 else (np.asarray(xs, dtype=np.float64) - low) / span
    order = np.argsort(x, kind="stable")
    x = np.clip(x[order], 0.0, 1.0)
    y = np.maximum.accumulate(np.asarray(ys, dtype=np.float64)[order])
    last = np.r_[x[1:] != x[:-1], True]  # one point per cost: the best (last after the max)
    x, y = x[last], y[last]
    grid = np.linspace(0.0, upto, 2001)
    return float(np.trapezoid(np.interp(grid, x, y), grid))


def _selection_area(
    pred_errors: np.ndarray, errors: np.ndarray, costs: np.ndarray | None
) -> float:
    """Model-selection criterion on validation: deferral area, or -Brier score without costs."""
    if costs is None:
        return -float(np.mean((pred_errors - errors) ** 2))
    quality = 1.0 - errors
    per_prompt = np.broadcast_to(costs[None, :], errors.shape)
    xs, ys = deferral_curve(pred_errors, costs, quality, per_prompt)
    return deferral_area(xs, ys, float(np.min(costs)), float(np.max(costs)))


def _validation_split(
    x: np.ndarray,
    e: np.ndarray,
    val_x: np.ndarray | None,
    val_e: np.ndarray | None,
    fraction: float,
    seed: int | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The caller's validation set, or one carved from the training prompts (never the test set)."""
    if val_x is not None:
        if val_e is None:
            raise ConfigError("val_errors is required when val_embeddings is given")
        val_x = _matrix("val_embeddings", val_x, dim=x.shape[1])
        val_e = _unit_values("val_errors", val_e, len(val_x), columns=True)
        if val_e.shape[1] != e.shape[1]:
            raise ConfigError(
                f"val_errors must have {e.shape[1]} columns (one per training model), "
                f"got {val_e.shape[1]}"
            )
        return x, e, val_x, val_e
    if not 0.0 < fraction < 1.0:
        raise ConfigError(f"val_fraction must be in (0, 1), got {fraction!r}")
    perm = np.random.default_rng(seed).permutation(len(x))
    cut = max(1, int(round(fraction * len(x))))
    if cut >= len(x):
        raise ConfigError(f"need at least 2 training prompts to carve a validation split, got {len(x)}")
    return x[perm[cut:]], e[perm[cut:]], x[perm[:cut]], e[perm[:cut]]


# --------------------------------------------------------------------------------------------
# UniRoute (K-means)
# --------------------------------------------------------------------------------------------
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


def _check_smoothing(value: object) -> None:
    ok = value == "auto" or (
        isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < math.inf
    )
    if not ok:
        raise ConfigError(f"smoothing must be a finite number >= 0 or 'auto', got {value!r}")


def _costs(costs: object, m: int) -> np.ndarray:
    c = np.asarray(costs, dtype=np.float64)
    if c.shape != (m,) or not np.all(np.isfinite(c)) or np.any(c < 0):
        raise ConfigError(f"costs must be {m} finite values >= 0 (one per model), got {costs!r}")
    return c


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


# --------------------------------------------------------------------------------------------
# K-NN baseline
# --------------------------------------------------------------------------------------------
class UniRouteKNN:
    """K-NN routing of unseen models (paper Eq. 5): mean error of the k nearest labelled prompts.

    Parameters
    ----------
    n_neighbors:
        k, or candidates chosen on validation in :meth:`fit`; None = the paper's range 5..N_val/3
        (8 log-spaced values). Without :meth:`fit`, an int is required.
    val_fraction, random_state:
        As in :class:`UniRouteKMeans`.
    """

    def __init__(
        self,
        n_neighbors: int | Sequence[int] | None = None,
        *,
        val_fraction: float = 0.2,
        random_state: int | None = 0,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.val_fraction = val_fraction
        self.random_state = random_state
        self._k: int | None = None
        self._scores: dict[int, float] = {}
        self._data: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    @property
    def n_neighbors_(self) -> int:
        """The k in use."""
        if self._k is not None:
            return self._k
        if isinstance(self.n_neighbors, int) and not isinstance(self.n_neighbors, bool):
            return _candidates("n_neighbors", self.n_neighbors, [])[0]
        raise ConfigError("n_neighbors is not chosen yet: call fit(...) or pass an int")

    @property
    def selection_scores(self) -> dict[int, float]:
        return dict(self._scores)

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(self._data)

    def fit(
        self,
        embeddings: object,
        errors: object,
        *,
        costs: object | None = None,
        val_embeddings: object | None = None,
        val_errors: object | None = None,
    ) -> UniRouteKNN:
        """Choose k: neighbours are searched among the training prompts while tuning (App. F.1)."""
        x = _matrix("embeddings", embeddings)
        e = _unit_values("errors", errors, len(x), columns=True)
        c = None if costs is None else _costs(costs, e.shape[1])
        tr_x, tr_e, va_x, va_e = _validation_split(
            x, e, val_embeddings, val_errors, self.val_fraction, self.random_state
        )
        top = max(5, len(va_x) // 3)
        default = sorted({int(round(v)) for v in np.geomspace(5, top, 8)})
        cands = [k for k in _candidates("n_neighbors", self.n_neighbors, default) if k <= len(tr_x)]
        if not cands:
            raise ConfigError(f"n_neighbors must be <= the {len(tr_x)} training prompts")
        order = _neighbours(va_x, tr_x, max(cands))
        self._scores = {
            k: _selection_area(tr_e[order[:, :k]].mean(axis=1), va_e, c) for k in cands
        }
        self._k = max(cands, key=lambda k: (self._scores[k], -k))
        self._data = {}
        return self

    def add_model(self, name: str, embeddings: object, scores: object) -> UniRouteKNN:
        name = _check_name(name)
        dim = next(iter(self._data.values()))[0].shape[1] if self._data else None
        x = _matrix("embeddings", embeddings, dim=dim)
        s = _unit_values("scores", scores, len(x))
        self._data[name] = (x, 1.0 - s)
        return self

    def remove_model(self, name: str) -> None:
        if name not in self._data:
            raise UnknownModelError(f"unknown model {name!r}; added models: {sorted(self._data)}")
        del self._data[name]

    def predict_error(self, embeddings: object) -> np.ndarray:
        if not self._data:
            raise ConfigError("no model added yet: call add_model(name, embeddings, scores) first")
        dim = next(iter(self._data.values()))[0].shape[1]
        q = _matrix("embeddings", embeddings, dim=dim)
        k = self.n_neighbors_
        cols = []
        for x, err in self._data.values():
            cols.append(err[_neighbours(q, x, min(k, len(x)))].mean(axis=1))
        return np.stack(cols, axis=1)

    def predict_quality(self, embeddings: object) -> np.ndarray:
        return 1.0 - self.predict_error(embeddings)


def _neighbours(query: np.ndarray, base: np.ndarray, k: int) -> np.ndarray:
    """Indices (n, k) of the k most cosine-similar rows of ``base`` (rows are unit vectors)."""
    sims = query @ base.T
    k = min(k, base.shape[0])
    part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(sims, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


# --------------------------------------------------------------------------------------------
# engine integration: cold start + evidence blend
# --------------------------------------------------------------------------------------------
def evidence_weight(n: float, prior_evidence: float) -> float:
    """Weight of the engine's own ratings after ``n`` feedback events: ``n / (n + prior_evidence)``.

    ``prior_evidence`` is how many comparisons UniRoute's estimate is worth: at ``n ==
    prior_evidence`` both count equally; 0 means feedback wins at once.
    """
    if not (n >= 0 and math.isfinite(n)):
        raise ConfigError(f"n (feedback count) must be a finite number >= 0, got {n!r}")
    if not (prior_evidence >= 0 and math.isfinite(prior_evidence)):
        raise ConfigError(f"prior_evidence must be a finite number >= 0, got {prior_evidence!r}")
    total = n + prior_evidence
    return 1.0 if total == 0 else n / total


_MAX_LOGIT = 3.0  # caps a prior at +-1200 ELO points (expected score 0.001 / 0.999)


class ColdStartEstimator:
    """UniRoute prior ratings for models with little or no feedback, blended into Eagle's ratings.

    The engine clusters its stored prompts (:meth:`fit`), registers every model whose per-prompt
    scores it knows (:meth:`add_model`: the new model's labelled set; existing models' scored
    prompts, which *anchor* the prior's level) and at route time calls :meth:`blend_ratings`.

    Why ratings: Eagle's cost rule works on normalised ratings, and the expected ELO score of A
    against B when both answer with per-prompt scores (equal scores = draw) is
    ``0.5 + 0.5 * (q_A - q_B)``. UniRoute's predicted qualities therefore translate into a rating
    ``R_B + 400 * log10(E / (1 - E))`` against every anchor model B, averaged over anchors. With no
    anchor, the prior sits at the other models' mean rating, shifted by how much better the model is
    on this query's cluster than on its own average (so it is still preferred where it is strong).

    Parameters
    ----------
    n_clusters:
        K for the engine's prompts; None = ``max(3, n_labelled // 50)`` (the paper's K <= N_val/50,
        at least 3), ``n_labelled`` being the largest labelled set registered so far; always capped
        by the number of prompts clustered. The engine has no training models' errors to choose K
        on validation, so K is a fixed rule: among max(3, N/50), N/25, N/10 and N/5, each with 1,
        5 or 10 clusterings, max(3, N/50) with 10 had the best pseudo-test area in
        ``benchmarks/select_uniroute.py``.
    smoothing:
        Pseudo-count shrinking small clusters towards the model's overall error; ``"auto"``
        (default) estimates it per model by empirical Bayes, as labelled sets in production are
        small; 0 is the paper's plain per-cluster mean.
    n_clusterings:
        How many K-means clusterings (each the best of 10 k-means++ restarts) are averaged, as in
        :class:`UniRouteKMeans`; 10 by default (the selection above).
    prior_evidence:
        How many feedback events UniRoute's estimate is worth (:func:`evidence_weight`).
    """

    def __init__(
        self,
        n_clusters: int | None = None,
        *,
        smoothing: float | str = "auto",
        n_clusterings: int = COLDSTART_CLUSTERINGS,
        prior_evidence: float = 20.0,
        random_state: int | None = 0,
    ) -> None:
        self.n_clusters = n_clusters
        self.smoothing = smoothing
        self.n_clusterings = n_clusterings
        self.prior_evidence = prior_evidence
        self.random_state = random_state
        self._router: UniRouteKMeans | None = None
        self._labelled: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(self._labelled)

    @property
    def is_fitted(self) -> bool:
        return self._router is not None

    def fit(self, embeddings: object) -> ColdStartEstimator:
        """Cluster the engine's prompts (stored queries plus labelled prompts); keeps added models.

        Call again when the store has grown a lot (e.g. doubled); models are re-represented on the
        new clusters from their kept labelled data.
        """
        x = _matrix("embeddings", embeddings)
        k = self.n_clusters
        if k is None:
            largest = max((len(v[0]) for v in self._labelled.values()), default=len(x))
            k = max(3, largest // 50)
        k = max(1, min(int(k), len(x)))
        # several k-means++ restarts: the engine's prompt sets are small, so this is cheap and
        # avoids a poor local optimum that would mix topics
        router = UniRouteKMeans(
            k,
            smoothing=self.smoothing,
            n_clusterings=self.n_clusterings,
            random_state=self.random_state,
            n_init=10,
        )
        router.fit(x)
        for name, (lx, ls) in self._labelled.items():
            router.add_model(name, lx, ls)
        self._router = router
        return self

    def add_model(self, name: str, embeddings: object, scores: object) -> ColdStartEstimator:
        """Register a model's scores in [0, 1] on labelled prompts; fits on them if not fitted."""
        name = _check_name(name)
        x = _matrix("embeddings", embeddings)
        s = _unit_values("scores", scores, len(x))
        if self._router is None:
            self.fit(x)  # nothing stored yet: cluster this model's labelled prompts
        assert self._router is not None
        self._router.add_model(name, x, s)  # validates the dimension before we store anything
        self._labelled[name] = (x, s)
        return self

    def remove_model(self, name: str) -> None:
        if name not in self._labelled:
            raise UnknownModelError(f"unknown model {name!r}; known: {sorted(self._labelled)}")
        del self._labelled[name]
        if self._router is not None:
            self._router.remove_model(name)

    def predict_quality(self, embedding: object) -> dict[str, float]:
        """Predicted score in [0, 1] of every registered model for one query embedding (d,)."""
        if self._router is None or not self._labelled:
            return {}
        q = self._router.predict_quality(np.asarray(embedding, dtype=np.float64).reshape(1, -1))
        return dict(zip(self._router.models, q[0].tolist(), strict=True))

    def prior_ratings(
        self, embedding: object, ratings: Mapping[str, float], targets: Iterable[str] | None = None
    ) -> dict[str, float]:
        """UniRoute's rating for each target model (default: registered models in ``ratings``).

        ``ratings`` are the engine's current (combined) ratings for this query, all candidates.
        """
        quality = self.predict_quality(embedding)
        names = [t for t in (quality if targets is None else targets) if t in ratings]
        out: dict[str, float] = {}
        for name in names:
            if name not in quality:
                raise UnknownModelError(f"model {name!r} has no labelled scores in the estimator")
            anchors = [o for o in ratings if o != name and o in quality]
            if anchors:
                vals = [ratings[o] + _rating_gap(quality[name], quality[o]) for o in anchors]
            else:
                others = [r for o, r in ratings.items() if o != name]
                base = float(np.mean(others)) if others else float(ratings[name])
                own = float(np.mean(self._labelled[name][1]))
                vals = [base + _rating_gap(quality[name], own)]
            out[name] = float(np.mean(vals))
        return out

    def blend_ratings(
        self, embedding: object, ratings: Mapping[str, float], evidence: Mapping[str, float]
    ) -> dict[str, float]:
        """``ratings`` with every registered model's rating blended with its UniRoute prior.

        ``evidence[m]`` = feedback events (comparisons) the engine holds for m; the result for a
        registered m is ``w * ratings[m] + (1 - w) * prior[m]`` with ``w = evidence_weight(n,
        prior_evidence)`` (a model missing from ``evidence`` counts as n = 0). Unregistered models
        pass through unchanged. Normalise the result as usual (any normalisation works).
        """
        priors = self.prior_ratings(embedding, ratings)
        out = dict(ratings)
        for name, prior in priors.items():
            w = evidence_weight(float(evidence.get(name, 0.0)), self.prior_evidence)
            out[name] = w * float(ratings[name]) + (1.0 - w) * prior
        return out


def _rating_gap(q_a: float, q_b: float) -> float:
    """ELO points of A over B implied by expected score ``0.5 + 0.5 * (q_a - q_b)``."""
    e = 0.5 + 0.5 * (q_a - q_b)
    logit = np.clip(np.log10(max(e, 1e-12) / max(1.0 - e, 1e-12)), -_MAX_LOGIT, _MAX_LOGIT)
    return 400.0 * float(logit)
