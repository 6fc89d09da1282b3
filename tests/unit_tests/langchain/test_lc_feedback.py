"""EagleFeedbackHandler: decisions by run id, feedback by run id, and feedback changes routing."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from lc_fakes import fake_chat

from eagle_core import ConfigError, Eagle, InvalidFeedbackError, UnknownDecisionError
from eagle_langchain import EagleFeedbackHandler, EagleRouter

PROMPT = ChatPromptTemplate.from_messages([("human", "{question}")])


@pytest.fixture
def handler(router: EagleRouter) -> EagleFeedbackHandler:
    return EagleFeedbackHandler(router)


def _ask(chain: Any, handler: EagleFeedbackHandler, question: str) -> uuid.UUID:
    run_id = uuid.uuid4()
    chain.invoke({"question": question}, config={"callbacks": [handler], "run_id": run_id})
    return run_id


def test_every_run_id_in_the_tree_finds_the_decision(
    router: EagleRouter, handler: EagleFeedbackHandler, recorder: Any
) -> None:
    chain = PROMPT | router | StrOutputParser()
    root = uuid.uuid4()
    chain.invoke({"question": "sort a list"}, config={"callbacks": [handler, recorder], "run_id": root})
    (router_run,) = recorder.named("EagleRouter")
    (chat_run,) = recorder.chat_runs()
    runs = {handler.get_run(i) for i in (root, router_run["run_id"], chat_run["run_id"])}
    assert len(runs) == 1
    (run,) = runs
    assert (run.chosen, run.model, run.query) == ("cheap", "cheap", "sort a list")
    assert handler.get_decision(str(root)).decision_id == run.decision_id
    assert handler.runs == (run,)


def test_unknown_and_ambiguous_run_ids(router: EagleRouter, handler: EagleFeedbackHandler) -> None:
    with pytest.raises(UnknownDecisionError, match="callbacks=\\[handler\\]"):
        handler.get_run(uuid.uuid4())
    both = router | (lambda m: m.content) | router  # two routing decisions under one root
    root = uuid.uuid4()
    both.invoke("first question", config={"callbacks": [handler], "run_id": root})
    with pytest.raises(InvalidFeedbackError, match="2 routing decisions"):
        handler.record_feedback(root, thumbs=True)


def test_thumbs_down_moves_later_routing_to_the_other_model(
    router: EagleRouter, handler: EagleFeedbackHandler, eagle: Eagle
) -> None:
    chain = PROMPT | router | StrOutputParser()
    run_id = _ask(chain, handler, "How do I reverse a list in Python?")
    assert handler.get_run(run_id).model == "cheap"
    handler.record_feedback(run_id, thumbs=False)
    assert eagle.ratings["cheap"] < eagle.ratings["strong"]
    again = _ask(chain, handler, "How can I reverse a Python list?")
    assert handler.get_run(again).model == "strong"


@pytest.mark.parametrize(
    ("feedback", "cheap_wins"),
    [({"thumbs": True}, True), ({"thumbs": "down"}, False), ({"score": 0.0}, False),
     ({"better": "strong"}, False), ({"worse": "strong"}, True)],
)
def test_feedback_kinds_by_run_id(
    router: EagleRouter, handler: EagleFeedbackHandler, eagle: Eagle, feedback: dict,
    cheap_wins: bool,
) -> None:
    run_id = _ask(PROMPT | router, handler, "a question")
    event_id = handler.record_feedback(run_id, **feedback)
    assert isinstance(event_id, str) and event_id
    assert (eagle.ratings["cheap"] > eagle.ratings["strong"]) is cheap_wins


def test_tie_feedback_keeps_equal_ratings(
    router: EagleRouter, handler: EagleFeedbackHandler, eagle: Eagle
) -> None:
    handler.record_feedback(_ask(PROMPT | router, handler, "q"), tie="strong")
    assert eagle.n_feedback == 1  # stored; the default config scores no match for a draw
    assert eagle.ratings["cheap"] == pytest.approx(eagle.ratings["strong"])


@pytest.mark.parametrize(
    ("feedback", "fragment"),
    [({}, "exactly one"), ({"thumbs": True, "score": 1.0}, "exactly one"),
     ({"better": "cheap"}, "names the model"), ({"score": 2.0}, r"\[0, 1\]")],
)
def test_bad_feedback_raises_and_records_nothing(
    router: EagleRouter, handler: EagleFeedbackHandler, eagle: Eagle, feedback: dict,
    fragment: str,
) -> None:
    run_id = _ask(PROMPT | router, handler, "q")
    with pytest.raises(InvalidFeedbackError, match=fragment):
        handler.record_feedback(run_id, **feedback)
    assert eagle.n_feedback == 0


async def test_async_feedback_on_an_async_run(
    router: EagleRouter, handler: EagleFeedbackHandler, eagle: Eagle
) -> None:
    run_id = uuid.uuid4()
    chunks = [c async for c in (PROMPT | router).astream(
        {"question": "q"}, config={"callbacks": [handler], "run_id": run_id})]
    assert chunks
    await handler.arecord_feedback(run_id, thumbs=False)
    assert eagle.ratings["cheap"] < eagle.ratings["strong"]


def test_feedback_goes_to_the_model_that_answered_after_a_fallback(
    make_eagle: Callable[..., Eagle],
) -> None:
    eagle = make_eagle({"strong": 0.01, "cheap": 0.001})
    broken = fake_chat("never")
    object.__setattr__(broken, "messages", iter(()))  # StopIteration inside: the model fails
    router = EagleRouter(models={"strong": fake_chat("ok"), "cheap": broken}, eagle=eagle,
                         fallback_on_error=True)
    handler = EagleFeedbackHandler(eagle)
    run_id = _ask(PROMPT | router, handler, "q")
    run = handler.get_run(run_id)
    assert (run.chosen, run.model, run.failed) == ("cheap", "strong", ("cheap",))
    handler.record_feedback(run_id, thumbs=True)  # about strong's answer, not cheap's
    assert eagle.ratings["strong"] > eagle.ratings["cheap"]


def test_handler_rejects_bad_arguments(eagle: Eagle) -> None:
    with pytest.raises(ConfigError, match="Eagle or an EagleRouter"):
        EagleFeedbackHandler("engine")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="max_runs"):
        EagleFeedbackHandler(eagle, max_runs=0)


def test_handler_forgets_beyond_max_runs(router: EagleRouter) -> None:
    handler = EagleFeedbackHandler(router, max_runs=2)
    ids = [_ask(PROMPT | router, handler, f"question {i}") for i in range(3)]
    with pytest.raises(UnknownDecisionError):
        handler.get_run(ids[0])
    assert handler.get_run(ids[2]).query == "question 2"


async def test_feedback_by_run_id_carries_its_source_to_the_engine(
    router: EagleRouter, handler: EagleFeedbackHandler, eagle: Eagle
) -> None:
    chain = PROMPT | router | StrOutputParser()
    first = _ask(chain, handler, "sort a list")
    handler.record_feedback(first, thumbs=False, source="alice")
    second = uuid.uuid4()
    await chain.ainvoke({"question": "sort a list"}, config={"callbacks": [handler], "run_id": second})
    await handler.arecord_feedback(second, thumbs=True, source="bob")

    audit = eagle.audit("sort a list")
    assert {s.source for s in audit.sources} == {"alice", "bob"}
    assert {s for n in audit.neighbours for s in n.sources} == {"alice", "bob"}
