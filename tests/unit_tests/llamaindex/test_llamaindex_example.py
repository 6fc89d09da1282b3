"""examples/llamaindex_router.py runs offline and its feedback moves the routing."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "llamaindex_router.py"


def test_example_feedback_moves_routing_to_the_better_engine(
    embedder: Any, capsys: pytest.CaptureFixture[str], no_network: list[Any]
) -> None:
    spec = importlib.util.spec_from_file_location("llamaindex_router_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    picks = module.main(embedder=embedder)

    assert picks["round 1"][0] == "cheap"  # equal ratings: the cheaper engine first
    assert picks["round 2"] == ["precise"] * 5  # the grader's feedback moved everything over
    assert picks["unseen"] == ["precise"] * 2
    out = capsys.readouterr().out
    assert "WRONG" in out and "background judgements" in out and "gpt-4o" in out
    assert not no_network
