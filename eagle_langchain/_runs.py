"""What one routed call did, remembered by LangChain run id for feedback and inspection."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from uuid import UUID

from eagle_core import UnknownDecisionError

__all__ = ["ANSWERED_EVENT", "RoutedRun", "RunLRU", "as_uuid"]

ANSWERED_EVENT = "eagle_answered"
"""Custom callback event the router dispatches once a model has answered (or all failed)."""

K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True)
class RoutedRun:
    """One call through an ``EagleRouter``."""

    run_id: UUID
    """The router's own run id."""
    decision_id: str
    query: str
    """The text Eagle routed on."""
    chosen: str
    """The model Eagle chose."""
    model: str | None = None
    """The model whose answer was returned (differs from ``chosen`` after a fallback); ``None``
    while running or when every attempt failed."""
    failed: tuple[str, ...] = ()
    """Models that raised, in the order tried."""


def as_uuid(run_id: Any) -> UUID:
    """Accept a ``UUID`` or its string form; anything else is a run this handler never saw."""
    if isinstance(run_id, UUID):
        return run_id
    try:
        return UUID(str(run_id))
    except ValueError:
        raise UnknownDecisionError(
            f"run_id must be a LangChain run id (a UUID or its string form), got {run_id!r}; take it "
            "from the run's callbacks or from config={'run_id': ...}"
        ) from None


class RunLRU(Generic[K, V]):
    """A thread-safe mapping that forgets its oldest entries beyond ``maxsize``."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def __setitem__(self, key: K, value: V) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def get(self, key: K, default: Any = None) -> Any:
        with self._lock:
            return self._data.get(key, default)

    def pop(self, key: K, default: Any = None) -> Any:
        with self._lock:
            return self._data.pop(key, default)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._data

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)

    def values(self) -> Iterator[V]:
        with self._lock:
            return iter(list(self._data.values()))
