"""A vectorised numpy re-statement of the Eagle engine's maths, for fast hyper-parameter search.

It mirrors :class:`eagle_core.EagleConfig` (p, n_neighbors, k, global_k, initial_rating,
draw_score, normalization, local_order) and the engine's pair construction from scores (all
unordered pairs of a prompt, in model order; equal scores are draws). It exists only so the
validation search can try hundreds of configurations in seconds; the benchmark's ``eagle`` and
``eagle_paper`` routers use the real engine (:mod:`._eagle_engine`) whenever it is importable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from eagle_core.evaluation._baselines import Router

__all__ = ["EagleParams", "NumpyEagleRouter", "score_pairs"]


@dataclass(frozen=True)
class EagleParams:
    """The hyper-parameters the search explores (names as in EagleConfig)."""

    p: float = 0.5
    n_neighbors: int = 20
    k: float = 32.0
    global_k: float | None = 32.0
    initial_rating: float = 1500.0
    draw_score: float | None = 0.5
    normalization: str = "minmax"
    local_order: str = "nearest_first"

    @property
    def effective_global_k(self) -> float:
        return self.k if self.global_k is None else self.global_k


def score_pairs(scores: np.ndarray, draw_score: float | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Matches from per-prompt scores: model index arrays a, b (P,) and S (n, P) for a.

    S is NaN for a dropped draw (``draw_score=None``) or a missing score.
    """
    m = scores.shape[1]
    a, b = np.triu_indices(m, 1)
    sa, sb = scores[:, a], scores[:, b]
    s = np.where(sa > sb, 1.0, np.where(sa < sb, 0.0, np.nan if draw_score is None else draw_score))
    s = np.where(np.isnan(sa) | np.isnan(sb), np.nan, s)
    return a, b, s


def _elo_pass(ratings: np.ndarray, a: np.ndarray, b: np.ndarray, s: np.ndarray, k: float) -> None:
    """Sequential ELO over rows of s (each row: the pairs of one prompt), in place, 1-D ratings."""
    r = ratings.tolist()
    for row in s.tolist():
        for ai, bi, si in zip(a.tolist(), b.tolist(), row, strict=True):
            if si != si:  # NaN: dropped draw
                continue
            d = k * (si - 1.0 / (1.0 + 10.0 ** ((r[bi] - r[ai]) / 400.0)))
            r[ai] += d
            r[bi] -= d
    ratings[:] = r


def normalise(combined: np.ndarray, method: str) -> np.ndarray:
    """Rows of ratings -> q in [0, 1] (same definitions as eagle_core._elo.normalize)."""
    m = combined.shape[1]
    if m == 1:
        return np.ones_like(combined)
    if method == "winprob":
        diff = combined[:, None, :] - combined[:, :, None]  # [i, j, l] = R_l - R_j
        e = 1.0 / (1.0 + 10.0 ** (diff / 400.0))  # expected score of j against l
        return (e.sum(axis=2) - 0.5) / (m - 1)
    low = combined.min(axis=1, keepdims=True)
    high = combined.max(axis=1, keepdims=True)
    if method == "minmax":
        span = high - low
        return np.where(span > 0, (combined - low) / np.where(span > 0, span, 1.0), 1.0)
    if method == "max":
        return np.clip(combined / high, 0.0, None)
    raise ValueError(f"normalization must be 'winprob', 'minmax' or 'max', got {method!r}")


class NumpyEagleRouter(Router):
    """Eagle (global ELO + local replay of the N nearest training prompts) in numpy."""

    name = "eagle_numpy"
    incremental = True

    def __init__(self, params: EagleParams | None = None, name: str | None = None) -> None:
        self.params = params if params is not None else EagleParams()
        if name:
            self.name = name

    def fit(self, X: np.ndarray, scores: np.ndarray, prompts: list[str]) -> NumpyEagleRouter:
        m = scores.shape[1]
        self._global = np.full(m, float(self.params.initial_rating))
        self._X = np.zeros((0, X.shape[1]), dtype=np.float32)
        self._s = None
        return self.partial_fit(X, scores, prompts)

    def partial_fit(self, X: np.ndarray, scores: np.ndarray, prompts: list[str]) -> NumpyEagleRouter:
        """Append new feedback: incremental global ELO on the new pairs only."""
        a, b, s = score_pairs(scores, self.params.draw_score)
        self._a, self._b = a, b
        _elo_pass(self._global, a, b, s, self.params.effective_global_k)
        self._X = np.vstack([self._X, X.astype(np.float32)])
        self._s = s if self._s is None else np.vstack([self._s, s])
        return self

    @property
    def global_ratings(self) -> np.ndarray:
        return self._global.copy()

    def local_ratings(self, X: np.ndarray) -> np.ndarray:
        prm = self.params
        n_nb = min(prm.n_neighbors, len(self._X))
        local = np.tile(self._global, (len(X), 1))
        if n_nb == 0:
            return local
        sims = X.astype(np.float32) @ self._X.T
        nb = np.argpartition(-sims, n_nb - 1, axis=1)[:, :n_nb]
        order = np.argsort(-np.take_along_axis(sims, nb, axis=1), axis=1, kind="stable")
        nb = np.take_along_axis(nb, order, axis=1)  # nearest first
        if prm.local_order == "farthest_first":
            nb = nb[:, ::-1]
        rows = np.arange(len(X))
        for r in range(n_nb):
            s = self._s[nb[:, r]]  # (n, P)
            for j, (ai, bi) in enumerate(zip(self._a, self._b, strict=True)):
                sj = s[:, j]
                ok = ~np.isnan(sj)
                e = 1.0 / (1.0 + 10.0 ** ((local[rows, bi] - local[rows, ai]) / 400.0))
                d = np.where(ok, prm.k * (np.nan_to_num(sj) - e), 0.0)
                local[:, ai] += d
                local[:, bi] -= d
        return local

    def combined(self, X: np.ndarray) -> np.ndarray:
        p = self.params.p
        if p >= 1.0:
            return np.tile(self._global, (len(X), 1))
        return p * self._global[None, :] + (1 - p) * self.local_ratings(X)

    def predict(self, X: np.ndarray, prompts: list[str]) -> np.ndarray:
        return normalise(self.combined(X), self.params.normalization)
