"""One model per agent turn: find which model answered the earlier steps of the current turn.

A tool-calling loop calls the model several times for one user message: ``human, ai(tool_calls),
tool, ai(tool_calls), tool, ...``. One provider's tool-call ids and message history do not carry over
to another, so every step after the first must go to the model that answered the first. The history
itself says which one: every answer carries ``response_metadata["eagle"]`` (model, decision id). When
a history lost that metadata (e.g. it was rebuilt from another format), the tool-call ids the router
saw on its answers find it instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage

__all__ = ["METADATA_KEY", "current_turn", "thread_id", "turn_answer"]

METADATA_KEY = "eagle"
"""Key of the router's entry in ``AIMessage.response_metadata``."""


def current_turn(messages: Sequence[BaseMessage]) -> list[BaseMessage]:
    """The messages after the last human message (empty when the human spoke last)."""
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].type == "human":
            return list(messages[i + 1 :])
    return []


def turn_answer(messages: Sequence[BaseMessage], by_tool_call: Any) -> tuple[str, str] | None:
    """``(model, decision_id)`` that answered the current turn so far, or ``None`` on its first step.

    ``by_tool_call``: tool-call id -> ``(model, decision_id)`` (anything with ``.get``)."""
    turn = current_turn(messages)
    for message in reversed(turn):
        if isinstance(message, AIMessage):
            meta = message.response_metadata.get(METADATA_KEY)
            if isinstance(meta, Mapping) and meta.get("model") and meta.get("decision_id"):
                return str(meta["model"]), str(meta["decision_id"])
    for message in reversed(turn):
        found = by_tool_call.get(message.tool_call_id) if isinstance(message, ToolMessage) else None
        if found is not None:
            return found
    return None


def thread_id(config: Mapping[str, Any]) -> str | None:
    """The LangGraph conversation thread of a call (``config["configurable"]["thread_id"]``)."""
    value = (config.get("configurable") or {}).get("thread_id")
    return None if value is None else str(value)
