"""RouterBench's predictive baselines (scikit-learn, on the same embeddings) and reference routers.

Every router maps prompts to q (n_prompts, n_models), a predicted quality in [0, 1], and the
protocol turns q into choices with the λ rule. ``fit`` always retrains from scratch.
"""

from __future__ import annotations

import warnings

import numpy as np

__all__ = [
    "KNNRouter",
    "LinearSVRRouter",
    "MLPRouter",
    "OracleRouter",
    "RandomRouter",
    "Router",
    "SingleRouter",
]


class Router:
    """Base: ``fit(X, scores, prompts)`` then ``predict(X, prompts) -> q``.

    ``X`` are the prompts' embeddings, ``scores`` the (n, m) training scores (no NaN).
    """

    name = "router"
    incremental = False
    repeatable_timing = True
    """Whether the online simulation may time a step as the median of runs on deep copies."""

    def fit(self, X: np.ndarray, scores: np.ndarray, prompts: list[str]) -> Router:
        raise NotImplementedError

    def predict(self, X: np.ndarray, prompts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def fixed_choices(self, n: int) -> np.ndarray | None:
        """Choices that ignore λ (the random router); None for q-based routers."""
        return None


class KNNRouter(Router):
    """RouterBench's KNN: mean score of the ``n_neighbors`` nearest training prompts (cosine)."""

    name = "knn40"

    def __init__(self, n_neighbors: int = 40) -> None:
        self.n_neighbors = n_neighbors

    def fit(self, X: np.ndarray, scores: np.ndarray, prompts: list[str]) -> KNNRouter:
        from sklearn.neighbors import KNeighborsRegressor

        k = min(self.n_neighbors, len(X))
        self._model = KNeighborsRegressor(n_neighbors=k, metric="cosine").fit(X, scores)
        return self

    def predict(self, X: np.ndarray, prompts: list[str]) -> np.ndarray:
        return np.asarray(self._model.predict(X)).reshape(len(X), -1)


class _PerModelRouter(Router):
    """One scikit-learn regressor per model, as in RouterBench's router code."""

    def _make(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def fit(self, X: np.ndarray, scores: np.ndarray, prompts: list[str]) -> _PerModelRouter:
        from sklearn.exceptions import ConvergenceWarning

        self._models = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            for j in range(scores.shape[1]):
                y = scores[:, j]
                if np.all(y == y[0]):  # constant target: a regressor adds nothing
                    self._models.append(float(y[0]))
                else:
                    self._models.append(self._make().fit(X, y))
        return self

    def predict(self, X: np.ndarray, prompts: list[str]) -> np.ndarray:
        cols = [
            np.full(len(X), m) if isinstance(m, float) else np.asarray(m.predict(X)) for m in self._models
        ]
        return np.clip(np.stack(cols, axis=1), 0.0, 1.0)


class MLPRouter(_PerModelRouter):
    """RouterBench's MLP: one hidden layer of 100 ReLU units per model."""

    name = "mlp"

    def __init__(self, hidden: int = 100, random_state: int = 42) -> None:
        self.hidden = hidden
        self.random_state = random_state

    def _make(self):
        from sklearn.neural_network import MLPRegressor

        return MLPRegressor(
            hidden_layer_sizes=(self.hidden,), activation="relu", random_state=self.random_state
        )


class LinearSVRRouter(_PerModelRouter):
    """RouterBench's SVM: LinearSVR(epsilon=0) per model."""

    name = "svm"

    def __init__(self, random_state: int = 42) -> None:
        self.random_state = random_state

    def _make(self):
        from sklearn.svm import LinearSVR

        return LinearSVR(epsilon=0.0, random_state=self.random_state, dual="auto")


class SingleRouter(Router):
    """Best single model per λ: q = each model's mean training score for every prompt."""

    name = "single"

    def fit(self, X: np.ndarray, scores: np.ndarray, prompts: list[str]) -> SingleRouter:
        self._mean = scores.mean(axis=0)
        return self

    def predict(self, X: np.ndarray, prompts: list[str]) -> np.ndarray:
        return np.tile(self._mean, (len(X), 1))


class RandomRouter(Router):
    """Uniformly random model per prompt, whatever λ (seeded)."""

    name = "random"

    def __init__(self, seed: int = 42) -> None:
        self.seed = seed

    def fit(self, X: np.ndarray, scores: np.ndarray, prompts: list[str]) -> RandomRouter:
        self._m = scores.shape[1]
        return self

    def predict(self, X: np.ndarray, prompts: list[str]) -> np.ndarray:
        return np.full((len(X), self._m), 0.5)

    def fixed_choices(self, n: int) -> np.ndarray:
        return np.random.RandomState(self.seed).randint(0, self._m, size=n)


class OracleRouter(Router):
    """Knows the test scores: q = the true score (upper bound of the λ rule)."""

    name = "oracle"

    def fit(self, X: np.ndarray, scores: np.ndarray, prompts: list[str]) -> OracleRouter:
        return self

    def predict_true(self, true_scores: np.ndarray) -> np.ndarray:
        return np.asarray(true_scores, dtype=float)

    def predict(self, X: np.ndarray, prompts: list[str]) -> np.ndarray:
        raise TypeError("OracleRouter needs the true scores: use predict_true(scores)")
