"""EagleChatModel: a router over chat models that is itself a chat model (tools, agents, tracing)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import aclosing, closing
from dataclasses import dataclass
from functools import partial
from typing import Any
from uuid import UUID

from langchain_core.callbacks import (
    AsyncCallbackManager,
    AsyncCallbackManagerForLLMRun,
    CallbackManager,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import BaseChatModel, LangSmithParams, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableBinding, RunnableConfig
from langchain_core.runnables.config import ensure_config
from langchain_core.runnables.fallbacks import RunnableWithFallbacks

from eagle_core import ConfigError
from eagle_langchain._attempts import Attempts, Plan, adeferred, arun_attempts, deferred, run_attempts
from eagle_langchain._router import EagleRouter
from eagle_langchain._routing import RoutingBase
from eagle_langchain._turns import METADATA_KEY

__all__ = ["EagleChatModel"]

_ROUTE_KWARG = "eagle_route"
"""Call keyword carrying a pre-made plan from ``invoke``/``stream`` down to ``_generate``/``_stream``."""
_FORWARDED = ("temperature", "max_tokens", "timeout")


@dataclass(frozen=True)
class _Routed:
    """A call routed before its run started (see ``EagleChatModel._pre_route``)."""

    plan: Plan
    run_id: UUID | None = None
    config: RunnableConfig | None = None


def chat_model_inside(model: Any) -> BaseChatModel | None:
    """The chat model a Runnable wraps (itself, a binding such as ``bind_tools``, retries, fallbacks)."""
    for _ in range(32):
        if isinstance(model, BaseChatModel):
            return model
        if isinstance(model, RunnableBinding):
            model = model.bound
        elif isinstance(model, RunnableWithFallbacks):
            model = model.runnable
        else:
            return None
    return None


class EagleChatModel(RoutingBase, BaseChatModel):
    """A chat model that answers each call with the chat model Eagle picks: use it wherever
    LangChain takes a chat model (``create_agent``, ``create_react_agent``, ``with_fallbacks``, LCEL).

    ``EagleRouter`` routes any Runnable (chains, LLMs, lambdas) and returns what they return; this
    class routes *chat models* and is a ``BaseChatModel`` itself, so it also has what needs a chat
    model: ``bind_tools`` and ``with_structured_output`` (applied to each routed model through that
    model's own method, since each provider formats tools its own way), ``get_num_tokens*``,
    callbacks / streaming tokens, LangSmith ``ls_*`` params (provider ``eagle``, model = the chosen
    one).

    **Which model answered** is on every answer: ``message.response_metadata["eagle"]`` =
    ``{"model", "decision_id", "chosen", "fallback", "failed", "reused"}`` (on the first streamed
    chunk, so it appears once in the aggregated message). The chat-model run's metadata carries
    ``eagle_model`` / ``eagle_decision_id`` (and the full ``eagle_decision`` ranking), so
    :class:`EagleFeedbackHandler` takes feedback by the id of the model run, of an enclosing chain
    or of a whole agent run.

    **One model per agent turn** (``sticky="turn"``, the default): a call whose last human message is
    followed by the model's own tool calls and their results is a follow-up step of the same turn and
    goes to the model that answered that turn, under the same decision; only a new human message is
    routed afresh. ``sticky="thread"`` additionally keeps a LangGraph thread on its first model.

    **Per-call options**: ``config["configurable"]`` keys ``eagle_model``, ``eagle_cost_weight``,
    ``eagle_willingness_to_pay``, ``eagle_budget``, ``eagle_explore`` (as for ``EagleRouter``); ``invoke(...,
    model="name")`` forces a model too. The standard chat-model parameters ``temperature``,
    ``max_tokens`` and ``timeout`` are forwarded to the chosen model's call when set, ``stop`` is the
    default stop list, ``max_retries`` retries a failing model before falling back / raising.

    Building it checks every model is a chat model and, when ``eagle`` is given, that the engine
    knows every name (this opens the engine: store and embedder).

    Example:
        ```python
        chat = EagleChatModel(models={"big": ChatOpenAI(model="gpt-4o"), "small": ChatOllama(...)},
                              eagle=Eagle(models={"big": 0.01, "small": 0.0}, path="eagle_store"))
        agent = create_agent(model=chat, tools=[multiply])
        ```
    """

    temperature: float | None = None
    """Forwarded to the chosen model's call when set (``None``: each model's own setting)."""
    max_tokens: int | None = None
    """Forwarded to the chosen model's call when set."""
    timeout: float | None = None
    """Forwarded to the chosen model's call when set (seconds)."""
    stop: list[str] | None = None
    """Default stop sequences of every call."""
    streaming: bool = False
    """Stream from the chosen model even on ``invoke`` (callbacks see tokens)."""

    def __init__(self, **kwargs: Any) -> None:
        self._check_kwargs(kwargs)
        super().__init__(**kwargs)
        self._setup()

    @classmethod
    def _model_kind(cls) -> str:
        return "chat model"

    @classmethod
    def _check_model(cls, name: Any, model: Any) -> None:
        if chat_model_inside(model) is None:
            raise ConfigError(
                f"models[{name!r}] must be a chat model (a BaseChatModel such as ChatOpenAI(...), or "
                f"one wrapped by bind / bind_tools / with_retry / with_fallbacks), got "
                f"{type(model).__name__} {model!r}; route other Runnables with EagleRouter"
            )

    # -- identity and tracing -----------------------------------------------------------------------
    @property
    def _llm_type(self) -> str:
        return "eagle"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "models": {name: _model_id(model) for name, model in self.models.items()},
            "sticky": self.sticky,
            "fallback_on_error": self.fallback_on_error,
            "cost_weight": self.cost_weight,
            "willingness_to_pay": self.willingness_to_pay,
            "budget": self.budget,
        }

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        routed = self._state.plans.get(kwargs.get(_ROUTE_KWARG)) if self._state else None
        name = kwargs.get("model") or (routed.plan.first if routed is not None else "eagle")
        params = LangSmithParams(ls_provider="eagle", ls_model_name=name, ls_model_type="chat")
        temperature = kwargs.get("temperature", self.temperature)
        max_tokens = kwargs.get("max_tokens", self.max_tokens)
        if temperature is not None:
            params["ls_temperature"] = temperature
        if max_tokens is not None:
            params["ls_max_tokens"] = max_tokens
        if stop or self.stop:
            params["ls_stop"] = stop or self.stop
        return params

    # -- tools, structured output, tokens: each routed model's own methods ---------------------------
    def bind_tools(
        self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind ``tools`` on every routed model with its own ``bind_tools``; the result routes like
        this model and shares its engine and memory (feedback by run id keeps working)."""
        if tool_choice is not None:
            kwargs["tool_choice"] = tool_choice
        bound = {name: self._each(name, "bind_tools", (tools,), kwargs) for name in self.models}
        return self._with_models(bound).bind()

    def with_structured_output(
        self, schema: Any = None, *, include_raw: bool = False, **kwargs: Any
    ) -> Runnable[LanguageModelInput, Any]:
        """Each routed model's own ``with_structured_output(schema, include_raw=..., method=...)``,
        routed by an :class:`EagleRouter` sharing this model's engine and memory."""
        kwargs = {**kwargs, "include_raw": include_raw}
        structured = {
            name: self._each(name, "with_structured_output", (schema,), kwargs) for name in self.models
        }
        fields = {f: getattr(self, f) for f in RoutingBase.model_fields if f not in ("models", "eagle")}
        router = EagleRouter(**{**fields, "costs": None}, models=structured, eagle=self.engine)
        router._state = self._state
        return router

    def _each(
        self, name: str, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Runnable[Any, Any]:
        model = self.models[name]
        try:
            return getattr(model, method)(*args, **kwargs)
        except NotImplementedError:
            raise ConfigError(
                f"routed model {name!r} ({type(chat_model_inside(model)).__name__}) does not "
                f"implement {method}; every model of an EagleChatModel must support it"
            ) from None

    def get_num_tokens(self, text: str) -> int:
        """The largest count among the routed models (a safe bound for context-window checks)."""
        return max(model.get_num_tokens(text) for model in self.models.values())

    def get_num_tokens_from_messages(
        self, messages: list[BaseMessage], tools: Sequence[Any] | None = None
    ) -> int:
        """The largest count among the routed models (a safe bound for context-window checks)."""
        return max(
            model.get_num_tokens_from_messages(messages, tools=tools) for model in self.models.values()
        )

    # -- routing before the run starts, so its metadata carries the decision -------------------------
    def _pre_route(
        self, input: Any, config: RunnableConfig | None, kwargs: dict[str, Any]
    ) -> tuple[RunnableConfig, dict[str, Any]]:
        config = ensure_config(config)
        if _ROUTE_KWARG in kwargs:  # already routed (stream falling back to invoke)
            return config, kwargs
        messages = self._convert_input(input).to_messages()
        plan = self._plan(messages, config, kwargs.pop("model", None))
        metadata = {
            **(config.get("metadata") or {}),
            "eagle_model": plan.first,
            "eagle_decision_id": plan.decision.decision_id,
            "eagle_decision": plan.decision.to_dict(),
        }
        # The run id is fixed here: BaseChatModel.stream does not hand _stream its run manager, so
        # the chosen model's run is parented from this id and config instead.
        config = RunnableConfig(**{**config, "metadata": metadata})
        config["run_id"] = config.get("run_id") or uuid.uuid4()
        token = uuid.uuid4().hex
        self._state.plans[token] = _Routed(plan, config["run_id"], config)
        return config, {**kwargs, _ROUTE_KWARG: token}

    def invoke(
        self, input: LanguageModelInput, config: RunnableConfig | None = None, *,
        stop: list[str] | None = None, **kwargs: Any,
    ) -> AIMessage:  # fmt: skip
        config, kwargs = self._pre_route(input, config, kwargs)
        return super().invoke(input, config, stop=stop, **kwargs)

    async def ainvoke(
        self, input: LanguageModelInput, config: RunnableConfig | None = None, *,
        stop: list[str] | None = None, **kwargs: Any,
    ) -> AIMessage:  # fmt: skip
        config, kwargs = await asyncio.to_thread(self._pre_route, input, config, kwargs)
        return await super().ainvoke(input, config, stop=stop, **kwargs)

    def stream(
        self, input: LanguageModelInput, config: RunnableConfig | None = None, *,
        stop: list[str] | None = None, **kwargs: Any,
    ) -> Iterator[AIMessageChunk]:  # fmt: skip
        config, kwargs = self._pre_route(input, config, kwargs)
        yield from super().stream(input, config, stop=stop, **kwargs)

    async def astream(
        self, input: LanguageModelInput, config: RunnableConfig | None = None, *,
        stop: list[str] | None = None, **kwargs: Any,
    ) -> AsyncIterator[AIMessageChunk]:  # fmt: skip
        config, kwargs = await asyncio.to_thread(self._pre_route, input, config, kwargs)
        async for chunk in super().astream(input, config, stop=stop, **kwargs):
            yield chunk

    # -- the calls: one attempt loop (eagle_langchain._attempts) -------------------------------------
    def _take(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> _Routed:
        """What ``invoke``/``stream`` routed, or (``generate`` called directly) a new plan."""
        routed = self._state.plans.pop(kwargs.pop(_ROUTE_KWARG, None))
        force = kwargs.pop("model", None)
        return routed if routed is not None else _Routed(self._plan(messages, ensure_config(), force))

    def _attempts(
        self, messages: list[BaseMessage], stop: list[str] | None, run_manager: Any,
        kwargs: dict[str, Any], *, is_async: bool = False,
    ) -> tuple[Attempts, Callable[[str], RunnableConfig], dict[str, Any]]:  # fmt: skip
        """The attempts of this call, each model's config (a child of this run) and call kwargs."""
        routed = self._take(messages, kwargs)
        run_id = run_manager.run_id if run_manager is not None else routed.run_id
        config = RunnableConfig()
        if run_manager is not None:
            config["callbacks"] = _child_manager(
                run_manager.inheritable_handlers, run_manager.inheritable_tags,
                run_manager.inheritable_metadata, run_id, is_async,
            )  # fmt: skip
        elif routed.config is not None:
            parent = (AsyncCallbackManager if is_async else CallbackManager).configure(
                inheritable_callbacks=routed.config.get("callbacks"),
                inheritable_tags=routed.config.get("tags"),
                inheritable_metadata=routed.config.get("metadata"),
            )
            config["callbacks"] = _child_manager(
                parent.inheritable_handlers, parent.inheritable_tags, parent.inheritable_metadata,
                run_id, is_async,
            )  # fmt: skip
        attempts = Attempts(self, run_id or uuid.uuid4(), routed.plan, messages, config)
        forwarded = {k: getattr(self, k) for k in _FORWARDED if getattr(self, k) is not None}
        stop = stop if stop is not None else self.stop
        call_kwargs = {**forwarded, **({"stop": stop} if stop else {}), **kwargs}

        def model_config(name: str) -> RunnableConfig:
            return RunnableConfig(**config, metadata={"eagle_model": name})

        return attempts, model_config, call_kwargs

    def _generate(
        self, messages: list[BaseMessage], stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any,
    ) -> ChatResult:  # fmt: skip
        attempts, model_config, call_kwargs = self._attempts(messages, stop, run_manager, kwargs)

        def call(name: str) -> Iterator[Any]:
            model = self.models[name]
            return deferred(partial(model.invoke, messages, model_config(name), **call_kwargs))

        with closing(run_attempts(attempts, call)) as loop:
            for name, message in loop:
                tagged = _tag(message, name, attempts)
        return ChatResult(generations=[ChatGeneration(message=tagged)])

    async def _agenerate(
        self, messages: list[BaseMessage], stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None, **kwargs: Any,
    ) -> ChatResult:  # fmt: skip
        if _ROUTE_KWARG not in kwargs:  # generate() called directly: route off the event loop
            kwargs[_ROUTE_KWARG] = await asyncio.to_thread(self._token_for, messages, kwargs)
        attempts, model_config, call_kwargs = self._attempts(
            messages, stop, run_manager, kwargs, is_async=True
        )

        def call(name: str) -> AsyncIterator[Any]:
            model = self.models[name]
            return adeferred(partial(model.ainvoke, messages, model_config(name), **call_kwargs))

        async with aclosing(arun_attempts(attempts, call)) as loop:
            async for name, message in loop:
                tagged = _tag(message, name, attempts)
        return ChatResult(generations=[ChatGeneration(message=tagged)])

    def _stream(
        self, messages: list[BaseMessage], stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:  # fmt: skip
        attempts, model_config, call_kwargs = self._attempts(messages, stop, run_manager, kwargs)

        def call(name: str) -> Iterator[Any]:
            return self.models[name].stream(messages, model_config(name), **call_kwargs)

        first = True
        with closing(run_attempts(attempts, call)) as loop:
            for name, chunk in loop:
                yield ChatGenerationChunk(message=_tag(chunk, name, attempts) if first else chunk)
                first = False

    async def _astream(
        self, messages: list[BaseMessage], stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None, **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:  # fmt: skip
        if _ROUTE_KWARG not in kwargs:
            kwargs[_ROUTE_KWARG] = await asyncio.to_thread(self._token_for, messages, kwargs)
        attempts, model_config, call_kwargs = self._attempts(
            messages, stop, run_manager, kwargs, is_async=True
        )

        def call(name: str) -> AsyncIterator[Any]:
            return self.models[name].astream(messages, model_config(name), **call_kwargs)

        first = True
        async with aclosing(arun_attempts(attempts, call)) as loop:
            async for name, chunk in loop:
                yield ChatGenerationChunk(message=_tag(chunk, name, attempts) if first else chunk)
                first = False

    def _token_for(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> str:
        token = uuid.uuid4().hex
        plan = self._plan(messages, ensure_config(), kwargs.pop("model", None))
        self._state.plans[token] = _Routed(plan)
        return token


def _child_manager(
    handlers: list[Any], tags: list[str], metadata: dict[str, Any], parent: UUID | None,
    is_async: bool,
) -> CallbackManager | AsyncCallbackManager:  # fmt: skip
    """Callbacks for the chosen model's run, a child of this run: inherited handlers, tags and
    metadata (without the ranking, which stays on this run). Tagged ``nostream`` so LangGraph's
    ``stream_mode="messages"`` streams this model's tokens once, not the inner run's copy too."""
    child = (AsyncCallbackManager if is_async else CallbackManager)(handlers=[], parent_run_id=parent)
    child.set_handlers(handlers)
    child.add_tags(tags)
    child.add_tags(["nostream"], inherit=False)
    child.add_metadata({k: v for k, v in metadata.items() if k != "eagle_decision"})
    return child


def _tag(message: Any, name: str, attempts: Attempts) -> Any:
    """The model's message with ``response_metadata["eagle"]`` saying who answered and why."""
    if not isinstance(message, BaseMessage):
        raise TypeError(
            f"routed model {name!r} returned {type(message).__name__}, not a chat message; "
            "EagleChatModel routes chat models only (use EagleRouter for other Runnables)"
        )
    decision = attempts.plan.decision
    eagle = {
        "model": name,
        "decision_id": decision.decision_id,
        "chosen": decision.model,
        "fallback": name != decision.model,
        "failed": [failed for failed, _ in attempts.failures],
        "reused": attempts.plan.reused,
    }
    return message.model_copy(
        update={"response_metadata": {**message.response_metadata, METADATA_KEY: eagle}}
    )


def _model_id(model: Runnable[Any, Any]) -> str:
    chat = chat_model_inside(model)
    params = getattr(chat, "_identifying_params", {}) or {}
    name = params.get("model_name") or params.get("model") or getattr(chat, "model_name", None)
    return f"{type(chat).__name__}({name})" if name else type(chat).__name__
