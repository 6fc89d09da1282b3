"""Evaluation harness: the Eagle-paper protocol, baselines, online and votes simulations.

Users can evaluate routers on their own logs in the canonical data format
(:mod:`eagle_core.datasets`); ``eagle bench`` is the command-line front end of :func:`run_bench`.
Heavy dependencies (scikit-learn, matplotlib, sentence-transformers) are imported lazily.
"""

from __future__ import annotations

from eagle_core.evaluation._baselines import (
    KNNRouter,
    LinearSVRRouter,
    MLPRouter,
    OracleRouter,
    RandomRouter,
    Router,
    SingleRouter,
)
from eagle_core.evaluation._bench import DEFAULT_LIMITS, BenchContext, run_bench
from eagle_core.evaluation._cache import CachedEmbedder, cache_dir
from eagle_core.evaluation._eagle_numpy import EagleParams, NumpyEagleRouter
from eagle_core.evaluation._eagle_router import EngineEagleRouter, eagle_factories
from eagle_core.evaluation._metrics import LAMBDAS, Curve, auc, choose, deferral_area, qnc
from eagle_core.evaluation._online import simulate_online
from eagle_core.evaluation._protocol import (
    BASELINES,
    DatasetResult,
    SubsetResult,
    default_routers,
    evaluate_dataset,
    evaluate_subset,
)
from eagle_core.evaluation._votes import JudgeSelectionError, evaluate_votes, select_judges

__all__ = [
    "BASELINES",
    "DEFAULT_LIMITS",
    "LAMBDAS",
    "BenchContext",
    "CachedEmbedder",
    "Curve",
    "DatasetResult",
    "EagleParams",
    "EngineEagleRouter",
    "JudgeSelectionError",
    "KNNRouter",
    "LinearSVRRouter",
    "MLPRouter",
    "NumpyEagleRouter",
    "OracleRouter",
    "RandomRouter",
    "Router",
    "SingleRouter",
    "SubsetResult",
    "auc",
    "cache_dir",
    "choose",
    "default_routers",
    "deferral_area",
    "eagle_factories",
    "evaluate_dataset",
    "evaluate_subset",
    "evaluate_votes",
    "qnc",
    "run_bench",
    "select_judges",
    "simulate_online",
]
