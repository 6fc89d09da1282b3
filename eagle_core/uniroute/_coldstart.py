"""What the Eagle engine needs to route a new model at once from its labelled set, and to hand over
to its own ELO ratings as feedback accumulates."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np

from eagle_core._errors import ConfigError, UnknownModelError
from eagle_core.uniroute._checks import _check_name, _matrix, _unit_values
from eagle_core.uniroute._kmeans import UniRouteKMeans

__all__ = ["COLDSTART_CLUSTERINGS", "ColdStartEstimator", "evidence_weight"]

COLDSTART_CLUSTERINGS = 10
"""The same for :class:`ColdStartEstimator` (fixed K, 10 k-means++ restarts per clustering)."""


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
