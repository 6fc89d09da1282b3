"""The K-NN baseline of UniRoute (Eq. 5): a model's error at x is its mean error on the k labelled
prompts nearest to x."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from eagle_core._errors import ConfigError, UnknownModelError
from eagle_core.uniroute._checks import (
    _candidates,
    _check_name,
    _costs,
    _matrix,
    _unit_values,
    _validation_split,
)
from eagle_core.uniroute._kmeans import _selection_area

__all__ = ["UniRouteKNN"]


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


