"""The async twins of the engine's public calls: each runs its sync twin in a worker thread, so the
embedding and the Chroma requests never block the event loop (one logic, two faces, as in httpx)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eagle_core._decision import RouteDecision

__all__ = ["AsyncTwins"]


class AsyncTwins:
    """Mixed into :class:`~eagle_core.Eagle`: ``aroute`` and ``arecord_*``."""

    async def aroute(self, query: str, **kwargs: Any) -> RouteDecision:
        """:meth:`route` in a worker thread."""
        return await _in_thread(self.route, query, **kwargs)  # type: ignore[attr-defined]

    async def arecord_comparison(self, query: str, winner: str, loser: str, **kwargs: Any) -> str:
        return await _in_thread(self.record_comparison, query, winner, loser, **kwargs)  # type: ignore[attr-defined]

    async def arecord_scores(self, query: str, scores: Mapping[str, float], **kwargs: Any) -> str:
        return await _in_thread(self.record_scores, query, scores, **kwargs)  # type: ignore[attr-defined]

    async def arecord_thumbs(self, query: str, model: str, up: bool | float = True, **kwargs: Any) -> str:
        return await _in_thread(self.record_thumbs, query, model, up, **kwargs)  # type: ignore[attr-defined]

    async def arecord_feedback(self, decision_id: str, **kwargs: Any) -> str:
        return await _in_thread(self.record_feedback, decision_id, **kwargs)  # type: ignore[attr-defined]

    async def arecord_cost(self, decision_id: str, cost: float) -> None:
        await _in_thread(self.record_cost, decision_id, cost)  # type: ignore[attr-defined]

    async def arecord_many(self, items: Iterable[Mapping[str, Any]], **kwargs: Any) -> int:
        return await _in_thread(self.record_many, list(items), **kwargs)  # type: ignore[attr-defined]


async def _in_thread(fn: Any, *args: Any, **kwargs: Any) -> Any:
    return await asyncio.to_thread(functools.partial(fn, *args, **kwargs))
