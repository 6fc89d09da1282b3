"""Instrumentation events, so routing shows up in any LlamaIndex event handler or tracer.

Events are dispatched through ``llama_index.core.instrumentation``; they carry the ``span_id`` of the
span they were emitted in (the selector's ``_select`` span, the LLM call's span, ...).
"""

from __future__ import annotations

from typing import Any

from llama_index.core.bridge.pydantic import Field
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.events import BaseEvent

__all__ = ["EagleFeedbackEvent", "EagleJudgementEvent", "EagleRouteEvent"]

dispatcher = get_dispatcher(__name__)


class EagleRouteEvent(BaseEvent):
    """Eagle picked a model (emitted by ``EagleSelector`` and ``EagleLLM``)."""

    decision_id: str
    model: str
    query: str
    source: str
    """``"selector"`` or ``"llm"``."""
    choice: str | None = None
    """Tool name the selector picked (``None`` for ``EagleLLM``)."""
    decision: dict[str, Any] = Field(default_factory=dict)
    """``RouteDecision.to_dict()``: ranking with ratings, costs and utilities."""

    @classmethod
    def class_name(cls) -> str:
        return "EagleRouteEvent"


class EagleFeedbackEvent(BaseEvent):
    """Feedback on a decision was recorded in the engine."""

    decision_id: str
    feedback: dict[str, Any]
    """The ``record_feedback`` keyword arguments, in engine model names."""
    source: str = "user"
    """``"user"`` or ``"judge"`` (automatic pairwise mode)."""
    feedback_source: str | None = None
    """Who gave it (``record_feedback(source=...)``: a user / tenant id); ``None`` = the operator."""

    @classmethod
    def class_name(cls) -> str:
        return "EagleFeedbackEvent"


class EagleJudgementEvent(BaseEvent):
    """The automatic judge compared the chosen model's answer with another model's."""

    decision_id: str
    model: str
    opponent: str
    outcome: str
    """``"win"``, ``"loss"`` or ``"tie"`` for the chosen ``model``."""

    @classmethod
    def class_name(cls) -> str:
        return "EagleJudgementEvent"


def emit(event: BaseEvent) -> None:
    dispatcher.event(event)
