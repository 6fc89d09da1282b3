"""Routing decisions kept for feedback by decision id: this process's recent ones in memory, and
every worker's in the store (written behind the route, see :mod:`._store`), so the thumb for a
decision may arrive at any worker."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

from eagle_core._config import EagleConfig
from eagle_core._decision import RouteDecision
from eagle_core._errors import UnknownDecisionError

if TYPE_CHECKING:
    from eagle_core._store import FeedbackStore

__all__ = ["Decisions"]


class Decisions:
    """The last ``config.max_decisions`` decisions of this process, backed by the store.

    Args:
        config: ``max_decisions``, ``decision_retention`` (None: no store copy) and ``decision_wait``.
    """

    def __init__(self, config: EagleConfig) -> None:
        self.config = config
        self._recent: OrderedDict[str, RouteDecision] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, decision: RouteDecision, store: FeedbackStore | None) -> None:
        """Keep ``decision`` here and queue it for the store (never waits on the store)."""
        with self._lock:
            self._recent[decision.decision_id] = decision
            while len(self._recent) > self.config.max_decisions:
                self._recent.popitem(last=False)
        if store is not None:
            store.put_decision(decision.decision_id, decision)  # serialised behind, not here

    def is_local(self, decision_id: str) -> bool:
        """Whether this process routed ``decision_id`` (among its last ``max_decisions``)."""
        with self._lock:
            return decision_id in self._recent

    def find(self, decision_id: str, store: FeedbackStore | None) -> RouteDecision:
        """This process's decision, else the store's (waiting up to ``decision_wait`` seconds for a
        decision another worker has not written yet); :class:`UnknownDecisionError` if neither."""
        cfg = self.config
        with self._lock:
            found = self._recent.get(decision_id) if isinstance(decision_id, str) else None
        if found is None and isinstance(decision_id, str) and cfg.decision_retention is not None \
                and store is not None:
            data = store.wait_decision(decision_id, cfg.decision_wait)
            found = None if data is None else RouteDecision.from_dict(data)
        if found is None:
            raise UnknownDecisionError(
                f"decision_id {decision_id!r} is neither one of this engine's last "
                f"{cfg.max_decisions} decisions nor in the store after waiting {cfg.decision_wait:g} s "
                f"(decisions are kept decision_retention={cfg.decision_retention} s); give feedback "
                "with record_comparison(query, ...) instead, or raise EagleConfig.decision_retention "
                "/ decision_wait"
            )
        return found
