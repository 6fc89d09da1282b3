"""Which Chroma client and collection name an engine uses (persistent, shared, or in memory)."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any

__all__ = ["collection_name", "drop_collections", "make_client"]

logger = logging.getLogger(__name__)


def make_client(path: str | Path | None, client: Any) -> Any:
    """The caller's client, a ``PersistentClient`` at ``path``, or the process's in-memory client."""
    if client is not None:
        return client
    import chromadb
    from chromadb.config import Settings

    settings = Settings(anonymized_telemetry=False)
    if path is not None:
        Path(path).mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=settings)
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
