"""EagleChatModel: a chat model everywhere LangChain takes one (tools, structured output, agents)."""

from __future__ import annotations

import copy
import pickle
import uuid
from collections.abc import Callable
from typing import Any, ClassVar

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableBinding, RunnableLambda
from langchain_core.tools import tool
from lc_fakes import Recorder, ToolFakeChat, fake_chat
from pydantic import BaseModel

from eagle_core import ConfigError, Eagle, UnknownModelError
from eagle_langchain import AutoJudge, EagleChatModel, EagleFeedbackHandler, EagleRouter


@tool
def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


class Person(BaseModel):
    """A person."""

    name: str
    age: int


class Broken(ToolFakeChat):
    """A routed model whose provider is down."""

    def _generate(self, *args: Any, **kwargs: Any) -> Any:
        raise ConnectionError(f"{self.name} is down")

    def _stream(self, *args: Any, **kwargs: Any) -> Any:
        raise ConnectionError(f"{self.name} is down")


@pytest.fixture
def fakes() -> dict[str, ToolFakeChat]:
    return {"strong": ToolFakeChat(name="strong", text="strong answer"),
            "cheap": ToolFakeChat(name="cheap", text="cheap answer")}  # fmt: skip


@pytest.fixture
def chat(eagle: Eagle, fakes: dict[str, ToolFakeChat]) -> EagleChatModel:
    return EagleChatModel(models=fakes, eagle=eagle)


def _prefer_strong(eagle: Eagle, n: int = 3) -> None:
    for _ in range(n):
        eagle.record_comparison("What is 6 times 7?", winner="strong", loser="cheap")


# -- which model answered is on the message ----------
def test_invoke_and_stream_say_which_model_answered(chat: EagleChatModel, recorder: Recorder) -> None:
    out = chat.invoke("What is 6 times 7?", config={"callbacks": [recorder]})
    meta = out.response_metadata["eagle"]
    assert out.content == "cheap answer"  # no feedback yet: the cheaper model wins the tie
    assert meta["model"] == meta["chosen"] == "cheap" and meta["fallback"] is False
    assert chat.engine.decision(meta["decision_id"]).model == "cheap"
    outer, inner = recorder.chat_runs()
    assert inner["parent"] == outer["run_id"]
    assert outer["metadata"]["ls_provider"] == "eagle" and outer["metadata"]["ls_model_name"] == "cheap"
    assert outer["metadata"]["eagle_decision"]["model"] == "cheap"
    assert "eagle_decision" not in inner["metadata"] and inner["metadata"]["eagle_model"] == "cheap"
    chunks = list(chat.stream("What is 6 times 7?"))
    assert len(chunks) > 1 and "eagle" in chunks[0].response_metadata
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    assert total.content == "cheap answer"
    assert total.response_metadata["eagle"]["model"] == "cheap"  # once, not concatenated


async def test_async_paths_say_which_model_answered(chat: EagleChatModel) -> None:
    assert (await chat.ainvoke("hello")).response_metadata["eagle"]["model"] == "cheap"
    chunks = [c async for c in chat.astream("hello")]
    assert chunks[0].response_metadata["eagle"]["model"] == "cheap"


@pytest.mark.parametrize("mode", ["invoke", "stream"])
def test_a_fallback_is_flagged_on_the_message(eagle: Eagle, mode: str) -> None:
    chat = EagleChatModel(models={"strong": ToolFakeChat(name="strong"), "cheap": Broken(name="cheap")},
                          eagle=eagle, fallback_on_error=True)
    if mode == "invoke":
        meta = chat.invoke("hello").response_metadata["eagle"]
    else:
        meta = next(iter(chat.stream("hello"))).response_metadata["eagle"]
    assert (meta["model"], meta["chosen"], meta["fallback"], meta["failed"]) == (
        "strong", "cheap", True, ["cheap"])


def test_max_retries_retries_the_same_model_before_raising(eagle: Eagle) -> None:
    chat = EagleChatModel(models={"strong": ToolFakeChat(name="strong"), "cheap": Broken(name="cheap")},
                          eagle=eagle, max_retries=2)
    run_id = uuid.uuid4()
    with pytest.raises(ConnectionError, match="cheap is down"):
        chat.invoke("hello", config={"run_id": run_id})
    assert chat.get_run(run_id).failed == ("cheap", "cheap", "cheap")


def test_per_call_model_forces_a_model(chat: EagleChatModel) -> None:
    out = chat.invoke("hello", model="strong")
    assert out.content == "strong answer" and out.response_metadata["model_name"] == "strong"
    with pytest.raises(UnknownModelError, match="gpt-9"):
        chat.invoke("hello", model="gpt-9")


# -- tools, structured output, tokens: each model's own methods ---------------------------------------
class Spy(ToolFakeChat):
    seen: ClassVar[list[tuple[str, dict[str, Any]]]] = []

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        self.seen.append(("bind_tools", {"name": self.name, **kwargs}))
        return super().bind_tools(tools, **kwargs)

    def with_structured_output(self, schema: Any = None, **kwargs: Any) -> Any:
        self.seen.append(("with_structured_output", {"name": self.name, **kwargs}))
        return super().with_structured_output(schema, **kwargs)

    def get_num_tokens(self, text: str) -> int:
        return len(text) * (2 if self.name == "strong" else 1)


def test_bind_tools_binds_on_each_model_with_its_own_method(eagle: Eagle) -> None:
    Spy.seen = []
    chat = EagleChatModel(models={"strong": Spy(name="strong"), "cheap": Spy(name="cheap")}, eagle=eagle)
    bound = chat.bind_tools([multiply], tool_choice="multiply")
    assert isinstance(bound, RunnableBinding) and isinstance(bound.bound, EagleChatModel)
    assert sorted(s[1]["name"] for s in Spy.seen) == ["cheap", "strong"]
    assert all(s == ("bind_tools", {"name": s[1]["name"], "tool_choice": "multiply"}) for s in Spy.seen)
    assert all(m.kwargs["tools"][0]["function"]["name"] == "multiply" for m in bound.bound.models.values())
    out = bound.invoke("What is 6 times 7?")
    assert out.tool_calls[0]["name"] == "multiply" and out.tool_calls[0]["args"] == {"a": 6, "b": 7}
    assert out.response_metadata["eagle"]["model"] == "cheap"
    assert chat.models["cheap"] is not bound.bound.models["cheap"]  # the router itself is unchanged


@pytest.mark.parametrize("include_raw", [False, True])
def test_with_structured_output_per_model(eagle: Eagle, include_raw: bool) -> None:
    Spy.seen = []
    chat = EagleChatModel(models={"strong": Spy(name="strong"), "cheap": Spy(name="cheap")}, eagle=eagle)
    structured = chat.with_structured_output(Person, method="function_calling", include_raw=include_raw)
    assert isinstance(structured, EagleRouter)
    assert {s[1]["name"] for s in Spy.seen if s[0] == "with_structured_output"} == {"strong", "cheap"}
    assert all(s[1]["method"] == "function_calling" for s in Spy.seen if s[0] == "with_structured_output")
    run_id = uuid.uuid4()
    out = structured.invoke("Describe 'Ada', aged 36", config={"run_id": run_id})
    person = out["parsed"] if include_raw else out
    assert person == Person(name="Ada", age=36)
    assert chat.get_run(run_id).model == "cheap"  # shared memory: the router knows the run


def test_get_num_tokens_delegates_and_takes_the_largest(eagle: Eagle) -> None:
    chat = EagleChatModel(models={"strong": Spy(name="strong"), "cheap": Spy(name="cheap")}, eagle=eagle)
    assert chat.get_num_tokens("abcd") == 8
    assert chat.get_num_tokens_from_messages([HumanMessage("hi")]) > 0


def test_identity_and_langsmith_params(chat: EagleChatModel) -> None:
    identity = chat.asdict()  # LangChain's public view of _llm_type and _identifying_params
    assert identity["_type"] == "eagle" and set(identity["models"]) == {"strong", "cheap"}
    recorder = Recorder()
    routed = chat.invoke("hi", stop=["x"], config={"callbacks": [recorder]}).response_metadata["eagle"]
    own = [s for s in recorder.chat_runs() if s["parent"] is None]  # not the routed model's run
    expected = {"ls_provider": "eagle", "ls_model_name": routed["model"], "ls_model_type": "chat",
                "ls_stop": ["x"]}  # what tracers (LangSmith) see: the model that answered
    assert len(own) == 1 and {k: own[0]["metadata"].get(k) for k in expected} == expected


# -- one model per agent turn ----------
def _step_two(chat: Any, first: AIMessage, *, keep_metadata: bool = True) -> AIMessage:
    call = first.tool_calls[0]
    if not keep_metadata:  # e.g. a history rebuilt from another format
        first = AIMessage("", tool_calls=first.tool_calls)
    history = [HumanMessage("What is 6 times 7?"), first,
               ToolMessage("42", tool_call_id=call["id"], name=call["name"])]  # fmt: skip
    return chat.invoke(history)


@pytest.mark.parametrize(("sticky", "keep_metadata", "second"),
                         [("turn", True, "cheap"), ("turn", False, "cheap"), ("off", True, "strong")])
def test_a_turns_follow_up_steps_stay_on_its_model(
    eagle: Eagle, fakes: dict, sticky: str, keep_metadata: bool, second: str
) -> None:
    chat = EagleChatModel(models=fakes, eagle=eagle, sticky=sticky).bind_tools([multiply])
    first = chat.invoke([HumanMessage("What is 6 times 7?")])
    assert first.response_metadata["eagle"]["model"] == "cheap"
    _prefer_strong(eagle)  # a fresh routing of this text would now pick strong
    answer = _step_two(chat, first, keep_metadata=keep_metadata)
    assert answer.response_metadata["eagle"]["model"] == second
    same_decision = answer.response_metadata["eagle"]["decision_id"] == first.response_metadata[
        "eagle"]["decision_id"]
    assert same_decision is (sticky == "turn")
    assert answer.response_metadata["eagle"]["reused"] is (sticky == "turn")


def test_a_thread_keeps_its_model_across_turns(eagle: Eagle, fakes: dict) -> None:
    chat = EagleChatModel(models=fakes, eagle=eagle, sticky="thread")
    config = {"configurable": {"thread_id": "t-1"}}
    assert chat.invoke("What is 6 times 7?", config=config).response_metadata["eagle"]["model"] == "cheap"
    _prefer_strong(eagle)
    again = chat.invoke("And 7 times 8?", config=config).response_metadata["eagle"]
    assert again["model"] == "cheap" and again["reused"]
    other = chat.invoke("What is 6 times 7?", config={"configurable": {"thread_id": "t-2"}})
    assert other.response_metadata["eagle"]["model"] == "strong"


# -- agents ----------
def _flip_tool(eagle: Eagle) -> Any:
    @tool
    def multiply_and_flip(a: int, b: int) -> int:
        """Multiply two integers."""
        _prefer_strong(eagle)  # mid-turn the ratings change: without stickiness step 2 would switch
        return a * b

    return multiply_and_flip


def _agents() -> dict[str, Callable[..., Any]]:
    from langchain.agents import create_agent
    from langgraph.prebuilt import create_react_agent

    return {"create_agent": lambda model, tools: create_agent(model=model, tools=tools),
            "create_react_agent": lambda model, tools: create_react_agent(model, tools)}  # fmt: skip


@pytest.mark.filterwarnings("ignore::Warning")
@pytest.mark.parametrize("factory", ["create_agent", "create_react_agent"])
def test_agents_run_a_tool_loop_on_one_model_and_take_feedback_by_run_id(
    eagle: Eagle, fakes: dict, factory: str
) -> None:
    chat = EagleChatModel(models=fakes, eagle=eagle)
    agent = _agents()[factory](chat, [_flip_tool(eagle)])
    handler, run_id = EagleFeedbackHandler(chat), uuid.uuid4()
    result = agent.invoke({"messages": [HumanMessage("What is 6 times 7?")]},
                          config={"callbacks": [handler], "run_id": run_id})
    messages = result["messages"]
    assert [m.type for m in messages] == ["human", "ai", "tool", "ai"]
    assert messages[2].content == "42" and messages[-1].content == "cheap: done (42)"
    assert (fakes["cheap"].calls, fakes["strong"].calls) == (["cheap", "cheap"], [])  # no switch
    run = handler.get_run(run_id)  # the whole agent run: one decision
    assert (run.chosen, run.model) == ("cheap", "cheap")
    before = eagle.ratings["cheap"]
    handler.record_feedback(run_id, thumbs=True)
    assert eagle.ratings["cheap"] > before


async def test_async_agent_keeps_one_model(eagle: Eagle, fakes: dict) -> None:
    from langchain.agents import create_agent

    agent = create_agent(model=EagleChatModel(models=fakes, eagle=eagle), tools=[_flip_tool(eagle)])
    result = await agent.ainvoke({"messages": [HumanMessage("What is 6 times 7?")]})
    assert result["messages"][-1].content == "cheap: done (42)"


# -- with_fallbacks ------------------------------------------------------------------------------------------
def test_with_fallbacks_feedback_by_the_outer_run_id_reaches_the_answering_model(eagle: Eagle) -> None:
    down = EagleChatModel(models={"cheap": Broken(name="cheap")}, eagle=eagle)
    backup = EagleChatModel(models={"strong": ToolFakeChat(name="strong")}, eagle=eagle)
    safe = down.with_fallbacks([backup])
    handler, run_id = EagleFeedbackHandler(eagle), uuid.uuid4()
    out = safe.invoke("hello", config={"callbacks": [handler], "run_id": run_id})
    assert out.response_metadata["eagle"]["model"] == "strong"
    assert handler.get_run(run_id).model == "strong"
    handler.record_feedback(run_id, thumbs=False)
    assert eagle.ratings["strong"] < eagle.ratings["cheap"]


# -- copies and pickling ----------
def test_deepcopy_shares_the_engine_and_memory(chat: EagleChatModel) -> None:
    twin = copy.deepcopy(chat)
    assert twin.engine is chat.engine and twin.models["cheap"] is not chat.models["cheap"]
    run_id = uuid.uuid4()
    twin.invoke("hello", config={"run_id": run_id})
    assert chat.get_run(run_id).model == "cheap"


def test_pickle_reattaches_the_engine_in_process_and_says_how_elsewhere(
    chat: EagleChatModel, eagle: Eagle
) -> None:
    from eagle_langchain import _engines

    data = pickle.dumps(chat)
    again = pickle.loads(data)
    assert again.eagle is eagle and again.invoke("hello").content == "cheap answer"
    router = pickle.loads(pickle.dumps(EagleRouter(models={"cheap": fake_chat("c")}, eagle=eagle)))
    assert router.engine is eagle
    _engines._ENGINES.clear()  # as in another process (no public way: see test_lc_serdes.another_process)
    elsewhere = pickle.loads(data)
    with pytest.raises(ConfigError, match=r"unpickled .* router.eagle = Eagle"):
        elsewhere.invoke("hello")
    elsewhere.eagle = eagle
    assert elsewhere.invoke("hello").content == "cheap answer"
    judged = EagleChatModel(models={"cheap": ToolFakeChat()}, eagle=eagle,
                            auto_judge=AutoJudge(lambda q, a, b: "a"))
    with pytest.raises(TypeError, match="auto_judge"):
        pickle.dumps(judged)


# -- validation at construction ----------
@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [({"models": {"cheap": RunnableLambda(lambda x: x)}}, ConfigError,
      r"models\['cheap'\] must be a chat model .* EagleRouter"),
     ({"models": {"cheap": "gpt-4o"}}, ConfigError, "must be a chat model"),
     ({"sticky_turns": True}, ConfigError, "'sticky_turns'; did you mean 'sticky'"),
     ({"models": {"gpt-9": ToolFakeChat()}}, UnknownModelError, r"\['gpt-9'\]")],
)
def test_bad_arguments_fail_when_built(eagle: Eagle, kwargs: dict, error: type, fragment: str) -> None:
    with pytest.raises(error, match=fragment):
        EagleChatModel(**{"models": {"cheap": ToolFakeChat()}, "eagle": eagle, **kwargs})


def test_unknown_names_can_be_added(eagle: Eagle) -> None:
    EagleChatModel(models={"gpt-9": ToolFakeChat()}, eagle=eagle, on_unknown="add")
    assert "gpt-9" in eagle.models


def test_router_points_chat_users_to_the_chat_model(eagle: Eagle) -> None:
    with pytest.raises(ConfigError, match="EagleChatModel"):
        EagleRouter(models={"cheap": fake_chat("c")}, eagle=eagle).bind_tools([multiply])


@pytest.mark.filterwarnings("ignore::Warning")
def test_without_stickiness_the_same_agent_loop_switches_model(eagle: Eagle, fakes: dict) -> None:
    from langchain.agents import create_agent

    agent = create_agent(model=EagleChatModel(models=fakes, eagle=eagle, sticky="off"),
                         tools=[_flip_tool(eagle)])
    result = agent.invoke({"messages": [HumanMessage("What is 6 times 7?")]})
    assert (fakes["cheap"].calls, fakes["strong"].calls) == (["cheap"], ["strong"])  # switched
    assert result["messages"][-1].content == "strong: done (42)"


# -- streaming keeps the run tree and the feedback link ---------------------------------------------------
@pytest.mark.parametrize("mode", ["stream", "astream"])
async def test_streamed_runs_are_parented_and_take_feedback(
    chat: EagleChatModel, eagle: Eagle, recorder: Recorder, mode: str
) -> None:
    handler, run_id = EagleFeedbackHandler(chat), uuid.uuid4()
    config = {"callbacks": [handler, recorder], "run_id": run_id}
    if mode == "stream":
        chunks = list(chat.stream("hello", config=config))
    else:
        chunks = [c async for c in chat.astream("hello", config=config)]
    assert "".join(c.content for c in chunks) == "cheap answer"
    outer, inner = recorder.chat_runs()
    assert (outer["run_id"], inner["parent"]) == (run_id, run_id) and "nostream" in inner["tags"]
    assert chat.get_run(run_id).model == handler.get_run(run_id).model == "cheap"
    handler.record_feedback(run_id, thumbs=False)
    assert eagle.ratings["cheap"] < eagle.ratings["strong"]


@pytest.mark.filterwarnings("ignore::Warning")
def test_langgraph_message_streaming_shows_each_token_once(eagle: Eagle, fakes: dict) -> None:
    from langchain.agents import create_agent

    agent = create_agent(model=EagleChatModel(models=fakes, eagle=eagle), tools=[multiply])
    streamed = [(m.content, meta["ls_provider"]) for m, meta in agent.stream(
        {"messages": [HumanMessage("What is 6 times 7?")]}, stream_mode="messages") if m.type != "tool"]
    assert "".join(text for text, _ in streamed) == "cheap: done (42)"
    assert {provider for _, provider in streamed} == {"eagle"}


def test_eagle_router_keeps_a_turn_on_one_model_by_tool_call_id(eagle: Eagle, fakes: dict) -> None:
    router = EagleRouter(models={n: m.bind_tools([multiply]) for n, m in fakes.items()}, eagle=eagle)
    first = router.invoke([HumanMessage("What is 6 times 7?")])
    assert first.response_metadata["model_name"] == "cheap" and "eagle" not in first.response_metadata
    _prefer_strong(eagle)
    answer = _step_two(router, first)
    assert answer.content == "cheap: done (42)"  # found by the tool call id the router saw
    assert router.invoke([HumanMessage("What is 6 times 7?")]).response_metadata["model_name"] == "strong"
