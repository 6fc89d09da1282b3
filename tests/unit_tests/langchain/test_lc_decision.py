"""EagleDecisionModel: Eagle's ratings answer ModelRouterMiddleware's Choice question."""

from __future__ import annotations

import asyncio
import math
import uuid
import warnings
from collections.abc import Callable
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain.agents.middleware import ModelChoice, ModelRouterMiddleware
from langchain_core.decisions import Choice, Noul
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import tool
from lc_fakes import ToolFakeChat

from eagle_core import ConfigError, Eagle, InvalidQueryError, UnknownModelError
from eagle_core._elo import expected_score
from eagle_langchain import EagleChoiceAnswer, EagleDecisionModel, EagleFeedbackHandler
from eagle_langchain._decision import luce_probabilities

warnings.filterwarnings("ignore", message=".*ModelRouterMiddleware.*beta")

MATH = ["what is 17 times 23?", "multiply 45 by 12", "compute 8 times 91", "what is 36 times 14?"]
CHAT = ["hi, how are you?", "good morning!", "thanks a lot", "have a nice day"]
CHOICE = Choice(instructions="Which model should answer?",
                criteria={"strong": "hard questions", "cheap": "easy questions"})


@tool
def multiply(a: float, b: float) -> float:
    """Multiply a by b."""
    return a * b


@pytest.fixture
def learned(make_eagle: Callable[..., Eagle]) -> Eagle:
    """strong won every maths question, cheap every greeting."""
    eagle = make_eagle({"strong": 0.01, "cheap": 0.001})
    eagle.record_many([{"query": q, "winner": "strong", "loser": "cheap"} for q in MATH]
                      + [{"query": q, "winner": "cheap", "loser": "strong"} for q in CHAT],
                      progress=False)
    return eagle


def _ask(model: EagleDecisionModel, text: str, choice: Choice = CHOICE, **config: Any) -> Any:
    response = model.invoke({"state": HumanMessage(text), "questions": {"route": choice}}, config)
    return response.choices["route"]


def test_luce_is_elo_expected_score_for_two_and_sums_to_one() -> None:
    two = luce_probabilities({"a": 1540.0, "b": 1500.0})
    assert two["a"] == pytest.approx(expected_score(1540.0, 1500.0))
    many = luce_probabilities({"a": 1600.0, "b": 1500.0, "c": 1400.0, "d": 1e6})
    assert math.fsum(many.values()) == pytest.approx(1.0)
    assert many["d"] == pytest.approx(1.0)  # no overflow far from the others
    assert luce_probabilities({"a": 1500.0, "b": 1500.0}) == {"a": 0.5, "b": 0.5}
    # 100 rating points = odds x 10^(1/4), whatever the other labels (Luce's choice axiom)
    odds = 10 ** (100 / 400)
    three = luce_probabilities({"a": 1600.0, "b": 1500.0, "c": 1400.0})
    assert three["a"] / three["b"] == pytest.approx(odds)
    assert luce_probabilities({"a": 1600.0, "b": 1500.0})["a"] == pytest.approx(odds / (1 + odds))


def test_answers_from_learned_ratings(learned: Eagle) -> None:
    model = EagleDecisionModel(eagle=learned)
    maths, chat = _ask(model, "what is 29 times 31?"), _ask(model, "hello, good evening")
    assert (maths.choice, chat.choice) == ("strong", "cheap")
    for answer in (maths, chat):
        assert isinstance(answer, EagleChoiceAnswer)
        decision = learned.decision(answer.decision_id)
        assert answer.model == decision.model == answer.choice
        assert answer.probabilities == pytest.approx(
            luce_probabilities({s.model: s.combined for s in decision.ranking}))
        assert math.fsum(answer.probabilities.values()) == pytest.approx(1.0)
        assert answer.confidence == answer.probabilities[answer.choice] > 0.5


def test_uniform_before_feedback_and_request_id(eagle: Eagle) -> None:
    model = EagleDecisionModel(eagle=eagle)
    response = model.invoke({"state": "sort a list", "questions": {"route": CHOICE}})
    answer = response.choices["route"]
    assert answer.probabilities == {"strong": 0.5, "cheap": 0.5}
    assert response.request_id == answer.decision_id and response.model == "eagle"


def test_labels_map_to_engine_models(learned: Eagle) -> None:
    choice = Choice(instructions="pick", criteria={"smart": None, "fast": None})
    model = EagleDecisionModel(eagle=learned, label_models={"smart": "strong", "fast": "cheap"})
    answer = _ask(model, "what is 29 times 31?", choice)
    assert (answer.choice, answer.model) == ("smart", "strong")
    assert set(answer.probabilities) == {"smart", "fast"}
    with pytest.raises(UnknownModelError, match=r"\['smart', 'fast'\].*label_models="):
        _ask(EagleDecisionModel(eagle=learned), "hi", choice)
    same = EagleDecisionModel(eagle=learned, label_models={"smart": "strong", "fast": "strong"})
    with pytest.raises(ConfigError, match="distinct engine models"):
        _ask(same, "hi", choice)


def test_routes_among_the_choices_only(make_eagle: Callable[..., Eagle]) -> None:
    eagle = make_eagle({"a": 0.01, "b": 0.001, "c": 0.0001})
    eagle.record_many([{"query": q, "winner": "c", "loser": "a"} for q in MATH], progress=False)
    answer = _ask(EagleDecisionModel(eagle=eagle), MATH[0], Choice(
        instructions="pick", criteria={"a": None, "b": None}))
    assert set(answer.probabilities) == {"a", "b"} and answer.choice in {"a", "b"}
    assert math.fsum(answer.probabilities.values()) == pytest.approx(1.0)


def test_cost_options_and_per_call_config(learned: Eagle) -> None:
    question = "what is 29 times 31?"
    assert _ask(EagleDecisionModel(eagle=learned), question).choice == "strong"
    assert _ask(EagleDecisionModel(eagle=learned, budget=0.005), question).choice == "cheap"
    assert _ask(EagleDecisionModel(eagle=learned, willingness_to_pay=1e-4), question).choice == "cheap"
    model = EagleDecisionModel(eagle=learned)
    cheap = _ask(model, question, configurable={"eagle_budget": 0.005})
    assert cheap.choice == "cheap"
    assert cheap.probabilities["strong"] > 0.5  # probabilities stay the ratings' view
    assert _ask(model, "hello there", configurable={"eagle_model": "strong"}).choice == "strong"
    with pytest.raises(UnknownModelError, match="eagle_model"):
        _ask(model, question, configurable={"eagle_model": "gpt-5"})
    with pytest.raises(ConfigError, match="eagle_budjet"):
        _ask(model, question, configurable={"eagle_budjet": 1.0})


def test_construction_errors(eagle: Eagle) -> None:
    with pytest.raises(ConfigError, match="eagle must be an eagle_core.Eagle.*got str"):
        EagleDecisionModel(eagle="gpt-4o")
    with pytest.raises(ConfigError, match="eagle must be"):
        EagleDecisionModel()
    with pytest.raises(ConfigError, match="label_models must be a dict"):
        EagleDecisionModel(eagle=eagle, label_models={"fast": 3})
    with pytest.raises(ConfigError, match="'budjet'; did you mean 'budget'"):
        EagleDecisionModel(eagle=eagle, budjet=0.01)
    with pytest.raises(ConfigError, match="cost_weight or willingness_to_pay, not both"):
        EagleDecisionModel(eagle=eagle, cost_weight=1.0, willingness_to_pay=1.0)


def test_request_errors(eagle: Eagle, recorder: Any) -> None:
    model = EagleDecisionModel(eagle=eagle)
    with pytest.raises(ConfigError, match="must be a Choice.*got Noul"):
        model.invoke({"state": "hi", "questions": {"q": Noul(instructions="urgent?")}})
    with pytest.raises(ConfigError, match="ClassifierRequest"):
        model.invoke("hi")  # type: ignore[arg-type]
    as_dict = {"type": "choice", "instructions": "pick", "criteria": {"strong": None, "cheap": None}}
    assert model.invoke({"state": "hi", "questions": {"q": as_dict}}).choices["q"].choice
    # a routing error is raised inside the classification run, so tracing shows it
    with pytest.raises(InvalidQueryError, match="no human message"):
        model.invoke({"state": [AIMessage("only an AI turn")], "questions": {"q": CHOICE}},
                     {"callbacks": [recorder]})
    assert [type(e) for _, e in recorder.errors] == [InvalidQueryError]


def test_run_metadata_and_async_twin(learned: Eagle, recorder: Any) -> None:
    model = EagleDecisionModel(eagle=learned)
    request = {"state": HumanMessage("what is 29 times 31?"), "questions": {"route": CHOICE}}
    answer = model.invoke(request, {"callbacks": [recorder]}).choices["route"]
    (run,) = recorder.named("EagleDecisionModel")
    assert run["metadata"]["eagle_decision"]["decision_id"] == answer.decision_id
    assert run["metadata"]["ls_provider"] == "eagle"
    assert [(n, d["model"]) for n, d, _ in recorder.custom] == [("eagle_answered", "strong")]
    again = asyncio.run(model.ainvoke(request)).choices["route"]
    assert (again.choice, again.probabilities) == (answer.choice, answer.probabilities)


def _agent(eagle: Eagle) -> Any:
    router = ModelRouterMiddleware(
        choices={"strong": ModelChoice(model=ToolFakeChat(name="strong"), criteria="hard"),
                 "cheap": ModelChoice(model=ToolFakeChat(name="cheap"), criteria="easy")},
        instructions="Pick the model most likely to answer well.",
        classifier=EagleDecisionModel(eagle=eagle),
    )
    return create_agent(ToolFakeChat(name="default"), tools=[multiply], middleware=[router])


@pytest.mark.parametrize("use_async", [False, True])
def test_agent_keeps_the_route_and_takes_feedback_by_agent_run_id(
    learned: Eagle, use_async: bool
) -> None:
    agent, handler, run_id = _agent(learned), EagleFeedbackHandler(learned), uuid.uuid4()
    request = {"messages": [("human", "use multiply: what is 29 times 31?")]}
    config = {"run_id": run_id, "callbacks": [handler]}
    state = asyncio.run(agent.ainvoke(request, config)) if use_async else agent.invoke(request, config)
    route = state["model_route"]
    assert isinstance(route, EagleChoiceAnswer) and route.choice == "strong"
    ai = [m for m in state["messages"] if isinstance(m, AIMessage)]
    assert [m.response_metadata["model_name"] for m in ai] == ["strong", "strong"]
    assert ai[0].tool_calls[0]["args"] == {"a": 29, "b": 31}
    assert ai[-1].content == "strong: done (899.0)"
    assert handler.get_run(run_id).decision_id == route.decision_id
    before = learned.n_feedback
    assert handler.record_feedback(run_id, thumbs=False)
    assert learned.n_feedback == before + 1
