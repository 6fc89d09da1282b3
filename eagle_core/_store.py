"""The feedback log in Chroma (store format 2): one durable write per event.

A store named ``<name>`` is three Chroma collections:

* ``<name>_log``: one record per event (:class:`~eagle_core._event.Event`: a comparison, a set of
  scores, a thumb, or a change to the model set). It is the single source of truth and the only
  write a ``record_*`` call waits for: ratings and the model set are derived by replaying it in
  ``(ts, writer, seq)`` order. A record's id is deterministic (:func:`event_id`: ``<writer>-<seq>``,
  or ``key-<hash>`` of a caller's idempotency key) and it is written with ``upsert``, so writing it
  again (a retry) replaces it instead of adding a second event. Its metadata is two fields: ``ts``
  (an int, for the sync window's range filter) and ``event`` (JSON: writer, seq, kind, query key,
  query text, matches, payload, decision id). Its vector is a 2-d placeholder derived from the id
  (Chroma needs one; distinct points keep the HNSW insert cheap): the log is never searched. Format
  1 kept eight metadata fields, a full-text-indexed document and the 384-d embedding per event, i.e.
  about three times the SQLite rows per write, which made each write slower as the store grew.
* ``<name>_queries``: one record per distinct query text (id = :func:`query_key`, the text's
  embedding, the text as document); the nearest-neighbour search runs on it. It is derived from the
  log, so its records are written behind (:class:`~eagle_core._behind.WriteBehind`) and rebuilt
  from the log's texts by :meth:`FeedbackStore.repair_index` when missing (after a crash).
* ``<name>_decisions``: recent routing decisions (id = decision id, metadata ``ts`` + the decision
  as JSON, 2-d placeholder vector), written behind, so feedback by decision id works from any
  worker; records older than the retention are deleted.

The log and the queries carry ``eagle:format``, ``eagle:embedder`` and ``eagle:dim`` in their
collection metadata. A format-1 store is still read and written in format 1; a store written in a
format this version does not know raises :class:`StoreMismatchError` on open.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from eagle_core._behind import WriteBehind
from eagle_core._collections import collection_config, lower_sync_threshold
from eagle_core._decision import RouteDecision
from eagle_core._errors import StoreMismatchError, StoreUnavailableError
from eagle_core._event import Event, RawPair, event_id, query_key

__all__ = ["FORMAT_VERSION", "Event", "FeedbackStore", "RawPair", "event_id", "query_key"]

logger = logging.getLogger(__name__)

FORMAT_VERSION = 2
KNOWN_FORMATS = (1, 2)
_PAGE = 5000
_LOG_ATTEMPTS = 3
"""Tries of one log write that fails with :data:`_COMPACTION`."""
_COMPACTION = "Error in compaction"
"""An embedded Chroma's transient error (e.g. "Error in compaction: Error purging logs")."""
_NOT_ON_DISK = "Nothing found on disk"
"""A chroma server's answer to a search of an index whose first records are not yet searchable."""
_LINGER_S = 0.25
"""Records written behind wait this long for others to share their write (a group commit): other
workers see a new query in the index, or a decision, about this much later."""
_PRUNE_EVERY_S = 600.0
"""How often the decisions' write-behind thread deletes decisions older than the retention."""


def _placeholder(ids: Sequence[str]) -> np.ndarray:
    """2-d unit vectors spread by the ids' hashes (records that are never searched)."""
    angles = [int(hashlib.blake2b(i.encode(), digest_size=4).hexdigest(), 16) / 2**32 * 2 * np.pi
              for i in ids]
    return np.stack([np.cos(angles), np.sin(angles)], axis=1).astype(np.float32)


class FeedbackStore:
    """The three Chroma collections of one store. A failed log write raises
    :class:`StoreUnavailableError` (with ``n_stored``: how many events of the call were stored), so a
    caller is never told feedback was stored when it was not; derived records are written behind."""

    def __init__(self, client: Any, name: str, *, decision_retention: float | None = 7 * 86400.0) -> None:
        self.client = client
        self.name = name
        self.decision_retention = decision_retention
        self.format = FORMAT_VERSION
        self._log: Any = None
        self._queries: Any = None
        self._decisions: Any = None
        self._dim: int | None = None
        self._batch = 1000
        self._index_behind: WriteBehind[tuple[str, np.ndarray, str]] = WriteBehind(
            "neighbour-index", self._write_index, linger=_LINGER_S)
        self._decision_behind: WriteBehind[tuple[str, int, RouteDecision]] = WriteBehind(
            "decision", self._write_decisions, max_items=10_000, linger=_LINGER_S)
        self._last_prune = 0.0
        self._indexed = False

    # -- opening ---------------------------------------------------------------------------------
    def open(self, embedder_name: str, dim: int) -> None:
        """Create or open the collections; refuse a store of another format or embedding dimension."""
        meta = {"eagle:format": FORMAT_VERSION, "eagle:embedder": embedder_name, "eagle:dim": dim}
        config = collection_config()
        try:
            log = self.client.get_or_create_collection(
                f"{self.name}_log", metadata=meta, configuration=config, embedding_function=None
            )
            stored = dict(log.metadata or {})
            fmt = _stored_format(stored, log)
            _check_format(self.name, fmt)
            queries = self.client.get_or_create_collection(
                f"{self.name}_queries", metadata=meta, configuration=config, embedding_function=None
            )
            decisions = self.client.get_or_create_collection(
                f"{self.name}_decisions", metadata={"eagle:format": FORMAT_VERSION},
                configuration=config, embedding_function=None,
            )
        except StoreMismatchError:
            raise
        except Exception as exc:
            raise StoreUnavailableError(f"cannot open Chroma collections {self.name!r}: {exc}") from exc
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
        if fmt == 1:
            logger.info("store %r is in format 1: kept in format 1 (writes cost more as it grows; "
                        "see docs/OPERATIONS.md to move it to format %d)", self.name, FORMAT_VERSION)
        self._log, self._queries, self._decisions = log, queries, decisions
        self._dim, self.format = dim, fmt
        for collection in (log, queries, decisions):
            lower_sync_threshold(collection)
        try:
            self._batch = max(1, min(1000, int(self.client.get_max_batch_size())))
        except Exception:  # older clients have no such call
            self._batch = 1000

    def close(self, timeout: float = 5.0) -> bool:
        """Write what is queued behind (at most ``timeout`` s); False if some of it was not written."""
        done = self._index_behind.close(timeout)
        return self._decision_behind.close(timeout) and done

    # -- reading ---------------------------------------------------------------------------------
    def load(self, where: dict[str, Any] | None = None) -> list[Event]:
        """All events (optionally filtered), sorted in replay order."""
        include = ["metadatas", "documents"] if self.format == 1 else ["metadatas"]
        events: list[Event] = []
        for page in self._pages(where, include):
            events.extend(self._events(page))
        events.sort(key=lambda e: e.order_key)
        return events

    @staticmethod
    def _events(page: Mapping[str, Any]) -> Iterator[Event]:
        docs = page.get("documents") or [None] * len(page["ids"])
        for i, m, d in zip(page["ids"], page["metadatas"], docs, strict=True):
            yield Event.from_record(i, m, d)

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
        include = ["metadatas", "documents"] if self.format == 1 else ["metadatas"]
        events: list[Event] = []
        for start in range(0, len(fresh), _PAGE):
            events.extend(self._events(self._get(ids=fresh[start : start + _PAGE], include=include)))
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
        """The ``n`` nearest distinct queries as (query key, cosine distance), nearest first,
        counting the queries whose index record is still queued behind."""
        if n <= 0:
            return []
        vec = np.asarray(embedding, dtype=np.float32)
        queued = self._index_behind.pending()  # first: an item leaves the queue once it is in Chroma
        found: dict[str, float] = {}
        if self._index_has_records():  # a chroma server refuses to search a never-written index
            try:
                result = self._queries.query(query_embeddings=vec[None, :], n_results=n,
                                             include=["distances"])
                found.update(zip(result["ids"][0], result["distances"][0], strict=True))
            except Exception as exc:
                if _NOT_ON_DISK not in str(exc):
                    raise
                # the first index records are written but not yet searchable on the server: the
                # queued ones are searched below, and the index is asked again next time
                self._indexed = False
        for key, (_, qvec, _) in queued:
            found[str(key)] = float(1.0 - np.dot(vec, qvec))
        return sorted(found.items(), key=lambda kv: (kv[1], kv[0]))[:n]

    def count_queries(self) -> int:
        return int(self._queries.count())

    def _index_has_records(self) -> bool:
        if not self._indexed:  # asked again until true: another worker may write the first one
            self._indexed = self.count_queries() > 0
        return self._indexed

    # -- writing ---------------------------------------------------------------------------------
    def append(
        self,
        events: Sequence[Event],
        embeddings: np.ndarray | None = None,
        documents: Sequence[str] | None = None,
        new_queries: Iterable[tuple[str, np.ndarray, str]] = (),
        *,
        index_now: bool = False,
    ) -> None:
        """Write ``events`` to the log (upsert: one record per event id; this is the commit) and
        queue the index records of ``new_queries`` (key, embedding, text) behind it; ``index_now``
        (bulk loads): write them right after the log instead, queueing only what fails. ``embeddings``
        and ``documents`` are only used by a format-1 store (format 2 keeps the text in the event).
        On failure raises :class:`StoreUnavailableError` whose ``n_stored`` counts the events of
        ``events`` written before the failing batch."""
        stored = 0
        try:
            for start in range(0, len(events), self._batch):
                chunk = events[start : start + self._batch]
                if self.format == 1:
                    self._upsert_v1(chunk, start, embeddings, documents)
                else:
                    self._upsert_log(chunk)
                stored += len(chunk)
        except Exception as exc:
            raise StoreUnavailableError(
                f"feedback was not recorded: the Chroma store {self.name!r} failed ({exc}); "
                f"{stored} of {len(events)} events were stored before it; retry the rest later",
                n_stored=stored,
            ) from exc
        items = [(key, np.asarray(vec, dtype=np.float32), text) for key, vec, text in new_queries]
        if index_now and items:
            try:
                for start in range(0, len(items), self._batch):
                    self._write_index(items[start : start + self._batch])
                return
            except Exception as exc:  # the log holds the events: index them behind instead
                logger.warning("neighbour-index write failed (%s); retrying it in the background", exc)
        for item in items:
            self._index_behind.put(item[0], item)

    def _upsert_log(self, chunk: Sequence[Event]) -> None:
        """Format 2's log write, tried again after a transient compaction error of an embedded
        Chroma (seen while another thread writes the same store): the ids are deterministic, so a
        second upsert replaces what the first may have stored. Other errors are not retried."""
        ids = [e.id for e in chunk]
        for attempt in range(_LOG_ATTEMPTS):
            try:
                self._log.upsert(ids=ids, embeddings=_placeholder(ids),
                                 metadatas=[e.to_metadata() for e in chunk])
                return
            except Exception as exc:
                if attempt + 1 == _LOG_ATTEMPTS or _COMPACTION not in str(exc):
                    raise
                logger.warning("log write failed (%s); trying again", exc)
                time.sleep(0.05 * 4**attempt)

    def _upsert_v1(self, chunk: Sequence[Event], start: int, embeddings: np.ndarray | None,
                   documents: Sequence[str] | None) -> None:
        n = len(chunk)
        vecs = embeddings[start : start + n] if embeddings is not None else None
        if vecs is None or len(vecs) != n:  # control events: the unit placeholder of format 1
            vecs = np.tile(self.unit_vector(), (n, 1))
        docs = list(documents[start : start + n]) if documents is not None else [e.text for e in chunk]
        self._log.upsert(ids=[e.id for e in chunk], embeddings=np.asarray(vecs, dtype=np.float32),
                         metadatas=[e.to_metadata_v1() for e in chunk], documents=docs)

    def _write_index(self, items: Sequence[tuple[str, np.ndarray, str]]) -> None:
        self._queries.upsert(ids=[k for k, _, _ in items],
                             embeddings=np.stack([v for _, v, _ in items]).astype(np.float32),
                             documents=[t for _, _, t in items])
        self._indexed = True

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until the records queued behind are written (tests, shutdown)."""
        done = self._index_behind.flush(timeout)
        return self._decision_behind.flush(timeout) and done

    # -- repairing the neighbour index ----------------------------------------------------------
    def missing_queries(self, keys: Iterable[str]) -> set[str]:
        """Of the given query keys, those neither in the neighbour index nor queued for it."""
        keys = list(keys)
        present = {str(k) for k, _ in self._index_behind.pending()}
        for start in range(0, len(keys), _PAGE):
            got = self._queries.get(ids=keys[start : start + _PAGE], include=[])
            present.update(got["ids"])
        return set(keys) - present

    def repair_index(self, texts: Mapping[str, str], embed: Callable[[list[str]], np.ndarray], *,
                     complete: bool = False) -> int:
        """Re-create the neighbour-index records of ``texts`` (query key -> text) missing from the
        index (a crash before the write behind the log, or a store down meanwhile); returns how many.
        ``complete``: ``texts`` is every query of the log (then a count of the index tells whether
        anything is missing). Texts come from the log; a format-1 log has the embeddings as well."""
        if not texts or (complete and self.count_queries() >= len(texts)):
            return 0
        missing = sorted(self.missing_queries(texts))
        if not missing:
            return 0
        logger.warning("re-indexing %d queries missing from the neighbour index of %r",
                       len(missing), self.name)
        for start in range(0, len(missing), self._batch):
            keys = missing[start : start + self._batch]
            if self.format == 1:
                self._repair_v1(keys)
                continue
            vecs = embed([texts[k] for k in keys])
            self._write_index([(k, v, texts[k]) for k, v in zip(keys, vecs, strict=True)])
        return len(missing)

    def _repair_v1(self, keys: Sequence[str]) -> None:
        for key in keys:
            got = self._log.get(where={"qkey": key}, limit=1, include=["embeddings", "documents"])
            if got["ids"]:
                self._queries.upsert(
                    ids=[key], embeddings=np.asarray(got["embeddings"][:1], dtype=np.float32),
                    documents=got["documents"][:1],
                )

    # -- routing decisions ----------------------------------------------------------------------
    def put_decision(self, decision_id: str, decision: RouteDecision) -> None:
        """Queue a routing decision behind; never blocks on the store. It is serialised
        (``to_dict`` + JSON) by the write-behind thread, not in the routing caller's."""
        if self.decision_retention is None:
            return
        self._decision_behind.put(decision_id, (decision_id, time.time_ns(), decision))

    def get_decision(self, decision_id: str) -> dict[str, Any] | None:
        """A stored (or still queued) decision, or None."""
        queued = self._decision_behind.get(decision_id)
        if queued is not None:
            return queued[2].to_dict()
        try:
            got = self._decisions.get(ids=[decision_id], include=["metadatas"])
        except Exception as exc:
            raise StoreUnavailableError(
                f"cannot read decision {decision_id!r} from the store {self.name!r} ({exc}); retry later"
            ) from exc
        if not got["ids"]:
            return None
        return dict(json.loads(got["metadatas"][0]["decision"]))

    def wait_decision(self, decision_id: str, wait: float) -> dict[str, Any] | None:
        """:meth:`get_decision`, polled for up to ``wait`` seconds: the worker that routed it writes
        it behind, so feedback that arrives at once at another worker may find it a moment later."""
        deadline = time.monotonic() + wait
        delay = 0.05
        while True:
            found = self.get_decision(decision_id)
            if found is not None or time.monotonic() >= deadline:
                return found
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 0.5)

    def _write_decisions(self, items: Sequence[tuple[str, int, RouteDecision]]) -> None:
        ids = [i for i, _, _ in items]
        metadatas = [{"ts": ts, "decision": json.dumps(d.to_dict(), separators=(",", ":"))}
                     for _, ts, d in items]
        self._decisions.upsert(ids=ids, embeddings=_placeholder(ids), metadatas=metadatas)
        now = time.monotonic()
        if self.decision_retention is not None and now - self._last_prune >= _PRUNE_EVERY_S:
            self._last_prune = now
            self.prune_decisions()

    def prune_decisions(self) -> None:
        """Delete decisions older than the retention."""
        if self.decision_retention is None:
            return
        cutoff = time.time_ns() - int(self.decision_retention * 1e9)
        self._decisions.delete(where={"ts": {"$lt": cutoff}})

    def unit_vector(self) -> np.ndarray:
        """Placeholder embedding for control events of a format-1 log."""
        assert self._dim is not None
        vec = np.zeros(self._dim, dtype=np.float32)
        vec[0] = 1.0
        return vec


def _stored_format(stored: Mapping[str, Any], log: Any) -> int:
    fmt = stored.get("eagle:format")
    if fmt is not None:
        return int(fmt)
    return FORMAT_VERSION if log.count() == 0 else 1


def _check_format(name: str, fmt: int) -> None:
    if fmt not in KNOWN_FORMATS:
        raise StoreMismatchError(
            f"store {name!r} was written in format {fmt}, but this eagle-router reads formats "
            f"{list(KNOWN_FORMATS)}; upgrade eagle-router (pip install -U eagle-router) to open it, "
            "or use a new collection= / path="
        )
