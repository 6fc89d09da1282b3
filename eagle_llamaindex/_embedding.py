"""EagleEmbedding: a LlamaIndex embedding over an eagle_core embedder (default: bundled MiniLM).

Lets an index embed its documents offline with the same model Eagle routes with, instead of
LlamaIndex's default (OpenAI, which would need the network).
"""

from __future__ import annotations

import asyncio
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.bridge.pydantic import Field, PrivateAttr

from eagle_core import resolve_embedder

__all__ = ["EagleEmbedding"]


class EagleEmbedding(BaseEmbedding):
    """Embeds with an eagle_core embedder spec; the model loads on first use."""

    embedder: Any = Field(
        default=None,
        exclude=True,
        description=(
            "eagle_core embedder spec: None (bundled all-MiniLM-L6-v2), a model name/path, a "
            "SentenceTransformer, an eagle_core Embedder (e.g. eagle.embedder_) or a callable."
        ),
    )
    embed_batch_size: int = Field(default=64, gt=0, description="Texts embedded per batch.")

    _resolved: Any = PrivateAttr(default=None)

    def __init__(self, **data: Any) -> None:
        super().__init__(**data)
        self._resolved = resolve_embedder(self.embedder)  # does not load a model
        if self.model_name == "unknown":
            self.model_name = self._resolved.name

    @classmethod
    def class_name(cls) -> str:
        return "EagleEmbedding"

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._resolved.embed(texts).tolist()

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([text])[0]

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._get_text_embedding(query)

    async def _aget_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return await asyncio.to_thread(self._get_text_embeddings, texts)  # never block the loop

    async def _aget_text_embedding(self, text: str) -> list[float]:
        return (await self._aget_text_embeddings([text]))[0]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return await self._aget_text_embedding(query)
