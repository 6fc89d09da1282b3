"""What EagleLLM routes on: the user's question, out of prompts, chats and tool calls."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, ChatResponse, MessageRole
from llama_index.core.prompts.base import BasePromptTemplate

__all__ = [
    "ROUTE_OPTIONS", "Payload", "chat_text", "default_route_text", "hinted_route_text",
    "query_hint", "route_options", "tool_payload",
]

_QUERY_HINT: ContextVar[str | None] = ContextVar("eagle_query_hint", default=None)

Payload = str | Sequence[ChatMessage]

ROUTE_OPTIONS = ("model", "willingness_to_pay", "cost_weight", "budget", "explore")
"""Per-call keyword arguments EagleLLM reads for itself and never passes to the chosen LLM."""


def route_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Take the per-call routing options out of a call's keyword arguments."""
    return {key: kwargs.pop(key) for key in ROUTE_OPTIONS if key in kwargs}


@contextmanager
def query_hint(prompt: BasePromptTemplate, prompt_args: Mapping[str, Any]) -> Iterator[None]:
    """Route on the template's ``query_str`` (the user's question) rather than the whole prompt.

    Response synthesizers bind it with ``partial_format``, so look in the template's kwargs too.
    """
    query = prompt_args.get("query_str") or (getattr(prompt, "kwargs", None) or {}).get("query_str")
    token = _QUERY_HINT.set(query if isinstance(query, str) and query.strip() else None)
    try:
        yield
    finally:
        _QUERY_HINT.reset(token)


def _message_text(message: ChatMessage) -> str:
    return message.content if isinstance(message.content, str) else ""


def default_route_text(payload: Payload) -> str:
    """Text Eagle routes on: the prompt, or the last user message (all messages if none)."""
    if isinstance(payload, str):
        return payload
    for message in reversed(payload):
        if message.role == MessageRole.USER and _message_text(message).strip():
            return _message_text(message)
    return "\n".join(_message_text(m) for m in payload if _message_text(m))


def hinted_route_text(payload: Payload) -> str:
    """The question of the prompt template being formatted, else :func:`default_route_text`."""
    return _QUERY_HINT.get() or default_route_text(payload)


def chat_text(response: ChatResponse | None, deltas: list[str]) -> str:
    content = _message_text(response.message) if response is not None else ""
    return content or "".join(deltas)


def tool_payload(user_msg: str | ChatMessage | None, history: list[ChatMessage] | None) -> Payload:
    messages = list(history or [])
    if isinstance(user_msg, str):
        messages.append(ChatMessage(role=MessageRole.USER, content=user_msg))
    elif user_msg is not None:
        messages.append(user_msg)
    return messages
