"""The one check of "a real, finite number" shared by every validator (config, costs, feedback, rules)."""

from __future__ import annotations

import math
from numbers import Real
from typing import Any

__all__ = ["is_finite_number", "is_number"]


def is_number(value: Any) -> bool:
    """A real number (int, float, numpy scalar) that is not a bool (``True`` is an int to Python,
    never a score or a cost)."""
    return isinstance(value, Real) and not isinstance(value, bool)


def is_finite_number(value: Any) -> bool:
    """:func:`is_number` and neither NaN nor infinite."""
    return is_number(value) and math.isfinite(value)
