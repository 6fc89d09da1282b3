"""Model costs: a fixed USD figure per call, or per-token prices estimated per prompt."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Union

from eagle_core._errors import InvalidCostError
from eagle_core._numbers import is_finite_number, is_number

__all__ = ["CostSpec", "TokenCost", "cost_from_dict", "cost_to_dict", "estimate_cost", "parse_cost"]

CHARS_PER_TOKEN = 4.0
"""Token estimate used for per-token prices (the same characters/4 rule as the bundled data)."""


@dataclass(frozen=True)
class TokenCost:
    """Per-token prices; the call's cost is estimated from the prompt's length.

    cost = per_call + input * prompt_tokens + output * output_tokens, prompt_tokens = len(prompt)/4.
    """

    input: float
    """USD per prompt token."""
    output: float
    """USD per generated token."""
    output_tokens: float = 256.0
    """Expected answer length in tokens (the answer is not known when routing)."""
    per_call: float = 0.0
    """Fixed USD fee per request, if the provider charges one."""

    def __post_init__(self) -> None:
        for field in ("input", "output", "output_tokens", "per_call"):
            value = getattr(self, field)
            if not is_number(value):
                raise InvalidCostError(f"TokenCost.{field} must be a number >= 0, got {value!r}")
            if not is_finite_number(value) or value < 0:
                raise InvalidCostError(f"TokenCost.{field} must be a finite number >= 0, got {value!r}")

    def estimate(self, prompt: str) -> float:
        tokens = math.ceil(len(prompt) / CHARS_PER_TOKEN)
        return self.per_call + self.input * tokens + self.output * self.output_tokens


CostSpec = Union[float, TokenCost, None]  # noqa: UP007 (a runtime alias on Python 3.10)
"""A parsed cost: USD per call, a :class:`TokenCost`, or ``None`` for an unknown cost."""


def parse_cost(model: str, value: Any) -> CostSpec:
    """Validate one model's cost as given by the user; raise :class:`InvalidCostError` naming it."""
    if value is None or isinstance(value, TokenCost):
        return value
    if isinstance(value, Mapping):
        try:
            return TokenCost(**value)
        except TypeError as exc:
            raise InvalidCostError(
                f"cost of model {model!r} must be a number, a TokenCost or a dict with keys "
                f"input, output[, output_tokens, per_call]; got {dict(value)!r} ({exc})"
            ) from None
        except InvalidCostError as exc:
            raise InvalidCostError(f"cost of model {model!r}: {exc}") from None
    if not is_number(value):
        raise InvalidCostError(
            f"cost of model {model!r} must be USD per call (a number >= 0), a TokenCost or None; "
            f"got {value!r}"
        )
    if not is_finite_number(value) or value < 0:
        raise InvalidCostError(
            f"cost of model {model!r} must be a finite number >= 0 (USD per call), got {value!r}"
        )
    return float(value)


def estimate_cost(spec: CostSpec, prompt: str) -> float | None:
    """USD for answering ``prompt`` (``None`` when the cost is unknown)."""
    if spec is None:
        return None
    if isinstance(spec, TokenCost):
        return spec.estimate(prompt)
    return spec


def cost_to_dict(spec: CostSpec) -> Any:
    """JSON form stored in the feedback log."""
    return asdict(spec) if isinstance(spec, TokenCost) else spec


def cost_from_dict(value: Any) -> CostSpec:
    return TokenCost(**value) if isinstance(value, dict) else value
