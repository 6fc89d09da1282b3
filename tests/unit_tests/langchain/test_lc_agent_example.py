"""examples/langchain_agent.py runs offline and routes, keeps the route and learns as it says."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "langchain_agent.py"


def test_agent_example_runs(embedder: Any, capsys: Any) -> None:
    spec = importlib.util.spec_from_file_location("langchain_agent_example", EXAMPLE)
    example = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(example)  # type: ignore[union-attr]
    out = example.main(embedder=embedder)
    assert out["first"]["route"].probabilities == {"big": 0.5, "small": 0.5}
    routes = [r["route"].choice for r in out["runs"]]
    assert routes == ["big", "small", "big", "small"]  # word problems vs chit-chat, as learned
    hard = out["runs"][0]["messages"]
    assert [m.type for m in hard] == ["human", "ai", "tool", "ai"]
    assert hard[1].response_metadata["model_name"] == "big" and hard[-1].content == "big: done (252.0)"
    assert [m.type for m in out["runs"][1]["messages"]] == ["human", "ai"]  # chit-chat: one step
    assert out["cheap"]["route"].choice == "small"  # the per-call budget excludes big
    assert out["routed"] == [["big", "big"], ["small"]]  # EagleChatModel: one model per turn
    assert out["eagle"].n_feedback == 48 + 4 + 2  # past comparisons + one verdict per rated run
    assert "After 48 past comparisons" in capsys.readouterr().out
