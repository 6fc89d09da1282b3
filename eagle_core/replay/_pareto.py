"""ParetoBandit (arXiv 2604.00136, ``pip install paretobandit``) as a replay router.

Settings (read from pareto_bandit 0.1.1's source, ``router.py`` / ``config``):

* precomputed-features mode: ``FeatureService.for_precomputed(d + 1)``; we pass the MiniLM
  embedding projected on the same 25-component PCA as the paper (fitted here on the dataset's
  unlabelled prompt embeddings, see :func:`pca_basis`) plus a bias 1;
* shipped priors off (``BanditRouter(...)`` directly, no ``create(priors="warmup")``): identity
  covariance, zero prior mean;
* its tuned defaults ``alpha = 0.01`` (UCB bonus) and ``forgetting_factor = 0.997``;
* reward: ``grade - cost / wtp`` in [-1, 1] (``RouterConfig(reward_min=-1, reward_max=1)``) with
  ``cost_penalty = 0``, so it maximises the same utility as every other router; under a spend target
  (no wtp) the reward is the grade and its own ``BudgetPacer`` (ADAPTIVE mode, lr 0.05, EMA 0.05)
  paces, with model prices set so its $/1k figure is the model's mean cost per request and the
  log-cost anchors spanning the portfolio's cheapest and dearest model; the pacer observes each
  served answer's listed cost when it is served (rated or not), like the other routers' pacers;
* delayed feedback goes through ``process_feedback(request_id, reward)``, as in production.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["ParetoBanditRouter"]


class ParetoBanditRouter:
    """Adapter over ``pareto_bandit.BanditRouter``; ``basis``: ``(d_in, d)`` PCA projection."""

    name = "paretobandit"

    def __init__(self, basis: np.ndarray, alpha: float = 0.01, forgetting_factor: float = 0.997) -> None:
        self.basis = basis
        self.alpha = alpha
        self.forgetting_factor = forgetting_factor

    def start(self, models: Sequence[str], costs: np.ndarray, *, wtp: float | None,
              target_cost: float | None, seed: int) -> None:  # fmt: skip
        from pareto_bandit import BanditRouter, FeatureService, RouterConfig
        from pareto_bandit.budget_pacer import BudgetPacer

        lo, hi = float(np.min(costs)), float(np.max(costs))
        config = RouterConfig(reward_min=-1.0, reward_max=1.0, market_cost_floor=max(lo, 1e-9),
                              market_cost_ceiling=max(hi, lo * 1.01, 2e-9))  # fmt: skip
        self._wtp = wtp
        self._names = [f"m{i}" for i in range(len(models))]
        self._router = BanditRouter(
            {n: self._prices(c) for n, c in zip(self._names, costs, strict=True)},
            feature_service=FeatureService.for_precomputed(self.basis.shape[1] + 1),
            alpha=self.alpha, forgetting_factor=self.forgetting_factor, bandit_seed=seed,
            config=config, cost_penalty=0.0,
            budget_pacer=BudgetPacer(target_cost) if target_cost is not None else None,
        )  # fmt: skip
        self._logs: dict[bytes, list[str]] = {}

    @staticmethod
    def _prices(cost: float) -> dict[str, float]:
        per_m = float(cost) * 1000.0  # $/1k tokens == cost per request
        return {"input_cost_per_m": per_m, "output_cost_per_m": per_m}

    def _features(self, x: np.ndarray) -> np.ndarray:
        return np.append(x @ self.basis, 1.0)

    def choose(self, x: np.ndarray, text: str) -> int:
        model, log = self._router.route(self._features(x))
        self._logs.setdefault(x.tobytes(), []).append(log.request_id)
        k = self._names.index(model)
        if self._router.budget_pacer is not None:  # spend is known when serving, rated or not
            self._router.budget_pacer.observe(self._price(k))
        return k

    def _price(self, k: int) -> float:
        return self._router.registry[self._names[k]]["input_cost_per_m"] / 1000.0

    def _pop(self, x: np.ndarray) -> str | None:
        ids = self._logs.get(x.tobytes())
        return ids.pop(0) if ids else None

    def learn(self, x, text, model: int, grade: float, cost: float) -> None:
        rid = self._pop(x)
        # clipped here exactly as process_feedback would clamp it, minus one warning per call
        reward = float(np.clip(grade if self._wtp is None else grade - cost / self._wtp, -1.0, 1.0))
        if rid is None:  # feedback for a step it did not route (duel opponent, warm start)
            self._router.update(self._names[model], self._features(x), reward, advance_time=False)
            return
        pacer, self._router.budget_pacer = self._router.budget_pacer, None
        self._router.process_feedback(rid, reward)  # the pacer already saw this spend in choose
        self._router.budget_pacer = pacer

    def learn_duel(self, x, text, model: int, other: int, outcome: float) -> None:
        self.learn(x, text, model, outcome, self._price(model))
        r = 1.0 - outcome if self._wtp is None else 1.0 - outcome - self._price(other) / self._wtp
        r = float(np.clip(r, -1.0, 1.0))
        self._router.update(self._names[other], self._features(x), r, advance_time=False)

    def learn_full(self, x, text, grades: np.ndarray) -> None:
        self._pop(x)
        for k, g in enumerate(grades):
            if g == g:
                r = float(np.clip(g if self._wtp is None else g - self._price(k) / self._wtp, -1.0, 1.0))
                self._router.update(self._names[k], self._features(x), float(r), advance_time=False)

    def add_model(self, name: str, cost: float) -> None:
        n = f"m{len(self._names)}"
        self._names.append(n)
        self._router.register_model(n, **self._prices(cost))
