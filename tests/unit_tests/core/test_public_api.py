"""Pin the curated public API of eagle_core."""

from __future__ import annotations

import eagle_core


def test_all_is_pinned() -> None:
    assert sorted(eagle_core.__all__) == sorted([
        "Audit", "AuditNeighbour", "ColdStartEstimator", "ConfigError", "Eagle", "EagleConfig",
        "EagleError", "Embedder", "EngineClosedError", "InvalidCostError", "InvalidFeedbackError",
        "InvalidQueryError", "Leaderboard", "LeaderboardRow", "ModelScore", "RouteDecision",
        "SentenceTransformerEmbedder", "SourceInfluence", "StoreMismatchError",
        "StoreUnavailableError", "TokenCost", "UniRouteKMeans", "UniRouteKNN", "UnknownDecisionError",
        "UnknownModelError", "resolve_embedder",
        "Judgement", "parse_verdict",  # the judges' verdicts (eagle_core._judgement)
        "OnnxMiniLMEmbedder", "MissingDependencyError",  # opt-in ONNX MiniLM (eagle_core._onnx_embedder)
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


def test_packaging_has_one_version_and_ships_py_typed() -> None:
    from pathlib import Path

    import pytest

    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

    import numpy as np

    root = Path(eagle_core.__file__).resolve().parents[1]
    meta = tomllib.loads((root / "pyproject.toml").read_text())
    assert "version" not in meta["project"] and meta["project"]["dynamic"] == ["version"]
    assert meta["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "eagle_core.__version__"}
    deps = meta["project"]["dependencies"]
    assert "numpy>=2.0" in deps and hasattr(np, "trapezoid")  # the evaluation code needs numpy 2
    for package in ("eagle_core", "eagle_langchain", "eagle_llamaindex"):
        assert (root / package / "py.typed").is_file()
