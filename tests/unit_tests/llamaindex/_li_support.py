"""Helpers shared by the LlamaIndex tests (a uniquely named module: `conftest` is ambiguous)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent

from eagle_core import Eagle

MODELS = {"gpt-4o": 0.01, "mixtral": 0.001}
T = TypeVar("T")


class EventRecorder(BaseEventHandler):
    """Keeps every instrumentation event it sees."""

    events: list[BaseEvent] = []

    @classmethod
    def class_name(cls) -> str:
        return "EventRecorder"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        self.events.append(event)

    def of(self, kind: type[BaseEvent]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


def teach(eagle: Eagle, winner: str, queries: list[str]) -> None:
    """Feedback that ``winner`` beat every other model on ``queries``."""
    for query in queries:
        for loser in eagle.models:
            if loser != winner:
                eagle.record_comparison(query, winner=winner, loser=loser)


async def loop_ticks_during(work: Awaitable[T]) -> tuple[T, int]:
    """``work``'s result and how often a 10 ms ticker ran meanwhile (few ticks = blocked loop)."""
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    try:
        return await work, ticks
    finally:
        task.cancel()
