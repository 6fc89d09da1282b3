"""How a router refers to its live engine when pickled or dumped (``langchain_core.load.dumpd``).

A live ``Eagle`` (store client, embedder, locks) cannot be serialized, so a router writes a
*reference*: the engine's key in this process's registry and, for a persistent store, its path,
collection and config. Loading finds the engine by key in the same process, else reopens a
persistent store; an in-memory or client engine must be registered under its key first
(:func:`register_engine`). One registry serves pickling and LangChain serialization.
"""

from __future__ import annotations

import uuid
import weakref
from collections.abc import Mapping
from typing import Any

from eagle_core import ConfigError, Eagle, EagleConfig

__all__ = ["REFERENCE_KEY", "Detached", "engine_reference", "find_engine", "is_reference",
           "register_engine", "resolve_reference"]

REFERENCE_KEY = "eagle_engine"
"""The key that marks a dict as an engine reference (its value: the registry key)."""

_KEYS: weakref.WeakKeyDictionary[Eagle, str] = weakref.WeakKeyDictionary()
_ENGINES: weakref.WeakValueDictionary[str, Eagle] = weakref.WeakValueDictionary()
"""Live engines of this process by key: an unpickled / loaded router finds its engine again here."""


def register_engine(eagle: Eagle, key: str) -> str:
    """Name ``eagle`` ``key`` in this process, so routers serialized with it refer to it by that key
    and routers loaded here (``pickle.loads``, ``langchain_core.load.load``) find it.

    Without a call, an engine gets a random key the first time a router using it is serialized. Call
    it in the loading process for an in-memory or client (``chromadb.HttpClient``) engine, which
    cannot be reopened from a path. ``key`` then names this engine (replacing an earlier one).
    """
    if not isinstance(eagle, Eagle):
        raise ConfigError(f"eagle must be an eagle_core.Eagle, got {type(eagle).__name__} {eagle!r}")
    if not isinstance(key, str) or not key:
        raise ConfigError(f"key must be a non-empty string, got {key!r}")
    _KEYS[eagle] = key
    _ENGINES[key] = eagle
    return key


def engine_reference(eagle: Eagle) -> dict[str, Any]:
    """The JSON-able reference a serialized router keeps instead of ``eagle``."""
    key = _KEYS.get(eagle) or register_engine(eagle, uuid.uuid4().hex)
    ref: dict[str, Any] = {REFERENCE_KEY: key}
    if eagle.path is not None and eagle.client is None:  # reopenable in another process
        ref["path"] = str(eagle.path)
        ref["collection"] = eagle.collection
        if eagle.config is not None:
            ref["config"] = eagle.config.to_dict()
    return ref


def is_reference(value: Any) -> bool:
    return isinstance(value, Mapping) and isinstance(value.get(REFERENCE_KEY), str)


def find_engine(ref: Mapping[str, Any]) -> Eagle | None:
    """The engine ``ref`` names: live in this process, else its persistent store reopened (lazily:
    ``Eagle(...)`` does no I/O), else ``None``."""
    key = ref[REFERENCE_KEY]
    engine = _ENGINES.get(key)
    if engine is None and ref.get("path") is not None:
        config = EagleConfig(**ref["config"]) if ref.get("config") else None
        engine = Eagle(path=ref["path"], collection=ref.get("collection", "eagle"), config=config)
        register_engine(engine, key)  # routers loaded next share it
    return engine


def resolve_reference(ref: Mapping[str, Any], owner: str) -> Eagle:
    """:func:`find_engine`, or a typed error saying how to make the engine findable."""
    engine = find_engine(ref)
    if engine is None:
        key = ref[REFERENCE_KEY]
        raise ConfigError(
            f"{owner} was serialized with an in-memory or client Eagle engine (key {key!r}) that "
            f"does not live in this process; build that engine here and call "
            f"eagle_langchain.register_engine(eagle, {key!r}) before loading"
        )
    return engine


class Detached:
    """Stands for the engine of a router unpickled where that engine does not live; keeps the
    reference so that dumping the router again still names it."""

    def __init__(self, ref: Mapping[str, Any] | None) -> None:
        self.ref = dict(ref) if ref is not None else None

    def __repr__(self) -> str:
        return "<detached Eagle engine: set router.eagle = Eagle(...)>"
