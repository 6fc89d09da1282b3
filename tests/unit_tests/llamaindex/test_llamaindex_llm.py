"""EagleLLM: every LLM method routed to the chosen LLM, real async and streaming, feedback, errors."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from _li_support import MODELS, loop_ticks_during, teach
from llama_index.core import Document, Settings, SummaryIndex
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.base.llms.generic_utils import (
    astream_completion_response_to_chat_response,
    completion_response_to_chat_response,
)
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    LLMMetadata,
)
from llama_index.core.llms import MockLLM
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.custom import CustomLLM
from llama_index.core.llms.mock import MockFunctionCallingLLM
from llama_index.core.tools import FunctionTool

from eagle_core import ConfigError, Eagle, EagleConfig, UnknownModelError
from eagle_llamaindex import (
    DECISION_ID_KEY,
    MODEL_KEY,
    EagleLLM,
    MissingDecisionError,
    ReplayLLM,
    capture_decisions,
)

CODE = ["Write a Python function that reverses a linked list.", "Implement quicksort in Python.",
        "Fix the bug in this Python loop that never terminates."]
TRIVIA = ["What is the capital of France?", "Who wrote Hamlet?", "What is the largest ocean?"]


class StepLLM(CustomLLM):
    """Streams ``n`` chunks, counting how many it has produced; sync methods can be forbidden."""

    n: int = 4
    produced: int = 0
    sync_allowed: bool = True

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(model_name="step", context_window=1000, num_output=64)

    def _check_sync(self) -> None:
        if not self.sync_allowed:
            raise AssertionError("a sync method was called on the async path")

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        self._check_sync()
        return CompletionResponse(text="step " * self.n)

    @llm_completion_callback()
    async def acomplete(self, prompt: str, formatted: bool = False,
                        **kwargs: Any) -> CompletionResponse:
        await asyncio.sleep(0)
        return CompletionResponse(text="step " * self.n)

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False,
                        **kwargs: Any) -> CompletionResponseGen:
        self._check_sync()

        def gen() -> CompletionResponseGen:
            for i in range(self.n):
                self.produced += 1
                yield CompletionResponse(text="step " * (i + 1), delta="step ")

        return gen()

    @llm_completion_callback()
    async def astream_complete(self, prompt: str, formatted: bool = False,
                               **kwargs: Any) -> CompletionResponseAsyncGen:
        async def gen() -> CompletionResponseAsyncGen:
            for i in range(self.n):
                await asyncio.sleep(0)
                self.produced += 1
                yield CompletionResponse(text="step " * (i + 1), delta="step ")

        return gen()

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return completion_response_to_chat_response(await self.acomplete(""))

    @llm_chat_callback()
    async def astream_chat(self, messages: Sequence[ChatMessage],
                           **kwargs: Any) -> ChatResponseAsyncGen:
        return astream_completion_response_to_chat_response(await self.astream_complete(""))


def _user(text: str) -> list[ChatMessage]:
    return [ChatMessage(role="system", content="be brief"), ChatMessage(role="user", content=text)]


def test_complete_and_chat_route_and_tag_the_response(eagle: Eagle, replays: Any) -> None:
    teach(eagle, "mixtral", CODE)
    llm = EagleLLM(llms=replays, eagle=eagle)

    done = llm.complete("Implement heapsort in Python.")
    assert done.text == "answer from mixtral" and done.additional_kwargs[MODEL_KEY] == "mixtral"
    decision = llm.decision_for(done)
    assert decision.model == "mixtral" and decision.query == "Implement heapsort in Python."

    said = llm.chat(_user("Implement heapsort in Python."))
    assert said.message.content == "answer from mixtral"
    assert llm.decision_for(said).query == "Implement heapsort in Python."  # last user message


def test_streams_arrive_chunk_by_chunk(eagle: Eagle) -> None:
    step = StepLLM()
    llm = EagleLLM(llms={"gpt-4o": step, "mixtral": StepLLM()}, eagle=eagle,
                   cost_weight=0.0)
    teach(eagle, "gpt-4o", TRIVIA)
    seen = []
    for i, chunk in enumerate(llm.stream_complete("What is the capital of Peru?")):
        assert step.produced == i + 1, "EagleLLM must not buffer the stream"
        seen.append(chunk.delta)
        assert chunk.additional_kwargs[MODEL_KEY] == "gpt-4o"
    assert seen == ["step "] * 4

    step.produced = 0
    chunks = list(llm.stream_chat(_user("What is the capital of Peru?")))
    assert [c.delta for c in chunks] == ["step "] * 4 and step.produced == 4
    assert len({c.additional_kwargs[DECISION_ID_KEY] for c in chunks}) == 1


async def test_async_methods_use_the_chosen_llms_async_methods(make_eagle: Callable[..., Eagle]) -> None:
    # exploration off: the routes here get no rating back, so up to max_explore_share of them may
    # be explored (EagleConfig.explore_share); the test is about the async plumbing
    eagle = make_eagle(dict(MODELS), config=EagleConfig(seed=0, explore=False))
    step = StepLLM(sync_allowed=False)
    llm = EagleLLM(llms={"gpt-4o": step, "mixtral": StepLLM(sync_allowed=False)}, eagle=eagle)
    teach(eagle, "gpt-4o", TRIVIA)

    done = await llm.acomplete("Who painted the Mona Lisa?")
    assert done.text == "step " * 4 and done.additional_kwargs[MODEL_KEY] == "gpt-4o"
    said = await llm.achat(_user("Who painted the Mona Lisa?"))
    assert said.message.content.strip() == "step step step step"

    received = 0
    async for _chunk in await llm.astream_complete("Who painted the Mona Lisa?"):
        received += 1
        assert step.produced == received  # incremental, from the async generator
    assert received == 4
    deltas = [c.delta async for c in await llm.astream_chat(_user("Who painted it?"))]
    assert deltas == ["step "] * 4


async def test_achat_does_not_block_the_event_loop(make_eagle: Callable[..., Eagle],
                                                   embedder: Any, replays: Any) -> None:
    def slow_embed(texts: list[str]) -> Any:
        time.sleep(0.3)
        return embedder.embed(texts)

    eagle = make_eagle(dict(MODELS), embedder=slow_embed)
    llm = EagleLLM(llms=replays, eagle=eagle)
    # the first call also opens the engine
    said, ticks = await loop_ticks_during(llm.achat(_user("a question never seen")))
    assert said.message.content.startswith("answer from")
    assert ticks >= 10, f"the loop was blocked while routing ({ticks} ticks)"


def test_settings_llm_routes_a_query_engine_on_the_question(eagle: Eagle, replays: Any) -> None:
    teach(eagle, "mixtral", TRIVIA)
    Settings.llm = EagleLLM(llms=replays, eagle=eagle)
    engine = SummaryIndex.from_documents([Document(text="Lima is the capital of Peru.")]
                                         ).as_query_engine()
    with capture_decisions() as decisions:
        response = engine.query("What is the capital of Peru?")
    assert str(response) == "answer from mixtral"
    assert [d.query for d in decisions] == ["What is the capital of Peru?"]  # not the whole prompt


async def test_streaming_query_engine_through_settings(eagle: Eagle, replays: Any) -> None:
    replays["gpt-4o"] = ReplayLLM(model="gpt-4o", responses={}, default="Lima is the capital")
    teach(eagle, "gpt-4o", TRIVIA)
    Settings.llm = EagleLLM(llms=replays, eagle=eagle)
    engine = SummaryIndex.from_documents([Document(text="Lima is the capital of Peru.")]
                                         ).as_query_engine(streaming=True)
    tokens = list(engine.query("What is the capital of Peru?").response_gen)
    assert tokens == ["Lima ", "is ", "the ", "capital"]


def test_feedback_changes_later_routing(make_eagle: Callable[..., Eagle], replays: Any) -> None:
    # exploration off: an explored late pick is allowed behaviour, not a failure to learn
    eagle = make_eagle(dict(MODELS), config=EagleConfig(explore=False))
    llm = EagleLLM(llms=replays, eagle=eagle)
    picks = []
    for question in CODE * 3:
        response = llm.complete(question)
        picks.append(response.additional_kwargs[MODEL_KEY])
        if picks[-1] == "gpt-4o":
            llm.record_feedback(response, better="mixtral")
        else:
            llm.record_feedback(response, thumbs=True)
    assert picks[-3:] == ["mixtral"] * 3
    assert llm.complete("Write a Python generator.").additional_kwargs[MODEL_KEY] == "mixtral"


async def test_async_feedback_on_a_stream_chunk(eagle: Eagle, replays: Any) -> None:
    llm = EagleLLM(llms=replays, eagle=eagle)
    chunks = [c async for c in await llm.astream_complete(TRIVIA[0])]
    chosen = chunks[-1].additional_kwargs[MODEL_KEY]
    before = eagle.ratings[chosen]
    await llm.arecord_feedback(chunks[-1], score=1.0)
    assert eagle.ratings[chosen] > before


def test_metadata_reflects_the_routed_llms(eagle: Eagle) -> None:
    small = MockLLM(max_tokens=10)
    llm = EagleLLM(llms={"gpt-4o": StepLLM(), "mixtral": small}, eagle=eagle)
    meta = llm.metadata
    assert meta.context_window == 1000 and meta.num_output == 64
    assert meta.model_name == "eagle(gpt-4o,mixtral)"
    assert not meta.is_chat_model and not meta.is_function_calling_model
    assert llm.to_dict()["class_name"] == "EagleLLM"


def test_tool_calls_go_to_function_calling_llms_only(eagle: Eagle, replays: Any) -> None:
    teach(eagle, "mixtral", TRIVIA)  # mixtral ranks first, but cannot call tools
    llms = {"gpt-4o": MockFunctionCallingLLM(), "mixtral": replays["mixtral"]}
    llm = EagleLLM(llms=llms, eagle=eagle)
    assert llm.metadata.is_function_calling_model

    def capital(country: str = "Peru") -> str:
        """Capital of a country."""
        return "Lima"

    tool = FunctionTool.from_defaults(capital)
    response = llm.chat_with_tools([tool], user_msg="What is the capital of Peru?")
    assert response.additional_kwargs[MODEL_KEY] == "gpt-4o"
    calls = llm.get_tool_calls_from_response(response, error_on_no_tool_call=False)
    assert [c.tool_name for c in calls] == ["capital"]
    assert llm.predict_and_call([tool], user_msg="capital of Peru?").response == "Lima"

    only_text = EagleLLM(llms=replays, eagle=eagle)
    with pytest.raises(ConfigError, match="needs a function-calling LLM"):
        only_text.chat_with_tools([tool], user_msg="capital?")


async def test_a_function_agent_runs_on_the_routed_llm(eagle: Eagle, replays: Any) -> None:
    calls: list[str] = []

    def capital(country: str = "Peru") -> str:
        """Capital of a country."""
        calls.append(country)
        return "Lima"

    llm = EagleLLM(llms={"gpt-4o": MockFunctionCallingLLM(), "mixtral": replays["mixtral"]},
                   eagle=eagle)
    agent = FunctionAgent(tools=[FunctionTool.from_defaults(capital)], llm=llm)
    with capture_decisions() as decisions:
        result = await agent.run("What is the capital of Peru?")
    assert str(result) == "Tool calls complete." and calls == ["Peru"]
    assert [d.model for d in decisions] == ["gpt-4o", "gpt-4o"]  # one per agent step


def test_errors_of_the_chosen_llm_surface(eagle: Eagle) -> None:
    class Broken(StepLLM):
        @llm_completion_callback()
        def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> Any:
            raise RuntimeError("provider down")

    llm = EagleLLM(llms={"gpt-4o": Broken(), "mixtral": Broken()}, eagle=eagle)
    n_before = eagle.n_feedback
    with pytest.raises(RuntimeError, match="provider down"):
        llm.complete("hello")
    assert eagle.n_feedback == n_before  # a failure is not feedback


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"llms": {}}, "llms must be a non-empty dict"),
        ({"llms": {"gpt-4o": "not an llm"}}, r"LlamaIndex LLM instances.*'gpt-4o': 'str'"),
        ({"judge_probability": 1.5}, r"judge_probability must be a number in \[0, 1\], got 1.5"),
        ({"judge_probability": 0.5}, "needs a judge"),
        ({"judge": 42, "judge_probability": 0.5}, "judge must be a callable"),
        ({"eagle": None}, "eagle must be an eagle_core.Eagle"),
    ],
)
def test_bad_arguments_are_typed_errors(eagle: Eagle, replays: Any, kwargs: dict[str, Any],
                                        message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        EagleLLM(**{"llms": replays, "eagle": eagle, **kwargs})


def test_llm_names_unknown_to_the_engine(eagle: Eagle, replays: Any) -> None:
    llm = EagleLLM(llms={**replays, "llama-3": MockLLM()}, eagle=eagle)
    with pytest.raises(UnknownModelError, match=r"\['llama-3'\].*eagle.add_model"):
        llm.complete("hello")
    with pytest.raises(MissingDecisionError):
        llm.record_feedback(CompletionResponse(text="not routed"), thumbs=True)


def test_judge_never_delays_the_answer_and_its_verdict_is_recorded(eagle: Eagle,
                                                                   replays: Any) -> None:
    release = threading.Event()
    verdicts: list[tuple[str, str]] = []

    def judge(query: str, answer_a: str, answer_b: str) -> str:
        release.wait(10)
        verdicts.append((answer_a, answer_b))
        return "a" if "mixtral" in answer_a else "b"  # mixtral's answer is always better

    teach(eagle, "gpt-4o", CODE[:1])
    llm = EagleLLM(llms=replays, eagle=eagle, judge=judge, judge_probability=1.0, judge_seed=0)
    start = time.monotonic()
    response = llm.complete(CODE[1])
    chunks = list(llm.stream_complete(CODE[2]))
    assert time.monotonic() - start < 5 and not verdicts  # both answered while the judge waits
    assert response.additional_kwargs[MODEL_KEY] == "gpt-4o" and chunks

    release.set()
    judgements = llm.wait_for_judgements(timeout=30)
    assert [(j.model, j.opponent, j.outcome) for j in judgements] == [("gpt-4o", "mixtral", "loss")] * 2
    assert sorted(verdicts[0]) == ["answer from gpt-4o", "answer from mixtral"]
    assert llm.wait_for_judgements() == []
    llm.close()


async def test_llm_judge_in_async_mode(eagle: Eagle, replays: Any) -> None:
    judge = ReplayLLM(model="judge", responses={}, default="TIE")
    llm = EagleLLM(llms=replays, eagle=eagle, judge=judge, judge_probability=1.0)
    await llm.achat(_user("Who wrote Hamlet?"))
    judgements = await llm.await_judgements(timeout=30)
    assert [j.outcome for j in judgements] == ["tie"]
    assert eagle.n_feedback == 1


def test_judge_probability_zero_never_judges(eagle: Eagle, replays: Any) -> None:
    llm = EagleLLM(llms=replays, eagle=eagle, judge=lambda *a: "a", judge_probability=0.0)
    llm.complete("hello")
    assert llm.wait_for_judgements(timeout=5) == [] and eagle.n_feedback == 0


def test_a_failing_judge_is_reported_not_raised(eagle: Eagle, replays: Any) -> None:
    llm = EagleLLM(llms=replays, eagle=eagle, judge=lambda *a: "both are fine",
                   judge_probability=1.0)
    assert llm.complete("hello").text.startswith("answer from")
    (judgement,) = llm.wait_for_judgements(timeout=30)
    assert judgement.outcome is None and "must answer 'a', 'b' or 'tie'" in judgement.error
    assert eagle.n_feedback == 0
