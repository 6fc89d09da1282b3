"""Replay one prepared stream through one router, revealing only what production would.

The harness keeps the full grade matrix to itself. Per step it asks the router to ``choose``,
serves that model, and queues the feedback the scenario allows: every grade during the warm
start, else (with probability ``rate``) the served answer's grade only, or one duel verdict
against a second available model. Queued feedback is delivered ``delay`` steps later, just
before that step is routed. A router whose ``full_information`` attribute is True (an upper
bound, not a production router) gets every model's grade on each rated step instead. A router with
a ``paid`` method is told every served answer's actual cost right after serving, rated or not (a
deployment knows it from the response's token usage).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from eagle_core.replay._protocol import OnlineRouter
from eagle_core.replay._scenarios import Prepared
from eagle_core.replay._stream import ReplayError

__all__ = ["Trace", "replay"]


@dataclass(frozen=True)
class Trace:
    """What happened at each step: served stream column, its grade and cost, and timings."""

    router: str
    chosen: np.ndarray
    grade: np.ndarray
    cost: np.ndarray
    choose_seconds: np.ndarray
    learn_seconds: np.ndarray
    """Time spent in feedback calls delivered just before/after each step (0 when none)."""
    n_explored: int | None


def _initial_columns(prep: Prepared) -> list[int]:
    first = prep.stream.available[0]
    return [j for j in range(len(prep.stream.models)) if first[j]]


def replay(router: OnlineRouter, prep: Prepared, *, seed: int) -> Trace:
    """Run ``router`` over ``prep`` (see the module docstring). Deterministic given ``seed``."""
    s, sc = prep.stream, prep.scenario
    n = len(s)
    rng = np.random.default_rng(seed + 104729)
    cols = _initial_columns(prep)
    full = bool(getattr(router, "full_information", False))  # the upper bound: every grade
    paid = getattr(router, "paid", None)  # optional: told each served answer's actual cost
    prices = s.mean_costs
    router.start([s.models[j] for j in cols], prices[cols].copy(), wtp=prep.wtp,
                 target_cost=prep.target_cost, seed=seed)  # fmt: skip
    chosen = np.empty(n, dtype=int)
    choose_s, learn_s = np.zeros(n), np.zeros(n)
    queue: deque[tuple[int, int, int]] = deque()  # (due step, step, kind)
    for t in range(n):
        for j in np.flatnonzero(s.available[t]):
            if j not in cols:
                router.add_model(s.models[j], float(prices[j]))
                cols.append(int(j))
        learn_s[t] += _deliver(router, prep, cols, chosen, queue, t, rng)
        x, text = s.X[t], s.texts[t]
        t0 = time.perf_counter()
        k = router.choose(x, text)
        choose_s[t] = time.perf_counter() - t0
        if not isinstance(k, (int, np.integer)) or not 0 <= k < len(cols):
            raise ReplayError(f"router {router.name!r} chose {k!r}; choose must return an index in "
                              f"[0, {len(cols)}) into its current models")  # fmt: skip
        chosen[t] = cols[int(k)]
        if paid is not None:  # the served answer's actual cost, known once it is served
            t0 = time.perf_counter()
            paid(x, text, int(k), float(s.costs[t, chosen[t]]))
            learn_s[t] += time.perf_counter() - t0
        if t < sc.warm:
            queue.append((t + sc.delay, t, 0))
        elif rng.random() < sc.rate:
            queue.append((t + sc.delay, t, 0 if full else 2 if sc.duel else 1))
        if sc.delay == 0:
            learn_s[t] += _deliver(router, prep, cols, chosen, queue, t, rng)
    return Trace(
        router=router.name,
        chosen=chosen,
        grade=s.grades[np.arange(n), chosen],
        cost=s.costs[np.arange(n), chosen],
        choose_seconds=choose_s,
        learn_seconds=learn_s,
        n_explored=getattr(router, "n_explored", None),
    )


def _deliver(router: OnlineRouter, prep: Prepared, cols: list[int], chosen: np.ndarray,
             queue: deque, now: int, rng: np.random.Generator) -> float:  # fmt: skip
    """Hand the router every queued feedback due by ``now``; returns the seconds it took."""
    s = prep.stream
    spent = 0.0
    while queue and queue[0][0] <= now:
        _, t, kind = queue.popleft()
        x, text, j = s.X[t], s.texts[t], int(chosen[t])
        k = cols.index(j)
        t0 = time.perf_counter()
        if kind == 0:
            router.learn_full(x, text, s.grades[t, cols].copy())
        elif kind == 1:
            router.learn(x, text, k, float(s.grades[t, j]), float(s.costs[t, j]))
        else:
            others = [i for i, c in enumerate(cols) if c != j and s.available[t, c]]
            if others:
                o = others[int(rng.integers(len(others)))]
                a, b = s.grades[t, j], s.grades[t, cols[o]]
                router.learn_duel(x, text, k, o, 1.0 if a > b else 0.0 if a < b else 0.5)
        spent += time.perf_counter() - t0
    return spent
