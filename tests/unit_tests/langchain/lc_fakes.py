"""Test helpers for eagle_langchain: fake chat models and a callback recorder."""

from __future__ import annotations

import itertools
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import GenericFakeChatModel


def fake_chat(text: str) -> GenericFakeChatModel:
    """A chat model that always answers ``text``, streamed word by word."""
    return GenericFakeChatModel(messages=itertools.cycle([text]))


class Recorder(BaseCallbackHandler):
    """Records every run start/end with its parent, name, tags and metadata."""

    def __init__(self) -> None:
        self.starts: list[dict[str, Any]] = []
        self.errors: list[tuple[UUID, BaseException]] = []
        self.tokens: list[str] = []
        self.custom: list[tuple[str, Any, UUID]] = []

    def _start(self, kind: str, serialized: Any, run_id: UUID, parent_run_id: UUID | None,
               tags: list[str] | None, metadata: dict[str, Any] | None, name: str | None) -> None:
        self.starts.append({
            "kind": kind, "run_id": run_id, "parent": parent_run_id, "name": name,
            "tags": list(tags or []), "metadata": dict(metadata or {}),
        })  # fmt: skip

    def on_chain_start(self, serialized, inputs, *, run_id, parent_run_id=None, tags=None,
                       metadata=None, **kwargs):  # noqa: ANN001
        self._start("chain", serialized, run_id, parent_run_id, tags, metadata, kwargs.get("name"))

    def on_chat_model_start(self, serialized, messages, *, run_id, parent_run_id=None, tags=None,
                            metadata=None, **kwargs):  # noqa: ANN001
        self._start("chat_model", serialized, run_id, parent_run_id, tags, metadata,
                    kwargs.get("name"))

    def on_chain_error(self, error, *, run_id, **kwargs):  # noqa: ANN001
        self.errors.append((run_id, error))

    def on_llm_new_token(self, token, **kwargs):  # noqa: ANN001
        self.tokens.append(token)

    def on_custom_event(self, name, data, *, run_id, **kwargs):  # noqa: ANN001
        self.custom.append((name, data, run_id))

    def named(self, name: str) -> list[dict[str, Any]]:
        return [s for s in self.starts if s["name"] == name]

    def chat_runs(self) -> list[dict[str, Any]]:
        return [s for s in self.starts if s["kind"] == "chat_model"]
