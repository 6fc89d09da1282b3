"""ReplayLLM, EagleEmbedding, verdict parsing and decision-id extraction."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from llama_index.core import Document, VectorStoreIndex
from llama_index.core.base.llms.types import ChatMessage, ChatResponse, CompletionResponse

from eagle_core import InvalidFeedbackError
from eagle_llamaindex import (
    DECISION_ID_KEY,
    EagleEmbedding,
    MissingDecisionError,
    MissingResponseError,
    ReplayLLM,
    decision_id_of,
    parse_verdict,
)


def _replays() -> dict[str, ReplayLLM]:
    return ReplayLLM.from_records([
        {"prompt": "What is 2+2?", "model": "m1", "response": "It is 4."},
        {"prompt": "What is 2+2?", "model": "m2", "response": "5"},
        {"prompt": "Name a colour.", "model": "m1", "response": "Blue."},
    ])


def test_replay_answers_exactly_inside_templates_and_by_last_user_message() -> None:
    m1 = _replays()["m1"]
    assert m1.complete("What is 2+2?").text == "It is 4."
    assert m1.complete("Context: ...\nQuery: What is 2+2?\nAnswer: ").text == "It is 4."
    chat = [ChatMessage(role="user", content="Name a colour."),
            ChatMessage(role="assistant", content="Blue."),
            ChatMessage(role="user", content="What is 2+2?")]
    assert m1.chat(chat).message.content == "It is 4."
    assert [c.delta for c in m1.stream_complete("What is 2+2?")] == ["It ", "is ", "4."]


async def test_replay_async_and_missing_prompts() -> None:
    m2 = _replays()["m2"]
    assert (await m2.acomplete("What is 2+2?")).text == "5"
    assert [c.delta async for c in await m2.astream_chat(
        [ChatMessage(role="user", content="What is 2+2?")])] == ["5"]
    with pytest.raises(MissingResponseError, match="'m2' has no recorded response for prompt 'Nam"):
        m2.complete("Name a colour.")
    assert ReplayLLM(model="x", responses={}, default="?").complete("anything").text == "?"


def test_eagle_embedding_matches_the_engine_embedder(embedder: Any) -> None:
    embedding = EagleEmbedding(embedder=embedder)
    vector = embedding.get_text_embedding("hello world")
    assert np.allclose(vector, embedder.embed(["hello world"])[0], atol=1e-5)
    index = VectorStoreIndex.from_documents(
        [Document(text="Cats purr."), Document(text="Rust has a borrow checker.")],
        embed_model=embedding)
    (hit,) = index.as_retriever(similarity_top_k=1).retrieve("memory safety in systems languages")
    assert hit.node.get_content() == "Rust has a borrow checker."


@pytest.mark.parametrize(("raw", "verdict"), [("A", "a"), (" b.", "b"), ("TIE", "tie"),
                                              ("Answer B is better", "b"),
                                              (CompletionResponse(text="a"), "a")])
def test_parse_verdict(raw: Any, verdict: str) -> None:
    assert parse_verdict(raw) == verdict


@pytest.mark.parametrize("raw", ["", "both", None, 1, "abstain"])
def test_parse_verdict_rejects_anything_else(raw: Any) -> None:
    with pytest.raises(InvalidFeedbackError, match="judge must answer"):
        parse_verdict(raw)


def test_decision_id_of() -> None:
    tagged = ChatResponse(message=ChatMessage(content="x"), additional_kwargs={DECISION_ID_KEY: "d1"})
    assert decision_id_of(tagged) == "d1" and decision_id_of("d2") == "d2"
    for bad in ("", ChatResponse(message=ChatMessage(content="x")), object()):
        with pytest.raises(MissingDecisionError):
            decision_id_of(bad)
