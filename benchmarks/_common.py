"""Shared helpers for the benchmark scripts: synthetic embeddings, percentiles, a `chroma run` server."""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
MODELS = {"gpt-4o": 0.01, "claude-3": 0.008, "llama-70b": 0.0009, "mixtral": 0.0006, "gemma-7b": 0.0001}


class SyntheticEmbedder:
    """Unit vectors from a clustered Gaussian mixture, computed from the number in the text.

    Texts are ``"synthetic query <i>"``; vector i = centre[i % clusters] + noise (seeded by i),
    normalised, so every process computes the same vector for the same text. Used so that 100k
    stored queries need no MiniLM pass (MiniLM embeds ~5-50 texts/s on 2 shared cores); the
    dimension (384) matches all-MiniLM-L6-v2 so Chroma's index does the same work.
    """

    name = "synthetic-mixture-384"
    prefix = "synthetic query "

    def __init__(self, dim: int = 384, clusters: int = 64, noise: float = 0.6, seed: int = 0) -> None:
        self.dim = dim
        self.clusters = clusters
        self.noise = noise
        self.seed = seed
        self._centres = np.random.default_rng(seed).normal(size=(clusters, dim)).astype(np.float32)

    @classmethod
    def text(cls, i: int) -> str:
        return f"{cls.prefix}{i}"

    def vector(self, i: int) -> np.ndarray:
        noise = np.random.default_rng((self.seed, i)).normal(size=self.dim).astype(np.float32)
        v = self._centres[i % self.clusters] + self.noise * noise
        return v / np.linalg.norm(v)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        # any other text (e.g. the engine's dimension probe) gets vector 0
        p = self.prefix
        return np.stack([self.vector(int(t[len(p):]) if t.startswith(p) else 0) for t in texts])


def synthetic_scores(i: int, clusters: int, rng: np.random.Generator) -> dict[str, float]:
    """0/1 grades for the 5 models; which model is strong depends on the query's cluster."""
    names = list(MODELS)
    strong = names[(i % clusters) % len(names)]
    return {m: float(rng.random() < (0.8 if m == strong else 0.45)) for m in names}


def load_or_exit(name: str, data: str | None, script: str) -> Any:
    """``eagle_core.datasets.load_dataset(name, data)``, or exit naming the script and what is missing."""
    from eagle_core.datasets import DatasetError, load_dataset

    try:
        return load_dataset(name, data)
    except DatasetError as exc:
        raise SystemExit(f"{script}: {exc}") from None


def percentiles(values_ms: Sequence[float]) -> dict[str, float]:
    arr = np.asarray(values_ms, dtype=float)
    return {"p50_ms": float(np.percentile(arr, 50)), "p99_ms": float(np.percentile(arr, 99)),
            "mean_ms": float(arr.mean()), "n": int(arr.size)}


def machine() -> dict[str, Any]:
    try:
        load = os.getloadavg()
    except OSError:
        load = (float("nan"),) * 3
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "loadavg_at_start": [round(x, 2) for x in load]}


def write_json(path: str | Path, data: Any) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ChromaServer:
    """``chroma run`` on 127.0.0.1 at a free port (context manager; waits for the heartbeat)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.host = "127.0.0.1"
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ChromaServer:
        exe = Path(sys.executable).parent / "chroma"
        command = str(exe) if exe.exists() else shutil.which("chroma")
        if command is None:
            raise SystemExit("the `chroma` command (chromadb package) is not installed")
        self.path.mkdir(parents=True, exist_ok=True)
        log = open(self.path.parent / "chroma.log", "ab")  # noqa: SIM115 - owned by the child
        self.proc = subprocess.Popen(
            [command, "run", "--path", str(self.path), "--host", self.host, "--port", str(self.port)],
            stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"chroma run exited with {self.proc.returncode}")
            try:
                with urllib.request.urlopen(f"http://{self.host}:{self.port}/api/v2/heartbeat", timeout=1):
                    return self
            except OSError:
                time.sleep(0.2)
        self.__exit__()
        raise SystemExit("chroma run gave no heartbeat within 60 s")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def http_client(host: str, port: int) -> Any:
    import chromadb
    from chromadb.config import Settings

    return chromadb.HttpClient(host=host, port=port, settings=Settings(anonymized_telemetry=False))
