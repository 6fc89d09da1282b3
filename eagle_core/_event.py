"""One record of the feedback log (:class:`Event`) and its ids: what :mod:`eagle_core._store` writes
and the fold (:mod:`eagle_core._state`) replays."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Event", "RawPair", "event_id", "query_key"]

RawPair = tuple[str, str, float, float, bool]
"""A stored match: (model_a, model_b, S for a, weight, is_draw). Draws keep S=0.5 in the log and are
re-scored with the engine's ``draw_score`` on replay, so that choice can change without rewriting."""


def query_key(text: str) -> str:
    """Stable id of a query text (same text -> same neighbour-index record)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def event_id(writer: str, seq: int, idempotency_key: str | None = None) -> str:
    """The log id of an event: the caller's idempotency key (hashed, so any string works) or the
    writer's sequence number. Either way a retry of the same write lands on the same record."""
    if idempotency_key is not None:
        return "key-" + hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:40]
    return f"{writer}-{seq}"


@dataclass(frozen=True)
class Event:
    """One record of the feedback log."""

    id: str
    ts: int
    writer: str
    seq: int
    kind: str
    qkey: str = ""
    pairs: tuple[RawPair, ...] = ()
    payload: dict[str, Any] = field(default_factory=dict)
    decision_id: str = ""
    text: str = ""
    """The query text (feedback events); the neighbour index is rebuilt from it."""
    source: str | None = None
    """Who gave the feedback (user / tenant / API key id); None = the operator's own, trusted."""

    @property
    def order_key(self) -> tuple[int, str, int]:
        return (self.ts, self.writer, self.seq)

    def to_metadata(self) -> dict[str, Any]:
        """Format 2: the sync window's ``ts`` and the rest as one JSON field (``source`` only when
        given: absent = the operator's own, trusted)."""
        body = {"writer": self.writer, "seq": self.seq, "kind": self.kind, "qkey": self.qkey,
                "pairs": [list(p) for p in self.pairs], "payload": self.payload,
                "decision": self.decision_id, "text": self.text}
        if self.source is not None:
            body["source"] = self.source
        return {"ts": self.ts, "event": json.dumps(body, separators=(",", ":"))}

    def to_metadata_v1(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "ts": self.ts, "writer": self.writer, "seq": self.seq,
            "qkey": self.qkey, "pairs": json.dumps([list(p) for p in self.pairs]),
            "payload": json.dumps(self.payload), "decision": self.decision_id,
        }

    @classmethod
    def from_record(cls, event_id: str, meta: Mapping[str, Any], document: str | None = None) -> Event:
        """Read a record of either format (format 1 keeps the text as the document)."""
        if "event" in meta:
            body = json.loads(meta["event"])
            pairs, payload = body["pairs"], body.get("payload") or {}
            text = str(body.get("text", ""))
        else:
            body = meta
            pairs, payload = json.loads(meta["pairs"]), json.loads(meta.get("payload") or "{}")
            text = document or ""
        return cls(
            id=event_id,
            ts=int(meta["ts"]),
            writer=str(body["writer"]),
            seq=int(body["seq"]),
            kind=str(body["kind"]),
            qkey=str(body.get("qkey", "")),
            pairs=tuple((str(a), str(b), float(s), float(w), bool(d)) for a, b, s, w, d in pairs),
            payload=payload,
            decision_id=str(body.get("decision", "")),
            text=text,
            source=None if body.get("source") is None else str(body["source"]),
        )
