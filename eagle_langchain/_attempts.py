"""The attempt loop: try the chosen model, then (optionally) the next-ranked ones, streaming through.

One concept for every path of both routers: ``invoke`` is a stream of one item (see :func:`deferred`),
so :func:`run_attempts` and its async twin :func:`arun_attempts` serve invoke, stream, ``_generate``
and ``_stream`` alike. A model may be replaced only before its first chunk is out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eagle_core import RouteDecision

if TYPE_CHECKING:
    from eagle_langchain._routing import RoutingBase

__all__ = ["Attempts", "Plan", "adeferred", "arun_attempts", "deferred", "run_attempts"]

NOTHING: Any = object()  # an empty stream / nothing accumulated yet
UNADDABLE: Any = object()  # chunks that do not support "+"


@dataclass(frozen=True)
class Plan:
    """Which model answers first, under which engine decision.

    ``first`` is ``decision.model`` for a fresh decision; for a follow-up step of an agent turn it is
    the model that answered the turn so far (which differs from ``decision.model`` after a fallback).
    """

    decision: RouteDecision
    first: str
    reused: bool = False
    """True when the model was taken over from an earlier step of the same turn / thread."""
    thread: str | None = None
    """The LangGraph thread the call belongs to (with ``sticky="thread"``)."""


def accumulate(total: Any, chunk: Any) -> Any:
    if total is UNADDABLE:
        return total
    if total is NOTHING:
        return chunk
    try:
        return total + chunk
    except TypeError:
        return UNADDABLE


@dataclass
class Attempts:
    """One routed call: the models to try in order, what became of each, and the answer so far."""

    owner: RoutingBase
    run_id: UUID
    plan: Plan
    input: Any
    config: Any
    """Config whose callbacks have the router's run as parent (for the ``eagle_answered`` event)."""
    names: list[str] = field(init=False)
    failures: list[tuple[str, BaseException]] = field(default_factory=list)
    output: Any = NOTHING

    def __post_init__(self) -> None:
        self.names = self.owner._attempt_order(self.plan)
        self.owner._remember(self.run_id, self.plan)

    def failed(self, name: str, exc: BaseException) -> None:
        """Note a failure before the first chunk; re-raise at once unless it may be retried."""
        self.failures.append((name, exc))
        if not isinstance(exc, self.owner.exceptions_to_handle):
            self.owner._settle(self.run_id, None, self.failures)
            raise exc
        if len(self.failures) < len(self.names):
            self.owner._log_failure(name, exc)

    def give_up(self) -> None:
        """Every attempt failed: raise the first model's error, the others attached as notes."""
        self.owner._settle(self.run_id, None, self.failures)
        first = self.failures[0][1]
        for name, exc in self.failures[1:]:
            first.add_note(f"eagle attempt {name!r} also failed: {exc!r}")
        raise first

    def broke(self, name: str, exc: BaseException) -> None:
        """The answering model failed after its first chunk (no fallback possible any more)."""
        if not isinstance(exc, GeneratorExit):
            self.owner._settle(self.run_id, None, [*self.failures, (name, exc)])

    def add(self, chunk: Any) -> Any:
        self.output = accumulate(self.output, chunk)
        return chunk


def deferred(call: Callable[[], Any]) -> Iterator[Any]:
    """A one-item stream whose item is computed on the first ``next`` (invoke as a stream)."""
    yield call()


async def adeferred(call: Callable[[], Awaitable[Any]]) -> AsyncIterator[Any]:
    """Async twin of :func:`deferred`."""
    yield await call()


def run_attempts(
    attempts: Attempts, open_stream: Callable[[str], Iterator[Any]]
) -> Iterator[tuple[str, Any]]:
    """Yield ``(model, chunk)`` from the first model that starts answering; settle when done."""
    for name in attempts.names:
        stream = open_stream(name)
        try:
            first = next(stream, NOTHING)
        except BaseException as exc:
            attempts.failed(name, exc)
            continue
        break
    else:
        attempts.give_up()
    try:
        if first is not NOTHING:
            yield name, attempts.add(first)
            for chunk in stream:
                yield name, attempts.add(chunk)
    except BaseException as exc:
        attempts.broke(name, exc)
        raise
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
    attempts.owner._after_answer(attempts, name)


async def arun_attempts(
    attempts: Attempts, open_stream: Callable[[str], AsyncIterator[Any]]
) -> AsyncIterator[tuple[str, Any]]:
    """Async twin of :func:`run_attempts`."""
    for name in attempts.names:
        stream = open_stream(name)
        try:
            first = await anext(stream, NOTHING)
        except BaseException as exc:
            attempts.failed(name, exc)
            continue
        break
    else:
        attempts.give_up()
    try:
        if first is not NOTHING:
            yield name, attempts.add(first)
            async for chunk in stream:
                yield name, attempts.add(chunk)
    except BaseException as exc:
        attempts.broke(name, exc)
        raise
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()
    await attempts.owner._aafter_answer(attempts, name)
