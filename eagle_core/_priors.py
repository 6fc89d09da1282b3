"""UniRoute priors for models added with a labelled set (``add_model(..., labelled=...)``).

The engine keeps one :class:`~eagle_core.uniroute.ColdStartEstimator`; ``add_model`` events with a
labelled set register the model on it (embedding the prompts, clustering them the first time),
``remove_model`` events drop it, and routing blends its prior ratings into the combined score
(:func:`._choice.combine`).

None of that work happens while the engine's lock is held or on the routing path: the estimator is
never changed in place but replaced whole; applying an event only queues it. ``add_model`` builds
the new estimator *before* its event is committed (:meth:`Priors.prepare`) and installs it right
after; events from other workers (sync) are folded in by a background thread, events replayed on
open before the engine is returned.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from eagle_core._event import Event

if TYPE_CHECKING:
    from eagle_core.uniroute import ColdStartEstimator

__all__ = ["Priors"]

logger = logging.getLogger(__name__)


def _key(name: str, labelled: Any) -> str:
    return json.dumps([name, labelled])


class Priors:
    """The cold-start estimator of one engine, kept in step with the model events of its log.

    Args:
        embed: texts -> unit embeddings (the engine's cached embedder).
    """

    def __init__(self, embed: Callable[[Sequence[str]], np.ndarray]) -> None:
        self.embed = embed
        self._estimator: ColdStartEstimator | None = None
        self._queue: list[Event] = []
        self._prepared: dict[str, tuple[ColdStartEstimator | None, ColdStartEstimator]] = {}
        self._lock = threading.Lock()  # the queue; never held while computing
        self._work = threading.Lock()  # one folder at a time, in log order

    @property
    def estimator(self) -> ColdStartEstimator | None:
        """The estimator routing blends in, or None when no model was added with a labelled set."""
        return self._estimator

    def prepare(self, name: str, texts: list[str], scores: list[float]) -> None:
        """Compute the estimator with ``name`` registered, before its ``add_model`` is committed."""
        labelled = [[t, s] for t, s in zip(texts, scores, strict=True)]
        base = self._estimator
        self._prepared[_key(name, labelled)] = (base, _with_model(base, name, self.embed(texts), scores))

    def on_event(self, event: Event) -> None:
        """Queue a model event (called while the engine applies it: cheap, no computing)."""
        if event.kind == "remove_model" or (event.kind == "add_model" and event.payload.get("labelled")):
            with self._lock:
                self._queue.append(event)

    def drain(self) -> None:
        """Fold every queued event into the estimator, in order, in the calling thread."""
        with self._work:
            while True:
                with self._lock:
                    if not self._queue:
                        return
                    event = self._queue.pop(0)
                self._estimator = self._fold(self._estimator, event)

    def _fold(self, base: ColdStartEstimator | None, event: Event) -> ColdStartEstimator | None:
        name = event.payload["model"]
        if event.kind == "remove_model":
            if base is None or name not in base.models:
                return base
            new = copy.deepcopy(base)
            new.remove_model(name)
            return new
        labelled = event.payload["labelled"]
        prepared = self._prepared.pop(_key(name, labelled), None)
        if prepared is not None and prepared[0] is base:
            return prepared[1]
        texts, scores = zip(*labelled, strict=True)
        return _with_model(base, name, self.embed(list(texts)), list(scores))


def _with_model(base: ColdStartEstimator | None, name: str, embeddings: np.ndarray,
                scores: Sequence[float]) -> ColdStartEstimator:
    """A copy of ``base`` (or a new estimator) with ``name`` (re-)registered."""
    from eagle_core.uniroute import ColdStartEstimator

    new = ColdStartEstimator() if base is None else copy.deepcopy(base)
    if name in new.models:
        new.remove_model(name)
    new.add_model(name, embeddings, np.asarray(scores, dtype=float))
    return new
