"""Pin the curated public API of eagle_core."""

from __future__ import annotations

import eagle_core


def test_all_is_pinned() -> None:
    assert sorted(eagle_core.__all__) == sorted([
        "ColdStartEstimator", "ConfigError", "Eagle", "EagleConfig", "EagleError", "Embedder",
        "EngineClosedError", "InvalidCostError", "InvalidFeedbackError", "InvalidQueryError", "Leaderboard",
        "LeaderboardRow",
        "ModelScore", "RouteDecision", "SentenceTransformerEmbedder", "StoreMismatchError",
        "StoreUnavailableError", "TokenCost", "UniRouteKMeans", "UniRouteKNN", "UnknownDecisionError",
        "UnknownModelError", "resolve_embedder",
    ])
    for name in eagle_core.__all__:
        assert hasattr(eagle_core, name)


def test_core_never_imports_frameworks() -> None:
    import subprocess
    import sys

    code = ("import sys, eagle_core; "
            "bad = [m for m in sys.modules if m.startswith(('langchain', 'llama_index'))]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
