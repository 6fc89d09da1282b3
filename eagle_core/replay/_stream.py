"""A replay stream: a full-information log shuffled into the order traffic arrives in.

The stream holds every model's grade and cost for every step, but only the harness reads them; a
router is shown the query and, after serving, the one grade it earned (see :mod:`._harness`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from eagle_core._errors import EagleError
from eagle_core.datasets import RoutingDataset

__all__ = ["ReplayError", "Stream", "build_stream"]


class ReplayError(EagleError, ValueError):
    """A replay was asked for something the data or the settings cannot give (names the fix)."""


@dataclass(frozen=True)
class Stream:
    """Steps ``t = 0..T-1`` of one seeded replay.

    ``grades``/``costs`` are ``(T, m)``; ``available`` is ``(T, m)`` bool (False while a model has
    not joined yet, the newcomer scenario). ``rows`` maps each step back to the dataset row.
    """

    dataset: str
    models: tuple[str, ...]
    X: np.ndarray
    texts: tuple[str, ...]
    grades: np.ndarray
    costs: np.ndarray
    available: np.ndarray
    rows: np.ndarray
    seed: int

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def mean_costs(self) -> np.ndarray:
        """The per-model price list a router is given (mean cost over the stream's rows)."""
        return self.costs.mean(axis=0)

    def with_grades(self, grades: np.ndarray) -> Stream:
        return replace(self, grades=grades)

    def with_available(self, available: np.ndarray) -> Stream:
        return replace(self, available=available)


def build_stream(
    ds: RoutingDataset, X: np.ndarray, *, seed: int, length: int | None = None
) -> Stream:
    """Prompts of ``ds`` in a seeded random order (each at most once), ``length`` steps at most.

    Models with an unknown cost on any prompt, and prompts with a missing grade, are left out: a
    replay must know what every served answer scored and cost.
    """
    if ds.scores is None:
        raise ReplayError(f"dataset {ds.name!r} has no scores.csv; a replay needs per-model grades")
    if X.shape[0] != len(ds):
        raise ReplayError(f"X must have one row per prompt ({len(ds)}), got shape {X.shape}")
    cols = np.flatnonzero(~np.isnan(ds.costs).any(axis=0))
    if len(cols) < 2:
        raise ReplayError(f"dataset {ds.name!r} has fewer than 2 models with known costs; nothing to route")
    rows = np.flatnonzero(~np.isnan(ds.scores[:, cols]).any(axis=1))
    if length is not None and length < 1:
        raise ReplayError(f"length must be a positive number of steps or None, got {length!r}")
    order = rows[np.random.default_rng(seed).permutation(len(rows))][:length]
    grades = ds.scores[np.ix_(order, cols)].astype(float)
    return Stream(
        dataset=ds.name,
        models=tuple(ds.models[c] for c in cols),
        X=np.asarray(X[order], dtype=np.float32),
        texts=tuple(ds.prompts[i] for i in order),
        grades=grades,
        costs=ds.costs[np.ix_(order, cols)].astype(float),
        available=np.ones_like(grades, dtype=bool),
        rows=order,
        seed=seed,
    )
