"""The interface an online router implements to be replayed (``eagle replay``).

The harness owns the stream and the feedback; a router only ever sees what a production router
would: the query (its unit-norm MiniLM embedding and its text), and then, possibly late and
possibly never, the grade of the one answer it served (or a duel verdict against one second
model). Model *indices* always refer to the router's current model list: the ``models`` given to
:meth:`OnlineRouter.start` followed by every :meth:`OnlineRouter.add_model`, in call order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["OnlineRouter"]


@runtime_checkable
class OnlineRouter(Protocol):
    """What the replay harness calls, in this order: ``start`` once, then per step ``choose`` and
    (whenever feedback is delivered) ``learn`` / ``learn_duel`` / ``learn_full``; ``add_model``
    may be called between steps.

    Conventions (all calls):

    - ``x``: the query's embedding, float32 of shape ``(d,)``, unit L2 norm (the bundled
      all-MiniLM-L6-v2, left truncation, via :class:`eagle_core.evaluation.CachedEmbedder`),
      ``d = 384``. ``text``: the prompt itself (routers may ignore it).
    - ``costs``: float64 ``(m,)``, USD per request of each model (the dataset's mean cost on the
      stream's rows; the harness never reveals per-prompt costs before serving).
    - ``grade``: the served answer's score in ``[0, 1]`` (the dataset's score, after the
      scenario's transform, e.g. drift). ``cost``: what that answer actually cost, USD.
    - Utility the harness scores is ``grade * wtp - cost`` (``wtp`` = willingness to pay, USD
      per unit of grade). ``wtp is None`` means quality only.
    - ``target_cost``: the budget scenario's target *average* cost per request (USD), else None.
    - Feedback for a step may arrive many steps later (sparse/delayed scenario) or never; the
      ``x``/``text`` passed to ``learn`` are those of the query that was served then.
    - A router must be deterministic given ``seed`` (the harness replays 10+ seeds).

    Optional method: ``paid(x, text, model, cost)`` — called right after every ``choose`` with the
    served answer's actual cost (USD), rated or not, as a deployment learns it from the response's
    token usage (Eagle's routers report it to the engine's budget pacer).

    Optional attribute: ``n_explored: int`` — how many served answers were chosen by exploration
    rather than by the router's best estimate (reported when present).
    """

    name: str

    def start(
        self,
        models: Sequence[str],
        costs: np.ndarray,
        *,
        wtp: float | None,
        target_cost: float | None,
        seed: int,
    ) -> None:
        """Reset to a cold router over ``models`` (no feedback yet)."""

    def choose(self, x: np.ndarray, text: str) -> int:
        """The index (into the current models) of the model to serve this query."""

    def learn(self, x: np.ndarray, text: str, model: int, grade: float, cost: float) -> None:
        """Partial feedback: only the served answer's grade (and its actual cost)."""

    def learn_duel(self, x: np.ndarray, text: str, model: int, other: int, outcome: float) -> None:
        """Duel feedback: a judge compared the served ``model`` with ``other`` on this query;
        ``outcome`` is 1.0 if the served answer won, 0.0 if it lost, 0.5 for a tie."""

    def learn_full(self, x: np.ndarray, text: str, grades: np.ndarray) -> None:
        """Full information: every current model's grade on this query, float ``(m,)``, NaN where
        unknown (warm-start prompts, and the full-information upper bound)."""

    def add_model(self, name: str, cost: float) -> None:
        """A model joins at run time (newcomer scenario); it gets the next index."""
