"""Opt-in ONNX Runtime backend for the bundled all-MiniLM-L6-v2: the same vectors, faster on short prompts.

``Eagle(models, embedder="onnx")`` (or ``embedder=OnnxMiniLMEmbedder()``) runs the bundled MiniLM's
weights in ONNX Runtime instead of torch. Tokenizer, left truncation at the model's window (256 tokens),
mean pooling over the attention mask and L2 normalisation are those of the default
:class:`~eagle_core.SentenceTransformerEmbedder`, so the vectors agree with it to float rounding
(~1e-7; the tests hold them to 1e-5) and a store built with one can be reopened with the other (both
are named ``all-MiniLM-L6-v2``).

The bundled model ships only safetensors, so the first start exports the graph (transformer + mean
pooling + normalisation) from the torch weights, which takes a few seconds and needs the ``onnx``
package; the graph is cached on disk in the ``onnx/`` folder of :func:`default_cache_dir`
(``$EAGLE_CACHE_DIR``, else ``~/.cache/eagle-router``), keyed by a hash of the model's weight
and configuration files, so later starts load it directly (no torch, no export, no download).
Install with ``pip install "eagle-router[onnx]"``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from eagle_core._embeddings import _normalize, bundled_model_path, check_truncation, embedder_name
from eagle_core._errors import ConfigError, MissingDependencyError

__all__ = ["OnnxMiniLMEmbedder", "default_cache_dir"]

logger = logging.getLogger(__name__)

INPUTS = ("input_ids", "attention_mask", "token_type_ids")
INSTALL_HINT = 'pip install "eagle-router[onnx]"'
# Part of the cache key: bump it whenever the exported graph changes (wrapper, opset, outputs).
EXPORT_FORMAT = "eagle-onnx-minilm-v1"
OPSET = 17
_HASHED_FILES = ("config.json", "model.safetensors", "pytorch_model.bin", "sentence_bert_config.json",
                 "1_Pooling/config.json", "modules.json")


def default_cache_dir() -> Path:
    """Where eagle-router caches files it derives: ``$EAGLE_CACHE_DIR``, else ``~/.cache/eagle-router``
    (the evaluation's embedding cache uses the same variable); the graph goes to its ``onnx/`` folder."""
    env = os.environ.get("EAGLE_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "eagle-router"


def _model_digest(model_dir: Path) -> str:
    """SHA-256 over the files the exported graph depends on (weights, model and pooling configs)."""
    sha = hashlib.sha256(EXPORT_FORMAT.encode())
    found = False
    for name in _HASHED_FILES:
        path = model_dir / name
        if path.is_file():
            sha.update(name.encode() + b"\0")
            with path.open("rb") as f:
                for block in iter(lambda f=f: f.read(1 << 20), b""):
                    sha.update(block)
            found = found or name in ("model.safetensors", "pytorch_model.bin")
    if not found:
        raise ConfigError(
            f"OnnxMiniLMEmbedder: {model_dir} holds no model.safetensors or pytorch_model.bin; pass the "
            "directory of a sentence-transformers MiniLM (or None for the bundled one)"
        )
    return sha.hexdigest()


def _require(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"embedder='onnx' needs the {module!r} package, which is not installed: run "
            f"`{INSTALL_HINT}` (or use the default embedder=None, MiniLM on torch)"
        ) from exc


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _export(model_dir: Path, target: Path) -> None:
    """Export MiniLM + mean pooling + L2 normalisation from the torch weights to ``target`` (atomic)."""
    _require("onnx")  # torch's exporter needs it to serialise the graph
    torch = _require("torch")
    from transformers import AutoModel, AutoTokenizer

    class Pooled(torch.nn.Module):  # type: ignore[misc, name-defined]
        def __init__(self, bert: Any) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                            token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(out.dtype)
            mean = (out * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2, dim=1)

    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # library code never prints: no "Loading weights" bar
    try:
        bert = AutoModel.from_pretrained(str(model_dir)).eval()
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    sample = AutoTokenizer.from_pretrained(str(model_dir))(["a sample"], return_tensors="pt")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=target.stem + ".", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise ConfigError(
            f"embedder='onnx' cannot write its exported graph to {target.parent} ({exc}); set "
            "EAGLE_CACHE_DIR (or OnnxMiniLMEmbedder(cache_dir=...)) to a writable folder"
        ) from exc
    os.close(fd)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the exporter's notes on advanced indexing and tracing
            torch.onnx.export(Pooled(bert), tuple(sample[k] for k in INPUTS), tmp,
                              input_names=list(INPUTS), output_names=["embedding"],
                              dynamic_axes={k: {0: "batch", 1: "tokens"} for k in INPUTS},
                              opset_version=OPSET, dynamo=False)
        os.replace(tmp, target)  # concurrent exporters: the last complete file wins, never a partial one
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


class _Tokenizer:
    """The model's fast tokenizer with sentence-transformers' settings: pad to the longest text of the
    batch, truncate to the window on the chosen side. Reads ``tokenizer.json`` with the ``tokenizers``
    library when the directory has one (no torch, no transformers import: a start-up with a cached
    graph stays under a second); else ``transformers.AutoTokenizer``."""

    def __init__(self, model_dir: Path, side: str, window: Any) -> None:
        self._fast: Any = None
        self._hf: Any = None
        tokenizer_config = _read_json(model_dir / "tokenizer_config.json")
        model_max = tokenizer_config.get("model_max_length")
        limit = int(window) if window else min(int(model_max) if model_max else 512, 512)
        self.max_length = limit
        self._counter: Any = None
        if (model_dir / "tokenizer.json").is_file():
            from tokenizers import Tokenizer

            fast = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
            pad_token = str(tokenizer_config.get("pad_token") or "[PAD]")
            pad_id = fast.token_to_id(pad_token)
            fast.enable_truncation(limit, strategy="longest_first", direction=side)
            fast.enable_padding(direction="right", pad_id=0 if pad_id is None else pad_id,
                                pad_type_id=0, pad_token=pad_token)
            self._fast = fast
        else:
            from transformers import AutoTokenizer

            self._hf = AutoTokenizer.from_pretrained(str(model_dir))
            self._hf.truncation_side = side

    def __call__(self, texts: list[str]) -> dict[str, np.ndarray]:
        if self._fast is not None:
            encodings = self._fast.encode_batch(texts)
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            return {"input_ids": ids,
                    "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
                    "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64)}
        enc = self._hf(texts, padding=True, truncation="longest_first", max_length=self.max_length,
                       return_tensors="np")
        ids = np.asarray(enc["input_ids"], dtype=np.int64)
        return {k: np.asarray(enc[k], dtype=np.int64) if k in enc else np.zeros_like(ids) for k in INPUTS}

    def count(self, text: str) -> int:
        if self._fast is not None:
            if self._counter is None:  # a copy without truncation: embedding threads keep theirs
                from tokenizers import Tokenizer

                counter = Tokenizer.from_str(self._fast.to_str())
                counter.no_truncation()
                counter.no_padding()
                self._counter = counter
            return len(self._counter.encode(text).ids)
        return len(self._hf(text, truncation=False)["input_ids"])


class OnnxMiniLMEmbedder:
    """The bundled all-MiniLM-L6-v2 (or another sentence-transformers MiniLM directory) on ONNX Runtime.

    Nothing is loaded in ``__init__``: the first :meth:`embed` loads the tokenizer, exports the graph if
    the cache does not hold it yet and opens the ONNX Runtime session.

    Args:
        model_path: a local sentence-transformers model directory with mean pooling; ``None`` = the bundled
            all-MiniLM-L6-v2. Never downloads.
        cache_dir: where the exported graph is kept (default :func:`default_cache_dir`).
        threads: ONNX Runtime intra-op threads (``None`` = its default, one per physical core). On
            cores shared with other CPU work, 1 is often faster.
        batch_size: texts per forward pass in :meth:`embed` (sorted by length, as sentence-transformers).
        truncation: which end of a prompt longer than the window is kept (``"left"`` keeps the end,
            as the default embedder does).
        name: the embedder's name in the store (default: that of the default embedder for the bundled
            model, since the vectors are the same).
    """

    def __init__(self, model_path: str | os.PathLike[str] | None = None, *,
                 cache_dir: str | os.PathLike[str] | None = None, threads: int | None = None,
                 batch_size: int = 32, truncation: str = "left", name: str | None = None) -> None:
        check_truncation(truncation)
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int)
                                    or threads < 1):
            raise ConfigError(f"threads must be a positive int or None, got {threads!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"batch_size must be a positive int, got {batch_size!r}")
        self.model_path = model_path
        self.cache_dir = cache_dir
        self.threads = threads
        self.batch_size = batch_size
        self.truncation = truncation
        self.name = embedder_name(None if model_path is None else os.fspath(model_path), name)
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None
        self._lowercase = False
        self.graph_path_: Path | None = None
        self.exported_: bool = False  # whether this instance paid the export (the cache was cold)

    def _model_dir(self) -> Path:
        path = Path(bundled_model_path() if self.model_path is None else self.model_path).expanduser()
        if not path.is_dir():
            raise ConfigError(f"OnnxMiniLMEmbedder: model_path {str(path)!r} is not a directory")
        return path

    def graph_path(self) -> Path:
        """The cached graph's file for this model (hashes the model files; exports nothing)."""
        model_dir = self._model_dir()
        cache = Path(self.cache_dir).expanduser() if self.cache_dir is not None else default_cache_dir()
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", self.name)
        return cache / "onnx" / f"{stem}-{_model_digest(model_dir)[:16]}.onnx"

    def _check_pooling(self, model_dir: Path) -> None:
        pooling = _read_json(model_dir / "1_Pooling" / "config.json")
        if pooling and not pooling.get("pooling_mode_mean_tokens", False):
            raise ConfigError(f"OnnxMiniLMEmbedder supports mean pooling only; {model_dir} uses {pooling}")

    def _load(self) -> Any:
        with self._lock:
            if self._session is None:
                ort = _require("onnxruntime")
                model_dir = self._model_dir()
                self._check_pooling(model_dir)
                config = _read_json(model_dir / "sentence_bert_config.json")
                self._lowercase = bool(config.get("do_lower_case", False))
                tokenizer = _Tokenizer(model_dir, self.truncation, config.get("max_seq_length"))
                path = self.graph_path()
                if not path.is_file():
                    logger.info("exporting %s to ONNX at %s (once per model and cache dir)", model_dir, path)
                    _export(model_dir, path)
                    self.exported_ = True
                opts = ort.SessionOptions()
                opts.inter_op_num_threads = 1
                if self.threads is not None:
                    opts.intra_op_num_threads = self.threads
                self._session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
                self._tokenizer = tokenizer
                self.graph_path_ = path
        return self._session

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` before truncation, special tokens included (loads the embedder)."""
        self._load()
        return self._tokenizer.count(text)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        session = self._load()
        texts = list(texts)
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")  # similar lengths share a batch
        out: np.ndarray | None = None
        for start in range(0, len(texts), self.batch_size):
            rows = order[start: start + self.batch_size]
            batch = [texts[i].lower() if self._lowercase else texts[i] for i in rows]
            feed = self._tokenizer(batch)
            vectors = session.run(None, feed)[0]
            if out is None:
                out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
            out[rows] = vectors
        assert out is not None
        return _normalize(out, len(texts), self.name)
