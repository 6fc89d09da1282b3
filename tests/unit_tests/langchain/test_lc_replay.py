from __future__ import annotations

import pytest
from langchain_core.messages import AIMessageChunk
from langchain_core.prompts import ChatPromptTemplate

from eagle_langchain import ReplayChatModel, ResponseNotFoundError


@pytest.fixture
def replay() -> ReplayChatModel:
    return ReplayChatModel(model="m1", responses={"2+2?": "The answer is 4."})


def test_invoke_answers_the_recorded_response(replay: ReplayChatModel) -> None:
    message = replay.invoke("2+2?")
    assert message.content == "The answer is 4."
    assert message.response_metadata["model_name"] == "m1"
    assert message.usage_metadata["output_tokens"] == 4  # 16 characters / 4


def test_prompt_template_passes_through_to_the_recorded_prompt(replay: ReplayChatModel) -> None:
    prompt = ChatPromptTemplate.from_messages([("system", "be brief"), ("human", "{q}")])
    assert (prompt | replay).invoke({"q": "2+2?"}).content == "The answer is 4."


def test_stream_yields_chunks_that_add_up_to_the_response(replay: ReplayChatModel) -> None:
    chunks = list(replay.stream("2+2?"))
    assert [c.content for c in chunks if c.content] == ["The ", "answer ", "is ", "4."]
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    assert total.content == "The answer is 4."
    assert total.usage_metadata["output_tokens"] == 4


async def test_astream(replay: ReplayChatModel) -> None:
    assert "".join([c.content async for c in replay.astream("2+2?")]) == "The answer is 4."


def test_unknown_prompt_raises_or_uses_default(replay: ReplayChatModel) -> None:
    with pytest.raises(ResponseNotFoundError, match="no recorded response"):
        replay.invoke("3+3?")
    with pytest.raises(KeyError):
        list(replay.stream("3+3?"))
    assert ReplayChatModel(model="m", responses={}, default="?").invoke("x").content == "?"
