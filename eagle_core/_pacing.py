"""Budget pacing: keep the average cost per request at or below a target by adjusting the
willingness to pay online (a primal-dual pacer, as in ParetoBandit arXiv 2604.00136).

The dual step moves log(willingness to pay) by ``rate * (target - cost) / target`` after every
routed request, so spending above the target makes quality dearer and spending below makes it
cheaper. On top, a hard guard: a request may only go to a model whose cost keeps the running
average at or below the target (``allowance``), so the target holds from the first request.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

__all__ = ["BudgetPacer"]

_DUAL_RANGE = (-12.0, 2.0)
"""Bounds of the log multiplier: down to e^-12 (quality nearly free to give up), up to e^2 (above
the base the rule is quality-only already); bounded so the pacer recovers within a few hundred
steps after a long stretch on one side of the target."""


class BudgetPacer:
    """Online pacer for an average-cost target (USD per request).

    Args:
        target: the average cost per request to stay at or below.
        rate: step size of the dual update (on the log of the willingness to pay).
    """

    def __init__(self, target: float, rate: float = 0.05) -> None:
        self.target = target
        self.rate = rate
        self._n = 0
        self._spent = 0.0
        self._dual = 0.0

    @property
    def n_requests(self) -> int:
        return self._n

    @property
    def average_cost(self) -> float:
        """Average estimated cost per request so far (0 before the first)."""
        return self._spent / self._n if self._n else 0.0

    @property
    def multiplier(self) -> float:
        """What the pacer multiplies the willingness to pay by (1 = target not binding yet)."""
        return math.exp(self._dual)

    def willingness_to_pay(self, wtp: float | None, costs: Iterable[float | None]) -> float:
        """The paced willingness to pay. Without a caller's ``wtp`` (quality-only routing) the
        base is the dearest known cost: at multiplier 1 a full unit of quality is worth it."""
        if wtp is None:
            known = [c for c in costs if c is not None]
            wtp = max(known, default=0.0) or 1.0
            return wtp * math.exp(self._dual)
        return wtp * min(1.0, math.exp(self._dual))  # a target is a ceiling: never pay more than asked

    def allowance(self) -> float:
        """The largest cost this request may have so the running average stays <= target."""
        return self.target * (self._n + 1) - self._spent

    def observe(self, cost: float) -> None:
        """Account one routed request's (estimated) cost and take the dual step."""
        self._n += 1
        self._spent += cost
        step = self.rate * (self.target - cost) / self.target if self.target > 0 else -self.rate
        low, high = _DUAL_RANGE
        self._dual = min(high, max(low, self._dual + step))
