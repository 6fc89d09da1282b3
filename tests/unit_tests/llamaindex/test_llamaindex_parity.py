"""EagleLLM parity with the LangChain router: per-call options, feedback on a query engine's Response,
one model per agent turn, to_dict / from_dict."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest
from _li_support import MODELS, teach
from llama_index.core import Document, Settings, SummaryIndex
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    CompletionResponseGen,
    LLMMetadata,
)
from llama_index.core.llms import MockLLM
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.custom import CustomLLM
from llama_index.core.llms.mock import MockFunctionCallingLLMWithChatMemoryOfLastCall
from llama_index.core.tools import FunctionTool

from eagle_core import ConfigError, Eagle
from eagle_llamaindex import DECISION_ID_KEY, DECISION_IDS_KEY, MODEL_KEY, EagleLLM, ReplayLLM

TRIVIA = ["What is the capital of France?", "Who wrote Hamlet?", "What is the largest ocean?"]
QUESTION = "What is the capital of Peru?"


class KwargsLLM(CustomLLM):
    """Answers with its name and keeps the keyword arguments of every call it gets."""

    name: str
    seen: list[dict[str, Any]] = []

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(model_name=self.name)

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        self.seen.append(kwargs)
        return CompletionResponse(text=self.name)

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False,
                        **kwargs: Any) -> CompletionResponseGen:
        self.seen.append(kwargs)
        yield CompletionResponse(text=self.name, delta=self.name)

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        self.seen.append(kwargs)
        return ChatResponse(message=ChatMessage(role="assistant", content=self.name))


@pytest.fixture
def kwargs_llms() -> dict[str, KwargsLLM]:
    return {name: KwargsLLM(name=name, seen=[]) for name in MODELS}


def test_per_call_options_steer_routing_and_never_reach_the_llm(
    eagle: Eagle, kwargs_llms: dict[str, KwargsLLM]
) -> None:
    teach(eagle, "gpt-4o", TRIVIA)  # gpt-4o (0.01 USD) is rated best
    llm = EagleLLM(llms=kwargs_llms, eagle=eagle)
    assert llm.complete(QUESTION).text == "gpt-4o"
    assert llm.complete(QUESTION, budget=0.005).text == "mixtral"  # gpt-4o is over budget
    assert llm.complete(QUESTION, willingness_to_pay=0.0, temperature=0.2).text == "mixtral"
    assert llm.complete(QUESTION, model="mixtral").text == "mixtral"
    said = llm.chat([ChatMessage(role="user", content=QUESTION)], budget=0.005)
    assert said.message.content == "mixtral"
    streamed = list(llm.stream_complete(QUESTION, model="mixtral", cost_weight=1.0))
    assert streamed[-1].additional_kwargs[MODEL_KEY] == "mixtral"
    assert llm.complete(QUESTION, explore=False).text == "gpt-4o"

    seen = [kw for one in kwargs_llms.values() for kw in one.seen]
    assert len(seen) == 7 and {"temperature": 0.2} in seen
    assert not [kw for kw in seen if set(kw) & {"budget", "willingness_to_pay", "model",
                                                "cost_weight", "explore"}]


def test_exploration_is_switched_by_field_and_per_call(eagle: Eagle, replays: Any) -> None:
    def explored(llm: EagleLLM, **options: Any) -> list[bool]:
        answers = [llm.complete(f"question {i}", **options) for i in range(30)]
        return [eagle.decision(a.additional_kwargs[DECISION_ID_KEY]).explored for a in answers]

    assert any(explored(EagleLLM(llms=replays, eagle=eagle)))  # the engine's default explores
    assert not any(explored(EagleLLM(llms=replays, eagle=eagle), explore=False))
    never = EagleLLM(llms=replays, eagle=eagle, explore=False)
    assert not any(explored(never))
    assert any(explored(never, explore=None))  # None: back to the engine's setting


async def test_per_call_options_on_the_async_path(eagle: Eagle, replays: Any) -> None:
    teach(eagle, "gpt-4o", TRIVIA)
    llm = EagleLLM(llms=replays, eagle=eagle, willingness_to_pay=100.0)
    assert (await llm.acomplete(QUESTION)).text == "answer from gpt-4o"
    assert (await llm.acomplete(QUESTION, budget=0.005)).text == "answer from mixtral"
    chunks = [c async for c in await llm.astream_complete(QUESTION, model="mixtral")]
    assert chunks[-1].additional_kwargs[MODEL_KEY] == "mixtral"


def test_bad_per_call_options_are_typed_errors(eagle: Eagle, replays: Any) -> None:
    llm = EagleLLM(llms=replays, eagle=eagle)
    with pytest.raises(ConfigError, match=r"model= must be one of \['gpt-4o', 'mixtral'\].*'gpt-5'"):
        llm.complete(QUESTION, model="gpt-5")
    with pytest.raises(ConfigError, match="budget must be a finite number >= 0, got -1"):
        llm.complete(QUESTION, budget=-1)
    with pytest.raises(ConfigError, match="not both"):
        EagleLLM(llms=replays, eagle=eagle, cost_weight=1.0, willingness_to_pay=2.0)
    assert eagle.n_feedback == 0


def test_feedback_on_a_query_engine_response_without_capture(eagle: Eagle, replays: Any) -> None:
    teach(eagle, "mixtral", TRIVIA)
    llm = Settings.llm = EagleLLM(llms=replays, eagle=eagle)
    index = SummaryIndex.from_documents([Document(text="Lima is the capital of Peru.")])

    response = index.as_query_engine().query(QUESTION)
    (decision_id,) = response.metadata[DECISION_IDS_KEY]
    assert llm.decision_for(response).query == QUESTION
    before = eagle.ratings["mixtral"]
    assert llm.record_feedback(response, thumbs=False) == decision_id
    assert eagle.ratings["mixtral"] < before

    other = index.as_query_engine().query("Who wrote Hamlet?")
    assert other.metadata[DECISION_IDS_KEY] != [decision_id]  # each answer its own decision
    llm.complete("a call outside any query")  # leaves nothing behind for the next query
    third = index.as_query_engine().query("What is the largest ocean?")
    assert len(third.metadata[DECISION_IDS_KEY]) == 1


async def test_feedback_on_streaming_and_async_responses(eagle: Eagle, replays: Any) -> None:
    llm = Settings.llm = EagleLLM(llms=replays, eagle=eagle)
    index = SummaryIndex.from_documents([Document(text="Lima is the capital of Peru.")])

    streaming = index.as_query_engine(streaming=True).query(QUESTION)
    assert "".join(streaming.response_gen).startswith("answer from")  # the LLM is called here
    assert llm.decision_for(streaming).query == QUESTION
    await llm.arecord_feedback(streaming, score=1.0)

    astreaming = await index.as_query_engine(streaming=True).aquery("What is the largest ocean?")
    tokens = [t async for t in astreaming.async_response_gen()]
    assert "".join(tokens).startswith("answer from")
    assert llm.decision_for(astreaming).query == "What is the largest ocean?"

    answered = await index.as_query_engine().aquery("Who wrote Hamlet?")
    assert llm.decision_for(answered).query == "Who wrote Hamlet?"
    llm.record_feedback(answered, thumbs=True)
    assert eagle.n_feedback == 2


def _tool_llm() -> MockFunctionCallingLLMWithChatMemoryOfLastCall:
    return MockFunctionCallingLLMWithChatMemoryOfLastCall(is_chat_model=True)


async def test_a_function_agent_keeps_one_model_for_the_whole_turn(eagle: Eagle) -> None:
    """The tool call itself makes the other model the better one: without the pin, the agent's
    follow-up step would switch provider mid-turn."""
    llms = {name: _tool_llm() for name in MODELS}
    question = "What is the capital of Peru? Use the tool."

    def capital(country: str = "Peru") -> str:
        """Capital of a country."""
        for _ in range(6):  # other users' feedback arrives while the tool runs
            eagle.record_comparison(question, winner="mixtral", loser="gpt-4o")
        return "Lima"

    teach(eagle, "gpt-4o", [question])
    llm = EagleLLM(llms=llms, eagle=eagle)
    agent = FunctionAgent(tools=[FunctionTool.from_defaults(capital)], llm=llm)
    await agent.run(question)

    assert len(llms["gpt-4o"].last_called_chat_function) == 2  # tool call + final answer
    assert llms["mixtral"].last_called_chat_function == []
    assert eagle.route(question).model == "mixtral"  # what an unpinned second step would pick

    await agent.run(question)  # a new turn is routed again
    assert len(llms["mixtral"].last_called_chat_function) == 2


def test_round_trips_through_to_dict_and_from_dict(eagle: Eagle) -> None:
    llms = {"gpt-4o": ReplayLLM(model="gpt-4o", responses={QUESTION: "Lima"}, default="?"),
            "mixtral": MockLLM(max_tokens=7)}
    llm = EagleLLM(llms=llms, eagle=eagle, budget=0.5, willingness_to_pay=2.0, judge_seed=3)
    data = json.loads(json.dumps(llm.to_dict()))

    again = EagleLLM.from_dict(data, eagle=eagle)
    assert again.to_dict() == llm.to_dict()
    assert (again.budget, again.willingness_to_pay, again.judge_seed) == (0.5, 2.0, 3)
    assert again.llms["gpt-4o"].responses == {QUESTION: "Lima"}
    assert again.llms["mixtral"].max_tokens == 7
    assert again.complete(QUESTION, model="gpt-4o").text == "Lima"
    assert EagleLLM.from_json(llm.to_json(), eagle=eagle).llms.keys() == llms.keys()

    with pytest.raises(ConfigError, match="eagle must be an eagle_core.Eagle"):
        EagleLLM.from_dict(data)
    data["llms"]["mixtral"] = {"state": {}}
    with pytest.raises(ConfigError, match=r"llms\['mixtral'\] must be a dict with 'class_path'"):
        EagleLLM.from_dict(data, eagle=eagle)


def test_a_turn_is_known_by_its_history_up_to_the_user_message() -> None:
    from eagle_llamaindex._turns import TurnPins

    user = ChatMessage(role="user", content="capital of Peru?")
    step = [ChatMessage(role="assistant", content="", additional_kwargs={"tool_calls": []}),
            ChatMessage(role="tool", content="Lima")]
    pins = TurnPins(size=2)
    pins.pin([user], "decision-1")
    assert pins.pinned([user, *step]) == "decision-1"  # a follow-up step of the turn
    assert pins.pinned([user]) is None  # the same question asked again is a new turn
    other = [ChatMessage(role="system", content="be brief"), user, *step]
    assert pins.pinned(other) is None  # another conversation
    assert pins.pinned("a completion prompt") is None
    pins.pin([ChatMessage(role="user", content="a")], "decision-2")
    pins.pin([ChatMessage(role="user", content="b")], "decision-3")
    assert pins.pinned([user, *step]) is None  # forgotten beyond size


def test_a_forced_tool_call_needs_a_function_calling_model(eagle: Eagle, replays: Any) -> None:
    llm = EagleLLM(llms={"gpt-4o": _tool_llm(), "mixtral": replays["mixtral"]}, eagle=eagle)

    def capital(country: str = "Peru") -> str:
        """Capital of a country."""
        return "Lima"

    tool = FunctionTool.from_defaults(capital)
    with pytest.raises(ConfigError, match=r"model= must be one of \['gpt-4o'\] .*tool call.*'mixtral'"):
        llm.chat_with_tools([tool], user_msg=QUESTION, model="mixtral")
    response = llm.chat_with_tools([tool], user_msg=QUESTION, model="gpt-4o")
    assert response.additional_kwargs[MODEL_KEY] == "gpt-4o"
