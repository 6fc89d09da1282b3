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
    out = capsys.readouterr().out
    round_2 = out.split("== round 2 ==")[1].split("== unseen")[0]

    assert picks["round 1 ranked first"][0] == "cheap"  # equal ratings: the cheaper engine first
    assert picks["round 1"][0] == "cheap"  # the first route never explores
    assert picks["round 2 ranked first"] == ["precise"] * 5  # the feedback moved the ranking over
    served = picks["round 2"]  # served: the ranking's first, unless that pick was marked explored
    assert served.count("precise") >= 4
    assert served.count("cheap") == round_2.count("(explored)")
    assert picks["unseen"] == ["precise"] * 2
    assert "WRONG" in out and "background judgements" in out and "gpt-4o" in out
    assert not no_network
