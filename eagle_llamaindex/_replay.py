"""ReplayLLM: a LlamaIndex LLM answering with recorded responses (tests, demos, offline evaluation)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncGenerator, Generator, Iterable, Mapping, Sequence
from typing import Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
)
from llama_index.core.bridge.pydantic import Field
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.custom import CustomLLM

from eagle_llamaindex._errors import MissingResponseError

__all__ = ["ReplayLLM"]

_WORDS = re.compile(r"\s*\S+\s*|\s+")


class ReplayLLM(CustomLLM):
    """Answers each prompt with the response recorded for it, sync, async and streamed word by word.

    The prompt is looked up exactly; failing that, the longest recorded prompt contained in it
    (so a recorded question still matches inside a query engine's prompt template). Chats are looked
    up by their last user message.
    """

    model: str = Field(description="Name of the recorded model (also the metadata model_name).")
    responses: dict[str, str] = Field(description="Recorded prompt -> that model's response.")
    default: str | None = Field(
        default=None,
        description="Answer for prompts with no recording; None raises MissingResponseError.",
    )
    stream_delay: float = Field(
        default=0.0, ge=0.0, description="Seconds between streamed chunks (simulates generation)."
    )
    is_chat: bool = Field(default=False, description="Reported as metadata.is_chat_model.")

    @classmethod
    def class_name(cls) -> str:
        return "ReplayLLM"

    @classmethod
    def from_records(
        cls, records: Iterable[Mapping[str, str]], **kwargs: Any
    ) -> dict[str, ReplayLLM]:
        """One ReplayLLM per model from ``{"prompt", "model", "response"}`` records."""
        by_model: dict[str, dict[str, str]] = {}
        for rec in records:
            by_model.setdefault(rec["model"], {})[rec["prompt"]] = rec["response"]
        return {m: cls(model=m, responses=r, **kwargs) for m, r in by_model.items()}

    @classmethod
    def from_dataset(cls, dataset: Any, **kwargs: Any) -> dict[str, ReplayLLM]:
        """One ReplayLLM per model of an ``eagle_core.datasets.RoutingDataset`` with responses."""
        prompts = dict(zip(dataset.prompt_ids, dataset.prompts, strict=True))
        return cls.from_records(
            ({"prompt": prompts[pid], "model": model, "response": text}
             for (pid, model), text in dataset.responses().items()),
            **kwargs,
        )

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(model_name=self.model, is_chat_model=self.is_chat)

    # -- lookup ---------------------------------------------------------------------------------

    def answer(self, prompt: str) -> str:
        """The recorded response for ``prompt`` (see the class docstring for the matching)."""
        found = self.responses.get(prompt)
        if found is None:
            inside = [p for p in self.responses if p and p in prompt]
            if inside:
                found = self.responses[max(inside, key=len)]
        if found is None:
            if self.default is None:
                raise MissingResponseError(
                    f"ReplayLLM {self.model!r} has no recorded response for prompt "
                    f"{prompt[:80]!r}; record one, or pass default='...'"
                )
            found = self.default
        return found

    def _chat_answer(self, messages: Sequence[ChatMessage]) -> str:
        users = [m.content for m in messages if m.role == MessageRole.USER and m.content]
        return self.answer(users[-1] if users else self.messages_to_prompt(messages))

    def _chunks(self, text: str) -> list[str]:
        return _WORDS.findall(text) or [""]

    # -- completion -----------------------------------------------------------------------------

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return CompletionResponse(text=self.answer(prompt))

    @llm_completion_callback()
    async def acomplete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponse:
        return CompletionResponse(text=self.answer(prompt))

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        return self._gen(self.answer(prompt), _completion)

    @llm_completion_callback()
    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        return self._agen(self.answer(prompt), _completion)

    # -- chat -----------------------------------------------------------------------------------

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return _chat(self._chat_answer(messages), None)

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return _chat(self._chat_answer(messages), None)

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        return self._gen(self._chat_answer(messages), _chat)

    @llm_chat_callback()
    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        return self._agen(self._chat_answer(messages), _chat)

    # -- streaming ------------------------------------------------------------------------------

    def _gen(self, text: str, make: Any) -> Generator[Any, None, None]:
        so_far = ""
        for i, piece in enumerate(self._chunks(text)):
            if i and self.stream_delay:
                time.sleep(self.stream_delay)
            so_far += piece
            yield make(so_far, piece)

    async def _agen(self, text: str, make: Any) -> AsyncGenerator[Any, None]:
        so_far = ""
        for i, piece in enumerate(self._chunks(text)):
            if i and self.stream_delay:
                await asyncio.sleep(self.stream_delay)
            so_far += piece
            yield make(so_far, piece)


def _completion(text: str, delta: str | None) -> CompletionResponse:
    return CompletionResponse(text=text, delta=delta)


def _chat(text: str, delta: str | None) -> ChatResponse:
    return ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=text), delta=delta)
