"""The replay scenarios: what production feedback looks like, and what changes under the router.

Each :class:`Scenario` is data: how many first steps give full feedback (``warm``), which share of
served answers is rated (``rate``) and how late the rating arrives (``delay``), whether the
feedback is a duel verdict, and the transforms applied to the stream before replay (``drift``,
``newcomer``) or the spend target (``budget``). :func:`prepare` applies them to a stream.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from eagle_core.replay._stream import ReplayError, Stream

__all__ = ["SCENARIOS", "Prepared", "Scenario", "drift_grades", "prepare", "utility_matrix"]


@dataclass(frozen=True)
class Scenario:
    """One way production feeds a router back (see docs/BENCHMARKS.md, "Online replay")."""

    name: str
    warm: int = 0
    """The first ``warm`` steps deliver every model's grade (a small labelled set), then partial."""
    rate: float = 1.0
    """Share of served answers that get rated at all."""
    delay: int = 0
    """A rating of step t is delivered just before step t + delay is routed (0: right after t)."""
    duel: bool = False
    """Feedback is one judge verdict: the served answer against one other available model."""
    drift: float = 0.0
    """From the middle of the stream, for a third of it, each correct answer (grade > 0) of the best
    model becomes 0 with this probability; then it recovers."""
    newcomer: bool = False
    """The strongest model is absent for the first third and added at run time."""
    budget: float | None = None
    """Target average cost per request as a fraction of the highest-quality model's mean cost; the
    objective is then quality under that spend (no willingness to pay)."""


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("cold"),
        Scenario("warm", warm=100),
        Scenario("sparse", rate=0.1, delay=50),
        Scenario("drift", drift=0.3),
        Scenario("newcomer", newcomer=True),
        Scenario("budget", budget=0.25),
        Scenario("duel", duel=True),
    )
}
"""``duel`` is extra (not one of the issue's six); ``eagle replay`` runs the first six by default."""


@dataclass(frozen=True)
class Prepared:
    """A stream after the scenario's transforms, with what the harness and metrics need."""

    stream: Stream
    scenario: Scenario
    wtp: float | None
    target_cost: float | None
    special: int | None
    """Stream column of the drifted model or of the newcomer (None otherwise)."""
    events: tuple[int, ...]
    """Drift: (drop step, repair step); newcomer: (join step,); else ()."""


def utility_matrix(grades: np.ndarray, costs: np.ndarray, wtp: float | None) -> np.ndarray:
    """Per-step, per-model utility: ``grade * wtp - cost`` (plain grade when ``wtp`` is None)."""
    return grades if wtp is None else grades * wtp - costs


def drift_grades(grades: np.ndarray, model: int, start: int, end: int, p: float, seed: int) -> np.ndarray:
    """A copy of ``grades`` where, in steps ``[start, end)``, each non-zero grade of ``model`` is set
    to 0 with probability ``p`` (a provider's silent regression)."""
    out = grades.copy()
    hit = np.random.default_rng(seed).random(end - start) < p
    col = out[start:end, model]
    col[hit & (col > 0)] = 0.0
    return out


def prepare(stream: Stream, scenario: Scenario, *, wtp: float | None) -> Prepared:
    """Apply ``scenario`` to ``stream``; ``wtp`` is the willingness to pay (ignored for budget)."""
    n = len(stream)
    if scenario.budget is not None:
        top = int(np.argmax(stream.grades.mean(axis=0)))
        target = float(scenario.budget * stream.mean_costs[top])
        return Prepared(stream, scenario, None, target, None, ())
    best = int(np.argmax(utility_matrix(stream.grades, stream.costs, wtp).mean(axis=0)))
    if scenario.drift:
        start, end = n // 2, n // 2 + n // 3
        grades = drift_grades(stream.grades, best, start, end, scenario.drift, stream.seed + 7919)
        return Prepared(stream.with_grades(grades), scenario, wtp, None, best, (start, end))
    if scenario.newcomer:
        if len(stream.models) < 3:
            raise ReplayError("the newcomer scenario needs at least 3 models (2 present from the start)")
        available = stream.available.copy()
        available[: n // 3, best] = False
        return Prepared(stream.with_available(available), scenario, wtp, None, best, (n // 3,))
    return Prepared(stream, scenario, wtp, None, None, ())
