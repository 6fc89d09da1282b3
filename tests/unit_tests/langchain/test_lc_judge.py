"""Automatic pairwise feedback: a second model and a judge, in the background."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableLambda

import eagle_core
from eagle_core import ConfigError, Eagle, InvalidFeedbackError
from eagle_langchain import AutoJudge, EagleRouter, Judgement, parse_verdict


@pytest.mark.parametrize(
    ("output", "verdict"),
    [("a", "a"), (" B. ", "b"), ("tie", "tie"), ("Reasoning... final: [[A]]", "a"),
     ("[[B]] wait, no: [[C]]", "tie"), (AIMessage(content="[[b]]"), "b")],
)
def test_parse_verdict(output: Any, verdict: str) -> None:
    assert parse_verdict(output) == verdict


def test_parse_verdict_is_eagle_cores_and_raises_on_an_unreadable_verdict() -> None:
    assert parse_verdict is eagle_core.parse_verdict and Judgement is eagle_core.Judgement
    with pytest.raises(InvalidFeedbackError, match="judge must answer"):
        parse_verdict(AIMessage(content="maybe"))


def prefers(word: str) -> Callable[[str, str, str], str]:
    """A judge preferring the answer that contains ``word``."""
    def judge(query: str, answer_a: str, answer_b: str) -> str:
        if (word in answer_a) == (word in answer_b):
            return "tie"
        return "a" if word in answer_a else "b"
    return judge


def test_judged_comparison_is_recorded_in_the_background(router: EagleRouter, eagle: Eagle) -> None:
    judge = AutoJudge(prefers("strong"), probability=1.0, seed=0)
    router.auto_judge = judge
    assert router.invoke("q").content == "cheap says hi"
    assert judge.flush(timeout=30) == 0
    (j,) = judge.judgements
    assert (j.model, j.opponent, j.winner, j.tie, j.error) == ("cheap", "strong", "strong", False, None)
    assert eagle.ratings["strong"] > eagle.ratings["cheap"]
    assert router.invoke("q again").content == "strong says hello there"  # the feedback counted


def test_answer_order_is_swapped_but_the_winner_is_right(router: EagleRouter, eagle: Eagle) -> None:
    seen: list[tuple[str, str]] = []

    def judge(query: str, a: str, b: str) -> str:
        seen.append((a, b))
        return prefers("strong")(query, a, b)

    router.auto_judge = AutoJudge(judge, probability=1.0, seed=3)
    for i in range(6):
        router.invoke(f"question {i}", config={"configurable": {"eagle_model": "cheap"}})
    router.auto_judge.flush(timeout=30)
    assert {a.startswith("strong") for a, _ in seen} == {True, False}  # both orders were shown
    assert all(j.winner == "strong" for j in router.auto_judge.judgements)


async def test_streaming_answer_is_not_delayed_by_the_judge(router: EagleRouter) -> None:
    release = threading.Event()

    def slow_judge(query: str, a: str, b: str) -> str:
        assert release.wait(30)
        return "tie"

    judge = AutoJudge(slow_judge, probability=1.0)
    router.auto_judge = judge
    chunks = [c.content async for c in router.astream("q")]
    assert "".join(chunks) == "cheap says hi"  # complete while the judge is still blocked
    assert judge.pending == 1
    release.set()
    assert await judge.aflush(timeout=30) == 0
    assert judge.judgements[0].tie


def test_runnable_judge_gets_a_dict_and_runner_up_opponent(
    make_eagle: Callable[..., Eagle], two_models: dict
) -> None:
    eagle = make_eagle({"strong": 0.01, "cheap": 0.001, "third": 0.002})
    models = {**two_models, "third": RunnableLambda(lambda _: "third answer")}
    inputs: list[dict] = []
    judge_chain = RunnableLambda(lambda d: inputs.append(d) or "[[A]]")
    router = EagleRouter(models=models, eagle=eagle,
                         auto_judge=AutoJudge(judge_chain, 1.0, opponent="runner_up", swap=False))
    router.invoke("q")
    router.auto_judge.flush(timeout=30)
    assert set(inputs[0]) == {"query", "answer_a", "answer_b"}
    assert inputs[0]["answer_b"] == "third answer"  # 2nd cheapest = runner-up on a tie
    assert router.auto_judge.judgements[0].winner == "cheap"


def test_probability_zero_never_judges(router: EagleRouter, eagle: Eagle) -> None:
    router.auto_judge = AutoJudge(prefers("x"), probability=0.0)
    router.invoke("q")
    assert router.auto_judge.pending == 0 and router.auto_judge.judgements == ()
    assert eagle.n_feedback == 0


def test_judge_failures_are_kept_not_raised(router: EagleRouter, eagle: Eagle) -> None:
    router.auto_judge = AutoJudge(lambda q, a, b: "no idea", probability=1.0)
    router.invoke("q")
    router.auto_judge.flush(timeout=30)
    (j,) = router.auto_judge.judgements
    assert j.outcome is None and j.winner is None and "judge must answer" in j.error
    assert eagle.n_feedback == 0


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [({"judge": 3}, "Runnable or a callable"), ({"probability": 1.5}, r"\[0, 1\]"),
     ({"opponent": "best"}, "runner_up"), ({"max_workers": 0}, "max_workers")],
)
def test_bad_auto_judge_arguments(kwargs: dict, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        AutoJudge(**{"judge": prefers("x"), **kwargs})
