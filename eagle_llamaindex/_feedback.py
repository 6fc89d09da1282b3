"""Feedback on a routing decision, given the decision id or anything that carries it."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from eagle_llamaindex._errors import MissingDecisionError
from eagle_llamaindex._events import EagleFeedbackEvent, emit
from eagle_llamaindex._responses import DECISION_IDS_KEY

__all__ = ["DECISION_ID_KEY", "MODEL_KEY", "decision_id_of"]

DECISION_ID_KEY = "eagle_decision_id"
"""Key of the decision id in ``ChatResponse`` / ``CompletionResponse.additional_kwargs``."""
MODEL_KEY = "eagle_model"
"""Key of the chosen model's name in ``additional_kwargs``."""

_REASON_ID = re.compile(r"decision_id=([\w-]+)")


def decision_id_of(target: Any) -> str:
    """The decision id carried by ``target``.

    Accepts the id itself, a ``RouteDecision``, an ``EagleSelection`` (``selector_result``), a query
    engine ``Response`` routed by ``EagleSelector`` (``response.metadata["selector_result"]``), a
    query / chat engine response answered by ``EagleLLM`` (``metadata["eagle_decision_ids"]``: the
    last decision, the one that wrote the final answer), or a ``ChatResponse`` /
    ``CompletionResponse`` from ``EagleLLM`` (``additional_kwargs``).
    """
    if isinstance(target, str):
        if target:
            return target
        raise MissingDecisionError("decision id must be a non-empty string, got ''")
    found = getattr(target, "decision_id", None)
    if isinstance(found, str) and found:
        return found
    metadata = getattr(target, "metadata", None)
    if isinstance(metadata, Mapping) and metadata.get("selector_result") is not None:
        return decision_id_of(metadata["selector_result"])
    if isinstance(metadata, Mapping) and metadata.get(DECISION_IDS_KEY):
        return str(metadata[DECISION_IDS_KEY][-1])
    extra = getattr(target, "additional_kwargs", None)
    if isinstance(extra, Mapping) and isinstance(extra.get(DECISION_ID_KEY), str):
        return extra[DECISION_ID_KEY]
    for reason in _reasons(target):
        match = _REASON_ID.search(reason)
        if match:
            return match.group(1)
    raise MissingDecisionError(
        f"{type(target).__name__} object carries no Eagle decision id; pass the decision id, a "
        "Response from a RouterQueryEngine using EagleSelector or from a query engine answered by "
        "EagleLLM, or a ChatResponse/CompletionResponse from EagleLLM "
        f"(got {target!r:.200})"
    )


def _reasons(target: Any) -> list[str]:
    selections = getattr(target, "selections", None)
    if isinstance(selections, list):
        return [s.reason for s in selections if isinstance(getattr(s, "reason", None), str)]
    return []


def feedback_kwargs(
    to_model: Callable[[str], str],
    *,
    thumbs: bool | None,
    score: float | None,
    better: str | None,
    worse: str | None,
    tie: str | None,
    scores: Mapping[str, float] | None,
) -> dict[str, Any]:
    """Keyword arguments for ``Eagle.record_feedback`` with names translated to engine models."""
    kwargs: dict[str, Any] = {}
    if thumbs is not None:
        kwargs["thumbs"] = thumbs
    if score is not None:
        kwargs["score"] = score
    for key, name in (("better", better), ("worse", worse), ("tie", tie)):
        if name is not None:
            kwargs[key] = to_model(name)
    if scores is not None:
        kwargs["scores"] = {to_model(name): value for name, value in scores.items()}
    return kwargs


def record(eagle: Any, decision_id: str, kwargs: dict[str, Any], origin: str = "user",
           source: str | None = None) -> None:
    """Store the feedback (``source``: who gave it, for the engine) and emit the event (``origin``:
    ``"user"`` or ``"judge"``)."""
    eagle.record_feedback(decision_id, **kwargs, source=source)
    emit(EagleFeedbackEvent(decision_id=decision_id, feedback=kwargs, source=origin,
                            feedback_source=source))


async def arecord(eagle: Any, decision_id: str, kwargs: dict[str, Any], origin: str = "user",
                  source: str | None = None) -> None:
    await eagle.arecord_feedback(decision_id, **kwargs, source=source)
    emit(EagleFeedbackEvent(decision_id=decision_id, feedback=kwargs, source=origin,
                            feedback_source=source))


class FeedbackMethods:
    """``record_feedback`` / ``arecord_feedback`` for a class holding an ``eagle`` engine.

    Shared by ``EagleLLM`` (names in feedback are engine models) and ``EagleSelector`` (names are
    tool names, translated by overriding :meth:`_feedback_model`).
    """

    eagle: Any

    def _feedback_model(self, name: str) -> str:
        """The engine model a name given in feedback stands for."""
        return name

    def record_feedback(
        self,
        target: Any,
        *,
        thumbs: bool | None = None,
        score: float | None = None,
        better: str | None = None,
        worse: str | None = None,
        tie: str | None = None,
        scores: Mapping[str, float] | None = None,
        source: str | None = None,
    ) -> str:
        """Feedback on a routed call or selection; returns its decision id.

        ``target``: anything :func:`decision_id_of` accepts (a decision id, a ``RouteDecision``, an
        ``EagleSelection``, a routed ``Response``, or a response / stream chunk of ``EagleLLM``).
        ``thumbs`` / ``score`` rate the chosen answer; ``better="x"``: x would have answered
        better; ``worse="x"``: the chosen one beat x; ``tie="x"``; ``scores`` per name.
        ``source``: who gives it (user / tenant id; ``None`` = the operator), passed to the engine,
        which bounds each source's influence.
        """
        decision_id = decision_id_of(target)
        kwargs = feedback_kwargs(self._feedback_model, thumbs=thumbs, score=score, better=better,
                                 worse=worse, tie=tie, scores=scores)
        record(self.eagle, decision_id, kwargs, source=source)
        return decision_id

    async def arecord_feedback(
        self,
        target: Any,
        *,
        thumbs: bool | None = None,
        score: float | None = None,
        better: str | None = None,
        worse: str | None = None,
        tie: str | None = None,
        scores: Mapping[str, float] | None = None,
        source: str | None = None,
    ) -> str:
        """Async twin of :meth:`record_feedback` (the store write runs in a worker thread)."""
        decision_id = decision_id_of(target)
        kwargs = feedback_kwargs(self._feedback_model, thumbs=thumbs, score=score, better=better,
                                 worse=worse, tie=tie, scores=scores)
        await arecord(self.eagle, decision_id, kwargs, source=source)
        return decision_id
