"""Collect the decisions made while a block of code runs (e.g. one ``query_engine.query``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

__all__ = ["capture_decisions"]

_CAPTURED: ContextVar[list[Any] | None] = ContextVar("eagle_captured_decisions", default=None)


@contextmanager
def capture_decisions() -> Iterator[list[Any]]:
    """Yield a list that fills with every ``RouteDecision`` made inside the block.

    A query engine whose ``Settings.llm`` is ``EagleLLM`` may call the LLM several times (refine,
    tree summarize). Its ``Response`` already carries their ids (``metadata["eagle_decision_ids"]``,
    enough for ``record_feedback(response, ...)``); this gives the ``RouteDecision`` objects of any
    block of code. Works across ``await`` (context variables), not across threads started inside.
    """
    captured: list[Any] = []
    token = _CAPTURED.set(captured)
    try:
        yield captured
    finally:
        _CAPTURED.reset(token)


def note(decision: Any) -> None:
    captured = _CAPTURED.get()
    if captured is not None:
        captured.append(decision)
