"""Reference online routers: random, context-free Thompson sampling, mabwiser LinUCB.

All share :class:`_Base`: the objective of :mod:`._pacing` and a pacer when a spend target is set
(the pacer sees the listed cost of every served answer at ``choose`` time: a router knows what it
spent even when the answer is never rated).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from eagle_core.replay._pacing import DualPacer, objective

__all__ = ["LinUCBRouter", "RandomRouter", "ThompsonRouter"]


class _Base:
    name = "base"

    def start(self, models: Sequence[str], costs: np.ndarray, *, wtp: float | None,
              target_cost: float | None, seed: int) -> None:  # fmt: skip
        self._models = list(models)
        self._costs = np.asarray(costs, dtype=float).copy()
        self._wtp = wtp
        self._pacer = DualPacer(target_cost) if target_cost is not None else None
        self._rng = np.random.default_rng(seed)

    learns_utility = False
    """True: the learner is fed ``grade - cost/wtp`` (when a wtp is set), so its estimates already
    price the cost in; False: it learns grades and the price list supplies the cost."""

    def _values(self, q: np.ndarray) -> np.ndarray:
        if self.learns_utility and self._wtp is not None:
            return q
        return objective(q, self._costs, self._pacer.wtp(self._wtp) if self._pacer else self._wtp)

    def _pick(self, q: np.ndarray) -> int:
        k = int(np.argmax(self._values(q)))
        if self._pacer:
            self._pacer.observe(float(self._costs[k]))
        return k

    def _reward(self, grade: float, cost: float) -> float:
        if self.learns_utility and self._wtp is not None:
            return grade - cost / self._wtp
        return grade

    def add_model(self, name: str, cost: float) -> None:
        self._models.append(name)
        self._costs = np.append(self._costs, cost)

    def learn_duel(self, x, text, model: int, other: int, outcome: float) -> None:
        """A verdict is fed as a grade of ``outcome`` to the served model and ``1 - outcome`` to the
        other (their costs are known from the price list)."""
        self.learn(x, text, model, outcome, float(self._costs[model]))
        self.learn(x, text, other, 1.0 - outcome, float(self._costs[other]))

    def learn_full(self, x, text, grades: np.ndarray) -> None:
        for k, g in enumerate(grades):
            if g == g:
                self.learn(x, text, k, float(g), float(self._costs[k]))


class RandomRouter(_Base):
    """Serves a uniformly random model (ignores feedback and budget)."""

    name = "random"

    def choose(self, x: np.ndarray, text: str) -> int:
        return int(self._rng.integers(len(self._models)))

    def learn(self, x, text, model: int, grade: float, cost: float) -> None:
        pass


class ThompsonRouter(_Base):
    """Context-free Beta-Bernoulli Thompson sampling (LiteLLM's adaptive router, one request type).

    Each model's grade is Beta(1 + sum g, 1 + sum (1 - g)); a draw per model is scored with the
    objective (cost known from the price list), so exploration comes from posterior width alone.
    """

    name = "thompson"

    def start(self, models, costs, *, wtp, target_cost, seed) -> None:
        super().start(models, costs, wtp=wtp, target_cost=target_cost, seed=seed)
        self._ab = np.ones((len(models), 2))
        self.n_explored = 0  # served a model other than the posterior-mean favourite

    def add_model(self, name: str, cost: float) -> None:
        super().add_model(name, cost)
        self._ab = np.vstack([self._ab, np.ones((1, 2))])

    def choose(self, x: np.ndarray, text: str) -> int:
        draw = self._rng.beta(self._ab[:, 0], self._ab[:, 1])
        k = self._pick(draw)
        if k != self._pick_mean():
            self.n_explored += 1
        return k

    def _pick_mean(self) -> int:
        return int(np.argmax(self._values(self._ab[:, 0] / self._ab.sum(axis=1))))

    def learn(self, x, text, model: int, grade: float, cost: float) -> None:
        g = min(max(grade, 0.0), 1.0)
        self._ab[model] += (g, 1.0 - g)


class LinUCBRouter(_Base):
    """mabwiser's disjoint LinUCB (alpha 1, ridge 1) on a PCA projection of the embedding.

    ``basis``: ``(d_in, d)`` projection (PCA of the dataset's unlabelled prompt embeddings, see
    :func:`eagle_core.replay.pca_basis`); a bias feature is appended. Arms are stream indices.
    """

    name = "linucb"
    learns_utility = True

    def __init__(self, basis: np.ndarray, alpha: float = 1.0, l2_lambda: float = 1.0) -> None:
        self.basis = basis
        self.alpha = alpha
        self.l2_lambda = l2_lambda

    def start(self, models, costs, *, wtp, target_cost, seed) -> None:
        from mabwiser.mab import MAB, LearningPolicy

        super().start(models, costs, wtp=wtp, target_cost=target_cost, seed=seed)
        self._mab = MAB(list(range(len(models))), LearningPolicy.LinUCB(alpha=self.alpha,
                        l2_lambda=self.l2_lambda), seed=seed)  # fmt: skip
        self._fitted = False

    def _features(self, x: np.ndarray) -> np.ndarray:
        return np.append(x @ self.basis, 1.0)[None, :]

    def add_model(self, name: str, cost: float) -> None:
        super().add_model(name, cost)
        self._mab.add_arm(len(self._models) - 1)

    def choose(self, x: np.ndarray, text: str) -> int:
        if not self._fitted:  # no data yet: every arm's UCB is equal
            return self._pick(np.zeros(len(self._models)) + self._rng.random(len(self._models)) * 1e-9)
        exp = self._mab.predict_expectations(self._features(x))
        return self._pick(np.array([exp[k] for k in range(len(self._models))]))

    def learn(self, x, text, model: int, grade: float, cost: float) -> None:
        f, r = self._features(x), np.array([self._reward(grade, cost)])
        if self._fitted:
            self._mab.partial_fit([model], r, f)
        else:
            self._mab.fit([model], r, f)
            self._fitted = True
