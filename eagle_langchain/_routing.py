"""What both LangChain routers share: fields, validation, the engine, the plan, and the bookkeeping.

:class:`~eagle_langchain.EagleRouter` (any Runnables) and :class:`~eagle_langchain.EagleChatModel`
(chat models) differ only in how they call a model; choosing it (one model per agent turn), trying
the next ones on failure (:mod:`eagle_langchain._attempts`), remembering runs for feedback, pickling
and copying live here once.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Literal
from uuid import UUID

from langchain_core.callbacks import adispatch_custom_event, dispatch_custom_event
from langchain_core.messages import AIMessage
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.runnables.config import get_callback_manager_for_config
from pydantic import BaseModel, ConfigDict, PrivateAttr

from eagle_core import ConfigError, Eagle, UnknownDecisionError, UnknownModelError
from eagle_core._choice import check_one_rule
from eagle_langchain._attempts import NOTHING, UNADDABLE, Attempts, Plan
from eagle_langchain._engines import Detached, engine_reference, find_engine, is_reference, resolve_reference
from eagle_langchain._judge import AutoJudge
from eagle_langchain._runs import ANSWERED_EVENT, RoutedRun, RunLRU, as_uuid
from eagle_langchain._text import input_messages, query_text
from eagle_langchain._turns import thread_id, turn_answer

__all__ = ["CONFIGURABLE_KEYS", "RouteOptions", "RoutingBase", "check_keywords", "configured_rule"]

logger = logging.getLogger(__name__)

CONFIGURABLE_KEYS: dict[str, str] = {
    "eagle_model": "force",
    "eagle_cost_weight": "cost_weight",
    "eagle_willingness_to_pay": "willingness_to_pay",
    "eagle_budget": "budget",
    "eagle_explore": "explore",
}
"""Per-call options read from ``config["configurable"]`` -> the ``Eagle.route`` argument they set."""

class RouterState:
    """Learned / remembered state of a router, shared by its copies (``bind_tools``, deepcopy)."""

    def __init__(self, max_remembered: int) -> None:
        self.engine: Eagle | None = None  # the default engine, once built
        self.engine_lock = threading.Lock()
        self.runs: RunLRU[UUID, RoutedRun] = RunLRU(max_remembered)
        self.plans: RunLRU[str, Plan] = RunLRU(max_remembered)  # pre-routed calls, by token
        self.tool_calls: RunLRU[str, tuple[str, str]] = RunLRU(max_remembered)
        self.threads: RunLRU[str, str] = RunLRU(max_remembered)


def check_keywords(owner: str, kwargs: Mapping[str, Any], accepted: set[str] | Sequence[str],
                   shown: Sequence[str]) -> None:
    """A typed error naming a misspelled keyword (pydantic would ignore or reject it less clearly),
    with the closest accepted name and the parameters ``shown``."""
    for key in kwargs:
        if key not in accepted:
            close = difflib.get_close_matches(key, sorted(accepted), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"{owner} got an unexpected keyword argument {key!r}{hint} (parameters: {list(shown)})"
            )


def configured_rule(owner: Any, config: RunnableConfig | None) -> dict[str, Any]:
    """``owner``'s cost rule (``willingness_to_pay``, ``cost_weight``, ``budget`` fields) and its
    ``explore`` field, with the per-call ``configurable`` ``eagle_*`` keys applied; an unknown
    ``eagle_*`` key is an error."""
    configurable = (config or {}).get("configurable") or {}
    unknown = [k for k in configurable if k.startswith("eagle_") and k not in CONFIGURABLE_KEYS]
    if unknown:
        raise ConfigError(
            f"unknown configurable key(s) {unknown}; {type(owner).__name__} reads "
            f"{list(CONFIGURABLE_KEYS)}"
        )
    rule: dict[str, Any] = {"willingness_to_pay": owner.willingness_to_pay,
                            "cost_weight": owner.cost_weight, "budget": owner.budget,
                            "explore": owner.explore}
    for key, arg in CONFIGURABLE_KEYS.items():
        if key in configurable:
            rule[arg] = configurable[key]
    return rule


class RouteOptions(BaseModel):
    """The ``Eagle.route`` options every LangChain front takes as fields (and per call through
    ``config["configurable"]``, see :data:`CONFIGURABLE_KEYS`)."""

    cost_weight: float | None = None
    """Default cost weight for every call (see ``Eagle.route``); not together with
    ``willingness_to_pay``."""
    willingness_to_pay: float | None = None
    """Default willingness to pay for every call, USD per unit quality (see ``Eagle.route``)."""
    budget: float | None = None
    """Default hard budget in USD per call (see ``Eagle.route``)."""
    explore: bool | None = None
    """Serve an explored model now and then (``Eagle.route(explore=)``): ``None`` follows the
    engine's ``EagleConfig.explore`` (on by default, so feedback on served answers keeps teaching
    it); ``False`` always serves the ranking's first model (evaluation, callers who never want it)."""


class RoutingBase(RouteOptions):
    """Fields and routing logic shared by ``EagleRouter`` and ``EagleChatModel``."""

    models: dict[str, Runnable[Any, Any]]
    """Model name -> what answers as that model. Names must be models of ``eagle`` (a subset is
    fine: the router then routes among its own), unless ``on_unknown="add"``."""
    eagle: Eagle | None = None
    """The routing engine. ``None`` builds an in-memory ``Eagle`` over ``models`` on first use (see
    :attr:`engine`), priced by ``costs``; share one engine to persist and pool feedback."""
    costs: dict[str, Any] | None = None
    """Costs for the default engine (name -> USD per call or ``TokenCost``); ``None`` leaves every
    cost unknown, which is fine for quality-only routing. Not allowed together with ``eagle``."""
    on_unknown: Literal["raise", "add"] = "raise"
    """What to do at construction with model names ``eagle`` does not know: raise
    ``UnknownModelError``, or add them to the engine (unknown cost) with ``Eagle.add_model``."""
    fallback_on_error: bool = False
    """On an error of the chosen model, try the next-ranked models instead of raising at once."""
    exceptions_to_handle: tuple[type[BaseException], ...] = (Exception,)
    """Errors that trigger a retry or fallback; anything else propagates immediately."""
    max_retries: int = 0
    """Times a failing model is tried again (before its first chunk) before falling back / raising."""
    failure_feedback: bool = False
    """Record every model that failed as losing to the model that then answered."""
    auto_judge: AutoJudge | None = None
    """Automatic pairwise feedback (the paper's optional step); runs in the background."""
    warmup: bool = False
    """Load the engine's embedder and open its store when the router is built (``Eagle.warmup``)
    instead of at the first call, which otherwise pays for both (seconds: see the README)."""
    sticky: Literal["turn", "thread", "off"] = "turn"
    """One model per agent turn: ``"turn"`` routes on a turn's human message and sends the turn's
    follow-up steps (after tool calls) to the model that answered it; ``"thread"`` also keeps a
    LangGraph thread (``configurable.thread_id``) on its first model; ``"off"`` routes every call."""
    max_remembered: int = 10_000
    """How many recent runs (and agent turns / threads) the router remembers."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    _state: RouterState = PrivateAttr(default=None)  # type: ignore[assignment]

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def _check_kwargs(cls, kwargs: Mapping[str, Any]) -> None:
        """Typed errors for a misspelled keyword and a bad ``models`` before pydantic sees them."""
        fields = set(cls.model_fields) | {f.alias for f in cls.model_fields.values() if f.alias}
        check_keywords(cls.__name__, kwargs, fields,
                       sorted(f for f in cls.model_fields if not f.startswith("_")))
        models = kwargs.get("models")
        if not isinstance(models, Mapping):  # a typed error, not pydantic's ValidationError
            raise ConfigError(
                f"models must be a dict name -> {cls._model_kind()}, got {type(models).__name__} "
                f"{models!r}"
            )
        for name, model in models.items():
            cls._check_model(name, model)
        eagle = kwargs.get("eagle")
        if is_reference(eagle):  # a router loaded with langchain_core.load: re-attach its engine
            eagle = kwargs["eagle"] = resolve_reference(eagle, cls.__name__)
        if eagle is not None and not isinstance(eagle, Eagle):
            raise ConfigError(
                f"eagle must be an eagle_core.Eagle (or None for a default in-memory engine), got "
                f"{type(eagle).__name__} {eagle!r}"
            )

    @classmethod
    def _model_kind(cls) -> str:
        return "Runnable"

    @classmethod
    def _check_model(cls, name: Any, model: Any) -> None:
        if not isinstance(model, Runnable):
            raise ConfigError(
                f"models[{name!r}] must be a Runnable (a chat model, an LLM or a chain), got "
                f"{type(model).__name__} {model!r}"
            )

    def _setup(self) -> None:
        """Checks after pydantic stored the fields; the engine's model names are checked here too
        (so a typo fails now, not at the first call): that opens the engine."""
        if not self.models:
            raise ConfigError("models must name at least one model, got an empty dict")
        bad = [name for name in self.models if not isinstance(name, str) or not name]
        if bad:
            raise ConfigError(f"model names must be non-empty strings, got {bad!r}")
        if self.eagle is not None and self.costs is not None:
            raise ConfigError(
                f"pass costs either to {type(self).__name__}(costs=...) (default engine) or to "
                "Eagle(models=...), not both; got an eagle and costs"
            )
        if self.costs is not None and set(self.costs) != set(self.models):
            raise ConfigError(
                f"costs must price exactly the router's models {sorted(self.models)}, got "
                f"{sorted(self.costs)}"
            )
        check_one_rule(self.cost_weight, self.willingness_to_pay)
        for name in ("max_remembered", "max_retries"):
            value, low = getattr(self, name), 1 if name == "max_remembered" else 0
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"{name} must be an int >= {low}, got {value!r}")
        self._state = RouterState(self.max_remembered)
        if self.eagle is not None:
            self._check_engine_models(self.eagle)
        if self.warmup:
            self.engine.warmup()

    def _check_engine_models(self, engine: Eagle) -> None:
        # names given to Eagle(models=...) need no I/O, so building a router stays cheap; others
        # (models=None, or a model added at run time) are looked up in the opened engine
        declared = engine.declared_models or ()
        if all(name in declared for name in self.models):
            return
        known = engine.models
        missing = [name for name in self.models if name not in known]
        if missing and self.on_unknown == "add":
            for name in missing:
                engine.add_model(name)
        elif missing:
            raise UnknownModelError(
                f"router models {missing} are not models of the Eagle engine {list(known)}; add "
                "them with eagle.add_model(name, cost), drop them from models=..., or pass "
                "on_unknown='add'"
            )

    # -- engine ---------------------------------------------------------------------------------
    @property
    def engine(self) -> Eagle:
        """The engine in use: ``eagle``, or the default one built on first access."""
        if isinstance(self.eagle, Detached):
            raise ConfigError(
                f"this {type(self).__name__} was unpickled in a process where its Eagle engine does "
                "not exist; attach one with router.eagle = Eagle(path=..., ...) (the same store)"
            )
        if self.eagle is not None:
            return self.eagle
        state = self._state
        with state.engine_lock:
            if state.engine is None:
                costs = self.costs if self.costs is not None else dict.fromkeys(self.models)
                state.engine = Eagle(models=dict(costs), path=None)
            return state.engine

    # -- the plan: which model answers ------------------------------------------------------------
    def _routing_text(self, input: Any) -> str:
        return query_text(input)

    def _routing_messages(self, input: Any) -> Any:
        return input_messages(input)

    def _route_kwargs(self, config: RunnableConfig, force: str | None = None) -> dict[str, Any]:
        kwargs = configured_rule(self, config)
        if force is not None:
            kwargs["force"] = force
        force = kwargs.get("force")
        if force is not None and force not in self.models:
            raise UnknownModelError(
                f"the model to force (configurable eagle_model / model=) must be one of the "
                f"router's models {list(self.models)}, got {force!r}"
            )
        known = self.engine.models  # checked per call: models can be added / removed at runtime
        missing = [name for name in self.models if name not in known]
        if missing:
            raise UnknownModelError(
                f"router models {missing} are not models of the Eagle engine {list(known)}; add "
                "them with eagle.add_model(name, cost) or drop them from models=..."
            )
        if len(known) != len(self.models):
            kwargs["candidates"] = list(self.models)
        return {k: v for k, v in kwargs.items() if v is not None}

    def _plan(self, input: Any, config: RunnableConfig, force: str | None = None) -> Plan:
        """Route ``input``, or take over the model of the current agent turn / thread."""
        kwargs = self._route_kwargs(config, force)
        query = self._routing_text(input)
        thread = thread_id(config) if self.sticky == "thread" else None
        held = False
        if "force" not in kwargs and self.sticky != "off":
            messages = self._routing_messages(input)
            prior = turn_answer(messages, self._state.tool_calls) if messages else None
            if prior is not None and prior[0] in self.models:
                return self._reuse(query, prior[0], prior[1], kwargs, thread)
            model = self._state.threads.get(thread) if thread is not None else None
            if model in self.models:  # a new turn of a thread: same model, a new decision
                kwargs["force"], held = model, True
        decision = self.engine.route(query, **kwargs)
        return Plan(decision, decision.model, reused=held, thread=thread)

    def _reuse(
        self, query: str, model: str, decision_id: str, kwargs: dict[str, Any], thread: str | None
    ) -> Plan:
        try:
            decision = self.engine.decision(decision_id)
        except UnknownDecisionError:  # the engine forgot it: a new decision naming the same model
            decision = self.engine.route(query, **{**kwargs, "force": model})
        return Plan(decision, model, reused=True, thread=thread)

    def _attempt_order(self, plan: Plan) -> list[str]:
        names = [plan.first]
        if self.fallback_on_error:
            names += [
                s.model for s in plan.decision.ranking
                if s.model not in names and s.model in self.models and s.within_budget
            ]  # fmt: skip
        return [name for name in names for _ in range(self.max_retries + 1)]

    # -- runs -------------------------------------------------------------------------------------
    def _remember(self, run_id: UUID, plan: Plan) -> None:
        d = plan.decision
        self._state.runs[run_id] = RoutedRun(run_id, d.decision_id, d.query, d.model)

    def _settle(
        self, run_id: UUID, model: str | None, failures: list[tuple[str, BaseException]]
    ) -> dict[str, Any]:
        run = self._state.runs.get(run_id)
        failed = tuple(name for name, _ in failures)
        if run is not None:
            self._state.runs[run_id] = dataclasses.replace(run, model=model, failed=failed)
        return {"decision_id": run.decision_id if run else None, "model": model, "failed": list(failed)}

    @staticmethod
    def _log_failure(name: str, exc: BaseException) -> None:
        logger.warning("model %r failed (%r); trying the next attempt", name, exc)

    def get_decision(self, run_id: UUID | str) -> Any:
        """The engine's ``RouteDecision`` made in the router run ``run_id`` (the router's own run id).

        Raises :class:`eagle_core.UnknownDecisionError` for a run this router does not remember
        (never routed here, or older than ``max_remembered`` runs). For the id of an enclosing
        chain or agent, use :class:`EagleFeedbackHandler`.
        """
        return self.engine.decision(self.get_run(run_id).decision_id)

    def get_run(self, run_id: UUID | str) -> RoutedRun:
        """What happened in the router run ``run_id``: decision id, chosen and answering model."""
        run = self._state.runs.get(as_uuid(run_id))
        if run is None:
            raise UnknownDecisionError(
                f"no routing decision for run id {run_id!s}: not a run of this router or older "
                f"than its last max_remembered={self.max_remembered} runs"
            )
        return run

    # -- after an answer --------------------------------------------------------------------------
    def _answered(self, attempts: Attempts, model: str) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """Settle the run, remember the turn / thread; the event data and failure feedback pairs."""
        data = self._settle(attempts.run_id, model, attempts.failures)
        output, decision = attempts.output, attempts.plan.decision
        if isinstance(output, AIMessage):
            for call in output.tool_calls:
                if call.get("id"):
                    self._state.tool_calls[call["id"]] = (model, decision.decision_id)
        if attempts.plan.thread is not None:
            self._state.threads[attempts.plan.thread] = model
        losers = dict.fromkeys(name for name, _ in attempts.failures if name != model)
        pairs = [(model, loser) for loser in losers] if self.failure_feedback else []
        return data, pairs

    def _judge(self, attempts: Attempts, model: str) -> None:
        if self.auto_judge is None or attempts.output is NOTHING or attempts.output is UNADDABLE:
            return
        self.auto_judge.maybe_judge(
            engine=self.engine, models=self.models, decision=attempts.plan.decision,
            input=attempts.input, answer=attempts.output, answered=model,
            exclude=[name for name, _ in attempts.failures],
        )  # fmt: skip

    def _after_answer(self, attempts: Attempts, model: str) -> None:
        data, pairs = self._answered(attempts, model)
        if _has_parent(attempts.config):
            dispatch_custom_event(ANSWERED_EVENT, data, config=attempts.config)
        for winner, loser in pairs:
            try:
                self.engine.record_comparison(attempts.plan.decision.query, winner=winner, loser=loser)
            except Exception as exc:  # the answer is out; a lost side-record must not undo it
                logger.warning("could not record failure of %r as feedback: %r", loser, exc)
        self._judge(attempts, model)

    async def _aafter_answer(self, attempts: Attempts, model: str) -> None:
        data, pairs = self._answered(attempts, model)
        if _has_parent(attempts.config):
            await adispatch_custom_event(ANSWERED_EVENT, data, config=attempts.config)
        for winner, loser in pairs:
            try:
                await self.engine.arecord_comparison(
                    attempts.plan.decision.query, winner=winner, loser=loser
                )
            except Exception as exc:
                logger.warning("could not record failure of %r as feedback: %r", loser, exc)
        self._judge(attempts, model)

    # -- copies -----------------------------------------------------------------------------------
    def _with_models(self, models: dict[str, Runnable[Any, Any]]) -> Any:
        """A copy routing ``models`` (e.g. tool-bound), sharing engine and remembered state."""
        copy = self.model_copy(update={"models": models})
        copy.__dict__.pop("_serialized", None)  # BaseChatModel's cached dumpd of the original
        return copy

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Any:
        """Deep copies share the engine, the remembered runs and the judge (live services)."""
        memo = {} if memo is None else memo
        for shared in (self.eagle, self._state, self.auto_judge):
            if shared is not None:
                memo[id(shared)] = shared
        return super().__deepcopy__(memo)

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without the live engine: a reference finds it again (see ``_engines``)."""
        if self.auto_judge is not None:
            raise TypeError(
                f"cannot pickle a {type(self).__name__} with auto_judge: the judge runs a thread "
                "pool; pickle the router without it and set router.auto_judge after loading"
            )
        state = super().__getstate__()
        state["__dict__"] = {**state["__dict__"], "eagle": None}
        state["__pydantic_private__"] = {**(state.get("__pydantic_private__") or {}), "_state": None}
        state["eagle_engine"] = (self._engine_reference(), self.eagle is not None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        ref, explicit = state.pop("eagle_engine", (None, False))
        super().__setstate__(state)
        engine = find_engine(ref) if ref is not None else None
        self._state = RouterState(self.max_remembered)
        if explicit or (ref is not None and engine is None):
            self.__dict__["eagle"] = engine if engine is not None else Detached(ref)
        elif engine is not None:
            self._state.engine = engine

    def _engine_reference(self) -> dict[str, Any] | None:
        """The reference standing for the engine in a pickle or a dump (``None``: none built yet)."""
        if isinstance(self.eagle, Detached):
            return self.eagle.ref
        engine = self.eagle if self.eagle is not None else (self._state.engine if self._state else None)
        return engine_reference(engine) if isinstance(engine, Eagle) else None

    # -- LangChain serialization (dumpd / load) ------------------------------------------------------
    @classmethod
    def is_lc_serializable(cls) -> bool:
        """Routers dump with ``langchain_core.load.dumpd``: each routed model through its own
        ``to_json``, the engine as a reference (see :func:`eagle_langchain.register_engine`)."""
        return True

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        return ["eagle_langchain"]

    def to_json(self) -> Any:
        """The constructor call, with ``eagle`` as a reference re-attached by ``load``. A routed model
        that is not serializable, ``auto_judge`` or custom ``exceptions_to_handle`` stay marked
        ``not_implemented`` (``load`` raises naming them); the default engine is not kept (the
        loaded router builds its own from ``costs``)."""
        data = super().to_json()
        if data.get("type") != "constructor":
            return data
        kwargs = dict(data["kwargs"])
        if kwargs.get("exceptions_to_handle") == (Exception,):
            del kwargs["exceptions_to_handle"]
        kwargs.pop("eagle", None)
        if self.eagle is not None:
            kwargs["eagle"] = self._engine_reference()
        return {**data, "kwargs": kwargs}


def _has_parent(config: RunnableConfig) -> bool:
    """Whether the answer's run has a parent to tell (the attempt's callbacks are its run's child
    manager: no need to build another one per answer)."""
    callbacks = (config or {}).get("callbacks")
    if callbacks is None or isinstance(callbacks, list):
        return bool(config) and get_callback_manager_for_config(config).parent_run_id is not None
    return getattr(callbacks, "parent_run_id", None) is not None
