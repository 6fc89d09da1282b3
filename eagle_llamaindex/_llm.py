"""EagleLLM: one LlamaIndex LLM that routes every call to the LLM Eagle picks for it.

``Settings.llm = EagleLLM(...)`` routes every query engine, chat engine and agent. Each call is
routed on its own; the chosen LLM's own sync, async and streaming methods do the work, so async
calls stay async and streams arrive chunk by chunk.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Generator, Mapping, Sequence
from typing import Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
)
from llama_index.core.bridge.pydantic import Field, PrivateAttr, SerializeAsAny
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.llms import LLM
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.llms.llm import ToolSelection
from llama_index.core.prompts.base import BasePromptTemplate
from llama_index.core.tools.types import BaseTool

from eagle_core import ConfigError, UnknownModelError
from eagle_llamaindex._capture import note
from eagle_llamaindex._checks import check_llm_args, load_llm
from eagle_llamaindex._errors import MissingDecisionError
from eagle_llamaindex._events import EagleRouteEvent, emit
from eagle_llamaindex._feedback import DECISION_ID_KEY, MODEL_KEY, FeedbackMethods, decision_id_of
from eagle_llamaindex._judge import Judgement, JudgeRunner
from eagle_llamaindex._payload import (
    Payload,
    chat_text,
    hinted_route_text,
    query_hint,
    route_options,
    tool_payload,
)
from eagle_llamaindex._responses import spans
from eagle_llamaindex._turns import TurnPins

__all__ = ["EagleLLM"]

dispatcher = get_dispatcher(__name__)

class EagleLLM(FeedbackMethods, FunctionCallingLLM):
    """A LlamaIndex LLM that sends each call to the LLM Eagle ranks best for it.

    Routing text: when called through a prompt template with a ``query_str`` (every query engine's
    response synthesis), that question; otherwise the last user message of a chat, or the whole
    completion prompt; override with ``route_text``. Every response carries the chosen model and the
    decision id in ``additional_kwargs`` (``eagle_model``, ``eagle_decision_id``), chunk by chunk
    when streaming. Tool calls (``chat_with_tools``, agents) are routed among the function-calling
    LLMs only. With ``judge``, a fraction ``judge_probability`` of answered calls is compared with
    the runner-up model's answer on a background thread (its sync method), after the answer or the
    last chunk is delivered; drain with ``wait_for_judgements`` / ``await_judgements``.

    Per call, ``model=`` (force a model), ``willingness_to_pay=``, ``cost_weight=``, ``budget=`` and
    ``explore=`` override the fields for that call only (``llm.complete("x", budget=0.001)``); they
    are read by EagleLLM and never passed on to the chosen LLM. An agent turn keeps one model: the
    follow-up steps of a tool-calling loop (messages after the turn's user message) reuse the
    decision made on its first step. A query engine's ``Response`` carries the ids of the decisions
    behind it in ``metadata["eagle_decision_ids"]``, so ``llm.record_feedback(response,
    thumbs=True)`` works.
    ``to_dict`` / ``from_dict(data, eagle=eagle)`` round-trip it (``judge`` and ``route_text`` are
    not serialised: pass them to ``from_dict`` again).
    """

    llms: dict[str, SerializeAsAny[LLM]] = Field(
        description="Engine model name -> the LlamaIndex LLM that answers when Eagle picks it."
    )
    eagle: Any = Field(
        exclude=True, description="The eagle_core.Eagle engine that ranks the models for each call."
    )
    cost_weight: float | None = Field(
        default=None, description="Cost weight lambda for Eagle.route (None: the engine's default)."
    )
    willingness_to_pay: float | None = Field(
        default=None,
        description="USD the user would pay for a perfect answer: Eagle.route's RouterBench rule "
        "(q * willingness_to_pay - cost). Give it or cost_weight, not both.",
    )
    budget: float | None = Field(
        default=None, description="USD budget per call for Eagle.route (None: no budget)."
    )
    explore: bool | None = Field(
        default=None,
        description="Eagle.route's explore=: None follows the engine's EagleConfig.explore (on by "
        "default: now and then an under-tried model answers, so feedback keeps teaching the "
        "router); False always serves the ranking's first model (evaluation).",
    )
    route_text: Callable[[Payload], str] | None = Field(
        default=None,
        exclude=True,
        description="Builds the routing text from the chat messages or the completion prompt.",
    )
    judge: Any = Field(
        default=None,
        exclude=True,
        description=(
            "Automatic pairwise judge: a callable (query, answer_a, answer_b) -> 'a'|'b'|'tie' or a "
            "LlamaIndex LLM. It compares the chosen answer with the runner-up model's, in background."
        ),
    )
    judge_probability: float = Field(
        default=0.0, description="Probability that an answered call is also judged (0 = never)."
    )
    judge_seed: int | None = Field(
        default=None, description="Seed of the random draws of the automatic pairwise mode."
    )

    _runner: JudgeRunner = PrivateAttr()
    _pins: TurnPins = PrivateAttr(default_factory=TurnPins)

    def __init__(self, **data: Any) -> None:
        check_llm_args(data)
        super().__init__(**data)
        self._runner = JudgeRunner(self.judge, self.judge_seed)
        spans()  # decisions reach the query engine's Response through instrumentation spans

    @classmethod
    def class_name(cls) -> str:
        return "EagleLLM"

    @property
    def metadata(self) -> LLMMetadata:
        """Limits every routed LLM can meet (smallest context window, largest output reserve)."""
        metas = [llm.metadata for llm in self.llms.values()]
        roles = {m.system_role for m in metas}
        return LLMMetadata(
            context_window=min(m.context_window for m in metas),
            num_output=max(m.num_output for m in metas),
            is_chat_model=all(m.is_chat_model for m in metas),
            is_function_calling_model=bool(self._tool_models()),
            model_name="eagle(" + ",".join(self.llms) + ")",
            system_role=roles.pop() if len(roles) == 1 else MessageRole.SYSTEM,
        )

    # -- routing --------------------------------------------------------------------------------

    def _text(self, payload: Payload) -> str:
        if self.route_text is not None:
            return self.route_text(payload)
        return hinted_route_text(payload)

    def _route_kwargs(self, tools: bool, options: Mapping[str, Any]) -> dict[str, Any]:
        names = self._tool_models() if tools else list(self.llms)
        if tools and not names:
            raise ConfigError(
                f"a tool call needs a function-calling LLM, but none of {list(self.llms)} is one; "
                "add a FunctionCallingLLM to llms="
            )
        unknown = [n for n in names if n not in self.eagle.models]
        if unknown:
            raise UnknownModelError(
                f"llms {unknown} are not among the engine's models {list(self.eagle.models)}; "
                "use the engine's model names as keys of llms=, or eagle.add_model(name, cost)"
            )
        kwargs: dict[str, Any] = {"candidates": names}
        rule = {k: options[k] for k in ("willingness_to_pay", "cost_weight")
                if options.get(k) is not None}
        if not rule:  # a per-call rule replaces the fields' rule
            rule = {k: v for k, v in (("willingness_to_pay", self.willingness_to_pay),
                                      ("cost_weight", self.cost_weight)) if v is not None}
        kwargs.update(rule)
        for key in ("budget", "explore"):  # per call, None clears the field's value
            value = options[key] if key in options else getattr(self, key)
            if value is not None:
                kwargs[key] = value
        force = options.get("model")
        if force is not None:
            if force not in names:
                raise ConfigError(
                    f"model= must be one of {names} (the models that can answer this "
                    f"{'tool call' if tools else 'call'}), got {force!r}"
                )
            kwargs["force"] = force
        return kwargs

    def _tool_models(self) -> list[str]:
        return [name for name, llm in self.llms.items() if isinstance(llm, FunctionCallingLLM)
                and llm.metadata.is_function_calling_model]

    def _decided(self, decision: Any, new: bool = True) -> LLM:
        if new:
            emit(EagleRouteEvent(decision_id=decision.decision_id, model=decision.model,
                                 query=decision.query, source="llm", decision=decision.to_dict()))
        note(decision)
        spans().add(decision.decision_id)
        return self.llms[decision.model]

    def _pinned(self, payload: Payload, kwargs: Mapping[str, Any]) -> Any:
        """The decision of the agent turn this call continues, if it may answer this call."""
        if "force" in kwargs:
            return None
        decision = self._pins.pinned(payload)
        return decision if decision is not None and decision.model in kwargs["candidates"] else None

    def _route(self, payload: Payload, tools: bool = False,
               options: Mapping[str, Any] | None = None) -> tuple[Any, LLM]:
        kwargs = self._route_kwargs(tools, options or {})
        pinned = self._pinned(payload, kwargs)
        if pinned is not None:
            return pinned, self._decided(pinned, new=False)
        decision = self.eagle.route(self._text(payload), **kwargs)
        self._pins.pin(payload, decision)
        return decision, self._decided(decision)

    async def _aroute(self, payload: Payload, tools: bool = False,
                      options: Mapping[str, Any] | None = None) -> tuple[Any, LLM]:
        kwargs = self._route_kwargs(tools, options or {})
        pinned = self._pinned(payload, kwargs)
        if pinned is not None:
            return pinned, self._decided(pinned, new=False)
        await asyncio.to_thread(self.eagle.open)  # first use loads the embedder: keep it off the loop
        decision = await self.eagle.aroute(self._text(payload), **kwargs)
        self._pins.pin(payload, decision)
        return decision, self._decided(decision)

    @staticmethod
    def _tag(response: Any, decision: Any) -> Any:
        response.additional_kwargs[DECISION_ID_KEY] = decision.decision_id
        response.additional_kwargs[MODEL_KEY] = decision.model
        return response

    # -- automatic pairwise mode ----------------------------------------------------------------

    def _opponent(self, decision: Any) -> str | None:
        others = [s.model for s in decision.ranking if s.model != decision.model]
        return others[0] if others else None

    def _maybe_judge(self, decision: Any, answer: str, rerun: Callable[[LLM], str]) -> None:
        opponent = self._opponent(decision)
        if opponent is None or not self._runner.should_judge(self.judge_probability):
            return
        llm = self.llms[opponent]
        self._runner.submit(self.eagle, decision, answer, opponent, lambda: rerun(llm))

    def wait_for_judgements(self, timeout: float | None = None) -> list[Judgement]:
        """Block until pending automatic judgements finish (or ``timeout`` s); return the finished."""
        return self._runner.wait(timeout)

    async def await_judgements(self, timeout: float | None = None) -> list[Judgement]:
        """Async twin of :meth:`wait_for_judgements` (never blocks the event loop)."""
        return await self._runner.await_(timeout)

    def close(self) -> None:
        """Finish pending judgements and stop the background judge thread."""
        self._runner.close()

    # -- chat -----------------------------------------------------------------------------------

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        decision, llm = self._route(messages, options=route_options(kwargs))
        response = self._tag(llm.chat(messages, **kwargs), decision)
        self._maybe_judge(decision, chat_text(response, []),
                          lambda other: chat_text(other.chat(messages, **kwargs), []))
        return response

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        decision, llm = await self._aroute(messages, options=route_options(kwargs))
        response = self._tag(await llm.achat(messages, **kwargs), decision)
        self._maybe_judge(decision, chat_text(response, []),
                          lambda other: chat_text(other.chat(messages, **kwargs), []))
        return response

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        decision, llm = self._route(messages, options=route_options(kwargs))
        return self._stream_chat(llm.stream_chat(messages, **kwargs), decision,
                                 lambda other: chat_text(other.chat(messages, **kwargs), []))

    @llm_chat_callback()
    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        decision, llm = await self._aroute(messages, options=route_options(kwargs))
        return self._astream_chat(await llm.astream_chat(messages, **kwargs), decision,
                                  lambda other: chat_text(other.chat(messages, **kwargs), []))

    def _stream_chat(
        self, chunks: ChatResponseGen, decision: Any, rerun: Callable[[LLM], str] | None
    ) -> ChatResponseGen:
        last, deltas = None, []
        for chunk in chunks:
            last = self._tag(chunk, decision)
            deltas.append(chunk.delta or "")
            yield chunk
        if rerun is not None:
            self._maybe_judge(decision, chat_text(last, deltas), rerun)

    async def _astream_chat(
        self, chunks: ChatResponseAsyncGen, decision: Any, rerun: Callable[[LLM], str] | None
    ) -> ChatResponseAsyncGen:
        last, deltas = None, []
        async for chunk in chunks:
            last = self._tag(chunk, decision)
            deltas.append(chunk.delta or "")
            yield chunk
        if rerun is not None:
            self._maybe_judge(decision, chat_text(last, deltas), rerun)

    # -- completion -----------------------------------------------------------------------------

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        decision, llm = self._route(prompt, options=route_options(kwargs))
        response = self._tag(llm.complete(prompt, formatted=formatted, **kwargs), decision)
        self._maybe_judge(decision, response.text,
                          lambda other: other.complete(prompt, formatted=formatted, **kwargs).text)
        return response

    @llm_completion_callback()
    async def acomplete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponse:
        decision, llm = await self._aroute(prompt, options=route_options(kwargs))
        response = self._tag(await llm.acomplete(prompt, formatted=formatted, **kwargs), decision)
        self._maybe_judge(decision, response.text,
                          lambda other: other.complete(prompt, formatted=formatted, **kwargs).text)
        return response

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        decision, llm = self._route(prompt, options=route_options(kwargs))
        return self._stream_complete(
            llm.stream_complete(prompt, formatted=formatted, **kwargs), decision,
            lambda other: other.complete(prompt, formatted=formatted, **kwargs).text,
        )

    @llm_completion_callback()
    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        decision, llm = await self._aroute(prompt, options=route_options(kwargs))
        return self._astream_complete(
            await llm.astream_complete(prompt, formatted=formatted, **kwargs), decision,
            lambda other: other.complete(prompt, formatted=formatted, **kwargs).text,
        )

    def _stream_complete(
        self, chunks: CompletionResponseGen, decision: Any, rerun: Callable[[LLM], str]
    ) -> CompletionResponseGen:
        text, deltas = "", []
        for chunk in chunks:
            text = self._tag(chunk, decision).text
            deltas.append(chunk.delta or "")
            yield chunk
        self._maybe_judge(decision, text or "".join(deltas), rerun)

    async def _astream_complete(
        self, chunks: CompletionResponseAsyncGen, decision: Any, rerun: Callable[[LLM], str]
    ) -> CompletionResponseAsyncGen:
        text, deltas = "", []
        async for chunk in chunks:
            text = self._tag(chunk, decision).text
            deltas.append(chunk.delta or "")
            yield chunk
        self._maybe_judge(decision, text or "".join(deltas), rerun)

    # -- prompt-level calls: remember the user's question for routing ---------------------------

    def predict(self, prompt: BasePromptTemplate, **prompt_args: Any) -> str:
        with query_hint(prompt, prompt_args):
            return super().predict(prompt, **prompt_args)

    def stream(self, prompt: BasePromptTemplate, **prompt_args: Any) -> Generator[str, None, None]:
        with query_hint(prompt, prompt_args):
            return super().stream(prompt, **prompt_args)

    async def apredict(self, prompt: BasePromptTemplate, **prompt_args: Any) -> str:
        with query_hint(prompt, prompt_args):
            return await super().apredict(prompt, **prompt_args)

    async def astream(
        self, prompt: BasePromptTemplate, **prompt_args: Any
    ) -> AsyncGenerator[str, None]:
        with query_hint(prompt, prompt_args):
            return await super().astream(prompt, **prompt_args)

    # -- tool calling (agents) ------------------------------------------------------------------

    @dispatcher.span
    def chat_with_tools(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None = None,
        chat_history: list[ChatMessage] | None = None,
        **kwargs: Any,
    ) -> ChatResponse:
        decision, llm = self._route(tool_payload(user_msg, chat_history), tools=True,
            options=route_options(kwargs))
        response = llm.chat_with_tools(tools, user_msg=user_msg, chat_history=chat_history, **kwargs)
        return self._tag(response, decision)

    @dispatcher.span
    async def achat_with_tools(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None = None,
        chat_history: list[ChatMessage] | None = None,
        **kwargs: Any,
    ) -> ChatResponse:
        decision, llm = await self._aroute(tool_payload(user_msg, chat_history), tools=True,
            options=route_options(kwargs))
        response = await llm.achat_with_tools(  # type: ignore[attr-defined]
            tools, user_msg=user_msg, chat_history=chat_history, **kwargs
        )
        return self._tag(response, decision)

    @dispatcher.span
    def stream_chat_with_tools(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None = None,
        chat_history: list[ChatMessage] | None = None,
        **kwargs: Any,
    ) -> ChatResponseGen:
        decision, llm = self._route(tool_payload(user_msg, chat_history), tools=True,
            options=route_options(kwargs))
        chunks = llm.stream_chat_with_tools(  # type: ignore[attr-defined]
            tools, user_msg=user_msg, chat_history=chat_history, **kwargs
        )
        return self._stream_chat(chunks, decision, None)

    @dispatcher.span
    async def astream_chat_with_tools(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None = None,
        chat_history: list[ChatMessage] | None = None,
        **kwargs: Any,
    ) -> ChatResponseAsyncGen:
        decision, llm = await self._aroute(tool_payload(user_msg, chat_history), tools=True,
            options=route_options(kwargs))
        chunks = await llm.astream_chat_with_tools(  # type: ignore[attr-defined]
            tools, user_msg=user_msg, chat_history=chat_history, **kwargs
        )
        return self._astream_chat(chunks, decision, None)

    def _prepare_chat_with_tools(self, tools: Sequence[BaseTool], **kwargs: Any) -> dict[str, Any]:
        raise NotImplementedError(
            "EagleLLM prepares no tool call itself: chat_with_tools routes to the chosen LLM, "
            "which prepares it"
        )

    def get_tool_calls_from_response(
        self, response: ChatResponse, error_on_no_tool_call: bool = True, **kwargs: Any
    ) -> list[ToolSelection]:
        """Parse tool calls with the LLM that produced ``response``."""
        model = response.additional_kwargs.get(MODEL_KEY)
        if model not in self.llms:
            raise MissingDecisionError(
                f"response has no {MODEL_KEY!r} naming one of {list(self.llms)} in additional_kwargs; "
                "pass a response returned by this EagleLLM"
            )
        llm = self.llms[model]
        return llm.get_tool_calls_from_response(  # type: ignore[attr-defined]
            response, error_on_no_tool_call=error_on_no_tool_call, **kwargs
        )

    # -- decisions and feedback -----------------------------------------------------------------

    def decision_for(self, target: Any) -> Any:
        """The ``RouteDecision`` behind a response (or a decision id)."""
        return self.eagle.decision(decision_id_of(target))

    # -- serialisation --------------------------------------------------------------------------

    def to_dict(self, **kwargs: Any) -> dict[str, Any]:
        """A JSON-ready dict; each routed LLM is kept with its class so ``from_dict`` rebuilds it."""
        data = super().to_dict(**kwargs)
        data["llms"] = {name: {"class_path": f"{type(llm).__module__}:{type(llm).__qualname__}",
                               "state": llm.to_dict()} for name, llm in self.llms.items()}
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], **kwargs: Any) -> EagleLLM:
        """Rebuild from :meth:`to_dict`'s output; pass ``eagle=`` (and ``judge=`` / ``route_text=``)."""
        data = {k: v for k, v in data.items() if k != "class_name"}
        if "llms" not in kwargs:
            data["llms"] = {name: load_llm(name, spec)
                            for name, spec in (data.get("llms") or {}).items()}
        return cls(**{**data, **kwargs})
