"""Online replay benchmark: replay a full-information log as production traffic.

At each step the router serves one model and learns only what production would tell it: the
served answer's grade (or one duel verdict), perhaps late, perhaps never. The harness keeps the
other grades to itself and uses them only to score the run against the per-step oracle and the
best fixed model in hindsight. ``eagle replay`` is the command-line front end; users replay their
own logs (the canonical data format of :mod:`eagle_core.datasets`) to choose settings.

>>> from eagle_core.replay import run_replay
>>> results = run_replay([(ds, X)], scenarios=["cold", "drift"], seeds=10)
"""

from __future__ import annotations

from eagle_core.replay._baselines import LinUCBRouter, RandomRouter, ThompsonRouter
from eagle_core.replay._eagle import EagleGreedyRouter
from eagle_core.replay._eagle_online import EagleOnlineRouter
from eagle_core.replay._engine_router import EngineRouter
from eagle_core.replay._features import pca_basis
from eagle_core.replay._harness import Trace, replay
from eagle_core.replay._metrics import References, budget_oracle, references, score_trace
from eagle_core.replay._pacing import DualPacer, objective
from eagle_core.replay._pareto import ParetoBanditRouter
from eagle_core.replay._protocol import OnlineRouter
from eagle_core.replay._routers import DEFAULT_ROUTERS, ROUTERS, ReplayContext, RouterFactory
from eagle_core.replay._run import DEFAULT_SCENARIOS, auto_wtp, run_replay
from eagle_core.replay._scenarios import SCENARIOS, Prepared, Scenario, drift_grades, prepare, utility_matrix
from eagle_core.replay._stream import ReplayError, Stream, build_stream

__all__ = [
    "DEFAULT_ROUTERS",
    "DEFAULT_SCENARIOS",
    "ROUTERS",
    "SCENARIOS",
    "DualPacer",
    "EagleGreedyRouter",
    "EagleOnlineRouter",
    "EngineRouter",
    "LinUCBRouter",
    "OnlineRouter",
    "ParetoBanditRouter",
    "Prepared",
    "RandomRouter",
    "References",
    "ReplayContext",
    "ReplayError",
    "RouterFactory",
    "Scenario",
    "Stream",
    "ThompsonRouter",
    "Trace",
    "auto_wtp",
    "budget_oracle",
    "build_stream",
    "drift_grades",
    "objective",
    "pca_basis",
    "prepare",
    "references",
    "replay",
    "run_replay",
    "score_trace",
    "utility_matrix",
]
