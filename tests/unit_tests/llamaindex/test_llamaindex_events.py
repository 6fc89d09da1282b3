"""Decisions, feedback and judgements reach LlamaIndex instrumentation handlers, inside spans."""

from __future__ import annotations

from typing import Any

from _li_support import EventRecorder
from llama_index.core.tools import ToolMetadata

from eagle_core import Eagle
from eagle_llamaindex import (
    EagleFeedbackEvent,
    EagleJudgementEvent,
    EagleLLM,
    EagleRouteEvent,
    EagleSelector,
)


def test_selector_decision_and_feedback_events(eagle: Eagle, recorder: EventRecorder) -> None:
    selector = EagleSelector(eagle)
    choices = [ToolMetadata(name=m, description=m) for m in ("gpt-4o", "mixtral")]
    result = selector.select(choices, "What is the capital of Chile?")
    selector.record_feedback(result, thumbs=False)

    (route,) = recorder.of(EagleRouteEvent)
    assert (route.decision_id, route.model, route.choice, route.source) == (
        result.decision_id, result.model, result.model, "selector")
    assert route.query == "What is the capital of Chile?"
    assert route.span_id and route.span_id.startswith("EagleSelector._select-")
    assert {r["model"] for r in route.decision["ranking"]} == {"gpt-4o", "mixtral"}
    (feedback,) = recorder.of(EagleFeedbackEvent)
    assert feedback.decision_id == result.decision_id and feedback.feedback == {"thumbs": False}
    assert route.model_dump()["class_name"] == "EagleRouteEvent"


async def test_llm_decision_events_are_inside_the_call_span(
    eagle: Eagle, replays: Any, recorder: EventRecorder
) -> None:
    llm = EagleLLM(llms=replays, eagle=eagle, judge=lambda q, a, b: "a", judge_probability=1.0)
    response = await llm.acomplete("Name a prime number.")
    await llm.await_judgements(timeout=30)

    (route,) = recorder.of(EagleRouteEvent)
    assert route.source == "llm" and route.choice is None
    assert route.decision_id == response.additional_kwargs["eagle_decision_id"]
    assert route.span_id and route.span_id.startswith("EagleLLM.acomplete-")
    (judgement,) = recorder.of(EagleJudgementEvent)
    assert judgement.decision_id == route.decision_id and judgement.model == route.model
    assert judgement.outcome in ("win", "loss")
    (feedback,) = recorder.of(EagleFeedbackEvent)
    assert feedback.source == "judge" and set(feedback.feedback) <= {"better", "worse"}


async def test_feedback_source_reaches_the_engine_and_the_event(
    eagle: Eagle, replays: Any, recorder: EventRecorder
) -> None:
    llm = EagleLLM(llms=replays, eagle=eagle)
    llm.record_feedback(llm.complete("Name a prime number."), thumbs=False, source="alice")
    await llm.arecord_feedback(await llm.acomplete("Name a prime number."), thumbs=True)
    selector = EagleSelector(eagle)
    choices = [ToolMetadata(name=m, description=m) for m in ("gpt-4o", "mixtral")]
    selector.record_feedback(selector.select(choices, "Name a prime number."), thumbs=True,
                             source="bob")

    audit = eagle.audit("Name a prime number.")
    assert {s.source for s in audit.sources} == {"alice", "bob", None}
    assert {s for n in audit.neighbours for s in n.sources} == {"alice", "bob", None}
    assert [e.feedback_source for e in recorder.of(EagleFeedbackEvent)] == ["alice", None, "bob"]
    assert {e.source for e in recorder.of(EagleFeedbackEvent)} == {"user"}
