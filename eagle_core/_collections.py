"""How the store's Chroma collections are configured: cosine HNSW, saved every 100 records.

A local Chroma (embedded ``PersistentClient``, or a single-node ``chroma run``) applies every write,
and every read, of a collection after re-reading the records queued since the collection's vector
index was last saved, and it saves that index only every ``sync_threshold`` records (1000 by
default). The cost of one single-record ``record_*`` call therefore grew with the records written
since the last save, not with the size of the store: 3 ms just after a save, 20-45 ms just before
the next one (docs/BENCHMARKS.md, "One feedback write as the store grows").
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["SYNC_THRESHOLD", "collection_config", "lower_sync_threshold"]

logger = logging.getLogger(__name__)

SYNC_THRESHOLD = 100
"""Chroma's ``hnsw.sync_threshold`` for the three collections. A save costs about one pass over
the collection's id map (~150 ms at 100k records), paid by one write in ``SYNC_THRESHOLD``; the
re-read before every write covers fewer than ``SYNC_THRESHOLD`` records: 100 keeps both small."""


def collection_config() -> dict[str, Any]:
    """The ``configuration`` of the collections a new store creates (a fresh dict per call)."""
    return {"hnsw": {"space": "cosine", "sync_threshold": SYNC_THRESHOLD}}


def lower_sync_threshold(collection: Any) -> None:
    """Give a collection created with Chroma's default ``sync_threshold`` (a store written before
    this version, or created by another tool) :data:`SYNC_THRESHOLD`. Chroma reads the setting when
    it loads the collection's index, so it takes effect from the next process (or server) start."""
    try:
        hnsw = (collection.configuration_json or {}).get("hnsw") or {}
        current = hnsw.get("sync_threshold")
        if current is None or int(current) <= SYNC_THRESHOLD:
            return
        collection.modify(configuration={"hnsw": {"sync_threshold": SYNC_THRESHOLD}})
        logger.info("Chroma collection %r: sync_threshold %s -> %d (faster writes from the next "
                    "start)", collection.name, current, SYNC_THRESHOLD)
    except Exception as exc:  # a speed setting: never a reason to refuse the store
        logger.warning("could not lower sync_threshold of a Chroma collection (%s); writes stay "
                       "slower as the store grows", exc)
