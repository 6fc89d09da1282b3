"""One model per agent turn: the follow-up steps of a tool-calling loop reuse the turn's decision.

An agent turn is the user's message plus the steps that follow it (assistant tool calls, tool
results) until the final answer. One provider's tool-call ids and message format do not carry over
to another, so every step of a turn must go to the model chosen on its first step. A turn is known
by its history up to and including its last user message: a call whose messages end with that user
message starts the turn (routed, remembered); a call with messages after it continues the turn.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, MessageRole

__all__ = ["TurnPins"]


def _turn_key(messages: Sequence[ChatMessage]) -> tuple[str, bool] | None:
    """(key of the turn, whether this call continues it), or None without a user message."""
    last_user = next((i for i in range(len(messages) - 1, -1, -1)
                      if messages[i].role == MessageRole.USER), None)
    if last_user is None:
        return None
    prefix = [[m.role.value, m.content if isinstance(m.content, str) else repr(m.blocks)]
              for m in messages[: last_user + 1]]
    digest = hashlib.sha256(json.dumps(prefix).encode()).hexdigest()
    return digest, last_user < len(messages) - 1


class TurnPins:
    """The decision of each recent turn (least recently used forgotten beyond ``size``)."""

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._pins: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def pinned(self, payload: Any) -> Any:
        """The decision this call's turn already made, when the call continues a turn."""
        turn = _turn_key(payload) if not isinstance(payload, str) else None
        if turn is None or not turn[1]:
            return None
        with self._lock:
            decision = self._pins.get(turn[0])
            if decision is not None:
                self._pins.move_to_end(turn[0])
            return decision

    def pin(self, payload: Any, decision: Any) -> None:
        turn = _turn_key(payload) if not isinstance(payload, str) else None
        if turn is None:
            return
        with self._lock:
            self._pins[turn[0]] = decision
            self._pins.move_to_end(turn[0])
            while len(self._pins) > self.size:
                self._pins.popitem(last=False)
