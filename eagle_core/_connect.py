"""Which Chroma client and collection name an engine uses (persistent, shared, or in memory), and
the wiring of an opened engine: embedder cache, guarded store, UniRoute priors, replica of the log."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable

    from eagle_core._config import EagleConfig
    from eagle_core._costs import CostSpec
    from eagle_core._embeddings import EmbeddingCache
    from eagle_core._guard import Circuit
    from eagle_core._priors import Priors
    from eagle_core._replica import Replica
    from eagle_core._store import Event, FeedbackStore

__all__ = ["collection_name", "connect", "drop_collections", "make_client"]

logger = logging.getLogger(__name__)


def make_client(path: str | Path | None, client: Any) -> Any:
    """The caller's client, a ``PersistentClient`` at ``path``, or the process's in-memory client.

    ``path`` is made absolute first: chromadb keeps one embedded store per path *string* in a
    process, so a relative path opened again after a ``chdir`` would reach the first directory's
    store (and fail with "Failed to get segments" once the two disagree), and two spellings of one
    directory would run two embedded stores on the same files."""
    if client is not None:
        return client
    import chromadb
    from chromadb.config import Settings

    settings = Settings(anonymized_telemetry=False)
    if path is not None:
        where = Path(path).expanduser().resolve()
        where.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(where), settings=settings)
    return chromadb.EphemeralClient(settings=settings)


def collection_name(collection: str, path: str | Path | None, client: Any) -> str:
    """``collection``, made private to one engine for the in-memory client (whose state is shared
    by the whole process)."""
    if path is None and client is None:
        return f"{collection}-{uuid.uuid4().hex[:8]}"
    return collection


def drop_collections(client: Any, prefix: str) -> None:
    """Delete the collections whose name starts with ``prefix`` (an in-memory engine's, on close)."""
    try:
        for coll in client.list_collections():
            name = getattr(coll, "name", coll)
            if isinstance(name, str) and name.startswith(prefix):
                client.delete_collection(name)
    except Exception as exc:  # closing must not fail; the in-memory client goes with the process
        logger.warning("could not delete the in-memory collections %s* (%s)", prefix, exc)


def connect(embedder: Any, path: str | Path | None, client: Any, collection: str, config: EagleConfig,
            lock: threading.RLock, writer: str, caller_costs: dict[str, CostSpec] | None,
            on_event: Callable[[Event], None]
            ) -> tuple[EmbeddingCache, FeedbackStore, Circuit, Priors, Replica]:
    """Load the embedder, open the store behind deadlines and replay its log (``Eagle.open``);
    ``on_event`` sees every folded event after the priors do (the engine's budget pacer)."""
    from eagle_core._embeddings import EmbeddingCache, resolve_embedder
    from eagle_core._guard import Circuit, GuardedClient
    from eagle_core._priors import Priors
    from eagle_core._replica import Replica
    from eagle_core._store import FeedbackStore

    resolved = resolve_embedder(embedder)
    cache = EmbeddingCache(resolved, config.embedding_cache_size)
    name = collection_name(collection, path, client)
    circuit = Circuit(config.store_timeout, config.store_retry_interval, name)
    store = FeedbackStore(GuardedClient(make_client(path, client), circuit), name,
                          decision_retention=config.decision_retention)
    store.open(resolved.name, cache.dim)
    priors = Priors(cache.embed_many)

    def on_apply(event: Event) -> None:
        priors.on_event(event)
        on_event(event)

    replica = Replica(store, config, lock=lock, writer=writer, caller_costs=caller_costs,
                      on_apply=on_apply, on_sync=priors.drain, embed=cache.embed_many)
    replica.load()
    priors.drain()  # labelled sets in the log: routable as soon as open() returns
    # a write that timed out may land once the store answers again: fold it in then
    circuit.set_probe(store.count_queries, on_recover=replica.sync_now)
    return cache, store, circuit, priors, replica
