"""Eagle as a replay router, in memory: the engine's maths over the replay's feedback.

A stand-in until the engine's online algorithm (issue 13, branch ``algo``) provides its own
:class:`~eagle_core.replay.OnlineRouter`; it states what today's Eagle does with production
feedback. Feedback becomes ELO matches exactly as :mod:`eagle_core._feedback` makes them: a rated
answer (score g) is a match of the served model against every other current model with S = g,
each weighted 1/(M-1); full grades are all unordered pairs (equal grades are draws, dropped under
``draw_score=None``); a duel verdict is one match. Global ratings are updated incrementally
(``global_k``); the local rating of a query replays the matches of its ``n_neighbors`` nearest
past queries (``k``, ``local_order``) from the global ratings; the score ``p*global + (1-p)*local``
is normalised and served greedily by ``q * wtp - cost`` (no exploration).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from eagle_core._config import EagleConfig
from eagle_core.evaluation._eagle_numpy import normalise
from eagle_core.replay._pacing import DualPacer, objective

__all__ = ["EagleGreedyRouter"]

Match = tuple[int, int, float, float]  # (a, b, S for a, weight)


def _elo(r: list[float], matches: list[Match], k: float) -> None:
    for a, b, s, w in matches:
        d = k * w * (s - 1.0 / (1.0 + 10.0 ** ((r[b] - r[a]) / 400.0)))
        r[a] += d
        r[b] -= d


class EagleGreedyRouter:
    """Greedy Eagle over partial feedback; ``full_information=True`` asks the harness for every
    model's grade on each rated step instead (the upper bound)."""

    def __init__(self, config: EagleConfig | None = None, *, full_information: bool = False,
                 name: str | None = None) -> None:  # fmt: skip
        self.config = config
        self.full_information = full_information
        self.name = name or ("eagle_full" if full_information else "eagle_greedy")

    def start(self, models: Sequence[str], costs: np.ndarray, *, wtp: float | None,
              target_cost: float | None, seed: int) -> None:  # fmt: skip
        self._cfg = self.config or EagleConfig()
        self._m = len(models)
        self._costs = np.asarray(costs, dtype=float).copy()
        self._wtp = wtp
        self._pacer = DualPacer(target_cost) if target_cost is not None else None
        self._global = [self._cfg.initial_rating] * self._m
        self._X = np.zeros((64, 0), dtype=np.float32)
        self._n = 0
        self._matches: list[list[Match]] = []
        self.n_explored = 0

    @property
    def global_ratings(self) -> np.ndarray:
        return np.array(self._global)

    def add_model(self, name: str, cost: float) -> None:
        self._m += 1
        self._costs = np.append(self._costs, cost)
        self._global.append(self._cfg.initial_rating)

    def scores(self, x: np.ndarray) -> np.ndarray:
        """Normalised combined ratings q of every current model for query ``x``."""
        cfg = self._cfg
        local = list(self._global)
        n_nb = min(cfg.n_neighbors, self._n)
        if n_nb and cfg.p < 1.0:
            sims = self._X[: self._n] @ x
            nb = np.argpartition(-sims, n_nb - 1)[:n_nb] if n_nb < self._n else np.arange(self._n)
            nb = nb[np.argsort(-sims[nb], kind="stable")]
            if cfg.local_order == "farthest_first":
                nb = nb[::-1]
            for i in nb.tolist():
                _elo(local, self._matches[i], cfg.k)
        combined = cfg.p * np.array(self._global) + (1 - cfg.p) * np.array(local)
        method = "minmax" if cfg.normalization == "auto" else cfg.normalization  # no rated answers
        return normalise(combined[None, :], method)[0]

    def choose(self, x: np.ndarray, text: str) -> int:
        wtp = self._pacer.wtp(self._wtp) if self._pacer else self._wtp
        k = int(np.argmax(objective(self.scores(x), self._costs, wtp)))
        if self._pacer:
            self._pacer.observe(float(self._costs[k]))
        return k

    def _store(self, x: np.ndarray, matches: list[Match]) -> None:
        if not matches:
            return
        gk = self._cfg.k if self._cfg.global_k is None else self._cfg.global_k
        _elo(self._global, matches, gk)
        if self._X.shape[1] == 0:
            self._X = np.zeros((64, len(x)), dtype=np.float32)
        if self._n == len(self._X):
            self._X = np.vstack([self._X, np.zeros_like(self._X)])
        self._X[self._n] = x
        self._n += 1
        self._matches.append(matches)

    def learn(self, x, text, model: int, grade: float, cost: float) -> None:
        w = 1.0 / max(self._m - 1, 1)
        self._store(x, [(model, o, float(grade), w) for o in range(self._m) if o != model])

    def learn_duel(self, x, text, model: int, other: int, outcome: float) -> None:
        draw = self._cfg.draw_score
        if outcome == 0.5 and draw is None:
            return
        self._store(x, [(model, other, draw if outcome == 0.5 else float(outcome), 1.0)])

    def learn_full(self, x, text, grades: np.ndarray) -> None:
        draw = self._cfg.draw_score
        matches: list[Match] = []
        for a in range(len(grades)):
            for b in range(a + 1, len(grades)):
                ga, gb = grades[a], grades[b]
                if ga != ga or gb != gb or (ga == gb and draw is None):
                    continue
                matches.append((a, b, 1.0 if ga > gb else 0.0 if ga < gb else draw, 1.0))
        self._store(x, matches)
