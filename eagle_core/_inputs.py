"""Checks of the engine's arguments that are not feedback values (those live in ``_feedback``):
the model table, a labelled set, and which feedback a ``record_feedback`` call gives."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from eagle_core import _feedback as fb
from eagle_core._costs import CostSpec, parse_cost
from eagle_core._errors import ConfigError, InvalidFeedbackError
from eagle_core._store import RawPair

__all__ = ["check_labelled", "check_models", "decision_pairs"]


def check_models(models: Mapping[str, Any] | None) -> dict[str, CostSpec] | None:
    """``models=`` of the constructor -> name -> parsed cost (None: reopen with the stored ones)."""
    if models is None:
        return None
    if not isinstance(models, Mapping):
        raise ConfigError(
            f"models must be a mapping of model name -> cost, got {type(models).__name__} {models!r}"
        )
    if not models:
        raise ConfigError("models must name at least one model, got {}")
    out: dict[str, CostSpec] = {}
    for name, cost in models.items():
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"model names must be non-empty strings, got {name!r}")
        out[name] = parse_cost(name, cost)
    return out


def check_labelled(labelled: Any) -> tuple[list[str], list[float]]:
    """``labelled=`` of ``add_model`` -> (prompt texts, scores in [0, 1])."""
    items = list(labelled.items()) if isinstance(labelled, Mapping) else labelled
    if isinstance(items, (str, bytes)) or not isinstance(items, Sequence) or not items:
        raise ConfigError(
            f"labelled must be a non-empty mapping prompt text -> score in [0, 1], got {labelled!r}"
        )
    texts, scores = [], []
    for item in items:
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise ConfigError(f"labelled entries must be (prompt text, score) pairs, got {item!r}")
        texts.append(fb.check_query(item[0]))
        scores.append(fb.unit_score(f"labelled score of {item[0]!r}", item[1]))
    return texts, scores


def decision_pairs(given: dict[str, Any], chosen: str, models: Sequence[str]
                   ) -> tuple[str, tuple[RawPair, ...]]:
    """The one feedback argument of ``record_feedback`` on a decision that chose ``chosen``
    -> (event kind, matches)."""
    (key, value), = given.items()
    if key == "thumbs":
        if value in ("up", "down"):
            value = value == "up"
        if not isinstance(value, bool):
            raise InvalidFeedbackError(f"thumbs must be True/False or 'up'/'down', got {value!r}")
        return "thumbs", fb.thumbs_pairs(chosen, value, models)
    if key == "score":
        return "thumbs", fb.thumbs_pairs(chosen, value, models)
    if key == "scores":
        return "scores", fb.score_pairs(value, models)
    fb.check_model(value, models, key)
    if value == chosen:
        raise InvalidFeedbackError(
            f"{key}={value!r} names the model that answered; give another model to compare with"
        )
    if key == "better":
        return "comparison", fb.comparison_pairs(value, chosen, False, models)
    if key == "worse":
        return "comparison", fb.comparison_pairs(chosen, value, False, models)
    return "comparison", fb.comparison_pairs(chosen, value, True, models)
