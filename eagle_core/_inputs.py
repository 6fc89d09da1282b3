"""Checks of the engine's arguments that are not feedback values (those live in ``_feedback``):
the model table, a labelled set, and which feedback a ``record_feedback`` call gives."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from eagle_core import _feedback as fb
from eagle_core._config import EagleConfig
from eagle_core._costs import CostSpec, cost_to_dict, parse_cost
from eagle_core._errors import ConfigError, EagleError, InvalidCostError, InvalidFeedbackError
from eagle_core._store import RawPair

__all__ = [
    "check_candidates",
    "check_key",
    "check_labelled",
    "check_models",
    "check_store_args",
    "decision_pairs",
    "model_exists",
    "one_feedback",
    "parse_items",
]

logger = logging.getLogger(__name__)

_COLLECTION_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,400}[a-zA-Z0-9]$")


def check_store_args(path: Any, client: Any, collection: Any, config: Any) -> None:
    """Where the engine's store lives, and its configuration."""
    if path is not None and client is not None:
        raise ConfigError(f"give path= or client=, not both; got path={path!r} and client={client!r}")
    if not isinstance(collection, str) or not _COLLECTION_RE.match(collection):
        raise ConfigError(
            "collection must be 3-400 characters from [a-zA-Z0-9._-], starting and ending with a "
            f"letter or digit; got {collection!r}"
        )
    if config is not None and not isinstance(config, EagleConfig):
        raise ConfigError(f"config must be an EagleConfig, got {type(config).__name__} {config!r}")


def check_target(target: Any) -> None:
    """``target_cost_per_request`` of the engine: None or a finite USD amount > 0."""
    if target is None:
        return
    if isinstance(target, bool) or not isinstance(target, (int, float)) or not math.isfinite(target) \
            or target <= 0:
        raise ConfigError(
            f"target_cost_per_request must be a finite number of USD > 0 (or None for no target), "
            f"got {target!r}"
        )


def check_spent(cost: Any) -> float:
    """What an answer actually cost: a finite USD amount >= 0."""
    if isinstance(cost, bool) or not isinstance(cost, (int, float)) or not math.isfinite(cost) \
            or cost < 0:
        raise InvalidCostError(
            f"cost must be what the answer actually cost, a finite number of USD >= 0, got {cost!r}; "
            "leave it out when the cost is not known (the estimate stays charged)"
        )
    return float(cost)


def check_explore(explore: Any, default: bool) -> bool:
    """``explore=`` of ``route``: None (the config's setting), True or False."""
    if explore is None:
        return default
    if not isinstance(explore, bool):
        raise ConfigError(f"explore must be True, False or None (the config's setting), got {explore!r}")
    return explore


def check_candidates(candidates: Sequence[str] | None, models: Sequence[str]) -> list[str]:
    """``candidates=`` of ``route`` -> the model names to choose among (all by default)."""
    if candidates is None:
        return list(models)
    if isinstance(candidates, str) or not isinstance(candidates, Sequence) or not candidates:
        raise ConfigError(f"candidates must be a non-empty list of model names, got {candidates!r}")
    return [fb.check_model(m, models, "candidate") for m in dict.fromkeys(candidates)]


def model_exists(name: str, cost: dict[str, Any] | None, costs: Mapping[str, CostSpec],
                 labelled: Any) -> bool:
    """True if ``name`` already exists with this cost: ``add_model`` is then a no-op. Another cost
    raises (a silent price change or a reset would surprise whoever added it first)."""
    if name not in costs:
        return False
    if cost_to_dict(costs[name]) != cost:
        raise ConfigError(
            f"model {name!r} already exists with cost {cost_to_dict(costs[name])!r}, got {cost!r}; "
            f"to change its price pass it in Eagle(models={{...}}) when opening (given costs win "
            f"over stored ones), or remove_model({name!r}) first to reset it"
        )
    if labelled is not None:
        logger.warning("add_model(%r): the model exists already; its labelled set is kept", name)
    return True


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


def one_feedback(**given: Any) -> dict[str, Any]:
    """The one feedback argument given to ``record_feedback`` (exactly one must not be None)."""
    given = {k: v for k, v in given.items() if v is not None}
    if len(given) != 1:
        raise InvalidFeedbackError(
            "record_feedback takes exactly one of thumbs, score, better, worse, tie, scores; "
            f"got {sorted(given) or 'none'}"
        )
    return given


def parse_items(items: Any, models: Sequence[str], batch_size: Any
                ) -> list[tuple[str, str, tuple[RawPair, ...], str, str | None, str | None]]:
    """Every ``record_many`` item -> (kind, query, matches, decision id "", idempotency key,
    source), all validated before any is stored."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"batch_size must be an int >= 1, got {batch_size!r}")
    parsed = []
    for i, item in enumerate(items):
        try:
            kind, query, pairs, source = fb.parse_item(item, models)
            key = check_key(item.get("idempotency_key"))
        except EagleError as exc:
            raise type(exc)(f"record_many item {i}: {exc}") from None
        parsed.append((kind, query, pairs, "", key, source))
    return parsed


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


def check_key(key: Any) -> str | None:
    """An idempotency key: None, or a non-empty string."""
    if key is None or (isinstance(key, str) and key):
        return key
    raise ConfigError(f"idempotency_key must be a non-empty string or None, got {key!r}")
