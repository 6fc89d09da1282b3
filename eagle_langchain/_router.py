"""EagleRouter: a Runnable that hands each input to the model Eagle picks for it."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from functools import partial
from typing import Any
from uuid import UUID

from langchain_core.callbacks import (
    AsyncCallbackManagerForChainRun,
    CallbackManagerForChainRun,
    adispatch_custom_event,
    dispatch_custom_event,
)
from langchain_core.runnables import Runnable, RunnableConfig, RunnableSerializable
from langchain_core.runnables.base import coerce_to_runnable
from langchain_core.runnables.config import (
    ensure_config,
    get_async_callback_manager_for_config,
    get_callback_manager_for_config,
)
from langchain_core.runnables.utils import ConfigurableFieldSpec, get_unique_config_specs
from pydantic import ConfigDict, PrivateAttr, field_validator

from eagle_core import ConfigError, Eagle, RouteDecision, UnknownDecisionError, UnknownModelError
from eagle_langchain._judge import AutoJudge
from eagle_langchain._runs import ANSWERED_EVENT, RoutedRun, RunLRU, as_uuid
from eagle_langchain._text import query_text

__all__ = ["CONFIGURABLE_KEYS", "EagleRouter"]

logger = logging.getLogger(__name__)

CONFIGURABLE_KEYS: dict[str, str] = {
    "eagle_model": "force",
    "eagle_cost_weight": "cost_weight",
    "eagle_willingness_to_pay": "willingness_to_pay",
    "eagle_budget": "budget",
}
"""Per-call options read from ``config["configurable"]`` -> the ``Eagle.route`` argument they set."""

_SPECS = (
    ConfigurableFieldSpec(
        id="eagle_model", annotation=str | None, name="Force model",
        description="Answer with this model instead of the one Eagle picks (still recorded).",
    ),
    ConfigurableFieldSpec(
        id="eagle_cost_weight", annotation=float | None, name="Cost weight",
        description="Choose argmax(q - w * cost): USD cost traded against normalised quality.",
    ),
    ConfigurableFieldSpec(
        id="eagle_willingness_to_pay", annotation=float | None, name="Willingness to pay",
        description="RouterBench rule argmax(q * lambda - cost), lambda in USD per unit quality.",
    ),
    ConfigurableFieldSpec(
        id="eagle_budget", annotation=float | None, name="Budget",
        description="Most USD one call may cost; dearer (or unpriced) models are not chosen.",
    ),
)  # fmt: skip

_NOTHING: Any = object()  # an empty stream / nothing accumulated yet
_UNADDABLE: Any = object()  # chunks that do not support "+"


def _accumulate(total: Any, chunk: Any) -> Any:
    if total is _UNADDABLE:
        return total
    if total is _NOTHING:
        return chunk
    try:
        return total + chunk
    except TypeError:
        return _UNADDABLE


def _raise_first(failures: list[tuple[str, BaseException]]) -> None:
    """Re-raise the chosen model's error; the fallbacks' errors ride along as notes."""
    first = failures[0][1]
    if hasattr(first, "add_note"):
        for name, exc in failures[1:]:
            first.add_note(f"eagle fallback {name!r} also failed: {exc!r}")
    raise first


class EagleRouter(RunnableSerializable[Any, Any]):
    """Route each input to the model Eagle ranks best, and behave exactly like that model.

    Drop it where a chat model goes: ``prompt | EagleRouter(models=...) | StrOutputParser()``. Every
    call embeds the input's text (see :func:`eagle_langchain.query_text` for which text), asks the
    engine for a decision, then runs the chosen model as a child run with the caller's config
    (callbacks, tags, metadata), streaming its chunks through untouched.

    **Tracing.** The router's run starts once the decision is made, so its metadata carries it:
    ``eagle_model`` and ``eagle_decision_id`` (inherited by the model's run) and ``eagle_decision``
    (the full ranking, ``RouteDecision.to_dict()``, on the router run only). When an answer is out the
    router dispatches the custom event ``"eagle_answered"`` ``{decision_id, model, failed}``.
    :meth:`get_decision` looks a decision up by the router's run id; :class:`EagleFeedbackHandler`
    does it for any run id in the tree (e.g. the whole chain's) and takes the feedback.

    **Per-call options** in ``config={"configurable": {...}}``: ``eagle_model`` (force a model),
    ``eagle_cost_weight``, ``eagle_willingness_to_pay``, ``eagle_budget`` (override the fields of the
    same name for that call; ``None`` clears one). Other ``eagle_*`` keys raise ``ConfigError``.

    **Failures.** A model's error propagates unchanged. With ``fallback_on_error=True`` the next
    models of the ranking (within budget) are tried in order, and if all fail the chosen model's error
    is raised with the others attached as notes. When streaming, a fallback happens only if the model
    fails before its first chunk. A failure is **not** feedback unless ``failure_feedback=True``:
    then each failing model is recorded as losing to the model that answered.

    Example:
        ```python
        router = EagleRouter(models={"big": big_llm, "small": small_llm},
                             eagle=Eagle(models={"big": 0.01, "small": 0.0005}))
        chain = prompt | router | StrOutputParser()
        chain.invoke({"question": "..."}, config={"configurable": {"eagle_budget": 0.001}})
        ```
    """

    models: dict[str, Runnable[Any, Any]]
    """Model name -> what answers as that model: a chat model, an LLM or a whole sub-chain. Names
    must be models of ``eagle`` (a subset is fine: the router then routes among its own)."""
    eagle: Eagle | None = None
    """The routing engine. ``None`` builds an in-memory ``Eagle`` over ``models`` on first use (see
    :attr:`engine`), priced by ``costs``; share one engine to persist and pool feedback."""
    costs: dict[str, Any] | None = None
    """Costs for the default engine (name -> USD per call or ``TokenCost``); ``None`` leaves every
    cost unknown, which is fine for quality-only routing. Not allowed together with ``eagle``."""
    input_key: str | None = None
    """For dict inputs: the key holding the text to route on (default: ``input``, ``question``,
    ``query``, ``messages``, else the dict's only string value)."""
    cost_weight: float | None = None
    """Default cost weight for every call (see ``Eagle.route``)."""
    willingness_to_pay: float | None = None
    """Default willingness to pay for every call (see ``Eagle.route``)."""
    budget: float | None = None
    """Default hard budget in USD per call (see ``Eagle.route``)."""
    fallback_on_error: bool = False
    """On an error of the chosen model, try the next-ranked models instead of raising at once."""
    exceptions_to_handle: tuple[type[BaseException], ...] = (Exception,)
    """Errors that trigger a fallback; anything else propagates immediately."""
    failure_feedback: bool = False
    """Record every model that failed as losing to the model that then answered."""
    auto_judge: AutoJudge | None = None
    """Automatic pairwise feedback (the paper's optional step); runs in the background."""
    max_remembered: int = 10_000
    """How many recent runs :meth:`get_decision` can look up."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    _engine: Eagle | None = PrivateAttr(default=None)
    _engine_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _runs: RunLRU[UUID, RoutedRun] = PrivateAttr(default=None)  # type: ignore[assignment]

    def __init__(self, **kwargs: Any) -> None:
        models = kwargs.get("models")
        if not isinstance(models, Mapping):  # a typed error, not pydantic's ValidationError
            raise ConfigError(
                f"models must be a dict name -> Runnable, got {type(models).__name__} {models!r}"
            )
        super().__init__(**kwargs)
        self._check()
        self._runs = RunLRU(self.max_remembered)

    @field_validator("models", mode="before")
    @classmethod
    def _coerce_models(cls, value: Any) -> Any:
        return {
            name: model if isinstance(model, Runnable) or not callable(model)
            else coerce_to_runnable(model)
            for name, model in value.items()
        }

    def _check(self) -> None:
        if not self.models:
            raise ConfigError("models must name at least one model, got an empty dict")
        bad = [name for name in self.models if not isinstance(name, str) or not name]
        if bad:
            raise ConfigError(f"model names must be non-empty strings, got {bad!r}")
        if self.eagle is not None and self.costs is not None:
            raise ConfigError(
                "pass costs either to EagleRouter(costs=...) (default engine) or to "
                "Eagle(models=...), not both; got an eagle and costs"
            )
        if self.costs is not None and set(self.costs) != set(self.models):
            raise ConfigError(
                f"costs must price exactly the router's models {sorted(self.models)}, got "
                f"{sorted(self.costs)}"
            )
        if self.cost_weight is not None and self.willingness_to_pay is not None:
            raise ConfigError(
                "give cost_weight or willingness_to_pay, not both (cost_weight = 1 / "
                f"willingness_to_pay); got {self.cost_weight!r} and {self.willingness_to_pay!r}"
            )
        if not isinstance(self.max_remembered, int) or self.max_remembered < 1:
            raise ConfigError(f"max_remembered must be an int >= 1, got {self.max_remembered!r}")

    # -- engine and per-call options ------------------------------------------------------------
    @property
    def engine(self) -> Eagle:
        """The engine in use: ``eagle``, or the default one built on first access."""
        if self.eagle is not None:
            return self.eagle
        with self._engine_lock:
            if self._engine is None:
                costs = self.costs if self.costs is not None else dict.fromkeys(self.models)
                self._engine = Eagle(models=dict(costs), path=None)
            return self._engine

    @property
    def config_specs(self) -> list[ConfigurableFieldSpec]:
        return get_unique_config_specs(
            [*_SPECS, *(spec for model in self.models.values() for spec in model.config_specs)]
        )

    def _route_kwargs(self, config: RunnableConfig) -> dict[str, Any]:
        configurable = config.get("configurable") or {}
        unknown = [k for k in configurable if k.startswith("eagle_") and k not in CONFIGURABLE_KEYS]
        if unknown:
            raise ConfigError(
                f"unknown configurable key(s) {unknown}; EagleRouter reads {list(CONFIGURABLE_KEYS)}"
            )
        kwargs: dict[str, Any] = {
            "cost_weight": self.cost_weight,
            "willingness_to_pay": self.willingness_to_pay,
            "budget": self.budget,
        }
        for key, arg in CONFIGURABLE_KEYS.items():
            if key in configurable:
                kwargs[arg] = configurable[key]
        force = kwargs.get("force")
        if force is not None and force not in self.models:
            raise UnknownModelError(
                f"configurable eagle_model must be one of the router's models "
                f"{list(self.models)}, got {force!r}"
            )
        known = self.engine.models  # checked per call: models can be added / removed at runtime
        missing = [name for name in self.models if name not in known]
        if missing:
            raise UnknownModelError(
                f"router models {missing} are not models of the Eagle engine {list(known)}; add "
                "them with eagle.add_model(name, cost) or drop them from EagleRouter(models=...)"
            )
        if len(known) != len(self.models):
            kwargs["candidates"] = list(self.models)
        return {k: v for k, v in kwargs.items() if v is not None}

    def _decide(self, input: Any, config: RunnableConfig) -> RouteDecision:
        kwargs = self._route_kwargs(config)
        return self.engine.route(query_text(input, self.input_key), **kwargs)

    async def _adecide(self, input: Any, config: RunnableConfig) -> RouteDecision:
        # One worker thread for everything that may block: the first call opens the engine (Chroma,
        # embedder) just by reading its models, then routing embeds the text (Eagle.aroute's way).
        return await asyncio.to_thread(self._decide, input, config)

    # -- runs and tracing -----------------------------------------------------------------------
    def _run_config(
        self,
        config: RunnableConfig,
        decision: RouteDecision,
        manager_for: Callable[[RunnableConfig], Any],
    ) -> RunnableConfig:
        """Config whose run carries the decision: id and model inherited, the ranking local."""
        run_config = RunnableConfig(**config)  # keeps run_name / run_id for the router's own run
        run_config["metadata"] = {
            **(config.get("metadata") or {}),
            "eagle_model": decision.model,
            "eagle_decision_id": decision.decision_id,
        }
        manager = manager_for(run_config)
        manager.add_metadata({"eagle_decision": decision.to_dict()}, inherit=False)
        run_config["callbacks"] = manager
        return run_config

    def _start_failed_run(self, input: Any, config: RunnableConfig, exc: BaseException) -> None:
        """Routing failed before the run started: still show the run and its error in tracing."""
        manager = get_callback_manager_for_config(config)
        run = manager.on_chain_start(
            None, input, name=config.get("run_name") or self.get_name(),
            run_id=config.pop("run_id", None),
        )  # fmt: skip
        run.on_chain_error(exc)

    async def _astart_failed_run(
        self, input: Any, config: RunnableConfig, exc: BaseException
    ) -> None:
        manager = get_async_callback_manager_for_config(config)
        run = await manager.on_chain_start(
            None, input, name=config.get("run_name") or self.get_name(),
            run_id=config.pop("run_id", None),
        )  # fmt: skip
        await run.on_chain_error(exc)

    def _attempts(self, decision: RouteDecision) -> list[str]:
        if not self.fallback_on_error:
            return [decision.model]
        rest = [
            s.model
            for s in decision.ranking
            if s.model != decision.model and s.model in self.models and s.within_budget
        ]
        return [decision.model, *rest]

    @staticmethod
    def _model_config(config: RunnableConfig, name: str) -> RunnableConfig:
        metadata = {**(config.get("metadata") or {}), "eagle_model": name}
        return RunnableConfig(**{**config, "metadata": metadata})

    def _remember(self, run_id: UUID, decision: RouteDecision) -> None:
        self._runs[run_id] = RoutedRun(run_id, decision.decision_id, decision.query, decision.model)

    def _settle(
        self, run_id: UUID, model: str | None, failures: list[tuple[str, BaseException]]
    ) -> dict[str, Any]:
        run = self._runs.get(run_id)
        failed = tuple(name for name, _ in failures)
        if run is not None:
            self._runs[run_id] = dataclasses.replace(run, model=model, failed=failed)
        return {
            "decision_id": run.decision_id if run else None,
            "model": model,
            "failed": list(failed),
        }

    def get_decision(self, run_id: UUID | str) -> RouteDecision:
        """The decision made in the router run ``run_id`` (the router's own run id).

        Raises :class:`eagle_core.UnknownDecisionError` for a run this router does not remember
        (never routed here, or older than ``max_remembered`` runs). For the id of an enclosing
        chain, use :class:`EagleFeedbackHandler`.
        """
        run = self.get_run(run_id)
        return self.engine.decision(run.decision_id)

    def get_run(self, run_id: UUID | str) -> RoutedRun:
        """What happened in the router run ``run_id``: decision id, chosen and answering model."""
        run = self._runs.get(as_uuid(run_id))
        if run is None:
            raise UnknownDecisionError(
                f"no routing decision for run id {run_id!s}: not a run of this router or older "
                f"than its last max_remembered={self.max_remembered} runs"
            )
        return run

    # -- after an answer ------------------------------------------------------------------------
    def _judge(
        self, decision: RouteDecision, input: Any, output: Any, model: str, failed: list[str]
    ) -> None:
        if self.auto_judge is None or output is _NOTHING or output is _UNADDABLE:
            return
        self.auto_judge.maybe_judge(
            engine=self.engine, models=self.models, decision=decision, input=input,
            answer=output, answered=model, exclude=failed,
        )  # fmt: skip

    def _failure_pairs(
        self, model: str, failures: list[tuple[str, BaseException]]
    ) -> list[tuple[str, str]]:
        return [(model, name) for name, _ in failures] if self.failure_feedback else []

    def _after_answer(
        self, run_id: UUID, decision: RouteDecision, input: Any, output: Any, model: str,
        failures: list[tuple[str, BaseException]], config: RunnableConfig,
    ) -> None:  # fmt: skip
        dispatch_custom_event(ANSWERED_EVENT, self._settle(run_id, model, failures), config=config)
        for winner, loser in self._failure_pairs(model, failures):
            try:
                self.engine.record_comparison(decision.query, winner=winner, loser=loser)
            except Exception as exc:  # the answer is out; a lost side-record must not undo it
                logger.warning("could not record failure of %r as feedback: %r", loser, exc)
        self._judge(decision, input, output, model, [name for name, _ in failures])

    async def _aafter_answer(
        self, run_id: UUID, decision: RouteDecision, input: Any, output: Any, model: str,
        failures: list[tuple[str, BaseException]], config: RunnableConfig,
    ) -> None:  # fmt: skip
        data = self._settle(run_id, model, failures)
        await adispatch_custom_event(ANSWERED_EVENT, data, config=config)
        for winner, loser in self._failure_pairs(model, failures):
            try:
                await self.engine.arecord_comparison(decision.query, winner=winner, loser=loser)
            except Exception as exc:
                logger.warning("could not record failure of %r as feedback: %r", loser, exc)
        self._judge(decision, input, output, model, [name for name, _ in failures])

    def _on_failure(
        self, run_id: UUID, name: str, exc: BaseException,
        failures: list[tuple[str, BaseException]],
    ) -> None:  # fmt: skip
        failures.append((name, exc))
        if not self.fallback_on_error or not isinstance(exc, self.exceptions_to_handle):
            self._settle(run_id, None, failures)
            raise exc
        logger.warning("model %r failed (%r); falling back to the next-ranked model", name, exc)

    # -- invoke ---------------------------------------------------------------------------------
    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        config = ensure_config(config)
        try:
            decision = self._decide(input, config)
        except Exception as exc:
            self._start_failed_run(input, config, exc)
            raise
        return self._call_with_config(
            self._invoke_routed, input,
            self._run_config(config, decision, get_callback_manager_for_config),
            decision=decision, model_kwargs=kwargs,
        )  # fmt: skip

    def _invoke_routed(
        self, input: Any, run_manager: CallbackManagerForChainRun, config: RunnableConfig, *,
        decision: RouteDecision, model_kwargs: dict[str, Any],
    ) -> Any:  # fmt: skip
        run_id = run_manager.run_id
        self._remember(run_id, decision)
        failures: list[tuple[str, BaseException]] = []
        for name in self._attempts(decision):
            try:
                output = self.models[name].invoke(
                    input, self._model_config(config, name), **model_kwargs
                )
            except BaseException as exc:
                self._on_failure(run_id, name, exc, failures)
                continue
            self._after_answer(run_id, decision, input, output, name, failures, config)
            return output
        self._settle(run_id, None, failures)
        _raise_first(failures)

    async def ainvoke(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Any:
        config = ensure_config(config)
        try:
            decision = await self._adecide(input, config)
        except Exception as exc:
            await self._astart_failed_run(input, config, exc)
            raise
        return await self._acall_with_config(
            self._ainvoke_routed, input,
            self._run_config(config, decision, get_async_callback_manager_for_config),
            decision=decision, model_kwargs=kwargs,
        )  # fmt: skip

    async def _ainvoke_routed(
        self, input: Any, run_manager: AsyncCallbackManagerForChainRun, config: RunnableConfig, *,
        decision: RouteDecision, model_kwargs: dict[str, Any],
    ) -> Any:  # fmt: skip
        run_id = run_manager.run_id
        self._remember(run_id, decision)
        failures: list[tuple[str, BaseException]] = []
        for name in self._attempts(decision):
            try:
                output = await self.models[name].ainvoke(
                    input, self._model_config(config, name), **model_kwargs
                )
            except BaseException as exc:
                self._on_failure(run_id, name, exc, failures)
                continue
            await self._aafter_answer(run_id, decision, input, output, name, failures, config)
            return output
        self._settle(run_id, None, failures)
        _raise_first(failures)

    # -- stream ---------------------------------------------------------------------------------
    def stream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[Any]:
        config = ensure_config(config)
        try:
            decision = self._decide(input, config)
        except Exception as exc:
            self._start_failed_run(input, config, exc)
            raise
        yield from self._transform_stream_with_config(
            iter([input]),
            partial(self._stream_routed, input=input, decision=decision, model_kwargs=kwargs),
            self._run_config(config, decision, get_callback_manager_for_config),
        )

    def _stream_routed(
        self, inputs: Iterator[Any], run_manager: CallbackManagerForChainRun,
        config: RunnableConfig, *, input: Any, decision: RouteDecision,
        model_kwargs: dict[str, Any],
    ) -> Iterator[Any]:  # fmt: skip
        run_id = run_manager.run_id
        self._remember(run_id, decision)
        failures: list[tuple[str, BaseException]] = []
        for name in self._attempts(decision):
            stream = self.models[name].stream(
                input, self._model_config(config, name), **model_kwargs
            )
            try:
                first = next(stream, _NOTHING)
            except BaseException as exc:
                self._on_failure(run_id, name, exc, failures)
                continue
            break
        else:
            self._settle(run_id, None, failures)
            _raise_first(failures)
        output = _NOTHING
        try:
            if first is not _NOTHING:
                yield first
                output = _accumulate(output, first)
                for chunk in stream:
                    yield chunk
                    output = _accumulate(output, chunk)
        except BaseException as exc:
            if not isinstance(exc, GeneratorExit):
                self._settle(run_id, None, [*failures, (name, exc)])
            raise
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
        self._after_answer(run_id, decision, input, output, name, failures, config)

    async def astream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[Any]:
        config = ensure_config(config)
        try:
            decision = await self._adecide(input, config)
        except Exception as exc:
            await self._astart_failed_run(input, config, exc)
            raise
        async for chunk in self._atransform_stream_with_config(
            _one(input),
            partial(self._astream_routed, input=input, decision=decision, model_kwargs=kwargs),
            self._run_config(config, decision, get_async_callback_manager_for_config),
        ):
            yield chunk

    async def _astream_routed(
        self, inputs: AsyncIterator[Any], run_manager: AsyncCallbackManagerForChainRun,
        config: RunnableConfig, *, input: Any, decision: RouteDecision,
        model_kwargs: dict[str, Any],
    ) -> AsyncIterator[Any]:  # fmt: skip
        run_id = run_manager.run_id
        self._remember(run_id, decision)
        failures: list[tuple[str, BaseException]] = []
        for name in self._attempts(decision):
            stream = self.models[name].astream(
                input, self._model_config(config, name), **model_kwargs
            )
            try:
                first = await anext(stream, _NOTHING)
            except BaseException as exc:
                self._on_failure(run_id, name, exc, failures)
                continue
            break
        else:
            self._settle(run_id, None, failures)
            _raise_first(failures)
        output = _NOTHING
        try:
            if first is not _NOTHING:
                yield first
                output = _accumulate(output, first)
                async for chunk in stream:
                    yield chunk
                    output = _accumulate(output, chunk)
        except BaseException as exc:
            if not isinstance(exc, GeneratorExit):
                self._settle(run_id, None, [*failures, (name, exc)])
            raise
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()
        await self._aafter_answer(run_id, decision, input, output, name, failures, config)


async def _one(value: Any) -> AsyncIterator[Any]:
    yield value
