"""EagleSelector in RouterQueryEngine and RouterRetriever, on the real engine (Chroma + MiniLM)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from _li_support import MODELS, loop_ticks_during, teach
from llama_index.core import Document, SummaryIndex, VectorStoreIndex
from llama_index.core.base.base_selector import MultiSelection, SingleSelection
from llama_index.core.base.response.schema import Response
from llama_index.core.query_engine import RouterQueryEngine
from llama_index.core.retrievers import RouterRetriever
from llama_index.core.tools import QueryEngineTool, RetrieverTool, ToolMetadata

from eagle_core import ConfigError, Eagle, EagleConfig, InvalidQueryError, UnknownModelError
from eagle_llamaindex import (
    EagleEmbedding,
    EagleSelection,
    EagleSelector,
    MissingDecisionError,
    ReplayLLM,
)

CODE = ["Write a Python function that reverses a linked list.",
        "Implement quicksort in Python.",
        "Fix the bug in this Python loop that never terminates."]
TRIVIA = ["What is the capital of France?", "Who wrote Hamlet?", "What is the largest ocean?"]
DOCS = [Document(text="Paris is the capital of France."),
        Document(text="Python lists are dynamic arrays; linked lists need a node class.")]


def _router(replays: dict[str, ReplayLLM], selector: EagleSelector,
            names: dict[str, str] | None = None) -> RouterQueryEngine:
    names = names or {m: m for m in MODELS}
    tools = [
        QueryEngineTool.from_defaults(
            SummaryIndex.from_documents(DOCS).as_query_engine(llm=replays[model]),
            name=tool, description=f"answers with {model}",
        )
        for tool, model in names.items()
    ]
    return RouterQueryEngine(selector=selector, query_engine_tools=tools)


def _choices(*names: str) -> list[ToolMetadata]:
    return [ToolMetadata(name=n, description=f"tool {n}") for n in names]


def test_select_returns_one_selection_with_scores_and_decision(eagle: Eagle) -> None:
    teach(eagle, "mixtral", CODE)
    result = EagleSelector(eagle).select(_choices("gpt-4o", "mixtral"), CODE[0])

    assert isinstance(result, EagleSelection)
    assert result.inds == [1] and result.choice == "mixtral" and result.model == "mixtral"
    assert f"decision_id={result.decision_id}" in result.reason
    assert "mixtral=" in result.reason and "gpt-4o=" in result.reason
    assert result.scores["mixtral"] > result.scores["gpt-4o"]
    assert eagle.decision(result.decision_id).model == "mixtral"


def test_router_query_engine_answers_with_the_selected_engine(eagle: Eagle, replays: Any) -> None:
    teach(eagle, "gpt-4o", TRIVIA)
    response = _router(replays, EagleSelector(eagle)).query("What is the capital of Italy?")

    selection = response.metadata["selector_result"]
    assert isinstance(selection, EagleSelection) and selection.model == "gpt-4o"
    assert str(response) == "answer from gpt-4o"


async def test_async_router_query_engine(eagle: Eagle, replays: Any) -> None:
    teach(eagle, "mixtral", CODE)
    response = await _router(replays, EagleSelector(eagle)).aquery("Implement mergesort in Python.")

    assert response.metadata["selector_result"].model == "mixtral"
    assert str(response) == "answer from mixtral"


async def test_aselect_does_not_block_the_event_loop(make_eagle: Callable[..., Eagle],
                                                     embedder: Any) -> None:
    def slow_embed(texts: list[str]) -> Any:
        time.sleep(0.3)
        return embedder.embed(texts)

    eagle = make_eagle(dict(MODELS), embedder=slow_embed)
    await asyncio.to_thread(eagle.open)
    result, ticks = await loop_ticks_during(
        EagleSelector(eagle).aselect(_choices("gpt-4o", "mixtral"), "a new question")
    )
    assert result.model in MODELS
    assert ticks >= 10, f"the loop was blocked while routing ({ticks} ticks in >= 0.3 s)"


@pytest.mark.parametrize("use_async", [False, True])
async def test_router_retriever_uses_the_selected_retriever(
    eagle: Eagle, embedder: Any, use_async: bool
) -> None:
    vector = VectorStoreIndex.from_documents(DOCS, embed_model=EagleEmbedding(embedder=embedder))
    summary = SummaryIndex.from_documents([Document(text="only in the summary index")])
    tools = [
        RetrieverTool.from_defaults(vector.as_retriever(similarity_top_k=1), name="vector",
                                    description="vector search"),
        RetrieverTool.from_defaults(summary.as_retriever(), name="summary", description="all"),
    ]
    teach(eagle, "mixtral", TRIVIA)
    selector = EagleSelector(eagle, tool_models={"vector": "gpt-4o", "summary": "mixtral"})
    retriever = RouterRetriever(selector=selector, retriever_tools=tools)
    query = "What is the capital of Spain?"
    nodes = await retriever.aretrieve(query) if use_async else retriever.retrieve(query)
    assert [n.node.get_content() for n in nodes] == ["only in the summary index"]

    teach(eagle, "gpt-4o", TRIVIA * 3)
    nodes = await retriever.aretrieve(query) if use_async else retriever.retrieve(query)
    assert [n.node.get_content() for n in nodes] == ["Paris is the capital of France."]


def test_feedback_on_responses_changes_later_selections(make_eagle: Callable[..., Eagle],
                                                       replays: Any) -> None:
    # exploration off: an explored pick of "fast" late in the loop is allowed behaviour, not a
    # failure to learn (with exploration on this test failed now and then)
    eagle = make_eagle(dict(MODELS), config=EagleConfig(explore=False))
    selector = EagleSelector(eagle, tool_models={"fast": "mixtral", "smart": "gpt-4o"})
    engine = _router(replays, selector, names={"fast": "mixtral", "smart": "gpt-4o"})
    picks = []
    for question in CODE * 3:
        response = engine.query(question)
        selection = response.metadata["selector_result"]
        picks.append(selection.choice)
        if selection.choice == "fast":  # the user prefers the smart engine for code
            selector.record_feedback(response, better="smart")
        else:
            selector.record_feedback(response, thumbs=True)
    assert picks[-3:] == ["smart"] * 3
    assert eagle.ratings["gpt-4o"] > eagle.ratings["mixtral"]

    response = engine.query("Write a Python class for a binary tree.")
    assert response.metadata["selector_result"].choice == "smart"


async def test_async_feedback_by_decision_id(eagle: Eagle) -> None:
    selector = EagleSelector(eagle)
    before = dict(eagle.ratings)
    result = await selector.aselect(_choices("gpt-4o", "mixtral"), TRIVIA[0])
    loser = "mixtral" if result.model == "gpt-4o" else "gpt-4o"
    returned = await selector.arecord_feedback(result.decision_id, worse=loser)
    assert returned == result.decision_id
    assert eagle.ratings[result.model] > before[result.model]


def test_feedback_from_a_plain_selector_result_reads_the_reason(eagle: Eagle) -> None:
    result = EagleSelector(eagle).select(_choices("gpt-4o", "mixtral"), TRIVIA[0])
    plain = MultiSelection(selections=[SingleSelection(index=0, reason=result.reason)])
    response = Response("x", metadata={"selector_result": plain})
    assert EagleSelector(eagle).record_feedback(response, score=1.0) == result.decision_id


def test_feedback_without_a_decision_is_a_typed_error(eagle: Eagle) -> None:
    n_before = eagle.n_feedback
    with pytest.raises(MissingDecisionError, match="carries no Eagle decision id"):
        EagleSelector(eagle).record_feedback(Response("no routing here"), thumbs=True)
    assert eagle.n_feedback == n_before


def test_unknown_choice_raises_and_leaves_the_engine_unchanged(eagle: Eagle) -> None:
    with pytest.raises(UnknownModelError, match=r"\['llama-3'\].*on_unknown='add'"):
        EagleSelector(eagle).select(_choices("gpt-4o", "llama-3"), TRIVIA[0])
    assert eagle.models == tuple(MODELS)


async def test_unknown_choice_is_added_cold_when_configured(eagle: Eagle) -> None:
    teach(eagle, "mixtral", TRIVIA)
    selector = EagleSelector(eagle, on_unknown="add", new_model_cost=0.002)
    result = await selector.aselect(_choices("mixtral", "llama-3"), TRIVIA[0])
    assert "llama-3" in eagle.models and eagle.costs["llama-3"] == 0.002
    assert eagle.ratings["llama-3"] == eagle.settings.initial_rating
    # the taught model still ranks above a cold one on its queries; the newcomer is served anyway
    # as one of its burn-in tries (docs/METHOD.md, "Newcomers")
    assert result.scores["mixtral"] > result.scores["llama-3"]
    assert result.model == "llama-3"
    assert set(result.scores) == {"mixtral", "llama-3"}


def test_choices_must_have_distinct_names(eagle: Eagle) -> None:
    selector = EagleSelector(eagle)
    with pytest.raises(ConfigError, match="has no ToolMetadata.name"):
        selector.select(["a description only", "another"], TRIVIA[0])
    with pytest.raises(ConfigError, match="each choice must map to a different model"):
        EagleSelector(eagle, tool_models={"a": "mixtral", "b": "mixtral"}).select(
            _choices("a", "b"), TRIVIA[0])
    with pytest.raises(ConfigError, match="at least one choice"):
        selector.select([], TRIVIA[0])


def test_bad_arguments_are_typed_errors(eagle: Eagle) -> None:
    with pytest.raises(ConfigError, match="on_unknown must be 'error' or 'add', got 'skip'"):
        EagleSelector(eagle, on_unknown="skip")  # type: ignore[arg-type]
    with pytest.raises(InvalidQueryError):
        EagleSelector(eagle).select(_choices("gpt-4o", "mixtral"), "   ")


def test_cost_weight_is_passed_to_the_engine(eagle: Eagle) -> None:
    result = EagleSelector(eagle, cost_weight=1000.0).select(_choices("gpt-4o", "mixtral"), "hi")
    decision = eagle.decision(result.decision_id)
    assert decision.cost_weight == 1000.0 and result.model == "mixtral"  # cheaper at equal ratings


def test_willingness_to_pay_and_budget_are_passed_to_the_engine(eagle: Eagle) -> None:
    teach(eagle, "gpt-4o", ["What is the capital of France?"])
    result = EagleSelector(eagle, willingness_to_pay=0.0).select(_choices("gpt-4o", "mixtral"), "hi")
    assert eagle.decision(result.decision_id).willingness_to_pay == 0.0 and result.model == "mixtral"
    result = EagleSelector(eagle, budget=0.005).select(_choices("gpt-4o", "mixtral"), "hi")
    assert result.model == "mixtral"  # gpt-4o costs 0.01
    with pytest.raises(ConfigError, match="not both"):
        EagleSelector(eagle, willingness_to_pay=1.0, cost_weight=1.0)


def test_explored_picks_are_marked_and_can_be_switched_off(eagle: Eagle) -> None:
    choices = _choices("gpt-4o", "mixtral")
    picks = [EagleSelector(eagle).select(choices, f"question {i}") for i in range(30)]
    explored = [p for p in picks if p.explored]
    assert explored  # no feedback yet: the engine's default tries the other model now and then
    for pick in explored:
        first = eagle.decision(pick.decision_id).ranking[0].model
        assert pick.model != first and "explored (the ranking's first is" in pick.selections[0].reason
    never = EagleSelector(eagle, explore=False)
    for i in range(30):
        pick = never.select(choices, f"question {i}")
        assert not pick.explored
        assert pick.model == eagle.decision(pick.decision_id).ranking[0].model
