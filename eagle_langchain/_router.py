"""EagleRouter: a Runnable that hands each input to the model Eagle picks for it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import aclosing, closing
from functools import partial
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForChainRun, CallbackManagerForChainRun
from langchain_core.runnables import Runnable, RunnableConfig, RunnableSerializable
from langchain_core.runnables.base import coerce_to_runnable
from langchain_core.runnables.config import (
    ensure_config,
    get_async_callback_manager_for_config,
    get_callback_manager_for_config,
)
from langchain_core.runnables.utils import ConfigurableFieldSpec, get_unique_config_specs
from pydantic import field_validator

from eagle_core import ConfigError
from eagle_langchain._attempts import Attempts, Plan, adeferred, arun_attempts, deferred, run_attempts
from eagle_langchain._routing import CONFIGURABLE_KEYS, RoutingBase
from eagle_langchain._text import input_messages, query_text

__all__ = ["CONFIGURABLE_KEYS", "EagleRouter"]

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
    ConfigurableFieldSpec(
        id="eagle_explore", annotation=bool | None, name="Explore",
        description="False: always serve the ranking's first model; None: the engine's setting.",
    ),
)  # fmt: skip


class EagleRouter(RoutingBase, RunnableSerializable[Any, Any]):
    """Route each input to the Runnable Eagle ranks best, and behave exactly like that Runnable.

    For chat models use :class:`EagleChatModel`, which *is* a chat model (``bind_tools``,
    ``with_structured_output``, agents); this router takes any Runnables (chains, LLMs, lambdas) and
    returns whatever they return: ``prompt | EagleRouter(models=...) | StrOutputParser()``. Every
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
    ``eagle_cost_weight``, ``eagle_willingness_to_pay``, ``eagle_budget``, ``eagle_explore`` (override
    the fields of the same name for that call; ``None`` clears one). Other ``eagle_*`` keys raise
    ``ConfigError``.

    **One model per agent turn.** For message inputs whose last human message is followed by an
    answer of this router (an agent's follow-up step), the model that answered goes on (``sticky``).

    **Failures.** A model's error propagates unchanged (after ``max_retries`` retries, if set). With
    ``fallback_on_error=True`` the next models of the ranking (within budget) are tried in order, and
    if all fail the chosen model's error is raised with the others attached as notes. When streaming,
    a retry or fallback happens only if the model fails before its first chunk. A failure is **not**
    feedback unless ``failure_feedback=True``: then each failing model is recorded as losing to the
    model that answered.

    Example:
        ```python
        router = EagleRouter(models={"big": big_llm, "small": small_llm},
                             eagle=Eagle(models={"big": 0.01, "small": 0.0005}))
        chain = prompt | router | StrOutputParser()
        chain.invoke({"question": "..."}, config={"configurable": {"eagle_budget": 0.001}})
        ```
    """

    input_key: str | None = None
    """For dict inputs: the key holding the text to route on (default: ``input``, ``question``,
    ``query``, ``messages``, else the dict's only string value)."""

    def __init__(self, **kwargs: Any) -> None:
        self._check_kwargs(kwargs)
        super().__init__(**kwargs)
        self._setup()

    @classmethod
    def _check_model(cls, name: Any, model: Any) -> None:
        if not callable(model):  # plain callables become RunnableLambdas (see _coerce_models)
            super()._check_model(name, model)

    @field_validator("models", mode="before")
    @classmethod
    def _coerce_models(cls, value: Any) -> Any:
        return {
            name: model if isinstance(model, Runnable) or not callable(model)
            else coerce_to_runnable(model)
            for name, model in value.items()
        }

    @property
    def config_specs(self) -> list[ConfigurableFieldSpec]:
        return get_unique_config_specs(
            [*_SPECS, *(spec for model in self.models.values() for spec in model.config_specs)]
        )

    def _routing_text(self, input: Any) -> str:
        return query_text(input, self.input_key)

    def _routing_messages(self, input: Any) -> Any:
        return input_messages(input, self.input_key)

    def bind_tools(self, *args: Any, **kwargs: Any) -> Any:
        raise ConfigError(
            "EagleRouter routes any Runnable and has no tools to bind; for chat models use "
            "EagleChatModel(models=..., eagle=...), a BaseChatModel with bind_tools / "
            "with_structured_output"
        )

    # -- runs and tracing -----------------------------------------------------------------------
    def _start(
        self, input: Any, config: RunnableConfig, manager_for: Callable[[RunnableConfig], Any]
    ) -> tuple[Plan, RunnableConfig]:
        """The plan and a config whose run carries it: id and model inherited, ranking local.

        Routing errors still show in tracing as a failed run of the router."""
        try:
            plan = self._plan(input, config)
        except Exception as exc:
            self._failed_run(input, config, exc)
            raise
        return plan, self._run_config(config, plan, manager_for)

    async def _astart(
        self, input: Any, config: RunnableConfig, manager_for: Callable[[RunnableConfig], Any]
    ) -> tuple[Plan, RunnableConfig]:
        # One worker thread for everything that may block: the engine's first use opens it (Chroma,
        # embedder), then routing embeds the text (Eagle.aroute's way).
        try:
            plan = await asyncio.to_thread(self._plan, input, config)
        except Exception as exc:
            manager = get_async_callback_manager_for_config(config)
            run = await manager.on_chain_start(
                None, input, name=config.get("run_name") or self.get_name(),
                run_id=config.pop("run_id", None),
            )  # fmt: skip
            await run.on_chain_error(exc)
            raise
        return plan, self._run_config(config, plan, manager_for)

    def _run_config(
        self, config: RunnableConfig, plan: Plan, manager_for: Callable[[RunnableConfig], Any]
    ) -> RunnableConfig:
        decision = plan.decision
        run_config = RunnableConfig(**config)  # keeps run_name / run_id for the router's own run
        run_config["metadata"] = {
            **(config.get("metadata") or {}),
            "eagle_model": plan.first,
            "eagle_decision_id": decision.decision_id,
        }
        manager = manager_for(run_config)
        manager.add_metadata({"eagle_decision": decision.to_dict()}, inherit=False)
        run_config["callbacks"] = manager
        return run_config

    def _failed_run(self, input: Any, config: RunnableConfig, exc: BaseException) -> None:
        manager = get_callback_manager_for_config(config)
        run = manager.on_chain_start(
            None, input, name=config.get("run_name") or self.get_name(),
            run_id=config.pop("run_id", None),
        )  # fmt: skip
        run.on_chain_error(exc)

    @staticmethod
    def _model_config(config: RunnableConfig, name: str) -> RunnableConfig:
        metadata = {**(config.get("metadata") or {}), "eagle_model": name}
        return RunnableConfig(**{**config, "metadata": metadata})

    # -- invoke and stream: one attempt loop (eagle_langchain._attempts) --------------------------
    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        config = ensure_config(config)
        plan, run_config = self._start(input, config, get_callback_manager_for_config)
        return self._call_with_config(
            self._invoke_routed, input, run_config, plan=plan, model_kwargs=kwargs
        )

    def _invoke_routed(
        self, input: Any, run_manager: CallbackManagerForChainRun, config: RunnableConfig, *,
        plan: Plan, model_kwargs: dict[str, Any],
    ) -> Any:  # fmt: skip
        attempts = Attempts(self, run_manager.run_id, plan, input, config)

        def call(name: str) -> Iterator[Any]:
            model_config = self._model_config(config, name)
            return deferred(partial(self.models[name].invoke, input, model_config, **model_kwargs))

        with closing(run_attempts(attempts, call)) as loop:
            for _ in loop:
                pass
        return attempts.output

    async def ainvoke(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Any:
        config = ensure_config(config)
        plan, run_config = await self._astart(input, config, get_async_callback_manager_for_config)
        return await self._acall_with_config(
            self._ainvoke_routed, input, run_config, plan=plan, model_kwargs=kwargs
        )

    async def _ainvoke_routed(
        self, input: Any, run_manager: AsyncCallbackManagerForChainRun, config: RunnableConfig, *,
        plan: Plan, model_kwargs: dict[str, Any],
    ) -> Any:  # fmt: skip
        attempts = Attempts(self, run_manager.run_id, plan, input, config)

        def call(name: str) -> AsyncIterator[Any]:
            model_config = self._model_config(config, name)
            return adeferred(partial(self.models[name].ainvoke, input, model_config, **model_kwargs))

        async with aclosing(arun_attempts(attempts, call)) as loop:
            async for _ in loop:
                pass
        return attempts.output

    def stream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[Any]:
        config = ensure_config(config)
        plan, run_config = self._start(input, config, get_callback_manager_for_config)
        yield from self._transform_stream_with_config(
            iter([input]),
            partial(self._stream_routed, input=input, plan=plan, model_kwargs=kwargs),
            run_config,
        )

    def _stream_routed(
        self, inputs: Iterator[Any], run_manager: CallbackManagerForChainRun,
        config: RunnableConfig, *, input: Any, plan: Plan, model_kwargs: dict[str, Any],
    ) -> Iterator[Any]:  # fmt: skip
        attempts = Attempts(self, run_manager.run_id, plan, input, config)

        def call(name: str) -> Iterator[Any]:
            return self.models[name].stream(input, self._model_config(config, name), **model_kwargs)

        with closing(run_attempts(attempts, call)) as loop:
            for _, chunk in loop:
                yield chunk

    async def astream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[Any]:
        config = ensure_config(config)
        plan, run_config = await self._astart(input, config, get_async_callback_manager_for_config)
        async for chunk in self._atransform_stream_with_config(
            _one(input),
            partial(self._astream_routed, input=input, plan=plan, model_kwargs=kwargs),
            run_config,
        ):
            yield chunk

    async def _astream_routed(
        self, inputs: AsyncIterator[Any], run_manager: AsyncCallbackManagerForChainRun,
        config: RunnableConfig, *, input: Any, plan: Plan, model_kwargs: dict[str, Any],
    ) -> AsyncIterator[Any]:  # fmt: skip
        attempts = Attempts(self, run_manager.run_id, plan, input, config)

        def call(name: str) -> AsyncIterator[Any]:
            return self.models[name].astream(input, self._model_config(config, name), **model_kwargs)

        async with aclosing(arun_attempts(attempts, call)) as loop:
            async for _, chunk in loop:
                yield chunk


async def _one(value: Any) -> AsyncIterator[Any]:
    yield value
