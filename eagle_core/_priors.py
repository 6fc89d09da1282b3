"""UniRoute priors for models added with a labelled set (``add_model(..., labelled=...)``).

The engine keeps one :class:`~eagle_core.uniroute.ColdStartEstimator`; every ``add_model`` event
with a labelled set registers the model on it (embedding the prompts), every ``remove_model`` event
drops it, and routing blends its prior ratings into the combined score (:func:`._choice.combine`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from eagle_core._store import Event

if TYPE_CHECKING:
    from eagle_core.uniroute import ColdStartEstimator

__all__ = ["Priors"]


class Priors:
    """The cold-start estimator of one engine, kept in step with the model events of its log.

    Args:
        embed: texts -> unit embeddings (the engine's cached embedder).
    """

    def __init__(self, embed: Callable[[Sequence[str]], np.ndarray]) -> None:
        self.embed = embed
        self._lock = threading.Lock()
        self._estimator: ColdStartEstimator | None = None

    @property
    def estimator(self) -> ColdStartEstimator | None:
        """The estimator routing blends in, or None when no model was added with a labelled set."""
        return self._estimator

    def on_event(self, event: Event) -> None:
        """Follow a log event: register an added model's labelled set, or drop a removed model."""
        payload = event.payload
        if event.kind == "add_model" and payload.get("labelled"):
            texts, scores = zip(*payload["labelled"], strict=True)
            self.register(payload["model"], list(texts), list(scores))
        elif event.kind == "remove_model":
            with self._lock:
                if self._estimator is not None and payload["model"] in self._estimator.models:
                    self._estimator.remove_model(payload["model"])

    def register(self, name: str, texts: list[str], scores: list[float]) -> None:
        from eagle_core.uniroute import ColdStartEstimator

        embeddings = self.embed(texts)
        with self._lock:
            if self._estimator is None:
                self._estimator = ColdStartEstimator()
            if name in self._estimator.models:
                self._estimator.remove_model(name)
            self._estimator.add_model(name, embeddings, np.asarray(scores, dtype=float))
