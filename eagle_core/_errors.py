"""One exception tree for the whole library.

Every error derives from :class:`EagleError` *and* from the builtin it refines, so callers can catch either
``EagleError`` or the familiar ``ValueError`` / ``KeyError`` / ``ConnectionError``.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "EagleError",
    "EngineClosedError",
    "InvalidCostError",
    "InvalidFeedbackError",
    "InvalidQueryError",
    "MissingDependencyError",
    "StoreMismatchError",
    "StoreUnavailableError",
    "UnknownDecisionError",
    "UnknownModelError",
]


class EagleError(Exception):
    """Base class of every error raised by eagle-router."""


class ConfigError(EagleError, ValueError):
    """A constructor or call argument has a value the engine cannot use."""


class MissingDependencyError(EagleError, ImportError):
    """An optional feature needs a package that is not installed; the message names the extra to install
    (e.g. ``pip install "eagle-router[onnx]"``)."""


class InvalidQueryError(EagleError, ValueError):
    """The query is not a non-empty string."""


class UnknownModelError(EagleError, KeyError):
    """A model name is not one of the engine's models."""

    def __str__(self) -> str:  # KeyError would repr() the message; keep it readable
        return str(self.args[0]) if self.args else ""


class InvalidFeedbackError(EagleError, ValueError):
    """Feedback that cannot become rating updates (bad outcome, score, thumbs or pair)."""


class InvalidCostError(EagleError, ValueError):
    """A model cost that is NaN, negative, infinite or malformed."""


class StoreMismatchError(EagleError, ValueError):
    """The existing feedback store was built with another embedder or another model set."""


class UnknownDecisionError(EagleError, KeyError):
    """A decision id this engine does not remember."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class StoreUnavailableError(EagleError, ConnectionError):
    """The Chroma store cannot be reached or did not answer in time (``EagleConfig.store_timeout``);
    the call's change was not applied here (a write that timed out may still land in the store:
    retry, the event ids make the retry replace it).

    ``n_stored``: how many of the call's items were stored before the failure (``record_many``
    stores batch by batch); retry the rest, or all of them with the same idempotency keys.
    """

    def __init__(self, *args: object, n_stored: int = 0) -> None:
        super().__init__(*args)
        self.n_stored = n_stored


class EngineClosedError(EagleError, RuntimeError):
    """The engine was closed with :meth:`Eagle.close`; create a new one to use the store again."""
