"""LangChain serialization (dumpd / load) of the routers: routed models by their own to_json, the engine
by reference, re-attached on load (live in this process, or a persistent store reopened)."""

from __future__ import annotations

import pickle
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.load import dumpd, dumps, load, loads
from langchain_core.prompts import ChatPromptTemplate, HumanMessagePromptTemplate, PromptTemplate
from langchain_core.runnables import RunnableSequence
from lc_fakes import Recorder, ToolFakeChat, fake_chat

from eagle_core import ConfigError, Eagle, EagleConfig
from eagle_langchain import AutoJudge, EagleChatModel, EagleRouter, _engines, register_engine

pytestmark = pytest.mark.filterwarnings("ignore::langchain_core._api.beta_decorator.LangChainBetaWarning")

ALLOWED = [EagleChatModel, EagleRouter, ToolFakeChat, ChatPromptTemplate, HumanMessagePromptTemplate,
           PromptTemplate, RunnableSequence]
NAMESPACES = ["eagle_langchain", "lc_fakes"]


def _load(data: Any) -> Any:
    return load(data, valid_namespaces=NAMESPACES, allowed_objects=ALLOWED)


def _models() -> dict[str, ToolFakeChat]:
    return {"strong": ToolFakeChat(name="strong", text="strong answer"),
            "cheap": ToolFakeChat(name="cheap", text="cheap answer")}


@pytest.fixture
def another_process() -> Iterator[None]:
    """Forget every live engine, as a fresh process would; restore afterwards. The registry is
    private and there is no public way to forget an engine (it holds weak references: an engine
    disappears when garbage-collected); a second process per test would cost seconds of imports."""
    saved = dict(_engines._ENGINES)
    _engines._ENGINES.clear()
    yield
    _engines._ENGINES.update(saved)


def test_chat_model_round_trips_in_process_onto_the_same_engine(eagle: Eagle) -> None:
    chat = EagleChatModel(models=_models(), eagle=eagle, sticky="off", temperature=0.5)
    data = dumpd(chat)
    assert data["id"] == ["eagle_langchain", "EagleChatModel"]
    assert data["kwargs"]["models"]["cheap"]["id"] == ["lc_fakes", "ToolFakeChat"]
    assert set(data["kwargs"]["eagle"]) == {"eagle_engine"}  # in-memory: a registry key only
    again = loads(dumps(chat), valid_namespaces=NAMESPACES, allowed_objects=ALLOWED)
    assert again.eagle is eagle and again.sticky == "off" and again.temperature == 0.5
    message = again.invoke("hello")
    assert message.content == "cheap answer" and message.response_metadata["eagle"]["model"] == "cheap"


def test_router_round_trips_with_serializable_runnables(eagle: Eagle) -> None:
    prompt = ChatPromptTemplate.from_messages([("human", "{question}")])
    router = EagleRouter(models={"strong": prompt | ToolFakeChat(name="strong"),
                                 "cheap": prompt | ToolFakeChat(name="cheap", text="cheap!")},
                         eagle=eagle, input_key="question")  # fmt: skip
    again = _load(dumpd(router))
    assert again.engine is eagle and again.input_key == "question"
    assert again.invoke({"question": "hi"}).content == "cheap!"


def test_a_persistent_store_is_reopened_in_another_process(
    tmp_path: Path, make_eagle: Callable[..., Eagle], another_process: None
) -> None:
    config = EagleConfig(p=0.4)
    eagle = make_eagle({"strong": 0.01, "cheap": 0.001}, path=tmp_path / "store", collection="coll1",
                       config=config)  # fmt: skip
    eagle.record_comparison("sort a list", winner="strong", loser="cheap")
    data = dumpd(EagleChatModel(models=_models(), eagle=eagle))
    assert data["kwargs"]["eagle"]["path"] == str(tmp_path / "store")
    _engines._ENGINES.clear()
    again = _load(data)
    reopened = again.eagle
    try:
        assert reopened is not eagle and reopened.collection == "coll1" and reopened.config == config
        assert reopened.ratings == eagle.ratings  # the same store's feedback
        assert _load(data).eagle is reopened  # routers loaded next share the reopened engine
    finally:
        reopened.close()


def test_an_engine_that_is_not_live_is_a_typed_error_naming_the_fix(
    eagle: Eagle, make_eagle: Callable[..., Eagle], another_process: None
) -> None:
    register_engine(eagle, "prod")
    data = dumpd(EagleChatModel(models=_models(), eagle=eagle))
    _engines._ENGINES.clear()
    with pytest.raises(ConfigError, match=r"key 'prod'.*register_engine\(eagle, 'prod'\)"):
        _load(data)
    here = make_eagle({"strong": 0.01, "cheap": 0.001})
    register_engine(here, "prod")
    assert _load(data).eagle is here


def test_what_cannot_be_serialized_fails_on_load_naming_it(eagle: Eagle) -> None:
    unserializable = EagleChatModel(models={"strong": fake_chat("s"), "cheap": ToolFakeChat()},
                                    eagle=eagle)  # fmt: skip
    with pytest.raises(NotImplementedError, match="GenericFakeChatModel"):
        _load(dumpd(unserializable))
    judged = EagleChatModel(models=_models(), eagle=eagle, auto_judge=AutoJudge(lambda q, a, b: "a"))
    with pytest.raises(NotImplementedError, match="AutoJudge"):
        _load(dumpd(judged))
    handled = EagleChatModel(models=_models(), eagle=eagle, exceptions_to_handle=(TimeoutError,))
    assert "exceptions_to_handle" in dumpd(handled)["kwargs"]
    assert "exceptions_to_handle" not in dumpd(EagleChatModel(models=_models(), eagle=eagle))["kwargs"]


def test_the_default_engine_is_rebuilt_from_costs(another_process: None) -> None:
    chat = EagleChatModel(models=_models(), costs={"strong": 0.01, "cheap": 0.001})
    chat.invoke("hello")
    data = dumpd(chat)
    assert "eagle" not in data["kwargs"] and data["kwargs"]["costs"] == {"strong": 0.01, "cheap": 0.001}
    again = _load(data)
    assert again.engine is not chat.engine and again.invoke("hello").content == "cheap answer"


def test_pickle_uses_the_same_reference_to_reopen_a_persistent_store(
    tmp_path: Path, make_eagle: Callable[..., Eagle], another_process: None
) -> None:
    eagle = make_eagle({"strong": 0.01, "cheap": 0.001}, path=tmp_path / "store")
    chat = EagleChatModel(models=_models(), eagle=eagle)
    run_id = uuid.uuid4()
    chat.invoke("hello", config={"run_id": run_id})
    data = pickle.dumps(chat)
    _engines._ENGINES.clear()
    again = pickle.loads(data)
    try:
        assert again.eagle is not eagle and again.eagle.path == str(tmp_path / "store")
        assert again.invoke("hello").response_metadata["eagle"]["model"] == "cheap"
        assert dumpd(again)["kwargs"]["eagle"] == dumpd(chat)["kwargs"]["eagle"]
    finally:
        again.eagle.close()


def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


def test_a_tool_bound_copy_traces_its_own_models(eagle: Eagle) -> None:
    chat = EagleChatModel(models=_models(), eagle=eagle)
    chat.invoke("hello")  # caches the traced dumpd of the chat model
    recorder = Recorder()
    chat.bind_tools([multiply]).invoke("hello", config={"callbacks": [recorder]})
    own = [s for s in recorder.chat_runs() if s["parent"] is None]  # the routing copy's run
    traced = own[0]["serialized"]["kwargs"]["models"]["cheap"]  # what a tracer receives
    assert traced["id"] == ["langchain", "schema", "runnable", "RunnableBinding"]
