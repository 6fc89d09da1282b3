"""Failures: surfaced by default, optional fallback down the ranking, optional failure feedback."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from langchain_core.runnables import RunnableGenerator, RunnableLambda
from lc_fakes import Recorder, fake_chat

from eagle_core import Eagle
from eagle_langchain import EagleRouter


class ModelDown(RuntimeError):
    pass


def _down(_: Any) -> Any:
    raise ModelDown("cheap is down")


def _other_down(_: Any) -> Any:
    raise ModelDown("strong is down too")


@pytest.fixture
def failing(eagle: Eagle) -> Callable[..., EagleRouter]:
    def make(**kwargs: Any) -> EagleRouter:
        models = {"strong": kwargs.pop("strong", fake_chat("strong answer")),
                  "cheap": RunnableLambda(_down)}
        return EagleRouter(models=models, eagle=eagle, **kwargs)

    return make


def test_without_fallback_the_error_is_raised_unchanged(
    failing: Callable[..., EagleRouter], recorder: Recorder
) -> None:
    router = failing()
    run_id = uuid.uuid4()
    with pytest.raises(ModelDown, match="cheap is down"):
        router.invoke("q", config={"callbacks": [recorder], "run_id": run_id})
    assert any(isinstance(e, ModelDown) for _, e in recorder.errors)
    run = router.get_run(run_id)
    assert (run.model, run.failed) == (None, ("cheap",))


async def test_fallback_to_the_next_ranked_model(
    failing: Callable[..., EagleRouter], recorder: Recorder, eagle: Eagle
) -> None:
    router = failing(fallback_on_error=True)
    assert router.invoke("q", config={"callbacks": [recorder]}).content == "strong answer"
    assert (await router.ainvoke("q")).content == "strong answer"
    assert [c.content for c in router.stream("q") if c.content][0] == "strong"
    assert [c.content async for c in router.astream("q") if c.content][0] == "strong"
    models = [r["metadata"]["eagle_model"] for r in recorder.starts if r["parent"]]
    assert models == ["cheap", "strong"]  # both attempts are child runs, each tagged
    (answered,) = [c for c in recorder.custom if c[0] == "eagle_answered"]
    assert answered[1]["model"] == "strong" and answered[1]["failed"] == ["cheap"]
    assert eagle.n_feedback == 0  # a failure is not feedback by default


def test_failure_feedback_records_the_failed_model_losing(
    failing: Callable[..., EagleRouter], eagle: Eagle
) -> None:
    router = failing(fallback_on_error=True, failure_feedback=True)
    router.invoke("q")
    assert eagle.n_comparisons == 1
    assert eagle.ratings["strong"] > eagle.ratings["cheap"]


def test_when_every_model_fails_the_chosen_models_error_is_raised(
    failing: Callable[..., EagleRouter],
) -> None:
    router = failing(fallback_on_error=True, strong=RunnableLambda(_other_down))
    with pytest.raises(ModelDown, match="cheap is down") as info:
        router.invoke("q")
    assert any("strong is down too" in note for note in getattr(info.value, "__notes__", []))


def test_exceptions_outside_exceptions_to_handle_are_not_caught(
    failing: Callable[..., EagleRouter],
) -> None:
    router = failing(fallback_on_error=True, exceptions_to_handle=(KeyError,))
    with pytest.raises(ModelDown):
        router.invoke("q")


def test_stream_does_not_fall_back_after_the_first_chunk(eagle: Eagle) -> None:
    def half(inputs: Iterator[Any]) -> Iterator[str]:
        for _ in inputs:
            pass
        yield "partial "
        raise ModelDown("broke mid-stream")

    router = EagleRouter(models={"strong": fake_chat("strong answer"), "cheap": RunnableGenerator(half)},
                         eagle=eagle, fallback_on_error=True)
    got: list[str] = []
    with pytest.raises(ModelDown, match="mid-stream"):
        for chunk in router.stream("q"):
            got.append(chunk)
    assert got == ["partial "]


async def test_astream_does_not_fall_back_after_the_first_chunk(eagle: Eagle) -> None:
    async def half(inputs: AsyncIterator[Any]) -> AsyncIterator[str]:
        async for _ in inputs:
            pass
        yield "partial "
        raise ModelDown("broke mid-stream")

    router = EagleRouter(models={"strong": fake_chat("s"), "cheap": RunnableGenerator(half)},
                         eagle=eagle, fallback_on_error=True)
    got: list[str] = []
    with pytest.raises(ModelDown):
        async for chunk in router.astream("q"):
            got.append(chunk)
    assert got == ["partial "]


def test_budget_limits_the_fallbacks(eagle: Eagle) -> None:
    router = EagleRouter(models={"strong": fake_chat("s"), "cheap": RunnableLambda(_down)},
                         eagle=eagle, fallback_on_error=True, budget=0.005)
    with pytest.raises(ModelDown):  # strong costs 0.01 > budget: not a fallback candidate
        router.invoke("q")
