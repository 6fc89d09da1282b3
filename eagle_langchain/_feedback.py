"""EagleFeedbackHandler: remember routing decisions by run id, take user feedback by run id."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.runnables.config import var_child_runnable_config

from eagle_core import ConfigError, Eagle, InvalidFeedbackError, RouteDecision, UnknownDecisionError
from eagle_langchain._routing import RoutingBase
from eagle_langchain._runs import ANSWERED_EVENT, RoutedRun, RunLRU, as_uuid

__all__ = ["EagleFeedbackHandler"]

_KINDS = ("thumbs", "score", "better", "worse", "tie")


class EagleFeedbackHandler(BaseCallbackHandler):
    """Callback handler that links every run id to the routing decision made inside it.

    Pass it in the config of the call (``config={"callbacks": [handler]}``): it sees the router's run
    (an ``EagleRouter`` chain run or an ``EagleChatModel`` chat-model run, whose metadata carries the
    decision), every enclosing run (e.g. the whole chain's, whose id the
    caller chose with ``config["run_id"]`` or got from tracing) and the model's run below it. Any of
    those ids then works for :meth:`record_feedback`.

    Feedback lands on the model whose answer the user saw: the chosen one, or after a fallback the
    model that actually answered (then it is recorded by query text, since the engine's decision names
    the chosen model). Thumbs and scores follow ``Eagle.record_thumbs``; ``better``/``worse``/``tie``
    become one pairwise comparison.

    Args:
        eagle: The engine that routed (or the ``EagleRouter`` / ``EagleChatModel``, to use its
            engine).
        max_runs: How many recent routed runs (and as many run-tree links) to remember.
    """

    run_inline = True  # cheap bookkeeping, and in order with the run on async paths

    def __init__(self, eagle: Eagle | RoutingBase, *, max_runs: int = 10_000) -> None:
        if not isinstance(eagle, (Eagle, RoutingBase)):
            raise ConfigError(
                "eagle must be an Eagle or an EagleRouter / EagleChatModel, got "
                f"{type(eagle).__name__} {eagle!r}"
            )
        if isinstance(max_runs, bool) or not isinstance(max_runs, int) or max_runs < 1:
            raise ConfigError(f"max_runs must be an int >= 1, got {max_runs!r}")
        self.eagle = eagle
        self.max_runs = max_runs
        self._lock = threading.Lock()
        self._runs: RunLRU[UUID, RoutedRun] = RunLRU(max_runs)
        self._by_decision: RunLRU[str, UUID] = RunLRU(max_runs)
        self._parents: RunLRU[UUID, UUID | None] = RunLRU(8 * max_runs)
        self._links: RunLRU[UUID, tuple[UUID, ...]] = RunLRU(8 * max_runs)

    @property
    def engine(self) -> Eagle:
        """The engine feedback goes to."""
        return self.eagle.engine if isinstance(self.eagle, RoutingBase) else self.eagle

    @property
    def runs(self) -> tuple[RoutedRun, ...]:
        """Remembered routed runs, oldest first."""
        return tuple(self._runs.values())

    # -- callbacks ------------------------------------------------------------------------------
    def _started(
        self, run_id: UUID, parent_run_id: UUID | None, metadata: Mapping[str, Any] | None
    ) -> None:
        metadata = metadata or {}
        if parent_run_id is None:
            parent_run_id = _context_parent(run_id)
        decision = metadata.get("eagle_decision")
        with self._lock:
            self._parents[run_id] = parent_run_id
            if isinstance(decision, Mapping):  # the router's own run
                run = RoutedRun(
                    run_id, decision["decision_id"], decision["query"], decision["model"]
                )
                self._runs[run_id] = run
                self._by_decision[run.decision_id] = run_id
                parent, hops = parent_run_id, 0
                while parent is not None and hops < 10_000:
                    self._links[parent] = (*self._links.get(parent, ()), run_id)
                    parent, hops = self._parents.get(parent), hops + 1
            elif "eagle_decision_id" in metadata:  # a run inside the router (the model's)
                router_run = self._by_decision.get(metadata["eagle_decision_id"])
                if router_run is not None:
                    self._links[run_id] = (router_run,)

    def on_chain_start(
        self, serialized: Any, inputs: Any, *, run_id: UUID, parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None, **kwargs: Any,
    ) -> None:  # fmt: skip
        self._started(run_id, parent_run_id, metadata)

    def on_chat_model_start(
        self, serialized: Any, messages: Any, *, run_id: UUID, parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None, **kwargs: Any,
    ) -> None:  # fmt: skip
        self._started(run_id, parent_run_id, metadata)

    def on_llm_start(
        self, serialized: Any, prompts: Any, *, run_id: UUID, parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None, **kwargs: Any,
    ) -> None:  # fmt: skip
        self._started(run_id, parent_run_id, metadata)

    def on_tool_start(
        self, serialized: Any, input_str: str, *, run_id: UUID, parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None, **kwargs: Any,
    ) -> None:  # fmt: skip
        self._started(run_id, parent_run_id, metadata)

    def on_custom_event(
        self, name: str, data: Any, *, run_id: UUID, **kwargs: Any
    ) -> None:
        if name != ANSWERED_EVENT or not isinstance(data, Mapping):
            return
        with self._lock:
            run = self._runs.get(run_id)
            if run is not None:
                self._runs[run_id] = RoutedRun(
                    run.run_id, run.decision_id, run.query, run.chosen,
                    data.get("model"), tuple(data.get("failed") or ()),
                )  # fmt: skip

    # -- lookups --------------------------------------------------------------------------------
    def get_run(self, run_id: UUID | str) -> RoutedRun:
        """The routed run behind ``run_id`` (the router's run, an enclosing run or the model's run).

        Raises :class:`eagle_core.UnknownDecisionError` when no routing happened under that id (or
        it is older than ``max_runs``), :class:`eagle_core.InvalidFeedbackError` when several did.
        """
        key = as_uuid(run_id)
        run = self._runs.get(key)
        if run is not None:
            return run
        links = self._links.get(key, ())
        runs = [r for r in (self._runs.get(link) for link in dict.fromkeys(links)) if r]
        # The steps of one agent turn share one decision: that is one answer to rate (the last step's).
        runs = list({r.decision_id: r for r in runs}.values())
        answered = [r for r in runs if r.model is not None]
        if len(runs) > 1 and len(answered) == 1:  # e.g. with_fallbacks: rate the answer given
            runs = answered
        if not runs:
            raise UnknownDecisionError(
                f"no routing decision under run id {run_id!s}: pass this handler in the config "
                f"of the call (callbacks=[handler]); it remembers the last {self.max_runs} runs"
            )
        if len(runs) > 1:
            raise InvalidFeedbackError(
                f"run {run_id!s} contains {len(runs)} routing decisions (router runs "
                f"{[str(r.run_id) for r in runs]}); give feedback on one of those run ids"
            )
        return runs[0]

    def get_decision(self, run_id: UUID | str) -> RouteDecision:
        """The engine's :class:`~eagle_core.RouteDecision` for ``run_id`` (see :meth:`get_run`)."""
        return self.engine.decision(self.get_run(run_id).decision_id)

    # -- feedback -------------------------------------------------------------------------------
    def _plan(
        self, run_id: UUID | str, given: dict[str, Any], *, by_text: bool = False
    ) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
        """(engine method, args, kwargs) recording ``given`` on the run's answer.

        By decision id when the chosen model answered (the engine links the event to the
        decision), else by query text naming the model that did answer.
        """
        given = {k: v for k, v in given.items() if v is not None}
        if len(given) != 1:
            raise InvalidFeedbackError(
                f"record_feedback takes exactly one of {list(_KINDS)}; got {sorted(given) or 'none'}"
            )
        run = self.get_run(run_id)
        if run.model is None:
            state = f"every model failed ({list(run.failed)})" if run.failed else "it is running"
            raise InvalidFeedbackError(
                f"run {run_id!s} has no answer to give feedback on: {state}"
            )
        if run.model == run.chosen and not by_text:
            return "record_feedback", (run.decision_id,), given
        (kind, value), = given.items()
        if kind in ("thumbs", "score"):
            if kind == "thumbs" and value in ("up", "down"):
                value = value == "up"
            return "record_thumbs", (run.query, run.model), {"up": value}
        winner, loser = (value, run.model) if kind == "better" else (run.model, value)
        return "record_comparison", (run.query,), {
            "winner": winner, "loser": loser, "tie": kind == "tie"
        }

    def record_feedback(
        self,
        run_id: UUID | str,
        *,
        thumbs: bool | str | None = None,
        score: float | None = None,
        better: str | None = None,
        worse: str | None = None,
        tie: str | None = None,
        source: str | None = None,
    ) -> str:
        """Feedback on the answer of run ``run_id``; give exactly one of:

        * ``thumbs``: ``True``/``False`` (or ``"up"``/``"down"``) on the answering model;
        * ``score``: a grade in [0, 1] of that answer (1 = a thumb up, 0 = a thumb down);
        * ``better="x"``: model x's answer was better; ``worse="x"``: it was worse; ``tie="x"``: as good.

        ``source``: who gives it (user / tenant id), passed to the engine, which bounds each
        source's influence; ``None`` is the operator's own feedback. Returns the engine's event id
        once the feedback is stored.
        """
        given = dict(thumbs=thumbs, score=score, better=better, worse=worse, tie=tie)
        method, args, kwargs = self._plan(run_id, given)
        try:
            return getattr(self.engine, method)(*args, **kwargs, source=source)
        except UnknownDecisionError:  # the engine forgot the decision; the text still works
            method, args, kwargs = self._plan(run_id, given, by_text=True)
            return getattr(self.engine, method)(*args, **kwargs, source=source)

    async def arecord_feedback(
        self,
        run_id: UUID | str,
        *,
        thumbs: bool | str | None = None,
        score: float | None = None,
        better: str | None = None,
        worse: str | None = None,
        tie: str | None = None,
        source: str | None = None,
    ) -> str:
        """Async twin of :meth:`record_feedback` (the store write runs in a worker thread)."""
        given = dict(thumbs=thumbs, score=score, better=better, worse=worse, tie=tie)
        method, args, kwargs = self._plan(run_id, given)
        try:
            return await getattr(self.engine, "a" + method)(*args, **kwargs, source=source)
        except UnknownDecisionError:
            method, args, kwargs = self._plan(run_id, given, by_text=True)
            return await getattr(self.engine, "a" + method)(*args, **kwargs, source=source)


def _context_parent(run_id: UUID) -> UUID | None:
    """The run whose child config is current, for a run that started without a parent.

    ``RunnableWithFallbacks`` (langchain-core 1.8) hands its children the caller's config and sets
    its own child config only as the context, so their runs start as roots; linking them to the
    context's run lets feedback by the fallbacks' (outer) run id find the model that answered.
    """
    config = var_child_runnable_config.get() or {}
    parent = getattr(config.get("callbacks"), "parent_run_id", None)
    return parent if parent != run_id else None
