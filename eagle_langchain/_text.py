"""Which text of a LangChain input Eagle routes on, and the text of an answer.

Routing needs one string per call. LangChain inputs come in many shapes, so the rule is:

* ``str`` -> the string itself;
* a ``PromptValue`` (what a prompt template emits), a ``BaseMessage`` or a list of messages (message
  objects, ``("human", "...")`` tuples or ``{"role": ..., "content": ...}`` dicts) -> the text of the
  **last human message**: that is what the user asked, while system prompts and earlier turns are
  the same for many queries and would blur the nearest-neighbour search;
* a ``dict`` -> the value under ``input_key`` when one is set, else the first of ``"input"``,
  ``"question"``, ``"query"``, ``"messages"`` present, else its only string value; that value may
  itself be any shape above.

Anything else raises :class:`eagle_core.InvalidQueryError` naming the type and the way out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, convert_to_messages
from langchain_core.outputs import ChatGeneration, Generation
from langchain_core.prompt_values import PromptValue

from eagle_core import InvalidQueryError

__all__ = ["DEFAULT_INPUT_KEYS", "content_text", "input_messages", "output_text", "query_text"]

DEFAULT_INPUT_KEYS: tuple[str, ...] = ("input", "question", "query", "messages")
"""Dict keys tried, in order, when the router has no ``input_key``."""


def content_text(content: Any) -> str:
    """Text of a message ``content``: a string, or the text blocks of a content list."""
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for block in content or ():
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, Mapping) and block.get("type") == "text":
            parts.append(str(block.get("text", "")))
    return "".join(parts)


def _last_human(messages: Sequence[BaseMessage], what: str) -> str:
    for message in reversed(messages):
        if isinstance(message, HumanMessage) or message.type == "human":
            return content_text(message.content)
    raise InvalidQueryError(
        f"cannot route {what}: it has no human message to route on "
        f"(message types {[m.type for m in messages]})"
    )


def _from_dict(value: Mapping[str, Any], input_key: str | None) -> Any:
    if input_key is not None:
        if input_key not in value:
            raise InvalidQueryError(
                f"router input_key={input_key!r} is not in the input dict (keys {sorted(value)}); "
                "set EagleRouter(input_key=...) to the key holding the user's question"
            )
        return value[input_key]
    for key in DEFAULT_INPUT_KEYS:
        if key in value:
            return value[key]
    strings = [v for v in value.values() if isinstance(v, str)]
    if len(strings) == 1:
        return strings[0]
    raise InvalidQueryError(
        f"cannot tell which key of the input dict to route on (keys {sorted(value)}); "
        f"set EagleRouter(input_key=...) or use one of {list(DEFAULT_INPUT_KEYS)}"
    )


def query_text(value: Any, input_key: str | None = None) -> str:
    """The text Eagle routes ``value`` on (see the module docstring for the rule)."""
    if isinstance(value, Mapping):
        value = _from_dict(value, input_key)
    if isinstance(value, str):
        return value
    if isinstance(value, PromptValue):
        return _last_human(value.to_messages(), type(value).__name__)
    if isinstance(value, BaseMessage):
        return _last_human([value], type(value).__name__)
    if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        try:
            messages = convert_to_messages(value)
        except (ValueError, TypeError, NotImplementedError) as exc:
            raise InvalidQueryError(
                f"cannot route a {type(value).__name__} that is not a list of messages: {exc}"
            ) from None
        return _last_human(messages, "the message list")
    raise InvalidQueryError(
        f"cannot route an input of type {type(value).__name__}; pass a str, a list of messages, "
        "a PromptValue or a dict (with EagleRouter(input_key=...) naming the text)"
    )


def input_messages(value: Any, input_key: str | None = None) -> list[BaseMessage] | None:
    """The conversation in ``value`` (a message list, a ``PromptValue`` or a dict holding one), or
    ``None`` when it is plain text; used to recognise follow-up steps of an agent turn."""
    if isinstance(value, Mapping):
        try:
            value = _from_dict(value, input_key)
        except InvalidQueryError:
            return None
    if isinstance(value, PromptValue):
        return value.to_messages()
    if isinstance(value, BaseMessage):
        return [value]
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes, bytearray)):
        try:
            return convert_to_messages(value)
        except (ValueError, TypeError, NotImplementedError):
            return None
    return None


def output_text(output: Any) -> str:
    """Readable text of a model output (message, generation, string or anything printable)."""
    if isinstance(output, str):
        return output
    if isinstance(output, BaseMessage):
        return content_text(output.content)
    if isinstance(output, ChatGeneration):
        return content_text(output.message.content)
    if isinstance(output, Generation):
        return output.text
    return str(output)
