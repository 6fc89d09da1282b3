"""The Runnable protocol: the router behaves like the chosen model, and shows its decision."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableGenerator, RunnableLambda
from lc_fakes import Recorder, fake_chat

from eagle_core import (
    ConfigError,
    Eagle,
    EagleConfig,
    InvalidQueryError,
    UnknownDecisionError,
    UnknownModelError,
)
from eagle_langchain import EagleRouter

PROMPT = ChatPromptTemplate.from_messages([("system", "Be brief."), ("human", "{question}")])
Q = {"question": "How do I reverse a list in Python?"}


# -- the protocol ----------------------------------------------------------------------------------
def test_invoke_returns_the_chosen_models_output(router: EagleRouter) -> None:
    out = router.invoke("How do I reverse a list in Python?")
    assert isinstance(out, AIMessage)
    assert out.content == "cheap says hi"  # no feedback yet: the cheaper model wins the tie


async def test_ainvoke(router: EagleRouter) -> None:
    assert (await router.ainvoke("reverse a list")).content == "cheap says hi"


def test_batch_with_per_input_config_and_return_exceptions(router: EagleRouter) -> None:
    outs = router.batch(
        ["reverse a list", "   ", "sort a dict"],
        [{}, {}, {"configurable": {"eagle_model": "strong"}}],
        return_exceptions=True,
    )
    assert outs[0].content == "cheap says hi"
    assert isinstance(outs[1], InvalidQueryError)
    assert outs[2].content == "strong says hello there"


async def test_abatch(router: EagleRouter) -> None:
    outs = await router.abatch(["a question", "another question"])
    assert [o.content for o in outs] == ["cheap says hi", "cheap says hi"]


def test_stream_passes_the_models_chunks_through(router: EagleRouter) -> None:
    chunks = list(router.stream("reverse a list"))
    direct = list(router.models["cheap"].stream("reverse a list"))
    assert len(chunks) == len(direct) > 1
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    assert [c.content for c in chunks] == [c.content for c in direct]


async def test_astream_passes_the_models_chunks_through(router: EagleRouter) -> None:
    chunks = [c async for c in router.astream("reverse a list")]
    assert len(chunks) > 1
    assert "".join(c.content for c in chunks) == "cheap says hi"


def test_pipe_composition_and_with_config(router: EagleRouter, recorder: Recorder) -> None:
    chain = PROMPT | router.with_config(run_name="pick", tags=["routed"]) | StrOutputParser()
    assert chain.invoke(Q, config={"callbacks": [recorder]}) == "cheap says hi"
    (run,) = recorder.named("pick")
    assert "routed" in run["tags"]
    assert "".join(chain.stream(Q)) == "cheap says hi"


def test_with_fallbacks_takes_over_when_every_model_fails(eagle: Eagle) -> None:
    boom = RunnableLambda(_raise)
    router = EagleRouter(models={"strong": boom, "cheap": boom}, eagle=eagle)
    safe = router.with_fallbacks([RunnableLambda(lambda _: "fallback runnable")])
    assert safe.invoke("anything") == "fallback runnable"


def _raise(_: Any) -> Any:
    raise RuntimeError("model down")


async def test_astream_events_show_the_decision_and_the_models_tokens(router: EagleRouter) -> None:
    chain = PROMPT | router | StrOutputParser()
    events = [e async for e in chain.astream_events(Q, version="v2")]
    (start,) = [e for e in events if e["event"] == "on_chain_start" and e["name"] == "EagleRouter"]
    decision = start["metadata"]["eagle_decision"]
    assert decision["model"] == start["metadata"]["eagle_model"] == "cheap"
    assert [s["model"] for s in decision["ranking"]] == ["cheap", "strong"]
    tokens = [e for e in events if e["event"] == "on_chat_model_stream"]
    assert len(tokens) > 1 and all(e["metadata"]["eagle_model"] == "cheap" for e in tokens)
    assert any(e["event"] == "on_chain_stream" and e["name"] == "EagleRouter" for e in events)
    (answered,) = [e for e in events if e["event"] == "on_custom_event"]
    assert answered["name"] == "eagle_answered"
    assert answered["data"] == {
        "decision_id": decision["decision_id"], "model": "cheap", "failed": []
    }


# -- config propagation ------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["invoke", "stream"])
def test_config_propagates_to_the_chosen_model_as_a_child_run(
    router: EagleRouter, recorder: Recorder, mode: str
) -> None:
    config = {"callbacks": [recorder], "tags": ["t1"], "metadata": {"user": "u1"}}
    chain = PROMPT | router | StrOutputParser()
    if mode == "invoke":
        chain.invoke(Q, config=config)
    else:
        assert "".join(chain.stream(Q, config=config)) == "cheap says hi"
    (router_run,) = recorder.named("EagleRouter")
    (chat,) = recorder.chat_runs()
    assert chat["parent"] == router_run["run_id"]
    assert "t1" in chat["tags"] and chat["metadata"]["user"] == "u1"
    assert chat["metadata"]["eagle_model"] == "cheap"
    assert chat["metadata"]["eagle_decision_id"] == router_run["metadata"]["eagle_decision_id"]
    assert "eagle_decision" in router_run["metadata"]  # the full ranking: router run only
    assert "eagle_decision" not in chat["metadata"]
    assert recorder.tokens == ["cheap", " ", "says", " ", "hi"] or mode == "invoke"


async def test_async_config_propagation_and_run_name(router: EagleRouter, recorder: Recorder) -> None:
    await router.ainvoke("sort a list", config={"callbacks": [recorder], "run_name": "my-router"})
    (router_run,) = recorder.named("my-router")
    (chat,) = recorder.chat_runs()
    assert chat["parent"] == router_run["run_id"]


def test_routing_runs_off_the_event_loop(router: EagleRouter, monkeypatch: Any) -> None:
    threads: list[int] = []
    route = router.engine.route

    def spy(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.get_ident())
        return route(*args, **kwargs)

    monkeypatch.setattr(router.engine, "route", spy)
    loop_thread = threading.get_ident()
    asyncio.run(router.ainvoke("where does embedding run?"))
    assert threads and threads[0] != loop_thread


# -- streaming is incremental ----------------------------------------------------------------------
def test_stream_yields_each_chunk_as_the_model_produces_it(eagle: Eagle) -> None:
    produced: list[int] = []

    def tokens(inputs: Iterator[Any]) -> Iterator[str]:
        for _ in inputs:
            pass
        for i in range(4):
            produced.append(i)
            yield f"t{i} "

    router = EagleRouter(models={"strong": RunnableGenerator(tokens), "cheap": RunnableGenerator(tokens)},
                         eagle=eagle)
    seen = []
    for chunk in router.stream("stream me"):
        seen.append((chunk, len(produced)))
    assert seen == [("t0 ", 1), ("t1 ", 2), ("t2 ", 3), ("t3 ", 4)]


async def test_astream_yields_each_chunk_as_the_model_produces_it(eagle: Eagle) -> None:
    produced: list[int] = []

    async def tokens(inputs: AsyncIterator[Any]) -> AsyncIterator[str]:
        async for _ in inputs:
            pass
        for i in range(3):
            produced.append(i)
            yield f"t{i} "

    gen = RunnableGenerator(tokens)
    router = EagleRouter(models={"strong": gen, "cheap": gen}, eagle=eagle)
    seen = [(chunk, len(produced)) async for chunk in router.astream("stream me")]
    assert seen == [("t0 ", 1), ("t1 ", 2), ("t2 ", 3)]


# -- the decision is visible and retrievable --------------------------------------------------------
def test_get_decision_by_the_routers_run_id(router: EagleRouter) -> None:
    run_id = uuid.uuid4()
    router.invoke("sort a list", config={"run_id": run_id})
    decision = router.get_decision(run_id)
    assert decision.model == "cheap" and decision.query == "sort a list"
    assert router.get_run(str(run_id)).model == "cheap"
    with pytest.raises(UnknownDecisionError, match="no routing decision"):
        router.get_decision(uuid.uuid4())


# -- per-call options ----------------------------------------------------------------------------------
def test_force_a_model_per_call(router: EagleRouter) -> None:
    run_id = uuid.uuid4()
    out = router.invoke("q", config={"configurable": {"eagle_model": "strong"}, "run_id": run_id})
    assert out.content == "strong says hello there"
    assert router.get_decision(run_id).forced


def test_cost_options_reach_the_engine(make_eagle: Callable[..., Eagle], two_models: dict) -> None:
    eagle = make_eagle({"strong": 0.01, "cheap": 0.001}, config=EagleConfig(explore=False))  # ranking
    eagle.record_comparison("warm up", winner="strong", loser="cheap")
    router = EagleRouter(models=two_models, eagle=eagle)
    assert router.invoke("pick one").content.startswith("strong")  # quality only
    cheap_cfg = {"configurable": {"eagle_budget": 0.005}}
    assert router.invoke("pick one", config=cheap_cfg).content.startswith("cheap")
    wtp = {"configurable": {"eagle_willingness_to_pay": 0.0001}}
    assert router.invoke("pick one", config=wtp).content.startswith("cheap")
    weighted = EagleRouter(models=two_models, eagle=eagle, budget=0.005)
    assert weighted.invoke("pick one").content.startswith("cheap")  # router-level default
    cleared = {"configurable": {"eagle_budget": None}}
    assert weighted.invoke("pick one", config=cleared).content.startswith("strong")


def _explored(router: EagleRouter, n: int, configurable: dict | None = None) -> list[bool]:
    flags = []
    for i in range(n):
        run_id = uuid.uuid4()
        router.invoke(f"question {i}", config={"configurable": configurable or {}, "run_id": run_id})
        flags.append(router.get_decision(run_id).explored)
    return flags


def test_exploration_is_switched_per_router_and_per_call(
    make_eagle: Callable[..., Eagle], two_models: dict
) -> None:
    eagle = make_eagle({"strong": 0.01, "cheap": 0.001}, config=EagleConfig(seed=3))  # explores
    router = EagleRouter(models=two_models, eagle=eagle)
    assert any(_explored(router, 30))  # the engine's default: unrated models get tried
    assert not any(_explored(router, 30, {"eagle_explore": False}))
    never = EagleRouter(models=two_models, eagle=eagle, explore=False)
    assert not any(_explored(never, 30))
    assert any(_explored(never, 30, {"eagle_explore": None}))  # None: back to the engine's setting


@pytest.mark.parametrize(
    ("configurable", "error", "fragment"),
    [
        ({"eagle_budjet": 1.0}, ConfigError, "eagle_budjet"),
        ({"eagle_model": "gpt-9"}, UnknownModelError, "gpt-9"),
        ({"eagle_budget": -1.0}, ConfigError, "budget"),
        ({"eagle_cost_weight": 1.0, "eagle_willingness_to_pay": 1.0}, ConfigError, "not both"),
        ({"eagle_explore": "no"}, ConfigError, "explore must be True, False or None"),
    ],
)
def test_bad_per_call_options_raise_typed_errors_and_show_in_tracing(
    router: EagleRouter, recorder: Recorder, configurable: dict, error: type, fragment: str
) -> None:
    with pytest.raises(error, match=fragment):
        router.invoke("q", config={"configurable": configurable, "callbacks": [recorder]})
    assert [type(e) for _, e in recorder.errors] == [error]
    assert recorder.chat_runs() == []


async def test_unroutable_input_fails_on_both_paths(router: EagleRouter, recorder: Recorder) -> None:
    with pytest.raises(InvalidQueryError):
        await router.ainvoke({"a": "x", "b": "y"}, config={"callbacks": [recorder]})
    with pytest.raises(InvalidQueryError):
        list(router.stream(""))
    assert len(recorder.errors) == 1


def test_input_key_selects_the_routing_text(eagle: Eagle) -> None:
    echo = RunnableLambda(lambda d: d["other"])
    router = EagleRouter(models={"strong": echo, "cheap": echo}, eagle=eagle, input_key="text")
    run_id = uuid.uuid4()
    assert router.invoke({"text": "the routed text", "other": "x"}, config={"run_id": run_id}) == "x"
    assert router.get_decision(run_id).query == "the routed text"


# -- construction ------------------------------------------------------------------------------------
def test_default_engine_is_built_lazily_from_the_model_names(
        two_models: dict, in_memory_collections: Callable[[], set[str]]) -> None:
    before = in_memory_collections()
    router = EagleRouter(models=two_models)
    assert router.eagle is None
    assert in_memory_collections() == before  # nothing opened or loaded by the constructor
    assert set(router.engine.models) == {"strong", "cheap"}
    assert len(in_memory_collections() - before) == 3  # the default engine's in-memory store
    assert router.engine is router.engine
    assert router.invoke("hello").content in {"strong says hello there", "cheap says hi"}


def test_default_engine_with_costs(two_models: dict) -> None:
    router = EagleRouter(models=two_models, costs={"strong": 0.01, "cheap": 0.001})
    assert router.engine.costs == {"strong": 0.01, "cheap": 0.001}


def test_router_may_use_a_subset_of_the_engines_models(make_eagle: Callable[..., Eagle]) -> None:
    eagle = make_eagle({"strong": 0.01, "cheap": 0.001, "other": 0.0})
    router = EagleRouter(models={"strong": fake_chat("s"), "cheap": fake_chat("c")}, eagle=eagle)
    run_id = uuid.uuid4()
    assert router.invoke("q", config={"run_id": run_id}).content == "c"  # "other" is free but absent
    assert {s.model for s in router.get_decision(run_id).ranking} == {"strong", "cheap"}


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({"models": {}}, ConfigError, "at least one model"),
        ({"models": ["a"]}, ConfigError, "dict name -> Runnable"),
        ({"models": {"strong": fake_chat("s")}, "costs": {"strong": 1.0}, "eagle": "E"},
         ConfigError, "not both"),
        ({"models": {"strong": fake_chat("s")}, "costs": {"other": 1.0}}, ConfigError, "exactly"),
        ({"models": {"strong": fake_chat("s")}, "max_remembered": 0}, ConfigError, "max_remembered"),
        ({"models": {"strong": fake_chat("s")}, "cost_weight": 1.0, "willingness_to_pay": 2.0},
         ConfigError, "not both"),
    ],
)
def test_bad_construction_raises_typed_errors(
    eagle: Eagle, kwargs: dict, error: type, fragment: str
) -> None:
    if kwargs.get("eagle") == "E":
        kwargs["eagle"] = eagle
    with pytest.raises(error, match=fragment):
        EagleRouter(**kwargs)


def test_model_names_must_be_engine_models_at_construction(eagle: Eagle) -> None:
    with pytest.raises(UnknownModelError, match=r"\['gpt-9'\].*add_model.*on_unknown='add'"):
        EagleRouter(models={"strong": fake_chat("s"), "gpt-9": fake_chat("g")}, eagle=eagle)
    assert eagle.models == ("strong", "cheap")  # nothing added
    router = EagleRouter(models={"strong": fake_chat("s"), "gpt-9": fake_chat("g")}, eagle=eagle,
                         on_unknown="add")
    assert eagle.models == ("strong", "cheap", "gpt-9")
    eagle.remove_model("gpt-9")  # removed at runtime: the per-call check names it
    with pytest.raises(UnknownModelError, match=r"\['gpt-9'\]"):
        router.invoke("q")


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [({"fallback_on_eror": True}, "'fallback_on_eror'; did you mean 'fallback_on_error'"),
     ({"budjet": 1.0}, "did you mean 'budget'"),
     ({"models": {"strong": 42}}, r"models\['strong'\] must be a Runnable"),
     ({"eagle": "not an engine"}, "eagle must be an eagle_core.Eagle"),
     ({"max_retries": -1}, "max_retries must be an int >= 0")],
)
def test_misspelled_or_wrong_arguments_fail_at_construction(kwargs: dict, fragment: str) -> None:
    kwargs = {"models": {"strong": fake_chat("s")}, **kwargs}
    with pytest.raises(ConfigError, match=fragment):
        EagleRouter(**kwargs)


def test_plain_callables_become_runnables(eagle: Eagle) -> None:
    router = EagleRouter(models={"strong": lambda x: f"S:{x}", "cheap": lambda x: f"C:{x}"},
                         eagle=eagle)
    assert router.invoke("q") == "C:q"


def test_config_specs_list_the_per_call_options(router: EagleRouter) -> None:
    ids = {spec.id for spec in router.config_specs}
    assert {"eagle_model", "eagle_budget", "eagle_cost_weight", "eagle_willingness_to_pay",
            "eagle_explore"} <= ids
