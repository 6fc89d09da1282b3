"""EagleDecisionModel: Eagle's learned ratings answer LangChain's routing ``Choice`` question.

``langchain.agents.middleware.ModelRouterMiddleware`` asks a decision model *which of these labelled
models should answer the latest human message*. An LLM classifier reads the labels' criteria; this
one ignores them and answers from the feedback Eagle has learned (global + local ELO of the models
behind the labels), with no LLM call: one MiniLM embedding and a Chroma lookup.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.callbacks import adispatch_custom_event, dispatch_custom_event
from langchain_core.decisions import (
    BaseDecisionModel,
    Choice,
    ChoiceAnswer,
    ClassifierRequest,
    ClassifierResponse,
    Question,
    State,
)
from langchain_core.runnables import RunnableConfig
from pydantic import ConfigDict, TypeAdapter, ValidationError

from eagle_core import ConfigError, Eagle, RouteDecision, UnknownModelError
from eagle_core._choice import check_one_rule
from eagle_langchain._routing import RouteOptions, check_keywords, configured_rule
from eagle_langchain._runs import ANSWERED_EVENT
from eagle_langchain._text import query_text

__all__ = ["EagleChoiceAnswer", "EagleDecisionModel", "luce_probabilities"]

_LN10_OVER_400 = math.log(10.0) / 400.0
_QUESTION = TypeAdapter(Question)


def luce_probabilities(ratings: Mapping[str, float]) -> dict[str, float]:
    """P(i answers best) = 10^(R_i/400) / sum_j 10^(R_j/400): a softmax of R * ln(10) / 400.

    This is the Bradley-Terry model that ELO fits (its update is a gradient step on the BT
    log-likelihood with strengths 10^(R/400)), extended to n options by Luce's choice axiom: for two
    labels it is exactly ELO's expected score, and dropping a label renormalises the rest.
    """
    if not ratings:
        return {}
    top = max(ratings.values())
    weights = {name: math.exp((r - top) * _LN10_OVER_400) for name, r in ratings.items()}
    total = sum(weights.values())
    return {name: w / total for name, w in weights.items()}


class EagleChoiceAnswer(ChoiceAnswer):
    """A ``ChoiceAnswer`` that also names the engine model and the decision, for feedback."""

    model: str
    """The Eagle model behind the chosen label."""
    decision_id: str
    """Pass to ``Eagle.record_feedback(decision_id, ...)`` to rate the chosen route."""


class EagleDecisionModel(RouteOptions, BaseDecisionModel):
    """A decision model that answers routing ``Choice`` questions from Eagle's ratings, no LLM call.

    Each label of the question's ``criteria`` names a model of ``eagle`` (or is mapped to one by
    ``label_models``); the criteria texts and instructions are not read. The state's text (the last
    human message, see :func:`eagle_langchain.query_text`) is routed by ``Eagle.route`` among those
    models, so the cost rule and budget apply as everywhere in the package. The answer:

    * ``choice``: the label of the model Eagle chose (with a cost rule or budget, possibly a
      cheaper label than the most probable one);
    * ``probabilities``: :func:`luce_probabilities` of the models' combined ratings
      (P*global + (1-P)*local): the chance, under the Bradley-Terry model ELO fits, that each label's
      model gives the preferred answer. They sum to 1, are uniform before any feedback, and were
      calibrated (slightly under-confident) on RouterBench validation pairs (docs/BENCHMARKS.md);
    * ``confidence``: the probability of the chosen label.

    **Feedback by run id.** The classification run's metadata carries the decision (``eagle_decision``,
    as :class:`EagleRouter`'s run does), so an :class:`EagleFeedbackHandler` passed in the agent's
    callbacks maps the *agent's* run id to it: ``handler.record_feedback(agent_run_id, thumbs=True)``.
    Without a handler, the answer itself (an :class:`EagleChoiceAnswer`, kept by
    ``ModelRouterMiddleware`` in the agent state as ``model_route``) carries the ``decision_id``.

    **Per-call options** in ``config["configurable"]`` (an agent's config reaches its middleware):
    ``eagle_willingness_to_pay``, ``eagle_cost_weight``, ``eagle_budget``, ``eagle_explore``
    override the fields of the same name; ``eagle_model`` forces a label (or the engine model
    behind one).

    Example:
        ```python
        classifier = EagleDecisionModel(eagle=eagle)
        router = ModelRouterMiddleware(
            choices={"gpt-4o": ModelChoice(model=big, criteria="hard tasks"),
                     "mixtral": ModelChoice(model=small, criteria="easy tasks")},
            instructions="Pick the model most likely to answer well.",
            classifier=classifier,
        )
        agent = create_agent(small, tools=[...], middleware=[router])
        ```
    """

    eagle: Eagle
    """The routing engine whose ratings answer (and which takes the feedback)."""
    model: str = "eagle"
    """Reported as the model that answered (``ls_model_name`` in tracing)."""
    label_models: dict[str, str] | None = None
    """Choice label -> engine model name, for labels that are not engine model names themselves.
    Labels absent from the mapping are taken as engine model names."""
    input_key: str | None = None
    """For dict states: the key holding the text to route on (see :func:`query_text`)."""
    model_config = ConfigDict(arbitrary_types_allowed=True)

    def __init__(self, eagle: Eagle | None = None, **kwargs: Any) -> None:
        fields = sorted(name for name in type(self).model_fields if name != "eagle")
        check_keywords("EagleDecisionModel", kwargs, fields, ["eagle", *fields])
        if not isinstance(eagle, Eagle):  # a typed error, not pydantic's ValidationError
            raise ConfigError(
                f"eagle must be an eagle_core.Eagle engine, got {type(eagle).__name__} {eagle!r}; "
                "pass EagleDecisionModel(eagle=Eagle(models={...}))"
            )
        _check_label_models(kwargs.get("label_models"))
        check_one_rule(kwargs.get("cost_weight"), kwargs.get("willingness_to_pay"))
        super().__init__(eagle=eagle, **kwargs)

    @property
    def _provider(self) -> str:
        return "eagle"

    # -- routing --------------------------------------------------------------------------------
    def _label_models(self, question_id: str, labels: Sequence[str]) -> dict[str, str]:
        """label -> engine model for one question, checked against the engine's current models."""
        mapping = self.label_models or {}
        resolved = {label: mapping.get(label, label) for label in labels}
        known = self.eagle.models
        unknown = [label for label, name in resolved.items() if name not in known]
        if unknown:
            raise UnknownModelError(
                f"Choice {question_id!r}: labels {unknown} name no model of the Eagle engine "
                f"{list(known)}; name the choices after engine models or map them with "
                f"EagleDecisionModel(label_models={{{unknown[0]!r}: '<engine model>'}})"
            )
        if len(set(resolved.values())) < len(resolved):
            raise ConfigError(
                f"Choice {question_id!r}: labels must map to distinct engine models, got {resolved}"
            )
        return resolved

    def _options(self, config: RunnableConfig | None) -> dict[str, Any]:
        return configured_rule(self, config)

    def _route(
        self, state: State, questions: Mapping[str, Any], config: RunnableConfig | None
    ) -> dict[str, tuple[RouteDecision, dict[str, str]]]:
        """question id -> (Eagle's decision, label -> model), one route per Choice question."""
        if not isinstance(questions, Mapping) or not questions:
            raise ConfigError(
                f"questions must be a non-empty mapping id -> Choice, got {questions!r}"
            )
        query = query_text(state, self.input_key)
        options = self._options(config)
        routed = {}
        for question_id, question in questions.items():
            labels = self._labels(question_id, question)
            models = self._label_models(question_id, labels)
            kwargs = {k: v for k, v in options.items() if v is not None}
            force = kwargs.pop("force", None)
            if force is not None:
                kwargs["force"] = _forced_model(force, models)
            decision = self.eagle.route(query, candidates=list(models.values()), **kwargs)
            routed[question_id] = (decision, models)
        return routed

    @staticmethod
    def _labels(question_id: str, question: Any) -> list[str]:
        if isinstance(question, Mapping):
            try:
                question = _QUESTION.validate_python(question)
            except ValidationError as exc:
                raise ConfigError(f"question {question_id!r} is not a valid question: {exc}") from None
        if not isinstance(question, Choice):
            raise ConfigError(
                f"question {question_id!r} must be a Choice (EagleDecisionModel only picks among "
                f"models), got {type(question).__name__}; ask it of an LLM-backed decision model"
            )
        return list(question.criteria)

    # -- answers --------------------------------------------------------------------------------
    def _response(
        self, routed: Mapping[str, tuple[RouteDecision, dict[str, str]]]
    ) -> ClassifierResponse:
        answers = {qid: _answer(decision, models) for qid, (decision, models) in routed.items()}
        ids = [decision.decision_id for decision, _ in routed.values()]
        return ClassifierResponse(
            model=self.model, answers=answers, request_id=ids[0] if len(ids) == 1 else None
        )

    def _classify(self, state: State, questions: dict[str, Question]) -> ClassifierResponse:
        return self._response(self._route(state, questions, None))

    async def _aclassify(self, state: State, questions: dict[str, Question]) -> ClassifierResponse:
        return await asyncio.to_thread(self._classify, state, questions)

    # -- runs -----------------------------------------------------------------------------------
    @staticmethod
    def _run_config(config: RunnableConfig, routed: Any) -> RunnableConfig:
        """The classification run's config: its metadata carries the decision(s), like the router's.

        Routing happens before the run starts so that handlers see the decision at run start; a
        routing error is re-raised inside the run, so tracing shows the failed classification.
        """
        if isinstance(routed, BaseException) or not routed:
            return config
        decisions = {qid: decision.to_dict() for qid, (decision, _) in routed.items()}
        extra: dict[str, Any] = {"eagle_decisions": decisions}
        if len(decisions) == 1:
            (data,) = decisions.values()
            extra.update(eagle_decision=data, eagle_model=data["model"],
                         eagle_decision_id=data["decision_id"])  # fmt: skip
        config["metadata"] = {**config["metadata"], **extra}
        return config

    def _try_route(self, request: ClassifierRequest, config: RunnableConfig) -> Any:
        try:
            return self._route(request["state"], request["questions"], config)
        except Exception as exc:
            return exc

    def _respond(self, request: ClassifierRequest, config: RunnableConfig, routed: Any) -> Any:
        if isinstance(routed, BaseException):
            raise routed
        for decision, _ in routed.values():
            dispatch_custom_event(ANSWERED_EVENT, _answered(decision), config=config)
        return self._response(routed)

    async def _arespond(self, request: ClassifierRequest, config: RunnableConfig, routed: Any) -> Any:
        if isinstance(routed, BaseException):
            raise routed
        for decision, _ in routed.values():
            await adispatch_custom_event(ANSWERED_EVENT, _answered(decision), config=config)
        return self._response(routed)

    def invoke(
        self, input: ClassifierRequest, config: RunnableConfig | None = None, **_: Any
    ) -> ClassifierResponse:
        """Route the request's state for each Choice question and answer with the labels chosen."""
        _check_request(input)
        config = self._traced_config(config)  # the caller's, or the enclosing run's (agent's)
        routed = self._try_route(input, config)
        return self._call_with_config(
            self._respond, input, self._run_config(config, routed), run_type="llm", routed=routed
        )

    async def ainvoke(
        self, input: ClassifierRequest, config: RunnableConfig | None = None, **_: Any
    ) -> ClassifierResponse:
        """Async twin of :meth:`invoke`; embedding and Chroma run in a worker thread."""
        _check_request(input)
        config = self._traced_config(config)
        routed = await asyncio.to_thread(self._try_route, input, config)
        return await self._acall_with_config(
            self._arespond, input, self._run_config(config, routed), run_type="llm", routed=routed
        )


def _answer(decision: RouteDecision, models: Mapping[str, str]) -> EagleChoiceAnswer:
    label_of = {model: label for label, model in models.items()}
    by_model = luce_probabilities({s.model: s.combined for s in decision.ranking})
    probabilities = {label: by_model[model] for label, model in models.items()}
    choice = label_of[decision.model]
    return EagleChoiceAnswer(
        type="choice", choice=choice, probabilities=probabilities,
        confidence=min(1.0, max(0.0, probabilities[choice])),
        model=decision.model, decision_id=decision.decision_id,
    )  # fmt: skip


def _answered(decision: RouteDecision) -> dict[str, Any]:
    """The router's ``eagle_answered`` payload: the chosen model is the route taken."""
    return {"decision_id": decision.decision_id, "model": decision.model, "failed": []}


def _forced_model(force: Any, models: Mapping[str, str]) -> str:
    if force in models:
        return models[force]
    if force in models.values():
        return force
    raise UnknownModelError(
        f"configurable eagle_model must be one of the choice labels {list(models)} (or their "
        f"engine models {list(models.values())}), got {force!r}"
    )


def _check_request(request: Any) -> None:
    if not isinstance(request, Mapping) or "state" not in request or "questions" not in request:
        raise ConfigError(
            "EagleDecisionModel input must be a ClassifierRequest dict {'state': ..., "
            f"'questions': {{id: Choice(...)}}}}, got {type(request).__name__} {request!r:.200}"
        )


def _check_label_models(value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and k and isinstance(v, str) and v for k, v in value.items()
    ):
        raise ConfigError(
            "label_models must be a dict of choice label -> engine model name (non-empty strings), "
            f"got {value!r}"
        )
