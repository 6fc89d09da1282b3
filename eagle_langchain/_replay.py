"""A chat model that answers with recorded responses: real LLM outputs, replayed offline.

Benchmarks such as RouterBench ship every model's answer to every prompt; replaying them lets a whole
chain (prompt -> router -> parser) run against 11 "real" models in seconds, with no API keys, while
behaving like a streaming chat model (chunks, callbacks, usage metadata).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field

from eagle_core import EagleError
from eagle_langchain._text import query_text

__all__ = ["ReplayChatModel", "ResponseNotFoundError"]

_TOKEN = re.compile(r"\S+\s*|\s+")
CHARS_PER_TOKEN = 4.0


class ResponseNotFoundError(EagleError, KeyError):
    """The replay model has no recorded response for this prompt."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ReplayChatModel(BaseChatModel):
    """Chat model answering each prompt with the response recorded for it.

    The prompt is the text of the last human message (the same text ``EagleRouter`` routes on), so
    ``prompt_template | router`` finds the recorded answer when the template passes the dataset's
    prompt through unchanged.

    Example:
        ```python
        model = ReplayChatModel(model="gpt-4", responses={"2+2?": "4"})
        model.invoke("2+2?").content  # "4"
        ```
    """

    model: str
    """Name reported in ``response_metadata['model_name']`` (e.g. the dataset's model name)."""
    responses: Mapping[str, str] = Field(repr=False)
    """Prompt text -> recorded response."""
    default: str | None = None
    """Answer for unknown prompts; ``None`` raises :class:`ResponseNotFoundError` instead."""
    tokens_per_chunk: int = 1
    """Whitespace-delimited tokens per streamed chunk."""

    @classmethod
    def from_dataset(cls, dataset: Any, **kwargs: Any) -> dict[str, ReplayChatModel]:
        """One replay model per model of an ``eagle_core.datasets.RoutingDataset`` that has
        responses (e.g. RouterBench), keyed by model name; ``kwargs`` go to every model."""
        text = dict(zip(dataset.prompt_ids, dataset.prompts, strict=True))
        recorded: dict[str, dict[str, str]] = {m: {} for m in dataset.models}
        for (prompt_id, model), response in dataset.responses().items():
            recorded.setdefault(model, {})[text[prompt_id]] = response
        return {m: cls(model=m, responses=r, **kwargs) for m, r in recorded.items()}

    @property
    def _llm_type(self) -> str:
        return "eagle-replay"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": self.model, "n_responses": len(self.responses)}

    def _answer(self, messages: list[BaseMessage]) -> tuple[str, str]:
        prompt = query_text(messages)
        response = self.responses.get(prompt, self.default)
        if response is None:
            raise ResponseNotFoundError(
                f"ReplayChatModel {self.model!r} has no recorded response for the prompt "
                f"{prompt[:80]!r}; add it to responses or set default="
            )
        return prompt, response

    def _usage(self, prompt: str, response: str) -> UsageMetadata:
        n_in = math.ceil(len(prompt) / CHARS_PER_TOKEN)
        n_out = math.ceil(len(response) / CHARS_PER_TOKEN)
        return UsageMetadata(input_tokens=n_in, output_tokens=n_out, total_tokens=n_in + n_out)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        prompt, response = self._answer(messages)
        message = AIMessage(
            content=response,
            response_metadata={"model_name": self.model},
            usage_metadata=self._usage(prompt, response),
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        prompt, response = self._answer(messages)
        tokens = _TOKEN.findall(response)
        step = max(1, self.tokens_per_chunk)
        pieces = ["".join(tokens[i : i + step]) for i in range(0, len(tokens), step)] or [""]
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1
            chunk = ChatGenerationChunk(
                message=AIMessageChunk(
                    content=piece,
                    response_metadata={"model_name": self.model} if last else {},
                    usage_metadata=self._usage(prompt, response) if last else None,
                )
            )
            if run_manager:
                run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk
