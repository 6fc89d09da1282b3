"""Objective and budget pacing shared by the replay's baseline routers.

Every baseline scores a model as ``q * wtp - cost`` (``q``: its estimated grade), or ``q`` when
quality is all that matters. Under a spend target it uses a primal-dual pacer with ParetoBandit's
update (EMA of the spend, dual step on EMA/target - 1): the price ``mu`` turns into an effective
willingness to pay ``target / mu``, so the same objective prices cost in at the rate that keeps the
average on target.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DualPacer", "objective"]


def objective(q: np.ndarray, costs: np.ndarray, wtp: float | None) -> np.ndarray:
    """Per-model value of serving: ``q * wtp - costs``, or ``q`` when ``wtp`` is None."""
    return q if wtp is None else q * wtp - costs


class DualPacer:
    """Keeps the average cost per request near ``target`` (ParetoBandit's defaults lr 0.05, EMA 0.05)."""

    def __init__(self, target: float, lr: float = 0.05, ema: float = 0.05, mu_max: float = 5.0) -> None:
        self.target = target
        self.lr = lr
        self.ema = ema
        self.mu_max = mu_max
        self._mu = 0.0
        self._spend = target

    @property
    def mu(self) -> float:
        return self._mu

    def wtp(self, base: float | None) -> float | None:
        """The willingness to pay to route with now: ``base`` while on budget, else target / mu."""
        if self._mu <= 0.0:
            return base
        paced = self.target / self._mu
        return paced if base is None else min(base, paced)

    def observe(self, cost: float) -> None:
        self._spend = (1.0 - self.ema) * self._spend + self.ema * cost
        self._mu = min(self.mu_max, max(0.0, self._mu + self.lr * (self._spend / self.target - 1.0)))
