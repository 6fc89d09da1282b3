"""The real engine (:class:`eagle_core.Eagle`, Chroma-backed) as a replay router.

Every step goes through the public API a deployment uses: ``Eagle(models,
target_cost_per_request=...)`` (the engine paces a budget itself; the replay's seed seeds its
exploration), ``route(text, willingness_to_pay=...)``,
``record_cost(decision_id, usd)`` once it is served, then ``record_feedback(decision_id,
score=grade)`` for the served answer (``worse=``/``better=``/
``tie=`` for a duel verdict, ``record_scores`` for full grades). The engine embeds through a lookup
of the harness's vectors, so it sees exactly the embeddings every other router sees. Slower than
the in-memory :class:`~eagle_core.replay.EagleOnlineRouter` (Chroma writes per feedback); used
to check that twin and to replay the engine's own defaults.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import numpy as np

from eagle_core._config import EagleConfig

__all__ = ["EngineRouter"]


class EngineRouter:
    """``Eagle(models, path=None)`` (in-memory Chroma) behind the replay protocol."""

    name = "eagle_engine"

    def __init__(self, config: EagleConfig | None = None, *, name: str | None = None) -> None:
        self.config = config
        if name:
            self.name = name

    def start(self, models: Sequence[str], costs: np.ndarray, *, wtp: float | None,
              target_cost: float | None, seed: int) -> None:  # fmt: skip
        from eagle_core import Eagle

        self._vectors: dict[str, np.ndarray] = {}
        self._models = list(models)
        self._wtp = wtp
        self._costs = [float(c) for c in costs]
        self._pending: dict[str, list[str]] = {}
        self._eagle = Eagle(models=dict(zip(self._models, self._costs, strict=True)), path=None,
                            collection=f"replay-{uuid.uuid4().hex[:12]}", embedder=self._embed,
                            config=(self.config or EagleConfig()).replace(seed=seed),
                            target_cost_per_request=target_cost)  # fmt: skip
        self.n_explored = 0

    def _embed(self, texts: list[str]) -> np.ndarray:
        """The harness's vector of each text (the engine's dimension probe gets a unit vector)."""
        dim = len(next(iter(self._vectors.values())))
        probe = np.eye(1, dim, dtype=np.float32)[0]
        return np.stack([self._vectors.get(t, probe) for t in texts])

    @property
    def engine(self):
        return self._eagle

    def choose(self, x: np.ndarray, text: str) -> int:
        self._vectors[text] = np.asarray(x, dtype=np.float32)
        d = self._eagle.route(text, willingness_to_pay=self._wtp)
        if getattr(d, "explored", False):
            self.n_explored += 1
        self._pending.setdefault(text, []).append(d.decision_id)
        return self._models.index(d.model)

    def _decision(self, text: str) -> str:
        return self._pending[text].pop(0)

    def learn(self, x, text, model: int, grade: float, cost: float) -> None:
        self._eagle.record_feedback(self._decision(text), score=min(max(float(grade), 0.0), 1.0))

    def paid(self, x, text, model: int, cost: float) -> None:
        self._eagle.record_cost(self._pending[text][-1], float(cost))

    def learn_duel(self, x, text, model: int, other: int, outcome: float) -> None:
        kind = "worse" if outcome == 1.0 else "better" if outcome == 0.0 else "tie"
        self._eagle.record_feedback(self._decision(text), **{kind: self._models[other]})

    def learn_full(self, x, text, grades: np.ndarray) -> None:
        self._decision(text)
        scores = {m: float(g) for m, g in zip(self._models, grades, strict=True) if g == g}
        if len(scores) >= 2:
            self._eagle.record_scores(text, scores)

    def add_model(self, name: str, cost: float) -> None:
        self._eagle.add_model(name, float(cost))
        self._models.append(name)
        self._costs.append(float(cost))
