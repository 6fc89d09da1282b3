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

``embedder="onnx-int8"`` (``OnnxMiniLMEmbedder(quantize=True)``) runs a dynamically quantized copy
(int8 weights, per output channel; activations quantized per call) built once from the float graph
with ONNX Runtime's ``quantize_dynamic`` and cached next to it: it embeds in about half the float
graph's time, but its vectors are *not* the float ones (cosine to torch's >= 0.985 on real prompts,
see docs/BENCHMARKS.md), so it is named ``all-MiniLM-L6-v2-int8`` in the store.
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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from eagle_core._cache_dir import default_cache_dir
from eagle_core._embeddings import _normalize, bundled_model_path, check_truncation, embedder_name
from eagle_core._errors import ConfigError, MissingDependencyError

__all__ = ["OnnxMiniLMEmbedder", "default_cache_dir"]

logger = logging.getLogger(__name__)

INPUTS = ("input_ids", "attention_mask", "token_type_ids")
INSTALL_HINT = 'pip install "eagle-router[onnx]"'
# Part of the cache key: bump it whenever the exported graph changes (wrapper, opset, outputs).
EXPORT_FORMAT = "eagle-onnx-minilm-v1"
OPSET = 17
# Part of the int8 graph's file name: bump it whenever the quantization recipe changes.
QUANT_FORMAT = "eagle-int8-dynamic-per-channel-v1"
INT8_SUFFIX = "-int8"
_HASHED_FILES = ("config.json", "model.safetensors", "pytorch_model.bin", "sentence_bert_config.json",
                 "1_Pooling/config.json", "modules.json")


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


def _require(module: str, spec: str = "onnx") -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"embedder={spec!r} needs the {module!r} package, which is not installed: run "
            f"`{INSTALL_HINT}` (or use the default embedder=None, MiniLM on torch)"
        ) from exc


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _export(model_dir: Path, target: Path, spec: str = "onnx") -> None:
    """Export MiniLM + mean pooling + L2 normalisation from the torch weights to ``target`` (atomic)."""
    _require("onnx", spec)  # torch's exporter needs it to serialise the graph
    torch = _require("torch", spec)
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
    with _written(target, spec) as tmp, warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the exporter's notes on advanced indexing and tracing
        torch.onnx.export(Pooled(bert), tuple(sample[k] for k in INPUTS), tmp,
                          input_names=list(INPUTS), output_names=["embedding"],
                          dynamic_axes={k: {0: "batch", 1: "tokens"} for k in INPUTS},
                          opset_version=OPSET, dynamo=False)


@contextmanager
def _written(target: Path, spec: str) -> Iterator[str]:
    """A temporary file next to ``target`` that replaces it once the block succeeds: concurrent
    writers leave the last complete file, never a partial one."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=target.stem + ".", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise ConfigError(
            f"embedder={spec!r} cannot write its graph to {target.parent} ({exc}); set "
            "EAGLE_CACHE_DIR (or OnnxMiniLMEmbedder(cache_dir=...)) to a writable folder"
        ) from exc
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


@contextmanager
def _quantizer_logs_to_debug() -> Iterator[None]:
    """ONNX Runtime's quantizer logs through the root logger (``logging.warning``), which would print
    (and set up the application's logging); its records go to this module's logger at DEBUG instead."""
    root = logging.getLogger()

    def redirect(record: logging.LogRecord) -> bool:
        if "onnxruntime" not in record.pathname:
            return True
        logger.debug("onnxruntime quantizer: %s", record.getMessage())
        return False

    guard = None if root.handlers else logging.NullHandler()  # stops logging.warning's basicConfig
    if guard is not None:
        root.addHandler(guard)
    root.addFilter(redirect)
    try:
        yield
    finally:
        root.removeFilter(redirect)
        if guard is not None:
            root.removeHandler(guard)


def _quantize(source: Path, target: Path) -> None:
    """int8 copy of the float graph: weights per output channel, activations per call (dynamic).
    Per-tensor int8 weights lost too much (median cosine to the float vectors 0.93 instead of 0.994)."""
    _require("onnx", "onnx-int8")  # the quantizer reads and writes the graph with it
    quantization = _require("onnxruntime.quantization", "onnx-int8")
    with _written(target, "onnx-int8") as tmp, _quantizer_logs_to_debug(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quantization.quantize_dynamic(str(source), tmp, per_channel=True,
                                      weight_type=quantization.QuantType.QInt8)


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
        batch_size: texts per forward pass in :meth:`embed` (sorted by length, as sentence-transformers);
            the int8 graph runs one text per pass, so that a text's vector does not depend on its batch.
        truncation: which end of a prompt longer than the window is kept (``"left"`` keeps the end,
            as the default embedder does).
        name: the embedder's name in the store (default: that of the default embedder for the bundled
            model, since the vectors are the same; with ``quantize``, that name + ``-int8``).
        quantize: run an int8 copy of the graph (dynamic quantization, built once from the float graph
            and cached next to it): faster on long prompts, vectors close to but not equal to the
            float ones, hence another name in the store; one text per forward pass.
    """

    def __init__(self, model_path: str | os.PathLike[str] | None = None, *,
                 cache_dir: str | os.PathLike[str] | None = None, threads: int | None = None,
                 batch_size: int = 32, truncation: str = "left", name: str | None = None,
                 quantize: bool = False) -> None:
        check_truncation(truncation)
        if not isinstance(quantize, bool):
            raise ConfigError(f"quantize must be True (int8 graph) or False (float), got {quantize!r}")
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
        self.quantize = quantize
        model = None if model_path is None else os.fspath(model_path)
        suffix = INT8_SUFFIX if quantize and name is None else ""
        self.name = embedder_name(model, name) + suffix
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None
        self._lowercase = False
        self.graph_path_: Path | None = None
        self.exported_: bool = False  # whether this instance built its graph (the cache was cold)

    def _model_dir(self) -> Path:
        path = Path(bundled_model_path() if self.model_path is None else self.model_path).expanduser()
        if not path.is_dir():
            raise ConfigError(f"OnnxMiniLMEmbedder: model_path {str(path)!r} is not a directory")
        return path

    def graph_path(self) -> Path:
        """The cached graph's file this instance runs (hashes the model files; exports nothing): the
        float graph, or with ``quantize`` its int8 copy next to it."""
        return self._graph_paths()[-1]

    def _graph_paths(self) -> tuple[Path, ...]:
        """(float graph,) or (float graph, int8 graph): each built from the one before it."""
        model_dir = self._model_dir()
        cache = Path(self.cache_dir).expanduser() if self.cache_dir is not None else default_cache_dir()
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", self.name.removesuffix(INT8_SUFFIX) if self.quantize
                      else self.name)
        digest = _model_digest(model_dir)
        float_graph = cache / "onnx" / f"{stem}-{digest[:16]}.onnx"
        if not self.quantize:
            return (float_graph,)
        recipe = hashlib.sha256(f"{digest}:{QUANT_FORMAT}".encode()).hexdigest()[:16]
        return float_graph, cache / "onnx" / f"{stem}-{recipe}{INT8_SUFFIX}.onnx"

    def _check_pooling(self, model_dir: Path) -> None:
        pooling = _read_json(model_dir / "1_Pooling" / "config.json")
        if pooling and not pooling.get("pooling_mode_mean_tokens", False):
            raise ConfigError(f"OnnxMiniLMEmbedder supports mean pooling only; {model_dir} uses {pooling}")

    def _load(self) -> Any:
        with self._lock:
            if self._session is None:
                spec = "onnx-int8" if self.quantize else "onnx"
                ort = _require("onnxruntime", spec)
                model_dir = self._model_dir()
                self._check_pooling(model_dir)
                config = _read_json(model_dir / "sentence_bert_config.json")
                self._lowercase = bool(config.get("do_lower_case", False))
                tokenizer = _Tokenizer(model_dir, self.truncation, config.get("max_seq_length"))
                paths = self._graph_paths()
                path = paths[-1]
                if not path.is_file():
                    if not paths[0].is_file():
                        logger.info("exporting %s to ONNX at %s (once per model and cache dir)",
                                    model_dir, paths[0])
                        _export(model_dir, paths[0], spec)
                    if self.quantize:
                        logger.info("quantizing %s to int8 at %s (once)", paths[0], path)
                        _quantize(paths[0], path)
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
        # int8: one text per pass, since dynamic quantization scales the activations over the whole
        # batch (padding included), so batch mates would move each other's vectors (by up to 0.02)
        step = 1 if self.quantize else self.batch_size
        out: np.ndarray | None = None
        for start in range(0, len(texts), step):
            rows = order[start: start + step]
            batch = [texts[i].lower() if self._lowercase else texts[i] for i in rows]
            feed = self._tokenizer(batch)
            vectors = session.run(None, feed)[0]
            if out is None:
                out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
            out[rows] = vectors
        assert out is not None
        return _normalize(out, len(texts), self.name)
