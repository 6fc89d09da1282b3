"""Malformed input across the public API of eagle_core, eagle_langchain and eagle_llamaindex.

Every row must raise a typed error (an ``eagle_core.EagleError``) whose message names the bad value,
and leave the feedback store exactly as it was (ratings, events, and the log and neighbour-index
records Chroma holds). The engine runs on real Chroma (persistent, in a temporary folder,
so the test can count the records with Chroma's own client) with the real MiniLM embedder.
"""

from __future__ import annotations

import itertools
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from langchain_core.language_models import GenericFakeChatModel
from llama_index.core.llms import MockLLM
from llama_index.core.schema import QueryBundle
from llama_index.core.tools import ToolMetadata

from eagle_core import (
    ConfigError,
    Eagle,
    EagleConfig,
    EagleError,
    InvalidCostError,
    InvalidFeedbackError,
    InvalidQueryError,
    UnknownDecisionError,
    UnknownModelError,
)
from eagle_langchain import EagleFeedbackHandler, EagleRouter
from eagle_llamaindex import EagleLLM, EagleSelector, MissingDecisionError

MODELS = {"big": 0.01, "small": 0.0005}


@dataclass
class Ctx:
    """What a row may use: a seeded engine and one of its decisions."""

    eagle: Eagle
    decision_id: str

    def chat(self) -> dict[str, GenericFakeChatModel]:
        return {m: GenericFakeChatModel(messages=itertools.cycle([f"{m} says hi"])) for m in MODELS}

    def router(self, **kwargs: Any) -> EagleRouter:
        return EagleRouter(models=self.chat(), eagle=self.eagle, **kwargs)

    def llm(self, **kwargs: Any) -> EagleLLM:
        kwargs.setdefault("llms", {m: MockLLM() for m in MODELS})
        return EagleLLM(eagle=self.eagle, **kwargs)


def _tools(*names: str) -> list[ToolMetadata]:
    return [ToolMetadata(name=n, description=f"answers as {n}") for n in names]


Row = tuple[str, Callable[[Ctx], Any], type[EagleError], str]

CORE: list[Row] = [
    ("core: infinite cost", lambda c: Eagle({"a": math.inf}), InvalidCostError, "inf"),
    ("core: cost is a list", lambda c: Eagle({"a": [0.1]}), InvalidCostError, "[0.1]"),
    ("core: K = 0", lambda c: EagleConfig(k=0), ConfigError, "0"),
    ("core: negative sync_interval", lambda c: EagleConfig(sync_interval=-1.0), ConfigError, "-1.0"),
    ("core: NaN p", lambda c: EagleConfig(p=math.nan), ConfigError, "nan"),
    ("core: route bytes", lambda c: c.eagle.route(b"bytes"), InvalidQueryError, "b'bytes'"),
    ("core: route negative budget", lambda c: c.eagle.route("q", budget=-0.5), ConfigError, "-0.5"),
    ("core: route no candidates", lambda c: c.eagle.route("q", candidates=[]), ConfigError, "[]"),
    ("core: route unknown candidate", lambda c: c.eagle.route("q", candidates=["big", "gpt-9"]),
     UnknownModelError, "gpt-9"),
    ("core: winner None", lambda c: c.eagle.record_comparison("q", winner=None, loser="small"),
     UnknownModelError, "None"),
    ("core: infinite score", lambda c: c.eagle.record_scores("q", {"big": math.inf, "small": 0.0}),
     InvalidFeedbackError, "inf"),
    ("core: score as text", lambda c: c.eagle.record_scores("q", {"big": "1", "small": 0.0}),
     InvalidFeedbackError, "'1'"),
    ("core: thumb below 0", lambda c: c.eagle.record_thumbs("q", "big", -0.2), InvalidFeedbackError, "-0.2"),
    ("core: thumb on unknown model", lambda c: c.eagle.record_thumbs("q", "gpt-9"), UnknownModelError,
     "gpt-9"),
    ("core: feedback score 2", lambda c: c.eagle.record_feedback(c.decision_id, score=2.0),
     InvalidFeedbackError, "2.0"),
    ("core: feedback worse unknown", lambda c: c.eagle.record_feedback(c.decision_id, worse="gpt-9"),
     UnknownModelError, "gpt-9"),
    ("core: record_many empty query",
     lambda c: c.eagle.record_many([{"query": "", "scores": {"big": 1, "small": 0}}], progress=False),
     InvalidQueryError, "''"),
    ("core: record_many no outcome", lambda c: c.eagle.record_many([{"query": "q"}], progress=False),
     InvalidFeedbackError, "['query']"),
    ("core: add model with empty name", lambda c: c.eagle.add_model("", 0.1), ConfigError, "''"),
    ("core: add model, bad token price",
     lambda c: c.eagle.add_model("new", {"input": "x", "output": 1e-6}), InvalidCostError, "'x'"),
    ("core: remove None", lambda c: c.eagle.remove_model(None), UnknownModelError, "None"),
    ("core: decision id not a string", lambda c: c.eagle.decision(123), UnknownDecisionError, "123"),
]

LANGCHAIN: list[Row] = [
    ("langchain: models is a list", lambda c: EagleRouter(models=["big"]), ConfigError, "['big']"),
    ("langchain: no models", lambda c: EagleRouter(models={}), ConfigError, "empty"),
    ("langchain: costs and eagle", lambda c: c.router(costs=dict(MODELS)), ConfigError, "not both"),
    ("langchain: max_remembered 0", lambda c: c.router(max_remembered=0), ConfigError, "0"),
    ("langchain: force unknown model",
     lambda c: c.router().invoke("hi", config={"configurable": {"eagle_model": "gpt-9"}}),
     UnknownModelError, "gpt-9"),
    ("langchain: unknown configurable key",
     lambda c: c.router().invoke("hi", config={"configurable": {"eagle_colour": "red"}}),
     ConfigError, "eagle_colour"),
    ("langchain: router model unknown to engine",
     lambda c: EagleRouter(models={"gpt-9": c.chat()["big"], "big": c.chat()["big"]},
                           eagle=c.eagle).invoke("hi"), UnknownModelError, "gpt-9"),
    ("langchain: negative budget",
     lambda c: c.router(budget=-1.0).invoke("hi"), ConfigError, "-1.0"),
    ("langchain: feedback on unknown run",
     lambda c: EagleFeedbackHandler(c.eagle).record_feedback(uuid.UUID(int=7), thumbs=True),
     UnknownDecisionError, "00000000-0000-0000-0000-000000000007"),
    pytest.param(
        "langchain: handler on a non-engine", lambda c: EagleFeedbackHandler(object()), ConfigError,
        "object",
    ),
    pytest.param(
        "langchain: handler max_runs 0", lambda c: EagleFeedbackHandler(c.eagle, max_runs=0), ConfigError,
        "0",
    ),
    pytest.param(
        "langchain: run id not a UUID",
        lambda c: EagleFeedbackHandler(c.eagle).record_feedback("not-a-uuid", thumbs=True),
        UnknownDecisionError, "not-a-uuid",
    ),
]

LLAMAINDEX: list[Row] = [
    ("llamaindex: bad on_unknown", lambda c: EagleSelector(c.eagle, on_unknown="ignore"), ConfigError,
     "ignore"),
    ("llamaindex: select from no choices",
     lambda c: EagleSelector(c.eagle).select([], QueryBundle("q")), ConfigError, "none"),
    ("llamaindex: tool unknown to engine",
     lambda c: EagleSelector(c.eagle).select(_tools("big", "gpt-9"), QueryBundle("q")),
     UnknownModelError, "gpt-9"),
    ("llamaindex: two tools, one model",
     lambda c: EagleSelector(c.eagle, tool_models={"a": "big", "b": "big"}).select(
         _tools("a", "b"), QueryBundle("q")), ConfigError, "['big', 'big']"),
    ("llamaindex: empty decision id", lambda c: EagleSelector(c.eagle).record_feedback("", thumbs=True),
     MissingDecisionError, "''"),
    ("llamaindex: unknown decision id",
     lambda c: EagleSelector(c.eagle).record_feedback("no-such-decision", thumbs=True),
     UnknownDecisionError, "no-such-decision"),
    ("llamaindex: target without decision",
     lambda c: EagleSelector(c.eagle).record_feedback(42, thumbs=True), MissingDecisionError, "42"),
    ("llamaindex: LLM with no llms", lambda c: c.llm(llms={}), ConfigError, "{}"),
    ("llamaindex: LLM value not an LLM", lambda c: c.llm(llms={"big": "gpt"}), ConfigError, "str"),
    ("llamaindex: LLM without engine", lambda c: EagleLLM(llms={"big": MockLLM()}, eagle=None),
     ConfigError, "None"),
    ("llamaindex: judge probability 1.5", lambda c: c.llm(judge_probability=1.5), ConfigError, "1.5"),
    ("llamaindex: LLM model unknown to engine",
     lambda c: c.llm(llms={"gpt-9": MockLLM(), "big": MockLLM()}).complete("hi"), UnknownModelError,
     "gpt-9"),
    ("llamaindex: LLM feedback on unknown decision",
     lambda c: c.llm().record_feedback("no-such-decision", thumbs=True), UnknownDecisionError,
     "no-such-decision"),
]

ROWS = CORE + LANGCHAIN + LLAMAINDEX


def _row_id(row: Any) -> str:
    return (row.values if hasattr(row, "values") else row)[0]


@pytest.fixture
def ctx(make_eagle, tmp_path) -> Ctx:
    eagle = make_eagle(MODELS, path=tmp_path / "store")
    eagle.record_comparison("seed query about Python lists", winner="big", loser="small")
    return Ctx(eagle, eagle.route("another question").decision_id)


def _snapshot(eagle: Eagle, store_counts: Callable[[Eagle], dict[str, int]]) -> tuple[Any, ...]:
    return (eagle.ratings, eagle.models, eagle.n_feedback, eagle.n_comparisons, store_counts(eagle))


def test_table_has_rows_for_every_package() -> None:
    assert len(ROWS) >= 30
    for prefix in ("core:", "langchain:", "llamaindex:"):
        assert sum(1 for r in ROWS if _row_id(r).startswith(prefix)) >= 8


@pytest.mark.parametrize(("label", "call", "error", "named"), ROWS, ids=[_row_id(r) for r in ROWS])
def test_bad_input_gets_a_typed_error_naming_the_value(ctx, store_counts, label, call, error,
                                                       named) -> None:
    before = _snapshot(ctx.eagle, store_counts)
    with pytest.raises(EagleError) as info:
        call(ctx)
    assert isinstance(info.value, error), f"{label}: {type(info.value).__name__}: {info.value}"
    assert named.lower() in str(info.value).lower(), f"{label}: message does not name {named!r}"
    assert _snapshot(ctx.eagle, store_counts) == before
