"""Errors of the LlamaIndex integration, rooted in eagle_core's one exception tree."""

from __future__ import annotations

from eagle_core import EagleError

__all__ = ["MissingDecisionError", "MissingResponseError"]


class MissingDecisionError(EagleError, ValueError):
    """An object given as feedback target carries no Eagle decision id."""


class MissingResponseError(EagleError, KeyError):
    """A ``ReplayLLM`` has no recorded response for the prompt it was given."""

    def __str__(self) -> str:  # KeyError would repr() the message; keep it readable
        return str(self.args[0]) if self.args else ""
