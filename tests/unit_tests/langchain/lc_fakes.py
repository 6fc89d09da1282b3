"""Test helpers for eagle_langchain: fake chat models and a callback recorder."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import BaseChatModel, GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

from eagle_langchain._text import content_text


def fake_chat(text: str) -> GenericFakeChatModel:
    """A chat model that always answers ``text``, streamed word by word."""
    return GenericFakeChatModel(messages=itertools.cycle([text]))


class ToolCallingFakeChat(BaseChatModel):
    """A deterministic tool-calling chat model, offline, answering in two agent steps.

    * a new human message naming a bound tool -> one call of that tool, its number/integer
      arguments filled in order from the numbers in the message and string arguments with the
      message text; call ids carry ``tag`` (like a provider's own ids);
    * a tool result last -> the final answer ``"<tag>: <tool result>"``;
    * otherwise -> ``"<tag>: <human message>"``.

    ``response_metadata["model_name"]`` is ``tag``, so a test sees which model answered.
    """

    tag: str
    """Name of this fake; prefixes its answers and tool-call ids."""

    @property
    def _llm_type(self) -> str:
        return "tool-calling-fake"

    def bind_tools(
        self, tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool], *,
        tool_choice: str | None = None, **kwargs: Any,
    ) -> Runnable[Any, AIMessage]:  # fmt: skip
        if tool_choice is not None:
            kwargs["tool_choice"] = tool_choice
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

    def _generate(
        self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None,
        tools: list[dict[str, Any]] | None = None, **kwargs: Any,
    ) -> ChatResult:  # fmt: skip
        last = messages[-1]
        human = next((m for m in reversed(messages) if isinstance(m, HumanMessage)), last)
        text = content_text(human.content)
        if isinstance(last, ToolMessage):
            message = AIMessage(content=f"{self.tag}: {last.content}")
        elif any(t["function"]["name"] in text for t in tools or ()):
            message = AIMessage(content="", tool_calls=[self._tool_call(tools, text, len(messages))])
        else:
            message = AIMessage(content=f"{self.tag}: {text}")
        message.response_metadata = {"model_name": self.tag}
        message.usage_metadata = {"input_tokens": len(messages), "output_tokens": 1,
                                  "total_tokens": len(messages) + 1}
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _tool_call(self, tools: list[dict[str, Any]], text: str, step: int) -> dict[str, Any]:
        functions = [t["function"] for t in tools]
        function = next(f for f in functions if f["name"] in text)
        numbers = iter(re.findall(r"-?\d+(?:\.\d+)?", text))
        args: dict[str, Any] = {}
        for name, spec in function.get("parameters", {}).get("properties", {}).items():
            kind = spec.get("type")
            if kind in ("number", "integer"):
                value = float(next(numbers, "0"))
                args[name] = int(value) if kind == "integer" else value
            elif kind == "string":
                args[name] = text
        return {"name": function["name"], "args": args, "id": f"{self.tag}-call-{step}",
                "type": "tool_call"}


class Recorder(BaseCallbackHandler):
    """Records every run start/end with its parent, name, tags and metadata."""

    def __init__(self) -> None:
        self.starts: list[dict[str, Any]] = []
        self.errors: list[tuple[UUID, BaseException]] = []
        self.tokens: list[str] = []
        self.custom: list[tuple[str, Any, UUID]] = []

    def _start(self, kind: str, serialized: Any, run_id: UUID, parent_run_id: UUID | None,
               tags: list[str] | None, metadata: dict[str, Any] | None, name: str | None) -> None:
        self.starts.append({
            "kind": kind, "run_id": run_id, "parent": parent_run_id, "name": name,
            "tags": list(tags or []), "metadata": dict(metadata or {}),
        })  # fmt: skip

    def on_chain_start(self, serialized, inputs, *, run_id, parent_run_id=None, tags=None,
                       metadata=None, **kwargs):  # noqa: ANN001
        self._start("chain", serialized, run_id, parent_run_id, tags, metadata, kwargs.get("name"))

    def on_chat_model_start(self, serialized, messages, *, run_id, parent_run_id=None, tags=None,
                            metadata=None, **kwargs):  # noqa: ANN001
        self._start("chat_model", serialized, run_id, parent_run_id, tags, metadata,
                    kwargs.get("name"))

    def on_chain_error(self, error, *, run_id, **kwargs):  # noqa: ANN001
        self.errors.append((run_id, error))

    def on_llm_new_token(self, token, **kwargs):  # noqa: ANN001
        self.tokens.append(token)

    def on_custom_event(self, name, data, *, run_id, **kwargs):  # noqa: ANN001
        self.custom.append((name, data, run_id))

    def named(self, name: str) -> list[dict[str, Any]]:
        return [s for s in self.starts if s["name"] == name]

    def chat_runs(self) -> list[dict[str, Any]]:
        return [s for s in self.starts if s["kind"] == "chat_model"]
