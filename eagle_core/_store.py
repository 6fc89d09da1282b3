"""The feedback log in Chroma: an append-only collection of events plus an index of distinct queries.

* ``<name>_log`` holds one record per event (a comparison, a set of scores, a thumb, or a change to the
  model set) with the query's embedding and the comparisons as metadata. It is the single source of
  truth: ratings and the model set are derived by replaying it in ``(ts, writer, seq)`` order.
* ``<name>_queries`` holds one record per distinct query text (id = hash of the text) and is what the
  nearest-neighbour search runs on, so "the N nearest *distinct* past queries" is one Chroma query.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from eagle_core._errors import StoreMismatchError, StoreUnavailableError

__all__ = ["Event", "FeedbackStore", "RawPair", "query_key"]

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
RawPair = tuple[str, str, float, float, bool]
"""A stored match: (model_a, model_b, S for a, weight, is_draw). Draws keep S=0.5 in the log and are
re-scored with the engine's ``draw_score`` on replay, so that choice can change without rewriting."""

_PAGE = 5000


def query_key(text: str) -> str:
    """Stable id of a query text (same text -> same neighbour-index record)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


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
    source: str | None = None
    """Who gave the feedback (user / tenant / API key id); None = the operator's own, trusted."""

    @property
    def order_key(self) -> tuple[int, str, int]:
        return (self.ts, self.writer, self.seq)

    def to_metadata(self) -> dict[str, Any]:
        meta = {
            "kind": self.kind,
            "ts": self.ts,
            "writer": self.writer,
            "seq": self.seq,
            "qkey": self.qkey,
            "pairs": json.dumps([list(p) for p in self.pairs]),
            "payload": json.dumps(self.payload),
            "decision": self.decision_id,
        }
        if self.source is not None:  # Chroma metadata has no null: absent = trusted
            meta["source"] = self.source
        return meta

    @classmethod
    def from_record(cls, event_id: str, meta: dict[str, Any]) -> Event:
        pairs = tuple(
            (str(a), str(b), float(s), float(w), bool(d)) for a, b, s, w, d in json.loads(meta["pairs"])
        )
        return cls(
            id=event_id,
            ts=int(meta["ts"]),
            writer=str(meta["writer"]),
            seq=int(meta["seq"]),
            kind=str(meta["kind"]),
            qkey=str(meta.get("qkey", "")),
            pairs=pairs,
            payload=json.loads(meta.get("payload") or "{}"),
            decision_id=str(meta.get("decision", "")),
            source=None if meta.get("source") is None else str(meta["source"]),
        )


class FeedbackStore:
    """Thin layer over two Chroma collections; every Chroma failure on write becomes
    :class:`StoreUnavailableError` so a caller is never told feedback was stored when it was not."""

    def __init__(self, client: Any, name: str) -> None:
        self.client = client
        self.name = name
        self._log: Any = None
        self._queries: Any = None
        self._dim: int | None = None
        self._batch = 1000

    # -- opening ---------------------------------------------------------------------------------
    def open(self, embedder_name: str, dim: int) -> None:
        """Create or open the collections; refuse a store built with another embedding dimension."""
        meta = {"eagle:format": FORMAT_VERSION, "eagle:embedder": embedder_name, "eagle:dim": dim}
        config = {"hnsw": {"space": "cosine"}}
        try:
            log = self.client.get_or_create_collection(
                f"{self.name}_log", metadata=meta, configuration=config, embedding_function=None
            )
            queries = self.client.get_or_create_collection(
                f"{self.name}_queries", metadata=meta, configuration=config, embedding_function=None
            )
        except Exception as exc:
            raise StoreUnavailableError(f"cannot open Chroma collections {self.name!r}: {exc}") from exc
        stored = log.metadata or {}
        stored_dim = stored.get("eagle:dim")
        if stored_dim is not None and int(stored_dim) != dim:
            raise StoreMismatchError(
                f"collection {self.name!r} holds {stored_dim}-d embeddings from "
                f"{stored.get('eagle:embedder')!r}, but embedder {embedder_name!r} gives {dim}-d; "
                "use the same embedder, or a new collection= / path= for this one"
            )
        if stored.get("eagle:embedder") not in (None, embedder_name):
            logger.warning(
                "collection %r was built with embedder %r, now opened with %r (same dimension %d); "
                "neighbours are only meaningful if both produce the same vectors",
                self.name, stored.get("eagle:embedder"), embedder_name, dim,
            )
        self._log, self._queries, self._dim = log, queries, dim
        try:
            self._batch = max(1, min(1000, int(self.client.get_max_batch_size())))
        except Exception:  # older clients have no such call
            self._batch = 1000

    # -- reading ---------------------------------------------------------------------------------
    def load(self, where: dict[str, Any] | None = None) -> list[Event]:
        """All events (optionally filtered), sorted in replay order."""
        events: list[Event] = []
        for page in self._pages(where, ["metadatas"]):
            records = zip(page["ids"], page["metadatas"], strict=True)
            events.extend(Event.from_record(i, m) for i, m in records)
        events.sort(key=lambda e: e.order_key)
        return events

    def _pages(self, where: dict[str, Any] | None, include: list[str]) -> Iterator[dict[str, Any]]:
        """The log's records matching ``where``, ``_PAGE`` at a time."""
        offset = 0
        while True:
            page = self._get(where=where, include=include, limit=_PAGE, offset=offset)
            yield page
            if len(page["ids"]) < _PAGE:
                return
            offset += _PAGE

    def load_new(self, ts: int, seen: set[str]) -> list[Event]:
        """Events stamped at or after ``ts`` whose id is not in ``seen``, sorted in replay order.
        Ids are listed first and only the new records fetched (a sync re-reads a window of time)."""
        ids = [i for page in self._pages({"ts": {"$gte": ts}}, []) for i in page["ids"]]
        fresh = [i for i in ids if i not in seen]
        events: list[Event] = []
        for start in range(0, len(fresh), _PAGE):
            page = self._get(ids=fresh[start : start + _PAGE], include=["metadatas"])
            records = zip(page["ids"], page["metadatas"], strict=True)
            events.extend(Event.from_record(i, m) for i, m in records)
        events.sort(key=lambda e: e.order_key)
        return events

    def _get(self, **kwargs: Any) -> Any:
        try:
            return self._log.get(**kwargs)
        except Exception as exc:
            raise StoreUnavailableError(
                f"cannot read the feedback log of {self.name!r} ({exc}); ratings were left as they were"
            ) from exc

    def nearest(self, embedding: np.ndarray, n: int) -> list[tuple[str, float]]:
        """The ``n`` nearest distinct queries as (query key, cosine distance), nearest first."""
        if n <= 0:
            return []
        result = self._queries.query(
            query_embeddings=np.asarray(embedding, dtype=np.float32)[None, :],
            n_results=n,
            include=["distances"],
        )
        return list(zip(result["ids"][0], result["distances"][0], strict=True))

    def count_queries(self) -> int:
        return int(self._queries.count())

    # -- writing ---------------------------------------------------------------------------------
    def append(
        self,
        events: Sequence[Event],
        embeddings: np.ndarray,
        documents: Sequence[str],
        new_queries: Iterable[tuple[str, np.ndarray, str]] = (),
    ) -> None:
        """Write events durably (log first, then the neighbour index); raise if Chroma fails."""
        new_queries = list(new_queries)
        try:
            for start in range(0, len(events), self._batch):
                chunk = events[start : start + self._batch]
                self._log.add(
                    ids=[e.id for e in chunk],
                    embeddings=np.asarray(embeddings[start : start + self._batch], dtype=np.float32),
                    metadatas=[e.to_metadata() for e in chunk],
                    documents=list(documents[start : start + self._batch]),
                )
            for start in range(0, len(new_queries), self._batch):
                chunk_q = new_queries[start : start + self._batch]
                self._queries.upsert(
                    ids=[k for k, _, _ in chunk_q],
                    embeddings=np.stack([v for _, v, _ in chunk_q]).astype(np.float32),
                    documents=[t for _, _, t in chunk_q],
                )
        except Exception as exc:
            raise StoreUnavailableError(
                f"feedback was not recorded: the Chroma store {self.name!r} failed ({exc}); retry later"
            ) from exc

    def ensure_queries(self, keys: Iterable[str]) -> set[str]:
        """Of the given query keys, those missing from the neighbour index (repairs a crash between
        the two writes of :meth:`append`)."""
        keys = list(keys)
        present: set[str] = set()
        for start in range(0, len(keys), _PAGE):
            got = self._queries.get(ids=keys[start : start + _PAGE], include=[])
            present.update(got["ids"])
        return set(keys) - present

    def repair_queries(self, missing: set[str]) -> None:
        """Re-create neighbour-index records from the log's copies of their embeddings."""
        for key in missing:
            got = self._log.get(where={"qkey": key}, limit=1, include=["embeddings", "documents"])
            if got["ids"]:
                self._queries.upsert(
                    ids=[key], embeddings=np.asarray(got["embeddings"][:1], dtype=np.float32),
                    documents=got["documents"][:1],
                )

    def unit_vector(self) -> np.ndarray:
        """Placeholder embedding for control events (the log is never searched)."""
        assert self._dim is not None
        vec = np.zeros(self._dim, dtype=np.float32)
        vec[0] = 1.0
        return vec
