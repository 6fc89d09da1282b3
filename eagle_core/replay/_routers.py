"""The routers ``eagle replay`` knows by name, each built fresh per (dataset, scenario, seed).

A factory takes the :class:`ReplayContext` of the dataset (its unlabelled prompt embeddings and
the PCA basis the linear bandits share) and returns an :class:`~eagle_core.replay.OnlineRouter`.
To replay another router, add a factory to :data:`ROUTERS` (or pass ``routers=`` to
:func:`~eagle_core.replay.run_replay`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from eagle_core.replay._baselines import LinUCBRouter, RandomRouter, ThompsonRouter
from eagle_core.replay._eagle import EagleGreedyRouter
from eagle_core.replay._eagle_online import EagleOnlineRouter
from eagle_core.replay._engine_router import EngineRouter
from eagle_core.replay._features import pca_basis
from eagle_core.replay._pareto import ParetoBanditRouter
from eagle_core.replay._protocol import OnlineRouter

__all__ = ["DEFAULT_ROUTERS", "ROUTERS", "ReplayContext", "RouterFactory"]


@dataclass
class ReplayContext:
    """What a router factory may use: the dataset's name and unlabelled prompt embeddings."""

    dataset: str
    X: np.ndarray
    _basis: np.ndarray | None = field(default=None, repr=False)

    @property
    def basis(self) -> np.ndarray:
        """25-component PCA of ``X`` (computed once per dataset)."""
        if self._basis is None:
            self._basis = pca_basis(self.X, 25)
        return self._basis


RouterFactory = Callable[[ReplayContext], OnlineRouter]

ROUTERS: dict[str, RouterFactory] = {
    "eagle_online": lambda ctx: EagleOnlineRouter(),
    "eagle_greedy": lambda ctx: EagleOnlineRouter(explore=False),
    "eagle_full": lambda ctx: EagleOnlineRouter(explore=False, full_information=True),
    "eagle_legacy": lambda ctx: EagleGreedyRouter(name="eagle_legacy"),
    "paretobandit": lambda ctx: ParetoBanditRouter(ctx.basis),
    "linucb": lambda ctx: LinUCBRouter(ctx.basis),
    "thompson": lambda ctx: ThompsonRouter(),
    "random": lambda ctx: RandomRouter(),
    "eagle_engine": lambda ctx: EngineRouter(),
}
"""Name -> factory. ``oracle`` and ``best_fixed`` are not routers: they are computed from the
full grade matrix after the run (:mod:`._metrics`) and always reported."""

DEFAULT_ROUTERS: tuple[str, ...] = tuple(r for r in ROUTERS if r != "eagle_engine")
"""What ``eagle replay`` runs without ``--routers``; ``eagle_engine`` (the Chroma-backed engine,
tens of ms per step) is opt-in."""
