"""EagleSelector: a LlamaIndex selector that picks a query engine / retriever from learned ratings.

No LLM call: the choice comes from Eagle's global and local ELO ratings of the model behind each
tool, so it is deterministic for a given feedback history and cannot fail to parse.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from llama_index.core.base.base_selector import BaseSelector, MultiSelection, SingleSelection
from llama_index.core.prompts.mixin import PromptDictType
from llama_index.core.schema import QueryBundle
from llama_index.core.tools.types import ToolMetadata

from eagle_core import ConfigError, UnknownModelError
from eagle_core._choice import check_one_rule
from eagle_llamaindex._capture import note
from eagle_llamaindex._events import EagleRouteEvent, emit
from eagle_llamaindex._feedback import FeedbackMethods

__all__ = ["EagleSelection", "EagleSelector"]

OnUnknown = Literal["error", "add"]


class EagleSelection(MultiSelection):
    """The selector result (one selection) plus the Eagle decision behind it.

    ``RouterQueryEngine`` stores it as ``response.metadata["selector_result"]``.
    """

    decision_id: str
    """Id to give feedback on this choice (``EagleSelector.record_feedback``)."""
    choice: str
    """Tool name that was picked."""
    model: str
    """Engine model behind the picked tool."""
    scores: dict[str, float]
    """Normalised score (0..1) of every candidate tool, best first."""
    explored: bool = False
    """Whether the tool was picked to explore (its model is not the ranking's first; see
    ``Eagle.route(explore=)``): feedback on it teaches the router what it does not know yet."""


class EagleSelector(FeedbackMethods, BaseSelector):
    """Selects one of ``RouterQueryEngine`` / ``RouterRetriever``'s tools with Eagle.

    Each choice is mapped to an engine model by its ``ToolMetadata.name`` (through ``tool_models``
    when given), Eagle ranks those models for the query, and the best one is selected.

    Args:
        eagle: the ``eagle_core.Eagle`` engine.
        tool_models: tool name -> engine model name; tools not listed use their own name.
        on_unknown: a choice whose model the engine does not know: ``"error"`` raises
            ``UnknownModelError``; ``"add"`` adds it cold (``eagle.add_model``) at the initial rating.
        new_model_cost: cost given to models added with ``on_unknown="add"`` (USD per call, a
            ``TokenCost`` or ``None`` for unknown).
        cost_weight: cost weight lambda passed to ``Eagle.route`` (``None``: engine default).
        willingness_to_pay: USD a perfect answer is worth, ``Eagle.route``'s RouterBench rule
            (give it or ``cost_weight``, not both).
        budget: USD budget per query passed to ``Eagle.route`` (``None``: no budget).
        explore: ``Eagle.route``'s ``explore=``: ``None`` follows the engine's
            ``EagleConfig.explore`` (on by default: now and then an under-tried tool is picked, so
            feedback keeps teaching the router); ``False`` always picks the ranking's first tool.
    """

    def __init__(
        self,
        eagle: Any,
        *,
        tool_models: Mapping[str, str] | None = None,
        on_unknown: OnUnknown = "error",
        new_model_cost: Any = None,
        cost_weight: float | None = None,
        willingness_to_pay: float | None = None,
        budget: float | None = None,
        explore: bool | None = None,
    ) -> None:
        if on_unknown not in ("error", "add"):
            raise ConfigError(f"on_unknown must be 'error' or 'add', got {on_unknown!r}")
        check_one_rule(cost_weight, willingness_to_pay)
        self.eagle = eagle
        self.tool_models = tool_models
        self.on_unknown = on_unknown
        self.new_model_cost = new_model_cost
        self.cost_weight = cost_weight
        self.willingness_to_pay = willingness_to_pay
        self.budget = budget
        self.explore = explore

    # -- BaseSelector / PromptMixin -------------------------------------------------------------

    def _get_prompts(self) -> PromptDictType:
        return {}  # no prompt: Eagle never asks an LLM

    def _update_prompts(self, prompts_dict: PromptDictType) -> None:
        pass

    def _select(self, choices: Sequence[ToolMetadata], query: QueryBundle) -> EagleSelection:
        names, models = self._candidates(choices)
        for model in self._unknown(models):
            self.eagle.add_model(model, self.new_model_cost)
        decision = self.eagle.route(query.query_str, **self._route_kwargs(models))
        return self._selection(decision, names, models)

    async def _aselect(self, choices: Sequence[ToolMetadata], query: QueryBundle) -> EagleSelection:
        names, models = self._candidates(choices)
        await asyncio.to_thread(self.eagle.open)  # first use loads the embedder: keep it off the loop
        for model in self._unknown(models):
            await asyncio.to_thread(self.eagle.add_model, model, self.new_model_cost)
        decision = await self.eagle.aroute(query.query_str, **self._route_kwargs(models))
        return self._selection(decision, names, models)

    # -- feedback -------------------------------------------------------------------------------

    def model_for(self, tool_name: str) -> str:
        """Engine model behind a tool name (names that are already models map to themselves)."""
        return (self.tool_models or {}).get(tool_name, tool_name)

    def _feedback_model(self, name: str) -> str:  # feedback names tools: translate them
        return self.model_for(name)

    # -- helpers --------------------------------------------------------------------------------

    def _candidates(self, choices: Sequence[ToolMetadata]) -> tuple[list[str], list[str]]:
        if not choices:
            raise ConfigError("EagleSelector needs at least one choice, got none")
        names: list[str] = []
        for i, choice in enumerate(choices):
            if not choice.name:
                raise ConfigError(
                    f"choice {i} ({choice.description[:60]!r}) has no ToolMetadata.name; EagleSelector "
                    "maps choices to models by name: give each tool a name, e.g. "
                    "QueryEngineTool.from_defaults(engine, name='gpt-4o', description=...)"
                )
            names.append(choice.name)
        models = [self.model_for(name) for name in names]
        if len(set(models)) != len(models):
            raise ConfigError(
                f"choices {names} map to engine models {models}: each choice must map to a "
                "different model; give each tool a distinct name "
                "(QueryEngineTool.from_defaults(..., name=...)) or fix tool_models"
            )
        return names, models

    def _unknown(self, models: list[str]) -> list[str]:
        unknown = [m for m in models if m not in self.eagle.models]
        if unknown and self.on_unknown == "error":
            raise UnknownModelError(
                f"choice model(s) {unknown} are not among the engine's models "
                f"{list(self.eagle.models)}; rename the tools, map them with tool_models=..., or "
                "use EagleSelector(on_unknown='add') to add them cold"
            )
        return unknown

    def _route_kwargs(self, models: list[str]) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"candidates": models}
        if self.cost_weight is not None:
            kwargs["cost_weight"] = self.cost_weight
        if self.willingness_to_pay is not None:
            kwargs["willingness_to_pay"] = self.willingness_to_pay
        if self.budget is not None:
            kwargs["budget"] = self.budget
        if self.explore is not None:
            kwargs["explore"] = self.explore
        return kwargs

    def _selection(self, decision: Any, names: list[str], models: list[str]) -> EagleSelection:
        tool_of = dict(zip(models, names, strict=True))
        index = models.index(decision.model)
        scores = {tool_of[s.model]: float(s.normalized) for s in decision.ranking}
        shown = ", ".join(f"{tool}={score:.3f}" for tool, score in scores.items())
        explored = bool(decision.explored)
        first = decision.ranking[0].model
        how = f"explored (the ranking's first is {tool_of.get(first, first)!r})" if explored else "picked"
        reason = (
            f"Eagle {how} {names[index]!r} (model {decision.model!r}); scores: {shown}; "
            f"decision_id={decision.decision_id}"
        )
        emit(EagleRouteEvent(decision_id=decision.decision_id, model=decision.model,
                             query=decision.query, source="selector", choice=names[index],
                             decision=decision.to_dict()))
        note(decision)
        return EagleSelection(
            selections=[SingleSelection(index=index, reason=reason)],
            decision_id=decision.decision_id,
            choice=names[index],
            model=decision.model,
            scores=scores,
            explored=explored,
        )
