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

from eagle_core.uniroute._coldstart import COLDSTART_CLUSTERINGS, ColdStartEstimator, evidence_weight
from eagle_core.uniroute._kmeans import N_CLUSTERINGS, UniRouteKMeans
from eagle_core.uniroute._knn import UniRouteKNN

__all__ = [
    "COLDSTART_CLUSTERINGS",
    "N_CLUSTERINGS",
    "ColdStartEstimator",
    "UniRouteKMeans",
    "UniRouteKNN",
    "evidence_weight",
]
