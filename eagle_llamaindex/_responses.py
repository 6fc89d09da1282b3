"""Put the decisions behind a query engine's answer on the ``Response`` it returns.

A query engine builds its ``Response`` (or ``StreamingResponse``, a chat engine its
``AgentChatResponse``) itself; the LLM calls that produced it happen in nested instrumentation spans.
A span handler on LlamaIndex's root dispatcher collects every decision ``EagleLLM`` makes inside a
span, hands them up to the parent span when it closes, and writes them into
``result.metadata[DECISION_IDS_KEY]`` of every response-like result (anything with ``source_nodes``
and a ``metadata`` dict) a span returns. So ``llm.record_feedback(response, thumbs=True)`` works
without ``capture_decisions()``.

A streaming query engine calls the LLM only when its ``response_gen`` is first read, after the
query's span has closed; so the generator of a returned ``StreamingResponse`` /
``AsyncStreamingResponse`` is wrapped to note the decisions made while it is read: feedback on a
streamed response works once its first token has arrived.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from contextvars import ContextVar
from typing import Any

from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.span import SimpleSpan, active_span_id
from llama_index.core.instrumentation.span_handlers import BaseSpanHandler

__all__ = ["DECISION_IDS_KEY"]

DECISION_IDS_KEY = "eagle_decision_ids"
"""Key in ``Response.metadata``: ids of the ``EagleLLM`` decisions behind it, in call order."""

_READING: ContextVar[Any] = ContextVar("eagle_streamed_response", default=None)


class DecisionSpans(BaseSpanHandler[SimpleSpan]):
    """Span handler: which decisions were made under which open span (nothing else is kept)."""

    def model_post_init(self, context: Any) -> None:
        self._parents: dict[str, str | None] = {}
        self._decisions: dict[str, list[str]] = {}
        self._guard = threading.Lock()

    @classmethod
    def class_name(cls) -> str:
        return "EagleDecisionSpans"

    def span_enter(self, id_: str, bound_args: Any, instance: Any = None,
                   parent_id: str | None = None, tags: Any = None, **kwargs: Any) -> None:
        with self._guard:
            self._parents[id_] = parent_id

    def span_exit(self, id_: str, bound_args: Any, instance: Any = None, result: Any = None,
                  **kwargs: Any) -> None:
        ids = self._close(id_)
        if ids:
            _attach(result, ids)
        _watch(result)

    def span_drop(self, id_: str, bound_args: Any, instance: Any = None,
                  err: BaseException | None = None, **kwargs: Any) -> None:
        self._close(id_)

    def add(self, decision_id: str) -> None:
        """Record a decision under the active span (outside any span there is no response)."""
        span = active_span_id.get()
        with self._guard:
            if span in self._parents:
                self._decisions.setdefault(span, []).append(decision_id)
        reading = _READING.get()
        if reading is not None:
            _attach(reading, [decision_id])

    def _close(self, id_: str) -> list[str]:
        with self._guard:
            parent = self._parents.pop(id_, None)
            ids = self._decisions.pop(id_, [])
            if ids and parent in self._parents:
                self._decisions.setdefault(parent, []).extend(ids)
        return ids

    # BaseSpanHandler's abstract hooks: unused, span_enter/exit/drop are overridden
    def new_span(self, *args: Any, **kwargs: Any) -> None:
        return None

    def prepare_to_exit_span(self, *args: Any, **kwargs: Any) -> None:
        return None

    def prepare_to_drop_span(self, *args: Any, **kwargs: Any) -> None:
        return None


def _attach(result: Any, ids: list[str]) -> None:
    if not hasattr(result, "source_nodes") or not hasattr(result, "metadata"):
        return
    if result.metadata is None:
        result.metadata = {}
    if isinstance(result.metadata, dict):
        known = result.metadata.get(DECISION_IDS_KEY) or []
        result.metadata[DECISION_IDS_KEY] = list(dict.fromkeys([*known, *ids]))


def _watch(result: Any) -> None:
    """Wrap a streamed response's generator (once) so decisions made while reading it reach it."""
    gen = getattr(result, "response_gen", None)
    if not hasattr(result, "metadata") or getattr(gen, "gi_code", None) is _read.__code__ \
            or getattr(gen, "ag_code", None) is _aread.__code__:
        return
    if isinstance(gen, Iterator):
        result.response_gen = _read(gen, result)
    elif isinstance(gen, AsyncIterator):
        result.response_gen = _aread(gen, result)


def _read(gen: Iterator[Any], response: Any) -> Iterator[Any]:
    while True:
        token = _READING.set(response)
        try:
            item = next(gen)
        except StopIteration:
            return
        finally:
            _READING.reset(token)
        yield item


async def _aread(gen: AsyncIterator[Any], response: Any) -> AsyncIterator[Any]:
    while True:
        token = _READING.set(response)
        try:
            item = await gen.__anext__()
        except StopAsyncIteration:
            return
        finally:
            _READING.reset(token)
        yield item


_HANDLER: DecisionSpans | None = None
_INSTALL = threading.Lock()


def spans() -> DecisionSpans:
    """The handler, added to the root dispatcher on first use (once per process)."""
    global _HANDLER
    with _INSTALL:
        if _HANDLER is None:
            _HANDLER = DecisionSpans()
            get_dispatcher().add_span_handler(_HANDLER)
    return _HANDLER
