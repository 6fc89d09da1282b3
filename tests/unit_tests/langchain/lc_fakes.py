"""Test helpers for eagle_langchain: fake chat models and a callback recorder."""

from __future__ import annotations

import itertools
import json
import re
import uuid
from collections.abc import Iterator
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import BaseChatModel, GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field


def fake_chat(text: str) -> GenericFakeChatModel:
    """A chat model that always answers ``text``, streamed word by word."""
    return GenericFakeChatModel(messages=itertools.cycle([text]))


class Recorder(BaseCallbackHandler):
    """Records every run start/end with its parent, name, tags, metadata and serialized form."""

    def __init__(self) -> None:
        self.starts: list[dict[str, Any]] = []
        self.errors: list[tuple[UUID, BaseException]] = []
        self.tokens: list[str] = []
        self.custom: list[tuple[str, Any, UUID]] = []

    def _start(self, kind: str, serialized: Any, run_id: UUID, parent_run_id: UUID | None,
               tags: list[str] | None, metadata: dict[str, Any] | None, name: str | None) -> None:
        self.starts.append({
            "kind": kind, "run_id": run_id, "parent": parent_run_id, "name": name,
            "tags": list(tags or []), "metadata": dict(metadata or {}), "serialized": serialized,
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


# -- a deterministic tool-calling chat model ---------------------------------------------------------
_NUMBER = re.compile(r"-?\d+")
_QUOTED = re.compile(r"'([^']+)'|\"([^\"]+)\"")


def _human_text(messages: list[BaseMessage]) -> str:
    for message in reversed(messages):
        if message.type == "human":
            return message.text
    return ""


def _fill(schema: dict[str, Any], text: str) -> dict[str, Any]:
    """Arguments for a tool's JSON schema read from the user's text: numbers in order, a quoted
    phrase (or the text) for strings."""
    numbers = iter(int(n) for n in _NUMBER.findall(text))
    quoted = next((a or b for a, b in _QUOTED.findall(text)), None)
    args: dict[str, Any] = {}
    for key, prop in (schema.get("properties") or {}).items():
        kind = prop.get("type") or next(
            (p.get("type") for p in prop.get("anyOf", []) if p.get("type") != "null"), "string"
        )
        if kind in ("integer", "number"):
            args[key] = next(numbers, 1)
        elif kind == "boolean":
            args[key] = True
        elif kind == "array":
            args[key] = []
        elif kind == "object":
            args[key] = {}
        else:
            args[key] = quoted or f"{key} for: {text[:40]}"
    return args


class ToolFakeChat(BaseChatModel):
    """Offline chat model that calls bound tools deterministically.

    With tools bound and the user's message last, it calls one tool (the forced ``tool_choice``, else
    the tool named in the message, else the first) with arguments read from the message; after tool
    results it answers ``"<name>: done (<result>)"``; otherwise it answers ``text``. Streams word by
    word, reports usage and ``model_name``. With ``named_tools_only=True`` it calls a tool only when
    forced or named in the message, else answers at once (a one-step agent turn).
    """

    name: str = "fake"
    text: str = "hello from the fake model"
    calls: list[str] = Field(default_factory=list)
    """One entry per call of this model (and of its ``bind`` / ``bind_tools`` wrappers)."""
    named_tools_only: bool = False
    """Call a tool only when ``tool_choice`` forces it or the message names it."""

    @property
    def _llm_type(self) -> str:
        return "tool-fake-chat"

    @classmethod
    def is_lc_serializable(cls) -> bool:
        return True  # dumps as ToolFakeChat(name=..., text=...): routers over it round-trip

    def bind_tools(self, tools: Any, *, tool_choice: Any = None, **kwargs: Any) -> Any:
        formatted = [convert_to_openai_tool(t) for t in tools]
        if tool_choice is not None:
            kwargs["tool_choice"] = tool_choice
        return self.bind(tools=formatted, **kwargs)

    def with_structured_output(
        self, schema: Any = None, *, include_raw: bool = False, method: str = "function_calling",
        strict: bool | None = None, **kwargs: Any,
    ) -> Any:  # fmt: skip
        # every method is answered through a forced tool call (the fake has no JSON mode)
        return super().with_structured_output(schema, include_raw=include_raw, **kwargs)

    def _reply(self, messages: list[BaseMessage], stop: list[str] | None, **kwargs: Any) -> AIMessage:
        self.calls.append(self.name)
        tools = kwargs.get("tools") or []
        text = _human_text(messages)
        usage = {"input_tokens": sum(len(m.text.split()) for m in messages) or 1}
        meta = {"model_name": self.name}
        choice = kwargs.get("tool_choice")
        if isinstance(choice, dict):
            choice = choice.get("function", {}).get("name") or choice.get("name")
        names = [t["function"]["name"] for t in tools]
        if self.named_tools_only and choice not in names and not any(n in text for n in names):
            tools = []
        if tools and messages[-1].type == "human":
            name = choice if choice in names else next((n for n in names if n in text), names[0])
            schema = tools[names.index(name)]["function"].get("parameters") or {}
            call = {"name": name, "args": _fill(schema, text), "id": f"call_{uuid.uuid4().hex[:12]}",
                    "type": "tool_call"}  # fmt: skip
            return AIMessage("", tool_calls=[call], response_metadata=meta,
                             usage_metadata={**usage, "output_tokens": 1,
                                             "total_tokens": usage["input_tokens"] + 1})
        if messages[-1].type == "tool":
            content = f"{self.name}: done ({messages[-1].text})"
        else:
            content = self.text
        for token in stop or ():
            content = content.split(token)[0] or content
        out = len(content.split())
        return AIMessage(content, response_metadata=meta, usage_metadata={
            **usage, "output_tokens": out, "total_tokens": usage["input_tokens"] + out})

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: Any = None, **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._reply(messages, stop, **kwargs))])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: Any = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        reply = self._reply(messages, stop, **kwargs)
        usage = reply.usage_metadata
        if reply.tool_calls:
            chunks = [AIMessageChunk("", tool_call_chunks=[
                {"name": c["name"], "args": json.dumps(c["args"], ensure_ascii=False), "id": c["id"],
                 "index": i, "type": "tool_call_chunk"} for i, c in enumerate(reply.tool_calls)])]
        else:
            chunks = [AIMessageChunk(token) for token in re.findall(r"\S+\s*", reply.text)]
        chunks[0] = chunks[0].model_copy(update={"usage_metadata": usage})
        chunks[-1] = chunks[-1].model_copy(update={"response_metadata": reply.response_metadata,
                                                   "chunk_position": "last"})
        for chunk in chunks:
            yield ChatGenerationChunk(message=chunk)
