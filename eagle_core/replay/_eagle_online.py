"""Eagle as the engine ships it for online use, replayed in memory: the engine's own fold
(:class:`~eagle_core._state.RatingState`), feedback-to-match rules (:mod:`eagle_core._feedback`) and
routing step (:func:`eagle_core._serving.serve`: local ratings, deviations, exploration, budget
pacing), with an exact numpy nearest-neighbour search in place of Chroma's index. Feedback becomes
the events the engine would log: ``learn`` is ``record_feedback(score=grade)``, ``learn_duel`` a
comparison, ``learn_full`` ``record_scores``; ``paid`` is ``record_cost`` (the budget pacer charges
the served answer's actual cost in place of its estimate). A test drives this twin and the real
engine (Chroma, MiniLM) over one stream and checks they serve the same models.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from eagle_core import _feedback as fb
from eagle_core._config import EagleConfig
from eagle_core._costs import cost_to_dict, estimate_cost
from eagle_core._event import Event, RawPair, query_key
from eagle_core._explore import Exploration
from eagle_core._pacing import BudgetPacer
from eagle_core._serving import serve
from eagle_core._state import RatingState

__all__ = ["EagleOnlineRouter"]


class EagleOnlineRouter:
    """The engine's online algorithm behind the replay protocol.

    Args:
        config: engine settings (``EagleConfig()`` by default); the replay's seed seeds the sampler.
        explore: serve by exploration (``False``: always the ranking's choice, "eagle_greedy").
        full_information: ask the harness for every model's grade on each rated step (the upper
            bound, "eagle_full").
        name: the router's name in reports.
    """

    def __init__(self, config: EagleConfig | None = None, *, explore: bool = True,
                 full_information: bool = False, name: str | None = None) -> None:
        self.config = config
        self.explore = explore
        self.full_information = full_information
        self.name = name or ("eagle_full" if full_information else
                             "eagle_online" if explore else "eagle_greedy")

    def start(self, models: Sequence[str], costs: np.ndarray, *, wtp: float | None,
              target_cost: float | None, seed: int) -> None:
        self._cfg = (self.config or EagleConfig()).replace(seed=seed)
        self._wtp = wtp
        self._state = RatingState(self._cfg)
        self._models = list(models)
        self._exploration = Exploration(self._cfg.seed)
        self._pacer = None if target_cost is None else BudgetPacer(target_cost, self._cfg.pacing_rate)
        self._keys: list[str] = []
        self._last = ""  # the decision just served (its cost comes with ``paid``)
        self._X = np.zeros((0, 0), dtype=np.float32)
        self._n_seq = 0
        self._commit("models", "", (), {"models": {m: cost_to_dict(float(c))
                                                   for m, c in zip(models, costs, strict=True)}})

    @property
    def n_explored(self) -> int:
        """Served answers chosen by exploration (burn-in tries included)."""
        return self._exploration.explored

    @property
    def forced_tries(self) -> dict[str, int]:
        """Burn-in tries forced so far per model added at run time (each at most
        ``EagleConfig.burn_in``): how much serving a newcomer cost before its ratings spoke."""
        return dict(self._exploration.forced)

    @property
    def state(self) -> RatingState:
        return self._state

    def neighbours(self, x: np.ndarray) -> list[tuple[str, float]]:
        """The ``n_neighbors`` past queries most similar to ``x`` (exact cosine) as (key, cosine
        distance), nearest first; ties keep the order the queries were first recorded in."""
        n = min(self._cfg.n_neighbors, len(self._keys))
        if n == 0:
            return []
        sims = self._X[: len(self._keys)] @ np.asarray(x, dtype=np.float32)
        order = np.argsort(-sims, kind="stable")[:n]
        return [(self._keys[i], 1.0 - float(sims[i])) for i in order.tolist()]

    def choose(self, x: np.ndarray, text: str) -> int:
        view = self._state.view()
        costs = {m: estimate_cost(view.costs[m], text) for m in view.ratings}
        decision = serve(text, np.asarray(x, dtype=np.float32), view, self.neighbours(x), costs,
                         list(view.ratings), self._cfg,
                         exploration=self._exploration if self.explore else None,
                         pacer=self._pacer, wtp=self._wtp)
        self._last = decision.decision_id
        self.last_decision = decision  # read by diagnostics (ranking's choice vs served, explored)
        return self._models.index(decision.model)

    def paid(self, x: np.ndarray, text: str, model: int, cost: float) -> None:
        """``record_cost(decision_id, cost)``: the pacer charges the served answer's actual cost
        in place of the estimate it charged when routing."""
        if self._pacer is not None:
            self._pacer.settle(self._last, float(cost))

    def learn(self, x: np.ndarray, text: str, model: int, grade: float, cost: float) -> None:
        grade = min(max(float(grade), 0.0), 1.0)
        self._feedback(x, text, "thumbs", fb.thumbs_pairs(self._models[model], grade, self._models))

    def learn_duel(self, x: np.ndarray, text: str, model: int, other: int, outcome: float) -> None:
        a, b = self._models[model], self._models[other]
        if outcome == 0.5:
            pairs = fb.comparison_pairs(a, b, True, self._models)
        else:
            winner, loser = (a, b) if outcome == 1.0 else (b, a)
            pairs = fb.comparison_pairs(winner, loser, False, self._models)
        self._feedback(x, text, "comparison", pairs)

    def learn_full(self, x: np.ndarray, text: str, grades: np.ndarray) -> None:
        scores = {m: float(g) for m, g in zip(self._models, grades, strict=True) if g == g}
        if len(scores) >= 2:
            self._feedback(x, text, "scores", fb.score_pairs(scores, self._models))

    def add_model(self, name: str, cost: float) -> None:
        self._models.append(name)
        self._commit("add_model", "", (), {"model": name, "cost": cost_to_dict(float(cost))})

    def _feedback(self, x: np.ndarray, text: str, kind: str, pairs: tuple[RawPair, ...]) -> None:
        key = query_key(text)
        if key not in self._state.by_query:  # the engine indexes a query with its first feedback
            vec = np.asarray(x, dtype=np.float32)
            if len(self._keys) == len(self._X):
                grown = np.zeros((max(64, 2 * len(self._X)), len(vec)), dtype=np.float32)
                if self._keys:
                    grown[: len(self._keys)] = self._X[: len(self._keys)]
                self._X = grown
            self._X[len(self._keys)] = vec
            self._keys.append(key)
        self._commit(kind, key, pairs, {})

    def _commit(self, kind: str, key: str, pairs: tuple[RawPair, ...], payload: dict) -> None:
        self._n_seq += 1
        self._state.apply(Event(id=str(self._n_seq), ts=self._n_seq, writer="replay", seq=self._n_seq,
                                kind=kind, qkey=key, pairs=pairs, payload=payload))
