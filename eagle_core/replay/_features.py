"""The PCA projection the linear bandits (LinUCB, ParetoBandit) route on.

ParetoBandit's paper reduces MiniLM to 25 principal components; both linear baselines here use the
same projection, fitted on the dataset's *unlabelled* prompt embeddings (no grade is used, but the
fit sees the whole stream's queries: a small advantage over a deployment, stated in BENCHMARKS.md).
"""

from __future__ import annotations

import numpy as np

__all__ = ["pca_basis"]


def pca_basis(X: np.ndarray, components: int = 25) -> np.ndarray:
    """``(d, components)`` top principal directions of ``X`` (rows = unit embeddings)."""
    centred = np.asarray(X, dtype=np.float64) - X.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return vt[: min(components, vt.shape[0])].T.astype(np.float32)
