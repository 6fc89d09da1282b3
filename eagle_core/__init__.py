"""eagle_core: the Eagle router engine (global + local ELO over a Chroma feedback log).

Framework-free: never imports LangChain or LlamaIndex.
"""

from __future__ import annotations

from eagle_core._audit import Audit, AuditNeighbour, SourceInfluence
from eagle_core._config import EagleConfig
from eagle_core._costs import TokenCost
from eagle_core._decision import ModelScore, RouteDecision
from eagle_core._embeddings import Embedder, SentenceTransformerEmbedder, resolve_embedder
from eagle_core._engine import Eagle
from eagle_core._errors import (
    ConfigError,
    EagleError,
    EngineClosedError,
    InvalidCostError,
    InvalidFeedbackError,
    InvalidQueryError,
    MissingDependencyError,
    StoreMismatchError,
    StoreUnavailableError,
    UnknownDecisionError,
    UnknownModelError,
)
from eagle_core._judgement import Judgement, parse_verdict
from eagle_core._leaderboard import Leaderboard, LeaderboardRow
from eagle_core._onnx_embedder import OnnxMiniLMEmbedder
from eagle_core.uniroute import ColdStartEstimator, UniRouteKMeans, UniRouteKNN

__version__ = "0.1.0"
"""The one version string of the distribution (pyproject.toml reads it)."""

__all__ = [
    "Audit",
    "AuditNeighbour",
    "ColdStartEstimator",
    "ConfigError",
    "Eagle",
    "EagleConfig",
    "EagleError",
    "Embedder",
    "EngineClosedError",
    "InvalidCostError",
    "InvalidFeedbackError",
    "InvalidQueryError",
    "Judgement",
    "Leaderboard",
    "LeaderboardRow",
    "MissingDependencyError",
    "ModelScore",
    "OnnxMiniLMEmbedder",
    "RouteDecision",
    "SentenceTransformerEmbedder",
    "SourceInfluence",
    "StoreMismatchError",
    "StoreUnavailableError",
    "TokenCost",
    "UniRouteKMeans",
    "UniRouteKNN",
    "UnknownDecisionError",
    "UnknownModelError",
    "parse_verdict",
    "resolve_embedder",
]
