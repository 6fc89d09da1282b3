"""Budget pacing: keep the average cost per request at or below a target by adjusting the
willingness to pay online (a primal-dual pacer, as in ParetoBandit arXiv 2604.00136).

Each routed request is charged its estimated cost at route time; when the caller later says what
the answer actually cost (``Eagle.record_cost`` / ``record_feedback(..., cost=)``), the estimate is
*replaced* by that cost (:meth:`BudgetPacer.settle`; replacing, not adding, makes a repeated or
re-delivered cost count once). The dual step moves log(willingness to pay) by
``rate * (target - cost) / target`` per request, so spending above the target makes quality dearer
and spending below makes it cheaper. On top, a hard guard: a request may only go to a model whose
estimated cost keeps the running average at or below the target (:meth:`BudgetPacer.allowance`),
less a reserve for estimates that turn out low (the largest underestimate settled so far), so the
target holds from the first request even when answers cost more than their estimate.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterable

__all__ = ["BudgetPacer"]

_DUAL_RANGE = (-12.0, 8.0)
"""Bounds of the log multiplier: down to e^-12 (quality nearly free to give up), up to e^8. Without a
caller's willingness to pay the base is the dearest model's cost, at which a model 4x dearer still
loses on a 0.1 grade edge: the pacer must be able to value quality far above the base to spend the
target (with e^2, RouterBench validation streams spent 45 % of it). Bounded so the pacer recovers
within a few hundred steps after a long stretch on one side of the target."""

_REMEMBERED = 100_000
"""Charges kept for settling (oldest dropped first): a cost reported after this many later
requests is ignored (a few MB at most)."""


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
        self._reserve = 0.0
        self._charged: OrderedDict[str, tuple[float, float | None]] = OrderedDict()  # (estimate, actual)
        self._n_settled = 0

    @property
    def n_requests(self) -> int:
        return self._n

    @property
    def n_settled(self) -> int:
        """Requests whose actual cost replaced the estimate."""
        return self._n_settled

    @property
    def average_cost(self) -> float:
        """Average cost per request so far (actual where known, else estimated; 0 before the first)."""
        return self._spent / self._n if self._n else 0.0

    @property
    def reserve(self) -> float:
        """USD the guard holds back: the largest amount an answer has cost above its estimate."""
        return self._reserve

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
        """The largest estimated cost this request may have so the running average stays <= target
        even if it costs as much more than its estimate as the worst answer so far did."""
        return self.target * (self._n + 1) - self._spent - self._reserve

    def observe(self, cost: float, key: str | None = None) -> None:
        """Charge one routed request's estimated ``cost`` and take the dual step; ``key`` (the
        decision id) lets :meth:`settle` replace the estimate with the actual cost later."""
        self._n += 1
        self._spent += cost
        self._step(self.target - cost)
        if key is not None:
            self._charged[key] = (cost, None)
            while len(self._charged) > _REMEMBERED:
                self._charged.popitem(last=False)

    def settle(self, key: str, cost: float) -> bool:
        """The request ``key`` actually cost ``cost`` USD: charge that instead of what it was charged
        so far (the estimate, or an earlier report). False if ``key`` is not a request this pacer
        charged (another worker's, or one older than the last 100,000)."""
        charged = self._charged.get(key)
        if charged is None:
            return False
        estimate, actual = charged
        before = estimate if actual is None else actual
        self._n_settled += actual is None
        self._charged[key] = (estimate, cost)
        self._spent += cost - before
        self._step(before - cost)  # as if the dual step had been taken on the actual cost
        self._reserve = max(self._reserve, cost - estimate)
        return True

    def _step(self, surplus: float) -> None:
        step = self.rate * surplus / self.target if self.target > 0 else -self.rate
        low, high = _DUAL_RANGE
        self._dual = min(high, max(low, self._dual + step))
